"""The InSAR pipeline: steps named like ISCE's, checkpointed in the run's Zarr store.

Steps, in order (``daskinsar steps`` lists them)::

    preprocess    read both inputs into scene stores, check the pair overlaps
    focus         raw echoes -> SLC (range-Doppler); skipped for SLC inputs
    verifydem     check the DEM covers the (focused) reference footprint
    topo          lat/lon/height/LOS of every reference pixel, geometric offsets, flat+topo phase
    offsets       dense offsets (ampcor) + culling, a residual fit added to the geometric offsets
    resample      secondary SLC onto the reference grid (windowed sinc, Doppler carrier kept)
    interferogram reference x conj(secondary), flattened and multilooked; coherence; phsig
    filter        Goldstein-Werner filter
    unwrap        SNAPHU (tiled for large interferograms); LOS displacement
    geocode       chosen products onto a map grid; GeoTIFF / COG

Each step is one lazy dask graph built from the previous steps' *stored* outputs.
Its products are written to a temporary group and moved into
``RUN/products.zarr/<step>`` only when complete, with a token of the settings
and inputs that made them; a rerun skips every step whose stored token matches
(so a crash costs at most the step that was running) and redoes a step whose
settings changed, and every step after it.

Why a graph per step rather than one for the whole run: several steps need a
small eager result of the one before (the offset fit needs the dense offsets,
the unwrapper's tile congruence needs the unwrapped tiles, the geocoder's
coarse lookup needs the geometry), and a stored checkpoint per step is what
makes resume and bounded memory possible; within a step the graph is whole and
lazy.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import dask
import dask.array as da
import numpy as np
import xarray as xr
import zarr

from . import __version__
from .config import RunConfig
from .errors import ConfigError, DaskInsarError, PairError
from .io import store
from .scene import Scene

log = logging.getLogger("daskinsar")

STEPS = ("preprocess", "focus", "verifydem", "topo", "offsets", "resample", "interferogram", "filter", "unwrap",
         "geocode")

STEP_DOCS = {
    "preprocess": "read both inputs into scene stores; check the pair overlaps",
    "verifydem": "check the DEM covers the (focused) reference footprint",
    "focus": "raw echoes -> zero-Doppler SLC (skipped for SLC inputs)",
    "topo": "lon/lat/height/incidence/heading per pixel, geometric offsets, flat+topo phase",
    "offsets": "dense offsets (ampcor) + culling; residual fit added to the geometric offsets",
    "resample": "secondary SLC onto the reference grid (windowed sinc)",
    "interferogram": "flattened, multilooked interferogram; coherence (topophase.cor); phsig.cor",
    "filter": "Goldstein-Werner filter (filt_topophase.flat)",
    "unwrap": "SNAPHU unwrapping (tiled when large); LOS displacement (m)",
    "geocode": "products onto a map grid; GeoTIFF / COG",
}

def _isce_names() -> dict[str, tuple[str, str]]:
    from .products import ISCE_PRODUCT_NAMES

    return {k: tuple(v.split("/", 1)) for k, v in ISCE_PRODUCT_NAMES.items()}


#: ISCE product names -> (group, variable); the table lives in :mod:`daskinsar.products`
ISCE_NAMES = _isce_names()


def resolve_product(name: str) -> tuple[str, str]:
    """An ISCE or daskinsar product name -> (group, variable)."""
    from .products import ISCE_PRODUCT_NAMES, resolve_product_name

    full = resolve_product_name(name)
    if "/" not in full:
        raise ConfigError(f"unknown product name {name!r}; use an ISCE name ({', '.join(ISCE_PRODUCT_NAMES)}) "
                          "or group/variable")
    group, var = full.split("/", 1)
    return group, var


# ---------------------------------------------------------------------------------------------
@dataclass
class RunContext:
    """What a step needs: the config, the run folder and the opened inputs."""

    config: RunConfig
    run_dir: Path
    progress: bool = True
    reporter: Callable[[str], None] = print
    _cache: dict = field(default_factory=dict)

    @property
    def products_url(self) -> str:
        return str(self.run_dir / "products.zarr")

    def group_url(self, group: str) -> str:
        return f"{self.products_url}/{group}"

    def has(self, group: str) -> bool:
        return store.is_complete(self.products_url, group)

    def open(self, group: str) -> xr.Dataset:
        if not self.has(group):
            raise DaskInsarError(f"{self.group_url(group)}: step output missing; run the step {group!r} first")
        ds = xr.open_zarr(self.products_url, group=group, consolidated=False, decode_times=False)
        return ds

    def scene_url(self, role: str) -> str:
        if self.has("focus"):
            # focused SLCs replace the raw scenes
            return str(self.run_dir / f"{role}_slc.zarr")
        return str(self.run_dir / f"{role}.zarr")

    def scene(self, role: str) -> Scene:
        key = f"scene-{role}"
        if key not in self._cache:
            self._cache[key] = store.open_scene(self.scene_url(role))
        return self._cache[key]

    @property
    def chunks(self) -> tuple[int, int]:
        p = self.config.processing
        return (p.chunk_azimuth, p.chunk_range)


def _token(*parts) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(json.dumps(p, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def _ensure_root(url: str) -> None:
    fs, path = store.url_to_fs(url)
    if not fs.exists(path + "/zarr.json"):
        zarr.open_group(url, mode="a", zarr_format=3).attrs["daskinsar_version"] = __version__


def write_step(ctx: RunContext, group: str, ds: xr.Dataset, token: str) -> None:
    """Write a step's Dataset to ``products.zarr/<group>`` atomically (temp group, then move)."""
    _ensure_root(ctx.products_url)
    ds = ds.copy()
    ds.attrs = {**ds.attrs, "daskinsar_step_token": token, "daskinsar_version": __version__}
    tmp_name = f".{group}.tmp-{os.getpid()}-{int(time.time() * 1e3)}"
    tmp_url = f"{ctx.products_url}/{tmp_name}"
    try:
        with _progress(ctx, f"{group}: writing"):
            store.write_dataset(ds, ctx.products_url, group=tmp_name, mode="w-")
        if os.environ.get("DASKINSAR_TEST_STALL_STEP") == group:  # test hook: a crash window mid-step
            time.sleep(float(os.environ.get("DASKINSAR_TEST_STALL_S", "60")))
        store.mark_complete(ctx.products_url, tmp_name)
        store.move_into_place(tmp_url, ctx.group_url(group))
    except BaseException:
        store.remove(tmp_url)
        raise


