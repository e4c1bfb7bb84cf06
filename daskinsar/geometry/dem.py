"""The DEM: heights above the WGS84 ellipsoid on a regular lon/lat grid, read lazily.

:class:`Dem` is the one DEM type of daskinsar. Sample (i, j) of ``heights_m`` is the height
(m above the WGS84 ellipsoid) at the sample *centre* ``lon = lon0_deg + j*dlon_deg``,
``lat = lat0_deg + i*dlat_deg`` (deg; ``dlat_deg < 0`` for north-up rasters). The heights
are any 2-D array-like that slices lazily: numpy, dask, or a ``zarr.Array``; a lazily
backed Dem reads only the windows it is asked for (:meth:`Dem.window`, :meth:`Dem.__call__`)
and reduces chunk by chunk (:meth:`Dem.height_range`). Voids are NaN.

Interpolation (``method``): "nearest", "bilinear", "bicubic" (Keys) or "biquintic" (ISCE's
6 x 6 local natural spline), see :mod:`daskinsar.geometry.dem_interp`. All are local: a
window with a margin of 4 samples interpolates exactly as the whole DEM inside its box.
Beyond the outermost sample centres, ``edge="clamp"`` repeats the edge samples (what ISCE's
topo does) and ``edge="fill"`` returns ``fill_value`` (NaN by default).

Files are opened by :func:`daskinsar.io.dem.open_dem`; the run's DEM store by
:func:`daskinsar.io.dem_prepare.open_dem_store`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

import numpy as np

from ..errors import DemCoverageError, InputFileError
from .dem_interp import METHODS, DemRaster, dem_heights

__all__ = ["Dem", "EdgeMode", "LazyWindow"]

EdgeMode = Literal["clamp", "fill"]
#: samples each side of a point that each method's stencil reaches (biquintic: floor(u)-1 .. floor(u)+4)
STENCIL = {"nearest": 1, "bilinear": 1, "bicubic": 2, "biquintic": 4}
_TILE = 2048  # edge (samples) of the tiles generic array-likes are reduced over


@dataclass(frozen=True, eq=False)
class Dem:
    """Heights (m above the WGS84 ellipsoid) on a regular lon/lat grid of sample centres.

    Parameters
    ----------
    heights_m : 2-D array-like (rows = latitude, columns = longitude): numpy, dask or
        ``zarr.Array``; float32 (float64 kept when a file stores float64); NaN for voids.
    lon0_deg, lat0_deg : longitude / latitude (deg) of the centre of sample (0, 0) of the grid.
    row0, col0 : index in that grid of the first row / column held here (a window keeps its DEM's
        origin, so it interpolates bit for bit as the DEM it was cut from).
    dlon_deg, dlat_deg : sample spacing (deg); negative ``dlat_deg`` for north-up.
    method : interpolation, one of :data:`~daskinsar.geometry.dem_interp.METHODS`.
    source : where the heights come from (a file), named in every message.
    edge : "fill" (``fill_value`` beyond the sample centres) or "clamp" (edge samples repeated).
    fill_value : height (m) returned beyond the sample centres with ``edge="fill"``.
    ref_height_m : height (m) where geometry solvers start every pixel; None = the mean finite
        height of the (window's) samples. Windows inherit it, so blocks start alike.
    attrs : provenance (datum conversion applied, voids, units ...).
    """

    heights_m: Any
    lon0_deg: float
    lat0_deg: float
    dlon_deg: float
    dlat_deg: float
    method: str = "biquintic"
    source: str = "DEM"
    edge: EdgeMode = "fill"
    fill_value: float = math.nan
    ref_height_m: float | None = None
    attrs: Mapping[str, Any] = field(default_factory=dict)
    row0: int = 0
    col0: int = 0
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"DEM interpolation method must be one of {METHODS}, not {self.method!r}")
        if self.edge not in ("clamp", "fill"):
            raise ValueError(f"DEM edge handling must be 'clamp' or 'fill', not {self.edge!r}")
        shape = tuple(getattr(self.heights_m, "shape", ()))
        if len(shape) != 2:
            raise ValueError(f"{self.source}: DEM heights must be 2-D, got shape {shape}")
        if shape[0] < 2 or shape[1] < 2:
            raise InputFileError(self.source, "a DEM of at least 2 x 2 samples", f"{shape[0]} x {shape[1]}")
        for name in ("lon0_deg", "lat0_deg", "dlon_deg", "dlat_deg"):
            v = float(getattr(self, name))
            if not math.isfinite(v) or (name.startswith("d") and v == 0.0):
                raise ValueError(f"{self.source}: DEM {name} must be finite (and spacings non-zero), got {v}")
            object.__setattr__(self, name, v)

    # ------------------------------------------------------------------------- grid
    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.heights_m.shape[0]), int(self.heights_m.shape[1]))

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.heights_m.dtype)

    def lons(self) -> np.ndarray:
        """Longitudes (deg) of the sample centres of the columns."""
        return self.lon0_deg + self.dlon_deg * (self.col0 + np.arange(self.shape[1]))

    def lats(self) -> np.ndarray:
        """Latitudes (deg) of the sample centres of the rows."""
        return self.lat0_deg + self.dlat_deg * (self.row0 + np.arange(self.shape[0]))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(lon_min, lon_max, lat_min, lat_max) of the sample centres (deg)."""
        ny, nx = self.shape
        lo = (self.lon0_deg + self.col0 * self.dlon_deg, self.lon0_deg + (self.col0 + nx - 1) * self.dlon_deg)
        la = (self.lat0_deg + self.row0 * self.dlat_deg, self.lat0_deg + (self.row0 + ny - 1) * self.dlat_deg)
        return min(lo), max(lo), min(la), max(la)

    @property
    def is_numpy(self) -> bool:
        return isinstance(self.heights_m, np.ndarray)

    def replace(self, **changes) -> "Dem":
        """A copy with some fields changed (e.g. ``method``, ``edge``); caches are not shared."""
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------------- windows
    @staticmethod
    def _index_range(a: float, b: float, x0: float, d: float, n: int, margin: int, off: int = 0) -> tuple[int, int]:
        """Inclusive index range of the samples covering coordinates a..b plus ``margin``, clipped; the
        samples held start at index ``off`` of the grid whose sample 0 is at ``x0``."""
        u, v = (round(w) if abs(w - round(w)) < 1e-9 else w for w in sorted(((a - x0) / d - off, (b - x0) / d - off)))
        i0 = int(math.floor(u)) - margin
        i1 = int(math.ceil(v)) + margin
        if i1 < 0:  # box before the first sample: the edge strip
            i0, i1 = 0, min(n - 1, margin + 1)
        elif i0 > n - 1:  # box beyond the last sample
            i0, i1 = max(0, n - 2 - margin), n - 1
        i0, i1 = max(i0, 0), min(i1, n - 1)
        if i1 == i0:
            i0, i1 = (i0 - 1, i1) if i1 == n - 1 else (i0, i1 + 1)
        return i0, i1

    def window_indices(self, lon_min: float, lon_max: float, lat_min: float, lat_max: float,
                       margin: int = 4) -> tuple[slice, slice]:
        """(row slice, column slice) of the samples :meth:`window` would read."""
        vals = (lon_min, lon_max, lat_min, lat_max)
        if not all(math.isfinite(float(v)) for v in vals):
            raise ValueError(f"{self.source}: DEM window bounds must be finite, got {vals}")
        m = max(int(margin), STENCIL[self.method])
        ny, nx = self.shape
        c0, c1 = self._index_range(float(lon_min), float(lon_max), self.lon0_deg, self.dlon_deg, nx, m, self.col0)
        r0, r1 = self._index_range(float(lat_min), float(lat_max), self.lat0_deg, self.dlat_deg, ny, m, self.row0)
        return slice(r0, r1 + 1), slice(c0, c1 + 1)

    def window(self, lon_min: float, lon_max: float, lat_min: float, lat_max: float, margin: int = 4) -> "Dem":
        """A numpy-backed sub-DEM covering the box (deg) plus ``margin`` samples (at least the
        method's stencil reach), clipped at the DEM's edges; reads only that slice.

        Interpolation on the window equals interpolation on the whole DEM inside the box.
        """
        rs, cs = self.window_indices(lon_min, lon_max, lat_min, lat_max, margin)
        if rs == slice(0, self.shape[0]) and cs == slice(0, self.shape[1]) and self.is_numpy:
            return self
        try:
            part = np.asarray(self.heights_m[rs, cs])
        except InputFileError:
            raise
        except Exception as exc:  # a lazy reader failing on its file
            raise InputFileError(self.source, "a readable DEM", f"{type(exc).__name__}: {exc}") from None
        return dataclasses.replace(self, heights_m=part, row0=self.row0 + rs.start, col0=self.col0 + cs.start)

    def lazy_window(self, lon_min: float, lon_max: float, lat_min: float, lat_max: float,
                    margin: int = 4) -> "LazyWindow":
        """The window :meth:`window` would read, not read yet: for a dask graph, whose task
        rebuilds the window's Dem with :meth:`LazyWindow.dem` (a numpy slice for a numpy Dem, a
        dask slice otherwise, so a task never reads the DEM itself). The reference height is
        fixed first (every window then starts geometry solves alike)."""
        rs, cs = self.window_indices(lon_min, lon_max, lat_min, lat_max, margin)
        h = self.heights_m
        if not isinstance(h, np.ndarray) and not hasattr(h, "dask"):
            import dask.array as da

            h = da.from_array(h, chunks=tuple(getattr(h, "chunks", None) or (1024, 1024)), lock=False)
        ref = self.ref_height_m if self.ref_height_m is not None else self.stats()["mean_m"]
        fields = dict(lon0_deg=self.lon0_deg, lat0_deg=self.lat0_deg, dlon_deg=self.dlon_deg, dlat_deg=self.dlat_deg,
                      method=self.method, source=self.source, edge=self.edge, fill_value=self.fill_value,
                      ref_height_m=float(ref), row0=self.row0 + rs.start, col0=self.col0 + cs.start)
        return LazyWindow(h[rs, cs], fields)

    # ------------------------------------------------------------------------- interpolation
    def raster(self) -> DemRaster:
        """The DEM as the compiled geometry kernels take it (float64, built once per Dem).

        Only for a numpy-backed Dem: take a :meth:`window` of a lazily backed one first.
        """
        r = self._cache.get("raster")
        if r is None:
            if not self.is_numpy:
                raise TypeError(f"{self.source}: Dem.raster() needs the heights in memory (numpy); this Dem is "
                                f"backed by {type(self.heights_m).__name__}: use dem.window(lon_min, lon_max, "
                                "lat_min, lat_max).raster()")
            r = DemRaster.build(self.heights_m, self.lon0_deg, self.dlon_deg, self.lat0_deg, self.dlat_deg,
                                self.method, clamp=self.edge == "clamp", fill=self.fill_value, row0=self.row0,
                                col0=self.col0)
            if self.ref_height_m is not None:
                r = r._replace(mean_m=float(self.ref_height_m))
            self._cache["raster"] = r
        return r

    def __call__(self, lon_deg, lat_deg) -> np.ndarray:
        """Heights (m, float64 numpy) at (lon, lat) in deg (broadcast together); reads only the
        window the finite points need. NaN positions give NaN."""
        lon, lat = np.broadcast_arrays(np.asarray(lon_deg, np.float64), np.asarray(lat_deg, np.float64))
        ok = np.isfinite(lon) & np.isfinite(lat)
        if not ok.any():
            return np.full(lon.shape, np.nan)
        box = (float(lon[ok].min()), float(lon[ok].max()), float(lat[ok].min()), float(lat[ok].max()))
        rs, cs = self.window_indices(*box)
        whole = rs == slice(0, self.shape[0]) and cs == slice(0, self.shape[1])
        dem = self if (whole and self.is_numpy) else self.window(*box)
        return dem_heights(dem.raster(), lon, lat)

    # ------------------------------------------------------------------------- statistics
    def _blocks(self):
        """Yield the heights as numpy blocks, chunk by chunk (never the whole lazy array)."""
        a = self.heights_m
        ny, nx = self.shape
        ch = getattr(a, "chunks", None)
        if ch is not None and len(ch) == 2 and all(isinstance(c, (int, np.integer)) for c in ch):
            ty = max(int(ch[0]), 1) * max(1, _TILE // max(int(ch[0]), 1))
            tx = max(int(ch[1]), 1) * max(1, _TILE // max(int(ch[1]), 1))
        else:
            ty = tx = _TILE
        for r0 in range(0, ny, ty):
            for c0 in range(0, nx, tx):
                yield np.asarray(a[r0:r0 + ty, c0:c0 + tx])

    def stats(self) -> dict:
        """{"min_m", "max_m", "mean_m", "n_finite", "n_void"} of the heights, computed once,
        chunk by chunk. Raises :class:`InputFileError` when no height is finite."""
        s = self._cache.get("stats")
        if s is not None:
            return s
        a = self.heights_m
        try:
            if isinstance(a, np.ndarray):
                fin = np.isfinite(a)
                n = int(fin.sum())
                parts = [(float(a[fin].min()), float(a[fin].max()), float(a[fin].sum(dtype=np.float64)), n)] if n \
                    else []
            elif hasattr(a, "dask"):
                import dask
                import dask.array as da

                fin = da.isfinite(a)
                n, lo, hi, tot = dask.compute(fin.sum(), da.nanmin(a), da.nanmax(a), da.nansum(a, dtype=np.float64))
                parts = [(float(lo), float(hi), float(tot), int(n))] if int(n) else []
            else:
                parts = []
                for b in self._blocks():
                    f = np.isfinite(b)
                    k = int(f.sum())
                    if k:
                        v = b[f]
                        parts.append((float(v.min()), float(v.max()), float(v.sum(dtype=np.float64)), k))
        except InputFileError:
            raise
        except Exception as exc:
            raise InputFileError(self.source, "a readable DEM", f"{type(exc).__name__}: {exc}") from None
        total = self.shape[0] * self.shape[1]
        n = sum(p[3] for p in parts)
        if n == 0:
            raise InputFileError(self.source, "a DEM with valid heights", "nodata everywhere")
        s = {"min_m": min(p[0] for p in parts), "max_m": max(p[1] for p in parts),
             "mean_m": sum(p[2] for p in parts) / n, "n_finite": n, "n_void": total - n}
        self._cache["stats"] = s
        return s

    def height_range(self) -> tuple[float, float]:
        """(min, max) of the finite heights (m), computed once, chunk by chunk."""
        s = self.stats()
        return s["min_m"], s["max_m"]

    # ------------------------------------------------------------------------- coverage
    def check_covers(self, lon_deg, lat_deg, what: str = "scene") -> None:
        """Raise :class:`DemCoverageError` naming :attr:`source` and both boxes unless the sample
        centres span every finite (lon, lat) given (deg; arrays, or the box corners)."""
        lon = np.asarray(lon_deg, np.float64)
        lat = np.asarray(lat_deg, np.float64)
        lon, lat = lon[np.isfinite(lon)], lat[np.isfinite(lat)]
        if lon.size == 0 or lat.size == 0:
            raise DemCoverageError(f"{self.source}: no finite positions given for the {what}")
        need = (float(lon.min()), float(lon.max()), float(lat.min()), float(lat.max()))
        have = self.bounds
        tol = 1e-9 * max(abs(self.dlon_deg), abs(self.dlat_deg))
        if need[0] < have[0] - tol or need[1] > have[1] + tol or need[2] < have[2] - tol or need[3] > have[3] + tol:
            raise DemCoverageError(
                f"{self.source}: the {what} needs lon {need[0]:.6f} .. {need[1]:.6f}, lat {need[2]:.6f} .. "
                f"{need[3]:.6f} deg, but the DEM covers lon {have[0]:.6f} .. {have[1]:.6f}, lat {have[2]:.6f} .. "
                f"{have[3]:.6f} deg (sample centres)")

    # ------------------------------------------------------------------------- views
    def to_xarray(self):
        """The heights as an ``xarray.DataArray`` (y, x) with coordinates ``x`` = lon, ``y`` = lat
        (deg, sample centres); lazy (dask) unless numpy-backed."""
        import dask.array as da
        import xarray as xr

        data = self.heights_m
        if not isinstance(data, np.ndarray) and not hasattr(data, "dask"):
            data = da.from_array(data, chunks=getattr(data, "chunks", "auto"), lock=False)
        attrs = {"source": self.source, "method": self.method, "units": "m", "crs": "EPSG:4326", **dict(self.attrs)}
        return xr.DataArray(data, dims=("y", "x"), coords={"x": self.lons(), "y": self.lats()}, attrs=attrs,
                            name="hgt")

    @property
    def values(self) -> np.ndarray:
        """Transitional (for ``pipeline._dem`` until it takes a Dem): the whole heights array in memory."""
        return np.asarray(self.heights_m)

    def __getitem__(self, name: str):
        """Transitional: ``dem["x"]`` / ``dem["y"]`` coordinates as DataArrays (as the old reader gave)."""
        if name not in ("x", "y"):
            raise KeyError(name)
        return self.to_xarray()[name]

    def __dask_tokenize__(self):
        from dask.base import tokenize

        data = self.heights_m
        key = tokenize(data) if isinstance(data, np.ndarray) or hasattr(data, "dask") else \
            (type(data).__name__, str(getattr(data, "store_path", "")), str(getattr(data, "path", "")), self.shape)
        return ("Dem", self.source, key, self.lon0_deg, self.lat0_deg, self.row0, self.col0, self.dlon_deg,
                self.dlat_deg, self.method, self.edge, repr(self.fill_value), self.ref_height_m)

    def __repr__(self) -> str:
        b = tuple(round(v, 6) for v in self.bounds)
        return (f"Dem({self.source!r}, shape={self.shape}, method={self.method!r}, edge={self.edge!r}, "
                f"bounds={b}, backing={type(self.heights_m).__name__})")


@dataclass(frozen=True)
class LazyWindow:
    """A DEM window for a dask graph: ``heights`` (numpy or a dask slice: a task's input) and the
    scalar fields of its :class:`Dem`."""

    heights: Any
    fields: Mapping[str, Any]

    @staticmethod
    def dem(heights: np.ndarray, fields: Mapping[str, Any]) -> Dem:
        """Inside a task: the window's Dem from its (computed) heights."""
        return Dem(np.asarray(heights), **fields)


#: the dims of a DEM inside a stage's input Dataset (a stage input holds the radar grid too)
DEM_DIMS = ("dem_lat", "dem_lon")


def dem_to_dataarray(dem: Dem):
    """The DEM as a stage input variable ``dem``: heights on ``dem_lat`` x ``dem_lon`` (sample centres,
    deg), lazy unless numpy-backed, with the Dem's fields in the attributes."""
    import dask.array as da
    import xarray as xr

    data = dem.heights_m
    if not isinstance(data, np.ndarray) and not hasattr(data, "dask"):
        data = da.from_array(data, chunks=tuple(getattr(data, "chunks", None) or (1024, 1024)), lock=False)
    ref = dem.ref_height_m if dem.ref_height_m is not None else dem.stats()["mean_m"]
    attrs = {"units": "m", "long_name": "height above the WGS84 ellipsoid", "source": dem.source,
             "interpolation": dem.method, "edge": dem.edge, "fill_value": float(dem.fill_value),
             "ref_height_m": float(ref)}
    return xr.DataArray(data, dims=DEM_DIMS, coords={"dem_lat": dem.lats(), "dem_lon": dem.lons()}, attrs=attrs,
                        name="dem")


def dem_from_dataarray(arr) -> Dem:
    """Inverse of :func:`dem_to_dataarray` (heights stay as lazy as they are)."""
    lon = np.asarray(arr[DEM_DIMS[1]].values, np.float64)
    lat = np.asarray(arr[DEM_DIMS[0]].values, np.float64)
    a = arr.attrs
    edge: EdgeMode = "clamp" if a.get("edge") == "clamp" else "fill"
    return Dem(arr.data, float(lon[0]), float(lat[0]), float(lon[1] - lon[0]), float(lat[1] - lat[0]),
               method=str(a.get("interpolation", "biquintic")), source=str(a.get("source", "DEM")), edge=edge,
               fill_value=float(a.get("fill_value", math.nan)), ref_height_m=a.get("ref_height_m"))
