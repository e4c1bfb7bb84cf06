"""``daskinsar demo``: simulate the built-in pair, run the pipeline end to end, check against truth.

The demo is real work, not a shortcut: the pair is simulated from physics (orbit,
DEM, Mogi source) and processed by exactly the steps a user's run goes through
(``daskinsar run`` on the written ``demo.yaml``). At the end the geocoded LOS
displacement is compared with the simulator's truth, geocoded on the same grid.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import numpy as np
import xarray as xr
import yaml

from .config import RunConfig
from .geometry.grid import MapGrid, RadarGrid
from .io.store import open_scene
from .pipeline import run
from .show import show_product
from .simulate import simulate_pair
from .stages.geocode import geocode_dataset
from .stages.interferogram import look_coordinates, multilook
from .stages.topo import dem_from_dataset
from .steps import RunContext


def demo_config(sim_dir: Path, run_dir: Path, preset: str = "demo") -> dict:
    """The run configuration the demo uses (written to ``demo.yaml``)."""
    return {
        "reference": {"path": str(sim_dir / "reference.zarr")},
        "secondary": {"path": str(sim_dir / "secondary.zarr")},
        "dem": {"path": str(sim_dir / "dem.tif"), "interpolation": "biquintic"},
        "output": str(run_dir),
        "interferogram": {"azimuth_looks": 4, "range_looks": 4},
        "filter": {"strength": 0.5, "patch_size": 32},
        "unwrap": {"enabled": True, "cost": "defo"},
        "geocode": {"products": ["filt_topophase.unw", "topophase.cor", "phsig.cor", "los_displacement",
                                 "filt_topophase.flat"]},
        "processing": {"chunk_azimuth": 512, "chunk_range": 512},
    }


def compare_with_truth(run_dir: Path, truth_url: str, min_coherence: float = 0.7) -> dict:
    """Geocoded LOS displacement against the simulator's truth (both referenced to one point).

    The truth LOS displacement (reference radar grid) is multilooked like the
    interferogram and geocoded on the run's output grid; both fields are referenced
    to the most coherent pixel (the displacement of an unwrapped interferogram is
    relative), and the rms of the difference is taken over pixels with coherence
    >= ``min_coherence``. Returns the figures in metres.
    """
    cfg = RunConfig.model_validate_json((run_dir / "config.json").read_text())
    ctx = RunContext(cfg, run_dir, progress=False)
    ifg = ctx.open("interferogram")
    geo = ctx.open("geocode")
    looks = tuple(ifg.attrs["looks"])
    truth = xr.open_zarr(truth_url, consolidated=False)
    truth_ml = multilook(truth["los_displacement"].data, looks)
    ref = open_scene(str(run_dir / "reference.zarr"))
    # the truth lives on the simulator's SLC grid (its own epoch), which a run that starts from
    # raw echoes does not share: geocode it from its own grid and the same orbit
    epoch = truth.attrs.get("reference_epoch", ref.meta.epoch)
    radar = RadarGrid.from_coords(look_coordinates(truth["azimuth_time"].values, looks[0]),
                                  look_coordinates(truth["slant_range"].values, looks[1]))
    x, y = geo["x"].values, geo["y"].values
    grid = MapGrid(geo.attrs["crs"], float(x[0]), float(y[0]), float(x[1] - x[0]), float(y[1] - y[0]),
                   (len(y), len(x)))
    fields = {"truth": truth_ml}
    if "tropo_phase" in truth:  # the troposphere's LOS-equivalent delay (same sign convention as displacement)
        fields["tropo"] = multilook(-truth["tropo_phase"].data * (ref.meta.wavelength_m / (4 * np.pi)), looks)
    dem = dem_from_dataset(xr.Dataset({"dem": ctx.dem()}))
    g = geocode_dataset(fields, radar, grid, dem=dem, orbit=ref.orbit.shift_epoch(epoch), wavelength_m=ref.meta.wavelength_m,
                        doppler=ref.meta.grid_doppler_model)
    tgeo = g["truth"].values
    tropo = g["tropo"].values if "tropo" in g else None
    est = geo["los_displacement"].values
    coh = geo["coherence"].values
    good = np.isfinite(est) & np.isfinite(tgeo) & np.isfinite(coh) & (coh >= min_coherence)
    if not good.any():
        return {"n_pixels": 0}
    # reference both to the most coherent pixel (a 3x3 mean around it)
    i, j = np.unravel_index(np.nanargmax(np.where(good, coh, -1)), coh.shape)
    sl = (slice(max(i - 1, 0), i + 2), slice(max(j - 1, 0), j + 2))
    d = (est - np.nanmean(est[sl])) - (tgeo - np.nanmean(tgeo[sl]))
    diff = d[good]
    extra = {}
    if tropo is not None:
        # what the processing itself adds, with the (unremovable) troposphere counted as signal
        tr = (tropo - np.nanmean(tropo[sl]))[good]
        extra = {"troposphere_rms_m": float(np.sqrt(np.mean(tr**2))),
                 "rms_error_vs_deformation_plus_troposphere_m": float(np.sqrt(np.mean((diff - tr) ** 2)))}
    return {
        **extra,
        "n_pixels": int(good.sum()),
        "fraction_of_swath": float(good.sum() / np.isfinite(est).sum()),
        "rms_error_m": float(np.sqrt(np.mean(diff**2))),
        "rms_error_after_mean_m": float(np.std(diff)),
        "max_abs_error_m": float(np.max(np.abs(diff))),
        "truth_range_m": [float(np.nanmin(tgeo[good])), float(np.nanmax(tgeo[good]))],
        "reference_pixel": [int(i), int(j)],
    }


def run_demo(out: Path, echo: Callable[[str], None] = print, preset: str = "demo") -> dict:
    """Simulate, process, draw quicklooks and compare with truth. Returns the comparison."""
    out = Path(out).resolve()
    sim_dir, run_dir = out / "simulated", out / "run"
    t0 = time.perf_counter()
    echo(f"simulating the {preset!r} pair into {sim_dir} ...")
    sim = simulate_pair(preset, sim_dir, chunks=512, scheduler=None)
    t_sim = time.perf_counter() - t0
    echo(f"  done in {t_sim:.1f} s")
    cfg_dict = demo_config(sim_dir, run_dir, preset)
    (out / "demo.yaml").write_text(yaml.safe_dump(cfg_dict, sort_keys=False))
    cfg = RunConfig.model_validate(cfg_dict)
    run(cfg, reporter=lambda s: echo("  " + s))
    t_run = time.perf_counter() - t0 - t_sim
    quick = out / "quicklook"
    files = []
    for name in ("filt_topophase.flat", "topophase.cor", "filt_topophase.unw", "geocode/los_displacement",
                 "geocode/coherence"):
        files += show_product(str(run_dir / "products.zarr"), name, quick)
    figures = compare_with_truth(run_dir, sim.truth)
    figures.update(simulate_s=round(t_sim, 1), process_s=round(t_run, 1),
                   total_s=round(time.perf_counter() - t0, 1))
    (out / "demo_result.json").write_text(json.dumps(figures, indent=2))
    echo(f"quicklooks: {', '.join(str(f) for f in files)}")
    if figures.get("n_pixels"):
        echo(f"geocoded LOS displacement vs truth: rms {figures['rms_error_m'] * 1e3:.2f} mm over "
             f"{figures['n_pixels']} pixels with coherence >= 0.7 (truth spans "
             f"{figures['truth_range_m'][0] * 1e3:.1f} .. {figures['truth_range_m'][1] * 1e3:.1f} mm)")
        if "troposphere_rms_m" in figures:
            echo(f"  of which troposphere (simulated, not removable from one pair): "
                 f"{figures['troposphere_rms_m'] * 1e3:.2f} mm rms; against deformation + troposphere: "
                 f"{figures['rms_error_vs_deformation_plus_troposphere_m'] * 1e3:.2f} mm rms")
    echo(f"demo finished in {figures['total_s']:.0f} s; rerun the processing with: "
         f"daskinsar run {out / 'demo.yaml'}")
    return figures
