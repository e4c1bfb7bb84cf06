"""The radar scene: an xarray.Dataset on an (azimuth, range) grid plus validated metadata.

Conventions (stated once, used everywhere):

- dims ``azimuth`` x ``range``; coordinates ``azimuth_time`` (float64 s since
  ``RadarMetadata.epoch``, UTC) and ``slant_range`` (float64 m, one-way);
- data variables are complex64 (``raw`` echoes or ``slc``) or real products;
- SLC phase convention: a target at slant range R contributes phase
  ``-4*pi*R/wavelength``; interferogram = reference * conj(secondary);
- Doppler centroid in Hz as a function of (azimuth time s, slant range m);
- ``look_side`` is "left" or "right" of the flight direction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union

import numpy as np
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .geometry.ellipsoid import SPEED_OF_LIGHT
from .geometry.geo2rdr import evaluate_doppler
from .geometry.grid import RadarGrid
from .geometry.orbit import Orbit


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Poly1D(_Model):
    """A polynomial ``sum_k coeffs[k] * ((x - reference) / scale)**k``."""

    kind: Literal["poly1d"] = "poly1d"
    reference: float = 0.0
    scale: float = 1.0
    coeffs: list[float] = Field(default_factory=lambda: [0.0])
    variable: Literal["slant_range", "range_time"] = "slant_range"

    def __call__(self, azimuth_time_s, slant_range_m):
        x = slant_range_m if self.variable == "slant_range" else 2.0 * np.asarray(slant_range_m) / SPEED_OF_LIGHT
        u = (np.asarray(x, dtype=np.float64) - self.reference) / self.scale
        out = np.zeros(np.broadcast(u, np.asarray(azimuth_time_s)).shape)
        for c in self.coeffs[::-1]:
            out = out * u + c
        return out


class LUT2D(_Model):
    """A look-up table on an (azimuth time s, slant range m) grid, held constant beyond its edges,
    interpolated ``bilinear`` or ``biquintic`` (the 6 x 6 local natural spline ISCE3 evaluates its
    Doppler LUTs with; needs regular axes). Evaluated by the same compiled code the geometry kernels
    use (:func:`daskinsar.geometry.geo2rdr.evaluate_doppler`)."""

    kind: Literal["lut2d"] = "lut2d"
    azimuth_time: list[float]
    slant_range: list[float]
    values: list[list[float]]
    method: Literal["bilinear", "biquintic"] = "bilinear"

    @model_validator(mode="after")
    def _check(self):
        t, r = np.asarray(self.azimuth_time, float), np.asarray(self.slant_range, float)
        v = np.asarray(self.values, float)
        if v.shape != (len(t), len(r)):
            raise ValueError(f"LUT2D values of shape {v.shape} do not match its axes ({len(t)}, {len(r)})")
        for name, axis in (("azimuth_time", t), ("slant_range", r)):
            if not np.all(np.isfinite(axis)) or (len(axis) > 1 and not np.all(np.diff(axis) > 0)):
                raise ValueError(f"LUT2D {name} must be finite and strictly increasing")
            if self.method == "biquintic" and len(axis) > 2:
                d = np.diff(axis)
                if np.max(np.abs(d - d[0])) > 1e-6 * abs(d[0]):
                    raise ValueError(f"a biquintic LUT2D needs a regular {name} axis")
        if not np.all(np.isfinite(v)):
            raise ValueError("LUT2D values must be finite")
        return self

    def __call__(self, azimuth_time_s, slant_range_m):
        return evaluate_doppler(self, azimuth_time_s, slant_range_m)


DopplerModel = Annotated[Union[Poly1D, LUT2D], Field(discriminator="kind")]


class Chirp(_Model):
    """Transmitted linear FM pulse."""

    slope_hz_per_s: float
    duration_s: float
    start_frequency_hz: float | None = None

    @property
    def bandwidth_hz(self) -> float:
        return abs(self.slope_hz_per_s) * self.duration_s


class Burst(_Model):
    """One TOPS burst (Sentinel-1 IW/EW): line range and timing."""

    index: int
    azimuth_time_s: float
    first_line: int
    n_lines: int
    first_valid_sample: list[int] | None = None
    last_valid_sample: list[int] | None = None


class RadarMetadata(_Model):
    """Validated radar metadata of one scene. Units are in the field names."""

    sensor: str
    platform: str | None = None
    mode: str | None = None
    polarization: str | None = None
    level: Literal["raw", "slc", "product"] = "slc"
    epoch: str = Field(description="ISO-8601 UTC time from which azimuth_time counts (s)")
    wavelength_m: float = Field(gt=0)
    prf_hz: float = Field(gt=0)
    range_sampling_rate_hz: float = Field(gt=0)
    azimuth_line_interval_s: float | None = Field(default=None, gt=0)
    range_pixel_spacing_m: float | None = Field(default=None, gt=0)
    look_side: Literal["left", "right"]
    grid: Literal["zero_doppler", "native_doppler"] = "zero_doppler"
    doppler_centroid: DopplerModel = Field(default_factory=Poly1D, description="data Doppler centroid (Hz)")
    grid_doppler: DopplerModel = Field(default_factory=Poly1D, description="Doppler of the grid (Hz); 0 for zero Doppler")
    azimuth_fm_rate: DopplerModel | None = None
    chirp: Chirp | None = None
    range_bandwidth_hz: float | None = None
    azimuth_bandwidth_hz: float | None = None
    platform_velocity_mps: float | None = None
    bursts: list[Burst] | None = None
    source_files: list[str] = Field(default_factory=list)
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("epoch")
    @classmethod
    def _epoch_is_iso(cls, v: str) -> str:
        np.datetime64(v.replace("Z", ""), "ns")
        return v

    @property
    def line_interval_s(self) -> float:
        return self.azimuth_line_interval_s or 1.0 / self.prf_hz

    @property
    def range_spacing_m(self) -> float:
        return self.range_pixel_spacing_m or SPEED_OF_LIGHT / (2.0 * self.range_sampling_rate_hz)

    @property
    def grid_doppler_model(self) -> "Poly1D | LUT2D | None":
        """The Doppler (Hz) of the grid's lines for geometry solvers: None on a zero-Doppler grid,
        ``grid_doppler`` on a native-Doppler grid."""
        return None if self.grid == "zero_doppler" else self.grid_doppler

    @property
    def look_sign(self) -> int:
        """+1 for left-looking, -1 for right-looking (ISCE's convention)."""
        return 1 if self.look_side == "left" else -1

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, s: str) -> "RadarMetadata":
        return cls.model_validate_json(s)


