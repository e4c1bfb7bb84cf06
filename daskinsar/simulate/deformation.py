"""Analytic surface deformation sources and their line-of-sight projection.

Frame: local east (x), north (y), up (z), metres, origin at the scene centre
on the surface of a homogeneous isotropic elastic half-space (the sources'
depths count from that surface; the terrain does not enter the elastic
solution). Displacements are (east, north, up) in metres.

Mogi (1958) point pressure source
---------------------------------
A small spherical source at depth ``d`` (m) below ``(x0, y0)`` whose volume
changes by ``dV`` (m^3) moves the surface by

    u = (1 - nu) dV / pi * (x - x0, y - y0, d) / R^3,   R^2 = (x-x0)^2 + (y-y0)^2 + d^2

(``nu`` = Poisson ratio, 0.25 by default; the factor is ``3 dV / (4 pi)`` for
``nu = 0.25``); ``dV > 0`` (inflation) lifts the surface, with peak uplift
``(1 - nu) dV / (pi d^2)`` above the source.

Okada (1985) rectangular dislocation
------------------------------------
A rectangle of length ``L`` along strike and width ``W`` down dip, with uniform
slip ``U`` (m) of rake ``rake`` (deg, Aki & Richards: 0 = left-lateral, 90 =
reverse/thrust, -90 = normal) and opening ``U3`` (m). The rectangle is placed by
its centroid (``x0, y0`` m, depth ``depth_m`` m below the surface), ``strike``
(deg clockwise from north; the fault dips to the right of the strike direction)
and ``dip`` (deg). Surface displacements use Okada's closed forms (BSSA 75,
1135-1154, 1985, eqs. 25-30, with the Chinnery notation
``f(xi, eta)|| = f(x, p) - f(x, p - W) - f(x - L, p) + f(x - L, p - W)`` over the
rectangle, and ``mu / (lambda + mu) = 1 - 2 nu``), in Okada's frame whose origin
is the lower-left corner of the rectangle (x along strike, y to the left of the
strike direction, fault bottom at depth ``d = depth + W sin(dip) / 2``).
:func:`okada_point_surface` gives Okada's point-source (eq. 25 family) for
checks.

Line of sight
-------------
``d_los = u . l`` with ``l`` the unit vector from the ground point towards the
platform in (east, north, up) (:func:`daskinsar.geometry.los.los_enu`): a LOS
displacement is positive towards the platform (a range *decrease*; uplift on a
right-looking pass is positive).
"""

from __future__ import annotations

import numpy as np


def mogi_enu(x_m, y_m, *, depth_m: float, volume_change_m3: float, x0_m: float = 0.0, y0_m: float = 0.0,
             poisson: float = 0.25):
    """(east, north, up) surface displacement (m) of a Mogi source; see module docstring."""
    dx = np.asarray(x_m, np.float64) - x0_m
    dy = np.asarray(y_m, np.float64) - y0_m
    R3 = (dx * dx + dy * dy + depth_m * depth_m) ** 1.5
    c = (1.0 - poisson) * volume_change_m3 / np.pi / R3
    return c * dx, c * dy, c * depth_m * np.ones_like(dx)


def _okada_chinnery(xi, eta, q, sd, cd, alpha):
    """Okada (1985) surface terms for unit strike-, dip- and tensile-slip at one corner
    (xi, eta) of the Chinnery sum. Returns 9 arrays: (ux, uy, uz) x (strike, dip, tensile),
    each without the common factor ``1 / (2 pi)`` and the slip signs."""
    R = np.sqrt(xi * xi + eta * eta + q * q)
    yt = eta * cd + q * sd
    dt = eta * sd - q * cd
    X = np.sqrt(xi * xi + q * q)
    Re = R + eta
    Re = np.where(np.abs(Re) < 1e-12, 1e-12, Re)
    lnRe = np.log(Re)
    Rx = R + xi
    Rx = np.where(np.abs(Rx) < 1e-12, 1e-12, Rx)
    qs = np.where(np.abs(q) < 1e-12, 1e-12, q)
    th = np.arctan(xi * eta / (qs * R))
    if abs(cd) > 1e-8:
        safe_xi = np.where(np.abs(xi) < 1e-12, 1.0, xi)
        I5 = alpha * 2.0 / cd * np.arctan((eta * (X + q * cd) + X * (R + X) * sd) / (safe_xi * (R + X) * cd))
        I5 = np.where(np.abs(xi) < 1e-12, 0.0, I5)
        I4 = alpha / cd * (np.log(R + dt) - sd * lnRe)
        I3 = alpha * (1.0 / cd * yt / (R + dt) - lnRe) + sd / cd * I4
        I2 = alpha * (-lnRe) - I3
        I1 = alpha * (-1.0 / cd * xi / (R + dt)) - sd / cd * I5
    else:
        Rd = R + dt
        I1 = -alpha / 2.0 * xi * q / Rd**2
        I3 = alpha / 2.0 * (eta / Rd + yt * q / Rd**2 - lnRe)
        I2 = alpha * (-lnRe) - I3
        I4 = -alpha * q / Rd
        I5 = -alpha * xi * sd / Rd
    ss = (xi * q / (R * Re) + th + I1 * sd,
          yt * q / (R * Re) + q * cd / Re + I2 * sd,
          dt * q / (R * Re) + q * sd / Re + I4 * sd)
    ds = (q / R - I3 * sd * cd,
          yt * q / (R * Rx) + cd * th - I1 * sd * cd,
          dt * q / (R * Rx) + sd * th - I5 * sd * cd)
    ts = (q * q / (R * Re) - I3 * sd * sd,
          -dt * q / (R * Rx) - sd * (xi * q / (R * Re) - th) - I1 * sd * sd,
          yt * q / (R * Rx) + cd * (xi * q / (R * Re) - th) - I5 * sd * sd)
    return ss, ds, ts


