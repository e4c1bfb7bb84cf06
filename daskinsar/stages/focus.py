"""Focusing raw echoes to a zero-Doppler SLC: the range-Doppler algorithm on dask.

Algorithm (Cumming & Wong, *Digital Processing of SAR Data*, ch. 6):

1. **Range compression** per block of whole lines (``map_blocks``): matched filter
   ``conj(FFT(replica))`` built from the chirp parameters (or a given replica),
   optional range weighting (Kaiser/Hamming) over the chirp band, optional
   secondary range compression (SRC, Cumming's option 2: at the Doppler centroid and
   a reference range). The replica's leading edge is sample 0, so the output sample
   ``m`` is the echo of a target at slant range ``r_0 + m dr`` (the range gate
   convention of the raw data: slant range = c * fast time / 2 from the transmit
   time). The last ``N_chirp - 1`` samples of a line are only partly compressed.
2. **Corner turn**: each column-block task turns its range bins (all pulses, with the
   RCMC halo) out of the range-compressed line blocks straight into its FFT buffer
   (one tiled transpose; every line block computed once for all column tasks).
3. **Azimuth FFT** per column block (zero-padded so the circular convolution never
   wraps a synthetic aperture onto the output).
4. **RCMC + azimuth compression** per column block with a range halo
   (overlap >= the largest migration + half the interpolator): in the
   range-Doppler domain the energy of a target at zero-Doppler range ``R0`` sits at
   ``R0 / D(f)`` with ``D(f) = sqrt(1 - (lambda f / (2 V_r))^2)``; it is moved back
   to ``R0`` by windowed-sinc interpolation (``V_r`` varies with range), then
   multiplied by the azimuth matched filter
   ``exp(+j 4 pi R0 (D(f) - 1) / lambda + j pi/4)`` over the processed band
   ``|f - f_dc(R0)| <= B_p / 2`` (azimuth frequencies unwrapped around the Doppler
   centroid, i.e. ambiguity included), optionally weighted.
5. Azimuth IFFT: the output sample of a target sits at its **zero-Doppler** azimuth
   time on the input pulse-time grid, at its zero-Doppler slant range, with phase
   ``-4 pi R0 / lambda`` (the ``+pi/4`` cancels the ``-pi/4`` of the stationary-phase
   spectrum of the azimuth chirp).

Doppler centroid: from the data (average cross-correlation coefficient, Madsen
1989; ambiguity resolved by the orbit + attitude prediction or the metadata) or from
orbit + attitude (``doppler_from_attitude``).

Effective velocity ``V_r(R)``: fitted from the orbit geometry at mid-scene: for a
ground point at zero-Doppler range ``R`` (``rdr2geo``), ``R(eta)^2 - R^2`` over the
synthetic aperture is fitted by ``V_r^2 eta^2 (+ c eta^3)`` (ECEF, so the Earth's
rotation is included).

Stop-and-hop is assumed throughout (as in the simulator).
"""

from __future__ import annotations

import threading
from typing import Literal

import dask
import dask.array as da
import numba
import numpy as np
import xarray as xr
from pydantic import Field

from ..geometry.ellipsoid import A as WGS84_A
from ..geometry.ellipsoid import B as WGS84_B
from ..geometry.ellipsoid import SPEED_OF_LIGHT
from ..errors import DaskInsarError
from ..geometry.orbit import Orbit
from ..geometry.sinc import kaiser_sinc_table
from ..params import Params
from ..scene import LUT2D, Chirp, Poly1D, Scene
from .phasor import cis

try:  # pragma: no cover - pyfftw is a hard dependency, keep scipy as a fallback
    import pyfftw
except ImportError:  # pragma: no cover
    pyfftw = None


# ----------------------------------------------------------------------------- parameters
class FocusParams(Params):
    """Range-Doppler focusing of raw inputs (ignored for SLC inputs)."""

    doppler: Literal["data", "attitude", "metadata", "zero"] | float = Field(
        "data", description="Doppler centroid: estimated from the echoes (ISCE useDOPIQ; ambiguity from orbit + "
                            "attitude or the metadata), from orbit + attitude, the product's metadata, zero, or a "
                            "constant in Hz")
    doppler_poly_degree: int = Field(1, ge=0, le=4, description="degree in slant range of the Doppler estimated "
                                                                "from the echoes")
    range_window: Literal["rect", "kaiser", "hamming"] = Field(
        "rect", description="window on the range spectrum")
    range_window_param: float = Field(2.5, description="Kaiser beta or Hamming alpha of the range window")
    azimuth_window: Literal["rect", "kaiser", "hamming"] = Field(
        "rect", description="window on the processed azimuth band")
    azimuth_window_param: float = Field(2.5, description="Kaiser beta or Hamming alpha of the azimuth window")
    azimuth_bandwidth_hz: float | None = Field(
        None, gt=0, description="processed Doppler bandwidth (Hz); None: the metadata's, else 0.8 PRF")
    secondary_range_compression: bool = Field(False, description="secondary range compression at the Doppler "
                                                                 "centroid and mid range")
    rcmc_taps: int = Field(16, ge=4, le=64, description="sinc taps of the RCMC interpolator")
    range_lines_per_block: int = Field(1024, ge=1, description="lines per range-compression task")
    azimuth_block_mib: float = Field(64.0, gt=0, description="target size of a corner-turned column block (MiB)")
    range_columns_per_block: int | None = Field(None, ge=1, description="corner-turn column block width "
                                                                         "(None: from azimuth_block_mib)")
    replica: list[tuple[float, float]] | None = Field(
        None, description="transmit replica (re, im) samples; None: built from the chirp metadata")


# ----------------------------------------------------------------------------- FFTs
#: FFTW planner effort and planning time limit (s) per plan; plans and wisdom live per process
FFTW_PLANNER_EFFORT = "FFTW_MEASURE"
FFTW_PLANNING_TIMELIMIT_S = 2.0
_fft_cache: dict = {}
_fft_lock = threading.Lock()


