"""Simulation configuration (pydantic, strict, units in the field names) and presets.

Presets
-------
- ``"alos"``: ALOS-PALSAR-like L-band stripmap (0.236 m, PRF 2160 Hz, 28 MHz chirp of
  27 us sampled at 32 MHz, 692 km altitude, 34.3 deg look, right-looking), 4096 x 4096.
- ``"cband"``: C-band stripmap (0.0555 m, PRF 1700 Hz, 56 MHz chirp, 64 MHz sampling,
  700 km, 30 deg, right-looking), 4096 x 4096.
- ``"small"``: 256 x 256 L-band for fast tests (Mogi source, a lake, a point target).
- ``"demo"``: 1024 x 1024 L-band pair that ``daskinsar demo`` processes end to end:
  a Mogi inflation source under a volcano-like cone (about 18 cm, 1.5 fringes, of LOS
  displacement), 300 m perpendicular baseline, a lake, coherence 0.8, 0.3 rad of
  turbulent troposphere, one point target.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Lake(_Strict):
    """A water body (flat, low coherence): a disc relative to the scene centre."""

    east_km: float
    north_km: float
    radius_km: float = Field(gt=0)


class TerrainConfig(_Strict):
    """Synthetic DEM (see :mod:`daskinsar.simulate.terrain`)."""

    spacing_arcsec: float = Field(1.0, gt=0, description="DEM sample spacing (arc seconds)")
    base_height_m: float = Field(100.0, description="lowest height of the relief (m, ellipsoidal)")
    relief_m: float = Field(400.0, ge=0, description="peak-to-peak height of the spectral relief (m)")
    spectral_exponent: float = Field(3.6, description="beta of the power spectrum k^-beta")
    min_wavelength_m: float = Field(600.0, gt=0, description="low-pass scale of the relief (m)")
    cone_height_m: float = Field(0.0, ge=0, description="height of the volcano-like cone (m)")
    cone_radius_km: float = Field(2.0, gt=0, description="Gaussian radius of the cone (km)")
    cone_east_km: float = 0.0
    cone_north_km: float = 0.0
    lakes: list[Lake] = Field(default_factory=list)
    margin_km: float = Field(2.0, ge=0, description="DEM margin around the scene footprint (km)")
    interpolation: Literal["bicubic", "biquintic"] = "biquintic"


class MogiSource(_Strict):
    """Mogi point source (see :mod:`daskinsar.simulate.deformation`)."""

    kind: Literal["mogi"] = "mogi"
    east_km: float = 0.0
    north_km: float = 0.0
    depth_m: float = Field(gt=0)
    volume_change_m3: float
    poisson: float = 0.25


class OkadaSource(_Strict):
    """Okada (1985) rectangular dislocation placed by its centroid."""

    kind: Literal["okada"] = "okada"
    east_km: float = 0.0
    north_km: float = 0.0
    depth_m: float = Field(gt=0, description="centroid depth (m)")
    strike_deg: float
    dip_deg: float = Field(gt=0, le=90)
    rake_deg: float
    slip_m: float
    length_m: float = Field(gt=0)
    width_m: float = Field(gt=0)
    opening_m: float = 0.0
    poisson: float = 0.25


Source = Annotated[Union[MogiSource, OkadaSource], Field(discriminator="kind")]


class CoherenceConfig(_Strict):
    """True coherence: ``temporal * snr/(1 + snr)``; ``water`` inside lakes."""

    temporal: float = Field(0.8, ge=0, le=1)
    snr_db: float = Field(20.0, description="thermal SNR of each image (dB); inf for none")
    water: float = Field(0.05, ge=0, le=1)


class TroposphereConfig(_Strict):
    """Differential tropospheric phase: power-law turbulence plus a stratified term."""

    turbulence_std_rad: float = Field(0.0, ge=0)
    spectral_exponent: float = Field(8.0 / 3.0, description="power spectrum ~ k^-beta (Kolmogorov 8/3)")
    outer_scale_km: float = Field(20.0, gt=0)
    stratified_rad_per_km: float = Field(0.0, description="phase per km of height (rad/km)")


class PointTargetConfig(_Strict):
    """A bright scatterer on the DEM surface at a fractional position of the reference grid."""

    azimuth_fraction: float = Field(ge=0, le=1)
    range_fraction: float = Field(ge=0, le=1)
    amplitude_db: float = Field(40.0, description="peak amplitude relative to the speckle rms (dB)")


class IonosphereConfig(_Strict):
    """Differential ionosphere (secondary minus reference slant TEC) as a linear field over the scene."""

    tec_tecu: float = Field(0.0, description="differential slant TEC at the scene centre (TECU, 1e16 el/m^2)")
    gradient_tecu_per_km: tuple[float, float] = Field((0.0, 0.0), description="(east, north) gradient of the "
                                                                              "differential TEC (TECU/km)")


class SpectraConfig(_Strict):
    """Per-scene spectra (see :mod:`daskinsar.simulate.spectra`): the reference keeps the configuration's
    wavelength, chirp bandwidth and sampling rate; the secondary may have its own."""

    reference_doppler_centroid_hz: float = Field(0.0, description="centre of the reference's azimuth spectrum (Hz)")
    secondary_centre_frequency_hz: float | None = Field(None, gt=0, description="secondary centre frequency (Hz); "
                                                                                "None: the reference's")
    secondary_chirp_bandwidth_hz: float | None = Field(None, gt=0, description="secondary range bandwidth (Hz); "
                                                                               "None: the reference's")
    secondary_range_sampling_rate_hz: float | None = Field(None, gt=0, description="secondary range sampling "
                                                                                   "rate (Hz); None: the reference's")
    secondary_doppler_centroid_hz: float = Field(0.0, description="centre of the secondary's azimuth spectrum (Hz)")


class SimulationConfig(_Strict):
    """A simulated interferometric pair. Every length in m, time in s, angle in deg."""

    name: str = "custom"
    seed: int = 0
    reference_epoch: str = "2020-01-01T00:00:00"
    temporal_baseline_days: float = 46.0
    # radar
    wavelength_m: float = Field(0.236, gt=0)
    prf_hz: float = Field(2160.0, gt=0)
    range_sampling_rate_hz: float = Field(32e6, gt=0)
    chirp_bandwidth_hz: float = Field(28e6, gt=0)
    chirp_duration_s: float = Field(27e-6, gt=0)
    antenna_length_m: float = Field(8.9, gt=0)
    azimuth_bandwidth_fraction: float = Field(0.8, gt=0, le=0.9, description="SLC azimuth bandwidth / PRF")
    max_range_bandwidth_fraction: float = Field(0.85, gt=0, le=0.9,
                                                description="cap of the SLC range bandwidth / sampling rate")
    # orbit and scene
    platform: Literal["satellite", "airborne_sch"] = Field(
        "satellite", description="'satellite': circular Keplerian orbits (altitude_m, inclination_deg, ascending; "
                                 "look angle from the geocentric nadir). 'airborne_sch': a UAVSAR-like "
                                 "motion-compensation reference track on a peg's SCH sphere (c = 0, constant "
                                 "height altitude_m, airborne_speed_mps, airborne_heading_deg; peg at the "
                                 "sub-platform point of the middle line, look angle from the ellipsoid normal at "
                                 "the platform), both passes flown on the same track and grid (zero baseline, as "
                                 "a UAVSAR RPI pair or stack): baselines and secondary shifts / PRF must be 0 / "
                                 "None, the first line falls on a whole second")
    altitude_m: float = Field(692e3, gt=0, description="orbit height above the ellipsoid's equatorial radius (m; "
                                                       "satellite) or track height above the peg's SCH sphere "
                                                       "(m; airborne_sch, <= 100 km)")
    inclination_deg: float = Field(98.16, description="orbit inclination (deg; satellite only)")
    ascending: bool = Field(True, description="ascending pass at the scene centre (satellite only)")
    airborne_speed_mps: float = Field(228.0, gt=0, description="platform speed along the reference track at its "
                                                               "height (m/s; airborne_sch only)")
    airborne_heading_deg: float = Field(0.0, ge=-360, le=360, description="heading of the reference track at "
                                                                          "the peg, clockwise from north (deg; "
                                                                          "airborne_sch only)")
    look_side: Literal["left", "right"] = "right"
    look_angle_deg: float = Field(34.3, gt=0, lt=80, description="look angle to the scene centre at its "
                                                                 "zero-Doppler time (deg; see platform for its nadir)")
    centre_lon_deg: float = Field(130.5, ge=-180, le=180)
    centre_lat_deg: float = Field(32.8, ge=-80, le=80)
    n_azimuth: int = Field(1024, ge=32)
    n_range: int = Field(1024, ge=32)
    perpendicular_baseline_m: float = 300.0
    parallel_baseline_m: float = 0.0
    secondary_azimuth_shift_lines: float = Field(3.3, description="secondary start later by this many lines")
    secondary_range_shift_pixels: float = Field(-2.6, description="secondary near range farther by this many pixels")
    secondary_prf_hz: float | None = Field(None, description="secondary PRF (Hz); None: the reference's")
    grid_doppler_hz: float = Field(0.0, description="Doppler (Hz) of the lines of both passes' grids: 0 = "
                                                    "zero-Doppler grids; else native-Doppler grids of a squinted "
                                                    "geometry (the simulated SLC spectra stay at baseband: their data "
                                                    "Doppler centroid is 0 Hz)")

    @property
    def grid_doppler(self):
        """The grids' Doppler model (a constant Poly1D, Hz), or None for zero-Doppler grids."""
        from ..scene import Poly1D

        return Poly1D(coeffs=[self.grid_doppler_hz]) if self.grid_doppler_hz else None
    # content
    terrain: TerrainConfig = Field(default_factory=TerrainConfig)
    deformation: list[Source] = Field(default_factory=list)
    coherence: CoherenceConfig = Field(default_factory=CoherenceConfig)
    troposphere: TroposphereConfig = Field(default_factory=TroposphereConfig)
    point_targets: list[PointTargetConfig] = Field(default_factory=list)
    spectra: SpectraConfig | None = Field(None, description="per-scene range / azimuth spectra from one ground "
                                                            "reflectivity (spectral shift, mixed modes, Doppler)")
    ionosphere: IonosphereConfig | None = Field(None, description="differential ionosphere (needs, and implies, "
                                                                  "per-scene spectra)")
    # numerics
    geometry_decimation_pixels: int = Field(16, ge=2, le=128)
    height_levels: int = Field(5, ge=2, le=9)
    interpolation_taps: Literal[8, 16, 32] = 16

    @model_validator(mode="after")
    def _check(self):
        if self.chirp_bandwidth_hz > self.range_sampling_rate_hz:
            raise ConfigError(f"simulation {self.name!r}: chirp_bandwidth_hz ({self.chirp_bandwidth_hz:g}) exceeds "
                              f"range_sampling_rate_hz ({self.range_sampling_rate_hz:g})")
        if self.spectral and self.point_targets:
            raise ConfigError(f"simulation {self.name!r}: point targets are not modelled with per-scene spectra "
                              "(spectra / ionosphere); remove them")
        if self.platform == "airborne_sch":
            self._check_airborne()
        return self

    def _check_airborne(self) -> None:
        """One line per unsupported combination of ``platform: airborne_sch``."""
        def refuse(what: str) -> None:
            raise ConfigError(f"simulation {self.name!r}: platform 'airborne_sch' {what}")

        if self.altitude_m > 100e3:
            refuse(f"flies below 100 km: altitude_m is {self.altitude_m:g}")
        same_track = {"perpendicular_baseline_m": self.perpendicular_baseline_m,
                      "parallel_baseline_m": self.parallel_baseline_m,
                      "secondary_azimuth_shift_lines": self.secondary_azimuth_shift_lines,
                      "secondary_range_shift_pixels": self.secondary_range_shift_pixels}
        bad = [f"{k} = {v:g}" for k, v in same_track.items() if v != 0.0]
        if bad or self.secondary_prf_hz is not None:
            bad += ["secondary_prf_hz set"] if self.secondary_prf_hz is not None else []
            refuse("flies both passes on one track and grid (zero baseline, as a UAVSAR RPI pair): set "
                   + ", ".join(bad) + " to 0 (secondary_prf_hz to None)")
        if self.spectral:
            refuse("does not model per-scene spectra (spectra / ionosphere): remove them")
        from ..geometry.orbit import parse_utc

        try:
            t0 = parse_utc(self.reference_epoch)
        except ValueError:
            refuse(f"needs an ISO-8601 reference_epoch, not {self.reference_epoch!r}")
        days_ns = int(round(self.temporal_baseline_days * 86400e9))  # as orbits.add_days rounds it
        if t0 != t0.astype("datetime64[s]") or days_ns % 1_000_000_000:
            refuse("starts each pass on a whole second (UAVSAR annotation times have 1 s resolution): "
                   f"reference_epoch {self.reference_epoch!r} and temporal_baseline_days "
                   f"{self.temporal_baseline_days:g} must be whole seconds")

    @property
    def spectral(self) -> bool:
        """Whether the scenes are synthesised with per-scene spectra (:mod:`daskinsar.simulate.spectra`)."""
        return self.spectra is not None or self.ionosphere is not None

    @property
    def range_bandwidth_fraction(self) -> float:
        return min(self.chirp_bandwidth_hz / self.range_sampling_rate_hz, self.max_range_bandwidth_fraction)