def step_token(ctx: RunContext, group: str) -> str | None:
    if not ctx.has(group):
        return None
    g = zarr.open_group(ctx.group_url(group), mode="r")
    return g.attrs.get("daskinsar_step_token")


@contextmanager
def _progress(ctx: RunContext, label: str):
    """A rich progress bar over dask tasks (local schedulers) or distributed's progress."""
    if not ctx.progress:
        yield
        return
    try:
        from distributed import get_client

        get_client()
        distributed = True
    except (ImportError, ValueError):
        distributed = False
    if distributed:
        yield  # the distributed dashboard shows progress; see cli for the printed link
        return
    from .progress import RichDaskProgress

    with RichDaskProgress(label):
        yield


# ---------------------------------------------------------------------------------------------
# the steps
def _dem(ctx: RunContext):
    if "dem" not in ctx._cache:
        from .io.dem import open_dem
        from .stages.topo import DemGrid

        dem = open_dem(ctx.config.dem.path)
        x = dem["x"].values
        y = dem["y"].values
        heights = np.asarray(dem.values, dtype=np.float64)
        ctx._cache["dem"] = DemGrid(heights, float(x[0]), float(y[0]), float(x[1] - x[0]), float(y[1] - y[0]),
                                    ctx.config.dem.interpolation)
    return ctx._cache["dem"]


def _read_input(role: str, inp) -> Scene:
    from .io.readers import read_scene

    if not os.path.exists(inp.path) and "://" not in inp.path:
        raise DaskInsarError(f"{inp.path}: {role} input not found")
    if inp.sensor is None and _is_scene_store(inp.path):
        return store.open_scene(inp.path)
    return read_scene(inp.path, inp.sensor, **inp.options)


def check_orbit_covers(scene: Scene, path: str, role: str) -> None:
    """Raise OrbitCoverageError naming the input unless its orbit spans its azimuth times."""
    from .errors import OrbitCoverageError

    t = scene.azimuth_time
    try:
        scene.orbit.check_coverage(float(t.min()), float(t.max()), f"{role} scene")
    except OrbitCoverageError as exc:
        raise OrbitCoverageError(f"{path}: {role} orbit does not cover the scene: {exc}") from None