class _ScipyPlan:  # pragma: no cover - only without pyfftw (a hard dependency)
    """scipy's stand-in for a pyfftw plan: the same buffers and call (the inverse normalised by 1/n)."""

    def __init__(self, shape: tuple[int, ...], axis: int, inverse: bool):
        self.input_array = np.zeros(shape, np.complex64)
        self.output_array = np.zeros(shape, np.complex64)
        self._axis, self._inverse = axis, inverse

    def __call__(self) -> None:
        import scipy.fft as sf

        self.output_array[...] = (sf.ifft if self._inverse else sf.fft)(self.input_array, axis=self._axis, workers=1)


def _plan(shape: tuple[int, ...], axis: int, inverse: bool = False):
    """The pyfftw plan of a complex64 FFT of ``shape`` along ``axis`` (one thread), cached per
    process and thread (FFTW wisdom): ``plan.input_array`` / ``plan.output_array`` are its own
    aligned buffers, reused by the next call of the same shape in the same thread."""
    key = (threading.get_ident(), shape, axis, inverse)
    plan = _fft_cache.get(key)
    if plan is None and pyfftw is None:  # pragma: no cover
        plan = _fft_cache[key] = _ScipyPlan(shape, axis, inverse)
    if plan is None:
        with _fft_lock:
            src = pyfftw.empty_aligned(shape, dtype="complex64")
            dst = pyfftw.empty_aligned(shape, dtype="complex64")
            plan = pyfftw.FFTW(src, dst, axes=(axis,), direction="FFTW_BACKWARD" if inverse else "FFTW_FORWARD",
                               flags=(FFTW_PLANNER_EFFORT,), threads=1, planning_timelimit=FFTW_PLANNING_TIMELIMIT_S)
            if len(_fft_cache) > 64:
                _fft_cache.clear()
            _fft_cache[key] = plan
    return plan


def _fill(buf: np.ndarray, a: np.ndarray, axis: int) -> None:
    """Copy ``a`` into ``buf``, zero-padded or cropped along ``axis`` to ``buf``'s length."""
    n = buf.shape[axis]
    m = min(n, a.shape[axis])
    if m == a.shape[axis] == n:
        buf[...] = a
        return
    idx = [slice(None)] * a.ndim
    idx[axis] = slice(0, m)
    buf[tuple(idx)] = a[tuple(idx)]
    if m < n:
        idx[axis] = slice(m, n)
        buf[tuple(idx)] = 0


def _fft(a: np.ndarray, n: int, axis: int, inverse: bool = False) -> np.ndarray:
    """Complex64 FFT along ``axis`` (zero-padded/cropped to ``n``), pyfftw with one thread and
    plans (FFTW wisdom) cached per process and thread; the result is a fresh array."""
    a = np.ascontiguousarray(a, dtype=np.complex64)
    dims = list(a.shape)
    dims[axis] = n
    plan = _plan(tuple(dims), axis, inverse)
    _fill(plan.input_array, a, axis)
    plan()  # normalises the inverse by 1/n
    return plan.output_array.copy()


def next_fast_len(n: int) -> int:
    """Smallest 2^a 3^b 5^c >= n (FFTW plans and runs fastest on these)."""
    n = max(int(n), 1)
    best = 1 << (n - 1).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


# ----------------------------------------------------------------------------- windows
def spectral_window(x: np.ndarray, kind: str = "rect", param: float = 2.5) -> np.ndarray:
    """Weighting over a band, ``x`` = normalised frequency in [-0.5, 0.5]; 0 outside.

    ``kaiser``: I0(beta sqrt(1 - 4 x^2)) / I0(beta); ``hamming``: alpha + (1 - alpha) cos(2 pi x)
    (generalised Hamming, alpha = ``param`` if < 1 else 0.54)."""
    x = np.asarray(x, np.float64)
    inside = np.abs(x) <= 0.5
    if kind == "rect":
        w = np.ones_like(x)
    elif kind == "kaiser":
        w = np.i0(param * np.sqrt(np.clip(1.0 - 4.0 * x * x, 0.0, 1.0))) / np.i0(param)
    elif kind == "hamming":
        alpha = param if param < 1.0 else 0.54
        w = alpha + (1.0 - alpha) * np.cos(2.0 * np.pi * x)
    else:
        raise ValueError(f"unknown window {kind!r} (rect, kaiser, hamming)")
    return np.where(inside, w, 0.0)


# ----------------------------------------------------------------------------- range compression
def chirp_replica(chirp: Chirp, range_sampling_rate_hz: float) -> np.ndarray:
    """The transmitted chirp sampled at ``n / f_s`` from its leading edge:
    ``exp(j pi K (t - T/2)^2)`` for ``0 <= t <= T`` (complex64)."""
    T = chirp.duration_s
    n = int(np.floor(T * range_sampling_rate_hz)) + 1
    t = np.arange(n) / range_sampling_rate_hz
    return np.exp(1j * np.pi * chirp.slope_hz_per_s * (t - 0.5 * T) ** 2).astype(np.complex64)


def range_matched_filter(replica: np.ndarray, n_fft: int, range_sampling_rate_hz: float, bandwidth_hz: float,
                         *, window: str = "rect", window_param: float = 2.5,
                         src_rate_hz_per_s: float | None = None) -> np.ndarray:
    """Range matched filter spectrum (complex64, length ``n_fft``) for correlation with ``replica``.

    Normalised so that a replica-shaped echo of amplitude 1 compresses to a peak of about 1
    (rect window). ``window`` weights the band ``|f| <= bandwidth_hz / 2`` (f in Hz, baseband).
    ``src_rate_hz_per_s``: FM rate ``K_src`` of secondary range compression
    (multiplies by ``exp(-j pi f^2 / K_src)``); None: none.
    """
    f = np.fft.fftfreq(n_fft, 1.0 / range_sampling_rate_hz)
    H = np.conj(np.fft.fft(replica.astype(np.complex128), n_fft)) / len(replica)
    if window != "rect":
        H = H * spectral_window(f / bandwidth_hz, window, window_param)
    if src_rate_hz_per_s:
        H = H * np.exp(-1j * np.pi * f**2 / src_rate_hz_per_s)
    return H.astype(np.complex64)


