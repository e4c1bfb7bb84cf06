"""rdr2geo: radar pixel (azimuth time, slant range) + DEM -> ground point.

The target ``x`` (ECEF, m) of a pixel observed at azimuth time ``t`` (s) and
one-way slant range ``R`` (m) from the platform at ``p(t)`` with velocity ``v(t)``
satisfies

1. range:   ``|x - p| = R``
2. Doppler: ``v . (x - p) = wavelength * R * f_D(t, R) / 2`` (``f_D = 0`` on a zero-Doppler grid)
3. surface: ``x`` lies at ellipsoid height ``h = DEM(lon(x), lat(x))``.

Equations 1-3 (with 3 written for an ellipsoid whose axes are inflated by a
height ``h*``) are solved by Newton's method in 3-D; an outer loop updates ``h*``
until the true geodetic height of ``x`` equals the DEM height under it (< 0.1 mm),
damping the update on slopes facing the radar. The first guess comes from a
spherical-Earth triangle on the requested look side. The solve is a compiled
(numba) loop over pixels, each pixel on its own, so a pixel's result never
depends on which other pixels share its block.
"""

from __future__ import annotations

import math
from typing import Callable, Union

import numba
import numpy as np

from ..errors import GeometryError
from .dem_interp import DemRaster, dem_height
from .ellipsoid import A, B, ecef_to_llh_point
from .orbit import Orbit, hermite_state

#: a constant height (m), per-pixel heights (m), or a DEM with a ``raster()`` method
#: (:class:`~daskinsar.geometry.dem.Dem`, in memory)
HeightSource = Union[float, np.ndarray, object]

_NO_DEM = DemRaster.build(np.zeros((1, 1)), 0.0, 1.0, 0.0, 1.0, "bilinear")


def look_sign(look_side: str | int) -> int:
    """+1 for a left-looking sensor, -1 for right-looking (ISCE's lookSide)."""
    if isinstance(look_side, (int, np.integer)):
        return 1 if look_side > 0 else -1
    s = str(look_side).lower()
    if s not in ("left", "right"):
        raise ValueError(f"look_side must be 'left' or 'right', got {look_side!r}")
    return 1 if s == "left" else -1


