"""RADARSAT-1 CEOS reader (raw with auxiliary timing, SLC) and RISAT-1 CEOS SLC reader: inertial orbits against
independent facts of the Earth's rotation, simulated C-band pairs written as products and read back, replica and
time-gap lines, look side from the scene centre, the CLI and malformed products."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from daskinsar.cli import app
from daskinsar.errors import InputFileError
from daskinsar.geometry.ellipsoid import A as WGS84_A
from daskinsar.io.ceos_radarsat1 import AUX_BYTES, RAW_PREFIX, RSAT_SMO_HZ, decode_aux, rsat_chirp_slope, rsat_timing
from daskinsar.io.ceos_records import EARTH_ROTATION_RAD_S, ecef_to_eci, eci_to_ecef
from daskinsar.io.readers import detect_reader, read_scene
from daskinsar.io.store import open_scene
from daskinsar.scene import Chirp, Scene
from daskinsar.simulate import simulate_pair
from daskinsar.simulate.formats.ceos_missions import quantize_4bit, raw_gain_4bit, rsat_raw_codes, \
    write_radarsat1_ceos, write_risat1_ceos
from daskinsar.simulate.formats.ers_ceos import slc_scale
from daskinsar.simulate.presets import preset
from daskinsar.simulate.raw import slc_to_raw

from sensor_formats_b import (N_SIDE, Case, assert_same_grid, assert_same_orbit, ceos_common_cases, int16_of,
                              overwrite, run_malformed)

runner = CliRunner()
FS = RSAT_SMO_HZ / 7.0  # ADC code 1 (18.47 MHz)
PRF = 1.0 / ((2 + 2100) * 6 * 7.0 / RSAT_SMO_HZ)  # PRF code 2100 (1464.2 Hz)
CHIRP = Chirp(slope_hz_per_s=rsat_chirp_slope(FS), duration_s=42e-6)
LEA, DAT = "LEA_01.001", "DAT_01.001"


def rsat_config(**kw):
    """RADARSAT-1 standard beam: 5.3 GHz, 18.47 MHz sampling, PRF 1464 Hz, 17.5 MHz chirp of 42 us, 798 km."""
    base = dict(wavelength_m=0.0565646, prf_hz=PRF, range_sampling_rate_hz=FS, chirp_bandwidth_hz=CHIRP.bandwidth_hz,
                chirp_duration_s=42e-6, antenna_length_m=15.0, altitude_m=798e3, inclination_deg=98.6,
                look_angle_deg=30.0, n_azimuth=N_SIDE, n_range=N_SIDE, point_targets=[])
    base.update(kw)
    return preset("small", **base)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    return simulate_pair(rsat_config(), tmp_path_factory.mktemp("rsat") / "pair", chunks=128)


@pytest.fixture(scope="module")
def rsat_slc(sim, tmp_path_factory):
    ref = open_scene(sim.reference)
    return ref, Path(write_radarsat1_ceos(ref, str(tmp_path_factory.mktemp("rs") / "RSAT1_SLC")))


@pytest.fixture(scope="module")
def rsat_raw(sim, tmp_path_factory):
    raw = slc_to_raw(open_scene(sim.reference), chirp=CHIRP)
    adc, p, w, beam = rsat_raw_codes(raw.meta.range_sampling_rate_hz, raw.meta.prf_hz, float(raw.slant_range[0]))
    r0 = rsat_timing(adc, p, w, beam)[2]  # the window code's range (< 3 samples away; a format test only)
    raw = Scene(raw.data.assign_coords(slant_range=raw.data.slant_range - raw.slant_range[0] + r0), raw.meta, raw.orbit)
    return raw, Path(write_radarsat1_ceos(raw, str(tmp_path_factory.mktemp("rr") / "RSAT1_RAW")))


@pytest.fixture(scope="module")
def risat_slc(sim, tmp_path_factory):
    ref = open_scene(sim.reference)
    return ref, Path(write_risat1_ceos(ref, str(tmp_path_factory.mktemp("ri") / "RISAT1_SLC")))


def test_inertial_to_earth_fixed():
    """Independent facts: at hour angle theta the Greenwich meridian points theta east of the inertial x axis,
    a point at rest on Earth moves east at w R in inertial space, and the rotation advances at w."""
    r = np.array([[WGS84_A, 0.0, 0.0]])
    p_i, v_i = ecef_to_eci(np.array([0.0]), r, np.zeros((1, 3)), 30.0)
    assert np.allclose(p_i[0], [WGS84_A * np.cos(np.pi / 6), WGS84_A * np.sin(np.pi / 6), 0.0])
    assert np.allclose(v_i[0], EARTH_ROTATION_RAD_S * WGS84_A * np.array([-np.sin(np.pi / 6), np.cos(np.pi / 6), 0]))
    p_e, v_e = eci_to_ecef(np.array([3600.0]), p_i, v_i, 30.0)  # an hour later the same inertial point is 15 deg west
    assert np.degrees(np.arctan2(p_e[0, 1], p_e[0, 0])) == pytest.approx(-np.degrees(EARTH_ROTATION_RAD_S * 3600))
    p_b, v_b = eci_to_ecef(np.array([0.0]), p_i, v_i, 30.0)
    assert np.allclose(p_b, r) and np.allclose(v_b, 0.0, atol=1e-9)


def test_radarsat1_slc_round_trip(rsat_slc):
    ref, path = rsat_slc
    assert detect_reader(str(path)).name == "RADARSAT1"
    sc = read_scene(str(path), "RADARSAT-1")
    m = sc.meta
    assert (m.sensor, m.level, m.grid, m.look_side, m.polarization) == ("RADARSAT1", "slc", "native_doppler",
                                                                       "right", "HH")
    # 4-byte integer record fields: first slant range to 1 m, PRF to 1 mHz
    assert_same_grid(sc, ref, t_tol_s=1e-6, r_tol_m=0.5, dt_rel=1e-6)
    assert_same_orbit(sc, ref, tol_m=1e-3, tol_mps=1e-5)
    assert np.allclose(m.grid_doppler(0.0, sc.slant_range), 0.0, atol=0.5)
    assert np.array_equal(sc.data["slc"].values, int16_of(ref.data["slc"].values, slc_scale(ref)))


def test_radarsat1_raw_round_trip(rsat_raw):
    raw, path = rsat_raw
    sc = read_scene(str(path), "RADARSAT1")
    m = sc.meta
    assert (m.level, m.look_side) == ("raw", "right")
    assert m.range_sampling_rate_hz == pytest.approx(FS, rel=1e-12) and m.prf_hz == pytest.approx(PRF, rel=1e-12)
    assert m.chirp.slope_hz_per_s == CHIRP.slope_hz_per_s and m.chirp.duration_s == 42e-6
    assert_same_grid(sc, raw, t_tol_s=1e-6, r_tol_m=1e-6, dt_rel=1e-12)
    assert_same_orbit(sc, raw, tol_m=1e-3, tol_mps=1e-5)
    q = (quantize_4bit(raw.data["raw"].values, raw_gain_4bit(raw)) ^ 8).astype(np.float32) - 7.5
    assert np.array_equal(sc.data["raw"].values, (q[:, 0::2] + 1j * q[:, 1::2]).astype(np.complex64))


def test_radarsat1_replica_and_time_gap(rsat_raw, tmp_path):
    raw, path = rsat_raw
    d = tmp_path / "p"
    shutil.copytree(path, d)
    reclen = RAW_PREFIX + AUX_BYTES + 2 * raw.shape[1]
    data = bytearray((d / DAT).read_bytes())
    n = raw.shape[0]
    k_rep, k_gap = 5, n // 3
    at = 720 + k_rep * reclen + RAW_PREFIX
    data[at + 49] |= 1 << 6  # this line carries the replica first
    for k in range(k_gap, n):  # every later line one PRI later: one missing line
        a = 720 + k * reclen + RAW_PREFIX
        t = decode_aux(np.frombuffer(bytes(data[a: a + AUX_BYTES]), np.uint8)[None])["time_s"][0] + 1.0 / PRF
        us = int(round(t * 1e6))
        sec, rem = divmod(us, 1_000_000)
        ms, u = divmod(rem, 1000)
        data[a + 44] = (data[a + 44] & ~31) | (sec >> 12)
        data[a + 45] = (sec >> 4) & 255
        data[a + 46] = ((sec & 15) << 4) | (ms >> 6)
        data[a + 47] = ((ms & 63) << 2) | (u >> 8)
        data[a + 48] = u & 255
    (d / DAT).write_bytes(bytes(data))
    good = read_scene(str(path)).data["raw"].values
    v = read_scene(str(d)).data["raw"].values
    rep = 2 * int(44.559e-6 * FS)
    assert v.shape == (n + 1, good.shape[1])
    assert np.array_equal(v[k_rep, : good.shape[1] - rep // 2], good[k_rep, rep // 2:])
    assert not v[k_rep, good.shape[1] - rep // 2:].any()
    assert not v[k_gap].any() and np.array_equal(v[k_gap + 1:], good[k_gap:])
    assert np.array_equal(v[:k_rep], good[:k_rep])


def test_look_side_from_the_scene_centre(tmp_path):
    sim = simulate_pair(rsat_config(look_side="left", n_azimuth=32, n_range=32), tmp_path / "left", chunks=32)
    ref = open_scene(sim.reference)
    for write, sensor in ((write_radarsat1_ceos, "RADARSAT1"), (write_risat1_ceos, "RISAT1")):
        sc = read_scene(write(ref, str(tmp_path / sensor)), sensor)
        assert sc.meta.look_side == "left"


def test_risat1_round_trip(risat_slc):
    ref, path = risat_slc
    assert detect_reader(str(path)).name == "RISAT1"
    sc = read_scene(str(path), "RISAT1")
    m = sc.meta
    assert (m.sensor, m.level, m.grid, m.look_side, m.polarization) == ("RISAT1", "slc", "native_doppler", "right",
                                                                       "HH")
    assert_same_grid(sc, ref, t_tol_s=1e-6, r_tol_m=0.04, dt_rel=1e-7)  # float32 record fields
    assert_same_orbit(sc, ref, tol_m=1e-3, tol_mps=1e-5)
    assert np.array_equal(sc.data["slc"].values, int16_of(ref.data["slc"].values, slc_scale(ref)))
    with pytest.raises(InputFileError, match="polarization VV"):
        read_scene(str(path), "RISAT1", polarization="VV")


@pytest.mark.parametrize("sensor", ["RADARSAT1", "RISAT1"])
def test_cli_ingest_and_info(sensor, rsat_slc, risat_slc, tmp_path):
    _, path = rsat_slc if sensor == "RADARSAT1" else risat_slc
    store = tmp_path / "s.zarr"
    r = runner.invoke(app, ["ingest", str(path), "-o", str(store), "--sensor", sensor])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["info", str(store)])
    assert r.exit_code == 0 and f"sensor       {sensor}" in r.output


def _rsat_cases(kind: str) -> list[Case]:
    from daskinsar.io.ceos_records import DATA_SET_SUMMARY as dss

    cases = ceos_common_cases(LEA, DAT, other_mission=b"ERS2", seed=21 if kind == "slc" else 23,
                              numeric={"wavelength_m": "NaN", "clock_angle_deg": "-90.0"}
                              | ({"range_sampling_rate_mhz": "0.0"} if kind == "slc" else {}))
    cases.append(Case("wavelength-zero", overwrite(LEA, 720 + dss["wavelength_m"][0], b"0.0".rjust(16))))
    if kind == "raw":
        cases += [Case("beam-unknown", overwrite(DAT, 720 + RAW_PREFIX + 18, b"\x00\x63")),
                  Case("adc-3", overwrite(DAT, 720 + RAW_PREFIX + 22, b"\x30")),
                  Case("bad-year", overwrite(DAT, 720 + 36, (1800).to_bytes(4, "big")))]
    else:
        cases += [Case("prf-zero", overwrite(DAT, 720 + 56, bytes(4))),
                  Case("range-zero", overwrite(DAT, 720 + 64, bytes(4))),
                  Case("bad-day", overwrite(DAT, 720 + 40, (400).to_bytes(4, "big")))]
    return cases


@pytest.mark.parametrize("kind", ["slc", "raw"])
def test_radarsat1_malformed_products_are_refused(kind, rsat_slc, rsat_raw, tmp_path):
    _, path = rsat_slc if kind == "slc" else rsat_raw
    cases = _rsat_cases(kind)
    counts = run_malformed(path, cases, lambda p: read_scene(p, "RADARSAT1"), tmp_path)
    print(f"RADARSAT-1 CEOS {kind}: {len(cases)} malformed products, outcomes {dict(counts)}")
    assert sum(counts.values()) == len(cases) >= 30


def test_risat1_malformed_products_are_refused(risat_slc, tmp_path):
    _, path = risat_slc
    f32 = lambda x: np.array([x], ">f4").tobytes()  # noqa: E731
    cases = ceos_common_cases(LEA, DAT, other_mission=b"RSAT-1", seed=31,
                              numeric={"wavelength_m": "NaN", "range_sampling_rate_mhz": "0.0"})
    cases += [Case("prf-nan", overwrite(DAT, 720 + 56, f32(np.nan))),
              Case("range-negative", overwrite(DAT, 720 + 64, f32(-5.0))),
              Case("doppler-inf", overwrite(DAT, 720 + 76, f32(np.inf))),
              Case("pol-code", overwrite(DAT, 720 + 52, (9).to_bytes(2, "big"))),
              Case("year-4-digits", overwrite(LEA, 720 + 1886 + 12 + 32 + 96 + 4, b"2020"))]
    counts = run_malformed(path, cases, lambda p: read_scene(p, "RISAT1"), tmp_path)
    print(f"RISAT-1 CEOS slc: {len(cases)} malformed products, outcomes {dict(counts)}")
    assert sum(counts.values()) == len(cases) >= 30
