"""Envisat-format reader (.N1 ASAR IMS, .E1/.E2 ERS SLC and level 0): simulated pairs written in the format
and read back, DORIS/ODR orbits, level and mission refusals, the CLI, malformed products, and the end-to-end
run of an ASAR IMS pair against the simulator's truth and against the same pair run from the stores."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from daskinsar.cli import app
from daskinsar.demo import compare_with_truth
from daskinsar.errors import InputFileError
from daskinsar.io import envisat_records as er
from daskinsar.io.ceos_ers import ers_prf
from daskinsar.io.readers import detect_reader, read_scene
from daskinsar.io.store import open_scene
from daskinsar.simulate import simulate_pair
from daskinsar.simulate.formats._common import scene_corners
from daskinsar.simulate.formats.envisat import slc_scale, write_envisat
from daskinsar.simulate.formats.ers_ceos import quantize_raw, raw_gain
from daskinsar.simulate.formats.orbit_files import write_doris, write_odr

from sensor_formats_b import (Case, absolute_times, assert_same_grid, assert_same_orbit, envisat_config, ers_config,
                              int16_of, long_orbit, on_ers_grid, overwrite, remove, run_config, run_malformed,
                              seeded_flips, truncate, write)

runner = CliRunner()


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    return simulate_pair(envisat_config(), tmp_path_factory.mktemp("asar") / "pair", chunks=128)


@pytest.fixture(scope="module")
def ers_sim(tmp_path_factory):
    return simulate_pair(ers_config(), tmp_path_factory.mktemp("ers_env") / "pair", chunks=128, level="raw")


@pytest.fixture(scope="module")
def ims(sim, tmp_path_factory):
    d = tmp_path_factory.mktemp("ims")
    ref, sec = open_scene(sim.reference), open_scene(sim.secondary)
    return ref, Path(write_envisat(ref, str(d / "ref"))), sec, Path(write_envisat(sec, str(d / "sec")))


def test_asar_ims_round_trip(ims):
    ref, path, _, _ = ims
    assert detect_reader(str(path)).name == "ENVISAT"
    sc = read_scene(str(path), "ENVISAT")
    m = sc.meta
    assert (m.sensor, m.platform, m.level, m.grid, m.look_side, m.polarization, m.mode) == \
        ("ENVISAT", "Envisat", "slc", "zero_doppler", "right", "VV", "ASA_IMS_1P")
    # 1 us MJD times, float32 line interval, float32 ns slant range time (~4 cm)
    assert_same_grid(sc, ref, t_tol_s=1e-6, r_tol_m=0.04, dt_rel=1e-7)
    assert m.wavelength_m == pytest.approx(ref.meta.wavelength_m, rel=1e-7)
    assert m.range_sampling_rate_hz == ref.meta.range_sampling_rate_hz  # 19.20768 MHz is a float32
    assert m.prf_hz == pytest.approx(ref.meta.prf_hz, rel=1e-7)
    assert m.chirp.bandwidth_hz == pytest.approx(16e6, rel=1e-6)
    assert_same_orbit(sc, ref, tol_m=0.01, tol_mps=1e-4)  # 1 cm, 1e-5 m/s state vectors
    assert np.array_equal(sc.data["slc"].values, int16_of(ref.data["slc"].values, slc_scale(ref)))
    assert np.array_equal(read_scene(str(path), chunks=16).data["slc"].values, sc.data["slc"].values)
    # the SPH corners are those of the read geometry (to the 1e-6 deg of the format)
    c = scene_corners(sc)
    for key in ("first_near", "first_far", "last_near", "last_far"):
        assert m.extra[f"{key}_lat_deg"] == pytest.approx(c[key][0], abs=2e-6)
        assert m.extra[f"{key}_long_deg"] == pytest.approx(c[key][1], abs=2e-6)


def test_doris_and_odr_orbit_files(ims, tmp_path):
    ref, path, _, _ = ims
    o = long_orbit(envisat_config())
    sc = read_scene(str(path), "ENVISAT", orbit_file=write_doris(o, str(tmp_path / "dor")))
    assert "DORIS" in sc.meta.extra["orbit_source"]
    assert_same_orbit(sc, ref, tol_m=2e-3, tol_mps=1e-5)
    sc = read_scene(str(path), "ENVISAT", orbit_file=write_odr(o, str(tmp_path / "odr")))
    assert_same_orbit(sc, ref, tol_m=0.02, tol_mps=2e-3)
    late = write_doris(o.crop(200.0, 1800.0, margin=0), str(tmp_path / "late"))
    with pytest.raises(InputFileError, match="DOR_VOR_AX.*covering the scene"):
        read_scene(str(path), "ENVISAT", orbit_file=late)


def test_ers_in_envisat_format(ers_sim, tmp_path):
    ref = open_scene(ers_sim.reference)
    fn = write_envisat(ref, str(tmp_path / "slc"), product="SAR_IMS_1P", mission="ERS2")
    assert fn.endswith(".E2") and detect_reader(fn).name == "ERS_ENVISAT"
    for sensor in ("ERS", "ERS_ENVISAT"):
        sc = read_scene(fn, sensor)
        assert (sc.meta.sensor, sc.meta.platform) == ("ERS", "ERS-2")
        assert_same_grid(sc, ref, t_tol_s=1e-6, r_tol_m=0.04, dt_rel=1e-7)
    with pytest.raises(InputFileError, match="ERS2 product.*read it with sensor ERS"):
        read_scene(fn, "ENVISAT")
    # level 0 source packets: 5-bit samples, SWST/PRI codes, and a mandatory orbit file
    raw = on_ers_grid(open_scene(ers_sim.reference_raw))
    fn0 = write_envisat(raw, str(tmp_path / "raw"), product="SAR_IM__0P", mission="ERS2")
    with pytest.raises(InputFileError, match="orbit_file="):
        read_scene(fn0, "ERS")
    odr = write_odr(long_orbit(ers_config()), str(tmp_path / "odr"))
    sc = read_scene(fn0, "ERS", orbit_file=odr)
    assert (sc.meta.level, sc.meta.prf_hz, sc.shape) == ("raw", ers_prf(2820), (raw.shape[0], 5616))
    assert np.max(np.abs(absolute_times(sc) - absolute_times(raw))) <= 1e-6
    assert sc.slant_range[0] == pytest.approx(raw.slant_range[0], abs=1e-6)
    assert sc.grid_spacing[1] == pytest.approx(raw.grid_spacing[1], rel=1e-12)
    q = quantize_raw(raw.data["raw"].values, raw_gain(raw)).astype(np.float32) - 15.5
    v = sc.data["raw"].values
    assert np.array_equal(v[:, :raw.shape[1]], (q[:, 0::2] + 1j * q[:, 1::2]).astype(np.complex64))
    assert abs(v[:, raw.shape[1]:].mean()) < 1e-6  # the padding averages to the 15.5 bias
    assert_same_orbit(sc, raw, tol_m=0.02, tol_mps=2e-3)


def test_asar_raw_is_refused(ims, tmp_path):
    _, path, _, _ = ims
    p = tmp_path / path.name.replace("ASA_IMS_1P", "ASA_IM__0P")
    data = path.read_bytes()
    p.write_bytes(data.replace(b"ASA_IMS_1P", b"ASA_IM__0P", 1))
    with pytest.raises(InputFileError, match="FBAQ"):
        read_scene(str(p), "ENVISAT")
    q = tmp_path / "imp.N1"
    q.write_bytes(data.replace(b"ASA_IMS_1P", b"ASA_IMP_1P", 1))
    with pytest.raises(InputFileError, match="single-look complex"):
        read_scene(str(q), "ENVISAT")


def test_cli_ingest_and_info(ims, tmp_path):
    _, path, _, _ = ims
    store = tmp_path / "asar.zarr"
    r = runner.invoke(app, ["ingest", str(path), "-o", str(store), "--sensor", "ENVISAT"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["info", str(store)])
    assert r.exit_code == 0 and "ENVISAT (Envisat)" in r.output and "128 lines x 128 samples" in r.output


def _dsd_offset(path: Path, name: str) -> int:
    data = path.read_bytes()
    mph, sph, dsds = er.read_headers(str(path), len(data), data[:1 << 20])
    return dsds[name].offset


def _envisat_cases(path: Path) -> list[Case]:
    name = path.name
    data = path.read_bytes()
    mph_end = er.MPH_SIZE
    sph_text = data[mph_end: mph_end + 4000]
    mpp = _dsd_offset(path, "MAIN PROCESSING PARAMS ADS")
    mds = _dsd_offset(path, "MDS1")
    geo = _dsd_offset(path, "GEOLOCATION GRID ADS")
    dop = _dsd_offset(path, "DOP CENTROID COEFFS ADS")
    f32 = lambda x: np.array([x], ">f4").tobytes()  # noqa: E731

    def key_at(key: bytes, base: int = 0) -> int:
        return data.index(key, base) + len(key)

    num_dsd = key_at(b"NUM_DSD=")
    sph_size = key_at(b"SPH_SIZE=")
    dsd0 = key_at(b"DS_OFFSET=", mph_end + sph_text.index(b'DS_NAME="MAIN'))
    dsr = key_at(b"DSR_SIZE=", mph_end + sph_text.index(b'DS_NAME="MDS1 '))
    cases = [Case(f"truncate-{c}", truncate(name, c), name) for c in
             (0, 8, 500, 1247, 1300, mds - 10, mds + 5, len(data) - 3)]
    cases += seeded_flips(name, [(num_dsd + 1, 10, "digit"), (sph_size + 1, 10, "digit"), (dsd0 + 1, 20, "digit"),
                                 (dsr + 1, 10, "digit"), (9, 3, "text")], 10, seed=11)
    for c in cases[-10:]:
        c.target = name
    cases += [
        Case("not-envisat", write(name, b"hello world\n" * 200), name),
        Case("garbage", write(name, np.random.default_rng(3).integers(0, 256, 20000, np.uint8).tobytes()), name),
        Case("no-product-key", overwrite(name, 0, b"PRODUKT="), name),
        Case("wrong-mission", overwrite(name, 9, b"XYZ_IMS_1P"), name),
        Case("missing", remove(name), name),
        Case("radar-freq-nan", overwrite(name, mpp + 987, f32(np.nan)), name),
        Case("radar-freq-zero", overwrite(name, mpp + 987, f32(0.0)), name),
        Case("sampling-zero", overwrite(name, mpp + 983, f32(0.0)), name),
        Case("prf-nan", overwrite(name, mpp + 703, f32(np.nan)), name),
        Case("line-interval-zero", overwrite(name, mpp + 52, f32(0.0)), name),
        Case("absurd-lines", overwrite(name, mpp + 56, np.array([10**8], ">u4").tobytes()), name),
        Case("absurd-samples", overwrite(name, mpp + 60, np.array([10**7], ">u4").tobytes()), name),
        Case("state-vector-garbage", overwrite(name, mpp + 1777 + 36 * 2, np.array([2**30], ">i4").tobytes()), name),
        Case("state-vector-time", overwrite(name, mpp + 1765 + 36 * 3, np.array([99999], ">i4").tobytes()), name),
        Case("first-time-off", overwrite(name, mds, np.array([7300], ">i4").tobytes()), name),
        Case("range-time-nan", overwrite(name, geo + 69, f32(np.nan)), name),
        Case("doppler-inf", overwrite(name, dop + 17, f32(np.inf)), name),
        Case("wrong-polarization", overwrite(name, key_at(b'MDS1_TX_RX_POLAR="', mph_end), b"H/H"), name),
    ]
    return cases


def test_malformed_ims_products_are_refused(ims, tmp_path):
    _, path, _, _ = ims
    good = tmp_path / "good"
    good.mkdir()
    shutil.copy(path, good / path.name)
    cases = _envisat_cases(good / path.name)
    read = lambda p: read_scene(p, "ENVISAT", polarization="VV")  # noqa: E731
    counts = run_malformed(good, cases, read, tmp_path / "cases")
    print(f"Envisat format (ASA_IMS_1P): {len(cases)} malformed products, outcomes {dict(counts)}")
    assert sum(counts.values()) == len(cases) >= 30


def test_end_to_end_asar_ims_pair(sim, ims, tmp_path):
    """The pair read from .N1 files runs like the stores: geocoded LOS displacement vs truth within 1.1 x
    (+ 0.5 mm) of the same pair run from the daskinsar stores."""
    _, ref_path, _, sec_path = ims
    d = Path(sim.out_dir)
    figs = {}
    for kind, ref, sec in (("format", {"path": str(ref_path), "sensor": "ENVISAT"},
                            {"path": str(sec_path), "sensor": "ENVISAT"}),
                           ("store", {"path": str(d / "reference.zarr")}, {"path": str(d / "secondary.zarr")})):
        out = tmp_path / kind
        cfg = tmp_path / f"{kind}.yaml"
        cfg.write_text(yaml.safe_dump(run_config(ref, sec, str(d / "dem.tif"), out)))
        r = runner.invoke(app, ["run", str(cfg)])
        assert r.exit_code == 0, r.output
        figs[kind] = compare_with_truth(out, sim.truth)
    print("ASAR IMS e2e, geocoded LOS displacement vs truth:", {k: (v["rms_error_m"], v["n_pixels"])
                                                               for k, v in figs.items()})
    assert figs["format"]["n_pixels"] > 500
    assert figs["format"]["rms_error_m"] <= 1.1 * figs["store"]["rms_error_m"] + 0.5e-3
    assert figs["store"]["rms_error_m"] <= 0.005
