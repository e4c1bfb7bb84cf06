"""Shared helpers of the ERS / Envisat / RADARSAT-1 / RISAT-1 / UAVSAR format tests.

- simulation configs with each sensor's real radar parameters (tiny scenes);
- grid/orbit comparisons within a format's stated resolution;
- seeded malformed products (truncations, bit flips in structural fields, wrong mission, missing
  companions, absurd dimensions, NaN/zero frequencies) and the check that every one is refused with
  an error naming the product;
- the run configuration of the end-to-end test (one place).
"""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from daskinsar.errors import DaskInsarError
from daskinsar.geometry.ellipsoid import SPEED_OF_LIGHT
from daskinsar.io.ceos_ers import ERS_CHIRP_BW_HZ, ERS_FS_HZ, ers_near_range, ers_prf
from daskinsar.scene import Scene
from daskinsar.simulate import orbits as orb
from daskinsar.simulate.presets import MogiSource, SimulationConfig, preset
from daskinsar.simulate.formats.ers_ceos import ers_raw_codes

N_SIDE = 128


def ers_config(**kw) -> SimulationConfig:
    """ERS-2 SAR: C band 5.3 GHz, 18.96 MHz sampling, PRF of PRI code 2820 (1679.9 Hz), 15.5 MHz chirp of
    37.12 us, 785 km, right-looking (18.5 deg look for a small scene near the swath start)."""
    base = dict(wavelength_m=0.0565646, prf_hz=ers_prf(2820), range_sampling_rate_hz=ERS_FS_HZ,
                chirp_bandwidth_hz=ERS_CHIRP_BW_HZ, chirp_duration_s=37.12e-6, antenna_length_m=10.0,
                altitude_m=785e3, inclination_deg=98.52, look_angle_deg=18.5, look_side="right",
                n_azimuth=N_SIDE, n_range=N_SIDE, perpendicular_baseline_m=150.0, temporal_baseline_days=35.0)
    base.update(kw)
    return preset("small", **base)


def envisat_config(**kw) -> SimulationConfig:
    """Envisat ASAR IS2: 5.331 GHz (0.05624 m), 19.20768 MHz sampling, PRF 1652.4 Hz, 16 MHz chirp of 27.1 us,
    790 km, 19.2 deg look, right-looking."""
    base = dict(wavelength_m=SPEED_OF_LIGHT / 5.331004e9, prf_hz=1652.4156, range_sampling_rate_hz=19.20768e6,
                chirp_bandwidth_hz=16.0e6, chirp_duration_s=27.1e-6, antenna_length_m=10.0, altitude_m=790e3,
                inclination_deg=98.55, look_angle_deg=19.2, look_side="right", n_azimuth=N_SIDE, n_range=N_SIDE,
                perpendicular_baseline_m=150.0, temporal_baseline_days=35.0,
                # a quarter of the small preset's Mogi volume: C band has 4x its L-band fringes; no point
                # target (compare_with_truth references both fields to the most coherent pixel, and the
                # target's 3 x 3 mean makes that reference a few mm off at C band, in both runs alike)
                deformation=[MogiSource(depth_m=1000.0, volume_change_m3=5e4)], point_targets=[])
    base.update(kw)
    return preset("small", **base)


def long_orbit(cfg: SimulationConfig, step_s: float = 60.0, span_s: float = 1800.0):
    """The simulated reference pass sampled like a precise orbit file (every ``step_s`` over +-``span_s``)."""
    tc = cfg.terrain
    h_mid = 0.5 * ((tc.base_height_m - 10.0) + (tc.base_height_m + tc.relief_m + tc.cone_height_m + 10.0))
    t_c = 0.5 * (cfg.n_azimuth - 1) / cfg.prf_hz
    el = orb.place_reference_orbit(cfg.centre_lon_deg, cfg.centre_lat_deg, h_mid, altitude_m=cfg.altitude_m,
                                   inclination_deg=cfg.inclination_deg, look_angle_deg=cfg.look_angle_deg,
                                   look_side=cfg.look_side, ascending=cfg.ascending, t_centre_s=t_c)
    return orb.sample_orbit(el, cfg.reference_epoch, -span_s, span_s, step_s=step_s, source="long reference orbit")


