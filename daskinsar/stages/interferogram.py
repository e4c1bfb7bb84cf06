"""Interferogram formation: cross-multiplication, geometric phase removal, multilooking.

Conventions (see also :mod:`daskinsar.scene`)
---------------------------------------------
- SLC phase of a target at slant range R is ``-4*pi*R/wavelength``.
- interferogram = reference * conj(secondary); its phase is
  ``phi_ref - phi_sec = 4*pi*(R_sec - R_ref)/wavelength`` (rad).
- The geometric (flat-earth + topographic) phase is supplied by the caller as a real
  array in rad on the same (azimuth, range) grid and removed as ``ifg * exp(-1j*phase)``.
- Multilooking is a boxcar *mean* over ``(az_looks, rg_looks)`` non-overlapping cells,
  anchored at pixel (0, 0); trailing lines/samples that do not fill a whole cell are
  dropped (as ISCE does). Output pixel ``(i, j)`` covers input rows
  ``i*az_looks .. (i+1)*az_looks-1`` and columns ``j*rg_looks .. (j+1)*rg_looks-1``;
  its coordinates are the mean of the input coordinates of that cell.

Products (``interferogram`` group, ISCE ``topophase.flat`` equivalent)
--------------------------------------------------------------------
- ``ifg`` (complex64): ``mean(ref * conj(sec) * exp(-1j*phase))`` over each look cell.
  As in ISCE's ``topophase.flat``, its magnitude is ``|mean(r s*)|`` (it falls with
  decorrelation), its phase is the interferometric phase.
- ``power_reference``, ``power_secondary`` (float32): ``mean(|ref|^2)``, ``mean(|sec|^2)``
  over each cell (the squares of the two bands of ISCE's ``resampOnlyAmp``).
- ``amplitude`` (float32): ``sqrt(power_reference * power_secondary)``, so that
  ``|ifg| / amplitude`` is the look-cell coherence estimate.

Every output pixel depends only on its own look cell, so results do not depend on the
dask chunking (chunks are rounded to multiples of the looks before ``map_blocks``).

Implementation: the block kernels are single-pass numba loops (these stages are
memory-bound). :func:`interferogram` uses one fused kernel,
:func:`interferogram_looks_kernel`, that reads reference, secondary and geometric phase
once and writes only the multilooked ``ifg`` and powers; it equals
``multilook_kernel(crossmul_kernel(...))`` and ``multilook_kernel(|x|^2)`` to float32
rounding (per-pixel products in float32, cell sums in float64).
"""

from __future__ import annotations

import math

import dask.array as da
import numba
import numpy as np
import xarray as xr
from pydantic import Field, model_validator

from ..errors import ConfigError
from ..geometry.ellipsoid import llh_to_ecef
from ..params import Params
from ..scene import meta_from_attrs
from .chunking import as_dask
from .coherence import coherence, phase_sigma_coherence

__all__ = [
    "InterferogramParams",
    "run",
    "crossmul_kernel",
    "multilook_kernel",
    "ground_range_spacing",
    "looks_from_posting",
    "crossmul",
    "multilook",
    "multilook_flags",
    "interferogram_looks_kernel",
    "interferogram_looks",
    "interferogram",
]


class InterferogramParams(Params):
    """Interferogram formation: looks (given, or from a posting as insarApp chooses them) and coherence."""

    azimuth_looks: int | None = Field(None, ge=1, description="looks in azimuth (overrides posting_m for this "
                                                               "axis); alone only with posting_m")
    range_looks: int | None = Field(None, ge=1, description="looks in range (overrides posting_m for this "
                                                             "axis); alone only with posting_m")
    posting_m: float | None = Field(None, gt=0, description="multilooked ground posting (m), insarApp's 'posting': "
                                                            "looks from the ground spacings at the scene centre")
    coherence_window: tuple[int, int] = Field((5, 5), description="(azimuth, range) coherence window on the "
                                                                  "multilooked grid (odd sizes)")

    @model_validator(mode="after")
    def _looks_together(self):
        if (self.azimuth_looks is None) != (self.range_looks is None) and self.posting_m is None:
            raise ValueError("give both azimuth_looks and range_looks, or posting_m for the one not given")
        if any(w < 1 or w % 2 == 0 for w in self.coherence_window):
            raise ValueError(f"coherence_window must be two odd sizes >= 1, got {list(self.coherence_window)}")
        return self