def range_compress_block(raw: np.ndarray, H: np.ndarray) -> np.ndarray:
    """Range-compress whole lines: ``IFFT(FFT(raw, n_fft) * H)[:, :n_range]`` (complex64).

    ``raw``: (lines, range samples) complex; ``H``: matched filter spectrum of length n_fft
    >= n_range + N_replica - 1 (no wrap-around). Output sample m = target at slant range r_0 + m dr.
    """
    n_fft = len(H)
    nr = raw.shape[1]
    shape = (raw.shape[0], n_fft)
    fwd, inv = _plan(shape, 1), _plan(shape, 1, inverse=True)
    _fill(fwd.input_array, np.asarray(raw), 1)
    fwd()
    np.multiply(fwd.output_array, H[None, :], out=inv.input_array)  # the spectrum never leaves the plans' buffers
    inv()
    return inv.output_array[:, :nr].copy()


# ----------------------------------------------------------------------------- RCMC + azimuth compression
#: azimuth frequencies per RCMC lane group: their range columns are copied into contiguous
#: per-frequency lines (512 bytes read per column, the strided reads amortised over 64 outputs)
_RCMC_LANES = 64


@numba.njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def _rcmc_azimuth_mf_t(spec_t, fk, fdc, vr, rng, dr, lam, bp, prf, table, win, out):  # pragma: no cover - numba
    """Transposed layout: spec_t (columns, azimuth frequencies); writes every sample of ``out``
    (same shape and layout, complex64; may be an FFT plan's input buffer).

    For each group of ``_RCMC_LANES`` frequencies, the group's range lines are first copied into
    per-frequency float32 lines (re and im apart, zero-padded by ``taps`` columns on both
    sides), so each output's taps are a contiguous dot product with its table row. The geometry
    of a group (wrapped frequency, range migration, phase) is computed in one loop over the
    group's frequencies. Columns beyond the block edges count as zero. Sums are float32."""
    n_c, n_f = spec_t.shape
    taps = table.shape[1]
    n_sub = table.shape[0] - 1
    n_win = win.shape[0] - 1
    half = taps // 2 - 1
    lanes = _RCMC_LANES
    pad = taps
    nb = n_c + 2 * pad
    hp = 0.5 * prf
    inv_prf = 1.0 / prf
    inv_bp = 1.0 / bp
    bre = np.zeros((lanes, nb), np.float32)
    bim = np.zeros((lanes, nb), np.float32)
    f_rel = np.empty(lanes)
    x_fl = np.empty(lanes)
    x_fr = np.empty(lanes)
    phase = np.empty(lanes)
    x_win = np.empty(lanes)
    for k0 in range(0, n_f, lanes):
        kn = min(lanes, n_f - k0)
        for i in range(n_c):
            for t in range(kn):
                v = spec_t[i, k0 + t]
                bre[t, pad + i] = v.real
                bim[t, pad + i] = v.imag
        for j in range(n_c):
            r0 = rng[j]
            fd = fdc[j]
            a_per_hz = lam / (2.0 * vr[j])
            r0_px = r0 / dr
            ph_per_d = 4.0 * np.pi * r0 / lam
            for t in range(kn):  # geometry of the group: one branch-free loop (its square roots vectorise)
                f = fk[k0 + t] - fd + hp
                f = f - np.floor(f * inv_prf) * prf - hp  # in [-prf/2, prf/2) around the centroid
                f_rel[t] = f
                x_win[t] = (min(max(f * inv_bp, -0.5), 0.5) + 0.5) * n_win
                a = a_per_hz * (f + fd)
                d = np.sqrt(1.0 - a * a)
                x = j + r0_px * (1.0 / d - 1.0)
                q = np.floor(x)
                x_fl[t] = q
                x_fr[t] = x - q
                phase[t] = ph_per_d * (d - 1.0) + 0.25 * np.pi
            for t in range(kn):
                if abs(f_rel[t]) > 0.5 * bp:
                    out[j, k0 + t] = 0.0
                    continue
                iw = min(int(x_win[t]), n_win - 1)
                w = win[iw] + (x_win[t] - iw) * (win[iw + 1] - win[iw])
                i0 = int(x_fl[t])
                s = int(x_fr[t] * n_sub + 0.5)
                b = pad + i0 - half
                sr = np.float32(0.0)
                si = np.float32(0.0)
                if b >= 0 and b + taps <= nb:
                    for m in range(taps):
                        wv = table[s, m]
                        sr += wv * bre[t, b + m]
                        si += wv * bim[t, b + m]
                else:
                    for m in range(taps):
                        idx = i0 - half + m
                        if idx >= 0 and idx < n_c:
                            wv = table[s, m]
                            sr += wv * bre[t, pad + idx]
                            si += wv * bim[t, pad + idx]
                c, sn = cis(phase[t])
                gr = w * c
                gi = w * sn
                out[j, k0 + t] = complex(sr * gr - si * gi, sr * gi + si * gr)


@numba.njit(cache=True, nogil=True)
def _transpose_into(dst, src, r0, c0):  # pragma: no cover - numba
    """``dst[r0 + j, c0 + i] = src[i, j]`` for all of ``src``, in 32 x 32 tiles (the corner turn's copy:
    both arrays are read and written a cache line at a time)."""
    n, m = src.shape
    for i0 in range(0, n, 32):
        i1 = min(i0 + 32, n)
        for j0 in range(0, m, 32):
            for j in range(j0, min(j0 + 32, m)):
                for i in range(i0, i1):
                    dst[r0 + j, c0 + i] = src[i, j]


