"""Consecutive frames of one pass joined along track (ISCE's multi-frame inputs): exact, or refused."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from daskinsar.config import RunConfig
from daskinsar.errors import InputFileError
from daskinsar.frames import join_frames
from daskinsar.geometry.orbit import Orbit, format_utc, parse_utc
from daskinsar.io.store import open_scene, write_scene
from daskinsar.pipeline import run
from daskinsar.scene import Scene
from daskinsar.simulate import simulate_pair
from daskinsar.simulate.presets import preset


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("frames")
    return simulate_pair(preset("cband", n_azimuth=160, n_range=96, seed=5), tmp / "sim", chunks=64)


def _frame(scene: Scene, first: int, last: int, epoch_shift_s: float = 0.0) -> Scene:
    """Lines ``first .. last - 1`` of ``scene`` as a frame of its own: its own orbit (the state
    vectors around it) and, if asked, its own epoch ``epoch_shift_s`` later."""
    data = scene.data.isel(azimuth=slice(first, last))
    t = scene.azimuth_time[first:last]
    orbit = scene.orbit.crop(float(t[0]), float(t[-1]))
    meta = scene.meta
    if epoch_shift_s:
        epoch = format_utc(parse_utc(meta.epoch) + np.timedelta64(int(round(epoch_shift_s * 1e9)), "ns"))
        data = data.assign_coords(azimuth_time=("azimuth", t - epoch_shift_s))
        orbit = Orbit(epoch, orbit.time - epoch_shift_s, orbit.position, orbit.velocity, orbit.n_hermite, orbit.source)
        meta = meta.model_copy(update={"epoch": epoch})
    return Scene(data, meta, orbit)


def test_overlapping_frames_join_to_the_scene_exactly(sim):
    scene = open_scene(sim.reference)
    n = scene.shape[0]
    # three frames, the second on its own epoch (0.5 s later), given out of order; 7 and 5 lines shared
    frames = [_frame(scene, 0, 60), _frame(scene, 53, 110, epoch_shift_s=0.5), _frame(scene, 105, n)]
    joined = join_frames([frames[2], frames[0], frames[1]], ["c", "a", "b"])
    assert joined.shape == scene.shape and joined.meta.epoch == scene.meta.epoch
    np.testing.assert_array_equal(joined.data["slc"].values, scene.data["slc"].values)
    np.testing.assert_allclose(joined.azimuth_time, scene.azimuth_time, rtol=0, atol=1e-9)
    assert [f["source"] for f in joined.meta.extra["frames"]] == ["a", "b", "c"]
    assert [f["lines"] for f in joined.meta.extra["frames"]] == [60, 50, n - 110]
    # the joined orbit interpolates like the whole one over the whole scene
    t = np.linspace(scene.azimuth_time[0], scene.azimuth_time[-1], 50)
    np.testing.assert_allclose(joined.orbit.interpolate(t)[0], scene.orbit.interpolate(t)[0], rtol=0, atol=1e-6)


def test_frames_that_cannot_be_joined_exactly_are_refused(sim):
    scene = open_scene(sim.reference)
    a = _frame(scene, 0, 60)
    with pytest.raises(InputFileError, match=r"b\.zarr.*without a gap.*a gap of 10 lines"):
        join_frames([a, _frame(scene, 70, 120)], ["a.zarr", "b.zarr"])
    # lines a third of a line off the first frame's grid: would need resampling
    off = _frame(scene, 60, 120)
    off = off.with_data(off.data.assign_coords(azimuth_time=off.data["azimuth_time"] + off.grid_spacing[0] / 3))
    with pytest.raises(InputFileError, match=r"b\.zarr.*line grid of a\.zarr.*0\.333 line off"):
        join_frames([a, off], ["a.zarr", "b.zarr"])
    other = _frame(scene, 60, 120)
    prf = Scene(other.data, other.meta.model_copy(update={"prf_hz": other.meta.prf_hz * 1.001}), other.orbit)
    with pytest.raises(InputFileError, match=r"b\.zarr.*prf of a\.zarr"):
        join_frames([a, prf], ["a.zarr", "b.zarr"])
    moved = Orbit(other.orbit.epoch, other.orbit.time, other.orbit.position + 5.0, other.orbit.velocity)
    with pytest.raises(InputFileError, match=r"orbits agree.*8\.66 m"):
        join_frames([a, Scene(other.data, other.meta, moved)], ["a.zarr", "b.zarr"])
    narrow = Scene(other.data.isel(range=slice(0, 90)), other.meta, other.orbit)
    with pytest.raises(InputFileError, match=r"b\.zarr.*range window of a\.zarr"):
        join_frames([a, narrow], ["a.zarr", "b.zarr"])


def test_a_run_on_frames_reads_the_joined_scene(sim, tmp_path):
    """``path: [frame, frame]`` in the run configuration: preprocess stores the joined scene, equal to
    the scene the frames were cut from."""
    scene = open_scene(sim.reference)
    paths = [write_scene(_frame(scene, 0, 90), str(tmp_path / "f1.zarr")),
             write_scene(_frame(scene, 80, scene.shape[0]), str(tmp_path / "f2.zarr"))]
    cfg = RunConfig.model_validate({"reference": {"path": paths}, "secondary": {"path": sim.secondary},
                                    "dem": {"path": sim.dem}, "output": str(tmp_path / "run")})
    run(cfg, dostep="preprocess", progress=False, reporter=lambda s: None)
    stored = xr.open_zarr(str(tmp_path / "run" / "reference.zarr"), consolidated=False)
    np.testing.assert_array_equal(stored["slc"].values, scene.data["slc"].values)
