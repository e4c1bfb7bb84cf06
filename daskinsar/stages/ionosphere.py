"""ionosphere: split-spectrum separation of the dispersive (ionospheric) and non-dispersive phase.

Model (Gomba et al. 2016; Fattahi et al. 2017, the ISCE2 stripmapApp ionosphere)
-------------------------------------------------------------------------------
The phase of an interferogram at (absolute) frequency ``f`` is ``phi(f) = phi_nd f / f0 + phi_d f0 / f``:
a non-dispersive part (geometry, deformation, troposphere: proportional to ``f``) and a dispersive part
(the ionosphere's phase advance, ``4 pi K dTEC / (c f)``, ``K = 40.31 m^3/s^2``), both given at ``f0``.
From two sub-band interferograms at ``f_L < f_H``:

    phi_d  = f_L f_H / (f0 (f_H^2 - f_L^2)) (phi_L f_H - phi_H f_L)
    phi_nd = f0 / (f_H^2 - f_L^2) (phi_H f_H - phi_L f_L)

(``phi_nd + phi_d`` is the phase at ``f0``). ``f0`` here is the frequency the full-band interferogram
measures displacement at (commonband's ``displacement_wavelength_m``), so ``dispersive_phase`` is what
the ionosphere adds to the full-band unwrapped phase ``unw``.

Sub-bands and their interferograms
----------------------------------
Per pixel, inside the common range band ``[c_lo, c_hi]`` (reference frame, commonband's guards kept),
the low band is ``[c_lo, c_lo + b]`` and the high band ``[c_hi - b, c_hi]``, ``b = subband_fraction *
(c_hi - c_lo)``; the secondary is filtered to the same bands minus the local shift ``nu2``
(:mod:`daskinsar.stages.common_band`). Their absolute frequencies are the secondary's,
``f_X = f2 + nu_X - nu2`` (``nu_X`` the band centre). Demodulating each sub-band SLC to its own
baseband (the reference in its range, the secondary in its own, resampled range ``rho``) and flattening
with the sub-band's own geometric phase ``-4 pi (f_X1 R1 - f_X2 R2) / c`` reduces exactly to
``ifg_X = BP_X(ref) conj(BP_X(sec)) exp(-j phi_geom) exp(+j 4 pi (nu_X - nu2) (rho - R2) / c)``:
the full-band geometric phase, plus a term of the misregistration ``rho - R2`` (the dense-offset
residual; zero with geometric offsets). They are multilooked like the full-band interferogram.

Unwrapping congruent with the full band
---------------------------------------
``phi_X = (f_X / f0) unw + psi_X``, ``psi_X = arg(ifg_X exp(-j (f_X / f0) unw))`` per multilooked cell: congruent
with the wrapped sub-band interferogram and consistent with the full-band unwrapping (``psi_X`` is
``phi_d (f0/f_X - f_X/f0)`` plus noise, small). Substituted in the formula the ``unw`` terms cancel:
``phi_d = f_L f_H (psi_L f_H - psi_H f_L) / (f0 (f_H^2 - f_L^2))``; so the estimate takes nothing from
``unw`` but the choice of the sub-bands' ambiguities. (A connected component whose ``unw`` is off by
``2 pi k`` shifts its estimate by a constant; only pixels with ``conncomp > 0`` are used.)

Filter (window in metres)
-------------------------
``dispersive_phase`` is a weighted local plane fit of the raw estimate over ``filter_window_m``
(converted to multilooked cells with the ground spacings at the scene centre), weights the inverse of
its predicted variance (``g^2 / (1 - g^2)``, ``g`` the coherence), then the pixels more than ``outlier_sigma`` local rms
from the fit are dropped and it is fitted again. A plane fit is unbiased for a linear (gradient) field,
up to the image edges. ``nondispersive_phase = unw - dispersive_phase`` (their sum is the full-band
phase); ``los_displacement_corrected = -nondispersive_phase * lambda_d / (4 pi)``.

Everything is block-wise. Per block of the reference grid, one task (:func:`subband_looks_kernel`) takes
the SLCs and the geometric phase with a range halo of the band-pass filter's context, and returns both
sub-bands' multilooked interferograms: the filtered SLCs, the shift ``nu2`` and the band edges exist only
inside it, a strip of lines at a time. The plane fit is a ``map_overlap`` on the multilooked grid with a
halo of three half windows. Results do not depend on the chunking, and memory on the chunks and the
filter window only (about twelve float64 arrays of a plane-fit block and its halo), never on the scene.
"""

