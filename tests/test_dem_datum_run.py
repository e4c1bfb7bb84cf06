"""A run given a geoid-referenced DEM (EGM96 heights, as SRTM ships them) geolocates and measures as
well as with the ellipsoidal DEM the scene was simulated on; the same file taken as ellipsoidal would
not (about 30 m of undulation under the simulated scene, in Kyushu)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from daskinsar.config import RunConfig
from daskinsar.demo import compare_with_truth
from daskinsar.geometry.geoid import geoid_grid
from daskinsar.io.dem import open_dem, write_dem_geotiff
from daskinsar.pipeline import run
from daskinsar.simulate import simulate_pair
from daskinsar.simulate.presets import MogiSource, PointTargetConfig, preset
from geolocation_helpers import geocoded_position_error_px


def _run(sim, dem: dict, out: Path) -> Path:
    cfg = RunConfig.model_validate({
        "reference": {"path": sim.reference}, "secondary": {"path": sim.secondary}, "dem": dem,
        "output": str(out), "interferogram": {"azimuth_looks": 2, "range_looks": 2}, "filter": {"patch_size": 16},
        "geocode": {"products": ["filt_topophase.unw", "topophase.cor", "los_displacement"]},
        "processing": {"chunk_azimuth": 128, "chunk_range": 128}})
    run(cfg, progress=False, reporter=lambda s: None)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("datum")
    cfg = preset("cband", n_azimuth=256, n_range=256, seed=9,
                 deformation=[MogiSource(depth_m=1000.0, volume_change_m3=2e5)],
                 point_targets=[PointTargetConfig(azimuth_fraction=0.5, range_fraction=0.5, amplitude_db=45.0)])
    sim = simulate_pair(cfg, tmp / "sim", chunks=128)
    # the simulator's (ellipsoidal) DEM, rewritten as EGM96 heights H = h - N on the same samples
    dem = open_dem(sim.dem)
    lon = dem.lon0_deg + dem.dlon_deg * np.arange(dem.heights_m.shape[1])
    lat = dem.lat0_deg + dem.dlat_deg * np.arange(dem.heights_m.shape[0])
    n = geoid_grid("EGM96").undulation(*np.meshgrid(lon, lat))
    geoid_dem = write_dem_geotiff(np.asarray(dem.heights_m) - n, dem.lon0_deg, dem.lat0_deg, dem.dlon_deg,
                                  dem.dlat_deg, tmp / "dem_egm96.tif", height_reference="egm96")
    return sim, float(np.mean(n)), {
        "ellipsoid": _run(sim, {"path": sim.dem}, tmp / "run_ellipsoid"),
        "egm96": _run(sim, {"path": geoid_dem}, tmp / "run_egm96"),
        "egm96 taken as ellipsoidal": _run(sim, {"path": geoid_dem, "vertical_datum": "ellipsoid"},
                                           tmp / "run_wrong")}


def test_geoid_dem_geolocates_and_measures_like_the_ellipsoidal_one(runs):
    sim, mean_n, run_dirs = runs
    target = sim.model.targets[0]
    fig = {}
    for name, run_dir in run_dirs.items():
        err = geocoded_position_error_px(run_dir, target)
        los = compare_with_truth(run_dir, sim.truth)
        fig[name] = (float(np.hypot(*err)), los.get("rms_error_m", np.inf))
        print(f"{name}: point target {fig[name][0]:.4f} output px off, LOS rms {fig[name][1] * 1e3:.2f} mm "
              f"(mean undulation {mean_n:.1f} m)")
    assert mean_n > 20.0  # the test would see a datum mistake
    assert fig["ellipsoid"][0] < 0.05 and fig["egm96"][0] < 0.05
    assert abs(fig["egm96"][0] - fig["ellipsoid"][0]) < 0.01
    assert fig["egm96"][1] <= fig["ellipsoid"][1] + 0.1e-3
    # the same heights used as ellipsoidal: the ground lands tens of metres off
    assert fig["egm96 taken as ellipsoidal"][0] > 1.0
