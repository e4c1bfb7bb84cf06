"""Coherence estimators against known true coherence, and the estimator-bias formula."""

import dask.array as da
import numpy as np
import pytest
from scipy import integrate, special

from daskinsar.stages.coherence import (box_sum, coherence, coherence_from_slcs, expected_coherence_estimate,
                                        phase_sigma_coherence, phase_sigma_from_phsig)
from daskinsar.stages.interferogram import interferogram


def _correlated_pair(shape, gamma, seed, phase=0.0):
    """Circular Gaussian SLC pair with true coherence ``gamma`` (white: every pixel an independent look)."""
    rng = np.random.default_rng(seed)
    a = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)
    b = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)
    return a.astype(np.complex64), ((gamma * a + np.sqrt(1 - gamma**2) * b) * np.exp(-1j * phase)).astype(np.complex64)


def _touzi_mean_by_integration(g, n):
    """E|gamma_hat| from the pdf (Touzi et al. 1999) by numerical integration: an independent check."""
    def pdf(d):
        return (2 * (n - 1) * (1 - g * g) ** n * d * (1 - d * d) ** (n - 2)
                * special.hyp2f1(n, n, 1, g * g * d * d))
    mass = integrate.quad(pdf, 0, 1, limit=200)[0]
    mean = integrate.quad(lambda d: d * pdf(d), 0, 1, limit=200)[0]
    return mean, mass


@pytest.mark.parametrize("n", [4, 10, 25])
@pytest.mark.parametrize("g", [0.0, 0.3, 0.6, 0.9])
def test_bias_formula_matches_integrated_pdf(g, n):
    mean, mass = _touzi_mean_by_integration(g, n)
    assert mass == pytest.approx(1.0, abs=1e-7)
    assert expected_coherence_estimate(g, n) == pytest.approx(mean, rel=1e-7, abs=1e-9)


def test_bias_formula_limits():
    n = np.array([1, 2, 9, 50, 400])
    # gamma = 0: Gamma(N) Gamma(3/2) / Gamma(N + 1/2), -> sqrt(pi / 4N) for large N
    g0 = np.exp(special.gammaln(n) + special.gammaln(1.5) - special.gammaln(n + 0.5))
    np.testing.assert_allclose(expected_coherence_estimate(0.0, n), g0, rtol=1e-10)
    assert expected_coherence_estimate(0.0, 400) == pytest.approx(np.sqrt(np.pi / 1600), rel=1e-3)
    assert expected_coherence_estimate(0.37, 1) == pytest.approx(1.0)  # one look: |gamma_hat| = 1 always
    assert expected_coherence_estimate(1.0, 7) == 1.0
    big = expected_coherence_estimate(np.array([0.2, 0.5, 0.8]), 20000)
    np.testing.assert_allclose(big, [0.2, 0.5, 0.8], atol=2e-3)  # unbiased in the limit
    e = expected_coherence_estimate(np.linspace(0, 0.99, 12), 25)
    assert np.all(np.diff(e) > 0) and np.all(e >= np.linspace(0, 0.99, 12))  # biased upward, monotone


@pytest.mark.parametrize("gamma", [0.2, 0.4, 0.6, 0.8, 0.95])
def test_full_resolution_estimate_matches_expected_bias(gamma):
    win = (5, 5)
    n_looks = 25
    ref, sec = _correlated_pair((400, 400), gamma, seed=int(gamma * 100), phase=0.7)
    coh = coherence_from_slcs(da.from_array(ref, chunks=(128, 150)), da.from_array(sec, chunks=(128, 150)),
                              win).compute()
    # centres of disjoint 5x5 windows: independent estimates
    est = coh[2:-2:5, 2:-2:5].astype(np.float64)
    m = est.size
    expected = expected_coherence_estimate(gamma, n_looks)
    tol = 4.0 * est.std(ddof=1) / np.sqrt(m)
    print(f"gamma {gamma}: mean estimate {est.mean():.4f}, expected {expected:.4f} +/- {tol:.4f} ({m} windows)")
    assert abs(est.mean() - expected) < tol
    if gamma <= 0.4:  # the bias is real: the naive truth is outside the tolerance
        assert abs(est.mean() - gamma) > tol


