"""geo2rdr: ground point -> (azimuth time, slant range) of the pixel that sees it.

Solves ``g(t) = v(t) . (x - p(t)) - wavelength * R(t) * f_D(t, R(t)) / 2 = 0`` for the
azimuth time ``t`` (s since the orbit epoch) by Newton's method with the
derivative taken numerically once (central difference over 2 ms; chord steps after), a compiled (numba)
loop over points; ``R = |x - p(t)|`` (one-way slant range, m). For a zero-Doppler
grid ``f_D = 0``; for a native-Doppler grid pass the grid's Doppler (Hz) as a
:class:`~daskinsar.scene.Poly1D` or :class:`~daskinsar.scene.LUT2D` of (azimuth
time, slant range).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from ..errors import GeometryError, OrbitCoverageError
from .ellipsoid import SPEED_OF_LIGHT
from .orbit import Orbit, hermite_state


class DopplerModel(NamedTuple):
    """A Doppler centroid model (Hz) as compiled kernels take it.

    ``kind`` 0: zero Doppler; 1: polynomial ``sum_k coeffs[k] ((x - reference)/scale)^k`` with
    ``x`` the slant range (m) or, with ``range_time``, the two-way range time (s);
    2: a table on (azimuth time s, slant range m) nodes, bilinear, constant beyond the edges.
    """

    kind: int
    reference: float
    scale: float
    coeffs: np.ndarray
    range_time: bool
    azimuth_time: np.ndarray
    slant_range: np.ndarray
    values: np.ndarray


_EMPTY = np.zeros(1)


def doppler_model(doppler) -> DopplerModel:
    """:class:`DopplerModel` of None (zero Doppler), a Poly1D or a LUT2D."""
    kind = getattr(doppler, "kind", None)
    if doppler is None:
        return DopplerModel(0, 0.0, 1.0, _EMPTY, False, _EMPTY, _EMPTY, np.zeros((1, 1)))
    if kind == "poly1d":
        return DopplerModel(1, float(doppler.reference), float(doppler.scale),
                            np.asarray(doppler.coeffs, np.float64).reshape(-1), doppler.variable == "range_time",
                            _EMPTY, _EMPTY, np.zeros((1, 1)))
    if kind == "lut2d":
        v = np.asarray(doppler.values, np.float64)
        return DopplerModel(2, 0.0, 1.0, _EMPTY, False, np.asarray(doppler.azimuth_time, np.float64).reshape(-1),
                            np.asarray(doppler.slant_range, np.float64).reshape(-1),
                            v.reshape(len(doppler.azimuth_time), len(doppler.slant_range)))
    raise TypeError(f"doppler must be None, a Poly1D or a LUT2D; got {type(doppler).__name__}")


@numba.njit(cache=True, nogil=True)
def _node_position(nodes, x):  # pragma: no cover - numba
    """(lower node index, fraction) of x among increasing nodes, clamped to the ends."""
    n = nodes.shape[0]
    if n < 2:
        return 0, 0.0
    if x <= nodes[0]:
        return 0, 0.0
    if x >= nodes[n - 1]:
        return n - 2, 1.0
    k = min(max(np.searchsorted(nodes, x, side="right") - 1, 0), n - 2)
    return k, (x - nodes[k]) / (nodes[k + 1] - nodes[k])


@numba.njit(cache=True, nogil=True)
def doppler_hz(model, t, r):  # pragma: no cover - numba
    """Doppler centroid (Hz) of a :class:`DopplerModel` at azimuth time t (s), slant range r (m)."""
    if model.kind == 0:
        return 0.0
    if model.kind == 1:
        x = 2.0 * r / SPEED_OF_LIGHT if model.range_time else r
        u = (x - model.reference) / model.scale
        out = 0.0
        for k in range(model.coeffs.shape[0] - 1, -1, -1):
            out = out * u + model.coeffs[k]
        return out
    v = model.values
    i, ft = _node_position(model.azimuth_time, t)
    j, fr = _node_position(model.slant_range, r)
    i1 = min(i + 1, v.shape[0] - 1)
    j1 = min(j + 1, v.shape[1] - 1)
    return (v[i, j] * (1 - ft) * (1 - fr) + v[i1, j] * ft * (1 - fr)
            + v[i, j1] * (1 - ft) * fr + v[i1, j1] * ft * fr)


def geo2rdr(
    xyz_m,
    orbit: Orbit,
    *,
    wavelength_m: float,
    doppler=None,
    t_guess_s=None,
    tol_s: float = 1e-9,
    max_iter: int = 50,
    check_coverage: bool = True,
):
    """Azimuth time (s since orbit epoch) and slant range (m) of ECEF points ``(..., 3)``.

    ``doppler``: None (zero-Doppler grid), a Poly1D or a LUT2D (Hz). Points whose
    solution falls outside the orbit's state vectors raise
    :class:`~daskinsar.errors.OrbitCoverageError` when ``check_coverage`` is set,
    otherwise they come back as NaN; non-finite points give NaN.
    """
    x = np.asarray(xyz_m, dtype=np.float64)
    shape = x.shape[:-1]
    x = np.ascontiguousarray(x.reshape(-1, 3))
    n = x.shape[0]
    t_lo, t_hi = orbit.start, orbit.stop
    if t_guess_s is None:
        guess = np.full(n, 0.5 * (t_lo + t_hi))
    else:
        guess = np.ascontiguousarray(np.broadcast_to(np.asarray(t_guess_s, np.float64), shape).reshape(-1))
    # Newton iterates may step a little beyond the state vectors (polynomial
    # extrapolation); ones that run further than this are outside the orbit
    margin = float(np.median(np.diff(orbit.time)))
    t = np.empty(n)
    r = np.empty(n)
    status = np.empty(n, np.int8)
    _geo2rdr_many(x, guess, *orbit.kernel_args(), t_lo, t_hi, margin, float(wavelength_m), doppler_model(doppler),
                  tol_s, max_iter, t, r, status)
    if np.any(status == _NO_CONVERGENCE):
        raise GeometryError(f"geo2rdr did not converge for {np.count_nonzero(status == _NO_CONVERGENCE)} of {n} "
                            f"points")
    outside = status == _OUTSIDE
    if np.any(outside) and check_coverage:
        raise OrbitCoverageError(
            f"{orbit.source}: orbit covers {t_lo:.3f} .. {t_hi:.3f} s after {orbit.epoch}, but "
            f"{np.count_nonzero(outside)} ground points are seen at {np.nanmin(t[outside]):.3f} .. "
            f"{np.nanmax(t[outside]):.3f} s"
        )
    bad = status != _OK
    t[bad] = np.nan
    r[bad] = np.nan
    return t.reshape(shape), r.reshape(shape)


_OK, _OUTSIDE, _NO_CONVERGENCE, _INVALID = 0, 1, 2, 3


@numba.njit(cache=True, nogil=True)
def _range_doppler(x, t, coef, t_ref, time, scale, n_herm, lo_ext, hi_ext, wavelength_m, dop, pos,
                   vel):  # pragma: no cover - numba
    """(Doppler-equation residual m^2/s, slant range m) of ground point x seen at time t."""
    hermite_state(coef, t_ref, time, scale, n_herm, min(max(t, lo_ext), hi_ext), pos, vel)
    d0, d1, d2 = x[0] - pos[0], x[1] - pos[1], x[2] - pos[2]
    r = math.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
    val = vel[0] * d0 + vel[1] * d1 + vel[2] * d2
    if dop.kind != 0:
        val -= 0.5 * wavelength_m * r * doppler_hz(dop, t, r)
    return val, r


@numba.njit(cache=True, nogil=True)
def _geo2rdr_many(x, guess, coef, t_ref, time, scale, n_herm, t_lo, t_hi, margin, wavelength_m, dop, tol_s,
                  max_iter, t_out, r_out, status):  # pragma: no cover - numba
    pos = np.empty(3)
    vel = np.empty(3)
    lo_ext, hi_ext = t_lo - margin, t_hi + margin
    h = 1e-3
    for i in range(x.shape[0]):
        xi = x[i]
        if not (np.isfinite(xi[0]) and np.isfinite(xi[1]) and np.isfinite(xi[2])):
            t_out[i] = r_out[i] = np.nan
            status[i] = _INVALID
            continue
        t = guess[i] if np.isfinite(guess[i]) else 0.5 * (t_lo + t_hi)
        # coarse start: one linear step using the velocity at the guess
        hermite_state(coef, t_ref, time, scale, n_herm, min(max(t, t_lo), t_hi), pos, vel)
        t += ((vel[0] * (xi[0] - pos[0]) + vel[1] * (xi[1] - pos[1]) + vel[2] * (xi[2] - pos[2]))
              / (vel[0] ** 2 + vel[1] ** 2 + vel[2] ** 2))
        st = _NO_CONVERGENCE
        if t < lo_ext or t > hi_ext:
            st = _OUTSIDE
        else:
            # chord method: the derivative (central difference over 2 ms) is taken once; it changes by
            # ~1e-5 relative over the remaining search, so each further step gains ~5 digits for one
            # evaluation instead of three
            deriv = 0.0
            for it in range(max_iter):
                f0, _r = _range_doppler(xi, t, coef, t_ref, time, scale, n_herm, lo_ext, hi_ext, wavelength_m, dop,
                                        pos, vel)
                if it == 0:
                    fp, _r = _range_doppler(xi, t + h, coef, t_ref, time, scale, n_herm, lo_ext, hi_ext,
                                            wavelength_m, dop, pos, vel)
                    fm, _r = _range_doppler(xi, t - h, coef, t_ref, time, scale, n_herm, lo_ext, hi_ext,
                                            wavelength_m, dop, pos, vel)
                    deriv = (fp - fm) / (2.0 * h)
                dt = f0 / deriv
                t -= dt
                if abs(dt) < tol_s:
                    st = _OK
                    break
                if t < lo_ext or t > hi_ext:
                    st = _OUTSIDE
                    break
        _f, r = _range_doppler(xi, t, coef, t_ref, time, scale, n_herm, lo_ext, hi_ext, wavelength_m, dop, pos, vel)
        if st == _OK and (t < t_lo or t > t_hi):
            st = _OUTSIDE
        t_out[i] = t
        r_out[i] = r
        status[i] = st