def rcmc_azimuth_compress_block(rc_lines: list[np.ndarray], columns: tuple[int, int], *,
                                slant_range_m: np.ndarray, n_fft: int, prf_hz: float, wavelength_m: float,
                                doppler_centroid_hz: np.ndarray, effective_velocity_mps: np.ndarray,
                                azimuth_bandwidth_hz: float, keep: tuple[int, int] | None = None,
                                taps: int = 16, window: str = "rect", window_param: float = 2.5) -> np.ndarray:
    """Corner turn, azimuth FFT, RCMC, azimuth matched filter and azimuth IFFT of a block of range columns.

    ``rc_lines``: the range-compressed lines of the whole scene as consecutive row blocks
    ((lines, range samples) complex64 each, in azimuth order); ``columns = (c0, c1)``: the range
    samples to process, whose slant range, Doppler centroid and effective velocity are
    ``slant_range_m``, ``doppler_centroid_hz``, ``effective_velocity_mps`` (m, Hz, m/s, one per
    column). The columns are turned straight into the azimuth FFT's input buffer (length ``n_fft``,
    zero-padded; bin k = frequency k PRF / n_fft, wrapped); columns beyond ``c0, c1`` count as zero.
    Returns the SLC of columns ``keep = (k0, k1)`` (indices within ``c0:c1``; default all) on the
    input pulse-time grid, (lines, k1 - k0) complex64. The spectra stay in the FFT plans' buffers
    (RCMC reads the forward output and writes the inverse input).
    """
    c0, c1 = columns
    k0, k1 = keep if keep is not None else (0, c1 - c0)
    n_az = sum(b.shape[0] for b in rc_lines)
    shape = (c1 - c0, n_fft)
    fwd, inv = _plan(shape, 1), _plan(shape, 1, inverse=True)
    a0 = 0
    for b in rc_lines:
        _transpose_into(fwd.input_array, np.asarray(b, np.complex64)[:, c0:c1], 0, a0)
        a0 += b.shape[0]
    fwd.input_array[:, n_az:] = 0
    fwd()
    rcmc_azimuth_filter_block(fwd.output_array, slant_range_m, prf_hz=prf_hz, wavelength_m=wavelength_m,
                              doppler_centroid_hz=doppler_centroid_hz, effective_velocity_mps=effective_velocity_mps,
                              azimuth_bandwidth_hz=azimuth_bandwidth_hz, taps=taps, window=window,
                              window_param=window_param, out=inv.input_array)
    inv()
    out = np.empty((n_az, k1 - k0), np.complex64)
    _transpose_into(out, inv.output_array[k0:k1, :n_az], 0, 0)
    return out


def rcmc_azimuth_filter_block(spec_t: np.ndarray, slant_range_m: np.ndarray, *, prf_hz: float, wavelength_m: float,
                              doppler_centroid_hz: np.ndarray, effective_velocity_mps: np.ndarray,
                              azimuth_bandwidth_hz: float, taps: int = 16, window: str = "rect",
                              window_param: float = 2.5, out: np.ndarray | None = None) -> np.ndarray:
    """RCMC and azimuth matched filter in the range-Doppler domain: the forward operator of
    :func:`rcmc_azimuth_compress_block` between its FFTs. ``spec_t``: (columns, n_fft) complex64
    azimuth spectra of the columns (bin k = frequency k PRF / n_fft, wrapped), other arguments as
    there; returns the filtered spectra, same layout, written into ``out`` when given (C-contiguous
    complex64 of that shape). Also used by the raw-echo simulator to invert focusing."""
    n_fft = spec_t.shape[1]
    if out is None:
        out = np.empty(spec_t.shape, np.complex64)
    elif out.shape != spec_t.shape or out.dtype != np.complex64 or not out.flags.c_contiguous:
        raise ValueError(f"out: expected a C-contiguous complex64 array of shape {spec_t.shape}")
    fk = np.fft.fftfreq(n_fft, 1.0 / prf_hz)
    dr = float(slant_range_m[1] - slant_range_m[0]) if len(slant_range_m) > 1 else 1.0
    win = spectral_window(np.linspace(-0.5, 0.5, 4097), window, window_param).astype(np.float64)
    _rcmc_azimuth_mf_t(np.ascontiguousarray(spec_t, np.complex64), fk,
                       np.asarray(doppler_centroid_hz, np.float64), np.asarray(effective_velocity_mps, np.float64),
                       np.asarray(slant_range_m, np.float64), dr, float(wavelength_m),
                       float(azimuth_bandwidth_hz), float(prf_hz), rcmc_interpolator(taps), win, out)
    return out


def rcmc_interpolator(taps: int) -> np.ndarray:
    """The RCMC interpolator: the shared Kaiser-sinc table (beta 6), float32 for the kernel."""
    return kaiser_sinc_table(taps, 2048, 6.0).astype(np.float32)


# ----------------------------------------------------------------------------- geometry helpers
def effective_velocity(orbit: Orbit, t_mid_s: float, slant_range_m: np.ndarray, *, wavelength_m: float,
                       look_side: str, aperture_s: float = 3.0, height_m: float = 0.0) -> np.ndarray:
    """Effective (hyperbolic) velocity ``V_r`` (m/s) at each slant range (m), fitted from the orbit.

    For a ground point at zero-Doppler range R seen at ``t_mid_s``, fits
    ``|p(t_mid + eta) - x|^2 - R^2 = V_r^2 eta^2 + c3 eta^3`` over ``|eta| <= aperture_s / 2``.
    """
    from ..geometry.rdr2geo import rdr2geo_ecef

    r = np.asarray(slant_range_m, np.float64)
    r_fit = np.linspace(r.min(), r.max(), 7) if r.size > 7 else r
    x = rdr2geo_ecef(np.full(r_fit.shape, t_mid_s), r_fit, orbit, wavelength_m=wavelength_m,
                     look_side=look_side, dem=height_m)[0]
    eta = np.linspace(-0.5 * aperture_s, 0.5 * aperture_s, 61)
    p, _ = orbit.interpolate(t_mid_s + eta)
    r2 = np.sum((p[:, None, :] - x[None, :, :]) ** 2, axis=-1) - r_fit[None, :] ** 2
    G = np.stack([eta**2, eta**3], axis=1)
    coef, *_ = np.linalg.lstsq(G, r2, rcond=None)
    vr = np.sqrt(coef[0])
    if r_fit.size == r.size and np.all(r_fit == r):
        return vr
    deg = min(3, r_fit.size - 1)
    pc = np.polyfit((r_fit - r_fit.mean()) / 1e4, vr, deg)
    return np.polyval(pc, (r - r_fit.mean()) / 1e4)


