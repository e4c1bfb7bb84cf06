"""rdr2geo: radar pixel (azimuth time, slant range) + DEM -> ground point.

The target ``x`` (ECEF, m) of a pixel observed at azimuth time ``t`` (s) and
one-way slant range ``R`` (m) from the platform at ``p(t)`` with velocity ``v(t)``
satisfies

1. range:   ``|x - p| = R``
2. Doppler: ``v . (x - p) = wavelength * R * f_D(t, R) / 2`` (``f_D = 0`` on a zero-Doppler grid)
3. surface: ``x`` lies at ellipsoid height ``h = DEM(lon(x), lat(x))``.

Equations 1-3 (with 3 written for an ellipsoid whose axes are inflated by a
height ``h*``) are solved by Newton's method in 3-D, vectorised over all pixels;
an outer loop updates ``h*`` until the true geodetic height of ``x`` equals the
DEM height under it (< 1 mm). The first guess comes from a spherical-Earth
triangle on the requested look side.
"""

from __future__ import annotations

from typing import Callable, Union

import numpy as np

from ..errors import GeometryError
from .ellipsoid import A, B, ecef_to_llh
from .orbit import Orbit

HeightSource = Union[float, np.ndarray, Callable[[np.ndarray, np.ndarray], np.ndarray]]


def look_sign(look_side: str | int) -> int:
    """+1 for a left-looking sensor, -1 for right-looking (ISCE's lookSide)."""
    if isinstance(look_side, (int, np.integer)):
        return 1 if look_side > 0 else -1
    s = str(look_side).lower()
    if s not in ("left", "right"):
        raise ValueError(f"look_side must be 'left' or 'right', got {look_side!r}")
    return 1 if s == "left" else -1


def _dem_height(dem: HeightSource, lon, lat):
    if callable(dem):
        return np.asarray(dem(lon, lat), dtype=np.float64)
    return np.broadcast_to(np.asarray(dem, dtype=np.float64), np.shape(lon))


def rdr2geo_ecef(
    azimuth_time_s,
    slant_range_m,
    orbit: Orbit,
    *,
    wavelength_m: float,
    look_side: str | int,
    dem: HeightSource = 0.0,
    doppler: Callable | None = None,
    tol_m: float = 1e-4,
    max_iter: int = 50,
    accept_m: float = 0.01,
):
    """Ground points (ECEF m, shape ``(..., 3)``) of radar pixels; see module docstring.

    ``azimuth_time_s`` (s since the orbit epoch) and ``slant_range_m`` broadcast
    together. ``dem`` is a constant height (m), an array of heights, or a callable
    ``(lon_deg, lat_deg) -> height m``. ``doppler`` is a callable
    ``(azimuth_time_s, slant_range_m) -> Hz`` (None: zero Doppler).
    Returns ``(xyz, lon_deg, lat_deg, hgt_m, sat_pos, sat_vel)``. Pixels whose
    DEM iteration still misses by more than ``accept_m`` after ``max_iter``
    iterations (layover: several ground points at one range) come back as NaN.
    """
    t, rng = np.broadcast_arrays(np.asarray(azimuth_time_s, np.float64), np.asarray(slant_range_m, np.float64))
    shape = t.shape
    t = t.reshape(-1)
    rng = rng.reshape(-1)
    pos, vel = orbit.interpolate(t)
    fd = np.zeros_like(t) if doppler is None else np.asarray(doppler(t, rng), np.float64).reshape(-1)
    c2 = 0.5 * wavelength_m * rng * fd
    sign = look_sign(look_side)

    # first guess: spherical triangle, sphere radius = local geocentric radius + mean height
    h_target = np.zeros_like(t)
    if not callable(dem):
        h_target = np.broadcast_to(np.asarray(dem, np.float64), shape).reshape(-1).copy()
    rs = np.linalg.norm(pos, axis=-1)
    nhat = -pos / rs[:, None]
    vhat = vel / np.linalg.norm(vel, axis=-1)[:, None]
    chat = np.cross(vhat, nhat)
    chat /= np.linalg.norm(chat, axis=-1)[:, None]
    that = np.cross(nhat, chat)
    lat_c = np.arcsin(-nhat[:, 2])
    r_local = A * B / np.sqrt((B * np.cos(lat_c)) ** 2 + (A * np.sin(lat_c)) ** 2)

    def first_guess(h):
        rt = r_local + h
        cos_th = np.clip((rs**2 + rng**2 - rt**2) / (2.0 * rs * rng), -1.0, 1.0)
        sin_th = np.sqrt(1.0 - cos_th**2)
        along = c2 / (rng * np.linalg.norm(vel, axis=-1))
        along = np.clip(along, -0.5, 0.5)
        cross = sin_th * np.sqrt(np.maximum(1.0 - along**2, 0.0))
        d = cos_th[:, None] * nhat + sign * cross[:, None] * chat + along[:, None] * that
        return pos + rng[:, None] * d

    # Each pixel iterates on its own (converged pixels are frozen), so a pixel's
    # result does not depend on which other pixels share its block.
    h_star = h_target.copy()
    x = first_guess(h_star)
    lon, lat, hgt = ecef_to_llh(x)
    active = np.arange(t.size)
    dh = np.zeros(0)
    for it in range(max_iter):
        xa = _newton_surface(x[active], pos[active], vel[active], rng[active], c2[active], h_star[active])
        lo, la, hg = ecef_to_llh(xa)
        x[active], lon[active], lat[active], hgt[active] = xa, lo, la, hg
        if callable(dem):
            ht = _dem_height(dem, lo, la)
            h_target[active] = np.where(np.isfinite(ht), ht, hg)
        dh = h_target[active] - hg
        ok = np.abs(dh) < tol_m
        # on slopes facing the radar the plain update overshoots and can cycle: damp it
        # progressively (ISCE does the same after its first iterations)
        relax = 1.0 if it < 10 else (0.5 if it < 25 else 0.25)
        h_star[active] += np.where(ok, 0.0, relax * dh)
        active = active[~ok]
        dh = dh[~ok]
        if active.size == 0:
            break
    if active.size:
        # what is left sits in layover (more than one ground point at this range):
        # accept millimetre misfits, mark the rest as having no solution
        bad = active[np.abs(dh) > accept_m]
        if bad.size == t.size:
            raise GeometryError(f"rdr2geo did not converge for any of {t.size} pixels "
                                f"(max height misfit {np.max(np.abs(dh)):.3g} m); check look side, DEM and orbit")
        x[bad] = np.nan
        lon[bad] = lat[bad] = hgt[bad] = np.nan
    return (x.reshape(shape + (3,)), lon.reshape(shape), lat.reshape(shape), hgt.reshape(shape),
            pos.reshape(shape + (3,)), vel.reshape(shape + (3,)))