def _alos(**kw) -> SimulationConfig:
    base: dict[str, Any] = dict(name="alos", wavelength_m=0.236, prf_hz=2160.0, range_sampling_rate_hz=32e6,
                chirp_bandwidth_hz=28e6,
                chirp_duration_s=27e-6, antenna_length_m=8.9, altitude_m=692e3, inclination_deg=98.16,
                look_angle_deg=34.3, look_side="right", n_azimuth=4096, n_range=4096,
                terrain=TerrainConfig(relief_m=600.0, cone_height_m=900.0, cone_radius_km=3.0,
                                      lakes=[Lake(east_km=-6.0, north_km=3.0, radius_km=1.2)]),
                deformation=[MogiSource(depth_m=3000.0, volume_change_m3=4e6)],
                troposphere=TroposphereConfig(turbulence_std_rad=0.5),
                point_targets=[PointTargetConfig(azimuth_fraction=0.3, range_fraction=0.7)])
    base.update(kw)
    return SimulationConfig(**base)


def _cband(**kw) -> SimulationConfig:
    base: dict[str, Any] = dict(name="cband", wavelength_m=0.0555, prf_hz=1700.0, range_sampling_rate_hz=64e6,
                chirp_bandwidth_hz=56e6, chirp_duration_s=40e-6, antenna_length_m=10.0, altitude_m=700e3,
                inclination_deg=98.2, look_angle_deg=30.0, look_side="right", n_azimuth=4096, n_range=4096,
                perpendicular_baseline_m=100.0, temporal_baseline_days=12.0,
                terrain=TerrainConfig(relief_m=300.0, cone_height_m=0.0),
                deformation=[OkadaSource(depth_m=4000.0, strike_deg=20.0, dip_deg=60.0, rake_deg=-90.0, slip_m=0.4,
                                         length_m=6000.0, width_m=3000.0)],
                coherence=CoherenceConfig(temporal=0.7))
    base.update(kw)
    return SimulationConfig(**base)


