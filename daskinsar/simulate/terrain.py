"""Synthetic terrain: spectral (fractal) relief plus an optional volcano, on a lon/lat grid.

The DEM is the *truth* of the simulation: heights (m above the WGS84 ellipsoid)
on a regular lon/lat grid of sample centres ``lon0 + j dlon``, ``lat0 + i dlat``
(``dlat < 0``: north up), written as a float32 GeoTIFF (EPSG:4326,
``AREA_OR_POINT=Area``, geotransform at pixel corners, as
:func:`daskinsar.io.dem.write_dem_geotiff` does). Heights between samples are
defined by the interpolator of :mod:`daskinsar.geometry.dem_interp` (``biquintic``
by default, ISCE's); :func:`dem_interp_numba` is a compiled copy of it (tested
equal to :func:`~daskinsar.geometry.dem_interp.interpolate_raster`) used per pixel.

Relief model
------------
``h = base + relief * (f - min f) / (max f - min f) + cone + lakes`` where ``f`` is a
Gaussian random field with power spectrum ``P(k) ~ k^-beta`` (``beta`` = 3.6, a
typical value for natural topography), low-passed by ``exp(-(k / k_c)^2)`` with
``k_c = 1 / min_wavelength`` so that slopes stay below the layover limit; the cone
is ``H exp(-r^2 / (2 R^2))`` around a chosen point; lakes are flattened discs
(their level is the lowest height in the disc) blended into the terrain over half
a radius, and flagged as water (low coherence) by :func:`water_mask`.
"""

from __future__ import annotations

import numba
import numpy as np

from ..geometry.dem_interp import _natural_spline_matrix

#: metres per degree of latitude / longitude (at the equator) on a sphere of WGS84 radius
M_PER_DEG = 6378137.0 * np.pi / 180.0


def local_xy_km(lon_deg, lat_deg, lon0_deg: float, lat0_deg: float):
    """(east km, north km) of points relative to (lon0, lat0), tangent-plane approximation
    (spherical, radius 6378.137 km; relative error < 1e-3 within 20 km)."""
    e = (np.asarray(lon_deg) - lon0_deg) * M_PER_DEG * np.cos(np.deg2rad(lat0_deg)) / 1e3
    n = (np.asarray(lat_deg) - lat0_deg) * M_PER_DEG / 1e3
    return e, n


def spectral_relief(shape: tuple[int, int], spacing_m: tuple[float, float], *, beta: float,
                    min_wavelength_m: float, rng: np.random.Generator) -> np.ndarray:
    """Zero-mean Gaussian random field (unit std) with power spectrum ``k^-beta`` low-passed at
    ``1/min_wavelength_m`` (cycles/m), on a grid of ``shape`` with sample spacing (dy, dx) in m."""
    ny, nx = shape
    w = rng.standard_normal(shape)
    ky = np.fft.fftfreq(ny, d=spacing_m[0])[:, None]
    kx = np.fft.rfftfreq(nx, d=spacing_m[1])[None, :]
    k = np.sqrt(kx**2 + ky**2)
    kmin = 1.0 / (max(ny * spacing_m[0], nx * spacing_m[1]))
    amp = (k**2 + kmin**2) ** (-beta / 4.0) * np.exp(-((k * min_wavelength_m) ** 2))
    f = np.fft.irfft2(np.fft.rfft2(w) * amp, s=shape)
    return (f - f.mean()) / f.std()


def make_dem(lon0: float, lat0: float, dlon: float, dlat: float, shape: tuple[int, int], *, centre_lon: float,
             centre_lat: float, base_height_m: float, relief_m: float, beta: float, min_wavelength_m: float,
             cone_height_m: float, cone_radius_km: float, cone_east_km: float, cone_north_km: float,
             lakes: list[tuple[float, float, float]], seed: int) -> np.ndarray:
    """DEM heights (float32, m) on the grid of sample centres ``lon0 + j dlon``, ``lat0 + i dlat``.

    ``lakes``: (east km, north km, radius km) relative to the scene centre. See module docstring.
    """
    ny, nx = shape
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(3,)))
    lat_c = lat0 + dlat * (ny - 1) / 2
    spacing = (abs(dlat) * M_PER_DEG, abs(dlon) * M_PER_DEG * np.cos(np.deg2rad(lat_c)))
    f = spectral_relief(shape, spacing, beta=beta, min_wavelength_m=min_wavelength_m, rng=rng)
    h = base_height_m + relief_m * (f - f.min()) / max(f.max() - f.min(), 1e-12)
    lon = lon0 + dlon * np.arange(nx)
    lat = lat0 + dlat * np.arange(ny)
    e, n = local_xy_km(lon[None, :], lat[:, None], centre_lon, centre_lat)
    if cone_height_m > 0:
        r2 = (e - cone_east_km) ** 2 + (n - cone_north_km) ** 2
        h = h + cone_height_m * np.exp(-0.5 * r2 / cone_radius_km**2)
    for le, ln, lr in lakes:
        r = np.sqrt((e - le) ** 2 + (n - ln) ** 2)
        inside = r <= lr
        if not inside.any():
            continue
        level = h[inside].min()
        s = np.clip((r - lr) / (0.5 * lr), 0.0, 1.0)
        blend = s * s * (3 - 2 * s)
        h = level + (h - level) * blend
    return h.astype(np.float32)


