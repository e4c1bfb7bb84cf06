"""Dense offsets (ampcor-equivalent), culling and the coarse offset path
(daskinsar.stages.offsets)."""

from pathlib import Path

import dask.array as da
import numpy as np
import pytest

from daskinsar.stages.offsets import (OffsetParams, coarse_offsets, cull_offsets,
                                      dense_offsets, evaluate_offset_model, window_grid)

from test_resample import speckle_field


def _read_envi(path: Path):
    hdr = dict(line.split("=", 1) for line in path.with_suffix(".hdr").read_text().splitlines()[1:] if "=" in line)
    hdr = {k.strip(): v.strip() for k, v in hdr.items()}
    assert hdr["data type"] == "4" and hdr["interleave"] == "bip" and hdr["byte order"] == "0"
    shape = (int(hdr["lines"]), int(hdr["samples"]), int(hdr["bands"]))
    return np.fromfile(path, dtype="<f4").reshape(shape)


def _read_vrt_raw(path: Path):
    import re

    vrt = path.with_name(path.name + ".vrt").read_text()
    nx = int(re.search(r'rasterXSize="(\d+)"', vrt).group(1))
    ny = int(re.search(r'rasterYSize="(\d+)"', vrt).group(1))
    assert "CFloat32" in vrt and "<ByteOrder>LSB" in vrt
    return np.fromfile(path, dtype="<c8").reshape(ny, nx)


def _ampcor_accuracy_pair(data_dir):
    d = data_dir / "ampcor_accuracy"
    ref = _read_vrt_raw(d / "img1_WN_512x512_1x1_128")
    sec = _read_vrt_raw(d / "img2_WN_512x512_1x1_128")
    gold = {name: _read_envi(d / "golden" / name) for name in
            ("dense_offsets", "gross_offsets", "snr", "covariance", "correlation_peak")}
    return ref, sec, gold


def _ampcor_golden_run(ref, sec, gold, **kw):
    """ISCE3's ampcor accuracy settings: window 32 lines x 64 samples (the golden grid of
    13 x 12 windows fixes this orientation), search +/-20, skip 32, first window at the half
    search range, raw oversampling 2, zoom window 8, surface oversampling 64, SNR box 21."""
    p = OffsetParams(window_azimuth=32, window_range=64, search_azimuth=20, search_range=20, skip_azimuth=32, skip_range=32,
                          raw_oversample=2, corr_oversample=64, zoom_window=8, corr_stat_window=21, **kw)
    grid = window_grid(ref.shape, p, n_windows=gold["dense_offsets"].shape[:2])
    return dense_offsets(da.from_array(ref, chunks=(200, 300)), da.from_array(sec, chunks=(256, 256)), p,
                         grid=grid, windows_per_task=(5, 7)).compute()


def _check_snr_cov(ds, gold):
    """SNR and covariance follow ampcor's definitions (both come from the raw surface)."""
    gold_snr = gold["snr"][..., 0]
    snr = ds["snr"].values
    r = np.corrcoef(snr.ravel(), gold_snr.ravel())[0, 1]
    ratio = np.median(snr / gold_snr)
    print(f"SNR: correlation {r:.6f}, median ratio {ratio:.6f}, max rel diff {np.max(np.abs(snr / gold_snr - 1)):.2e}")
    assert r > 0.99 and abs(ratio - 1) < 0.01
    cov = np.stack([ds["var_azimuth"].values, ds["var_range"].values, ds["cov_azimuth_range"].values], -1)
    np.testing.assert_allclose(cov, gold["covariance"], rtol=1e-3, atol=1e-8)


def test_ampcor_reproduces_isce3_golden_in_every_window(data_dir):
    """ISCE3's ampcor accuracy pair (coherence 0.8, true offset 0) with ISCE3's deramp as it
    was when the golden outputs were made (``deramp_mode="isce3-legacy"``): every window's
    dense offsets and fine correlation peak are ISCE3's, not just their mean."""
    ref, sec, gold = _ampcor_accuracy_pair(data_dir)
    ds = _ampcor_golden_run(ref, sec, gold, deramp_mode="isce3-legacy")
    got = np.stack([ds["azimuth"].values, ds["range"].values], axis=-1)
    diff = np.abs(got - gold["dense_offsets"])
    print("legacy: mean |diff| az/rg:", diff.mean(axis=(0, 1)), "max:", diff.max(axis=(0, 1)),
          "identical windows:", np.mean(np.all(diff < 1e-6, axis=-1)))
    # ISCE3's own acceptance (0.1 px per window, 0.02 px mean), in every window, no exclusions
    assert np.all(diff < 0.1) and np.all(diff.mean(axis=(0, 1)) < 0.02)
    # and much closer: the same 1/128 px grid point in (nearly) every window, never more than one step off
    assert np.mean(np.all(diff < 1e-6, axis=-1)) >= 0.95
    assert np.all(diff <= 1.0 / 128 + 1e-6)
    # the fine (oversampled) correlation peak is ISCE3's too: the deramp defect lowers it to ~0.43
    peak_diff = np.abs(ds["peak"].values - gold["correlation_peak"][..., 0])
    print("legacy: correlation peak max |diff|", peak_diff.max())
    assert peak_diff.max() < 1e-3
    assert np.all(gold["gross_offsets"] == 0)
    _check_snr_cov(ds, gold)


