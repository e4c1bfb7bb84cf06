"""RADARSAT-2 SLC reader: round trip through the simulator's writer (all line/pixel orderings), a
real product.xml (OTB test data) against its own geolocation tie points, the CLI, malformed inputs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from daskinsar.cli import app
from daskinsar.geometry.ellipsoid import SPEED_OF_LIGHT as C
from daskinsar.geometry.rdr2geo import rdr2geo
from daskinsar.io import radarsat2
from daskinsar.io._products import Xml
from daskinsar.io.readers import detect_reader, read_scene
from daskinsar.io.store import open_scene
from daskinsar.scene import Scene, radar_grid_coords
from daskinsar.simulate.formats import write_radarsat2
from sensor_formats import DATA, Case, absolute_times, copy_product, file_named, flip_bit, remove_element, \
    run_cases, set_text, simulate, swap_texts, truncate, xml_tag_flips

REAL_XML = DATA / "rs2_slc_fq9_20080405_otb_trimmed_product.xml"


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    d = tmp_path_factory.mktemp("rs2")
    return d, open_scene(simulate("radarsat2", d / "pair", n=128).reference)


@pytest.fixture(scope="module")
def product(sim):
    d, scene = sim
    return scene, write_radarsat2(scene, str(d / "RS2_REF"))


def _scale(xml_path: str) -> float:
    return float(re.search(r"<_simulationScale>([^<]+)<", Path(xml_path).read_text()).group(1))


@pytest.mark.parametrize("pixels,lines", [("Decreasing", "Increasing"), ("Increasing", "Increasing"),
                                          ("Increasing", "Decreasing"), ("Decreasing", "Decreasing")])
def test_round_trip(sim, pixels, lines):
    d, scene = sim
    path = write_radarsat2(scene, str(d / f"RS2_{pixels}_{lines}"), pixel_time_ordering=pixels,
                           line_time_ordering=lines)
    assert detect_reader(path).name == "RADARSAT2" and detect_reader(str(Path(path).parent)).name == "RADARSAT2"
    sc = read_scene(path, chunks=(50, 37))
    m, m0 = sc.meta, scene.meta
    # grid: product.xml has microsecond UTC (first/last line) and 16-digit spacing
    assert np.max(np.abs(absolute_times(sc) - absolute_times(scene))) < 6e-7
    assert np.max(np.abs(sc.slant_range - scene.slant_range)) < 1e-6
    assert m.wavelength_m == pytest.approx(m0.wavelength_m, rel=1e-12) and m.look_side == m0.look_side
    assert m.range_sampling_rate_hz == pytest.approx(m0.range_sampling_rate_hz, rel=1e-9)
    assert m.chirp.duration_s == pytest.approx(m0.chirp.duration_s) and \
        m.chirp.slope_hz_per_s == pytest.approx(m0.chirp.slope_hz_per_s)
    assert m.extra["acquisition_prf_hz"] == pytest.approx(m0.prf_hz) and m.sensor == "RADARSAT2"
    t_abs = absolute_times(scene)[[0, 64, 127]]
    p0, v0 = scene.orbit.shift_epoch("2000-01-01T00:00:00").interpolate(t_abs)
    p1, v1 = sc.orbit.shift_epoch("2000-01-01T00:00:00").interpolate(t_abs)
    assert np.max(np.abs(p1 - p0)) < 1e-3 and np.max(np.abs(v1 - v0)) < 1e-6  # 16 significant digits written
    dn = np.round(scene.data.slc.values.astype(np.complex128) * _scale(path))
    assert np.array_equal(sc.data.slc.values, dn.astype(np.complex64))
    assert np.array_equal(read_scene(path, chunks=128).data.slc.values, sc.data.slc.values)
    assert sc.data.slc.data.npartitions == 3 * 4
    ka = m.azimuth_fm_rate(sc.azimuth_time[64], sc.slant_range[64])
    approx = -2 * m.platform_velocity_mps ** 2 * 0.88 / (m.wavelength_m * sc.slant_range[64])
    assert ka < 0 and ka == pytest.approx(approx, rel=0.1)


# ----------------------------------------------------------------------------------------- real metadata
def _tie_point_errors(meta, orbit, near_range_m, spacing_m, n_samples, pixel_decreasing, line_interval_s):
    x = Xml.load(str(REAL_XML), "RS2 product.xml")
    err = []
    for tp in x.nodes("imageAttributes/geographicInformation/geolocationGrid/imageTiePoint"):
        line, pix = x.number("imageCoordinate/line", base=tp), x.number("imageCoordinate/pixel", base=tp)
        lat, lon, h = (x.number(f"geodeticCoordinate/{k}", base=tp) for k in ("latitude", "longitude", "height"))
        j = n_samples - 1 - pix if pixel_decreasing else pix
        lo, la, _ = rdr2geo(np.array([line * line_interval_s]), np.array([near_range_m + j * spacing_m]), orbit,
                            wavelength_m=meta.wavelength_m, look_side=meta.look_side, dem=h)
        err.append((la[0] - lat, lo[0] - lon))
    return np.array(err)


def test_real_product_against_its_tie_points():
    """OTB's real 2008 RADARSAT-2 FQ9 SLC product.xml (pixels stored far to near): rdr2geo from the parsed
    five-vector orbit and the zero-Doppler timing reproduces the product's geolocation tie points (at their
    453.2 m height) to < 1e-4 deg (measured 3e-5 deg)."""
    p = radarsat2.parse_product(str(REAL_XML))
    m = p.metadata()
    assert m.sensor == "RADARSAT2" and m.look_side == "right" and p.flip_cols and not p.flip_rows
    assert (p.n_lines, p.n_samples) == (12953, 2822) and p.polarizations == ["HV", "VH"]
    assert m.epoch == "2008-04-05T12:49:01.091411000" and len(p.orbit.time) == 5
    assert m.wavelength_m == pytest.approx(C / 5.404999242769673e9)
    # the line interval of a quad-pol product is two PRIs; the spacing is c / (2 fs)
    assert m.extra["line_interval_over_pri"] == pytest.approx(2.0, abs=2e-4)
    assert m.range_pixel_spacing_m == pytest.approx(C / (2 * 3.1669921875e7), rel=1e-6)
    r_ref = C / 2 * 5.9414622374e-3
    assert m.doppler_centroid(0.0, r_ref) == pytest.approx(-233.55839637)
    assert m.azimuth_fm_rate(0.0, r_ref) == pytest.approx(-2032.262259)
    err = _tie_point_errors(m, p.orbit, p.near_range_m, p.spacing_m, p.n_samples, True, p.line_interval_s)
    print(f"RS2 real product.xml vs tie points: max |dlat| {np.abs(err[:, 0]).max():.2e} deg, "
          f"max |dlon| {np.abs(err[:, 1]).max():.2e} deg over {len(err)} points")
    assert np.abs(err).max() < 1e-4


def test_real_values_rebuilt_through_the_writer(tmp_path):
    """The real orbit and timing (all 12953 lines, 4 samples wide) written by the simulator's writer and
    read back: the same geolocation of the tie points."""
    p = radarsat2.parse_product(str(REAL_XML))
    n, m = p.n_lines, 4
    coords = radar_grid_coords(0.0, p.line_interval_s, n, p.near_range_m, p.spacing_m, m)
    rng = np.random.default_rng(5)
    z = (rng.standard_normal((n, m)) + 1j * rng.standard_normal((n, m))).astype(np.complex64)
    scene = Scene(xr.Dataset({"slc": (("azimuth", "range"), z)}, coords=coords), p.metadata(), p.orbit)
    back = read_scene(write_radarsat2(scene, str(tmp_path / "RS2_REAL")))
    assert np.max(np.abs(back.azimuth_time - scene.azimuth_time)) < 1e-9 and back.meta.epoch == scene.meta.epoch
    # the real image's full size and pixel order, through the re-read orbit and timing
    err = _tie_point_errors(back.meta, back.orbit, back.slant_range[0], back.grid_spacing[1], p.n_samples, True,
                            back.grid_spacing[0])
    ref = _tie_point_errors(p.metadata(), p.orbit, p.near_range_m, p.spacing_m, p.n_samples, True, p.line_interval_s)
    assert np.abs(err - ref).max() < 1e-8 and np.abs(err).max() < 1e-4


# ----------------------------------------------------------------------------------------- CLI
def test_cli_ingest_and_info(product, tmp_path):
    _, path = product
    runner = CliRunner()
    for i, extra in enumerate(([], ["--sensor", "RADARSAT2"], ["--sensor", "RS2"])):
        store = tmp_path / f"s{i}.zarr"
        res = runner.invoke(app, ["ingest", str(Path(path).parent), "-o", str(store), *extra])
        assert res.exit_code == 0, res.output
        info = runner.invoke(app, ["info", str(store)])
        assert info.exit_code == 0 and "RADARSAT2" in info.output, info.output
    assert np.array_equal(open_scene(str(store)).data.slc.values, read_scene(path).data.slc.values)


# ----------------------------------------------------------------------------------------- malformed inputs
def _swap_first_last(p: str) -> str:
    t = Path(p).read_text()
    a = re.search(r"<zeroDopplerTimeFirstLine>([^<]*)<", t).group(1)
    b = re.search(r"<zeroDopplerTimeLastLine>([^<]*)<", t).group(1)
    set_text(p, "zeroDopplerTimeFirstLine", b)
    return set_text(p, "zeroDopplerTimeLastLine", a)


def _cases(path: str) -> list[Case]:
    def x(fn):
        return lambda w: fn(copy_product(path, w))

    def tif(fn):
        def make(w):
            p = copy_product(path, w)
            fn(file_named(w, "*.tif"))
            return p
        return make

    def other_tif(c):
        import rasterio

        with rasterio.open(c, "w", driver="GTiff", height=128, width=128, count=3, dtype="uint8") as ds:
            ds.write(np.zeros((3, 128, 128), np.uint8))

    def replace(old, new):
        return x(lambda p: (Path(p).write_text(Path(p).read_text().replace(old, new, 1)), p)[1])

    cases = [
        Case("no product.xml", lambda w: str(w / "product.xml")),
        Case("empty product.xml", x(lambda p: (Path(p).write_text(""), p)[1])),
        Case("truncated 80 B", x(lambda p: truncate(p, 80))),
        Case("truncated half", x(lambda p: truncate(p, Path(p).stat().st_size // 2))),
        Case("truncated -12 B", x(lambda p: truncate(p, Path(p).stat().st_size - 12))),
        Case("wrong root", replace("<product ", "<products ")),
        Case("RADARSAT-1", x(lambda p: set_text(p, "satellite", "RADARSAT-1"))),
        Case("RCM", x(lambda p: set_text(p, "satellite", "RCM-1"))),
        Case("detected product", x(lambda p: set_text(p, "productType", "SGF"))),
        Case("magnitude data", x(lambda p: set_text(p, "dataType", "Magnitude"))),
        Case("antenna pointing", x(lambda p: set_text(p, "antennaPointing", "Up"))),
        Case("zero frequency", x(lambda p: set_text(p, "radarCenterFrequency", "0.0"))),
        Case("NaN frequency", x(lambda p: set_text(p, "radarCenterFrequency", "nan"))),
        Case("two PRFs (ScanSAR)", replace("<antennaPointing>", '<pulseRepetitionFrequency beam="S2">'
                                           '1.2e3</pulseRepetitionFrequency><antennaPointing>')),
        Case("zero sampling rate", x(lambda p: set_text(p, "adcSamplingRate", "0"))),
        Case("spacing against sampling", x(lambda p: set_text(p, "sampledPixelSpacing", "5.5"))),
        Case("negative lines", x(lambda p: set_text(p, "numberOfLines", "-1"))),
        Case("lines against the image", x(lambda p: set_text(p, "numberOfLines", "200"))),
        Case("samples against the image", x(lambda p: set_text(p, "numberOfSamplesPerLine", "10"))),
        Case("line ordering", x(lambda p: set_text(p, "lineTimeOrdering", "Sideways"))),
        Case("first/last line swapped", x(_swap_first_last)),
        Case("bad first-line time", x(lambda p: set_text(p, "zeroDopplerTimeFirstLine", "yesterday"))),
        Case("state vectors out of order", x(lambda p: swap_texts(p, "timeStamp", 0, 1))),
        Case("NaN position", x(lambda p: set_text(p, "xPosition", "NaN", 2))),
        Case("position inside the Earth", x(lambda p: set_text(p, "zPosition", "1.0e+03", 1))),
        Case("one state vector", x(lambda p: [remove_element(p, "stateVector") for _ in range(
            Path(p).read_text().count("<stateVector>") - 1)][-1])),
        Case("multi-look product", x(lambda p: set_text(p, "numberOfAzimuthLooks", "2"))),
        Case("Doppler coefficients", x(lambda p: set_text(p, "dopplerCentroidCoefficients", "1.0 abc"))),
        Case("no image entry", x(lambda p: remove_element(p, "fullResolutionImageData"))),
        Case("missing polarisation", x(lambda p: p), options={"polarization": "VV"}),
        Case("no image file", tif(lambda c: Path(c).unlink())),
        Case("image truncated 100 B", tif(lambda c: truncate(c, 100))),
        Case("image truncated half", tif(lambda c: truncate(c, Path(c).stat().st_size // 2))),
        Case("image truncated -10 B", tif(lambda c: truncate(c, Path(c).stat().st_size - 10))),
        Case("image is text", tif(lambda c: Path(c).write_text("not a tiff"))),
        Case("image of 3 uint8 bands", tif(other_tif)),
    ]
    for k, (off, bit) in enumerate(xml_tag_flips(path, 8, seed=12)):
        cases.append(Case(f"product.xml tag bit flip {k}", x(lambda p, off=off, bit=bit: flip_bit(p, off, bit))))
    return cases


def test_malformed_inputs(product, tmp_path):
    _, path = product
    cases = _cases(path)
    counts = run_cases(cases, path, tmp_path)
    print(f"RADARSAT-2 malformed inputs: {len(cases)} cases -> {dict(counts)}")
    assert len(cases) >= 30 and sum(counts.values()) == len(cases) and counts["accepted unchanged"] == 0
