"""Resampling of a secondary SLC onto the reference grid (daskinsar.stages.resample).

Truth is exact: the scene is a band-limited circular-Gaussian speckle field defined as a
Fourier series, so it can be evaluated at any (fractional) position; the secondary is that
field sampled at the positions the known offset field maps onto its grid.
"""

import numpy as np
import dask.array as da
import pytest

from daskinsar.geometry.sinc import kaiser_sinc_table as sinc_table
from daskinsar.stages.resample import resample_block, resample_slc

PRF = 1700.0


def _freqs(n, bandwidth, center):
    """Band of a length-n axis (cycles/sample, contiguous around ``center``) and its mask."""
    f = np.fft.fftfreq(n)
    fu = center + (((f - center + 0.5) % 1.0) - 0.5)      # unwrap around the carrier
    return fu, np.abs(fu - center) < bandwidth / 2


def speckle_field(n_az, n_rg, *, bandwidth=(0.8, 0.8), doppler_cycles=0.0, seed=0):
    """Return f(y, x) -> complex field on the outer product of line positions y and sample
    positions x: circular-Gaussian speckle, band-limited to ``bandwidth`` (fraction of the
    sampling rate) around ``doppler_cycles`` (cycles/line) in azimuth and 0 in range."""
    rng = np.random.default_rng(seed)
    fa, ma = _freqs(n_az, bandwidth[0], doppler_cycles)
    fr, mr = _freqs(n_rg, bandwidth[1], 0.0)
    fa, fr = fa[ma], fr[mr]
    Z = (rng.normal(size=(fa.size, fr.size)) + 1j * rng.normal(size=(fa.size, fr.size))) / np.sqrt(2 * fa.size * fr.size)

    def field(y, x):
        Ey = np.exp(2j * np.pi * np.outer(np.asarray(y, float), fa))
        Ex = np.exp(2j * np.pi * np.outer(fr, np.asarray(x, float)))
        return Ey @ Z @ Ex

    return field


def affine_pair(n, *, doppler_hz=0.0, bandwidth=(0.8, 0.8), seed=0, off=(0.37, 2.5e-3, -1.71, 1.8e-3)):
    """Reference, secondary and the true offsets (secondary = reference + offset) for a
    separable affine offset field az = ca + ga*line, rg = cr + gr*sample."""
    ca, ga, cr, gr = off
    field = speckle_field(n, n, bandwidth=bandwidth, doppler_cycles=doppler_hz / PRF, seed=seed)
    i = np.arange(n, dtype=float)
    ref = field(i, i).astype(np.complex64)
    # secondary pixel q sees the reference position p with q = p + offset(p)
    sec = field((i - ca) / (1 + ga), (i - cr) / (1 + gr)).astype(np.complex64)
    az = np.repeat((ca + ga * i)[:, None], n, axis=1)
    rg = np.repeat((cr + gr * i)[None, :], n, axis=0)
    return ref, sec, az, rg


def _coherence_phase(ref, res, border):
    s = (slice(border, -border), slice(border, -border))
    ifg = ref[s] * np.conj(res[s])
    coh = np.abs(ifg.sum()) / np.sqrt(np.sum(np.abs(ref[s]) ** 2) * np.sum(np.abs(res[s]) ** 2))
    return float(coh), float(np.std(np.angle(ifg)))


