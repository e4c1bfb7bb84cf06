"""Range-Doppler focusing of simulated point targets (exact time-domain echoes along an orbit).

Truth: the simulator places targets with the geometry core (rdr2geo) and predicts their
zero-Doppler (azimuth time, slant range) with geo2rdr; the SLC phase must be -4 pi R0 / lambda.
Theory: range 3-dB resolution 0.886 c / (2 B) (rect), azimuth the 3-dB width of the ideal impulse
response of the processed band weighted by the (known) two-way antenna pattern.
"""

import numpy as np
import pytest

from daskinsar.geometry.ellipsoid import SPEED_OF_LIGHT
from daskinsar.quality import point_target_analysis, theoretical_width
from daskinsar.simulate.point_targets import ALOS_LIKE, C_BAND, azimuth_pattern_weight, point_target_scene
from daskinsar.stages.focus import FocusParams, estimate_doppler_centroid, focus, spectral_window

BP = 1000.0  # processed azimuth bandwidth (Hz)


def _analyse(scene, targets, slc, system, bp, *, window="rect"):
    t, r = scene.azimuth_time, scene.slant_range
    dt, dr = t[1] - t[0], r[1] - r[0]
    v = float(np.linalg.norm(scene.orbit.interpolate(np.array([t.mean()]))[1]))
    wfun = (lambda x: spectral_window(x, window, 2.5)) if window != "rect" else None
    th_rg = theoretical_width(system.bandwidth_hz, wfun) * SPEED_OF_LIGHT / 2.0

    def az_weight(x):
        w = azimuth_pattern_weight(system, x * bp, doppler_centroid_hz=0.0, velocity_mps=v)
        return w * (spectral_window(x, window, 2.5) if window != "rect" else 1.0)

    th_az = theoretical_width(bp, az_weight)
    rows = []
    for p in targets:
        ia, ir = (p.azimuth_time_s - t[0]) / dt, (p.slant_range_m - r[0]) / dr
        q = point_target_analysis(slc, (ia, ir))
        rows.append(dict(
            d_az=q.azimuth_px - ia, d_rg=q.range_px - ir,
            d_phase=float(np.angle(np.exp(1j * (q.phase_rad - p.phase_rad)))),
            res_rg=q.range_cut.resolution_px * dr / th_rg, res_az=q.azimuth_cut.resolution_px * dt / th_az,
            pslr_rg=q.range_cut.pslr_db, pslr_az=q.azimuth_cut.pslr_db,
            islr_rg=q.range_cut.islr_db, islr_az=q.azimuth_cut.islr_db))
    return rows


def _check(rows):
    for q in rows:
        assert abs(q["d_az"]) < 0.05 and abs(q["d_rg"]) < 0.05, q
        assert abs(q["d_phase"]) < 0.05, q
        assert abs(q["res_rg"] - 1) < 0.05 and abs(q["res_az"] - 1) < 0.05, q
        assert q["pslr_rg"] <= -12.5 and q["pslr_az"] <= -12.5, q
        assert q["islr_rg"] <= -9.0 and q["islr_az"] <= -9.0, q


@pytest.fixture(scope="module")
def alos_scene():
    # 28 MHz chirp of 27 us at 32 MHz: the last 865 range samples are only partly compressed
    return point_target_scene(ALOS_LIKE, n_pulses=6144, n_range=1536,
                              targets_rc=[(0.5, 0.1), (0.45, 0.25), (0.55, 0.4)], chunks=(1024, -1))


@pytest.fixture(scope="module")
def cband_scene():
    return point_target_scene(C_BAND, n_pulses=2048, n_range=1536,
                              targets_rc=[(0.3, 0.1), (0.4, 0.25), (0.5, 0.35)], chunks=(512, -1))


def test_alos_like_point_targets(alos_scene):
    scene, targets = alos_scene
    slc = focus(scene, FocusParams(doppler="metadata", azimuth_bandwidth_hz=BP))
    assert slc.meta.grid == "zero_doppler" and slc.meta.level == "slc"
    np.testing.assert_array_equal(slc.azimuth_time, scene.azimuth_time)
    rows = _analyse(scene, targets, slc.data["slc"].values, ALOS_LIKE, BP)
    _check(rows)


