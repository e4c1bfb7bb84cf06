"""Water mask rasters: :func:`open_water_raster` opens a user-supplied raster lazily, as the water stage
(:mod:`daskinsar.stages.water`) takes it.

Anything GDAL reads (GeoTIFF, ...) in any CRS it knows, one band; values are classes (1 / nonzero =
water by default, or the configured ``water_values``); nodata (the file's nodata value or GDAL mask) is
NaN. Refused with one :class:`~daskinsar.errors.InputFileError` line naming the file: missing, empty or
unreadable, no CRS, several bands, a rotated or sheared geotransform.
"""

from __future__ import annotations

import os

import dask.array as da
import numpy as np
import xarray as xr
from dask.base import tokenize

from ..errors import InputFileError
from ._files import input_file, open_raster
from .dem_readers import _squeeze, _window

__all__ = ["open_water_raster", "WATER_DIMS"]

#: the dims of the water raster inside the water stage's input Dataset
WATER_DIMS = ("water_y", "water_x")
_EXPECTED = "a water mask raster readable by GDAL (GeoTIFF), one band, with a CRS"


class _Band:
    """Band 1 of a GDAL raster as a lazily sliced float32 array (NaN where nodata)."""

    ndim = 2
    dtype = np.dtype(np.float32)

    def __init__(self, path: str, shape: tuple[int, int]):
        self.path, self.shape = path, shape

    def __getitem__(self, key) -> np.ndarray:
        import rasterio
        from rasterio.windows import Window

        r0, r1, c0, c1 = _window(key, self.shape)
        if r1 == r0 or c1 == c0:
            return np.empty((r1 - r0, c1 - c0), np.float32)
        try:
            with rasterio.open(self.path) as src:
                a = src.read(1, window=Window(c0, r0, c1 - c0, r1 - r0), masked=True)
        except Exception as exc:
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputFileError(self.path, "a readable water mask raster",
                                 f"unreadable data in rows {r0}..{r1 - 1}, columns {c0}..{c1 - 1}: {msg}") from None
        out = np.asarray(a.data, dtype=np.float32)
        out[np.ma.getmaskarray(a)] = np.nan
        return _squeeze(key, out)


def open_water_raster(path, chunks: int = 1024) -> xr.DataArray:
    """The raster as a lazy DataArray on :data:`WATER_DIMS` with coordinates ``water_y``, ``water_x`` (pixel
    centres in the raster's CRS) and attributes ``crs`` (WKT), ``transform`` (GDAL's affine a, b, c, d,
    e, f of pixel corners) and ``source`` (the file); float32 values, NaN where nodata."""
    path = str(path)
    input_file(path, _EXPECTED)  # missing, a folder, unreadable or empty: said as such
    src = open_raster(path, _EXPECTED)
    with src:
        if src.count != 1:
            raise InputFileError(path, "a water mask raster with one band", f"{src.count} bands")
        if src.crs is None:
            raise InputFileError(path, "a water mask raster with a CRS (e.g. EPSG:4326)", "no CRS")
        t = src.transform
        if t.b != 0.0 or t.d != 0.0:
            raise InputFileError(path, "a north-up water mask grid (geotransform without rotation or shear)",
                                 f"rotation/shear terms {t.b:g}, {t.d:g}; warp it north-up first (gdalwarp)")
        shape = (src.height, src.width)
        crs = src.crs.to_wkt()
        block = src.block_shapes[0]
        stamp = (os.path.getmtime(path), os.path.getsize(path))
    ch = tuple(max(1, round(chunks / b)) * b if b < chunks else chunks for b in block)
    arr = da.from_array(_Band(path, shape), chunks=ch, name="water-read-" + tokenize(os.path.abspath(path), stamp),
                        lock=False, asarray=True, meta=np.empty((0, 0), np.float32))
    x = t.c + t.a * (np.arange(shape[1]) + 0.5)
    y = t.f + t.e * (np.arange(shape[0]) + 0.5)
    return xr.DataArray(arr, dims=WATER_DIMS, coords={"water_y": y, "water_x": x}, name="water_raster",
                        attrs={"crs": crs, "transform": [t.a, t.b, t.c, t.d, t.e, t.f],
                               "source": os.path.abspath(path)})