# ---------------------------------------------------------------------------
# block kernels (numpy in, numpy out)
# ---------------------------------------------------------------------------
# The per-pixel work is a few flops on 20-28 bytes of memory, so these kernels are
# memory-bound: each is one numba pass over its inputs with no full-size temporaries.
# numba has no vector sin/cos here (no SVML), so the geometric phase is turned into a
# phasor by a polynomial the compiler can vectorise: the phase (rad) is reduced to
# r in [-pi/4, pi/4] around the nearest multiple q*pi/2 in float64 (error < 1e-9 rad for
# |phase| < 1e6 rad), sin(r) and cos(r) are Taylor polynomials evaluated in float32
# (truncation < 2e-9, evaluation error ~1e-7), and the quadrant q mod 4 swaps/negates them.
# fastmath is limited to flags that keep NaN/inf semantics (no-data pixels stay NaN).
_FAST = {"contract", "arcp", "nsz"}
_TWO_OVER_PI = 2.0 / math.pi
_PI_OVER_2 = math.pi / 2.0


@numba.njit(nogil=True, fastmath=_FAST)
def _cis_neg(phase):  # pragma: no cover - compiled
    """``(cos(phase), -sin(phase))`` as float32 for a phase in rad (float32 or float64)."""
    p = np.float64(phase)
    q = np.floor(p * _TWO_OVER_PI + 0.5)  # nearest quadrant (float: NaN stays NaN)
    r = np.float32(p - q * _PI_OVER_2)  # |r| <= pi/4
    r2 = r * r
    sn = r * (np.float32(1.0) + r2 * (np.float32(-1.0 / 6.0) + r2 * (np.float32(1.0 / 120.0) + r2 * (
        np.float32(-1.0 / 5040.0) + r2 * np.float32(1.0 / 362880.0)))))
    cs = np.float32(1.0) + r2 * (np.float32(-0.5) + r2 * (np.float32(1.0 / 24.0) + r2 * (np.float32(-1.0 / 720.0) + r2 * (
        np.float32(1.0 / 40320.0) + r2 * np.float32(-1.0 / 3628800.0)))))
    m = q - 4.0 * np.floor(q * 0.25)  # quadrant 0..3
    c = cs
    s = sn
    if m == 1.0:
        c = -sn
        s = cs
    elif m == 2.0:
        c = -cs
        s = -sn
    elif m == 3.0:
        c = sn
        s = -cs
    if p != p:  # NaN phase: no data
        c = np.float32(np.nan)
    return c, -s


@numba.njit(nogil=True, fastmath=_FAST)
def _xmul(r, s):  # pragma: no cover - compiled
    """``r * conj(s)`` of two complex64 values as (real, imag) float32."""
    rr, ri = np.float32(r.real), np.float32(r.imag)
    sr, si = np.float32(s.real), np.float32(s.imag)
    return rr * sr + ri * si, ri * sr - rr * si


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def _crossmul_nb(ref, sec, out):  # pragma: no cover - compiled
    n0, n1 = ref.shape
    for i in range(n0):
        for j in range(n1):
            re, im = _xmul(ref[i, j], sec[i, j])
            out[i, j] = complex(re, im)


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def _crossmul_phase_nb(ref, sec, phase, out):  # pragma: no cover - compiled
    n0, n1 = ref.shape
    for i in range(n0):
        for j in range(n1):
            re, im = _xmul(ref[i, j], sec[i, j])
            c, s = _cis_neg(phase[i, j])  # exp(-1j*phase) = c + 1j*s
            out[i, j] = complex(re * c - im * s, re * s + im * c)


def _as_c64(x: np.ndarray) -> np.ndarray:
    """complex64, C-contiguous (one compiled layout; dask blocks normally already are)."""
    return np.ascontiguousarray(x, dtype=np.complex64)


