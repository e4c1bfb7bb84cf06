"""Goldstein-Werner filter: against a plain per-patch implementation, chunk independence,
noise reduction vs strength with the fringe preserved."""

import dask.array as da
import numpy as np
import pytest
from scipy import ndimage

from daskinsar.stages.filter import goldstein, goldstein_kernel, patch_window


def _reference_goldstein(ifg, alpha, psize, step, smooth):
    """Slow, obvious implementation of the documented algorithm (numpy FFT, one patch at a time)."""
    n0, n1 = ifg.shape
    pad = psize
    z = np.zeros((n0 + 2 * pad, n1 + 2 * pad), np.complex128)
    z[pad:pad + n0, pad:pad + n1] = ifg
    acc = np.zeros_like(z)
    wacc = np.zeros(z.shape)
    w1 = np.sin(np.pi * (np.arange(psize) + 0.5) / psize) ** 2
    w2 = np.outer(w1, w1)
    for r in range(-(psize - step), n0, step):
        for c in range(-(psize - step), n1, step):
            p = z[r + pad:r + pad + psize, c + pad:c + pad + psize]
            spec = np.fft.fft2(p)
            s = ndimage.uniform_filter(np.abs(spec), size=smooth, mode="wrap")
            h = (s / s.max()) ** alpha if s.max() > 0 else 0 * s
            f = np.fft.ifft2(spec * h)
            acc[r + pad:r + pad + psize, c + pad:c + pad + psize] += w2 * f
            wacc[r + pad:r + pad + psize, c + pad:c + pad + psize] += w2
    return acc[pad:pad + n0, pad:pad + n1] / wacc[pad:pad + n0, pad:pad + n1]


def _fringes(n0, n1, coherence, seed):
    """A fringe pattern with exactly known phase plus circular Gaussian decorrelation noise."""
    y, x = np.mgrid[0:n0, 0:n1].astype(np.float64)
    phase = 2 * np.pi * (x / 37.0 + y / 53.0) + 2.5 * np.sin(2 * np.pi * x / 400.0) * np.cos(2 * np.pi * y / 300.0)
    rng = np.random.default_rng(seed)
    a = (rng.standard_normal((n0, n1)) + 1j * rng.standard_normal((n0, n1))) / np.sqrt(2)
    b = (rng.standard_normal((n0, n1)) + 1j * rng.standard_normal((n0, n1))) / np.sqrt(2)
    ref = a
    sec = (coherence * a + np.sqrt(1 - coherence**2) * b) * np.exp(-1j * phase)
    return (ref * np.conj(sec)).astype(np.complex64), phase


@pytest.mark.parametrize("alpha,psize,step,smooth", [(0.5, 32, 16, 3), (0.8, 16, 4, 1), (0.3, 32, 8, 5)])
def test_matches_plain_patch_implementation(alpha, psize, step, smooth):
    ifg, _ = _fringes(90, 131, 0.7, seed=1)
    got = goldstein_kernel(ifg, alpha=alpha, psize=psize, step=step, smooth=smooth)
    ref = _reference_goldstein(ifg.astype(np.complex128), alpha, psize, step, smooth)
    scale = np.abs(ref).max()
    assert np.max(np.abs(got - ref)) < 2e-5 * scale


def test_alpha_zero_is_identity():
    """alpha=0, no smoothing: every patch passes unchanged, so the window-normalised overlap-add
    must reproduce the input exactly (tests the blending weights and the border patches)."""
    ifg, _ = _fringes(200, 173, 0.5, seed=2)
    out = goldstein_kernel(ifg, alpha=0.0, psize=32, step=8, smooth=1)
    assert np.max(np.abs(out - ifg)) < 1e-5 * np.abs(ifg).max()


def test_same_output_for_chunks_512_and_2048():
    ifg, _ = _fringes(2048, 2048, 0.6, seed=3)
    x = da.from_array(ifg, chunks=2048)
    out_2048 = goldstein(x, alpha=0.5, psize=32).compute()
    out_512 = goldstein(x.rechunk(512), alpha=0.5, psize=32).compute()
    amp = np.abs(out_2048)
    ok = amp > 1e-3 * np.median(amp)
    assert ok.mean() > 0.99
    dphi = np.abs(np.angle(out_512[ok] * np.conj(out_2048[ok])))
    assert dphi.max() < 1e-4
    # an irregular chunking (not multiples of the patch step) gives the same answer too
    out_odd = goldstein(x.rechunk((700, 901)), alpha=0.5, psize=32).compute()
    assert np.abs(np.angle(out_odd[ok] * np.conj(out_2048[ok]))).max() < 1e-4
    assert np.all(np.isfinite(out_512))


def test_noise_reduction_grows_with_alpha_and_fringe_is_kept():
    ifg, phase = _fringes(512, 512, 0.5, seed=4)
    inner = (slice(32, -32), slice(32, -32))

    def err_stats(z):
        e = np.angle(z[inner] * np.exp(-1j * phase[inner]))
        return np.std(e), np.angle(np.mean(np.exp(1j * e)))

    std0, _ = err_stats(ifg)
    stds = []
    for alpha in (0.2, 0.5, 0.8):
        std, mean = err_stats(goldstein_kernel(ifg, alpha=alpha, psize=32, step=8))
        stds.append(std)
        assert abs(mean) < 0.02, f"alpha {alpha}: fringe phase biased by {mean} rad"
    print(f"phase error std: unfiltered {std0:.3f}, alpha 0.2/0.5/0.8: {stds[0]:.3f}/{stds[1]:.3f}/{stds[2]:.3f} rad")
    assert std0 > stds[0] > stds[1] > stds[2]
    assert stds[2] < 0.5 * std0


def test_nan_input_stays_masked_and_window_sums_to_one():
    w = patch_window(32)
    assert np.allclose(w[:16] + w[16:], 1.0, atol=1e-6)
    ifg, _ = _fringes(64, 64, 0.9, seed=5)
    ifg[10, 10] = np.nan
    out = goldstein_kernel(ifg, alpha=0.5)
    assert np.isnan(out[10, 10]) and np.isfinite(np.delete(out.ravel(), 10 * 64 + 10)).all()


def test_bad_parameters():
    with pytest.raises(ValueError):
        goldstein_kernel(np.ones((8, 8), np.complex64), psize=32, step=12)
    with pytest.raises(ValueError):
        goldstein_kernel(np.ones((8, 8), np.complex64), smooth=2)


def test_short_trailing_chunk_is_merged():
    """A trailing chunk shorter than the patch (e.g. 398 = 6 x 64 + 14 lines, psize 16) still filters."""
    import dask.array as da

    from daskinsar.stages.chunking import chunks_at_least

    assert chunks_at_least((64, 64, 14), 16) == (64, 78)
    assert chunks_at_least((10, 10, 10), 16) == (30,) or min(chunks_at_least((10, 10, 10), 16)) >= 16
    rng = np.random.default_rng(0)
    z = np.exp(1j * rng.uniform(-np.pi, np.pi, (398, 163))).astype(np.complex64)
    a = goldstein(da.from_array(z, chunks=64), alpha=0.5, psize=16).compute()
    b = goldstein(da.from_array(z, chunks=398), alpha=0.5, psize=16).compute()
    assert a.shape == z.shape
    np.testing.assert_allclose(a, b, atol=1e-5)