def step_preprocess(ctx: RunContext) -> str:
    """Read both inputs (lazily), check them as a pair, then write the run's scene stores.

    All checks come before any write, so a bad input never replaces a good scene store
    of an earlier run. A daskinsar scene store given as input is copied as is.
    """
    tok = _token("preprocess", ctx.config.reference.model_dump(), ctx.config.secondary.model_dump(),
                 ctx.config.processing.model_dump())
    scenes = {}
    for role in ("reference", "secondary"):
        inp = getattr(ctx.config, role)
        scenes[role] = _read_input(role, inp)
        check_orbit_covers(scenes[role], inp.path, role)
    check_pair(scenes["reference"], scenes["secondary"], ctx.config.reference.path, ctx.config.secondary.path)
    for role, scene in scenes.items():
        inp = getattr(ctx.config, role)
        out = str(ctx.run_dir / f"{role}.zarr")
        in_tok = _token(inp.model_dump(), ctx.config.processing.model_dump())
        if store.is_complete(out) and zarr.open_group(out, mode="r").attrs.get("daskinsar_input_token") == in_tok:
            continue
        scene.attrs["daskinsar_input_token"] = in_tok
        scene.attrs["source"] = inp.path
        ctx.reporter(f"preprocess: {role} {scene.meta.sensor} {scene.shape[0]} x {scene.shape[1]} "
                     f"({scene.main_variable}) -> {out}")
        with _progress(ctx, f"preprocess: {role}"):
            store.write_scene(scene.with_data(scene.data.chunk(dict(zip(("azimuth", "range"), ctx.chunks)))), out)
    ctx._cache.clear()
    return tok


def _is_scene_store(path: str) -> bool:
    return store.is_complete(path)


