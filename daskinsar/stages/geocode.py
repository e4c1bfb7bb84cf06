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

import difflib
import math
from dataclasses import dataclass
from typing import Any

import dask
import dask.array as da
import numba
import numpy as np
import xarray as xr
from pyproj import CRS

from pydantic import Field, field_validator

from ..errors import ConfigError
from ..geometry.dem import Dem, LazyWindow
from ..geometry.ellipsoid import llh_to_ecef
from ..geometry.geo2rdr import geo2rdr
from ..geometry.grid import MapGrid, RadarGrid, map_grid_for, nice_posting
from ..geometry.map_lookup import levels_for, lookup_lattice
from ..geometry.orbit import Orbit
from ..params import Params
from ..products import ISCE_PRODUCT_NAMES, resolve_product
from .chunking import as_dask, blocks_overlapping
from ..scene import radar_info
from .topo import dem_from_dataset

#: products geocoded by default (ISCE names where ISCE has them)
DEFAULT_PRODUCTS = ("filt_topophase.unw", "topophase.cor", "phsig.cor", "los_displacement", "topophase.flat",
                    "filt_topophase.flat")


#: default output tile edge (pixels): at 1024 a 16384^2 frame's geocoding runs a quarter of the tasks of 512 and
#: takes 30% less time (the lookup, and so every product, is the same for any tile)
TILE_PX = 1024


class GeocodeParams(Params):
    """Geocoding of the multilooked products onto a north-up map grid, and their GeoTIFF export."""

    products: list[str] = Field(default_factory=lambda: list(DEFAULT_PRODUCTS),
                                description="products to geocode (ISCE or daskinsar names)")
    crs: str = Field("EPSG:4326", description="EPSG:4326, 'UTM' (the zone of the scene centre) or any EPSG code")
    posting: float | None = Field(None, gt=0, description="output posting (deg for a geographic CRS, m otherwise); "
                                                          "None: the multilooked grid's ground spacing rounded to "
                                                          "1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 x 10^k m (arcsec "
                                                          "for a geographic CRS). Pixel centres lie on the global "
                                                          "lattice k * posting of the CRS")
    bbox: tuple[float, float, float, float] | None = Field(
        None, description="[west, south, east, north] in degrees of longitude / latitude (WGS84) whatever the CRS: "
                          "the grid is the lattice pixels whose centres lie inside (the same for every pair); None: "
                          "the scene's footprint")
    tile: int = Field(TILE_PX, ge=16, description="output tile edge (pixels): one lookup and one task per tile")
    geotiff: bool = Field(True, description="also write RUN/geo/<name>.tif")
    cog: bool = Field(True, description="write the GeoTIFFs as Cloud-Optimised GeoTIFFs")

    @field_validator("crs")
    @classmethod
    def _known_crs(cls, v: str) -> str:
        if v.strip().upper() != "UTM":
            try:
                CRS.from_user_input(v)
            except Exception:
                raise ValueError(f"unknown CRS {v!r} (use EPSG:4326, UTM or an EPSG code such as EPSG:32633)") from None
        return v

    @field_validator("products")
    @classmethod
    def _known_products(cls, v: list[str]) -> list[str]:
        """Every name is an ISCE or daskinsar product name (checked when the configuration is loaded,
        not after the steps before geocoding have run)."""
        for name in v:
            try:
                resolve_product(name)
            except ConfigError as exc:
                close = difflib.get_close_matches(name.replace(" ", "_"), list(ISCE_PRODUCT_NAMES), n=1, cutoff=0.6)
                raise ValueError(f"did you mean {close[0]!r}? " + str(exc) if close else str(exc)) from None
        return v

    @field_validator("bbox")
    @classmethod
    def _valid_bbox(cls, v):
        if v is not None:
            w, so, e, n = v
            if not (-180.0 <= w < e <= 360.0 and -90.0 <= so < n <= 90.0):
                raise ValueError(f"bbox must be [west, south, east, north] in degrees with west < east and "
                                 f"south < north, got {list(v)}")
        return v


