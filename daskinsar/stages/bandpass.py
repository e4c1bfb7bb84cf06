"""Space-variant band-pass filtering of SLC lines (range) or columns (azimuth) in fixed FFT segments.

The one filter behind the common-band filters (:mod:`daskinsar.stages.common_band`) and the
split-spectrum sub-bands (:mod:`daskinsar.stages.ionosphere`).

Method (overlap-add of windowed segments on a grid fixed to the image, not to the chunks)
---------------------------------------------------------------------------------------
- Along the filtered axis the image is cut into segments of ``2 * hop`` samples starting at
  ``s * hop - hop`` (global sample index, ``s`` any integer), weighted by the periodic Hann
  window ``w(k) = sin^2(pi (k + 1/2) / (2 hop))``; neighbouring windows sum to exactly 1, so
  every sample is the sum of its two segments.
- Each windowed segment is zero-padded to ``n_fft >= 2 hop + 2 pad`` samples, multiplied in
  the frequency domain by a real, zero-phase pass-band mask and transformed back; its output
  (the segment's support plus ``pad`` samples of filter spill on each side) is added into the
  line. The mask is 1 inside ``[lo + t, hi - t]``, 0 outside ``[lo, hi]`` and a raised cosine
  (``sin^2``) over the transitions of width ``t = transition`` cycles/sample *inside* the band:
  nothing outside ``[lo, hi]`` passes. Frequencies are taken modulo 1 cycle/sample, so a band
  may wrap (azimuth spectra are periodic in the PRF); a band of width >= 1 passes everything.
- The band edges ``lo``, ``hi`` (cycles/sample) are given per pixel; each segment of each line
  uses their Hann-weighted mean over its support (pixels with NaN edges are left out; a
  segment without any gets an all-zero mask). So the filter follows band edges that vary
  along and across the lines, one line and one segment at a time.
- The samples beyond the image are zeros. Every output sample depends only on the samples
  and band edges within ``2 hop + pad`` of it, on a segment grid anchored at sample 0: the
  result does not depend on the dask chunking (a ``map_overlap`` with that halo).

Accuracy: the zero-phase mask's impulse response is not compactly supported; its tails beyond
``pad`` samples wrap in the padded FFT. With ``transition`` = 0.015 and ``pad`` = 96 they are
below 1e-3 of the output (tests/test_common_band.py measures the difference to a whole-line
filter with the same mask).
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import scipy.fft as sfft

from .chunking import rechunk_for_overlap

__all__ = ["HOP", "PAD", "TRANSITION", "band_mask", "bandpass_block", "bandpass", "halo"]

#: segment hop (samples); segments are 2 * HOP long
HOP = 128
#: filter spill kept on each side of a segment (samples)
PAD = 96
#: width of the mask's raised-cosine transitions (cycles/sample), inside the pass band
TRANSITION = 0.015


def halo(hop: int = HOP, pad: int = PAD) -> int:
    """Samples of context each output sample needs on each side."""
    return 2 * hop + pad


def band_mask(freq: np.ndarray, lo: np.ndarray, hi: np.ndarray, transition: float = TRANSITION) -> np.ndarray:
    """Pass-band mask at frequencies ``freq`` (cycles/sample, shape (n,)) for bands ``[lo, hi]``
    (cycles/sample, any shape S): shape S + (n,), float32, raised-cosine edges inside the band,
    periodic in frequency (period 1). NaN edges give an all-zero mask."""
    lo = np.asarray(lo, np.float64)[..., None]
    hi = np.asarray(hi, np.float64)[..., None]
    width = hi - lo
    u = np.mod(np.asarray(freq, np.float64) - lo, 1.0)  # distance above lo, modulo 1
    t = np.maximum(np.minimum(transition, 0.5 * width), 1e-12)
    with np.errstate(invalid="ignore"):
        rise = np.sin(0.5 * np.pi * np.clip(u / t, 0.0, 1.0)) ** 2
        fall = np.sin(0.5 * np.pi * np.clip((width - u) / t, 0.0, 1.0)) ** 2
        m = np.where(u <= width, rise * fall, 0.0)
        m = np.where(width >= 1.0, 1.0, m)
    return np.nan_to_num(m, nan=0.0).astype(np.float32)


def _segment_window(hop: int) -> np.ndarray:
    k = np.arange(2 * hop)
    return (np.sin(np.pi * (k + 0.5) / (2 * hop)) ** 2).astype(np.float64)


def _weighted_edge(edge: np.ndarray, win: np.ndarray) -> np.ndarray:
    """Hann-weighted mean of ``edge`` (lines, segments, 2 hop) over the last axis, NaNs left out."""
    ok = np.isfinite(edge)
    w = np.where(ok, win, 0.0)
    s = w.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(s > 0, np.sum(np.where(ok, edge, 0.0) * w, axis=-1) / s, np.nan)


def bandpass_block(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, first: int, *, hop: int = HOP, pad: int = PAD,
                   transition: float = TRANSITION) -> np.ndarray:
    """Band-pass filter the lines (last axis) of one block.

    ``x``: complex (lines, n) whose sample ``k`` is global sample ``first + k`` of its line (anything
    beyond the block counts as zero); ``lo``, ``hi``: band edges per sample, cycles/sample, same shape.
    Returns complex64 (lines, n); samples within :func:`halo` of the block's ends are incomplete
    (a caller keeps only the block's interior, see :func:`bandpass`)."""
    x = np.asarray(x)
    n_lines, n = x.shape
    seg = 2 * hop
    n_fft = sfft.next_fast_len(seg + 2 * pad)
    s_min = int(np.floor(first / hop))
    s_max = int(np.ceil((first + n) / hop))
    n_seg = s_max - s_min + 1
    # the block's samples on a padded canvas that holds every segment's support and spill
    start = s_min * hop - hop - first  # local start of the first segment's support
    left = pad - start if start < pad else 0
    canvas_len = left + max(n, start + n_seg * hop + hop + pad) + pad
    xs = np.zeros((n_lines, canvas_len), np.complex64)
    xs[:, left:left + n] = x
    los = np.full((n_lines, canvas_len), np.nan)
    his = np.full((n_lines, canvas_len), np.nan)
    los[:, left:left + n] = lo
    his[:, left:left + n] = hi
    idx = left + start + hop * np.arange(n_seg)[:, None] + np.arange(seg)[None, :]  # (n_seg, seg)
    win = _segment_window(hop)
    segs = xs[:, idx] * win.astype(np.float32)  # (lines, n_seg, seg)
    seg_lo = _weighted_edge(los[:, idx], win)
    seg_hi = _weighted_edge(his[:, idx], win)
    spec = sfft.fft(segs, n=n_fft, axis=-1, workers=1)
    spec *= band_mask(sfft.fftfreq(n_fft), seg_lo, seg_hi, transition)
    y = sfft.ifft(spec, axis=-1, workers=1).astype(np.complex64)
    out = np.zeros_like(xs)
    for s in range(n_seg):
        a = left + start + s * hop
        out[:, a:a + seg + pad] += y[:, s, :seg + pad]
        out[:, a - pad:a] += y[:, s, n_fft - pad:]
    return out[:, left:left + n]


def bandpass(x: da.Array, lo, hi, *, axis: int, hop: int = HOP, pad: int = PAD, transition: float = TRANSITION,
             name: str = "bandpass") -> da.Array:
    """Lazy space-variant band-pass of a 2-D complex array along ``axis`` (1: range lines, 0: azimuth
    columns); ``lo``, ``hi`` per pixel in cycles/sample (arrays broadcastable to ``x``). Chunked like
    ``x``; independent of the chunking (one task per chunk, with a halo of :func:`halo` samples)."""
    depth = halo(hop, pad)
    chunks = x.chunks
    need = (depth, 1) if axis == 0 else (1, depth)
    xc = rechunk_for_overlap(x, need)
    lo = da.broadcast_to(da.asarray(lo), x.shape).astype(np.float64).rechunk(xc.chunks)
    hi = da.broadcast_to(da.asarray(hi), x.shape).astype(np.float64).rechunk(xc.chunks)
    if len(xc.chunks[axis]) == 1:
        depth = 0  # the whole axis in one chunk: the kernel's own zeros beyond the image are the boundary
    dep = {0: depth, 1: 0} if axis == 0 else {0: 0, 1: depth}
    xo = da.overlap.overlap(xc, depth=dep, boundary={0: 0, 1: 0})
    lo_o = da.overlap.overlap(lo, depth=dep, boundary={0: "nearest", 1: "nearest"})
    hi_o = da.overlap.overlap(hi, depth=dep, boundary={0: "nearest", 1: "nearest"})
    starts = np.concatenate([[0], np.cumsum(xc.chunks[axis])[:-1]])
    tok = da.core.tokenize(x, lo, hi, axis, hop, pad, transition)

    def fn(xb, lb, hb, block_info=None):
        first = int(starts[block_info[0]["chunk-location"][axis]]) - depth  # global index of the halo's start
        if axis == 0:
            return bandpass_block(xb.T, lb.T, hb.T, first, hop=hop, pad=pad, transition=transition).T
        return bandpass_block(xb, lb, hb, first, hop=hop, pad=pad, transition=transition)

    y = da.map_blocks(fn, xo, lo_o, hi_o, dtype=np.complex64, name=f"{name}-{tok}")
    return da.overlap.trim_internal(y, dep, boundary={0: 0, 1: 0}).rechunk(chunks)