from __future__ import annotations

import json
import math
from typing import Literal

import dask.array as da
import numpy as np
import xarray as xr
from pydantic import Field
from scipy import ndimage

from ..geometry.ellipsoid import SPEED_OF_LIGHT
from ..params import Params
from ..scene import meta_from_attrs
from .bandpass import bandpass_block_bands, halo
from .chunking import rechunk_for_overlap
from .interferogram import ground_spacing, interferogram_looks_kernel, multilook_kernel
from .pair import range_bandwidth_hz

__all__ = ["IonosphereParams", "TEC_CONSTANT", "split_spectrum", "subband_edges", "plane_fit_kernel", "decide",
           "predicted_noise_rad", "run"]

#: K (m^3/s^2): ionospheric phase advance 4 pi K TEC / (c f) (TEC in electrons/m^2)
TEC_CONSTANT = 40.31
#: lines per strip inside a sub-band task (its full-resolution temporaries are a strip's)
STRIP_LINES = 128
#: L band and longer: the wavelengths (m) for which "auto" considers the correction
L_BAND_MIN_WAVELENGTH_M = 0.15


class IonosphereParams(Params):
    """Split-spectrum ionosphere estimate and correction."""

    enabled: bool | Literal["auto"] = Field("auto", description="true, false or auto: on for L band (wavelength >= "
                                                               "0.15 m) when the filter window fits the scene and "
                                                               "the predicted noise is below auto_max_noise_rad")
    subband_fraction: float = Field(1.0 / 3.0, gt=0.05, le=0.45, description="width of each sub-band, as a "
                                                                             "fraction of the common range band")
    filter_window_m: float = Field(3000.0, gt=0, description="side of the square window (m, on the ground) of "
                                                             "the plane fit that filters the dispersive estimate")
    min_coherence: float = Field(0.3, ge=0.0, le=1.0, description="pixels below this coherence are not used")
    outlier_sigma: float = Field(3.0, gt=0, description="pixels farther than this many local rms from the first "
                                                        "fit are dropped before the second")
    auto_max_noise_rad: float = Field(0.3, gt=0, description="auto: run only when the predicted rms of the "
                                                             "filtered estimate (median coherence) is below this")


# ---------------------------------------------------------------------------------------------
# formulas
def split_spectrum(phi_l, phi_h, f_l, f_h, f0):
    """(dispersive, non-dispersive) phase at ``f0`` (rad) from sub-band phases (rad) at ``f_l``, ``f_h`` (Hz)."""
    den = f_h * f_h - f_l * f_l
    disp = f_l * f_h / (f0 * den) * (phi_l * f_h - phi_h * f_l)
    nondisp = f0 / den * (phi_h * f_h - phi_l * f_l)
    return disp, nondisp


def subband_edges(nu2, b1_hz: float, b2_hz: float, guard_hz: float, fraction: float):
    """Per pixel, Hz in the reference frame: (low band lo, hi), (high band lo, hi) of the sub-bands inside the
    common band; NaN where none remains."""
    c_lo = np.maximum(-0.5 * b1_hz, nu2 - 0.5 * b2_hz) + guard_hz
    c_hi = np.minimum(0.5 * b1_hz, nu2 + 0.5 * b2_hz) - guard_hz
    b = fraction * (c_hi - c_lo)
    b = np.where(b > 0, b, np.nan)
    return (c_lo, c_lo + b), (c_hi - b, c_hi)


def predicted_noise_rad(coherence: float, effective_looks: float, fraction: float, f_l: float, f_h: float,
                        f0: float, window_cells: float) -> float:
    """rms (rad) of the filtered dispersive estimate: the Cramer-Rao phase variance of each sub-band,
    ``(1 - g^2) / (2 N g^2)`` with ``N = effective_looks * fraction``, through the split-spectrum weights,
    over ``window_cells`` cells."""
    g = min(max(coherence, 1e-3), 0.999)
    var = (1 - g * g) / (2 * max(effective_looks * fraction, 1e-3) * g * g)
    den = f_h * f_h - f_l * f_l
    kl, kh = f_l * f_h * f_h / (f0 * den), f_l * f_l * f_h / (f0 * den)
    return float(math.sqrt((kl * kl + kh * kh) * var / max(window_cells, 1.0)))


