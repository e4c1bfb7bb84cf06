"""Simulated orbits: circular Keplerian passes over a chosen scene centre (the satellite platform; the airborne
one, an SCH reference track, is :mod:`daskinsar.simulate.airborne`).

Model
-----
A circular orbit of radius ``a`` (m) in an Earth-centred inertial frame with
inclination ``i``, right ascension of the ascending node ``Omega`` and argument
of latitude ``u(t) = u0 + n t`` (``n = sqrt(GM / a^3)``); the inertial frame
coincides with ECEF at ``t = 0`` (the orbit's epoch) and the Earth turns at
``OMEGA_EARTH`` about z, so

    r_ecef(t) = Rz(-w t) r_eci(t),   v_ecef(t) = Rz(-w t) v_eci(t) - w x r_ecef(t).

Times are seconds since the orbit's epoch (ISO-8601 UTC); positions in m,
velocities in m/s. State vectors are sampled every ``step_s`` (10 s) into a
:class:`daskinsar.geometry.orbit.Orbit` (Hermite-interpolated downstream).

Placing a pass
--------------
:func:`place_reference_orbit` solves for ``(Omega, u0)`` such that the scene
centre (lon, lat, h) is seen at zero Doppler at time ``t_centre_s`` under the
look angle ``look_angle_deg`` on the requested side. The look angle is
measured at the platform from the geocentric nadir (``-r/|r|``).

:func:`place_secondary_orbit` solves for ``(a, Omega, u0)`` of a second pass
(with its own epoch) such that at the zero-Doppler time of the scene centre
(``t_centre_s`` in its own epoch) the baseline vector ``b = p2 - p1``
(secondary minus reference platform position, both at their zero-Doppler time
of the scene centre) has

- parallel component ``b . l = B_par`` with ``l`` the unit line of sight from
  the reference platform to the scene centre, and
- perpendicular component ``b . e_perp = B_perp`` with ``e_perp`` the unit
  vector normal to ``l`` in the reference zero-Doppler plane pointing away from
  the Earth (``e_perp . r1 > 0``). ``B_perp > 0`` therefore means the secondary
  sees the scene centre under a *smaller* look angle than the reference (checked
  in the tests).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry.ellipsoid import A as WGS84_A
from ..geometry.ellipsoid import llh_to_ecef
from ..geometry.orbit import Orbit

#: standard gravitational parameter of the Earth (m^3/s^2)
GM_EARTH = 3.986004418e14
#: Earth rotation rate (rad/s)
OMEGA_EARTH = 7.2921150e-5


@dataclass(frozen=True)
class CircularElements:
    """Elements of a circular orbit (radius m, angles rad) relative to its epoch."""

    radius_m: float
    inclination_rad: float
    node_rad: float
    u0_rad: float

    @property
    def mean_motion(self) -> float:
        return float(np.sqrt(GM_EARTH / self.radius_m**3))


def kepler_state(t_s, el: CircularElements):
    """ECEF position (m) and velocity (m/s), shape ``t.shape + (3,)``, at times ``t_s``."""
    t = np.asarray(t_s, np.float64)
    a, n = el.radius_m, el.mean_motion
    u = el.u0_rad + n * t
    cu, su = np.cos(u), np.sin(u)
    ci, si = np.cos(el.inclination_rad), np.sin(el.inclination_rad)
    co, so = np.cos(el.node_rad), np.sin(el.node_rad)
    r = a * np.stack([cu * co - su * ci * so, cu * so + su * ci * co, su * si], axis=-1)
    v = a * n * np.stack([-su * co - cu * ci * so, -su * so + cu * ci * co, cu * si], axis=-1)
    th = OMEGA_EARTH * t
    c, s = np.cos(th)[..., None], np.sin(th)[..., None]
    rx = c[..., 0] * r[..., 0] + s[..., 0] * r[..., 1]
    ry = -s[..., 0] * r[..., 0] + c[..., 0] * r[..., 1]
    vx = c[..., 0] * v[..., 0] + s[..., 0] * v[..., 1]
    vy = -s[..., 0] * v[..., 0] + c[..., 0] * v[..., 1]
    pos = np.stack([rx, ry, r[..., 2]], axis=-1)
    # subtract w x r (w along +z)
    vel = np.stack([vx + OMEGA_EARTH * ry, vy - OMEGA_EARTH * rx, v[..., 2]], axis=-1)
    return pos, vel


def zero_doppler_time(xyz_m, el: CircularElements, t_guess_s: float, tol_s: float = 1e-10) -> float:
    """Time (s) at which the platform's ECEF velocity is normal to the line of sight to ``xyz_m``."""
    x = np.asarray(xyz_m, np.float64)
    t = float(t_guess_s)
    for _ in range(50):
        p, v = kepler_state(np.array([t, t + 1e-3, t - 1e-3]), el)
        f = np.einsum("ij,j->i", v, x) - np.einsum("ij,ij->i", v, p)
        dt = f[0] / ((f[1] - f[2]) / 2e-3)
        t -= dt
        if abs(dt) < tol_s:
            break
    return t


def signed_look_angle(xyz_m, pos_m, vel_mps) -> float:
    """Look angle (rad) from the geocentric nadir to the target; positive to the left of the track."""
    d = np.asarray(xyz_m) - np.asarray(pos_m)
    up = np.asarray(pos_m) / np.linalg.norm(pos_m)
    left = np.cross(up, np.asarray(vel_mps) / np.linalg.norm(vel_mps))
    return float(np.arctan2(d @ left, -(d @ up)))


