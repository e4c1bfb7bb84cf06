"""Enhanced spectral diversity (ESD): the residual azimuth misregistration of a coregistered
TOPS pair, from the phase of the burst overlaps.

In the overlap of bursts ``k`` (forward look: its late lines, high Doppler) and ``k + 1``
(backward look: its early lines, low Doppler) every ground pixel is imaged twice. If the
resampled secondary at a reference pixel holds the signal that belongs ``Delta`` lines
further on (coregistration offsets short by ``Delta``), each interferogram
``ref * conj(sec)`` picks up ``-2 pi f Delta dt`` with ``f`` the local Doppler centroid of
its burst; the double difference ``ifg_fwd * conj(ifg_bwd)`` keeps

    phi = -2 pi (f_fwd - f_bwd) Delta dt       (everything else common to both looks cancels)

Estimator (per overlap, and pooled over overlaps): the interferograms are summed over look
cells of ``looks`` pixels; per cell ``phi_c = arg(I_fwd conj(I_bwd))``, its coherence-based
variance ``var_c = (1 - g_f^2) / (2 L g_f^2) + (1 - g_b^2) / (2 L g_b^2)`` (``g`` the cell
coherences, ``L`` looks) and the mean Doppler difference ``df_c``; cells with
``g_f g_b < min_coherence`` are dropped; the weighted least-squares solution of
``phi_c = -2 pi df_c dt Delta`` with weights ``1 / var_c`` is

    Delta = -sum(w df phi) / (2 pi dt sum(w df^2)),  std = 1 / (2 pi dt sqrt(sum(w df^2)))   (lines)

Valid for ``|Delta| < 1 / (2 df dt)`` (about 0.05 lines for IW): ESD refines a geometric
coregistration, it does not replace it. Pixels that are zero (outside valid windows) add
nothing.

The stage: :func:`run` takes the overlaps of a pair (one dataset each: both bursts' reference
and resampled secondary, their geometric phases and TOPS parameters) and returns the estimate
pooled over every overlap of every subswath (the misregistration is a timing error of the whole
acquisition), computed block by block; :class:`EsdParams` is the run configuration's ``esd``
section. The pipeline subtracts the estimate from the azimuth offsets before the final
resampling (``steps_tops.build_resample``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import dask
import numpy as np
import xarray as xr
from pydantic import Field

from ..bursts import TopsBurstParameters
from ..params import Params
from .tops import local_doppler_hz

__all__ = ["EsdParams", "EsdEstimate", "overlap_lines", "esd_overlap", "esd_combine", "OVERLAP_VARIABLES", "run"]


class EsdParams(Params):
    """Enhanced spectral diversity: the residual azimuth misregistration of a TOPS pair from its burst
    overlaps, estimated after the geometric coregistration and removed before the final resampling."""

    enabled: bool = Field(True, description="estimate and apply the ESD misregistration (TOPS pairs with at "
                                            "least one burst overlap); false: geometric azimuth coregistration only")
    azimuth_looks: int = Field(5, ge=1, description="look cell height of the ESD phase estimate (lines)")
    range_looks: int = Field(16, ge=1, description="look cell width of the ESD phase estimate (samples)")
    min_coherence: float = Field(0.3, ge=0.0, le=1.0, description="cells whose forward x backward coherence is "
                                                                  "below this are not used")
    max_misregistration_lines: float = Field(0.04, gt=0.0, le=0.05, description="refuse an estimate larger than "
                                             "this (lines): ESD is ambiguous beyond 1/(2 df dt), about 0.05 "
                                             "line in IW, so a larger value is unreliable")


def overlap_lines(forward: TopsBurstParameters, backward: TopsBurstParameters,
                  tolerance_lines: float = 0.01) -> tuple[slice, slice]:
    """The lines of two consecutive bursts of a subswath that image the same azimuth times, both
    valid: (lines of the forward = earlier burst, lines of the backward = later burst)."""
    dt = forward.line_interval_s
    n = (backward.first_line_time_s - forward.first_line_time_s) / dt
    k = int(round(n))
    if abs(n - k) > tolerance_lines or not np.isclose(backward.line_interval_s, dt, rtol=1e-9, atol=0):
        raise ValueError(f"overlap_lines: {backward.key} is not on the line lattice of {forward.key} "
                         f"({n - k:+.4f} lines off)")
    a = max(forward.valid_first_line, backward.valid_first_line + k)
    b = min(forward.valid_last_line, backward.valid_last_line + k) + 1
    if b <= a:
        raise ValueError(f"overlap_lines: {forward.key} and {backward.key} do not overlap")
    return slice(a, b), slice(a - k, b - k)


@dataclass(frozen=True)
class EsdEstimate:
    """A misregistration estimate (lines; positive: the resampled secondary holds what belongs later)."""

    misregistration_lines: float
    std_lines: float
    n_cells: int
    mean_coherence: float
    doppler_difference_hz: float  # weighted mean f_fwd - f_bwd
    numerator: float  # -sum(w df phi) / (2 pi dt): pooled across overlaps by esd_combine
    denominator: float  # sum(w df^2)


def _cells(x: np.ndarray, looks: tuple[int, int]) -> np.ndarray:
    la, lr = looks
    na, nr = x.shape[0] // la, x.shape[1] // lr
    return x[: na * la, : nr * lr].reshape(na, la, nr, lr).sum(axis=(1, 3))


def esd_overlap(ref_fwd: np.ndarray, sec_fwd: np.ndarray, ref_bwd: np.ndarray, sec_bwd: np.ndarray,
                doppler_difference_hz: np.ndarray, line_interval_s: float, *, looks: tuple[int, int] = (5, 16),
                min_coherence: float = 0.3, flatten_fwd_rad: np.ndarray | None = None,
                flatten_bwd_rad: np.ndarray | None = None) -> EsdEstimate:
    """ESD of one overlap (module docstring).

    All arrays are the same ground pixels (overlap lines x samples) on the reference grid:
    the reference and the resampled (reramped) secondary of the forward burst and of the
    backward burst, and the Doppler difference ``f_fwd - f_bwd`` (Hz) at each pixel.
    ``flatten_*_rad``: a phase removed from each interferogram before the look sums (the
    geometric phase: the coherence weights then see decorrelation, not fringes).
    """
    shapes = {np.shape(a) for a in (ref_fwd, sec_fwd, ref_bwd, sec_bwd, doppler_difference_hz)}
    if len(shapes) != 1:
        raise ValueError(f"esd_overlap: inputs differ in shape: {sorted(shapes)}")
    L = looks[0] * looks[1]
    ifg_f = ref_fwd * np.conj(sec_fwd)
    ifg_b = ref_bwd * np.conj(sec_bwd)
    if flatten_fwd_rad is not None:
        ifg_f = ifg_f * np.exp(-1j * np.asarray(flatten_fwd_rad))
    if flatten_bwd_rad is not None:
        ifg_b = ifg_b * np.exp(-1j * np.asarray(flatten_bwd_rad))
    i_f = _cells(ifg_f, looks)
    i_b = _cells(ifg_b, looks)
    p = [_cells(np.abs(a) ** 2, looks) for a in (ref_fwd, sec_fwd, ref_bwd, sec_bwd)]
    n_valid = _cells(((ref_fwd != 0) & (sec_fwd != 0) & (ref_bwd != 0) & (sec_bwd != 0)).astype(np.float64), looks)
    df = _cells(np.asarray(doppler_difference_hz, np.float64), looks) / L
    with np.errstate(invalid="ignore", divide="ignore"):
        g_f = np.abs(i_f) / np.sqrt(p[0] * p[1])
        g_b = np.abs(i_b) / np.sqrt(p[2] * p[3])
        g_f, g_b = np.clip(g_f, 1e-6, 0.9999), np.clip(g_b, 1e-6, 0.9999)
        var = (1 - g_f**2) / (2 * L * g_f**2) + (1 - g_b**2) / (2 * L * g_b**2)
    ok = (n_valid == L) & np.isfinite(var) & (g_f * g_b >= min_coherence)
    if not ok.any():
        raise ValueError("esd_overlap: no look cell is complete and coherent enough")
    phi = np.angle(i_f * np.conj(i_b))[ok]
    w = 1.0 / var[ok]
    d = df[ok]
    num = -float(np.sum(w * d * phi)) / (2 * np.pi * line_interval_s)
    den = float(np.sum(w * d * d))
    return EsdEstimate(misregistration_lines=num / den, std_lines=1.0 / (2 * np.pi * line_interval_s * np.sqrt(den)),
                       n_cells=int(ok.sum()), mean_coherence=float(np.mean((g_f * g_b)[ok])),
                       doppler_difference_hz=float(np.sum(w * d) / np.sum(w)), numerator=num, denominator=den)


def esd_combine(overlaps: Sequence[EsdEstimate], line_interval_s: float) -> EsdEstimate:
    """The pooled estimate of several overlaps (one weighted least-squares solution over all cells)."""
    if not overlaps:
        raise ValueError("esd_combine: no overlaps")
    num = sum(o.numerator for o in overlaps)
    den = sum(o.denominator for o in overlaps)
    n = sum(o.n_cells for o in overlaps)
    return EsdEstimate(misregistration_lines=num / den, std_lines=1.0 / (2 * np.pi * line_interval_s * np.sqrt(den)),
                       n_cells=n, mean_coherence=float(sum(o.mean_coherence * o.n_cells for o in overlaps) / n),
                       doppler_difference_hz=float(sum(o.doppler_difference_hz * o.n_cells for o in overlaps) / n),
                       numerator=num, denominator=den)


#: the variables of an overlap dataset (:func:`run`), on the same ground pixels (overlap lines x samples)
OVERLAP_VARIABLES = ("reference_forward", "secondary_forward", "reference_backward", "secondary_backward",
                     "phase_forward", "phase_backward")


def _partial(rf, sf, rb, sb, pf, pb, t, r, forward: TopsBurstParameters, backward: TopsBurstParameters,
             looks: tuple[int, int], min_coherence: float) -> EsdEstimate | None:
    df = local_doppler_hz(forward, t[:, None], r[None, :]) - local_doppler_hz(backward, t[:, None], r[None, :])
    try:
        return esd_overlap(rf, sf, rb, sb, df, forward.line_interval_s, looks=looks, min_coherence=min_coherence,
                           flatten_fwd_rad=pf, flatten_bwd_rad=pb)
    except ValueError:  # no complete, coherent cell in this block
        return None


def run(overlaps: Sequence[xr.Dataset], params: EsdParams, block_samples: int = 1024) -> EsdEstimate:
    """The pooled ESD estimate of burst overlaps (computed here; memory bounded by one block of one
    overlap: tasks ``tops-esd-<forward>-<backward>-<block>``).

    Each overlap dataset holds :data:`OVERLAP_VARIABLES` on dims (azimuth, range): the reference
    and the resampled (reramped) secondary of the forward (earlier) burst and of the backward burst
    and the geometric phase of each (rad, removed before the look sums), with coordinates
    ``azimuth_time`` (s, of the forward burst's epoch) and ``slant_range`` (m), and the two bursts'
    TOPS parameters (JSON) in attributes ``forward_tops`` / ``backward_tops``. The local Doppler
    difference ``f_fwd - f_bwd`` of every pixel comes from those parameters. Raises ValueError when
    no overlap has a usable cell.
    """
    la, lr = int(params.azimuth_looks), int(params.range_looks)
    width = lr * max(1, -(-block_samples // lr))  # blocks hold whole look cells: chunk-independent cells
    tasks = []
    for ov in overlaps:
        fwd = TopsBurstParameters.model_validate_json(ov.attrs["forward_tops"])
        bwd = TopsBurstParameters.model_validate_json(ov.attrs["backward_tops"])
        t = np.asarray(ov["azimuth_time"].values, np.float64)
        r = np.asarray(ov["slant_range"].values, np.float64)
        tok = dask.base.tokenize(*(ov[v].data for v in OVERLAP_VARIABLES), fwd, bwd, params, width)
        # one block per task and variable, taken from the whole graph unoptimised: what the overlaps share
        # upstream (a secondary burst's deramped blocks) is computed once, not once per task that needs it
        blocks = [ov[v].data.rechunk((-1, width)).to_delayed(optimize_graph=False)[0] for v in OVERLAP_VARIABLES]
        for k, c0 in enumerate(range(0, len(r), width)):
            cols = slice(c0, min(c0 + width, len(r)))
            args = [b[k] for b in blocks]
            tasks.append(dask.delayed(_partial, pure=True)(*args, t, r[cols], fwd, bwd, (la, lr), params.min_coherence,
                                                           dask_key_name=f"tops-esd-{fwd.key}-{bwd.key}-{k}-{tok}"))
    parts = [p for p in dask.compute(*tasks) if p is not None]
    if not parts:
        raise ValueError("ESD: no burst overlap has a complete, coherent look cell")
    dt = TopsBurstParameters.model_validate_json(overlaps[0].attrs["forward_tops"]).line_interval_s
    return esd_combine(parts, dt)
