"""The geocoding lookup (map pixel -> fractional radar pixel) from exact solutions on a coarse lattice.

Where a ground point at map position (x, y) and ellipsoid height h is seen in the radar grid -- the
(row, column) geo2rdr gives -- is a smooth function of (x, y, h); only h comes from the DEM. So the
lookup

1. solves geo2rdr exactly at the nodes of a lattice fixed on the whole map grid (every ``MAP_LATTICE_PX``
   output pixels, counted from the grid's first pixel, plus one node beyond each edge) at ``K`` heights
   spanning the whole DEM (:func:`~daskinsar.geometry.rdr2geo_grid.height_levels`);
2. per output pixel takes the DEM height under its centre and interpolates the nodes' (row, column) with
   Keys cubic convolution in (row, column) of the map grid and the Lagrange polynomial through the levels
   in h.

An output pixel depends only on its own position, its 4 x 4 nodes and the DEM: any tiling gives
bit-identical lookups. Pixels whose nodes have no solution (beyond the orbit) are solved exactly.
Accepted error (interpolation only), against geo2rdr of every pixel on the simulator's demo scene and on
UAVSAR: below 1e-4 radar pixel (see the benchmark report, ``geocode`` section).
"""

from __future__ import annotations

import numba
import numpy as np

from .dem_eval import dem_heights_t
from .ellipsoid import llh_to_ecef
from .geo2rdr import geo2rdr
from .grid import MapGrid, RadarGrid
from .orbit import Orbit
from .rdr2geo_grid import _inverse_denominators, _keys, _lagrange

#: lattice spacing of the lookup, in output pixels
MAP_LATTICE_PX = 16


def node_range(i0: int, i1: int) -> tuple[int, int]:
    """(first, last) lattice node index of the Keys stencils of output rows (or columns) ``i0 .. i1 - 1``."""
    return i0 // MAP_LATTICE_PX - 1, (i1 - 1) // MAP_LATTICE_PX + 2