def test_alos_like_weighted(alos_scene):
    """Kaiser weighting in range and azimuth: resolution follows the weighted theory, side lobes drop."""
    scene, targets = alos_scene
    params = FocusParams(doppler="metadata", azimuth_bandwidth_hz=BP, range_window="kaiser", azimuth_window="kaiser")
    rows = _analyse(scene, targets[:1], focus(scene, params).data["slc"].values, ALOS_LIKE, BP, window="kaiser")
    q = rows[0]
    assert abs(q["res_rg"] - 1) < 0.05 and abs(q["res_az"] - 1) < 0.05, q
    assert q["pslr_rg"] < -18 and q["pslr_az"] < -18, q
    assert abs(q["d_phase"]) < 0.05 and abs(q["d_az"]) < 0.05 and abs(q["d_rg"]) < 0.05, q


def test_cband_squinted_point_targets(cband_scene):
    """C band, Doppler centroid -550 Hz (a third of the PRF): RCMC and phase with squint."""
    scene, targets = cband_scene
    slc = focus(scene, FocusParams(doppler="metadata", azimuth_bandwidth_hz=BP)).data["slc"].values
    _check(_analyse(scene, targets, slc, C_BAND, BP))


def test_doppler_centroid_from_data(cband_scene):
    """The average cross-correlation estimate recovers the simulated beam's Doppler centroid,
    the ambiguity taken from a reference one PRF away from the fractional estimate."""
    scene, _ = cband_scene
    ref = C_BAND.doppler_centroid_hz + 0.3 * C_BAND.prf_hz  # a poor prior still picks the right ambiguity
    model, diag = estimate_doppler_centroid(scene.data["raw"].data, scene.slant_range, scene.meta.prf_hz,
                                            reference_hz=ref)
    f = model(0.0, scene.slant_range[:600])
    assert np.all(np.abs(f - C_BAND.doppler_centroid_hz) < 10.0), (f.min(), f.max())


def test_chunking_does_not_change_the_slc(cband_scene):
    scene, _ = cband_scene
    small = scene.with_data(scene.data.chunk({"azimuth": 300, "range": 700}))
    a = focus(small, FocusParams(doppler="metadata", azimuth_bandwidth_hz=BP, range_lines_per_block=300,
                                 range_columns_per_block=200)).data["slc"]
    b = focus(scene, FocusParams(doppler="metadata", azimuth_bandwidth_hz=BP, range_lines_per_block=2048,
                                 range_columns_per_block=2048)).data["slc"]
    assert len(a.data.chunks[1]) > 3 and len(b.data.chunks[1]) == 1
    a, b = a.values, b.values
    assert np.max(np.abs(a - b)) < 1e-5 * np.max(np.abs(b))



def test_corner_turn_range_compresses_each_line_once(cband_scene, monkeypatch):
    """Every column task turns its columns out of the same range-compressed line blocks: each line is
    range-compressed exactly once however many column blocks read it."""
    from daskinsar.stages import focus as focus_module

    scene, _ = cband_scene
    calls = []
    compress = focus_module.range_compress_block

    def counted(raw, H):
        calls.append(raw.shape)
        return compress(raw, H)

    monkeypatch.setattr(focus_module, "range_compress_block", counted)
    out = focus(scene, FocusParams(doppler="metadata", azimuth_bandwidth_hz=BP, range_lines_per_block=300,
                                   range_columns_per_block=200)).data["slc"]
    assert len(out.data.chunks[1]) > 3
    out.data.compute()
    lines = [n for n, _ in calls if n]  # (map_blocks may call it once on an empty array for its meta)
    assert len(lines) > 3 and max(lines) <= 300
    assert sum(lines) == scene.shape[0], (lines, scene.shape)  # every line compressed once