def height_source(dem: HeightSource, shape: tuple[int, ...]) -> tuple[DemRaster | None, np.ndarray]:
    """(raster or None, per-pixel heights m flattened) for the compiled kernels."""
    if hasattr(dem, "raster"):
        raster = dem.raster()
        # every pixel starts from the DEM's mean height (the same for all pixels, so results
        # do not depend on blocking); saves an iteration or two over starting from 0 m
        return raster, np.full(int(np.prod(shape)), raster.mean_m)
    if callable(dem):
        raise TypeError("dem must be a height in m, an array of heights, or a DEM with a raster() method "
                        f"(a daskinsar.geometry.dem.Dem); got {type(dem).__name__}")
    return None, np.broadcast_to(np.asarray(dem, np.float64), shape).reshape(-1).copy()


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
    together. ``dem`` is a constant height (m), an array of heights, or a DEM with a
    ``raster()`` method (an in-memory :class:`~daskinsar.geometry.dem.Dem`). ``doppler`` is a callable
    ``(azimuth_time_s, slant_range_m) -> Hz`` (None: zero Doppler).
    Returns ``(xyz, lon_deg, lat_deg, hgt_m, sat_pos, sat_vel)``. Pixels whose
    DEM iteration still misses by more than ``accept_m`` after ``max_iter``
    iterations (layover: several ground points at one range) come back as NaN.
    """
    t, rng = np.broadcast_arrays(np.asarray(azimuth_time_s, np.float64), np.asarray(slant_range_m, np.float64))
    shape = t.shape
    t = np.ascontiguousarray(t.reshape(-1))
    rng = np.ascontiguousarray(rng.reshape(-1))
    if t.size:
        orbit.check_coverage(float(np.nanmin(t)), float(np.nanmax(t)), "request")
    fd = np.zeros_like(t) if doppler is None else np.asarray(doppler(t, rng), np.float64).reshape(-1)
    c2 = 0.5 * wavelength_m * rng * fd
    raster, heights = height_source(dem, shape)
    out = np.empty((t.size, 13))
    n_bad = _rdr2geo_many(t, rng, c2, heights, raster if raster is not None else _NO_DEM, raster is not None,
                          *orbit.kernel_args(), look_sign(look_side), tol_m, max_iter, accept_m, out)
    if t.size and n_bad == t.size:
        raise GeometryError(f"rdr2geo did not converge for any of {t.size} pixels; check look side, DEM and orbit")
    check = getattr(dem, "check_coverage", None) if getattr(dem, "strict", False) else None
    if check is not None and t.size:
        lon, lat = out[:, 3], out[:, 4]
        check(float(np.nanmin(lon)), float(np.nanmax(lon)), float(np.nanmin(lat)),
                           float(np.nanmax(lat)), what="request")
    return (out[:, 0:3].reshape(shape + (3,)), out[:, 3].reshape(shape), out[:, 4].reshape(shape),
            out[:, 5].reshape(shape), out[:, 7:10].reshape(shape + (3,)), out[:, 10:13].reshape(shape + (3,)))


@numba.njit(cache=True, nogil=True)
def _rdr2geo_many(t, rng, c2, heights, dem, use_dem, coef, t_ref, time, scale, n_herm, sign, tol_m, max_iter,
                  accept_m, out):  # pragma: no cover - numba
    """Solve every pixel; ``out[i]`` = x, y, z, lon, lat, hgt, misfit, pos (3), vel (3). Returns the
    number of pixels without a solution (NaN)."""
    pos = np.empty(3)
    vel = np.empty(3)
    n_bad = 0
    for i in range(t.shape[0]):
        hermite_state(coef, t_ref, time, scale, n_herm, t[i], pos, vel)
        ok = _solve_pixel(pos, vel, rng[i], c2[i], heights[i], dem, use_dem, sign, tol_m, max_iter, accept_m,
                          out[i])
        if not ok:
            n_bad += 1
        out[i, 7:10] = pos
        out[i, 10:13] = vel
    return n_bad


@numba.njit(cache=True, nogil=True)
def _cross(a0, a1, a2, b0, b1, b2):  # pragma: no cover - numba
    return a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0


@numba.njit(cache=True, nogil=True)
def _solve_pixel(pos, vel, rng, c2, h0, dem, use_dem, sign, tol_m, max_iter, accept_m,
                 res):  # pragma: no cover - numba
    px, py, pz = pos[0], pos[1], pos[2]
    vx, vy, vz = vel[0], vel[1], vel[2]
    # first guess: spherical triangle, sphere radius = local geocentric radius + height
    rs = math.sqrt(px * px + py * py + pz * pz)
    vn = math.sqrt(vx * vx + vy * vy + vz * vz)
    n0, n1, n2 = -px / rs, -py / rs, -pz / rs
    c0, c1, c2_ = _cross(vx / vn, vy / vn, vz / vn, n0, n1, n2)
    cn = math.sqrt(c0 * c0 + c1 * c1 + c2_ * c2_)
    c0, c1, c2_ = c0 / cn, c1 / cn, c2_ / cn
    t0, t1, t2 = _cross(n0, n1, n2, c0, c1, c2_)
    lat_c = math.asin(-n2)
    r_local = A * B / math.sqrt((B * math.cos(lat_c)) ** 2 + (A * math.sin(lat_c)) ** 2)
    h_target = h0  # the DEM case: the first guess only (the DEM's mean height)
    h_star = h0
    rt = r_local + h_star
    cos_th = min(max((rs * rs + rng * rng - rt * rt) / (2.0 * rs * rng), -1.0), 1.0)
    sin_th = math.sqrt(1.0 - cos_th * cos_th)
    along = min(max(c2 / (rng * vn), -0.5), 0.5)
    cr = sign * sin_th * math.sqrt(max(1.0 - along * along, 0.0))
    xx = px + rng * (cos_th * n0 + cr * c0 + along * t0)
    xy = py + rng * (cos_th * n1 + cr * c1 + along * t1)
    xz = pz + rng * (cos_th * n2 + cr * c2_ + along * t2)
    dh = dh_prev = h_prev = 0.0
    lon = lat = hgt = np.nan
    for it in range(max_iter):
        xx, xy, xz = _newton_surface(xx, xy, xz, px, py, pz, vx, vy, vz, rng, c2, h_star)
        lon, lat, hgt = ecef_to_llh_point(xx, xy, xz)
        if use_dem:
            ht = dem_height(dem, lon, lat)
            h_target = ht if np.isfinite(ht) else hgt
        dh = h_target - hgt
        if abs(dh) < tol_m:
            break
        # The misfit dh(h*) has slope -1 on flat ground (the plain update h* += dh is then
        # exact) and s - 1 where the terrain rises by s metres per metre of h* along the
        # range circle. A secant estimate of that slope converges in a few steps; where it
        # is implausible (near layover) fall back to the plain update, damped progressively
        # on slopes facing the radar, where it overshoots and can cycle (as ISCE does).
        step = (1.0 if it < 10 else (0.5 if it < 25 else 0.25)) * dh
        if it > 0 and it < 10 and h_star != h_prev:
            slope = (dh - dh_prev) / (h_star - h_prev)
            if -20.0 < slope < -0.1:
                step = -dh / slope
        dh_prev = dh
        h_prev = h_star
        h_star += step
    res[6] = dh
    if abs(dh) >= tol_m and abs(dh) > accept_m:
        # layover (more than one ground point at this range): no solution
        res[0:6] = np.nan
        return False
    res[0] = xx
    res[1] = xy
    res[2] = xz
    res[3] = lon
    res[4] = lat
    res[5] = hgt
    return True


@numba.njit(cache=True, nogil=True)
def _newton_surface(xx, xy, xz, px, py, pz, vx, vy, vz, rng, c2, h_star, max_iter=20,
                    tol_m=1e-8):  # pragma: no cover - numba
    """Newton iterations from ``x`` for range, Doppler and the inflated-ellipsoid surface
    ``(x^2 + y^2)/(A+h*)^2 + z^2/(B+h*)^2 = 1``; 3x3 steps by Cramer's rule. Returns x (m)."""
    a2 = (A + h_star) ** 2
    b2 = (B + h_star) ** 2
    for _ in range(max_iter):
        dx, dy, dz = xx - px, xy - py, xz - pz
        f0 = dx * dx + dy * dy + dz * dz - rng * rng
        f1 = vx * dx + vy * dy + vz * dz - c2
        f2 = (xx * xx + xy * xy) / a2 + xz * xz / b2 - 1.0
        # Jacobian rows: 2d, v, grad(surface)
        g0, g1, g2 = 2.0 * xx / a2, 2.0 * xy / a2, 2.0 * xz / b2
        c12 = _cross(vx, vy, vz, g0, g1, g2)
        c20 = _cross(g0, g1, g2, 2.0 * dx, 2.0 * dy, 2.0 * dz)
        c01 = _cross(2.0 * dx, 2.0 * dy, 2.0 * dz, vx, vy, vz)
        det = 2.0 * (dx * c12[0] + dy * c12[1] + dz * c12[2])
        s0 = (f0 * c12[0] + f1 * c20[0] + f2 * c01[0]) / det
        s1 = (f0 * c12[1] + f1 * c20[1] + f2 * c01[1]) / det
        s2 = (f0 * c12[2] + f1 * c20[2] + f2 * c01[2]) / det
        xx -= s0
        xy -= s1
        xz -= s2
        if s0 * s0 + s1 * s1 + s2 * s2 < tol_m * tol_m:
            break
    return xx, xy, xz


def rdr2geo(azimuth_time_s, slant_range_m, orbit: Orbit, *, wavelength_m: float, look_side: str | int,
            dem: HeightSource = 0.0, doppler: Callable | None = None):
    """Longitude (deg), latitude (deg) and ellipsoid height (m) of radar pixels.

    See :func:`rdr2geo_ecef` for the arguments and the method.
    """
    _, lon, lat, hgt, _, _ = rdr2geo_ecef(azimuth_time_s, slant_range_m, orbit, wavelength_m=wavelength_m,
                                          look_side=look_side, dem=dem, doppler=doppler)
    return lon, lat, hgt
