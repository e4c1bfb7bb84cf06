"""NISAR L0B reader on a real ALOS-1 PALSAR raw chunk (1000 pulses x 2200 samples, ISCE3 test data)."""

import shutil

import h5py
import numpy as np
import pytest

from daskinsar.errors import InputFileError
from daskinsar.geometry.ellipsoid import SPEED_OF_LIGHT
from daskinsar.io.readers import detect_reader, get_reader, read_scene
from daskinsar.quality import point_target_analysis
from daskinsar.stages.focus import (FocusParams, chirp_replica, doppler_from_attitude, estimate_doppler_centroid,
                                    focus, next_fast_len, range_compress_block, range_matched_filter)

NAME = "ALPSRP264757150-H1.0__A_HH_LINE4000-5000_RANGE0-2200.h5"
TX = "science/LSAR/RRSD/swaths/frequencyA/txH"


@pytest.fixture(scope="module")
def path(data_dir):
    p = data_dir / "alos1_raw_l0b" / NAME
    if not p.exists():
        pytest.skip(f"{p} absent")
    return p


@pytest.fixture(scope="module")
def scene(path):
    return read_scene(str(path), sensor="NISAR_L0B")


def test_registry_and_metadata(path, scene):
    assert detect_reader(str(path)).name == "NISAR_L0B"
    assert get_reader("rrsd").name == "NISAR_L0B"
    m = scene.meta
    assert scene.shape == (1000, 2200)
    assert m.level == "raw" and m.grid == "native_doppler" and m.look_side == "right"
    assert m.prf_hz == pytest.approx(2150.538, abs=1e-3)
    assert m.wavelength_m == pytest.approx(SPEED_OF_LIGHT / 1.27e9, rel=1e-4)  # L band, 1.27 GHz
    assert m.chirp.duration_s == pytest.approx(27e-6) and m.chirp.bandwidth_hz == pytest.approx(14e6, rel=1e-6)
    assert m.range_sampling_rate_hz == pytest.approx(16e6, rel=1e-6)
    # pulse times on the PRF grid, sample ranges on the c / (2 fs) grid
    np.testing.assert_allclose(np.diff(scene.azimuth_time), 1 / m.prf_hz, rtol=1e-6)
    assert scene.slant_range[0] == pytest.approx(847166.0)
    scene.orbit.check_coverage(scene.azimuth_time[0], scene.azimuth_time[-1])
    # orbit epoch aligned with the pulse times: an ALOS orbit at about 700 km altitude, 7.6 km/s
    p, v = scene.orbit.interpolate(scene.azimuth_time[[0, -1]])
    assert np.all(np.abs(np.linalg.norm(p, axis=1) - 7.08e6) < 3e4) and np.all(np.abs(np.linalg.norm(v, axis=1) - 7.58e3) < 50)
    att = m.extra["attitude"]
    assert att["time_s"][0] <= scene.azimuth_time[0] and att["time_s"][-1] >= scene.azimuth_time[-1]


def test_echoes_decoded_through_the_lut(path, scene):
    with h5py.File(path, "r") as f:
        codes = f[f"{TX}/rxH/HH"][10:14, 100:140]
        lut = f[f"{TX}/rxH/BFPQLUT"][()]
    expect = lut[codes["r"]] + 1j * lut[codes["i"]]
    got = scene.data["raw"][10:14, 100:140].values
    assert got.dtype == np.complex64
    np.testing.assert_array_equal(got, expect.astype(np.complex64))
    # ALOS 5-bit samples: half-integer levels -15.5 .. 15.5
    assert set(np.unique(got.real)) <= set(np.arange(-15.5, 16.0))


def test_bad_files_raise_input_file_error(path, tmp_path):
    trunc = tmp_path / "truncated.h5"
    data = path.read_bytes()
    trunc.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError, match="truncated.h5"):
        read_scene(str(trunc), sensor="NISAR_L0B")
    text = tmp_path / "notes.h5"
    text.write_text("not an HDF5 file")
    with pytest.raises(InputFileError, match="HDF5"):
        read_scene(str(text), sensor="NISAR_L0B")
    other = tmp_path / "rslc.h5"
    with h5py.File(other, "w") as f:
        f.create_group("science/LSAR/SLC")
    with pytest.raises(InputFileError, match="RRSD"):
        read_scene(str(other), sensor="NISAR_L0B")
    broken = tmp_path / "no_orbit.h5"
    shutil.copy(path, broken)
    with h5py.File(broken, "r+") as f:
        del f["science/LSAR/RRSD/lowRateTelemetry/orbit"]
    with pytest.raises(InputFileError, match="orbit"):
        read_scene(str(broken), sensor="NISAR_L0B")


