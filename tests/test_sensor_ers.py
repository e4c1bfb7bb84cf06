"""ERS-1/2 ESA CEOS reader (SAR.RAW, SAR.SLC-I): simulated ERS pairs written as CEOS products and read back,
the CLI, Delft ODR orbits, the mission checks of the CEOS readers, and malformed products."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from daskinsar.cli import app
from daskinsar.errors import InputFileError
from daskinsar.io import ceos_ers
from daskinsar.io.ceos_records import DATA_SET_SUMMARY, IMAGE_FILE_DESCRIPTOR
from daskinsar.io.readers import get_reader, read_scene
from daskinsar.io.store import open_scene
from daskinsar.simulate import simulate_pair
from daskinsar.simulate.formats.ers_ceos import quantize_raw, raw_gain, slc_scale, write_ers_ceos
from daskinsar.simulate.formats.orbit_files import write_odr

from sensor_formats_b import (Case, assert_same_grid, assert_same_orbit, ers_config, flip_bit, int16_of, long_orbit,
                              on_ers_grid, overwrite, remove, run_malformed, seeded_flips, truncate, write)

runner = CliRunner()
LEA, DAT = "LEA_01.001", "DAT_01.001"
DSS_AT = 720  # the data set summary follows the 720-byte leader file descriptor


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    return simulate_pair(ers_config(), tmp_path_factory.mktemp("ers") / "pair", chunks=128, level="raw")


@pytest.fixture(scope="module")
def slc_product(sim, tmp_path_factory):
    ref = open_scene(sim.reference)
    return ref, Path(write_ers_ceos(ref, str(tmp_path_factory.mktemp("ers_slc") / "ERS2_SLC")))


@pytest.fixture(scope="module")
def raw_product(sim, tmp_path_factory):
    raw = on_ers_grid(open_scene(sim.reference_raw))
    return raw, Path(write_ers_ceos(raw, str(tmp_path_factory.mktemp("ers_raw") / "ERS2_RAW")))


def test_slc_round_trip(slc_product):
    ref, path = slc_product
    sc = read_scene(str(path), "ERS")
    m = sc.meta
    assert (m.sensor, m.platform, m.level, m.grid, m.look_side, m.polarization) == \
        ("ERS", "ERS-2", "slc", "zero_doppler", "right", "VV")
    # the reference grid starts on a whole millisecond: the 1 ms CEOS time resolution loses nothing
    assert_same_grid(sc, ref, t_tol_s=1e-6, r_tol_m=2e-3, dt_rel=1e-9)
    assert m.wavelength_m == pytest.approx(ref.meta.wavelength_m, rel=1e-9)
    assert m.range_sampling_rate_hz == pytest.approx(ceos_ers.ERS_FS_HZ, rel=1e-9)
    assert m.chirp.bandwidth_hz == pytest.approx(ceos_ers.ERS_CHIRP_BW_HZ, rel=1e-9)
    assert m.chirp.duration_s == pytest.approx(37.12e-6, rel=1e-9)
    assert_same_orbit(sc, ref, tol_m=1e-3, tol_mps=1e-6)
    assert np.array_equal(sc.data["slc"].values, int16_of(ref.data["slc"].values, slc_scale(ref)))
    assert sc.data["slc"].data.npartitions == 1
    # chunking does not change the pixels
    sc8 = read_scene(str(path), "ERS", chunks=8)
    assert sc8.data["slc"].data.npartitions == 16
    assert np.array_equal(sc8.data["slc"].values, sc.data["slc"].values)
    # detection, and the leader or image file alone name the product
    assert get_reader("ERS2").name == "ERS"
    for p in (path, path / LEA, path / DAT):
        assert read_scene(str(p)).meta.sensor == "ERS"


def test_secondary_times_to_the_ceos_millisecond(sim, tmp_path):
    sec = open_scene(sim.secondary)
    sc = read_scene(write_ers_ceos(sec, str(tmp_path / "sec")))
    assert_same_grid(sc, sec, t_tol_s=0.5e-3, r_tol_m=2e-3, dt_rel=1e-9)


def test_raw_round_trip(raw_product):
    raw, path = raw_product
    sc = read_scene(str(path), "ERS")
    m = sc.meta
    assert (m.level, m.grid, m.sensor) == ("raw", "native_doppler", "ERS")
    assert m.prf_hz == ceos_ers.ers_prf(2820)
    assert sc.slant_range[0] == pytest.approx(raw.slant_range[0], abs=1e-6)  # the SWST code's range
    assert_same_grid(sc, raw, t_tol_s=0.5e-3, r_tol_m=1e-6, dt_rel=1e-12)
    q = quantize_raw(raw.data["raw"].values, raw_gain(raw)).astype(np.float32) - 15.5
    assert np.array_equal(sc.data["raw"].values, (q[:, 0::2] + 1j * q[:, 1::2]).astype(np.complex64))
    assert m.extra["missing_lines"] == 0 and m.extra["pri_code"] == 2820


def _raw_layout(path: Path):
    d = ceos_ers.open_ers(str(path)).descriptor
    return d["record_length"], 720


def test_raw_swst_change_and_missing_line(raw_product, tmp_path):
    """A window-start change half way shifts those lines right by 4 samples per code; a gap in the image
    format counter becomes a zero line."""
    raw, path = raw_product
    d = tmp_path / "p"
    shutil.copytree(path, d)
    reclen, start = _raw_layout(d)
    data = bytearray((d / DAT).read_bytes())
    n = raw.shape[0]
    sw_off = ceos_ers.ERS_RAW_LINE["swst_code"][0]
    cnt_off = ceos_ers.ERS_RAW_LINE["image_format_counter"][0]
    k_sw, k_gap = n // 2, n // 4
    for k in range(n):
        at = start + k * reclen
        if k >= k_sw:
            sw = int.from_bytes(data[at + sw_off: at + sw_off + 2], "big") + 22
            data[at + sw_off: at + sw_off + 2] = sw.to_bytes(2, "big")
        if k >= k_gap:
            c = int.from_bytes(data[at + cnt_off: at + cnt_off + 4], "big") + 1
            data[at + cnt_off: at + cnt_off + 4] = c.to_bytes(4, "big")
    (d / DAT).write_bytes(bytes(data))
    sc = read_scene(str(d), "ERS")
    good = read_scene(str(path), "ERS").data["raw"].values
    v = sc.data["raw"].values
    w = good.shape[1]
    assert sc.shape == (n + 1, w + 88)
    assert np.array_equal(v[:k_gap, :w], good[:k_gap]) and not v[:k_gap, w:].any()
    assert not v[k_gap].any()  # the missing line
    assert np.array_equal(v[k_gap + 1: k_sw + 1, :w], good[k_gap:k_sw])
    assert np.array_equal(v[k_sw + 1:, 88:], good[k_sw:]) and not v[k_sw + 1:, :88].any()
    assert sc.meta.extra["missing_lines"] == 1 and sc.meta.extra["swst_codes"][1] - sc.meta.extra["swst_codes"][0] == 22


def test_odr_orbit_file(slc_product, sim, tmp_path):
    ref, path = slc_product
    cfg = ers_config()
    odr = write_odr(long_orbit(cfg), str(tmp_path / "odr"))
    sc = read_scene(str(path), "ERS", orbit_file=odr)
    assert sc.meta.extra["orbit_source"].endswith("(ODR ERS-2   )")
    # xODR stores positions to ~1 cm; velocities come from the degree-8 fit
    assert_same_orbit(sc, ref, tol_m=0.02, tol_mps=2e-3)
    short = write_odr(long_orbit(cfg).crop(-1800.0, -100.0, margin=0), str(tmp_path / "short"))
    with pytest.raises(InputFileError, match="ODR.123.*covering the scene"):
        read_scene(str(path), "ERS", orbit_file=short)


def test_cli_ingest_and_info(slc_product, tmp_path):
    _, path = slc_product
    store = tmp_path / "ers.zarr"
    r = runner.invoke(app, ["ingest", str(path), "-o", str(store), "--sensor", "ERS"])
    assert r.exit_code == 0, r.output
    assert "ERS" in r.output and "128 x 128" in r.output
    r = runner.invoke(app, ["info", str(store)])
    assert r.exit_code == 0, r.output
    assert "sensor       ERS (ERS-2)" in r.output and "grid zero_doppler" in r.output
    r = runner.invoke(app, ["ingest", str(path), "-o", str(tmp_path / "x.zarr"), "--sensor", "ENVISAT"])
    assert r.exit_code != 0 and "error:" in r.output


def test_ceos_readers_refuse_other_missions(data_dir, slc_product, tmp_path):
    """The mission field decides: ALOS refuses ALOS-2 (never relabelled), ERS refuses another mission."""
    zip_path = str(next((data_dir / "alos2_ceos_metadata").glob("*.zip")))
    with pytest.raises(InputFileError, match="expected an? ALOS product.*mission 'ALOS2'"):
        get_reader("ALOS").read(zip_path)
    from daskinsar.io import ceos

    with pytest.raises(InputFileError, match="mission 'ALOS2'"):
        ceos.open_ceos(zip_path, sensor="ALOS")
    assert ceos.open_ceos(zip_path, sensor="ALOS2").sensor == "ALOS2"
    _, path = slc_product
    d = tmp_path / "p"
    shutil.copytree(path, d)
    off, n, _ = DATA_SET_SUMMARY["mission"]
    overwrite(LEA, DSS_AT + off, b"ALOS2".ljust(n))(d)
    with pytest.raises(InputFileError, match="mission 'ALOS2'"):
        read_scene(str(d), "ERS")


def _ceos_cases(kind: str) -> list[Case]:
    fdesc = {k: IMAGE_FILE_DESCRIPTOR[k] for k in ("n_records", "record_length", "bits_per_sample", "n_pixels",
                                                   "prefix_bytes", "bytes_per_group", "n_lines")}
    dss = DATA_SET_SUMMARY
    cases = [Case(f"truncate-leader-{c}", truncate(LEA, c)) for c in (0, 7, 12, 700, 720, 721, 1500, 2606, 2700)]
    cases += [Case(f"truncate-image-{c}", truncate(DAT, c)) for c in (0, 11, 300, 720, 1000, 5000, -7)]
    cases += seeded_flips(DAT, [(o, n, "digit") for o, n, _ in fdesc.values()] + [(5, 1, "byte")], 8,
                          seed=1 if kind == "slc" else 2)
    cases += seeded_flips(LEA, [(dss["mission"][0] + DSS_AT, 4, "text"), (4 + 720 + 1, 1, "byte"),
                                (8 + 720, 2, "byte"), (5, 1, "byte")], 6, seed=3 if kind == "slc" else 4)
    num = lambda name, text: overwrite(LEA, DSS_AT + dss[name][0], text.rjust(dss[name][1]).encode())  # noqa: E731
    cases += [
        Case("wrong-mission", overwrite(LEA, DSS_AT + dss["mission"][0], b"RSAT-1".ljust(16))),
        Case("wavelength-nan", num("wavelength_m", "NaN")),
        Case("wavelength-zero", num("wavelength_m", "0.0")),
        Case("sampling-zero", num("range_sampling_rate_mhz", "0.0")),
        Case("sampling-wrong", num("range_sampling_rate_mhz", "19.2076800")),
        Case("pulse-nan", num("pulse_length_us", "NaN")),
        Case("no-leader", remove(LEA)),
        Case("no-image", remove(DAT)),
        Case("garbage-leader", write(LEA, np.random.default_rng(5).integers(0, 256, 4000, np.uint8).tobytes())),
        Case("text-image", write(DAT, b"not an image\n" * 100)),
        Case("absurd-lines", overwrite(DAT, IMAGE_FILE_DESCRIPTOR["n_records"][0], b"999999")),
        Case("absurd-pixels", overwrite(DAT, IMAGE_FILE_DESCRIPTOR["n_pixels"][0], b"99999999")),
        Case("absurd-prefix", overwrite(DAT, IMAGE_FILE_DESCRIPTOR["prefix_bytes"][0], b"9999")),
        Case("zero-record-length", overwrite(DAT, IMAGE_FILE_DESCRIPTOR["record_length"][0], b"     0")),
        Case("product-type-mismatch", overwrite(LEA, DSS_AT + dss["product_type"][0],
                                                (b"ERS-2.SAR.RAW" if kind == "slc" else b"ERS-2.SAR.SLC-I").ljust(32))),
        Case("left-looking", num("clock_angle_deg", "-90.0")),
    ]
    if kind == "slc":
        cases += [Case("range-time-zero", num("zd_range_time_first_ms", "0.0")),
                  Case("bad-first-time", overwrite(LEA, DSS_AT + dss["zd_azimuth_time_first"][0],
                                                   b"31-FOO-1999 25:00:00.000")),
                  Case("prf-zero", num("prf_mhz", "0.0")),
                  Case("no-platform-record", flip_bit(LEA, 720 + 1886 + 5, 1))]
    else:
        sw = ceos_ers.ERS_RAW_LINE["swst_code"][0] + 720
        cases += [Case("swst-absurd", overwrite(DAT, sw, (60000).to_bytes(2, "big"))),
                  Case("clock-time-bad", num("satellite_clock_time", "2019XX31")),
                  Case("counter-backwards", overwrite(DAT, 720 + 2 * 12 + 0, b"")),
                  Case("binary-time-text", overwrite(LEA, DSS_AT + dss["satellite_binary_time"][0], b"abc".ljust(16)))]
    return cases


@pytest.mark.parametrize("kind", ["slc", "raw"])
def test_malformed_products_are_refused(kind, slc_product, raw_product, tmp_path):
    _, path = slc_product if kind == "slc" else raw_product
    cases = _ceos_cases(kind)
    if kind == "raw":  # a record counter running backwards
        reclen = ceos_ers.open_ers(str(path)).descriptor["record_length"]
        cnt = ceos_ers.ERS_RAW_LINE["image_format_counter"][0]
        cases[-2] = Case("counter-backwards", overwrite(DAT, 720 + 5 * reclen + cnt, (3).to_bytes(4, "big")))
    counts = run_malformed(path, cases, lambda p: read_scene(p, "ERS"), tmp_path)
    print(f"ERS CEOS {kind}: {len(cases)} malformed products, outcomes {dict(counts)}")
    assert sum(counts.values()) == len(cases) >= 30


def test_zipped_products_read_like_folders(slc_product, raw_product, tmp_path):
    import zipfile

    for _, path in (slc_product, raw_product):
        z = tmp_path / (path.name + ".zip")
        with zipfile.ZipFile(z, "w") as zf:
            for f in path.iterdir():
                zf.write(f, f"{path.name}/{f.name}")
        a, b = read_scene(str(z), "ERS"), read_scene(str(path), "ERS")
        var = a.main_variable
        assert np.array_equal(a.data[var].values, b.data[var].values)
        assert a.meta.epoch == b.meta.epoch and np.array_equal(a.slant_range, b.slant_range)
