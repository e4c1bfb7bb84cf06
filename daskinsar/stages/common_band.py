"""commonband: range and azimuth common-band filtering of a coregistered pair.

Frequencies (stated once; Hz unless a name says otherwise)
----------------------------------------------------------
- Each scene's range band is ``[f_i - B_i/2, f_i + B_i/2]`` (absolute), ``f_i = c / wavelength_i``
  its centre frequency and ``B_i`` its range bandwidth (``range_bandwidth_hz``, else the chirp's,
  else the sampling rate). An SLC holds it at baseband, ``[-B_i/2, B_i/2]``.
- A ground scatterer's reflectivity is seen by scene ``i`` at range frequency ``f`` through the ground
  wavenumber ``k = 4 pi f q_i / c``, ``q_i = dR_i/dx`` the range change per metre of ground (it holds
  the look angle and the terrain slope). So the secondary's component at baseband frequency ``nu'``
  sees the ground wavenumber the reference sees at baseband ``nu = nu' + nu2`` with
  ``nu2 = f2 q2/q1 - f1``: in the reference's frame the secondary band is ``[nu2 - B2/2, nu2 + B2/2]``.
  ``nu2`` is the local fringe frequency of the flat-earth + topographic phase,
  ``nu2 = fs1 / (2 pi) * d(phi_geom)/d(range sample)`` with ``phi_geom = -4 pi R1/lambda1 + 4 pi R2/lambda2``
  (topo's ``geometric_phase``; fs1 the reference's range sampling rate): it holds the carrier difference
  ``f2 - f1`` and the geometric spectral shift ``f2 (q2/q1 - 1) ~ -f B_perp / (R tan(theta - slope))``.
- The common range band (reference frame) is ``[max(-B1/2, nu2 - B2/2), min(B1/2, nu2 + B2/2)]``;
  the reference is filtered to it, the (resampled) secondary to it minus ``nu2``, both kept
  ``guard_fraction * min(B1, B2)`` inside its edges. Ground-wavenumber components outside it are in one
  image only and only decorrelate the interferogram.
- Azimuth: each scene's Doppler band is ``[fdc_i - Ba_i/2, fdc_i + Ba_i/2]`` (Doppler centroid of the
  metadata, processed bandwidth ``azimuth_bandwidth_hz``), periodic in the reference PRF; both scenes
  map a Doppler frequency to the same along-track wavenumber (one ground speed), so both are filtered to
  the overlap of the two bands (the direct overlap; a second one through the PRF wrap is not kept).
  The secondary's Doppler is evaluated at its own (azimuth time, slant range) of each reference pixel
  (topo's offsets).
- The displacement the interferogram measures is at the secondary's frequencies of the common band:
  ``d_los = -phi * lambda_d / (4 pi)`` with ``lambda_d = c / (f2 + (c_mid - nu2))`` (``c_mid`` the
  common band's centre, reference frame): attribute ``displacement_wavelength_m``.

Decision ("auto", stated in the attributes and the reporter line): an axis is filtered when the common
band is narrower than either scene's band by more than ``min_gain_fraction`` of it, at the median
``nu2`` (Doppler difference) over a 7 x 7 grid of pixels. A common range band narrower than
:data:`~daskinsar.stages.pair.MIN_COMMON_BAND_FRACTION` of the narrower band is refused (PairError).

Filtering is :func:`daskinsar.stages.bandpass.bandpass` (fixed segments, per-pixel band edges):
block-wise with its halo, independent of the chunking.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Literal

import dask.array as da
import numpy as np
import xarray as xr
from pydantic import Field

from ..errors import PairError
from ..geometry.ellipsoid import SPEED_OF_LIGHT
from ..params import Params
from ..scene import RadarMetadata, meta_from_attrs
from .bandpass import bandpass
from .pair import MIN_COMMON_BAND_FRACTION, range_bandwidth_hz

__all__ = ["CommonBandParams", "BandPlan", "plan", "apply", "run", "range_shift_field", "range_edges",
           "azimuth_edges", "doppler_fields", "interferogram_attrs", "needs_band_match", "match_band", "SAMPLE_GRID"]

#: pixels per axis of the grid the decision and the reported bands are computed on
SAMPLE_GRID = 7


class CommonBandParams(Params):
    """Range and azimuth common-band filtering (spectral shift, mixed bandwidths, Doppler centroids)."""

    range: bool | Literal["auto"] = Field("auto", description="range common-band filter: true, false, or auto "
                                                             "(on when it narrows a band by more than "
                                                             "min_gain_fraction)")
    azimuth: bool | Literal["auto"] = Field("auto", description="azimuth common-band filter (Doppler centroids): "
                                                               "true, false or auto")
    min_gain_fraction: float = Field(0.05, ge=0.0, lt=1.0, description="auto: filter an axis when the common band "
                                                                       "is narrower than either scene's band by "
                                                                       "more than this fraction of it")
    guard_fraction: float = Field(0.02, ge=0.0, lt=0.25, description="kept off each edge of the common band, as "
                                                                     "a fraction of the narrower band (the "
                                                                     "spectra's roll-off)")


@dataclass(frozen=True)
class BandPlan:
    """What the filter does for a pair: bands (Hz), decisions and their reasons."""

    reference_range_band_hz: tuple[float, float]  # absolute
    secondary_range_band_hz: tuple[float, float]  # absolute
    range_sampling_rate_hz: float  # of the reference grid
    shift_hz: tuple[float, float, float]  # nu2 - (f2 - f1): geometric spectral shift, min / median / max
    common_range_band_hz: tuple[float, float]  # absolute, reference frame, at the median shift
    range_filter: bool
    range_reason: str
    reference_doppler_band_hz: tuple[float, float] | None  # at the sample grid's median
    secondary_doppler_band_hz: tuple[float, float] | None
    common_doppler_band_hz: tuple[float, float] | None
    azimuth_filter: bool
    azimuth_reason: str
    prf_hz: float
    guard_hz: tuple[float, float]  # range, azimuth
    displacement_wavelength_m: float
    retained_fraction: float  # of the independent samples the interferogram keeps (filtered axes)

    def attrs(self) -> dict:
        d = asdict(self)
        return {"commonband_plan": json.dumps(d), "range_filter": int(self.range_filter),
                "azimuth_filter": int(self.azimuth_filter), "displacement_wavelength_m": self.displacement_wavelength_m}

    def summary(self) -> str:
        lo, hi = self.common_range_band_hz
        parts = [f"range {'filtered' if self.range_filter else 'not filtered'} ({self.range_reason}; common band "
                 f"{lo / 1e6:.3f}..{hi / 1e6:.3f} MHz)"]
        parts.append(f"azimuth {'filtered' if self.azimuth_filter else 'not filtered'} ({self.azimuth_reason})")
        return "; ".join(parts)


# ---------------------------------------------------------------------------------------------
# per-pixel fields (lazy)
def range_shift_field(geometric_phase, range_sampling_rate_hz: float) -> da.Array:
    """``nu2`` (Hz) per reference pixel: the range fringe frequency of the geometric phase (rad),
    ``fs / (2 pi) * d(phi)/d(sample)`` (central differences, one-sided at the edges)."""
    phi = da.asarray(geometric_phase).astype(np.float64)
    if phi.shape[1] < 2:
        return da.zeros_like(phi)
    return da.gradient(phi, axis=1) * (range_sampling_rate_hz / (2.0 * np.pi))


def range_edges(nu2, b1_hz: float, b2_hz: float, guard_hz: float, fs_hz: float):
    """(lo, hi) of the reference and of the secondary range filters, cycles/sample, from ``nu2`` (Hz);
    NaN where no common band remains."""
    lo = np.maximum(-0.5 * b1_hz, nu2 - 0.5 * b2_hz) + guard_hz
    hi = np.minimum(0.5 * b1_hz, nu2 + 0.5 * b2_hz) - guard_hz
    ok = hi > lo
    lo = np.where(ok, lo, np.nan) / fs_hz
    hi = np.where(ok, hi, np.nan) / fs_hz
    return (lo, hi), (lo - nu2 / fs_hz, hi - nu2 / fs_hz)


def azimuth_edges(fdc1, fdc2, ba1_hz: float, ba2_hz: float, guard_hz: float, prf_hz: float):
    """(lo, hi) of the azimuth filter (both scenes), cycles/line: the direct overlap of the Doppler bands
    ``fdc_i -+ Ba_i/2`` (Hz), periodic in the PRF; NaN where they do not overlap."""
    d = np.mod(fdc2 - fdc1 + 0.5 * prf_hz, prf_hz) - 0.5 * prf_hz
    lo = fdc1 + np.maximum(-0.5 * ba1_hz, d - 0.5 * ba2_hz) + guard_hz
    hi = fdc1 + np.minimum(0.5 * ba1_hz, d + 0.5 * ba2_hz) - guard_hz
    ok = hi > lo
    return np.where(ok, lo, np.nan) / prf_hz, np.where(ok, hi, np.nan) / prf_hz


def doppler_fields(inputs: xr.Dataset, ref: RadarMetadata, sec: RadarMetadata) -> tuple[da.Array, da.Array]:
    """Data Doppler centroid (Hz) of the reference at each of its pixels, and of the secondary at the
    position each reference pixel has in the secondary's own grid (topo's offsets; the grid from the
    coordinates ``secondary_azimuth_time`` (s, its own epoch) and ``secondary_slant_range`` (m))."""
    az = inputs["azimuth_offset"].data
    t_all = np.asarray(inputs["azimuth_time"].values, np.float64)
    r_all = np.asarray(inputs["slant_range"].values, np.float64)

    def ref_block(x, block_info=None):
        (a0, a1), (c0, c1) = block_info[0]["array-location"]
        tt, rr = np.meshgrid(t_all[a0:a1], r_all[c0:c1], indexing="ij")
        return np.asarray(ref.doppler_centroid(tt, rr), np.float64)

    f1 = da.map_blocks(ref_block, da.zeros(az.shape, chunks=az.chunks, dtype=np.int8), dtype=np.float64,
                       name=f"commonband-doppler-reference-{da.core.tokenize(t_all, r_all, ref.doppler_centroid)}")
    st = np.asarray(inputs["secondary_azimuth_time"].values, np.float64)
    sr = np.asarray(inputs["secondary_slant_range"].values, np.float64)
    dt = float(st[1] - st[0]) if st.size > 1 else sec.line_interval_s
    dr = float(sr[1] - sr[0]) if sr.size > 1 else sec.range_spacing_m
    rows = da.arange(az.shape[0], chunks=az.chunks[0])[:, None]
    cols = da.arange(az.shape[1], chunks=az.chunks[1])[None, :]
    tt = float(st[0]) + (rows + az) * dt
    rr = float(sr[0]) + (cols + inputs["range_offset"].data.rechunk(az.chunks)) * dr
    f2 = da.map_blocks(lambda a, b: np.asarray(sec.doppler_centroid(a, b), np.float64), tt, rr, dtype=np.float64)
    return f1, f2


# ---------------------------------------------------------------------------------------------
# the plan
def _sample(x: da.Array, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    return np.asarray(x.vindex[rows[:, None], cols[None, :]].compute(), np.float64)


def plan(inputs: xr.Dataset, params: CommonBandParams) -> BandPlan:
    """The bands, the decisions and the displacement wavelength of a pair (see the module docstring);
    computes ``nu2`` and the Doppler centroids on a 7 x 7 grid of pixels (a few chunks' reads)."""
    ref, sec = meta_from_attrs(inputs.attrs, "reference"), meta_from_attrs(inputs.attrs, "secondary")
    f1, f2 = SPEED_OF_LIGHT / ref.wavelength_m, SPEED_OF_LIGHT / sec.wavelength_m
    b1, b2 = range_bandwidth_hz(ref), range_bandwidth_hz(sec)
    r_coord = inputs["slant_range"].values
    fs = SPEED_OF_LIGHT / (2.0 * float(r_coord[1] - r_coord[0])) if r_coord.size > 1 else ref.range_sampling_rate_hz
    n0, n1 = inputs["geometric_phase"].shape
    rows = np.unique(np.linspace(0, n0 - 1, SAMPLE_GRID).round().astype(int))
    cols = np.unique(np.linspace(1, max(n1 - 2, 1), SAMPLE_GRID).round().astype(int))
    phi = inputs["geometric_phase"].data
    lo_c, hi_c = np.maximum(cols - 1, 0), np.minimum(cols + 1, n1 - 1)
    nu = (_sample(phi, rows, hi_c) - _sample(phi, rows, lo_c)) / np.maximum(hi_c - lo_c, 1) * fs / (2 * np.pi)
    nu = nu[np.isfinite(nu)]
    if nu.size == 0:
        raise PairError("commonband: the geometric phase has no valid pixel to take the spectral shift from")
    nu2 = float(np.median(nu))
    geo = nu - (f2 - f1)
    guard = params.guard_fraction * min(b1, b2)
    c_lo, c_hi = max(-0.5 * b1, nu2 - 0.5 * b2), min(0.5 * b1, nu2 + 0.5 * b2)
    width = c_hi - c_lo
    band1 = (f1 - 0.5 * b1, f1 + 0.5 * b1)
    band2 = (f2 - 0.5 * b2, f2 + 0.5 * b2)
    if width < MIN_COMMON_BAND_FRACTION * min(b1, b2):
        raise PairError(
            f"commonband: with the spectral shift of the geometry ({np.median(geo) / 1e6:.3f} MHz) the range bands "
            f"of the reference ({band1[0] / 1e6:.3f}..{band1[1] / 1e6:.3f} MHz) and the secondary "
            f"({band2[0] / 1e6:.3f}..{band2[1] / 1e6:.3f} MHz) share {max(width, 0) / 1e6:.3f} MHz, below "
            f"{MIN_COMMON_BAND_FRACTION:.0%} of the narrower band (baseline beyond the critical one?)")
    narrowing = max(1 - width / b1, 1 - width / b2)
    if params.range == "auto":
        rfilt = narrowing > params.min_gain_fraction
        rreason = (f"auto: the common band keeps {1 - narrowing:.1%} of the band it cuts most, "
                   f"{'below' if rfilt else 'not below'} {1 - params.min_gain_fraction:.0%}")
    else:
        rfilt = bool(params.range)
        rreason = "as configured"
    # azimuth
    ba1_m, ba2_m = ref.azimuth_bandwidth_hz, sec.azimuth_bandwidth_hz
    t_coord = inputs["azimuth_time"].values
    prf = 1.0 / float(t_coord[1] - t_coord[0]) if t_coord.size > 1 else ref.prf_hz
    dband1 = dband2 = common_d = None
    afilt, areason, aguard, afrac = False, "no azimuth bandwidth in the metadata", 0.0, 1.0
    if ba1_m is not None and ba2_m is not None:
        fd1, fd2 = doppler_fields(inputs, ref, sec)
        d1, d2 = float(np.median(_sample(fd1, rows, cols))), float(np.median(_sample(fd2, rows, cols)))
        ba1, ba2 = float(ba1_m), float(ba2_m)
        dband1, dband2 = (d1 - 0.5 * ba1, d1 + 0.5 * ba1), (d2 - 0.5 * ba2, d2 + 0.5 * ba2)
        dd = (d2 - d1 + 0.5 * prf) % prf - 0.5 * prf
        a_lo, a_hi = d1 + max(-0.5 * ba1, dd - 0.5 * ba2), d1 + min(0.5 * ba1, dd + 0.5 * ba2)
        if a_hi - a_lo <= 0:
            raise PairError(f"commonband: the Doppler bands of the reference ({dband1[0]:.1f}..{dband1[1]:.1f} Hz) "
                            f"and the secondary ({dband2[0]:.1f}..{dband2[1]:.1f} Hz) do not overlap")
        common_d = (a_lo, a_hi)
        a_narrow = max(1 - (a_hi - a_lo) / ba1, 1 - (a_hi - a_lo) / ba2)
        aguard = params.guard_fraction * min(ba1, ba2)
        if params.azimuth == "auto":
            afilt = a_narrow > params.min_gain_fraction
            areason = (f"auto: Doppler centroids {d1:.1f} / {d2:.1f} Hz, the common band keeps {1 - a_narrow:.1%} "
                       f"of the band it cuts most, {'below' if afilt else 'not below'} "
                       f"{1 - params.min_gain_fraction:.0%}")
        else:
            afilt, areason = bool(params.azimuth), "as configured"
        afrac = (a_hi - a_lo - 2 * aguard) / max(ba1, ba2) if afilt else 1.0
    elif params.azimuth is True:
        raise PairError("commonband: azimuth filtering needs the processed azimuth bandwidth of both scenes "
                        "(azimuth_bandwidth_hz in the metadata); one of them has none")
    c_mid = 0.5 * (c_lo + c_hi)
    rfrac = (width - 2 * guard) / max(b1, b2) if rfilt else 1.0
    return BandPlan(band1, band2, fs, (float(geo.min()), float(np.median(geo)), float(geo.max())),
                    (f1 + c_lo, f1 + c_hi), rfilt, rreason, dband1, dband2, common_d, afilt, areason, prf,
                    (guard, aguard), SPEED_OF_LIGHT / (f2 + c_mid - nu2), float(max(rfrac, 0.0) * max(afrac, 0.0)))


# ---------------------------------------------------------------------------------------------
def apply(inputs: xr.Dataset, p: BandPlan) -> xr.Dataset:
    """The filtered ``reference`` and ``secondary`` (complex64, the reference grid) for a plan, the plan in
    the attributes. When the plan filters neither axis the pair needs no copy: the Dataset then holds the
    coordinates and the plan only."""
    ref, sec = meta_from_attrs(inputs.attrs, "reference"), meta_from_attrs(inputs.attrs, "secondary")
    dims = ("azimuth", "range")
    coords = {k: inputs[k] for k in ("azimuth_time", "slant_range")}
    if not (p.range_filter or p.azimuth_filter):
        return xr.Dataset(coords=coords, attrs=p.attrs())
    r, s = inputs["reference"].data, inputs["secondary"].data.rechunk(inputs["reference"].data.chunks)
    if p.range_filter:
        nu2 = range_shift_field(inputs["geometric_phase"].data.rechunk(r.chunks), p.range_sampling_rate_hz)
        b1, b2 = range_bandwidth_hz(ref), range_bandwidth_hz(sec)
        e1, e2 = range_edges(nu2, b1, b2, p.guard_hz[0], p.range_sampling_rate_hz)
        r = bandpass(r, *e1, axis=1, name="commonband-range-reference")
        s = bandpass(s, *e2, axis=1, name="commonband-range-secondary")
    if p.azimuth_filter:
        fd1, fd2 = doppler_fields(inputs, ref, sec)
        ba = (p.reference_doppler_band_hz, p.secondary_doppler_band_hz)
        assert ba[0] is not None and ba[1] is not None  # the plan filters only with both bandwidths
        lo, hi = azimuth_edges(fd1, fd2, ba[0][1] - ba[0][0], ba[1][1] - ba[1][0], p.guard_hz[1], p.prf_hz)
        r = bandpass(r, lo, hi, axis=0, name="commonband-azimuth-reference")
        s = bandpass(s, lo, hi, axis=0, name="commonband-azimuth-secondary")
    out = xr.Dataset({"reference": (dims, r, {"long_name": "reference SLC, common-band filtered", "units": "1"}),
                      "secondary": (dims, s, {"long_name": "resampled secondary SLC, common-band filtered",
                                              "units": "1"})}, coords=coords)
    out.attrs.update(p.attrs())
    return out


def run(inputs: xr.Dataset, params: CommonBandParams) -> xr.Dataset:
    """Common-band filtered SLCs of a coregistered pair.

    ``inputs`` on the reference grid: ``reference`` (SLC), ``secondary`` (resampled onto the reference
    grid), topo's ``geometric_phase`` (rad), ``azimuth_offset`` and ``range_offset`` (pixels); attributes
    ``reference_radar_metadata`` / ``secondary_radar_metadata``; the secondary's own grid as the
    coordinates ``secondary_azimuth_time`` / ``secondary_slant_range`` (as
    :func:`daskinsar.scene.pair_dataset` names them). Returns :func:`apply` of :func:`plan`."""
    return apply(inputs, plan(inputs, params))


def interferogram_attrs(ifg_attrs: dict, cb_attrs: dict) -> dict:
    """What an interferogram of a (filtered or not) pair takes from the plan: ``displacement_wavelength_m``,
    and, when a band was cut, ``effective_looks`` scaled by the fraction of independent samples kept."""
    p = json.loads(cb_attrs["commonband_plan"])
    out: dict = {"displacement_wavelength_m": float(p["displacement_wavelength_m"])}
    if p["range_filter"] or p["azimuth_filter"]:
        out["effective_looks"] = max(1.0, float(ifg_attrs["effective_looks"]) * float(p["retained_fraction"]))
    return out


# ---------------------------------------------------------------------------------------------
# bandwidth matching before resampling (mixed modes)
#: the part of a grid's sampling band that a resampled band may occupy
NYQUIST_FRACTION = 0.9


def needs_band_match(reference: RadarMetadata, secondary: RadarMetadata, reference_range_spacing_m: float) -> bool:
    """Whether the secondary's range band is wider than the reference grid (slant-range spacing in m) can
    hold once resampled onto it (more than :data:`NYQUIST_FRACTION` of its sampling rate): resampling would
    alias it."""
    return range_bandwidth_hz(secondary) > NYQUIST_FRACTION * SPEED_OF_LIGHT / (2.0 * reference_range_spacing_m)


def match_band(secondary: xr.Dataset, reference: RadarMetadata, reference_range_spacing_m: float) -> xr.Dataset:
    """The secondary scene (a :meth:`~daskinsar.scene.Scene.to_dataset`) cut, on its own grid, to the part of
    its range band the reference grid can hold, and brought to baseband: the reference's band widened on
    both sides up to :data:`NYQUIST_FRACTION` of the reference's sampling rate, within the secondary's own
    band, ``[lo, hi]`` (absolute). Demodulation by ``exp(-j 4 pi nu_c r / c)`` (``nu_c`` the kept band's
    centre at the secondary's baseband, ``r`` the slant range) makes it an SLC of centre frequency
    ``f2 + nu_c``: its metadata say so (``wavelength_m``, ``range_bandwidth_hz``; the original in
    ``extra["band_matched"]``), so the geometric phase and everything after use the kept band. The reference
    grid is given by its slant-range spacing (m)."""
    from ..scene import SCENE_ROLE, radar_attrs, radar_info

    meta, orbit = radar_info(secondary.attrs, SCENE_ROLE)
    reference_fs_hz = SPEED_OF_LIGHT / (2.0 * reference_range_spacing_m)
    f1, f2 = SPEED_OF_LIGHT / reference.wavelength_m, SPEED_OF_LIGHT / meta.wavelength_m
    b1, b2 = range_bandwidth_hz(reference), range_bandwidth_hz(meta)
    room = max(NYQUIST_FRACTION * reference_fs_hz - b1, 0.0) / 2
    lo, hi = max(f1 - b1 / 2 - room, f2 - b2 / 2), min(f1 + b1 / 2 + room, f2 + b2 / 2)
    if hi <= lo:
        raise PairError(f"commonband: the secondary's range band {(f2 - b2 / 2) / 1e6:.3f}..{(f2 + b2 / 2) / 1e6:.3f} "
                        f"MHz does not overlap the reference's")
    r = np.asarray(secondary["slant_range"].values, np.float64)
    fs2 = SPEED_OF_LIGHT / (2.0 * float(r[1] - r[0])) if r.size > 1 else meta.range_sampling_rate_hz
    nu_c = 0.5 * (lo + hi) - f2
    var = "slc" if "slc" in secondary else next(iter(secondary.data_vars))
    x = secondary[var].data
    y = bandpass(x, (lo - f2) / fs2, (hi - f2) / fs2, axis=1, name="commonband-band-match")
    carrier = da.from_array(np.exp(-4j * np.pi * nu_c * r / SPEED_OF_LIGHT).astype(np.complex64),
                            chunks=(x.chunks[1],))
    out = secondary.copy()
    out[var] = (secondary[var].dims, (y * carrier[None, :]).astype(np.complex64), dict(secondary[var].attrs))
    new = meta.model_copy(update={
        "wavelength_m": SPEED_OF_LIGHT / (f2 + nu_c), "range_bandwidth_hz": hi - lo,
        "extra": {**meta.extra, "band_matched": {"original_wavelength_m": meta.wavelength_m,
                                                 "original_range_bandwidth_hz": b2, "kept_band_hz": [lo, hi],
                                                 "demodulated_by_hz": nu_c}}})
    out.attrs = {**secondary.attrs, **radar_attrs(new, orbit, SCENE_ROLE)}
    return out