def _newton_surface(x, pos, vel, rng, c2, h_star, n_iter: int = 8):
    """Newton iterations for range, Doppler and the inflated-ellipsoid surface.

    A fixed number of iterations for every point (quadratic convergence makes
    8 ample from the first guess), so results are independent of batching."""
    a2 = (A + h_star) ** 2
    b2 = (B + h_star) ** 2
    for _ in range(n_iter):
        d = x - pos
        f = np.stack([
            np.einsum("ij,ij->i", d, d) - rng**2,
            np.einsum("ij,ij->i", vel, d) - c2,
            (x[:, 0] ** 2 + x[:, 1] ** 2) / a2 + x[:, 2] ** 2 / b2 - 1.0,
        ], axis=-1)
        # closed-form 3x3 solve (Cramer's rule), much faster than batched np.linalg.solve
        r0 = 2.0 * d
        r1 = vel
        r2 = np.stack([2.0 * x[:, 0] / a2, 2.0 * x[:, 1] / a2, 2.0 * x[:, 2] / b2], axis=-1)
        c12 = np.cross(r1, r2)
        c20 = np.cross(r2, r0)
        c01 = np.cross(r0, r1)
        det = np.einsum("ij,ij->i", r0, c12)
        step = (f[:, 0:1] * c12 + f[:, 1:2] * c20 + f[:, 2:3] * c01) / det[:, None]
        x = x - step
    return x


def rdr2geo(azimuth_time_s, slant_range_m, orbit: Orbit, *, wavelength_m: float, look_side: str | int,
            dem: HeightSource = 0.0, doppler: Callable | None = None):
    """Longitude (deg), latitude (deg) and ellipsoid height (m) of radar pixels.

    See :func:`rdr2geo_ecef` for the arguments and the method.
    """
    _, lon, lat, hgt, _, _ = rdr2geo_ecef(azimuth_time_s, slant_range_m, orbit, wavelength_m=wavelength_m,
                                          look_side=look_side, dem=dem, doppler=doppler)
    return lon, lat, hgt
