"""Exact time-domain raw echo simulation of point targets along a real orbit.

Model (per pulse transmitted at time ``t``, s since the orbit epoch):

- **stop-and-hop**: the platform is frozen at ``p(t)`` while the pulse travels;
  the one-way range to a target ``x`` (ECEF m) is ``R(t) = |p(t) - x|`` and the
  two-way delay is ``tau = 2 R / c``;
- the transmitted pulse is a linear FM chirp of slope ``K`` (Hz/s) and duration
  ``T`` (s) whose *leading edge* leaves at the transmit time, so the echo occupies
  fast times ``[tau, tau + T]`` (fast time counted from the transmit time, as the
  range gate of NISAR L0B products does); baseband echo

      e(t_fast) = a * G(t) * exp(j pi K (t_fast - tau - T/2)^2) * exp(-j 4 pi R / lambda)

  so after matched filtering with the same replica the range-compressed peak sits
  at ``t_fast = tau`` (slant range ``R``) with phase ``-4 pi R / lambda`` (the
  project's SLC phase convention);
- ``G`` is the two-way azimuth antenna amplitude pattern of a uniform aperture of
  length ``L``: ``sinc^2(L (sin psi - sin psi_c) / lambda)`` with ``sin psi`` the
  cosine between the line of sight and the (ECEF) platform velocity and
  ``sin psi_c = lambda f_dc / (2 |v|)`` the beam pointing that gives Doppler
  centroid ``f_dc`` (Hz). With ECEF velocities this is exact: the Doppler of the
  target is ``2 |v| sin psi / lambda``;
- range samples at ``t_fast = 2 r_k / c`` for the slant ranges ``r_k`` of the
  range gate (``r_0 + k c / (2 f_s)``).

Targets are placed with the geometry core (``rdr2geo`` on a zero-Doppler grid)
at chosen (zero-Doppler azimuth time, slant range), and their expected SLC
position and phase are predicted with ``geo2rdr`` (independent of the focuser).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import xarray as xr

from ..geometry.ellipsoid import A as WGS84_A
from ..geometry.ellipsoid import SPEED_OF_LIGHT
from ..geometry.geo2rdr import geo2rdr
from ..geometry.orbit import Orbit
from ..geometry.rdr2geo import rdr2geo_ecef
from ..scene import Chirp, Poly1D, RadarMetadata, Scene

# ----------------------------------------------------------------------------- systems
@dataclass(frozen=True)
class SarSystem:
    """A stripmap SAR: radio parameters and antenna. SI units throughout."""

    name: str
    wavelength_m: float
    prf_hz: float
    range_sampling_rate_hz: float
    chirp_slope_hz_per_s: float
    chirp_duration_s: float
    antenna_length_m: float
    look_side: str = "right"
    doppler_centroid_hz: float = 0.0
    altitude_m: float = 690e3
    inclination_deg: float = 98.2

    @property
    def bandwidth_hz(self) -> float:
        return abs(self.chirp_slope_hz_per_s) * self.chirp_duration_s

    @property
    def chirp(self) -> Chirp:
        return Chirp(slope_hz_per_s=self.chirp_slope_hz_per_s, duration_s=self.chirp_duration_s)

    @property
    def range_spacing_m(self) -> float:
        return SPEED_OF_LIGHT / (2.0 * self.range_sampling_rate_hz)

    def with_(self, **kw) -> "SarSystem":
        return replace(self, **kw)


#: ALOS-PALSAR-like L-band stripmap (FBS: 28 MHz chirp of 27 us, 32 MHz sampling)
ALOS_LIKE = SarSystem(
    name="ALOS-like L-band", wavelength_m=0.236, prf_hz=2160.0, range_sampling_rate_hz=32e6,
    chirp_slope_hz_per_s=-28e6 / 27e-6, chirp_duration_s=27e-6, antenna_length_m=8.9,
    look_side="right", doppler_centroid_hz=80.0, altitude_m=692e3, inclination_deg=98.16,
)

#: ERS/Sentinel-1-stripmap-like C-band (15.55 MHz chirp of 37.1 us, 18.96 MHz sampling),
#: squinted to a Doppler centroid of about a third of the PRF
C_BAND = SarSystem(
    name="C-band stripmap", wavelength_m=0.05656, prf_hz=1680.0, range_sampling_rate_hz=18.96e6,
    chirp_slope_hz_per_s=4.1889e11, chirp_duration_s=37.12e-6, antenna_length_m=10.0,
    look_side="right", doppler_centroid_hz=-550.0, altitude_m=785e3, inclination_deg=98.5,
)


# ----------------------------------------------------------------------------- orbit
def circular_orbit(
    epoch: str = "2020-01-01T00:00:00",
    *,
    altitude_m: float = 692e3,
    inclination_deg: float = 98.2,
    ascending_node_deg: float = 0.0,
    argument_of_latitude_deg: float = 20.0,
    t_start_s: float = -60.0,
    t_stop_s: float = 120.0,
    step_s: float = 10.0,
) -> Orbit:
    """A circular Keplerian orbit in ECEF (with Earth rotation), sampled every ``step_s``
    over ``[t_start_s, t_stop_s]`` (s since ``epoch``); at the epoch the satellite is at
    argument of latitude ``argument_of_latitude_deg``. See :mod:`daskinsar.simulate.orbits`."""
    from .orbits import CircularElements, sample_orbit

    el = CircularElements(WGS84_A + altitude_m, np.deg2rad(inclination_deg), np.deg2rad(ascending_node_deg),
                          np.deg2rad(argument_of_latitude_deg))
    return sample_orbit(el, epoch, t_start_s, t_stop_s, step_s, source="circular orbit (simulated)")


# ----------------------------------------------------------------------------- targets
@dataclass
class PointTarget:
    """A point target: ECEF position and complex amplitude, with the geometry-predicted
    zero-Doppler azimuth time (s), slant range (m) and SLC phase (rad)."""

    xyz_m: np.ndarray
    amplitude: complex = 1.0
    azimuth_time_s: float = float("nan")
    slant_range_m: float = float("nan")
    phase_rad: float = float("nan")
    extra: dict = field(default_factory=dict)


def place_targets(azimuth_time_s, slant_range_m, orbit: Orbit, *, wavelength_m: float, look_side: str,
                  height_m: float = 0.0, amplitude=1.0) -> list[PointTarget]:
    """Targets on the ellipsoid (height ``height_m``) at zero-Doppler (time s, slant range m),
    with their position predicted back by ``geo2rdr`` and phase ``-4 pi R0 / lambda``."""
    t = np.atleast_1d(np.asarray(azimuth_time_s, np.float64))
    r = np.atleast_1d(np.asarray(slant_range_m, np.float64))
    t, r = np.broadcast_arrays(t, r)
    xyz = rdr2geo_ecef(t, r, orbit, wavelength_m=wavelength_m, look_side=look_side, dem=height_m)[0]
    t0, r0 = geo2rdr(xyz, orbit, wavelength_m=wavelength_m, t_guess_s=t)
    amps = np.broadcast_to(np.asarray(amplitude, np.complex128), t.shape)
    return [PointTarget(xyz[i], complex(amps[i]), float(t0[i]), float(r0[i]),
                        float(np.angle(np.exp(-4j * np.pi * r0[i] / wavelength_m))))
            for i in range(len(t))]


# ----------------------------------------------------------------------------- echoes
def simulate_raw(targets: list[PointTarget], orbit: Orbit, system: SarSystem, pulse_times_s: np.ndarray,
                 slant_range_m: np.ndarray, *, n_lobes: int = 3) -> np.ndarray:
    """Raw baseband echoes (complex64, shape (pulses, range samples)) of point targets.

    ``pulse_times_s``: transmit times (s since the orbit epoch); ``slant_range_m``: the
    range gate (m, uniformly spaced at ``c / (2 f_s)``). Only pulses within
    ``n_lobes`` lobes of the azimuth pattern around the beam centre are summed.
    See the module docstring for the echo model (stop-and-hop).
    """
    tp = np.asarray(pulse_times_s, np.float64)
    rg = np.asarray(slant_range_m, np.float64)
    nr = len(rg)
    fs = system.range_sampling_rate_hz
    lam = system.wavelength_m
    K = system.chirp_slope_hz_per_s
    T = system.chirp_duration_s
    n_chirp = int(np.ceil(T * fs)) + 2
    pad = n_chirp
    out = np.zeros((len(tp), nr + 2 * pad), np.complex128)
    pos, vel = orbit.interpolate(tp)
    vnorm = np.linalg.norm(vel, axis=-1)
    t_gate0 = 2.0 * rg[0] / SPEED_OF_LIGHT
    for tgt in targets:
        d = np.asarray(tgt.xyz_m, np.float64)[None, :] - pos
        R = np.linalg.norm(d, axis=-1)
        sin_psi = np.einsum("ij,ij->i", d, vel) / (R * vnorm)
        sin_c = lam * system.doppler_centroid_hz / (2.0 * vnorm)
        u = system.antenna_length_m * (sin_psi - sin_c) / lam
        rows = np.nonzero(np.abs(u) < n_lobes)[0]
        if rows.size == 0:
            continue
        gain = np.sinc(u[rows]) ** 2
        tau = 2.0 * R[rows] / SPEED_OF_LIGHT
        k0 = np.ceil((tau - t_gate0) * fs).astype(np.int64)  # first sample at or after the leading edge
        keep = (k0 + n_chirp > 0) & (k0 < nr)
        rows, gain, tau, k0 = rows[keep], gain[keep], tau[keep], k0[keep]
        if rows.size == 0:
            continue
        k = k0[:, None] + np.arange(n_chirp)[None, :]
        tf = t_gate0 + k / fs - tau[:, None]  # fast time after the leading edge (s)
        inside = (tf >= 0.0) & (tf <= T)
        ph = np.pi * K * (tf - 0.5 * T) ** 2 - 4.0 * np.pi * R[rows][:, None] / lam
        val = np.where(inside, tgt.amplitude * gain[:, None] * np.exp(1j * ph), 0.0)
        out[rows[:, None], k + pad] += val
    return out[:, pad:pad + nr].astype(np.complex64)


def point_target_scene(
    system: SarSystem = ALOS_LIKE,
    *,
    n_pulses: int = 4096,
    n_range: int = 2048,
    near_range_m: float | None = None,
    targets_rc: list[tuple[float, float]] | None = None,
    orbit: Orbit | None = None,
    epoch: str = "2020-01-01T00:00:00",
    chunks=(1024, -1),
    n_lobes: int = 3,
) -> tuple[Scene, list[PointTarget]]:
    """A raw-echo Scene of point targets and their predicted SLC positions.

    ``targets_rc``: target positions as (fraction of the pulses, fraction of the range
    samples) of the zero-Doppler grid; default: one target in the scene centre and two
    off centre. Pulses start at t = 0 (s since ``epoch``); the range gate starts at
    ``near_range_m`` (default: 35 deg off nadir).
    """
    import dask.array as da

    from ..scene import radar_grid_coords

    prf = system.prf_hz
    duration = n_pulses / prf
    if orbit is None:
        orbit = circular_orbit(epoch, altitude_m=system.altitude_m, inclination_deg=system.inclination_deg,
                               t_start_s=-60.0, t_stop_s=duration + 60.0)
    dr = system.range_spacing_m
    if near_range_m is None:
        h = system.altitude_m
        near_range_m = float(np.round(h / np.cos(np.deg2rad(35.0)) + 0.0))
    coords = radar_grid_coords(0.0, 1.0 / prf, n_pulses, near_range_m, dr, n_range)
    tp = coords["azimuth_time"][1]
    rg = coords["slant_range"][1]
    if targets_rc is None:
        targets_rc = [(0.5, 0.3), (0.45, 0.15), (0.55, 0.45)]
    ta = np.array([tp[0] + f * (tp[-1] - tp[0]) for f, _ in targets_rc])
    # put targets half way between samples in both directions: a harder test than on-grid
    ra = np.array([rg[0] + (np.floor(f * n_range) + 0.37) * dr for _, f in targets_rc])
    ta = ta + 0.29 / prf
    targets = place_targets(ta, ra, orbit, wavelength_m=system.wavelength_m, look_side=system.look_side)
    raw = simulate_raw(targets, orbit, system, tp, rg, n_lobes=n_lobes)
    vel = np.linalg.norm(orbit.interpolate(np.array([tp[len(tp) // 2]]))[1])
    meta = RadarMetadata(
        sensor="SIM", platform=system.name, mode="stripmap", polarization="HH", level="raw", epoch=epoch,
        wavelength_m=system.wavelength_m, prf_hz=prf, range_sampling_rate_hz=system.range_sampling_rate_hz,
        look_side=system.look_side, grid="native_doppler",
        doppler_centroid=Poly1D(coeffs=[system.doppler_centroid_hz]),
        chirp=system.chirp, range_bandwidth_hz=system.bandwidth_hz,
        azimuth_bandwidth_hz=float(0.886 * 2.0 * vel / system.antenna_length_m),
        extra={"antenna_length_m": system.antenna_length_m,
               "simulation": "point targets, stop-and-hop, time domain"},
    )
    data = xr.Dataset({"raw": (("azimuth", "range"), da.from_array(raw, chunks=chunks))}, coords=coords)
    return Scene(data, meta, orbit), targets


def azimuth_pattern_weight(system_or_length, f_hz, *, doppler_centroid_hz: float, velocity_mps: float):
    """Two-way azimuth amplitude pattern as a function of Doppler frequency (Hz):
    ``sinc^2(L (f - f_dc) / (2 |v|))`` (exact for this simulator, ECEF |v|)."""
    L = system_or_length.antenna_length_m if isinstance(system_or_length, SarSystem) else float(system_or_length)
    return np.sinc(L * (np.asarray(f_hz) - doppler_centroid_hz) / (2.0 * velocity_mps)) ** 2
