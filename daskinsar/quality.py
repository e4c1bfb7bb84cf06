"""Point-target analysis of focused images (impulse-response quality).

``point_target_analysis`` cuts a window around a peak, oversamples it by FFT
zero-padding (the spectrum is first demodulated to its centroid along each axis, so
a squinted azimuth spectrum that straddles +-PRF/2 is not split), locates the peak
to a fraction of a pixel, and measures along the range and azimuth cuts through it:

- 3-dB width (pixels; times the pixel spacing for m or s),
- PSLR: highest side lobe outside the main lobe (between the first nulls) relative
  to the peak (dB),
- 1-D ISLR: side-lobe energy (outside the main lobe, out to ``islr_extent``
  main-lobe widths) over main-lobe energy (dB),
- peak position (fractional pixel, in the input image's indices) and peak phase (rad).

``theoretical_width`` gives the 3-dB width of the ideal impulse response of a
spectrum with a given weighting (rect: 0.886 / bandwidth).
"""

from __future__ import annotations

from dataclasses import dataclass, asdict

import numpy as np


@dataclass
class CutQuality:
    resolution_px: float
    pslr_db: float
    islr_db: float


@dataclass
class PointTargetQuality:
    """Quality of one point target. Positions in (fractional) pixels of the analysed image."""

    azimuth_px: float
    range_px: float
    phase_rad: float
    peak_amplitude: float
    range_cut: CutQuality
    azimuth_cut: CutQuality

    def as_dict(self) -> dict:
        return asdict(self)


