"""The pipeline's steps: the one registry (:data:`STEPS`) and the adapters between stores and stages.

Each step's ``build`` opens its inputs from the run's stores, assembles the Dataset its
stage's ``run(inputs, params)`` takes, and returns what to write, keyed by the output's
path in the run folder. No physics here: every computation is a stage's (``stages/``),
every format an io module's (``io/``).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, cast

import numpy as np
import xarray as xr

from . import __version__, steps_tops
from .config import RunConfig
from .bursts import TopsScene
from .errors import ConfigError, DaskInsarError
from .frames import join_frames
from .io import store
from .io.store import TOKEN_ATTR
from .geometry.dem import dem_to_dataarray
from .io.dem import open_dem
from .io.dem_fetch import fetch_dem
from .io.dem_prepare import open_dem_store, prepare_dem
from .io.export import TOKEN_TAG, export_geotiffs, geotiff_variables, metadata_tags
from .io.run_folder import RunFolder
from .io.run_metadata import pair_metadata, reference_point
from .io.readers import read_scene
from .io.tops_store import is_tops_store, open_tops_scene
from .io.validate import check_scene
from .io.water import open_water_raster
from .products import GEOMETRY_FIELDS, GEOMETRY_GROUP, geocoded_variable, resolve_product
from .scene import Scene, pair_dataset, radar_attrs
from .stages import common_band, ionosphere
from .stages import filter as filter_stage
from .stages import baseline, focus, geocode, interferogram, layover, offsets, resample, topo, unwrap, water
from .stages.pair import check_dem_covers_scene, check_pair, footprint_edges

__all__ = ["Step", "RunContext", "STEPS", "STEP_NAMES", "StepOutputs"]

StepOutputs = dict[str, xr.Dataset]


@dataclass(frozen=True)
class Step:
    """One pipeline step.

    ``build(ctx)`` returns the Datasets to write, keyed by their path in the run folder (``{}``
    when it wrote files itself, None when it has nothing to do for this run: its stale outputs
    are then removed); ``outputs(ctx)`` names what a complete step leaves (what resume
    verifies); ``after``: the steps whose tokens its token includes; ``config``: the RunConfig
    sections it reads."""

    name: str
    doc: str
    build: Callable[["RunContext"], StepOutputs | None]
    outputs: Callable[["RunContext"], list[str]] = lambda ctx: []
    after: tuple[str, ...] = ()
    config: tuple[str, ...] = ()


@dataclass
class RunContext:
    """What a step needs: the config, the run folder (a local path or an fsspec URL), the current step's
    token and opened inputs."""

    config: RunConfig
    run_dir: Path | str
    progress: bool = True
    reporter: Callable[[str], None] = print
    token: str = ""
    cache: dict = field(default_factory=dict)

    @property
    def folder(self) -> RunFolder:
        return RunFolder(self.run_dir)

    @property
    def products_url(self) -> str:
        return self.url("products.zarr")

    def url(self, name: str) -> str:
        """The URL (or local path) of an output named by its path in the run folder."""
        return self.folder.join(name)

    def group_url(self, group: str) -> str:
        return f"{self.products_url}/{group}"

    def has(self, group: str) -> bool:
        return store.is_complete(self.products_url, group)

    def open(self, group: str) -> xr.Dataset:
        if not self.has(group):
            raise DaskInsarError(f"{self.group_url(group)}: step output missing; run the step {group!r} first")
        return xr.open_zarr(self.products_url, group=group, consolidated=False, decode_times=False)

    @property
    def focused(self) -> bool:
        return store.is_complete(self.url("reference_slc.zarr"))

    def scene_url(self, role: str) -> str:
        """The role's SLC scene store: the focused one for raw inputs."""
        return self.url(f"{role}_slc.zarr") if self.focused else self.url(f"{role}.zarr")

    def scene(self, role: str, lazy_backend: bool = False) -> Scene:
        """The role's scene: dask arrays on the store's chunks, or (``lazy_backend``) not dask but read
        window by window when indexed."""
        key = ("scene", role, lazy_backend, self.focused)
        if key not in self.cache:
            self.cache[key] = store.open_scene(self.scene_url(role), chunks=None if lazy_backend else "auto-store")
        return self.cache[key]

    def dem(self) -> xr.DataArray:
        """The run's DEM store as stages take it (``dem`` on ``dem_lat`` x ``dem_lon``, lazy)."""
        if "dem" not in self.cache:
            self.cache["dem"] = dem_to_dataarray(open_dem_store(self.url("dem.zarr")))
        return self.cache["dem"]


