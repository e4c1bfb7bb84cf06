"""Dense offsets between a reference and a secondary SLC (ampcor-equivalent), culling,
and the coarse "offsetprf" estimate.

Conventions
-----------
- Offsets are in pixels and follow ISCE: ``secondary = reference + offset``, i.e. a feature
  at reference (line, sample) is found at secondary (line + azimuth offset, sample + range
  offset).
- A *window* is a block of ``window_azimuth`` lines x ``window_range`` samples of the reference,
  starting at ``(start_az + i * skip_azimuth, start_rg + j * skip_range)``. Its secondary *search
  window* is ``search_azimuth`` / ``search_range`` pixels larger on every side and is displaced by the
  integer gross offset. Window results are reported at the window centre (reference pixel
  coordinates ``start + (window - 1) / 2``, the middle of its samples), where the fitted model is evaluated.
- The estimator follows ampcor as ISCE3 implements it (frequency domain algorithm):
  amplitudes (mean removed) are cross-correlated and the surface normalised by the reference
  and local secondary energy (normalised cross-correlation); the integer peak is refined by
  2x FFT oversampling of the complex windows (after removing their mean phase ramp along
  azimuth, or the axes ``deramp_mode`` names) around the peak, correlating those amplitudes
  again, and FFT-interpolating the correlation surface by ``corr_oversample``. SNR = peak^2 / mean of the squared raw
  correlation over a ``corr_stat_window`` box around the peak (ampcor's definition);
  covariance from the curvature of the raw correlation surface at the peak (ampcor's model).
- ``deramp_mode="isce3-legacy"`` reproduces the deramp of ISCE3's CPU/GPU ampcor before its
  deramp fix (isce3 PR #194), which made the golden outputs of ISCE3's ampcor accuracy test:
  the azimuth phase step is applied along range and the range step along azimuth, and the
  in-place complex multiply reuses the already-rotated real part, so the windows' amplitudes
  are distorted and the fine correlation peak drops (about 0.43 instead of 0.60 on that
  pair, offsets about 1.5x noisier against the truth). Use it only to compare with those
  golden outputs; the default (``"azimuth"``) is the correct deramp.

Block kernels are plain numpy (batched over windows); the stage function maps them over
blocks of windows with dask, each task reading only the slices it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import dask
import dask.array as da
import numpy as np
import scipy.fft as sfft
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field

from ..errors import DaskInsarError
from ..params import Params
from .chunking import as_dask

__all__ = [
    "OffsetParams",
    "WindowGrid",
    "window_grid",
    "ampcor_windows",
    "dense_offsets",
    "dense_offsets_numpy",
    "cull_offsets",
    "OffsetModel",
    "fit_offset_polynomial",
    "evaluate_offset_model",
    "coarse_offsets",
]


# --------------------------------------------------------------------------------------
# parameters and window grid
# --------------------------------------------------------------------------------------
class OffsetParams(Params):
    """Coregistration: geometric offsets from the DEM and orbits, optionally refined by dense offsets
    (ampcor) culled and fitted by a polynomial. Window sizes are in reference pixels (lines, samples)."""

    method: Literal["geometric", "geometric+dense", "dense"] = Field(
        "geometric", description="geometric (DEM + orbits), + a dense-offset residual fit, or dense offsets only")
    window_azimuth: int = Field(64, ge=4, description="dense-offset correlation window, azimuth (lines)")
    window_range: int = Field(64, ge=4, description="dense-offset correlation window, range (samples)")
    search_azimuth: int = Field(20, ge=1, description="dense-offset search half-width, azimuth (lines)")
    search_range: int = Field(20, ge=1, description="dense-offset search half-width, range (samples)")
    skip_azimuth: int = Field(128, ge=1, description="spacing of the dense-offset windows, azimuth (lines)")
    skip_range: int = Field(128, ge=1, description="spacing of the dense-offset windows, range (samples)")
    raw_oversample: int = Field(2, ge=1, description="oversampling of the complex windows before the fine "
                                                     "correlation")
    corr_oversample: int = Field(64, ge=1, description="oversampling of the fine correlation surface")
    zoom_window: int = Field(8, ge=2, description="size of the fine correlation surface (oversampled pixels)")
    corr_stat_window: int = Field(21, ge=3, description="box around the peak for the SNR (correlation pixels)")
    deramp: bool = Field(True, description="remove the windows' mean phase ramp before oversampling")
    deramp_mode: Literal["azimuth", "range", "both", "isce3-legacy"] = Field(
        "azimuth", description="axes whose mean phase ramp is removed; \"isce3-legacy\" reproduces the "
        "defective deramp of ISCE3 ampcor before isce3 PR #194 (for comparisons with its golden outputs only)")
    snr_min: float = Field(5.0, ge=0.0, description="windows with a correlation SNR (ampcor's) below this are "
                                                    "dropped before the fit")
    max_residual_px: float = Field(0.5, gt=0.0, description="culling: the largest residual (pixels) a window "
                                                            "may keep to the fitted polynomial")
    min_windows: int = Field(3, ge=1, description="culling: the fewest windows that must remain (else an error)")
    fit_order: int = Field(1, ge=0, le=3, description="degree of the 2-D offset polynomial in (azimuth, range)")
    cull_iterations: int = Field(50, ge=1, description="culling: most fit-and-drop passes")

    @property
    def half_zoom(self) -> int:
        """Half search range of the fine step, in raw pixels (ampcor's halfZoomWindowSizeRaw)."""
        zoom = min(self.zoom_window, min(self.search_azimuth, self.search_range) * 2 * self.raw_oversample)
        return max(zoom // (2 * self.raw_oversample), 1)


@dataclass(frozen=True)
class WindowGrid:
    """Positions of the reference windows (first line/sample of each, integer pixels)."""

    start_az: np.ndarray  # (n_az,)
    start_rg: np.ndarray  # (n_rg,)
    window_azimuth: int
    window_range: int

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.start_az), len(self.start_rg))

    @property
    def center_az(self) -> np.ndarray:
        """Window centres, azimuth (reference lines, float): the middle of lines start .. start + window - 1."""
        return self.start_az + (self.window_azimuth - 1) / 2.0

    @property
    def center_rg(self) -> np.ndarray:
        """Window centres, range (reference samples, float): the middle of samples start .. start + window - 1."""
        return self.start_rg + (self.window_range - 1) / 2.0