#: the attribute role of a scene store's own metadata and orbit
SCENE_ROLE = "daskinsar"
_ROLE_SUFFIXES = ("_radar_metadata", "_orbit")


@dataclass
class Scene:
    """A radar scene: data on an (azimuth, range) grid, its metadata and its orbit.

    ``data`` is an ``xarray.Dataset`` with dims ``(azimuth, range)`` and coordinates
    ``azimuth_time`` (s since ``meta.epoch``) and ``slant_range`` (m). Arrays are
    usually dask-backed (lazy).
    """

    data: xr.Dataset
    meta: RadarMetadata
    orbit: Orbit
    attrs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        for c in ("azimuth_time", "slant_range"):
            if c not in self.data.coords:
                raise ValueError(f"scene data needs coordinate {c!r}")
        if self.orbit.epoch != self.meta.epoch:
            self.orbit = self.orbit.shift_epoch(self.meta.epoch)

    @property
    def azimuth_time(self) -> np.ndarray:
        return np.asarray(self.data["azimuth_time"].values, dtype=np.float64)

    @property
    def slant_range(self) -> np.ndarray:
        return np.asarray(self.data["slant_range"].values, dtype=np.float64)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.data.sizes["azimuth"], self.data.sizes["range"])

    @property
    def main_variable(self) -> str:
        for name in ("slc", "raw"):
            if name in self.data:
                return name
        return str(next(iter(self.data.data_vars)))

    @property
    def grid_spacing(self) -> tuple[float, float]:
        """(azimuth line interval s, slant range spacing m) from the coordinates."""
        t, r = self.azimuth_time, self.slant_range
        dt = float(t[1] - t[0]) if len(t) > 1 else self.meta.line_interval_s
        dr = float(r[1] - r[0]) if len(r) > 1 else self.meta.range_spacing_m
        return dt, dr

    def with_data(self, data: xr.Dataset) -> "Scene":
        return Scene(data, self.meta, self.orbit, dict(self.attrs))

    @property
    def grid(self) -> RadarGrid:
        """The scene's regular radar grid."""
        return RadarGrid.from_coords(self.azimuth_time, self.slant_range)

    def to_dataset(self, role: str = SCENE_ROLE) -> xr.Dataset:
        """The scene as one Dataset: its variables and coordinates, with the metadata and orbit in the
        attributes under ``role`` (see :func:`radar_attrs`), as stages take their inputs."""
        ds = self.data.copy()
        ds.attrs = {**ds.attrs, **self.attrs, **radar_attrs(self.meta, self.orbit, role)}
        return ds

    @classmethod
    def from_dataset(cls, ds: xr.Dataset, role: str = SCENE_ROLE) -> "Scene":
        """Inverse of :meth:`to_dataset` (attributes of other roles are dropped)."""
        meta, orbit = radar_info(ds.attrs, role)
        keep = {k: v for k, v in ds.attrs.items() if not k.endswith(_ROLE_SUFFIXES)}
        data = ds.copy()
        data.attrs = {}
        return cls(data, meta, orbit, keep)


