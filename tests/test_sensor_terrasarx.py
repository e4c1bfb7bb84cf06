"""TerraSAR-X SSC reader: round trip through the simulator's writer, mirrored storage, a real
annotation (OTB test data) against its own geolocation grid, the CLI, and malformed inputs."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from daskinsar.cli import app
from daskinsar.geometry.ellipsoid import SPEED_OF_LIGHT as C
from daskinsar.geometry.rdr2geo import rdr2geo
from daskinsar.io import terrasarx
from daskinsar.io.readers import detect_reader, get_reader, read_scene
from daskinsar.io.store import open_scene
from daskinsar.scene import Scene, radar_grid_coords
from daskinsar.simulate.formats import write_terrasarx
from sensor_formats import DATA, Case, absolute_times, copy_product, file_named, flip_bit, remove_element, \
    run_cases, set_text, simulate, swap_texts, truncate, xml_tag_flips

REAL_XML = DATA / "tsx1_ssc_20080310_otb_trimmed.xml"
REAL_GRID = DATA / "tsx1_ssc_20080310_otb_georef_points.json"


@pytest.fixture(scope="module")
def product(tmp_path_factory):
    d = tmp_path_factory.mktemp("tsx")
    sim = simulate("terrasarx", d / "pair", n=128)
    scene = open_scene(sim.reference)
    return scene, write_terrasarx(scene, str(d / "TSX_REF"))


def _scale(xml_path: str) -> float:
    return float(re.search(r"digital numbers = ([0-9.E+-]+) x", Path(xml_path).read_text()).group(1))


def test_round_trip(product):
    scene, path = product
    assert detect_reader(path).name == "TERRASARX" and detect_reader(str(Path(path).parent)).name == "TERRASARX"
    sc = read_scene(path, chunks=(50, 37))
    m, m0 = sc.meta, scene.meta
    # grid: the annotation carries UTC to the microsecond, range time to 17 digits
    assert np.max(np.abs(absolute_times(sc) - absolute_times(scene))) < 6e-7
    assert np.max(np.abs(sc.slant_range - scene.slant_range)) < 1e-6
    assert m.wavelength_m == pytest.approx(m0.wavelength_m, rel=1e-12) and m.look_side == m0.look_side
    assert m.prf_hz == pytest.approx(1 / scene.grid_spacing[0], rel=1e-9)
    assert m.range_sampling_rate_hz == pytest.approx(C / (2 * scene.grid_spacing[1]), rel=1e-9)
    assert m.grid == "zero_doppler" and m.sensor == "TERRASARX" and m.polarization == "HH"
    assert m.range_bandwidth_hz == pytest.approx(m0.range_bandwidth_hz)
    # orbit: the same state vectors (positions and velocities) at the same absolute times
    t_abs = absolute_times(scene)[[0, 64, 127]]
    p0, v0 = scene.orbit.shift_epoch("2000-01-01T00:00:00").interpolate(t_abs)
    p1, v1 = sc.orbit.shift_epoch("2000-01-01T00:00:00").interpolate(t_abs)
    assert np.max(np.abs(p1 - p0)) < 1e-6 and np.max(np.abs(v1 - v0)) < 1e-9
    # pixels: int16 digital numbers = round(scale x scene), exactly
    dn = np.round(scene.data.slc.values.astype(np.complex128) * _scale(path))
    assert np.array_equal(sc.data.slc.values, dn.astype(np.complex64))
    assert np.array_equal(read_scene(path, chunks=128).data.slc.values, sc.data.slc.values)
    # lazy: one task per block, nothing read until computed
    assert sc.data.slc.data.npartitions == 3 * 4 and sc.data.slc.data.name.startswith("read-terrasarx-cosar")
    # Doppler zero (the scene's); FM rate from the orbit: about -2 v^2 / (wavelength R)
    assert np.allclose(m.doppler_centroid(sc.azimuth_time[:, None], sc.slant_range[None, :]), 0.0, atol=1e-6)
    ka = m.azimuth_fm_rate(sc.azimuth_time[64], sc.slant_range[64])
    approx = -2 * m.platform_velocity_mps ** 2 * 0.88 / (m.wavelength_m * sc.slant_range[64])
    assert ka < 0 and ka == pytest.approx(approx, rel=0.1)


def test_mirrored_storage_is_undone(product, tmp_path):
    """A product stored far-to-near / late-to-early reads back as the near-to-far, early-to-late one."""
    scene, path = product
    ref = read_scene(path).data.slc.values
    for start_with, rev_rows, rev_cols in (("EARLYAZFARRG", False, True), ("LATEAZNEARRG", True, False),
                                           ("LATEAZFARRG", True, True)):
        folder = tmp_path / start_with
        folder.mkdir()
        p = copy_product(path, folder)
        cos = file_named(folder, "*.cos")
        raw = np.fromfile(cos, np.uint8)
        rs = ref.shape[1]
        rtnb = 4 * (rs + 2)
        lines = raw[4 * rtnb:].reshape(-1, rtnb)
        valid, samples = lines[:, :8], lines[:, 8:].reshape(len(lines), rs, 4)
        if rev_cols:
            samples = samples[:, ::-1]
        if rev_rows:
            samples, valid = samples[::-1], valid[::-1]
        raw[4 * rtnb:] = np.concatenate([valid, samples.reshape(len(lines), -1)], axis=1).reshape(-1)
        raw.tofile(cos)
        set_text(p, "imageDataStartWith", start_with)
        assert np.array_equal(read_scene(p, chunks=(40, 48)).data.slc.values, ref), start_with


# ----------------------------------------------------------------------------------------- real metadata
def _grid_errors(ann, orbit=None) -> np.ndarray:
    pts = np.array(json.loads(REAL_GRID.read_text())["points"])
    m = ann.metadata() if hasattr(ann, "metadata") else ann.meta
    tau0 = ann.first_range_time_s if hasattr(ann, "first_range_time_s") else 2 * ann.slant_range[0] / C
    lon, lat, _ = rdr2geo(pts[:, 2], C / 2 * (tau0 + pts[:, 3]), orbit or ann.orbit, wavelength_m=m.wavelength_m,
                          look_side=m.look_side, dem=pts[:, 6])
    return np.stack([lat - pts[:, 4], lon - pts[:, 5]], -1)


def test_real_annotation_against_its_geolocation_grid():
    """OTB's real 2008 TSX-1 SSC annotation: rdr2geo from the parsed orbit and timing reproduces the
    product's own geolocation grid (GEOREF.xml points, at their heights) to < 1e-4 deg (measured 3.7e-5;
    the grid includes the 2.2 m atmospheric range delay of GEOREF.xml, not removed here)."""
    ann = terrasarx.parse_annotation(str(REAL_XML))
    m = ann.metadata()
    assert ann.mission == "TSX-1" and m.sensor == "TERRASARX" and m.look_side == "right"
    assert (ann.n_lines, ann.n_samples) == (32710, 15328) and m.epoch == "2008-03-10T13:32:20.083162000"
    assert m.wavelength_m == pytest.approx(C / 9.65e9) and ann.common_prf_hz == pytest.approx(3832.52399553571422)
    assert m.prf_hz == pytest.approx(1 / 2.60924658505246043e-4) and len(ann.orbit.time) == 12
    # the product's own polynomials, verbatim: Doppler and FM rate at their reference range time
    r_ref = C / 2 * 4.29691090330999552e-3
    assert m.doppler_centroid(-0.245270, r_ref) == pytest.approx(-88.9592826069711009, abs=0.05)
    assert m.azimuth_fm_rate(20.545018 - 20.083162, r_ref) == pytest.approx(-5433.52652964703884, abs=0.05)
    err = _grid_errors(ann)
    print(f"TSX real annotation vs GEOREF grid: max |dlat| {np.abs(err[:, 0]).max():.2e} deg, "
          f"max |dlon| {np.abs(err[:, 1]).max():.2e} deg over {len(err)} points")
    assert np.abs(err).max() < 1e-4
    # the scene corners the annotation states (at the heights the grid gives for those points)
    lon, lat, _ = rdr2geo(np.array([0.0]), np.array([C / 2 * ann.first_range_time_s]), ann.orbit,
                          wavelength_m=m.wavelength_m, look_side="right", dem=1.74510202394425869e3)
    assert abs(lat[0] - 36.2692959995967357) < 1e-4 and abs(lon[0] + 111.664738184032274) < 1e-4


def test_real_values_rebuilt_through_the_writer(tmp_path):
    """The real orbit and timing written by the simulator's writer and read back: the same geolocation."""
    ann = terrasarx.parse_annotation(str(REAL_XML))
    n = 16
    coords = radar_grid_coords(0.0, ann.line_interval_s, n, C / 2 * ann.first_range_time_s,
                               C / 2 * ann.range_time_step_s, n)
    rng = np.random.default_rng(3)
    z = (rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))).astype(np.complex64)
    scene = Scene(xr.Dataset({"slc": (("azimuth", "range"), z)}, coords=coords), ann.metadata(), ann.orbit)
    path = write_terrasarx(scene, str(tmp_path / "TSX_REAL"))
    back = read_scene(path)
    assert back.meta.epoch == scene.meta.epoch
    assert np.max(np.abs(back.azimuth_time - scene.azimuth_time)) < 1e-9
    err = _grid_errors(back, back.orbit)
    assert np.abs(err - _grid_errors(ann)).max() < 1e-8 and np.abs(err).max() < 1e-4