# ---------------------------------------------------------------------------------------------
def _read_input(role: str, path: str, sensor: str | None, options: dict) -> Scene | TopsScene:
    if "://" not in path and not Path(path).exists():
        raise DaskInsarError(f"{path}: {role} input not found")
    if sensor is None and is_tops_store(path):
        if options:  # its bursts were chosen when it was written: an option here would be silently ignored
            raise ConfigError(f"{path}: a daskinsar TOPS scene store takes no reader options (got "
                              f"{', '.join(sorted(options))}); give them when ingesting the product")
        return check_scene(open_tops_scene(path), path)
    return (check_scene(store.open_scene(path), path) if sensor is None and store.is_complete(path)
            else read_scene(path, sensor, **options))


def _read_scene_input(role: str, given) -> Scene | TopsScene:
    """One input (a :class:`~daskinsar.config.SceneInput`): its file, or its frames joined along track."""
    read = [_read_input(role, p, given.sensor, given.options) for p in given.paths]
    if len(read) == 1:
        return read[0]
    scenes = [s for s in read if isinstance(s, Scene)]
    if len(scenes) < len(read):
        raise ConfigError(f"{role}.path: {given.label} lists TOPS (IW) products; joining TOPS frames along track "
                          "is not supported: give one IW product per scene")
    joined = join_frames(scenes, given.paths)
    check_scene(joined, given.label)
    return joined


def build_preprocess(ctx: RunContext) -> StepOutputs:
    """Read both inputs (lazily) and check them as a pair before anything is written."""
    cfg = ctx.config
    scenes = {role: _read_scene_input(role, getattr(cfg, role)) for role in ("reference", "secondary")}
    if any(isinstance(s, TopsScene) for s in scenes.values()):  # TOPS: bursts matched and stored per burst
        return steps_tops.build_preprocess(ctx, scenes)
    ref, sec = cast(Scene, scenes["reference"]), cast(Scene, scenes["secondary"])
    lo, hi = check_pair(ref, sec, cfg.reference.label, cfg.secondary.label)
    ctx.reporter(f"preprocess: common range band {lo / 1e6:.3f}..{hi / 1e6:.3f} MHz (before the geometric "
                 "spectral shift)")
    if sec.meta.level == "slc":
        scenes["secondary"] = _band_matched(ctx, ref, sec)
    out = {}
    for role, scene in scenes.items():
        scene.attrs["source"] = getattr(cfg, role).label
        ctx.reporter(f"preprocess: {role} {scene.meta.sensor} {scene.shape[0]} x {scene.shape[1]} "
                     f"({scene.main_variable})")
        out[f"{role}.zarr"] = scene.with_data(scene.data.chunk(cfg.processing.chunks)).to_dataset()
    return out


def _band_matched(ctx: RunContext, ref: Scene, sec: Scene) -> Scene:
    """The secondary cut to what the reference grid can hold when its range band is wider (mixed modes)."""
    dr = ref.grid_spacing[1]
    if not common_band.needs_band_match(ref.meta, sec.meta, dr):
        return sec
    out = Scene.from_dataset(common_band.match_band(sec.to_dataset(), ref.meta, dr))
    lo, hi = out.meta.extra["band_matched"]["kept_band_hz"]
    ctx.reporter(f"preprocess: secondary range band cut to {lo / 1e6:.3f}..{hi / 1e6:.3f} MHz and brought to "
                 f"baseband (the reference grid's range spacing is {dr:.3f} m)")
    return out


def build_focus(ctx: RunContext) -> StepOutputs | None:
    if steps_tops.is_tops_run(ctx):
        return None
    out: StepOutputs = {}
    for role in ("reference", "secondary"):
        raw = store.open_scene(ctx.url(f"{role}.zarr"))
        if raw.meta.level != "raw":
            return None
        slc = focus.run(raw.to_dataset(), ctx.config.focus).chunk(ctx.config.processing.chunks)
        if role == "secondary":
            ref = Scene.from_dataset(out["reference_slc.zarr"])
            slc = _band_matched(ctx, ref, Scene.from_dataset(slc)).to_dataset().chunk(ctx.config.processing.chunks)
        ctx.reporter(f"focus: {role} -> {slc.sizes['azimuth']} x {slc.sizes['range']} fully focused SLC")
        out[f"{role}_slc.zarr"] = slc
    return out