def test_sinc_table_properties():
    t = sinc_table(12, 256, 4.0)
    np.testing.assert_allclose(t.sum(axis=1), 1.0, rtol=1e-12)
    # integer position reproduces the sample: a delta on the tap at distance 0
    expect = np.zeros(12)
    expect[12 // 2 - 1] = 1.0
    np.testing.assert_allclose(t[0], expect, atol=1e-12)
    # symmetric: fraction f and 1 - f are mirror images
    np.testing.assert_allclose(t[64], t[256 - 64][::-1], atol=1e-12)


@pytest.mark.parametrize("doppler_hz", [0.0, 300.0])
def test_resampled_interferogram_matches_truth(doppler_hz):
    n = 160
    ref, sec, az, rg = affine_pair(n, doppler_hz=doppler_hz, seed=3)
    out, flag = resample_slc(da.from_array(sec, chunks=(64, 80)), da.from_array(az, chunks=(50, 50)),
                             da.from_array(rg, chunks=(50, 50)), doppler_hz=doppler_hz,
                             azimuth_line_interval_s=1.0 / PRF)
    out, flag = out.compute(), flag.compute()
    truth_coh = 1.0  # noise-free pair: the exactly resampled secondary equals the reference
    coh, phase_std = _coherence_phase(ref, out, border=12)
    assert coh >= 0.99 * truth_coh, coh
    assert phase_std <= 0.05, phase_std
    # flags: exactly the pixels whose source lies outside the secondary image
    y = np.arange(n)[:, None] + az
    x = np.arange(n)[None, :] + rg
    outside = (y < 0) | (y > n - 1) | (x < 0) | (x > n - 1)
    np.testing.assert_array_equal(flag, outside)
    assert np.all(out[outside] == 0)


def test_doppler_carrier_handling_matters():
    """With a 300 Hz carrier at PRF 1700 Hz and 80 % azimuth bandwidth the band wraps past
    the azimuth Nyquist frequency: ignoring the carrier must visibly fail, handling it must
    pass (constant and callable Doppler give the same result)."""
    n = 128
    ref, sec, az, rg = affine_pair(n, doppler_hz=300.0, seed=5)
    good, _ = resample_block(sec, (0, 0), sec.shape, (0, 0), az, rg, 300.0 / PRF)
    bad, _ = resample_block(sec, (0, 0), sec.shape, (0, 0), az, rg, 0.0)
    coh_good, ph_good = _coherence_phase(ref, good, 12)
    coh_bad, ph_bad = _coherence_phase(ref, bad, 12)
    assert coh_good >= 0.99 and ph_good <= 0.05
    assert coh_bad < 0.97 and ph_bad > 0.2
    # Doppler as a callable of (azimuth time, slant range) on the secondary grid
    out_c, _ = resample_slc(sec, az, rg, doppler_hz=lambda t, r: np.full(np.shape(t), 300.0),
                            secondary_grid=(10.0, 1.0 / PRF, 850e3, 7.5))
    np.testing.assert_allclose(out_c.compute(), good, atol=1e-5)


def test_resample_chunk_independent():
    n = 120
    ref, sec, az, rg = affine_pair(n, doppler_hz=300.0, seed=7, off=(-3.4, 4e-3, 5.2, -3e-3))
    outs = []
    for sec_chunks, off_chunks in (((120, 120), (120, 120)), ((37, 51), (29, 44))):
        o, f = resample_slc(da.from_array(sec, chunks=sec_chunks), da.from_array(az, chunks=off_chunks),
                            da.from_array(rg, chunks=off_chunks), doppler_hz=300.0,
                            azimuth_line_interval_s=1 / PRF)
        outs.append((o.compute(), f.compute()))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
    coh, ph = _coherence_phase(ref, outs[0][0], border=16)
    assert coh >= 0.99 and ph <= 0.05


def test_task_names_and_bad_input():
    sec = np.zeros((32, 32), np.complex64)
    az = da.zeros((32, 32), chunks=16)
    out, _ = resample_slc(sec, az, az)
    assert any(str(k[0] if isinstance(k, tuple) else k).startswith("resample-") for k in out.__dask_graph__().keys())
    with pytest.raises(ValueError, match="differ in shape"):
        resample_slc(sec, az, da.zeros((32, 31), chunks=16))
    with pytest.raises(ValueError, match="secondary_grid"):
        resample_slc(sec, az, az, doppler_hz=lambda t, r: t)
    with pytest.raises(ValueError, match="even"):
        sinc_table(9)


def _direct_resample(sec, az, rg, fd_dt, table):
    """Independent float64 reference: the full 2-D windowed-sinc sum of the module docstring,
    vectorised over output pixels (taps outside the image are zeros)."""
    steps, n_taps = table.shape[0] - 1, table.shape[1]
    h = n_taps // 2 - 1
    n_a, n_r = sec.shape
    ni, nj = az.shape
    y = np.arange(ni)[:, None] + az
    x = np.arange(nj)[None, :] + rg
    outside = (y < 0) | (y > n_a - 1) | (x < 0) | (x > n_r - 1)
    iy, ix = np.floor(y).astype(int), np.floor(x).astype(int)
    wy = table[((y - iy) * steps + 0.5).astype(int)]           # (ni, nj, n_taps)
    wx = table[((x - ix) * steps + 0.5).astype(int)]
    m = iy[..., None] - h + np.arange(n_taps)                    # azimuth tap lines
    c = ix[..., None] - h + np.arange(n_taps)                    # range tap samples
    wy = wy * np.exp(-2j * np.pi * np.broadcast_to(fd_dt, az.shape)[..., None] * (m - y[..., None]))
    padded = np.zeros((n_a + 2 * n_taps, n_r + 2 * n_taps), np.complex128)
    padded[n_taps:-n_taps, n_taps:-n_taps] = sec
    mm = np.clip(m, -n_taps, n_a + n_taps - 1) + n_taps
    cc = np.clip(c, -n_taps, n_r + n_taps - 1) + n_taps
    win = padded[mm[..., :, None], cc[..., None, :]]             # (ni, nj, n_taps, n_taps)
    out = np.einsum("...a,...b,...ab->...", wy, wx, win)
    out[outside] = 0
    return out, outside


def _smooth_offsets(n, rng):
    """Smooth offsets with curvature: range offsets vary along azimuth too (so (ix, kx) of a
    column changes, at irregular intervals) and azimuth offsets fall back in places (the
    source line steps backwards), both reaching past the image edges."""
    ii, jj = np.indices((n, n), dtype=np.float64)
    az = -2.3 + 0.03 * ii + 1.5 * np.sin(ii / 7.0) + 0.4 * np.cos(jj / 11.0)
    rg = 1.9 - 0.04 * jj + 0.8 * np.sin(ii / 9.0 + jj / 13.0) + 3e-4 * ii
    return az, rg


@pytest.mark.parametrize("carrier", ["none", "constant", "per-pixel"])
def test_kernel_matches_direct_sum(carrier):
    """The cached, float32 kernel equals the plain 2-D sum (float64) to float32 rounding,
    including pixels near and beyond the image edges."""
    n = 90
    rng = np.random.default_rng(11)
    sec = (rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))).astype(np.complex64)
    az, rg = _smooth_offsets(n, rng)
    fd = {"none": 0.0, "constant": 300.0 / PRF,
          "per-pixel": 0.17 + 0.05 * np.sin(np.arange(n)[:, None] / 5.0 + np.arange(n)[None, :] / 8.0)}[carrier]
    table = sinc_table(12, 2048, 4.0)
    truth, outside = _direct_resample(sec.astype(np.complex128), az, rg, fd, table)
    out, flag = resample_block(sec, (0, 0), sec.shape, (0, 0), az, rg, fd)
    np.testing.assert_array_equal(flag, outside)
    assert 0 < outside.sum() < outside.size // 2
    rms = np.sqrt(np.mean(np.abs(truth[~outside]) ** 2))
    err = np.abs(out.astype(np.complex128) - truth).max() / rms
    assert err < 1e-5, err
    # the same block from a sub-window of the secondary (taps outside it are zeros only
    # where they are outside the image too) gives the same pixels
    out2, _ = resample_block(sec[10:80, 5:85], (10, 5), sec.shape, (0, 0), az, rg, fd)
    inner = (slice(30, 60), slice(25, 65))
    assert np.abs(out2[inner] - out[inner]).max() / rms < 1e-5


