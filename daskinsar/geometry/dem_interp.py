"""Interpolation of a regular DEM raster at fractional (row, column) positions.

Positions are in *pixel-centre* coordinates: ``(0, 0)`` is the centre of the
first DEM sample. (For a GeoTIFF with ``AREA_OR_POINT=Area`` whose transform
gives the corner of the first pixel at ``(x0, y0)``, ``col = (x - x0)/dx - 0.5``.)

Methods
-------
``nearest``, ``bilinear``;
``bicubic``: Keys cubic convolution (a = -0.5), 4 x 4 samples;
``biquintic``: ISCE's default DEM interpolator: a natural cubic spline through a
local 6 x 6 neighbourhood, separably (rows, then the column of row values). The
neighbourhood starts one sample before the sample left of the point (nodes
``floor(u) - 1 .. floor(u) + 4``), as ISCE's does, which is what makes heights
agree with ISCE2's topo to the millimetre.
Outside the raster, edge samples are repeated (callers check DEM coverage first).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numba
import numpy as np

METHODS = ("nearest", "bilinear", "bicubic", "biquintic")


@lru_cache(maxsize=8)
def _natural_spline_matrix(n: int) -> np.ndarray:
    """Matrix S with M = S @ y: second derivatives of the natural cubic spline
    through n uniformly spaced samples y (unit spacing)."""
    T = np.zeros((n, n))
    D = np.zeros((n, n))
    T[0, 0] = T[-1, -1] = 1.0
    for k in range(1, n - 1):
        T[k, k - 1 : k + 2] = (1.0, 4.0, 1.0)
        D[k, k - 1 : k + 2] = (6.0, -12.0, 6.0)
    return np.linalg.solve(T, D)


def natural_spline_weights(n: int, pos: np.ndarray) -> np.ndarray:
    """Weights (..., n) such that ``weights @ y`` is the natural cubic spline through
    ``y`` (nodes at 0..n-1) evaluated at ``pos``."""
    S = _natural_spline_matrix(n)
    j = np.clip(np.floor(pos).astype(np.int64), 0, n - 2)
    xx = (pos - j)[..., None]
    eye = np.eye(n)
    yj, yj1, mj, mj1 = eye[j], eye[j + 1], S[j], S[j + 1]
    return yj + xx * ((yj1 - yj - mj / 3.0 - mj1 / 6.0) + xx * (mj / 2.0 + xx * (mj1 - mj) / 6.0))


@numba.njit(cache=True, nogil=True)
def _keys(x):
    x = abs(x)
    a = -0.5
    if x <= 1.0:
        return (a + 2.0) * x**3 - (a + 3.0) * x**2 + 1.0
    if x < 2.0:
        return a * x**3 - 5.0 * a * x**2 + 8.0 * a * x - 4.0 * a
    return 0.0


@numba.njit(cache=True, nogil=True, inline="always")
def _weight(method, f, j, s1, s2):
    """Weight of stencil node j at fraction f: bilinear (nodes 0, 1), Keys (nodes -1..2 as 0..3),
    or the 6-node natural spline evaluated between its nodes 1 and 2 (rows 1, 2 of S)."""
    if method == 1:
        return 1.0 - f if j == 0 else f
    if method == 3:
        return _keys(f - (j - 1))
    e1 = 1.0 if j == 1 else 0.0
    e2 = 1.0 if j == 2 else 0.0
    return e1 + f * ((e2 - e1 - s1[j] / 3.0 - s2[j] / 6.0) + f * (s1[j] / 2.0 + f * (s2[j] - s1[j]) / 6.0))


@numba.njit(cache=True, nogil=True)
def interp_point(raster, row, col, method, s1, s2):
    ny, nx = raster.shape
    if method == 0:
        return raster[min(max(round(row), 0), ny - 1), min(max(round(col), 0), nx - 1)]
    r0 = int(np.floor(row))
    c0 = int(np.floor(col))
    fr = row - r0
    fc = col - c0
    n = 2 if method == 1 else (4 if method == 3 else 6)
    off = 0 if method == 1 else -1
    wc = np.empty(6)
    for k in range(n):
        wc[k] = _weight(method, fc, k, s1, s2)
    out = 0.0
    for j in range(n):
        wj = _weight(method, fr, j, s1, s2)
        rr = min(max(r0 + off + j, 0), ny - 1)
        acc = 0.0
        for k in range(n):
            cc = min(max(c0 + off + k, 0), nx - 1)
            acc += wc[k] * raster[rr, cc]
        out += wj * acc
    return out


@numba.njit(cache=True, nogil=True)
def _interp_many(raster, row, col, method, s1, s2):
    out = np.empty(row.size)
    for i in range(row.size):
        if np.isfinite(row[i]) and np.isfinite(col[i]):
            out[i] = interp_point(raster, row[i], col[i], method, s1, s2)
        else:
            out[i] = np.nan
    return out


_CODES = {"nearest": 0, "bilinear": 1, "bicubic": 3, "biquintic": 5}


def spline_rows() -> tuple[np.ndarray, np.ndarray]:
    """Rows 1 and 2 of the 6-node natural-spline matrix (what the biquintic weights need)."""
    S = _natural_spline_matrix(6)
    return S[1].copy(), S[2].copy()


def interpolate_raster(raster: np.ndarray, row, col, method: str = "biquintic") -> np.ndarray:
    """Interpolate ``raster`` (2-D) at pixel-centre coordinates ``row``, ``col`` (any shape).

    NaNs in the raster propagate to every point whose stencil touches them; NaN
    positions give NaN. Compiled (numba), about 10 ns per point and tap.
    """
    if method not in METHODS:
        raise ValueError(f"DEM interpolation method must be one of {METHODS}, got {method!r}")
    row, col = np.broadcast_arrays(np.asarray(row, dtype=np.float64), np.asarray(col, dtype=np.float64))
    a = np.ascontiguousarray(raster, dtype=np.float64)
    out = _interp_many(a, row.ravel(), col.ravel(), _CODES[method], *spline_rows())
    return out.reshape(row.shape)


class DemRaster(NamedTuple):
    """A DEM as compiled kernels take it: heights (m) at sample centres
    ``lon = lon0 + j*dlon``, ``lat = lat0 + i*dlat`` (deg), interpolated with ``method``
    (a :data:`METHODS` code); a window of a larger grid keeps that grid's origin and its first sample's
    index there (``row0``, ``col0``). Beyond the outermost sample centres the edge samples are
    repeated (``clamp``) or ``fill`` (m, NaN allowed) is returned. ``mean_m``: the mean of the
    finite heights (0 if none), where geometry solvers start."""

    values: np.ndarray
    lon0_deg: float
    dlon_deg: float
    lat0_deg: float
    dlat_deg: float
    method: int
    clamp: bool
    fill: float
    s1: np.ndarray
    s2: np.ndarray
    mean_m: float
    row0: int = 0
    col0: int = 0

    @classmethod
    def build(cls, values, lon0_deg, dlon_deg, lat0_deg, dlat_deg, method: str, *, clamp: bool = True,
              fill: float = np.nan, row0: int = 0, col0: int = 0) -> "DemRaster":
        if method not in METHODS:
            raise ValueError(f"DEM interpolation method must be one of {METHODS}, got {method!r}")
        v = np.ascontiguousarray(values, dtype=np.float64)
        finite = np.isfinite(v)
        mean = float(v[finite].mean()) if finite.any() else 0.0
        return cls(v, float(lon0_deg), float(dlon_deg), float(lat0_deg), float(dlat_deg), _CODES[method],
                   bool(clamp), float(fill), *spline_rows(), mean, int(row0), int(col0))


@numba.njit(cache=True, nogil=True)
def dem_height(dem, lon_deg, lat_deg):  # pragma: no cover - numba
    """Height (m) of a :class:`DemRaster` at one (lon, lat) in deg."""
    # position in the whole grid, then the window's integer offset (an exact subtraction): a window
    # interpolates bit for bit as the DEM it was cut from
    row = (lat_deg - dem.lat0_deg) / dem.dlat_deg - dem.row0
    col = (lon_deg - dem.lon0_deg) / dem.dlon_deg - dem.col0
    if not (np.isfinite(row) and np.isfinite(col)):
        return np.nan
    ny, nx = dem.values.shape
    if not dem.clamp and not (-1e-9 <= row <= ny - 1 + 1e-9 and -1e-9 <= col <= nx - 1 + 1e-9):
        return dem.fill
    return interp_point(dem.values, row, col, dem.method, dem.s1, dem.s2)


@numba.njit(cache=True, nogil=True)
def _dem_heights(dem, lon_deg, lat_deg, out):  # pragma: no cover - numba
    for i in range(lon_deg.size):
        out[i] = dem_height(dem, lon_deg[i], lat_deg[i])


def dem_heights(dem: DemRaster, lon_deg, lat_deg) -> np.ndarray:
    """Heights (m) of a :class:`DemRaster` at many (lon, lat) in deg (broadcast together), with the
    raster's own edge handling (``clamp`` or ``fill``)."""
    lon, lat = np.broadcast_arrays(np.asarray(lon_deg, np.float64), np.asarray(lat_deg, np.float64))
    out = np.empty(lon.size)
    _dem_heights(dem, np.ascontiguousarray(lon).reshape(-1), np.ascontiguousarray(lat).reshape(-1), out)
    return out.reshape(lon.shape)
