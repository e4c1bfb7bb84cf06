"""A Sentinel-1 IW (TOPS) interferometric pair simulated on the geometry of real annotations.

What is real and what is simulated
----------------------------------
- Real: the annotation XML of a subswath (orbit state vectors, burst timing, line interval,
  range sampling, steering rate, FM-rate and Doppler estimates, valid-sample windows) of
  the reference and, given a second date, of the secondary. The output SAFE folders hold
  these annotations, cropped (``numberOfSamples``, ``slantRangeTime``, valid samples and the
  geolocation grid's pixel numbers shifted to a range window; the burst list cut to the
  simulated bursts, ``numberOfLines`` and first/last line times with it) and the real
  manifest, beside simulated measurement TIFFs (complex64) of the annotated size, so the
  Sentinel-1 reader is the path in. The annotation XML is read from the given SAFE at run
  time; nothing of it is kept in the repository.
- Without a second date the secondary annotation is the reference's with the orbit moved
  (cross-track and radial offsets, m) and passing ``secondary_time_shift_s`` later (the
  bursts then see the ground a few lines apart, as real repeat passes do).
- Simulated: the pixels, on the simulation's synthetic DEM, deformation, troposphere and
  coherence (the stripmap simulator's fields, :mod:`daskinsar.simulate.slc`, reused per
  burst), with the TOPS azimuth spectrum.

The TOPS azimuth spectrum (derivation)
--------------------------------------
A target at zero-Doppler time ``eta_p`` (from the burst centre) has Doppler ``k_a (t -
eta_p)`` at raw time ``t`` (``k_a < 0``, daskinsar's phase convention ``-4 pi R / lambda``).
The antenna, steered at ``k_psi`` rad/s, points at Doppler ``f_dc + k_s t`` with ``k_s = 2 v
k_psi / lambda``: it illuminates the target when the two agree, at Doppler
``f(eta_p) = f_dc + k_t eta_p`` with ``k_t = k_a k_s / (k_a - k_s)`` (> 0: from aft to
fore). The focused burst therefore has, around each line, its spectrum centred at
``f(eta) = f_dc(tau) + k_t(tau) (eta - eta_ref(tau))`` (with ESA's range-dependent reference
time ``eta_ref``): baseband speckle ``A`` times ``exp(j psi)``,
``psi = 2 pi [f_dc d + k_t d^2 / 2]``, ``d = eta - eta_ref`` (written here from this
derivation; ``stages/tops.py`` holds the processor's deramping).

Reference burst: ``ref = A exp(j psi_ref)`` on its own grid, ``A`` the stripmap simulator's
reflectivity (independent speckle per burst: bursts see the ground with disjoint Doppler
bands, so their speckle is independent).

Secondary burst, at secondary pixel ``(t2, R2)`` seeing ground point ``X`` whose reference
position is ``(t1', R1')``: the same scatterers as ``A`` (the white-noise coefficients ``w``
of ``A = FIR * w``), each seen through the secondary's own TOPS band, i.e. in the deramped
domain the coefficients carry ``exp(j (psi_ref - psi_sec))`` of their position:

    sec = [g (FIR * (w exp(j Theta)))(t1', R1') + sqrt(1 - g^2) N] exp(-j 4 pi (R2 - R1') / lambda)
          exp(+j 4 pi d_los / lambda) exp(-j phi_tropo) exp(j psi_sec(t2, R2))
    Theta = psi_ref(lattice point) - psi_sec(where the secondary sees that point)

(``g`` coherence, ``N`` independent speckle, as in the stripmap model). After deramping
both with their own annotations, coregistering and reramping, ``ref * conj(sec)`` has the
truth's phase ``flat_topo_phase + deformation_phase + tropo_phase`` (``truth`` per
reference burst, :func:`~daskinsar.simulate.slc.truth_block`).

Azimuth misregistration: ``azimuth_misregistration_lines = m`` makes the secondary's lines
be acquired ``m`` line intervals later than its annotation says (its steering follows the
annotated lines); geometric coregistration from the annotation is then off by ``m`` lines
(the resampled secondary at reference line i holds what belongs at i + m): what ESD
measures. The truth's ``azimuth_offset`` is the true one. ``range_misregistration_samples`` likewise
moves the secondary's samples in range (what a dense-offset range check measures).

Not modelled: point targets; the curvature ``pi k_t (t - eta_p)^2`` of each target's
response across its few-sample support.
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import dask
import defusedxml.ElementTree as SafeET
import numpy as np
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field

from ..bursts import TopsScene, match_bursts, tops_parameters
from ..geometry.rdr2geo import rdr2geo
from ..geometry.dem import Dem
from .presets import CoherenceConfig, Source, TerrainConfig, TroposphereConfig
from .slc import turbulence_field
from .terrain import make_dem
from .tops_pixels import model, reference_burst, secondary_burst, tops_azimuth_phase, truth
from .tops_safe import (burst_rows, close_measurement, crop_annotation, moved_orbit, nearest_burst, open_measurement,
                        secondary_window, write_safe)

__all__ = ["TopsSimulationConfig", "SubswathCrop", "TopsSimulation", "simulate_tops_pair", "tops_azimuth_phase"]


class SubswathCrop(BaseModel):
    """One more subswath of the simulated pair: its bursts and range window."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    swath: str
    bursts: list[int] | None = Field(None, description="reference bursts (annotation indices, contiguous); "
                                                       "None: all")
    first_sample: int = Field(0, ge=0, description="first range sample of the reference crop")
    n_samples: int = Field(256, ge=32, description="range samples of the reference crop")


