"""The pipeline's steps: the one registry (:data:`STEPS`) and the adapters between stores and stages.

Each step's ``build`` opens its inputs from the run's stores, assembles the Dataset its
stage's ``run(inputs, params)`` takes, and returns what to write, keyed by the output's
path in the run folder. No physics here: every computation is a stage's (``stages/``),
every format an io module's (``io/``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import xarray as xr

from .config import RunConfig
from .bursts import TopsScene
from .errors import ConfigError, DaskInsarError, TopsSceneError
from .frames import join_frames
from .io import store
from .io.store import TOKEN_ATTR
from .geometry.dem import dem_to_dataarray
from .io.dem import open_dem
from .io.dem_fetch import fetch_dem
from .io.dem_prepare import open_dem_store, prepare_dem
from .io.export import export_geotiffs, geotiff_variables
from .io.readers import read_scene
from .io.validate import check_scene
from .io.water import open_water_raster
from .products import geocoded_variable, resolve_product
from .scene import Scene, pair_dataset, radar_attrs
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
    """What a step needs: the config, the run folder, the current step's token and opened inputs."""

    config: RunConfig
    run_dir: Path
    progress: bool = True
    reporter: Callable[[str], None] = print
    token: str = ""
    cache: dict = field(default_factory=dict)

    @property
    def products_url(self) -> str:
        return str(self.run_dir / "products.zarr")

    def url(self, name: str) -> str:
        """The URL of an output named by its path in the run folder."""
        return str(self.run_dir / name)

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
def _read_input(role: str, path: str, sensor: str | None, options: dict) -> Scene:
    if "://" not in path and not Path(path).exists():
        raise DaskInsarError(f"{path}: {role} input not found")
    scene = (check_scene(store.open_scene(path), path) if sensor is None and store.is_complete(path)
             else read_scene(path, sensor, **options))
    if isinstance(scene, TopsScene):
        raise TopsSceneError(f"{path}: a TOPS (IW) product of {len(scene)} bursts; the stripmap pipeline does not "
                             "process bursts (each burst is its own grid), so it is refused rather than processed "
                             "as one image")
    return scene


def _read_scene_input(role: str, given) -> Scene:
    """One input (a :class:`~daskinsar.config.SceneInput`): its file, or its frames joined along track."""
    scenes = [_read_input(role, p, given.sensor, given.options) for p in given.paths]
    if len(scenes) == 1:
        return scenes[0]
    joined = join_frames(scenes, given.paths)
    check_scene(joined, given.label)
    return joined


def build_preprocess(ctx: RunContext) -> StepOutputs:
    """Read both inputs (lazily) and check them as a pair before anything is written."""
    cfg = ctx.config
    scenes = {role: _read_scene_input(role, getattr(cfg, role)) for role in ("reference", "secondary")}
    check_pair(scenes["reference"], scenes["secondary"], cfg.reference.label, cfg.secondary.label)
    out = {}
    for role, scene in scenes.items():
        scene.attrs["source"] = getattr(cfg, role).label
        ctx.reporter(f"preprocess: {role} {scene.meta.sensor} {scene.shape[0]} x {scene.shape[1]} "
                     f"({scene.main_variable})")
        out[f"{role}.zarr"] = scene.with_data(scene.data.chunk(cfg.processing.chunks)).to_dataset()
    return out


def build_focus(ctx: RunContext) -> StepOutputs | None:
    out = {}
    for role in ("reference", "secondary"):
        raw = store.open_scene(ctx.url(f"{role}.zarr"))
        if raw.meta.level != "raw":
            return None
        slc = focus.run(raw.to_dataset(), ctx.config.focus).chunk(ctx.config.processing.chunks)
        ctx.reporter(f"focus: {role} -> {slc.sizes['azimuth']} x {slc.sizes['range']} fully focused SLC")
        out[f"{role}_slc.zarr"] = slc
    return out


#: the ground heights (m) a footprint is first computed for, before the DEM's own are known
PLAUSIBLE_HEIGHTS_M = (-500.0, 9000.0)


