"""ALOS PALSAR / ALOS-2 PALSAR-2 CEOS level 1.1 SLC written from a simulated scene
(:func:`daskinsar.simulate.formats.write_alos_ceos`) and read back by the JAXA CEOS reader.

Round-trip tolerances (the format's resolution, see the writer's module):

- first line time: ALOS to 0.5 ms (milliseconds of day), ALOS-2 to 0.5 us (microseconds of day); the line
  interval to 1e-9 relative (PRF in mHz, 10 digits); every line's time within the first line's error + 1 ns;
- slant range: first sample to 0.5 m (integer metres, and exactly the rounded one), spacing to 1 um;
- orbit: the 60 s state vectors interpolated at the scene's times within 0.05 mm and 0.01 mm/s of the scene's
  own orbit (within 0.5 mm over +-55 s);
- pixels: identical (complex float32 written as big-endian I/Q).
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from daskinsar.errors import InputFileError
from daskinsar.geometry.orbit import parse_utc, seconds_between
from daskinsar.io import ceos
from daskinsar.io.readers import detect_reader, read_scene
from daskinsar.io.store import open_scene
from daskinsar.scene import Poly1D, Scene
from daskinsar.simulate.formats import write_alos_ceos
from daskinsar.simulate.formats.alos_ceos import SDR_PREFIX
from sensor_formats import SENSOR_SIMULATION, simulate

TIME_TOL_S = {"ALOS": 0.5e-3, "ALOS2": 0.5e-6}


@pytest.fixture(scope="module", params=["ALOS", "ALOS2"])
def written(request, tmp_path_factory):
    """(mission, simulated secondary scene, product folder): the secondary's epoch is no whole second."""
    mission = request.param
    tmp = tmp_path_factory.mktemp(mission.lower())
    sim = simulate(mission.lower(), tmp / "pair", n=64)
    scene = open_scene(sim.secondary)
    return mission, scene, write_alos_ceos(scene, str(tmp / "product"), mission=mission)


def _line_time_errors(read: Scene, true: Scene) -> np.ndarray:
    """Read minus true time (s) of every line, from ns-exact epochs."""
    return seconds_between(true.meta.epoch, read.meta.epoch) + read.azimuth_time - true.azimuth_time


def test_files_and_detection(written):
    mission, scene, path = written
    names = sorted(os.listdir(path))
    assert [n.split("-")[0] for n in names] == ["IMG", "LED", "VOL"] and names[0].startswith("IMG-HH-")
    assert detect_reader(path).name == mission
    prod = ceos.open_ceos(path)
    assert prod.sensor == mission and prod.level == "slc" and prod.summary["product_level"] == "1.1"
    d = prod.images["HH"].descriptor
    n_az, n_rg = scene.shape
    assert (d["n_lines"], d["n_pixels"], d["record_length"]) == (n_az, n_rg, SDR_PREFIX + 8 * n_rg)
    assert os.path.getsize(os.path.join(path, names[0])) == 720 + n_az * (SDR_PREFIX + 8 * n_rg)
    # the leader's platform position record: ECEF state vectors every 60 s, as JAXA's
    assert prod.platform["interval_s"] == 60.0 and prod.platform["frame"] == "ECR"
    assert np.allclose(np.diff(prod.orbit.time), 60.0, atol=1e-9) and len(prod.orbit.time) >= 3
    # the other mission's reader refuses the product (never relabelled)
    with pytest.raises(InputFileError, match="mission"):
        read_scene(path, "ALOS2" if mission == "ALOS" else "ALOS")


