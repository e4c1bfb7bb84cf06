"""Human-readable description of a scene (``daskinsar info``)."""

from __future__ import annotations

import numpy as np

from .bursts import TopsScene, tops_parameters
from .geometry.orbit import parse_utc
from .geometry.rdr2geo import rdr2geo
from .scene import Scene


def footprint(scene: Scene, height_m: float = 0.0) -> list[tuple[float, float]]:
    """(lon, lat) of the four image corners at ``height_m`` above the ellipsoid (deg)."""
    t, r = scene.azimuth_time, scene.slant_range
    tt = np.array([t[0], t[0], t[-1], t[-1]])
    rr = np.array([r[0], r[-1], r[-1], r[0]])
    lon, lat, _ = rdr2geo(tt, rr, scene.orbit, wavelength_m=scene.meta.wavelength_m,
                          look_side=scene.meta.look_side, dem=height_m)
    return list(zip(lon.tolist(), lat.tolist()))


def describe_scene(scene: Scene, where: str = "") -> str:
    m = scene.meta
    t, r = scene.azimuth_time, scene.slant_range
    epoch = parse_utc(m.epoch)
    start = epoch + np.timedelta64(int(round(t[0] * 1e9)), "ns")
    stop = epoch + np.timedelta64(int(round(t[-1] * 1e9)), "ns")
    dt, dr = scene.grid_spacing
    var = scene.main_variable
    arr = scene.data[var]
    chunks = arr.chunks
    lines = [
        f"scene        {where}",
        f"sensor       {m.sensor}" + (f" ({m.platform})" if m.platform else "") + (f", mode {m.mode}" if m.mode else ""),
        f"level        {m.level} ({var}, {arr.dtype}), grid {m.grid}, looks {m.look_side}",
        f"size         {scene.shape[0]} lines x {scene.shape[1]} samples",
        f"start, stop  {start} .. {stop} UTC ({t[-1] - t[0]:.3f} s)",
        f"wavelength   {m.wavelength_m:.6f} m ({2.99792458e8 / m.wavelength_m / 1e9:.4f} GHz)",
        f"PRF          {m.prf_hz:.3f} Hz; line interval {dt * 1e3:.6f} ms",
        f"range        first {r[0]:.3f} m, spacing {dr:.4f} m, sampling {m.range_sampling_rate_hz / 1e6:.3f} MHz",
        f"polarization {m.polarization or '-'}",
        f"orbit        {len(scene.orbit.time)} state vectors, {scene.orbit.time[0]:.1f} .. {scene.orbit.time[-1]:.1f} s",
    ]
    try:
        fp = footprint(scene)
        lines.append("footprint    " + ", ".join(f"({lo:.4f}, {la:.4f})" for lo, la in fp) + " (lon, lat at h=0)")
    except Exception as exc:  # a footprint is a courtesy; say why it is missing
        lines.append(f"footprint    unavailable ({exc})")
    if chunks is not None:
        lines.append(f"chunking     {chunks[0][0]} x {chunks[1][0]} ({len(chunks[0])} x {len(chunks[1])} chunks)")
    return "\n".join(lines)


def describe_tops_scene(tops: TopsScene, where: str = "") -> str:
    """A TOPS scene: product facts, then one line per burst (ID, first line UTC, size, valid lines,
    footprint corners at h = 0)."""
    first = tops.bursts[0]
    m = first.meta
    epoch = parse_utc(tops.epoch)
    lines = [
        f"scene        {where} (TOPS: {len(tops)} bursts, each on its own grid)",
        f"sensor       {m.sensor}" + (f" ({m.platform})" if m.platform else "") + f", mode {m.mode}",
        f"polarization {m.polarization or '-'}; subswaths {', '.join(tops.swaths)}",
        f"wavelength   {m.wavelength_m:.6f} m; line interval {m.line_interval_s * 1e3:.6f} ms",
        f"orbit        {len(first.orbit.time)} state vectors ({tops.attrs.get('orbit_source', first.orbit.source)})",
        "burst        ID          first line (UTC)               lines x samples  valid lines  footprint (lon, lat)",
    ]
    for b in tops.bursts:
        p = tops_parameters(b)
        start = epoch + np.timedelta64(int(round(b.azimuth_time[0] * 1e9)), "ns")
        try:
            fp = " ".join(f"({lo:.3f}, {la:.3f})" for lo, la in footprint(b))
        except Exception as exc:  # a footprint is a courtesy; say why it is missing
            fp = f"unavailable ({exc})"
        bid = f"{p.burst_id}" if p.burst_id is not None else "-"
        lines.append(f"{p.key:<12} {bid:<11} {start}  {b.shape[0]:>6} x {b.shape[1]:<7}  "
                     f"{p.valid_first_line:>4}..{p.valid_last_line:<5}  {fp}")
    return "\n".join(lines)
