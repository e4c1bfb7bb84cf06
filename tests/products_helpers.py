"""One simulated pair and one local (threaded) run, shared by the product, ISCE export, STAC and object
store tests (made once per session, on first use)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr
import zarr

_CACHE: dict = {}

GEOCODE_PRODUCTS = ["filt_topophase.unw", "topophase.cor", "phsig.cor", "los_displacement", "topophase.flat",
                    "filt_topophase.flat", "filt_topophase.unw.conncomp"]


def run_config(pair_dir: Path, output: str) -> dict:
    d = Path(pair_dir)
    return {"reference": {"path": str(d / "reference.zarr")}, "secondary": {"path": str(d / "secondary.zarr")},
            "dem": {"path": str(d / "dem.tif")}, "output": output,
            "interferogram": {"azimuth_looks": 2, "range_looks": 2}, "filter": {"strength": 0.5, "patch_size": 16},
            "geocode": {"products": GEOCODE_PRODUCTS},
            "processing": {"chunk_azimuth": 128, "chunk_range": 128}}


def shared_run(tmp_path_factory):
    """(simulation result, local run folder): the 'small' preset run end to end on the threaded scheduler."""
    if "run" not in _CACHE:
        from daskinsar.config import RunConfig
        from daskinsar.pipeline import run
        from daskinsar.simulate import simulate_pair

        base = tmp_path_factory.mktemp("products-shared")
        sim = simulate_pair("small", base / "pair", chunks=128)
        out = base / "run"
        run(RunConfig.model_validate(run_config(sim.out_dir, str(out))), progress=False, reporter=lambda s: None)
        _CACHE["run"] = (sim, out)
    return _CACHE["run"]


def truth_attrs(sim) -> dict:
    """The simulator's own record of the pair (independent of the processor's metadata code)."""
    t = zarr.open_group(str(sim.truth), mode="r").attrs
    return {k: (json.loads(v) if isinstance(v, str) and v.startswith(("{", "[")) else v) for k, v in t.items()}


def product_arrays(products_url: str) -> dict[str, np.ndarray]:
    """Every data variable and coordinate of every product group (float seconds, no time decoding)."""
    root = zarr.open_group(products_url, mode="r")
    out = {}
    for group in sorted(k for k in root.group_keys() if not k.startswith(".")):
        ds = xr.open_zarr(products_url, group=group, consolidated=False, decode_times=False)
        for v in list(ds.data_vars) + list(ds.coords):
            out[f"{group}/{v}"] = ds[v].values
    return out
