"""Coherence estimators and the bias of the sample coherence.

Products (``interferogram`` group)
----------------------------------
``coherence`` (ISCE ``topophase.cor``): the normalised sample coherence over a boxcar
window ``(az, rg)`` centred on each pixel::

    |gamma_hat| = |sum r s*| / sqrt(sum |r|^2 * sum |s|^2)

On full-resolution SLCs the sums run over single-look pixels; after multilooking they
run over the multilooked products (``ifg``, ``power_reference``, ``power_secondary``
of :func:`daskinsar.stages.interferogram.interferogram`), which is the same estimator
over the union of the look cells (``window * looks`` SLC pixels). At the image border
the window is truncated to the pixels that exist (zero padding contributes nothing to
either sum), independently of the dask chunking. Windows must have odd sizes.

``phsig`` (ISCE ``phsig.cor`` equivalent; *what is implemented here*): a phase-only,
slope-corrected coherence. In a window around each pixel the interferogram is reduced
to unit phasors ``u = ifg/|ifg|``; the local fringe frequency (rad/pixel, azimuth and
range) is estimated from the mean of neighbour products ``u[i+1] conj(u[i])`` over the
window, the linear phase ramp it implies is removed around the centre pixel, and the
output is the mean resultant length ``R = |mean(u * exp(-1j*k.d))|`` (0..1). ``R`` is 1
for noise-free (even steep, linear) fringes and about ``1/sqrt(N)`` for pure noise; the
circular phase standard deviation is ``sqrt(-2 ln R)`` rad (:func:`phase_sigma_from_phsig`).
It can be computed on the filtered or unfiltered interferogram.

Estimator bias
--------------
The sample coherence is biased upward, most strongly for low coherence and few looks.
For ``N`` independent looks of circular Gaussian signals with true coherence ``g``
(Touzi et al. 1999, Hanssen 2001 eq. 4.2.x)::

    E|gamma_hat| = Gamma(N) Gamma(3/2) / Gamma(N + 1/2)
                   * 3F2(3/2, N, N; N + 1/2, 1; g^2) * (1 - g^2)^N

:func:`expected_coherence_estimate` sums that hypergeometric series in log space (all
terms are positive), so it is exact to float precision for any ``N`` and ``g < 1``.
"""

from __future__ import annotations

import math

import dask.array as da
import numba
import numpy as np
import xarray as xr
from scipy.special import gammaln, logsumexp

from .chunking import as_dask, padded_for_overlap

__all__ = [
    "box_sum",
    "coherence_kernel",
    "slc_coherence_kernel",
    "phsig_kernel",
    "coherence",
    "coherence_from_slcs",
    "phase_sigma_coherence",
    "expected_coherence_estimate",
    "phase_sigma_from_phsig",
]


# ---------------------------------------------------------------------------
# block kernels
# ---------------------------------------------------------------------------
def _check_window(window) -> tuple[int, int]:
    wa, wr = int(window[0]), int(window[1])
    if wa < 1 or wr < 1 or wa % 2 == 0 or wr % 2 == 0:
        raise ValueError(f"coherence window must be odd positive sizes (az, rg), got {window}")
    return wa, wr


def box_sum(x: np.ndarray, window: tuple[int, int]) -> np.ndarray:
    """Sum of ``x`` over a centred ``(wa, wr)`` window (odd sizes), zeros beyond the edges.

    Computed with double-precision running sums (float64 or complex128 out).
    Non-finite samples count as 0 (a NaN must not spread along the running sums).
    """
    wa, wr = _check_window(window)
    x = np.where(np.isfinite(x), x, 0)
    ha, hr = wa // 2, wr // 2
    acc = np.complex128 if np.iscomplexobj(x) else np.float64
    p = np.zeros((x.shape[0] + wa, x.shape[1] + wr), dtype=acc)
    p[ha + 1: ha + 1 + x.shape[0], hr + 1: hr + 1 + x.shape[1]] = x
    np.cumsum(p, axis=0, out=p)
    np.cumsum(p, axis=1, out=p)
    n0, n1 = x.shape
    return p[wa:wa + n0, wr:wr + n1] - p[:n0, wr:wr + n1] - p[wa:wa + n0, :n1] + p[:n0, :n1]


