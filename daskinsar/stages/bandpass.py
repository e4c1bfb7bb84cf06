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

import math

import dask.array as da
import numba
import numpy as np
import scipy.fft as sfft

from .chunking import rechunk_for_overlap

__all__ = ["HOP", "PAD", "TRANSITION", "band_mask", "bandpass_block", "bandpass_block_bands", "bandpass", "halo"]

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


@numba.njit(cache=True, nogil=True)
def _segments(x, start, hop, win, segs):  # pragma: no cover - numba
    """Windowed segments of the lines of ``x`` (segment s starts at local sample start + s hop; samples
    outside ``x`` are zeros)."""
    n_lines, n = x.shape
    n_seg, seg = segs.shape[1], segs.shape[2]
    for i in range(n_lines):
        for s in range(n_seg):
            a = start + s * hop
            for k in range(seg):
                j = a + k
                if 0 <= j < n:
                    segs[i, s, k] = x[i, j] * np.float32(win[k])
                else:
                    segs[i, s, k] = 0


@numba.njit(cache=True, nogil=True)
def _segment_edges(lo, hi, start, hop, win, seg_lo, seg_hi):  # pragma: no cover - numba
    """The Hann-weighted means of the band edges over each segment (NaN edges left out; NaN without any)."""
    n_lines, n = lo.shape
    n_seg = seg_lo.shape[1]
    seg = 2 * hop
    for i in range(n_lines):
        for s in range(n_seg):
            a = start + s * hop
            wl = 0.0
            sl = 0.0
            sh = 0.0
            for k in range(seg):
                j = a + k
                if 0 <= j < n:
                    e0, e1 = lo[i, j], hi[i, j]
                    if e0 == e0 and e1 == e1:
                        wl += win[k]
                        sl += win[k] * e0
                        sh += win[k] * e1
            seg_lo[i, s] = sl / wl if wl > 0 else np.nan
            seg_hi[i, s] = sh / wl if wl > 0 else np.nan


@numba.njit(cache=True, nogil=True)
def _apply_mask(spec, seg_lo, seg_hi, transition):  # pragma: no cover - numba
    """spec[i, s, :] *= band_mask(fftfreq(n_fft), seg_lo[i, s], seg_hi[i, s], transition), in place."""
    n_lines, n_seg, n_fft = spec.shape
    for i in range(n_lines):
        for s in range(n_seg):
            lo, hi = seg_lo[i, s], seg_hi[i, s]
            width = hi - lo
            if not (width == width):
                spec[i, s, :] = 0
                continue
            if width >= 1.0:
                continue
            t = max(min(transition, 0.5 * width), 1e-12)
            for k in range(n_fft):
                f = k / n_fft if 2 * k < n_fft else (k - n_fft) / n_fft
                u = f - lo
                u -= np.floor(u)
                if u > width:
                    spec[i, s, k] = 0
                elif u < t or width - u < t:
                    a = math.sin(0.5 * math.pi * min(u / t, 1.0))
                    b = math.sin(0.5 * math.pi * min((width - u) / t, 1.0))
                    spec[i, s, k] *= np.float32(a * a * b * b)


@numba.njit(cache=True, nogil=True)
def _overlap_add(y, start, hop, pad, out):  # pragma: no cover - numba
    """Add each filtered segment (support + pad spill each side; negative lags at the end of the FFT
    buffer) into the lines of ``out`` (local samples)."""
    n_lines, n = out.shape
    n_seg, n_fft = y.shape[1], y.shape[2]
    seg = 2 * hop
    for i in range(n_lines):
        for s in range(n_seg):
            a = start + s * hop
            for k in range(-pad, seg + pad):
                j = a + k
                if 0 <= j < n:
                    out[i, j] += y[i, s, k if k >= 0 else n_fft + k]


def bandpass_block(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, first: int, *, hop: int = HOP, pad: int = PAD,
                   transition: float = TRANSITION) -> np.ndarray:
    """Band-pass filter the lines (last axis) of one block.

    ``x``: complex (lines, n) whose sample ``k`` is global sample ``first + k`` of its line (anything
    beyond the block counts as zero); ``lo``, ``hi``: band edges per sample, cycles/sample, same shape.
    Returns complex64 (lines, n); samples within :func:`halo` of the block's ends are incomplete
    (a caller keeps only the block's interior, see :func:`bandpass`)."""
    return bandpass_block_bands(x, [(lo, hi)], first, hop=hop, pad=pad, transition=transition)[0]


def bandpass_block_bands(x: np.ndarray, bands, first: int, *, hop: int = HOP, pad: int = PAD,
                         transition: float = TRANSITION) -> list[np.ndarray]:
    """:func:`bandpass_block` of one block for several bands ``[(lo, hi), ...]`` at once: the windowed
    segments are transformed once and each band masks its own copy of their spectra (the same result,
    bit for bit, as one call per band)."""
    x = np.ascontiguousarray(x, np.complex64)
    n_lines, n = x.shape
    seg = 2 * hop
    n_fft = sfft.next_fast_len(seg + 2 * pad)
    s_min = int(np.floor(first / hop))
    s_max = int(np.ceil((first + n) / hop))
    n_seg = s_max - s_min + 1
    start = s_min * hop - hop - first  # local start of the first segment's support
    win = _segment_window(hop)
    segs = np.empty((n_lines, n_seg, seg), np.complex64)
    _segments(x, start, hop, win, segs)
    edges = []
    for lo, hi in bands:
        seg_lo = np.empty((n_lines, n_seg))
        seg_hi = np.empty((n_lines, n_seg))
        _segment_edges(np.ascontiguousarray(np.broadcast_to(lo, x.shape), np.float64),
                       np.ascontiguousarray(np.broadcast_to(hi, x.shape), np.float64), start, hop, win, seg_lo, seg_hi)
        edges.append((seg_lo, seg_hi))
    spectrum = sfft.fft(segs, n=n_fft, axis=-1, workers=1)
    del segs
    outs = []
    for k, (seg_lo, seg_hi) in enumerate(edges):
        spec = spectrum if k == len(edges) - 1 else spectrum.copy()
        _apply_mask(spec, seg_lo, seg_hi, float(transition))
        y = sfft.ifft(spec, axis=-1, workers=1, overwrite_x=True)
        out = np.zeros((n_lines, n), np.complex64)
        _overlap_add(y, start, hop, pad, out)
        outs.append(out)
    return outs


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
