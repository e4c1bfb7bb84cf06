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
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .geometry.ellipsoid import SPEED_OF_LIGHT
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
    """A look-up table on an (azimuth time s, slant range m) grid, bilinearly interpolated,
    held constant beyond its edges."""

    kind: Literal["lut2d"] = "lut2d"
    azimuth_time: list[float]
    slant_range: list[float]
    values: list[list[float]]

    def __call__(self, azimuth_time_s, slant_range_m):
        t = np.asarray(self.azimuth_time, dtype=np.float64)
        r = np.asarray(self.slant_range, dtype=np.float64)
        v = np.asarray(self.values, dtype=np.float64)
        at, sr = np.broadcast_arrays(np.asarray(azimuth_time_s, float), np.asarray(slant_range_m, float))
        ti = np.interp(at, t, np.arange(len(t))) if len(t) > 1 else np.zeros(at.shape)
        ri = np.interp(sr, r, np.arange(len(r))) if len(r) > 1 else np.zeros(sr.shape)
        i0 = np.clip(np.floor(ti).astype(int), 0, max(len(t) - 2, 0))
        j0 = np.clip(np.floor(ri).astype(int), 0, max(len(r) - 2, 0))
        i1 = np.minimum(i0 + 1, len(t) - 1)
        j1 = np.minimum(j0 + 1, len(r) - 1)
        ft = ti - i0
        fr = ri - j0
        return (v[i0, j0] * (1 - ft) * (1 - fr) + v[i1, j0] * ft * (1 - fr)
                + v[i0, j1] * (1 - ft) * fr + v[i1, j1] * ft * fr)


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
    def look_sign(self) -> int:
        """+1 for left-looking, -1 for right-looking (ISCE's convention)."""
        return 1 if self.look_side == "left" else -1

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, s: str) -> "RadarMetadata":
        return cls.model_validate_json(s)


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
        return next(iter(self.data.data_vars))

    @property
    def grid_spacing(self) -> tuple[float, float]:
        """(azimuth line interval s, slant range spacing m) from the coordinates."""
        t, r = self.azimuth_time, self.slant_range
        dt = float(t[1] - t[0]) if len(t) > 1 else self.meta.line_interval_s
        dr = float(r[1] - r[0]) if len(r) > 1 else self.meta.range_spacing_m
        return dt, dr

    def with_data(self, data: xr.Dataset) -> "Scene":
        return Scene(data, self.meta, self.orbit, dict(self.attrs))


def radar_grid_coords(t0_s: float, dt_s: float, n_az: int, r0_m: float, dr_m: float, n_rg: int) -> dict:
    """Coordinates for an (azimuth, range) grid."""
    return {
        "azimuth_time": ("azimuth", t0_s + dt_s * np.arange(n_az, dtype=np.float64)),
        "slant_range": ("range", r0_m + dr_m * np.arange(n_rg, dtype=np.float64)),
    }


def meta_attr(meta: RadarMetadata) -> dict[str, str]:
    return {"daskinsar_radar_metadata": meta.to_json()}


def meta_from_attrs(attrs: dict) -> RadarMetadata:
    raw = attrs.get("daskinsar_radar_metadata")
    if raw is None:
        raise KeyError("daskinsar_radar_metadata")
    if isinstance(raw, dict):
        return RadarMetadata.model_validate(raw)
    return RadarMetadata.model_validate(json.loads(raw))