# ---------------------------------------------------------------------------------------------
# the weighted local plane fit (multilooked grid)
def _box(a: np.ndarray, ha: int, hr: int) -> np.ndarray:
    """Sums over (2 ha + 1) x (2 hr + 1) windows (zeros beyond the array): separable running sums in float64."""
    size = (2 * ha + 1, 2 * hr + 1)
    return ndimage.uniform_filter(np.asarray(a, np.float64), size, mode="constant") * float(size[0] * size[1])


def _fit(d: np.ndarray, w: np.ndarray, ha: int, hr: int) -> np.ndarray:
    """Value at each pixel of the weighted least-squares plane through the window around it (the 3 x 3
    normal equations in coordinates relative to the pixel, solved in closed form; the weighted mean where
    they are singular; NaN where the window holds no weight)."""
    n0, n1 = d.shape
    y = (np.arange(n0, dtype=np.float64) - 0.5 * n0)[:, None]
    x = (np.arange(n1, dtype=np.float64) - 0.5 * n1)[None, :]
    dw = np.where(w > 0, d, 0.0) * w
    s1, sd = _box(w, ha, hr), _box(dw, ha, hr)
    # moments about the pixel (u = X - x, v = Y - y), formed in place from the sums over X, Y: the
    # kernel's memory is about twelve arrays of the block
    su = _box(w * x, ha, hr)
    su -= x * s1
    sv = _box(w * y, ha, hr)
    sv -= y * s1
    suu = _box(w * x * x, ha, hr)
    suu -= x * (2.0 * su + x * s1)
    svv = _box(w * y * y, ha, hr)
    svv -= y * (2.0 * sv + y * s1)
    suv = _box(w * x * y, ha, hr)
    suv -= x * sv + y * su + (x * y) * s1
    sud = _box(dw * x, ha, hr)
    sud -= x * sd
    svd = _box(dw * y, ha, hr)
    svd -= y * sd
    del dw
    # first unknown (the plane at the pixel) of [[s1 su sv] [su suu suv] [sv suv svv]] a = [sd sud svd]
    c11 = suu * svv - suv * suv
    c12 = sv * suv - su * svv
    c13 = su * suv - sv * suu
    del suu, svv, suv
    det = s1 * c11 + su * c12 + sv * c13
    num = sd * c11 + sud * c12 + svd * c13
    del c11, c12, c13, su, sv, sud, svd
    with np.errstate(invalid="ignore", divide="ignore"):
        plane = num / det
        mean = sd / s1
    good = np.abs(det) > 1e-9 * np.maximum(s1, 1e-300) ** 3 * max(ha * hr, 1) ** 2
    return np.where(good, plane, np.where(s1 > 0, mean, np.nan))


