"""COSMO-SkyMed reader (CSK SCS_A/SCS_B and CSG SCS, HDF5): round trips through the simulator's
writer (float32 and int16 pixels, both generations), mirrored storage, the product's Doppler
polynomials, the CLI, and malformed inputs. No real CSK product or attribute dump was found in
public test suites, so there is no real-metadata check here (see the report)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from daskinsar.cli import app
from daskinsar.geometry.ellipsoid import SPEED_OF_LIGHT as C
from daskinsar.io.readers import detect_reader, get_reader, read_scene
from daskinsar.io.store import open_scene
from daskinsar.simulate.formats import write_csk
from sensor_formats import absolute_times, copy_product, csk_family_cases, h5_set, run_cases, simulate


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    d = tmp_path_factory.mktemp("csk")
    return d, open_scene(simulate("csk", d / "pair", n=128).reference)


@pytest.fixture(scope="module")
def product(sim):
    d, scene = sim
    return scene, write_csk(scene, str(d / "CSKS2_SCS_B_HI_03_HH_RA_SF.h5"))


@pytest.mark.parametrize("generation,dtype", [(1, "float32"), (1, "int16"), (2, "float32")])
def test_round_trip(sim, generation, dtype):
    d, scene = sim
    path = write_csk(scene, str(d / f"csk_{generation}_{dtype}.h5"), generation=generation, dtype=dtype)
    assert detect_reader(path).name == "COSMO_SKYMED"
    sc = read_scene(path, chunks=(50, 37))
    m, m0 = sc.meta, scene.meta
    # the product's own times after Reference UTC: exact float64 round trip
    assert np.max(np.abs(absolute_times(sc) - absolute_times(scene))) < 1e-9
    assert np.max(np.abs(sc.slant_range - scene.slant_range)) < 1e-6
    assert m.wavelength_m == m0.wavelength_m and m.look_side == m0.look_side and m.grid == "zero_doppler"
    assert m.prf_hz == pytest.approx(1 / scene.grid_spacing[0], rel=1e-12)
    assert m.range_sampling_rate_hz == pytest.approx(m0.range_sampling_rate_hz, rel=1e-9)
    assert m.chirp == m0.chirp and m.azimuth_bandwidth_hz == m0.azimuth_bandwidth_hz
    assert m.sensor == ("COSMO_SKYMED" if generation == 1 else "COSMO_SKYMED_SG")
    assert m.epoch.endswith("T00:00:00.000000000")  # Reference UTC: midnight, like real products
    t_abs = absolute_times(scene)[[0, 64, 127]]
    p0, v0 = scene.orbit.shift_epoch("2000-01-01T00:00:00").interpolate(t_abs)
    p1, v1 = sc.orbit.shift_epoch("2000-01-01T00:00:00").interpolate(t_abs)
    assert np.max(np.abs(p1 - p0)) < 1e-6 and np.max(np.abs(v1 - v0)) < 1e-9
    z = scene.data.slc.values
    if dtype == "int16":
        z = np.round(z.astype(np.complex128) * float(h5py.File(path)["/"].attrs["Rescaling Factor"]))
    assert np.array_equal(sc.data.slc.values, z.astype(np.complex64))  # float32 exact; int16 = its DN
    assert np.array_equal(read_scene(path, chunks=1000).data.slc.values, sc.data.slc.values)
    assert sc.data.slc.data.npartitions == 12
    ka = m.azimuth_fm_rate(sc.azimuth_time[64], sc.slant_range[64])
    approx = -2 * m.platform_velocity_mps ** 2 * 0.88 / (m.wavelength_m * sc.slant_range[64])
    assert ka < 0 and ka == pytest.approx(approx, rel=0.1)


def test_mirrored_storage_is_undone(product, tmp_path):
    _, path = product
    ref = read_scene(path).data.slc.values
    for lines, cols, sl in (("LATE-EARLY", "NEAR-FAR", np.s_[::-1]), ("EARLY-LATE", "FAR-NEAR", np.s_[:, ::-1]),
                            ("LATE-EARLY", "FAR-NEAR", np.s_[::-1, ::-1])):
        w = tmp_path / f"{lines}_{cols}"
        w.mkdir()
        p = copy_product(path, w)
        with h5py.File(p, "r+") as f:
            f["S01/SBI"][...] = f["S01/SBI"][...][sl]
            f.attrs["Lines Order"], f.attrs["Columns Order"] = np.bytes_(lines), np.bytes_(cols)
        assert np.array_equal(read_scene(p, chunks=(40, 48)).data.slc.values, ref), (lines, cols)


def test_doppler_polynomials_as_stated(product, tmp_path):
    """A centroid varying in range and azimuth: the model is P_rg(tau - tau_ref) + P_az(t - t_ref) - P_az[0]."""
    _, path = product
    p = copy_product(path, tmp_path)
    rg, az = np.array([30.0, -2.0e5, 1.0e9, 0, 0, 0]), np.array([30.0, 4.0, -0.5, 0, 0, 0])
    h5_set(p, "/", "Centroid vs Range Time Polynomial", rg)
    h5_set(p, "/", "Centroid vs Azimuth Time Polynomial", az)
    with h5py.File(p) as f:
        tau_ref, t_ref = f.attrs["Range Polynomial Reference Time"], f.attrs["Azimuth Polynomial Reference Time"]
    sc = read_scene(p)
    t, r = sc.azimuth_time[[0, 60, 127]], sc.slant_range[[0, 90, 127]]
    tau = 2 * r / C
    want = (rg[0] + rg[1] * (tau - tau_ref) + rg[2] * (tau - tau_ref) ** 2
            + az[1] * (t - t_ref) + az[2] * (t - t_ref) ** 2)
    got = sc.meta.doppler_centroid(t, r)
    assert sc.meta.doppler_centroid.kind == "lut2d"
    assert np.max(np.abs(got - want)) < 1e-3  # Hz (bilinear between 9 x 33 nodes of a smooth polynomial)


def test_cli_ingest_and_info(product, tmp_path):
    _, path = product
    runner = CliRunner()
    for i, extra in enumerate(([], ["--sensor", "COSMO_SKYMED_SLC"], ["--sensor", "COSMO_SKYMED"])):
        store = tmp_path / f"s{i}.zarr"
        res = runner.invoke(app, ["ingest", path, "-o", str(store), *extra])
        assert res.exit_code == 0, res.output
        info = runner.invoke(app, ["info", str(store)])
        assert info.exit_code == 0 and "COSMO_SKYMED" in info.output, info.output
    assert np.array_equal(open_scene(str(store)).data.slc.values, read_scene(path).data.slc.values)
    res = runner.invoke(app, ["ingest", path, "-o", str(tmp_path / "k.zarr"), "--sensor", "KOMPSAT5"])
    assert res.exit_code != 0 and "Mission ID" in res.output and Path(path).name in res.output
    assert get_reader("CSK") is get_reader("COSMO_SKYMED_SLC")


def test_malformed_inputs(product, tmp_path):
    _, path = product
    cases = csk_family_cases(path, "KMPS")
    counts = run_cases(cases, path, tmp_path, sensor="COSMO_SKYMED")
    print(f"COSMO-SkyMed malformed inputs: {len(cases)} cases -> {dict(counts)}")
    assert len(cases) >= 30 and sum(counts.values()) == len(cases) and counts["accepted unchanged"] == 0
