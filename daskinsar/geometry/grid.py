"""The grids products live on: the radar grid (azimuth time x slant range) and the map grid.

A :class:`RadarGrid` row ``i`` is at azimuth time ``t0_s + i*dt_s`` (s since the scene's
epoch), column ``j`` at one-way slant range ``r0_m + j*dr_m`` (m). A :class:`MapGrid` pixel
``(i, j)`` has its centre at ``x0 + j*dx``, ``y0 + i*dy`` in its CRS's units (``dy < 0``:
north up).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import dask
import dask.array as da
import numpy as np
from pyproj import CRS, Transformer

__all__ = ["RadarGrid", "MapGrid", "ground_extent", "map_grid_for", "utm_crs_for", "nice_posting", "POSTING_MANTISSAS"]


@dataclass(frozen=True)
class RadarGrid:
    """A regular radar grid of ``n_az`` x ``n_rg`` pixels (see the module docstring)."""

    t0_s: float
    dt_s: float
    n_az: int
    r0_m: float
    dr_m: float
    n_rg: int

    @classmethod
    def from_coords(cls, azimuth_time_s, slant_range_m) -> "RadarGrid":
        """The grid of regular coordinate vectors (spacing from the end points; 1 s / 1 m for a single sample)."""
        t = np.asarray(azimuth_time_s, np.float64)
        r = np.asarray(slant_range_m, np.float64)
        dt = float((t[-1] - t[0]) / (len(t) - 1)) if len(t) > 1 else 1.0
        dr = float((r[-1] - r[0]) / (len(r) - 1)) if len(r) > 1 else 1.0
        return cls(float(t[0]), dt, len(t), float(r[0]), dr, len(r))

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_az, self.n_rg)

    def azimuth_time(self, i=None) -> np.ndarray:
        """Azimuth times (s) of rows ``i`` (all rows by default; fractional rows allowed)."""
        i = np.arange(self.n_az) if i is None else np.asarray(i, np.float64)
        return self.t0_s + self.dt_s * i

    def slant_range(self, j=None) -> np.ndarray:
        """Slant ranges (m) of columns ``j`` (all columns by default; fractional columns allowed)."""
        j = np.arange(self.n_rg) if j is None else np.asarray(j, np.float64)
        return self.r0_m + self.dr_m * j

    def pixel(self, t_s, r_m) -> tuple[np.ndarray, np.ndarray]:
        """Fractional (row, column) of (azimuth time s, slant range m)."""
        return (np.asarray(t_s) - self.t0_s) / self.dt_s, (np.asarray(r_m) - self.r0_m) / self.dr_m

    def coords(self) -> dict:
        """xarray coordinates ``azimuth_time`` (dim ``azimuth``) and ``slant_range`` (dim ``range``)."""
        return {"azimuth_time": ("azimuth", self.azimuth_time()), "slant_range": ("range", self.slant_range())}

    def multilooked(self, looks: tuple[int, int]) -> "RadarGrid":
        """The grid of boxcar look cells anchored at pixel (0, 0), trailing partial cells dropped:
        each output pixel sits at the mean coordinate of its cell."""
        la, lr = int(looks[0]), int(looks[1])
        return RadarGrid(self.t0_s + 0.5 * (la - 1) * self.dt_s, self.dt_s * la, self.n_az // la,
                         self.r0_m + 0.5 * (lr - 1) * self.dr_m, self.dr_m * lr, self.n_rg // lr)


def utm_crs_for(lon_deg: float, lat_deg: float) -> str:
    """The EPSG code of the UTM zone holding (lon, lat) (WGS84 / UTM north or south)."""
    zone = int((lon_deg + 180.0) // 6.0) % 60 + 1
    return f"EPSG:{(32600 if lat_deg >= 0 else 32700) + zone}"


@dataclass(frozen=True)
class MapGrid:
    """Output map grid: pixel centres ``x0 + j*dx``, ``y0 + i*dy`` in ``crs`` units (dy < 0, north up).

    A grid on the global lattice of its posting (:func:`map_grid_for`) also knows its pixel centres as
    integers ``ix0``, ``iy0`` (``x0 = ix0*dx``, ``y0 = iy0*|dy|``): its coordinates are then computed as
    ``(ix0 + j)*dx`` and ``(iy0 - i)*|dy|``, so the same lattice pixel has bit-identical coordinates in
    every grid that holds it."""

    crs: str
    x0: float
    y0: float
    dx: float
    dy: float
    shape: tuple[int, int]
    ix0: int | None = None
    iy0: int | None = None

    @property
    def x(self) -> np.ndarray:
        if self.ix0 is not None:
            return (self.ix0 + np.arange(self.shape[1])) * self.dx
        return self.x0 + self.dx * np.arange(self.shape[1])

    @property
    def y(self) -> np.ndarray:
        if self.iy0 is not None:
            return (self.iy0 - np.arange(self.shape[0])) * abs(self.dy)
        return self.y0 + self.dy * np.arange(self.shape[0])

    @property
    def is_geographic(self) -> bool:
        return bool(CRS.from_user_input(self.crs).is_geographic)

    def lonlat(self, rows: slice | np.ndarray, cols: slice | np.ndarray):
        """(lon, lat) in deg of the pixel centres at ``rows`` x ``cols`` (slices or index arrays)."""
        xx, yy = np.meshgrid(self.x[cols], self.y[rows])
        if self.is_geographic:
            return xx, yy
        tr = Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
        return tr.transform(xx, yy)


#: mantissas of the postings a default (derived) posting is rounded to: 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^k
#: (m for a projected CRS, arcseconds for a geographic one)
POSTING_MANTISSAS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)


def nice_posting(posting: float, geographic: bool) -> float:
    """``posting`` (deg for a geographic CRS, m otherwise) rounded, in log scale, to the nearest of a fixed
    ladder (:data:`POSTING_MANTISSAS` x 10^k m, or arcseconds for degrees), so that runs over one area whose
    derived postings differ in the 4th digit (5.5546e-05 vs 5.5543e-05 deg) get the same one (0.2")."""
    if not (posting > 0 and math.isfinite(posting)):
        raise ValueError(f"posting must be a positive number, got {posting!r}")
    value = posting * 3600.0 if geographic else posting
    k = math.floor(math.log10(value))
    ladder = [m * 10.0 ** e for e in (k - 1, k, k + 1) for m in POSTING_MANTISSAS]
    best = min(ladder, key=lambda c: abs(math.log(c / value)))
    best = float(f"{best:.12g}")
    return best / 3600.0 if geographic else best


def _resolve_crs(crs: str, lon_c: float, lat_c: float) -> CRS:
    if crs.strip().upper() == "UTM":
        return CRS.from_user_input(utm_crs_for(lon_c, lat_c))
    return CRS.from_user_input(crs)


def _projected_block(lon: np.ndarray, lat: np.ndarray, crs_wkt: str) -> np.ndarray:
    """(2, ...) x, y of one block of lon/lat (deg) in ``crs_wkt`` (a transformer per call: pyproj
    objects are not shared between threads)."""
    x, y = Transformer.from_crs("EPSG:4326", CRS.from_wkt(crs_wkt), always_xy=True).transform(lon, lat)
    return np.stack([np.asarray(x, np.float64), np.asarray(y, np.float64)])


def ground_extent(lon, lat, crs: str) -> tuple[CRS, tuple[float, float, float, float]]:
    """The CRS (``'UTM'``: the zone of the points' mean) and the (x_min, x_max, y_min, y_max) in it of the
    ground points ``lon``, ``lat`` (deg; numpy or dask arrays of one shape; a point with a NaN coordinate
    is ignored). Reductions chunk by chunk: memory is bounded by a chunk, not by the grid."""
    lon = da.asarray(lon).astype(np.float64)
    lat = da.asarray(lat).astype(np.float64)
    if lon.shape != lat.shape:
        raise ValueError(f"ground points: lon {lon.shape} and lat {lat.shape} differ in shape")
    lat = lat.rechunk(lon.chunks)
    bad = ~(da.isfinite(lon) & da.isfinite(lat))
    lon = da.where(bad, np.nan, lon)
    lat = da.where(bad, np.nan, lat)
    none = "ground points: no point has finite longitude and latitude"

    def extent_terms(c: CRS) -> tuple:
        if c.is_geographic:
            x, y = lon, lat
        else:
            xy = da.map_blocks(_projected_block, lon, lat, c.to_wkt(), dtype=np.float64, new_axis=0,
                               chunks=((2,),) + lon.chunks)
            x, y = xy[0], xy[1]
        return da.nanmin(x), da.nanmax(x), da.nanmin(y), da.nanmax(y)

    n_good = (~bad).sum()
    if crs.strip().upper() == "UTM":  # the zone of the mean: one pass for it and the count, one for the extent
        n, lon_c, lat_c = dask.compute(n_good, da.nanmean(lon), da.nanmean(lat))
        if int(n) == 0:
            raise ValueError(none)
        c = _resolve_crs(crs, float(lon_c), float(lat_c))
        ext = dask.compute(*extent_terms(c))
    else:
        c = CRS.from_user_input(crs)
        n, *ext = dask.compute(n_good, *extent_terms(c))
        if int(n) == 0:
            raise ValueError(none)
    return c, (float(ext[0]), float(ext[1]), float(ext[2]), float(ext[3]))


def map_grid_for(lon, lat, posting: float, crs: str = "EPSG:4326", margin_px: int = 2,
                 bbox: tuple[float, float, float, float] | None = None) -> MapGrid:
    """A north-up grid at ``posting`` (deg for geographic CRSs, m otherwise) whose pixel centres lie on the
    global lattice ``k * posting`` of the CRS, so any two grids of one posting and CRS share their pixels
    exactly. It covers the given lon/lat points (deg) plus ``margin_px``, or, with ``bbox`` = (west,
    south, east, north) in deg of longitude / latitude (WGS84), exactly the lattice pixels whose centres
    lie inside the box (in a projected CRS: inside the box's projected envelope), whatever the points:
    every run with the same box, posting and CRS gets the same grid. ``crs='UTM'`` picks the UTM zone of
    the centre (of the box when given)."""
    if bbox is not None:
        west, south, east, north = (float(v) for v in bbox)
        c = _resolve_crs(crs, 0.5 * (west + east), 0.5 * (south + north))
        edge = np.linspace(0.0, 1.0, 21)
        bx = np.concatenate([west + (east - west) * edge, np.full(21, east), east - (east - west) * edge,
                             np.full(21, west)])
        by = np.concatenate([np.full(21, south), south + (north - south) * edge, np.full(21, north),
                             north - (north - south) * edge])
        if not c.is_geographic:
            bx, by = Transformer.from_crs("EPSG:4326", c, always_xy=True).transform(bx, by)
        eps = 1e-9
        ix0 = math.ceil(float(np.min(bx)) / posting - eps)
        ix1 = math.floor(float(np.max(bx)) / posting + eps)
        iy0 = math.floor(float(np.max(by)) / posting + eps)
        iy1 = math.ceil(float(np.min(by)) / posting - eps)
    else:
        c, (x_min, x_max, y_min, y_max) = ground_extent(lon, lat, crs)
        ix0 = math.floor(x_min / posting) - margin_px
        ix1 = math.ceil(x_max / posting) + margin_px
        iy0 = math.ceil(y_max / posting) + margin_px
        iy1 = math.floor(y_min / posting) - margin_px
    nx, ny = ix1 - ix0 + 1, iy0 - iy1 + 1
    if nx < 1 or ny < 1:
        raise ValueError(f"the bounding box {bbox} holds no pixel centre at posting {posting}")
    return MapGrid(c.to_string(), ix0 * posting, iy0 * posting, posting, -posting, (ny, nx), ix0, iy0)
