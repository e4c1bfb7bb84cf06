"""Transitional DEM helpers on ``xarray.DataArray`` DEMs (the reader's output before
:class:`daskinsar.geometry.dem.Dem`). Kept until the pipeline, topo and geocode stages take a
``Dem``; each maps onto it:

- ``DemInterpolator(dem, method)(lon, lat)``  ->  ``open_dem(path, interpolation=method)(lon, lat)``
- ``DemInterpolator.raster()``                ->  ``dem.window(box).raster()`` (``edge="fill"``)
- ``DemInterpolator.check_coverage(...)``     ->  ``dem.check_covers(lon, lat, what)``
- ``crop_dem(dem, (lon0, lat0, lon1, lat1))`` ->  ``dem.window(lon0, lon1, lat0, lat1, margin)``
- ``check_coverage(dem, ...)``                ->  ``dem.check_covers(...)``
- ``dem_extent(dem)``                         ->  ``dem.bounds``
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import DemCoverageError, InputFileError
from ..geometry.dem import Dem
from ..geometry.dem_interp import DemRaster

__all__ = ["DemInterpolator", "crop_dem", "check_coverage", "dem_extent"]

InterpMethod = str


# ----------------------------------------------------------------------------- grid helpers
def _grid(dem: xr.DataArray) -> tuple[float, float, float, float]:
    """(x0, dx, y0, dy) of a regular DEM grid (sample locations, deg)."""
    x = np.asarray(dem["x"].values, dtype=np.float64)
    y = np.asarray(dem["y"].values, dtype=np.float64)
    if len(x) < 2 or len(y) < 2:
        raise InputFileError(dem.attrs.get("source", "DEM"), "a DEM of at least 2 x 2 samples", f"{dem.shape}")
    dx = (x[-1] - x[0]) / (len(x) - 1)
    dy = (y[-1] - y[0]) / (len(y) - 1)
    if np.max(np.abs(np.diff(x) - dx)) > 1e-6 * abs(dx) or np.max(np.abs(np.diff(y) - dy)) > 1e-6 * abs(dy):
        raise InputFileError(dem.attrs.get("source", "DEM"), "a DEM on a regular lon/lat grid", "irregular spacing")
    return float(x[0]), float(dx), float(y[0]), float(dy)


def dem_extent(dem: xr.DataArray) -> tuple[float, float, float, float]:
    """(lon_min, lon_max, lat_min, lat_max) of the sample locations (the interpolable area)."""
    x = np.asarray(dem["x"].values)
    y = np.asarray(dem["y"].values)
    return float(x.min()), float(x.max()), float(y.min()), float(y.max())


def check_coverage(dem: xr.DataArray, lon_min: float, lon_max: float, lat_min: float, lat_max: float,
                   what: str = "scene") -> None:
    """Raise :class:`DemCoverageError` unless the DEM's samples span the given box (deg)."""
    a = dem_extent(dem)
    if lon_min < a[0] or lon_max > a[1] or lat_min < a[2] or lat_max > a[3]:
        src = dem.attrs.get("source", "DEM")
        raise DemCoverageError(
            f"{src}: the {what} needs lon {lon_min:.6f} .. {lon_max:.6f}, lat {lat_min:.6f} .. {lat_max:.6f} deg, "
            f"but the DEM covers lon {a[0]:.6f} .. {a[1]:.6f}, lat {a[2]:.6f} .. {a[3]:.6f} deg (sample centres)")


def crop_dem(dem: xr.DataArray, bounds: tuple[float, float, float, float], margin: int = 24) -> xr.DataArray:
    """The part of ``dem`` covering ``bounds`` = (lon_min, lat_min, lon_max, lat_max) plus
    ``margin`` samples on every side (clipped at the DEM's edge). Lazy (an ``isel``).

    A margin of 24 samples makes spline interpolation (bicubic/biquintic) on the crop
    equal to that on the whole DEM to ~1e-8 of the height range inside ``bounds``;
    bilinear needs only 1.
    """
    x0, dx, y0, dy = _grid(dem)
    lon_min, lat_min, lon_max, lat_max = bounds
    cols = sorted([(lon_min - x0) / dx, (lon_max - x0) / dx])
    rows = sorted([(lat_min - y0) / dy, (lat_max - y0) / dy])
    c0 = max(int(np.floor(cols[0])) - margin, 0)
    c1 = min(int(np.ceil(cols[1])) + margin + 1, dem.sizes["x"])
    r0 = max(int(np.floor(rows[0])) - margin, 0)
    r1 = min(int(np.ceil(rows[1])) + margin + 1, dem.sizes["y"])
    if c0 >= c1 or r0 >= r1:
        raise DemCoverageError(f"{dem.attrs.get('source', 'DEM')}: no DEM samples near lon {lon_min:.6f} .. "
                               f"{lon_max:.6f}, lat {lat_min:.6f} .. {lat_max:.6f} deg")
    return dem.isel(y=slice(r0, r1), x=slice(c0, c1))


