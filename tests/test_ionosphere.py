"""Split-spectrum ionosphere (daskinsar.stages.ionosphere) on simulated L-band pairs with a TEC screen.

Truth: the simulator's differential TEC field (secondary minus reference, TECU), which adds
``-4 pi K TEC / (c f)`` to the interferogram phase at frequency ``f`` (K = 40.31 m^3/s^2): every frequency
component of the secondary carries its own dispersive phase (phase advance and group delay,
daskinsar.simulate.spectra), so nothing of the split-spectrum formula is shared with the simulator. The
dispersive phase the processor reports is at its ``f0_hz``; the truth is evaluated there. The LOS
displacement truth is the simulator's.

Pair: NISAR-like L band (77 MHz at 1257.5 MHz, 96 MHz sampling), 768 x 1024 pixels (2.5 x 2.9 km), coherence
0.9, a Mogi source, 20 m of relief, 150 m perpendicular baseline; the ionosphere a TEC ramp of 0.25 TECU/km
east and 0.075 TECU/km north (about 19 cm of LOS-equivalent path across the scene). The same pair (same seed,
same speckle) is simulated without ionosphere. Both are processed alike: 2 x 2 looks, no Goldstein filter, a
3 km plane-fit window (the scene: the estimate is then a plane, as the truth is).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from daskinsar.config import RunConfig
from daskinsar.geometry.ellipsoid import SPEED_OF_LIGHT
from daskinsar.pipeline import run
from daskinsar.simulate import simulate_pair
from daskinsar.simulate.presets import (CoherenceConfig, IonosphereConfig, MogiSource, SpectraConfig, TerrainConfig,
                                        preset)
from daskinsar.stages import ionosphere
from daskinsar.stages.interferogram import multilook
from daskinsar.steps import RunContext, ionosphere_inputs

C = SPEED_OF_LIGHT
K = 40.31


def _pair(ionosphere_config):
    return preset("small", wavelength_m=C / 1257.5e6, chirp_bandwidth_hz=77e6, range_sampling_rate_hz=96e6,
                  chirp_duration_s=20e-6, n_azimuth=768, n_range=1024, point_targets=[], perpendicular_baseline_m=150.0,
                  terrain=TerrainConfig(relief_m=20.0, cone_height_m=0.0, lakes=[]),
                  coherence=CoherenceConfig(temporal=0.9, snr_db=float("inf")),
                  deformation=[MogiSource(depth_m=1500.0, volume_change_m3=3e5)], spectra=SpectraConfig(),
                  ionosphere=ionosphere_config)


def _config(sim, out: Path, **over) -> dict:
    d = Path(sim.out_dir)
    cfg = {"reference": {"path": str(d / "reference.zarr")}, "secondary": {"path": str(d / "secondary.zarr")},
           "dem": {"path": str(d / "dem.tif")}, "output": str(out),
           "interferogram": {"azimuth_looks": 2, "range_looks": 2}, "filter": {"enabled": False},
           "ionosphere": {"enabled": True, "filter_window_m": 3000.0},
           "geocode": {"products": ["unwrap/unw_corrected", "ionosphere/dispersive_phase", "los_displacement"]},
           "processing": {"chunk_azimuth": 384, "chunk_range": 512}}
    cfg.update(over)
    return cfg


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    d = tmp_path_factory.mktemp("iono")
    out = {}
    for name, io in (("iono", IonosphereConfig(gradient_tecu_per_km=(0.25, 0.075))), ("none", IonosphereConfig())):
        sim = simulate_pair(_pair(io), d / name, chunks=384)
        cfg = RunConfig.model_validate(_config(sim, d / f"{name}_run"))
        lines: list[str] = []
        # the pair with ionosphere end to end; its twin only as far as the comparison needs
        status = run(cfg, progress=False, reporter=lines.append, end=None if name == "iono" else "ionosphere")
        assert status["ionosphere"] == "done", status
        out[name] = (sim, d / f"{name}_run", lines)
    return out


def _products(sim, run_dir: Path) -> dict:
    prod = run_dir / "products.zarr"
    ifg = xr.open_zarr(str(prod), group="interferogram", consolidated=False)
    unw = xr.open_zarr(str(prod), group="unwrap", consolidated=False)
    io = xr.open_zarr(str(prod), group="ionosphere", consolidated=False)
    truth = xr.open_zarr(sim.truth, consolidated=False)
    looks = tuple(ifg.attrs["looks"])
    n0, n1 = unw["unw"].shape
    tec = multilook(truth["tec_differential_tecu"].data, looks).compute()[:n0, :n1]
    f0 = io.attrs["f0_hz"]
    return {"io": io, "unw": unw, "f0": f0,
            "dispersive_truth": -4 * np.pi * K * tec * 1e16 / (C * f0),
            "los_truth": multilook(truth["los_displacement"].data, looks).compute()[:n0, :n1]}


def _rms_about_mean(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.sqrt(np.mean((x - x.mean()) ** 2)))


def test_lband_ionosphere_is_estimated_and_removed(pairs):
    """The dispersive estimate within 0.1 rad rms of truth; the corrected LOS displacement error at most 1.5x
    that of the same pair without ionosphere; the uncorrected one much worse."""
    p = _products(*pairs["iono"][:2])
    q = _products(*pairs["none"][:2])
    io = p["io"]
    los_equiv = np.ptp(p["dispersive_truth"]) * C / (4 * np.pi * p["f0"])
    err_d = _rms_about_mean(io["dispersive_phase"].values - p["dispersive_truth"])
    err_raw = _rms_about_mean(io["dispersive_phase_raw"].values - p["dispersive_truth"])
    err_uncorrected = _rms_about_mean(p["unw"]["los_displacement"].values - p["los_truth"])
    err_corrected = _rms_about_mean(io["los_displacement_corrected"].values - p["los_truth"])
    err_none = _rms_about_mean(q["unw"]["los_displacement"].values - q["los_truth"])
    err_none_corrected = _rms_about_mean(q["io"]["los_displacement_corrected"].values - q["los_truth"])
    estimated = float(np.isfinite(io["dispersive_phase"].values).mean())
    print(f"ionosphere: {los_equiv * 100:.1f} cm LOS-equivalent across the scene; dispersive estimate rms error "
          f"{err_d:.4f} rad (raw, unfiltered {err_raw:.3f}); LOS displacement rms error: uncorrected "
          f"{err_uncorrected * 1e3:.2f} mm, corrected {err_corrected * 1e3:.2f} mm; the pair without ionosphere "
          f"{err_none * 1e3:.2f} mm ({err_none_corrected * 1e3:.2f} mm after its own correction); ratio "
          f"{err_corrected / err_none:.2f}; fraction of pixels estimated {estimated:.3f}")
    assert los_equiv >= 0.10
    assert estimated > 0.99
    assert err_d <= 0.1
    assert err_corrected <= 1.5 * err_none
    assert err_uncorrected > 10 * err_none
    # the parts add up to the full band's phase
    unw = p["unw"]["unw"].values
    np.testing.assert_allclose(io["nondispersive_phase"].values + io["dispersive_phase"].values, unw,
                               atol=1e-4 * np.nanmax(np.abs(unw)))


def test_ionosphere_step_reports_and_names(pairs):
    sim, run_dir, lines = pairs["iono"]
    assert any(ln.startswith("ionosphere: split-spectrum correction (as configured)") for ln in lines)
    io = xr.open_zarr(str(run_dir / "products.zarr"), group="ionosphere", consolidated=False)
    assert io["dispersive_phase"].attrs["isce_name"] == "dispersive.bil.unwCor.filt"
    assert io.attrs["f_low_hz"] < io.attrs["f0_hz"] < io.attrs["f_high_hz"]
    geo = xr.open_zarr(str(run_dir / "products.zarr"), group="geocode", consolidated=False)
    assert "ionosphere_nondispersive_phase" in geo and "ionosphere_dispersive_phase" in geo
    assert (run_dir / "geo" / "ionosphere_nondispersive_phase.tif").exists()


def _inputs(run_dir: Path) -> xr.Dataset:
    """The ionosphere step's inputs, as the pipeline assembles them."""
    cfg = RunConfig.model_validate_json((run_dir / "config.json").read_text())
    return ionosphere_inputs(RunContext(cfg, run_dir, progress=False))


