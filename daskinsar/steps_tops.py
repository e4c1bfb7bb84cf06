"""The TOPS (Sentinel-1 IW) path of the pipeline's steps: the same steps, run per burst, then merged.

:mod:`daskinsar.steps` routes a run here when its inputs are TOPS products (``preprocess``) and
afterwards whenever ``RUN/reference.zarr`` is a TOPS scene store; like every step builder these
open stores, call stages and return what to write. The run folder of a TOPS run::

    reference.zarr, secondary.zarr      TOPS scene stores (io/tops_store.py) of the matched bursts;
                                        reference.zarr's attribute daskinsar_tops_pairs (JSON): the
                                        burst pairs, their burst IDs, along-track distances and baselines
    products.zarr/bursts/<burst>/topo       per matched reference burst (e.g. IW1-b3), on its own grid:
    products.zarr/bursts/<burst>/offsets    geometry + geometric offsets + geometric phase; dense offsets
    products.zarr/bursts/<burst>/resample   (offsets.method geometric+dense); the resampled secondary
    products.zarr/interferogram, filter, unwrap, geocode, geo/*.tif   as for stripmap, on the merged grid

- ``preprocess``: both inputs read (reader options: swath, polarization, bursts, bbox,
  orbit_file), bursts matched as ISCE2 matches them (:func:`~daskinsar.bursts.match_bursts`), the
  pair checked, the matched bursts stored; baselines at mid-range reported per subswath.
- ``focus``: skipped (IW SLC). ``verifydem``: the DEM must cover every matched reference burst.
- ``topo``: :func:`daskinsar.stages.tops_coreg.burst_topo` per burst pair.
- ``offsets``: with ``geometric+dense``, dense offsets per burst pair; their pooled range residual
  (a constant, as ISCE2's range coregistration) is added to the range offsets. ``dense`` alone is
  refused: TOPS needs the geometric azimuth coregistration to within ESD's 0.05 line.
- ``resample``: each overlap of consecutive matched bursts resampled, ESD estimated from all of
  them (:func:`daskinsar.stages.esd.run`), reported and subtracted from the azimuth offsets, then
  every burst resampled (deramp, sinc, reramp) with the corrected offsets.
- ``interferogram``: reference, resampled secondary, geometric phase and geometry debursted and
  merged (:func:`daskinsar.stages.deburst.merge_bursts`) into one grid at full resolution, then the
  stripmap interferogram stage (cross product, looks, coherence, amplitude) on it. The group carries
  the merged grid's metadata (``reference_*`` attributes; its residual bistatic delay as the grid
  Doppler, so geocoding lands on ESA's geolocation), ``tops_layout`` (where each burst landed) and
  ``esd`` (the estimate applied).
- ``filter``, ``unwrap``, ``geocode``, ``export``: the stripmap steps on those groups, unchanged.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from . import __version__
from .bursts import TopsScene, match_bursts, tops_parameters
from .errors import ConfigError, DaskInsarError, PairError, TopsSceneError
from .io import store
from .io.store import TOKEN_ATTR
from .io.tops_store import is_tops_store, open_tops_scene, tops_store_attrs, write_tops_scene
from .scene import Scene, radar_attrs
from .stages import esd as esd_stage
from .stages import interferogram
from .stages import offsets as offsets_stage
from .stages.deburst import burst_swath, merge_bursts
from .stages.esd import OVERLAP_VARIABLES, overlap_lines
from .stages.interferogram import GEOMETRY_FIELDS
from .stages.pair import check_not_across_antimeridian, footprint_edges
from .stages.tops_coreg import (burst_baselines, burst_pair_dataset, burst_resample, burst_topo, check_burst_pair,
                                merged_grid_metadata)

if TYPE_CHECKING:  # the steps module routes here; importing it at run time would be circular
    from .steps import RunContext, StepOutputs

__all__ = ["is_tops_run", "burst_outputs", "reference_bursts", "build_preprocess", "build_topo", "build_offsets",
           "build_resample", "build_interferogram", "grid_attrs", "PAIRS_ATTR", "BURSTS_GROUP"]

#: reference.zarr attribute of a TOPS run: the matched burst pairs (JSON)
PAIRS_ATTR = "daskinsar_tops_pairs"
#: the products.zarr group holding one group per matched reference burst
BURSTS_GROUP = "bursts"


def is_tops_run(ctx: "RunContext") -> bool:
    """Whether the run's stored reference is a TOPS scene store."""
    return is_tops_store(ctx.url("reference.zarr"))