def test_ampcor_accuracy_against_isce3_golden(data_dir):
    """The same pair with the correct deramp (default): within ISCE3's mean tolerance of
    the golden values, and closer than ISCE3's golden values to the truth (offset 0)."""
    ref, sec, gold = _ampcor_accuracy_pair(data_dir)
    gold_off = gold["dense_offsets"]
    ds = _ampcor_golden_run(ref, sec, gold)
    got = np.stack([ds["azimuth"].values, ds["range"].values], axis=-1)
    diff = np.abs(got - gold_off)
    rms, rms_gold = np.sqrt(np.mean(got ** 2)), np.sqrt(np.mean(gold_off ** 2))
    print("default: mean |diff| az/rg:", diff.mean(axis=(0, 1)), "max:", diff.max(axis=(0, 1)),
          f"rms vs truth {rms:.4f} (golden {rms_gold:.4f})")
    assert np.all(diff.mean(axis=(0, 1)) < 0.02)
    # within 0.1 px of the truth in every window, and more accurate than the golden values
    assert np.all(np.abs(got) < 0.1)
    assert rms < 0.8 * rms_gold
    # the fine correlation peak is the pair's amplitude correlation (not lowered by the deramp)
    amp_corr = np.corrcoef(np.abs(ref).ravel(), np.abs(sec).ravel())[0, 1]
    peak = ds["peak"].values
    print(f"default: mean fine peak {peak.mean():.4f}, amplitude correlation {amp_corr:.4f}, "
          f"golden peak {gold['correlation_peak'].mean():.4f}")
    assert abs(peak.mean() - amp_corr) < 0.03 and peak.min() > 0.5
    _check_snr_cov(ds, gold)


def test_deramp_kernels():
    """The deramp removes a linear phase ramp along the axes asked for and keeps amplitudes;
    the ISCE3-legacy deramp is the identity when the window has no phase ramp and otherwise
    changes amplitudes (the defect that lowered ISCE3's golden correlation peaks)."""
    from daskinsar.stages.offsets import _deramp, _deramp_isce3_legacy

    rng = np.random.default_rng(3)
    amp = rng.uniform(0.5, 1.5, size=(2, 24, 40))
    line, sample = np.arange(24)[:, None], np.arange(40)[None, :]
    ramp = 0.3 * line + (-0.2) * sample
    z = (amp * np.exp(1j * (ramp + 0.7))).astype(np.complex128)
    for axis, left in (("azimuth", -0.2 * sample + 0 * line), ("range", 0.3 * line + 0 * sample),
                       ("both", 0 * line + 0 * sample)):
        out = _deramp(z, axis)
        np.testing.assert_allclose(np.abs(out), amp, rtol=1e-12)
        np.testing.assert_allclose(np.angle(out * np.exp(-1j * (left + 0.7))), 0.0, atol=1e-9)
    flat = (amp * np.exp(0.7j)).astype(np.complex64)
    np.testing.assert_array_equal(_deramp_isce3_legacy(flat), flat)
    legacy = _deramp_isce3_legacy(z.astype(np.complex64))
    assert np.max(np.abs(np.abs(legacy) - amp)) > 0.1