#: the ground heights (m) a footprint is first computed for, before the DEM's own are known
PLAUSIBLE_HEIGHTS_M = (-500.0, 9000.0)


def _footprint_box(scenes: list[Scene], heights: tuple[float, float]) -> tuple[float, float, float, float]:
    lons, lats = zip(*(footprint_edges(scene, h) for scene in scenes for h in heights))
    lon, lat = np.concatenate(lons), np.concatenate(lats)
    lon, lat = lon[np.isfinite(lon)], lat[np.isfinite(lat)]
    return float(lon.min()), float(lon.max()), float(lat.min()), float(lat.max())


def build_verifydem(ctx: RunContext) -> StepOutputs:
    """The run's DEM: the given file (or one fetched for the footprint), checked to cover the reference
    footprint at its own height range, cropped, converted to ellipsoidal heights and stored (``dem.zarr``)."""
    cfg = ctx.config.dem
    refs = steps_tops.reference_bursts(ctx) if steps_tops.is_tops_run(ctx) else [ctx.scene("reference")]
    wide = _footprint_box(refs, PLAUSIBLE_HEIGHTS_M)
    # a downloaded DEM is kept in the run folder, or (run folder on an object store) in the local cache
    download = (ctx.url("dem_download") if ctx.folder.is_local else
                os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "daskinsar", "dem"))
    path = cfg.path or fetch_dem(wide, cfg.source, download, tile_server=cfg.tile_server)
    dem = open_dem(path, interpolation=cfg.interpolation, vertical_datum=cfg.vertical_datum, edge="clamp")
    b = dem.bounds
    clipped = (max(wide[0], b[0]), min(wide[1], b[1]), max(wide[2], b[2]), min(wide[3], b[3]))
    if clipped[0] >= clipped[1] or clipped[2] >= clipped[3]:
        heights = (0.0, 0.0)  # no overlap at all: the coverage check below says so
    else:
        heights = dem.window(*clipped).height_range()
    for ref in refs:
        check_dem_covers_scene(ref, b, heights, path)
    box = _footprint_box(refs, heights)
    prepare_dem(cfg.model_copy(update={"path": path}), *box, ctx.url("dem.zarr"), edge="clamp",
                attrs={TOKEN_ATTR: ctx.token})
    return {}


def _pair(ctx: RunContext) -> xr.Dataset:
    return pair_dataset(ctx.scene("reference"), ctx.scene("secondary"))


def build_topo(ctx: RunContext) -> StepOutputs:
    if steps_tops.is_tops_run(ctx):
        return steps_tops.build_topo(ctx)
    return {"products.zarr/topo": topo.run(_pair(ctx).assign(dem=ctx.dem()), ctx.config.topo)}


def build_baseline(ctx: RunContext) -> StepOutputs | None:
    if steps_tops.is_tops_run(ctx):  # the pair's centre baseline is in the products' metadata
        ctx.reporter("baseline: no baseline grid for TOPS pairs (the centre baseline is in the product metadata)")
        return None
    inputs = _pair(ctx).drop_vars(["reference", "secondary"]).assign(hgt=ctx.open("topo")["hgt"])
    ds = baseline.run(inputs, ctx.config.baseline)
    ctx.reporter(f"baseline: {baseline.summary(ds)}")
    return {"products.zarr/baseline": ds}


def build_layover(ctx: RunContext) -> StepOutputs | None:
    if not ctx.config.layover.enabled:
        return None
    if steps_tops.is_tops_run(ctx):
        if "enabled" in ctx.config.layover.model_fields_set:
            raise ConfigError("layover.enabled: the layover/shadow mask of TOPS (IW) bursts is not supported; "
                              "set it to false")
        ctx.reporter("layover: no layover/shadow mask for TOPS pairs (per-burst masks are not merged)")
        return None
    ref = ctx.scene("reference")
    inputs = xr.Dataset({"reference": ref.data[ref.main_variable], "dem": ctx.dem()},
                        attrs=radar_attrs(ref.meta, ref.orbit, "reference"))
    return {"products.zarr/layover": layover.run(inputs, ctx.config.layover)}


