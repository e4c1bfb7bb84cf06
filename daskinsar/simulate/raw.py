"""Raw echoes of distributed scenes: the frequency-domain inverse of range-Doppler focusing.

:func:`slc_to_raw` turns a zero-Doppler SLC scene (e.g. from :func:`~daskinsar.simulate.simulate_pair`)
into the raw echoes that :func:`daskinsar.stages.focus.focus` focuses back to that SLC. It inverts
each step of the focuser, in reverse order, with the focuser's own conventions and models:

1. **Padding.** The raw pulse grid is the SLC's azimuth-time grid (PRF = 1 / line interval)
   extended by a synthetic aperture on each side: ``(f_dc + B_p/2) / K_a`` before and
   ``(B_p/2 - f_dc) / K_a`` after (s; ``K_a`` the smallest azimuth FM rate, ``B_p`` the processed
   bandwidth, both as the focuser computes them), plus ``azimuth_margin_lines``. The range gate
   is the SLC's slant-range grid starting ``c_off`` samples earlier and extended by the largest
   range migration, the interpolator and the chirp length, so that every SLC pixel is fully
   range-compressed by the focuser. The SLC occupies lines ``[a_off, a_off + n_az)`` and samples
   ``[c_off, c_off + n_rg)`` of the focused output (``meta.extra["raw_simulation"]``).
2. **Azimuth (per block of range columns, corner-turned, with a range halo).** Azimuth FFT of
   the zero-padded SLC columns (length ``n_fft`` >= raw pulses + margin, so the circular
   transforms never wrap an aperture), then inversion of the focuser's range-Doppler operator
   ``A``: RCMC (windowed-sinc interpolation at ``x = j + R0 (1/D(f) - 1) / dr``,
   ``D(f) = sqrt(1 - (lambda f / 2 V_r)^2)``), azimuth matched filter
   ``W(f) exp(+j 4 pi R0 (D - 1) / lambda + j pi/4)`` over ``|f - f_dc| <= B_p / 2``. The
   approximate inverse ``B`` multiplies by ``exp(-j(...)) / W`` and moves each column back from
   ``R0`` to ``R0 / D`` (inverse mapping solved by fixed-point iteration) with a 24-tap table
   fitted to the regularised inverse of the focuser's interpolator response
   (:func:`inverse_sinc_table`); ``rcmc_iterations`` (4) Richardson steps ``P <- P + B(Q - A P)``
   (``A`` being the focuser's own kernel, :func:`~daskinsar.stages.focus.rcmc_azimuth_filter_block`)
   bring ``A P = Q`` to ~3e-5 relative for content below 0.45 cycles/sample in range; content
   near the range Nyquist frequency, which the focuser's 16-tap interpolator attenuates (to 0 at
   half-sample offsets), converges slowly. Azimuth IFFT gives the range-compressed echoes.
   The processed azimuth band defaults to the whole PRF (nothing of the SLC spectrum is cut).
3. **Range (per block of whole lines, after the corner turn back).** "Decompression":
   multiplication of each line's spectrum by the regularised inverse of the focuser's range
   matched filter ``H`` (built by :func:`~daskinsar.stages.focus.range_matched_filter` from the
   same replica): ``conj(H) / (|H|^2 + eps * median_inband |H|^2)``. ``1 / H`` is the transmitted
   chirp's spectrum divided by its own power spectrum, i.e. convolution with the chirp of a
   reflectivity pre-whitened for the chirp's Fresnel ripple (plain convolution with the chirp
   would leave that ripple, about 6 % rms for a time-bandwidth product of 750, in the SLC).
   Leading-edge range gate: sample ``m`` of the raw line is at fast time ``2 r_m / c``; the
   focuser's correlation output ``m`` uses raw samples ``m .. m + N_chirp - 1`` only, so the
   echo tails cut off before the gate start or after its end never touch a focused SLC sample.

Exactness (measured, tests/test_raw.py, small preset): the round trip ``focus(slc_to_raw(slc))``
equals the SLC to 4e-4 .. 8e-4 relative rms (phase rms ~1e-3 rad) 16 pixels away from its range
edges, ~1.1e-3 for the simulator's secondary (whose range spectrum reaches the Nyquist frequency);
within ~16 samples of the near/far range edges up to ~1.5e-2 (the hard edges carry range-Nyquist
content, see above). Lost for good: the SLC spectrum outside a processed azimuth band narrower
than the PRF, and, with a range window (the focuser zeroes ``H`` outside the chirp band), the SLC's
range spectrum beyond the chirp bandwidth. Effective velocity, Doppler centroid and
processed bandwidth are the focuser's (:func:`~daskinsar.stages.focus.azimuth_velocity_model`
on the raw grid; they are stored in the raw metadata so ``focus`` with default parameters picks
the same ones): the raw data are the echoes of the focuser's hyperbolic range model, exactly
what it inverts (stop-and-hop, ``V_r`` fitted from the orbit at mid-scene).

Data flow on dask: SLC (any chunks) -> range zero-pad -> transpose + rechunk to whole columns
-> overlap (range halo) -> azimuth kernel -> trim -> transpose + rechunk to whole lines -> range
kernel. Memory per task is a column block (``azimuth_block_mib``) or a line block; results do
not depend on the chunking (to float rounding).
"""