@numba.njit(cache=True, nogil=True)
def _sample_bilinear(window, row, col, r0, c0, fill, out):  # pragma: no cover - numba
    """Bilinear samples of a real ``window`` (first sample at radar pixel (r0, c0)) at radar positions
    (row, col) into ``out`` (the window's dtype): ``fill`` where a position is NaN or beyond half a pixel
    of the window; positions within that half pixel are clamped to the window's edge samples."""
    ny, nx = window.shape
    for i in range(row.shape[0]):
        for j in range(row.shape[1]):
            lr = row[i, j] - r0
            lc = col[i, j] - c0
            if not (lr >= -0.5 and lr <= ny - 0.5 and lc >= -0.5 and lc <= nx - 0.5):  # NaN fails too
                out[i, j] = fill
                continue
            lr = min(max(lr, 0.0), ny - 1.0)
            lc = min(max(lc, 0.0), nx - 1.0)
            a0 = int(math.floor(lr))
            b0 = int(math.floor(lc))
            fr = lr - a0
            fc = lc - b0
            a1 = min(a0 + 1, ny - 1)
            b1 = min(b0 + 1, nx - 1)
            out[i, j] = (window[a0, b0] * (1 - fr) * (1 - fc) + window[a1, b0] * fr * (1 - fc)
                         + window[a0, b1] * (1 - fr) * fc + window[a1, b1] * fr * fc)