def _newton(fun, x0, steps, n_iter=30, tol=1e-7):
    x = np.asarray(x0, np.float64).copy()
    for _ in range(n_iter):
        f = fun(x)
        J = np.empty((len(f), len(x)))
        for k in range(len(x)):
            dx = np.zeros_like(x)
            dx[k] = steps[k]
            J[:, k] = (fun(x + dx) - fun(x - dx)) / (2 * steps[k])
        step = np.linalg.solve(J, f)
        x = x - step
        if np.max(np.abs(step / np.asarray(steps))) < tol:
            break
    return x


def place_reference_orbit(centre_lon_deg: float, centre_lat_deg: float, centre_hgt_m: float, *,
                          altitude_m: float, inclination_deg: float, look_angle_deg: float, look_side: str,
                          ascending: bool, t_centre_s: float) -> CircularElements:
    """Circular elements that see the scene centre at zero Doppler at ``t_centre_s`` under the look angle."""
    P = llh_to_ecef(centre_lon_deg, centre_lat_deg, centre_hgt_m)
    a = WGS84_A + altitude_m
    inc = np.deg2rad(inclination_deg)
    lat = np.deg2rad(centre_lat_deg)
    s = np.clip(np.sin(lat) / np.sin(inc), -1.0, 1.0)
    u = np.arcsin(s) if ascending else np.pi - np.arcsin(s)
    n = np.sqrt(GM_EARTH / a**3)
    lam_eci = np.arctan2(np.cos(inc) * np.sin(u), np.cos(u))
    node = np.deg2rad(centre_lon_deg) + OMEGA_EARTH * t_centre_s - lam_eci
    u0 = u - n * t_centre_s
    target = np.deg2rad(look_angle_deg) * (1.0 if look_side == "left" else -1.0)

    def resid(x):
        el = CircularElements(a, inc, x[0], x[1])
        tz = zero_doppler_time(P, el, t_centre_s)
        p, v = kepler_state(np.array(tz), el)
        return np.array([(tz - t_centre_s) * 7000.0, (signed_look_angle(P, p, v) - target) * 7e5])

    x = _newton(resid, [node, u0], [1e-5, 1e-5])
    return CircularElements(a, inc, float(x[0]), float(x[1]))


def baseline_components(P_xyz, el1: CircularElements, el2: CircularElements, t_centre_s: float):
    """(B_perp m, B_par m, along-track m, t1 s, t2 s) of pass 2 relative to pass 1 at target ``P_xyz``
    (each platform at its own zero-Doppler time of the target; see module docstring for signs)."""
    t1 = zero_doppler_time(P_xyz, el1, t_centre_s)
    t2 = zero_doppler_time(P_xyz, el2, t_centre_s)
    p1, v1 = kepler_state(np.array(t1), el1)
    p2, _ = kepler_state(np.array(t2), el2)
    los = (P_xyz - p1) / np.linalg.norm(P_xyz - p1)
    vhat = v1 / np.linalg.norm(v1)
    e = np.cross(vhat, los)
    e -= (e @ los) * los
    e /= np.linalg.norm(e)
    if e @ p1 < 0:
        e = -e
    b = p2 - p1
    return float(b @ e), float(b @ los), float(b @ vhat), t1, t2


def place_secondary_orbit(centre_xyz_m, ref: CircularElements, *, perpendicular_baseline_m: float,
                          parallel_baseline_m: float, t_centre_s: float) -> CircularElements:
    """Circular elements of the secondary pass with the requested baseline at the scene centre
    (zero-Doppler time of the centre = ``t_centre_s`` in the secondary's own epoch)."""
    P = np.asarray(centre_xyz_m, np.float64)

    def resid(x):
        el = CircularElements(x[0], ref.inclination_rad, x[1], x[2])
        bp, bl, _, _, t2 = baseline_components(P, ref, el, t_centre_s)
        return np.array([bp - perpendicular_baseline_m, bl - parallel_baseline_m, (t2 - t_centre_s) * 7000.0])

    x = _newton(resid, [ref.radius_m, ref.node_rad, ref.u0_rad], [0.5, 1e-7, 1e-7], tol=1e-6)
    return CircularElements(float(x[0]), ref.inclination_rad, float(x[1]), float(x[2]))


def sample_orbit(el: CircularElements, epoch: str, t_start_s: float, t_stop_s: float, step_s: float = 10.0,
                 source: str = "simulated circular orbit") -> Orbit:
    """State vectors every ``step_s`` covering ``[t_start_s, t_stop_s]`` (widened to whole steps)."""
    t0 = np.floor(t_start_s / step_s) * step_s
    t1 = np.ceil(t_stop_s / step_s) * step_s
    t = np.arange(t0, t1 + 0.5 * step_s, step_s, dtype=np.float64)
    p, v = kepler_state(t, el)
    return Orbit(epoch, t, p, v, source=source)


def add_days(epoch: str, days: float) -> str:
    """ISO-8601 UTC epoch plus ``days`` (as an ISO string with nanoseconds)."""
    from ..geometry.orbit import format_utc, parse_utc

    return format_utc(parse_utc(epoch) + np.timedelta64(int(round(days * 86400e9)), "ns"))