def test_chunk_independent_with_curved_offsets_and_doppler_callable():
    """Bit-identical results for chunkings smaller and larger than the kernel's column strip,
    with offsets whose (line, range tap) change irregularly and a Doppler varying per pixel."""
    n = 150
    rng = np.random.default_rng(2)
    sec = (rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))).astype(np.complex64)
    az, rg = _smooth_offsets(n, rng)
    fd = lambda t, r: 250.0 + 40.0 * np.sin(t * 50.0) + 1e-3 * (r - 850e3)  # noqa: E731
    grid = (10.0, 1.0 / PRF, 850e3, 7.5)
    outs = []
    for sec_chunks, off_chunks in (((150, 150), (150, 150)), ((41, 67), (29, 23)), ((70, 150), (97, 131))):
        o, f = resample_slc(da.from_array(sec, chunks=sec_chunks), da.from_array(az, chunks=off_chunks),
                            da.from_array(rg, chunks=off_chunks), doppler_hz=fd, secondary_grid=grid)
        outs.append((o.compute(), f.compute()))
    for o, f in outs[1:]:
        np.testing.assert_array_equal(o, outs[0][0])
        np.testing.assert_array_equal(f, outs[0][1])
    # and it is the right answer: the direct sum with the Doppler at the source positions
    y = np.arange(n)[:, None] + az
    x = np.arange(n)[None, :] + rg
    fd_dt = fd(grid[0] + grid[1] * y, grid[2] + grid[3] * x) * grid[1]
    truth, outside = _direct_resample(sec.astype(np.complex128), az, rg, fd_dt, sinc_table(12, 2048, 4.0))
    rms = np.sqrt(np.mean(np.abs(truth[~outside]) ** 2))
    assert np.abs(outs[0][0] - truth).max() / rms < 1e-5