from __future__ import annotations

import dask
import dask.array as da
import numba
import numpy as np
import xarray as xr

from ..geometry.ellipsoid import SPEED_OF_LIGHT
from ..scene import Chirp, Poly1D, Scene
from ..stages.focus import (FocusParams, azimuth_velocity_model, rcmc_interpolator, chirp_replica, next_fast_len,
                            range_doppler_poly, range_matched_filter, rcmc_azimuth_filter_block, spectral_window)

def _fft(a: np.ndarray, n: int, axis: int, inverse: bool = False) -> np.ndarray:
    """Complex64 FFT along ``axis``, zero-padded/cropped to ``n`` (scipy's pocketfft, one thread: no
    planning cost for the few, odd-sized transforms of this simulator; inverse normalised by 1/n)."""
    import scipy.fft as sf

    return (sf.ifft if inverse else sf.fft)(np.asarray(a, np.complex64), n=n, axis=axis, workers=1).astype(
        np.complex64, copy=False)


#: taps of the approximate inverse RCMC interpolator (0: the focuser's own table)
INVERSE_TAPS = 24
#: default Wiener regularisation of the range deconvolution, relative to the in-band |H|^2
RANGE_REGULARISATION = 1e-5


# ----------------------------------------------------------------------------- block kernels
@numba.njit(cache=True, nogil=True)
def _inverse_rcmc_azimuth_mf_t(q_t, fk, fdc, vr, rng, dr, lam, bp, prf, table, win):  # pragma: no cover - numba
    """Approximate inverse of ``focus._rcmc_azimuth_mf_t`` (transposed layout (columns, freqs)).

    Per azimuth frequency: undo the matched filter (``exp(-j phi) / W``, zero outside the
    processed band), then sample the result at the column ``u`` whose focused position is
    ``x(u) = u + R0(u) (1/D - 1) / dr`` = output column ``i`` (windowed-sinc, same table)."""
    n_c, n_f = q_t.shape
    taps = table.shape[1]
    n_sub = table.shape[0] - 1
    n_win = win.shape[0] - 1
    half = taps // 2 - 1
    out = np.zeros((n_c, n_f), np.complex64)
    qp = np.zeros(n_c, np.complex128)
    delta = np.zeros(n_c)
    for k in range(n_f):
        any_in = False
        for j in range(n_c):
            f = fk[k] - fdc[j] + 0.5 * prf
            f = f - np.floor(f / prf) * prf - 0.5 * prf
            a = lam * (f + fdc[j]) / (2.0 * vr[j])
            d = np.sqrt(1.0 - a * a)
            delta[j] = rng[j] * (1.0 / d - 1.0) / dr
            qp[j] = 0.0
            if abs(f) > 0.5 * bp:
                continue
            xw = (f / bp + 0.5) * n_win
            iw = min(int(xw), n_win - 1)
            w = win[iw] + (xw - iw) * (win[iw + 1] - win[iw])
            if w <= 1e-6:
                continue
            ph = 4.0 * np.pi * rng[j] * (d - 1.0) / lam + 0.25 * np.pi
            qp[j] = q_t[j, k] * complex(np.cos(ph), -np.sin(ph)) / w
            any_in = True
        if not any_in:
            continue
        for i in range(n_c):
            u = i - delta[i]
            for _ in range(3):  # fixed point of u = i - delta(u); |d delta / du| ~ 1e-4
                uc = min(max(u, 0.0), n_c - 1.0)
                iu = min(int(uc), n_c - 2) if n_c > 1 else 0
                fr = uc - iu
                du = delta[iu] + fr * (delta[iu + 1] - delta[iu]) if n_c > 1 else delta[0]
                u = i - du
            i0 = int(np.floor(u))
            s = int((u - i0) * n_sub + 0.5)
            acc = 0j
            for m in range(taps):
                idx = i0 - half + m
                if idx >= 0 and idx < n_c:
                    acc += table[s, m] * qp[idx]
            out[i, k] = acc
    return out


