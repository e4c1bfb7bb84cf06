"""DEM heights for the geometry solvers' inner loops, bit-identical to
:func:`daskinsar.geometry.dem_interp.dem_height` and cheaper for the default biquintic interpolation.

A biquintic weight of stencil node ``j`` at fraction ``f`` is
``e1 + f * ((e2 - e1 - s1[j]/3 - s2[j]/6) + f * (s1[j]/2 + f * (s2[j] - s1[j]) / 6))``; the terms that
depend on ``j`` only are computed once per solver call (:func:`biquintic_terms`) instead of for each of
the twelve weights of every evaluation, in the same floating-point operations, so the heights are the
same to the bit. Other interpolation methods go to ``dem_height`` itself. :func:`dem_height_grad_t` adds the
exact derivatives of the biquintic interpolant (the Newton steps of the height solvers).
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


@numba.njit(cache=True, nogil=True, inline="always")
def _dw(T, j, f):  # pragma: no cover - numba
    """d/df of the biquintic weight :func:`_w`."""
    return T[j, 0] + f * (2.0 * T[j, 1] + f * (0.5 * T[j, 2]))


@numba.njit(cache=True, nogil=True, inline="always")
def _raster_position(dem, lon_deg, lat_deg):  # pragma: no cover - numba
    """(row, col): the fractional raster position of (lon, lat) in deg, in ``dem.values``' own indices."""
    return (lat_deg - dem.lat0_deg) / dem.dlat_deg - dem.row0, (lon_deg - dem.lon0_deg) / dem.dlon_deg - dem.col0


@numba.njit(cache=True, nogil=True)
def dem_height_t(dem, T, lon_deg, lat_deg):  # pragma: no cover - numba
    """Height (m) of a :class:`~daskinsar.geometry.dem_interp.DemRaster` at one (lon, lat) in deg, with
    ``T = biquintic_terms(dem)``: the same value as ``dem_height(dem, lon_deg, lat_deg)``."""
    row, col = _raster_position(dem, lon_deg, lat_deg)
    if not (np.isfinite(row) and np.isfinite(col)):
        return np.nan
    raster = dem.values
    ny, nx = raster.shape
    if not dem.clamp and not (-1e-9 <= row <= ny - 1 + 1e-9 and -1e-9 <= col <= nx - 1 + 1e-9):
        return dem.fill
    if dem.method != 5:
        return interp_point(raster, row, col, dem.method, dem.s1, dem.s2)
    return _biquintic(raster, T, row, col)[0]  # (its derivatives unused, so not computed)


@numba.njit(cache=True, nogil=True, inline="always")
def _biquintic(raster, T, row, col):  # pragma: no cover - numba
    """(height, d/dcol, d/drow) of the biquintic interpolant of ``raster`` at fractional (row, col), edge
    samples repeated beyond the raster; inlined and free of calls (its callers' inner loops stay so)."""
    ny, nx = raster.shape
    r0 = int(math.floor(row))
    c0 = int(math.floor(col))
    fr = row - r0
    fc = col - c0
    w0, w1, w2, w3, w4, w5 = _w(T, 0, fc), _w(T, 1, fc), _w(T, 2, fc), _w(T, 3, fc), _w(T, 4, fc), _w(T, 5, fc)
    d0, d1, d2, d3, d4, d5 = _dw(T, 0, fc), _dw(T, 1, fc), _dw(T, 2, fc), _dw(T, 3, fc), _dw(T, 4, fc), _dw(T, 5, fc)
    k0 = min(max(c0 - 1, 0), nx - 1)
    k1 = min(max(c0, 0), nx - 1)
    k2 = min(max(c0 + 1, 0), nx - 1)
    k3 = min(max(c0 + 2, 0), nx - 1)
    k4 = min(max(c0 + 3, 0), nx - 1)
    k5 = min(max(c0 + 4, 0), nx - 1)
    out = 0.0
    d_col = 0.0
    d_row = 0.0
    for j in range(6):
        z = raster[min(max(r0 - 1 + j, 0), ny - 1)]
        z0, z1, z2, z3, z4, z5 = z[k0], z[k1], z[k2], z[k3], z[k4], z[k5]
        acc = w0 * z0 + w1 * z1 + w2 * z2 + w3 * z3 + w4 * z4 + w5 * z5
        wr = _w(T, j, fr)
        out += wr * acc
        d_col += wr * (d0 * z0 + d1 * z1 + d2 * z2 + d3 * z3 + d4 * z4 + d5 * z5)
        d_row += _dw(T, j, fr) * acc
    return out, d_col, d_row