def test_ionosphere_products_do_not_depend_on_chunking(pairs):
    _, run_dir, _ = pairs["iono"]
    inputs = _inputs(run_dir).isel(azimuth=slice(0, 256), range=slice(0, 512), ml_azimuth=slice(0, 128),
                                   ml_range=slice(0, 256))
    params = ionosphere.IonosphereParams(enabled=True, filter_window_m=600.0)
    a = ionosphere.run(inputs.chunk({"azimuth": 96, "range": 200, "ml_azimuth": 48, "ml_range": 100}), params)
    b = ionosphere.run(inputs.chunk({"azimuth": -1, "range": -1, "ml_azimuth": -1, "ml_range": -1}), params)
    half = a.attrs["filter_half_window_cells"]
    assert 2 * half[0] + 1 < 128 and 2 * half[1] + 1 < 256  # a local window: the halo is exercised
    for v in ("dispersive_phase", "dispersive_phase_raw", "nondispersive_phase", "los_displacement_corrected"):
        x, y = a[v].values, b[v].values
        assert np.array_equal(np.isfinite(x), np.isfinite(y)), v
        np.testing.assert_allclose(x, y, atol=1e-4 * np.nanmax(np.abs(y)), err_msg=v)


# ---------------------------------------------------------------------------------------------
def test_split_spectrum_formula_recovers_the_model():
    """phi(f) = phi_nd f/f0 + phi_d f0/f sampled at f_L, f_H gives back (phi_d, phi_nd), whose sum is phi(f0)."""
    rng = np.random.default_rng(0)
    phi_nd, phi_d = rng.normal(0, 20, 100), rng.normal(0, 5, 100)
    f0, f_l, f_h = 1257.5e6, 1232.0e6, 1283.0e6
    d, nd = ionosphere.split_spectrum(phi_nd * f_l / f0 + phi_d * f0 / f_l, phi_nd * f_h / f0 + phi_d * f0 / f_h,
                                      f_l, f_h, f0)
    np.testing.assert_allclose(d, phi_d, atol=1e-9)
    np.testing.assert_allclose(nd, phi_nd, atol=1e-9)


