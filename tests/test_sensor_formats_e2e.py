"""End to end over every vendor format: a pair simulated with the sensor's parameters, written as
products of that format, processed with ``daskinsar run CONFIG``; the geocoded LOS displacement
against the simulator's truth must be as good (within 1.1x + 0.5 mm rms) as the same pair processed
from the daskinsar scene stores.

The CEOS SLCs (ERS, RADARSAT-1, RISAT-1, ALOS) state the first line's time to 1 ms: their runs (both) refine the
geometric offsets with dense offsets, and the constant those find must be the products' own rounding. ALOS-2
states it to 1 us (its slant range to 1 m, 0.1 pixel at most): geometric offsets alone.
Not here: UAVSAR RPI (the simulator flies Keplerian orbits, which are no SCH reference track, and an RPI
pair puts both passes on one track and grid)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from daskinsar.cli import app
from daskinsar.config import RunConfig
from daskinsar.demo import compare_with_truth
from daskinsar.geometry.orbit import seconds_between
from daskinsar.io.store import open_scene
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