def test_point_target_analysis_on_an_analytic_response():
    """quality.py on a band-limited 2-D response of known position, phase and width (squinted spectrum)."""
    n = 256
    f = np.fft.fftfreq(n)
    for fc, x0, y0 in [(0.0, 128.3, 120.2), (-0.3, 127.77, 121.5), (0.41, 128.5, 119.93)]:
        ff = (f - fc + 0.5) % 1 - 0.5
        az = np.fft.ifft((np.abs(ff) <= 0.3) * np.exp(-2j * np.pi * (ff + fc) * x0))
        rg = np.fft.ifft((np.abs(f) <= 0.4) * np.exp(-2j * np.pi * f * y0))
        img = np.outer(az, rg) * np.exp(0.7j)
        q = point_target_analysis(img, (128, 120))
        assert abs(q.azimuth_px - x0) < 0.005 and abs(q.range_px - y0) < 0.005
        assert abs(np.angle(np.exp(1j * (q.phase_rad - 0.7)))) < 0.005
        assert abs(q.azimuth_cut.resolution_px - 0.886 / 0.6) < 0.01 * 0.886 / 0.6
        assert abs(q.range_cut.resolution_px - 0.886 / 0.8) < 0.01 * 0.886 / 0.8
        assert -13.6 < q.range_cut.pslr_db < -12.9
    assert abs(theoretical_width(10.0) - 0.0886) < 1e-4


def test_rcmc_operator_equals_a_per_sample_reference():
    """The blocked RCMC kernel (frequency groups, padded lines) against a direct per-sample sum:
    a frequency count that is not a multiple of the group size, migrations reaching past both block
    edges, a Doppler centroid and velocity varying with range, a Kaiser azimuth window; the result
    is also what is written into a caller's buffer."""
    from daskinsar.stages.focus import rcmc_azimuth_filter_block, rcmc_interpolator

    rng = np.random.default_rng(3)
    n_c, n_f, prf, bp, lam, taps = 37, 150, 1700.0, 1300.0, 0.236, 16
    spec = (rng.normal(size=(n_c, n_f)) + 1j * rng.normal(size=(n_c, n_f))).astype(np.complex64)
    r = 850e3 + 4.7 * np.arange(n_c)
    fdc = 250.0 + 2.0 * np.arange(n_c)
    vr = 7100.0 - 0.5 * np.arange(n_c)
    kw = dict(prf_hz=prf, wavelength_m=lam, doppler_centroid_hz=fdc, effective_velocity_mps=vr,
              azimuth_bandwidth_hz=bp, taps=taps, window="kaiser", window_param=2.5)
    got = rcmc_azimuth_filter_block(spec, r, **kw)
    buf = np.full((n_c, n_f), np.nan, np.complex64)
    assert rcmc_azimuth_filter_block(spec, r, out=buf, **kw) is buf
    np.testing.assert_array_equal(buf, got)
    with pytest.raises(ValueError, match="C-contiguous complex64"):
        rcmc_azimuth_filter_block(spec, r, out=np.empty((n_c, n_f), np.complex128), **kw)

    table = rcmc_interpolator(taps).astype(np.float64)
    fk = np.fft.fftfreq(n_f, 1.0 / prf)
    want = np.zeros((n_c, n_f), np.complex128)
    shifts = []
    for j in range(n_c):
        for k in range(n_f):
            f = (fk[k] - fdc[j] + prf / 2) % prf - prf / 2
            if abs(f) > bp / 2:
                continue
            a = lam * (f + fdc[j]) / (2 * vr[j])
            d = np.sqrt(1 - a * a)
            x = j + r[j] * (1 / d - 1) / 4.7
            i0 = int(np.floor(x))
            s = int((x - i0) * (table.shape[0] - 1) + 0.5)
            idx = i0 - taps // 2 + 1 + np.arange(taps)
            ok = (idx >= 0) & (idx < n_c)
            acc = np.sum(table[s, ok] * spec[idx[ok], k])
            w = spectral_window(np.array([f / bp]), "kaiser", 2.5)[0]
            want[j, k] = acc * w * np.exp(1j * (4 * np.pi * r[j] * (d - 1) / lam + np.pi / 4))
            shifts.append(x - j)
    assert max(shifts) > taps // 2  # taps of the last columns leave the block
    assert np.max(np.abs(got - want)) < 1e-5 * np.max(np.abs(want))
