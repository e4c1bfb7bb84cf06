"""TOPS (Sentinel-1 IW/EW) scenes: an ordered collection of bursts, each on its own radar grid.

A TOPS subswath is not one image on one time axis: each burst is a separate acquisition
of ``lines_per_burst`` lines starting at its own ``azimuthTime``, and consecutive bursts
overlap in time (about 160 lines in IW). A :class:`TopsScene` therefore holds one
:class:`~daskinsar.scene.Scene` per burst, each with its own 1-D ``azimuth_time`` and
``slant_range`` coordinates, and the TOPS parameters of that burst
(:class:`TopsBurstParameters`, in ``scene.meta.extra["tops"]``; :func:`tops_parameters`).

Per burst, the scene's data also carries, along ``azimuth``, the coordinates
``valid_first_sample`` / ``valid_last_sample`` (int32, range sample indices of the burst
grid, inclusive; -1 on lines without valid samples), as ESA's annotation gives them.

Burst identity: the subswath (``IW1``..), the burst's index in its annotation, and ESA's
burst ID (the annotation's ``burstId`` where present, IPF >= 3.40; else computed from
the relative orbit and the time since the ascending node with ESA's definition, see
:func:`esa_burst_id`). Keys read ``IW1-b3`` (subswath, annotation index).

A TopsScene is not a stripmap scene: asking it for a Scene attribute (``meta``,
``data``, ``azimuth_time`` ...) raises :class:`~daskinsar.errors.TopsSceneError`, so a
stripmap processing path refuses it with one clear line instead of processing bursts
as if they were one image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterator, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .errors import InputFileError, TopsSceneError
from .geometry.ellipsoid import SPEED_OF_LIGHT
from .geometry.orbit import Orbit
from .scene import Poly1D, Scene

__all__ = ["TopsBurstParameters", "TopsScene", "BurstMatch", "tops_parameters", "burst_key", "esa_burst_id",
           "relative_orbit_number", "match_bursts", "T_ORBIT_S"]

#: nominal Sentinel-1 orbit period (s): 175 orbits in 12 days
T_ORBIT_S = 12 * 86400 / 175
#: ESA's burst-ID timing (S-1 Level 1 Detailed Algorithm Definition, table 9-7): preamble and beam cycle (s)
_TIMING = {"IW": (2.299849, 2.758273), "EW": (2.299970, 3.038376)}
#: burst-to-burst times between consecutive subswaths of one cycle (s): IW1->IW2, IW2->IW3, IW3->IW1 (EW alike)
_SUBSWATH_STEP_S = {"IW": (0.832, 1.078, 0.848), "EW": (0.683, 0.559, 0.612, 0.565, 0.619)}
#: the subswath whose mid-burst time defines a cycle's time (the middle of the swath)
_MID_SUBSWATH = {"IW": 2, "EW": 3}
#: first absolute orbit of relative orbit 1, by mission
_ORBIT_OFFSET = {"S1A": 73, "S1B": 27}

_SCENE_ATTRIBUTES = frozenset({"data", "meta", "orbit", "azimuth_time", "slant_range", "shape", "main_variable",
                               "grid_spacing", "with_data"})


class TopsBurstParameters(BaseModel):
    """What TOPS processing needs of one burst. Times are s since the burst scene's epoch."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["IW", "EW"]
    swath: str = Field(description="subswath, e.g. IW1")
    polarization: str
    burst_index: int = Field(ge=0, description="index of the burst in its annotation's burst list")
    burst_id: int | None = Field(None, description="ESA burst ID (annotation burstId, or computed)")
    burst_id_source: Literal["annotation", "computed"] | None = None
    relative_orbit: int | None = Field(None, description="relative orbit (track) of the burst ID")
    first_line_time_s: float = Field(description="azimuth time of the burst's first line (annotation azimuthTime)")
    lines_per_burst: int = Field(gt=0)
    line_interval_s: float = Field(gt=0, description="azimuthTimeInterval (s)")
    sensing_time_s: float | None = Field(None, description="annotation sensingTime of the burst")
    valid_first_line: int = Field(description="first line with valid samples (within the burst)")
    valid_last_line: int = Field(description="last line with valid samples (within the burst, inclusive)")
    range_sampling_rate_hz: float = Field(gt=0)
    reference_range_time_s: float = Field(description="two-way slant range time of the product's first sample: "
                                                      "the reference of the deramping eta_ref (s)")
    wavelength_m: float = Field(gt=0)
    steering_rate_rad_s: float = Field(description="antenna azimuth steering rate k_psi (rad/s)")
    platform_speed_mps: float = Field(gt=0, description="orbit speed at the burst mid time (m/s)")
    fm_rate: Poly1D = Field(description="azimuth FM rate k_a (Hz/s), polynomial in two-way range time tau - t0")
    fm_rate_time_s: float = Field(description="azimuth time of the FM-rate estimate used (nearest the burst mid)")
    doppler_centroid: Poly1D = Field(description="data Doppler centroid f_dc (Hz), polynomial in tau - t0")
    doppler_time_s: float = Field(description="azimuth time of the Doppler estimate used (nearest the burst mid)")
    measurement_first_line: int = Field(0, description="line of the measurement TIFF holding the burst's first line")
    bistatic_reference_range_time_s: float | None = Field(
        None, description="tau_C (s): the zero-Doppler time of a pixel at two-way range time tau is its line's "
                          "time + (tau - tau_C) / 2 (residual bistatic delay; from ESA's geolocation grid)")

    @property
    def key(self) -> str:
        return f"{self.swath}-b{self.burst_index}"

    @property
    def mid_time_s(self) -> float:
        """The burst centre: first line + lines_per_burst / 2 line intervals (the deramping's eta = 0)."""
        return self.first_line_time_s + self.line_interval_s * self.lines_per_burst / 2.0

    @property
    def steering_doppler_rate_hz_s(self) -> float:
        """k_s = 2 v_s k_psi / lambda (Hz/s)."""
        return 2.0 * self.platform_speed_mps * self.steering_rate_rad_s / self.wavelength_m

    def bistatic_shift_s(self, slant_range_m) -> np.ndarray:
        """Zero-Doppler time minus line time (s) at slant ranges (m): ``(tau - tau_C) / 2``; zeros when
        tau_C is unknown."""
        tau = 2.0 * np.asarray(slant_range_m, np.float64) / SPEED_OF_LIGHT
        if self.bistatic_reference_range_time_s is None:
            return np.zeros(tau.shape)
        return 0.5 * (tau - self.bistatic_reference_range_time_s)

    def shifted(self, dt_s: float) -> "TopsBurstParameters":
        """The same burst with every time counted from an epoch ``dt_s`` s earlier (times + dt_s)."""
        return self.model_copy(update={
            "first_line_time_s": self.first_line_time_s + dt_s, "fm_rate_time_s": self.fm_rate_time_s + dt_s,
            "doppler_time_s": self.doppler_time_s + dt_s,
            "sensing_time_s": None if self.sensing_time_s is None else self.sensing_time_s + dt_s})

    def with_orbit(self, orbit: Orbit) -> "TopsBurstParameters":
        """The same burst with the platform speed taken from another orbit (same epoch)."""
        _, v = orbit.interpolate(np.array([self.mid_time_s]))
        return self.model_copy(update={"platform_speed_mps": float(np.linalg.norm(v[0]))})


