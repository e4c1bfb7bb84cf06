"""Run configuration: pydantic models, the YAML loader and ISCE ``insarApp.xml`` translation.

A run is described by :class:`RunConfig`. Every model is strict: an unknown key is
an error that names the key and suggests the nearest valid one. Units are in the
field names or descriptions.

YAML example (all sections but ``reference``, ``secondary`` and ``dem`` optional)::

    reference: {path: ref.zarr}
    secondary: {path: sec.zarr}
    dem: {path: dem.tif}
    output: run1
    posting_m: 40
    filter: {strength: 0.5}
    unwrap: {enabled: true, cost: defo}
    geocode: {products: [filt_topophase.unw, topophase.cor, los_displacement]}
"""

from __future__ import annotations

import difflib
import os
import re
import warnings
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SceneInput(_Strict):
    """One input scene."""

    path: str = Field(description="sensor product (file/folder/zip) or a daskinsar scene store (.zarr)")
    sensor: str | None = Field(None, description="reader name (see `daskinsar ingest --list-sensors`); None: detect")
    options: dict[str, Any] = Field(default_factory=dict, description="reader options, e.g. polarization, swath")


class DemInput(_Strict):
    path: str = Field(description="DEM GeoTIFF (heights above the WGS84 ellipsoid, m)")
    interpolation: Literal["nearest", "bilinear", "bicubic", "biquintic"] = Field(
        "biquintic", description="DEM interpolation (biquintic = ISCE's default)")


class FocusConfig(_Strict):
    """Focusing of raw inputs (ignored for SLC inputs)."""

    doppler_method: Literal["data", "attitude", "metadata", "zero"] = Field(
        "data", description="Doppler centroid: estimated from the echoes (ISCE useDOPIQ), from orbit + attitude, "
                            "the product's metadata, or zero")
    range_window: Literal["rect", "kaiser", "hamming"] = Field(
        "rect", description="window on the range spectrum when focusing")
    azimuth_window: Literal["rect", "kaiser", "hamming"] = Field(
        "rect", description="window on the azimuth spectrum when focusing")


class OffsetsConfig(_Strict):
    """Coregistration: geometric offsets from the DEM, optionally refined by dense offsets (ampcor)."""

    method: Literal["geometric", "geometric+dense", "dense"] = Field(
        "geometric", description="geometric (DEM + orbits), + a dense-offset residual fit, or dense offsets only")
    window_azimuth: int = Field(64, ge=8, description="dense-offset correlation window, azimuth (SLC lines)")
    window_range: int = Field(64, ge=8, description="dense-offset correlation window, range (SLC pixels)")
    search_azimuth: int = Field(20, ge=1, description="dense-offset search half-width, azimuth (lines)")
    search_range: int = Field(20, ge=1, description="dense-offset search half-width, range (pixels)")
    skip_azimuth: int = Field(128, ge=1, description="spacing of the dense-offset windows, azimuth (lines)")
    skip_range: int = Field(128, ge=1, description="spacing of the dense-offset windows, range (pixels)")
    snr_min: float = Field(5.0, ge=0, description="windows with a correlation SNR below this are dropped before the fit")
    culling_error_limit_px: float = Field(0.5, gt=0, description="ISCE's 'Culling error limit' (pixels)")
    fit_order: int = Field(1, ge=0, le=3, description="polynomial order of the offset-residual fit (azimuth, range)")


class ResampleConfig(_Strict):
    n_taps: int = Field(12, ge=8, le=32, description="sinc taps per axis (even)")


class InterferogramConfig(_Strict):
    coherence_window: tuple[int, int] = Field((5, 5), description="(azimuth, range) window on the multilooked grid")


class FilterConfig(_Strict):
    strength: float = Field(0.5, ge=0.0, le=1.0, description="Goldstein-Werner alpha ('filter strength')")
    patch_size: int = Field(32, ge=8, description="Goldstein filter FFT patch (pixels of the multilooked grid)")
    enabled: bool = Field(True, description="false: filt_topophase.flat is the unfiltered interferogram")


class UnwrapConfig(_Strict):
    enabled: bool = Field(True, description="false: stop after the filter (no unw, no LOS displacement)")
    unwrapper: Literal["snaphu", "snaphu_mcf"] = Field("snaphu_mcf", description="ISCE 'unwrapper name'")
    cost: Literal["defo", "smooth"] = Field(
        "defo", description="SNAPHU statistical cost mode (defo: deformation, smooth: topography-like)")
    tile_pixels: int = Field(4_000_000, ge=10_000, description="above this many pixels, unwrap in tiles")
    tile_overlap: int = Field(64, ge=8, description="overlap between unwrapping tiles (pixels)")