def test_store_backed_secondary_reads_windows_directly(tmp_path):
    """A zarr.Array secondary (each task reads its own halo'd window from the store) gives the
    same bytes as the dask-array path, and its graph has no dependency on secondary blocks."""
    import zarr

    rng = np.random.default_rng(4)
    n = 300
    sec = (rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))).astype(np.complex64)
    z = zarr.create_array(str(tmp_path / "sec.zarr"), shape=sec.shape, chunks=(64, 64), dtype=np.complex64)
    z[...] = sec
    ii, jj = np.indices((n, n), dtype=np.float64)
    az = da.from_array(0.4 + 1e-3 * ii - 2e-3 * jj, chunks=100)
    rg = da.from_array(-1.3 + 2e-3 * jj + 1e-3 * ii, chunks=100)
    a, fa = resample_slc(da.from_array(sec, chunks=64), az, rg, max_offset_px=(2.0, 2.0))
    b, fb = resample_slc(zarr.open_array(str(tmp_path / "sec.zarr"), mode="r"), az, rg, max_offset_px=(2.0, 2.0))
    np.testing.assert_array_equal(a.compute(), b.compute())
    np.testing.assert_array_equal(fa.compute(), fb.compute())
    # each resampling task depends on its two offset blocks only (no secondary blocks)
    from dask.core import get_dependencies

    graph = dict(b.__dask_graph__())
    tasks = [k for k in graph if str(k).startswith("resample-sinc")]
    assert len(tasks) == 9
    assert all(len(get_dependencies(graph, k)) == 2 for k in tasks)


def test_constant_doppler_polynomial_is_the_constant_carrier():
    """The stage passes a Doppler polynomial without range terms as a constant (no per-pixel evaluation):
    the same output, bit for bit, as evaluating the polynomial at every pixel's source position; a
    polynomial with a range term is still evaluated per pixel (and differs)."""
    from daskinsar.scene import Poly1D

    n = 96
    rng = np.random.default_rng(3)
    sec = (rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))).astype(np.complex64)
    az, rg = _smooth_offsets(n, rng)
    grid = (0.0, 1 / PRF, 8e5, 4.7)
    args = (da.from_array(sec, chunks=48), da.from_array(az, chunks=48), da.from_array(rg, chunks=48))
    const = resample_slc(*args, doppler_hz=300.0, secondary_grid=grid)[0].compute()
    poly = resample_slc(*args, doppler_hz=Poly1D(reference=8e5, coeffs=[300.0]), secondary_grid=grid)[0].compute()
    np.testing.assert_array_equal(const, poly)
    ramp = resample_slc(*args, doppler_hz=Poly1D(reference=8e5, scale=1e3, coeffs=[300.0, 50.0]),
                        secondary_grid=grid)[0].compute()
    assert np.abs(ramp - const).max() > 1e-3 * np.abs(const).max()


def test_a_computed_secondary_block_is_computed_once():
    """A dask secondary (e.g. TOPS's deramped burst) feeds every output block whose halo reaches it from one
    graph: each of its blocks is computed once, and the result equals the same secondary in memory."""
    import collections
    import threading

    rng = np.random.default_rng(4)
    sec = (rng.normal(size=(300, 260)) + 1j * rng.normal(size=(300, 260))).astype(np.complex64)
    calls = collections.Counter()
    lock = threading.Lock()

    def upstream(x, block_info=None):
        with lock:
            calls[tuple(block_info[0]["array-location"])] += 1
        return x * np.complex64(1j)

    computed = da.map_blocks(upstream, da.from_array(sec, chunks=(64, 64)), dtype=np.complex64)
    ii, jj = np.indices(sec.shape, dtype=np.float64)
    az = da.from_array(2.3 + 1e-3 * ii, chunks=(50, 70))
    rg = da.from_array(-3.1 + 2e-3 * jj, chunks=(50, 70))
    out, _ = resample_slc(computed, az, rg, max_offset_px=(3.0, 4.0))
    got = out.compute(scheduler="threads", num_workers=2)
    assert len(calls) == 25 and set(calls.values()) == {1}  # 5 x 5 upstream blocks, once each
    want, _ = resample_slc(1j * sec, az, rg, max_offset_px=(3.0, 4.0))
    np.testing.assert_array_equal(got, want.compute())
