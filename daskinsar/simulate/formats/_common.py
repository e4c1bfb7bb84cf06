"""Helpers shared by the format writers: block iteration, integer scaling, scene geometry facts."""

from __future__ import annotations

from typing import Iterator

import numpy as np

from ...geometry.orbit import parse_utc
from ...geometry.rdr2geo import rdr2geo
from ...scene import Scene

__all__ = ["iter_line_blocks", "int_scale", "scene_corners", "absolute_time", "uniform_orbit"]


def iter_line_blocks(scene: Scene, lines_per_block: int = 512) -> Iterator[tuple[int, np.ndarray]]:
    """(first line, complex64 block of whole lines) over the scene's main variable, computed one block at a
    time (memory bounded by the block)."""
    arr = scene.data[scene.main_variable].data
    n = scene.shape[0]
    for a in range(0, n, lines_per_block):
        b = min(a + lines_per_block, n)
        blk = arr[a:b]
        yield a, np.asarray(blk.compute() if hasattr(blk, "compute") else blk, np.complex64)


def int_scale(scene: Scene, full_scale: float) -> float:
    """The factor that maps the scene's largest |I| or |Q| to ``full_scale`` counts (one pass over the data),
    rounded to float32 so that readers and tests can reproduce it."""
    arr = scene.data[scene.main_variable].data
    m = abs(arr.real).max(), abs(arr.imag).max()
    if hasattr(m[0], "compute"):
        import dask

        m = dask.compute(*m)
    peak = float(max(m))
    if not np.isfinite(peak) or peak <= 0:
        raise ValueError("cannot scale an all-zero or non-finite scene to integers")
    return float(np.float32(full_scale / peak))


def absolute_time(scene: Scene, t_s: float) -> np.datetime64:
    """UTC of ``t_s`` seconds on the scene's time axis."""
    return parse_utc(scene.meta.epoch) + np.timedelta64(int(round(t_s * 1e9)), "ns")


def scene_corners(scene: Scene, height_m: float = 0.0) -> dict[str, tuple[float, float]]:
    """(lat, lon) in deg of the first/last line x near/mid/far pixels and the centre, at ``height_m``."""
    t, r = scene.azimuth_time, scene.slant_range
    tt = np.array([t[0], t[0], t[0], t[-1], t[-1], t[-1], t[len(t) // 2]])
    rr = np.array([r[0], r[len(r) // 2], r[-1], r[0], r[len(r) // 2], r[-1], r[len(r) // 2]])
    dop = None if scene.meta.grid == "zero_doppler" else scene.meta.grid_doppler
    lon, lat, _ = rdr2geo(tt, rr, scene.orbit, wavelength_m=scene.meta.wavelength_m, look_side=scene.meta.look_side,
                          dem=height_m, doppler=dop)
    names = ("first_near", "first_mid", "first_far", "last_near", "last_mid", "last_far", "centre")
    return {k: (float(la), float(lo)) for k, la, lo in zip(names, lat, lon)}


def uniform_orbit(scene: Scene, t_first_s: float, t_last_s: float, n_min: int = 5):
    """The scene's state vectors around [t_first_s, t_last_s] (at least ``n_min``, uniform spacing required)."""
    o = scene.orbit
    dt = np.diff(o.time)
    if np.max(np.abs(dt - dt[0])) > 1e-6:
        raise ValueError("the writer needs uniformly spaced state vectors")
    o = o.crop(t_first_s, t_last_s, margin=max(2, n_min // 2 + 1))
    return o