def build_water(ctx: RunContext) -> StepOutputs | None:
    cfg = ctx.config.water_mask
    if cfg.path is None:
        return None
    ifg = ctx.open("interferogram")
    inputs = xr.Dataset({"lon": ifg["lon"], "lat": ifg["lat"], "water_raster": open_water_raster(cfg.path)})
    ds = water.run(inputs, cfg)
    ctx.reporter(f"water: {cfg.path} sampled at the {ds.sizes['azimuth']} x {ds.sizes['range']} look cells")
    return {"products.zarr/water": ds}


def build_offsets(ctx: RunContext) -> StepOutputs | None:
    if steps_tops.is_tops_run(ctx):
        return steps_tops.build_offsets(ctx)
    if ctx.config.offsets.method == "geometric":
        return None
    t = ctx.open("topo")
    ds = offsets.run(_pair(ctx).assign(azimuth_offset=t["azimuth_offset"], range_offset=t["range_offset"]),
                     ctx.config.offsets)
    ctx.reporter(f"offsets: {ds.attrs['kept_windows']} of {ds['kept'].size} windows kept after culling")
    return {"products.zarr/offsets": ds}


def build_resample(ctx: RunContext) -> StepOutputs:
    if steps_tops.is_tops_run(ctx):
        return steps_tops.build_resample(ctx)
    t = ctx.open("topo")
    off = ctx.open("offsets") if ctx.config.offsets.method != "geometric" else None
    az, rg = offsets.offset_fields(t["azimuth_offset"].data, t["range_offset"].data, off)
    sec = ctx.scene("secondary", lazy_backend=True)
    inputs = pair_dataset(ctx.scene("reference"), sec).drop_vars("reference")
    inputs = inputs.assign(azimuth_offset=(("azimuth", "range"), az), range_offset=(("azimuth", "range"), rg))
    return {"products.zarr/resample": resample.run(inputs, ctx.config.resample)}


def spectral_pair(ctx: RunContext) -> xr.Dataset:
    """The coregistered pair on the reference grid with what spectral stages need: topo's geometric phase and
    offsets, the secondary's own grid (coordinates) and both scenes' metadata."""
    ref, sec = ctx.scene("reference"), ctx.scene("secondary")
    ds = ctx.open("topo")[["geometric_phase", "azimuth_offset", "range_offset"]].assign(
        reference=ref.data[ref.main_variable], secondary=ctx.open("resample")["secondary"])
    ds = ds.assign_coords(secondary_azimuth_time=("secondary_azimuth", sec.azimuth_time),
                          secondary_slant_range=("secondary_range", sec.slant_range))
    ds.attrs = {**radar_attrs(ref.meta, ref.orbit, "reference"), **radar_attrs(sec.meta, sec.orbit, "secondary")}
    return ds


def build_commonband(ctx: RunContext) -> StepOutputs | None:
    """Always written: the plan (bands, decisions) in the attributes, the filtered SLCs when an axis is filtered.
    TOPS pairs: not run (a burst's Doppler centroid sweeps along azimuth; a filter asked for is refused)."""
    if steps_tops.is_tops_run(ctx):
        cb = ctx.config.commonband
        asked = [axis for axis in ("range", "azimuth") if getattr(cb, axis) is True]
        if asked:
            raise ConfigError(f"commonband.{asked[0]}: common-band filtering of TOPS (IW) bursts is not supported; "
                              "set it to auto or false")
        ctx.reporter("commonband: skipped (TOPS pair: per-burst spectra are not filtered)")
        return None
    inputs = spectral_pair(ctx)
    plan = common_band.plan(inputs, ctx.config.commonband)
    ctx.reporter(f"commonband: {plan.summary()}")
    return {"products.zarr/commonband": common_band.apply(inputs, plan)}


def _coregistered(ctx: RunContext) -> tuple[xr.DataArray, xr.DataArray, dict]:
    """The reference and secondary SLCs the interferograms use (commonband's when it filtered) and its plan."""
    cb = ctx.open("commonband")
    if "reference" in cb:
        return cb["reference"], cb["secondary"], dict(cb.attrs)
    ref = ctx.scene("reference")
    return ref.data[ref.main_variable], ctx.open("resample")["secondary"], dict(cb.attrs)


