"""CEOS (ALOS / ALOS-2) reader: the real ALOS-2 leader against summary.txt, and generated products."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from daskinsar.errors import InputFileError
from daskinsar.geometry.ellipsoid import SPEED_OF_LIGHT as C
from daskinsar.geometry.ellipsoid import ecef_to_llh, llh_to_ecef
from daskinsar.geometry.orbit import Orbit, parse_utc
from daskinsar.io import ceos
from daskinsar.io.readers import detect_reader, get_reader


@pytest.fixture(scope="module")
def alos2_zip(data_dir) -> Path:
    return next((data_dir / "alos2_ceos_metadata").glob("*.zip"))


@pytest.fixture(scope="module")
def summary(alos2_zip) -> dict[str, str]:
    with zipfile.ZipFile(alos2_zip) as zf:
        name = next(n for n in zf.namelist() if n.endswith("summary.txt"))
        text = zf.read(name).decode()
    out = {}
    for ln in text.splitlines():
        if "=" in ln:
            k, v = ln.split("=", 1)
            out[k.strip()] = v.strip().strip('"')
    return out


@pytest.fixture(scope="module")
def product(alos2_zip):
    return ceos.open_ceos(alos2_zip)


@pytest.fixture()
def extracted(alos2_zip, tmp_path) -> Path:
    d = tmp_path / "alos2"
    with zipfile.ZipFile(alos2_zip) as zf:
        for n in zf.namelist():
            if not n.endswith(".jpg"):
                zf.extract(n, d)
    return d


def _summary_time(s: str) -> np.datetime64:
    # "20140909 04:33:47.052"
    return parse_utc(f"{s[:4]}-{s[4:6]}-{s[6:8]}T{s[9:]}")


def _xyz(lon, lat, h):
    v = llh_to_ecef(lon, lat, h)
    return (np.stack(v, -1) if isinstance(v, tuple) else np.asarray(v)).reshape(3)


# ---------------------------------------------------------------------------
def test_registry(alos2_zip, extracted):
    assert detect_reader(str(alos2_zip)).name == "ALOS2"
    led = next(extracted.rglob("LED-*"))
    assert detect_reader(str(led)).name == "ALOS2"
    assert get_reader("ALOS").name == "ALOS" and get_reader("ALOS-2").name == "ALOS2"
    assert not ceos.sniff_alos(str(alos2_zip))


def test_record_structure(product):
    recs = product.leader_records
    assert [r.sequence for r in recs] == list(range(1, len(recs) + 1))
    assert recs[0].type_code == 192 and recs[0].length == 720
    types = [r.type_code for r in recs]
    assert types[1:6] == [10, 20, 30, 40, 50]  # summary, map projection (1.5), platform, attitude, radiometric
    assert sum(r.length for r in recs) == 1611052  # the records tile the whole leader
    assert [r.type_code for r in product.volume][:2] == [192, 192]
    assert product.trailer[0].type_code == 192 and product.trailer[0].length == 720
    # the volume directory points at the files the summary lists
    vol_text = b"".join(r.data for r in product.volume)
    for kind in (b"SARLEADER FILE", b"IMAGERY OPTIONS FILE", b"SARTRAILER FILE"):
        assert kind in vol_text


def test_scene_times_and_centre_match_summary(product, summary):
    centre = parse_utc(product.scene_centre_time)
    assert centre == _summary_time(summary["Img_SceneCenterDateTime"])
    start, end = _summary_time(summary["Img_SceneStartDateTime"]), _summary_time(summary["Img_SceneEndDateTime"])
    assert start < centre < end and (centre - start) == (end - centre)
    assert product.meta.epoch == product.scene_centre_time  # no image records: epoch = scene centre
    assert product.summary["scene_centre_lat_deg"] == pytest.approx(float(summary["Img_FrameSceneCenterLatitude"]), abs=1e-3)
    assert product.summary["scene_centre_lon_deg"] == pytest.approx(float(summary["Img_FrameSceneCenterLongitude"]), abs=1e-3)
    assert summary["Lbi_Satellite"] == product.summary["mission"] == product.sensor == "ALOS2"
    assert summary["Lbi_ProcessLevel"] == product.meta.extra["product_level"] == "1.5"
    assert summary["Lbi_ObservationDate"] == product.scene_centre_time[:10].replace("-", "")


def test_radar_parameters(product, summary):
    m = product.meta
    # ALOS-2 PALSAR-2 centre frequency 1236.5 MHz
    assert C / m.wavelength_m == pytest.approx(1236.5e6, abs=1e6)
    assert 1500 < m.prf_hz < 3500 and m.azimuth_bandwidth_hz < m.prf_hz
    # FBD (28 MHz mode): 34.9 MHz sampling; chirp slope x length = range bandwidth (independent fields)
    assert m.range_sampling_rate_hz == pytest.approx(34.93e6, rel=1e-3)
    assert m.chirp.bandwidth_hz == pytest.approx(m.range_bandwidth_hz, rel=1e-3)
    assert m.range_bandwidth_hz < m.range_sampling_rate_hz
    assert m.look_side == "right"
    # pixel counts of the image files = summary's
    for img in product.images.values():
        assert img.descriptor["n_pixels"] == int(summary["Pdi_NoOfPixels_0"])
        assert img.descriptor["n_lines"] == int(summary["Pdi_NoOfLines_0"])
        assert img.descriptor["bits_per_sample"] == int(summary["Pdi_BitPixel"])
    assert sorted(product.images) == ["HH", "HV"]
    # Doppler polynomial in slant range km: tens of Hz at ~800 km
    assert abs(m.doppler_centroid(0.0, 850e3)) < 200


def test_orbit_against_leader_and_summary(product, summary):
    o = product.orbit
    assert len(o.time) == 28 and np.allclose(np.diff(o.time), 60.0)
    start = (_summary_time(summary["Img_SceneStartDateTime"]) - parse_utc(o.epoch)) / np.timedelta64(1, "s")
    end = (_summary_time(summary["Img_SceneEndDateTime"]) - parse_utc(o.epoch)) / np.timedelta64(1, "s")
    assert o.time[0] < start - 120 and o.time[-1] > end + 120
    # Hermite interpolation, leave-one-out (120 s gap) at the state vector times
    res = []
    for i in range(2, len(o.time) - 2):
        k = np.arange(len(o.time)) != i
        p, v = Orbit(o.epoch, o.time[k], o.position[k], o.velocity[k]).interpolate(o.time[i:i + 1])
        res.append(np.linalg.norm(p[0] - o.position[i]))
    assert max(res) < 0.01  # m (measured 0.8 mm)
    # sub-satellite point at scene centre time = the leader's nadir fields (independent record fields)
    s, v = o.interpolate(np.array([0.0]))
    s, v = s[0], v[0]
    lon, lat, h = (float(np.ravel(x)[0]) for x in ecef_to_llh(s))
    assert lat == pytest.approx(product.summary["nadir_lat_deg"], abs=2e-3)
    assert lon == pytest.approx(product.summary["nadir_lon_deg"], abs=2e-3)
    assert 620e3 < h < 650e3  # ALOS-2 altitude
    # the summary's scene centre is at zero Doppler at the centre time, on the right, at its off-nadir angle
    t = _xyz(float(summary["Img_FrameSceneCenterLongitude"]), float(summary["Img_FrameSceneCenterLatitude"]), 0.0)
    d = t - s
    assert abs(np.dot(d, v)) / (np.linalg.norm(d) * np.linalg.norm(v)) < 1e-3
    up = s / np.linalg.norm(s)
    assert np.dot(d, np.cross(v, up)) > 0  # right of the flight direction
    off_nadir = np.degrees(np.arccos(np.dot(d / np.linalg.norm(d), -up)))
    assert off_nadir == pytest.approx(float(summary["Img_OffNadirAngle"]), abs=0.5)
    n = t / np.linalg.norm(t)
    inc = np.degrees(np.arccos(np.dot(-d / np.linalg.norm(d), n)))
    assert inc == pytest.approx(product.summary["incidence_centre_deg"], abs=0.1)


def test_image_without_records_raises(alos2_zip, extracted):
    for path in (alos2_zip, extracted):
        with pytest.raises(InputFileError) as ei:
            ceos.read_ceos(str(path))
        msg = str(ei.value)
        assert "no image records" in msg and "IMG-HH-ALOS2015976960" in msg
    with pytest.raises(InputFileError, match="IMG-HV"):
        get_reader("ALOS2").read(str(alos2_zip), polarization="HV")


# ---------------------------------------------------------------------------
# generated level 1.1 SLC and level 1.0 raw products (built on the real leader)
# ---------------------------------------------------------------------------
def _write_product(d: Path, real_zip: Path, *, level: str, n_lines=37, n_pix=50, r0=850123.5) -> dict:
    d.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(real_zip) as zf:
        led = zf.read(next(n for n in zf.namelist() if "LED-" in n))
    recs = ceos.read_records(led, "LED")
    summ = bytearray(recs[1].data)
    off, n, _ = ceos.DATA_SET_SUMMARY["product_level"]
    summ[off:off + n] = level.ljust(n).encode()
    (d / "LED-TEST").write_bytes(recs[0].data + bytes(summ) + recs[3].data)  # descriptor, summary, platform
    raw = level.startswith("1.0")
    bits, spg, bpg = (8, 2, 2) if raw else (32, 2, 8)
    prefix = 412 if raw else 544
    reclen = prefix + n_pix * bpg
    desc = ceos.build_record(ceos.IMAGE_FILE_DESCRIPTOR, {
        "ascii_flag": "A", "format_document": "CEOS-SAR", "n_records": n_lines, "record_length": reclen,
        "bits_per_sample": bits, "samples_per_group": spg, "bytes_per_group": bpg, "n_channels": 1,
        "n_lines": n_lines, "left_border": 0, "n_pixels": n_pix, "right_border": 0, "interleaving": "BSQ",
        "records_per_line": 1, "prefix_bytes": prefix, "data_bytes": n_pix * bpg, "suffix_bytes": 0,
        "format_code": "CU1" if raw else "C*8"}, sequence=1, codes=(50, 192, 18, 18), length=720)
    rng = np.random.default_rng(1)
    lines = []
    if raw:
        data = rng.integers(0, 32, (n_lines, 2 * n_pix)).astype(np.uint8)
    else:
        data = (rng.standard_normal((n_lines, n_pix)) + 1j * rng.standard_normal((n_lines, n_pix))).astype(np.complex64)
    sod0 = 4 * 3600 + 33 * 60 + 42.25  # 04:33:42.25
    prf_mhz = 2122318
    for i in range(n_lines):
        us = int(round((sod0 + i / (prf_mhz * 1e-3)) * 1e6))
        head = ceos.build_record(ceos.SIGNAL_DATA_RECORD, {
            "line_number": i + 1, "record_index": 1, "n_pixels": n_pix, "year": 2014, "day_of_year": 252,
            "ms_of_day": us // 1000, "us_of_day": us, "prf_mhz": prf_mhz, "slant_range_first_sample_m": int(r0)},
            sequence=i + 2, codes=(50, 10 if raw else 11, 18, 20), length=prefix)
        if raw:
            body = data[i].tobytes()
        else:
            iq = np.empty(2 * n_pix, ">f4")
            iq[0::2], iq[1::2] = data[i].real, data[i].imag
            body = iq.tobytes()
        rec = bytearray(head + body)
        rec[8:12] = np.array([reclen], ">i4").tobytes()
        lines.append(bytes(rec))
    (d / "IMG-HH-TEST").write_bytes(desc + b"".join(lines))
    return {"data": data, "r0": int(r0), "sod0": sod0, "prf": prf_mhz * 1e-3, "n_lines": n_lines, "n_pix": n_pix}


def test_generated_slc_lazy_read(alos2_zip, tmp_path):
    truth = _write_product(tmp_path / "slc", alos2_zip, level="1.1")
    sc = ceos.read_ceos(str(tmp_path / "slc"), chunks=8)
    a = sc.data["slc"]
    assert a.shape == (truth["n_lines"], truth["n_pix"]) and a.dtype == np.complex64
    assert a.data.npartitions == 5  # 37 lines in chunks of 8: lazy, one task per block of lines
    assert np.array_equal(a.values, truth["data"])
    assert np.array_equal(ceos.read_ceos(str(tmp_path / "slc"), chunks=1000).data["slc"].values, truth["data"])
    assert sc.meta.level == "slc" and sc.meta.sensor == "ALOS2"
    assert sc.meta.epoch.startswith("2014-09-09T04:33:42.25")
    assert sc.slant_range[0] == truth["r0"]
    assert sc.grid_spacing[0] == pytest.approx(1 / truth["prf"])
    assert sc.grid_spacing[1] == pytest.approx(C / (2 * sc.meta.range_sampling_rate_hz))
    assert sc.orbit.epoch == sc.meta.epoch
    # the orbit counted from the first line (4.802 s before the scene centre time)
    real = ceos.open_ceos(alos2_zip).orbit
    assert np.allclose(sc.orbit.time - real.time, 47.052 - 42.25, atol=1e-6)


def test_generated_raw_read(alos2_zip, tmp_path):
    truth = _write_product(tmp_path / "raw", alos2_zip, level="1.0")
    sc = ceos.read_ceos(str(tmp_path / "raw"), sensor="ALOS2", chunks=10)
    assert sc.meta.level == "raw" and "raw" in sc.data
    v = sc.data["raw"].values
    d = truth["data"].astype(np.float32)
    # complex samples = (I - bias_I) + j (Q - bias_Q), biases from the leader's data set summary
    bias = [sc.meta and ceos.open_ceos(str(tmp_path / "raw")).summary[k] for k in ("dc_bias_i", "dc_bias_q")]
    bias = [0.0 if not np.isfinite(x) else x for x in bias]
    assert np.allclose(d[:, 0::2] - v.real, bias[0], atol=1e-5)
    assert np.allclose(d[:, 1::2] - v.imag, bias[1], atol=1e-5)
    assert v.shape == (truth["n_lines"], truth["n_pix"])


# ---------------------------------------------------------------------------
# bad input: InputFileError naming the file
# ---------------------------------------------------------------------------
LED_CUTS = [0, 5, 11, 12, 100, 719, 720, 1000, 4815, 5000, 6500, 11000]


@pytest.mark.parametrize("cut", LED_CUTS)
def test_truncated_leader(extracted, cut):
    led = next(extracted.rglob("LED-*"))
    led.write_bytes(led.read_bytes()[:cut])
    t0 = time.perf_counter()
    with pytest.raises(InputFileError) as ei:
        ceos.open_ceos(str(led.parent))
    assert "LED-" in str(ei.value) and time.perf_counter() - t0 < 5


@pytest.mark.parametrize("case", ["garbage", "text", "bad_length", "huge_length", "wrong_first_type", "no_platform",
                                  "bad_time", "zero_prf", "bad_state_vector"])
def test_damaged_leader(extracted, case):
    led = next(extracted.rglob("LED-*"))
    b = bytearray(led.read_bytes())
    if case == "garbage":
        b = bytearray(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    elif case == "text":
        b = bytearray(b"this is a readme, not a leader\n" * 100)
    elif case == "bad_length":
        b[720 + 8:720 + 12] = np.array([7], ">i4").tobytes()
    elif case == "huge_length":
        b[720 + 8:720 + 12] = np.array([10**9], ">i4").tobytes()
    elif case == "wrong_first_type":
        b[5] = 10
    elif case == "no_platform":
        b[6436 + 5] = 77
    elif case == "bad_time":
        off = 720 + ceos.DATA_SET_SUMMARY["scene_centre_time"][0]
        b[off:off + 17] = b"2014XX09043347052"
    elif case == "zero_prf":
        off, n, _ = ceos.DATA_SET_SUMMARY["prf_mhz"]
        b[720 + off:720 + off + n] = b"0".rjust(n)
    elif case == "bad_state_vector":
        b[6436 + 386:6436 + 386 + 22] = b"x" * 22
    led.write_bytes(bytes(b))
    with pytest.raises(InputFileError) as ei:
        ceos.open_ceos(str(extracted))
    assert str(extracted) in str(ei.value) or "LED-" in str(ei.value)


@pytest.mark.parametrize("case", ["img_empty", "img_short", "img_not_descriptor", "img_truncated_records",
                                  "no_led", "zip_truncated", "zip_empty", "missing"])
def test_damaged_product(alos2_zip, tmp_path, case):
    d = tmp_path / "p"
    truth = _write_product(d, alos2_zip, level="1.1")
    img = d / "IMG-HH-TEST"
    target, named = str(d), "IMG-HH-TEST"
    if case == "img_empty":
        img.write_bytes(b"")
    elif case == "img_short":
        img.write_bytes(img.read_bytes()[:300])
    elif case == "img_not_descriptor":
        b = bytearray(img.read_bytes())
        b[5] = 11
        img.write_bytes(bytes(b))
    elif case == "img_truncated_records":
        img.write_bytes(img.read_bytes()[: 720 + 3 * (544 + 8 * truth["n_pix"]) + 100])
    elif case == "no_led":
        (d / "LED-TEST").unlink()
        named = str(d)
    elif case == "zip_truncated":
        z = tmp_path / "p.zip"
        z.write_bytes(alos2_zip.read_bytes()[:200000])
        target = named = str(z)
    elif case == "zip_empty":
        z = tmp_path / "e.zip"
        z.write_bytes(b"")
        target = named = str(z)
    elif case == "missing":
        target = named = str(tmp_path / "nothing")
    with pytest.raises(InputFileError) as ei:
        ceos.read_ceos(target).data["slc"].values
    assert named in str(ei.value)