def tops_parameters(scene: Scene) -> TopsBurstParameters:
    """The TOPS parameters of a burst scene (``meta.extra["tops"]``)."""
    raw = scene.meta.extra.get("tops")
    if raw is None:
        raise InputFileError(scene.attrs.get("source", "scene"), "a TOPS burst scene (metadata extra['tops'])",
                             "a scene without TOPS burst parameters")
    return raw if isinstance(raw, TopsBurstParameters) else TopsBurstParameters.model_validate(raw)


def burst_key(scene: Scene) -> str:
    return tops_parameters(scene).key


@dataclass
class TopsScene:
    """The bursts of one polarisation of a TOPS product, ordered by subswath then azimuth time.

    Every burst is a :class:`~daskinsar.scene.Scene` on its own grid, all with the same
    epoch. ``attrs`` holds product facts (source, mission, mode, polarisation).
    """

    bursts: list[Scene]
    attrs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if not self.bursts:
            raise InputFileError(self.attrs.get("source", "TOPS scene"), "at least one burst", "none")
        keys = [burst_key(b) for b in self.bursts]
        if len(set(keys)) != len(keys):
            raise ValueError(f"duplicate burst keys in a TOPS scene: {keys}")
        epochs = {b.meta.epoch for b in self.bursts}
        if len(epochs) != 1:
            raise ValueError(f"the bursts of a TOPS scene must share one epoch, got {sorted(epochs)}")
        order = sorted(range(len(keys)), key=lambda i: (tops_parameters(self.bursts[i]).swath,
                                                        tops_parameters(self.bursts[i]).first_line_time_s))
        self.bursts = [self.bursts[i] for i in order]

    def __getattr__(self, name: str):
        # only called for attributes a TopsScene does not have: refuse Scene-only ones loudly
        if name in _SCENE_ATTRIBUTES:
            raise TopsSceneError(
                f"{self.attrs.get('source', 'input')}: expected a stripmap scene, found a Sentinel-1 "
                f"{self.attrs.get('mode', 'TOPS')} TOPS product ({len(self.bursts)} bursts in "
                f"{', '.join(self.swaths)}, each on its own grid); TOPS processing is not part of this path yet")
        raise AttributeError(name)

    def __len__(self) -> int:
        return len(self.bursts)

    def __iter__(self) -> Iterator[Scene]:
        return iter(self.bursts)

    @property
    def keys(self) -> list[str]:
        return [burst_key(b) for b in self.bursts]

    @property
    def epoch(self) -> str:
        return self.bursts[0].meta.epoch

    @property
    def swaths(self) -> list[str]:
        return sorted({tops_parameters(b).swath for b in self.bursts})

    @property
    def polarization(self) -> str | None:
        return self.bursts[0].meta.polarization

    def burst(self, key: str) -> Scene:
        for b in self.bursts:
            if burst_key(b) == key:
                return b
        raise KeyError(f"no burst {key!r} (have {', '.join(self.keys)})")

    def params(self, key: str) -> TopsBurstParameters:
        return tops_parameters(self.burst(key))

    def swath_bursts(self, swath: str) -> list[Scene]:
        """The bursts of one subswath in azimuth order."""
        return [b for b in self.bursts if tops_parameters(b).swath.upper() == swath.upper()]