def test_round_trip_grid_orbit_pixels(written):
    mission, scene, path = written
    read = read_scene(path, mission)
    m, t = read.meta, scene.meta
    assert m.sensor == mission and m.level == "slc" and m.grid == "zero_doppler" and m.polarization == "HH"
    # pixels: identical
    assert read.shape == scene.shape
    assert np.array_equal(read.data["slc"].values, scene.data["slc"].values)
    # azimuth times: first line to the format's resolution, and it is not exact (the epoch is off the grid)
    err = _line_time_errors(read, scene)
    assert abs(err[0]) <= TIME_TOL_S[mission] + 1e-9
    assert np.max(np.abs(err - err[0])) <= 1e-9
    assert read.grid_spacing[0] == pytest.approx(scene.grid_spacing[0], rel=1e-9)
    assert m.prf_hz == pytest.approx(t.prf_hz, rel=1e-9)
    # slant range: integer metres, the spacing from the sampling rate
    assert read.slant_range[0] == round(float(scene.slant_range[0]))
    assert abs(read.slant_range[0] - scene.slant_range[0]) <= 0.5
    assert np.max(np.abs(np.diff(read.slant_range) - np.diff(scene.slant_range))) <= 1e-6
    # radar parameters
    assert m.wavelength_m == pytest.approx(SENSOR_SIMULATION[mission.lower()]["wavelength_m"], rel=1e-9)
    assert m.range_sampling_rate_hz == pytest.approx(t.range_sampling_rate_hz, rel=1e-9)
    assert m.chirp.slope_hz_per_s == pytest.approx(t.chirp.slope_hz_per_s, rel=1e-9)
    assert m.chirp.duration_s == pytest.approx(t.chirp.duration_s, rel=1e-9)
    assert m.range_bandwidth_hz == pytest.approx(t.range_bandwidth_hz, rel=1e-9)
    assert m.azimuth_bandwidth_hz == pytest.approx(t.azimuth_bandwidth_hz, rel=1e-9)
    assert m.look_side == t.look_side == "right"
    # orbit: the 60 s state vectors give back the scene's orbit (times counted from the read epoch)
    shift = seconds_between(t.epoch, m.epoch)
    for tt, tol_p, tol_v in ((np.linspace(scene.azimuth_time[0], scene.azimuth_time[-1], 33), 5e-5, 1e-5),
                             (np.linspace(-55.0, 55.0, 111), 5e-4, 1e-4)):
        p_true, v_true = scene.orbit.interpolate(tt)
        p_read, v_read = read.orbit.interpolate(tt - shift)
        assert np.max(np.linalg.norm(p_read - p_true, axis=-1)) <= tol_p
        assert np.max(np.linalg.norm(v_read - v_true, axis=-1)) <= tol_v


def test_first_line_time_resolution(written, tmp_path):
    """ALOS states the first line to 1 ms, ALOS-2 to 1 us: a scene shifted by 0.3 ms reads back rounded to the
    millisecond (ALOS) or to the microsecond (ALOS-2), never to a whole line."""
    mission, scene, _ = written
    shifted = Scene(scene.data.assign_coords(azimuth_time=scene.azimuth_time + 0.3e-3), scene.meta, scene.orbit)
    read = read_scene(write_alos_ceos(shifted, str(tmp_path / "p"), mission=mission), mission)
    err = _line_time_errors(read, shifted)[0]
    assert abs(err) <= TIME_TOL_S[mission] + 1e-9
    first_ns = int((parse_utc(read.meta.epoch) - parse_utc("2000-01-01")) / np.timedelta64(1, "ns"))
    assert read.azimuth_time[0] == 0.0
    if mission == "ALOS":
        assert first_ns % 1_000_000 == 0  # on the millisecond
    else:
        assert abs(err) < 0.01 * scene.grid_spacing[0]


def test_doppler_and_look_side(written, tmp_path):
    """The Doppler centroid as both JAXA missions state it (``c0 + c1 R_km``, R the slant range; OSSIM's ALOS
    PALSAR model reads the ALOS-1 pair so too), range-varying, and the clock angle's look side."""
    mission, scene, _ = written
    r = scene.slant_range
    dop = Poly1D(reference=0.0, scale=1000.0, coeffs=[-18.5, -0.025])  # Hz, Hz/km (as the real ALOS-2 leader's)
    meta = scene.meta.model_copy(update={"doppler_centroid": dop, "look_side": "left"})
    read = read_scene(write_alos_ceos(Scene(scene.data, meta, scene.orbit), str(tmp_path / "p"), mission=mission),
                      mission)
    assert read.meta.look_side == "left"
    want = -18.5 - 0.025 * r / 1e3
    got = np.asarray(read.meta.doppler_centroid(0.0, r), np.float64) * np.ones(len(r))
    assert np.max(np.abs(got - want)) <= 1e-6


