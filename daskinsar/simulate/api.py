"""``simulate_pair``: write a simulated interferometric pair and its truth to a directory.

Output (``DIR``):

- ``reference.zarr``, ``secondary.zarr``: SLC scene stores (:func:`daskinsar.io.store.write_scene`;
  ``RadarMetadata(level="slc", grid="zero_doppler", sensor="SIMULATED")``, variable ``slc``);
- with ``level="raw"`` also ``reference_raw.zarr``, ``secondary_raw.zarr``: raw echo stores
  (``level="raw"``, variable ``raw``) that :func:`daskinsar.stages.focus.focus` turns back into the
  SLCs (:func:`daskinsar.simulate.raw.slc_to_raw`; the SLC grid's place in the raw/focused grid is in
  ``meta.extra["raw_simulation"]`` and in ``simulation.json``);
- ``truth.zarr``: truth on the reference radar grid (see :data:`TRUTH_DOC` and
  :mod:`daskinsar.simulate.slc` for the signal model and sign conventions);
- ``dem.tif``: the DEM (float32 GeoTIFF, EPSG:4326, heights above the WGS84 ellipsoid);
- ``simulation.json``: the configuration plus derived facts (baseline, grids, point targets).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, InputFileError
from .presets import PRESETS, SimulationConfig, preset
from .slc import TRUTH_FIELDS, PairModel, build_pair_model, reference_block, secondary_block, truth_block

#: description and units of the truth variables (stored as each variable's attrs)
TRUTH_DOC = {
    "hgt": ("m", "ellipsoidal height of the ground point of each reference pixel"),
    "lon": ("deg", "longitude of the ground point"),
    "lat": ("deg", "latitude of the ground point"),
    "los_displacement": ("m", "line-of-sight displacement between the passes, positive towards the platform "
                              "(range decrease)"),
    "coherence": ("1", "true coherence gamma of the pair"),
    "flat_topo_phase": ("rad", "-4 pi / wavelength * (R_reference - R_secondary(X)): the interferogram phase of "
                               "the geometry (flat earth + topography)"),
    "deformation_phase": ("rad", "-4 pi / wavelength * los_displacement: its interferogram phase"),
    "tropo_phase": ("rad", "differential tropospheric phase in the interferogram"),
    "range_offset": ("pixels", "secondary range pixel minus reference range pixel of the same ground point"),
    "azimuth_offset": ("pixels", "secondary azimuth line minus reference azimuth line of the same ground point"),
    "incidence": ("deg", "angle between the ellipsoid normal and the line of sight at the ground point"),
    "heading": ("deg", "azimuth of the ground-to-platform LOS, from north, anticlockwise"),
    "los_e": ("1", "east component of the ground-to-reference-platform unit vector"),
    "los_n": ("1", "north component of the ground-to-reference-platform unit vector"),
    "los_u": ("1", "up component of the ground-to-reference-platform unit vector"),
}

SIGN_CONVENTION = ("SLC phase = -4 pi R / wavelength; interferogram = reference * conj(secondary); "
                   "arg(ifg) = flat_topo_phase + deformation_phase + tropo_phase (+ noise of coherence gamma); "
                   "deformation_phase = -4 pi / wavelength * los_displacement; los_displacement > 0 towards "
                   "the platform, i.e. los_displacement = -wavelength / (4 pi) * unwrapped deformation phase")


@dataclass
class SimulationResult:
    """Paths written by :func:`simulate_pair` and the model that made them."""

    out_dir: str
    reference: str
    secondary: str
    truth: str
    dem: str
    config_json: str
    model: PairModel
    reference_raw: str | None = None
    secondary_raw: str | None = None


def load_config(config) -> SimulationConfig:
    """A :class:`SimulationConfig` from a preset name, a dict, a config object or a JSON/YAML/TOML file
    (optionally ``{"preset": NAME, ...overrides}``)."""
    if isinstance(config, SimulationConfig):
        return config
    if isinstance(config, (str, os.PathLike)) and str(config) in PRESETS:
        return preset(str(config))
    if isinstance(config, (str, os.PathLike)):
        path = Path(config)
        if not path.is_file():
            raise ConfigError(f"{config}: not a simulation preset ({', '.join(sorted(PRESETS))}) nor a config file")
        text = path.read_text()
        try:
            if path.suffix.lower() in (".yaml", ".yml"):
                import yaml

                data = yaml.safe_load(text)
            elif path.suffix.lower() == ".toml":
                import tomllib

                data = tomllib.loads(text)
            else:
                data = json.loads(text)
        except Exception as exc:
            raise InputFileError(path, "a simulation config (JSON, YAML or TOML)", str(exc).splitlines()[0]) from None
        if not isinstance(data, dict):
            raise InputFileError(path, "a mapping of simulation settings", type(data).__name__)
        config = data
    if isinstance(config, dict):
        data = dict(config)
        name = data.pop("preset", None)
        if name is not None:
            base = preset(name).model_dump()
            base.update(data)
            data = base
        try:
            return SimulationConfig.model_validate(data, strict=False)
        except Exception as exc:
            raise ConfigError(f"invalid simulation config: {exc}") from None
    raise ConfigError(f"cannot make a simulation config from {type(config).__name__}")


def _chunks2(chunks) -> tuple[int, int]:
    if isinstance(chunks, int):
        return chunks, chunks
    a, b = chunks
    return int(a), int(b)


def _token(cfg: SimulationConfig, *extra) -> str:
    h = hashlib.sha1(cfg.model_dump_json().encode())
    for e in extra:
        h.update(repr(e).encode())
    return h.hexdigest()[:12]


def _block_array(kernel, model, shape, chunks, dtype, name, n_fields: int | None = None):
    """A dask array whose block at pixels [r0, r1) x [c0, c1) is ``kernel(model, r0, r1, c0, c1)``."""
    import dask.array as da

    dummy = da.zeros(shape, chunks=chunks, dtype=np.int8)

    def fn(x, block_info=None):
        (r0, r1), (c0, c1) = block_info[0]["array-location"]
        return kernel(model, r0, r1, c0, c1)

    if n_fields is None:
        return da.map_blocks(fn, dummy, dtype=dtype, name=name, meta=np.empty((0, 0), dtype))
    return da.map_blocks(fn, dummy, dtype=dtype, name=name, new_axis=0, chunks=((n_fields,),) + dummy.chunks,
                         meta=np.empty((0, 0, 0), dtype))


def _metadata(model: PairModel, which: str):
    from ..scene import Chirp, RadarMetadata

    cfg = model.config
    grid = model.ref_grid if which == "reference" else model.sec_grid
    orbit = model.ref_orbit if which == "reference" else model.sec_orbit
    v = float(np.linalg.norm(orbit.interpolate(np.array([grid.azimuth_time(grid.n_az // 2)]))[1]))
    meta = RadarMetadata(
        sensor="SIMULATED", platform=f"simulated ({cfg.name})", mode="stripmap", polarization="HH", level="slc",
        epoch=model.ref_epoch if which == "reference" else model.sec_epoch, wavelength_m=cfg.wavelength_m,
        prf_hz=1.0 / grid.dt_s, range_sampling_rate_hz=cfg.range_sampling_rate_hz, azimuth_line_interval_s=grid.dt_s,
        range_pixel_spacing_m=grid.dr_m, look_side=cfg.look_side,
        grid="native_doppler" if cfg.grid_doppler is not None else "zero_doppler",
        **({"grid_doppler": cfg.grid_doppler} if cfg.grid_doppler is not None else {}),
        chirp=Chirp(slope_hz_per_s=cfg.chirp_bandwidth_hz / cfg.chirp_duration_s, duration_s=cfg.chirp_duration_s),
        range_bandwidth_hz=model.frac_rg * cfg.range_sampling_rate_hz,
        azimuth_bandwidth_hz=model.frac_az / grid.dt_s, platform_velocity_mps=v,
        extra={"simulation": cfg.name, "role": which, "seed": cfg.seed,
               "antenna_length_m": cfg.antenna_length_m, "sign_convention": SIGN_CONVENTION},
    )
    if model.spectra is not None:  # per-scene spectra: each scene's own band, sampling and Doppler
        from .spectra import scene_metadata

        meta = meta.model_copy(update=scene_metadata(model, which))
    return meta


def _slc_scene(model: PairModel, which: str, chunks=1024):
    """One pass's SLC (``which`` = "reference" or "secondary") as a lazy :class:`~daskinsar.scene.Scene`."""
    from ..io.store import scene_from_arrays

    grid, orbit, kernel = ((model.ref_grid, model.ref_orbit, reference_block) if which == "reference"
                           else (model.sec_grid, model.sec_orbit, secondary_block))
    arr = _block_array(kernel, model, (grid.n_az, grid.n_rg), _chunks2(chunks), np.complex64,
                       f"simulate-{which}-slc-{_token(model.config, chunks)}")
    return scene_from_arrays(_metadata(model, which), orbit, grid.azimuth_time(), grid.slant_range(), slc=arr)