def azimuth_velocity_model(orbit: Orbit, t_mid_s: float, slant_range_m: np.ndarray, doppler_centroid_hz: np.ndarray,
                           azimuth_bandwidth_hz: float, *, wavelength_m: float,
                           look_side: str) -> tuple[float, np.ndarray, float]:
    """The azimuth model ``focus`` uses for a pulse grid centred on ``t_mid_s`` (s) and range gate
    ``slant_range_m`` (m): platform speed ``|v|`` (m/s) at ``t_mid_s``, effective velocity ``V_r``
    per range sample (m/s, fitted over the synthetic aperture of the processed band) and the
    smallest azimuth FM rate ``2 V_r^2 / (lambda R)`` (Hz/s). Shared with the raw-echo simulator
    (:mod:`daskinsar.simulate.raw`) so that its inverse uses exactly the same model."""
    r = np.asarray(slant_range_m, np.float64)
    fdc = np.asarray(doppler_centroid_hz, np.float64)
    _, v_mid = orbit.interpolate(np.array([t_mid_s]))
    vs = float(np.linalg.norm(v_mid))
    ka_guess = 2.0 * (0.85 * vs) ** 2 / (wavelength_m * r.max())  # conservative (smallest) FM rate
    aperture_s = 2.0 * (np.max(np.abs(fdc)) + 0.5 * azimuth_bandwidth_hz) / ka_guess
    vr = effective_velocity(orbit, t_mid_s, r, wavelength_m=wavelength_m, look_side=look_side,
                            aperture_s=min(aperture_s, 0.9 * (orbit.stop - orbit.start)))
    ka_min = float(np.min(2.0 * vr**2 / (wavelength_m * r)))  # azimuth FM rate (Hz/s), smallest at far range
    return vs, vr, ka_min


def _interp_quaternions(att_time: np.ndarray, quats_wxyz: np.ndarray, t: float) -> np.ndarray:
    """Rotation matrix (antenna -> ECEF) at time t by SLERP of scalar-first quaternions."""
    from scipy.spatial.transform import Rotation, Slerp

    rot = Rotation.from_quat(np.asarray(quats_wxyz, np.float64)[:, [1, 2, 3, 0]])
    if not (att_time[0] <= t <= att_time[-1]):
        raise ValueError(f"attitude covers {att_time[0]:.3f} .. {att_time[-1]:.3f} s, requested {t:.3f} s")
    return Slerp(np.asarray(att_time, np.float64), rot)([t]).as_matrix()[0]


def doppler_from_attitude(azimuth_time_s, slant_range_m, orbit: Orbit, attitude_time_s, quaternions_wxyz, *,
                          wavelength_m: float, height_m: float = 0.0, azimuth_angle_rad: float = 0.0) -> np.ndarray:
    """Doppler centroid (Hz) predicted from orbit + attitude, shape (len(t), len(R)).

    The attitude quaternions (scalar first) rotate antenna-frame vectors to ECEF; the
    antenna frame has +Z along the mechanical boresight, +X towards increasing elevation,
    +Y towards increasing azimuth. For each slant range the beam-centre look vector is the
    direction ``(sin el cos az, sin az, cos el cos az)`` (antenna frame, ``az`` =
    ``azimuth_angle_rad``) whose ray hits the ellipsoid (inflated by ``height_m``) at that
    range; Doppler = ``2 v . l / lambda`` with the ECEF platform velocity ``v``.
    """
    ts = np.atleast_1d(np.asarray(azimuth_time_s, np.float64))
    rs = np.atleast_1d(np.asarray(slant_range_m, np.float64))
    out = np.empty((ts.size, rs.size))
    el = np.linspace(-0.7, 0.7, 28001)
    u = np.stack([np.sin(el) * np.cos(azimuth_angle_rad), np.full_like(el, np.sin(azimuth_angle_rad)),
                  np.cos(el) * np.cos(azimuth_angle_rad)], axis=-1)
    scale = np.array([1.0 / (WGS84_A + height_m), 1.0 / (WGS84_A + height_m), 1.0 / (WGS84_B + height_m)])
    for i, t in enumerate(ts):
        p, v = orbit.interpolate(np.array([t]))
        p, v = p[0], v[0]
        M = _interp_quaternions(np.asarray(attitude_time_s, np.float64), np.asarray(quaternions_wxyz), t)
        look = u @ M.T  # (n_el, 3) ECEF unit vectors
        dl = look * scale
        dp = p * scale
        a = np.sum(dl * dl, axis=1)
        b = 2.0 * dl @ dp
        c = dp @ dp - 1.0
        disc = b * b - 4.0 * a * c
        rho = np.where(disc >= 0, (-b - np.sqrt(np.maximum(disc, 0.0))) / (2.0 * a), np.nan)
        ok = np.isfinite(rho) & (rho > 0)
        # the branch through boresight on which range grows away from nadir
        i_bore = np.argmin(np.abs(el))
        if not ok[i_bore]:
            raise ValueError("the antenna boresight does not hit the Earth; check the attitude frame")
        # the nadir side is where range is smallest; take the monotone branch containing boresight
        seg = np.nonzero(ok)[0]
        rr = rho[seg]
        ee = el[seg]
        i_min = np.argmin(rr)
        if ee[i_min] <= 0.0 and i_min < len(seg) - 1 and rr[-1] > rr[i_min]:
            rr, ee = rr[i_min:], ee[i_min:]
            lk = look[seg][i_min:]
        else:
            rr, ee = rr[: i_min + 1][::-1], ee[: i_min + 1][::-1]
            lk = look[seg][: i_min + 1][::-1]
        fd_el = 2.0 * (lk @ v) / wavelength_m
        if rs.min() < rr[0] or rs.max() > rr[-1]:
            raise ValueError(f"slant ranges {rs.min():.0f}..{rs.max():.0f} m outside the beam's reach "
                             f"{rr[0]:.0f}..{rr[-1]:.0f} m")
        out[i] = np.interp(rs, rr, fd_el)
    return out


