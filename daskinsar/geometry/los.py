"""Line-of-sight geometry at ground points.

Conventions (ISCE's ``los.rdr``):

- incidence (deg): angle at the target between the local ellipsoid normal (up)
  and the line of sight from the target to the platform;
- heading / LOS azimuth (deg): azimuth of the horizontal projection of the
  line of sight from the platform towards the target (the look direction),
  measured from north, positive anticlockwise (towards west), in (-180, 180];
  this is what ISCE2's topo writes (checked against its output on UAVSAR).
- line-of-sight unit vector (east, north, up) from target to platform; a LOS
  displacement ``d_los = u . los_enu`` is positive towards the platform
  (uplift on an ascending pass is positive).
"""

from __future__ import annotations

import numpy as np

from .ellipsoid import ecef_to_llh, enu_basis


def los_enu(xyz_m, sat_pos_m):
    """Unit line-of-sight vector target -> platform in local (east, north, up), shape (..., 3)."""
    xyz = np.asarray(xyz_m, np.float64)
    d = np.asarray(sat_pos_m, np.float64) - xyz
    d = d / np.linalg.norm(d, axis=-1, keepdims=True)
    lon, lat, _ = ecef_to_llh(xyz)
    e, n, u = enu_basis(lon, lat)
    return np.stack([np.sum(d * e, -1), np.sum(d * n, -1), np.sum(d * u, -1)], axis=-1)


def los_angles(xyz_m, sat_pos_m):
    """(incidence_deg, heading_deg) of the line of sight; see module docstring."""
    enu = los_enu(xyz_m, sat_pos_m)
    inc = np.rad2deg(np.arccos(np.clip(enu[..., 2], -1.0, 1.0)))
    hdg = np.rad2deg(np.arctan2(enu[..., 0], -enu[..., 1]))
    return inc, hdg


def los_vector_from_angles(incidence_deg, heading_deg):
    """Inverse of :func:`los_angles`: the (east, north, up) unit vector target -> platform."""
    inc = np.deg2rad(np.asarray(incidence_deg, np.float64))
    hdg = np.deg2rad(np.asarray(heading_deg, np.float64))
    s = np.sin(inc)
    return np.stack([s * np.sin(hdg), -s * np.cos(hdg), np.cos(inc)], axis=-1)