def reference_scene(model: PairModel, chunks=1024):
    """The reference SLC as a lazy :class:`~daskinsar.scene.Scene`."""
    return _slc_scene(model, "reference", chunks)


def secondary_scene(model: PairModel, chunks=1024):
    """The secondary SLC as a lazy :class:`~daskinsar.scene.Scene`."""
    return _slc_scene(model, "secondary", chunks)


def truth_dataset(model: PairModel, chunks=1024):
    """The truth on the reference grid as a lazy ``xarray.Dataset`` (see :data:`TRUTH_DOC`)."""
    import xarray as xr

    g = model.ref_grid
    stack = _block_array(truth_block, model, (g.n_az, g.n_rg), _chunks2(chunks), np.float64,
                         f"simulate-truth-{_token(model.config, chunks)}", n_fields=len(TRUTH_FIELDS))
    data = {}
    for k, name in enumerate(TRUTH_FIELDS):
        v = stack[k]
        if name not in ("lon", "lat"):
            v = v.astype(np.float32)
        units, desc = TRUTH_DOC[name]
        data[name] = (("azimuth", "range"), v, {"units": units, "description": desc})
    if model.spectra is not None:
        from .spectra import SPECTRAL_TRUTH_DOC, spectral_truth_block

        extra = _block_array(spectral_truth_block, model, (g.n_az, g.n_rg), _chunks2(chunks), np.float64,
                             f"simulate-truth-spectra-{_token(model.config, chunks)}", n_fields=len(SPECTRAL_TRUTH_DOC))
        for k, (name, (units, desc)) in enumerate(SPECTRAL_TRUTH_DOC.items()):
            data[name] = (("azimuth", "range"), extra[k].astype(np.float32), {"units": units, "description": desc})
    ds = xr.Dataset(data, coords={"azimuth_time": ("azimuth", g.azimuth_time()),
                                  "slant_range": ("range", g.slant_range())})
    ds.attrs = {
        "sign_convention": SIGN_CONVENTION,
        "wavelength_m": model.wavelength_m,
        "reference_epoch": model.ref_epoch,
        "secondary_epoch": model.sec_epoch,
        "secondary_grid": json.dumps(model.sec_grid.__dict__, default=float),
        "reference_grid": json.dumps(model.ref_grid.__dict__, default=float),
        "baseline": json.dumps(model.baseline),
        "point_targets": json.dumps([t.as_dict() for t in model.targets]),
        "config": model.config.model_dump_json(),
    }
    return ds