def accc_sums(raw: da.Array | np.ndarray) -> tuple[np.ndarray, complex]:
    """Lag-1 azimuth correlation per range column ``sum_eta s(eta+1) s*(eta)`` (complex128, (n_range,))
    and the data's complex mean (a receiver I/Q bias), computed together."""
    x = raw if isinstance(raw, da.Array) else da.from_array(raw, chunks=(1024, -1))
    mean = x.mean(dtype=np.complex128)
    prod = (x[1:] * da.conj(x[:-1])).astype(np.complex128).sum(axis=0)
    s1 = x[1:].sum(axis=0, dtype=np.complex128)
    s0 = x[:-1].sum(axis=0, dtype=np.complex128)
    mean, prod, s1, s0 = dask.compute(mean, prod, s1, s0)
    n = x.shape[0] - 1
    # remove the bias: sum (s1 - m)(s0 - m)* = prod - m* s1 - m s0* + n |m|^2
    prod = prod - np.conj(mean) * s1 - mean * np.conj(s0) + n * abs(mean) ** 2
    return prod, complex(mean)


def estimate_doppler_centroid(raw, slant_range_m: np.ndarray, prf_hz: float, *, reference_hz=0.0,
                              n_bins: int = 16, degree: int = 1) -> tuple[Poly1D, dict]:
    """Doppler centroid (Hz) from the data by the average cross-correlation coefficient.

    ``raw``: (pulses, range) raw or range-compressed echoes (numpy or dask). The fractional
    centroid ``PRF/(2 pi) arg(sum s(eta+1) s*(eta))`` is taken in ``n_bins`` range bins, unwrapped
    across range, fitted by a polynomial of ``degree`` in slant range, and moved by whole PRFs to
    the ambiguity closest to ``reference_hz`` (a number or a callable of slant range, e.g. the
    orbit + attitude prediction). Returns the model and diagnostics.
    """
    prod, mean = accc_sums(raw)
    r = np.asarray(slant_range_m, np.float64)
    edges = np.linspace(0, len(r), n_bins + 1).astype(int)
    c = np.array([prod[a:b].sum() for a, b in zip(edges[:-1], edges[1:])])
    rb = np.array([r[a:b].mean() for a, b in zip(edges[:-1], edges[1:])])
    phase = np.unwrap(np.angle(c))
    f = prf_hz * phase / (2.0 * np.pi)
    wgt = np.abs(c)
    ref = 0.5 * (r[0] + r[-1])
    scale = max(0.5 * (r[-1] - r[0]), 1.0)
    deg = min(degree, n_bins - 1)
    coeffs = np.polynomial.polynomial.polyfit((rb - ref) / scale, f, deg, w=np.sqrt(wgt))
    f_ref = reference_hz(ref) if callable(reference_hz) else float(reference_hz)
    amb = int(np.round((float(np.asarray(f_ref).reshape(-1)[0]) - coeffs[0]) / prf_hz))
    coeffs[0] += amb * prf_hz
    model = Poly1D(reference=float(ref), scale=float(scale), coeffs=[float(x) for x in coeffs])
    return model, {"bin_range_m": rb, "bin_doppler_hz": f + amb * prf_hz, "ambiguity": amb,
                   "coherence": np.abs(c) / np.maximum(wgt.max(), 1e-300), "iq_bias": mean}


def attitude_doppler_model(scene: Scene, *, n_bins: int = 16, degree: int = 2, height_m: float = 0.0) -> Poly1D:
    """Mid-scene Doppler centroid vs slant range from orbit + attitude, as a Poly1D."""
    att = scene.meta.extra.get("attitude")
    if not att:
        raise ValueError("scene has no attitude (meta.extra['attitude'])")
    t = scene.azimuth_time
    r = scene.slant_range
    rb = np.linspace(r[0], r[-1], n_bins)
    fd = doppler_from_attitude(0.5 * (t[0] + t[-1]), rb, scene.orbit, np.asarray(att["time_s"]),
                               np.asarray(att["quaternions_wxyz"]), wavelength_m=scene.meta.wavelength_m,
                               height_m=height_m)[0]
    ref = 0.5 * (r[0] + r[-1])
    scale = max(0.5 * (r[-1] - r[0]), 1.0)
    coeffs = np.polynomial.polynomial.polyfit((rb - ref) / scale, fd, min(degree, n_bins - 1))
    return Poly1D(reference=float(ref), scale=float(scale), coeffs=[float(x) for x in coeffs])


# ----------------------------------------------------------------------------- the stage
def range_doppler_poly(scene: Scene, doppler) -> Poly1D:
    """A Doppler centroid (Hz) as a polynomial in slant range: a number (constant), a Poly1D
    as is, or a LUT2D fitted (quadratic, 16 ranges) at the scene's mid azimuth time."""
    if isinstance(doppler, (int, float)):
        return Poly1D(coeffs=[float(doppler)])
    if isinstance(doppler, Poly1D):
        return doppler
    t_mid = float(np.mean(scene.azimuth_time))
    r = scene.slant_range
    rb = np.linspace(r[0], r[-1], 16)
    ref, scale = 0.5 * (r[0] + r[-1]), max(0.5 * (r[-1] - r[0]), 1.0)
    c = np.polynomial.polynomial.polyfit((rb - ref) / scale, doppler(t_mid, rb), 2)
    return Poly1D(reference=ref, scale=scale, coeffs=[float(x) for x in c])