def _set_dss(led: str, **values) -> None:
    """Overwrite data set summary fields of a leader in place (blank for None)."""
    data = bytearray(open(led, "rb").read())
    dss = next(r for r in ceos.read_records(bytes(data), led) if r.type_code == 10)
    for name, v in values.items():
        off, n, _ = ceos.DATA_SET_SUMMARY[name]
        text = "" if v is None else f"{v:{n}.7E}"[-n:]
        data[dss.offset + off:dss.offset + off + n] = text.rjust(n).encode()
    open(led, "wb").write(bytes(data))


def test_doppler_without_jaxa_pair(written, tmp_path):
    """Leaders without JAXA's Hz/km pair: ALOS-2 is refused; ALOS-1 reads the CEOS cross-track constant term
    alone, and refuses linear or quadratic cross-track terms (units unstated) instead of dropping them."""
    mission, scene, product = written
    folder = tmp_path / "p"
    shutil.copytree(product, folder)
    led = str(next(folder.glob("LED-*")))
    _set_dss(led, doppler_c0_hz=None, doppler_c1_hz_per_km=None, cross_track_dc_c0=41.5, cross_track_dc_c1=0.0,
             cross_track_dc_c2=0.0)
    if mission == "ALOS2":
        with pytest.raises(InputFileError, match="ALOS-2 Doppler centroid c0"):
            read_scene(str(folder), mission)
        return
    read = read_scene(str(folder), mission)
    assert np.allclose(np.asarray(read.meta.doppler_centroid(0.0, scene.slant_range), float), 41.5, atol=1e-6)
    _set_dss(led, cross_track_dc_c1=0.0125)
    with pytest.raises(InputFileError, match="units the product does not state"):
        read_scene(str(folder), mission)


def test_disagreeing_doppler_terms_are_refused(written, tmp_path):
    """ALOS-1: a CEOS cross-track constant far from JAXA's pair over the swath (a leader whose pair is zero-filled,
    say) is refused, not read as the pair; within it (the writer's mid-swath constant) the product reads."""
    mission, scene, product = written
    folder = tmp_path / "p"
    shutil.copytree(product, folder)
    led = str(next(folder.glob("LED-*")))
    _set_dss(led, doppler_c0_hz=0.0, doppler_c1_hz_per_km=0.0, cross_track_dc_c0=400.0)
    if mission == "ALOS2":  # ALOS-2 reads its pair alone
        assert np.allclose(np.asarray(read_scene(str(folder), mission).meta.doppler_centroid(0.0, 8e5), float), 0.0)
        return
    with pytest.raises(InputFileError, match="cross-track Doppler constant term"):
        read_scene(str(folder), mission)
    _set_dss(led, cross_track_dc_c0=1.0)  # within 5 % of the PRF of the pair's 0 Hz
    assert np.allclose(np.asarray(read_scene(str(folder), mission).meta.doppler_centroid(0.0, 8e5), float), 0.0)


def test_writer_refuses(written, tmp_path):
    mission, scene, _ = written
    with pytest.raises(ValueError, match="mission"):
        write_alos_ceos(scene, str(tmp_path / "p"), mission="ALOS3")
    short = scene.orbit.crop(0.0, 0.0, margin=1)  # 20 s of state vectors: fewer than 3 every 60 s
    with pytest.raises(ValueError, match="too short"):
        write_alos_ceos(Scene(scene.data, scene.meta, short), str(tmp_path / "q"), mission=mission)