# ----------------------------------------------------------------------------------------- CLI
def test_cli_ingest_and_info(product, tmp_path):
    scene, path = product
    runner = CliRunner()
    for i, extra in enumerate(([], ["--sensor", "TERRASARX"], ["--sensor", "TSX"])):
        store = tmp_path / f"s{i}.zarr"
        res = runner.invoke(app, ["ingest", path, "-o", str(store), *extra])
        assert res.exit_code == 0, res.output
        info = runner.invoke(app, ["info", str(store)])
        assert info.exit_code == 0 and "TERRASARX" in info.output and "128" in info.output, info.output
    assert np.array_equal(open_scene(str(store)).data.slc.values, read_scene(path).data.slc.values)
    res = runner.invoke(app, ["ingest", path, "-o", str(tmp_path / "x.zarr"), "--sensor", "RADARSAT2"])
    assert res.exit_code != 0 and "RADARSAT-2" in res.output
    assert get_reader("TERRASARX") is get_reader("TANDEMX")


# ----------------------------------------------------------------------------------------- malformed inputs
def _xml(work: Path, path: str) -> str:
    return copy_product(path, work)


def _cases(path: str) -> list[Case]:
    def x(fn):  # break the annotation of a fresh copy
        return lambda w: fn(_xml(w, path))

    def cos(fn):  # break the COSAR file of a fresh copy
        def make(w):
            p = _xml(w, path)
            fn(file_named(w, "*.cos"))
            return p
        return make

    cases = [
        Case("no annotation file", lambda w: str(w / "missing.xml")),
        Case("empty annotation", x(lambda p: (Path(p).write_text(""), p)[1])),
        Case("truncated annotation 100 B", x(lambda p: truncate(p, 100))),
        Case("truncated annotation half", x(lambda p: truncate(p, Path(p).stat().st_size // 2))),
        Case("truncated annotation -20 B", x(lambda p: truncate(p, Path(p).stat().st_size - 20))),
        Case("wrong root element", x(lambda p: (Path(p).write_text(Path(p).read_text().replace(
            "level1Product", "level2Product")), p)[1])),
        Case("wrong mission", x(lambda p: set_text(p, "mission", "ERS-1", 1))),
        Case("detected product variant", x(lambda p: set_text(p, "productVariant", "MGD"))),
        Case("not COSAR", x(lambda p: set_text(p, "imageDataFormat", "GEOTIFF"))),
        Case("look direction", x(lambda p: set_text(p, "lookDirection", "UP"))),
        Case("negative rows", x(lambda p: set_text(p, "numberOfRows", "-5"))),
        Case("absurd rows", x(lambda p: set_text(p, "numberOfRows", "2000000000"))),
        Case("rows not a number", x(lambda p: set_text(p, "numberOfColumns", "abc"))),
        Case("zero row spacing", x(lambda p: set_text(p, "rowSpacing", "0.0"))),
        Case("NaN row spacing", x(lambda p: set_text(p, "rowSpacing", "NaN"))),
        Case("negative line interval", x(lambda p: set_text(p, "columnSpacing", "-2.6E-04"))),
        Case("zero frequency", x(lambda p: set_text(p, "centerFrequency", "0.0"))),
        Case("NaN frequency", x(lambda p: set_text(p, "centerFrequency", "NaN"))),
        Case("start/stop swapped", x(lambda p: swap_texts(p, "timeUTC", 0, 1))),
        Case("bad start time", x(lambda p: set_text(p, "timeUTC", "2020-13-45T25:61:00.0Z"))),
        Case("state vectors out of order", x(lambda p: swap_texts(p, "timeUTC", -1, -2))),
        Case("state vector count", x(lambda p: set_text(p, "numStateVectors", "99"))),
        Case("position inside the Earth", x(lambda p: set_text(p, "posX", "1.0E+03", 3))),
        Case("no state vectors", x(lambda p: [remove_element(p, "stateVec") for _ in range(
            Path(p).read_text().count("<stateVec "))][-1])),
        Case("last pixel time", x(lambda p: set_text(p, "lastPixel", "9.9E-03"))),
        Case("storage order", x(lambda p: set_text(p, "imageDataStartWith", "SIDEWAYS"))),
        Case("coefficient exponent", x(lambda p: (Path(p).write_text(Path(p).read_text().replace(
            'exponent="1"', 'exponent="7"', 1)), p)[1])),
        Case("RSF against row spacing", x(lambda p: set_text(p, "RSF", "5.0E+07"))),
        Case("missing polarisation", x(lambda p: p), options={"polarization": "VV"}),
        Case("no COSAR file", cos(lambda c: Path(c).unlink())),
        Case("COSAR truncated 30 B", cos(lambda c: truncate(c, 30))),
        Case("COSAR truncated half", cos(lambda c: truncate(c, Path(c).stat().st_size // 2))),
        Case("COSAR truncated -1 B", cos(lambda c: truncate(c, Path(c).stat().st_size - 1))),
        Case("COSAR extra bytes", cos(lambda c: open(c, "ab").write(b"\0" * 100))),
        Case("COSAR magic", cos(lambda c: flip_bit(c, 29, 4))),
        Case("COSAR range samples", cos(lambda c: flip_bit(c, 11, 1))),
        Case("COSAR line limits", cos(lambda c: flip_bit(c, 4 * 4 * 130 + 4 * 130 * 5 + 6, 64))),
    ]
    for k, (off, bit) in enumerate(xml_tag_flips(path, 8, seed=11)):
        cases.append(Case(f"annotation tag bit flip {k}", x(lambda p, off=off, bit=bit: flip_bit(p, off, bit))))
    return cases


def test_malformed_inputs(product, tmp_path):
    _, path = product
    cases = _cases(path)
    counts = run_cases(cases, path, tmp_path)
    print(f"TerraSAR-X malformed inputs: {len(cases)} cases -> {dict(counts)}")
    assert len(cases) >= 30 and sum(counts.values()) == len(cases)
    assert counts["accepted unchanged"] == 0
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_native_doppler_grid_is_labelled(product, tmp_path):
    """imageCoordinateType RAW: the grid is labelled native Doppler, with the Doppler centroid as its Doppler."""
    _, path = product
    p = copy_product(path, tmp_path)
    set_text(p, "imageCoordinateType", "RAW")
    set_text(p, "coefficient", "-95.5")  # first combinedDoppler / dopplerRate coefficient: make the Doppler non-zero
    m = read_scene(p).meta
    assert m.grid == "native_doppler" and m.grid_doppler == m.doppler_centroid
    assert read_scene(path).meta.grid == "zero_doppler"