@numba.njit(cache=True, nogil=True)
def dem_height_grad_t(dem, T, lon_deg, lat_deg):  # pragma: no cover - numba
    """(height m, dh/dlon m/deg, dh/dlat m/deg) of a DEM at one (lon, lat) in deg: the height as
    :func:`dem_height_t` gives it (to the bit) and, for the biquintic interpolation, the exact derivatives
    of the same interpolant; other methods give NaN derivatives, a fill value outside an unclamped DEM
    zero ones."""
    row, col = _raster_position(dem, lon_deg, lat_deg)
    if not (np.isfinite(row) and np.isfinite(col)):
        return np.nan, np.nan, np.nan
    raster = dem.values
    ny, nx = raster.shape
    if not dem.clamp and not (-1e-9 <= row <= ny - 1 + 1e-9 and -1e-9 <= col <= nx - 1 + 1e-9):
        return dem.fill, 0.0, 0.0
    if dem.method != 5:
        return interp_point(raster, row, col, dem.method, dem.s1, dem.s2), np.nan, np.nan
    h, d_col, d_row = _biquintic(raster, T, row, col)
    return h, d_col / dem.dlon_deg, d_row / dem.dlat_deg


@numba.njit(cache=True, nogil=True, inline="always")
def dem_height_grad_interior(dem, T, lon_deg, lat_deg):  # pragma: no cover - numba
    """:func:`dem_height_grad_t` where its biquintic stencil lies inside the raster (the same values to the
    bit), else (NaN, NaN, NaN): then call :func:`dem_height_grad_t`. Inlined and free of calls, so that an
    inner loop stays free of them too (a call there costs more than this evaluation)."""
    row, col = _raster_position(dem, lon_deg, lat_deg)
    raster = dem.values
    ny, nx = raster.shape
    if not (dem.method == 5 and 1.0 <= row < ny - 4 and 1.0 <= col < nx - 4):
        return np.nan, np.nan, np.nan
    h, d_col, d_row = _biquintic(raster, T, row, col)
    return h, d_col / dem.dlon_deg, d_row / dem.dlat_deg


@numba.njit(cache=True, nogil=True)
def _heights_t(dem, lon, lat, out):  # pragma: no cover - numba
    T = biquintic_terms(dem)
    for i in range(lon.size):
        h = dem_height_grad_interior(dem, T, lon[i], lat[i])[0]  # (the unused derivatives are not computed)
        out[i] = h if h == h else dem_height_t(dem, T, lon[i], lat[i])


def dem_heights_t(dem, lon_deg, lat_deg) -> np.ndarray:
    """:func:`dem_height_t` at many points (1-D float64 arrays): what the tests compare to ``dem_heights``."""
    lon = np.ascontiguousarray(lon_deg, np.float64).reshape(-1)
    lat = np.ascontiguousarray(lat_deg, np.float64).reshape(-1)
    out = np.empty(lon.size)
    _heights_t(dem, lon, lat, out)
    return out


@numba.njit(cache=True, nogil=True)
def _heights_grad_t(dem, lon, lat, out):  # pragma: no cover - numba
    T = biquintic_terms(dem)
    for i in range(lon.size):
        h, d_lon, d_lat = dem_height_grad_interior(dem, T, lon[i], lat[i])
        if not h == h:
            h, d_lon, d_lat = dem_height_grad_t(dem, T, lon[i], lat[i])
        out[0, i], out[1, i], out[2, i] = h, d_lon, d_lat


def dem_heights_grad_t(dem, lon_deg, lat_deg) -> np.ndarray:
    """(3, n): the heights (m) and their derivatives in longitude and latitude (m/deg) the height solvers
    use, at many points (1-D float64 arrays)."""
    lon = np.ascontiguousarray(lon_deg, np.float64).reshape(-1)
    lat = np.ascontiguousarray(lat_deg, np.float64).reshape(-1)
    out = np.empty((3, lon.size))
    _heights_grad_t(dem, lon, lat, out)
    return out