def on_ers_grid(raw: Scene) -> Scene:
    """The raw scene with its range axis moved to the nearest SWST code (< 2 samples; a format test only)."""
    pri, swst = ers_raw_codes(raw.meta.prf_hz, float(raw.slant_range[0]))
    r0 = ers_near_range(swst, ers_prf(pri))
    ds = raw.data.assign_coords(slant_range=raw.data.slant_range - raw.slant_range[0] + r0)
    return Scene(ds, raw.meta, raw.orbit, dict(raw.attrs))


def absolute_times(scene: Scene) -> np.ndarray:
    """Azimuth times as float64 seconds since 2000-01-01 (for comparing scenes of different epochs)."""
    from daskinsar.geometry.orbit import seconds_between

    return scene.azimuth_time + seconds_between("2000-01-01T00:00:00", scene.meta.epoch)


def assert_same_grid(read: Scene, scene: Scene, *, t_tol_s: float, r_tol_m: float, dt_rel: float = 1e-6) -> None:
    assert read.shape == scene.shape
    ta, tb = absolute_times(read), absolute_times(scene)
    assert np.max(np.abs(ta - tb)) <= t_tol_s, np.max(np.abs(ta - tb))
    assert np.max(np.abs(read.slant_range - scene.slant_range)) <= r_tol_m
    assert abs(read.grid_spacing[0] / scene.grid_spacing[0] - 1) <= dt_rel
    assert abs(read.grid_spacing[1] / scene.grid_spacing[1] - 1) <= 1e-9


def assert_same_orbit(read: Scene, scene: Scene, tol_m: float, tol_mps: float) -> None:
    """Positions/velocities of the two orbits at the read scene's line times."""
    from daskinsar.geometry.orbit import seconds_between

    t = read.azimuth_time
    p1, v1 = read.orbit.interpolate(t)
    o = scene.orbit.shift_epoch(read.meta.epoch)
    p2, v2 = o.interpolate(t)
    assert np.abs(p1 - p2).max() <= tol_m, np.abs(p1 - p2).max()
    assert np.abs(v1 - v2).max() <= tol_mps, np.abs(v1 - v2).max()
    assert abs(seconds_between(read.orbit.epoch, read.meta.epoch)) == 0.0


def int16_of(x: np.ndarray, scale: float) -> np.ndarray:
    """The int16 I/Q values a writer stores for complex samples ``x`` at ``scale`` counts per unit."""
    return (np.clip(np.round(x.real * scale), -32767, 32767)
            + 1j * np.clip(np.round(x.imag * scale), -32767, 32767)).astype(np.complex64)


# ---------------------------------------------------------------------------------------------
# malformed products
# ---------------------------------------------------------------------------------------------
@dataclass
class Case:
    """One damaged copy of a product: ``name`` and a function changing the copied folder."""

    name: str
    apply: Callable[[Path], None]
    target: str = ""  # relative path to read inside the folder ("" = the folder)


def truncate(rel: str, at: int) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        p = d / rel
        p.write_bytes(p.read_bytes()[:at])
    return f


def flip_bit(rel: str, offset: int, bit: int) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        p = d / rel
        b = bytearray(p.read_bytes())
        b[offset] ^= 1 << bit
        p.write_bytes(bytes(b))
    return f


def overwrite(rel: str, offset: int, data: bytes) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        p = d / rel
        b = bytearray(p.read_bytes())
        b[offset: offset + len(data)] = data
        p.write_bytes(bytes(b))
    return f


def replace_text(rel: str, old: str, new: str) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        p = d / rel
        t = p.read_text()
        assert old in t, old
        p.write_text(t.replace(old, new, 1))
    return f


def remove(rel: str) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        (d / rel).unlink()
    return f


def write(rel: str, data: bytes) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        (d / rel).write_bytes(data)
    return f