def _small(**kw) -> SimulationConfig:
    base: dict[str, Any] = dict(name="small", n_azimuth=256, n_range=256,
                terrain=TerrainConfig(relief_m=200.0, cone_height_m=150.0, cone_radius_km=0.8,
                                      lakes=[Lake(east_km=0.6, north_km=-0.3, radius_km=0.15)]),
                deformation=[MogiSource(depth_m=1000.0, volume_change_m3=2e5)],
                coherence=CoherenceConfig(temporal=0.9),
                point_targets=[PointTargetConfig(azimuth_fraction=0.4, range_fraction=0.35, amplitude_db=45.0)])
    base.update(kw)
    return SimulationConfig(**base)


def _demo(**kw) -> SimulationConfig:
    base: dict[str, Any] = dict(name="demo", n_azimuth=1024, n_range=1024,
                terrain=TerrainConfig(relief_m=250.0, cone_height_m=400.0, cone_radius_km=1.5,
                                      lakes=[Lake(east_km=-3.0, north_km=1.0, radius_km=0.4)]),
                deformation=[MogiSource(depth_m=2000.0, volume_change_m3=3.5e6)],
                coherence=CoherenceConfig(temporal=0.8),
                troposphere=TroposphereConfig(turbulence_std_rad=0.3),
                point_targets=[PointTargetConfig(azimuth_fraction=0.25, range_fraction=0.75)])
    base.update(kw)
    return SimulationConfig(**base)


PRESETS = {"alos": _alos, "cband": _cband, "small": _small, "demo": _demo}


def preset(name: str, **overrides) -> SimulationConfig:
    """The named preset, with fields overridden by keyword."""
    try:
        return PRESETS[name](**overrides)
    except KeyError:
        raise ConfigError(f"unknown simulation preset {name!r}; choose one of {sorted(PRESETS)}") from None