def simulate_pair(config="demo", out_dir="simulated", chunks=1024, *, scheduler: str | None = "threads",
                  level: str = "slc", raw_options: dict | None = None):
    """Simulate a pair from a config (object, dict, file or preset name) into ``out_dir``.

    ``chunks``: dask/Zarr chunk edge (int) or (azimuth, range); the bytes written do not
    depend on it. ``scheduler``: dask scheduler for the writes (None: dask's current one).
    ``level``: "slc" (SLC stores and truth) or "raw" (also the raw echoes of both SLCs, see
    :func:`daskinsar.simulate.raw.slc_to_raw`, with keyword arguments ``raw_options``).
    Returns a :class:`SimulationResult`.
    """
    import contextlib

    import dask

    from ..io.dem import write_dem_geotiff
    from ..io.store import atomic_store, write_dataset, write_scene

    if level not in ("slc", "raw"):
        raise ConfigError(f"simulation level must be 'slc' or 'raw', got {level!r}")
    cfg = load_config(config)
    if level == "raw" and cfg.platform != "satellite":
        raise ConfigError(f"simulation level 'raw' needs platform 'satellite' (raw echoes of the airborne "
                          f"platform {cfg.platform!r} are not simulated); use level 'slc'")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = build_pair_model(cfg)
    dem_path = str(out / "dem.tif")
    d = model.dem
    write_dem_geotiff(d.heights_m.astype(np.float32), d.lon0_deg, d.lat0_deg, d.dlon_deg, d.dlat_deg, dem_path)
    ctx = dask.config.set(scheduler=scheduler) if scheduler else contextlib.nullcontext()
    with ctx:
        ref = write_scene(reference_scene(model, chunks), str(out / "reference.zarr"))
        sec = write_scene(secondary_scene(model, chunks), str(out / "secondary.zarr"))
        truth_url = str(out / "truth.zarr")
        with atomic_store(truth_url) as tmp:
            write_dataset(truth_dataset(model, chunks), tmp, mode="w-")
        raw_urls, raw_info = {}, {}
        if level == "raw":
            from ..io.store import open_scene
            from .raw import slc_to_raw

            for role, url in (("reference", ref), ("secondary", sec)):
                raw = slc_to_raw(open_scene(url), **(raw_options or {}))
                raw = raw.with_data(raw.data.chunk({"azimuth": _chunks2(chunks)[0], "range": -1}))
                raw_urls[role] = write_scene(raw, str(out / f"{role}_raw.zarr"))
                raw_info[role] = {"path": f"{role}_raw.zarr", "shape": list(raw.shape),
                                  **raw.meta.extra["raw_simulation"]}
    info = {"config": json.loads(cfg.model_dump_json()), "baseline": model.baseline,
            "reference_grid": model.ref_grid.__dict__, "secondary_grid": model.sec_grid.__dict__,
            "reference_epoch": model.ref_epoch, "secondary_epoch": model.sec_epoch,
            "dem": {"path": "dem.tif", "shape": list(d.heights_m.shape), "lon0_deg": d.lon0_deg,
                    "lat0_deg": d.lat0_deg, "dlon_deg": d.dlon_deg, "dlat_deg": d.dlat_deg,
                    "interpolation": d.method, "min_m": float(d.heights_m.min()), "max_m": float(d.heights_m.max())},
            "point_targets": [t.as_dict() for t in model.targets], "sign_convention": SIGN_CONVENTION,
            "level": level}
    if raw_info:
        info["raw"] = raw_info
    cfg_path = out / "simulation.json"
    cfg_path.write_text(json.dumps(info, indent=2, default=float))
    return SimulationResult(str(out), ref, sec, truth_url, dem_path, str(cfg_path), model,
                            raw_urls.get("reference"), raw_urls.get("secondary"))