def seeded_flips(rel: str, fields: list[tuple[int, int, str]], n: int, seed: int) -> list[Case]:
    """``n`` seeded single-bit flips inside structural fields (offset, width, kind): ASCII digits get one of
    their low 3 bits flipped, letters one of their low 4 bits (never the case bit), binary bytes any bit."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        off, width, kind = fields[int(rng.integers(len(fields)))]
        pos = off + int(rng.integers(width))
        bit = int(rng.integers(3 if kind == "digit" else 4 if kind == "text" else 8))
        out.append(Case(f"bitflip-{k}@{pos}.{bit}", flip_bit(rel, pos, bit)))
    return out


def run_malformed(good: Path, cases: list[Case], read: Callable[[str], object], work: Path) -> Counter:
    """Apply each case to a fresh copy of ``good`` and read it (pixels computed); every outcome must be a
    DaskInsarError whose message names something inside the copy. Returns the outcome counts."""
    counts: Counter = Counter()
    failures = []
    for i, case in enumerate(cases):
        d = work / f"case{i:03d}"
        shutil.copytree(good, d)
        case.apply(d)
        target = str(d / case.target) if case.target else str(d)
        try:
            scene = read(target)
            var = scene.main_variable  # type: ignore[attr-defined]
            scene.data[var].values  # type: ignore[attr-defined]
        except DaskInsarError as exc:
            if str(d) not in str(exc):
                failures.append(f"{case.name}: error does not name the product: {exc}")
            counts[type(exc).__name__] += 1
            continue
        except Exception as exc:  # any other exception is a failure of the reader
            failures.append(f"{case.name}: {type(exc).__name__}: {exc}")
            continue
        failures.append(f"{case.name}: read silently")
    assert not failures, "\n".join(failures)
    return counts


# ---------------------------------------------------------------------------------------------
# the end-to-end run configuration (the one place to adapt when config keys change)
# ---------------------------------------------------------------------------------------------
def run_config(reference: dict, secondary: dict, dem: str, out: Path) -> dict:
    """A `daskinsar run` configuration for a tiny pair: 2 x 2 looks, filter, SNAPHU, geocoded LOS displacement."""
    return {
        "reference": reference,
        "secondary": secondary,
        "dem": {"path": dem},
        "output": str(out),
        "interferogram": {"azimuth_looks": 2, "range_looks": 2},
        "filter": {"strength": 0.5, "patch_size": 16},
        "unwrap": {"enabled": True, "cost": "defo"},
        "geocode": {"products": ["filt_topophase.unw", "topophase.cor", "los_displacement"]},
        "processing": {"chunk_azimuth": 128, "chunk_range": 128},
    }


def ceos_common_cases(leader: str, image: str, *, other_mission: bytes, seed: int,
                      numeric: dict[str, str]) -> list[Case]:
    """Malformed CEOS products shared by the ESA-style readers: truncations, seeded bit flips in record headers,
    descriptor numbers and the mission field, wrong mission, missing/garbage files, absurd dimensions and prefix,
    and the data set summary fields ``numeric`` (name -> replacement text, e.g. 'NaN', '0.0')."""
    from daskinsar.io.ceos_records import DATA_SET_SUMMARY, IMAGE_FILE_DESCRIPTOR

    dss, fd = DATA_SET_SUMMARY, IMAGE_FILE_DESCRIPTOR
    cases = [Case(f"truncate-leader-{c}", truncate(leader, c)) for c in (0, 7, 12, 700, 720, 721, 1500, 2700)]
    cases += [Case(f"truncate-image-{c}", truncate(image, c)) for c in (0, 11, 300, 720, 1000, -7)]
    desc = [(fd[k][0], fd[k][1], "digit") for k in ("n_records", "record_length", "bits_per_sample", "n_pixels",
                                                      "prefix_bytes", "bytes_per_group", "n_lines")]
    cases += seeded_flips(image, desc + [(5, 1, "byte")], 8, seed=seed)
    cases += seeded_flips(leader, [(dss["mission"][0] + 720, 4, "text"), (725, 1, "byte"), (728, 2, "byte"),
                                   (5, 1, "byte")], 6, seed=seed + 1)
    for name, text in numeric.items():
        cases.append(Case(f"dss-{name}-{text}", overwrite(leader, 720 + dss[name][0],
                                                          text.rjust(dss[name][1]).encode())))
    cases += [
        Case("wrong-mission", overwrite(leader, 720 + dss["mission"][0], other_mission.ljust(16))),
        Case("no-leader", remove(leader)),
        Case("no-image", remove(image)),
        Case("garbage-leader", write(leader, np.random.default_rng(seed).integers(0, 256, 4000, np.uint8).tobytes())),
        Case("text-image", write(image, b"not an image\n" * 100)),
        Case("absurd-lines", overwrite(image, fd["n_records"][0], b"999999")),
        Case("absurd-pixels", overwrite(image, fd["n_pixels"][0], b"99999999")),
        Case("absurd-prefix", overwrite(image, fd["prefix_bytes"][0], b"9999")),
        Case("zero-record-length", overwrite(image, fd["record_length"][0], b"     0")),
        Case("scene-centre-nan", overwrite(leader, 720 + dss["scene_centre_lat_deg"][0], b"NaN".rjust(16))),
    ]
    return cases