def _footprint_box(scene: Scene, heights: tuple[float, float]) -> tuple[float, float, float, float]:
    lons, lats = zip(*(footprint_edges(scene, h) for h in heights))
    lon, lat = np.concatenate(lons), np.concatenate(lats)
    lon, lat = lon[np.isfinite(lon)], lat[np.isfinite(lat)]
    return float(lon.min()), float(lon.max()), float(lat.min()), float(lat.max())


def build_verifydem(ctx: RunContext) -> StepOutputs:
    """The run's DEM: the given file (or one fetched for the footprint), checked to cover the reference
    footprint at its own height range, cropped, converted to ellipsoidal heights and stored (``dem.zarr``)."""
    cfg = ctx.config.dem
    ref = ctx.scene("reference")
    wide = _footprint_box(ref, PLAUSIBLE_HEIGHTS_M)
    path = cfg.path or fetch_dem(wide, cfg.source, str(ctx.run_dir / "dem_download"), tile_server=cfg.tile_server)
    dem = open_dem(path, interpolation=cfg.interpolation, vertical_datum=cfg.vertical_datum, edge="clamp")
    b = dem.bounds
    clipped = (max(wide[0], b[0]), min(wide[1], b[1]), max(wide[2], b[2]), min(wide[3], b[3]))
    if clipped[0] >= clipped[1] or clipped[2] >= clipped[3]:
        heights = (0.0, 0.0)  # no overlap at all: the coverage check below says so
    else:
        heights = dem.window(*clipped).height_range()
    check_dem_covers_scene(ref, b, heights, path)
    box = _footprint_box(ref, heights)
    prepare_dem(cfg.model_copy(update={"path": path}), *box, ctx.url("dem.zarr"), edge="clamp",
                attrs={TOKEN_ATTR: ctx.token})
    return {}


def _pair(ctx: RunContext) -> xr.Dataset:
    return pair_dataset(ctx.scene("reference"), ctx.scene("secondary"))


def build_topo(ctx: RunContext) -> StepOutputs:
    return {"products.zarr/topo": topo.run(_pair(ctx).assign(dem=ctx.dem()), ctx.config.topo)}


def build_baseline(ctx: RunContext) -> StepOutputs:
    inputs = _pair(ctx).drop_vars(["reference", "secondary"]).assign(hgt=ctx.open("topo")["hgt"])
    ds = baseline.run(inputs, ctx.config.baseline)
    ctx.reporter(f"baseline: {baseline.summary(ds)}")
    return {"products.zarr/baseline": ds}


def build_layover(ctx: RunContext) -> StepOutputs | None:
    if not ctx.config.layover.enabled:
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
    if ctx.config.offsets.method == "geometric":
        return None
    t = ctx.open("topo")
    ds = offsets.run(_pair(ctx).assign(azimuth_offset=t["azimuth_offset"], range_offset=t["range_offset"]),
                     ctx.config.offsets)
    ctx.reporter(f"offsets: {ds.attrs['kept_windows']} of {ds['kept'].size} windows kept after culling")
    return {"products.zarr/offsets": ds}


def build_resample(ctx: RunContext) -> StepOutputs:
    t = ctx.open("topo")
    off = ctx.open("offsets") if ctx.config.offsets.method != "geometric" else None
    az, rg = offsets.offset_fields(t["azimuth_offset"].data, t["range_offset"].data, off)
    sec = ctx.scene("secondary", lazy_backend=True)
    inputs = pair_dataset(ctx.scene("reference"), sec).drop_vars("reference")
    inputs = inputs.assign(azimuth_offset=(("azimuth", "range"), az), range_offset=(("azimuth", "range"), rg))
    return {"products.zarr/resample": resample.run(inputs, ctx.config.resample)}


def build_interferogram(ctx: RunContext) -> StepOutputs:
    ref = ctx.scene("reference")
    t = ctx.open("topo")
    res = ctx.open("resample")
    inputs = t[["geometric_phase", *interferogram.GEOMETRY_FIELDS]].assign(
        reference=ref.data[ref.main_variable], secondary=res["secondary"])
    inputs.attrs = radar_attrs(ref.meta, ref.orbit, "reference")
    if ctx.has("layover"):
        inputs["layover_shadow"] = ctx.open("layover")["mask"]
    ds = interferogram.run(inputs, ctx.config.interferogram)
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