def _centroid_bin(spec_power: np.ndarray) -> int:
    n = len(spec_power)
    z = np.sum(spec_power * np.exp(2j * np.pi * np.arange(n) / n))
    k = int(np.round(np.angle(z) / (2 * np.pi) * n))
    return (k + n // 2) % n - n // 2  # signed: the remodulation is evaluated at fractional positions


def oversample_1d(x: np.ndarray, factor: int, axis: int) -> tuple[np.ndarray, float]:
    """FFT oversampling along ``axis`` by ``factor`` around the spectral centroid.

    Returns the oversampled array (sample ``i`` at input position ``i / factor``) and the
    centroid (cycles per sample) that was demodulated and restored."""
    x = np.moveaxis(np.asarray(x, np.complex128), axis, -1)
    n = x.shape[-1]
    X = np.fft.fft(x, axis=-1)
    k0 = _centroid_bin(np.sum(np.abs(X) ** 2, axis=tuple(range(X.ndim - 1))))
    X = np.roll(X, -k0, axis=-1)  # centroid -> bin 0
    m = n * factor
    Y = np.zeros(x.shape[:-1] + (m,), np.complex128)
    h = n // 2
    Y[..., :h] = X[..., :h]
    Y[..., m - (n - h):] = X[..., h:]
    y = np.fft.ifft(Y, axis=-1) * factor
    pos = np.arange(m) / factor
    y = y * np.exp(2j * np.pi * k0 / n * pos)
    return np.moveaxis(y, -1, axis), k0 / n


def _cut_quality(cut: np.ndarray, peak: int, factor: int, islr_extent: float = 10.0) -> CutQuality:
    p = np.abs(cut) ** 2
    pk = p[peak]
    half = pk / 2.0
    # 3-dB width by linear interpolation on each side
    i = peak
    while i > 0 and p[i] > half:
        i -= 1
    left = i + (half - p[i]) / (p[i + 1] - p[i]) if p[i + 1] != p[i] else i
    j = peak
    while j < len(p) - 1 and p[j] > half:
        j += 1
    right = j - 1 + (p[j - 1] - half) / (p[j - 1] - p[j]) if p[j - 1] != p[j] else j
    width = (right - left) / factor
    # main lobe: out to the first minima on each side
    a = peak
    while a > 0 and p[a - 1] < p[a]:
        a -= 1
    b = peak
    while b < len(p) - 1 and p[b + 1] < p[b]:
        b += 1
    side = np.concatenate([p[:a], p[b + 1:]])
    pslr = 10 * np.log10(side.max() / pk) if side.size else -np.inf
    ext = int(round(islr_extent * width * factor))
    lo, hi = max(peak - ext, 0), min(peak + ext + 1, len(p))
    main = p[a:b + 1].sum()
    sl = p[lo:a].sum() + p[b + 1:hi].sum()
    islr = 10 * np.log10(sl / main) if sl > 0 else -np.inf
    return CutQuality(float(width), float(pslr), float(islr))


def point_target_analysis(img: np.ndarray, near: tuple[float, float] | None = None, *, window: int = 64,
                          factor: int = 16, search: int = 8, islr_extent: float = 10.0) -> PointTargetQuality:
    """Analyse the point target nearest ``near`` = (azimuth px, range px) (or the brightest pixel).

    ``img``: 2-D complex image (azimuth, range). ``window``: analysed window (px, even);
    ``factor``: oversampling factor; ``search``: half-size (px) of the search for the peak around
    ``near``. See the module docstring for the measures.
    """
    img = np.asarray(img)
    if near is None:
        i0, j0 = np.unravel_index(np.argmax(np.abs(img)), img.shape)
    else:
        a0, r0 = int(round(near[0])), int(round(near[1]))
        sub = np.abs(img[max(a0 - search, 0):a0 + search + 1, max(r0 - search, 0):r0 + search + 1])
        di, dj = np.unravel_index(np.argmax(sub), sub.shape)
        i0, j0 = max(a0 - search, 0) + di, max(r0 - search, 0) + dj
    h = window // 2
    if i0 - h < 0 or j0 - h < 0 or i0 + h > img.shape[0] or j0 + h > img.shape[1]:
        raise ValueError(f"point target at ({i0}, {j0}) too close to the image edge for a {window}-pixel window")
    w = np.asarray(img[i0 - h:i0 + h, j0 - h:j0 + h], np.complex128)
    over, _ = oversample_1d(w, factor, axis=1)
    over, _ = oversample_1d(over, factor, axis=0)
    a = np.abs(over)
    pi, pj = (int(v) for v in np.unravel_index(np.argmax(a), a.shape))

    def parab(v, k):
        if 0 < k < len(v) - 1:
            den = v[k - 1] - 2 * v[k] + v[k + 1]
            return k + (0.5 * (v[k - 1] - v[k + 1]) / den if den != 0 else 0.0)
        return float(k)

    fi = parab(a[:, pj], pi)
    fj = parab(a[pi, :], pj)
    rq = _cut_quality(over[pi, :], pj, factor, islr_extent)
    aq = _cut_quality(over[:, pj], pi, factor, islr_extent)
    return PointTargetQuality(
        azimuth_px=float(i0 - h + fi / factor), range_px=float(j0 - h + fj / factor),
        phase_rad=float(_phase_at(over, pi, pj, fi, fj)), peak_amplitude=float(a[pi, pj]),
        range_cut=rq, azimuth_cut=aq)


def _phase_at(over: np.ndarray, pi: int, pj: int, fi: float, fj: float) -> float:
    """Phase at the refined peak (fi, fj) from the grid point (pi, pj) plus the local phase slope
    (an off-centre spectrum makes the phase ramp across the main lobe)."""
    ph = np.angle(over[pi, pj])
    if 0 < pi < over.shape[0] - 1:
        ph += 0.5 * np.angle(over[pi + 1, pj] * np.conj(over[pi - 1, pj])) * (fi - pi)
    if 0 < pj < over.shape[1] - 1:
        ph += 0.5 * np.angle(over[pi, pj + 1] * np.conj(over[pi, pj - 1])) * (fj - pj)
    return float(np.angle(np.exp(1j * ph)))


def theoretical_width(bandwidth: float, weight=None, *, n: int = 4096, factor: int = 64) -> float:
    """3-dB width (in units of 1/bandwidth's reciprocal, e.g. s for Hz) of the impulse response of a
    spectrum of ``bandwidth`` with amplitude weighting ``weight(x)``, ``x`` in [-0.5, 0.5]
    (None: rect, giving 0.886 / bandwidth)."""
    x = (np.arange(n) - n // 2) / n
    w = np.ones(n) if weight is None else np.asarray(weight(x), np.float64)
    W = np.zeros(n * factor)
    W[:n] = w
    irf = np.abs(np.fft.fftshift(np.fft.ifft(np.roll(W, -n // 2)))) ** 2
    pk = int(np.argmax(irf))
    half = irf[pk] / 2
    i = pk
    while irf[i] > half:
        i -= 1
    j = pk
    while irf[j] > half:
        j += 1
    left = i + (half - irf[i]) / (irf[i + 1] - irf[i])
    right = j - 1 + (irf[j - 1] - half) / (irf[j - 1] - irf[j])
    # sample spacing of the IRF is 1 / (n * factor) of the span n / bandwidth
    return float((right - left) / (factor * bandwidth))