@numba.njit(nogil=True)
def _fin(x):  # pragma: no cover - compiled
    """``x`` if finite else 0 (``x - x`` is NaN for inf and NaN): a select, vectorisable."""
    return x if x - x == 0.0 else 0.0


@numba.njit(nogil=True)
def _window_row(c, hr, sums, out_row):  # pragma: no cover - compiled
    """Coherence of one output row from the window's column sums.

    ``c`` is (4, n1 + 2*hr) float64: re, im of the cross product, reference power,
    secondary power, with ``hr`` zero columns on each side (the truncated window). The
    range sums over ``j-hr .. j+hr`` are added in a fixed order (offset by offset, a
    vectorisable pass), so a pixel's value does not depend on where its block starts.
    ``sums`` is a (4, n1) work array.
    """
    n1 = out_row.shape[0]
    sums[:] = 0.0
    for q in range(4):
        for d in range(2 * hr + 1):
            for j in range(n1):
                sums[q, j] += c[q, j + d]
    for j in range(n1):
        s_re = sums[0, j]
        s_im = sums[1, j]
        den = np.sqrt(max(sums[2, j], 0.0) * max(sums[3, j], 0.0))
        num = np.sqrt(s_re * s_re + s_im * s_im)
        out_row[j] = min(num / den, 1.0) if den > 0.0 else 0.0


@numba.njit(cache=True, nogil=True)
def _coherence_nb(cross, p_ref, p_sec, ha, hr, out):  # pragma: no cover - compiled
    """Boxcar coherence from the cross product and the powers (non-finite samples count as 0)."""
    n0, n1 = cross.shape
    c = np.zeros((4, n1 + 2 * hr), dtype=np.float64)  # column sums, hr zero columns each side
    sums = np.empty((4, n1), dtype=np.float64)
    for i in range(n0):
        c[:, hr:hr + n1] = 0.0
        for k in range(max(0, i - ha), min(n0, i + ha + 1)):  # column sums, exact per row
            for j in range(n1):
                z = cross[k, j]
                zr = np.float64(z.real)
                zi = np.float64(z.imag)
                ok = (zr - zr == 0.0) and (zi - zi == 0.0)
                c[0, hr + j] += zr if ok else 0.0
                c[1, hr + j] += zi if ok else 0.0
                c[2, hr + j] += _fin(np.float64(p_ref[k, j]))
                c[3, hr + j] += _fin(np.float64(p_sec[k, j]))
        _window_row(c, hr, sums, out[i])
        for j in range(n1):
            z = cross[i, j]
            if not (np.isfinite(z.real) and np.isfinite(z.imag)):
                out[i, j] = np.nan  # no data stays no data


@numba.njit(cache=True, nogil=True)
def _slc_coherence_nb(ref, sec, ha, hr, out):  # pragma: no cover - compiled
    """Boxcar coherence of two SLCs: ``r s*``, ``|r|^2``, ``|s|^2`` formed per pixel in float64."""
    n0, n1 = ref.shape
    c = np.zeros((4, n1 + 2 * hr), dtype=np.float64)  # column sums, hr zero columns each side
    sums = np.empty((4, n1), dtype=np.float64)
    for i in range(n0):
        c[:, hr:hr + n1] = 0.0
        for k in range(max(0, i - ha), min(n0, i + ha + 1)):
            for j in range(n1):
                rr = np.float64(ref[k, j].real)
                ri = np.float64(ref[k, j].imag)
                sr = np.float64(sec[k, j].real)
                si = np.float64(sec[k, j].imag)
                zr = rr * sr + ri * si
                zi = ri * sr - rr * si
                ok = (zr - zr == 0.0) and (zi - zi == 0.0)
                c[0, hr + j] += zr if ok else 0.0
                c[1, hr + j] += zi if ok else 0.0
                c[2, hr + j] += _fin(rr * rr + ri * ri)
                c[3, hr + j] += _fin(sr * sr + si * si)
        _window_row(c, hr, sums, out[i])
        for j in range(n1):
            rr = np.float64(ref[i, j].real)
            ri = np.float64(ref[i, j].imag)
            sr = np.float64(sec[i, j].real)
            si = np.float64(sec[i, j].imag)
            if not (np.isfinite(rr * sr + ri * si) and np.isfinite(ri * sr - rr * si)):
                out[i, j] = np.nan


