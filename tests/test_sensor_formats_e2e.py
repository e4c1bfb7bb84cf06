"""End to end over every vendor format: a pair simulated with the sensor's parameters, written as
products of that format, processed with ``daskinsar run CONFIG``; the geocoded LOS displacement
against the simulator's truth must be as good (within 1.1x + 0.5 mm rms) as the same pair processed
from the daskinsar scene stores.

The CEOS SLCs (ERS, RADARSAT-1, RISAT-1, ALOS) state the first line's time to 1 ms: their runs (both) refine the
geometric offsets with dense offsets, and the constant those find must be the products' own rounding. ALOS-2
states it to 1 us (its slant range to 1 m, 0.1 pixel at most): geometric offsets alone.
UAVSAR: the pair is simulated on the airborne platform (``platform: airborne_sch``: one SCH reference track for
both passes, one grid, first lines on whole seconds) and written as an RPI pair (one ``.ann``, passes 1 and 2 by
the reader option ``pass_number``) and as a stack (one ``.ann`` per date); its annotation times (1 s) and
geometry are the simulator's exactly, so geometric offsets alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from daskinsar.cli import app
from daskinsar.config import RunConfig
from daskinsar.demo import compare_with_truth
from daskinsar.geometry.orbit import seconds_between
from daskinsar.io.store import open_scene
from daskinsar.simulate.presets import MogiSource
from daskinsar.simulate.formats.uavsar_rpi import write_uavsar_rpi, write_uavsar_stack
from daskinsar.stages.offsets import OffsetModel
from sensor_formats import ISCE_NAME, READER_NAME, RUN_OFFSETS, absolute_times, run_config, simulate, write_product

runner = CliRunner()


def _run(cfg: dict, path: Path) -> dict:
    path.write_text(yaml.safe_dump(cfg))
    res = runner.invoke(app, ["run", str(path)])
    assert res.exit_code == 0, res.output
    return cfg


def _fitted_residual(run_dir: Path) -> tuple[float, float]:
    """The constant (azimuth, range) pixels the dense offsets of a run added to the geometric ones."""
    from daskinsar.steps import RunContext

    ctx = RunContext(RunConfig.model_validate_json((run_dir / "config.json").read_text()), run_dir, progress=False)
    model = OffsetModel.model_validate_json(ctx.open("offsets").attrs["offset_model"])
    assert model.order == 0 and model.n_used >= 9, model
    return model.azimuth_coeffs[0], model.range_coeffs[0]


def _rounding(run_dir: Path, sim) -> tuple[float, float]:
    """(azimuth, range) pixels by which the products' secondary grid is misplaced relative to their reference
    grid (first line time and first slant range as read, minus the simulator's): what dense offsets must find."""
    err = {}
    for kind, store in (("reference", sim.reference), ("secondary", sim.secondary)):
        read, true = open_scene(str(run_dir / f"{kind}.zarr")), open_scene(store)
        dt = absolute_times(read)[0] - absolute_times(true)[0]
        assert abs(dt) <= 0.5e-3 + 1e-6, f"{kind}: first line {dt * 1e3:.3f} ms off: beyond the format's 1 ms"
        err[kind] = (dt / true.grid_spacing[0], (read.slant_range[0] - true.slant_range[0]) / true.grid_spacing[1])
    return tuple(s - r for s, r in zip(err["secondary"], err["reference"]))


@pytest.mark.parametrize("sensor", ["csk", "kompsat5", "terrasarx", "radarsat2", "ers", "radarsat1", "risat1", "alos",
                                    "alos2"])
def test_products_process_like_stores(sensor, tmp_path):
    sim = simulate(sensor, tmp_path / "pair", n=128)
    ref = write_product(sensor, open_scene(sim.reference), tmp_path / "products" / "reference")
    sec = write_product(sensor, open_scene(sim.secondary), tmp_path / "products" / "secondary")
    offsets = RUN_OFFSETS.get(sensor)
    _run(run_config(ref, sec, sim.dem, tmp_path / "run_format", sensor=ISCE_NAME[sensor], offsets=offsets),
         tmp_path / "format.yaml")
    _run(run_config(sim.reference, sim.secondary, sim.dem, tmp_path / "run_store", offsets=offsets),
         tmp_path / "store.yaml")
    fmt = compare_with_truth(tmp_path / "run_format", sim.truth)
    store = compare_with_truth(tmp_path / "run_store", sim.truth)
    print(f"{sensor}: geocoded LOS displacement rms vs truth: format {fmt['rms_error_m'] * 1e3:.3f} mm "
          f"({fmt['n_pixels']} px), stores {store['rms_error_m'] * 1e3:.3f} mm ({store['n_pixels']} px); "
          f"truth spans {store['truth_range_m'][0] * 1e3:.1f} .. {store['truth_range_m'][1] * 1e3:.1f} mm")
    assert store["n_pixels"] > 1000 and fmt["n_pixels"] >= 0.95 * store["n_pixels"]
    assert fmt["rms_error_m"] <= 1.1 * store["rms_error_m"] + 0.5e-3
    # the run really read the vendor product (not a store)
    scene = open_scene(str(tmp_path / "run_format" / "reference.zarr"))
    assert scene.meta.sensor.startswith({"csk": "COSMO", "kompsat5": "KOMPSAT5", "terrasarx": "TERRASARX",
                                         "radarsat2": "RADARSAT2", "ers": "ERS", "radarsat1": "RADARSAT1",
                                         "risat1": "RISAT1", "alos": "ALOS", "alos2": "ALOS2"}[sensor])
    if sensor.startswith("alos"):  # "ALOS2" starts with "ALOS": the ALOS case must not have read an ALOS-2 product
        assert scene.meta.sensor == READER_NAME[sensor] and scene.meta.level == "slc"
    if sensor == "alos2":  # no dense offsets: the products' grids are the simulator's to 1 us and 1 m
        for kind, store in (("reference", sim.reference), ("secondary", sim.secondary)):
            read, true = open_scene(str(tmp_path / "run_format" / f"{kind}.zarr")), open_scene(store)
            dt = seconds_between(true.meta.epoch, read.meta.epoch) + read.azimuth_time[0] - true.azimuth_time[0]
            assert abs(dt) <= 0.5e-6 + 1e-9, kind
            assert abs(read.slant_range[0] - true.slant_range[0]) <= 0.5 + 1e-6, kind
    if offsets:  # dense offsets found the products' own time / range rounding, and nothing in the stores
        found, expected = _fitted_residual(tmp_path / "run_format"), _rounding(tmp_path / "run_format", sim)
        in_stores = _fitted_residual(tmp_path / "run_store")
        print(f"{sensor}: dense minus geometric offsets (az, rg px): products {found[0]:+.3f}, {found[1]:+.3f} "
              f"(their rounding {expected[0]:+.3f}, {expected[1]:+.3f}); stores {in_stores[0]:+.3f}, {in_stores[1]:+.3f}")
        assert max(abs(f - e) for f, e in zip(found, expected)) <= 0.05
        assert max(map(abs, in_stores)) <= 0.05


@pytest.fixture(scope="module")
def uavsar(tmp_path_factory):
    """A UAVSAR-like pair simulated on the airborne SCH track, and the run of its daskinsar stores."""
    tmp = tmp_path_factory.mktemp("uavsar")
    # a shallower Mogi source than the small preset's: the 80 m x 300 m footprint sees a displacement gradient
    # well above the noise (a run that lost the deformation, e.g. read pass 1 twice, is far off)
    sim = simulate("uavsar", tmp / "pair", n=128, deformation=[MogiSource(depth_m=500.0, volume_change_m3=2e5)])
    _run(run_config(sim.reference, sim.secondary, sim.dem, tmp / "run_store"), tmp / "store.yaml")
    return sim, tmp, compare_with_truth(tmp / "run_store", sim.truth)


def test_uavsar_simulation_is_an_sch_track(uavsar):
    """The simulated reference orbit IS a UAVSAR reference track: the writer's SCH annotation reproduces it (under
    1 mm), the platform stays at the configured height above the ellipsoid (1 m), sees the scene centre at the
    configured look angle (0.01 deg) from the ellipsoid normal, to its left; the secondary flies the same track."""
    from daskinsar.geometry.ellipsoid import ecef_to_llh, enu_basis, llh_to_ecef
    from daskinsar.simulate.formats.uavsar_rpi import scene_track

    sim, _, _ = uavsar
    cfg, ref, sec = sim.model.config, open_scene(sim.reference), open_scene(sim.secondary)
    frame, s0, v_s, h = scene_track(ref)
    t = ref.azimuth_time
    track_pos = frame.to_ecef(s0 + v_s * (t - t[0]), 0.0, h)
    err = float(np.abs(track_pos - ref.orbit.interpolate(t)[0]).max())
    # independent facts, from the ellipsoid alone
    pos, vel = ref.orbit.interpolate(t)
    hgt = ecef_to_llh(pos)[2]
    tc = 0.5 * (t[0] + t[-1])
    p, v = (x[0] for x in ref.orbit.interpolate(np.array([tc])))
    lon, lat, _ = (float(np.ravel(x)[0]) for x in ecef_to_llh(p))
    up = np.asarray(enu_basis(lon, lat)[2]).reshape(3)
    h_c = cfg.terrain.base_height_m + 0.5 * (cfg.terrain.relief_m + cfg.terrain.cone_height_m)
    d = llh_to_ecef(cfg.centre_lon_deg, cfg.centre_lat_deg, h_c).reshape(3) - p
    look = float(np.degrees(np.arccos(-(d @ up) / np.linalg.norm(d))))
    print(f"uavsar track: SCH annotation reproduces the orbit to {err * 1e6:.3f} um; height above the ellipsoid "
          f"{hgt.min():.4f} .. {hgt.max():.4f} m; look angle to the scene centre {look:.6f} deg; speed "
          f"{np.linalg.norm(vel, axis=1).mean():.4f} m/s")
    assert err < 1e-3
    assert np.abs(hgt - cfg.altitude_m).max() < 1.0
    assert abs(look - cfg.look_angle_deg) < 0.01
    assert abs(d @ v) / np.linalg.norm(d) / np.linalg.norm(v) < 1e-6  # zero Doppler at mid-scene
    assert (np.cross(v, d) @ up > 0) == (cfg.look_side == "left")  # v x d points up: the centre is to the left
    assert np.allclose(np.linalg.norm(vel, axis=1), cfg.airborne_speed_mps, rtol=1e-9)
    # the secondary: the same grid, the same track in its own epoch, first lines on whole seconds
    assert np.array_equal(sec.azimuth_time, t) and np.array_equal(sec.slant_range, ref.slant_range)
    assert np.abs(sec.orbit.interpolate(t)[0] - pos).max() < 1e-6
    assert seconds_between(ref.meta.epoch, sec.meta.epoch) == 8 * 86400.0
    assert sim.model.baseline == {"perpendicular_m": 0.0, "parallel_m": 0.0, "along_track_m": 0.0}


@pytest.mark.parametrize("layout", ["rpi", "stack"])
def test_uavsar_products_process_like_stores(layout, uavsar):
    sim, tmp, store = uavsar
    ref, sec = open_scene(sim.reference), open_scene(sim.secondary)
    folder = tmp / layout
    if layout == "rpi":
        ann = write_uavsar_rpi(ref, str(folder), sec)
        paths, sensor, opts = (ann, ann), "UAVSAR_RPI", ({"pass_number": 1}, {"pass_number": 2})
    else:
        paths, sensor, opts = (write_uavsar_stack(ref, str(folder)), write_uavsar_stack(sec, str(folder))), \
            "UAVSAR_STACK", (None, None)
        assert paths[0] != paths[1]
    run_dir = tmp / f"run_{layout}"
    _run(run_config(paths[0], paths[1], sim.dem, run_dir, sensor=sensor, reference_options=opts[0],
                    secondary_options=opts[1]), tmp / f"{layout}.yaml")
    fmt = compare_with_truth(run_dir, sim.truth)
    print(f"uavsar {layout}: geocoded LOS displacement rms vs truth: format {fmt['rms_error_m'] * 1e3:.3f} mm "
          f"({fmt['n_pixels']} px), stores {store['rms_error_m'] * 1e3:.3f} mm ({store['n_pixels']} px); "
          f"truth spans {store['truth_range_m'][0] * 1e3:.1f} .. {store['truth_range_m'][1] * 1e3:.1f} mm")
    assert store["n_pixels"] > 1000 and fmt["n_pixels"] >= 0.95 * store["n_pixels"]
    assert fmt["rms_error_m"] <= 1.1 * store["rms_error_m"] + 0.5e-3
    # the tolerance is small against the signal: the displacement over the scene spans 10 x the allowed rms
    assert store["truth_range_m"][1] - store["truth_range_m"][0] > 10 * (1.1 * store["rms_error_m"] + 0.5e-3)
    # the run really read the UAVSAR products: both passes, on the simulator's grid and times
    for kind, store_url in (("reference", sim.reference), ("secondary", sim.secondary)):
        read, true = open_scene(str(run_dir / f"{kind}.zarr")), open_scene(store_url)
        assert read.meta.sensor == sensor and read.meta.platform == "UAVSAR", (kind, read.meta.sensor)
        dt = absolute_times(read)[0] - absolute_times(true)[0]
        assert abs(dt) < 1e-6 and np.allclose(read.slant_range, true.slant_range, atol=1e-5), kind
    if layout == "rpi":
        assert open_scene(str(run_dir / "secondary.zarr")).meta.extra["pass"] == 2
