"""Synthetic terrain: spectral (fractal) relief plus an optional volcano, on a lon/lat grid.

The DEM is the *truth* of the simulation: heights (m above the WGS84 ellipsoid)
on a regular lon/lat grid of sample centres ``lon0 + j dlon``, ``lat0 + i dlat``
(``dlat < 0``: north up), written as a float32 GeoTIFF (EPSG:4326,
``AREA_OR_POINT=Area``, geotransform at pixel corners, as
:func:`daskinsar.io.dem.write_dem_geotiff` does). Heights between samples are
defined by the interpolator of :mod:`daskinsar.geometry.dem_interp` (``biquintic``
by default, ISCE's), the same one the processor uses.

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

import numpy as np


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