def build_interferogram(ctx: RunContext) -> StepOutputs:
    if steps_tops.is_tops_run(ctx):
        return steps_tops.build_interferogram(ctx)
    ref = ctx.scene("reference")
    t = ctx.open("topo")
    r, s, plan = _coregistered(ctx)
    inputs = t[["geometric_phase", *interferogram.GEOMETRY_FIELDS]].assign(reference=r, secondary=s)
    inputs.attrs = radar_attrs(ref.meta, ref.orbit, "reference")
    if ctx.has("layover"):
        inputs["layover_shadow"] = ctx.open("layover")["mask"]
    ds = interferogram.run(inputs, ctx.config.interferogram)
    ds.attrs.update(common_band.interferogram_attrs(ds.attrs, plan))
    la, lr = ds.attrs["looks"]
    ctx.reporter(f"interferogram: {la} x {lr} looks -> {ds.sizes['azimuth']} x {ds.sizes['range']}")
    return {"products.zarr/interferogram": ds}


def build_filter(ctx: RunContext) -> StepOutputs:
    return {"products.zarr/filter": filter_stage.run(ctx.open("interferogram"), ctx.config.filter)}


def build_unwrap(ctx: RunContext) -> StepOutputs | None:
    if not ctx.config.unwrap.enabled:
        return None
    ifg = ctx.open("interferogram")
    inputs = xr.Dataset({"ifg": ctx.open("filter")["ifg"], "coherence": ifg["coherence"]}, attrs=ifg.attrs)
    if ctx.has("water"):
        inputs["water"] = ctx.open("water")["mask"]
    return {"products.zarr/unwrap": unwrap.run(inputs, ctx.config.unwrap)}


def ionosphere_inputs(ctx: RunContext) -> xr.Dataset:
    """What the ionosphere stage takes: the coregistered SLCs and geometric phase on the reference grid, the
    unwrapped phase, coherence and geometry on the multilooked grid (dims ``ml_*``), both scenes' metadata."""
    ifg, unw = ctx.open("interferogram"), ctx.open("unwrap")
    r, s, plan = _coregistered(ctx)
    t = ctx.open("topo")
    ml = {"ml_azimuth": "azimuth", "ml_range": "range"}
    inv = {v: k for k, v in ml.items()}
    multilooked = xr.Dataset({"unw": unw["unw"], "conncomp": unw["conncomp"], "coherence": ifg["coherence"],
                              **{k: ifg[k] for k in ("lon", "lat", "hgt", "incidence")}}).rename(
        {**inv, "azimuth_time": "ml_azimuth_time", "slant_range": "ml_slant_range"})
    inputs = xr.Dataset({"reference": r, "secondary": s, "geometric_phase": t["geometric_phase"]})
    if ctx.config.offsets.method != "geometric":
        _, rg = offsets.offset_fields(t["azimuth_offset"].data, t["range_offset"].data, ctx.open("offsets"))
        inputs["range_offset_residual"] = (("azimuth", "range"), rg - t["range_offset"].data)
    inputs = xr.merge([inputs, multilooked], combine_attrs="drop")
    sec = ctx.scene("secondary")
    inputs = inputs.assign_coords(secondary_slant_range=("secondary_range", sec.slant_range))
    inputs.attrs = {**plan, **{k: ifg.attrs[k] for k in ("looks", "effective_looks")},
                    **radar_attrs(ctx.scene("reference").meta, ctx.scene("reference").orbit, "reference"),
                    **radar_attrs(sec.meta, sec.orbit, "secondary")}
    return inputs


def build_ionosphere(ctx: RunContext) -> StepOutputs | None:
    if steps_tops.is_tops_run(ctx):
        if ctx.config.ionosphere.enabled is True:
            raise ConfigError("ionosphere.enabled: the split-spectrum ionosphere of TOPS (IW) pairs is not supported; "
                              "set it to auto or false")
        return None
    if not ctx.has("unwrap"):
        if ctx.config.ionosphere.enabled is True:
            raise ConfigError("ionosphere.enabled: the split-spectrum correction needs the unwrapped phase; "
                              "unwrapping is off (unwrap.enabled: false)")
        return None
    inputs = ionosphere_inputs(ctx)
    go, why = ionosphere.decide(inputs, ctx.config.ionosphere)
    ctx.reporter(f"ionosphere: {'split-spectrum correction' if go else 'skipped'} ({why})")
    if not go:
        return None
    ds = ionosphere.run(inputs, ctx.config.ionosphere)
    ds.attrs["decision"] = why
    return {"products.zarr/ionosphere": ds}


