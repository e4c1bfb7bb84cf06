"""geocode: radar-grid products onto a map grid (EPSG:4326 or UTM), backward, tile by tile.

For every output pixel (map x, y) the DEM gives the height, geo2rdr with the
reference orbit gives the (azimuth time, slant range) that saw it, and the radar
product is interpolated there (bilinear for real values, nearest for complex and
integer labels). Output pixels whose radar position falls outside the radar grid
are NaN (or 0 for labels).

Two phases, as in the design:

1. a coarse lookup, computed eagerly on a decimated output grid (small), that
   tells each output tile which radar window (rows, columns, plus margin) it needs;
2. a lazy graph with one task per output tile that reads only its radar window
   (``product[r0:r1, c0:c1]``) and solves geo2rdr exactly for its own pixels.

The output ``xarray.Dataset`` carries ``x``/``y`` coordinates of pixel centres and
a CRS via rioxarray (``spatial_ref``), so it writes straight to GeoTIFF.
"""

from __future__ import annotations

import math

import dask
import dask.array as da
import numpy as np
import xarray as xr
from pyproj import CRS

from ..errors import DemCoverageError
from ..geometry.ellipsoid import llh_to_ecef
from ..geometry.geo2rdr import geo2rdr
from ..geometry.grid import MapGrid, RadarGrid
from ..geometry.orbit import Orbit


def _bilinear(values: np.ndarray, row: np.ndarray, col: np.ndarray) -> np.ndarray:
    ny, nx = values.shape
    r0 = np.floor(row).astype(np.int64)
    c0 = np.floor(col).astype(np.int64)
    fr = row - r0
    fc = col - c0
    r0c, c0c = np.clip(r0, 0, ny - 1), np.clip(c0, 0, nx - 1)
    r1c, c1c = np.clip(r0 + 1, 0, ny - 1), np.clip(c0 + 1, 0, nx - 1)
    v = values.astype(np.float64, copy=False)
    return (v[r0c, c0c] * (1 - fr) * (1 - fc) + v[r1c, c0c] * fr * (1 - fc)
            + v[r0c, c1c] * (1 - fr) * fc + v[r1c, c1c] * fr * fc)


def geocode_tile_kernel(
    window: np.ndarray,
    window_origin: tuple[int, int],
    radar: RadarGrid,
    lon: np.ndarray,
    lat: np.ndarray,
    *,
    dem,
    orbit: Orbit,
    wavelength_m: float,
    doppler=None,
    method: str = "bilinear",
    fill=np.nan,
) -> np.ndarray:
    """Geocode one output tile.

    ``window`` is the radar product over rows ``r0 .. r0+h`` and columns
    ``c0 .. c0+w`` (``window_origin = (r0, c0)``) of the radar grid ``radar``.
    ``lon``/``lat`` (deg) are the tile's output pixel centres. ``method`` is
    "bilinear" (real values) or "nearest" (complex values, labels). Pixels seen
    outside the radar grid get ``fill``.
    """
    hgt = dem(lon, lat) if callable(dem) else np.full(lon.shape, float(dem))
    xyz = llh_to_ecef(lon, lat, hgt)
    ok = np.isfinite(hgt)
    # start every pixel's azimuth-time search at the middle of the tile's radar window
    t_mid = radar.t0_s + (window_origin[0] + 0.5 * (window.shape[0] - 1)) * radar.dt_s
    t, r = geo2rdr(np.where(ok[..., None], xyz, np.nan), orbit, wavelength_m=wavelength_m, doppler=doppler,
                   t_guess_s=t_mid, check_coverage=False)
    row, col = radar.pixel(t, r)
    inside = ok & np.isfinite(row) & (row >= -0.5) & (row <= radar.n_az - 0.5) \
        & (col >= -0.5) & (col <= radar.n_rg - 0.5)
    lr = row - window_origin[0]
    lc = col - window_origin[1]
    inside &= (lr >= -0.5) & (lr <= window.shape[0] - 0.5) & (lc >= -0.5) & (lc <= window.shape[1] - 0.5)
    lr = np.where(inside, lr, 0.0)
    lc = np.where(inside, lc, 0.0)
    if method == "nearest" or not np.issubdtype(window.dtype, np.floating):
        vals = window[np.clip(np.rint(lr).astype(np.int64), 0, window.shape[0] - 1),
                      np.clip(np.rint(lc).astype(np.int64), 0, window.shape[1] - 1)]
    else:
        vals = _bilinear(window, np.clip(lr, 0, window.shape[0] - 1), np.clip(lc, 0, window.shape[1] - 1))
        vals = vals.astype(window.dtype)
    out = np.where(inside, vals, np.array(fill).astype(vals.dtype) if vals.dtype.kind != "c" else fill)
    return out.astype(window.dtype)