def _complex_block(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    return np.ascontiguousarray(x, dtype=x.dtype if x.dtype in (np.complex64, np.complex128) else np.complex128)


def _real_block(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    return np.ascontiguousarray(x, dtype=x.dtype if x.dtype in (np.float32, np.float64) else np.float64)


def coherence_kernel(cross: np.ndarray, power_reference: np.ndarray, power_secondary: np.ndarray,
                     window: tuple[int, int]) -> np.ndarray:
    """``|sum cross| / sqrt(sum P_ref * sum P_sec)`` over a centred boxcar window (float32, 0..1).

    ``cross`` is ``r s*`` (single-look) or the multilooked ``ifg``; the powers are
    ``|r|^2``, ``|s|^2`` or their multilooked means. Pixels whose window holds no power
    give 0. Windows are truncated at the block edges (zeros beyond); non-finite samples
    count as 0 in the sums and a non-finite ``cross`` pixel is NaN in the output.
    One numba pass: float64 window sums, no full-size temporaries.
    """
    wa, wr = _check_window(window)
    c = _complex_block(cross)
    pr, ps = _real_block(power_reference), _real_block(power_secondary)
    if pr.shape != c.shape or ps.shape != c.shape or c.ndim != 2:
        raise ValueError(f"cross product {c.shape} and powers {pr.shape}, {ps.shape} must be 2-D of one shape")
    out = np.empty(c.shape, dtype=np.float32)
    _coherence_nb(c, pr, ps, wa // 2, wr // 2, out)
    return out


def slc_coherence_kernel(reference: np.ndarray, secondary: np.ndarray, window: tuple[int, int]) -> np.ndarray:
    """Full-resolution sample coherence of two coregistered SLC blocks, see :func:`coherence_kernel`.

    Fused: ``r s*`` and the powers are formed per pixel in float64 inside the window sums
    (nothing full-size is materialised).
    """
    wa, wr = _check_window(window)
    r, s = _complex_block(reference), _complex_block(secondary)
    if r.shape != s.shape or r.ndim != 2:
        raise ValueError(f"reference {r.shape} and secondary {s.shape} blocks must be 2-D of one shape")
    out = np.empty(r.shape, dtype=np.float32)
    _slc_coherence_nb(r, s, wa // 2, wr // 2, out)
    return out


def phsig_kernel(ifg: np.ndarray, window: tuple[int, int]) -> np.ndarray:
    """Slope-corrected phase-only coherence ``R`` (float32, 0..1); see the module docstring.

    Needs a halo of ``window//2 + 1`` pixels around the block for exact results.
    """
    wa, wr = _check_window(window)
    ha, hr = wa // 2, wr // 2
    z = ifg.astype(np.complex128, copy=False)
    mag = np.abs(z)
    u = np.zeros_like(z)
    nz = mag > 0
    u[nz] = z[nz] / mag[nz]
    n0, n1 = u.shape
    # local fringe frequency (rad/pixel) from neighbour products, averaged over the window
    da_ = np.zeros_like(u)
    da_[:-1, :] = u[1:, :] * np.conj(u[:-1, :])
    dr_ = np.zeros_like(u)
    dr_[:, :-1] = u[:, 1:] * np.conj(u[:, :-1])
    ka = np.angle(box_sum(da_, (wa, wr)))
    kr = np.angle(box_sum(dr_, (wa, wr)))
    upad = np.zeros((n0 + 2 * ha, n1 + 2 * hr), dtype=np.complex128)
    upad[ha:ha + n0, hr:hr + n1] = u
    count = box_sum(nz.astype(np.float64), (wa, wr))
    acc = np.empty((n0, n1), dtype=np.complex128)
    _deramped_window_sum(upad, ka, kr, ha, hr, acc)
    out = np.zeros((n0, n1), dtype=np.float32)
    ok = count > 0
    out[ok] = np.minimum(np.abs(acc[ok]) / count[ok], 1.0)
    return out


@numba.njit(cache=True, nogil=True)
def _deramped_window_sum(upad, ka, kr, ha, hr, acc):  # pragma: no cover - numba
    """acc[p, q] = sum over the (2 ha + 1) x (2 hr + 1) window of upad[p + ha + i, q + hr + j] exp(-1j (ka i + kr j))
    (ka, kr: the pixel's fringe frequencies, rad/pixel). The ramp factors exp(-1j ka i) and exp(-1j kr j) are
    powers of the pixel's two unit phasors (two cos/sin pairs per pixel instead of one complex exp per window
    sample)."""
    n0, n1 = ka.shape
    wa, wr = 2 * ha + 1, 2 * hr + 1
    ea = np.empty(wa, np.complex128)
    er = np.empty(wr, np.complex128)
    for p in range(n0):
        for q in range(n1):
            sa = complex(math.cos(ka[p, q]), -math.sin(ka[p, q]))
            sr = complex(math.cos(kr[p, q]), -math.sin(kr[p, q]))
            ea[ha] = 1.0
            er[hr] = 1.0
            for k in range(1, ha + 1):
                ea[ha + k] = ea[ha + k - 1] * sa
                ea[ha - k] = ea[ha - k + 1] * sa.conjugate()
            for k in range(1, hr + 1):
                er[hr + k] = er[hr + k - 1] * sr
                er[hr - k] = er[hr - k + 1] * sr.conjugate()
            total = 0j
            for i in range(wa):
                row = 0j
                for j in range(wr):
                    row += upad[p + i, q + j] * er[j]
                total += ea[i] * row
            acc[p, q] = total


def phase_sigma_from_phsig(phsig: np.ndarray) -> np.ndarray:
    """Circular phase standard deviation (rad) ``sqrt(-2 ln R)`` from the ``phsig`` value ``R``."""
    r = np.clip(np.asarray(phsig, dtype=np.float64), 1e-12, 1.0)
    return np.sqrt(-2.0 * np.log(r))


# ---------------------------------------------------------------------------
# estimator bias
# ---------------------------------------------------------------------------
def _expected_one(g: float, n: float) -> float:
    z = g * g
    if z >= 1.0:
        return 1.0
    lpre = gammaln(n) + gammaln(1.5) - gammaln(n + 0.5) + n * np.log1p(-z)
    if z == 0.0:
        return float(np.exp(lpre))
    # terms t_k = (3/2)_k (N)_k^2 / ((N+1/2)_k (1)_k k!) z^k, summed in log space in
    # batches until the remaining terms are negligible.
    total = -np.inf
    k0, batch = 0, 4096
    lz = np.log(z)
    while True:
        k = np.arange(k0, k0 + batch, dtype=np.float64)
        lt = (gammaln(1.5 + k) - gammaln(1.5) + 2 * (gammaln(n + k) - gammaln(n))
              - (gammaln(n + 0.5 + k) - gammaln(n + 0.5)) - 2 * gammaln(k + 1) + k * lz)
        total = np.logaddexp(total, logsumexp(lt))
        # the term ratio tends to z < 1: stop once the terms are past their peak and tiny
        if lt[-1] < lt[-2] and lt[-1] < total - 40.0:
            break
        k0 += batch
        if k0 > 50_000_000:
            raise RuntimeError(f"hypergeometric series did not converge for gamma={g}, N={n}")
    return float(np.exp(lpre + total))


def expected_coherence_estimate(gamma, n_looks):
    """Expected value of the sample coherence magnitude ``E|gamma_hat|``.

    Parameters
    ----------
    gamma : true coherence magnitude(s), 0..1.
    n_looks : number of independent looks ``N`` (>= 1) in the estimation window.

    Returns the expectation (same shape as the broadcast inputs; a float for scalars),
    from the Touzi et al. (1999) hypergeometric formula (see module docstring).
    """
    g, n = np.broadcast_arrays(np.asarray(gamma, dtype=np.float64), np.asarray(n_looks, dtype=np.float64))
    if np.any((g < 0) | (g > 1)):
        raise ValueError("true coherence must lie in 0..1")
    if np.any(n < 1):
        raise ValueError("number of looks must be >= 1")
    out = np.array([_expected_one(float(a), float(b)) for a, b in zip(g.ravel(), n.ravel())]).reshape(g.shape)
    return float(out) if out.ndim == 0 else out


# ---------------------------------------------------------------------------
# dask stage functions
# ---------------------------------------------------------------------------
def _wrap(out: da.Array, like) -> xr.DataArray | da.Array:
    if isinstance(like, xr.DataArray):
        return xr.DataArray(out, dims=like.dims, coords=like.coords)
    return out


def coherence(ifg, power_reference, power_secondary, window: tuple[int, int] = (5, 5)):
    """Sample coherence of multilooked products (ISCE ``topophase.cor``), float32 0..1.

    A ``map_overlap`` with depth ``window//2`` and zero boundary (= truncated windows at
    the image border), so the result does not depend on the chunking.
    """
    wa, wr = _check_window(window)
    depth = (wa // 2, wr // 2)
    c0 = as_dask(ifg)
    c, crop = padded_for_overlap(c0, depth)
    pr, _ = padded_for_overlap(as_dask(power_reference).rechunk(c0.chunks), depth)
    ps, _ = padded_for_overlap(as_dask(power_secondary).rechunk(c0.chunks), depth)
    pr, ps = pr.rechunk(c.chunks), ps.rechunk(c.chunks)
    out = da.map_overlap(coherence_kernel, c, pr, ps, depth=depth, boundary=0, window=(wa, wr),
                         dtype=np.float32, token="coherence")
    return _wrap(out[crop], ifg)


def coherence_from_slcs(reference, secondary, window: tuple[int, int] = (5, 15)):
    """Full-resolution sample coherence of two coregistered SLCs (float32, 0..1)."""
    wa, wr = _check_window(window)
    depth = (wa // 2, wr // 2)
    r, crop = padded_for_overlap(as_dask(reference), depth)
    s, _ = padded_for_overlap(as_dask(secondary), depth)
    s = s.rechunk(r.chunks)
    out = da.map_overlap(slc_coherence_kernel, r, s, depth=depth, boundary=0, window=(wa, wr),
                         dtype=np.float32, token="coherence-slc")
    return _wrap(out[crop], reference)


def phase_sigma_coherence(ifg, window: tuple[int, int] = (5, 5)):
    """Slope-corrected phase-only coherence (``phsig``), float32 0..1; see :func:`phsig_kernel`."""
    wa, wr = _check_window(window)
    depth = (wa // 2 + 1, wr // 2 + 1)
    c, crop = padded_for_overlap(as_dask(ifg), depth)
    out = da.map_overlap(phsig_kernel, c, depth=depth, boundary=0, window=(wa, wr),
                         dtype=np.float32, token="phsig")
    return _wrap(out[crop], ifg)
