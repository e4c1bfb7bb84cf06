"""Run configuration: :class:`RunConfig` and its loaders (YAML / JSON, ISCE ``insarApp.xml``).

A run configuration is the inputs plus one section per stage, and each section *is*
that stage's parameter model (``focus`` is :class:`~daskinsar.stages.focus.FocusParams`,
``unwrap`` is :class:`~daskinsar.stages.unwrap.UnwrapParams`, ...): one name, one default
and one description (with its unit) per setting. Every model is strict: an unknown key
is an error that names the key and suggests the nearest valid one.

YAML example (all sections but ``reference``, ``secondary`` and ``dem`` optional)::

    reference: {path: ref.zarr}
    secondary: {path: sec.zarr}
    dem: {path: dem.tif}
    output: run1
    interferogram: {posting_m: 40}
    filter: {strength: 0.5}
    unwrap: {cost: defo}
    geocode: {products: [filt_topophase.unw, topophase.cor, los_displacement]}
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from .errors import ConfigError
from .io.dem import DemInput
from .isce_xml import insarapp_to_dict
from .params import Params
from .stages.baseline import BaselineParams
from .stages.chunking import ChunkParams
from .stages.common_band import CommonBandParams
from .stages.esd import EsdParams
from .stages.filter import FilterParams
from .stages.focus import FocusParams
from .stages.geocode import GeocodeParams
from .stages.interferogram import InterferogramParams
from .stages.ionosphere import IonosphereParams
from .stages.layover import LayoverParams
from .stages.offsets import OffsetParams
from .stages.resample import ResampleParams
from .stages.topo import TopoParams
from .stages.unwrap import UnwrapParams
from .stages.water import WaterMaskParams

__all__ = ["RunConfig", "SceneInput", "DemInput", "load_config", "validate_config", "STAGE_SECTIONS"]


def _map_paths(fix, path: str | list[str]) -> str | list[str]:
    return [fix(p) for p in path] if isinstance(path, list) else fix(path)


class SceneInput(Params):
    """One input scene."""

    path: str | list[str] = Field(description="sensor product (file/folder/zip) or a daskinsar scene store "
                                              "(.zarr); a list: consecutive frames of one pass, joined along "
                                              "track (ISCE's multi-frame inputs)")
    sensor: str | None = Field(None, description="reader name (see `daskinsar ingest --list-sensors`); None: detect")
    options: dict[str, Any] = Field(default_factory=dict, description="reader options, e.g. polarization, swath")

    @field_validator("path")
    @classmethod
    def _frames(cls, v):
        if isinstance(v, list) and not v:
            raise ValueError("an empty list of frames")
        return v

    @property
    def paths(self) -> list[str]:
        """The input's files: one, or its frames."""
        return list(self.path) if isinstance(self.path, list) else [self.path]

    @property
    def label(self) -> str:
        """The input as messages name it."""
        return " + ".join(self.paths)