def _simulated_pair(n=384, coherence=0.97, off=(0.37, 1.5e-3, -1.21, 1.2e-3), seed=11):
    """Band-limited speckle pair with secondary = reference + offset, offset affine and
    separable (azimuth with line, range with sample), shifted exactly (Fourier series)."""
    ca, ga, cr, gr = off
    field = speckle_field(n, n, bandwidth=(0.8, 0.8), seed=seed)
    rng = np.random.default_rng(seed + 1)
    i = np.arange(n, dtype=float)
    sig_ref = field(i, i)
    sig_sec = field((i - ca) / (1 + ga), (i - cr) / (1 + gr))
    s = np.sqrt(np.mean(np.abs(sig_ref) ** 2))
    noise_sigma = s * np.sqrt((1 - coherence) / coherence)

    def noise():
        return noise_sigma * (rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))) / np.sqrt(2)

    truth = lambda line, sample: (ca + ga * np.asarray(line), cr + gr * np.asarray(sample))  # noqa: E731
    return (sig_ref + noise()).astype(np.complex64), (sig_sec + noise()).astype(np.complex64), truth


SIM_PARAMS = OffsetParams(window_azimuth=64, window_range=64, search_azimuth=6, search_range=6, skip_azimuth=32, skip_range=32)


def test_simulated_offsets_accuracy_and_culling():
    ref, sec, truth = _simulated_pair()
    # two windows' worth of the secondary replaced by unrelated speckle: true outliers
    rng = np.random.default_rng(0)
    bad = np.zeros(ref.shape, bool)
    bad[38:38 + 64, 262:262 + 64] = True
    sec_bad = sec.copy()
    sec_bad[bad] = (rng.normal(size=bad.sum()) + 1j * rng.normal(size=bad.sum())).astype(np.complex64) * np.abs(sec).std()
    ds = dense_offsets(da.from_array(ref, chunks=128), da.from_array(sec_bad, chunks=128), SIM_PARAMS).compute()
    line, sample = np.meshgrid(ds.azimuth_center.values, ds.range_center.values, indexing="ij")
    ta, tr = truth(line, sample)
    err_a, err_r = ds["azimuth"].values - ta, ds["range"].values - tr
    # windows whose reference window and search area avoid the corrupted patch
    grid = window_grid(ref.shape, SIM_PARAMS)
    clean = np.array([[not bad[a - 6:a + 70, r - 6:r + 70].any() for r in grid.start_rg] for a in grid.start_az])
    rms = np.sqrt(np.mean(np.concatenate([err_a[clean], err_r[clean]]) ** 2))
    print(f"simulated: rms offset error {rms:.4f} px over {clean.sum()} clean windows")
    assert rms <= 0.02
    # numeric outliers with a high SNR, on top of the corrupted windows
    inj = [(1, 1), (5, 3), (7, 8)]
    az_v = ds["azimuth"].values.copy()
    rg_v = ds["range"].values.copy()
    for k, (a, r) in enumerate(inj):
        az_v[a, r] += 1.5 + k
        rg_v[a, r] -= 2.0
    ds2 = ds.assign(azimuth=(ds["azimuth"].dims, az_v), range=(ds["range"].dims, rg_v))
    model, mask = cull_offsets(ds2, OffsetParams(snr_min=5.0, max_residual_px=0.1, fit_order=1))
    m = mask.values
    assert not any(m[a, r] for a, r in inj)
    assert not m[~clean].any() or np.all(np.abs(err_a[~clean & m]) < 0.1)
    assert m[clean].mean() > 0.9
    pa, pr = model(line, sample)
    assert np.max(np.abs(pa - ta)) < 0.02 and np.max(np.abs(pr - tr)) < 0.02
    # the model on the full grid, lazily, chunk-independent
    a1, r1 = evaluate_offset_model(model, ref.shape, chunks=(100, 128))
    a2, r2 = evaluate_offset_model(model, ref.shape, chunks=(384, 50))
    np.testing.assert_array_equal(a1.compute(), a2.compute())
    np.testing.assert_array_equal(r1.compute(), r2.compute())
    full_a, full_r = truth(np.arange(384)[:, None], np.arange(384)[None, :])
    assert np.max(np.abs(a1.compute() - full_a)) < 0.03 and np.max(np.abs(r1.compute() - full_r)) < 0.03
    assert a1.name.startswith("offset-model-azimuth")


def test_dense_offsets_chunk_independent():
    ref, sec, _ = _simulated_pair(n=192, seed=4)
    outs = []
    for chunks, per_task in (((192, 192), (16, 16)), ((70, 90), (2, 3))):
        ds = dense_offsets(da.from_array(ref, chunks=chunks), da.from_array(sec, chunks=chunks), SIM_PARAMS,
                           windows_per_task=per_task)
        assert any(str(k[0] if isinstance(k, tuple) else k).startswith("dense-offsets")
                   for k in ds["azimuth"].data.__dask_graph__().keys())
        outs.append(ds.compute())
    # offsets sit on the 1/128 px grid: identical; the rest to float rounding of batched FFTs
    for name in ("azimuth", "range"):
        np.testing.assert_array_equal(outs[0][name].values, outs[1][name].values)
    for name in ("snr", "peak", "var_azimuth", "var_range"):
        np.testing.assert_allclose(outs[0][name].values, outs[1][name].values, rtol=1e-6)


