"""DEM heights for the geometry solvers' inner loops, bit-identical to
:func:`daskinsar.geometry.dem_interp.dem_height` and cheaper for the default biquintic interpolation.

A biquintic weight of stencil node ``j`` at fraction ``f`` is
``e1 + f * ((e2 - e1 - s1[j]/3 - s2[j]/6) + f * (s1[j]/2 + f * (s2[j] - s1[j]) / 6))``; the terms that
depend on ``j`` only are computed once per solver call (:func:`biquintic_terms`) instead of for each of
the twelve weights of every evaluation, in the same floating-point operations, so the heights are the
same to the bit. Other interpolation methods go to ``dem_height`` itself.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .dem_interp import interp_point


@numba.njit(cache=True, nogil=True)
def biquintic_terms(dem):  # pragma: no cover - numba
    """(6, 3) array: per stencil node j, ``e2 - e1 - s1[j]/3 - s2[j]/6``, ``s1[j]/2`` and ``s2[j] - s1[j]``."""
    out = np.empty((6, 3))
    for j in range(6):
        e1 = 1.0 if j == 1 else 0.0
        e2 = 1.0 if j == 2 else 0.0
        out[j, 0] = e2 - e1 - dem.s1[j] / 3.0 - dem.s2[j] / 6.0
        out[j, 1] = dem.s1[j] / 2.0
        out[j, 2] = dem.s2[j] - dem.s1[j]
    return out


@numba.njit(cache=True, nogil=True, inline="always")
def _w(T, j, f):  # pragma: no cover - numba
    e1 = 1.0 if j == 1 else 0.0
    return e1 + f * (T[j, 0] + f * (T[j, 1] + f * T[j, 2] / 6.0))


@numba.njit(cache=True, nogil=True)
def dem_height_t(dem, T, lon_deg, lat_deg):  # pragma: no cover - numba
    """Height (m) of a :class:`~daskinsar.geometry.dem_interp.DemRaster` at one (lon, lat) in deg, with
    ``T = biquintic_terms(dem)``: the same value as ``dem_height(dem, lon_deg, lat_deg)``."""
    row = (lat_deg - dem.lat0_deg) / dem.dlat_deg - dem.row0
    col = (lon_deg - dem.lon0_deg) / dem.dlon_deg - dem.col0
    if not (np.isfinite(row) and np.isfinite(col)):
        return np.nan
    raster = dem.values
    ny, nx = raster.shape
    if not dem.clamp and not (-1e-9 <= row <= ny - 1 + 1e-9 and -1e-9 <= col <= nx - 1 + 1e-9):
        return dem.fill
    if dem.method != 5:
        return interp_point(raster, row, col, dem.method, dem.s1, dem.s2)
    r0 = int(math.floor(row))
    c0 = int(math.floor(col))
    fr = row - r0
    fc = col - c0
    w0 = _w(T, 0, fc)
    w1 = _w(T, 1, fc)
    w2 = _w(T, 2, fc)
    w3 = _w(T, 3, fc)
    w4 = _w(T, 4, fc)
    w5 = _w(T, 5, fc)
    k0 = min(max(c0 - 1, 0), nx - 1)
    k1 = min(max(c0, 0), nx - 1)
    k2 = min(max(c0 + 1, 0), nx - 1)
    k3 = min(max(c0 + 2, 0), nx - 1)
    k4 = min(max(c0 + 3, 0), nx - 1)
    k5 = min(max(c0 + 4, 0), nx - 1)
    out = 0.0
    for j in range(6):
        rr = min(max(r0 - 1 + j, 0), ny - 1)
        acc = 0.0
        acc += w0 * raster[rr, k0]
        acc += w1 * raster[rr, k1]
        acc += w2 * raster[rr, k2]
        acc += w3 * raster[rr, k3]
        acc += w4 * raster[rr, k4]
        acc += w5 * raster[rr, k5]
        out += _w(T, j, fr) * acc
    return out


@numba.njit(cache=True, nogil=True)
def _heights_t(dem, lon, lat, out):  # pragma: no cover - numba
    T = biquintic_terms(dem)
    for i in range(lon.size):
        out[i] = dem_height_t(dem, T, lon[i], lat[i])


def dem_heights_t(dem, lon_deg, lat_deg) -> np.ndarray:
    """:func:`dem_height_t` at many points (1-D float64 arrays): what the tests compare to ``dem_heights``."""
    lon = np.ascontiguousarray(lon_deg, np.float64).reshape(-1)
    lat = np.ascontiguousarray(lat_deg, np.float64).reshape(-1)
    out = np.empty(lon.size)
    _heights_t(dem, lon, lat, out)
    return out