class RunConfig(Params):
    """A whole InSAR run: the inputs, the run folder and one section per stage."""

    reference: SceneInput = Field(description="the reference (earlier, 'master') acquisition")
    secondary: SceneInput = Field(description="the secondary (later, 'slave') acquisition")
    dem: DemInput = Field(default_factory=DemInput, description="the DEM used by verifydem, topo and geocode")
    water_mask: WaterMaskParams = Field(default_factory=WaterMaskParams,
                                        description="a water mask raster: its water is invalid for the unwrapper")
    output: str = Field("insar_run", description="run folder (products.zarr, geo/, quicklook/)")
    processing: ChunkParams = Field(default_factory=ChunkParams, description="chunking of the run's arrays")
    focus: FocusParams = Field(default_factory=FocusParams, description="focusing of raw inputs")
    topo: TopoParams = Field(default_factory=TopoParams, description="per-pixel geometry of the reference grid")
    baseline: BaselineParams = Field(default_factory=BaselineParams,
                                     description="perpendicular and parallel baselines on a coarse grid")
    layover: LayoverParams = Field(default_factory=LayoverParams,
                                   description="layover/shadow mask of the reference grid")
    offsets: OffsetParams = Field(default_factory=OffsetParams, description="coregistration offsets")
    resample: ResampleParams = Field(default_factory=ResampleParams,
                                     description="resampling of the secondary SLC onto the reference grid")
    esd: EsdParams = Field(default_factory=EsdParams, description="enhanced spectral diversity (TOPS pairs): "
                                                                  "residual azimuth misregistration from burst overlaps")
    commonband: CommonBandParams = Field(default_factory=CommonBandParams,
                                         description="range and azimuth common-band filtering")
    interferogram: InterferogramParams = Field(default_factory=InterferogramParams,
                                               description="interferogram formation, looks and coherence")
    filter: FilterParams = Field(default_factory=FilterParams, description="Goldstein-Werner filter")
    unwrap: UnwrapParams = Field(default_factory=UnwrapParams, description="phase unwrapping (SNAPHU)")
    ionosphere: IonosphereParams = Field(default_factory=IonosphereParams,
                                         description="split-spectrum ionosphere estimate and correction")
    geocode: GeocodeParams = Field(default_factory=GeocodeParams, description="geocoding and GeoTIFF export")

    def resolve_paths(self, base: str | os.PathLike) -> "RunConfig":
        """Relative input/output paths taken relative to ``base`` (the config file's folder)."""
        root = Path(base)

        def fix(p: str) -> str:
            return p if ("://" in p or os.path.isabs(p)) else str((root / p).resolve())

        return self.model_copy(update={
            "reference": self.reference.model_copy(update={"path": _map_paths(fix, self.reference.path)}),
            "secondary": self.secondary.model_copy(update={"path": _map_paths(fix, self.secondary.path)}),
            "dem": self.dem.model_copy(update={"path": fix(self.dem.path) if self.dem.path else None}),
            "water_mask": self.water_mask.model_copy(
                update={"path": fix(self.water_mask.path) if self.water_mask.path else None}),
            "output": fix(self.output)})


#: run-configuration section -> the stage parameter model it is
STAGE_SECTIONS: dict[str, type[Params]] = {
    name: field.annotation for name, field in RunConfig.model_fields.items()
    if isinstance(field.annotation, type) and issubclass(field.annotation, Params)
    and field.annotation not in (SceneInput, DemInput)
}


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


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (YAML would keep the last)."""


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"key {key!r} given twice (line "
                                                    f"{seen[key] + 1} and line {key_node.start_mark.line + 1})",
                                                    key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_yaml(path: Path) -> dict:
    """A YAML/JSON file's top-level mapping; a clear ConfigError for anything else."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); a configuration is a YAML or JSON file") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a run configuration") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    n = _expanded_size(data, {})
    if n > MAX_CONFIG_VALUES:
        raise ConfigError(f"{path}: expands to {n:.3g} values through YAML aliases (*name); a run configuration "
                          f"holds at most {MAX_CONFIG_VALUES}")
    return data


#: the most values (mapping entries and list items, aliases counted each time they are used) a configuration holds
MAX_CONFIG_VALUES = 100_000


def _expanded_size(obj, memo: dict) -> int:
    """Values in ``obj`` with every YAML alias expanded (each shared object counted once per use, computed
    once: an alias bomb costs its number of anchors, not its expansion)."""
    key = id(obj)
    if key in memo:
        return memo[key]
    if isinstance(obj, dict):
        n = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in obj.items())
    elif isinstance(obj, (list, tuple)):
        n = 1 + sum(_expanded_size(v, memo) for v in obj)
    else:
        return 1
    memo[key] = n
    return n


def load_config(path: str | os.PathLike) -> RunConfig:
    """Load a run configuration from YAML (.yaml/.yml/.json) or ISCE insarApp XML (.xml)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: configuration file not found")
    data = insarapp_to_dict(path) if path.suffix.lower() == ".xml" else load_yaml(path)
    return validate_config(data, str(path)).resolve_paths(path.parent)
