"""Sentinel-1 SAFE reader against the real IW SLC / GRD annotations (placeholder TIFFs)."""

from __future__ import annotations

import shutil
import time
import xml.etree.ElementTree as StdET
import zipfile
from pathlib import Path

import numpy as np
import pytest

from daskinsar.errors import InputFileError
from daskinsar.geometry.ellipsoid import SPEED_OF_LIGHT as C
from daskinsar.geometry.ellipsoid import llh_to_ecef
from daskinsar.geometry.orbit import Orbit, parse_utc
from daskinsar.io import sentinel1 as s1
from daskinsar.io.readers import detect_reader, get_reader
from daskinsar.stages import tops
from daskinsar.simulate.formats.orbit_files import write_eof


@pytest.fixture(scope="module")
def safe_dir(data_dir) -> Path:
    return data_dir / "sentinel1_safe"


@pytest.fixture(scope="module")
def slc_safe(safe_dir) -> Path:
    return next(safe_dir.glob("S1B_IW_SLC__*.SAFE"))


@pytest.fixture(scope="module")
def grd_safe(safe_dir) -> Path:
    return next(safe_dir.glob("S1B_IW_GRDH_*.SAFE"))


def _annotations(safe_dir):
    return sorted(safe_dir.glob("*.SAFE/annotation/s1*.xml"))


def _raw(path: Path):
    """Independent plain read of an annotation (stdlib ElementTree on a trusted file)."""
    return StdET.parse(path).getroot()


# ---------------------------------------------------------------------------
def test_registry_and_sniff(slc_safe, grd_safe):
    assert get_reader("SENTINEL1").name == "SENTINEL1"
    assert detect_reader(str(slc_safe)).name == "SENTINEL1"
    assert detect_reader(str(slc_safe / "manifest.safe")).name == "SENTINEL1"
    assert s1.sniff_sentinel1(str(grd_safe))
    assert not s1.sniff_sentinel1(str(slc_safe / "annotation"))


def test_lists_swaths_and_polarisations(slc_safe, grd_safe):
    prod = s1.open_safe(slc_safe)
    assert prod.product_type == "SLC"
    pairs = {(i["swath"], i["polarization"]) for i in prod.items}
    # exactly the annotation files present, each matched with its measurement
    on_disk = {(p.name.split("-")[1].upper(), p.name.split("-")[3].upper()) for p in (slc_safe / "annotation").glob("s1*.xml")}
    assert pairs == on_disk == {("IW1", "VV"), ("IW1", "VH"), ("IW2", "VH")}
    assert all(i["measurement"] is not None for i in prod.items)
    grd = s1.open_safe(grd_safe)
    assert grd.swaths == ["IW"] and grd.polarizations == ["VH", "VV"]
    assert {i["polarization"]: i["measurement"] is not None for i in grd.items} == {"VV": True, "VH": False}


@pytest.mark.parametrize("which", range(5))
def test_timing_against_annotation(safe_dir, which):
    path = _annotations(safe_dir)[which]
    sw = s1.read_annotation(path)
    r = _raw(path)
    ii = r.find("imageAnnotation/imageInformation")
    assert sw.epoch == ii.findtext("productFirstLineUtcTime")
    assert sw.near_range_m == pytest.approx(float(ii.findtext("slantRangeTime")) * C / 2, rel=1e-15)
    assert 790e3 < sw.near_range_m < 960e3
    f0 = float(r.findtext("generalAnnotation/productInformation/radarFrequency"))
    assert sw.wavelength_m == pytest.approx(C / f0) and 0.0554 < sw.wavelength_m < 0.0556
    assert sw.range_spacing_m == pytest.approx(C / (2 * sw.range_sampling_rate_hz))
    assert 1000 < sw.prf_hz < 3000
    assert (sw.n_lines, sw.n_samples) == (int(ii.findtext("numberOfLines")), int(ii.findtext("numberOfSamples")))
    meta = sw.metadata()
    assert meta.look_side == "right" and meta.epoch == sw.epoch and meta.sensor == "SENTINEL1"
    if not sw.is_slc:
        # GRD lines are evenly spaced from first to last line time
        last = (parse_utc(ii.findtext("productLastLineUtcTime")) - parse_utc(sw.epoch)) / np.timedelta64(1, "ns") * 1e-9
        assert last == pytest.approx((sw.n_lines - 1) * sw.azimuth_time_interval_s, abs=2 * sw.azimuth_time_interval_s)


