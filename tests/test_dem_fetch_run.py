"""No DEM given, as ISCE users often run: the run downloads one for the scene (Copernicus GLO-30 from a
tile server on 127.0.0.1, never the internet), converts its EGM2008 heights to the ellipsoid, caches
it in the run folder and completes; with nothing to download from, one clear error line."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from dem_test_helpers import copernicus_tiles, serve, synthetic_geoid_n
from geolocation_helpers import geocoded_position_error_px
from typer.testing import CliRunner

from daskinsar.cli import app
from daskinsar.config import RunConfig
from daskinsar.demo import compare_with_truth
from daskinsar.io.dem import open_dem
from daskinsar.pipeline import run
from daskinsar.simulate import simulate_pair
from daskinsar.simulate.presets import MogiSource, PointTargetConfig, preset


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    cfg = preset("cband", n_azimuth=256, n_range=256, seed=9,
                 deformation=[MogiSource(depth_m=1000.0, volume_change_m3=2e5)],
                 point_targets=[PointTargetConfig(azimuth_fraction=0.5, range_fraction=0.5, amplitude_db=45.0)])
    return simulate_pair(cfg, tmp_path_factory.mktemp("fetch") / "sim", chunks=128)


def _config(sim, out, dem: dict) -> dict:
    return {"reference": {"path": sim.reference}, "secondary": {"path": sim.secondary}, "dem": dem,
            "output": str(out), "interferogram": {"azimuth_looks": 2, "range_looks": 2}, "filter": {"patch_size": 16},
            "geocode": {"products": ["filt_topophase.unw", "topophase.cor", "los_displacement"]},
            "processing": {"chunk_azimuth": 128, "chunk_range": 128}}


def test_no_dem_run_downloads_converts_and_completes(sim, tmp_path, egm2008_grid):
    truth_dem = open_dem(sim.dem)  # ellipsoidal heights the scene was simulated on
    # the served tile: those heights at 1 arcsec as EGM2008 heights (the synthetic EGM2008 grid's N removed)
    tiles = tmp_path / "tiles"
    copernicus_tiles(str(tiles), lambda lon, lat: truth_dem.replace(edge="clamp")(lon, lat) - synthetic_geoid_n(lon, lat),
                     lats=(32,), lon=130, n=3600)
    with serve(str(tiles)) as url:
        cfg = RunConfig.model_validate(_config(sim, tmp_path / "run", {"tile_server": url}))
        run(cfg, progress=False, reporter=lambda s: None)
    cached = list((tmp_path / "run" / "dem_download").iterdir())
    assert len(cached) == 1 and cached[0].name.startswith("copernicus_")
    err = float(np.hypot(*geocoded_position_error_px(tmp_path / "run", sim.model.targets[0])))
    los = compare_with_truth(tmp_path / "run", sim.truth)["rms_error_m"]
    print(f"downloaded DEM: point target {err:.4f} output px off, LOS rms {los * 1e3:.2f} mm")
    assert err < 0.05  # the heights arrived on the ellipsoid (the undulation here is about 40 m)
    assert los < 1.5e-3


def test_no_dem_and_nothing_to_download_is_one_clear_error(sim, tmp_path):
    with serve(str(tmp_path)) as url:  # an address where nothing listens once this block ends
        pass
    p = tmp_path / "run.yaml"
    p.write_text(yaml.safe_dump(_config(sim, tmp_path / "run", {"tile_server": url})))
    res = CliRunner().invoke(app, ["run", str(p)])
    assert res.exit_code != 0
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    print(errors)
    # the progress lines before it, then one error line that says what failed and how to give a DEM
    assert errors == lines[-1:] and "no DEM given" in errors[0] and "dem.path" in errors[0]
    assert "Traceback" not in res.output