def _doppler_model(scene: Scene, params: FocusParams) -> Poly1D:
    src = params.doppler
    if isinstance(src, (int, float)):
        return range_doppler_poly(scene, src)
    if src == "zero":
        return Poly1D(coeffs=[0.0])
    if src == "metadata":
        return range_doppler_poly(scene, scene.meta.doppler_centroid)
    if src == "attitude":
        return attitude_doppler_model(scene)
    # from the data, ambiguity from attitude when known, else from the metadata
    ref_model: Poly1D | LUT2D = (attitude_doppler_model(scene) if scene.meta.extra.get("attitude")
                                 else scene.meta.doppler_centroid)
    t_mid = float(np.mean(scene.azimuth_time))
    model, _ = estimate_doppler_centroid(scene.data["raw"].data, scene.slant_range, scene.meta.prf_hz,
                                         reference_hz=lambda rr: ref_model(t_mid, rr),
                                         degree=params.doppler_poly_degree)
    return model


def fully_focused_lines(n_az: int, prf_hz: float, slant_range_m: np.ndarray, doppler_centroid_hz: np.ndarray,
                        effective_velocity_mps: np.ndarray, azimuth_bandwidth_hz: float,
                        wavelength_m: float) -> list[int]:
    """[first, stop) output lines whose whole processed aperture lies inside the echoes, at every range.

    A target at zero-Doppler time t0 is seen with Doppler fdc around t0 - fdc/ka for
    T = B_p/|ka| seconds (ka = 2 Vr^2/(lambda R), the azimuth FM rate); its line is fully
    focused when that span lies within the pulses. Lines outside are partly focused.
    """
    ka = 2.0 * np.asarray(effective_velocity_mps) ** 2 / (wavelength_m * np.asarray(slant_range_m))
    half = 0.5 * azimuth_bandwidth_hz / ka * prf_hz  # lines
    shift = np.asarray(doppler_centroid_hz) / ka * prf_hz  # lines
    first = int(np.ceil(np.max(shift + half))) + 1
    stop = int(np.floor(n_az + np.min(shift - half))) - 1
    return [max(first, 0), max(min(stop, n_az), max(first, 0))]