def _pairs(ctx: "RunContext") -> list[dict]:
    if "tops_pairs" not in ctx.cache:
        ctx.cache["tops_pairs"] = json.loads(str(tops_store_attrs(ctx.url("reference.zarr"))[PAIRS_ATTR]))["pairs"]
    return ctx.cache["tops_pairs"]


def _burst_path(key: str, step: str) -> str:
    return f"products.zarr/{BURSTS_GROUP}/{key}/{step}"


def burst_outputs(ctx: "RunContext", step: str) -> list[str]:
    """The per-burst outputs of a step (what resume verifies)."""
    return [_burst_path(p["reference"], step) for p in _pairs(ctx)]


def scenes(ctx: "RunContext") -> tuple[TopsScene, TopsScene]:
    """The run's stored reference and secondary TOPS scenes (their matched bursts)."""
    if "tops_scenes" not in ctx.cache:
        ctx.cache["tops_scenes"] = (open_tops_scene(ctx.url("reference.zarr")),
                                    open_tops_scene(ctx.url("secondary.zarr")))
    return ctx.cache["tops_scenes"]


def reference_epoch(ctx: "RunContext") -> str:
    """The epoch (ISO UTC) the reference bursts' azimuth times count from (one per TOPS scene)."""
    return scenes(ctx)[0].epoch


def reference_bursts(ctx: "RunContext") -> list[Scene]:
    """The matched reference bursts (for the DEM's footprint)."""
    return list(scenes(ctx)[0].bursts)


def _open(ctx: "RunContext", key: str, step: str) -> xr.Dataset:
    url = ctx.url(_burst_path(key, step))
    if not store.is_complete(url):
        raise DaskInsarError(f"{url}: step output missing; run the step {step!r} first")
    return xr.open_zarr(url, consolidated=False, decode_times=False)


# ------------------------------------------------------------------------------------------ preprocess
def build_preprocess(ctx: "RunContext", scenes: dict) -> "StepOutputs":
    """Match the bursts of two IW products, check the pair, store the matched bursts (TOPS stores)."""
    cfg = ctx.config
    ref, sec = scenes["reference"], scenes["secondary"]
    ref_path, sec_path = cfg.reference.label, cfg.secondary.label
    if not (isinstance(ref, TopsScene) and isinstance(sec, TopsScene)):
        tops_path, other = (ref_path, sec_path) if isinstance(ref, TopsScene) else (sec_path, ref_path)
        raise TopsSceneError(f"{tops_path}: a TOPS (IW) product cannot form a pair with the stripmap scene {other}; "
                             "give two IW SLC products of one track (or two stripmap scenes)")
    if cfg.offsets.method == "dense":
        raise ConfigError("offsets.method: 'dense' is not available for TOPS (IW) pairs (their azimuth coregistration "
                          "must come from the geometry, refined by ESD); use 'geometric' or 'geometric+dense'")
    matches = match_bursts(ref, sec)
    if not matches:
        raise PairError(f"{sec_path}: none of its bursts ({', '.join(sec.keys)}) sees the ground of a reference burst "
                        f"({ref_path}: {', '.join(ref.keys)}); the products are not of one track and area")
    for m in matches:
        check_burst_pair(ref.burst(m.reference), sec.burst(m.secondary), ref_path, sec_path)
    check_not_across_antimeridian(np.concatenate([footprint_edges(ref.burst(m.reference), 0.0)[0] for m in matches]),
                                  ref_path)
    pairs: list[dict] = []
    firsts: dict[str, dict] = {}
    for m in matches:
        rb, sb = ref.burst(m.reference), sec.burst(m.secondary)
        rp, sp = tops_parameters(rb), tops_parameters(sb)
        pair = {"reference": m.reference, "secondary": m.secondary, "reference_burst_id": rp.burst_id,
                "secondary_burst_id": sp.burst_id, "same_burst_id": m.same_burst_id,
                "along_track_m": m.along_track_m}
        if rp.swath not in firsts:  # ISCE2 reports the baselines of each subswath's first common burst
            pair["bperp_m"], pair["bpar_m"] = burst_baselines(rb, sb)
            firsts[rp.swath] = pair
        pairs.append(pair)
    chunks = cfg.processing.chunks
    keep = {
        "reference": TopsScene([ref.burst(m.reference) for m in matches], {**ref.attrs, "source": ref_path}),
        "secondary": TopsScene([sec.burst(k) for k in dict.fromkeys(m.secondary for m in matches)],
                               {**sec.attrs, "source": sec_path})}
    info = json.dumps({"pairs": pairs})
    for role, tops in keep.items():
        tops = TopsScene([b.with_data(b.data.chunk(chunks)) for b in tops.bursts], tops.attrs)
        attrs = {TOKEN_ATTR: ctx.token, "daskinsar_config": cfg.model_dump_json(), "daskinsar_version": __version__,
                 PAIRS_ATTR: info}
        write_tops_scene(tops, ctx.url(f"{role}.zarr"), attrs=attrs)
    unmatched = [k for k in ref.keys if k not in {m.reference for m in matches}]
    if unmatched:
        ctx.reporter(f"preprocess: reference bursts no secondary burst sees (not processed): {', '.join(unmatched)}")
    for sw, p in firsts.items():
        n = sum(1 for q in pairs if burst_swath(str(q["reference"])) == sw)
        ctx.reporter(f"preprocess: {sw}: {n} burst pairs, first {p['reference']} (ID {p['reference_burst_id']}) with "
                     f"secondary {p['secondary']} (ID {p['secondary_burst_id']}); Bperp {p['bperp_m']:.2f} m, "
                     f"Bpar {p['bpar_m']:.2f} m at mid-range")
    return {}


