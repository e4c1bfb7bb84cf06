"""water: a user-supplied water mask resampled onto the multilooked radar grid (the unwrapper masks it out).

Each look cell takes the raster pixel that contains its ground point (nearest neighbour at the cell's
``lon``, ``lat``, transformed into the raster's CRS): water where that pixel's value is nonzero, or one
of ``water_values`` when they are given. Cells without a ground point (NaN lon/lat) are 0.

Refused (one :class:`~daskinsar.errors.InputFileError` line naming the file): a raster that does not
contain every look cell's ground point, or has no data (nodata) under some of them: daskinsar does not
guess whether unmapped ground is water.

Blocks: each block of the multilooked grid is one task that receives only the raster window under its
cells (found by a first, cheap pass over the cells' positions), so memory is bounded by the block.
"""

from __future__ import annotations

import functools

import dask
import dask.array as da
import numpy as np
import xarray as xr
from pydantic import Field

from ..errors import InputFileError
from ..params import Params

__all__ = ["WaterMaskParams", "run", "raster_pixels"]


class WaterMaskParams(Params):
    """A water mask raster: its water is invalid for the unwrapper."""

    path: str | None = Field(None, description="water mask raster (GeoTIFF or anything GDAL reads, one band, any "
                                               "CRS): water where nonzero (or one of water_values); None: no water "
                                               "mask")
    water_values: list[float] | None = Field(None, description="the raster values that are water; None: every "
                                                               "nonzero value")


@functools.lru_cache(maxsize=16)
def _transformer(crs_wkt: str):
    import pyproj

    return pyproj.Transformer.from_crs("EPSG:4326", pyproj.CRS.from_wkt(crs_wkt), always_xy=True)


def raster_pixels(lon_deg: np.ndarray, lat_deg: np.ndarray, crs_wkt: str, transform) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) float indices of the raster pixels containing (lon, lat) deg: pixel (i, j) covers
    ``[i, i + 1) x [j, j + 1)`` (GDAL's corner-based affine ``transform`` a, b, c, d, e, f; b = d = 0)."""
    a, _, c, _, e, f = (float(v) for v in transform)
    x, y = _transformer(crs_wkt).transform(np.asarray(lon_deg, np.float64), np.asarray(lat_deg, np.float64))
    return (np.asarray(y) - f) / e, (np.asarray(x) - c) / a


def _extent(lon, lat, *, crs, transform, shape):
    """One block's [row_min, row_max, col_min, col_max, n_outside, n_finite] (rows / cols of the raster)."""
    row, col = raster_pixels(lon, lat, crs, transform)
    fin = np.isfinite(row) & np.isfinite(col)
    inside = fin & (row >= 0) & (row < shape[0]) & (col >= 0) & (col < shape[1])
    out = np.array([0, -1, 0, -1, np.count_nonzero(fin & ~inside), np.count_nonzero(fin)], np.float64)
    if inside.any():
        r, k = np.floor(row[inside]), np.floor(col[inside])
        out[:4] = r.min(), r.max(), k.min(), k.max()
    return out.reshape(1, 1, 6)


def _sample(lon, lat, window, *, r0, c0, crs, transform, values, source):
    row, col = raster_pixels(lon, lat, crs, transform)
    fin = np.isfinite(row) & np.isfinite(col)
    out = np.zeros(np.shape(lon), np.uint8)
    if not fin.any():
        return out
    v = np.asarray(window)[np.floor(row[fin]).astype(np.int64) - r0, np.floor(col[fin]).astype(np.int64) - c0]
    if np.isnan(v).any():
        raise InputFileError(source, "a water mask with data under the whole scene",
                             f"no data (nodata) under {int(np.isnan(v).sum())} look cells; give them 0 (land) or "
                             "a water value")
    out[fin] = np.isin(v, values) if values is not None else (v != 0)
    return out


def run(inputs: xr.Dataset, params: WaterMaskParams) -> xr.Dataset:
    """``inputs``: ``lon``, ``lat`` (deg, the multilooked grid's ground points) and ``water_raster`` (see
    :func:`daskinsar.io.water.open_water_raster`: values on ``water_y`` x ``water_x``, attributes ``crs``,
    ``transform``, ``source``). Returns ``mask`` (uint8, 1 water, 0 land) on the grid of ``lon``."""
    lon, lat = inputs["lon"].data, inputs["lat"].data
    if not isinstance(lon, da.Array):
        lon = da.from_array(lon, chunks=lon.shape)
    lat = da.asarray(lat).rechunk(lon.chunks)
    raster = inputs["water_raster"]
    crs, transform, source = raster.attrs["crs"], list(raster.attrs["transform"]), str(raster.attrs["source"])
    shape = raster.shape
    values = None if params.water_values is None else np.asarray(params.water_values, np.float64)
    nb = lon.numblocks
    ext = da.map_blocks(_extent, lon, lat, crs=crs, transform=transform, shape=shape, new_axis=2,
                        chunks=((1,) * nb[0], (1,) * nb[1], (6,)), dtype=np.float64).compute()
    n_out, n_fin = int(ext[..., 4].sum()), int(ext[..., 5].sum())
    if n_out:
        lo0, lo1, la0, la1 = (float(v) for v in da.compute(da.nanmin(lon), da.nanmax(lon), da.nanmin(lat),
                                                           da.nanmax(lat)))
        raise InputFileError(source, "a water mask raster covering the scene",
                             f"{n_out} of the scene's {n_fin} look cells outside it (the scene spans lon "
                             f"{lo0:.4f} .. {lo1:.4f}, lat {la0:.4f} .. {la1:.4f} deg)")
    tok = dask.base.tokenize(lon, lat, raster.data, crs, transform, params)
    rows = []
    for bi in range(nb[0]):
        row = []
        for bj in range(nb[1]):
            lb, tb = lon.blocks[bi, bj], lat.blocks[bi, bj]
            r0, r1, c0, c1 = (int(v) for v in ext[bi, bj, :4])
            win = raster.data[r0:r1 + 1, c0:c1 + 1] if r1 >= r0 else np.zeros((0, 0), np.float32)
            task = dask.delayed(_sample, pure=True)(lb, tb, win, r0=r0, c0=c0, crs=crs, transform=transform,
                                                   values=values, source=source,
                                                   dask_key_name=f"water-sample-{bi}-{bj}-{tok}")
            row.append(da.from_delayed(task, shape=lb.shape, dtype=np.uint8, name=f"water-mask-{bi}-{bj}-{tok}"))
        rows.append(row)
    mask = da.block(rows)
    coords = {k: v for k, v in inputs["lon"].coords.items()}
    rule = "nonzero" if values is None else f"one of {params.water_values}"
    return xr.Dataset({"mask": (inputs["lon"].dims, mask, {"long_name": f"water (raster value {rule})",
                                                           "units": "1", "flag_values": [0, 1],
                                                           "flag_meanings": "land water"})},
                      coords=coords, attrs={"source": source, "resampling": "nearest (the raster pixel containing "
                                                                           "each look cell's ground point)"})
