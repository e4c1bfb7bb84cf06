"""The grids products live on: the radar grid (azimuth time x slant range) and the map grid.

A :class:`RadarGrid` row ``i`` is at azimuth time ``t0_s + i*dt_s`` (s since the scene's
epoch), column ``j`` at one-way slant range ``r0_m + j*dr_m`` (m). A :class:`MapGrid` pixel
``(i, j)`` has its centre at ``x0 + j*dx``, ``y0 + i*dy`` in its CRS's units (``dy < 0``:
north up).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from pyproj import CRS, Transformer

__all__ = ["RadarGrid", "MapGrid", "map_grid_for", "utm_crs_for"]


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
    """Output map grid: pixel centres ``x0 + j*dx``, ``y0 + i*dy`` in ``crs`` units (dy < 0, north up)."""

    crs: str
    x0: float
    y0: float
    dx: float
    dy: float
    shape: tuple[int, int]

    @property
    def x(self) -> np.ndarray:
        return self.x0 + self.dx * np.arange(self.shape[1])

    @property
    def y(self) -> np.ndarray:
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


def map_grid_for(lon, lat, posting: float, crs: str = "EPSG:4326", margin_px: int = 2) -> MapGrid:
    """A north-up grid covering the given lon/lat points (deg) at ``posting``
    (deg for geographic CRSs, m otherwise); ``crs='UTM'`` picks the UTM zone of the centre."""
    lon = np.asarray(lon, np.float64)
    lat = np.asarray(lat, np.float64)
    lon = lon[np.isfinite(lon)]
    lat = lat[np.isfinite(lat)]
    if crs.upper() == "UTM":
        crs = utm_crs_for(float(np.mean(lon)), float(np.mean(lat)))
    c = CRS.from_user_input(crs)
    if c.is_geographic:
        x, y = lon, lat
    else:
        x, y = Transformer.from_crs("EPSG:4326", c, always_xy=True).transform(lon, lat)
    x_min = math.floor(np.min(x) / posting) * posting - margin_px * posting
    y_max = math.ceil(np.max(y) / posting) * posting + margin_px * posting
    nx = int(math.ceil((np.max(x) - x_min) / posting)) + margin_px + 1
    ny = int(math.ceil((y_max - np.min(y)) / posting)) + margin_px + 1
    return MapGrid(c.to_string(), x_min, y_max, posting, -posting, (ny, nx))