# ------------------------------------------------------------------------------------------ topo, offsets
def _ensure_burst_groups(ctx: "RunContext") -> None:
    """products.zarr/bursts/<burst> as Zarr groups; groups of bursts no longer matched removed."""
    root = ctx.url(f"products.zarr/{BURSTS_GROUP}")
    store.ensure_group(root)
    keys = {p["reference"] for p in _pairs(ctx)}
    fs, path = store.url_to_fs(root)
    for entry in fs.ls(path, detail=False):
        name = str(entry).rstrip("/").rsplit("/", 1)[-1]
        if name != "zarr.json" and name not in keys:
            store.remove(f"{root}/{name}")
    for k in keys:
        store.ensure_group(f"{root}/{k}")
        for entry in fs.ls(f"{path}/{k}", detail=False):  # temporaries of a killed run are never products
            name = str(entry).rstrip("/").rsplit("/", 1)[-1]
            if name.startswith(".") and (".tmp-" in name or ".old-" in name):
                store.remove(f"{root}/{k}/{name}")


def build_topo(ctx: "RunContext") -> "StepOutputs":
    ref, sec = scenes(ctx)
    _ensure_burst_groups(ctx)
    chunks = (ctx.config.processing.chunk_azimuth, ctx.config.processing.chunk_range)
    dem = ctx.dem()
    return {_burst_path(p["reference"], "topo"): burst_topo(
        burst_pair_dataset(ref.burst(p["reference"]), sec.burst(p["secondary"])).assign(dem=dem), ctx.config.topo,
        chunks) for p in _pairs(ctx)}


def build_offsets(ctx: "RunContext") -> "StepOutputs | None":
    method = ctx.config.offsets.method
    if method == "geometric":
        return None
    if method == "dense":
        raise ConfigError("offsets.method: 'dense' is not available for TOPS (IW) pairs; use 'geometric' or "
                          "'geometric+dense'")
    ref, sec = scenes(ctx)
    out = {}
    for p in _pairs(ctx):
        t = _open(ctx, p["reference"], "topo")
        inputs = burst_pair_dataset(ref.burst(p["reference"]), sec.burst(p["secondary"])).assign(
            azimuth_offset=t["azimuth_offset"], range_offset=t["range_offset"])
        out[_burst_path(p["reference"], "offsets")] = offsets_stage.run(inputs, ctx.config.offsets)
    shift, n = _range_residual(list(out.values()))
    ctx.reporter(f"offsets: dense range check: {shift:+.4f} samples over {n} windows kept in {len(out)} bursts "
                 "(added to the geometric range offsets)")
    return out