def radar_windows(grid: MapGrid, radar: RadarGrid, *, dem, orbit: Orbit, wavelength_m: float, doppler=None,
                  tile: int = 512, step: int = 16, margin: int = 8) -> dict:
    """Phase 1: for each output tile, the radar window (r0, r1, c0, c1) it needs, or None if it sees nothing.

    geo2rdr on every ``step``-th output pixel (and the tile edges), then the
    bounding box of the radar positions inside each tile plus ``margin`` pixels.
    """
    ny, nx = grid.shape
    rows = np.unique(np.concatenate([np.arange(0, ny, step), np.arange(0, ny, tile), np.minimum(np.arange(tile - 1, ny + tile - 1, tile), ny - 1), [ny - 1]]))
    cols = np.unique(np.concatenate([np.arange(0, nx, step), np.arange(0, nx, tile), np.minimum(np.arange(tile - 1, nx + tile - 1, tile), nx - 1), [nx - 1]]))
    lon, lat = grid.lonlat(rows, cols)
    hgt = dem(lon, lat) if callable(dem) else np.full(lon.shape, float(dem))
    t, r = geo2rdr(llh_to_ecef(lon, lat, hgt), orbit, wavelength_m=wavelength_m, doppler=doppler,
                   check_coverage=False)
    prow, pcol = radar.pixel(t, r)
    # what can fall between neighbouring coarse samples: the largest jump between them
    jumps = [np.abs(np.diff(a, axis=ax)) for a in (prow, pcol) for ax in (0, 1) if a.shape[ax] > 1]
    jump = max([float(np.nanmax(j)) for j in jumps if np.any(np.isfinite(j))] or [0.0])
    pad = int(math.ceil(jump)) + margin
    windows = {}
    for ti, i0 in enumerate(range(0, ny, tile)):
        for tj, j0 in enumerate(range(0, nx, tile)):
            sr = (rows >= i0) & (rows < i0 + tile)
            sc = (cols >= j0) & (cols < j0 + tile)
            pr = prow[np.ix_(sr, sc)]
            pc = pcol[np.ix_(sr, sc)]
            good = np.isfinite(pr) & np.isfinite(pc)
            if not np.any(good):
                windows[(ti, tj)] = None
                continue
            r0 = int(math.floor(np.min(pr[good]))) - pad
            r1 = int(math.ceil(np.max(pr[good]))) + pad + 1
            c0 = int(math.floor(np.min(pc[good]))) - pad
            c1 = int(math.ceil(np.max(pc[good]))) + pad + 1
            r0, r1 = max(r0, 0), min(r1, radar.n_az)
            c0, c1 = max(c0, 0), min(c1, radar.n_rg)
            windows[(ti, tj)] = None if (r1 <= r0 or c1 <= c0) else (r0, r1, c0, c1)
    return windows


