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

import dask.array as da
import numpy as np
import xarray as xr
from scipy.special import gammaln, logsumexp

from .chunking import rechunk_for_overlap

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


def coherence_kernel(cross: np.ndarray, power_reference: np.ndarray, power_secondary: np.ndarray,
                     window: tuple[int, int]) -> np.ndarray:
    """``|sum cross| / sqrt(sum P_ref * sum P_sec)`` over a centred boxcar window (float32, 0..1).

    ``cross`` is ``r s*`` (single-look) or the multilooked ``ifg``; the powers are
    ``|r|^2``, ``|s|^2`` or their multilooked means. Pixels whose window holds no power
    give 0.
    """
    num = np.abs(box_sum(cross, window))
    den = np.sqrt(np.maximum(box_sum(power_reference, window), 0.0) * np.maximum(box_sum(power_secondary, window), 0.0))
    out = np.zeros(num.shape, dtype=np.float32)
    ok = den > 0
    out[ok] = np.minimum(num[ok] / den[ok], 1.0)
    out[~np.isfinite(cross)] = np.nan  # no data (e.g. layover) stays no data
    return out


def slc_coherence_kernel(reference: np.ndarray, secondary: np.ndarray, window: tuple[int, int]) -> np.ndarray:
    """Full-resolution sample coherence of two coregistered SLC blocks, see :func:`coherence_kernel`."""
    r = reference.astype(np.complex128, copy=False)
    s = secondary.astype(np.complex128, copy=False)
    return coherence_kernel(r * np.conj(s), (r * r.conj()).real, (s * s.conj()).real, window)


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
    acc = np.zeros((n0, n1), dtype=np.complex128)
    for i in range(-ha, ha + 1):
        for j in range(-hr, hr + 1):
            ramp = np.exp(-1j * (ka * i + kr * j))
            acc += upad[ha + i: ha + i + n0, hr + j: hr + j + n1] * ramp
    out = np.zeros((n0, n1), dtype=np.float32)
    ok = count > 0
    out[ok] = np.minimum(np.abs(acc[ok]) / count[ok], 1.0)
    return out


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
def _dask(x) -> da.Array:
    if isinstance(x, xr.DataArray):
        x = x.data
    return x if isinstance(x, da.Array) else da.from_array(np.asarray(x))


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
    c = _dask(ifg)
    pr = _dask(power_reference).rechunk(c.chunks)
    ps = _dask(power_secondary).rechunk(c.chunks)
    c = rechunk_for_overlap(c, depth)
    pr, ps = pr.rechunk(c.chunks), ps.rechunk(c.chunks)
    out = da.map_overlap(coherence_kernel, c, pr, ps, depth=depth, boundary=0, window=(wa, wr),
                         dtype=np.float32, token="coherence")
    return _wrap(out, ifg)


def coherence_from_slcs(reference, secondary, window: tuple[int, int] = (5, 15)):
    """Full-resolution sample coherence of two coregistered SLCs (float32, 0..1)."""
    wa, wr = _check_window(window)
    depth = (wa // 2, wr // 2)
    r = rechunk_for_overlap(_dask(reference), depth)
    s = _dask(secondary).rechunk(r.chunks)
    out = da.map_overlap(slc_coherence_kernel, r, s, depth=depth, boundary=0, window=(wa, wr),
                         dtype=np.float32, token="coherence-slc")
    return _wrap(out, reference)


def phase_sigma_coherence(ifg, window: tuple[int, int] = (5, 5)):
    """Slope-corrected phase-only coherence (``phsig``), float32 0..1; see :func:`phsig_kernel`."""
    wa, wr = _check_window(window)
    depth = (wa // 2 + 1, wr // 2 + 1)
    c = rechunk_for_overlap(_dask(ifg), depth)
    out = da.map_overlap(phsig_kernel, c, depth=depth, boundary=0, window=(wa, wr),
                         dtype=np.float32, token="phsig")
    return _wrap(out, ifg)