def lookup_lattice(grid: MapGrid, radar: RadarGrid, rows: slice, cols: slice, *, dem, levels: np.ndarray,
                   orbit: Orbit, wavelength_m: float, doppler=None, t_guess_s: float | None = None,
                   lonlat: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fractional radar (row, column) (NaN where unsolved) of the output pixels ``rows`` x ``cols`` (slices
    of ``grid``) on the DEM ``dem`` (a callable (lon, lat) -> m, or a height in m); see the module
    docstring. ``lonlat``: the pixels' (lon, lat) in deg if already known."""
    i0, i1 = rows.start, rows.stop
    j0, j1 = cols.start, cols.stop
    lon, lat = lonlat if lonlat is not None else grid.lonlat(rows, cols)
    if hasattr(dem, "raster") and getattr(dem, "is_numpy", False):  # a task's DEM window: the compiled heights
        hgt = dem_heights_t(dem.raster(), lon, lat).reshape(np.shape(lon))
    else:
        hgt = dem(lon, lat) if callable(dem) else np.full(np.shape(lon), float(dem))
    a0, a1 = node_range(i0, i1)
    b0, b1 = node_range(j0, j1)
    na = np.arange(a0, a1 + 1) * MAP_LATTICE_PX
    nb = np.arange(b0, b1 + 1) * MAP_LATTICE_PX
    # node positions beyond the grid's edges are extrapolated linearly by lonlat's own arithmetic
    nlon, nlat = _lonlat_at(grid, na, nb)
    levels = np.asarray(levels, np.float64)
    table = np.empty((2, len(levels), len(na), len(nb)))
    guess: float | np.ndarray | None = t_guess_s
    for k, h in enumerate(levels):
        t, r = geo2rdr(llh_to_ecef(nlon, nlat, np.full(nlon.shape, h)), orbit, wavelength_m=wavelength_m,
                       doppler=doppler, t_guess_s=guess, check_coverage=False)
        table[0, k], table[1, k] = radar.pixel(t, r)
        guess = np.where(np.isfinite(t), t, t_guess_s if t_guess_s is not None else np.nan)
    row = np.empty((i1 - i0, j1 - j0))
    col = np.empty_like(row)
    bad = np.zeros(row.shape, np.bool_)
    _lookup_kernel(np.arange(i0, i1), np.arange(j0, j1), a0, b0, MAP_LATTICE_PX, np.ascontiguousarray(table), levels,
                   np.ascontiguousarray(hgt, np.float64), row, col, bad)
    if np.any(bad):  # exact, pixel by pixel
        ii, jj = np.nonzero(bad)
        t, r = geo2rdr(llh_to_ecef(lon[ii, jj], lat[ii, jj], hgt[ii, jj]), orbit, wavelength_m=wavelength_m,
                       doppler=doppler, t_guess_s=t_guess_s, check_coverage=False)
        row[ii, jj], col[ii, jj] = radar.pixel(t, r)
    return row, col


def _lonlat_at(grid: MapGrid, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lon, lat) deg of pixel centres at integer map indices (any, also beyond the grid)."""
    x = grid.x0 + grid.dx * cols.astype(np.float64)
    y = grid.y0 + grid.dy * rows.astype(np.float64)
    xx, yy = np.meshgrid(x, y)
    if grid.is_geographic:
        return xx, yy
    from pyproj import Transformer

    return Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True).transform(xx, yy)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _lookup_kernel(rows, cols, a0, b0, step, F, levels, hgt, row_out, col_out, bad):  # pragma: no cover - numba
    """Keys (map row, column) x Lagrange (h) interpolation of the node table F (2, K, n_a, n_b) at every
    output pixel of ``rows`` x ``cols`` (map indices) with ground height ``hgt`` (m)."""
    K, n_a, n_b = F.shape[1], F.shape[2], F.shape[3]
    inv_den = _inverse_denominators(levels)
    L = np.empty(K)
    wa = np.empty(4)
    wbs = np.empty((cols.shape[0], 4))
    ibs = np.empty(cols.shape[0], np.int64)
    for j in range(cols.shape[0]):
        q = cols[j] // step
        _keys((cols[j] - q * step) / step, wbs[j])
        ibs[j] = min(max(q - 1 - b0, 0), n_b - 4)
    G = np.empty((n_b, 2, K))
    for i in range(rows.shape[0]):
        p = rows[i] // step
        _keys((rows[i] - p * step) / step, wa)
        ia = min(max(p - 1 - a0, 0), n_a - 4)
        for jn in range(n_b):
            for f in range(2):
                for k in range(K):
                    G[jn, f, k] = (wa[0] * F[f, k, ia, jn] + wa[1] * F[f, k, ia + 1, jn]
                                   + wa[2] * F[f, k, ia + 2, jn] + wa[3] * F[f, k, ia + 3, jn])
        for j in range(cols.shape[0]):
            h = hgt[i, j]
            if not np.isfinite(h):
                row_out[i, j] = col_out[i, j] = np.nan
                continue
            _lagrange(h, levels, inv_den, L)
            b = ibs[j]
            w0, w1, w2, w3 = wbs[j, 0], wbs[j, 1], wbs[j, 2], wbs[j, 3]
            vr = 0.0
            vc = 0.0
            for k in range(K):
                vr += L[k] * (w0 * G[b, 0, k] + w1 * G[b + 1, 0, k] + w2 * G[b + 2, 0, k] + w3 * G[b + 3, 0, k])
                vc += L[k] * (w0 * G[b, 1, k] + w1 * G[b + 1, 1, k] + w2 * G[b + 2, 1, k] + w3 * G[b + 3, 1, k])
            if np.isfinite(vr) and np.isfinite(vc):
                row_out[i, j] = vr
                col_out[i, j] = vc
            else:
                bad[i, j] = True


def levels_for(dem) -> np.ndarray:
    """The lattice heights (m) of a DEM with ``height_range()`` or of a constant height."""
    from .rdr2geo_grid import height_levels

    if hasattr(dem, "height_range"):
        return height_levels(*dem.height_range())
    return np.array([float(dem)])

