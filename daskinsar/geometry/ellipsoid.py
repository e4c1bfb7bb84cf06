"""WGS84 ellipsoid: geodetic <-> ECEF conversions and local frames.

All functions are vectorised over numpy arrays (any shape, broadcast together).
Angles are in degrees unless the name ends in ``_rad``; lengths in metres.
Heights are ellipsoidal (WGS84) heights.
"""

from __future__ import annotations

import math

import numba
import numpy as np

#: WGS84 semi-major axis (m)
A = 6378137.0
#: WGS84 flattening
F = 1.0 / 298.257223563
#: WGS84 semi-minor axis (m)
B = A * (1.0 - F)
#: first eccentricity squared
E2 = F * (2.0 - F)
#: second eccentricity squared
EP2 = E2 / (1.0 - E2)

#: speed of light in vacuum (m/s)
SPEED_OF_LIGHT = 299792458.0


def llh_to_ecef(lon_deg, lat_deg, hgt_m):
    """Geodetic longitude, latitude (deg) and ellipsoid height (m) to ECEF x, y, z (m).

    Returns an array of shape ``broadcast(lon, lat, hgt).shape + (3,)``.
    """
    lon = np.deg2rad(np.asarray(lon_deg, dtype=np.float64))
    lat = np.deg2rad(np.asarray(lat_deg, dtype=np.float64))
    h = np.asarray(hgt_m, dtype=np.float64)
    slat, clat = np.sin(lat), np.cos(lat)
    n = A / np.sqrt(1.0 - E2 * slat * slat)
    x = (n + h) * clat * np.cos(lon)
    y = (n + h) * clat * np.sin(lon)
    z = (n * (1.0 - E2) + h) * slat
    x, y, z = np.broadcast_arrays(x, y, z)
    return np.stack([x, y, z], axis=-1)


def ecef_to_llh(xyz_m):
    """ECEF (..., 3) in m to geodetic (lon_deg, lat_deg, hgt_m).

    Closed-form solution (Zhu 1993 / Heikkinen), accurate to well below a
    millimetre for points from the Earth's centre region out to orbit heights.
    """
    xyz = np.asarray(xyz_m, dtype=np.float64)
    shape = xyz.shape[:-1]
    flat = np.ascontiguousarray(xyz.reshape(-1, 3))
    out = np.empty((flat.shape[0], 3))
    _ecef_to_llh_many(flat, out)
    return out[:, 0].reshape(shape), out[:, 1].reshape(shape), out[:, 2].reshape(shape)


@numba.njit(cache=True, nogil=True)
def ecef_to_llh_point(x: float, y: float, z: float):  # pragma: no cover - numba
    """One ECEF point (m) to (lon_deg, lat_deg, hgt_m): Heikkinen's exact closed form."""
    r2 = x * x + y * y
    r = math.sqrt(r2)
    z2 = z * z
    ff = 54.0 * B * B * z2
    g = r2 + (1.0 - E2) * z2 - E2 * (A * A - B * B)
    c = E2 * E2 * ff * r2 / (g * g * g)
    s = np.cbrt(1.0 + c + math.sqrt(c * c + 2.0 * c))
    p = ff / (3.0 * (s + 1.0 / s + 1.0) ** 2 * g * g)
    q = math.sqrt(1.0 + 2.0 * E2 * E2 * p)
    r0 = -(p * E2 * r) / (1.0 + q) + math.sqrt(
        0.5 * A * A * (1.0 + 1.0 / q) - p * (1.0 - E2) * z2 / (q * (1.0 + q)) - 0.5 * p * r2
    )
    u = math.sqrt((r - E2 * r0) ** 2 + z2)
    v = math.sqrt((r - E2 * r0) ** 2 + (1.0 - E2) * z2)
    z0 = B * B * z / (A * v)
    h = u * (1.0 - B * B / (A * v))
    lat = math.atan2(z + EP2 * z0, r)
    lon = math.atan2(y, x)
    return math.degrees(lon), math.degrees(lat), h


@numba.njit(cache=True, nogil=True)
def _ecef_to_llh_many(xyz, out):  # pragma: no cover - numba
    for i in range(xyz.shape[0]):
        lo, la, h = ecef_to_llh_point(xyz[i, 0], xyz[i, 1], xyz[i, 2])
        out[i, 0] = lo
        out[i, 1] = la
        out[i, 2] = h


def enu_basis(lon_deg, lat_deg):
    """Local east, north, up unit vectors (..., 3) in ECEF at geodetic lon/lat (deg)."""
    lon = np.deg2rad(np.asarray(lon_deg, dtype=np.float64))
    lat = np.deg2rad(np.asarray(lat_deg, dtype=np.float64))
    slon, clon = np.sin(lon), np.cos(lon)
    slat, clat = np.sin(lat), np.cos(lat)
    east = np.stack(np.broadcast_arrays(-slon, clon, np.zeros_like(slon * slat)), axis=-1)
    north = np.stack(np.broadcast_arrays(-slat * clon, -slat * slon, clat), axis=-1)
    up = np.stack(np.broadcast_arrays(clat * clon, clat * slon, slat), axis=-1)
    return east, north, up


def ellipsoid_normal(xyz_m):
    """Unit outward normal (..., 3) of the ellipsoid family through ECEF points."""
    lon, lat, _ = ecef_to_llh(xyz_m)
    return enu_basis(lon, lat)[2]
