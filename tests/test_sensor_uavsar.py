"""UAVSAR RPI pair and stack readers: SCH reference-track geometry against independent ellipsoid facts, round
trips of UAVSAR-like scenes (here satellite-simulated L-band pixels relabelled onto an airborne SCH track: enough
for byte and metadata round trips, not geometrically consistent), native/zero Doppler grids, reader options, the
CLI and malformed products. The geometrically consistent end-to-end runs (a pair simulated on the simulator's
airborne platform, ``platform: airborne_sch``, written as an RPI pair and as a stack, through ``daskinsar run``)
are in ``tests/test_sensor_formats_e2e.py``."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from daskinsar.cli import app
from daskinsar.errors import InputFileError
from daskinsar.geometry.ellipsoid import SPEED_OF_LIGHT, ecef_to_llh, enu_basis, llh_to_ecef
from daskinsar.io.readers import detect_reader, read_scene
from daskinsar.io.store import open_scene
from daskinsar.io.uavsar_rpi import RPI_PRF_FACTOR, SchFrame, sch_orbit
from daskinsar.scene import Poly1D, Scene
from daskinsar.simulate import simulate_pair
from daskinsar.simulate.formats._common import scene_corners
from daskinsar.simulate.formats.uavsar_rpi import write_uavsar_rpi, write_uavsar_stack
from daskinsar.simulate.presets import preset

from sensor_formats_b import N_SIDE, Case, assert_same_grid, assert_same_orbit, remove, replace_text, run_malformed, \
    truncate, write

runner = CliRunner()
FRAME = SchFrame(36.2, -119.4, 12.5)
ALT_M, SPEED_MPS, DT_S, DR_M, R0_M = 12495.0, 228.0, 1.0 / 412.0, 1.6655, 14250.0


def uavsar_scene(slc: Scene, epoch: str, *, doppler: Poly1D | None) -> Scene:
    """The simulated pixels on a UAVSAR geometry: left-looking L band (23.79 cm), 80 MHz chirp of 40 us,
    1.6655 m range spacing from 14.25 km, a reference track at 12.495 km flown at 228 m/s."""
    rc = FRAME.radius_m
    v_s = SPEED_MPS * rc / (rc + ALT_M)
    n = slc.shape[0]
    orbit = sch_orbit(FRAME, epoch, -v_s * DT_S * n / 2, v_s, ALT_M, -1.0, n * DT_S + 1.0, 0.1)
    meta = slc.meta.model_copy(update=dict(
        sensor="SIMULATED", wavelength_m=0.2379, prf_hz=RPI_PRF_FACTOR / DT_S, azimuth_line_interval_s=DT_S,
        range_sampling_rate_hz=SPEED_OF_LIGHT / (2 * DR_M), range_pixel_spacing_m=DR_M, look_side="left",
        epoch=epoch, grid="zero_doppler" if doppler is None else "native_doppler",
        grid_doppler=doppler or Poly1D(coeffs=[0.0]), doppler_centroid=doppler or Poly1D(coeffs=[0.0]),
        chirp=slc.meta.chirp.model_copy(update=dict(slope_hz_per_s=-80e6 / 40e-6, duration_s=40e-6))))
    ds = slc.data.assign_coords(azimuth_time=("azimuth", np.arange(n) * DT_S),
                                slant_range=("range", R0_M + np.arange(slc.shape[1]) * DR_M))
    return Scene(ds, meta, orbit)


DOPPLER = Poly1D(reference=R0_M, scale=100.0, coeffs=[35.0, -1.5, 0.02])


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    cfg = preset("small", wavelength_m=0.2379, range_sampling_rate_hz=SPEED_OF_LIGHT / (2 * DR_M),
                 chirp_bandwidth_hz=80e6, chirp_duration_s=40e-6, n_azimuth=N_SIDE, n_range=N_SIDE)
    return simulate_pair(cfg, tmp_path_factory.mktemp("uav") / "pair", chunks=128)


@pytest.fixture(scope="module")
def pair(sim):
    return (uavsar_scene(open_scene(sim.reference), "2021-06-01T18:00:00", doppler=DOPPLER),
            uavsar_scene(open_scene(sim.secondary), "2021-06-09T18:30:05", doppler=DOPPLER))


@pytest.fixture(scope="module")
def rpi(pair, tmp_path_factory):
    return Path(write_uavsar_rpi(pair[0], str(tmp_path_factory.mktemp("rpi") / "rpi"), pair[1]))


def test_sch_frame_against_the_ellipsoid():
    """Independent facts: the peg is on the ellipsoid, s runs along the heading, c to the left, the sphere
    osculates the ellipsoid along the heading (height error third order in s)."""
    f = FRAME
    assert np.allclose(f.to_ecef(0.0, 0.0, 0.0), llh_to_ecef(f.lon_deg, f.lat_deg, 0.0), atol=1e-6)
    p, v = f.to_ecef(0.0, 0.0, ALT_M, 100.0, 0.0, 0.0)
    e, n, u = (np.asarray(b).reshape(3) for b in enu_basis(f.lon_deg, f.lat_deg))
    assert np.degrees(np.arctan2(v @ e, v @ n)) == pytest.approx(f.hdg_deg, abs=1e-9)
    assert abs(v @ u) < 1e-9 and np.linalg.norm(v) == pytest.approx(100.0 * (f.radius_m + ALT_M) / f.radius_m)
    lon, lat, h = ecef_to_llh(p)
    assert float(h) == pytest.approx(ALT_M, abs=1e-6)
    left = f.to_ecef(0.0, 1000.0, 0.0) - f.to_ecef(0.0, 0.0, 0.0)
    assert np.cross(v, left) @ u > 0  # left of the flight direction
    for s in (-5000.0, 5000.0):
        h_s = float(ecef_to_llh(f.to_ecef(s, 0.0, 0.0))[2])
        assert abs(h_s) < 2e-3  # 5 km along the osculating sphere: < 2 mm off the ellipsoid
    # the speed along the track is ds/dt scaled to the track height; positions at 0.1 s agree with velocities
    o = sch_orbit(f, "2021-01-01T00:00:00", 0.0, 200.0, ALT_M, 0.0, 10.0, 0.1)
    mid = 0.5 * (o.velocity[1:] + o.velocity[:-1]) * 0.1
    assert np.abs(np.diff(o.position, axis=0) - mid).max() < 1e-6


def test_rpi_round_trip(rpi, pair):
    for k, scene in ((1, pair[0]), (2, pair[1])):
        sc = read_scene(str(rpi), "UAVSAR_RPI", pass_number=k)
        m = sc.meta
        assert (m.sensor, m.level, m.grid, m.look_side, m.polarization) == \
            ("UAVSAR_RPI", "slc", "native_doppler", "left", "HH")
        assert_same_grid(sc, scene, t_tol_s=1e-9, r_tol_m=1e-6, dt_rel=1e-10)
        assert m.wavelength_m == pytest.approx(0.2379, rel=1e-12)
        assert m.chirp.slope_hz_per_s == pytest.approx(-2e12, rel=1e-9)
        assert_same_orbit(sc, scene, tol_m=1e-4, tol_mps=1e-6)
        assert m.platform_velocity_mps == pytest.approx(SPEED_MPS, rel=1e-9)
        r = sc.slant_range
        assert np.allclose(m.grid_doppler(0.0, r), DOPPLER(0.0, r), atol=1e-6)  # a quadratic is kept exactly
        assert np.array_equal(sc.data["slc"].values, scene.data["slc"].values)
        c = scene_corners(sc)
        assert m.extra["corner_upper_left_latitude_deg"] == pytest.approx(c["first_near"][0], abs=1e-7)
        assert m.extra["corner_lower_right_longitude_deg"] == pytest.approx(c["last_far"][1], abs=1e-7)
    assert detect_reader(str(rpi)).name == "UAVSAR_RPI"
    assert detect_reader(str(rpi.parent)).name == "UAVSAR_RPI"
    with pytest.raises(InputFileError, match="pass_number 1 or 2"):
        read_scene(str(rpi), "UAVSAR_RPI", pass_number=3)


def test_zero_doppler_rpi(sim, tmp_path):
    sc0 = uavsar_scene(open_scene(sim.reference), "2021-06-01T18:00:00", doppler=None)
    sc = read_scene(write_uavsar_rpi(sc0, str(tmp_path / "z")))
    assert sc.meta.grid == "zero_doppler" and sc.meta.extra["reskew_doppler_hz"] == [0.0, 0.0, 0.0]


def test_stack_dates_and_segments(pair, tmp_path):
    d = tmp_path / "stack"
    a = write_uavsar_stack(pair[0], str(d), terrain_height_m=250.0)
    write_uavsar_stack(pair[1], str(d), terrain_height_m=250.0)
    assert detect_reader(a).name == "UAVSAR_STACK"
    for date, scene in (("20210601", pair[0]), ("20210609", pair[1])):
        sc = read_scene(str(d), "UAVSAR_STACK", date=date, segment=1)
        assert sc.meta.sensor == "UAVSAR_STACK" and sc.meta.grid == "native_doppler"
        assert_same_grid(sc, scene, t_tol_s=1e-9, r_tol_m=1e-6, dt_rel=1e-10)
        assert_same_orbit(sc, scene, tol_m=1e-4, tol_mps=1e-6)
        # the .dop file (rad/m) fitted with a degree-6 polynomial reproduces the Doppler
        assert np.allclose(sc.meta.grid_doppler(0.0, sc.slant_range), DOPPLER(0.0, sc.slant_range), atol=1e-4)
        assert np.array_equal(sc.data["slc"].values, scene.data["slc"].values)
    with pytest.raises(InputFileError, match="date="):
        read_scene(str(d), "UAVSAR_STACK")
    with pytest.raises(InputFileError, match="segment 2"):
        read_scene(a, "UAVSAR_STACK", segment=2)
    with pytest.raises(InputFileError, match="an acquisition on 20200101"):
        read_scene(str(d), "UAVSAR_STACK", date="20200101")


def test_cli_ingest_and_info(rpi, tmp_path):
    store = tmp_path / "u.zarr"
    r = runner.invoke(app, ["ingest", str(rpi), "-o", str(store), "--sensor", "UAVSAR_RPI", "--option",
                            "pass_number=2"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["info", str(store)])
    assert r.exit_code == 0 and "UAVSAR_RPI (UAVSAR)" in r.output and "grid native_doppler, looks left" in r.output
    r = runner.invoke(app, ["ingest", str(rpi), "-o", str(tmp_path / "x.zarr"), "--sensor", "UAVSAR_RPI",
                            "--option", "segment=2"])
    assert r.exit_code != 0 and "has no option 'segment'" in r.output


def _rpi_cases(ann: str, slc1: str) -> list[Case]:
    def key(k: str, v: str) -> Case:
        return Case(f"value-{k}-{v}", _set_value(ann, k, v), ann)

    cases = [key("Center Wavelength", "NaN"), key("Center Wavelength", "0"), key("Center Wavelength", "-23.8"),
             key("Average Pulse Repetition Interval", "0.0"), key("Average Pulse Repetition Interval", "inf"),
             key("Single Look Complex Data Range Spacing", "0"), key("Single Look Complex Data Azimuth Lines", "12.5"),
             key("Single Look Complex Data Azimuth Lines", "99999999"),
             key("Single Look Complex Data Range Samples", "1000000"),
             key("Single Look Complex Data Range Samples", "0"),
             key("Single Look Complex Data at Near Range", "100.0"), key("Peg Latitude", "abc"),
             key("Global Average Altitude", "-5"),
             key("Start Time of Acquisition for Pass 1", "32-JUN-2021 18:00:00 UTC"),
             key("Radar Look Direction", "Up"), key("Reskew Doppler Near Mid Far", "1 2"),
             key("Bandwidth", "900"), key("Pulse Length", "0"), key("Polarization", "VV")]
    for k in ("Center Wavelength", "Peg Heading", "Global Average Altitude", "Single Look Complex Data of Pass 1",
              "Single Look Complex Data Azimuth Spacing", "UAVSAR RPI Annotation File Version Number"):
        cases.append(Case(f"drop-{k}", _drop_key(ann, k), ann))
    cases += [
        Case("unit-unknown", replace_text(ann, "(cm)", "(furlong)"), ann),
        Case("no-slc", remove(slc1), ann),
        Case("slc-truncated", truncate(slc1, 8 * N_SIDE * 10 + 3), ann),
        Case("slc-longer", _append(slc1, b"\x00" * 8), ann),
        Case("ann-binary", write(ann, b"\x00\x01" * 500), ann),
        Case("ann-empty", write(ann, b""), ann),
        Case("ann-latin1", write(ann, "Peg Latitude (deg) = 3\xb0\n".encode("latin-1")), ann),
        Case("no-ann", remove(ann), ann),
    ]
    return cases


def _set_value(ann: str, k: str, v: str):
    def f(d: Path) -> None:
        p = d / ann
        lines = p.read_text().splitlines(True)
        for i, ln in enumerate(lines):
            if ln.startswith(k + " ") and "=" in ln:
                lines[i] = ln.split("=")[0] + "= " + v + "\n"
                break
        else:
            raise AssertionError(k)
        p.write_text("".join(lines))
    return f


def _drop_key(ann: str, k: str):
    def f(d: Path) -> None:
        p = d / ann
        p.write_text("".join(ln for ln in p.read_text().splitlines(True) if not ln.startswith(k + " ")))
    return f


def _append(rel: str, data: bytes):
    def f(d: Path) -> None:
        with open(d / rel, "ab") as fh:
            fh.write(data)
    return f


def test_malformed_products_are_refused(rpi, pair, tmp_path):
    good = rpi.parent
    ann = rpi.name
    slc1 = next(p.name for p in good.glob("*_1.slc"))
    cases = _rpi_cases(ann, slc1)
    counts = run_malformed(good, cases, lambda p: read_scene(p, "UAVSAR_RPI", polarization="HH"), tmp_path / "rpi")
    print(f"UAVSAR RPI: {len(cases)} malformed products, outcomes {dict(counts)}")
    assert sum(counts.values()) == len(cases) >= 30
    d = tmp_path / "stack"
    a = Path(write_uavsar_stack(pair[0], str(d)))
    dop = next(p.name for p in d.glob("*.dop"))
    stack_cases = [Case("no-dop", remove(dop), a.name), Case("dop-garbage", write(dop, b"h\n1 2 3\nx y\n"), a.name),
                   Case("dop-short", truncate(dop, 60), a.name),
                   Case("rows-absurd", _set_value(a.name, "slc_1_1x1_mag.set_rows", "123456789"), a.name),
                   Case("no-velocity-key-is-fine-but-no-slc", remove(next(p.name for p in d.glob("*.slc"))), a.name),
                   Case("drop-start-time", _drop_key(a.name, "Start Time of Acquisition"), a.name)]
    counts = run_malformed(d, stack_cases, lambda p: read_scene(p, "UAVSAR_STACK"), tmp_path / "stk")
    print(f"UAVSAR stack: {len(stack_cases)} malformed products, outcomes {dict(counts)}")
    assert sum(counts.values()) == len(stack_cases)


def test_rpi_reader_copies_nothing(rpi, tmp_path):
    """The reader reads the .slc in place, block by block (no copy), and a moved product still reads."""
    d = tmp_path / "moved"
    shutil.copytree(rpi.parent, d)
    sc = read_scene(str(d / rpi.name), chunks=32)
    assert sc.data["slc"].data.npartitions == 4 and sc.meta.source_files[1].startswith(str(d))
