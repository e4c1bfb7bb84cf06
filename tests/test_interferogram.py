"""Interferogram formation: crossmul with geometric phase removal, multilook, look rule."""

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from daskinsar.stages.interferogram import (crossmul, crossmul_kernel, ground_range_spacing, interferogram,
                                            looks_from_posting, multilook, multilook_kernel)


def _pair(n0, n1, coherence, deformation_phase, geometric_phase, seed=0):
    """Reference/secondary SLCs whose interferogram phase is deformation + geometric phase.

    Phases follow the convention ifg = ref * conj(sec): the secondary carries -phase."""
    rng = np.random.default_rng(seed)
    a = (rng.standard_normal((n0, n1)) + 1j * rng.standard_normal((n0, n1))) / np.sqrt(2)
    b = (rng.standard_normal((n0, n1)) + 1j * rng.standard_normal((n0, n1))) / np.sqrt(2)
    ref = a.astype(np.complex64)
    sec = ((coherence * a + np.sqrt(1 - coherence**2) * b)
           * np.exp(-1j * (deformation_phase + geometric_phase))).astype(np.complex64)
    return ref, sec


def _phases(n0, n1):
    y, x = np.mgrid[0:n0, 0:n1].astype(np.float64)
    geometric = 2 * np.pi * x / 9.0 + 0.002 * (x - n1 / 2) ** 2 / 10 + 2 * np.pi * y / 31.0  # fast fringes
    deformation = 1.5 * np.exp(-((x - n1 / 2) ** 2 + (y - n0 / 2) ** 2) / (2 * 40.0**2))  # slow bump
    return deformation, geometric


def _wrap(p):
    return np.angle(np.exp(1j * p))


def test_crossmul_sign_and_geometric_phase_removal():
    defo, geo = _phases(60, 80)
    ref, sec = _pair(60, 80, 1.0, defo, geo)
    ifg = crossmul_kernel(ref, sec)
    assert np.max(np.abs(_wrap(np.angle(ifg) - (defo + geo)))) < 1e-5
    flat = crossmul_kernel(ref, sec, geo)
    assert flat.dtype == np.complex64
    assert np.max(np.abs(_wrap(np.angle(flat) - defo))) < 1e-5
    assert np.allclose(np.abs(flat), np.abs(ref) ** 2, rtol=1e-5)


