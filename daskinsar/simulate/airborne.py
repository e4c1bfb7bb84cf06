"""Simulated airborne passes: a UAVSAR-like motion-compensation reference track on a peg's SCH sphere.

Model
-----
A UAVSAR SLC refers to a reference track ``c = 0``, constant height ``h`` above the SCH sphere of a peg
(:class:`daskinsar.geometry.sch.SchFrame`: latitude, longitude, heading; the sphere osculates the
ellipsoid along the heading at the peg), flown at a constant rate ``ds/dt`` along the sphere. Both passes of
an RPI pair are motion-compensated to ONE such track and lie on one grid, so the secondary flies the very
same track (zero baseline) in its own epoch.

Placing the track
-----------------
The peg is the sub-platform point of the grid's middle line ``n_az // 2`` (time ``t_peg_s``; where a
writer takes the peg from the orbit, :func:`daskinsar.simulate.formats.uavsar_rpi.scene_track`), its
heading the configured one; the platform flies at ``speed_mps`` at height ``altitude_m`` (so
``ds/dt = speed * rc / (rc + h)``). :func:`place_track` solves for the peg's latitude and longitude such
that the scene centre ``P`` is seen at zero Doppler at ``t_centre_s`` under the look angle ``look_angle_deg``
measured at the platform from the ellipsoid normal (the geodetic nadir), on the requested side. Times in s
from the pass's epoch, lengths in m, angles in deg.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry.ellipsoid import ecef_to_llh, enu_basis, llh_to_ecef
from ..geometry.orbit import Orbit
from ..geometry.sch import SchFrame, sch_orbit

__all__ = ["SchTrack", "place_track", "geodetic_look_angle_deg"]


@dataclass(frozen=True)
class SchTrack:
    """An SCH reference track: ``s(t) = speed_s_mps * (t - t_peg_s)``, ``c = 0``, ``h = height_m``."""

    frame: SchFrame
    height_m: float
    speed_s_mps: float  # along the sphere (ds/dt)
    t_peg_s: float

    def state(self, t_s):
        """ECEF position (m) and velocity (m/s) at times ``t_s`` (s)."""
        t = np.asarray(t_s, np.float64)
        return self.frame.to_ecef(self.speed_s_mps * (t - self.t_peg_s), 0.0, self.height_m, self.speed_s_mps,
                                  0.0, 0.0)

    def orbit(self, epoch: str, t_start_s: float, t_stop_s: float, step_s: float = 1.0,
              source: str = "simulated SCH reference track") -> Orbit:
        """State vectors every ``step_s`` covering ``[t_start_s, t_stop_s]`` (widened to whole steps)."""
        t0 = np.floor(t_start_s / step_s) * step_s
        t1 = np.ceil(t_stop_s / step_s) * step_s
        return sch_orbit(self.frame, epoch, -self.speed_s_mps * self.t_peg_s, self.speed_s_mps,
                         self.height_m, t0, t1, step_s, source=source)


def geodetic_look_angle_deg(xyz_m, pos_m, vel_mps) -> float:
    """Look angle (deg) at the platform from the ellipsoid normal to the target; positive to the left of the
    velocity, negative to the right."""
    lon, lat, _ = (float(np.ravel(x)[0]) for x in ecef_to_llh(np.asarray(pos_m, np.float64)))
    e, n, up = (np.asarray(b).reshape(3) for b in enu_basis(lon, lat))
    d = np.asarray(xyz_m, np.float64) - np.asarray(pos_m, np.float64)
    left = np.cross(up, np.asarray(vel_mps) / np.linalg.norm(vel_mps))
    left /= np.linalg.norm(left)
    side = 1.0 if d @ left >= 0 else -1.0
    return side * float(np.degrees(np.arccos(np.clip(-(d @ up) / np.linalg.norm(d), -1.0, 1.0))))


def place_track(centre_lon_deg: float, centre_lat_deg: float, centre_hgt_m: float, *, altitude_m: float,
                speed_mps: float, heading_deg: float, look_angle_deg: float, look_side: str, t_centre_s: float,
                t_peg_s: float) -> SchTrack:
    """The reference track that sees the scene centre at zero Doppler at ``t_centre_s`` under the look angle
    (peg = sub-platform point at ``t_peg_s``, heading ``heading_deg``; see the module docstring)."""
    P = llh_to_ecef(centre_lon_deg, centre_lat_deg, centre_hgt_m).reshape(3)
    sign = 1.0 if look_side == "left" else -1.0
    target = sign * look_angle_deg
    hdg = np.deg2rad(heading_deg)
    # first guess: flat Earth, the platform h tan(theta) across the track from the scene centre
    ground = altitude_m * np.tan(np.deg2rad(look_angle_deg))
    d_north, d_east = -sign * ground * np.sin(hdg), sign * ground * np.cos(hdg)  # minus the "left" direction
    lat0 = centre_lat_deg + np.degrees(d_north / 6.371e6)
    lon0 = centre_lon_deg + np.degrees(d_east / (6.371e6 * np.cos(np.deg2rad(centre_lat_deg))))
    slant = altitude_m / np.cos(np.deg2rad(look_angle_deg))

    def track(x) -> SchTrack:
        frame = SchFrame(float(x[0]), float(x[1]), float(heading_deg))
        rc = frame.radius_m
        return SchTrack(frame, float(altitude_m), float(speed_mps) * rc / (rc + altitude_m), float(t_peg_s))

    def resid(x):
        p, v = track(x).state(np.array([t_centre_s]))
        p, v = p[0], v[0]
        along = (P - p) @ v / np.linalg.norm(v)  # zero at zero Doppler
        return np.array([along, np.deg2rad(geodetic_look_angle_deg(P, p, v) - target) * slant])

    x = np.array([lat0, lon0])
    for _ in range(30):
        f = resid(x)
        J = np.empty((2, 2))
        for k in range(2):
            dx = np.zeros(2)
            dx[k] = 1e-6
            J[:, k] = (resid(x + dx) - resid(x - dx)) / 2e-6
        step = np.linalg.solve(J, f)
        x = x - step
        if np.max(np.abs(step)) < 1e-12:  # deg: ~0.1 um
            break
    f = resid(x)
    if np.max(np.abs(f)) > 1e-6:
        raise ValueError(f"airborne track placement did not converge ({np.max(np.abs(f)):.3g} m off)")
    return track(x)