class GeocodeConfig(_Strict):
    products: list[str] = Field(
        default_factory=lambda: ["filt_topophase.unw", "topophase.cor", "phsig.cor", "los_displacement",
                                 "topophase.flat", "filt_topophase.flat"],
        description="products to geocode (ISCE or daskinsar names)")
    crs: str = Field("EPSG:4326", description="EPSG:4326, 'UTM' (zone of the scene centre) or any EPSG code")
    posting: float | None = Field(None, gt=0, description="output posting (deg for EPSG:4326, m otherwise); "
                                                          "None: about the multilooked posting")
    geotiff: bool = Field(True, description="also write RUN/geo/<name>.tif")
    cog: bool = Field(True, description="write the GeoTIFFs as Cloud-Optimised GeoTIFFs")


class ProcessingConfig(_Strict):
    chunk_azimuth: int = Field(1024, ge=64, description="dask/Zarr chunk height of full-resolution arrays (lines)")
    chunk_range: int = Field(1024, ge=64, description="dask/Zarr chunk width of full-resolution arrays (pixels)")


class RunConfig(_Strict):
    """A whole InSAR run."""

    reference: SceneInput = Field(description="the reference (earlier, 'master') acquisition")
    secondary: SceneInput = Field(description="the secondary (later, 'slave') acquisition")
    dem: DemInput = Field(description="the DEM used by topo, verifydem and geocode")
    output: str = Field("insar_run", description="run folder (products.zarr, geo/, quicklook/)")
    posting_m: float | None = Field(None, gt=0, description="multilooked posting (m) as insarApp's 'posting'")
    azimuth_looks: int | None = Field(
        None, ge=1, description="looks in azimuth of the interferogram; give with range_looks (they override posting_m)")
    range_looks: int | None = Field(
        None, ge=1, description="looks in range of the interferogram; give with azimuth_looks (they override posting_m)")
    focus: FocusConfig = Field(default_factory=FocusConfig)
    offsets: OffsetsConfig = Field(default_factory=OffsetsConfig)
    resample: ResampleConfig = Field(default_factory=ResampleConfig,
                                     description="resampling of the secondary SLC onto the reference grid")
    interferogram: InterferogramConfig = Field(default_factory=InterferogramConfig,
                                               description="interferogram formation and coherence")
    filter: FilterConfig = Field(default_factory=FilterConfig)
    unwrap: UnwrapConfig = Field(default_factory=UnwrapConfig)
    geocode: GeocodeConfig = Field(default_factory=GeocodeConfig)
    processing: ProcessingConfig = Field(default_factory=ProcessingConfig)

    @model_validator(mode="after")
    def _looks_or_posting(self):
        if (self.azimuth_looks is None) != (self.range_looks is None):
            raise ValueError("give both azimuth_looks and range_looks, or neither (then posting_m decides)")
        return self

    def resolve_paths(self, base: str | os.PathLike) -> "RunConfig":
        """Relative input/output paths taken relative to ``base`` (the config file's folder)."""
        base = Path(base)

        def fix(p: str) -> str:
            return p if ("://" in p or os.path.isabs(p)) else str((base / p).resolve())

        data = self.model_dump()
        data["reference"]["path"] = fix(data["reference"]["path"])
        data["secondary"]["path"] = fix(data["secondary"]["path"])
        data["dem"]["path"] = fix(data["dem"]["path"])
        data["output"] = fix(data["output"])
        return RunConfig.model_validate(data)


# ---------------------------------------------------------------------------------------------
def _nearest_key(model: type[BaseModel], loc: tuple) -> str:
    """For an 'extra_forbidden' error at ``loc``, suggest the closest valid key."""
    m: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = m.model_fields.get(part) if hasattr(m, "model_fields") else None
        if field is None:
            return ""
        ann = field.annotation
        m = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
        if m is None:
            return ""
    if m is None or not hasattr(m, "model_fields"):
        return ""
    close = difflib.get_close_matches(str(loc[-1]), list(m.model_fields), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(m.model_fields)}"


def format_validation_error(err: ValidationError, source: str, model: type[BaseModel] = RunConfig) -> str:
    msgs = []
    for e in err.errors():
        loc = tuple(e["loc"])
        where = ".".join(str(p) for p in loc) or "(top level)"
        if e["type"] == "extra_forbidden":
            msgs.append(f"unknown key {where!r}{_nearest_key(model, loc)}")
        else:
            msgs.append(f"{where}: {e['msg']}")
    return f"{source}: invalid configuration: " + "; ".join(msgs)


def validate_config(data: dict, source: str) -> RunConfig:
    try:
        return RunConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, source)) from None


def load_config(path: str | os.PathLike) -> RunConfig:
    """Load a run configuration from YAML (.yaml/.yml/.json) or ISCE insarApp XML (.xml)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: configuration file not found")
    if path.suffix.lower() == ".xml":
        from .isce_xml import load_insarapp_xml

        cfg = load_insarapp_xml(path)
    else:
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of settings at the top level")
        cfg = validate_config(data, str(path))
    return cfg.resolve_paths(path.parent)