def window_grid(shape: tuple[int, int], params: OffsetParams, *, start: tuple[int, int] | None = None,
                n_windows: tuple[int, int] | None = None, gross_offset: tuple[int, int] = (0, 0)) -> WindowGrid:
    """The window grid over a reference image of ``shape`` (lines, samples).

    ``start`` defaults to the half search range (+ the gross offset magnitude), so that the
    search window of the first window lies in the secondary image; ``n_windows`` defaults to
    all windows whose search window fits in an image of the same shape.
    """
    n_lines, n_samples = shape
    g_az, g_rg = abs(int(gross_offset[0])), abs(int(gross_offset[1]))
    s_az = params.search_azimuth + g_az if start is None else int(start[0])
    s_rg = params.search_range + g_rg if start is None else int(start[1])
    if n_windows is None:
        fit_az = n_lines - s_az - params.window_azimuth - params.search_azimuth - g_az
        fit_rg = n_samples - s_rg - params.window_range - params.search_range - g_rg
        n_windows = (fit_az // params.skip_azimuth + 1, fit_rg // params.skip_range + 1)
    if n_windows[0] < 1 or n_windows[1] < 1:
        raise ValueError(f"image of {shape} lines x samples is too small for windows of "
                         f"{params.window_azimuth}x{params.window_range} with search "
                         f"+/-{params.search_azimuth}/{params.search_range}")
    return WindowGrid(start_az=s_az + params.skip_azimuth * np.arange(n_windows[0]),
                      start_rg=s_rg + params.skip_range * np.arange(n_windows[1]),
                      window_azimuth=params.window_azimuth, window_range=params.window_range)


# --------------------------------------------------------------------------------------
# numpy helpers (batched over leading axis)
# --------------------------------------------------------------------------------------
def _band_indices(n: int) -> np.ndarray:
    """Signed frequencies kept by ampcor's zero-padding oversampler for a length-n axis,
    in numpy's DFT convention: -(n/2 - 1) .. n/2 (the Nyquist bin counts as positive)."""
    if n % 2 == 0:
        return np.arange(-(n // 2 - 1), n // 2 + 1)
    return np.arange(-(n // 2), n // 2 + 1)


def fft_oversample(x: np.ndarray, factor: int, axes: tuple[int, int] = (-2, -1)) -> np.ndarray:
    """Band-limited (zero-padding) oversampling of complex windows by ``factor`` along two
    axes; sample m of the output sits at input position m / factor. Input samples are
    reproduced exactly at m = factor * n."""
    X = sfft.fft2(x, axes=axes, workers=1)
    out_shape = list(x.shape)
    for ax in axes:
        out_shape[ax] = x.shape[ax] * factor
    Y = np.zeros(out_shape, dtype=np.result_type(X.dtype, np.complex64))
    ia = _band_indices(x.shape[axes[0]])
    ir = _band_indices(x.shape[axes[1]])
    src = np.ix_(ia % x.shape[axes[0]], ir % x.shape[axes[1]])
    dst = np.ix_(ia % out_shape[axes[0]], ir % out_shape[axes[1]])
    Y[(Ellipsis,) + dst] = X[(Ellipsis,) + src]
    y = sfft.ifft2(Y, axes=axes, workers=1)
    return y * (factor * factor)


def _deramp(z: np.ndarray, axis: str = "azimuth") -> np.ndarray:
    """Remove each window's mean phase ramp along azimuth (axis -2), range (axis -1) or both.

    ``z`` is (n, lines, samples) complex. Per axis the mean phase increment is
    dphi = angle(sum z[k+1] conj(z[k])) (amplitude weighted) and the window is multiplied by
    exp(-j k dphi), k the pixel index along that axis; amplitudes are unchanged.
    """
    z = np.asarray(z)
    n = z.shape[0]
    ramp_a = np.ones((n, z.shape[-2], 1), dtype=np.complex128)   # separable: azimuth x range
    ramp_r = np.ones((n, 1, z.shape[-1]), dtype=np.complex128)
    if axis in ("azimuth", "both"):
        acc = np.asarray(np.sum(z[..., 1:, :] * np.conj(z[..., :-1, :]), axis=(-2, -1), dtype=np.complex128))
        ramp_a = np.exp(-1j * np.angle(acc)[:, None, None] * np.arange(z.shape[-2])[None, :, None])
    if axis in ("range", "both"):
        acc = np.asarray(np.sum(z[..., :, 1:] * np.conj(z[..., :, :-1]), axis=(-2, -1), dtype=np.complex128))
        ramp_r = np.exp(-1j * np.angle(acc)[:, None, None] * np.arange(z.shape[-1])[None, None, :])
    return (z * (ramp_a * ramp_r).astype(z.dtype)).astype(z.dtype, copy=False)


def _deramp_isce3_legacy(z: np.ndarray) -> np.ndarray:
    """The deramp of ISCE3's ampcor before isce3 PR #194 (float32, as it computed it).

    The mean phase steps along azimuth (pa) and range (pr) are estimated as in :func:`_deramp`
    (products in complex64, sums in float64, angles rounded to float32), but the ramp is
    applied with the axes swapped, phase = sample * pa + line * pr (radians, float32), and
    the rotation by (c, s) = (cos, sin)(phase) is the aliased in-place update
    x' = x c - y s, y' = y c + x' s (x, y the real and imaginary parts), which is not a
    rotation: it changes the amplitudes. Kept only to reproduce ISCE3's golden test outputs.
    """
    z = np.asarray(z, dtype=np.complex64)
    acc_a = np.sum(z[..., :-1, :] * np.conj(z[..., 1:, :]), axis=(-2, -1), dtype=np.complex128)
    acc_r = np.sum(z[..., :, :-1] * np.conj(z[..., :, 1:]), axis=(-2, -1), dtype=np.complex128)
    pa = np.arctan2(acc_a.imag, acc_a.real).astype(np.float32)
    pr = np.arctan2(acc_r.imag, acc_r.real).astype(np.float32)
    line = np.arange(z.shape[-2], dtype=np.float32)[None, :, None]
    sample = np.arange(z.shape[-1], dtype=np.float32)[None, None, :]
    phase = sample * pa[:, None, None] + line * pr[:, None, None]          # float32
    c, s = np.cos(phase), np.sin(phase)
    x, y = z.real, z.imag
    x1 = x * c - y * s
    y1 = y * c + x1 * s
    out = np.empty(z.shape, dtype=np.complex64)
    out.real, out.imag = x1, y1
    return out


def _box_sums(x: np.ndarray, h: int, w: int) -> np.ndarray:
    """Sums of x over all h x w boxes (valid positions), batched over axis 0 (float64)."""
    c = np.zeros((x.shape[0], x.shape[1] + 1, x.shape[2] + 1), dtype=np.float64)
    np.cumsum(np.cumsum(x, axis=1, dtype=np.float64), axis=2, out=c[:, 1:, 1:])
    return c[:, h:, w:] - c[:, :-h, w:] - c[:, h:, :-w] + c[:, :-h, :-w]


def normalized_xcorr(ref: np.ndarray, sec: np.ndarray) -> np.ndarray:
    """Normalised cross-correlation of real windows (batched on axis 0).

    ``ref`` (n, h, w) has its mean removed here; ``sec`` (n, H, W) with H >= h, W >= w.
    Returns (n, H-h+1, W-w+1): corr[u, v] = sum ref[i,j] sec[i+u, j+v] /
    sqrt(sum ref^2 * (sum_box sec^2 - (sum_box sec)^2 / (h w))).
    """
    n, h, w = ref.shape
    H, W = sec.shape[1:]
    ref = ref - ref.mean(axis=(1, 2), keepdims=True)
    F = sfft.rfft2(sec, axes=(1, 2), workers=1)
    G = sfft.rfft2(ref, s=(H, W), axes=(1, 2), workers=1)
    c = sfft.irfft2(F * np.conj(G), s=(H, W), axes=(1, 2), workers=1)[:, : H - h + 1, : W - w + 1]
    s1 = _box_sums(sec, h, w)
    s2 = _box_sums(sec * sec, h, w)
    ref2 = np.sum(ref.astype(np.float64) ** 2, axis=(1, 2))
    norm2 = (s2 - s1 * s1 / (h * w)) * ref2[:, None, None]
    return c / np.sqrt(np.maximum(norm2, 0.0) + np.finfo(np.float32).eps)


def _surface_interp(surf: np.ndarray, factor: int, centre: np.ndarray, half: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Evaluate the band-limited (FFT zero-padding) interpolation of small real surfaces
    (n, N, M) on the fine grid m / factor for fine indices centre - half .. centre + half
    (clipped to the full oversampled grid), via an explicit DFT (same values as a full FFT
    oversampling, cheaper). Returns the peak fine indices (n, 2) and peak values (n,)."""
    n, N, M = surf.shape
    S = sfft.fft2(surf, axes=(1, 2), workers=1)
    fa = _band_indices(N)
    fr = _band_indices(M)
    S = S[:, (fa % N)[:, None], (fr % M)[None, :]]
    L = 2 * half + 1
    m0a = np.clip(centre[:, 0] - half, 0, N * factor - L)
    m0r = np.clip(centre[:, 1] - half, 0, M * factor - L)
    ma = m0a[:, None] + np.arange(L)[None, :]          # (n, L)
    mr = m0r[:, None] + np.arange(L)[None, :]
    Ea = np.exp(2j * np.pi * ma[:, :, None] * fa[None, None, :] / (N * factor))  # (n, L, N)
    Er = np.exp(2j * np.pi * fr[None, :, None] * mr[:, None, :] / (M * factor))  # (n, M, L)
    val = np.real(Ea @ S @ Er) / (N * M)
    flat = val.reshape(n, -1).argmax(axis=1)
    ia, ir = np.unravel_index(flat, (L, L))
    peak = val.reshape(n, -1)[np.arange(n), flat]
    return m0a + ia, m0r + ir, peak


def _covariance(corr: np.ndarray, pa: np.ndarray, pr: np.ndarray, peak: np.ndarray, template_size: int) -> np.ndarray:
    """ampcor's offset covariance (pixels^2) from the curvature of the raw correlation
    surface at the integer peak: columns (var_az, var_rg, cov_az_rg); 99 where undefined."""
    n, NA, NR = corr.shape
    out = np.zeros((n, 3), dtype=np.float64)
    out[:, 0] = out[:, 1] = 99.0
    ok = (pa >= 1) & (pr >= 1) & (pa + 1 < NA) & (pr + 1 < NR)
    idx = np.nonzero(ok)[0]
    if idx.size:
        a, r = pa[idx], pr[idx]
        c = lambda da_, dr_: corr[idx, a + da_, r + dr_].astype(np.float64)  # noqa: E731
        dxx = -(c(1, 0) + c(-1, 0) - 2 * c(0, 0)) * template_size
        dyy = -(c(0, 1) + c(0, -1) - 2 * c(0, 0)) * template_size
        dxy = (c(1, 1) + c(-1, -1) - c(1, -1) - c(-1, 1)) * 0.25 * template_size
        n2 = np.maximum(1.0 - peak[idx], 0.0)
        n4 = n2 * n2 * 0.5 * template_size
        n2 = 2 * n2
        u = dxy * dxy - dxx * dyy
        good = np.abs(u) >= 1e-2
        u2 = np.where(good, u * u, 1.0)
        cxx = (-n2 * u * dyy + n4 * (dyy * dyy + dxy * dxy)) / u2
        cyy = (-n2 * u * dxx + n4 * (dxx * dxx + dxy * dxy)) / u2
        cxy = (n2 * u * dxy - n4 * (dxx + dyy) * dxy) / u2
        out[idx, 0] = np.where(good, cxx, 99.0)
        out[idx, 1] = np.where(good, cyy, 99.0)
        out[idx, 2] = np.where(good, cxy, 0.0)
    return out


# --------------------------------------------------------------------------------------
# the block kernel
# --------------------------------------------------------------------------------------
def ampcor_windows(ref: np.ndarray, sec: np.ndarray, params: OffsetParams) -> dict[str, np.ndarray]:
    """Offsets of a batch of windows (pure numpy).

    Parameters
    ----------
    ref : complex array (n, window_azimuth, window_range)
        Reference windows.
    sec : complex array (n, window_azimuth + 2 search_azimuth, window_range + 2 search_range)
        Secondary search windows; their first sample sits at reference window start + gross
        offset - search.

    Returns
    -------
    dict of arrays (n,): ``azimuth``, ``range`` (pixels, relative to the gross offset),
    ``snr`` (peak^2 / mean squared correlation around it), ``peak`` (fine correlation peak,
    0..1), and ``covariance`` (n, 3): var_az, var_rg, cov_az_rg (pixels^2).
    """
    p = params
    n, wa, wr = ref.shape
    sa, sr = p.search_azimuth, p.search_range
    if sec.shape != (n, wa + 2 * sa, wr + 2 * sr):
        raise ValueError(f"secondary windows have shape {sec.shape}, expected {(n, wa + 2 * sa, wr + 2 * sr)}")
    ref = np.asarray(ref, dtype=np.complex64)
    sec = np.asarray(sec, dtype=np.complex64)

    # 1. raw amplitude correlation over the full search range
    corr = normalized_xcorr(np.abs(ref), np.abs(sec))           # (n, 2sa+1, 2sr+1)
    flat = corr.reshape(n, -1).argmax(axis=1)
    pa, pr = np.unravel_index(flat, corr.shape[1:])
    peak_raw = corr.reshape(n, -1)[np.arange(n), flat]
    cov = _covariance(corr, pa, pr, peak_raw, wa * wr)

    # 2. SNR over a box around the integer peak
    hs = p.corr_stat_window // 2
    ka = np.arange(-hs, hs + 1)
    ia = pa[:, None] + ka[None, :]
    ir = pr[:, None] + ka[None, :]
    va = (ia >= 0) & (ia < corr.shape[1])
    vr = (ir >= 0) & (ir < corr.shape[2])
    box = corr[np.arange(n)[:, None, None], np.clip(ia, 0, corr.shape[1] - 1)[:, :, None],
               np.clip(ir, 0, corr.shape[2] - 1)[:, None, :]].astype(np.float64)
    valid = va[:, :, None] & vr[:, None, :]
    ssum = np.sum(np.where(valid, box * box, 0.0), axis=(1, 2))
    count = valid.sum(axis=(1, 2))
    p2 = peak_raw.astype(np.float64) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = p2 / ((ssum - p2) / np.maximum(count - 1, 1))

    # 3. fine step: extract around the integer peak, oversample the complex windows
    hz = p.half_zoom
    start_a = np.clip(pa - hz, 0, 2 * (sa - hz))
    start_r = np.clip(pr - hz, 0, 2 * (sr - hz))
    ea = start_a[:, None] + np.arange(wa + 2 * hz)[None, :]
    er = start_r[:, None] + np.arange(wr + 2 * hz)[None, :]
    sec_zoom = sec[np.arange(n)[:, None, None], ea[:, :, None], er[:, None, :]]
    ro = p.raw_oversample
    ref_c, sec_c = ref, sec_zoom
    if p.deramp and p.deramp_mode == "isce3-legacy":
        ref_c = _deramp_isce3_legacy(ref_c)
        sec_c = _deramp_isce3_legacy(sec_c)
    elif p.deramp:
        ref_c = _deramp(ref_c, p.deramp_mode)
        sec_c = _deramp(sec_c, p.deramp_mode)
    if ro > 1:
        ref_c = fft_oversample(ref_c, ro)
        sec_c = fft_oversample(sec_c, ro)
    fine = normalized_xcorr(np.abs(ref_c).astype(np.float64), np.abs(sec_c).astype(np.float64))
    fine = fine[:, :-1, :-1]                                    # even-sized surface, as ampcor
    # 4. interpolate the fine surface around its discrete peak and take the maximum
    f = p.corr_oversample
    fflat = fine.reshape(n, -1).argmax(axis=1)
    fa, fr = np.unravel_index(fflat, fine.shape[1:])
    centre = np.stack([fa * f, fr * f], axis=1)
    ma, mr, peak = _surface_interp(fine, f, centre, f)
    scale = 1.0 / (f * ro)
    off_a = start_a - sa + ma * scale
    off_r = start_r - sr + mr * scale
    return {"azimuth": off_a.astype(np.float64), "range": off_r.astype(np.float64),
            "snr": snr.astype(np.float64), "peak": peak.astype(np.float64), "covariance": cov}


# --------------------------------------------------------------------------------------
# numpy driver over a window grid and the dask stage
# --------------------------------------------------------------------------------------
_OUT_NAMES = ("azimuth", "range", "snr", "peak", "var_azimuth", "var_range", "cov_azimuth_range")


def _gross_grid(gross, shape) -> tuple[np.ndarray, np.ndarray]:
    ga, gr = gross
    ga = np.broadcast_to(np.asarray(ga, dtype=np.int64), shape)
    gr = np.broadcast_to(np.asarray(gr, dtype=np.int64), shape)
    return ga, gr


def _block_offsets(ref_block: np.ndarray, sec_block: np.ndarray, ref_origin: tuple[int, int],
                   sec_origin: tuple[int, int], sec_valid: tuple[int, int, int, int],
                   start_az: np.ndarray, start_rg: np.ndarray, gross_az: np.ndarray, gross_rg: np.ndarray,
                   params: OffsetParams, batch: int = 64) -> np.ndarray:
    """Kernel for one block of windows. ``ref_block``/``sec_block`` are image slices whose
    first pixel is ``ref_origin``/``sec_origin`` in full-image coordinates; ``sec_valid`` =
    (a0, a1, r0, r1) is the part of the secondary image that exists. Returns (7, na, nr)
    float64: azimuth, range offsets (pixels, gross included), snr, peak, var_az, var_rg,
    cov_az_rg; windows whose search window leaves the secondary image are NaN (snr 0)."""
    p = params
    na, nr = len(start_az), len(start_rg)
    wa, wr, sa, sr = p.window_azimuth, p.window_range, p.search_azimuth, p.search_range
    ii2, jj2 = np.meshgrid(np.arange(na), np.arange(nr), indexing="ij")
    ii, jj = ii2.ravel(), jj2.ravel()
    ra = start_az[ii] - ref_origin[0]
    rr = start_rg[jj] - ref_origin[1]
    s_abs_a = start_az[ii] + gross_az[ii, jj] - sa
    s_abs_r = start_rg[jj] + gross_rg[ii, jj] - sr
    inside = ((s_abs_a >= sec_valid[0]) & (s_abs_a + wa + 2 * sa <= sec_valid[1])
              & (s_abs_r >= sec_valid[2]) & (s_abs_r + wr + 2 * sr <= sec_valid[3]))
    out = np.full((7, na * nr), np.nan)
    out[2] = 0.0
    idx = np.nonzero(inside)[0]
    for b0 in range(0, idx.size, batch):
        sel = idx[b0:b0 + batch]
        ka = np.arange(wa)
        kr = np.arange(wr)
        refw = ref_block[(ra[sel][:, None, None] + ka[None, :, None]), (rr[sel][:, None, None] + kr[None, None, :])]
        la = np.arange(wa + 2 * sa)
        lr = np.arange(wr + 2 * sr)
        sa0 = s_abs_a[sel] - sec_origin[0]
        sr0 = s_abs_r[sel] - sec_origin[1]
        secw = sec_block[(sa0[:, None, None] + la[None, :, None]), (sr0[:, None, None] + lr[None, None, :])]
        res = ampcor_windows(refw, secw, p)
        out[0, sel] = res["azimuth"] + gross_az[ii[sel], jj[sel]]
        out[1, sel] = res["range"] + gross_rg[ii[sel], jj[sel]]
        out[2, sel] = res["snr"]
        out[3, sel] = res["peak"]
        out[4:7, sel] = res["covariance"].T
    return out.reshape(7, na, nr)


def _to_dataset(stack, grid: WindowGrid, params: OffsetParams) -> xr.Dataset:
    dims = ("azimuth_window", "range_window")
    coords = {"azimuth_window": np.arange(grid.shape[0]), "range_window": np.arange(grid.shape[1]),
              "azimuth_center": ("azimuth_window", grid.center_az),
              "range_center": ("range_window", grid.center_rg)}
    units = ["pixels", "pixels", "1", "1", "pixels^2", "pixels^2", "pixels^2"]
    ds = xr.Dataset({name: (dims, stack[k], {"units": units[k]}) for k, name in enumerate(_OUT_NAMES)},
                    coords=coords)
    ds.attrs["dense_offset_params"] = params.model_dump_json()
    ds.attrs["convention"] = "secondary = reference + offset; windows reported at their centre (reference pixels)"
    return ds


def dense_offsets_numpy(reference: np.ndarray, secondary: np.ndarray, params: OffsetParams,
                        grid: WindowGrid | None = None, gross_offset=(0, 0)) -> xr.Dataset:
    """Dense offsets of in-memory images (eager, numpy); see :func:`dense_offsets`."""
    grid = grid or window_grid(reference.shape, params, gross_offset=_max_abs_gross(gross_offset))
    ga, gr = _gross_grid(gross_offset, grid.shape)
    out = _block_offsets(np.asarray(reference), np.asarray(secondary), (0, 0), (0, 0),
                         (0, secondary.shape[0], 0, secondary.shape[1]),
                         grid.start_az, grid.start_rg, ga, gr, params)
    return _to_dataset(out, grid, params)


def _max_abs_gross(g) -> tuple[int, int]:
    return (int(np.max(np.abs(g[0]))), int(np.max(np.abs(g[1]))))


def dense_offsets(reference: da.Array, secondary: da.Array, params: OffsetParams | None = None, *,
                  grid: WindowGrid | None = None, gross_offset=(0, 0),
                  windows_per_task: tuple[int, int] = (16, 16)) -> xr.Dataset:
    """Dense offsets (ampcor) of two SLCs on (azimuth, range) grids, lazily with dask.

    Parameters
    ----------
    reference, secondary : dask (or numpy) complex arrays (lines, samples)
    params : window/search/oversampling settings
    grid : the window grid; default :func:`window_grid` over the reference
    gross_offset : (azimuth, range) integer pixels, scalars or arrays of the grid shape
    windows_per_task : how many windows one task computes; results do not depend on it

    Returns
    -------
    xr.Dataset on dims (azimuth_window, range_window) with coordinates ``azimuth_center``,
    ``range_center`` (reference pixels) and variables ``azimuth``, ``range`` (offsets, pixels,
    secondary = reference + offset), ``snr``, ``peak``, ``var_azimuth``, ``var_range``,
    ``cov_azimuth_range``. Each is a small dask array; one task per block of windows reads
    only the reference and secondary slices those windows need.
    """
    params = params or OffsetParams()
    reference, secondary = as_dask(reference), as_dask(secondary)
    grid = grid or window_grid(reference.shape, params, gross_offset=_max_abs_gross(gross_offset))
    ga, gr = _gross_grid(gross_offset, grid.shape)
    p = params
    ta, tr = windows_per_task
    token = dask.base.tokenize(reference, secondary, params, grid.start_az, grid.start_rg, ga, gr, windows_per_task)
    rows = []
    for bi, i0 in enumerate(range(0, grid.shape[0], ta)):
        row = []
        for bj, j0 in enumerate(range(0, grid.shape[1], tr)):
            st_a = grid.start_az[i0:i0 + ta]
            st_r = grid.start_rg[j0:j0 + tr]
            g_a = np.ascontiguousarray(ga[i0:i0 + ta, j0:j0 + tr])
            g_r = np.ascontiguousarray(gr[i0:i0 + ta, j0:j0 + tr])
            ref_box = (int(st_a.min()), int(st_a.max()) + p.window_azimuth, int(st_r.min()), int(st_r.max()) + p.window_range)
            sec_box = (int((st_a[:, None] + g_a).min()) - p.search_azimuth,
                       int((st_a[:, None] + g_a).max()) + p.window_azimuth + p.search_azimuth,
                       int((st_r[None, :] + g_r).min()) - p.search_range,
                       int((st_r[None, :] + g_r).max()) + p.window_range + p.search_range)
            ref_box = _clip_box(ref_box, reference.shape)
            sec_clip = _clip_box(sec_box, secondary.shape)
            ref_slice = reference[ref_box[0]:ref_box[1], ref_box[2]:ref_box[3]]
            sec_slice = secondary[sec_clip[0]:sec_clip[1], sec_clip[2]:sec_clip[3]]
            valid = (0, secondary.shape[0], 0, secondary.shape[1])
            task = dask.delayed(_block_offsets, pure=True)(
                ref_slice, sec_slice, (ref_box[0], ref_box[2]), (sec_clip[0], sec_clip[2]), valid,
                st_a, st_r, g_a, g_r, params,
                dask_key_name=f"dense-offsets-{token}-{bi}-{bj}")
            row.append(da.from_delayed(task, shape=(7, len(st_a), len(st_r)), dtype=np.float64,
                                       name=f"dense-offsets-block-{token}-{bi}-{bj}"))
        rows.append(row)
    stack = da.block([[blk for blk in row] for row in rows])
    return _to_dataset([stack[k] for k in range(7)], grid, params)


def _clip_box(box, shape):
    a0, a1, r0, r1 = box
    return (max(a0, 0), min(a1, shape[0]), max(r0, 0), min(r1, shape[1]))


# --------------------------------------------------------------------------------------
# culling and the fitted offset model
# --------------------------------------------------------------------------------------
def _poly_terms(u: np.ndarray, v: np.ndarray, order: int) -> np.ndarray:
    """Design matrix columns u^p v^q with p + q <= order, ordered by total degree."""
    cols = [u ** (d - q) * v ** q for d in range(order + 1) for q in range(d + 1)]
    return np.stack(cols, axis=-1)


class OffsetModel(BaseModel):
    """A fitted 2-D polynomial offset model: offset(line, sample) in pixels, with
    u = (line - center_az) / scale_az, v = (sample - center_rg) / scale_rg (reference pixels)
    and terms u^p v^q ordered by total degree (1, u, v, u^2, u v, v^2, ...)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    order: int
    center_az: float
    center_rg: float
    scale_az: float
    scale_rg: float
    azimuth_coeffs: list[float]
    range_coeffs: list[float]
    n_used: int = 0
    rms_azimuth: float = 0.0
    rms_range: float = 0.0

    def __call__(self, line, sample) -> tuple[np.ndarray, np.ndarray]:
        """(azimuth offset, range offset) in pixels at reference (line, sample)."""
        u = (np.asarray(line, dtype=np.float64) - self.center_az) / self.scale_az
        v = (np.asarray(sample, dtype=np.float64) - self.center_rg) / self.scale_rg
        u, v = np.broadcast_arrays(u, v)
        A = _poly_terms(u, v, self.order)
        return A @ np.asarray(self.azimuth_coeffs), A @ np.asarray(self.range_coeffs)


def fit_offset_polynomial(line: np.ndarray, sample: np.ndarray, az: np.ndarray, rg: np.ndarray, order: int,
                          scale: tuple[float, float] | None = None) -> OffsetModel:
    """Least-squares 2-D polynomial fit of azimuth and range offsets (pixels) at reference
    (line, sample) positions (1-D arrays of the used points)."""
    line, sample = np.asarray(line, float), np.asarray(sample, float)
    ca, cr = float(np.mean(line)), float(np.mean(sample))
    sa = float(scale[0]) if scale else max(float(np.ptp(line)) / 2.0, 1.0)
    sr = float(scale[1]) if scale else max(float(np.ptp(sample)) / 2.0, 1.0)
    A = _poly_terms((line - ca) / sa, (sample - cr) / sr, order)
    ca_, *_ = np.linalg.lstsq(A, az, rcond=None)
    cr_, *_ = np.linalg.lstsq(A, rg, rcond=None)
    ra, rr = az - A @ ca_, rg - A @ cr_
    return OffsetModel(order=order, center_az=ca, center_rg=cr, scale_az=sa, scale_rg=sr,
                       azimuth_coeffs=ca_.tolist(), range_coeffs=cr_.tolist(), n_used=int(len(az)),
                       rms_azimuth=float(np.sqrt(np.mean(ra ** 2))), rms_range=float(np.sqrt(np.mean(rr ** 2))))


def cull_offsets(offsets: xr.Dataset, params: OffsetParams | None = None) -> tuple[OffsetModel, xr.DataArray]:
    """Cull dense offsets and fit the offset model.

    Windows are kept when their SNR >= ``snr_min`` and both offsets are finite; then the
    polynomial is fitted iteratively, each pass dropping the windows whose residual (the
    larger of the azimuth and range residual, pixels) exceeds max(max_error_px, half the
    largest residual), until every kept window is within ``max_error_px``.

    Returns (model, mask) where mask (azimuth_window, range_window) is True for kept windows.
    The coarse offset grid is small, so this runs eagerly (it computes a lazy input).
    """
    params = params or OffsetParams()
    ds = offsets.compute() if any(isinstance(v.data, da.Array) for v in offsets.data_vars.values()) else offsets
    az = np.asarray(ds["azimuth"].values, float)
    rg = np.asarray(ds["range"].values, float)
    snr = np.asarray(ds["snr"].values, float)
    line, sample = np.meshgrid(ds["azimuth_center"].values, ds["range_center"].values, indexing="ij")
    keep = np.isfinite(az) & np.isfinite(rg) & (snr >= params.snr_min)
    n_terms = (params.fit_order + 1) * (params.fit_order + 2) // 2
    scale = (max(float(np.ptp(line)) / 2.0, 1.0), max(float(np.ptp(sample)) / 2.0, 1.0))
    for _ in range(params.cull_iterations):
        if keep.sum() < max(params.min_windows, n_terms):
            raise ValueError(f"only {int(keep.sum())} offset windows survive culling "
                             f"(SNR >= {params.snr_min}, error <= {params.max_residual_px} px); "
                             f"need at least {max(params.min_windows, n_terms)}")
        model = fit_offset_polynomial(line[keep], sample[keep], az[keep], rg[keep], params.fit_order, scale)
        pa, pr = model(line, sample)
        resid = np.maximum(np.abs(az - pa), np.abs(rg - pr))
        worst = float(np.max(np.where(keep, resid, 0.0)))
        if worst <= params.max_residual_px:
            break
        keep &= resid <= max(params.max_residual_px, 0.5 * worst)
    mask = xr.DataArray(keep, dims=("azimuth_window", "range_window"), coords=ds["azimuth"].coords,
                        name="mask", attrs={"meaning": "True where the window survived culling"})
    return model, mask


def evaluate_offset_model(model: OffsetModel, shape: tuple[int, int],
                          chunks: tuple[int, int] | tuple[tuple[int, ...], ...] = (2048, 2048)) -> tuple[da.Array, da.Array]:
    """The fitted model on the full reference grid, lazily: (azimuth offset, range offset)
    float64 dask arrays of ``shape`` (pixels), one task per block."""
    template = da.zeros(shape, chunks=chunks, dtype=np.float64)

    def _block(x, block_info=None, which=0):
        (a0, a1), (r0, r1) = block_info[0]["array-location"]
        lines = np.arange(a0, a1, dtype=np.float64)[:, None]
        samples = np.arange(r0, r1, dtype=np.float64)[None, :]
        return model(lines, samples)[which]

    tok = dask.base.tokenize(model.model_dump_json(), shape, template.chunks)
    az = da.map_blocks(_block, template, dtype=np.float64, which=0, name=f"offset-model-azimuth-{tok}")
    rg = da.map_blocks(_block, template, dtype=np.float64, which=1, name=f"offset-model-range-{tok}")
    return az, rg


def coarse_offsets(reference, secondary, *, n_windows: tuple[int, int] = (4, 4), window: int = 256,
                   search: int = 64, order: int = 0, snr_min: float = 3.0,
                   max_error_px: float = 1.0) -> tuple[OffsetModel, xr.Dataset]:
    """ISCE's "offsetprf" path for a pair without a DEM: a handful of big windows spread
    over the image, culled and fitted by a constant (order 0) or linear (order 1) model.

    Returns (model, the window estimates with the cull ``mask`` added).
    """
    shape = reference.shape
    p = OffsetParams(window_azimuth=window, window_range=window, search_azimuth=search, search_range=search,
                     skip_azimuth=1, skip_range=1, corr_oversample=32, snr_min=snr_min, max_residual_px=max_error_px,
                     fit_order=order, min_windows=1)
    span_a = shape[0] - window - 2 * search
    span_r = shape[1] - window - 2 * search
    if span_a < 0 or span_r < 0:
        raise ValueError(f"image of {shape} is too small for coarse windows of {window} + search {search}")
    starts_a = search + np.linspace(0, span_a, n_windows[0]).round().astype(int)
    starts_r = search + np.linspace(0, span_r, n_windows[1]).round().astype(int)
    grid = WindowGrid(np.unique(starts_a), np.unique(starts_r), window, window)
    ds = dense_offsets(reference, secondary, p, grid=grid, windows_per_task=(len(grid.start_az), len(grid.start_rg)))
    ds = ds.compute()
    model, mask = cull_offsets(ds, p)
    return model, ds.assign(mask=mask)


# --------------------------------------------------------------------------------------
# the stage contract
# --------------------------------------------------------------------------------------
def run(inputs: xr.Dataset, params: OffsetParams) -> xr.Dataset:
    """Dense offsets, culled and fitted, of a pair with its geometric coregistration.

    ``inputs``: a pair dataset (:func:`daskinsar.scene.pair_dataset`: ``reference``, ``secondary``)
    plus the geometric offsets ``azimuth_offset``, ``range_offset`` (pixels, on the reference grid,
    from topo). With ``method="geometric+dense"`` the polynomial is fitted to dense minus geometric
    offsets (a residual model, added to the geometric field); with ``"dense"`` to the dense offsets.
    Returns the window estimates (``azimuth``, ``range``, ``snr``, ... on window dims), ``kept``
    (the cull mask), the residuals, and the fitted :class:`OffsetModel` as JSON in ``offset_model``.
    """
    if params.method == "geometric":
        raise ValueError("offsets.run: method 'geometric' measures no offsets (use the topo offsets as they are)")
    shape = inputs["reference"].shape
    geo_az, geo_rg = inputs["azimuth_offset"], inputs["range_offset"]
    c = (shape[0] // 2, shape[1] // 2)
    gross = (int(round(float(geo_az[c].values))), int(round(float(geo_rg[c].values))))
    dense = dense_offsets(inputs["reference"].data, inputs["secondary"].data, params, gross_offset=gross).compute()
    resid = dense.copy()
    if params.method == "geometric+dense":  # the geometric offsets at the windows' (fractional) centres
        ca, cr = dense["azimuth_center"].values, dense["range_center"].values
        resid["azimuth"] = dense["azimuth"] - _bilinear_at(geo_az, ca, cr)
        resid["range"] = dense["range"] - _bilinear_at(geo_rg, ca, cr)
    try:
        model, mask = cull_offsets(resid, params)
    except ValueError as exc:
        raise DaskInsarError(f"offsets: {exc}; the pair may not overlap, or relax snr_min / max_residual_px") from None
    out = dense.assign(kept=mask, residual_azimuth=resid["azimuth"], residual_range=resid["range"])
    out.attrs.update(offset_model=model.model_dump_json(), method=params.method,
                     kept_fraction=float(np.mean(mask.values)), kept_windows=int(mask.values.sum()))
    return out


def _bilinear_at(field: xr.DataArray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """A (lazy) 2-D field sampled bilinearly at rows x cols (fractional pixels); reads only those pixels."""
    i0 = np.clip(np.floor(rows).astype(int), 0, field.shape[0] - 2)
    j0 = np.clip(np.floor(cols).astype(int), 0, field.shape[1] - 2)
    fi = np.clip(rows - i0, 0.0, 1.0)[:, None]
    fj = np.clip(cols - j0, 0.0, 1.0)[None, :]
    ii, jj = np.unique(np.concatenate([i0, i0 + 1])), np.unique(np.concatenate([j0, j0 + 1]))
    sub = np.asarray(field.isel({field.dims[0]: ii, field.dims[1]: jj}).values, np.float64)
    a, b = np.searchsorted(ii, i0), np.searchsorted(jj, j0)
    v00, v01 = sub[np.ix_(a, b)], sub[np.ix_(a, b + 1)]
    v10, v11 = sub[np.ix_(a + 1, b)], sub[np.ix_(a + 1, b + 1)]
    return (v00 * (1 - fi) * (1 - fj) + v01 * (1 - fi) * fj + v10 * fi * (1 - fj) + v11 * fi * fj)


def offset_fields(azimuth_offset: da.Array, range_offset: da.Array, offsets: xr.Dataset | None = None
                  ) -> tuple[da.Array, da.Array]:
    """The offsets the secondary is resampled with (float32 pixels on the reference grid): the geometric
    fields, plus the fitted residual model of :func:`run` (``geometric+dense``), or the model alone
    (``dense``)."""
    az, rg = azimuth_offset, range_offset
    if offsets is not None:
        model = OffsetModel.model_validate_json(offsets.attrs["offset_model"])
        maz, mrg = evaluate_offset_model(model, az.shape, chunks=az.chunks)
        az, rg = (maz, mrg) if offsets.attrs["method"] == "dense" else (az + maz, rg + mrg)
    return az.astype(np.float32), rg.astype(np.float32)