_inverse_tables: dict = {}


def inverse_sinc_table(taps: int = 16, inverse_taps: int = 24, regularisation: float = 0.02,
                       n_sub: int = 2048) -> np.ndarray:
    """Interpolation table (``n_sub + 1``, ``inverse_taps``) float32 for the approximate inverse of the
    focuser's RCMC interpolator (:func:`daskinsar.geometry.sinc.kaiser_sinc_table` of ``taps`` taps, beta 6).

    Row ``t`` interpolates at fractional offset ``t / n_sub`` (tap ``m`` on sample
    ``floor(x) - inverse_taps/2 + 1 + m``). Where the focuser interpolates at fractional offset
    ``s = 1 - t`` its response relative to an ideal delay is ``G_s(f)`` (f in cycles/sample; it falls
    towards the Nyquist frequency, e.g. 0.31 at 0.48 for s = 0.5); the row is the least-squares fit
    (over |f| <= 0.5) of ``conj(G_s) / (|G_s|^2 + regularisation)`` times the ideal delay, so that one
    Richardson step already removes most of the interpolation loss near the Nyquist frequency."""
    key = (taps, inverse_taps, regularisation, n_sub)
    if key in _inverse_tables:
        return _inverse_tables[key]
    fwd = rcmc_interpolator(taps).astype(np.float64)
    n_fwd = fwd.shape[0] - 1
    f = np.linspace(-0.5, 0.5, 257)
    m_f = np.arange(taps) - (taps // 2 - 1)
    m_i = np.arange(inverse_taps) - (inverse_taps // 2 - 1)
    t = np.arange(n_sub + 1) / n_sub
    s = (1.0 - t) % 1.0
    srows = fwd[(s * n_fwd + 0.5).astype(int)]  # (rows, taps)
    G = (srows[:, None, :] * np.exp(2j * np.pi * f[None, :, None] * (m_f[None, None, :] - s[:, None, None]))).sum(-1)
    D = np.conj(G) * (1.0 + regularisation) / (np.abs(G) ** 2 + regularisation)  # (rows, f); 1 where |G| = 1
    # least squares |sum_m x_m exp(j 2 pi f (m - t)) - D(f)| = |sum_m x_m exp(j 2 pi f m) - D(f) exp(j 2 pi f t)|
    E0 = np.exp(2j * np.pi * f[:, None] * m_i[None, :])
    pinv = np.linalg.pinv(np.vstack([E0.real, E0.imag]))
    b = D * np.exp(2j * np.pi * f[None, :] * t[:, None])
    out = np.concatenate([b.real, b.imag], axis=1) @ pinv.T
    _inverse_tables[key] = out.astype(np.float32)
    return _inverse_tables[key]


def invert_rcmc_azimuth_block(spec_t: np.ndarray, slant_range_m: np.ndarray, *, prf_hz: float, wavelength_m: float,
                              doppler_centroid_hz: np.ndarray, effective_velocity_mps: np.ndarray,
                              azimuth_bandwidth_hz: float, taps: int = 16, window: str = "rect",
                              window_param: float = 2.5, iterations: int = 4) -> np.ndarray:
    """Range-Doppler spectra ``P`` (columns, n_fft) with ``A P = spec_t``, ``A`` =
    :func:`~daskinsar.stages.focus.rcmc_azimuth_filter_block` (same arguments, units and layout:
    transposed, FFT bin k = k PRF / n_fft wrapped; columns beyond the block count as zero).

    Richardson iteration on the approximate inverse (see the module docstring); complex64."""
    n_fft = spec_t.shape[1]
    q = np.ascontiguousarray(spec_t, np.complex64)
    fk = np.fft.fftfreq(n_fft, 1.0 / prf_hz)
    r = np.asarray(slant_range_m, np.float64)
    dr = float(r[1] - r[0]) if len(r) > 1 else 1.0
    win = spectral_window(np.linspace(-0.5, 0.5, 4097), window, window_param).astype(np.float64)
    args = (fk, np.asarray(doppler_centroid_hz, np.float64), np.asarray(effective_velocity_mps, np.float64), r, dr,
            float(wavelength_m), float(azimuth_bandwidth_hz), float(prf_hz),
            inverse_sinc_table(taps, INVERSE_TAPS) if INVERSE_TAPS else rcmc_interpolator(taps), win)
    p = _inverse_rcmc_azimuth_mf_t(q, *args)
    for _ in range(iterations):
        resid = q - rcmc_azimuth_filter_block(p, r, prf_hz=prf_hz, wavelength_m=wavelength_m,
                                              doppler_centroid_hz=doppler_centroid_hz,
                                              effective_velocity_mps=effective_velocity_mps,
                                              azimuth_bandwidth_hz=azimuth_bandwidth_hz, taps=taps, window=window,
                                              window_param=window_param)
        p += _inverse_rcmc_azimuth_mf_t(resid, *args)
    return p


def raw_azimuth_block(slc_t: np.ndarray, slant_range_m: np.ndarray, *, first_line: int, n_lines: int, n_fft: int,
                      prf_hz: float, wavelength_m: float, doppler_centroid_hz: np.ndarray,
                      effective_velocity_mps: np.ndarray, azimuth_bandwidth_hz: float, taps: int = 16,
                      window: str = "rect", window_param: float = 2.5, iterations: int = 4) -> np.ndarray:
    """Block kernel: SLC columns (range columns, SLC lines), transposed, complex -> range-compressed
    echoes of those columns on the raw pulse grid (range columns, ``n_lines``) complex64.

    The SLC line ``l`` is raw pulse ``first_line + l``; ``n_fft`` >= ``n_lines`` (no wrap-around)."""
    n_c, n_az = slc_t.shape
    buf = np.zeros((n_c, n_fft), np.complex64)
    buf[:, first_line:first_line + n_az] = slc_t
    q = _fft(buf, n_fft, axis=1)
    p = invert_rcmc_azimuth_block(q, slant_range_m, prf_hz=prf_hz, wavelength_m=wavelength_m,
                                  doppler_centroid_hz=doppler_centroid_hz, effective_velocity_mps=effective_velocity_mps,
                                  azimuth_bandwidth_hz=azimuth_bandwidth_hz, taps=taps, window=window,
                                  window_param=window_param, iterations=iterations)
    return _fft(p, n_fft, axis=1, inverse=True)[:, :n_lines]


def range_decompression_filter(H: np.ndarray, in_band: np.ndarray, regularisation: float = RANGE_REGULARISATION
                               ) -> np.ndarray:
    """Regularised inverse ``conj(H) / (|H|^2 + eps * median(|H|^2 in band))`` (complex64) of a range
    matched filter spectrum ``H``; ``in_band``: bool mask of the chirp band's inner part."""
    p = np.abs(H.astype(np.complex128)) ** 2
    p0 = float(np.median(p[in_band]))
    return (np.conj(H.astype(np.complex128)) / (p + regularisation * p0)).astype(np.complex64)


def raw_range_block(rc: np.ndarray, G: np.ndarray, n_gate: int) -> np.ndarray:
    """Block kernel: range-compressed lines (lines, columns) -> raw echo lines (lines, ``n_gate``)
    complex64: ``IFFT(FFT(rc, n) * G)[:, :n_gate]`` with ``n = len(G)`` >= ``n_gate`` + the
    deconvolution's tails (both directions), so nothing wraps into the gate."""
    n = len(G)
    spec = _fft(rc, n, axis=1)
    spec *= G[None, :]
    return _fft(spec, n, axis=1, inverse=True)[:, :n_gate]


# ----------------------------------------------------------------------------- the simulator
def _doppler_poly(scene: Scene, doppler) -> Poly1D:
    """The Doppler to simulate with (default: the scene's), as focus models it (a LUT2D is fitted
    at mid-scene, as focus does with metadata Doppler)."""
    return range_doppler_poly(scene, scene.meta.doppler_centroid if doppler is None else doppler)


def slc_to_raw(scene: Scene, *, chirp: Chirp | None = None, range_sampling_rate_hz: float | None = None,
               prf_hz: float | None = None, azimuth_bandwidth_hz: float | None = None,
               doppler: Poly1D | float | None = None, focus_params: FocusParams | None = None,
               azimuth_margin_lines: int = 256, range_margin_samples: int = 8, rcmc_iterations: int = 4,
               range_regularisation: float = RANGE_REGULARISATION, range_lines_per_block: int = 1024,
               range_columns_per_block: int | None = None, azimuth_block_mib: float = 64.0) -> Scene:
    """Raw echoes (lazy ``Scene``, level "raw", variable ``raw``) that ``focus`` turns into ``scene``'s SLC.

    ``scene``: zero-Doppler SLC (variable ``slc``) on a uniform (azimuth time, slant range) grid.
    ``chirp``: transmitted pulse (default ``scene.meta.chirp``); ``range_sampling_rate_hz`` and
    ``prf_hz`` default to the SLC grid's ``c / (2 dr)`` and ``1 / dt`` and must equal them (no
    resampling here). ``azimuth_bandwidth_hz``: processed Doppler bandwidth (Hz) written to the raw
    metadata; default the PRF (the whole spectrum: then nothing of the SLC is lost, including the
    broadband leakage of its window edges, which a narrower band would cut and spread over the
    scene as a 1/distance error of a few 1e-3). ``doppler``: Doppler centroid (Hz) of the echoes =
    the centre of the SLC's azimuth spectrum (default ``scene.meta.doppler_centroid``).
    ``focus_params``: the focusing parameters to invert (default ``FocusParams()``: rect windows;
    SRC is not supported). See the module docstring for the method and the padding.
    """
    fp = focus_params or FocusParams()
    if fp.secondary_range_compression:
        raise ValueError("slc_to_raw does not invert secondary range compression; use focus_params without it")
    if "slc" not in scene.data:
        raise ValueError("slc_to_raw needs a scene with an 'slc' variable (level 'slc')")
    meta = scene.meta
    if meta.grid != "zero_doppler":
        raise ValueError(f"slc_to_raw needs a zero-Doppler SLC grid, got grid={meta.grid!r}")
    chirp = chirp or meta.chirp
    if chirp is None:
        raise ValueError("slc_to_raw needs the transmitted chirp (chirp= or meta.chirp)")
    t = scene.azimuth_time
    r = scene.slant_range
    n_az, n_rg = scene.shape
    if n_az < 2 or n_rg < 2:
        raise ValueError(f"slc_to_raw needs at least 2 x 2 pixels, got {n_az} x {n_rg}")
    dt, dr = float(t[1] - t[0]), float(r[1] - r[0])
    if np.max(np.abs(np.diff(t) - dt)) > 1e-6 * dt or np.max(np.abs(np.diff(r) - dr)) > 1e-6 * dr:
        raise ValueError("slc_to_raw needs a uniform (azimuth time, slant range) grid")
    fs_grid = SPEED_OF_LIGHT / (2.0 * dr)
    fs = float(range_sampling_rate_hz or fs_grid)
    prf = float(prf_hz or 1.0 / dt)
    if abs(fs - fs_grid) > 1e-6 * fs_grid:
        raise ValueError(f"range_sampling_rate_hz={fs:.6g} differs from the SLC grid's c/(2 dr)={fs_grid:.6g} Hz; "
                         "resample the SLC in range first")
    if abs(prf * dt - 1.0) > 1e-6:
        raise ValueError(f"prf_hz={prf:.6g} differs from the SLC line rate 1/dt={1.0 / dt:.6g} Hz; "
                         "resample the SLC in azimuth first")
    lam = meta.wavelength_m
    dmodel = _doppler_poly(scene, doppler)
    bp = float(azimuth_bandwidth_hz or prf)
    if bp > prf:
        raise ValueError(f"processed azimuth bandwidth {bp:.1f} Hz exceeds the PRF {prf:.1f} Hz")
    taps = fp.rcmc_taps
    replica = (np.array([complex(a, b) for a, b in fp.replica], np.complex64) if fp.replica
               else chirp_replica(chirp, fs))
    n_rep = len(replica)

    # -- raw grid: a first guess of the migration and aperture from the SLC grid, then the
    #    focuser's model on the raw grid itself (its V_r and K_a depend on the gate and mid time)
    def _migration_and_aperture(t_mid, rr):
        fdc = np.asarray(dmodel(t_mid, rr), np.float64)
        _, vr, ka_min = azimuth_velocity_model(scene.orbit, t_mid, rr, fdc, bp, wavelength_m=lam,
                                               look_side=meta.look_side)
        a = lam * (np.max(np.abs(fdc)) + 0.5 * bp) / (2.0 * np.min(vr))
        mig = float(np.max(rr) * (1.0 / np.sqrt(1.0 - a * a) - 1.0) / dr)
        return fdc, vr, ka_min, mig

    c_off = taps + range_margin_samples
    t_mid0 = float(0.5 * (t[0] + t[-1]))
    fdc0, _, ka0, mig0 = _migration_and_aperture(t_mid0, r)
    for _ in range(3):  # the raw grid depends on the model evaluated on it: iterate to a fixed point
        n_rc = c_off + n_rg + int(np.ceil(1.05 * mig0)) + taps + range_margin_samples
        n_gate = n_rc + n_rep - 1 + range_margin_samples
        before = int(np.ceil((np.max(fdc0) + 0.5 * bp) / (0.98 * ka0) * prf)) + azimuth_margin_lines
        after = int(np.ceil((0.5 * bp - np.min(fdc0)) / (0.98 * ka0) * prf)) + azimuth_margin_lines
        n_lines = before + n_az + after
        t_raw = t[0] + (np.arange(n_lines) - before) / prf
        r_raw = r[0] + (np.arange(n_gate) - c_off) * dr
        t_mid = float(0.5 * (t_raw[0] + t_raw[-1]))
        fdc, vr, ka_min, mig = _migration_and_aperture(t_mid, r_raw)
        if ka_min >= 0.98 * ka0 and mig <= 1.05 * mig0:
            break
        fdc0, ka0, mig0 = fdc, min(ka_min, ka0), max(mig, mig0)
    else:  # pragma: no cover - the model is smooth, one refinement suffices
        raise RuntimeError("slc_to_raw: the raw grid did not converge")

    # -- azimuth stage on column blocks (corner-turned), range halo for RCMC + iterations
    n_fft_a = next_fast_len(n_lines + 2 * azimuth_margin_lines)
    depth = int(np.ceil(mig)) + (taps + INVERSE_TAPS) // 2 * (rcmc_iterations + 2) + 2
    cols = range_columns_per_block or int(max(64, azimuth_block_mib * 2**20 / (8 * n_fft_a)))
    cols = max(cols, depth)
    nb = max(1, n_rc // cols)
    col_chunks = tuple(n_rc // nb + (1 if i < n_rc % nb else 0) for i in range(nb))
    depth = depth if nb > 1 else 0
    slc = scene.data["slc"].data
    if not isinstance(slc, da.Array):
        slc = da.from_array(np.asarray(slc), chunks=(min(n_az, 1024), min(n_rg, 1024)))
    slc = slc.astype(np.complex64)
    padded = da.pad(slc, ((0, 0), (c_off, n_rc - c_off - n_rg)), mode="constant")
    cols_t = padded.T.rechunk({0: col_chunks, 1: -1})
    tok = dask.base.tokenize(cols_t, chirp, fs, prf, bp, dmodel, fp, n_lines, n_gate, rcmc_iterations,
                             range_regularisation, azimuth_margin_lines, INVERSE_TAPS)
    starts = np.concatenate([[0], np.cumsum(col_chunks)[:-1]])
    r_rc = r_raw[:n_rc]
    ov = da.overlap.overlap(cols_t, depth={0: depth, 1: 0}, boundary={0: "none", 1: "none"}) if depth else cols_t

    def _az_kernel(block, block_id=None):
        j = block_id[0]
        c0 = int(starts[j]) - (depth if j > 0 else 0)
        sl = slice(c0, c0 + block.shape[0])
        return raw_azimuth_block(block, r_rc[sl], first_line=before, n_lines=n_lines, n_fft=n_fft_a, prf_hz=prf,
                                 wavelength_m=lam, doppler_centroid_hz=fdc[sl], effective_velocity_mps=vr[sl],
                                 azimuth_bandwidth_hz=bp, taps=taps, window=fp.azimuth_window,
                                 window_param=fp.azimuth_window_param, iterations=rcmc_iterations)

    out_cols = tuple(c + (depth if j > 0 else 0) + (depth if j < nb - 1 else 0)
                     for j, c in enumerate(col_chunks)) if depth else col_chunks
    rc_t = ov.map_blocks(_az_kernel, dtype=np.complex64, chunks=(out_cols, (n_lines,)),
                         name=f"slc-to-raw-azimuth-{tok}")
    if depth:
        rc_t = da.overlap.trim_internal(rc_t, {0: depth, 1: 0}, boundary={0: "none", 1: "none"})

    # -- corner turn back, range decompression on whole lines
    rc = rc_t.T.rechunk({0: range_lines_per_block, 1: -1})
    n_fft_r = next_fast_len(n_gate + 4 * n_rep)
    bw = chirp.bandwidth_hz
    H = range_matched_filter(replica, n_fft_r, fs, bw, window=fp.range_window, window_param=fp.range_window_param)
    f = np.fft.fftfreq(n_fft_r, 1.0 / fs)
    G = range_decompression_filter(H, np.abs(f) <= 0.35 * bw, range_regularisation)
    raw = rc.map_blocks(raw_range_block, G, n_gate, dtype=np.complex64, chunks=(rc.chunks[0], (n_gate,)),
                        name=f"slc-to-raw-range-{tok}")

    new_meta = meta.model_copy(update={
        "level": "raw", "grid": "native_doppler", "doppler_centroid": dmodel, "grid_doppler": dmodel,
        "chirp": chirp, "prf_hz": prf, "range_sampling_rate_hz": fs, "azimuth_line_interval_s": 1.0 / prf,
        "range_pixel_spacing_m": dr, "azimuth_bandwidth_hz": bp, "range_bandwidth_hz": bw,
        "extra": {**meta.extra, "raw_simulation": {
            "method": "inverse range-Doppler focusing (daskinsar.simulate.raw)",
            "slc_first_line": int(before), "slc_first_sample": int(c_off), "slc_shape": [int(n_az), int(n_rg)],
            "effective_velocity_mps": [float(vr[0]), float(vr[len(vr) // 2]), float(vr[-1])],
            "max_range_migration_samples": float(mig), "azimuth_fft_length": int(n_fft_a),
            "range_fft_length": int(n_fft_r), "rcmc_iterations": int(rcmc_iterations),
            "range_regularisation": float(range_regularisation),
            "focus_params": fp.model_dump(mode="json")}},
    })
    data = xr.Dataset({"raw": (("azimuth", "range"), raw)},
                      coords={"azimuth_time": ("azimuth", t_raw), "slant_range": ("range", r_raw)})
    return Scene(data, new_meta, scene.orbit, dict(scene.attrs))


def slc_window(raw_scene: Scene) -> tuple[slice, slice]:
    """(azimuth, range) slices of the SLC grid inside the raw (and focused) grid of ``slc_to_raw``."""
    info = raw_scene.meta.extra.get("raw_simulation")
    if not info:
        raise ValueError("not a raw scene made by slc_to_raw (no meta.extra['raw_simulation'])")
    a0, c0 = info["slc_first_line"], info["slc_first_sample"]
    na, nr = info["slc_shape"]
    return slice(a0, a0 + na), slice(c0, c0 + nr)
