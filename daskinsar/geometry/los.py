"""Line-of-sight geometry at ground points.

Conventions (ISCE's ``los.rdr``):

- incidence (deg): angle at the target between the local ellipsoid normal (up)
  and the line of sight from the target to the platform;
- heading / LOS azimuth (deg): azimuth of the horizontal projection of the
  line of sight from the target towards the platform, measured from north,
  positive anticlockwise (towards west), in (-180, 180]: ISCE2's ``los.rdr``
  band 2 (topozero: ``atan2(-n, -e) - 90 deg`` of the satellite-to-target vector)
  and MintPy's ``azimuthAngle``. A right-looking ascending pass gives about
  +100 deg, a right-looking descending pass about -100 deg. (ISCE3's Topo
  ``hdg.rdr`` is the same for right-looking grids and 180 deg from it for
  left-looking ones.)
- line-of-sight unit vector (east, north, up) from target to platform; a LOS
  displacement ``d_los = u . los_enu`` is positive towards the platform
  (uplift on an ascending pass is positive).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .ellipsoid import ecef_to_llh_point


def los_enu(xyz_m, sat_pos_m):
    """Unit line-of-sight vector target -> platform in local (east, north, up), shape (..., 3)."""
    xyz, sat = np.broadcast_arrays(np.asarray(xyz_m, np.float64), np.asarray(sat_pos_m, np.float64))
    shape = xyz.shape
    out = np.empty((int(np.prod(shape[:-1])), 3))
    _los_enu_many(np.ascontiguousarray(xyz.reshape(-1, 3)), np.ascontiguousarray(sat.reshape(-1, 3)), out)
    return out.reshape(shape)


@numba.njit(cache=True, nogil=True)
def _los_enu_many(xyz, sat, out):  # pragma: no cover - numba
    for i in range(xyz.shape[0]):
        x0, x1, x2 = xyz[i, 0], xyz[i, 1], xyz[i, 2]
        d0, d1, d2 = sat[i, 0] - x0, sat[i, 1] - x1, sat[i, 2] - x2
        dn = math.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
        d0, d1, d2 = d0 / dn, d1 / dn, d2 / dn
        lon, lat, _ = ecef_to_llh_point(x0, x1, x2)
        slon, clon = math.sin(math.radians(lon)), math.cos(math.radians(lon))
        slat, clat = math.sin(math.radians(lat)), math.cos(math.radians(lat))
        out[i, 0] = -slon * d0 + clon * d1
        out[i, 1] = -slat * clon * d0 - slat * slon * d1 + clat * d2
        out[i, 2] = clat * clon * d0 + clat * slon * d1 + slat * d2


def los_angles(xyz_m, sat_pos_m, normal: str = "geodetic"):
    """(incidence_deg, heading_deg) of the line of sight; see module docstring.

    ``normal``: "geodetic" (the ellipsoid normal at the target: ISCE's incidence, the product's) or
    "geocentric" (the direction from the Earth's centre: the definition of ESA's ``incidenceAngle`` in
    Sentinel-1 annotations, which differs from ISCE's by up to a few hundredths of a degree).
    """
    enu = los_enu(xyz_m, sat_pos_m)
    if normal == "geocentric":
        x = np.asarray(xyz_m, np.float64)
        d = np.asarray(sat_pos_m, np.float64) - x
        up = np.sum(d * x, axis=-1) / (np.linalg.norm(d, axis=-1) * np.linalg.norm(x, axis=-1))
        inc = np.rad2deg(np.arccos(np.clip(up, -1.0, 1.0)))
    elif normal == "geodetic":
        inc = np.rad2deg(np.arccos(np.clip(enu[..., 2], -1.0, 1.0)))
    else:
        raise ValueError(f"normal must be 'geodetic' or 'geocentric', got {normal!r}")
    hdg = np.rad2deg(np.arctan2(-enu[..., 0], enu[..., 1]))
    return inc, hdg


def los_vector_from_angles(incidence_deg, heading_deg):
    """Inverse of :func:`los_angles`: the (east, north, up) unit vector target -> platform."""
    inc = np.deg2rad(np.asarray(incidence_deg, np.float64))
    hdg = np.deg2rad(np.asarray(heading_deg, np.float64))
    s = np.sin(inc)
    return np.stack([-s * np.sin(hdg), s * np.cos(hdg), np.cos(inc)], axis=-1)