def _range_residual(groups: list[xr.Dataset]) -> tuple[float, int]:
    """The pooled range residual (samples) of the kept dense-offset windows of all bursts."""
    vals = np.concatenate([np.asarray(g["residual_range"].values)[np.asarray(g["kept"].values, bool)] for g in groups])
    return (float(np.mean(vals)) if vals.size else 0.0), int(vals.size)


# ------------------------------------------------------------------------------------------ resample + ESD
def _overlaps(ctx: "RunContext", inputs: dict[str, xr.Dataset]) -> list[xr.Dataset]:
    """The overlap datasets of consecutive matched reference bursts (ESD's inputs), lazily."""
    ref, _ = scenes(ctx)
    keys = [p["reference"] for p in _pairs(ctx)]
    out = []
    for sw in dict.fromkeys(burst_swath(k) for k in keys):
        bursts = sorted((k for k in keys if burst_swath(k) == sw), key=lambda k: ref.params(k).first_line_time_s)
        for kf, kb in zip(bursts[:-1], bursts[1:]):
            pf, pb = ref.params(kf), ref.params(kb)
            if pb.burst_index != pf.burst_index + 1:
                continue
            fwd, bwd = overlap_lines(pf, pb)
            rf, rb = ref.burst(kf), ref.burst(kb)
            data = {"reference_forward": rf.data["slc"].data[fwd], "reference_backward": rb.data["slc"].data[bwd],
                    "secondary_forward": burst_resample(inputs[kf], ctx.config.resample, fwd)["secondary"].data,
                    "secondary_backward": burst_resample(inputs[kb], ctx.config.resample, bwd)["secondary"].data,
                    "phase_forward": inputs[kf]["geometric_phase"].data[fwd],
                    "phase_backward": inputs[kb]["geometric_phase"].data[bwd]}
            out.append(xr.Dataset({k: (("azimuth", "range"), data[k]) for k in OVERLAP_VARIABLES},
                                  coords={"azimuth_time": ("azimuth", rf.azimuth_time[fwd]),
                                          "slant_range": ("range", rf.slant_range)},
                                  attrs={"forward_tops": pf.model_dump_json(), "backward_tops": pb.model_dump_json()}))
    return out


def build_resample(ctx: "RunContext") -> "StepOutputs":
    cfg = ctx.config
    ref, sec = scenes(ctx)
    pairs = _pairs(ctx)
    shift_rg = 0.0
    if cfg.offsets.method == "geometric+dense":
        shift_rg, _ = _range_residual([_open(ctx, p["reference"], "offsets") for p in pairs])
    inputs = {}
    for p in pairs:
        t = _open(ctx, p["reference"], "topo")
        inputs[p["reference"]] = burst_pair_dataset(ref.burst(p["reference"]), sec.burst(p["secondary"])).assign(
            azimuth_offset=t["azimuth_offset"], range_offset=t["range_offset"] + np.float32(shift_rg),
            geometric_phase=t["geometric_phase"])
    esd: dict = {"enabled": cfg.esd.enabled, "applied": False, "misregistration_lines": 0.0,
                 "range_residual_samples": shift_rg}
    overlaps = _overlaps(ctx, inputs) if cfg.esd.enabled else []
    if overlaps:
        try:
            est = esd_stage.run(overlaps, cfg.esd)
        except ValueError as exc:
            raise PairError(f"{cfg.secondary.path}: {exc}; the pair is too decorrelated in its burst overlaps for "
                            "ESD (set esd.enabled: false to keep the geometric azimuth coregistration)") from None
        if abs(est.misregistration_lines) > cfg.esd.max_misregistration_lines:
            raise PairError(f"{cfg.secondary.path}: ESD finds {est.misregistration_lines:+.4f} lines of azimuth "
                            f"misregistration, beyond esd.max_misregistration_lines "
                            f"({cfg.esd.max_misregistration_lines}): the geometric coregistration is too far off for "
                            "ESD to be trusted; give precise orbits (reader option orbit_file)")
        esd.update(applied=True, misregistration_lines=est.misregistration_lines, std_lines=est.std_lines,
                   n_overlaps=len(overlaps), n_cells=est.n_cells, mean_coherence=est.mean_coherence,
                   doppler_difference_hz=est.doppler_difference_hz)
        ctx.reporter(f"resample: ESD azimuth misregistration {est.misregistration_lines:+.5f} +- {est.std_lines:.5f} "
                     f"lines ({len(overlaps)} burst overlaps, {est.n_cells} cells, coherence {est.mean_coherence:.2f}, "
                     f"Doppler difference {est.doppler_difference_hz:.0f} Hz): applied")
    else:
        why = "esd.enabled is false" if not cfg.esd.enabled else "no two consecutive bursts overlap"
        ctx.reporter(f"resample: no ESD ({why}); the azimuth coregistration is geometric only")
    out = {}
    for key, ds in inputs.items():
        ds = ds.assign(azimuth_offset=ds["azimuth_offset"] - np.float32(esd["misregistration_lines"]))
        res = burst_resample(ds, cfg.resample)
        res.attrs["esd"] = json.dumps(esd)
        out[_burst_path(key, "resample")] = res
    return out