def build_geocode(ctx: RunContext) -> StepOutputs:
    ref = ctx.scene("reference")
    ifg = ctx.open("interferogram")
    inputs = xr.Dataset({"lon": ifg["lon"], "lat": ifg["lat"]}, attrs=radar_attrs(ref.meta, ref.orbit, "reference"))
    for name in ctx.config.geocode.products:
        group, var = resolve_product(name)
        if group == "unwrap" and not ctx.has("unwrap"):
            ctx.reporter(f"geocode: {name} skipped (unwrapping is off)")
            continue
        src = ctx.open(group)
        if var not in src:
            raise ConfigError(f"geocode list: product {name!r} ({group}/{var}) does not exist")
        if src[var].shape != ifg["ifg"].shape:
            raise ConfigError(f"geocode list: {name!r} is not on the multilooked grid; geocode multilooked products")
        inputs[geocoded_variable(f"{group}/{var}")] = src[var]
    out = geocode.run(inputs.assign(dem=ctx.dem()), ctx.config.geocode)
    n = len([v for v in out.data_vars if v != "spatial_ref"])
    ctx.reporter(f"geocode: {n} products on a {out.sizes['y']} x {out.sizes['x']} grid ({out.attrs['crs']}, "
                 f"posting {out.attrs['posting']:.3g})")
    return {"products.zarr/geocode": out}


def _geotiff_names(ctx: RunContext) -> list[str]:
    if not ctx.has("geocode"):
        return []
    return [str(v) for v in geotiff_variables(ctx.open("geocode")).data_vars]


def build_export(ctx: RunContext) -> StepOutputs | None:
    cfg = ctx.config.geocode
    if not (cfg.geotiff or cfg.cog) or not ctx.has("geocode"):
        return None
    tifs = geotiff_variables(ctx.open("geocode"))
    files = export_geotiffs(tifs, ctx.run_dir / "geo", cog=cfg.cog, tags={"DASKINSAR_STEP_TOKEN": ctx.token})
    ctx.reporter(f"export: wrote {len(files)} GeoTIFFs to {ctx.run_dir / 'geo'}")
    return {}


def _group(name: str) -> Callable[[RunContext], list[str]]:
    return lambda ctx: [f"products.zarr/{name}"]


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
         _group("topo"), after=("preprocess", "focus", "verifydem"), config=("topo",)),
    Step("baseline", "perpendicular / parallel baselines on a coarse grid (ISCE2's definition)", build_baseline,
         _group("baseline"), after=("topo",), config=("baseline",)),
    Step("layover", "layover/shadow mask of the reference grid (ISCE3's values)", build_layover, _group("layover"),
         after=("preprocess", "focus", "verifydem"), config=("layover",)),
    Step("offsets", "dense offsets (ampcor) + culling; residual fit added to the geometric offsets", build_offsets,
         _group("offsets"), after=("topo",), config=("offsets",)),
    Step("resample", "secondary SLC onto the reference grid (windowed sinc)", build_resample, _group("resample"),
         after=("offsets", "topo"), config=("offsets", "resample")),
    Step("interferogram", "flattened, multilooked interferogram; coherence (topophase.cor); phsig.cor",
         build_interferogram, _group("interferogram"), after=("resample", "topo", "layover"),
         config=("interferogram",)),
    Step("water", "a water mask raster on the multilooked grid (invalid for the unwrapper)", build_water,
         _group("water"), after=("interferogram",), config=("water_mask",)),
    Step("filter", "Goldstein-Werner filter (filt_topophase.flat)", build_filter, _group("filter"),
         after=("interferogram",), config=("filter",)),
    Step("unwrap", "SNAPHU unwrapping (tiled when large); LOS displacement (m)", build_unwrap, _group("unwrap"),
         after=("filter", "interferogram", "water"), config=("unwrap",)),
    Step("geocode", "products onto a map grid", build_geocode, _group("geocode"),
         after=("unwrap", "filter", "interferogram", "verifydem"), config=("geocode",)),
    Step("export", "GeoTIFF / COG of every geocoded product (RUN/geo/)", build_export,
         lambda ctx: [f"geo/{n}.tif" for n in _geotiff_names(ctx)], after=("geocode",), config=("geocode",)),
)
STEP_NAMES: tuple[str, ...] = tuple(s.name for s in STEPS)