def radar_grid_coords(t0_s: float, dt_s: float, n_az: int, r0_m: float, dr_m: float, n_rg: int) -> dict:
    """Coordinates for an (azimuth, range) grid."""
    return {
        "azimuth_time": ("azimuth", t0_s + dt_s * np.arange(n_az, dtype=np.float64)),
        "slant_range": ("range", r0_m + dr_m * np.arange(n_rg, dtype=np.float64)),
    }


def orbit_to_json(orbit: Orbit) -> str:
    """The orbit as JSON (times s since ``epoch``, ECEF m and m/s; floats round-trip exactly)."""
    return json.dumps({"epoch": orbit.epoch, "time": orbit.time.tolist(), "position": orbit.position.tolist(),
                       "velocity": orbit.velocity.tolist(), "n_hermite": orbit.n_hermite, "source": orbit.source})


def orbit_from_json(s: str | dict) -> Orbit:
    d = json.loads(s) if isinstance(s, str) else s
    return Orbit(d["epoch"], np.asarray(d["time"], np.float64), np.asarray(d["position"], np.float64),
                 np.asarray(d["velocity"], np.float64), int(d.get("n_hermite", 4)), str(d.get("source", "orbit")))


def radar_attrs(meta: RadarMetadata, orbit: Orbit, role: str = SCENE_ROLE) -> dict[str, str]:
    """Attributes carrying a scene's metadata and orbit: ``<role>_radar_metadata``, ``<role>_orbit``
    (role ``daskinsar`` for a scene store, ``reference`` / ``secondary`` in stage inputs and products)."""
    return {f"{role}_radar_metadata": meta.to_json(), f"{role}_orbit": orbit_to_json(orbit)}


def radar_info(attrs: dict, role: str = SCENE_ROLE) -> tuple[RadarMetadata, Orbit]:
    """(metadata, orbit) of ``role`` from attributes written by :func:`radar_attrs`; KeyError if absent."""
    return meta_from_attrs(attrs, role), orbit_from_json(attrs[f"{role}_orbit"])


def meta_from_attrs(attrs: dict, role: str = SCENE_ROLE) -> RadarMetadata:
    """The :class:`RadarMetadata` of ``role`` from attributes (KeyError if absent)."""
    raw = attrs[f"{role}_radar_metadata"]
    if isinstance(raw, dict):
        return RadarMetadata.model_validate(raw)
    return RadarMetadata.model_validate(json.loads(raw))


#: names of the secondary's dims and coordinates in a pair dataset
SECONDARY_DIMS = {"azimuth": "secondary_azimuth", "range": "secondary_range",
                  "azimuth_time": "secondary_azimuth_time", "slant_range": "secondary_slant_range"}


def pair_dataset(reference: Scene, secondary: Scene) -> xr.Dataset:
    """One Dataset holding a pair, as pair stages take it: ``reference`` on dims (azimuth, range) with
    ``azimuth_time`` / ``slant_range``; ``secondary`` on its own grid, dims ``secondary_azimuth`` /
    ``secondary_range`` with ``secondary_azimuth_time`` / ``secondary_slant_range`` (s since the
    secondary's own epoch, m); metadata and orbits in the ``reference_*`` / ``secondary_*`` attributes."""
    ref = reference.data[[reference.main_variable]].rename({reference.main_variable: "reference"})
    sec = secondary.data[[secondary.main_variable]].rename({secondary.main_variable: "secondary", **SECONDARY_DIMS})
    ds = xr.merge([ref, sec], combine_attrs="drop")
    ds.attrs = {**radar_attrs(reference.meta, reference.orbit, "reference"),
                **radar_attrs(secondary.meta, secondary.orbit, "secondary")}
    return ds


def pair_scenes(ds: xr.Dataset) -> tuple[Scene, Scene]:
    """The reference and secondary scenes of a :func:`pair_dataset` (their grids, metadata and orbits;
    their pixels where the dataset holds them)."""
    ref_meta, ref_orbit = radar_info(ds.attrs, "reference")
    sec_meta, sec_orbit = radar_info(ds.attrs, "secondary")
    ref = ds[["reference"]] if "reference" in ds else xr.Dataset(coords={k: ds[k] for k in ("azimuth_time", "slant_range")})
    inverse = {v: k for k, v in SECONDARY_DIMS.items()}
    if "secondary" in ds:
        sec = ds[["secondary"]].rename(inverse)
    else:
        sec = xr.Dataset(coords={inverse[k]: ds[k].rename({ds[k].dims[0]: inverse[str(ds[k].dims[0])]})
                                 for k in ("secondary_azimuth_time", "secondary_slant_range")})
    ref = ref.drop_vars([v for v in ref.coords if v not in ("azimuth_time", "slant_range")])
    sec = sec.drop_vars([v for v in sec.coords if v not in ("azimuth_time", "slant_range")])
    return Scene(ref, ref_meta, ref_orbit), Scene(sec, sec_meta, sec_orbit)
