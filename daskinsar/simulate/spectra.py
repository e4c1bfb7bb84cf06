"""Per-scene spectra: both SLCs from one ground reflectivity, each through its own band.

Used by :mod:`daskinsar.simulate.slc` when a configuration has ``spectra`` or ``ionosphere``
(:class:`~daskinsar.simulate.presets.SpectraConfig`). Unlike the default model, whose secondary sees
exactly the reference's band of ground wavenumbers, here each scene sees its own band, so spectral-shift
(baseline) decorrelation, mixed bandwidths and centre frequencies, and Doppler-centroid differences come
out of the signal itself.

Model (frequencies in Hz; ``f1``, ``f2`` the centre frequencies, ``B1``, ``B2`` the range bandwidths,
``fdc_i``, ``Ba_i`` the Doppler centroids and azimuth bandwidths)
-------------------------------------------------------------------------------------------------
- ``W``: unit circular white noise on a grid of reference lines x reference range samples oversampled
  ``os`` times (``os`` the smallest integer that holds both bands, below), seeded per fixed tile
  (stream 10): the ground reflectivity, indexed by the reference's frequencies.
- The ground wavenumber a scene sees at frequency ``f`` is ``4 pi f q_i / c``, ``q_i = dR_i/dx``. In the
  reference's frame the secondary's band is centred at ``nu2 = f2 q2 / q1 - f1``; ``q2/q1 = dR2/dR1`` is
  taken per pixel from the simulator's geometry (the secondary range of the ground point of reference
  pixels along a line, on the DEM), so the look angle, the baseline and the terrain slope are all in it.
- Azimuth: ``V_i = e^{j 2 pi fdc_i t} LP_a(e^{-j 2 pi fdc_i t} W)`` (the band ``fdc_i -+ Ba_i/2``; one
  Doppler frequency is one along-track wavenumber for both passes).
- Range: ``A_1 = LP_1 V_1`` (band ``-+B1/2``), decimated by ``os`` = the reference SLC (+ no noise);
  ``A_2(u) = sum_n h_2(n) e^{j 2 pi nu2(u) n} V_2(u - n)`` (the band ``nu2 -+ B2/2``, following
  ``nu2`` pixel by pixel). ``LP`` are Kaiser-windowed sinc FIRs of unit energy (:data:`FIR_HALF` taps each
  side, beta :data:`FIR_BETA`): the spectra are flat to within their roll-off of the nominal band edges
  (:func:`band_response` gives them exactly).
- Secondary pixel ``(t2, R2)``, ground point ``X`` with reference coordinates ``(t1', R1')``, LOS
  displacement ``d`` (m, towards the platform), differential slant TEC ``T`` (el/m^2):

      sec = [g S + sqrt(1 - g^2) N] exp(j (-4 pi R2/lambda2 + 4 pi R1'/lambda1 + 4 pi f2 d / c
                                          + 4 pi K T / (c f2) - phi_tropo))

  ``S`` is ``A_2`` at ``R1' + d - K T / f2^2 - phi_tropo c / (4 pi f2)`` (the envelope moved by the
  deformation, delayed by the ionosphere's group delay and by the troposphere's path), interpolated at
  baseband (demodulated by ``fdc2`` and the mean ``nu2``,
  16-tap sinc, remodulated), with each component's envelope phase taken about the secondary's carrier;
  ``N`` independent speckle of the secondary's own band on its own grid (stream 11); ``K = 40.31``.
  To first order in ``(f - f2)/f2`` this is every frequency component ``f`` of the secondary carrying
  ``4 pi f d / c + 4 pi K T / (c f)``: the deformation is non-dispersive, the ionosphere dispersive.
- ``arg(ref conj(sec))`` is then ``-4 pi R1/lambda1 + 4 pi R2/lambda2`` (the truth's ``flat_topo_phase``)
  ``- 4 pi f_c d / c + 4 pi K T / (c f_c) + phi_tropo`` + noise, ``f_c`` the secondary frequencies of the
  common band; the coherence is ``g`` times the spectral overlap.

Extra truth (``truth.zarr``): ``range_band_offset_hz`` (``nu2``), ``tec_differential_tecu`` (``T`` in TECU).
Every sample depends only on the seed and its position, never on the chunking.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
from scipy import ndimage

from ..errors import ConfigError
from ..geometry.ellipsoid import SPEED_OF_LIGHT
from .presets import IonosphereConfig
from .slc import PairModel, pixel_geometry, sinc_interp, white_noise

__all__ = ["SpectralModel", "build_spectral_model", "band_response", "lowpass_taps", "TEC_CONSTANT", "TECU",
           "SPECTRAL_TRUTH_FIELDS"]

FIR_HALF = 64
FIR_BETA = 6.0
STREAM_GROUND = 10
STREAM_NOISE = 11
#: K (m^3/s^2) of the ionospheric phase advance 4 pi K TEC / (c f)
TEC_CONSTANT = 40.31
#: electrons/m^2 per TEC unit
TECU = 1e16
#: extra truth fields with per-scene spectra
SPECTRAL_TRUTH_FIELDS = ("range_band_offset_hz", "tec_differential_tecu")
#: coarse-geometry node spacing (reference pixels) of nu2
NODE = 4


def lowpass_taps(frac: float) -> np.ndarray:
    """Unit-energy Kaiser-windowed sinc passing ``-+frac/2`` cycles/sample (``2 FIR_HALF + 1`` taps)."""
    n = np.arange(-FIR_HALF, FIR_HALF + 1, dtype=np.float64)
    h = frac * np.sinc(frac * n) * np.kaiser(2 * FIR_HALF + 1, FIR_BETA)
    return h / np.sqrt(np.sum(h * h))


def band_response(freq_cyc, frac: float, centre_cyc: float = 0.0) -> np.ndarray:
    """Amplitude response (at ``freq_cyc`` cycles/sample) of a band of width ``frac`` centred at ``centre_cyc``:
    the spectrum (amplitude) of every simulated band, unit energy over one cycle."""
    h = lowpass_taps(frac)
    n = np.arange(-FIR_HALF, FIR_HALF + 1)
    f = np.asarray(freq_cyc, np.float64)[..., None] - centre_cyc
    return np.abs(np.sum(h * np.exp(-2j * np.pi * f * n), axis=-1))


@numba.njit(cache=True, nogil=True)
def _space_variant_fir(v, nu, taps, out):  # pragma: no cover - numba
    """out[i, j] = sum_n taps[n] e^{j 2 pi nu[i, j] n} v[i, j + H - n] (n = -H..H; v has H margin columns on
    each side, so its column j + H is output sample j)."""
    n_rows, n_out = out.shape
    h = (taps.shape[0] - 1) // 2
    for i in range(n_rows):
        for j in range(n_out):
            c = nu[i, j]
            rot = complex(math.cos(2 * math.pi * c), math.sin(2 * math.pi * c))
            ph = complex(math.cos(-2 * math.pi * c * h), math.sin(-2 * math.pi * c * h))
            acc = 0j
            for k in range(taps.shape[0]):
                acc += taps[k] * ph * v[i, j + 2 * h - k]
                ph *= rot
            out[i, j] = acc


def _fir_axis(x: np.ndarray, taps: np.ndarray, axis: int) -> np.ndarray:
    """Real FIR along ``axis`` keeping the interior (``FIR_HALF`` samples less on each side)."""
    h = FIR_HALF
    re = ndimage.correlate1d(x.real, taps, axis=axis, mode="constant")
    im = ndimage.correlate1d(x.imag, taps, axis=axis, mode="constant")
    sl = [slice(None), slice(None)]
    sl[axis] = slice(h, -h)
    return (re + 1j * im)[tuple(sl)]


@dataclass
class SpectralModel:
    """Per-scene bands and the state the block kernels share."""

    f1: float
    f2: float
    b1: float
    b2: float
    fs1: float
    fs2: float
    os: int
    fdc1: float
    fdc2: float
    ba1: float
    ba2: float
    prf1: float
    prf2: float
    nu_mean_hz: float
    ionosphere: IonosphereConfig | None

    # ------------------------------------------------------------------ reflectivity fields
    def _azimuth(self, w: np.ndarray, a0: int, fdc: float, ba: float) -> np.ndarray:
        """``V``: the azimuth band ``fdc -+ ba/2`` of white noise whose first row is reference line ``a0 - H``."""
        m = np.arange(a0 - FIR_HALF, a0 - FIR_HALF + w.shape[0], dtype=np.float64)[:, None]
        carrier = np.exp(2j * np.pi * fdc / self.prf1 * m)
        v = _fir_axis(w * np.conj(carrier), lowpass_taps(ba / self.prf1), axis=0)
        return v * carrier[FIR_HALF:-FIR_HALF]

    def reference_field(self, seed: int, a0: int, a1: int, u0: int, u1: int) -> np.ndarray:
        """``A_1`` on lines ``[a0, a1)`` x fine samples ``[u0, u1)``."""
        h = FIR_HALF
        w = white_noise(seed, STREAM_GROUND, a0 - h, a1 + h, u0 - h, u1 + h)
        v = self._azimuth(w, a0, self.fdc1, self.ba1)
        return _fir_axis(v, lowpass_taps(self.b1 / (self.fs1 * self.os)), axis=1)

    def secondary_field(self, seed: int, a0: int, a1: int, u0: int, u1: int, nu_cyc: np.ndarray) -> np.ndarray:
        """``A_2`` on lines ``[a0, a1)`` x fine samples ``[u0, u1)``; ``nu_cyc`` its band centre per sample
        (cycles per fine sample)."""
        h = FIR_HALF
        w = white_noise(seed, STREAM_GROUND, a0 - h, a1 + h, u0 - h, u1 + h)
        v = self._azimuth(w, a0, self.fdc2, self.ba2)
        out = np.empty((a1 - a0, u1 - u0), np.complex128)
        _space_variant_fir(np.ascontiguousarray(v), np.ascontiguousarray(nu_cyc, np.float64),
                           lowpass_taps(self.b2 / (self.fs1 * self.os)), out)
        return out

    def nu_field(self, model: PairModel, a0: int, a1: int, c0: int, c1: int
                 ) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
        """``nu2`` (Hz) on coarse nodes covering reference lines ``[a0, a1)`` x pixels ``[c0, c1)``: returns
        (nodes' (rows, cols) in reference pixels, values)."""
        g, dec = model.ref_grid, model.ref_table.dec
        # nodes inside the geometry table's margin (beyond it nu2 is held constant by the interpolation)
        # on a node grid fixed to the image (multiples of NODE), so that any window gets the same values
        r0, k0 = NODE * math.floor(a0 / NODE) - NODE, NODE * math.floor(c0 / NODE) - NODE
        rows = np.unique(np.clip(np.arange(r0, a1 + 2 * NODE, NODE), -dec, g.n_az - 1 + dec)).astype(np.float64)
        cols = np.unique(np.clip(np.arange(k0, c1 + 2 * NODE, NODE), -dec, g.n_rg - 1 + dec)).astype(np.float64)
        hi = pixel_geometry(model.ref_table, model.dem, rows, cols + 0.5)["r_other"]
        lo = pixel_geometry(model.ref_table, model.dem, rows, cols - 0.5)["r_other"]
        q = (hi - lo) / model.ref_grid.dr_m  # dR2/dR1 along the reference line
        return (rows, cols), self.f2 * q - self.f1

    @staticmethod
    def interp_nodes(nodes, values, rows, cols) -> np.ndarray:
        """Bilinear interpolation of node values at (rows x cols) (reference pixels, fractional allowed)."""
        (nr, nc) = nodes
        if len(nr) < 2 or len(nc) < 2:
            raise ValueError("nu2 nodes: need at least 2 x 2")
        ir = np.interp(rows, nr, np.arange(len(nr)))
        ic = np.interp(cols, nc, np.arange(len(nc)))
        i0 = np.clip(np.floor(ir).astype(int), 0, len(nr) - 2)
        j0 = np.clip(np.floor(ic).astype(int), 0, len(nc) - 2)
        fr, fc = ir - i0, ic - j0
        v = values
        return (v[i0, j0] * (1 - fr) * (1 - fc) + v[i0 + 1, j0] * fr * (1 - fc) + v[i0, j0 + 1] * (1 - fr) * fc
                + v[i0 + 1, j0 + 1] * fr * fc)

    # ------------------------------------------------------------------ block kernels
    def reference_block(self, model: PairModel, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        a = self.reference_field(model.config.seed, r0, r1, c0 * self.os, c1 * self.os)
        return a[:, ::self.os].astype(np.complex64)

    def tec_tecu(self, model: PairModel, lon, lat) -> np.ndarray:
        from .terrain import local_xy_km

        io = self.ionosphere
        if io is None:
            return np.zeros(np.shape(lon))
        e, n = local_xy_km(lon, lat, model.centre_lon_deg, model.centre_lat_deg)
        return io.tec_tecu + io.gradient_tecu_per_km[0] * e + io.gradient_tecu_per_km[1] * n

    def secondary_block(self, model: PairModel, r0: int, r1: int, c0: int, c1: int, strip: int = 128) -> np.ndarray:
        from .deformation import los_displacement
        from .slc import coherence_at, deformation_enu, tropo_at

        lam1, lam2 = model.wavelength_m, model.secondary_wavelength_m
        cols = np.arange(c0, c1)
        R2 = model.sec_grid.slant_range(cols)[None, :]
        parts = []
        for s0 in range(r0, r1, strip):
            rows = np.arange(s0, min(s0 + strip, r1))
            g = pixel_geometry(model.sec_table, model.dem, rows, cols)
            rr, cc = model.ref_grid.pixel(g["t_other"], g["r_other"])
            los = np.stack([g["los_e"], g["los_n"], g["los_u"]], axis=-1)
            d = los_displacement(deformation_enu(model, g["lon"], g["lat"]), los)
            tec = self.tec_tecu(model, g["lon"], g["lat"]) * TECU
            parts.append((rows, g, rr, cc, d, tec))
        shift = max(float(np.max(np.abs(p[4]))) + float(np.max(np.abs(p[5]))) * TEC_CONSTANT / self.f2**2
                    for p in parts) / model.ref_grid.dr_m + 1.0  # + 1: the troposphere's path (< 1 pixel)
        pad = model.lut.shape[1] // 2 + 2 + int(np.ceil(shift))
        wr0 = min(int(np.floor(p[2].min())) for p in parts) - pad
        wr1 = max(int(np.ceil(p[2].max())) for p in parts) + pad + 1
        wc0 = min(int(np.floor(p[3].min())) for p in parts) - pad
        wc1 = max(int(np.ceil(p[3].max())) for p in parts) + pad + 1
        os_ = self.os
        u0, u1 = wc0 * os_, wc1 * os_
        nodes, nu_hz = self.nu_field(model, wr0, wr1, wc0, wc1)
        win_rows = np.arange(wr0, wr1, dtype=np.float64)
        win_cols = np.arange(u0, u1, dtype=np.float64) / os_
        nu_win = self.interp_nodes(nodes, nu_hz, win_rows[:, None], win_cols[None, :])
        fine = self.fs1 * os_
        a2 = self.secondary_field(model.config.seed, wr0, wr1, u0, u1, nu_win / fine)
        # demodulate (Doppler of the secondary, mean band centre) for the baseband interpolation
        m = win_rows[:, None]
        u = np.arange(u0, u1, dtype=np.float64)[None, :]
        dem = a2 * np.exp(-2j * np.pi * (self.fdc2 / self.prf1 * m + self.nu_mean_hz / fine * u))
        n_sec = self._noise(model.config.seed, r0, r1, c0, c1)
        out = np.empty((r1 - r0, c1 - c0), np.complex64)
        for rows, g, rr, cc, d, tec in parts:
            phi_t = tropo_at(model, rr, cc, g["hgt"])
            group = TEC_CONSTANT * tec / self.f2**2  # m, group delay of the ionosphere
            path = phi_t * SPEED_OF_LIGHT / (4.0 * np.pi * self.f2)  # m, the troposphere's (non-dispersive) delay
            delta = (d - group - path) / model.ref_grid.dr_m * os_  # fine samples the envelope moves (+: closer)
            us = cc * os_ + delta
            sv = sinc_interp(dem, rr - wr0, us - u0, model.lut)
            nu_here = self.interp_nodes(nodes, nu_hz, rr.ravel(), cc.ravel()).reshape(rr.shape)
            sv = sv * np.exp(2j * np.pi * (self.fdc2 / self.prf1 * rr + self.nu_mean_hz / fine * (cc * os_)))
            sv = sv * np.exp(-2j * np.pi * (nu_here - self.nu_mean_hz) / fine * delta)
            gam = coherence_at(model, g["lon"], g["lat"])
            phase = (-4.0 * np.pi * (R2 / lam2 - g["r_other"] / lam1) + 4.0 * np.pi * self.f2 * d / SPEED_OF_LIGHT
                     + 4.0 * np.pi * TEC_CONSTANT * tec / (SPEED_OF_LIGHT * self.f2) - phi_t)
            val = (gam * sv + np.sqrt(1.0 - gam * gam) * n_sec[rows - r0]) * np.exp(1j * phase)
            out[rows - r0] = val.astype(np.complex64)
        return out

    def _noise(self, seed: int, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        """``N``: unit speckle of the secondary's own bands on its grid (its lines and samples)."""
        h = FIR_HALF
        w = white_noise(seed, STREAM_NOISE, r0 - h, r1 + h, c0 - h, c1 + h)
        m = np.arange(r0 - h, r1 + h, dtype=np.float64)[:, None]
        carrier = np.exp(2j * np.pi * self.fdc2 / self.prf2 * m)
        v = _fir_axis(w * np.conj(carrier), lowpass_taps(self.ba2 / self.prf2), axis=0) * carrier[h:-h]
        return _fir_axis(v, lowpass_taps(self.b2 / self.fs2), axis=1)

    def truth_block(self, model: PairModel, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        """(len(SPECTRAL_TRUTH_FIELDS), rows, cols) on reference pixels."""
        nodes, nu_hz = self.nu_field(model, r0, r1, c0, c1)
        rows, cols = np.arange(r0, r1, dtype=np.float64), np.arange(c0, c1, dtype=np.float64)
        nu = self.interp_nodes(nodes, nu_hz, rows[:, None], cols[None, :])
        g = pixel_geometry(model.ref_table, model.dem, rows, cols)
        return np.stack([nu, self.tec_tecu(model, g["lon"], g["lat"])])


def build_spectral_model(model: PairModel) -> SpectralModel:
    """The bands of a configuration's two scenes; refuses bands the reference's oversampled grid cannot hold."""
    cfg = model.config
    sp = cfg.spectra
    f1 = SPEED_OF_LIGHT / cfg.wavelength_m
    f2 = SPEED_OF_LIGHT / model.secondary_wavelength_m
    fs1 = cfg.range_sampling_rate_hz
    fs2 = (sp.secondary_range_sampling_rate_hz if sp is not None else None) or fs1
    b1 = cfg.chirp_bandwidth_hz
    b2 = (sp.secondary_chirp_bandwidth_hz if sp is not None else None) or b1
    prf1, prf2 = 1.0 / model.ref_grid.dt_s, 1.0 / model.sec_grid.dt_s
    for b, fs, who in ((b1, fs1, "reference"), (b2, fs2, "secondary")):
        if b > 0.95 * fs:
            raise ConfigError(f"simulation {cfg.name!r}: the {who}'s range bandwidth {b / 1e6:.3f} MHz needs a "
                              f"sampling rate above {b / 0.95 / 1e6:.3f} MHz (has {fs / 1e6:.3f})")
    ba = cfg.azimuth_bandwidth_fraction
    sm = SpectralModel(f1, f2, b1, b2, fs1, fs2, 1, sp.reference_doppler_centroid_hz if sp else 0.0,
                       sp.secondary_doppler_centroid_hz if sp else 0.0, ba * prf1, ba * prf2, prf1, prf2, 0.0,
                       cfg.ionosphere)
    g = model.ref_grid
    _, nu = sm.nu_field(model, 0, g.n_az, 0, g.n_rg)
    sm.nu_mean_hz = float(np.mean(nu))
    reach = max(0.5 * b1, float(np.max(np.abs(nu))) + 0.5 * b2)
    sm.os = max(1, int(math.ceil(reach / (0.45 * fs1))))
    return sm


#: description and units of the extra truth fields
SPECTRAL_TRUTH_DOC = {
    "range_band_offset_hz": ("Hz", "nu2: centre of the secondary's range band in the reference's frame (carrier "
                                   "difference + geometric spectral shift, from the simulated geometry)"),
    "tec_differential_tecu": ("TECU", "secondary minus reference slant TEC; the interferogram phase it adds at "
                                      "frequency f is -4 pi K TEC / (c f), K = 40.31 m^3/s^2"),
}
assert tuple(SPECTRAL_TRUTH_DOC) == SPECTRAL_TRUTH_FIELDS


def spectral_truth_block(model: PairModel, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    """Block kernel of the extra truth fields (float64)."""
    return model.spectra.truth_block(model, r0, r1, c0, c1)


def scene_metadata(model: PairModel, which: str) -> dict:
    """Metadata fields of one scene under per-scene spectra (an update of the default metadata)."""
    from ..scene import Chirp, Poly1D

    sm: SpectralModel = model.spectra
    cfg = model.config
    ref = which == "reference"
    b = sm.b1 if ref else sm.b2
    return {"wavelength_m": SPEED_OF_LIGHT / (sm.f1 if ref else sm.f2),
            "range_sampling_rate_hz": sm.fs1 if ref else sm.fs2,
            "chirp": Chirp(slope_hz_per_s=b / cfg.chirp_duration_s, duration_s=cfg.chirp_duration_s),
            "range_bandwidth_hz": b, "azimuth_bandwidth_hz": sm.ba1 if ref else sm.ba2,
            "doppler_centroid": Poly1D(coeffs=[sm.fdc1 if ref else sm.fdc2])}
