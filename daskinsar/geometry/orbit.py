"""Orbit state vectors and their Hermite interpolation.

Times are float64 seconds since the orbit's ``epoch`` (an ISO-8601 UTC string,
shared with the scene's ``azimuth_time`` coordinate). Positions are ECEF metres,
velocities ECEF m/s.

Interpolation follows ISCE's choice: a Hermite polynomial through the ``n``
nearest state vectors (positions *and* velocities, degree ``2n-1``; ``n = 4`` by
default), which reproduces a 10-s Sentinel-1 orbit to millimetres.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numba
import numpy as np

from ..errors import OrbitCoverageError


@dataclass(frozen=True)
class Orbit:
    """Orbit state vectors.

    Attributes
    ----------
    epoch : ISO-8601 UTC string; ``time`` counts seconds from it.
    time : (N,) float64 seconds since ``epoch``, strictly increasing.
    position : (N, 3) ECEF m.
    velocity : (N, 3) ECEF m/s.
    """

    epoch: str
    time: np.ndarray
    position: np.ndarray
    velocity: np.ndarray
    n_hermite: int = 4
    source: str = "orbit"

    def __post_init__(self):
        t = np.asarray(self.time, dtype=np.float64)
        p = np.asarray(self.position, dtype=np.float64).reshape(-1, 3)
        v = np.asarray(self.velocity, dtype=np.float64).reshape(-1, 3)
        if not (len(t) == len(p) == len(v)):
            raise ValueError(f"{self.source}: orbit arrays differ in length ({len(t)}, {len(p)}, {len(v)})")
        if len(t) < 2:
            raise ValueError(f"{self.source}: an orbit needs at least 2 state vectors, got {len(t)}")
        if not (np.all(np.isfinite(t)) and np.all(np.isfinite(p)) and np.all(np.isfinite(v))):
            raise ValueError(f"{self.source}: orbit state vectors contain non-finite values")
        if np.any(np.diff(t) <= 0):
            # never reordered: unsorted or repeated times with other vectors are refused; exact
            # repeats of a state vector are dropped, said aloud
            same = (np.diff(t) == 0) & np.all(p[1:] == p[:-1], axis=1) & np.all(v[1:] == v[:-1], axis=1)
            bad = (np.diff(t) <= 0) & ~same
            if np.any(bad):
                i = int(np.argmax(bad))
                raise ValueError(f"{self.source}: orbit state vector times must increase strictly: vector {i + 1} "
                                 f"at {float(t[i + 1])!r} s follows {float(t[i])!r} s"
                                 + (" with another position or velocity" if t[i + 1] == t[i] else ""))
            keep = np.concatenate([[True], ~same])
            warnings.warn(f"{self.source}: {int(np.count_nonzero(same))} repeated orbit state vectors dropped",
                          stacklevel=3)
            t, p, v = t[keep], p[keep], v[keep]
            if len(t) < 2:
                raise ValueError(f"{self.source}: an orbit needs at least 2 distinct state vectors, got {len(t)}")
        object.__setattr__(self, "time", t)
        object.__setattr__(self, "position", p)
        object.__setattr__(self, "velocity", v)

    # ------------------------------------------------------------------
    @property
    def start(self) -> float:
        return float(self.time[0])

    @property
    def stop(self) -> float:
        return float(self.time[-1])

    def check_coverage(self, t_min: float, t_max: float, what: str = "scene") -> None:
        """Raise :class:`OrbitCoverageError` unless [t_min, t_max] lies within the state vectors."""
        if t_min < self.time[0] or t_max > self.time[-1]:
            raise OrbitCoverageError(
                f"{self.source}: orbit covers {self.time[0]:.3f} .. {self.time[-1]:.3f} s "
                f"after {self.epoch}, but the {what} needs {t_min:.3f} .. {t_max:.3f} s"
            )

    def _hermite_coefficients(self) -> tuple[np.ndarray, np.ndarray, float]:
        """Per-window polynomial coefficients of the Hermite interpolant.

        Window ``w`` covers state vectors ``w .. w+n-1``; on it, position is
        ``sum_k C[w, k] * u**k`` with ``u = (t - t_ref[w]) / scale`` (degree 2n-1),
        found by solving the confluent Vandermonde system that matches the n
        positions and n velocities. Cached on the instance.
        """
        cached = self.__dict__.get("_coef_cache")
        if cached is not None:
            return cached
        n = min(self.n_hermite, len(self.time))
        n_win = len(self.time) - n + 1
        deg = 2 * n
        scale = float(np.median(np.diff(self.time))) if len(self.time) > 1 else 1.0
        t_ref = np.empty(n_win)
        coef = np.empty((n_win, deg, 3))
        k = np.arange(deg)
        for w in range(n_win):
            tn = self.time[w : w + n]
            t_ref[w] = 0.5 * (tn[0] + tn[-1])
            u = (tn - t_ref[w]) / scale
            V = np.vstack([u[:, None] ** k, np.where(k > 0, k * u[:, None] ** np.maximum(k - 1, 0), 0.0)])
            rhs = np.vstack([self.position[w : w + n], self.velocity[w : w + n] * scale])
            coef[w] = np.linalg.solve(V, rhs)
        cached = (coef, t_ref, scale)
        object.__setattr__(self, "_coef_cache", cached)
        return cached

    def interpolate(self, t, *, check: bool = True):
        """Position (m) and velocity (m/s), each of shape ``t.shape + (3,)``, at times ``t`` (s).

        Hermite interpolation over the ``n_hermite`` state vectors nearest to ``t``
        (positions and velocities matched; degree ``2n - 1``).
        """
        t = np.asarray(t, dtype=np.float64)
        flat = t.reshape(-1)
        if check and flat.size:
            self.check_coverage(float(np.nanmin(flat)), float(np.nanmax(flat)), "request")
        pos = np.empty((flat.size, 3))
        vel = np.empty((flat.size, 3))
        _interpolate_many(*self.kernel_args(), flat, pos, vel)
        shape = t.shape + (3,)
        return pos.reshape(shape), vel.reshape(shape)

    def kernel_args(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, int]:
        """``(coef, t_ref, time, scale, n)``: the orbit as compiled kernels take it
        (see :func:`hermite_state`)."""
        coef, t_ref, scale = self._hermite_coefficients()
        return coef, t_ref, self.time, scale, min(self.n_hermite, len(self.time))

    def crop(self, t_min: float, t_max: float, margin: int = 4) -> "Orbit":
        """The state vectors needed for [t_min, t_max] plus ``margin`` on each side."""
        i0 = max(int(np.searchsorted(self.time, t_min)) - margin, 0)
        i1 = min(int(np.searchsorted(self.time, t_max)) + margin, len(self.time))
        return Orbit(self.epoch, self.time[i0:i1], self.position[i0:i1], self.velocity[i0:i1],
                     self.n_hermite, self.source)

    def shift_epoch(self, new_epoch: str) -> "Orbit":
        """The same orbit with times counted from ``new_epoch``."""
        dt = seconds_between(self.epoch, new_epoch)
        return Orbit(new_epoch, self.time - dt, self.position, self.velocity, self.n_hermite, self.source)


def parse_utc(s: str) -> np.datetime64:
    """An ISO-8601 UTC string (with or without 'Z' / '+00:00') as numpy datetime64[ns]."""
    s = str(s).strip().replace("Z", "")
    if s.endswith("+00:00"):
        s = s[:-6]
    return np.datetime64(s, "ns")


def seconds_between(epoch_a: str, epoch_b: str) -> float:
    """Seconds from ``epoch_a`` to ``epoch_b`` (positive if b is later)."""
    return float((parse_utc(epoch_b) - parse_utc(epoch_a)) / np.timedelta64(1, "ns")) * 1e-9


def format_utc(t: np.datetime64) -> str:
    """numpy datetime64 as an ISO-8601 UTC string with nanoseconds."""
    return str(np.asarray(t).astype("datetime64[ns]"))


@numba.njit(cache=True, nogil=True)
def hermite_state(coef, t_ref, time, scale, n, t, pos, vel):  # pragma: no cover - numba
    """Position (m) and velocity (m/s) at time ``t`` (s) into ``pos``, ``vel`` (length 3).

    The Hermite window is the one whose ``n`` state vectors have ``t`` in the middle
    (``coef``, ``t_ref``, ``scale`` from :meth:`Orbit._hermite_coefficients`);
    no coverage check (callers clip or check first).
    """
    n_win = t_ref.shape[0]
    w = np.searchsorted(time, t, side="right") - n // 2
    w = min(max(w, 0), n_win - 1)
    u = (t - t_ref[w]) / scale
    deg = coef.shape[1]
    for k in range(3):
        p = coef[w, deg - 1, k]
        dp = 0.0
        for m in range(deg - 2, -1, -1):
            dp = dp * u + p
            p = p * u + coef[w, m, k]
        pos[k] = p
        vel[k] = dp / scale


@numba.njit(cache=True, nogil=True)
def _interpolate_many(coef, t_ref, time, scale, n, t, pos, vel):  # pragma: no cover - numba
    for i in range(t.shape[0]):
        hermite_state(coef, t_ref, time, scale, n, t[i], pos[i], vel[i])
