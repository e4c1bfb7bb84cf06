"""Digital elevation models: reading, cropping, interpolating and writing.

Conventions
-----------
- A DEM is an ``xarray.DataArray`` with dims ``(y, x)``: ``x`` = longitude (deg east),
  ``y`` = latitude (deg north), both the locations of the height *samples*; values are
  heights in metres (float32, or float64 when the file is float64), nodata as NaN.
- **Where a sample sits.** GeoTIFF geotransforms (as GDAL reports them) refer to
  pixel *corners*; a height value belongs to the pixel *centre*, i.e. sample (i, j)
  is at ``transform * (j + 0.5, i + 0.5)``. This holds for both
  ``AREA_OR_POINT=Area`` and ``AREA_OR_POINT=Point`` files, because for PixelIsPoint
  GeoTIFFs GDAL already shifts the geotransform by half a pixel so that it keeps
  referring to corners (unless ``GTIFF_POINT_GEO_IGNORE=TRUE`` is set). Use
  ``open_dem(..., sample_at="corner")`` to place samples at the geotransform
  nodes instead (what some processors assume for their own DEM files).
- **Height reference.** daskinsar's geometry works with heights above the WGS84
  ellipsoid, and takes DEM heights as ellipsoidal. No geoid grid ships with the
  installed PROJ data (no ``us_nga_egm96_15.tif`` / ``egm08`` grid in
  ``pyproj.datadir.get_data_dir()`` or the user data dir), so no geoid correction is
  offered. When a file's CRS declares a geoid vertical datum (e.g. EPSG:9707 =
  WGS 84 + EGM96 height) ``open_dem`` records it in ``attrs["height_reference"]``
  and warns: the heights are then used as if ellipsoidal, off by the geoid
  undulation (-107 .. +85 m worldwide).
- Horizontal CRS: geographic WGS84 (EPSG:4326, or a compound CRS with it) is used
  as is and read lazily; any other CRS is reprojected to EPSG:4326 (eagerly,
  bilinear, at about the same resolution).
"""

from __future__ import annotations

import os
import warnings
from typing import Literal

import numpy as np
import xarray as xr

from ..errors import DemCoverageError, InputFileError

__all__ = ["open_dem", "DemInterpolator", "crop_dem", "check_coverage", "write_dem_geotiff",
           "dem_extent", "geoid_grid_available"]

InterpMethod = Literal["nearest", "bilinear", "bicubic", "biquintic"]


# ----------------------------------------------------------------------------- reading
def geoid_grid_available() -> str | None:
    """Path of an offline EGM96 geoid grid in the PROJ data directories, or None."""
    try:
        import pyproj.datadir as pdd

        dirs = [pdd.get_data_dir(), pdd.get_user_data_dir()]
    except Exception:
        return None
    for d in dirs:
        for sub in d.split(os.pathsep):
            p = os.path.join(sub, "us_nga_egm96_15.tif")
            if os.path.isfile(p):
                return p
    return None


def _height_reference(crs) -> str:
    """'ellipsoid' unless the CRS names a vertical (geoid) datum."""
    if crs is None:
        return "unspecified (taken as WGS84 ellipsoidal)"
    try:
        import pyproj

        pc = pyproj.CRS.from_user_input(crs.to_wkt() if hasattr(crs, "to_wkt") else crs)
    except Exception:
        return "unspecified (taken as WGS84 ellipsoidal)"
    if pc.is_compound:
        for sub in pc.sub_crs_list:
            if sub.is_vertical:
                return sub.name
    if pc.is_vertical:
        return pc.name
    return "unspecified (taken as WGS84 ellipsoidal)"


def _is_wgs84_geographic(crs) -> bool:
    import pyproj

    pc = pyproj.CRS.from_user_input(crs.to_wkt())
    horiz = pc.sub_crs_list[0] if pc.is_compound else pc
    return horiz.is_geographic and horiz.equals(pyproj.CRS.from_epsg(4326), ignore_axis_order=True)


