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


def _keys_weights(frac: np.ndarray, a: float = -0.5) -> np.ndarray:
    x = np.abs(frac[..., None] - np.arange(-1, 3))
    return np.where(x <= 1, (a + 2) * x**3 - (a + 3) * x**2 + 1,
                    np.where(x < 2, a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a, 0.0))


def interpolate_raster(raster: np.ndarray, row, col, method: str = "biquintic") -> np.ndarray:
    """Interpolate ``raster`` (2-D) at pixel-centre coordinates ``row``, ``col`` (any shape).

    NaNs in the raster propagate to every point whose stencil touches them.
    """
    if method not in METHODS:
        raise ValueError(f"DEM interpolation method must be one of {METHODS}, got {method!r}")
    a = np.asarray(raster, dtype=np.float64)
    row = np.asarray(row, dtype=np.float64)
    col = np.asarray(col, dtype=np.float64)
    row, col = np.broadcast_arrays(row, col)
    ny, nx = a.shape
    if method == "nearest":
        return a[np.clip(np.rint(row).astype(np.int64), 0, ny - 1), np.clip(np.rint(col).astype(np.int64), 0, nx - 1)]
    r0 = np.floor(row).astype(np.int64)
    c0 = np.floor(col).astype(np.int64)
    if method == "bilinear":
        fr, fc = row - r0, col - c0
        wr = np.stack([1 - fr, fr], -1)
        wc = np.stack([1 - fc, fc], -1)
        offsets = (0, 1)
    elif method == "bicubic":
        wr, wc = _keys_weights(row - r0), _keys_weights(col - c0)
        offsets = (-1, 0, 1, 2)
    else:
        r0, c0 = r0 - 1, c0 - 1  # nodes r0 .. r0 + 5
        wr = natural_spline_weights(6, row - r0)
        wc = natural_spline_weights(6, col - c0)
        offsets = tuple(range(6))
    out = np.zeros(row.shape)
    for j, dj in enumerate(offsets):
        rr = np.clip(r0 + dj, 0, ny - 1)
        for k, dk in enumerate(offsets):
            cc = np.clip(c0 + dk, 0, nx - 1)
            out += wr[..., j] * wc[..., k] * a[rr, cc]
    return out