# ------------------------------------------------------------------------------------------ interferogram
def build_interferogram(ctx: "RunContext") -> "StepOutputs":
    ref, _ = scenes(ctx)
    bursts = {}
    esd = "{}"
    for p in _pairs(ctx):
        rb = ref.burst(p["reference"])
        t = _open(ctx, p["reference"], "topo")
        res = _open(ctx, p["reference"], "resample")
        esd = str(res.attrs.get("esd", esd))
        dims = ("azimuth", "range")
        data = {"reference": (dims, rb.data["slc"].data), "secondary": (dims, res["secondary"].data),
                "geometric_phase": (dims, t["geometric_phase"].data, dict(t["geometric_phase"].attrs))}
        data.update({n: (dims, t[n].data, dict(t[n].attrs)) for n in GEOMETRY_FIELDS})
        bursts[p["reference"]] = xr.Dataset(data, coords=rb.data.coords)
    merged = merge_bursts(bursts)
    # where no burst has data the reference is 0: a 0 phase there keeps the look sums finite
    merged["geometric_phase"] = merged["geometric_phase"].fillna(0.0)
    b0 = ref.burst(_pairs(ctx)[0]["reference"])
    meta = merged_grid_metadata(b0.meta, b0.orbit, merged["azimuth_time"].values, merged["slant_range"].values,
                                tops_parameters(b0).bistatic_reference_range_time_s,
                                extra={"tops_bursts": [p["reference"] for p in _pairs(ctx)]})
    grid = radar_attrs(meta, b0.orbit, "reference")
    merged.attrs.update(grid)
    ds = interferogram.run(merged, ctx.config.interferogram)
    # look cells without data in one of the images (outside every burst's valid window: the merged grid is
    # ragged) are no-data, NaN, as the stages take it: the filter and the unwrapper then leave them out
    has_data = ds["amplitude"] > 0
    for name in ("ifg", "coherence", "phsig"):
        ds[name] = ds[name].where(has_data)
    ds.attrs.update(grid, tops_layout=merged.attrs["tops_layout"], esd=esd)
    la, lr = ds.attrs["looks"]
    ctx.reporter(f"interferogram: {len(bursts)} bursts merged into {merged.sizes['azimuth']} x "
                 f"{merged.sizes['range']}; {la} x {lr} looks -> {ds.sizes['azimuth']} x {ds.sizes['range']}")
    return {"products.zarr/interferogram": ds}


def grid_attrs(ctx: "RunContext") -> dict:
    """The merged grid's metadata and orbit (``reference_*`` attributes), as geocoding takes them."""
    attrs = ctx.open("interferogram").attrs
    return {k: attrs[k] for k in ("reference_radar_metadata", "reference_orbit")}