def build_geocode(ctx: RunContext) -> StepOutputs:
    """The chosen products and the geometry (incidence, heading, height: ``geocode_geometry``) onto one map
    grid, from one shared lookup."""
    ifg = ctx.open("interferogram")
    if steps_tops.is_tops_run(ctx):  # the merged burst grid's metadata
        attrs = steps_tops.grid_attrs(ctx)
    else:
        ref = ctx.scene("reference")
        attrs = radar_attrs(ref.meta, ref.orbit, "reference")
    inputs = xr.Dataset({"lon": ifg["lon"], "lat": ifg["lat"]}, attrs=attrs)
    for name in ctx.config.geocode.products:
        group, var = resolve_product(name)
        if group in ("unwrap", "ionosphere") and not ctx.has(group):
            ctx.reporter(f"geocode: {name} skipped (the {group} step did not run)")
            continue
        src = ctx.open(group)
        if var not in src:
            raise ConfigError(f"geocode list: product {name!r} ({group}/{var}) does not exist")
        if src[var].shape != ifg["ifg"].shape:
            raise ConfigError(f"geocode list: {name!r} is not on the multilooked grid; geocode multilooked products")
        inputs[geocoded_variable(f"{group}/{var}")] = src[var]
    products = [str(v) for v in inputs.data_vars if v not in ("lon", "lat")]
    geometry = [f"_geometry_{v}" for v in GEOMETRY_FIELDS if v in ifg]
    for v in geometry:
        inputs[v] = ifg[v.removeprefix("_geometry_")]
    out = geocode.run(inputs.assign(dem=ctx.dem()), ctx.config.geocode)
    ctx.reporter(f"geocode: {len(products)} products and {len(geometry)} geometry fields on a {out.sizes['y']} x "
                 f"{out.sizes['x']} grid ({out.attrs['crs']}, posting {out.attrs['posting']:.6g})")
    geo = out[products]
    geo.attrs = dict(out.attrs)
    result = {"products.zarr/geocode": geo}
    if geometry:
        geom = out[geometry].rename({v: v.removeprefix("_geometry_") for v in geometry})
        geom.attrs = dict(out.attrs)
        result[f"products.zarr/{GEOMETRY_GROUP}"] = geom
    return result


def _geotiff_sets(ctx: RunContext) -> list[tuple[str, str]]:
    """(group, folder in the run) of each GeoTIFF set: the products in geo/, the geometry in geo/geometry/."""
    return [(g, d) for g, d in (("geocode", "geo"), (GEOMETRY_GROUP, "geo/geometry")) if ctx.has(g)]


def _geotiff_names(ctx: RunContext) -> list[str]:
    return [f"{folder}/{v}.tif" for group, folder in _geotiff_sets(ctx)
            for v in geotiff_variables(ctx.open(group)).data_vars]


def build_export(ctx: RunContext) -> StepOutputs | None:
    """GeoTIFF / COG of every geocoded product and of the geometry, tagged with the pair's metadata and the step
    token. On an object store each file is written locally, then uploaded as one object."""
    cfg = ctx.config.geocode
    if not (cfg.geotiff or cfg.cog) or not ctx.has("geocode"):
        return None
    geo = ctx.open("geocode")
    ref, sec = (steps_tops.scenes(ctx) if steps_tops.is_tops_run(ctx)
                else (ctx.scene("reference"), ctx.scene("secondary")))
    meta = pair_metadata(ref, sec, ctx.open("interferogram"), __version__)
    tags = {TOKEN_TAG: ctx.token, **metadata_tags(meta, reference_point(geo))}
    n = 0
    for group, folder in _geotiff_sets(ctx):
        tifs = geotiff_variables(ctx.open(group))
        if ctx.folder.is_local:
            n += len(export_geotiffs(tifs, Path(ctx.url(folder)), cog=cfg.cog, tags=tags))
            continue
        with tempfile.TemporaryDirectory(prefix="daskinsar-export-") as tmp:
            for name in tifs.data_vars:  # one file at a time: local disk holds one GeoTIFF
                for f in export_geotiffs(tifs, tmp, cog=cfg.cog, names=[str(name)], tags=tags):
                    ctx.folder.upload(f, f"{folder}/{f.name}")
                    f.unlink()
                    n += 1
    ctx.reporter(f"export: wrote {n} GeoTIFFs to {ctx.url('geo')}")
    return {}