# ----------------------------------------------------------------------------- interpolation
class DemInterpolator:
    """Heights (m) at arbitrary (lon deg, lat deg) from a DEM; a callable for rdr2geo.

    ``DemInterpolator(dem, method="biquintic")(lon, lat) -> hgt`` (numpy, vectorised,
    any broadcastable shapes). Methods are those of
    :func:`daskinsar.geometry.dem_interp.interpolate_raster`: "nearest", "bilinear",
    "bicubic" (Keys cubic convolution), "biquintic" (ISCE's local 6 x 6 natural
    spline, its default). All are exact at the samples and local, so a cropped DEM
    gives the same heights as the whole one. Points outside the DEM give
    ``fill_value`` (default NaN) or, with ``strict=True``, raise
    :class:`DemCoverageError`; points whose stencil touches nodata give NaN.

    The DEM array is loaded into memory on construction: for large DEMs build one
    per processing block from :func:`crop_dem` (margin 4 covers every stencil).
    """

    def __init__(self, dem, method: InterpMethod = "biquintic", *, fill_value: float = np.nan,
                 strict: bool = False):
        from ..geometry.dem_interp import METHODS

        if isinstance(dem, Dem):
            dem = dem.to_xarray()
        elif not isinstance(dem, xr.DataArray):
            from .dem import open_dem

            dem = open_dem(dem).to_xarray()
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {method!r}")
        self.method = method
        self.fill_value = float(fill_value)
        self.strict = strict
        self.source = str(dem.attrs.get("source", "DEM"))
        self.height_reference = dem.attrs.get("height_reference", "unspecified")
        self.x0, self.dx, self.y0, self.dy = _grid(dem)
        self.extent = dem_extent(dem)
        self.values = np.asarray(dem.values, dtype=np.float64)
        self.shape = self.values.shape

    def check_coverage(self, lon_min: float, lon_max: float, lat_min: float, lat_max: float,
                       what: str = "scene") -> None:
        """Raise :class:`DemCoverageError` naming the DEM file if the box (deg) is not covered."""
        a = self.extent
        if lon_min < a[0] or lon_max > a[1] or lat_min < a[2] or lat_max > a[3]:
            raise DemCoverageError(
                f"{self.source}: the {what} needs lon {lon_min:.6f} .. {lon_max:.6f}, lat {lat_min:.6f} .. "
                f"{lat_max:.6f} deg, but the DEM covers lon {a[0]:.6f} .. {a[1]:.6f}, lat {a[2]:.6f} .. "
                f"{a[3]:.6f} deg (sample centres)")

    def pixel(self, lon_deg, lat_deg) -> tuple[np.ndarray, np.ndarray]:
        """Fractional (row, col) of (lon, lat) in the DEM's sample grid."""
        lon, lat = np.broadcast_arrays(np.asarray(lon_deg, np.float64), np.asarray(lat_deg, np.float64))
        return (lat - self.y0) / self.dy, (lon - self.x0) / self.dx

    def __call__(self, lon_deg, lat_deg) -> np.ndarray:
        from ..geometry.dem_interp import interpolate_raster

        rows, cols = self.pixel(lon_deg, lat_deg)
        ny, nx = self.shape
        outside = ~((rows >= -1e-9) & (rows <= ny - 1 + 1e-9) & (cols >= -1e-9) & (cols <= nx - 1 + 1e-9))
        out = np.where(outside, self.fill_value, interpolate_raster(self.values, rows, cols, self.method))
        if self.strict:
            if np.any(outside):
                lon, lat = np.broadcast_arrays(np.asarray(lon_deg, float), np.asarray(lat_deg, float))
                self.check_coverage(float(np.nanmin(lon)), float(np.nanmax(lon)), float(np.nanmin(lat)),
                                    float(np.nanmax(lat)), what="request")
        return out

    def raster(self) -> "DemRaster":
        """The DEM as compiled geometry kernels take it (``fill_value`` outside the sample centres);
        built once per instance."""
        if getattr(self, "_raster", None) is None:
            self._raster = DemRaster.build(self.values, self.x0, self.dx, self.y0, self.dy, self.method,
                                           clamp=False, fill=self.fill_value)
        return self._raster

    def __repr__(self) -> str:
        return (f"DemInterpolator({self.source!r}, method={self.method!r}, shape={self.shape}, "
                f"extent={tuple(round(v, 6) for v in self.extent)})")


