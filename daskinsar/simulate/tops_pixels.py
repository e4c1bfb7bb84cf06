"""The pixels of a simulated TOPS burst pair (:mod:`daskinsar.simulate.tops` holds the model's derivation
and the driver): the per-burst pair model on the stripmap simulator's fields, the reference and
secondary bursts with their TOPS azimuth phase, written block of columns by block, and the truth
fields, lazily."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import dask.array as da
import numpy as np
import xarray as xr
from scipy.interpolate import RegularGridInterpolator

from ..bursts import TopsBurstParameters, tops_parameters
from ..geometry.dem import Dem
from ..geometry.ellipsoid import SPEED_OF_LIGHT
from ..scene import Scene
from .deformation import los_displacement
from .presets import SimulationConfig
from .slc import (FIR_HALF, STREAM_REFLECTIVITY, STREAM_SECONDARY_NOISE, TRUTH_FIELDS, GeometryTable, PairModel,
                  RadarGrid, band_limit, build_table, coherence_at, deformation_enu, pixel_geometry, reflectivity,
                  sinc_interp, sinc_lut, speckle_window, tropo_at, truth_block, white_noise)

if TYPE_CHECKING:  # the configuration lives with the driver, which imports this module
    from .tops import TopsSimulationConfig

__all__ = ["tops_azimuth_phase", "model", "reference_burst", "secondary_burst", "truth"]


# ------------------------------------------------------------------------------------------ TOPS phase
def tops_azimuth_phase(p: TopsBurstParameters, azimuth_time_s, slant_range_m) -> np.ndarray:
    """``psi`` (rad): the TOPS azimuth phase of a burst at azimuth times (s since the burst's epoch) and
    slant ranges (m), broadcast together (module docstring)."""
    r = np.asarray(slant_range_m, np.float64)
    eta = np.asarray(azimuth_time_s, np.float64) - p.mid_time_s
    ka = p.fm_rate(0.0, r)
    fdc = p.doppler_centroid(0.0, r)
    r0 = p.reference_range_time_s * SPEED_OF_LIGHT / 2.0
    ka0, fdc0 = float(p.fm_rate(0.0, r0)), float(p.doppler_centroid(0.0, r0))
    ks = 2.0 * p.platform_speed_mps * p.steering_rate_rad_s / p.wavelength_m
    kt = ka * ks / (ka - ks)
    d = eta - (-fdc / ka + fdc0 / ka0)
    return 2.0 * np.pi * (fdc * d + 0.5 * kt * d * d)


# ------------------------------------------------------------------------------------------ the pixels
@dataclass
class _BurstPair:
    model: PairModel
    ext_table: GeometryTable  # geometry table of the reference grid extended by _HALO pixels
    ref: TopsBurstParameters
    sec: TopsBurstParameters
    shift_s: float  # misregistration (s)
    seed: int


_HALO = 128


def model(cfg: "TopsSimulationConfig", rb: Scene, sb: Scene, dem: Dem, centre: tuple[float, float], tropo: tuple,
          seed: int, frac: tuple[float, float]) -> _BurstPair:
    """The pair model of one burst pair: the stripmap simulator's fields on the two burst grids (the
    secondary's moved by the injected misregistrations), ``tropo`` = (field, decimation, row and column of
    the burst's line 0 / sample 0 on the field), ``frac`` = (azimuth, range) band fractions."""
    rp, sp = tops_parameters(rb), tops_parameters(sb)
    dt = rp.line_interval_s
    eps = cfg.azimuth_misregistration_lines * sp.line_interval_s
    (n_az, n_rg), (m_az, m_rg) = rb.shape, sb.shape
    rt, rr = rb.azimuth_time, rb.slant_range
    ref_grid = RadarGrid(float(rt[0]), dt, n_az, float(rr[0]), float(rr[1] - rr[0]), n_rg)
    st, sr = sb.azimuth_time, sb.slant_range
    dr2 = float(sr[1] - sr[0])
    sec_grid = RadarGrid(float(st[0]) + eps, sp.line_interval_s, m_az, float(sr[0]) + cfg.range_misregistration_samples
                         * dr2, dr2, m_rg)
    lam = rb.meta.wavelength_m
    sim = SimulationConfig(name="tops", seed=int(seed), wavelength_m=float(lam), terrain=cfg.terrain,
                           deformation=list(cfg.deformation), coherence=cfg.coherence, troposphere=cfg.troposphere,
                           look_side="right", interpolation_taps=cfg.interpolation_taps)  # type: ignore[arg-type]
    levels = np.linspace(float(dem.heights_m.min()) - 10.0, float(dem.heights_m.max()) + 10.0, cfg.height_levels)
    dec = cfg.geometry_decimation_pixels
    ref_table = build_table(ref_grid, rb.orbit, sb.orbit, wavelength_m=lam, look_side="right", levels=levels,
                            dec=dec, los_orbit="self")
    sec_table = build_table(sec_grid, sb.orbit, rb.orbit, wavelength_m=lam, look_side="right", levels=levels,
                            dec=dec, los_orbit="other")
    ext = RadarGrid(ref_grid.t0_s - _HALO * dt, dt, n_az + 2 * _HALO, ref_grid.r0_m - _HALO * ref_grid.dr_m,
                    ref_grid.dr_m, n_rg + 2 * _HALO)
    ext_table = build_table(ext, rb.orbit, sb.orbit, wavelength_m=lam, look_side="right", levels=levels, dec=dec,
                            los_orbit="self")
    field_, tdec, ti0, tj0 = tropo
    pm = PairModel(sim, rb.meta.epoch, sb.meta.epoch, rb.orbit, sb.orbit, ref_grid, sec_grid, dem, ref_table,
                   sec_table, field_, tdec, ti0, tj0, [], frac[0], frac[1], sinc_lut(cfg.interpolation_taps), {},
                   centre[0], centre[1])
    return _BurstPair(pm, ext_table, rp, sp, eps, int(seed))


def _valid_mask(scene: Scene, c0: int = 0, c1: int | None = None) -> np.ndarray:
    f = np.asarray(scene.data["valid_first_sample"].values)[:, None]
    last = np.asarray(scene.data["valid_last_sample"].values)[:, None]
    cols = np.arange(c0, scene.shape[1] if c1 is None else c1)[None, :]
    return (f >= 0) & (cols >= f) & (cols <= last)


#: range samples simulated at once (memory: a few arrays of burst lines x this, complex128)
_COLUMN_BLOCK = 2048


def _column_blocks(n: int):
    return [(c0, min(c0 + _COLUMN_BLOCK, n)) for c0 in range(0, n, _COLUMN_BLOCK)]


def reference_burst(bp: _BurstPair, rb: Scene, out: np.ndarray) -> None:
    """The reference burst into ``out`` (lines x samples, complex64), block of columns by block."""
    m = bp.model
    for c0, c1 in _column_blocks(m.ref_grid.n_rg):
        a = reflectivity(m, 0, m.ref_grid.n_az, c0, c1)
        psi = tops_azimuth_phase(bp.ref, rb.azimuth_time[:, None], rb.slant_range[None, c0:c1])
        out[:, c0:c1] = np.where(_valid_mask(rb, c0, c1), a * np.exp(1j * psi), 0)


def secondary_burst(bp: _BurstPair, sb: Scene, out: np.ndarray, strip: int = 256) -> None:
    """The secondary burst into ``out`` (lines x samples, complex64), block of columns by block."""
    n_az, n_rg = sb.shape
    for c0, c1 in _column_blocks(n_rg):
        out[:, c0:c1] = _secondary_columns(bp, sb, c0, c1, strip)


def _secondary_columns(bp: _BurstPair, sb: Scene, c0: int, c1: int, strip: int) -> np.ndarray:
    m = bp.model
    lam = m.wavelength_m
    n_az = sb.shape[0]
    cols = np.arange(c0, c1)
    R2 = m.sec_grid.slant_range(cols)[None, :]
    parts = []
    for s0 in range(0, n_az, strip):
        rows = np.arange(s0, min(s0 + strip, n_az))
        g = pixel_geometry(m.sec_table, m.dem, rows, cols)
        rr, cc = m.ref_grid.pixel(g["t_other"], g["r_other"])
        parts.append((rows, g, rr, cc))
    pad = m.lut.shape[1] // 2 + 1
    wr0 = min(int(np.floor(p[2].min())) for p in parts) - pad
    wr1 = max(int(np.ceil(p[2].max())) for p in parts) + pad + 1
    wc0 = min(int(np.floor(p[3].min())) for p in parts) - pad
    wc1 = max(int(np.ceil(p[3].max())) for p in parts) + pad + 1
    h = FIR_HALF
    if wr0 - h < -_HALO or wr1 + h > m.ref_grid.n_az + _HALO or wc0 - h < -_HALO or wc1 + h > m.ref_grid.n_rg + _HALO:
        raise ValueError("tops simulation: the secondary burst sees ground too far outside the reference burst "
                         f"(reference lattice rows {wr0}..{wr1}, cols {wc0}..{wc1})")
    # the reference's white-noise coefficients, each carrying exp(j Theta) of its position
    w = white_noise(bp.seed, STREAM_REFLECTIVITY, wr0 - h, wr1 + h, wc0 - h, wc1 + h)
    li = np.arange(wr0 - h, wr1 + h)
    lj = np.arange(wc0 - h, wc1 + h)
    # Theta is smooth (both TOPS phases have the same curvature): exact on every 4th lattice node,
    # bilinear in between
    ci = np.unique(np.concatenate([li[::4], li[-1:]]))
    cj = np.unique(np.concatenate([lj[::4], lj[-1:]]))
    ge = pixel_geometry(bp.ext_table, m.dem, ci + _HALO, cj + _HALO)
    theta_c = (tops_azimuth_phase(bp.ref, m.ref_grid.azimuth_time(ci)[:, None], m.ref_grid.slant_range(cj)[None, :])
               - tops_azimuth_phase(bp.sec, ge["t_other"] - bp.shift_s, ge["r_other"]))
    ii, jj = np.meshgrid(li, lj, indexing="ij")
    theta = RegularGridInterpolator((ci, cj), theta_c)((ii, jj))
    del ii, jj
    A = band_limit(w * np.exp(1j * theta), m.frac_az, m.frac_rg)  # on rows [wr0, wr1), cols [wc0, wc1)
    del w, theta
    N = speckle_window(bp.seed, STREAM_SECONDARY_NOISE, 0, n_az, c0, c1, m.frac_az, m.frac_rg)
    out = np.empty((n_az, c1 - c0), np.complex128)
    for rows, g, rr, cc in parts:
        a = sinc_interp(A, rr - wr0, cc - wc0, m.lut)
        gam = coherence_at(m, g["lon"], g["lat"])
        los = np.stack([g["los_e"], g["los_n"], g["los_u"]], axis=-1)
        dlos = los_displacement(deformation_enu(m, g["lon"], g["lat"]), los)
        phi_t = tropo_at(m, rr, cc, g["hgt"])
        phase = -4.0 * np.pi / lam * (R2 - g["r_other"]) + 4.0 * np.pi / lam * dlos - phi_t
        out[rows] = (gam * a + np.sqrt(1.0 - gam * gam) * N[rows]) * np.exp(1j * phase)
    psi = tops_azimuth_phase(bp.sec, sb.azimuth_time[:, None], sb.slant_range[None, c0:c1])
    return np.where(_valid_mask(sb, c0, c1), out * np.exp(1j * psi), 0).astype(np.complex64)


def truth(bp: _BurstPair, rb: Scene, rows: int = 256) -> xr.Dataset:
    """The truth fields of a reference burst, lazily (blocks of ``rows`` lines x column blocks)."""
    n_az, n_rg = rb.shape
    chunks = ((len(TRUTH_FIELDS),), tuple(min(rows, n_az - a) for a in range(0, n_az, rows)),
              tuple(c1 - c0 for c0, c1 in _column_blocks(n_rg)))

    def block(block_info=None):
        (_, _), (r0, r1), (c0, c1) = block_info[None]["array-location"]
        return truth_block(bp.model, r0, r1, c0, c1)

    f = da.map_blocks(block, chunks=chunks, dtype=np.float64, meta=np.empty((0, 0, 0)),
                      name=f"simulate-tops-truth-{tops_parameters(rb).key}-{bp.seed}")
    return xr.Dataset({n: (("azimuth", "range"), f[k]) for k, n in enumerate(TRUTH_FIELDS)},
                      coords={"azimuth_time": ("azimuth", rb.azimuth_time), "slant_range": ("range", rb.slant_range)},
                      attrs={"burst": tops_parameters(rb).key})
