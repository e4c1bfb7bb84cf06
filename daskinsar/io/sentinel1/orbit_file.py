"""Sentinel-1 precise (POEORB) and restituted (RESORB) orbit files (``*.EOF``, Earth Explorer XML)."""

from __future__ import annotations

import os

import numpy as np

from ...errors import InputFileError
from ...geometry.orbit import Orbit, parse_utc
from ._xml import PARSE_ERRORS, fromstring, text

__all__ = ["read_eof", "orbit_covering"]


def read_eof(path: str | os.PathLike, *, epoch: str | None = None, t_start: str | None = None,
             t_stop: str | None = None, margin_s: float = 60.0) -> Orbit:
    """Read a Sentinel-1 precise (POEORB) / restituted (RESORB) orbit file.

    ``Earth_Explorer_File/Data_Block/List_of_OSVs/OSV`` with ``UTC=yyyy-mm-ddThh:mm:ss.ffffff``,
    ``X``..``VZ`` (ECEF m, m/s). Times count from ``epoch`` (default: the first kept
    state vector). ``t_start``/``t_stop`` (UTC strings) keep only the vectors within
    ``margin_s`` of that span.
    """
    path = str(path)
    what = "a Sentinel-1 orbit file (Earth_Explorer_File with List_of_OSVs)"
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise InputFileError(path, what, str(exc)) from None
    root = fromstring(data, path, what)
    osvs = root.findall(".//List_of_OSVs/OSV")
    if len(osvs) < 2:
        raise InputFileError(path, what, f"{len(osvs)} state vectors")
    try:
        times = []
        for o in osvs:
            u = text(o, "UTC", path)
            times.append(u.split("=", 1)[1] if "=" in u else u)
        pos = np.array([[float(text(o, c, path)) for c in ("X", "Y", "Z")] for o in osvs])
        vel = np.array([[float(text(o, c, path)) for c in ("VX", "VY", "VZ")] for o in osvs])
        t64 = np.array([parse_utc(t) for t in times])
        keep = np.ones(len(t64), bool)
        if t_start is not None:
            keep &= t64 >= parse_utc(t_start) - np.timedelta64(int(margin_s * 1e9), "ns")
        if t_stop is not None:
            keep &= t64 <= parse_utc(t_stop) + np.timedelta64(int(margin_s * 1e9), "ns")
        if keep.sum() < 2:
            raise ValueError("fewer than 2 state vectors in the requested span")
        t64, pos, vel = t64[keep], pos[keep], vel[keep]
        ep = epoch or str(t64[0])
        t = (t64 - parse_utc(ep)) / np.timedelta64(1, "ns") * 1e-9
        return Orbit(ep, t.astype(np.float64), pos, vel, source=path)
    except InputFileError:
        raise
    except PARSE_ERRORS as exc:
        raise InputFileError(path, what, f"an invalid state vector: {exc}") from None


def orbit_covering(path: str | os.PathLike, epoch: str, t_min_s: float, t_max_s: float,
                   margin_s: float = 60.0) -> Orbit:
    """The state vectors of an orbit file within ``margin_s`` of [t_min_s, t_max_s] (s since ``epoch``),
    with times counted from ``epoch``; an InputFileError naming the file unless it covers the span
    with at least 4 state vectors on each side of every requested time (Hermite interpolation)."""
    orbit = read_eof(path, epoch=epoch)
    t = orbit.time
    inside = (t >= t_min_s - margin_s) & (t <= t_max_s + margin_s)
    before, after = np.count_nonzero(t <= t_min_s), np.count_nonzero(t >= t_max_s)
    if before < 2 or after < 2 or inside.sum() < 4:
        raise InputFileError(str(path), f"an orbit file covering the scene ({t_min_s:.3f} .. {t_max_s:.3f} s after "
                                        f"{epoch}, with state vectors before and after)",
                             f"state vectors at {t[0]:.3f} .. {t[-1]:.3f} s")
    i0 = max(int(np.searchsorted(t, t_min_s - margin_s)) - 4, 0)
    i1 = min(int(np.searchsorted(t, t_max_s + margin_s)) + 4, len(t))
    return Orbit(epoch, t[i0:i1], orbit.position[i0:i1], orbit.velocity[i0:i1], orbit.n_hermite, orbit.source)