def focus(scene: Scene, params: FocusParams | None = None) -> Scene:
    """Focus a raw scene (variable ``raw``, (azimuth, range), pulses on a uniform PRF grid) to a
    zero-Doppler SLC scene (variable ``slc``) lazily on dask. See the module docstring."""
    params = params or FocusParams()
    meta = scene.meta
    if "raw" not in scene.data:
        raise ValueError("focus needs a scene with a 'raw' variable (level 'raw')")
    if params.replica is None:
        _chirp_of(scene)
    t = scene.azimuth_time
    r = scene.slant_range
    n_az, n_rg = scene.shape
    prf = meta.prf_hz
    dt = np.diff(t)
    if n_az > 1 and np.max(np.abs(dt - 1.0 / prf)) > 0.01 / prf:
        raise ValueError("focus needs pulses on a uniform PRF grid (azimuth_time spacing = 1/PRF)")
    dr = float(r[1] - r[0])
    fs = SPEED_OF_LIGHT / (2.0 * dr)
    lam = meta.wavelength_m
    t_mid = float(0.5 * (t[0] + t[-1]))

    # Doppler centroid and effective velocity per range column
    dmodel = _doppler_model(scene, params)
    fdc = np.asarray(dmodel(t_mid, r), np.float64)
    bp = float(params.azimuth_bandwidth_hz or meta.azimuth_bandwidth_hz or 0.8 * prf)
    if bp > prf:
        raise ValueError(f"processed azimuth bandwidth {bp:.1f} Hz exceeds the PRF {prf:.1f} Hz")
    vs, vr, ka_min = azimuth_velocity_model(scene.orbit, t_mid, r, fdc, bp, wavelength_m=lam,
                                            look_side=meta.look_side)

    # range compression on whole lines
    replica = (np.array([complex(a, b) for a, b in params.replica], np.complex64) if params.replica
               else chirp_replica(_chirp_of(scene), fs))
    n_fft_r = next_fast_len(n_rg + len(replica) - 1)
    bw = meta.chirp.bandwidth_hz if meta.chirp else (meta.range_bandwidth_hz or fs)
    src = None
    if params.secondary_range_compression:
        f0 = SPEED_OF_LIGHT / lam
        r_ref = float(np.mean(r))
        f_eta = float(np.mean(fdc))
        vr_ref = float(np.mean(vr))
        dd = np.sqrt(1.0 - (lam * f_eta / (2.0 * vr_ref)) ** 2)
        src = 2.0 * vr_ref**2 * f0**3 * dd**3 / (SPEED_OF_LIGHT * r_ref * max(f_eta**2, 1e-9))
    H = range_matched_filter(replica, n_fft_r, fs, bw, window=params.range_window,
                             window_param=params.range_window_param, src_rate_hz_per_s=src)
    raw = scene.data["raw"].data
    if not isinstance(raw, da.Array):
        raw = da.from_array(raw, chunks=(params.range_lines_per_block, -1))
    raw = raw.rechunk({1: -1})
    if max(raw.chunks[0]) > params.range_lines_per_block:
        raw = raw.rechunk({0: params.range_lines_per_block})
    tok = dask.base.tokenize(raw, H, params)
    rc = raw.map_blocks(range_compress_block, H, dtype=np.complex64, name=f"focus-range-compress-{tok}")

    # corner turn + azimuth FFT, RCMC and azimuth compression per block of whole columns: each task
    # turns its columns (with a range halo of `depth` columns) straight out of the range-compressed
    # row blocks into its FFT buffer, every row block computed once for all column tasks
    n_pad = int(np.ceil((np.max(np.abs(fdc)) + 0.5 * bp) / ka_min * prf)) + 16
    n_fft_a = next_fast_len(n_az + n_pad)
    cols = params.range_columns_per_block or int(max(64, params.azimuth_block_mib * 2**20 / (8 * n_fft_a)))
    d_max = np.max(r) * (1.0 / np.sqrt(1.0 - (lam * (np.max(np.abs(fdc)) + 0.5 * bp) / (2.0 * vr.min())) ** 2) - 1.0)
    need = int(np.ceil(d_max / dr)) + params.rcmc_taps // 2 + 2
    cols = max(cols, need)
    nb = max(1, n_rg // cols)
    col_chunks = tuple(n_rg // nb + (1 if i < n_rg % nb else 0) for i in range(nb))
    depth = need if nb > 1 else 0
    starts = np.concatenate([[0], np.cumsum(col_chunks)]).astype(int)
    rc_lines = list(rc.to_delayed(optimize_graph=False)[:, 0])
    strips = []
    for j in range(nb):
        c0, c1 = max(0, starts[j] - depth), min(n_rg, starts[j + 1] + depth)
        task = dask.delayed(rcmc_azimuth_compress_block, pure=True)(
            rc_lines, (c0, c1), slant_range_m=r[c0:c1], n_fft=n_fft_a, prf_hz=prf, wavelength_m=lam,
            doppler_centroid_hz=fdc[c0:c1], effective_velocity_mps=vr[c0:c1], azimuth_bandwidth_hz=bp,
            keep=(starts[j] - c0, starts[j + 1] - c0), taps=params.rcmc_taps, window=params.azimuth_window,
            window_param=params.azimuth_window_param, dask_key_name=f"focus-azimuth-compress-{tok}-{j}")
        strips.append(da.from_delayed(task, shape=(n_az, col_chunks[j]), dtype=np.complex64,
                                      name=f"focus-slc-{tok}-{j}"))
    slc = da.concatenate(strips, axis=1)

    new_meta = meta.model_copy(update={
        "level": "slc", "grid": "zero_doppler", "doppler_centroid": dmodel, "grid_doppler": Poly1D(coeffs=[0.0]),
        "azimuth_bandwidth_hz": bp, "range_bandwidth_hz": bw, "azimuth_line_interval_s": 1.0 / prf,
        "range_pixel_spacing_m": dr, "platform_velocity_mps": vs,
        "extra": {**meta.extra, "focus": {
            "algorithm": "range-Doppler (stop-and-hop)", "params": params.model_dump(mode="json"),
            "effective_velocity_mps": [float(vr[0]), float(vr[len(vr) // 2]), float(vr[-1])],
            "valid_range_samples": [0, int(n_rg - len(replica) + 1)],
            "valid_azimuth_lines": fully_focused_lines(n_az, prf, r, fdc, vr, bp, lam),
            "azimuth_fft_length": int(n_fft_a), "rcmc_halo_columns": int(depth)}},
    })
    data = xr.Dataset({"slc": (("azimuth", "range"), slc)}, coords={
        "azimuth_time": ("azimuth", t), "slant_range": ("range", r)})
    return Scene(data, new_meta, scene.orbit, dict(scene.attrs))


def _chirp_of(scene: Scene) -> Chirp:
    """The scene's chirp; an error naming the scene when its metadata has none."""
    if scene.meta.chirp is None:
        source = ", ".join(scene.meta.source_files) or str(scene.attrs.get("source", "raw scene"))
        raise DaskInsarError(f"{source}: focusing needs the transmitted chirp (slope, duration) in the metadata; "
                             "the product has none")
    return scene.meta.chirp


def range_compress(scene: Scene, params: FocusParams | None = None) -> xr.DataArray:
    """Range-compressed echoes (lazy, complex64, same grid as ``raw``)."""
    params = params or FocusParams()
    r = scene.slant_range
    fs = SPEED_OF_LIGHT / (2.0 * float(r[1] - r[0]))
    chirp = _chirp_of(scene)
    replica = chirp_replica(chirp, fs)
    H = range_matched_filter(replica, next_fast_len(len(r) + len(replica) - 1), fs, chirp.bandwidth_hz,
                             window=params.range_window, window_param=params.range_window_param)
    raw = scene.data["raw"].data
    raw = raw.rechunk({1: -1}) if isinstance(raw, da.Array) else da.from_array(raw, chunks=(1024, -1))
    rc = raw.map_blocks(range_compress_block, H, dtype=np.complex64,
                        name=f"focus-range-compress-{dask.base.tokenize(raw, H)}")
    return xr.DataArray(rc, dims=("azimuth", "range"), coords=scene.data.coords, name="range_compressed")


# ----------------------------------------------------------------------------- the stage contract
def run(inputs: xr.Dataset, params: FocusParams) -> xr.Dataset:
    """A raw scene Dataset (variable ``raw``, metadata and orbit attributes, see
    :meth:`Scene.to_dataset`) -> the focused zero-Doppler SLC scene Dataset (variable ``slc``), lazy,
    cropped to its fully focused part (whole aperture in azimuth, whole chirp in range)."""
    scene = Scene.from_dataset(inputs)
    slc = focus(scene, params)
    info = slc.meta.extra["focus"]
    a0, a1 = info["valid_azimuth_lines"]
    r0, r1 = info["valid_range_samples"]
    if a1 - a0 < 16 or r1 - r0 < 16:
        source = ", ".join(scene.meta.source_files) or str(scene.attrs.get("source", "raw scene"))
        raise DaskInsarError(f"{source}: too few echoes to focus: {a1 - a0} fully focused lines, "
                             f"{r1 - r0} range samples (need at least 16 of each)")
    slc = slc.with_data(slc.data.isel(azimuth=slice(a0, a1), range=slice(r0, r1)))
    return slc.to_dataset()
