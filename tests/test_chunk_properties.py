"""Property tests (hypothesis): every stage's result is independent of the dask chunking.

For random image sizes and random chunkings (including 1-pixel-wide chunks and chunks not a
multiple of the looks or the filter patch), each stage's lazy result equals the same stage on one
chunk, to float tolerance.
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daskinsar.stages.coherence import coherence, phase_sigma_coherence
from daskinsar.stages.filter import goldstein
from daskinsar.stages.interferogram import interferogram, multilook
from daskinsar.stages.resample import resample_slc

SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _speckle(shape, seed):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(np.complex64)


@st.composite
def image_and_chunks(draw, min_side=8, max_side=70, min_chunk=1):
    n0 = draw(st.integers(min_side, max_side))
    n1 = draw(st.integers(min_side, max_side))
    chunks = (draw(st.integers(min(min_chunk, n0), n0)), draw(st.integers(min(min_chunk, n1), n1)))
    return (n0, n1), chunks, draw(st.integers(0, 2**31 - 1))


@SETTINGS
@given(image_and_chunks(), st.integers(1, 4), st.integers(1, 4))
def test_interferogram_and_multilook_do_not_depend_on_chunks(case, la, lr):
    shape, chunks, seed = case
    if la > shape[0] or lr > shape[1]:
        return
    ref, sec = _speckle(shape, seed), _speckle(shape, seed + 1)
    phase = np.random.default_rng(seed).uniform(-50, 50, shape)
    one = interferogram(ref, sec, (la, lr), geometric_phase=phase)
    many = interferogram(da.from_array(ref, chunks=chunks), da.from_array(sec, chunks=chunks), (la, lr),
                         geometric_phase=da.from_array(phase, chunks=chunks))
    for v in ("ifg", "power_reference", "power_secondary"):
        np.testing.assert_allclose(many[v].values, one[v].values, rtol=2e-6, atol=1e-6)
    x = np.random.default_rng(seed).normal(size=shape)
    np.testing.assert_allclose(multilook(da.from_array(x, chunks=chunks), (la, lr)).compute(),
                               multilook(x, (la, lr)).compute(), rtol=1e-12)


@SETTINGS
@given(image_and_chunks(min_side=5), st.sampled_from([(3, 3), (5, 5), (3, 7)]))
def test_coherence_and_phsig_do_not_depend_on_chunks(case, window):
    shape, chunks, seed = case
    ifg = _speckle(shape, seed)
    p = np.abs(_speckle(shape, seed + 2)).astype(np.float32) ** 2 + 1
    q = np.abs(_speckle(shape, seed + 3)).astype(np.float32) ** 2 + 1
    one = coherence(da.from_array(ifg), da.from_array(p), da.from_array(q), window).compute()
    many = coherence(da.from_array(ifg, chunks=chunks), da.from_array(p, chunks=chunks),
                     da.from_array(q, chunks=chunks), window).compute()
    np.testing.assert_allclose(many, one, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(phase_sigma_coherence(da.from_array(ifg, chunks=chunks), window).compute(),
                               phase_sigma_coherence(da.from_array(ifg), window).compute(), rtol=1e-5, atol=1e-5)


@SETTINGS
@given(image_and_chunks(min_side=16, max_side=90), st.sampled_from([8, 16]))
def test_goldstein_does_not_depend_on_chunks(case, psize):
    shape, chunks, seed = case
    ii, jj = np.indices(shape)
    ifg = (np.exp(1j * (0.3 * ii + 0.2 * jj)) + 0.3 * _speckle(shape, seed)).astype(np.complex64)
    one = goldstein(da.from_array(ifg), alpha=0.6, psize=psize).compute()
    many = goldstein(da.from_array(ifg, chunks=chunks), alpha=0.6, psize=psize).compute()
    np.testing.assert_allclose(many, one, rtol=1e-4, atol=1e-5)


@SETTINGS
@given(image_and_chunks(min_side=24, max_side=64, min_chunk=5), st.floats(-3.0, 3.0), st.floats(-3.0, 3.0))
def test_resample_does_not_depend_on_chunks(case, off_a, off_r):
    """(chunks of at least 5 pixels: one task per block, each with a 12-tap halo; 1-pixel blocks are
    covered by the other stages' properties and by tests/test_resample.py)"""
    shape, chunks, seed = case
    sec = _speckle(shape, seed)
    ii, jj = np.indices(shape)
    az = (off_a + 0.01 * ii).astype(np.float32)
    rg = (off_r - 0.02 * jj).astype(np.float32)
    with dask.config.set(scheduler="synchronous"):
        one, f1 = dask.compute(*resample_slc(da.from_array(sec), da.from_array(az), da.from_array(rg)))
        many, f2 = dask.compute(*resample_slc(da.from_array(sec, chunks=chunks), da.from_array(az, chunks=chunks),
                                              da.from_array(rg, chunks=chunks)))
    np.testing.assert_array_equal(f1, f2)
    np.testing.assert_allclose(many, one, rtol=1e-5, atol=1e-5)
