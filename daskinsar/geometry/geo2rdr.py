"""geo2rdr: ground point -> (azimuth time, slant range) of the pixel that sees it.

Solves ``g(t) = v(t) . (x - p(t)) - wavelength * R(t) * f_D(t, R(t)) / 2 = 0`` for the
azimuth time ``t`` (s since the orbit epoch) by Newton's method with the
derivative taken numerically (central difference over 1 ms), vectorised over
points; ``R = |x - p(t)|`` (one-way slant range, m). For a zero-Doppler grid
``f_D = 0``; for a native-Doppler grid pass the grid's Doppler (Hz) as a callable
of (azimuth time, slant range), e.g. a :class:`~daskinsar.scene.LUT2D`.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import GeometryError, OrbitCoverageError
from .orbit import Orbit


def geo2rdr(
    xyz_m,
    orbit: Orbit,
    *,
    wavelength_m: float,
    doppler: Callable | None = None,
    t_guess_s=None,
    tol_s: float = 1e-9,
    max_iter: int = 50,
    check_coverage: bool = True,
):
    """Azimuth time (s since orbit epoch) and slant range (m) of ECEF points ``(..., 3)``.

    Points whose solution falls outside the orbit's state vectors raise
    :class:`~daskinsar.errors.OrbitCoverageError` when ``check_coverage`` is set,
    otherwise they come back as NaN.
    """
    x = np.asarray(xyz_m, dtype=np.float64)
    shape = x.shape[:-1]
    x = x.reshape(-1, 3)
    n = x.shape[0]
    t_lo, t_hi = orbit.start, orbit.stop
    if t_guess_s is None:
        t = np.full(n, 0.5 * (t_lo + t_hi))
    else:
        t = np.broadcast_to(np.asarray(t_guess_s, np.float64), shape).reshape(-1).copy()
    valid = np.all(np.isfinite(x), axis=-1)
    t = np.where(valid, t, 0.5 * (t_lo + t_hi))
    # coarse start: one linear step using the velocity at the guess
    pos, vel = orbit.interpolate(np.clip(t, t_lo, t_hi), check=False)
    t = t + np.einsum("ij,ij->i", vel, x - pos) / np.einsum("ij,ij->i", vel, vel)

    # Newton iterates may step a little beyond the state vectors (polynomial
    # extrapolation); ones that run further than this are outside the orbit
    margin = float(np.median(np.diff(orbit.time)))
    lo_ext, hi_ext = t_lo - margin, t_hi + margin

    def g(tt):
        p, v = orbit.interpolate(np.clip(tt, lo_ext, hi_ext), check=False)
        d = x - p
        r = np.linalg.norm(d, axis=-1)
        val = np.einsum("ij,ij->i", v, d)
        if doppler is not None:
            val = val - 0.5 * wavelength_m * r * np.asarray(doppler(tt, r), np.float64).reshape(-1)
        return val, r

    h = 1e-3
    done = ~valid
    far = (t < lo_ext) | (t > hi_ext)
    done |= far
    for _ in range(max_iter):
        f0, _ = g(t)
        fp, _ = g(t + h)
        fm, _ = g(t - h)
        deriv = (fp - fm) / (2.0 * h)
        with np.errstate(divide="ignore", invalid="ignore"):
            dt = np.where(done, 0.0, f0 / deriv)
        t = t - dt
        done |= np.abs(dt) < tol_s
        far |= ~done & ((t < lo_ext) | (t > hi_ext))
        done |= far
        if np.all(done):
            break
    else:
        if not np.all(done):
            raise GeometryError(f"geo2rdr did not converge for {np.count_nonzero(~done)} of {n} points")
    _, r = g(t)
    outside = valid & ((t < t_lo) | (t > t_hi))
    if np.any(outside):
        if check_coverage:
            raise OrbitCoverageError(
                f"{orbit.source}: orbit covers {t_lo:.3f} .. {t_hi:.3f} s after {orbit.epoch}, but "
                f"{np.count_nonzero(outside)} ground points are seen at {np.min(t[outside]):.3f} .. "
                f"{np.max(t[outside]):.3f} s"
            )
        t = np.where(outside, np.nan, t)
        r = np.where(outside, np.nan, r)
    t = np.where(valid, t, np.nan)
    r = np.where(valid, r, np.nan)
    return t.reshape(shape), r.reshape(shape)