def geocode_array(
    product: da.Array | np.ndarray,
    radar: RadarGrid,
    grid: MapGrid,
    *,
    dem,
    orbit: Orbit,
    wavelength_m: float,
    doppler=None,
    method: str | None = None,
    tile: int = 512,
    name: str = "product",
) -> da.Array:
    """Phase 2: the lazy geocoded array (one task per output tile reading only its radar window)."""
    product = da.asarray(product)
    if method is None:
        method = "bilinear" if np.issubdtype(product.dtype, np.floating) else "nearest"
    fill = np.nan if product.dtype.kind in "fc" else 0
    windows = radar_windows(grid, radar, dem=dem, orbit=orbit, wavelength_m=wavelength_m, doppler=doppler, tile=tile)
    ny, nx = grid.shape
    dem_d = dask.delayed(dem, pure=True)
    orbit_d = dask.delayed(orbit, pure=True)
    blocks = []
    for ti, i0 in enumerate(range(0, ny, tile)):
        row_blocks = []
        for tj, j0 in enumerate(range(0, nx, tile)):
            h, w = min(tile, ny - i0), min(tile, nx - j0)
            win = windows[(ti, tj)]
            if win is None:
                row_blocks.append(da.full((h, w), fill, dtype=product.dtype))
                continue
            r0, r1, c0, c1 = win
            # the tile's map coordinates are made on the worker (one task shared by every product),
            # not embedded in the graph; dask_key_name names the tasks as the dashboard shows them
            lon, lat = dask.delayed(grid.lonlat, pure=True, nout=2)(
                slice(i0, i0 + h), slice(j0, j0 + w),
                dask_key_name=f"geocode-lonlat-{ti}-{tj}-" + dask.base.tokenize(grid, i0, j0, h, w))
            key = f"geocode-{name}-{ti}-{tj}-" + dask.base.tokenize(product.name, win, i0, j0, grid, method)
            task = dask.delayed(geocode_tile_kernel, pure=True)(
                product[r0:r1, c0:c1], (r0, c0), radar, lon, lat, dem=dem_d, orbit=orbit_d,
                wavelength_m=wavelength_m, doppler=doppler, method=method, fill=fill, dask_key_name=key)
            row_blocks.append(da.from_delayed(task, shape=(h, w), dtype=product.dtype, name=key + "-tile"))
        blocks.append(row_blocks)
    return da.block(blocks)


def geocode_dataset(
    products: dict[str, da.Array],
    radar: RadarGrid,
    grid: MapGrid,
    *,
    dem,
    orbit: Orbit,
    wavelength_m: float,
    doppler=None,
    tile: int = 512,
    attrs: dict | None = None,
) -> xr.Dataset:
    """Geocode several radar products onto one map grid; returns a Dataset with a CRS."""
    coords = {"y": ("y", grid.y), "x": ("x", grid.x)}
    out = xr.Dataset(coords=coords)
    for name, arr in products.items():
        g = geocode_array(arr, radar, grid, dem=dem, orbit=orbit, wavelength_m=wavelength_m, doppler=doppler,
                          tile=tile, name=name)
        out[name] = (("y", "x"), g, dict((attrs or {}).get(name, {})))
    return attach_crs(out, grid)


def attach_crs(ds: xr.Dataset, grid: MapGrid) -> xr.Dataset:
    import rioxarray  # noqa: F401  (registers the .rio accessor)

    crs = CRS.from_user_input(grid.crs)
    ds = ds.rio.write_crs(crs.to_wkt())
    ds = ds.rio.set_spatial_dims(x_dim="x", y_dim="y")
    ds = ds.rio.write_transform(ds.rio.transform(recalc=True))
    if crs.is_geographic:
        ds["x"].attrs.update(standard_name="longitude", units="degrees_east")
        ds["y"].attrs.update(standard_name="latitude", units="degrees_north")
    else:
        ds["x"].attrs.update(standard_name="projection_x_coordinate", units="m")
        ds["y"].attrs.update(standard_name="projection_y_coordinate", units="m")
    return ds


def check_dem_covers(dem_bounds: tuple[float, float, float, float], lon, lat, dem_path: str) -> None:
    """Raise DemCoverageError unless the DEM (lon_min, lon_max, lat_min, lat_max) covers the points."""
    lon = np.asarray(lon)[np.isfinite(lon)]
    lat = np.asarray(lat)[np.isfinite(lat)]
    need = (float(lon.min()), float(lon.max()), float(lat.min()), float(lat.max()))
    have = dem_bounds
    if need[0] < have[0] or need[1] > have[1] or need[2] < have[2] or need[3] > have[3]:
        raise DemCoverageError(
            f"{dem_path}: DEM covers lon {have[0]:.4f}..{have[1]:.4f}, lat {have[2]:.4f}..{have[3]:.4f} deg, "
            f"but the scene needs lon {need[0]:.4f}..{need[1]:.4f}, lat {need[2]:.4f}..{need[3]:.4f} deg"
        )
