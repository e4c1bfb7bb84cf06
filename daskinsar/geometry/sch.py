"""SCH coordinates of a peg point (JPL's airborne convention, as ISCE2 uses it for UAVSAR).

A peg (latitude, longitude, heading, deg; optionally a height above the ellipsoid) defines a sphere of
radius ``rc`` = the WGS84 radius of curvature along the heading (plus the peg height), tangent to the
ellipsoid at the peg. ``s`` is the distance along the great circle through the peg in the heading's
direction, ``c`` the distance across it (positive to the left of the heading), ``h`` the height above the
sphere; all in m. A UAVSAR reference track is ``c = 0``, constant ``h``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ellipsoid import A as WGS84_A
from .ellipsoid import E2 as WGS84_E2
from .ellipsoid import llh_to_ecef
from .orbit import Orbit

__all__ = ["SchFrame", "sch_orbit"]


@dataclass(frozen=True)
class SchFrame:
    """A peg's SCH frame: sphere of radius ``rc`` (m) tangent to the ellipsoid at the peg along its heading."""

    lat_deg: float
    lon_deg: float
    hdg_deg: float
    peg_height_m: float = 0.0

    @property
    def radius_m(self) -> float:
        lat, hdg = np.deg2rad(self.lat_deg), np.deg2rad(self.hdg_deg)
        e = WGS84_A / np.sqrt(1.0 - WGS84_E2 * np.sin(lat) ** 2)  # prime vertical (east) radius
        n = WGS84_A * (1.0 - WGS84_E2) / (1.0 - WGS84_E2 * np.sin(lat) ** 2) ** 1.5  # meridional radius
        return float(e * n / (e * np.cos(hdg) ** 2 + n * np.sin(hdg) ** 2)) + self.peg_height_m

    def _matrix(self) -> np.ndarray:
        lat, lon, hdg = np.deg2rad([self.lat_deg, self.lon_deg, self.hdg_deg])
        up = np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
        north = np.array([-np.sin(lat) * np.cos(lon), -np.sin(lat) * np.sin(lon), np.cos(lat)])
        east = np.array([-np.sin(lon), np.cos(lon), 0.0])
        along = np.cos(hdg) * north + np.sin(hdg) * east
        left = np.sin(hdg) * north - np.cos(hdg) * east
        return np.stack([up, along, left], axis=1)

    def to_ecef(self, s_m, c_m, h_m, s_dot=None, c_dot=None, h_dot=None):
        """ECEF positions (and velocities, if rates are given) of SCH coordinates (m, m/s)."""
        rc = self.radius_m
        s, c, h = (np.asarray(x, np.float64) for x in np.broadcast_arrays(s_m, c_m, h_m))
        th, ph = s / rc, c / rc
        r = rc + h
        loc = np.stack([r * np.cos(ph) * np.cos(th), r * np.cos(ph) * np.sin(th), r * np.sin(ph)], axis=-1)
        mat = self._matrix()
        p0 = llh_to_ecef(self.lon_deg, self.lat_deg, self.peg_height_m).reshape(3)
        centre = p0 - rc * mat[:, 0]
        pos = loc @ mat.T + centre
        if s_dot is None:
            return pos
        sd, cd, hd = (np.broadcast_to(np.asarray(x, np.float64), s.shape) for x in (s_dot, c_dot, h_dot))
        dth, dph = sd / rc, cd / rc
        cp, sp, ct, st = np.cos(ph), np.sin(ph), np.cos(th), np.sin(th)
        dloc = np.stack([hd * cp * ct - r * (sp * dph * ct + cp * st * dth),
                         hd * cp * st + r * (-sp * dph * st + cp * ct * dth),
                         hd * sp + r * cp * dph], axis=-1)
        return pos, dloc @ mat.T


def sch_orbit(frame: SchFrame, epoch: str, s0_m: float, ds_dt_mps: float, h_m: float, t0_s: float, t1_s: float,
              step_s: float, source: str = "SCH reference track") -> Orbit:
    """State vectors every ``step_s`` over [t0_s, t1_s] on the track ``s = s0 + ds_dt t``, ``c = 0``, height
    ``h_m`` (``ds_dt_mps`` along the sphere of radius ``frame.radius_m``)."""
    t = np.arange(t0_s, t1_s + 0.5 * step_s, step_s)
    pos, vel = frame.to_ecef(s0_m + ds_dt_mps * t, 0.0, h_m, ds_dt_mps, 0.0, 0.0)
    return Orbit(epoch, t, pos, vel, source=source)