def open_dem(path, *, chunks: int | dict | None = 1024, sample_at: Literal["centre", "corner"] = "centre",
             warn_geoid: bool = True) -> xr.DataArray:
    """Open a DEM raster (GeoTIFF or anything GDAL reads) as a lazy DataArray of heights.

    Parameters
    ----------
    path : the raster file.
    chunks : dask chunk edge (pixels) or a ``{"y": .., "x": ..}`` dict; None = numpy.
    sample_at : "centre" (default; see module docstring) or "corner" to put the samples
        at the geotransform nodes.
    warn_geoid : warn when the file declares geoid-referenced heights.

    Returns
    -------
    DataArray (y, x) of heights in m with NaN for nodata; coordinates ``x`` (lon deg),
    ``y`` (lat deg); attrs ``source``, ``height_reference``, ``sample_at``,
    ``area_or_point``, ``crs``.
    """
    import rasterio
    import rioxarray

    path = str(path)
    if not os.path.isfile(path):
        raise InputFileError(path, "a DEM raster (GeoTIFF)", "no such file")
    if os.path.getsize(path) == 0:
        raise InputFileError(path, "a DEM raster (GeoTIFF)", "an empty file")
    try:
        with rasterio.open(path) as src:
            crs = src.crs
            count = src.count
            src_dtype = np.dtype(src.dtypes[0])
            area_or_point = src.tags().get("AREA_OR_POINT", "Area")
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputFileError(path, "a DEM raster readable by GDAL (GeoTIFF)", msg) from None
    if count < 1:
        raise InputFileError(path, "a DEM raster with one band of heights", "no bands")
    if crs is None:
        raise InputFileError(path, "a DEM raster with a CRS (e.g. EPSG:4326)", "no CRS")
    if isinstance(chunks, int):
        chunks = {"band": 1, "y": chunks, "x": chunks}
    elif isinstance(chunks, dict):
        chunks = {"band": 1, **chunks}
    try:
        opened = rioxarray.open_rasterio(path, masked=True, chunks=chunks)
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputFileError(path, "a DEM raster readable by GDAL (GeoTIFF)", msg) from None
    if not isinstance(opened, xr.DataArray):
        raise InputFileError(path, "a DEM raster with one band of heights", "several subdatasets")
    arr = opened.isel(band=0, drop=True)

    if not _is_wgs84_geographic(crs):
        arr = arr.rio.reproject("EPSG:4326", resampling=rasterio.enums.Resampling.bilinear, nodata=np.nan,
                                tolerance=0.0)  # exact coordinate transform per pixel (GDAL default: 0.125 px)

    out_dtype = np.float64 if src_dtype == np.float64 else np.float32
    arr = arr.astype(out_dtype)
    if sample_at == "corner":
        dx = float(arr.x[1] - arr.x[0]) if arr.sizes["x"] > 1 else 0.0
        dy = float(arr.y[1] - arr.y[0]) if arr.sizes["y"] > 1 else 0.0
        arr = arr.assign_coords(x=arr.x - dx / 2, y=arr.y - dy / 2)
    elif sample_at != "centre":
        raise ValueError(f"sample_at must be 'centre' or 'corner', not {sample_at!r}")

    href = _height_reference(crs)
    if warn_geoid and "unspecified" not in href and "ellipsoid" not in href.lower():
        warnings.warn(f"{path}: heights are referenced to {href!r}; daskinsar takes DEM heights as "
                      "ellipsoidal and no offline geoid grid is available to convert them", stacklevel=2)
    keep = {k: v for k, v in arr.attrs.items() if k in ("units",)}
    arr.attrs = {**keep, "source": os.path.abspath(path), "height_reference": href, "sample_at": sample_at,
                 "area_or_point": area_or_point, "crs": "EPSG:4326"}
    arr.name = "hgt"
    return arr


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

        if not isinstance(dem, xr.DataArray):
            dem = open_dem(dem, chunks=None)
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

    def raster(self):
        """The DEM as compiled geometry kernels take it (``fill_value`` outside the sample centres);
        built once per instance."""
        from ..geometry.dem_interp import DemRaster

        if getattr(self, "_raster", None) is None:
            self._raster = DemRaster.build(self.values, self.x0, self.dx, self.y0, self.dy, self.method,
                                           clamp=False, fill=self.fill_value)
        return self._raster

    def __repr__(self) -> str:
        return (f"DemInterpolator({self.source!r}, method={self.method!r}, shape={self.shape}, "
                f"extent={tuple(round(v, 6) for v in self.extent)})")


# ----------------------------------------------------------------------------- writing
def write_dem_geotiff(array, lon0: float, lat0: float, dlon: float, dlat: float, path, *,
                      nodata: float = np.nan, height_reference: Literal["ellipsoid", "egm96"] = "ellipsoid",
                      dtype=np.float32) -> str:
    """Write a lon/lat DEM as a tiled, deflate-compressed GeoTIFF (EPSG:4326).

    ``array[i, j]`` is the height (m) at longitude ``lon0 + j * dlon`` and latitude
    ``lat0 + i * dlat`` (deg; sample *centres*, ``dlat < 0`` for north-up). The file's
    geotransform (pixel corners, ``AREA_OR_POINT=Area``) is shifted by half a pixel
    accordingly, so :func:`open_dem` returns exactly these coordinates.
    ``height_reference="egm96"`` tags the file with EPSG:9707 (WGS 84 + EGM96 height).
    """
    import rasterio
    from rasterio.transform import Affine

    a = np.asarray(array)
    if a.ndim != 2:
        raise ValueError(f"DEM array must be 2-D, got shape {a.shape}")
    transform = Affine(dlon, 0.0, lon0 - dlon / 2.0, 0.0, dlat, lat0 - dlat / 2.0)
    crs = "EPSG:9707" if height_reference == "egm96" else "EPSG:4326"
    profile = dict(driver="GTiff", height=a.shape[0], width=a.shape[1], count=1, dtype=np.dtype(dtype).name,
                   crs=crs, transform=transform, nodata=nodata, compress="deflate")
    if a.shape[0] >= 256 and a.shape[1] >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    path = str(path)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(a.astype(dtype), 1)
        dst.update_tags(AREA_OR_POINT="Area")
        dst.set_band_unit(1, "metre")
    return path