def check_pair(ref: Scene, sec: Scene, ref_path: str, sec_path: str) -> None:
    """Raise PairError unless the two scenes can form an interferogram."""
    if abs(ref.meta.wavelength_m - sec.meta.wavelength_m) > 1e-6 * ref.meta.wavelength_m:
        raise PairError(f"{sec_path}: wavelength {sec.meta.wavelength_m} m differs from the reference's "
                        f"{ref.meta.wavelength_m} m ({ref_path})")
    if ref.meta.look_side != sec.meta.look_side:
        raise PairError(f"{sec_path}: looks {sec.meta.look_side} but the reference ({ref_path}) looks "
                        f"{ref.meta.look_side}")
    # ground footprint overlap: centre of the reference seen by the secondary?
    from .geometry.rdr2geo import rdr2geo_ecef
    from .geometry.geo2rdr import geo2rdr

    t, r = ref.azimuth_time, ref.slant_range
    tt = np.array([t[0], t[-1], t[len(t) // 2], t[0], t[-1]])
    rr = np.array([r[0], r[0], r[len(r) // 2], r[-1], r[-1]])
    xyz, *_ = rdr2geo_ecef(tt, rr, ref.orbit, wavelength_m=ref.meta.wavelength_m, look_side=ref.meta.look_side)
    from .geometry.orbit import seconds_between

    sorb = sec.orbit.shift_epoch(ref.meta.epoch)
    t2, r2 = geo2rdr(xyz, sorb, wavelength_m=sec.meta.wavelength_m, check_coverage=False)
    st = sec.azimuth_time + seconds_between(ref.meta.epoch, sec.meta.epoch)
    sr = sec.slant_range
    inside = np.isfinite(t2) & (t2 >= st[0]) & (t2 <= st[-1]) & (r2 >= sr[0]) & (r2 <= sr[-1])
    if not inside.any():
        raise PairError(f"{sec_path}: the secondary scene does not overlap the reference scene ({ref_path}): "
                        "none of the reference's corners or centre is inside the secondary's image")


def step_verifydem(ctx: RunContext) -> str:
    from .geometry.rdr2geo import rdr2geo
    from .stages.geocode import check_dem_covers

    ref = ctx.scene("reference")
    dem = _dem(ctx)
    t, r = ref.azimuth_time, ref.slant_range
    n = 16
    ti = np.linspace(t[0], t[-1], n)
    ri = np.linspace(r[0], r[-1], n)
    edge_t = np.concatenate([ti, ti, np.full(n, t[0]), np.full(n, t[-1])])
    edge_r = np.concatenate([np.full(n, r[0]), np.full(n, r[-1]), ri, ri])
    h = dem.heights_m[np.isfinite(dem.heights_m)]
    for height in (float(h.min()), float(h.max())):
        lon, lat, _ = rdr2geo(edge_t, edge_r, ref.orbit, wavelength_m=ref.meta.wavelength_m,
                              look_side=ref.meta.look_side, dem=height)
        check_dem_covers(dem.bounds, lon, lat, ctx.config.dem.path)
    return _token("verifydem", ctx.config.dem.model_dump())


def step_focus(ctx: RunContext) -> str | None:
    """Focus raw scenes; for SLC inputs there is nothing to do (returns None: no product)."""
    ref = store.open_scene(str(ctx.run_dir / "reference.zarr"))
    if ref.meta.level != "raw":
        return None
    from .stages.focus import FocusParams, focus

    params = FocusParams(**_focus_params(ctx))
    tok = _token("focus", ctx.config.focus.model_dump())
    for role in ("reference", "secondary"):
        raw = store.open_scene(str(ctx.run_dir / f"{role}.zarr"))
        slc = focus(raw, params)
        # keep the fully focused part only (whole aperture in azimuth, whole chirp in range)
        info = slc.meta.extra["focus"]
        a0, a1 = info["valid_azimuth_lines"]
        r0, r1 = info["valid_range_samples"]
        if a1 - a0 < 16 or r1 - r0 < 16:
            raise DaskInsarError(f"{getattr(ctx.config, role).path}: too few echoes to focus: "
                                 f"{a1 - a0} fully focused lines, {r1 - r0} range samples")
        slc = slc.with_data(slc.data.isel(azimuth=slice(a0, a1), range=slice(r0, r1)))
        slc = slc.with_data(slc.data.chunk(dict(zip(("azimuth", "range"), ctx.chunks))))
        ctx.reporter(f"focus: {role} -> {a1 - a0} x {r1 - r0} fully focused SLC")
        with _progress(ctx, f"focus: {role}"):
            store.write_scene(slc, str(ctx.run_dir / f"{role}_slc.zarr"))
    # a small marker group records that focusing finished
    write_step(ctx, "focus", xr.Dataset(attrs={"reference": str(ctx.run_dir / "reference_slc.zarr"),
                                               "secondary": str(ctx.run_dir / "secondary_slc.zarr")}), tok)
    ctx._cache.clear()
    return tok


def _focus_params(ctx: RunContext) -> dict:
    f = ctx.config.focus
    return {"doppler": f.doppler_method, "range_window": f.range_window, "azimuth_window": f.azimuth_window}


def _secondary_geometry(ref: Scene, sec: Scene):
    """The secondary's grid and orbit, in the secondary's own epoch (repeat passes are
    days apart; geo2rdr solves for the secondary's azimuth time directly)."""
    from .stages.topo import SecondaryGeometry

    dt, dr = sec.grid_spacing
    return SecondaryGeometry(sec.orbit, float(sec.azimuth_time[0]), dt, float(sec.slant_range[0]), dr)


def step_topo(ctx: RunContext) -> xr.Dataset:
    from .stages.topo import topo_grid

    ref, sec = ctx.scene("reference"), ctx.scene("secondary")
    ds = topo_grid(ref.azimuth_time, ref.slant_range, orbit=ref.orbit, wavelength_m=ref.meta.wavelength_m,
                   look_side=ref.meta.look_side, dem=_dem(ctx), doppler=None,
                   secondary=_secondary_geometry(ref, sec), chunks=ctx.chunks)
    ds.attrs.update(convention="geometric_phase = -4*pi/wavelength*(R_reference - R_secondary) (rad); "
                    "offsets: secondary pixel = reference pixel + offset; heading: ISCE los.rdr convention")
    return ds


def step_offsets(ctx: RunContext) -> xr.Dataset | None:
    cfg = ctx.config.offsets
    if cfg.method == "geometric":
        return None
    from .stages.offsets import CullParams, DenseOffsetParams, cull_offsets, dense_offsets

    ref, sec = ctx.scene("reference"), ctx.scene("secondary")
    topo = ctx.open("topo")
    params = DenseOffsetParams(window_az=cfg.window_azimuth, window_rg=cfg.window_range,
                               search_az=cfg.search_azimuth, search_rg=cfg.search_range,
                               skip_az=cfg.skip_azimuth, skip_rg=cfg.skip_range)
    # gross offset: the geometric offsets at the centre
    c = (ref.shape[0] // 2, ref.shape[1] // 2)
    gross = (int(round(float(topo["azimuth_offset"][c].values))), int(round(float(topo["range_offset"][c].values))))
    dense = dense_offsets(ref.data[ref.main_variable].data, sec.data[sec.main_variable].data, params,
                          gross_offset=gross)
    with _progress(ctx, "offsets: dense"):
        dense = dense.compute()
    # residual = dense minus geometric at the window centres
    ia = np.clip(np.rint(dense["azimuth_center"].values).astype(int), 0, ref.shape[0] - 1)
    ir = np.clip(np.rint(dense["range_center"].values).astype(int), 0, ref.shape[1] - 1)
    geo_az = topo["azimuth_offset"].values[np.ix_(ia, ir)] if cfg.method == "geometric+dense" else 0.0
    geo_rg = topo["range_offset"].values[np.ix_(ia, ir)] if cfg.method == "geometric+dense" else 0.0
    resid = dense.copy()
    resid["azimuth"] = dense["azimuth"] - geo_az
    resid["range"] = dense["range"] - geo_rg
    model, mask = cull_offsets(resid, CullParams(snr_min=cfg.snr_min, max_error_px=cfg.culling_error_limit_px,
                                                 order=cfg.fit_order))
    out = dense.assign(kept=mask, residual_azimuth=resid["azimuth"], residual_range=resid["range"])
    out.attrs.update(offset_model=model.model_dump_json(), method=cfg.method,
                     kept_fraction=float(np.mean(mask.values)))
    ctx.reporter(f"offsets: {int(mask.values.sum())} of {mask.size} windows kept after culling")
    return out


def _offset_fields(ctx: RunContext):
    topo = ctx.open("topo")
    az = topo["azimuth_offset"].data
    rg = topo["range_offset"].data
    if ctx.has("offsets") and ctx.config.offsets.method != "geometric":
        from .stages.offsets import OffsetModel, evaluate_offset_model

        off = ctx.open("offsets")
        model = OffsetModel.model_validate_json(off.attrs["offset_model"])
        maz, mrg = evaluate_offset_model(model, az.shape, chunks=az.chunks)
        if ctx.config.offsets.method == "dense":
            az, rg = maz, mrg
        else:
            az, rg = az + maz, rg + mrg
    return az.astype(np.float32), rg.astype(np.float32)


def step_resample(ctx: RunContext) -> xr.Dataset:
    from .stages.resample import ResampleParams, resample_slc

    ref, sec = ctx.scene("reference"), ctx.scene("secondary")
    az, rg = _offset_fields(ctx)
    dt, dr = sec.grid_spacing
    sec_t0 = float(sec.azimuth_time[0])
    # each task reads its secondary window (halo included) from the store itself, so no
    # neighbouring blocks are held in memory for halos: memory bounded by the chunk size
    resampled, outside = resample_slc(
        store.open_variable(ctx.scene_url("secondary"), sec.main_variable), az, rg,
        doppler_hz=sec.meta.doppler_centroid,
        secondary_grid=(sec_t0, dt, float(sec.slant_range[0]), dr),
        params=ResampleParams(n_taps=ctx.config.resample.n_taps))
    coords = {"azimuth_time": ("azimuth", ref.azimuth_time), "slant_range": ("range", ref.slant_range)}
    return xr.Dataset({"secondary": (("azimuth", "range"), resampled, {"units": "complex SLC"}),
                       "outside": (("azimuth", "range"), outside)}, coords=coords)


def looks_for(ctx: RunContext) -> tuple[int, int]:
    cfg = ctx.config
    if cfg.azimuth_looks is not None:
        return int(cfg.azimuth_looks), int(cfg.range_looks)
    ref = ctx.scene("reference")
    if cfg.posting_m is None:
        return (1, 1)
    from .stages.interferogram import ground_range_spacing, looks_from_posting

    mid = ref.orbit.interpolate(np.array([ref.azimuth_time[len(ref.azimuth_time) // 2]]))
    speed = float(np.linalg.norm(mid[1]))
    # ground speed at the scene: scale by Earth radius / orbit radius
    r_orbit = float(np.linalg.norm(mid[0]))
    ground_speed = speed * 6371e3 / r_orbit
    dt, dr = ref.grid_spacing
    topo = ctx.open("topo")
    inc = float(topo["incidence"][topo.sizes["azimuth"] // 2, topo.sizes["range"] // 2].values)
    return looks_from_posting(cfg.posting_m, ground_speed * dt, ground_range_spacing(dr, inc))


def step_interferogram(ctx: RunContext) -> xr.Dataset:
    from .stages.coherence import coherence, phase_sigma_coherence
    from .stages.interferogram import interferogram, multilook

    ref = ctx.scene("reference")
    topo = ctx.open("topo")
    res = ctx.open("resample")
    looks = looks_for(ctx)
    ref_da = ref.data[ref.main_variable]
    sec_da = res["secondary"].assign_coords(azimuth_time=ref_da["azimuth_time"], slant_range=ref_da["slant_range"])
    ds = interferogram(ref_da, sec_da, looks, geometric_phase=topo["geometric_phase"].data)
    win = tuple(ctx.config.interferogram.coherence_window)
    ds["coherence"] = (("azimuth", "range"), _data(coherence(ds["ifg"].data, ds["power_reference"].data,
                                                              ds["power_secondary"].data, win)),
                       {"long_name": "sample coherence", "isce_name": "topophase.cor", "units": "1"})
    ds["phsig"] = (("azimuth", "range"), _data(phase_sigma_coherence(ds["ifg"].data, win)),
                   {"long_name": "phase-sigma coherence", "isce_name": "phsig.cor", "units": "1"})
    for name in ("lon", "lat", "hgt", "incidence", "heading"):
        src = topo[name].data
        if name == "heading":  # average unit vectors, not angles
            rad = da.deg2rad(src.astype(np.float64))
            c, s = multilook(da.cos(rad), looks), multilook(da.sin(rad), looks)
            arr = da.rad2deg(da.arctan2(s, c)).astype(np.float32)
        else:
            arr = multilook(src.astype(np.float64), looks)
            arr = arr.astype(np.float64 if name in ("lon", "lat") else np.float32)
        ds[name] = (("azimuth", "range"), arr, dict(topo[name].attrs))
    ds.attrs.update(looks=list(looks), coherence_window=list(win),
                    wavelength_m=ref.meta.wavelength_m)
    ctx.reporter(f"interferogram: {looks[0]} x {looks[1]} looks -> {ds.sizes['azimuth']} x {ds.sizes['range']}")
    return ds


def _data(x):
    return x.data if isinstance(x, xr.DataArray) else x


def step_filter(ctx: RunContext) -> xr.Dataset | None:
    from .stages.coherence import phase_sigma_coherence
    from .stages.filter import goldstein

    cfg = ctx.config.filter
    ifg = ctx.open("interferogram")
    if cfg.enabled:
        filt = _data(goldstein(ifg["ifg"].data, alpha=cfg.strength, psize=cfg.patch_size))
    else:
        filt = ifg["ifg"].data
    win = tuple(ctx.config.interferogram.coherence_window)
    coords = {k: v for k, v in ifg.coords.items()}
    return xr.Dataset({
        "ifg": (("azimuth", "range"), filt, {"isce_name": "filt_topophase.flat", "alpha": cfg.strength}),
        "phsig": (("azimuth", "range"), _data(phase_sigma_coherence(filt, win)),
                  {"long_name": "phase-sigma coherence of the filtered interferogram", "units": "1"}),
    }, coords=coords, attrs={"alpha": cfg.strength, "patch_size": cfg.patch_size, "enabled": cfg.enabled})


def step_unwrap(ctx: RunContext) -> xr.Dataset | None:
    cfg = ctx.config.unwrap
    if not cfg.enabled:
        return None
    from .stages.unwrap import unwrap

    ifg = ctx.open("interferogram")
    filt = ctx.open("filter")
    looks = ifg.attrs["looks"]
    win = ifg.attrs["coherence_window"]
    nlooks = max(1.0, float(looks[0] * looks[1]) * 0.7)  # boxcar looks are correlated by the SLC bandwidth
    unw, cc = unwrap(filt["ifg"].data, ifg["coherence"].data, nlooks=nlooks, cost=cfg.cost,
                     tile_pixels_budget=cfg.tile_pixels, overlap=cfg.tile_overlap,
                     scratchdir=str(ctx.run_dir / "scratch"))
    wavelength = float(ifg.attrs["wavelength_m"])
    # ifg phase = -4 pi/lambda (R_ref - R_sec); motion towards the platform between the two
    # acquisitions (R_sec < R_ref) gives negative phase: d_los = -phase * lambda / (4 pi)
    disp = (-unw * (wavelength / (4.0 * np.pi))).astype(np.float32)
    coords = {k: v for k, v in ifg.coords.items()}
    return xr.Dataset({
        "unw": (("azimuth", "range"), unw.astype(np.float32), {"units": "rad", "isce_name": "filt_topophase.unw"}),
        "conncomp": (("azimuth", "range"), cc, {"long_name": "connected component", "units": "1"}),
        "los_displacement": (("azimuth", "range"), disp,
                             {"units": "m", "long_name": "line-of-sight displacement, positive towards the platform",
                              "note": "relative: unwrapped phase has an unknown constant 2*pi*k"}),
    }, coords=coords, attrs={"nlooks": nlooks, "cost": cfg.cost, "win": list(win)})


def step_geocode(ctx: RunContext) -> xr.Dataset:
    from .products import geocoded_variable
    from .geometry.grid import RadarGrid, map_grid_for
    from .stages.geocode import geocode_dataset

    cfg = ctx.config.geocode
    ref = ctx.scene("reference")
    ifg = ctx.open("interferogram")
    radar = RadarGrid.from_coords(ifg["azimuth_time"].values, ifg["slant_range"].values)
    products = {}
    attrs = {}
    for name in cfg.products:
        group, var = resolve_product(name)
        if group == "unwrap" and not ctx.has("unwrap"):
            ctx.reporter(f"geocode: {name} skipped (unwrapping is off)")
            continue
        src = ctx.open(group)
        if var not in src:
            raise ConfigError(f"geocode list: product {name!r} ({group}/{var}) does not exist")
        if src[var].shape != ifg["ifg"].shape:
            raise ConfigError(f"geocode list: {name!r} is not on the multilooked grid; geocode multilooked products")
        key = geocoded_variable(f"{group}/{var}")
        products[key] = src[var].data
        attrs[key] = dict(src[var].attrs)
    lon = ifg["lon"].values
    lat = ifg["lat"].values
    if cfg.posting is None:
        # about the multilooked ground posting
        from pyproj import CRS

        dlat = np.nanmedian(np.abs(np.diff(lat, axis=0)))
        dlon = np.nanmedian(np.abs(np.diff(lon, axis=1)))
        posting_deg = float(min(dlat, dlon * math.cos(math.radians(np.nanmean(lat)))))
        posting = posting_deg if (cfg.crs.upper() != "UTM" and CRS.from_user_input(cfg.crs).is_geographic) \
            else posting_deg * 111_320.0
    else:
        posting = cfg.posting
    grid = map_grid_for(lon, lat, posting, cfg.crs)
    out = geocode_dataset(products, radar, grid, dem=_dem(ctx), orbit=ref.orbit,
                          wavelength_m=ref.meta.wavelength_m, tile=512, attrs=attrs)
    out.attrs.update(posting=posting, crs=grid.crs)
    ctx.reporter(f"geocode: {len(products)} products on a {grid.shape[0]} x {grid.shape[1]} grid ({grid.crs}, "
                 f"posting {posting:.3g})")
    return out


def export_geotiffs(ctx: RunContext) -> list[Path]:
    """RUN/geo/<name>.tif (Cloud-Optimized unless ``geocode.cog`` is off) for every geocoded
    product; complex interferograms are written as their phase (rad), which GIS tools read."""
    from .io.export import export_geotiffs as write_all

    cfg = ctx.config.geocode
    if not ctx.has("geocode") or not (cfg.geotiff or cfg.cog):
        return []
    import rioxarray  # noqa: F401

    geo = ctx.open("geocode")
    crs = geo.attrs["crs"]
    out = xr.Dataset(coords={"y": geo["y"], "x": geo["x"]})
    for name, arr in geo.data_vars.items():
        if name == "spatial_ref" or arr.ndim != 2:
            continue
        if np.issubdtype(arr.dtype, np.complexfloating):
            out[f"{name}_phase"] = xr.apply_ufunc(np.angle, arr, dask="allowed").astype(np.float32).assign_attrs(
                units="rad", long_name=f"phase of {name}")
        else:
            out[name] = arr
    out = out.rio.write_crs(crs)
    out_dir = ctx.run_dir / "geo"
    out_dir.mkdir(parents=True, exist_ok=True)
    return write_all(out, out_dir, cog=cfg.cog)


STEP_FUNCS = {
    "topo": step_topo,
    "offsets": step_offsets,
    "resample": step_resample,
    "interferogram": step_interferogram,
    "filter": step_filter,
    "unwrap": step_unwrap,
    "geocode": step_geocode,
}

#: which earlier steps' tokens each step depends on
DEPENDS = {
    "focus": ("preprocess",),
    "verifydem": ("preprocess", "focus"),
    "topo": ("preprocess", "focus", "verifydem"),
    "offsets": ("topo",),
    "resample": ("offsets", "topo"),
    "interferogram": ("resample", "topo"),
    "filter": ("interferogram",),
    "unwrap": ("filter", "interferogram"),
    "geocode": ("unwrap", "filter", "interferogram"),
}

#: config sections each step's token covers
STEP_CONFIG = {
    "topo": ("dem", "processing"),
    "offsets": ("offsets",),
    "resample": ("resample",),
    "interferogram": ("interferogram", "posting_m", "azimuth_looks", "range_looks"),
    "filter": ("filter",),
    "unwrap": ("unwrap",),
    "geocode": ("geocode",),
}


def _remove_stale_temporaries(ctx: RunContext) -> None:
    """Temporary step groups left by a run that was killed are never products: remove them."""
    fs, path = store.url_to_fs(ctx.products_url)
    if not fs.exists(path):
        return
    for p in fs.ls(path, detail=False):
        name = p.rstrip("/").rsplit("/", 1)[-1]
        if name.startswith(".") and ".tmp-" in name:
            fs.rm(p, recursive=True)


def select_steps(start: str | None = None, end: str | None = None, dostep: str | None = None) -> list[str]:
    for s in (start, end, dostep):
        if s is not None and s not in STEPS:
            import difflib

            close = difflib.get_close_matches(s, STEPS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"unknown step {s!r}{hint} (steps: {', '.join(STEPS)})")
    if dostep:
        return [dostep]
    i0 = STEPS.index(start) if start else 0
    i1 = STEPS.index(end) if end else len(STEPS) - 1
    return list(STEPS[i0 : i1 + 1])


def run(config: RunConfig, *, start: str | None = None, end: str | None = None, dostep: str | None = None,
        progress: bool = True, reporter: Callable[[str], None] = print) -> dict:
    """Run the pipeline (on whatever dask scheduler is active). Returns {step: status}."""
    run_dir = Path(config.output)
    run_dir.mkdir(parents=True, exist_ok=True)
    ctx = RunContext(config, run_dir, progress=progress, reporter=reporter)
    _remove_stale_temporaries(ctx)
    tokens: dict[str, str | None] = {}
    status: dict[str, str] = {}
    selected = select_steps(start, end, dostep)
    for step in STEPS:
        t0 = time.perf_counter()
        upstream = [tokens.get(d) for d in DEPENDS.get(step, ())]
        if step == "preprocess":
            if step in selected:
                tokens[step] = step_preprocess(ctx)
                status[step] = "done"
            else:
                tokens[step] = _token("preprocess", config.reference.model_dump(), config.secondary.model_dump(),
                                      config.processing.model_dump())
            continue
        if step == "verifydem":
            tokens[step] = step_verifydem(ctx) if step in selected else _token("verifydem", config.dem.model_dump())
            status[step] = "done" if step in selected else "not selected"
            continue
        if step == "focus":
            if step in selected or ctx.has("focus"):
                stored = step_token(ctx, "focus")
                want = _token("focus", config.focus.model_dump())
                if stored == want:
                    tokens[step] = want
                    status[step] = "up to date"
                elif step in selected:
                    tokens[step] = step_focus(ctx)
                    status[step] = "done" if tokens[step] else "skipped (SLC input)"
            else:
                tokens[step] = None
            continue
        cfg_parts = [getattr(config, k) if not hasattr(getattr(config, k), "model_dump")
                     else getattr(config, k).model_dump() for k in STEP_CONFIG[step]]
        want = _token(step, cfg_parts, upstream)
        stored = step_token(ctx, step)
        if stored == want:
            tokens[step] = want
            status[step] = "up to date"
            reporter(f"{step}: up to date, not recomputed")
            if step == "geocode" and step in selected and not (run_dir / "geo").exists():
                export_geotiffs(ctx)
            continue
        if step not in selected:
            tokens[step] = stored
            status[step] = "not selected"
            continue
        ds = STEP_FUNCS[step](ctx)
        if ds is None:
            tokens[step] = None
            status[step] = "skipped"
            reporter(f"{step}: skipped")
            # a stale product of an earlier configuration must not be mistaken for this one
            if ctx.has(step):
                store.remove(ctx.group_url(step))
            continue
        ds.attrs["daskinsar_config"] = config.model_dump_json()
        write_step(ctx, step, ds, want)
        tokens[step] = want
        status[step] = "done"
        reporter(f"{step}: done in {time.perf_counter() - t0:.1f} s")
        if step == "geocode":
            files = export_geotiffs(ctx)
            if files:
                reporter(f"geocode: wrote {len(files)} GeoTIFFs to {run_dir / 'geo'}")
    # the configuration that made the products, written once the run has finished
    tmp = run_dir / ".config.json.tmp"
    tmp.write_text(config.model_dump_json(indent=2))
    os.replace(tmp, run_dir / "config.json")
    return status