# ------------------------------------------------------------------------------------------ burst IDs
def relative_orbit_number(mission: str, absolute_orbit: int) -> int | None:
    """Relative orbit (1..175) of an absolute orbit of S1A / S1B; None for a mission not known here."""
    off = _ORBIT_OFFSET.get(mission.upper())
    if off is None:
        return None
    return (int(absolute_orbit) - off) % 175 + 1


def esa_burst_id(swath: str, sensing_time_since_anx_s: float, relative_orbit: int) -> int:
    """ESA's burst ID (IW 1..375887) of a burst.

    ESA (S-1 Level 1 Detailed Algorithm Definition, eq. 9-89..9-91): with ``t_b`` the
    mid-burst time of the burst cycle (the middle of IW2, EW3), ``t_anx`` the time of the
    ascending node, ``r`` the relative orbit, ``dt_b = t_b - t_anx + (r - 1) T_orb`` and
    ``id = 1 + floor((dt_b - T_pre) / T_beam)``. ``t_b`` is found from the burst's first
    input line (annotation ``sensingTime``) and the nominal burst-to-burst times between
    subswaths (as OPERA's s1-reader and ASF's burst tools do). IDs run on over the
    ascending node (``dt_b`` counts from orbit 1), wrapping after the 175-orbit cycle.
    """
    mode, n = swath[:2].upper(), int(swath[2:])
    pre, beam = _TIMING[mode]
    steps = _SUBSWATH_STEP_S[mode]
    mid = _MID_SUBSWATH[mode]
    # sensing start of subswath 1 of this cycle, then the middle of the mid subswath
    start_1 = -sum(steps[: n - 1])
    t_mid = start_1 + sum(steps[: mid - 1]) + steps[mid - 1] / 2.0
    dt_b = (sensing_time_since_anx_s + t_mid + (int(relative_orbit) - 1) * T_ORBIT_S) % (175 * T_ORBIT_S)
    return 1 + int(math.floor((dt_b - pre) / beam))


# ------------------------------------------------------------------------------------------ matching
@dataclass(frozen=True)
class BurstMatch:
    """A reference burst and the secondary burst that sees the same ground."""

    reference: str
    secondary: str
    along_track_m: float  # distance of the platforms at the two burst mid times, along the reference track
    same_burst_id: bool | None  # both IDs known: whether they agree


def match_bursts(reference: TopsScene, secondary: TopsScene) -> list[BurstMatch]:
    """Pair the bursts of two acquisitions of the same track, as ISCE2's topsApp does.

    For each reference burst (per subswath), the secondary burst of the same subswath
    whose platform position at its mid time is nearest, along the reference track, to
    the reference platform at the reference burst's mid time; kept when that distance is
    less than half a burst length (lines x line interval x speed / 2). Burst IDs, where
    both are known, are reported alongside (``same_burst_id``), not used to decide.
    """
    out = []
    for sw in reference.swaths:
        secs = secondary.swath_bursts(sw)
        if not secs:
            continue
        s_par = [tops_parameters(b) for b in secs]
        s_pos = [b.orbit.interpolate(np.array([p.mid_time_s]))[0][0] for b, p in zip(secs, s_par)]
        for rb in reference.swath_bursts(sw):
            rp = tops_parameters(rb)
            pos, vel = rb.orbit.interpolate(np.array([rp.mid_time_s]))
            u = vel[0] / np.linalg.norm(vel[0])
            dist = np.array([abs(float(np.dot(p - pos[0], u))) for p in s_pos])
            k = int(np.argmin(dist))
            limit = 0.5 * rp.lines_per_burst * rp.line_interval_s * float(np.linalg.norm(vel[0]))
            if dist[k] < limit:
                ids = (rp.burst_id, s_par[k].burst_id)
                same = None if None in ids else ids[0] == ids[1]
                out.append(BurstMatch(rp.key, s_par[k].key, float(dist[k]), same))
    return out
