"""End to end over every vendor format: a pair simulated with the sensor's parameters, written as
products of that format, processed with ``daskinsar run CONFIG``; the geocoded LOS displacement
against the simulator's truth must be as good (within 1.1x + 0.5 mm rms) as the same pair processed
from the daskinsar scene stores."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from daskinsar.cli import app
from daskinsar.demo import compare_with_truth
from daskinsar.io.store import open_scene
from sensor_formats import ISCE_NAME, run_config, simulate, write_product

runner = CliRunner()


def _run(cfg: dict, path: Path) -> dict:
    path.write_text(yaml.safe_dump(cfg))
    res = runner.invoke(app, ["run", str(path)])
    assert res.exit_code == 0, res.output
    return cfg


@pytest.mark.parametrize("sensor", ["csk", "kompsat5", "terrasarx", "radarsat2"])
def test_products_process_like_stores(sensor, tmp_path):
    sim = simulate(sensor, tmp_path / "pair", n=128)
    ref = write_product(sensor, open_scene(sim.reference), tmp_path / "products" / "reference")
    sec = write_product(sensor, open_scene(sim.secondary), tmp_path / "products" / "secondary")
    _run(run_config(ref, sec, sim.dem, tmp_path / "run_format", sensor=ISCE_NAME[sensor]), tmp_path / "format.yaml")
    _run(run_config(sim.reference, sim.secondary, sim.dem, tmp_path / "run_store"), tmp_path / "store.yaml")
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
                                         "radarsat2": "RADARSAT2"}[sensor])
