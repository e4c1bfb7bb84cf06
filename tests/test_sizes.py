"""Every stage works on any size a run can produce: tiny images, images smaller than a filter patch or
the unwrapper's window, one-pixel-wide chunks; and a run whose interferogram is 30 x 66 pixels."""

from __future__ import annotations

from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import xarray as xr
import yaml
from typer.testing import CliRunner

from daskinsar.cli import app
from daskinsar.stages.coherence import coherence, phase_sigma_coherence
from daskinsar.stages.filter import goldstein
from daskinsar.stages.interferogram import interferogram
from daskinsar.stages.unwrap import unwrap

SHAPES = [(30, 66), (1, 5), (5, 1), (2, 2), (17, 3), (1, 1)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_stages_on_tiny_images_and_chunks(shape, chunk):
    rng = np.random.default_rng(sum(shape) + chunk)
    ii, jj = np.indices(shape)
    z = (np.exp(1j * (0.3 * ii + 0.2 * jj)) + 0.05 * (rng.normal(size=shape) + 1j * rng.normal(size=shape)))
    z = z.astype(np.complex64)
    zd = da.from_array(z, chunks=chunk)
    whole = da.from_array(z, chunks=-1)
    power = (np.abs(z) ** 2).astype(np.float32)
    outs = {
        "ifg": (interferogram(zd, zd, (1, 1))["ifg"].values, interferogram(whole, whole, (1, 1))["ifg"].values),
        # the interferogram of an image with itself: r conj(r) = |r|^2, of coherence exactly 1
        "coherence": (coherence(da.from_array(power.astype(np.complex64), chunks=chunk), power, power, (5, 5)).compute(),
                      coherence(power.astype(np.complex64), power, power, (5, 5)).compute()),
        "phsig": (phase_sigma_coherence(zd, (5, 5)).compute(), phase_sigma_coherence(whole, (5, 5)).compute()),
        "goldstein": (goldstein(zd, alpha=0.5, psize=32).compute(), goldstein(whole, alpha=0.5, psize=32).compute()),
    }
    for name, (got, ref) in outs.items():
        assert got.shape == shape, name
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6, err_msg=name)
    # the sample coherence of an image with itself is 1, whatever the size and the chunks
    assert np.all(np.abs(outs["coherence"][0] - 1) < 1e-5)
    unw, cc = unwrap(zd, np.full(shape, 0.95, np.float32), nlooks=16)
    unw = unw.compute()
    assert unw.shape == shape


def test_unwrap_of_a_small_ramp_is_right():
    """Smaller than SNAPHU's 7 x 7 window: unwrapped inside a masked border, the ramp recovered."""
    ii, jj = np.indices((5, 12))
    phi = 0.9 * jj + 0.4 * ii
    unw, cc = unwrap(np.exp(1j * phi).astype(np.complex64), np.full(phi.shape, 0.98, np.float32), nlooks=16)
    d = unw.compute() - phi
    assert np.nanstd(d) < 1e-3 and np.allclose(d, d[0, 0], atol=1e-3)


def test_run_with_a_30_by_66_interferogram(tmp_path):
    """A scene and looks that give a 30 x 66 multilooked grid (smaller than the 32-pixel filter patch)."""
    from daskinsar.simulate import simulate_pair
    from daskinsar.simulate.presets import preset

    sim = simulate_pair(preset("small", n_azimuth=240, n_range=264), tmp_path / "sim", chunks=128)
    cfg = {"reference": {"path": sim.reference}, "secondary": {"path": sim.secondary}, "dem": {"path": sim.dem},
           "output": str(tmp_path / "run"), "interferogram": {"azimuth_looks": 8, "range_looks": 4},
           "filter": {"patch_size": 32}, "processing": {"chunk_azimuth": 64, "chunk_range": 64}}
    p = tmp_path / "run.yaml"
    p.write_text(yaml.safe_dump(cfg))
    r = CliRunner().invoke(app, ["run", str(p)])
    assert r.exit_code == 0, r.output
    ifg = xr.open_zarr(str(Path(cfg["output"]) / "products.zarr"), group="filter", consolidated=False)
    assert ifg.sizes["azimuth"] == 30 and ifg.sizes["range"] == 66
    assert np.isfinite(xr.open_zarr(str(Path(cfg["output"]) / "products.zarr"), group="unwrap",
                                    consolidated=False)["unw"].values).mean() > 0.9
