"""Physics checks of what a reader parsed, before anything downstream sees it.

Every reader calls :func:`check_scene` on the Scene it built (and may call the
smaller checks on values it parses itself). A failure raises
:class:`~daskinsar.errors.InputFileError` naming the file and what a real product
of that kind holds, so impossible metadata never becomes a plausible-looking
product.

Bounds (SI units) are those of every spaceborne and airborne SAR flown or planned:

- wavelength 5 mm .. 2 m (Ka band to P band);
- PRF (or product line rate) 1 Hz .. 30 kHz; range sampling rate 0.5 MHz .. 2 GHz;
- chirp: a non-zero slope, a positive duration of 0.1 us .. 1 ms, a bandwidth
  of at most 1.2 x the range sampling rate; processed range / azimuth bandwidths positive and
  at most 1.2 x the range sampling rate / PRF;
- orbit: distance from the Earth's centre 6.2e6 .. 4.3e7 m, speed 30 m/s ..
  12 km/s, times strictly increasing and finite, covering the scene's azimuth times;
- grid: azimuth times and slant ranges finite and strictly increasing, slant ranges
  within 100 m .. 6e7 m;
- Doppler centroid and grid Doppler: finite over the grid and at most ``2 v / wavelength``
  (the Doppler of a target straight ahead, v the orbit's largest speed); azimuth FM rate:
  finite and at most twice ``2 v**2 / (wavelength R)`` in magnitude (R the nearest range);
  the TOPS burst parameters of a burst scene finite.
"""

from __future__ import annotations

import numpy as np

from ..bursts import TopsScene
from ..errors import InputFileError
from ..geometry.orbit import Orbit
from ..scene import RadarMetadata, Scene

__all__ = ["check_scene", "check_metadata", "check_orbit", "check_axis", "check_range", "check_doppler"]

WAVELENGTH_M = (0.005, 2.0)
PRF_HZ = (1.0, 30_000.0)
RANGE_SAMPLING_HZ = (5e5, 2e9)
CHIRP_DURATION_S = (1e-7, 1e-3)
ORBIT_RADIUS_M = (6.2e6, 4.3e7)
ORBIT_SPEED_MPS = (30.0, 12_000.0)
SLANT_RANGE_M = (100.0, 6e7)


def check_range(source: str, what: str, value: float | None, bounds: tuple[float, float], unit: str) -> None:
    """Raise unless ``value`` is finite and within ``bounds``."""
    if value is None or not np.isfinite(value) or not bounds[0] <= value <= bounds[1]:
        raise InputFileError(source, f"a {what} of {bounds[0]:g} .. {bounds[1]:g} {unit}", f"{value!r}")


