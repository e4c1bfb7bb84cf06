"""Consecutive frames of one pass joined along track into one scene (ISCE's multi-frame inputs).

Frames of one data take (ALOS, ERS, Envisat products cut every few hundred km) sample the same
azimuth-time grid: the same PRF, the same range window, lines that continue one another. Joining
them is then exact: the lines are put one after the other, those the frames share (their overlap)
taken once, from the earlier frame. Frames that would need resampling to be joined are refused, with
the reason:

- sensor, level, look side, grid kind, polarization, wavelength, PRF (relative 1e-9), range sampling
  rate and chirp must be equal; the range axes equal to 1 % of a sample;
- each frame's lines must lie on the first frame's line grid (within 1 % of a line: no resampling) and
  follow the previous frame without a gap (overlaps are fine);
- the orbits must agree where their state vectors share a time (1 m, 1 mm/s): the joined orbit is
  their union;
- native-Doppler grids must have the same grid Doppler (0.5 Hz at near, mid and far range); the data
  Doppler centroids may differ by at most 2 % of the PRF (frames of one take do), and the first
  frame's is kept (the others are recorded in ``meta.extra["frames"]``).

Times are carried on the first frame's epoch. Arrays stay lazy (dask concatenation).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .errors import InputFileError
from .geometry.orbit import Orbit, seconds_between
from .scene import Scene

__all__ = ["join_frames"]

LINE_TOLERANCE = 0.01  # of a line: how far a frame's lines may sit off the first frame's grid
RANGE_TOLERANCE = 0.01  # of a range sample
DOPPLER_SPREAD = 0.02  # of the PRF: how far the frames' data Doppler centroids may differ


def _same(a, b, rel: float = 1e-9) -> bool:
    if a is None or b is None:
        return a is b
    return abs(float(a) - float(b)) <= rel * max(abs(float(a)), abs(float(b)))


def _check_compatible(first: Scene, other: Scene, source: str, first_source: str) -> None:
    m0, m = first.meta, other.meta
    for name in ("sensor", "level", "look_side", "grid", "polarization"):
        if getattr(m, name) != getattr(m0, name):
            raise InputFileError(source, f"a frame with the same {name.replace('_', ' ')} as {first_source} "
                                         f"({getattr(m0, name)!r})", repr(getattr(m, name)))
    for name, unit in (("wavelength_m", "m"), ("prf_hz", "Hz"), ("range_sampling_rate_hz", "Hz")):
        if not _same(getattr(m, name), getattr(m0, name)):
            raise InputFileError(source, f"a frame with the {name.rsplit('_', 1)[0].replace('_', ' ')} of "
                                         f"{first_source} ({getattr(m0, name)!r} {unit}) to be joined without "
                                         "resampling", f"{getattr(m, name)!r} {unit}")
    if (m.chirp is None) != (m0.chirp is None) or (m.chirp is not None and m0.chirp is not None and not (
            _same(m.chirp.slope_hz_per_s, m0.chirp.slope_hz_per_s) and _same(m.chirp.duration_s, m0.chirp.duration_s))):
        raise InputFileError(source, f"the chirp of {first_source}", "a different chirp")
    r0, r = first.slant_range, other.slant_range
    dr = float(r0[1] - r0[0]) if r0.size > 1 else float(m0.range_spacing_m or 1.0)
    if r.size != r0.size or np.max(np.abs(r - r0)) > RANGE_TOLERANCE * dr:
        raise InputFileError(source, f"the range window of {first_source} ({r0.size} samples from {r0[0]:.3f} m)",
                             f"{r.size} samples from {r[0]:.3f} m")
    if m0.grid == "native_doppler":
        rr = np.array([r0[0], r0[r0.size // 2], r0[-1]])
        t0 = np.full(3, float(first.azimuth_time[0]))
        f0, f = m0.grid_doppler(t0, rr), m.grid_doppler(t0, rr)
        if np.max(np.abs(np.asarray(f0) - np.asarray(f))) > 0.5:
            raise InputFileError(source, f"the grid Doppler of {first_source} (within 0.5 Hz)",
                                 f"{np.round(f, 2).tolist()} Hz against {np.round(f0, 2).tolist()} Hz")


def _union_orbit(orbits: list[Orbit], epoch: str, sources: list[str]) -> Orbit:
    times, pos, vel = [], [], []
    for o in orbits:
        o = o.shift_epoch(epoch)
        times.append(o.time)
        pos.append(o.position)
        vel.append(o.velocity)
    t, p, v = np.concatenate(times), np.concatenate(pos), np.concatenate(vel)
    order = np.argsort(t, kind="stable")
    t, p, v = t[order], p[order], v[order]
    same = np.diff(t) < 1e-3
    if same.any():
        i = np.flatnonzero(same)
        dp = np.linalg.norm(p[i + 1] - p[i], axis=1)
        dv = np.linalg.norm(v[i + 1] - v[i], axis=1)
        if dp.max() > 1.0 or dv.max() > 1e-3:
            raise InputFileError(" + ".join(sources), "frames whose orbits agree where they share state vectors "
                                                       "(1 m, 1 mm/s)",
                                 f"{dp.max():.3g} m and {dv.max():.3g} m/s apart")
    keep = np.concatenate([[True], ~same])
    return Orbit(epoch, t[keep], p[keep], v[keep], orbits[0].n_hermite, " + ".join(o.source for o in orbits))


def join_frames(scenes: list[Scene], sources: list[str]) -> Scene:
    """One scene from consecutive frames of one pass (any order; see the module docstring)."""
    if len(scenes) == 1:
        return scenes[0]
    epoch = scenes[0].meta.epoch
    starts = [float(s.azimuth_time[0]) - seconds_between(s.meta.epoch, epoch) for s in scenes]
    order = np.argsort(starts)
    scenes, sources = [scenes[i] for i in order], [sources[i] for i in order]
    first = scenes[0]
    epoch = first.meta.epoch
    for s, src in zip(scenes[1:], sources[1:]):
        _check_compatible(first, s, src, sources[0])
    dt = float(first.azimuth_time[1] - first.azimuth_time[0])
    t0 = float(first.azimuth_time[0])
    pieces: list[xr.Dataset] = []
    dopplers: list = []
    last_line = -1
    for s, src in zip(scenes, sources):
        t = s.azimuth_time - seconds_between(s.meta.epoch, epoch)
        lines = (t - t0) / dt
        k = np.rint(lines)
        if np.max(np.abs(lines - k)) > LINE_TOLERANCE:
            raise InputFileError(src, f"lines on the line grid of {sources[0]} (within {LINE_TOLERANCE:g} line) to "
                                      "be joined without resampling",
                                 f"lines {np.max(np.abs(lines - k)):.3f} line off it")
        if k[0] > last_line + 1:
            raise InputFileError(src, f"a frame continuing {sources[len(pieces) - 1]} without a gap",
                                 f"a gap of {int(k[0] - last_line - 1)} lines ({(k[0] - last_line - 1) * dt:.3f} s)")
        new = k > last_line
        if not new.any():
            continue  # a frame inside the previous one adds nothing
        data = s.data.isel(azimuth=np.flatnonzero(new)).assign_coords(azimuth_time=("azimuth", t0 + dt * k[new]))
        pieces.append(data)
        last_line = int(k[new][-1])
        dopplers.append(s.meta.doppler_centroid)
    rr = first.slant_range[[0, first.slant_range.size // 2, -1]]
    tt = np.full(3, t0)
    dc = np.array([np.asarray(d(tt, rr), dtype=float) for d in dopplers])
    spread = float(np.max(np.ptp(dc, axis=0))) if len(dc) > 1 else 0.0
    if spread > DOPPLER_SPREAD * first.meta.prf_hz:
        raise InputFileError(" + ".join(sources), f"frames of one data take (Doppler centroids within "
                                                   f"{DOPPLER_SPREAD:.0%} of the PRF)", f"{spread:.1f} Hz apart")
    data = xr.concat(pieces, dim="azimuth", data_vars="minimal", coords="minimal", compat="override",
                     join="override")
    meta = first.meta.model_copy(update={
        "source_files": [f for s in scenes for f in s.meta.source_files],
        "extra": {**first.meta.extra, "frames": [{"source": src, "lines": int(p.sizes["azimuth"]),
                                                  "doppler_centroid_hz": np.round(d, 3).tolist()}
                                                 for src, p, d in zip(sources, pieces, dc)]}})
    return Scene(data, meta, _union_orbit([s.orbit for s in scenes], epoch, sources), dict(first.attrs))