def test_bursts_all_swaths(slc_safe):
    for sw in s1.open_safe(slc_safe).all_swaths():
        r = _raw(Path(sw.annotation))
        nb = int(r.find("swathTiming/burstList").get("count"))
        lpb = int(r.findtext("swathTiming/linesPerBurst"))
        assert len(sw.bursts) == nb and nb >= 9
        assert nb * lpb == sw.n_lines
        t = np.array([b.azimuth_time_s for b in sw.bursts])
        assert abs(t[0]) < 0.01 * sw.azimuth_time_interval_s  # first burst starts at the first line (µs rounding)
        cycle = np.diff(t)
        assert np.all((cycle > 2.7) & (cycle < 2.8))  # IW burst cycle time
        assert np.all(lpb * sw.azimuth_time_interval_s > cycle)  # consecutive bursts overlap in time
        for b in sw.bursts:
            assert b.first_line == b.index * lpb and b.n_lines == lpb
            fv, lv = np.array(b.first_valid_sample), np.array(b.last_valid_sample)
            assert len(fv) == len(lv) == lpb
            valid = fv >= 0
            assert 0.8 * lpb < valid.sum() < lpb
            assert np.all(lv[valid] > fv[valid]) and np.all(lv[valid] < sw.n_samples)
        # ESA's geolocation grid times at burst-start lines follow the burst timing (one constant offset)
        g = sw.grid
        lines, tg = g.line.values[:, 0], g.azimuth_time.values[:, 0]
        pred = []
        for ln in lines:
            k = min(int(ln // lpb), nb - 1)
            pred.append(sw.bursts[k].azimuth_time_s + (ln - sw.bursts[k].first_line) * sw.azimuth_time_interval_s)
        off = tg - np.array(pred)
        assert np.ptp(off) < 3e-6 and np.abs(off).max() < 1e-3


def test_orbit_all_swaths_hermite(slc_safe):
    for sw in s1.open_safe(slc_safe).all_swaths():
        o = sw.orbit
        assert o.epoch == sw.epoch and len(o.time) == 17
        assert np.allclose(np.diff(o.time), 10.0)
        assert o.time[0] < 0 and o.time[-1] > sw.n_lines * sw.azimuth_time_interval_s / 3  # covers the swath
        assert np.all(np.abs(np.linalg.norm(o.position, axis=1) - 7.07e6) < 3e4)
        assert np.all(np.abs(np.linalg.norm(o.velocity, axis=1) - 7.59e3) < 50)
        res = []
        for i in range(2, len(o.time) - 2):
            k = np.arange(len(o.time)) != i
            p, _ = Orbit(o.epoch, o.time[k], o.position[k], o.velocity[k]).interpolate(o.time[i:i + 1])
            res.append(np.linalg.norm(p[0] - o.position[i]))
        assert max(res) < 0.01  # leave-one-out (20 s gap) residual < 1 cm


@pytest.mark.parametrize("which", range(5))
def test_geolocation_grid_matches_zero_doppler_geometry(safe_dir, which):
    """ESA's grid (lat, lon, h) -> zero-Doppler time and range through the annotation orbit."""
    path = _annotations(safe_dir)[which]
    sw = s1.read_annotation(path)
    g = s1.geolocation_grid(path)
    assert g.attrs["epoch"] == sw.orbit.epoch
    assert g.sizes["grid_line"] * g.sizes["grid_pixel"] == int(_raw(path).find(
        "geolocationGrid/geolocationGridPointList").get("count"))
    assert np.allclose(g.slant_range, g.slant_range_time * C / 2, rtol=0, atol=1e-9)
    xyz = llh_to_ecef(g.longitude.values.ravel(), g.latitude.values.ravel(), g.height.values.ravel())
    xyz = (np.stack(xyz, -1) if isinstance(xyz, tuple) else np.asarray(xyz)).reshape(-1, 3)
    t = g.azimuth_time.values.ravel().copy()
    for _ in range(8):  # Newton on f(t) = (P - S(t)) . V(t)
        p, v = sw.orbit.interpolate(t)
        t -= np.sum((xyz - p) * v, -1) / -np.sum(v * v, -1)
    p, _ = sw.orbit.interpolate(t)
    rng = np.linalg.norm(xyz - p, axis=-1)
    assert np.abs(t - g.azimuth_time.values.ravel()).max() < 1e-4  # s
    assert np.abs(rng - g.slant_range.values.ravel()).max() < 0.05  # m


def test_doppler_and_fm_rate_all_swaths(slc_safe):
    for sw in s1.open_safe(slc_safe).all_swaths():
        r = _raw(Path(sw.annotation))
        assert len(sw.dc_estimates) == int(r.find("dopplerCentroid/dcEstimateList").get("count"))
        assert len(sw.fm_rates) == int(r.find("generalAnnotation/azimuthFmRateList").get("count"))
        tau = sw.slant_range_time_s + np.linspace(0, sw.n_samples - 1, 5) / sw.range_sampling_rate_hz
        for e in sw.dc_estimates:
            assert np.all(np.abs(e(tau)) < 200)  # data Doppler of a zero-Doppler steered S-1 swath
        for e in sw.fm_rates:
            # geometric prediction: ka = -2 Vs Vg / (lambda R), Vg ~ Vs * R_earth / |S|
            p, v = sw.orbit.interpolate(np.array([e.azimuth_time_s]))
            vs = np.linalg.norm(v[0])
            vg = vs * 6.3675e6 / np.linalg.norm(p[0])
            ka_geo = -2 * vs * vg / (sw.wavelength_m * tau * C / 2)
            assert np.allclose(e(tau), ka_geo, rtol=0.03)
        # the metadata tables reproduce the polynomials at the estimate times
        meta = sw.metadata()
        rr = tau * C / 2
        e = sw.dc_estimates[3]
        assert np.allclose(meta.doppler_centroid(np.full(5, e.azimuth_time_s), rr), e(tau), atol=0.5)
        f = sw.fm_rates[3]
        assert np.allclose(meta.azimuth_fm_rate(np.full(5, f.azimuth_time_s), rr), f(tau), rtol=1e-4)
        # JSON round trip keeps them
        back = type(meta).from_json(meta.to_json())
        assert back.bursts == meta.bursts and back.azimuth_fm_rate == meta.azimuth_fm_rate


def test_lazy_measurement_shape_and_chunking(slc_safe):
    sc = s1.measurement_raster(str(slc_safe), swath="IW2", polarization="VH", chunks=(1000, 4096))
    sw = s1.open_safe(slc_safe).swath("IW2", "VH")
    a = sc.data["slc"].data
    assert a.shape == (sw.n_lines, sw.n_samples) and a.dtype == np.complex64
    assert all(c % 1 == 0 for c in a.chunks[0])  # rows per strip = 1 here: any height aligns
    assert a.chunks[1] == (sw.n_samples,)  # compressed strips: one range chunk
    assert any(k[0].startswith("read-sentinel1-tiff") for k in a.__dask_graph__().keys())
    assert sc.shape == (sw.n_lines, sw.n_samples)
    assert sc.slant_range[0] == pytest.approx(sw.near_range_m)
    assert np.diff(sc.azimuth_time).mean() == pytest.approx(sw.azimuth_time_interval_s)
    win = a[995:1010, 100:130].compute()
    sc2 = s1.measurement_raster(str(slc_safe), swath="IW2", polarization="VH", chunks=(7, 100))
    win2 = sc2.data["slc"].data[995:1010, 100:130].compute()
    assert np.array_equal(win, win2)
    assert np.all(np.isfinite(win)) and np.ptp(win.real) == 0  # placeholder: constant content


def test_grd_reader(grd_safe):
    sc = s1.read_sentinel1(str(grd_safe))
    sw = s1.open_safe(grd_safe).swath(polarization="VV")
    assert sc.meta.level == "product" and sc.data["amplitude"].shape == (sw.n_lines, sw.n_samples)
    # ground-to-slant polynomials agree with ESA's grid slant range on every grid line
    g = sw.grid
    gr = sc.data["ground_range"].values
    for i in range(g.sizes["grid_line"]):
        pix = g.pixel.values[i].astype(int)
        r = s1.grd_slant_range(sw, float(g.azimuth_time.values[i, 0]), gr[pix])
        assert np.abs(r - g.slant_range.values[i]).max() < 1.0
    assert np.all(np.diff(sc.slant_range) > 0)


def test_zip_gives_same_product(slc_safe, tmp_path):
    z = tmp_path / (slc_safe.name.replace(".SAFE", ".zip"))
    with zipfile.ZipFile(z, "w", zipfile.ZIP_STORED) as zf:
        for f in slc_safe.rglob("*"):
            if f.is_file() and "calibration" not in f.parts and "support" not in f.parts:
                if f.suffix == ".tiff" and "iw1-slc-vv" not in f.name:
                    continue
                zf.write(f, f"{slc_safe.name}/{f.relative_to(slc_safe)}")
    assert detect_reader(str(z)).name == "SENTINEL1"
    a = s1.read_sentinel1(str(z), swath="IW1", polarization="VV").bursts[0]
    b = s1.read_sentinel1(str(slc_safe), swath="IW1", polarization="VV").bursts[0]
    assert a.meta.model_dump(exclude={"source_files"}) == b.meta.model_dump(exclude={"source_files"})
    assert np.array_equal(a.data["slc"][:3, :5].values, b.data["slc"][:3, :5].values)


def test_eof_reader_round_trip(slc_safe, tmp_path):
    sw = s1.open_safe(slc_safe).swath("IW1", "VV")
    eof = tmp_path / "S1B_OPER_AUX_POEORB_test.EOF"
    write_eof(sw.orbit, eof)
    o = s1.read_eof(eof, epoch=sw.epoch)
    assert np.allclose(o.time, sw.orbit.time, atol=1e-6)
    assert np.allclose(o.position, sw.orbit.position, atol=1e-3)
    assert np.allclose(o.velocity, sw.orbit.velocity, atol=1e-6)
    part = s1.read_eof(eof, t_start="2021-04-01T05:26:24", t_stop="2021-04-01T05:26:50", margin_s=15)
    assert 4 <= len(part.time) < len(o.time)


def test_tops_deramp_phase_properties(slc_safe):
    sw = s1.open_safe(slc_safe).swath("IW1", "VV")
    b = sw.bursts[4]
    n = b.n_lines
    # zero at the burst centre for the first range sample (eta = eta_ref = 0 there)
    assert tops.burst_deramp_phase(sw.tops_parameters(b), lines=np.array([n / 2.0]), samples=np.array([0]))[0, 0] == 0.0
    lines = np.arange(0, n, 50, dtype=float)
    samples = np.array([0, 5000, 15000])
    phi = tops.burst_deramp_phase(sw.tops_parameters(b), lines=lines, samples=samples)
    eta = (lines - n / 2.0) * sw.azimuth_time_interval_s
    for j in range(len(samples)):
        c = np.polyfit(eta, phi[:, j], 2)
        fit = np.polyval(c, eta)
        assert np.abs(fit - phi[:, j]).max() < 1e-6 * np.abs(phi[:, j]).max()  # exactly quadratic in eta
        kt = -c[0] / np.pi
        assert 1000 < kt < 3000  # Doppler centroid rate of IW1 (Hz/s)
        # the Doppler swept over one burst exceeds the PRF (TOPS), as it must
        assert kt * n * sw.azimuth_time_interval_s > sw.prf_hz
    # without demodulation the vertex is eta_ref: 0 at the first sample, moving (ms) with range
    phi0 = tops.burst_deramp_phase(sw.tops_parameters(b), lines=lines, samples=samples, demodulate=False)
    vertex = [-np.polyfit(eta, phi0[:, j], 2)[1] / (2 * np.polyfit(eta, phi0[:, j], 2)[0]) for j in range(3)]
    assert abs(vertex[0]) < 1e-9 and all(abs(v) < 0.05 for v in vertex) and abs(vertex[2]) > 1e-5
    # the demodulation term is linear in eta
    d = phi - phi0
    assert np.allclose(np.diff(d, 2, axis=0), 0, atol=1e-6)
    # deramping a simulated ramped burst leaves a baseband (constant) signal
    z = np.exp(1j * phi) * np.exp(-1j * phi)
    assert np.allclose(z, 1)


def test_chunking_independence_of_burst_kernel(slc_safe):
    sw = s1.open_safe(slc_safe).swath("IW1", "VV")
    full = tops.burst_deramp_phase(sw.tops_parameters(2), samples=np.arange(0, 21632, 997))
    half = np.concatenate([tops.burst_deramp_phase(sw.tops_parameters(2), lines=np.arange(0, 700),
                                                   samples=np.arange(0, 21632, 997)),
                           tops.burst_deramp_phase(sw.tops_parameters(2), lines=np.arange(700, 1501),
                                                   samples=np.arange(0, 21632, 997))])
    assert np.array_equal(full, half)


# ---------------------------------------------------------------------------
# bad input: every case ends in InputFileError naming the file, quickly
# ---------------------------------------------------------------------------
def _bad_annotation_cases(src: Path):
    data = src.read_bytes()
    text = data.decode()
    return {
        "empty": b"",
        "trunc10": data[: len(data) // 10],
        "trunc50": data[: len(data) // 2],
        "trunc99": data[:-20],
        "wrong_root": b"<?xml version='1.0'?><foo><bar/></foo>",
        "binary": bytes(range(256)) * 10,
        "json": b'{"product": 1}',
        "no_orbit": text.replace("<orbitList", "<orbitListX").replace("</orbitList>", "</orbitListX>").encode(),
        "bad_lines": text.replace("<numberOfLines>", "<numberOfLines>x", 1).encode(),
        "bad_time": text.replace("<productFirstLineUtcTime>2021", "<productFirstLineUtcTime>20X1", 1).encode(),
        "entity_bomb": b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><product>&b;</product>',
    }


@pytest.mark.parametrize("case", ["empty", "trunc10", "trunc50", "trunc99", "wrong_root", "binary", "json",
                                  "no_orbit", "bad_lines", "bad_time", "entity_bomb"])
def test_bad_annotation(safe_dir, tmp_path, case):
    src = _annotations(safe_dir)[2]
    bad = tmp_path / f"bad-{case}.xml"
    bad.write_bytes(_bad_annotation_cases(src)[case])
    t0 = time.perf_counter()
    with pytest.raises(InputFileError) as ei:
        s1.read_annotation(bad)
    assert str(bad) in str(ei.value) and time.perf_counter() - t0 < 10


def _copy_safe(slc_safe: Path, dst: Path, tiff: bool = True) -> Path:
    out = dst / slc_safe.name
    (out / "annotation").mkdir(parents=True)
    (out / "measurement").mkdir()
    shutil.copy(slc_safe / "manifest.safe", out / "manifest.safe")
    for f in (slc_safe / "annotation").glob("s1b-iw1-slc-vv*.xml"):
        shutil.copy(f, out / "annotation" / f.name)
    if tiff:
        for f in (slc_safe / "measurement").glob("s1b-iw1-slc-vv*.tiff"):
            shutil.copy(f, out / "measurement" / f.name)
    return out


def _mangle(case: str, slc_safe: Path, tmp: Path) -> tuple[Path, str]:
    """Build a damaged product; return (path to give the reader, text the error must name)."""
    if case == "empty_dir":
        d = tmp / "x.SAFE"
        d.mkdir()
        return d, str(d)
    if case == "missing_path":
        return tmp / "nope.SAFE", str(tmp / "nope.SAFE")
    out = _copy_safe(slc_safe, tmp)
    man = out / "manifest.safe"
    ann = next((out / "annotation").glob("*.xml"))
    tif = next((out / "measurement").glob("*.tiff"))
    if case == "manifest_empty":
        man.write_bytes(b"")
        return out, "manifest.safe"
    if case == "manifest_truncated":
        man.write_bytes(man.read_bytes()[:500])
        return out, "manifest.safe"
    if case == "manifest_not_xfdu":
        man.write_bytes(b"<?xml version='1.0'?><html/>")
        return out, "manifest.safe"
    if case == "no_annotation":
        ann.unlink()
        return out, str(out)
    if case == "annotation_truncated":
        ann.write_bytes(ann.read_bytes()[:3000])
        return out, ann.name
    if case == "tiff_empty":
        tif.write_bytes(b"")
        return out, tif.name
    if case == "tiff_garbage":
        tif.write_bytes(b"II*\x00" + b"\xff" * 100)
        return out, tif.name
    if case == "tiff_not_tiff":
        tif.write_bytes(b"hello world, this is not a TIFF" * 10)
        return out, tif.name
    if case == "tiff_truncated_data":
        b = tif.read_bytes()
        tif.write_bytes(b[: len(b) - 200000])
        return out, tif.name
    if case == "tiff_wrong_size":
        import tifffile

        tifffile.imwrite(tif, np.zeros((10, 20), np.uint16))
        return out, tif.name
    if case == "zip_empty":
        z = tmp / "x.zip"
        z.write_bytes(b"")
        return z, str(z)
    if case == "zip_truncated":
        z = tmp / "t.zip"
        with zipfile.ZipFile(z, "w") as zf:
            zf.write(man, "p.SAFE/manifest.safe")
            zf.write(ann, f"p.SAFE/annotation/{ann.name}")
        z.write_bytes(z.read_bytes()[:-300])
        return z, str(z)
    if case == "zip_no_manifest":
        z = tmp / "n.zip"
        with zipfile.ZipFile(z, "w") as zf:
            zf.writestr("p.SAFE/readme.txt", "hi")
        return z, str(z)
    raise AssertionError(case)


SAFE_CASES = ["empty_dir", "missing_path", "manifest_empty", "manifest_truncated", "manifest_not_xfdu",
              "no_annotation", "annotation_truncated", "tiff_empty", "tiff_garbage", "tiff_not_tiff",
              "tiff_truncated_data", "tiff_wrong_size", "zip_empty", "zip_truncated", "zip_no_manifest"]


@pytest.mark.parametrize("case", SAFE_CASES)
def test_bad_safe_products(slc_safe, tmp_path, case):
    path, named = _mangle(case, slc_safe, tmp_path)
    t0 = time.perf_counter()
    with pytest.raises(InputFileError) as ei:
        sc = s1.read_sentinel1(str(path), swath="IW1", polarization="VV").bursts[-1]
        sc.data["slc"].data[-2:, :].compute()  # damaged strips surface when read
    assert named in str(ei.value)
    assert time.perf_counter() - t0 < 20


@pytest.mark.parametrize("case", ["empty", "truncated", "no_osv", "bad_number", "one_osv"])
def test_bad_eof(slc_safe, tmp_path, case):
    sw = s1.open_safe(slc_safe).swath("IW1", "VV")
    eof = tmp_path / f"{case}.EOF"
    write_eof(sw.orbit, eof)
    text = eof.read_text()
    if case == "empty":
        eof.write_text("")
    elif case == "truncated":
        eof.write_text(text[: len(text) // 2])
    elif case == "no_osv":
        eof.write_text(text.replace("<OSV>", "<XSV>").replace("</OSV>", "</XSV>"))
    elif case == "bad_number":
        eof.write_text(text.replace("<X unit=\"m\">", "<X unit=\"m\">abc", 1))
    elif case == "one_osv":
        start = text.index("<OSV>")
        end = text.index("</OSV>") + 6
        eof.write_text(text[:start] + text[start:end] + text[text.rindex("</OSV>") + 6:])
    with pytest.raises(InputFileError) as ei:
        s1.read_eof(eof)
    assert str(eof) in str(ei.value)


def test_stripmap_annotation(safe_dir, tmp_path):
    """A stripmap (S1-S6) annotation has no bursts: the swath reads with the same timing and no burst list."""
    import re

    src = _annotations(safe_dir)[2]
    text = src.read_text()
    text = text.replace("<mode>IW</mode>", "<mode>S3</mode>", 1)
    text = re.sub(r"<burstList count=\"\d+\">.*?</burstList>", '<burstList count="0"/>', text, flags=re.S)
    sm = tmp_path / src.name.replace("-iw", "-s3")
    sm.write_text(text)
    iw = s1.read_annotation(src)
    got = s1.read_annotation(sm)
    assert not got.bursts
    assert got.mode == "S3"
    assert got.radar_frequency_hz == iw.radar_frequency_hz and got.prf_hz == iw.prf_hz
    assert got.n_lines == iw.n_lines and got.slant_range_time_s == iw.slant_range_time_s
    np.testing.assert_array_equal(got.orbit.position, iw.orbit.position)
