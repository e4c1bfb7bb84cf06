"""KOMPSAT-5 reader (COSMO-SkyMed HDF5 layout, Mission ID KMPS): round trip through the simulator's
writer, the CLI, and malformed inputs (the CSK-family cases plus the KOMPSAT-5 PRF rule). No real
KOMPSAT-5 product or attribute dump was found in public test suites (see the report)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from daskinsar.cli import app
from daskinsar.io.readers import detect_reader, read_scene
from daskinsar.io.store import open_scene
from daskinsar.simulate.formats import write_kompsat5
from sensor_formats import Case, absolute_times, copy_product, csk_family_cases, h5_set, run_cases, simulate


@pytest.fixture(scope="module")
def product(tmp_path_factory):
    d = tmp_path_factory.mktemp("k5")
    scene = open_scene(simulate("kompsat5", d / "pair", n=128).reference)
    return scene, write_kompsat5(scene, str(d / "K5_SCS_B_ST.h5"))


@pytest.mark.parametrize("dtype", ["float32", "int16"])
def test_round_trip(product, tmp_path, dtype):
    scene, _ = product
    path = write_kompsat5(scene, str(tmp_path / f"k5_{dtype}.h5"), dtype=dtype)
    assert detect_reader(path).name == "KOMPSAT5"
    sc = read_scene(path, chunks=(50, 37))
    m, m0 = sc.meta, scene.meta
    assert m.sensor == "KOMPSAT5" and m.platform == "KMPS5" and m.grid == "zero_doppler"
    assert np.max(np.abs(absolute_times(sc) - absolute_times(scene))) < 1e-9
    assert np.max(np.abs(sc.slant_range - scene.slant_range)) < 1e-6
    assert m.wavelength_m == m0.wavelength_m and m.chirp == m0.chirp and m.look_side == m0.look_side
    t_abs = absolute_times(scene)[[0, 127]]
    p0, _ = scene.orbit.shift_epoch("2000-01-01T00:00:00").interpolate(t_abs)
    p1, _ = sc.orbit.shift_epoch("2000-01-01T00:00:00").interpolate(t_abs)
    assert np.max(np.abs(p1 - p0)) < 1e-6
    z = scene.data.slc.values
    if dtype == "int16":
        z = np.round(z.astype(np.complex128) * float(h5py.File(path)["/"].attrs["Rescaling Factor"]))
    assert np.array_equal(sc.data.slc.values, z.astype(np.complex64))


def test_cli_ingest_and_info(product, tmp_path):
    _, path = product
    runner = CliRunner()
    for i, extra in enumerate(([], ["--sensor", "KOMPSAT5"])):
        store = tmp_path / f"s{i}.zarr"
        res = runner.invoke(app, ["ingest", path, "-o", str(store), *extra])
        assert res.exit_code == 0, res.output
        info = runner.invoke(app, ["info", str(store)])
        assert info.exit_code == 0 and "KOMPSAT5" in info.output, info.output
    res = runner.invoke(app, ["ingest", path, "-o", str(tmp_path / "c.zarr"), "--sensor", "COSMO_SKYMED_SLC"])
    assert res.exit_code != 0 and "KMPS" in res.output


def test_malformed_inputs(product, tmp_path):
    _, path = product
    with h5py.File(path) as f:
        prf = float(f["S01"].attrs["PRF"])
    cases = csk_family_cases(path, "CSK") + [
        Case("line interval is not 1/PRF", lambda w: h5_set(copy_product(path, w), "/S01", "PRF", 1.01 * prf))]
    counts = run_cases(cases, path, tmp_path, sensor="KOMPSAT5")
    print(f"KOMPSAT-5 malformed inputs: {len(cases)} cases -> {dict(counts)}")
    assert len(cases) >= 30 and sum(counts.values()) == len(cases) and counts["accepted unchanged"] == 0