def check_axis(source: str, what: str, values, unit: str, *, bounds: tuple[float, float] | None = None) -> None:
    """Raise unless a coordinate axis is finite and strictly increasing (and within ``bounds``)."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        raise InputFileError(source, f"a non-empty {what} axis", "none")
    if not np.all(np.isfinite(v)):
        raise InputFileError(source, f"finite {what} values ({unit})", f"{int(np.count_nonzero(~np.isfinite(v)))} "
                                     "non-finite")
    if v.size > 1 and not np.all(np.diff(v) > 0):
        i = int(np.argmax(~(np.diff(v) > 0)))
        raise InputFileError(source, f"strictly increasing {what} values ({unit})",
                             f"{v[i]!r} followed by {v[i + 1]!r} at index {i}")
    if bounds is not None and (v[0] < bounds[0] or v[-1] > bounds[1]):
        raise InputFileError(source, f"{what} within {bounds[0]:g} .. {bounds[1]:g} {unit}",
                             f"{v[0]:g} .. {v[-1]:g} {unit}")


def check_metadata(meta: RadarMetadata, source: str) -> None:
    """Wavelength, PRF, sampling and chirp within the bounds of real radars."""
    check_range(source, "wavelength", meta.wavelength_m, WAVELENGTH_M, "m")
    check_range(source, "PRF", meta.prf_hz, PRF_HZ, "Hz")
    check_range(source, "range sampling rate", meta.range_sampling_rate_hz, RANGE_SAMPLING_HZ, "Hz")
    if meta.chirp is not None:
        c = meta.chirp
        if not np.isfinite(c.slope_hz_per_s) or c.slope_hz_per_s == 0:
            raise InputFileError(source, "a non-zero, finite chirp slope (Hz/s)", f"{c.slope_hz_per_s!r}")
        check_range(source, "chirp duration", c.duration_s, CHIRP_DURATION_S, "s")
        if c.bandwidth_hz > 1.2 * meta.range_sampling_rate_hz:
            raise InputFileError(source, f"a chirp bandwidth of at most 1.2 x the range sampling rate "
                                         f"({meta.range_sampling_rate_hz:g} Hz)", f"{c.bandwidth_hz:g} Hz")
    for name, rate, what in (("range_bandwidth_hz", meta.range_sampling_rate_hz, "range sampling rate"),
                             ("azimuth_bandwidth_hz", meta.prf_hz, "PRF")):
        v = getattr(meta, name)
        if v is not None and (not np.isfinite(v) or v <= 0 or v > 1.2 * rate):
            # samples cannot hold a band wider than their rate (1.2: the margin the chirp check allows too)
            raise InputFileError(source, f"a positive {name.replace('_hz', '').replace('_', ' ')} of at most 1.2 x "
                                         f"the {what} ({1.2 * rate:g} Hz)", f"{v!r} Hz")


def check_orbit(orbit: Orbit, source: str, t_min: float | None = None, t_max: float | None = None) -> None:
    """State vectors at plausible radii and speeds, and covering [t_min, t_max] (s) when given."""
    t = np.asarray(orbit.time)
    check_axis(source, "orbit state-vector time", t, "s")
    r = np.linalg.norm(orbit.position, axis=1)
    v = np.linalg.norm(orbit.velocity, axis=1)
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(v))):
        raise InputFileError(source, "finite orbit positions and velocities", "non-finite values")
    if r.min() < ORBIT_RADIUS_M[0] or r.max() > ORBIT_RADIUS_M[1]:
        raise InputFileError(source, f"orbit positions {ORBIT_RADIUS_M[0]:g} .. {ORBIT_RADIUS_M[1]:g} m from the "
                                     "Earth's centre (ECEF)", f"{r.min():.6g} .. {r.max():.6g} m")
    if v.min() < ORBIT_SPEED_MPS[0] or v.max() > ORBIT_SPEED_MPS[1]:
        raise InputFileError(source, f"orbit speeds of {ORBIT_SPEED_MPS[0]:g} .. {ORBIT_SPEED_MPS[1]:g} m/s",
                             f"{v.min():.6g} .. {v.max():.6g} m/s")
    # positions and velocities must describe one trajectory: the displacement between
    # neighbouring state vectors agrees with the mean velocity (catches swapped or garbage vectors)
    if len(t) > 2:
        dt = np.diff(t)
        step = np.diff(orbit.position, axis=0)
        mean_v = 0.5 * (orbit.velocity[1:] + orbit.velocity[:-1]) * dt[:, None]
        err = np.linalg.norm(step - mean_v, axis=1) / np.maximum(np.linalg.norm(mean_v, axis=1), 1e-9)
        # a circular orbit's chord vs the mean tangent differs by (w dt)^2 / 8 relative: < 1e-3 for dt < 60 s
        limit = np.maximum(0.05, (0.0011 * dt) ** 2)
        if np.any(err > limit):
            i = int(np.argmax(err - limit))
            raise InputFileError(source, "orbit positions consistent with the velocities (one trajectory)",
                                 f"state vectors {i} and {i + 1} differ by {np.linalg.norm(step[i]):.6g} m in "
                                 f"{dt[i]:.6g} s at {np.linalg.norm(orbit.velocity[i]):.6g} m/s")
    if t_min is not None and t_max is not None and (t_min < t[0] or t_max > t[-1]):
        raise InputFileError(source, f"an orbit covering the scene's azimuth times {t_min:.3f} .. {t_max:.3f} s "
                                     f"after {orbit.epoch}", f"state vectors at {t[0]:.3f} .. {t[-1]:.3f} s")


def _finite_numbers(value, where: str, source: str) -> None:
    """Every number inside a (nested) dict / list of parameters finite."""
    if isinstance(value, dict):
        for k, v in value.items():
            _finite_numbers(v, f"{where}.{k}", source)
    elif isinstance(value, (list, tuple)):
        for k, v in enumerate(value):
            _finite_numbers(v, f"{where}[{k}]", source)
    elif isinstance(value, float) and not np.isfinite(value):
        raise InputFileError(source, f"a finite {where}", repr(value))


def check_doppler(meta: RadarMetadata, t, r, orbit: Orbit, source: str) -> None:
    """Doppler centroid, grid Doppler and azimuth FM rate finite and physically possible over the grid
    (azimuth times ``t`` s, slant ranges ``r`` m; see the module docstring for the bounds)."""
    t = np.asarray(t, np.float64)
    r = np.asarray(r, np.float64)
    r = r[np.isfinite(r)]
    speed = float(np.max(np.linalg.norm(orbit.velocity, axis=1)))
    tt = np.linspace(t[0], t[-1], 5)
    rr = np.linspace(r[0], r[-1], 9) if r.size else np.array([np.nan])
    tg, rg = np.meshgrid(tt, rr, indexing="ij")
    f_max = 2.0 * speed / meta.wavelength_m
    for name, model in (("Doppler centroid", meta.doppler_centroid), ("grid Doppler", meta.grid_doppler),
                        ("azimuth FM rate", meta.azimuth_fm_rate)):
        if model is None:
            continue
        if not r.size:  # a ground-range product without slant ranges: the model's own numbers only
            _finite_numbers(model.model_dump(mode="python"), name, source)
            continue
        with np.errstate(all="ignore"):
            vals = np.asarray(model(tg, rg), np.float64)
        if not np.all(np.isfinite(vals)):
            raise InputFileError(source, f"a finite {name} over the scene (Hz{'/s' if 'FM' in name else ''})",
                                 f"{int(np.count_nonzero(~np.isfinite(vals)))} non-finite values of {vals.size}")
        bound = 4.0 * speed ** 2 / (meta.wavelength_m * float(r.min())) if "FM" in name else f_max
        if float(np.max(np.abs(vals))) > bound:
            unit = "Hz/s" if "FM" in name else "Hz"
            raise InputFileError(source, f"a {name} of at most {bound:.6g} {unit} in magnitude (the most a radar "
                                         f"at {speed:.6g} m/s and {meta.wavelength_m:.6g} m sees)",
                                 f"{float(np.max(np.abs(vals))):.6g} {unit}")


def check_scene(scene: Scene | TopsScene, source: str) -> Scene | TopsScene:
    """All checks of a freshly read scene (of every burst of a TOPS scene); returns it unchanged."""
    if isinstance(scene, TopsScene):
        for key, burst in zip(scene.keys, scene.bursts):
            check_scene(burst, f"{source} (burst {key})")
        return scene
    check_metadata(scene.meta, source)
    t = scene.azimuth_time
    check_axis(source, "azimuth time", t, "s")
    if scene.meta.level != "product":
        check_axis(source, "slant range", scene.slant_range, "m", bounds=SLANT_RANGE_M)
    check_orbit(scene.orbit, source, float(t[0]), float(t[-1]))
    check_doppler(scene.meta, t, scene.slant_range, scene.orbit, source)
    if "tops" in scene.meta.extra:
        _finite_numbers(scene.meta.extra["tops"], "TOPS burst parameter", source)
    return scene