def test_multilook_recovers_known_phase():
    n0, n1 = 200, 300
    defo, geo = _phases(n0, n1)
    looks = (4, 5)
    ref, sec = _pair(n0, n1, 0.9, defo, geo, seed=1)
    ds = interferogram(da.from_array(ref, chunks=(64, 96)), da.from_array(sec, chunks=(64, 96)),
                       looks=looks, geometric_phase=geo)
    ifg = ds["ifg"].values
    assert ifg.shape == (n0 // 4, n1 // 5)
    # truth: the deformation phase at the look-cell centre
    truth = defo.reshape(n0 // 4, 4, n1 // 5, 5).mean(axis=(1, 3))
    err = _wrap(np.angle(ifg) - truth)
    # 20 looks at coherence 0.9: phase std about 0.11 rad (Cramer-Rao ~ sqrt(1-g^2)/(g sqrt(2N)) = 0.076)
    assert abs(np.mean(err)) < 0.01
    assert np.std(err) < 0.15
    # noise-free: exact to float precision
    ref1, sec1 = _pair(n0, n1, 1.0, defo, geo, seed=2)
    ifg1 = interferogram(ref1, sec1, looks=looks, geometric_phase=geo)["ifg"].values
    # with gamma = 1 the looked ifg is sum |a|^2 exp(1j*defo): the cell's power-weighted mean phasor
    exact = np.angle((np.abs(ref1.astype(np.complex128)) ** 2 * np.exp(1j * defo))
                     .reshape(n0 // 4, 4, n1 // 5, 5).sum(axis=(1, 3)))
    assert np.max(np.abs(_wrap(np.angle(ifg1) - exact))) < 1e-4
    # without removing the geometric phase the (fast) fringes wash the looked signal out
    raw = interferogram(ref1, sec1, looks=looks)
    coh_raw = np.abs(raw["ifg"].values) / raw["amplitude"].values
    coh_flat = np.abs(ifg1) / interferogram(ref1, sec1, looks=looks)["amplitude"].values
    assert np.median(coh_flat) > 0.999 and np.median(coh_raw) < 0.9


def test_multilook_independent_of_chunks_and_crops_remainder():
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((103, 77)) + 1j * rng.standard_normal((103, 77))).astype(np.complex64)
    a = multilook(da.from_array(x, chunks=(50, 30)), (3, 4)).compute()
    b = multilook(da.from_array(x, chunks=(17, 77)), (3, 4)).compute()
    c = multilook_kernel(x[:102, :76], (3, 4))
    assert a.shape == (34, 19)
    np.testing.assert_allclose(a, c, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(b, c, rtol=1e-6, atol=1e-6)
    assert np.allclose(c[0, 0], x[:3, :4].mean(), atol=1e-6)
    assert multilook(da.from_array(x.real.copy(), chunks=20), (2, 2)).dtype == np.float32


def test_interferogram_dataset_coords_and_amplitude():
    n0, n1 = 40, 60
    ref, sec = _pair(n0, n1, 0.7, *_phases(n0, n1), seed=4)
    coords = {"azimuth_time": ("azimuth", 0.01 * np.arange(n0)), "slant_range": ("range", 8e5 + 2.3 * np.arange(n1))}
    r = xr.DataArray(da.from_array(ref, chunks=16), dims=("azimuth", "range"), coords=coords)
    s = xr.DataArray(da.from_array(sec, chunks=16), dims=("azimuth", "range"), coords=coords)
    ds = interferogram(r, s, looks=(2, 3))
    assert ds.sizes == {"azimuth": 20, "range": 20}
    np.testing.assert_allclose(ds["azimuth_time"].values, 0.01 * (2 * np.arange(20) + 0.5))
    np.testing.assert_allclose(ds["slant_range"].values, 8e5 + 2.3 * (3 * np.arange(20) + 1))
    p_ref = (np.abs(ref) ** 2).reshape(20, 2, 20, 3).mean(axis=(1, 3))
    p_sec = (np.abs(sec) ** 2).reshape(20, 2, 20, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(ds["amplitude"].values, np.sqrt(p_ref * p_sec), rtol=1e-5)
    assert np.all(np.abs(ds["ifg"].values) <= ds["amplitude"].values * (1 + 1e-5))  # Cauchy-Schwarz


def test_looks_from_posting_rule():
    # Sentinel-1 IW: 13.9 m azimuth, 2.33 m slant range at 39 deg incidence -> 3.70 m ground range
    gr = ground_range_spacing(2.329562, 39.0)
    assert gr == pytest.approx(2.329562 / np.sin(np.radians(39.0)))
    az, rg = looks_from_posting(15.0, 13.9, gr)
    assert (az, rg) == (int(round(15.0 / 13.9)), int(15.0 / gr + 0.5)) == (1, 4)
    # the two rounding modes of the insarApp rule: halves round up in range, to even in azimuth
    assert looks_from_posting(15.0, 6.0, 6.0) == (2, 3)
    assert looks_from_posting(21.0, 6.0, 6.0) == (4, 4)
    # at least one look; coarse spacing never gives zero
    assert looks_from_posting(5.0, 20.0, 30.0) == (1, 1)
    # ALOS-1 FBS stripmap: ~3.2 m azimuth, 4.68 m slant at 38.7 deg -> 7.49 m ground: 15 m -> (5, 2)
    assert looks_from_posting(15.0, 3.2, ground_range_spacing(4.684, 38.7)) == (5, 2)
    with pytest.raises(ValueError):
        looks_from_posting(0.0, 1.0, 1.0)


def test_crossmul_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="differ in shape"):
        crossmul(np.ones((4, 4), np.complex64), np.ones((4, 5), np.complex64))


# ---------------------------------------------------------------------------
# numba block kernels against independent float64 references
# ---------------------------------------------------------------------------
def _slc(shape, seed):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("span", [np.pi, 2.0e3, 3.0e5])  # wrapped, flat-earth-sized, and very large phases
def test_crossmul_kernel_phase_error_below_1e6_rad(dtype, span):
    ref, sec = _slc((64, 300), 1), _slc((64, 300), 2)
    phase = np.random.default_rng(3).uniform(-span, span, ref.shape).astype(dtype)
    # quadrant boundaries, where the reduction switches branch
    phase.ravel()[:40] = (np.arange(40) - 20) * (np.pi / 4)
    got = crossmul_kernel(ref, sec, phase)
    truth = ref.astype(np.complex128) * np.conj(sec.astype(np.complex128)) * np.exp(-1j * phase.astype(np.float64))
    assert got.dtype == np.complex64 and got.shape == ref.shape
    assert np.max(np.abs(np.angle(got * np.conj(truth)))) < 1e-6  # rad
    assert np.max(np.abs(np.abs(got) / np.abs(truth) - 1)) < 1e-6


def test_crossmul_kernel_no_phase_nan_and_layouts():
    ref, sec = _slc((40, 50), 4), _slc((40, 50), 5)
    truth = ref.astype(np.complex128) * np.conj(sec.astype(np.complex128))
    scale = np.abs(ref) * np.abs(sec)
    got = crossmul_kernel(ref, sec)
    assert np.max(np.abs(got - truth) / scale) < 3e-7  # float32 rounding
    # non-contiguous, other dtypes: same answer
    got_t = crossmul_kernel(ref.T, sec.astype(np.complex128).T)
    np.testing.assert_allclose(got_t, got.T, rtol=3e-7, atol=0)
    # a NaN geometric phase (no data) gives a NaN pixel and nothing else
    ph = np.zeros(ref.shape)
    ph[7, 9] = np.nan
    out = crossmul_kernel(ref, sec, ph)
    assert np.isnan(out[7, 9])
    assert np.isfinite(np.delete(out.ravel(), 7 * 50 + 9)).all()
    with pytest.raises(ValueError, match="geometric phase"):
        crossmul_kernel(ref, sec, ph[:, :-1])


@pytest.mark.parametrize("looks", [(4, 4), (3, 5), (1, 7), (6, 1), (1, 1)])
@pytest.mark.parametrize("dtype", [np.complex64, np.float32, np.complex128, np.float64])
def test_multilook_kernel_against_float64_reference(looks, dtype):
    la, lr = looks
    x = _slc((12 * la, 10 * lr), 6) * 1e3 + (50 + 20j)  # an offset: sums that lose bits in float32
    x = (x if np.dtype(dtype).kind == "c" else x.real).astype(dtype)
    got = multilook_kernel(x, looks)
    ref = x.astype(np.complex128).reshape(12, la, 10, lr).mean(axis=(1, 3))
    double = np.dtype(dtype) in (np.complex128, np.float64)
    single = np.complex64 if np.dtype(dtype).kind == "c" else np.float32
    # single precision out, except that double precision is kept (lon/lat must not round to ~1 m)
    assert got.dtype == (np.dtype(dtype) if double else single)
    assert got.shape == (12, 10)
    want = (ref if got.dtype.kind == "c" else ref.real).astype(got.dtype)
    if double:  # same sum, another order
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)
    else:  # the cell mean in float64 rounded once to float32
        np.testing.assert_array_equal(got, want)
    # strided / transposed views give the same answer
    np.testing.assert_array_equal(multilook_kernel(np.ascontiguousarray(x.T).T, looks), got)
    with pytest.raises(ValueError, match="not a multiple of looks"):
        multilook_kernel(x[:-1], (2, 1))  # 12 * la - 1 rows


def test_fused_interferogram_kernel_equals_unfused_path():
    from daskinsar.stages.interferogram import interferogram_looks_kernel

    n0, n1, looks = 60, 84, (4, 6)
    ref, sec = _slc((n0, n1), 7), _slc((n0, n1), 8)
    for phase in (None, np.random.default_rng(9).uniform(-500, 500, (n0, n1)).astype(np.float32),
                  np.random.default_rng(9).uniform(-500, 500, (n0, n1))):
        ifg, p_ref, p_sec = interferogram_looks_kernel(ref, sec, phase, looks)
        assert (ifg.dtype, p_ref.dtype, p_sec.dtype) == (np.complex64, np.float32, np.float32)
        ifg0 = multilook_kernel(crossmul_kernel(ref, sec, phase), looks)
        pr0 = multilook_kernel(np.abs(ref) ** 2, looks)
        ps0 = multilook_kernel(np.abs(sec) ** 2, looks)
        amp = np.sqrt(pr0 * ps0)
        assert np.max(np.abs(ifg - ifg0) / amp) < 2e-7  # float32 rounding of the per-pixel products
        np.testing.assert_allclose(p_ref, pr0, rtol=3e-7)
        np.testing.assert_allclose(p_sec, ps0, rtol=3e-7)
        # and against a float64 reference
        ph = 0.0 if phase is None else phase.astype(np.float64)
        z = ref.astype(np.complex128) * np.conj(sec.astype(np.complex128)) * np.exp(-1j * ph)
        z = z.reshape(n0 // 4, 4, n1 // 6, 6).mean(axis=(1, 3))
        assert np.max(np.abs(ifg - z) / amp) < 1e-6
    with pytest.raises(ValueError, match="not a multiple of looks"):
        interferogram_looks_kernel(ref, sec, None, (7, 6))


def test_interferogram_stage_fused_chunk_independent_and_equal_to_unfused():
    n0, n1, looks = 130, 101, (4, 3)  # remainders in both directions are dropped
    ref, sec = _slc((n0, n1), 10), _slc((n0, n1), 11)
    geo = np.random.default_rng(12).uniform(-300, 300, (n0, n1)).astype(np.float32)
    geo[65, 50] = np.nan  # one no-data pixel: its look cell is NaN, no other
    a = interferogram(da.from_array(ref, chunks=(130, 101)), da.from_array(sec, chunks=(130, 101)), looks, geo)
    b = interferogram(da.from_array(ref, chunks=(23, 17)), da.from_array(sec, chunks=(41, 29)), looks,
                      da.from_array(geo, chunks=(50, 50)))
    for name in ("ifg", "power_reference", "power_secondary", "amplitude"):
        np.testing.assert_array_equal(a[name].values, b[name].values)
    assert a["ifg"].shape == (32, 33)
    ifg = a["ifg"].values
    assert np.isnan(ifg[16, 16]) and np.isfinite(np.delete(ifg.ravel(), 16 * 33 + 16)).all()
    assert np.isfinite(a["power_reference"].values).all()
    # the unfused path: lazy crossmul then multilook, and the powers multilooked
    ifg0 = multilook(crossmul(ref, sec, geo), looks).compute()
    pr0 = multilook(np.abs(ref) ** 2, looks).compute()
    ps0 = multilook(np.abs(sec) ** 2, looks).compute()
    ok = np.isfinite(ifg0)
    np.testing.assert_array_equal(ok, np.isfinite(ifg))
    assert np.max(np.abs(ifg - ifg0)[ok] / np.sqrt(pr0 * ps0)[ok]) < 2e-7
    np.testing.assert_allclose(a["power_reference"].values, pr0, rtol=3e-7)
    np.testing.assert_allclose(a["power_secondary"].values, ps0, rtol=3e-7)
    with pytest.raises(ValueError, match="geometric phase"):
        interferogram(ref, sec, looks, geo[:, :-1])