def _as_phase(phase: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    ph = np.asarray(phase)
    ph = np.ascontiguousarray(ph, dtype=ph.dtype if ph.dtype in (np.float32, np.float64) else np.float64)
    if ph.shape != shape:
        raise ValueError(f"geometric phase block {ph.shape} does not match the SLC block {shape}")
    return ph


def crossmul_kernel(reference: np.ndarray, secondary: np.ndarray, phase: np.ndarray | None = None) -> np.ndarray:
    """``reference * conj(secondary) * exp(-1j*phase)`` as complex64.

    Parameters
    ----------
    reference, secondary : complex SLC blocks of the same shape (coregistered).
    phase : optional real block, geometric (flat-earth + topographic) phase in rad to
        remove; float32 or float64 (used as given, reduced modulo pi/2 in float64; the
        phasor error is below 1e-6 rad). A NaN phase gives a NaN pixel.

    One pass in numba (products in float32), no temporaries.
    """
    ref, sec = _as_c64(reference), _as_c64(secondary)
    if ref.shape != sec.shape or ref.ndim != 2:
        raise ValueError(f"reference {ref.shape} and secondary {sec.shape} blocks must be 2-D of one shape")
    out = np.empty(ref.shape, dtype=np.complex64)
    if phase is None:
        _crossmul_nb(ref, sec, out)
    else:
        _crossmul_phase_nb(ref, sec, _as_phase(phase, ref.shape), out)
    return out


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def _multilook_nb(x, la, lr, nc, out):  # pragma: no cover - compiled
    """Cell means of a real 2-D array whose rows hold ``nc`` interleaved components per
    pixel (1: real, 2: complex as re, im); ``out`` is the same layout, float32.

    Input rows are added in turn into one float64 row accumulator (a vectorisable
    element-wise pass, input read once, row by row); after ``la`` rows it is reduced over
    each cell's ``lr`` pixels into one output row.
    """
    m0 = out.shape[0]
    m1 = out.shape[1] // nc
    w = m1 * lr * nc
    acc = np.empty(w, dtype=np.float64)
    scale = 1.0 / (la * lr)
    for io in range(m0):
        row = x[io * la]
        for j in range(w):
            acc[j] = np.float64(row[j])
        for k in range(1, la):
            row = x[io * la + k]
            for j in range(w):
                acc[j] += np.float64(row[j])
        for jo in range(m1):
            for c in range(nc):
                s = 0.0
                for k in range(lr):
                    s += acc[(jo * lr + k) * nc + c]
                out[io, jo * nc + c] = s * scale


def multilook_kernel(x: np.ndarray, looks: tuple[int, int]) -> np.ndarray:
    """Boxcar mean over non-overlapping ``(az_looks, rg_looks)`` cells.

    The block's shape must be a multiple of ``looks`` (the stage function ensures it).
    Sums are accumulated in double precision; the output is single precision (complex64,
    float32) unless the input is double precision (complex128, float64: kept, e.g. for
    longitude/latitude in deg, where float32 would round to ~1 m). One numba pass that
    streams the input row by row into a row of double-precision cell accumulators.
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"multilook needs a 2-D block, got shape {x.shape}")
    la, lr = _check_looks(x.shape, looks)
    n0, n1 = x.shape
    if np.iscomplexobj(x):
        if x.dtype != np.complex64 and x.dtype != np.complex128:
            x = x.astype(np.complex128)
        x = np.ascontiguousarray(x)
        out = np.empty((n0 // la, n1 // lr), dtype=_looks_dtype(x.dtype))
        # complex rows as interleaved (re, im) real rows
        _multilook_nb(x.view(x.real.dtype), la, lr, 2, out.view(out.real.dtype))
    else:
        x = np.ascontiguousarray(x, dtype=x.dtype if x.dtype in (np.float32, np.float64) else np.float64)
        out = np.empty((n0 // la, n1 // lr), dtype=_looks_dtype(x.dtype))
        _multilook_nb(x, la, lr, 1, out)
    return out


def _check_looks(shape: tuple[int, int], looks) -> tuple[int, int]:
    """(az_looks, rg_looks) as ints, checked positive and dividing the block ``shape``."""
    la, lr = int(looks[0]), int(looks[1])
    if la < 1 or lr < 1:
        raise ValueError(f"looks must be positive integers, got {looks}")
    if shape[0] % la or shape[1] % lr:
        raise ValueError(f"block shape {tuple(shape)} is not a multiple of looks {looks}")
    return la, lr


def _looks_dtype(dtype) -> np.dtype:
    """Output dtype of a multilook: double precision kept, everything else single."""
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        return np.dtype(np.complex128 if dtype == np.complex128 else np.complex64)
    return np.dtype(np.float64 if dtype == np.float64 else np.float32)


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def _ifg_looks_nb(ref, sec, phase, la, lr, ifg, p_ref, p_sec):  # pragma: no cover - compiled
    """Fused kernel; ``phase`` is a 2-D array or None (numba compiles each case separately).

    Per pixel the float32 products of :func:`crossmul_kernel` and the two powers are added
    into float64 row accumulators (one vectorisable pass per input row); every ``la`` rows
    they are reduced over each cell's ``lr`` pixels into one output row.
    """
    m0, m1 = ifg.shape
    n1 = m1 * lr
    a_re = np.empty(n1, dtype=np.float64)
    a_im = np.empty(n1, dtype=np.float64)
    a_pr = np.empty(n1, dtype=np.float64)
    a_ps = np.empty(n1, dtype=np.float64)
    scale = 1.0 / (la * lr)
    for io in range(m0):
        a_re[:] = 0.0
        a_im[:] = 0.0
        a_pr[:] = 0.0
        a_ps[:] = 0.0
        for k in range(la):
            i = io * la + k
            rrow = ref[i]
            srow = sec[i]
            if phase is None:
                for j in range(n1):
                    r = rrow[j]
                    s = srow[j]
                    re, im = _xmul(r, s)
                    a_re[j] += np.float64(re)
                    a_im[j] += np.float64(im)
                    a_pr[j] += np.float64(r.real * r.real + r.imag * r.imag)
                    a_ps[j] += np.float64(s.real * s.real + s.imag * s.imag)
            else:
                prow = phase[i]
                for j in range(n1):
                    r = rrow[j]
                    s = srow[j]
                    re, im = _xmul(r, s)
                    c, sn = _cis_neg(prow[j])
                    a_re[j] += np.float64(re * c - im * sn)
                    a_im[j] += np.float64(re * sn + im * c)
                    a_pr[j] += np.float64(r.real * r.real + r.imag * r.imag)
                    a_ps[j] += np.float64(s.real * s.real + s.imag * s.imag)
        for jo in range(m1):
            sre = 0.0
            sim = 0.0
            spr = 0.0
            sps = 0.0
            for k in range(jo * lr, jo * lr + lr):
                sre += a_re[k]
                sim += a_im[k]
                spr += a_pr[k]
                sps += a_ps[k]
            ifg[io, jo] = complex(sre * scale, sim * scale)
            p_ref[io, jo] = spr * scale
            p_sec[io, jo] = sps * scale


def interferogram_looks_kernel(reference: np.ndarray, secondary: np.ndarray, phase: np.ndarray | None,
                               looks: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fused crossmul + multilook + powers: one pass over ``reference``, ``secondary``, ``phase``.

    Returns the multilooked ``ifg = mean(ref * conj(sec) * exp(-1j*phase))`` (complex64)
    and ``power_reference = mean(|ref|^2)``, ``power_secondary = mean(|sec|^2)`` (float32),
    each over non-overlapping ``(az_looks, rg_looks)`` cells. Per pixel the products are
    formed in float32 exactly as :func:`crossmul_kernel` does; the cell sums are in float64,
    so the result equals ``multilook_kernel(crossmul_kernel(...))`` to float32 rounding.
    The block's shape must be a multiple of ``looks``.
    """
    ref, sec = _as_c64(reference), _as_c64(secondary)
    if ref.shape != sec.shape or ref.ndim != 2:
        raise ValueError(f"reference {ref.shape} and secondary {sec.shape} blocks must be 2-D of one shape")
    n0, n1 = ref.shape
    la, lr = _check_looks(ref.shape, looks)
    shape = (n0 // la, n1 // lr)
    ifg = np.empty(shape, dtype=np.complex64)
    p_ref = np.empty(shape, dtype=np.float32)
    p_sec = np.empty(shape, dtype=np.float32)
    ph = None if phase is None else _as_phase(phase, ref.shape)
    _ifg_looks_nb(ref, sec, ph, la, lr, ifg, p_ref, p_sec)
    return ifg, p_ref, p_sec


def _power_kernel(x: np.ndarray) -> np.ndarray:
    """``|x|^2`` as float32."""
    x = x.astype(np.complex64, copy=False)
    return (x.real * x.real + x.imag * x.imag).astype(np.float32)


def ground_range_spacing(slant_range_spacing_m: float, incidence_deg: float) -> float:
    """Ground-range pixel spacing (m) = slant-range spacing / sin(incidence angle)."""
    s = math.sin(math.radians(float(incidence_deg)))
    if s <= 0:
        raise ValueError(f"incidence angle {incidence_deg} deg gives no ground-range projection")
    return float(slant_range_spacing_m) / s


def looks_from_posting(posting_m: float, azimuth_spacing_m: float, ground_range_spacing_m: float) -> tuple[int, int]:
    """Azimuth and range looks that give an interferogram posting of about ``posting_m``.

    The rule is insarApp's (``runPrepareResamps``), including its two rounding modes:

    - range looks   = ``int(posting / ground_range_spacing + 0.5)`` (halves round up),
    - azimuth looks = ``round(posting / azimuth_spacing)`` (Python ``round``: halves to even),
    - each at least 1.

    ``ground_range_spacing_m`` is slant-range spacing / sin(incidence), see
    :func:`ground_range_spacing`. Returns ``(az_looks, rg_looks)``.
    """
    if posting_m <= 0 or azimuth_spacing_m <= 0 or ground_range_spacing_m <= 0:
        raise ValueError("posting and pixel spacings must be positive (m)")
    rg = int(posting_m / ground_range_spacing_m + 0.5)
    az = int(round(posting_m / azimuth_spacing_m))
    return max(az, 1), max(rg, 1)


# ---------------------------------------------------------------------------
# dask stage functions
# ---------------------------------------------------------------------------
def _check_same_grid(ref: da.Array, sec: da.Array) -> None:
    if ref.shape != sec.shape or ref.ndim != 2:
        raise ValueError(f"reference {ref.shape} and secondary {sec.shape} SLCs differ in shape "
                         "(they must be coregistered on one 2-D grid)")


def crossmul(reference, secondary, phase=None) -> da.Array:
    """Lazy ``reference * conj(secondary) * exp(-1j*phase)`` (complex64), chunked like ``reference``."""
    ref = as_dask(reference)
    sec = as_dask(secondary, ref)
    _check_same_grid(ref, sec)
    sec = sec.rechunk(ref.chunks)
    args = [ref, sec]
    if phase is not None:
        ph = as_dask(phase, ref).rechunk(ref.chunks)
        if ph.shape != ref.shape:
            raise ValueError(f"geometric phase {ph.shape} does not match the SLC grid {ref.shape}")
        args.append(ph)
    return da.map_blocks(crossmul_kernel, *args, dtype=np.complex64, token="crossmul")


def _chunks_multiple_of(chunks: tuple[int, ...], look: int) -> int:
    """A chunk length that is a multiple of ``look``, close to the typical input chunk."""
    typical = max(chunks) if chunks else look
    return max(look, (typical // look) * look)


def _look_ready(x: da.Array, looks: tuple[int, int]) -> da.Array:
    la, lr = looks
    n0, n1 = (x.shape[0] // la) * la, (x.shape[1] // lr) * lr
    if n0 == 0 or n1 == 0:
        raise ValueError(f"array of shape {x.shape} is smaller than one look cell {looks}")
    x = x[:n0, :n1]
    return x.rechunk((_chunks_multiple_of(x.chunks[0], la), _chunks_multiple_of(x.chunks[1], lr)))


def multilook(x, looks: tuple[int, int]) -> da.Array:
    """Lazy boxcar-mean multilook by integer ``(az_looks, rg_looks)``; see :func:`multilook_kernel`.

    Trailing rows/columns that do not fill a whole look cell are dropped. The input is
    rechunked to multiples of the looks, so the result does not depend on its chunks.
    """
    la, lr = int(looks[0]), int(looks[1])
    if la < 1 or lr < 1:
        raise ValueError(f"looks must be positive integers, got {looks}")
    x = as_dask(x)
    dtype = _looks_dtype(x.dtype)
    if (la, lr) == (1, 1):
        return x.astype(dtype)
    x = _look_ready(x, (la, lr))
    out_chunks = (tuple(c // la for c in x.chunks[0]), tuple(c // lr for c in x.chunks[1]))
    return da.map_blocks(multilook_kernel, x, looks=(la, lr), chunks=out_chunks, dtype=dtype, token="multilook")


def _flags_kernel(x: np.ndarray, looks: tuple[int, int]) -> np.ndarray:
    la, lr = _check_looks(x.shape, looks)
    return np.bitwise_or.reduce(np.bitwise_or.reduce(x.reshape(x.shape[0] // la, la, x.shape[1] // lr, lr), axis=3),
                                axis=1)


def multilook_flags(x, looks: tuple[int, int]) -> da.Array:
    """Lazy bitwise OR of integer flags over each look cell (cells as :func:`multilook`): a cell holding
    shadow (1) and layover (2) pixels of a layover/shadow mask is 3."""
    la, lr = int(looks[0]), int(looks[1])
    x = _look_ready(as_dask(x), (la, lr))
    out_chunks = (tuple(c // la for c in x.chunks[0]), tuple(c // lr for c in x.chunks[1]))
    return da.map_blocks(_flags_kernel, x, looks=(la, lr), chunks=out_chunks, dtype=x.dtype, token="multilook-flags")


def look_coordinates(c: np.ndarray, look: int) -> np.ndarray:
    """Coordinates of multilooked pixels: the mean over each look cell (trailing remainder dropped)."""
    n = (len(c) // look) * look
    return np.asarray(c[:n], dtype=np.float64).reshape(-1, look).mean(axis=1)


def _looks_block(reference, secondary, phase=None, *, looks):
    """Fused kernel on one block, its three products packed as one (3, ...) complex64 block."""
    ifg, p_ref, p_sec = interferogram_looks_kernel(reference, secondary, phase, looks)
    out = np.empty((3,) + ifg.shape, dtype=np.complex64)
    out[0] = ifg
    out[1] = p_ref
    out[2] = p_sec
    return out


def interferogram_looks(reference, secondary, looks: tuple[int, int], geometric_phase=None
                        ) -> tuple[da.Array, da.Array, da.Array]:
    """Lazy multilooked ``ifg`` (complex64), ``power_reference``, ``power_secondary`` (float32).

    One fused pass (:func:`interferogram_looks_kernel`) per block: the full-resolution
    interferogram and powers are never materialised. Inputs are cropped to whole look cells
    and rechunked to multiples of the looks, so the result does not depend on their chunks.
    """
    la, lr = int(looks[0]), int(looks[1])
    if la < 1 or lr < 1:
        raise ValueError(f"looks must be positive integers, got {looks}")
    ref = as_dask(reference)
    sec = as_dask(secondary, ref)
    _check_same_grid(ref, sec)
    ph = None
    if geometric_phase is not None:
        ph = as_dask(geometric_phase, ref)
        if ph.shape != ref.shape:
            raise ValueError(f"geometric phase {ph.shape} does not match the SLC grid {ref.shape}")
    ref = _look_ready(ref, (la, lr))
    n0, n1 = ref.shape
    args = [ref, sec[:n0, :n1].rechunk(ref.chunks)]
    if ph is not None:
        args.append(ph[:n0, :n1].rechunk(ref.chunks))
    out_chunks = ((3,), tuple(c // la for c in ref.chunks[0]), tuple(c // lr for c in ref.chunks[1]))
    packed = da.map_blocks(_looks_block, *args, looks=(la, lr), chunks=out_chunks, new_axis=0,
                           dtype=np.complex64, token="interferogram-looks")
    return packed[0], packed[1].real, packed[2].real


def interferogram(reference, secondary, looks: tuple[int, int] = (1, 1), geometric_phase=None) -> xr.Dataset:
    """The ``interferogram`` product: multilooked ``ifg``, ``amplitude`` and the two powers.

    Parameters
    ----------
    reference, secondary : coregistered complex SLCs, ``xr.DataArray`` with dims
        ``(azimuth, range)`` (coordinates ``azimuth_time`` s, ``slant_range`` m are carried
        over and averaged per look cell) or plain numpy/dask arrays.
    looks : ``(az_looks, rg_looks)`` integers, see :func:`looks_from_posting`.
    geometric_phase : optional real array (rad) on the SLC grid, removed before looking.

    Returns
    -------
    xr.Dataset with ``ifg`` (complex64), ``amplitude``, ``power_reference``,
    ``power_secondary`` (float32), dims ``(azimuth, range)``, attrs ``looks``.
    """
    la, lr = int(looks[0]), int(looks[1])
    ifg, p_ref, p_sec = interferogram_looks(reference, secondary, (la, lr), geometric_phase)
    amp = da.sqrt(p_ref * p_sec).astype(np.float32)
    dims = ("azimuth", "range")
    coords = {}
    if isinstance(reference, xr.DataArray):
        for name in ("azimuth_time", "slant_range"):
            if name in reference.coords:
                dim = reference.coords[name].dims[0]
                look = la if dim == "azimuth" else lr
                coords[name] = (dim, look_coordinates(reference.coords[name].values, look))
    ds = xr.Dataset(
        {
            "ifg": (dims, ifg, {"long_name": "interferogram reference*conj(secondary), multilooked",
                                "units": "complex", "isce_name": "topophase.flat"}),
            "amplitude": (dims, amp, {"long_name": "sqrt(mean|ref|^2 * mean|sec|^2)", "units": "SLC amplitude"}),
            "power_reference": (dims, p_ref, {"long_name": "mean |reference|^2 per look cell"}),
            "power_secondary": (dims, p_sec, {"long_name": "mean |secondary|^2 per look cell"}),
        },
        coords=coords,
        attrs={"looks": [la, lr], "geometric_phase_removed": geometric_phase is not None,
               "convention": "ifg = reference * conj(secondary) * exp(-1j*geometric_phase)"},
    )
    return ds


# ---------------------------------------------------------------------------
# the stage contract
# ---------------------------------------------------------------------------
#: fraction of the boxcar looks that are independent: SLC samples are correlated by their
#: oversampling (range sampling rate / bandwidth ~ 1.1-1.2, PRF / processed bandwidth ~ 1.2)
INDEPENDENT_LOOK_FRACTION = 0.7
GEOMETRY_FIELDS = ("lon", "lat", "hgt", "incidence", "heading")


def ground_spacing(lon_deg: np.ndarray, lat_deg: np.ndarray, hgt_m: np.ndarray, incidence_deg: np.ndarray,
                   slant_range_spacing_m: float) -> tuple[float, float]:
    """(azimuth, ground range) pixel spacing (m) at the centre of a grid of ground points (WGS84).

    Azimuth: the distance between the ground points of neighbouring lines at one height (the centre
    pixel's), median over the columns near the centre that have a solution; ground range:
    :func:`ground_range_spacing` of the centre incidence (insarApp's rule).
    """
    n0, n1 = lon_deg.shape
    i, j0, j1 = max(n0 // 2 - 1, 0), max(n1 // 2 - 8, 0), min(n1 // 2 + 8, n1)
    if n0 < 2:
        raise ValueError("an azimuth spacing needs at least two lines")
    lon, lat, hgt, inc = (np.asarray(a[i:i + 2, j0:j1], np.float64) for a in (lon_deg, lat_deg, hgt_m, incidence_deg))
    h = np.broadcast_to(hgt[:1], hgt.shape)
    xyz = llh_to_ecef(lon, lat, h)
    d_az = np.linalg.norm(xyz[1] - xyz[0], axis=-1)
    ok = np.isfinite(d_az) & np.isfinite(inc[0])
    if not ok.any():
        raise ValueError("no ground point with a solution near the scene centre")
    return float(np.median(d_az[ok])), ground_range_spacing(slant_range_spacing_m, float(np.median(inc[0][ok])))


def choose_looks(params: InterferogramParams, geometry: xr.Dataset, slant_range_spacing_m: float
                 ) -> tuple[int, int]:
    """(azimuth, range) looks: as given, from ``posting_m`` and the ground spacings of ``geometry``
    (lon, lat, hgt, incidence at full resolution) for an axis not given (as insarApp does), or 1 x 1."""
    if params.azimuth_looks is not None and params.range_looks is not None:
        return int(params.azimuth_looks), int(params.range_looks)
    if params.posting_m is None:
        return (1, 1)
    n0, n1 = geometry.sizes["azimuth"], geometry.sizes["range"]
    win = dict(azimuth=slice(max(n0 // 2 - 1, 0), n0 // 2 + 1), range=slice(max(n1 // 2 - 8, 0), n1 // 2 + 8))
    g = geometry[["lon", "lat", "hgt", "incidence"]].isel(win).compute()
    az_m, rg_m = ground_spacing(g["lon"].values, g["lat"].values, g["hgt"].values, g["incidence"].values,
                                slant_range_spacing_m)
    la, lr = looks_from_posting(params.posting_m, az_m, rg_m)
    return (int(params.azimuth_looks or la), int(params.range_looks or lr))


def run(inputs: xr.Dataset, params: InterferogramParams) -> xr.Dataset:
    """The flattened, multilooked interferogram and its coherences, with the geometry multilooked.

    ``inputs`` on the reference grid: ``reference`` and ``secondary`` (coregistered SLCs),
    ``geometric_phase`` (rad, removed), ``lon``, ``lat``, ``hgt``, ``incidence``, ``heading`` (topo), and
    the reference metadata in the ``reference_*`` attributes; optionally ``layover_shadow`` (uint8 flags,
    multilooked by OR). Returns :func:`interferogram`'s products
    plus ``coherence`` (ISCE ``topophase.cor``), ``phsig`` (``phsig.cor``) and the geometry averaged per
    look cell (heading as a mean unit vector); attributes ``looks``, ``effective_looks`` (independent
    looks of the coherence estimate), ``coherence_window``, ``wavelength_m``.
    """
    meta = meta_from_attrs(inputs.attrs, "reference")
    dr = float(inputs["slant_range"][1] - inputs["slant_range"][0]) if inputs.sizes["range"] > 1 else meta.range_spacing_m
    looks = choose_looks(params, inputs, dr)
    if looks[0] > inputs.sizes["azimuth"] or looks[1] > inputs.sizes["range"]:
        raise ConfigError(f"interferogram: {looks[0]} x {looks[1]} looks exceed the "
                          f"{inputs.sizes['azimuth']} x {inputs.sizes['range']} image")
    ds = interferogram(inputs["reference"], inputs["secondary"], looks, geometric_phase=inputs["geometric_phase"].data)
    win = (int(params.coherence_window[0]), int(params.coherence_window[1]))
    ds["coherence"] = (("azimuth", "range"), coherence(ds["ifg"].data, ds["power_reference"].data,
                                                       ds["power_secondary"].data, win),
                       {"long_name": "sample coherence", "isce_name": "topophase.cor", "units": "1"})
    ds["phsig"] = (("azimuth", "range"), phase_sigma_coherence(ds["ifg"].data, win),
                   {"long_name": "phase-sigma coherence", "isce_name": "phsig.cor", "units": "1"})
    for name in GEOMETRY_FIELDS:
        src = inputs[name].data
        if name == "heading":  # average unit vectors, not angles
            rad = da.deg2rad(src.astype(np.float64))
            arr = da.rad2deg(da.arctan2(multilook(da.sin(rad), looks), multilook(da.cos(rad), looks)))
            arr = arr.astype(np.float32)
        else:
            arr = multilook(src.astype(np.float64), looks)
            arr = arr.astype(np.float64 if name in ("lon", "lat") else np.float32)
        ds[name] = (("azimuth", "range"), arr, dict(inputs[name].attrs))
    if "layover_shadow" in inputs:  # the layover stage's mask: OR of the flags in each look cell
        ds["layover_shadow"] = (("azimuth", "range"), multilook_flags(inputs["layover_shadow"].data, looks),
                                dict(inputs["layover_shadow"].attrs))
    ds.attrs.update(looks=list(looks), coherence_window=list(win), wavelength_m=meta.wavelength_m,
                    effective_looks=max(1.0, looks[0] * looks[1] * INDEPENDENT_LOOK_FRACTION))
    return ds