@pytest.mark.parametrize("gamma", [0.3, 0.7])
def test_multilooked_estimate_matches_expected_bias(gamma):
    """Coherence on a 3x3-multilooked ifg over a 3x3 window = 81 independent looks."""
    ref, sec = _correlated_pair((600, 600), gamma, seed=7 + int(gamma * 10))
    ds = interferogram(da.from_array(ref, chunks=300), da.from_array(sec, chunks=300), looks=(3, 3))
    coh = coherence(ds["ifg"], ds["power_reference"], ds["power_secondary"], (3, 3)).compute()
    est = coh[1:-1:3, 1:-1:3].astype(np.float64)
    expected = expected_coherence_estimate(gamma, 81)
    tol = 4.0 * est.std(ddof=1) / np.sqrt(est.size)
    print(f"multilooked gamma {gamma}: mean {est.mean():.4f}, expected {expected:.4f} +/- {tol:.4f}")
    assert abs(est.mean() - expected) < tol


def test_coherence_independent_of_chunks_and_exact_at_borders():
    ref, sec = _correlated_pair((150, 170), 0.6, seed=3)
    a = coherence_from_slcs(da.from_array(ref, chunks=(150, 170)), da.from_array(sec, chunks=(150, 170)), (5, 15))
    b = coherence_from_slcs(da.from_array(ref, chunks=(31, 40)), da.from_array(sec, chunks=(31, 40)), (5, 15))
    np.testing.assert_allclose(a.compute(), b.compute(), atol=1e-6)
    # brute force at a corner (truncated window) and inside
    for (i, j) in [(0, 0), (1, 169), (75, 80)]:
        r = ref[max(i - 2, 0):i + 3, max(j - 7, 0):j + 8].astype(np.complex128)
        s = sec[max(i - 2, 0):i + 3, max(j - 7, 0):j + 8].astype(np.complex128)
        want = np.abs(np.sum(r * np.conj(s))) / np.sqrt(np.sum(np.abs(r) ** 2) * np.sum(np.abs(s) ** 2))
        assert a.compute()[i, j] == pytest.approx(want, abs=1e-6)
    # identical images: coherence exactly 1 everywhere (including the borders)
    one = coherence_from_slcs(ref, ref, (3, 3)).compute()
    assert np.allclose(one, 1.0, atol=1e-5)


def test_box_sum_against_brute_force():
    x = np.random.default_rng(0).standard_normal((9, 11))
    got = box_sum(x, (3, 5))
    p = np.pad(x, ((1, 1), (2, 2)))
    want = np.array([[p[i:i + 3, j:j + 5].sum() for j in range(11)] for i in range(9)])
    np.testing.assert_allclose(got, want, atol=1e-12)
    with pytest.raises(ValueError):
        box_sum(x, (4, 5))


def test_phase_sigma_coherence():
    n0, n1 = 120, 140
    y, x = np.mgrid[0:n0, 0:n1].astype(np.float64)
    steep = np.exp(1j * (1.1 * x - 0.7 * y)).astype(np.complex64)  # fast linear fringes, no noise
    ph = phase_sigma_coherence(da.from_array(steep, chunks=(50, 60)), (5, 5)).compute()
    assert ph[3:-3, 3:-3].min() > 0.9999  # slope removed: noise-free fringes are fully coherent
    vals = []
    for gamma in (0.95, 0.7, 0.3):
        ref, sec = _correlated_pair((n0, n1), gamma, seed=11, phase=1.1 * x - 0.7 * y)
        ifg = ref * np.conj(sec)
        a = phase_sigma_coherence(da.from_array(ifg, chunks=(50, 60)), (5, 5)).compute()
        b = phase_sigma_coherence(da.from_array(ifg, chunks=(n0, n1)), (5, 5)).compute()
        np.testing.assert_allclose(a, b, atol=1e-6)
        vals.append(np.median(a[3:-3, 3:-3]))
    assert vals[0] > vals[1] > vals[2]
    assert phase_sigma_from_phsig(np.array([1.0]))[0] == pytest.approx(0.0, abs=1e-5)


def test_nan_pixels_stay_local():
    """A no-data pixel (NaN, e.g. layover) is NaN in the coherence but does not spread."""
    from daskinsar.stages.coherence import coherence_kernel

    rng = np.random.default_rng(3)
    z = (rng.normal(size=(60, 70)) + 1j * rng.normal(size=(60, 70)))
    p = np.abs(z) ** 2
    z2 = z.copy()
    z2[30, 35] = np.nan
    a = coherence_kernel(z, p, p, (5, 5))
    b = coherence_kernel(z2, p, p, (5, 5))
    assert np.isnan(b[30, 35])
    far = np.ones_like(a, dtype=bool)
    far[27:34, 32:39] = False
    np.testing.assert_allclose(b[far], a[far], rtol=1e-6)
    assert np.isfinite(b[27:34, 32:39]).sum() == 7 * 7 - 1


