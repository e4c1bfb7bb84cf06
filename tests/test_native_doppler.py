"""A squinted, native-Doppler pair: every geometry step must solve with the grid's Doppler.

C band, 400 Hz of Doppler on both passes' grids (the ground point of a pixel is where the Doppler
equals it, about 1.2 km along track from the zero-Doppler point). The same pair processed with its
Doppler ignored lands far off, so the test would catch a step that forgets it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from daskinsar.config import RunConfig
from daskinsar.demo import compare_with_truth
from daskinsar.io.store import open_scene, write_scene
from daskinsar.pipeline import run
from daskinsar.scene import Poly1D
from daskinsar.simulate import simulate_pair
from daskinsar.simulate.presets import MogiSource, PointTargetConfig, preset
from geolocation_helpers import geocoded_position_error_px

DOPPLER_HZ = 400.0


def _pair(tmp: Path, doppler_hz: float):
    cfg = preset("cband", n_azimuth=256, n_range=256, grid_doppler_hz=doppler_hz, seed=7,
                 deformation=[MogiSource(depth_m=1000.0, volume_change_m3=2e5)],
                 point_targets=[PointTargetConfig(azimuth_fraction=0.45, range_fraction=0.55, amplitude_db=45.0)])
    return simulate_pair(cfg, tmp, chunks=128)


def _run(sim, reference: str, secondary: str, out: Path) -> Path:
    cfg = RunConfig.model_validate({
        "reference": {"path": reference}, "secondary": {"path": secondary}, "dem": {"path": sim.dem},
        "output": str(out), "interferogram": {"azimuth_looks": 2, "range_looks": 2},
        "filter": {"patch_size": 16},
        "geocode": {"products": ["filt_topophase.unw", "topophase.cor", "los_displacement",
                                 "interferogram/amplitude"]},
        "processing": {"chunk_azimuth": 128, "chunk_range": 128}})
    run(cfg, progress=False, reporter=lambda s: None)
    return out


def _target_offset_px(run_dir: Path, target) -> np.ndarray:
    """(rows, columns) of output pixels from the geocoded point target to its true longitude/latitude.

    The target's position is the power centroid, above the clutter's median power, of the pixels
    within 20 % of the peak: multilooking puts most of a point target's energy into one look cell, so
    the estimate is good to a fraction of a cell, not better (a 2-look cell spans 0.5 output pixel)."""
    geo = xr.open_zarr(str(run_dir / "products.zarr"), group="geocode", consolidated=False)
    power = np.nan_to_num(geo["amplitude"].values).astype(float) ** 2
    x, y = geo["x"].values, geo["y"].values
    true = np.array([(target.lat_deg - y[0]) / (y[1] - y[0]), (target.lon_deg - x[0]) / (x[1] - x[0])])
    i, j = np.unravel_index(np.argmax(power), power.shape)
    w = np.clip(power[i - 3:i + 4, j - 3:j + 4] - np.median(power), 0, None)
    w[w < 0.2 * w.max()] = 0
    di, dj = np.mgrid[-3:4, -3:4]
    return np.array([i + (w * di).sum() / w.sum(), j + (w * dj).sum() / w.sum()]) - true


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("doppler")
    zero = _pair(tmp / "zero", 0.0)
    native = _pair(tmp / "native", DOPPLER_HZ)
    # the native pair with its Doppler dropped from the metadata: what a processor ignoring it computes
    ignored = {}
    for role, url in (("reference", native.reference), ("secondary", native.secondary)):
        s = open_scene(url)
        meta = s.meta.model_copy(update={"grid": "zero_doppler", "grid_doppler": Poly1D()})
        ignored[role] = write_scene(type(s)(s.data, meta, s.orbit), str(tmp / f"{role}_ignored.zarr"))
    return {"zero": (zero, _run(zero, zero.reference, zero.secondary, tmp / "run_zero")),
            "native": (native, _run(native, native.reference, native.secondary, tmp / "run_native")),
            "ignored": (native, _run(native, ignored["reference"], ignored["secondary"], tmp / "run_ignored"))}


def test_simulated_target_sees_the_grid_doppler(runs):
    """The simulator's truth checked without daskinsar's geometry: the target's ground point, seen
    from the reference orbit (state vectors splined by scipy, ground point by pyproj) at the time and
    range of the pixel the truth puts it in, has the grid's Doppler ``2 v.(x - p) / (lambda R)``."""
    from pyproj import Transformer
    from scipy.interpolate import CubicSpline

    for name, (sim, _) in runs.items():
        if name == "ignored":
            continue
        scene, target = open_scene(sim.reference), sim.model.targets[0]
        t_grid = np.asarray(scene.azimuth_time, dtype=float)
        t = np.interp(target.reference_row, np.arange(t_grid.size), t_grid)
        r = np.interp(target.reference_col, np.arange(scene.shape[1]), np.asarray(scene.slant_range, dtype=float))
        orbit = scene.orbit
        spline = CubicSpline(orbit.time, orbit.position, axis=0)
        p, v = spline(t), spline(t, 1)
        x = np.array(Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True).transform(
            target.lon_deg, target.lat_deg, target.hgt_m))
        look = x - p
        doppler = 2 * v @ look / (scene.meta.wavelength_m * np.linalg.norm(look))
        print(f"{name}: Doppler {doppler:.2f} Hz, range {np.linalg.norm(look) - r:+.3f} m")
        assert abs(doppler - (DOPPLER_HZ if name == "native" else 0.0)) < 1.0
        assert abs(np.linalg.norm(look) - r) < 0.05


def test_native_doppler_pair_geolocates_and_measures_like_a_zero_doppler_pair(runs):
    figures = {}
    for name, (sim, run_dir) in runs.items():
        assert open_scene(sim.reference).meta.grid == ("zero_doppler" if name == "zero" else "native_doppler")
        fig = compare_with_truth(run_dir, sim.truth)
        figures[name] = (_target_offset_px(run_dir, sim.model.targets[0]), fig.get("rms_error_m", np.inf),
                         fig.get("n_pixels", 0))
        print(f"{name}: point target {np.round(figures[name][0], 3)} px off, LOS rms error "
              f"{figures[name][1] * 1e3:.2f} mm over {figures[name][2]} pixels")
    (pz, ez, _), (pn, en, nn), (pi, ei, ni) = figures["zero"], figures["native"], figures["ignored"]
    # the geocoded amplitude peak is within a look cell of the truth (a peak estimator on a multilooked
    # point target resolves no better); the geocoding itself is exact to < 0.1 output pixel
    assert np.hypot(*pz) < 0.3 and np.hypot(*pn) < 0.3
    for name in ("zero", "native"):
        sim, run_dir = runs[name]
        err = geocoded_position_error_px(run_dir, sim.model.targets[0])
        print(f"{name}: geocoding puts the target {np.round(err, 4)} output px from its true position")
        assert np.hypot(*err) < 0.1
    assert en <= 1.2 * ez + 0.5e-3 and nn > 1000
    # ignoring the Doppler: the target lands a kilometre off (tens of output pixels), the comparison fails
    assert np.hypot(*pi) > 20.0
    assert not (ni > 1000 and ei <= 1.2 * ez + 0.5e-3)