def test_plane_fit_is_unbiased_for_a_gradient_up_to_the_edges():
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:60, 0:90]
    field = 0.3 + 0.02 * xx - 0.05 * yy
    noisy = field + rng.normal(0, 0.5, field.shape)
    noisy[5, 7] = 40.0  # an outlier is dropped
    w = np.ones(field.shape)
    fit = ionosphere.plane_fit_kernel(noisy, w, (10, 10), 3.0)
    exact = ionosphere.plane_fit_kernel(field, w, (10, 10), 3.0)
    np.testing.assert_allclose(exact, field, atol=1e-9)
    assert np.sqrt(np.mean((fit - field) ** 2)) < 0.12  # 0.5 / sqrt(21^2) ~ 0.024 inside, ~4x at the corners
    assert abs(fit[5, 7] - field[5, 7]) < 0.3


def test_auto_runs_only_where_it_pays(pairs):
    _, run_dir, _ = pairs["none"]
    inputs = _inputs(run_dir)
    auto = ionosphere.IonosphereParams(filter_window_m=1500.0)
    go, why = ionosphere.decide(inputs, auto)
    assert go and "predicted rms" in why, why
    go, why = ionosphere.decide(inputs, auto.model_copy(update={"filter_window_m": 20000.0}))
    assert not go and "larger than the scene" in why
    go, why = ionosphere.decide(inputs, auto.model_copy(update={"auto_max_noise_rad": 0.001}))
    assert not go and "would not pay" in why
    meta = json.loads(inputs.attrs["reference_radar_metadata"])
    meta["wavelength_m"] = 0.0555
    c_band = inputs.assign_attrs(reference_radar_metadata=json.dumps(meta))
    go, why = ionosphere.decide(c_band, auto)
    assert not go and "shorter than L band" in why


def _peak_mib(inputs: xr.Dataset, params) -> float:
    """Peak traced allocation (MiB) of computing the step's products into a sink, one task at a time."""
    import tracemalloc

    import dask
    import dask.array as da

    class Sink:
        def __setitem__(self, key, value):
            pass

    out = ionosphere.run(inputs, params)
    arrays = [out[v].data for v in out.data_vars]
    tracemalloc.start()
    try:
        with dask.config.set(scheduler="synchronous"):
            da.store(arrays, [Sink() for _ in arrays], lock=False)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_ionosphere_memory_is_bounded_by_the_chunks(pairs):
    """The same chunks, a scene eight times longer: the peak must not grow with the scene (the sub-band
    filters, interferograms and looks of a block are one task; nothing full-resolution outlives it)."""
    _, run_dir, _ = pairs["iono"]
    inputs = _inputs(run_dir).compute()  # in memory: every block of the long scene its own dask key
    params = ionosphere.IonosphereParams(enabled=True, filter_window_m=600.0)
    parts = []
    for dim in ("azimuth", "ml_azimuth"):
        part = inputs[[v for v in inputs.data_vars if dim in inputs[v].dims]]
        parts.append(xr.concat([part] * 8, dim=dim, coords="minimal", compat="override"))
    long = xr.merge(parts, combine_attrs="override")
    chunks = {"azimuth": 256, "range": 512, "ml_azimuth": 128, "ml_range": 256}
    _peak_mib(inputs.chunk(chunks), params)  # numba compilation and plan caches out of the figures
    small = _peak_mib(inputs.chunk(chunks), params)
    large = _peak_mib(long.chunk(chunks), params)
    assert large < 1.3 * small, (small, large)
    print(f"ionosphere peak {small:.0f} MiB, eight times the scene {large:.0f} MiB")