def water_mask(lon_deg, lat_deg, centre_lon: float, centre_lat: float, lakes) -> np.ndarray:
    """True where (lon, lat) lies in one of the lakes (east km, north km, radius km)."""
    e, n = local_xy_km(lon_deg, lat_deg, centre_lon, centre_lat)
    out = np.zeros(np.shape(e), bool)
    for le, ln, lr in lakes:
        out |= (e - le) ** 2 + (n - ln) ** 2 <= lr**2
    return out


# ----------------------------------------------------------------------------- compiled interpolation
_S6 = _natural_spline_matrix(6)
#: method codes for :func:`dem_interp_numba`
METHOD_CODES = {"bilinear": 1, "bicubic": 3, "biquintic": 5}


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
    if method == 1:
        return 1.0 - f if j == 0 else f
    if method == 3:
        return _keys(f - (j - 1))
    e1 = 1.0 if j == 1 else 0.0
    e2 = 1.0 if j == 2 else 0.0
    return e1 + f * ((e2 - e1 - s1[j] / 3.0 - s2[j] / 6.0) + f * (s1[j] / 2.0 + f * (s2[j] - s1[j]) / 6.0))


@numba.njit(cache=True, nogil=True)
def dem_interp_point(dem, row, col, method, s1, s2):
    """Height at pixel-centre coordinates (row, col) of ``dem`` (same definition as
    :func:`daskinsar.geometry.dem_interp.interpolate_raster`; edge samples repeated).
    ``method``: 1 bilinear, 3 bicubic (Keys), 5 biquintic (ISCE's 6 x 6 natural spline);
    ``s1``, ``s2``: rows 1 and 2 of the 6-node natural-spline matrix."""
    ny, nx = dem.shape
    r0 = int(np.floor(row))
    c0 = int(np.floor(col))
    fr = row - r0
    fc = col - c0
    n = 2 if method == 1 else (4 if method == 3 else 6)
    off = 0 if method == 1 else -1
    w0 = _weight(method, fc, 0, s1, s2)
    w1 = _weight(method, fc, 1, s1, s2)
    w2 = _weight(method, fc, 2, s1, s2) if n > 2 else 0.0
    w3 = _weight(method, fc, 3, s1, s2) if n > 2 else 0.0
    w4 = _weight(method, fc, 4, s1, s2) if n > 4 else 0.0
    w5 = _weight(method, fc, 5, s1, s2) if n > 4 else 0.0
    out = 0.0
    for j in range(n):
        wj = _weight(method, fr, j, s1, s2)
        rr = min(max(r0 + off + j, 0), ny - 1)
        acc = 0.0
        for k in range(n):
            wk = w0 if k == 0 else (w1 if k == 1 else (w2 if k == 2 else (w3 if k == 3 else (w4 if k == 4 else w5))))
            cc = min(max(c0 + off + k, 0), nx - 1)
            acc += wk * dem[rr, cc]
        out += wj * acc
    return out


def dem_interp_numba(dem: np.ndarray, row, col, method: str = "biquintic") -> np.ndarray:
    """Vectorised wrapper of :func:`dem_interp_point` (pixel-centre coordinates)."""
    row, col = np.broadcast_arrays(np.asarray(row, np.float64), np.asarray(col, np.float64))
    out = _interp_many(np.ascontiguousarray(dem, np.float64), row.ravel(), col.ravel(), METHOD_CODES[method],
                       _S6[1].copy(), _S6[2].copy())
    return out.reshape(row.shape)


@numba.njit(cache=True, nogil=True)
def _interp_many(dem, row, col, method, s1, s2):
    out = np.empty(row.size)
    for i in range(row.size):
        out[i] = dem_interp_point(dem, row[i], col[i], method, s1, s2)
    return out