def test_range_compressed_replica_resolution(scene):
    """The file's chirp (14 MHz, 27 us, 16 MHz sampling) compressed by our matched filter gives the
    theoretical 0.886 c / (2 B) resolution and the -13.3 dB side lobes of a rect spectrum."""
    m = scene.meta
    fs = m.range_sampling_rate_hz
    rep = chirp_replica(m.chirp, fs)
    line = np.zeros((128, 2200), np.complex64)
    line[:, 700:700 + len(rep)] = rep  # echo of a target at range sample 700
    H = range_matched_filter(rep, next_fast_len(2200 + len(rep) - 1), fs, m.chirp.bandwidth_hz)
    rc = range_compress_block(line, H)
    q = point_target_analysis(rc, (64, 700), window=64)
    res_m = q.range_cut.resolution_px * SPEED_OF_LIGHT / (2 * fs)
    theory = 0.886 * SPEED_OF_LIGHT / (2 * m.chirp.bandwidth_hz)
    assert abs(res_m / theory - 1) < 0.05, (res_m, theory)
    assert abs(q.range_px - 700) < 0.02 and q.range_cut.pslr_db < -12.5


def test_raw_range_spectrum_matches_chirp_bandwidth(scene):
    """The echoes' mean range power spectrum occupies the chirp band: half-power width ~ 14 MHz."""
    raw = scene.data["raw"][:200].values
    raw = raw - raw.mean()
    p = np.fft.fftshift(np.mean(np.abs(np.fft.fft(raw, axis=1)) ** 2, axis=0))
    f = np.fft.fftshift(np.fft.fftfreq(raw.shape[1], 1 / scene.meta.range_sampling_rate_hz))
    ps = np.convolve(p, np.ones(21) / 21, mode="same")
    inband = ps > 0.5 * np.median(ps[np.abs(f) < 4e6])
    width = f[inband].max() - f[inband].min()
    assert abs(width / scene.meta.chirp.bandwidth_hz - 1) < 0.1, width


def test_doppler_centroid_data_vs_orbit_attitude(scene):
    """Doppler centroid estimated from the echoes agrees with orbit + attitude within 15 Hz."""
    m = scene.meta
    t_mid = float(scene.azimuth_time.mean())
    r = scene.slant_range
    att = m.extra["attitude"]
    rb = np.linspace(r[0], r[-1], 9)
    fd_att = doppler_from_attitude(t_mid, rb, scene.orbit, np.array(att["time_s"]), np.array(att["quaternions_wxyz"]),
                                   wavelength_m=m.wavelength_m)[0]
    model, diag = estimate_doppler_centroid(scene.data["raw"].data, r, m.prf_hz,
                                            reference_hz=lambda rr: np.interp(rr, rb, fd_att), n_bins=8, degree=0)
    f_data = float(model(t_mid, r.mean()))
    assert diag["ambiguity"] == 0
    assert abs(f_data - fd_att.mean()) < 15.0, (f_data, fd_att)
    # attitude prediction is smooth in range (a slowly varying beam-centre Doppler)
    assert np.ptp(fd_att) < 20.0


def test_focus_real_chunk(scene):
    """Focusing the real chunk (only ~1/6 of a synthetic aperture, so only partly focused) runs lazily
    with the Doppler centroid estimated from the data, ambiguity from orbit + attitude, and keeps the grid.

    (Its spectral centroid is not a check here: with 1000 of ~6000 aperture pulses each output line
    sees only the Doppler frequencies near zero.)"""
    slc = focus(scene, FocusParams(doppler="data", azimuth_bandwidth_hz=1500.0, doppler_poly_degree=0))
    assert slc.meta.grid == "zero_doppler" and slc.meta.level == "slc"
    np.testing.assert_array_equal(slc.slant_range, scene.slant_range)
    np.testing.assert_array_equal(slc.azimuth_time, scene.azimuth_time)
    fdc = float(slc.meta.doppler_centroid(0.0, scene.slant_range.mean()))
    assert 30.0 < fdc < 80.0  # the ACCC estimate (about 60 Hz); orbit + attitude predict about 49 Hz
    img = slc.data["slc"][:, :1400].values
    assert np.all(np.isfinite(img)) and np.mean(np.abs(img)) > 0
