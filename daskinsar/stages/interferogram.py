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
"""

from __future__ import annotations

import math

import dask.array as da
import numpy as np
import xarray as xr

__all__ = [
    "crossmul_kernel",
    "multilook_kernel",
    "ground_range_spacing",
    "looks_from_posting",
    "crossmul",
    "multilook",
    "interferogram",
]


# ---------------------------------------------------------------------------
# block kernels (numpy in, numpy out)
# ---------------------------------------------------------------------------
def crossmul_kernel(reference: np.ndarray, secondary: np.ndarray, phase: np.ndarray | None = None) -> np.ndarray:
    """``reference * conj(secondary) * exp(-1j*phase)`` as complex64.

    Parameters
    ----------
    reference, secondary : complex SLC blocks of the same shape (coregistered).
    phase : optional real block, geometric (flat-earth + topographic) phase in rad to remove.
    """
    ifg = reference.astype(np.complex64, copy=False) * np.conj(secondary.astype(np.complex64, copy=False))
    if phase is not None:
        ph = np.asarray(phase, dtype=np.float32)
        ifg *= (np.cos(ph) - 1j * np.sin(ph)).astype(np.complex64)
    return ifg.astype(np.complex64, copy=False)


def multilook_kernel(x: np.ndarray, looks: tuple[int, int]) -> np.ndarray:
    """Boxcar mean over non-overlapping ``(az_looks, rg_looks)`` cells.

    The block's shape must be a multiple of ``looks`` (the stage function ensures it).
    Sums are accumulated in double precision; the output keeps the input's dtype kind
    (complex64 for complex, float32 for real).
    """
    la, lr = int(looks[0]), int(looks[1])
    n0, n1 = x.shape
    if n0 % la or n1 % lr:
        raise ValueError(f"block shape {x.shape} is not a multiple of looks {looks}")
    acc = np.complex128 if np.iscomplexobj(x) else np.float64
    out = x.reshape(n0 // la, la, n1 // lr, lr).sum(axis=(1, 3), dtype=acc) / (la * lr)
    return out.astype(np.complex64 if np.iscomplexobj(x) else np.float32)


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
def _as_dask(x, like=None) -> da.Array:
    if isinstance(x, xr.DataArray):
        x = x.data
    if isinstance(x, da.Array):
        return x
    x = np.asarray(x)
    chunks = like.chunks if (like is not None and like.shape == x.shape) else "auto"
    return da.from_array(x, chunks=chunks)


def _check_same_grid(ref: da.Array, sec: da.Array) -> None:
    if ref.shape != sec.shape or ref.ndim != 2:
        raise ValueError(f"reference {ref.shape} and secondary {sec.shape} SLCs differ in shape "
                         "(they must be coregistered on one 2-D grid)")


def crossmul(reference, secondary, phase=None) -> da.Array:
    """Lazy ``reference * conj(secondary) * exp(-1j*phase)`` (complex64), chunked like ``reference``."""
    ref = _as_dask(reference)
    sec = _as_dask(secondary, ref)
    _check_same_grid(ref, sec)
    sec = sec.rechunk(ref.chunks)
    args = [ref, sec]
    if phase is not None:
        ph = _as_dask(phase, ref).rechunk(ref.chunks)
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
    x = _as_dask(x)
    if (la, lr) == (1, 1):
        return x.astype(np.complex64 if np.iscomplexobj(x) else np.float32)
    x = _look_ready(x, (la, lr))
    out_chunks = (tuple(c // la for c in x.chunks[0]), tuple(c // lr for c in x.chunks[1]))
    dtype = np.complex64 if np.iscomplexobj(x) else np.float32
    return da.map_blocks(multilook_kernel, x, looks=(la, lr), chunks=out_chunks, dtype=dtype, token="multilook")


def look_coordinates(c: np.ndarray, look: int) -> np.ndarray:
    """Coordinates of multilooked pixels: the mean over each look cell (trailing remainder dropped)."""
    n = (len(c) // look) * look
    return np.asarray(c[:n], dtype=np.float64).reshape(-1, look).mean(axis=1)


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
    ref = _as_dask(reference)
    sec = _as_dask(secondary, ref)
    _check_same_grid(ref, sec)
    sec = sec.rechunk(ref.chunks)
    ifg = multilook(crossmul(ref, sec, geometric_phase), (la, lr))
    p_ref = multilook(da.map_blocks(_power_kernel, ref, dtype=np.float32, token="power-reference"), (la, lr))
    p_sec = multilook(da.map_blocks(_power_kernel, sec, dtype=np.float32, token="power-secondary"), (la, lr))
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