def test_coarse_offsets_constant_shift():
    ref, sec, truth = _simulated_pair(n=384, off=(2.3, 0.0, -4.6, 0.0), seed=21)
    model, ds = coarse_offsets(ref, sec, n_windows=(2, 2), window=128, search=16, order=0)
    a, r = model(100.0, 200.0)
    assert abs(float(a) - 2.3) < 0.05 and abs(float(r) + 4.6) < 0.05
    assert ds["mask"].values.all()


def test_window_grid_and_errors():
    p = OffsetParams(window_azimuth=32, window_range=64, search_azimuth=20, search_range=20, skip_azimuth=32, skip_range=32)
    g = window_grid((512, 512), p)
    assert g.start_az[0] == 20 and g.start_az[-1] + 32 + 20 <= 512
    assert g.start_rg[-1] + 64 + 20 <= 512
    with pytest.raises(ValueError, match="too small"):
        window_grid((40, 40), p)
    ds = dense_offsets(np.zeros((128, 128), np.complex64), np.zeros((128, 128), np.complex64),
                       OffsetParams(window_azimuth=32, window_range=32, search_azimuth=4, search_range=4,
                                    skip_azimuth=32, skip_range=32))
    with pytest.raises(ValueError, match="survive culling"):
        cull_offsets(ds, OffsetParams(snr_min=5.0))


def test_deramp_makes_offsets_independent_of_doppler_ramp():
    """An azimuth phase ramp (Doppler centroid 0.2 PRF) on both images must not change the
    offsets with the default deramp; ISCE3's legacy deramp breaks on it (why it is opt-in)."""
    ref, sec, truth = _simulated_pair(n=256, coherence=0.97, seed=5)
    ramp = np.exp(2j * np.pi * 0.2 * np.arange(256))[:, None].astype(np.complex64)

    def rms(r, s, mode):
        p = SIM_PARAMS.model_copy(update={"deramp_mode": mode})
        ds = dense_offsets(r, s, p).compute()
        line, sample = np.meshgrid(ds.azimuth_center.values, ds.range_center.values, indexing="ij")
        ta, tr = truth(line, sample)
        return float(np.sqrt(np.mean(np.concatenate([(ds["azimuth"].values - ta).ravel(),
                                                      (ds["range"].values - tr).ravel()]) ** 2)))

    plain, ramped = rms(ref, sec, "azimuth"), rms(ref * ramp, sec * ramp, "azimuth")
    legacy = rms(ref * ramp, sec * ramp, "isce3-legacy")
    print(f"rms vs truth: no ramp {plain:.4f}, ramp {ramped:.4f}, ramp with legacy deramp {legacy:.4f}")
    assert plain <= 0.02 and ramped <= 0.02 and abs(ramped - plain) < 0.002
    assert legacy > 5 * ramped


def test_window_offsets_are_reported_at_the_window_middle():
    """A window's offset is the mean over its samples, i.e. the field at the middle of lines
    start .. start + window - 1: with a steep gradient (0.01 px/px) reporting it at start + window/2
    would bias every window by gradient/2 = 0.005 px."""
    g = 0.01
    ref, sec, truth = _simulated_pair(n=384, coherence=0.99, off=(0.3, g, -0.4, g), seed=4)
    ds = dense_offsets(ref, sec, SIM_PARAMS).compute()
    grid = window_grid(ref.shape, SIM_PARAMS)
    assert np.allclose(ds["azimuth_center"].values, grid.start_az + (64 - 1) / 2)
    line, sample = np.meshgrid(ds.azimuth_center.values, ds.range_center.values, indexing="ij")
    ta, tr = truth(line, sample)
    bias = float(np.mean(np.concatenate([(ds["azimuth"].values - ta).ravel(), (ds["range"].values - tr).ravel()])))
    ta2, tr2 = truth(line + 0.5, sample + 0.5)  # what the start + window/2 convention would have compared with
    old = float(np.mean(np.concatenate([(ds["azimuth"].values - ta2).ravel(), (ds["range"].values - tr2).ravel()])))
    print(f"mean error at the window middle {bias:+.4f} px, at start + window/2 {old:+.4f} px")
    assert abs(bias) < 0.002 and old < -0.003