def _group(name: str) -> Callable[[RunContext], list[str]]:
    return lambda ctx: [f"products.zarr/{name}"]


def _group_or_bursts(name: str) -> Callable[[RunContext], list[str]]:
    """The step's group, or in a TOPS run its per-burst groups (products.zarr/bursts/<burst>/<name>)."""
    return lambda ctx: steps_tops.burst_outputs(ctx, name) if steps_tops.is_tops_run(ctx) else [f"products.zarr/{name}"]


STEPS: tuple[Step, ...] = (
    Step("preprocess", "read both inputs into scene stores; check the pair overlaps", build_preprocess,
         lambda ctx: ["reference.zarr", "secondary.zarr"], config=("reference", "secondary", "processing")),
    Step("focus", "raw echoes -> zero-Doppler SLC (skipped for SLC inputs)", build_focus,
         lambda ctx: ["reference_slc.zarr", "secondary_slc.zarr"], after=("preprocess",),
         config=("focus", "processing")),
    Step("verifydem", "the DEM: checked to cover the (focused) reference footprint, cropped, converted to "
         "ellipsoidal heights (RUN/dem.zarr)", build_verifydem, lambda ctx: ["dem.zarr"], after=("focus",),
         config=("dem",)),
    Step("topo", "lon/lat/height/incidence/heading per pixel, geometric offsets, flat+topo phase", build_topo,
         _group_or_bursts("topo"), after=("preprocess", "focus", "verifydem"), config=("topo",)),
    Step("baseline", "perpendicular / parallel baselines on a coarse grid (ISCE2's definition)", build_baseline,
         _group("baseline"), after=("topo",), config=("baseline",)),
    Step("layover", "layover/shadow mask of the reference grid (ISCE3's values)", build_layover, _group("layover"),
         after=("preprocess", "focus", "verifydem"), config=("layover",)),
    Step("offsets", "dense offsets (ampcor) + culling; residual fit added to the geometric offsets", build_offsets,
         _group_or_bursts("offsets"), after=("topo",), config=("offsets",)),
    Step("resample", "secondary SLC onto the reference grid (windowed sinc)", build_resample,
         _group_or_bursts("resample"), after=("offsets", "topo"), config=("offsets", "resample", "esd")),
    Step("commonband", "range (spectral shift, mixed bandwidths) and azimuth (Doppler) common-band filtering",
         build_commonband, _group("commonband"), after=("resample", "topo"), config=("commonband",)),
    Step("interferogram", "flattened, multilooked interferogram; coherence (topophase.cor); phsig.cor",
         build_interferogram, _group("interferogram"), after=("commonband", "resample", "topo", "layover"),
         config=("interferogram",)),
    Step("water", "a water mask raster on the multilooked grid (invalid for the unwrapper)", build_water,
         _group("water"), after=("interferogram",), config=("water_mask",)),
    Step("filter", "Goldstein-Werner filter (filt_topophase.flat)", build_filter, _group("filter"),
         after=("interferogram",), config=("filter",)),
    Step("unwrap", "SNAPHU unwrapping (tiled when large); LOS displacement (m)", build_unwrap, _group("unwrap"),
         after=("filter", "interferogram", "water"), config=("unwrap",)),
    Step("ionosphere", "split-spectrum ionosphere: dispersive / non-dispersive phase, corrected unwrapped phase",
         build_ionosphere, _group("ionosphere"), after=("unwrap", "interferogram", "commonband", "topo", "offsets"),
         config=("ionosphere",)),
    Step("geocode", "products and geometry (incidence, heading, height) onto a map grid", build_geocode,
         lambda ctx: ["products.zarr/geocode", f"products.zarr/{GEOMETRY_GROUP}"],
         after=("ionosphere", "unwrap", "filter", "interferogram", "verifydem"), config=("geocode",)),
    Step("export", "GeoTIFF / COG of every geocoded product (RUN/geo/) and of the geometry (RUN/geo/geometry/)",
         build_export, _geotiff_names, after=("geocode",), config=("geocode",)),
)
STEP_NAMES: tuple[str, ...] = tuple(s.name for s in STEPS)