def lookup_tile_kernel(radar: RadarGrid, lon: np.ndarray, lat: np.ndarray, *, dem, orbit: Orbit,
                       wavelength_m: float, doppler=None, t_guess_s: float | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Phase 2 for one output tile: the fractional radar (row, column) that sees each output pixel
    centre (``lon``, ``lat`` deg on the DEM surface); NaN where the DEM has no height, geo2rdr has no
    solution, or the position falls outside the radar grid (beyond half a pixel)."""
    hgt = dem(lon, lat) if callable(dem) else np.full(lon.shape, float(dem))
    xyz = llh_to_ecef(lon, lat, hgt)
    ok = np.isfinite(hgt)
    t, r = geo2rdr(np.where(ok[..., None], xyz, np.nan), orbit, wavelength_m=wavelength_m, doppler=doppler,
                   t_guess_s=t_guess_s, check_coverage=False)
    row, col = radar.pixel(t, r)
    return _inside_radar(radar, row, col)


def _inside_radar(radar: RadarGrid, row: np.ndarray, col: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) where they fall inside the radar grid (beyond half a pixel: NaN)."""
    inside = np.isfinite(row) & np.isfinite(col) & (row >= -0.5) & (row <= radar.n_az - 0.5) \
        & (col >= -0.5) & (col <= radar.n_rg - 0.5)
    return np.where(inside, row, np.nan), np.where(inside, col, np.nan)


def lattice_lookup_tile_kernel(radar: RadarGrid, grid: MapGrid, rows: slice, cols: slice, *, dem, levels, orbit: Orbit,
                               wavelength_m: float, doppler=None, t_guess_s: float | None = None
                               ) -> tuple[np.ndarray, np.ndarray]:
    """Phase 2 for one output tile (``rows`` x ``cols`` of ``grid``) as the pipeline computes it: the lookup of
    :func:`lookup_tile_kernel` interpolated from exact geo2rdr solutions on a lattice at the DEM's ``levels``
    (:func:`daskinsar.geometry.map_lookup.lookup_lattice`; below 1e-4 radar pixel from the exact lookup)."""
    row, col = lookup_lattice(grid, radar, rows, cols, dem=dem, levels=levels, orbit=orbit, wavelength_m=wavelength_m,
                              doppler=doppler, t_guess_s=t_guess_s)
    return _inside_radar(radar, row, col)


def sample_tile_kernel(window: np.ndarray, window_origin: tuple[int, int], row: np.ndarray, col: np.ndarray, *,
                       method: str = "bilinear", fill=np.nan) -> np.ndarray:
    """Phase 3 for one output tile: a radar product sampled at a lookup (``row``, ``col`` of
    :func:`lookup_tile_kernel`). ``window`` holds the product's rows ``r0 ..`` and columns ``c0 ..``
    (``window_origin = (r0, c0)``); "bilinear" for real values, "nearest" for complex values and labels.
    Pixels without a lookup, or outside the window, get ``fill``."""
    if method != "nearest" and np.issubdtype(window.dtype, np.floating):
        out = np.empty(np.shape(row), window.dtype)
        _sample_bilinear(np.ascontiguousarray(window), np.asarray(row, np.float64), np.asarray(col, np.float64),
                         float(window_origin[0]), float(window_origin[1]), float(fill), out)
        return out
    lr = row - window_origin[0]
    lc = col - window_origin[1]
    inside = np.isfinite(lr) & (lr >= -0.5) & (lr <= window.shape[0] - 0.5) & (lc >= -0.5) \
        & (lc <= window.shape[1] - 0.5)
    lr = np.where(inside, lr, 0.0)
    lc = np.where(inside, lc, 0.0)
    vals = window[np.clip(np.rint(lr).astype(np.int64), 0, window.shape[0] - 1),
                  np.clip(np.rint(lc).astype(np.int64), 0, window.shape[1] - 1)]
    out = np.where(inside, vals, np.array(fill).astype(vals.dtype) if vals.dtype.kind != "c" else fill)
    return out.astype(window.dtype)


def geocode_tile_kernel(window: np.ndarray, window_origin: tuple[int, int], radar: RadarGrid, lon: np.ndarray,
                        lat: np.ndarray, *, dem, orbit: Orbit, wavelength_m: float, doppler=None,
                        method: str = "bilinear", fill=np.nan) -> np.ndarray:
    """Geocode one output tile: :func:`lookup_tile_kernel` then :func:`sample_tile_kernel` (each pixel's
    azimuth-time search starts at the middle of the tile's radar window)."""
    t_mid = radar.t0_s + (window_origin[0] + 0.5 * (window.shape[0] - 1)) * radar.dt_s
    row, col = lookup_tile_kernel(radar, lon, lat, dem=dem, orbit=orbit, wavelength_m=wavelength_m,
                                  doppler=doppler, t_guess_s=t_mid)
    return sample_tile_kernel(window, window_origin, row, col, method=method, fill=fill)


def radar_windows(grid: MapGrid, radar: RadarGrid, *, dem, orbit: Orbit, wavelength_m: float, doppler=None,
                  tile: int = TILE_PX, step: int = 16, margin: int = 8) -> dict:
    """Phase 1: for each output tile, the radar window (r0, r1, c0, c1) it needs, or None if it sees nothing.

    geo2rdr on every ``step``-th output pixel (and the tile edges), then the
    bounding box of the radar positions inside each tile plus ``margin`` pixels.
    """
    ny, nx = grid.shape
    def samples(n: int) -> np.ndarray:  # every step-th pixel, each tile's first and last, the last
        ends = np.minimum(np.arange(tile - 1, n + tile - 1, tile), n - 1)
        return np.unique(np.concatenate([np.arange(0, n, step), np.arange(0, n, tile), ends, [n - 1]]))

    rows, cols = samples(ny), samples(nx)
    lon, lat = grid.lonlat(rows, cols)
    hgt = dem(lon, lat) if callable(dem) else np.full(lon.shape, float(dem))
    t, r = geo2rdr(llh_to_ecef(lon, lat, hgt), orbit, wavelength_m=wavelength_m, doppler=doppler,
                   check_coverage=False)
    prow, pcol = radar.pixel(t, r)
    # what can fall between neighbouring coarse samples: the largest jump between them
    jumps = [np.abs(np.diff(a, axis=ax)) for a in (prow, pcol) for ax in (0, 1) if a.shape[ax] > 1]
    jump = max([float(np.nanmax(j)) for j in jumps if np.any(np.isfinite(j))] or [0.0])
    pad = int(math.ceil(jump)) + margin
    windows: dict[tuple[int, int], tuple[int, int, int, int] | None] = {}
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


@dataclass(frozen=True)
class Lookup:
    """Phases 1 and 2, shared by every product of a run: the output tiles, the radar window each needs
    (None: it sees nothing) and, per tile, a lazy (row, column) lookup task (dask delayed)."""

    grid: MapGrid
    radar: RadarGrid
    tile: int
    windows: dict
    tasks: dict

    def tiles(self):
        """(ti, tj, i0, j0, h, w) of every output tile."""
        ny, nx = self.grid.shape
        for ti, i0 in enumerate(range(0, ny, self.tile)):
            for tj, j0 in enumerate(range(0, nx, self.tile)):
                yield ti, tj, i0, j0, min(self.tile, ny - i0), min(self.tile, nx - j0)


def build_lookup(grid: MapGrid, radar: RadarGrid, *, dem, orbit: Orbit, wavelength_m: float, doppler=None,
                 tile: int = TILE_PX) -> Lookup:
    """Phase 1 (eager, coarse: which radar window each output tile needs) and phase 2 (lazy: one task
    per tile solving geo2rdr for its own pixels, shared by every product sampled from it)."""
    windows = radar_windows(grid, radar, dem=dem, orbit=orbit, wavelength_m=wavelength_m, doppler=doppler, tile=tile)
    orbit_d = dask.delayed(orbit, pure=True)
    levels = levels_for(dem)  # the lattice heights of the whole DEM (a tile's window would give others)
    tok = dask.base.tokenize(grid, radar, dem, orbit, wavelength_m, doppler, tile)
    lookup = Lookup(grid, radar, tile, windows, {})
    for ti, tj, i0, j0, h, w in lookup.tiles():
        win = windows[(ti, tj)]
        if win is None:
            continue
        if isinstance(dem, Dem):  # the tile's DEM window, a slice in the graph
            clo, cla = grid.lonlat(np.array([i0, i0 + h - 1]), np.array([j0, j0 + w - 1]))
            pad = 2.0 * max(abs(grid.dx), abs(grid.dy)) if grid.is_geographic else 1e-4
            lw = dem.lazy_window(float(clo.min()) - pad, float(clo.max()) + pad, float(cla.min()) - pad,
                                 float(cla.max()) + pad)
            dem_arg: Any = (lw.heights, lw.fields)
        else:
            dem_arg = dem
        t_mid = radar.t0_s + 0.5 * (win[0] + win[1] - 1) * radar.dt_s
        lookup.tasks[(ti, tj)] = dask.delayed(_lookup_task, pure=True, nout=2)(
            radar, grid, slice(i0, i0 + h), slice(j0, j0 + w), dem_arg, levels=levels, orbit=orbit_d,
            wavelength_m=wavelength_m, doppler=doppler, t_guess_s=t_mid, dask_key_name=f"geocode-lookup-{ti}-{tj}-{tok}")
    return lookup


def _lookup_task(radar: RadarGrid, grid: MapGrid, rows: slice, cols: slice, dem_arg, **kw):
    dem = LazyWindow.dem(*dem_arg) if isinstance(dem_arg, tuple) else dem_arg
    return lattice_lookup_tile_kernel(radar, grid, rows, cols, dem=dem, **kw)


def geocode_array(product: da.Array | np.ndarray, lookup: Lookup, *, method: str | None = None,
                  name: str = "product") -> da.Array:
    """Phase 3: a radar product on ``lookup.radar`` sampled onto ``lookup.grid`` (lazy; one task per
    output tile reading only its radar window and the tile's shared lookup).

    A tile's task receives the product's whole chunks under its window and crops the window from them:
    each chunk is read once and shared by the tiles that overlap it (slicing the window from the dask
    array instead would let dask inline the store read into every tile, reading and decoding a chunk
    again for each)."""
    product = as_dask(product)
    if product.shape != lookup.radar.shape:
        raise ValueError(f"geocode: {name} has shape {product.shape}, the radar grid {lookup.radar.shape}")
    if method is None:
        method = "bilinear" if np.issubdtype(product.dtype, np.floating) else "nearest"
    fill = np.nan if product.dtype.kind in "fc" else 0
    chunk_blocks = product.to_delayed()
    starts = [np.cumsum((0,) + c) for c in product.chunks]
    blocks: list[list[da.Array]] = []
    for ti, tj, i0, j0, h, w in lookup.tiles():
        if tj == 0:
            blocks.append([])
        task = lookup.tasks.get((ti, tj))
        if task is None:
            blocks[-1].append(da.full((h, w), fill, dtype=product.dtype))
            continue
        r0, r1, c0, c1 = lookup.windows[(ti, tj)]
        rb, cb = blocks_overlapping(starts[0], r0, r1), blocks_overlapping(starts[1], c0, c1)
        bi0, bi1, bj0, bj1 = rb.start, rb.stop, cb.start, cb.stop
        rows = [slice(max(r0, starts[0][b]) - starts[0][b], min(r1, starts[0][b + 1]) - starts[0][b])
                for b in range(bi0, bi1)]
        cols = [slice(max(c0, starts[1][b]) - starts[1][b], min(c1, starts[1][b + 1]) - starts[1][b])
                for b in range(bj0, bj1)]
        key = f"geocode-{name}-{ti}-{tj}-" + dask.base.tokenize(product.name, lookup.windows[(ti, tj)], i0, j0,
                                                                 lookup.grid, method)
        out = dask.delayed(_sample_chunks_task, pure=True)(
            chunk_blocks[bi0:bi1, bj0:bj1].tolist(), rows, cols, (r0, c0), task[0], task[1], method=method,
            fill=fill, dask_key_name=key)
        blocks[-1].append(da.from_delayed(out, shape=(h, w), dtype=product.dtype, name=key + "-tile"))
    return da.block(blocks)


def _sample_chunks_task(chunks: list[list[np.ndarray]], rows: list[slice], cols: list[slice],
                        window_origin: tuple[int, int], row: np.ndarray, col: np.ndarray, *, method: str,
                        fill) -> np.ndarray:
    """:func:`sample_tile_kernel` on the window joined from the parts ``rows`` x ``cols`` of the chunks under it."""
    window = np.block([[c[a, b] for c, b in zip(line, cols)] for line, a in zip(chunks, rows)])
    return sample_tile_kernel(window, window_origin, row, col, method=method, fill=fill)


def geocode_dataset(products: dict[str, da.Array], radar: RadarGrid, grid: MapGrid, *, dem, orbit: Orbit,
                    wavelength_m: float, doppler=None, tile: int = TILE_PX, attrs: dict | None = None) -> xr.Dataset:
    """Geocode several radar products onto one map grid, the lookup computed once for all;
    returns a Dataset with a CRS."""
    lookup = build_lookup(grid, radar, dem=dem, orbit=orbit, wavelength_m=wavelength_m, doppler=doppler, tile=tile)
    out = xr.Dataset(coords={"y": ("y", grid.y), "x": ("x", grid.x)})
    for name, arr in products.items():
        out[name] = (("y", "x"), geocode_array(arr, lookup, name=name), dict((attrs or {}).get(name, {})))
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


#: at most this many neighbour pairs per axis enter the default posting's median (lines sampled evenly beyond)
POSTING_SAMPLE_PAIRS = 1 << 20


def default_posting(lon_deg, lat_deg, crs: str, max_pairs: int = POSTING_SAMPLE_PAIRS) -> float:
    """The ground spacing of a radar grid of ground points (the smaller of its azimuth and range pixel
    spacings, medians, m; local east/north metres per degree on WGS84), in the units of ``crs``
    (deg for a geographic CRS, m otherwise). ``lon_deg``, ``lat_deg``: numpy or dask arrays (lines,
    samples). The medians are taken over every pair of neighbours, or, when a grid has more than
    ``max_pairs`` of them, over those of evenly spaced lines (each with the line after it): memory
    is then bounded by the sample, not by the grid."""
    lon = da.asarray(lon_deg).astype(np.float64)
    lat = da.asarray(lat_deg).astype(np.float64).rechunk(lon.chunks)
    n_lines, n_samples = lon.shape
    step = max(1, math.ceil(n_lines * n_samples / max_pairs))
    if step == 1:
        lo_a, la_a = dask.compute(lon, lat)
        pairs_0 = (lo_a[:-1], la_a[:-1], lo_a[1:], la_a[1:])
    else:
        first = np.arange(0, n_lines - 1, step)
        lo_a, la_a, lo_b, la_b = dask.compute(lon[first], lat[first], lon[first + 1], lat[first + 1])
        pairs_0 = (lo_a, la_a, lo_b, la_b)
    phi = np.radians(np.nanmean(la_a))
    # metres per degree of latitude and longitude on WGS84 at latitude phi
    e2 = 6.69437999014e-3
    m_lat = math.pi / 180.0 * 6378137.0 * (1 - e2) / (1 - e2 * math.sin(phi) ** 2) ** 1.5
    m_lon = math.pi / 180.0 * 6378137.0 * math.cos(phi) / math.sqrt(1 - e2 * math.sin(phi) ** 2)
    spacing = []
    if n_lines >= 2:  # azimuth neighbours
        d = np.hypot((pairs_0[2] - pairs_0[0]) * m_lon, (pairs_0[3] - pairs_0[1]) * m_lat)
        if np.any(np.isfinite(d)):
            spacing.append(float(np.nanmedian(d)))
    if n_samples >= 2:  # range neighbours
        d = np.hypot(np.diff(lo_a, axis=1) * m_lon, np.diff(la_a, axis=1) * m_lat)
        if np.any(np.isfinite(d)):
            spacing.append(float(np.nanmedian(d)))
    if not spacing:
        raise ConfigError("geocode: the multilooked grid has no two neighbouring ground points; give geocode.posting")
    posting_m = min(spacing)
    c = CRS.from_user_input("EPSG:4326" if crs.strip().upper() == "UTM" else crs)
    if crs.strip().upper() != "UTM" and c.is_geographic:
        return posting_m / m_lat
    return posting_m


def choose_grid(lon_deg, lat_deg, params: GeocodeParams) -> tuple[MapGrid, float]:
    """The output grid and posting for ground points (deg; numpy or dask arrays, read chunk by chunk):
    ``params.posting``, or the points' ground spacing rounded to the fixed ladder
    (:func:`~daskinsar.geometry.grid.nice_posting`); pixel centres on the global lattice of the posting;
    the extent of the points or of ``params.bbox``."""
    if params.posting is not None:
        posting = params.posting
    else:
        geographic = params.crs.strip().upper() != "UTM" and CRS.from_user_input(params.crs).is_geographic
        posting = nice_posting(default_posting(lon_deg, lat_deg, params.crs), geographic)
    return map_grid_for(lon_deg, lat_deg, posting, params.crs, bbox=params.bbox), posting


def run(inputs: xr.Dataset, params: GeocodeParams) -> xr.Dataset:
    """Every product variable of ``inputs`` onto one map grid, from one shared lookup.

    ``inputs``: products on the multilooked radar grid (dims azimuth x range, coordinates
    ``azimuth_time`` s and ``slant_range`` m), their ground points ``lon``, ``lat`` (deg, used for the
    grid's extent and default posting, not geocoded), the run's DEM (``dem``) and the reference's
    metadata and orbit (``reference_*`` attributes; a native-Doppler grid is solved with its Doppler).
    Returns the geocoded products with a CRS (``spatial_ref``), attributes ``posting`` and ``crs``.
    """
    meta, orbit = radar_info(inputs.attrs, "reference")
    grid, posting = choose_grid(inputs["lon"].data, inputs["lat"].data, params)
    radar = RadarGrid.from_coords(inputs["azimuth_time"].values, inputs["slant_range"].values)
    names = [v for v in inputs.data_vars if v not in ("lon", "lat", "dem")]
    out = geocode_dataset({str(v): inputs[v].data for v in names}, radar, grid, dem=dem_from_dataset(inputs), orbit=orbit,
                          wavelength_m=meta.wavelength_m, doppler=meta.grid_doppler_model, tile=params.tile,
                          attrs={str(v): dict(inputs[v].attrs) for v in names})
    out.attrs.update(posting=posting, crs=grid.crs)
    return out
