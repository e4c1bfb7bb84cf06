"""Compiled phasor helpers shared by block kernels."""

from __future__ import annotations

import math

import numba


@numba.njit(cache=True, nogil=True, fastmath=True, inline="always")
def cis(angle):  # pragma: no cover - numba
    """(cos, sin) of ``angle`` (rad, float64), |error| < 1e-9 for |angle| < 1e6 rad: reduction to
    [-pi, pi], Taylor series of the half angle in [-pi/2, pi/2], one double-angle step. Several
    times cheaper than libm's cos and sin of large arguments, and inlined into the caller's loop."""
    u = 0.5 * (angle - 2.0 * math.pi * math.floor(angle / (2.0 * math.pi) + 0.5))
    u2 = u * u
    sh = u * (1.0 + u2 * (-1.0 / 6 + u2 * (1.0 / 120 + u2 * (-1.0 / 5040 + u2 * (1.0 / 362880 + u2 * (
        -1.0 / 39916800 + u2 * (1.0 / 6227020800)))))))
    ch = 1.0 + u2 * (-0.5 + u2 * (1.0 / 24 + u2 * (-1.0 / 720 + u2 * (1.0 / 40320 + u2 * (
        -1.0 / 3628800 + u2 * (1.0 / 479001600 + u2 * (-1.0 / 87178291200)))))))
    return ch * ch - sh * sh, 2.0 * sh * ch
