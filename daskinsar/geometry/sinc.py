"""The one Kaiser-windowed sinc interpolation table (focusing's RCMC, resampling, the simulator).

``kaiser_sinc_table(n_taps, steps, beta)[k, m]`` is the weight of sample
``floor(x) - n_taps/2 + 1 + m`` for a position ``x`` whose fractional part is
``k / steps``: ``sinc(d) * I0(beta * sqrt(1 - (d / (n_taps/2))^2)) / I0(beta)`` with
``d = frac - (m - n_taps/2 + 1)`` the distance in samples, each row normalised to unit
sum (unit gain at DC). Float64; callers that want float32 cast it.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["kaiser_sinc_table"]


@functools.lru_cache(maxsize=16)
def _cached(n_taps: int, steps: int, beta: float) -> np.ndarray:
    frac = np.arange(steps + 1)[:, None] / steps
    d = frac - (np.arange(n_taps)[None, :] - n_taps // 2 + 1)
    arg = np.clip(1.0 - (d / (n_taps / 2.0)) ** 2, 0.0, 1.0)
    w = np.sinc(d) * np.i0(beta * np.sqrt(arg)) / np.i0(beta)
    table = w / w.sum(axis=1, keepdims=True)
    table.setflags(write=False)
    return table


def kaiser_sinc_table(n_taps: int, steps: int = 2048, beta: float = 6.0) -> np.ndarray:
    """Read-only ``(steps + 1, n_taps)`` float64 table (see the module docstring); cached per setting."""
    if n_taps < 2 or n_taps % 2:
        raise ValueError(f"n_taps must be even and >= 2, got {n_taps}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    return _cached(int(n_taps), int(steps), float(beta))