def okada_local(x, y, *, d: float, dip_deg: float, L: float, W: float, U1: float, U2: float, U3: float,
                poisson: float = 0.25):
    """Okada (1985) surface displacement (ux, uy, uz), m, in Okada's own frame (origin at the
    lower-left corner of the fault at depth ``d``; x along strike; y to the left of strike)."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    dip = np.deg2rad(dip_deg)
    sd, cd = np.sin(dip), np.cos(dip)
    if abs(cd) < 1e-12:
        cd = 0.0
    alpha = 1.0 - 2.0 * poisson  # mu / (lambda + mu)
    p = y * cd + d * sd
    q = y * sd - d * cd
    out = [np.zeros_like(x) for _ in range(3)]
    for xi, eta, sign in ((x, p, 1.0), (x, p - W, -1.0), (x - L, p, -1.0), (x - L, p - W, 1.0)):
        ss, ds, ts = _okada_chinnery(xi, eta, q, sd, cd, alpha)
        for k in range(3):
            out[k] += sign * (-U1 * ss[k] - U2 * ds[k] + U3 * ts[k]) / (2.0 * np.pi)
    return tuple(out)


def _fault_frame(x_m, y_m, x0_m, y0_m, strike_deg):
    s = np.deg2rad(strike_deg)
    dx = np.asarray(x_m, np.float64) - x0_m
    dy = np.asarray(y_m, np.float64) - y0_m
    along = dx * np.sin(s) + dy * np.cos(s)
    left = -dx * np.cos(s) + dy * np.sin(s)
    return along, left, s


def okada_enu(x_m, y_m, *, depth_m: float, strike_deg: float, dip_deg: float, rake_deg: float, slip_m: float,
              length_m: float, width_m: float, opening_m: float = 0.0, x0_m: float = 0.0, y0_m: float = 0.0,
              poisson: float = 0.25):
    """(east, north, up) surface displacement (m) of a rectangular fault given by its centroid
    ``(x0, y0, depth)``; see module docstring for the conventions."""
    along, left, s = _fault_frame(x_m, y_m, x0_m, y0_m, strike_deg)
    dip = np.deg2rad(dip_deg)
    xl = along + length_m / 2.0
    yl = left + width_m / 2.0 * np.cos(dip)
    d = depth_m + width_m / 2.0 * np.sin(dip)
    rake = np.deg2rad(rake_deg)
    ux, uy, uz = okada_local(xl, yl, d=d, dip_deg=dip_deg, L=length_m, W=width_m, U1=slip_m * np.cos(rake),
                             U2=slip_m * np.sin(rake), U3=opening_m, poisson=poisson)
    return ux * np.sin(s) - uy * np.cos(s), ux * np.cos(s) + uy * np.sin(s), uz


def okada_point_surface(x, y, *, d: float, dip_deg: float, potency_strike: float = 0.0, potency_dip: float = 0.0,
                        potency_tensile: float = 0.0, poisson: float = 0.25):
    """Okada (1985) point source at (0, 0, -d) in Okada's frame: surface (ux, uy, uz) for strike-,
    dip-slip and tensile potencies (slip x area, m^3). Used to check :func:`okada_local`."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    dip = np.deg2rad(dip_deg)
    sd, cd = np.sin(dip), np.cos(dip)
    a = 1.0 - 2.0 * poisson
    p = y * cd + d * sd
    q = y * sd - d * cd
    R = np.sqrt(x * x + y * y + d * d)
    Rd = R + d
    I1 = a * y * (1.0 / (R * Rd**2) - x * x * (3 * R + d) / (R**3 * Rd**3))
    I2 = a * x * (1.0 / (R * Rd**2) - y * y * (3 * R + d) / (R**3 * Rd**3))
    I3 = a * x / R**3 - I2
    I4 = -a * x * y * (2 * R + d) / (R**3 * Rd**2)
    I5 = a * (1.0 / (R * Rd) - x * x * (2 * R + d) / (R**3 * Rd**2))
    R5 = R**5
    c1 = -potency_strike / (2 * np.pi)
    c2 = -potency_dip / (2 * np.pi)
    c3 = potency_tensile / (2 * np.pi)
    s2 = sd * sd
    ux = (c1 * (3 * x * x * q / R5 + I1 * sd) + c2 * (3 * x * p * q / R5 - I3 * sd * cd)
          + c3 * (3 * x * q * q / R5 - I3 * s2))
    uy = (c1 * (3 * x * y * q / R5 + I2 * sd) + c2 * (3 * y * p * q / R5 - I1 * sd * cd)
          + c3 * (3 * y * q * q / R5 - I1 * s2))
    uz = (c1 * (3 * x * d * q / R5 + I4 * sd) + c2 * (3 * d * p * q / R5 - I5 * sd * cd)
          + c3 * (3 * d * q * q / R5 - I5 * s2))
    return ux, uy, uz


def los_displacement(u_enu, los_unit_enu) -> np.ndarray:
    """LOS displacement (m, positive towards the platform) from (east, north, up) displacement
    components and the ground-to-platform unit vector (..., 3)."""
    los = np.asarray(los_unit_enu, np.float64)
    return u_enu[0] * los[..., 0] + u_enu[1] * los[..., 1] + u_enu[2] * los[..., 2]