def _brute_coherence(cross, pr, ps, window):
    """Direct float64 window sums (truncated at the edges, non-finite samples as 0)."""
    ha, hr = window[0] // 2, window[1] // 2
    cross = np.where(np.isfinite(cross), cross, 0).astype(np.complex128)
    pr = np.where(np.isfinite(pr), pr, 0).astype(np.float64)
    ps = np.where(np.isfinite(ps), ps, 0).astype(np.float64)
    out = np.zeros(cross.shape)
    for i in range(cross.shape[0]):
        for j in range(cross.shape[1]):
            sl = (slice(max(i - ha, 0), i + ha + 1), slice(max(j - hr, 0), j + hr + 1))
            den = np.sqrt(pr[sl].sum() * ps[sl].sum())
            out[i, j] = min(abs(cross[sl].sum()) / den, 1.0) if den > 0 else 0.0
    return out


@pytest.mark.parametrize("window", [(1, 1), (3, 7), (5, 5), (7, 3)])
def test_numba_coherence_kernels_against_brute_force(window):
    from daskinsar.stages.coherence import coherence_kernel, slc_coherence_kernel

    ref, sec = _correlated_pair((21, 26), 0.5, seed=21)
    # a wide dynamic range (bright targets next to dark ones) and no-data pixels
    ref = (ref * np.exp(np.random.default_rng(22).uniform(0, 6, ref.shape))).astype(np.complex64)
    ref[4, 5] = np.nan
    sec[10, 0] = np.inf
    r, s = ref.astype(np.complex128), sec.astype(np.complex128)
    with np.errstate(invalid="ignore"):
        cross = r * np.conj(s)
    want = _brute_coherence(cross, np.abs(r) ** 2, np.abs(s) ** 2, window)
    bad = ~np.isfinite(cross)
    assert bad.sum() == 2
    got_slc = slc_coherence_kernel(ref, sec, window)
    got = coherence_kernel(cross.astype(np.complex64), (np.abs(r) ** 2).astype(np.float32),
                           (np.abs(s) ** 2).astype(np.float32), window)
    for g in (got_slc, got):
        assert g.dtype == np.float32
        assert np.isnan(g[bad]).all() and np.isfinite(g[~bad]).all()
        np.testing.assert_allclose(g[~bad], want[~bad], atol=2e-6, rtol=0)
    if window == (1, 1):  # one pixel: |r s*| / (|r| |s|) = 1 exactly, whatever the brightness
        np.testing.assert_allclose(got_slc[~bad], 1.0, atol=1e-6)


def test_pipeline_coherence_from_fused_products_is_chunk_independent():
    ref, sec = _correlated_pair((150, 181), 0.7, seed=23, phase=0.3)
    geo = np.random.default_rng(24).uniform(-50, 50, ref.shape)
    cohs = []
    for chunks in ((150, 181), (37, 53)):
        ds = interferogram(da.from_array(ref, chunks=chunks), da.from_array(sec * np.exp(-1j * geo).astype(np.complex64),
                                                                             chunks=chunks), looks=(2, 3),
                           geometric_phase=da.from_array(geo, chunks=chunks))
        cohs.append(coherence(ds["ifg"].data, ds["power_reference"].data, ds["power_secondary"].data, (5, 5)).compute())
    np.testing.assert_array_equal(cohs[0], cohs[1])
    # 6 looks x 25 window pixels = 150 independent looks at gamma 0.7: the estimate is close to the truth
    assert abs(np.median(cohs[0][2:-2, 2:-2]) - expected_coherence_estimate(0.7, 150)) < 0.02


def test_slc_coherence_bitwise_chunk_independent():
    ref, sec = _correlated_pair((90, 140), 0.5, seed=25)
    ref = (ref * np.exp(np.random.default_rng(26).uniform(0, 5, ref.shape))).astype(np.complex64)
    a = coherence_from_slcs(da.from_array(ref, chunks=(90, 140)), da.from_array(sec, chunks=(90, 140)), (5, 15))
    b = coherence_from_slcs(da.from_array(ref, chunks=(19, 33)), da.from_array(sec, chunks=(19, 33)), (5, 15))
    np.testing.assert_array_equal(a.compute(), b.compute())