class TopsSimulationConfig(BaseModel):
    """A TOPS pair on real annotations. Lengths m, times s, angles deg."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = 0
    swath: str = "IW1"
    polarization: str | None = None
    bursts: list[int] | None = Field(None, description="reference bursts (annotation indices, contiguous); "
                                                       "None: all")
    first_sample: int = Field(10000, ge=0, description="first range sample of the reference crop")
    n_samples: int = Field(256, ge=32, description="range samples of the reference crop")
    subswaths: list[SubswathCrop] = Field(default_factory=list, description="further subswaths simulated beside "
                                          "`swath` (the same polarisation, ground and troposphere)")
    secondary_cross_track_m: float = Field(150.0, description="synthetic secondary: horizontal cross-track offset")
    secondary_radial_m: float = Field(30.0, description="synthetic secondary: radial (up) offset")
    secondary_time_shift_s: float = Field(0.004, description="synthetic secondary: passes this much later")
    azimuth_misregistration_lines: float = 0.0
    range_misregistration_samples: float = Field(0.0, description="the secondary's samples lie this much further "
                                                 "in range than its annotation says (what a dense range check finds)")
    terrain: TerrainConfig = Field(default_factory=lambda: TerrainConfig(base_height_m=300.0, relief_m=150.0,
                                                                        spacing_arcsec=1.0, margin_km=1.0))
    deformation: list[Source] = Field(default_factory=list)
    coherence: CoherenceConfig = Field(default_factory=lambda: CoherenceConfig(temporal=0.9,
                                                                              snr_db=float("inf")))
    troposphere: TroposphereConfig = Field(default_factory=TroposphereConfig)
    write_truth: bool = Field(True, description="write truth.zarr (15 float64 fields per reference pixel: 35 GB "
                                                "for a whole IW subswath; benchmarks leave it out)")
    geometry_decimation_pixels: int = Field(32, ge=4, le=128)
    height_levels: int = Field(3, ge=2, le=9)
    interpolation_taps: int = 16


@dataclass
class TopsSimulation:
    """Where the simulated pair is and what it holds."""

    reference: Path  # SAFE folder
    secondary: Path  # SAFE folder
    pairs: list[tuple[str, str]]  # (reference burst key, secondary burst key)
    truth: dict[str, xr.Dataset]  # per reference burst key: TRUTH_FIELDS on the reference burst grid (truth.zarr)
    dem: Dem
    config: TopsSimulationConfig
    extra: dict = field(default_factory=dict)
    dem_path: Path | None = None  # the DEM as a GeoTIFF (heights above the ellipsoid)


# ------------------------------------------------------------------------------------------ driver
def _match(ref: TopsScene, sec: TopsScene) -> list[tuple[str, str]]:
    return [(m.reference, m.secondary) for m in match_bursts(ref, sec)]


def _dem_for(ref: TopsScene, cfg: TopsSimulationConfig) -> tuple[Dem, tuple[float, float]]:
    lons, lats = [], []
    for b in ref.bursts:
        t, r = b.azimuth_time, b.slant_range
        T, R = np.meshgrid(t[[0, -1]], r[[0, -1]], indexing="ij")
        for h_m in (cfg.terrain.base_height_m - 200.0, cfg.terrain.base_height_m + cfg.terrain.relief_m + 200.0):
            lo, la, _ = rdr2geo(T, R, b.orbit, wavelength_m=b.meta.wavelength_m, look_side="right", dem=h_m)
            lons.append(lo.ravel())
            lats.append(la.ravel())
    lon, lat = np.concatenate(lons), np.concatenate(lats)
    c_lon, c_lat = float(lon.mean()), float(lat.mean())
    m_lat = (cfg.terrain.margin_km + 3.0) * 1e3 / 111e3
    m_lon = m_lat / np.cos(np.deg2rad(c_lat))
    d = cfg.terrain.spacing_arcsec / 3600.0
    lon0 = np.floor((lon.min() - m_lon) / d) * d
    lat_top = np.ceil((lat.max() + m_lat) / d) * d
    nx = int(np.ceil((lon.max() + m_lon - lon0) / d)) + 1
    ny = int(np.ceil((lat_top - (lat.min() - m_lat)) / d)) + 1
    tc = cfg.terrain
    h = make_dem(lon0, lat_top, d, -d, (ny, nx), centre_lon=c_lon, centre_lat=c_lat, base_height_m=tc.base_height_m,
                 relief_m=tc.relief_m, beta=tc.spectral_exponent, min_wavelength_m=tc.min_wavelength_m,
                 cone_height_m=tc.cone_height_m, cone_radius_km=tc.cone_radius_km, cone_east_km=tc.cone_east_km,
                 cone_north_km=tc.cone_north_km, lakes=[(lk.east_km, lk.north_km, lk.radius_km) for lk in tc.lakes],
                 seed=cfg.seed)
    return Dem(h.astype(np.float64), float(lon0), float(lat_top), d, -d, tc.interpolation,
               source="simulated DEM", edge="clamp"), (c_lon, c_lat)


def _tropo(ref: TopsScene, cfg: TopsSimulationConfig) -> tuple:
    """One turbulent field for all simulated bursts on the common (line, range sample) lattice of the
    subswaths: (field, dec, rows and cols of lattice node 0, lattice origin time s and range m), so
    overlapping bursts and subswaths see the same troposphere."""
    bs = ref.bursts
    dt = tops_parameters(bs[0]).line_interval_s
    dr = float(bs[0].slant_range[1] - bs[0].slant_range[0])
    t0 = min(b.azimuth_time[0] for b in bs)
    r0 = min(b.slant_range[0] for b in bs)
    n_lines = int(round((max(b.azimuth_time[-1] for b in bs) - t0) / dt)) + 1
    n_cols = int(round((max(b.slant_range[-1] for b in bs) - r0) / dr)) + 1
    tdec = 8
    nti = int(math.ceil((n_lines + 128) / tdec)) + 1
    ntj = int(math.ceil((n_cols + 128) / tdec)) + 1
    fld = np.zeros((nti, ntj))
    tr = cfg.troposphere
    if tr.turbulence_std_rad > 0:
        v = tops_parameters(bs[0]).platform_speed_mps
        fld = turbulence_field(tr, cfg.seed, (nti, ntj), tdec * dt * v * 0.9, tdec * dr / np.sin(np.deg2rad(38.0)))
    return fld, tdec, -64.0, -64.0, t0, r0


def simulate_tops_pair(reference_safe: str | os.PathLike, out_dir: str | os.PathLike,
                       config: TopsSimulationConfig | None = None, *,
                       secondary_safe: str | os.PathLike | None = None) -> TopsSimulation:
    """Simulate a TOPS pair on the annotation of ``reference_safe`` (and of ``secondary_safe``, the
    second date; default: the reference's annotation with a moved orbit); write
    ``out_dir/reference/<name>.SAFE`` and ``out_dir/secondary/<name>.SAFE`` (read them with the
    Sentinel-1 reader) and ``out_dir/truth.zarr`` (one group per reference burst)."""
    # io imported here, as simulate/api.py does: the simulation's model modules stay free of io
    from ..io.dem import write_dem_geotiff
    from ..io.sentinel1 import open_safe, tops_metadata
    from ..io.store import write_dataset

    cfg = config or TopsSimulationConfig()
    out = Path(out_dir)
    ref_src = Path(reference_safe)
    prod_r = open_safe(ref_src)
    sec_src = Path(secondary_safe) if secondary_safe is not None else ref_src
    prod_s = open_safe(sec_src) if secondary_safe is not None else prod_r
    crops = [SubswathCrop(swath=cfg.swath, bursts=cfg.bursts, first_sample=cfg.first_sample,
                          n_samples=cfg.n_samples), *cfg.subswaths]
    pol = prod_r.find(cfg.swath, cfg.polarization)["polarization"]
    ref_safe = out / "reference" / ref_src.name
    sec_safe = out / "secondary" / sec_src.name
    for d in (ref_safe, sec_safe):
        if d.exists():
            shutil.rmtree(d)
    ann_r, ann_s, frac = {}, {}, {}
    for crop in crops:
        sw = crop.swath.upper()
        item_r = prod_r.find(sw, pol)
        sw_r = prod_r.swath(sw, pol)
        keep = crop.bursts if crop.bursts is not None else [b.index for b in sw_r.bursts]
        if sorted(keep) != list(range(min(keep), max(keep) + 1)) or max(keep) >= len(sw_r.bursts):
            raise ValueError(f"tops simulation: {sw} bursts must be contiguous indices < {len(sw_r.bursts)}, "
                             f"got {keep}")
        j0, n = crop.first_sample, crop.n_samples
        if j0 + n > sw_r.n_samples:
            raise ValueError(f"tops simulation: {sw} samples {j0}..{j0 + n} beyond the swath's {sw_r.n_samples}")
        root_r = SafeET.fromstring(prod_r.source.read_bytes(item_r["annotation"]))
        item_s = prod_s.find(sw, pol)
        sw_s = prod_s.swath(sw, pol)
        sec_orbit = None
        if secondary_safe is None:
            sec_orbit = moved_orbit(sw_r.orbit, cfg.secondary_cross_track_m, cfg.secondary_radial_m,
                                    cfg.secondary_time_shift_s)
            sw_s.orbit = sec_orbit
        root_s = SafeET.fromstring(prod_s.source.read_bytes(item_s["annotation"]))
        # secondary bursts nearest the kept reference bursts (platform along-track distance at mid times)
        s_keep = sorted({nearest_burst(sw_r, k, sw_s) for k in keep})
        s0, ns = secondary_window(sw_r, sw_s, keep, j0, n)
        crop_annotation(root_r, keep, j0, n, None)
        crop_annotation(root_s, s_keep, s0, ns, sec_orbit)
        ann_r[sw] = write_safe(ref_src, item_r["annotation"], root_r, ref_safe)
        ann_s[sw] = write_safe(sec_src, item_s["annotation"], root_s, sec_safe)
        sw_bw = sw_r.azimuth_bandwidth_hz or 0.8 / sw_r.azimuth_time_interval_s
        frac[sw] = (min(sw_bw * sw_r.azimuth_time_interval_s, 0.9),
                    min((sw_r.range_bandwidth_hz or 0.85 * sw_r.range_sampling_rate_hz) / sw_r.range_sampling_rate_hz,
                        0.85))
    # read back through the reader: the grids and parameters the processor will see
    swaths = [c.swath.upper() for c in crops]
    ref = tops_metadata(str(ref_safe), swath=swaths, polarization=pol)
    sec = tops_metadata(str(sec_safe), swath=swaths, polarization=pol)
    pairs = _match(ref, sec)
    dem, centre = _dem_for(ref, cfg)
    tfield, tdec, ti0, tj0, t_first, r_first = _tropo(ref, cfg)
    # the measurement TIFFs, written burst by burst (memory bounded by a burst's column block)
    ref_tif = {sw: open_measurement(TopsScene(ref.swath_bursts(sw), ref.attrs), ann_r[sw], ref_safe) for sw in swaths}
    sec_tif = {sw: open_measurement(TopsScene(sec.swath_bursts(sw), sec.attrs), ann_s[sw], sec_safe) for sw in swaths}
    tstore = out / "truth.zarr"
    if tstore.exists():
        shutil.rmtree(tstore)
    for rk, sk in pairs:
        rb, sb = ref.burst(rk), sec.burst(sk)
        rp = tops_parameters(rb)
        line0 = (rb.azimuth_time[0] - t_first) / rp.line_interval_s
        col0 = (rb.slant_range[0] - r_first) / float(rb.slant_range[1] - rb.slant_range[0])
        seed = int(np.random.SeedSequence([cfg.seed, rp.burst_index, int(rp.swath[2:])]).generate_state(1)[0] >> 1)
        bp = model(cfg, rb, sb, dem, centre, (tfield, tdec, ti0 - line0, tj0 - col0), seed, frac[rp.swath])
        reference_burst(bp, rb, burst_rows(ref_tif[rp.swath], ref, rk))
        secondary_burst(bp, sb, burst_rows(sec_tif[rp.swath], sec, sk))
        if cfg.write_truth:
            with dask.config.set(scheduler="threads"):
                write_dataset(truth(bp, rb), str(tstore), group=rk, mode="a")
    for sw in swaths:
        close_measurement(ref_tif[sw], ann_r[sw])
        close_measurement(sec_tif[sw], ann_s[sw])
    truths = {rk: xr.open_zarr(tstore, group=rk, consolidated=False) for rk, _ in pairs} if cfg.write_truth else {}
    dem_path = out / "dem.tif"
    write_dem_geotiff(dem.heights_m.astype(np.float32), dem.lon0_deg, dem.lat0_deg, dem.dlon_deg, dem.dlat_deg,
                      str(dem_path))
    return TopsSimulation(ref_safe, sec_safe, pairs, truths, dem, cfg,
                          {"reference_annotation": str(ann_r[swaths[0]]), "secondary_annotation": str(ann_s[swaths[0]]),
                           "reference_annotations": {k: str(v) for k, v in ann_r.items()},
                           "secondary_annotations": {k: str(v) for k, v in ann_s.items()}}, dem_path)