def plane_fit_kernel(d: np.ndarray, w: np.ndarray, half: tuple[int, int], outlier_sigma: float) -> np.ndarray:
    """Two-pass weighted local plane fit: fit, drop pixels beyond ``outlier_sigma`` local weighted rms of
    the residual, fit again. NaN where a window holds no weight."""
    d = np.asarray(d, np.float64)
    w = np.where(np.isfinite(d) & np.isfinite(w), np.asarray(w, np.float64), 0.0)
    ha, hr = half
    f1 = _fit(d, w, ha, hr)
    r2 = np.where(w > 0, (d - f1) ** 2, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rms = np.sqrt(_box(w * r2, ha, hr) / _box(w, ha, hr))
        keep = (w > 0) & np.isfinite(f1) & (np.sqrt(r2) <= outlier_sigma * rms)
    return _fit(d, np.where(keep, w, 0.0), ha, hr)


def _ready(x: da.Array, depth: tuple[int, int]) -> tuple[da.Array, tuple[int, int]]:
    """``x`` rechunked for a halo of ``depth``, and the halo ``map_overlap`` needs: none along an axis
    held in one chunk (the kernels treat the image's outside as empty themselves)."""
    x = rechunk_for_overlap(x, depth)
    return x, tuple(0 if len(c) == 1 else d for c, d in zip(x.chunks, depth))  # type: ignore[return-value]


def _plane_fit(d: da.Array, w: da.Array, half: tuple[int, int], outlier_sigma: float) -> da.Array:
    # the second fit at a pixel uses the outlier flags within a half window, each of which uses the first
    # fit's residuals within another, each fitted over a third: a halo of three half windows
    d, depth = _ready(d, (3 * half[0], 3 * half[1]))
    w = w.rechunk(d.chunks)
    return da.map_overlap(plane_fit_kernel, d, w, depth=depth, boundary=np.nan, half=half,
                          outlier_sigma=outlier_sigma, dtype=np.float64, name=f"ionosphere-plane-fit-"
                          f"{da.core.tokenize(d, w, half, outlier_sigma)}")


# ---------------------------------------------------------------------------------------------
# the two sub-band interferograms, one fused task per block
def subband_looks_kernel(reference: np.ndarray, secondary: np.ndarray, geometric_phase: np.ndarray,
                         offset_residual_m: np.ndarray | None, first: int, keep: slice, looks: tuple[int, int], *,
                         range_sampling_rate_hz: float, b1_hz: float, b2_hz: float, guard_hz: float,
                         fraction: float) -> np.ndarray:
    """Both sub-band interferograms of one block, multilooked, and the mean frequency offset of each.

    The inputs cover whole lines of the block plus a range halo (global range sample ``first`` is the
    block's column 0; ``keep`` the columns it owns, a multiple of the range looks but for the image's last
    block); the shift ``nu2`` (Hz) is the range fringe frequency of ``geometric_phase`` (rad) in the block, so the halo must
    exceed :func:`bandpass.halo` by one sample. Returns complex128 ``(4, rows // la, cols // lr)``: the low and
    high band ``ifg_X`` (module docstring) and, as real parts, ``nu_X - nu2`` (Hz) averaged over each cell.
    All full-resolution intermediates live and die inside this call, a strip of lines at a time."""
    la, lr = looks
    rows = (reference.shape[0] // la) * la
    cols = slice(keep.start, keep.start + ((keep.stop - keep.start) // lr) * lr)
    out = np.empty((4, rows // la, (cols.stop - cols.start) // lr), np.complex128)
    step = max(1, STRIP_LINES // la) * la  # lines are filtered independently: strips bound the temporaries
    for a in range(0, rows, step):
        b = min(rows, a + step)
        resid = None if offset_residual_m is None else offset_residual_m[a:b]
        out[:, a // la:b // la] = _subband_looks_strip(reference[a:b], secondary[a:b], geometric_phase[a:b], resid,
                                                        first, cols, looks, range_sampling_rate_hz, b1_hz, b2_hz,
                                                        guard_hz, fraction)
    return out


def _subband_looks_strip(reference, secondary, geometric_phase, offset_residual_m, first, cols, looks, fs, b1_hz,
                         b2_hz, guard_hz, fraction) -> np.ndarray:
    phi = np.asarray(geometric_phase, np.float64)
    nu2 = np.gradient(phi, axis=1) * (fs / (2.0 * np.pi)) if phi.shape[1] > 1 else np.zeros_like(phi)
    la, lr = looks
    out = np.empty((4, phi.shape[0] // la, (cols.stop - cols.start) // lr), np.complex128)
    bands = subband_edges(nu2, b1_hz, b2_hz, guard_hz, fraction)
    # each SLC's segments are transformed once for both sub-bands
    rxs = bandpass_block_bands(reference, [(lo / fs, hi / fs) for lo, hi in bands], first)
    sxs = bandpass_block_bands(secondary, [((lo - nu2) / fs, (hi - nu2) / fs) for lo, hi in bands], first)
    for k, ((lo, hi), rx, sx) in enumerate(zip(bands, rxs, sxs)):
        nu_x = 0.5 * (lo + hi)
        ph = phi[:, cols]
        if offset_residual_m is not None:
            ph = ph - 4.0 * np.pi * (nu_x - nu2)[:, cols] * offset_residual_m[:, cols] / SPEED_OF_LIGHT
        out[k] = interferogram_looks_kernel(rx[:, cols], sx[:, cols], ph, looks)[0]
        out[2 + k] = multilook_kernel((nu_x - nu2)[:, cols], looks)
    return out


def _look_chunks(chunks: tuple[int, ...], look: int, depth: int) -> tuple[int, ...]:
    """Chunk lengths along one axis: multiples of ``look`` (the last one takes the remainder), each at least
    ``depth`` so that one neighbour supplies a halo of ``depth``."""
    n = sum(chunks)
    size = max(look, (max(chunks) // look) * look, -(-depth // look) * look)
    ch = [size] * (n // size)
    rest = n - size * len(ch)
    if not ch:
        return (n,)
    if rest:
        ch[-1] += rest
    return tuple(ch)


def subband_looks(reference: da.Array, secondary: da.Array, geometric_phase: da.Array,
                  offset_residual_m: da.Array | None, looks: tuple[int, int], **kw) -> da.Array:
    """Lazy :func:`subband_looks_kernel` over the reference grid: complex128 ``(4, n0 // la, n1 // lr)``, one
    task per block with a range halo of ``bandpass.halo() + 1`` samples, independent of the chunking.
    ``kw``: the kernel's band parameters."""
    la, lr = looks
    depth = halo() + 1
    n0, n1 = reference.shape
    if n0 < la or n1 < lr:
        raise ValueError(f"array of shape {reference.shape} is smaller than one look cell {looks}")
    chunks = (_look_chunks(reference.chunks[0], la, 1), _look_chunks(reference.chunks[1], lr, depth))
    arrays = [a.rechunk(chunks) for a in (reference, secondary, geometric_phase)]
    if offset_residual_m is not None:
        arrays.append(offset_residual_m.rechunk(chunks))
    one = len(chunks[1]) == 1
    dep = {0: 0, 1: 0 if one else depth}
    halos = [da.overlap.overlap(a, depth=dep, boundary="none") for a in arrays]
    starts = np.concatenate([[0], np.cumsum(chunks[1])[:-1]])
    out_chunks = ((4,), tuple(c // la for c in chunks[0]), tuple(c // lr for c in chunks[1]))

    def fn(*blocks, block_info=None):
        j = block_info[0]["chunk-location"][1]
        left = 0 if (one or j == 0) else depth
        width = int(chunks[1][j])
        resid = blocks[3] if len(blocks) > 3 else None
        return subband_looks_kernel(blocks[0], blocks[1], blocks[2], resid, int(starts[j]) - left,
                                    slice(left, left + width), looks, **kw)

    return da.map_blocks(fn, *halos, chunks=out_chunks, new_axis=0, dtype=np.complex128,
                         name=f"ionosphere-subband-looks-{da.core.tokenize(*arrays, looks, kw)}")


# ---------------------------------------------------------------------------------------------
# the stage
def _ml(ds: xr.Dataset, name: str) -> da.Array:
    return ds[name].data


def _window_cells(inputs: xr.Dataset, window_m: float) -> tuple[tuple[int, int], tuple[float, float]]:
    """Half window (cells) and the (azimuth, ground range) spacings (m) of the multilooked grid."""
    n0, n1 = inputs.sizes["ml_azimuth"], inputs.sizes["ml_range"]
    win = dict(ml_azimuth=slice(max(n0 // 2 - 1, 0), n0 // 2 + 1), ml_range=slice(max(n1 // 2 - 8, 0), n1 // 2 + 8))
    g = inputs[["lon", "lat", "hgt", "incidence"]].isel(win).compute()
    r = inputs["ml_slant_range"].values
    dr = float(r[1] - r[0]) if r.size > 1 else 1.0
    az_m, rg_m = ground_spacing(g["lon"].values, g["lat"].values, g["hgt"].values, g["incidence"].values, dr)
    return (max(1, int(round(0.5 * window_m / az_m))), max(1, int(round(0.5 * window_m / rg_m)))), (az_m, rg_m)


def decide(inputs: xr.Dataset, params: IonosphereParams) -> tuple[bool, str]:
    """Whether the step runs, and why (``enabled`` auto: L band, the window fits, the predicted noise)."""
    if params.enabled is not True and params.enabled is not False:
        meta = meta_from_attrs(inputs.attrs, "reference")
        if meta.wavelength_m < L_BAND_MIN_WAVELENGTH_M:
            return False, f"auto: wavelength {meta.wavelength_m:.3f} m is shorter than L band"
        (ha, hr), (az_m, rg_m) = _window_cells(inputs, params.filter_window_m)
        n0, n1 = inputs.sizes["ml_azimuth"], inputs.sizes["ml_range"]
        if 2 * ha + 1 > n0 or 2 * hr + 1 > n1:
            return False, (f"auto: the {params.filter_window_m:.0f} m filter window is larger than the scene "
                           f"({n0 * az_m:.0f} x {n1 * rg_m:.0f} m)")
        coh = inputs["coherence"].data
        step = (max(1, n0 // 32), max(1, n1 // 32))
        g = float(np.nanmedian(coh[::step[0], ::step[1]].compute()))
        f = _frequencies(inputs, params)
        noise = predicted_noise_rad(g, float(inputs.attrs["effective_looks"]), params.subband_fraction, f["f_l"],
                                    f["f_h"], f["f0"], (2 * ha + 1) * (2 * hr + 1))
        if noise > params.auto_max_noise_rad:
            return False, (f"auto: predicted rms of the filtered estimate {noise:.2f} rad (median coherence {g:.2f}) "
                           f"above {params.auto_max_noise_rad} rad: it would not pay")
        return True, f"auto: L band, predicted rms of the filtered estimate {noise:.3f} rad"
    return bool(params.enabled), "as configured"


def _plan(inputs: xr.Dataset) -> dict:
    return json.loads(inputs.attrs["commonband_plan"])


def _frequencies(inputs: xr.Dataset, params: IonosphereParams) -> dict:
    """Scene-level (median shift) sub-band frequencies (Hz) and f0, for the attributes and the decision."""
    p = _plan(inputs)
    ref, sec = meta_from_attrs(inputs.attrs, "reference"), meta_from_attrs(inputs.attrs, "secondary")
    f1, f2 = SPEED_OF_LIGHT / ref.wavelength_m, SPEED_OF_LIGHT / sec.wavelength_m
    nu2 = p["shift_hz"][1] + (f2 - f1)
    (l0, l1), (h0, h1) = subband_edges(np.float64(nu2), range_bandwidth_hz(ref), range_bandwidth_hz(sec),
                                       p["guard_hz"][0], params.subband_fraction)
    return {"f_l": float(f2 + 0.5 * (l0 + l1) - nu2), "f_h": float(f2 + 0.5 * (h0 + h1) - nu2),
            "f0": SPEED_OF_LIGHT / float(p["displacement_wavelength_m"])}


def run(inputs: xr.Dataset, params: IonosphereParams) -> xr.Dataset:
    """Split-spectrum ionosphere products on the multilooked grid.

    ``inputs``: on the reference grid (dims ``azimuth``, ``range``) the coregistered ``reference`` and
    ``secondary`` SLCs (commonband's, or the reference and the resampled secondary), topo's
    ``geometric_phase`` (rad) and optionally ``range_offset_residual`` (secondary pixels: the resampling
    offsets minus topo's, with coordinate ``secondary_slant_range``); on the multilooked grid (dims
    ``ml_azimuth``, ``ml_range``, coordinate ``ml_slant_range``) the full-band ``unw`` (rad),
    ``conncomp``, ``coherence``, ``lon``, ``lat``, ``hgt``, ``incidence``; attributes: both scenes'
    metadata, ``commonband_plan``, ``looks``, ``effective_looks``. Returns ``dispersive_phase``,
    ``nondispersive_phase``, ``dispersive_phase_raw``, ``nondispersive_phase_raw``, ``mask``,
    ``los_displacement_corrected`` on (azimuth, range) of the multilooked grid."""
    p = _plan(inputs)
    ref, sec = meta_from_attrs(inputs.attrs, "reference"), meta_from_attrs(inputs.attrs, "secondary")
    f2 = SPEED_OF_LIGHT / sec.wavelength_m
    fs = float(p["range_sampling_rate_hz"])
    f0 = SPEED_OF_LIGHT / float(p["displacement_wavelength_m"])
    looks = (int(inputs.attrs["looks"][0]), int(inputs.attrs["looks"][1]))
    r = inputs["reference"].data
    resid = None
    if "range_offset_residual" in inputs:
        sr = inputs["secondary_slant_range"].values
        dr2 = float(sr[1] - sr[0]) if sr.size > 1 else sec.range_spacing_m
        resid = inputs["range_offset_residual"].data.astype(np.float64) * dr2  # rho - R2 (m)
    unw = inputs["unw"].data.astype(np.float64)
    n0, n1 = unw.shape
    packed = subband_looks(r, inputs["secondary"].data, inputs["geometric_phase"].data, resid, looks,
                           range_sampling_rate_hz=fs, b1_hz=range_bandwidth_hz(ref), b2_hz=range_bandwidth_hz(sec),
                           guard_hz=p["guard_hz"][0], fraction=params.subband_fraction)
    packed = packed[:, :n0, :n1].rechunk(((4,),) + unw.chunks)
    psi, freqs = [], []
    for k in (0, 1):
        f_x = f2 + packed[2 + k].real
        psi.append(da.angle(packed[k] * da.exp(-1j * (f_x / f0) * unw)))
        freqs.append(f_x)
    (psi_l, psi_h), (f_l, f_h) = psi, freqs
    d_raw, nd_res = split_spectrum(psi_l, psi_h, f_l, f_h, f0)  # nd_res: phi_nd - unw
    # weights: the inverse of the estimate's variance up to a constant, (1 - g^2) / g^2 (Cramer-Rao; the
    # full band's coherence stands for the sub-bands')
    g = da.clip(inputs["coherence"].data.astype(np.float64), 1e-3, 0.999)
    ok = (inputs["conncomp"].data > 0) & (g >= params.min_coherence) & da.isfinite(unw) & da.isfinite(d_raw)
    w = da.where(ok, g * g / (1.0 - g * g), 0.0)
    half, spacing = _window_cells(inputs, params.filter_window_m)
    d_filt = _plane_fit(da.where(ok, d_raw, np.nan), w, half, params.outlier_sigma)
    nondisp = unw - d_filt
    lam_d = float(p["displacement_wavelength_m"])
    dims = ("azimuth", "range")
    coords = {"azimuth_time": ("azimuth", inputs["ml_azimuth_time"].values),
              "slant_range": ("range", inputs["ml_slant_range"].values)}
    f = _frequencies(inputs, params)

    def var_(x, units, long_name, **kw):
        return (dims, x.astype(np.float32), {"units": units, "long_name": long_name, **kw})

    out = xr.Dataset({
        "dispersive_phase": var_(d_filt, "rad", "dispersive (ionospheric) phase in the interferogram, filtered",
                                 isce_name="dispersive.bil.unwCor.filt"),
        "nondispersive_phase": var_(nondisp, "rad", "unwrapped phase with the dispersive phase removed "
                                                    "(unw - dispersive_phase)"),
        "dispersive_phase_raw": var_(da.where(ok, d_raw, np.nan), "rad", "split-spectrum dispersive estimate, "
                                     "before filtering", isce_name="dispersive.bil"),
        "nondispersive_phase_raw": var_(da.where(ok, unw + nd_res, np.nan), "rad", "split-spectrum "
                                        "non-dispersive estimate, before filtering", isce_name="nondispersive.bil"),
        "mask": (dims, (w > 0).astype(np.uint8), {"units": "1", "long_name": "pixels the estimate used",
                                                  "isce_name": "mask.bil"}),
        "los_displacement_corrected": var_(-nondisp * (lam_d / (4.0 * np.pi)), "m", "LOS displacement without the "
                                           "ionosphere, positive towards the platform (relative)"),
    }, coords=coords)
    out.attrs.update(f0_hz=f["f0"], f_low_hz=f["f_l"], f_high_hz=f["f_h"], subband_fraction=params.subband_fraction,
                     filter_window_m=params.filter_window_m, filter_half_window_cells=list(half),
                     ground_spacing_m=list(spacing), displacement_wavelength_m=lam_d,
                     convention="phi(f) = phi_nd f/f0 + phi_d f0/f; dispersive_phase = phi_d at f0_hz; "
                                "unw = nondispersive_phase + dispersive_phase")
    return out
