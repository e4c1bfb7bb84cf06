"""layover: the layover/shadow mask of the reference radar grid from the DEM and the reference orbit.

Values (ISCE3's, bit flags): 0 none, 1 shadow, 2 layover, 3 both.

Method (the idea of ISCE3's ``Topo::setLayoverShadow``, on our own profile)
---------------------------------------------------------------------------
For each azimuth line (azimuth time ``t``, platform at ``P``):

1. A dense ground profile across the swath: the ground line of the line's Doppler (zero Doppler, or
   the grid Doppler of a native-Doppler grid) on the ellipsoid raised to the DEM's middle height
   ``h_ref``, sampled at reference slant ranges ``rho_k = r_0 + k * d_rho`` (one global grid, so
   every block samples the same points). ``d_rho`` gives a ground step of the DEM spacing divided by
   ``profile_oversampling`` at the nearest incidence. Each profile point is lifted onto the DEM: along
   the ellipsoid normal projected on the line's constant-Doppler surface (the profile stays in the
   line's Doppler plane) until its height is the DEM's under it (fixed-point steps).
2. Its slant range ``R_k = |X_k - P|`` and look angle ``psi_k`` (at ``P``, from the geocentric nadir).
3. Shadow (active and passive): ``psi_k`` at or below the running maximum of the nearer points'
   look angles (hidden behind nearer terrain).
   Layover (active and passive): ``R_k`` at or below the running maximum of the nearer points'
   ranges, or at or above the running minimum of the farther points' ranges (another ground point
   shares its range).
4. The flags are mapped onto the radar pixels by slant range: a flagged point marks the pixel of its
   range, and two neighbouring points sharing a flag mark every pixel between their ranges (so steep
   slopes, whose range changes fast along the profile, leave no gaps).

Along track the profiles are as dense as across: on a regular azimuth grid whose lines are closer on
the ground than the profile's ground step (the DEM spacing / ``profile_oversampling``), a profile is traced
on every ``line_step``-th line (``line_step`` = that step over the line spacing, rounded down) and each line
takes the flags of the nearest traced one (line ``i`` those of line ``k floor(i / k + 1/2)``): flag edges
along track move by at most half the ground step, as they do across it (tests/test_layover.py checks the
mask against a brute-force truth with one and with two lines per profile).

Blocks: every line is independent; a block of lines x columns takes the profile over its columns'
ranges plus a margin on both sides wide enough for every point that can shadow, lay over, or map onto
its pixels (from the DEM's height span and the scene's incidences), and only the DEM window under it.
Profile samples are the same whatever the blocks, so results do not depend on the chunking. Memory:
(lines x profile points) per block.
"""

from __future__ import annotations

import math
from typing import Any

import dask
import dask.array as da
import numba
import numpy as np
import xarray as xr
from pydantic import Field

from ..geometry.dem import Dem, LazyWindow
from ..geometry.ellipsoid import ecef_to_llh, enu_basis
from ..geometry.los import los_angles
from ..geometry.orbit import Orbit
from ..geometry.rdr2geo import rdr2geo_ecef
from ..params import Params
from ..scene import radar_info
from .topo import block_footprint, dem_from_dataset
from .chunking import block_edges

__all__ = ["LayoverParams", "run", "layover_shadow_grid", "profile_flags", "SHADOW", "LAYOVER", "ProfileGrid",
           "profile_grid"]

SHADOW = 1
LAYOVER = 2
FLAG_ATTRS = {"flag_values": [0, 1, 2, 3], "flag_meanings": "none shadow layover layover_and_shadow",
              "units": "1"}


class LayoverParams(Params):
    """Layover/shadow mask of the reference grid (ISCE3's values: 0 none, 1 shadow, 2 layover, 3 both)."""

    enabled: bool = Field(True, description="false: no layover/shadow mask")
    profile_oversampling: int = Field(2, ge=1, le=64, description="ground profile samples per DEM sample spacing "
                                                                  "(the profile's ground step, across track and "
                                                                  "between traced lines along track, is the DEM "
                                                                  "spacing (m) divided by this)")


# ----------------------------------------------------------------------------- kernels
@numba.njit(cache=True, nogil=True)
def _flags_nb(rng, look, out):  # pragma: no cover - numba
    n_lines, n = rng.shape
    for a in range(n_lines):
        max_look = -1.0
        max_r = -1.0
        for k in range(n):
            r = rng[a, k]
            if not (np.isfinite(r) and np.isfinite(look[a, k])):
                continue
            f = 0
            if look[a, k] <= max_look:
                f |= 1
            else:
                max_look = look[a, k]
            if r <= max_r:
                f |= 2
            else:
                max_r = r
            out[a, k] = f
        min_r = np.inf
        for k in range(n - 1, -1, -1):
            r = rng[a, k]
            if not (np.isfinite(r) and np.isfinite(look[a, k])):
                continue
            if r >= min_r:
                out[a, k] |= 2
            else:
                min_r = r


def profile_flags(slant_range_m: np.ndarray, look_angle_rad: np.ndarray) -> np.ndarray:
    """Shadow (1) / layover (2) flags (uint8) of ground profiles ``(lines, points)`` ordered from near to far
    (see the module docstring); non-finite points are 0 and take no part."""
    rng = np.ascontiguousarray(slant_range_m, np.float64)
    look = np.ascontiguousarray(look_angle_rad, np.float64)
    out = np.zeros(rng.shape, np.uint8)
    _flags_nb(rng, look, out)
    return out


@numba.njit(cache=True, nogil=True)
def _bins_nb(rng, flags, r0, dr, c0, out):  # pragma: no cover - numba
    n_lines, n = rng.shape
    nc = out.shape[1]
    for a in range(n_lines):
        prev = -1
        for k in range(n):
            r = rng[a, k]
            if not np.isfinite(r):
                prev = -1
                continue
            f = flags[a, k]
            j = int(math.floor((r - r0) / dr + 0.5)) - c0
            if f and 0 <= j < nc:
                out[a, j] |= f
            if prev >= 0:
                common = f & flags[a, prev]
                if common:
                    jp = int(math.floor((rng[a, prev] - r0) / dr + 0.5)) - c0
                    lo, hi = min(j, jp), max(j, jp)
                    for jj in range(max(lo, 0), min(hi, nc - 1) + 1):
                        out[a, jj] |= common
            prev = k


def flags_to_pixels(slant_range_m: np.ndarray, flags: np.ndarray, first_range_m: float, range_spacing_m: float,
                    col0: int, n_cols: int) -> np.ndarray:
    """The profile flags on radar columns ``col0 .. col0 + n_cols - 1`` (uint8 ``(lines, n_cols)``) of a grid whose
    column ``j`` is at slant range ``first_range_m + j * range_spacing_m`` (step 4 of the module docstring)."""
    out = np.zeros((slant_range_m.shape[0], n_cols), np.uint8)
    _bins_nb(np.ascontiguousarray(slant_range_m, np.float64), np.ascontiguousarray(flags, np.uint8),
             float(first_range_m), float(range_spacing_m), int(col0), out)
    return out


#: fixed-point steps lifting a profile point onto the DEM (a fixed count: a point's result never depends on others)
LIFT_STEPS = 3


def profile_geometry(azimuth_time_s: np.ndarray, profile_range_m: np.ndarray, *, orbit: Orbit, wavelength_m: float,
                     look_side: str, dem, ref_height_m: float, doppler=None) -> tuple[np.ndarray, np.ndarray]:
    """(slant range m, look angle rad) of the DEM surface points of the ground profiles ``(lines, points)``:
    steps 1-2 of the module docstring, for the lines' azimuth times (s) and reference slant ranges (m).

    Each ground-line point ``G`` (at ``ref_height_m``) is lifted to the DEM along the ellipsoid normal
    projected on the line's constant-Doppler surface (so the profile stays in the line's zero-Doppler
    plane, not 3e-3 m per m of height off it as a plain vertical lift would be at mid latitudes)."""
    t, rho = np.meshgrid(np.asarray(azimuth_time_s, np.float64), np.asarray(profile_range_m, np.float64),
                         indexing="ij")
    g, lon, lat, _, pos, vel = rdr2geo_ecef(t, rho, orbit, wavelength_m=wavelength_m, look_side=look_side,
                                            dem=float(ref_height_m), doppler=doppler)
    n = enu_basis(lon, lat)[2]  # the ellipsoid normal at G
    los = (g - pos) / rho[..., None]
    grad = vel - np.sum(vel * los, axis=-1, keepdims=True) * los  # normal of the constant-Doppler surface
    grad /= np.linalg.norm(grad, axis=-1, keepdims=True)
    lift = n - np.sum(n * grad, axis=-1, keepdims=True) * grad
    lift /= np.linalg.norm(lift, axis=-1, keepdims=True)
    gain = np.sum(lift * n, axis=-1)  # height gained per m along the lift direction
    s = np.zeros(rho.shape)
    h = np.full(rho.shape, float(ref_height_m))
    for step in range(LIFT_STEPS):  # the misfit shrinks by (slope x 3e-3) per step: < 1 mm after 3 below slope 10
        target = dem(lon, lat) if callable(dem) else np.full(lon.shape, float(dem))
        s += (target - h) / gain
        if step < LIFT_STEPS - 1:
            lon, lat, h = ecef_to_llh(g + s[..., None] * lift)
    d = g + s[..., None] * lift - pos
    rng = np.sqrt(np.einsum("...k,...k->...", d, d))
    with np.errstate(invalid="ignore"):
        cos_look = -np.einsum("...k,...k->...", d, pos) / (rng * np.linalg.norm(pos, axis=-1))
    return rng, np.arccos(np.clip(cos_look, -1.0, 1.0))


def _mask_block(t, rho, dem_arg, *, r0, dr, c0, n_cols, ref_height_m, rows=None, **kw) -> np.ndarray:
    """The mask of one block from the profiles of the lines at times ``t``; ``rows``: the profile each of the
    block's lines takes (all lines their own when None)."""
    dem = LazyWindow.dem(*dem_arg) if isinstance(dem_arg, tuple) else dem_arg
    rng, look = profile_geometry(t, rho, dem=dem, ref_height_m=ref_height_m, **kw)
    flags = flags_to_pixels(rng, profile_flags(rng, look), r0, dr, c0, n_cols)
    return flags if rows is None else flags[rows]


# ----------------------------------------------------------------------------- the profile grid
class ProfileGrid:
    """The global profile sampling of a scene: ``rho_k = first_range_m + k * step_m``; the margins (m of
    reference slant range) each block's profile extends before (nearer) and after (farther than) its
    columns' ranges; the reference height (m) of the ground line; ``line_step``: profiles are traced on
    the lines ``0, line_step, 2 line_step, ...`` and each line takes the flags of the nearest of them."""

    def __init__(self, first_range_m: float, step_m: float, margin_near_m: float, margin_far_m: float,
                 ref_height_m: float, line_step: int = 1):
        self.first_range_m, self.step_m, self.ref_height_m = first_range_m, step_m, ref_height_m
        self.margin_near_m, self.margin_far_m = margin_near_m, margin_far_m
        self.line_step = line_step

    def ranges(self, r_lo: float, r_hi: float, min_range_m: float) -> np.ndarray:
        """The profile's reference slant ranges (m) for a block whose columns span ``r_lo .. r_hi``."""
        lo = max(r_lo - self.margin_near_m, min_range_m)
        k0 = math.floor((lo - self.first_range_m) / self.step_m)
        k1 = math.ceil((r_hi + self.margin_far_m - self.first_range_m) / self.step_m)
        return self.first_range_m + self.step_m * np.arange(k0, k1 + 1, dtype=np.float64)


def profile_grid(azimuth_time_s: np.ndarray, slant_range_m: np.ndarray, *, orbit: Orbit, wavelength_m: float,
                 look_side: str, dem: Dem, oversampling: int, doppler=None) -> ProfileGrid:
    """The :class:`ProfileGrid` of a scene: from the DEM's spacing (m) and height span and the incidences
    at the scene's near and far range (mid line, at the DEM's middle height)."""
    h_lo, h_hi = dem.height_range()
    h_ref, span = 0.5 * (h_lo + h_hi), h_hi - h_lo
    t_mid = float(azimuth_time_s[len(azimuth_time_s) // 2])
    rr = np.array([slant_range_m[0], slant_range_m[-1]], np.float64)
    xyz, _, lat, _, pos, vel = rdr2geo_ecef(np.full(2, t_mid), rr, orbit, wavelength_m=wavelength_m,
                                            look_side=look_side, dem=h_ref, doppler=doppler)
    inc = np.deg2rad(los_angles(xyz, pos)[0])
    lat_c = math.radians(float(np.nanmean(lat)))
    m_per_deg = 6378137.0 * math.pi / 180.0
    dem_step_m = min(abs(dem.dlat_deg) * m_per_deg, abs(dem.dlon_deg) * m_per_deg * math.cos(lat_c))
    ground_step = dem_step_m / oversampling
    step = ground_step * math.sin(float(np.nanmin(inc)))
    # With the height span S and incidence i: a point's range is within S/2 cos(i) of its reference range
    # (it maps onto pixels that far away); it shares ranges with points up to S cos(i) nearer or farther
    # and is hidden only by points up to S sin(i) tan(i) nearer (in reference range). Widened by a quarter.
    cos_i, sintan = float(np.nanmax(np.cos(inc))), float(np.nanmax(np.sin(inc) * np.tan(inc)))
    near = 1.25 * span * (0.5 * cos_i + max(cos_i, sintan)) + 4.0 * dem_step_m
    far = 1.25 * span * 1.5 * cos_i + 4.0 * dem_step_m
    # along track the same ground step: lines closer than it share a profile (a regular azimuth grid only)
    t = np.asarray(azimuth_time_s, np.float64)
    line_step = 1
    if t.size > 2:
        dt = (t[-1] - t[0]) / (t.size - 1)
        if dt > 0 and np.allclose(np.diff(t), dt, rtol=1e-6, atol=1e-9):
            ground_speed = float(np.linalg.norm(vel[0]) * np.linalg.norm(xyz[0]) / np.linalg.norm(pos[0]))
            line_step = max(1, int(math.floor(ground_step / (ground_speed * dt))))
    return ProfileGrid(float(slant_range_m[0]), float(step), float(near), float(far), float(h_ref), line_step)

def layover_shadow_grid(azimuth_time_s: np.ndarray, slant_range_m: np.ndarray, *, orbit: Orbit, wavelength_m: float,
                        look_side: str, dem: Dem, doppler=None, chunks: tuple[int, int] = (1024, 1024),
                        oversampling: int = 2, line_step: int | None = None) -> da.Array:
    """Lazy layover/shadow mask (uint8, values 0..3) of a regular radar grid (1-D azimuth times s, slant
    ranges m), one task per block receiving only the DEM window its profile needs. ``line_step``: lines
    per profile (default: :func:`profile_grid`'s, from the ground step)."""
    t_all = np.asarray(azimuth_time_s, np.float64)
    r_all = np.asarray(slant_range_m, np.float64)
    dr = float(r_all[1] - r_all[0]) if len(r_all) > 1 else 1.0
    grid = profile_grid(t_all, r_all, orbit=orbit, wavelength_m=wavelength_m, look_side=look_side, dem=dem,
                        oversampling=oversampling, doppler=doppler)
    k = grid.line_step if line_step is None else int(line_step)
    dt = (t_all[-1] - t_all[0]) / (len(t_all) - 1) if len(t_all) > 1 else 0.0
    # the profile never reaches nadir: keep it beyond the platform's height above the ground
    alt = ecef_to_llh(orbit.interpolate(t_all[[0, -1]])[0])[2]
    min_range = 1.01 * (float(np.max(alt)) - grid.ref_height_m)
    orbit_d = dask.delayed(orbit, pure=True)
    tok = dask.base.tokenize(t_all, r_all, orbit, dem, wavelength_m, look_side, doppler, chunks, oversampling, k)
    blocks = []
    for bi, (a0, a1) in enumerate(block_edges(len(t_all), chunks[0])):
        row = []
        for bj, (c0, c1) in enumerate(block_edges(len(r_all), chunks[1])):
            tb, rows = t_all[a0:a1], None
            if k > 1:  # the profile lines nearest the block's lines: m k, m = floor(i / k + 1/2), a global rule
                m = np.floor(np.arange(a0, a1) / k + 0.5).astype(np.int64)
                tb = t_all[0] + dt * k * np.arange(m[0], m[-1] + 1, dtype=np.float64)
                rows = m - m[0]
            rho = grid.ranges(float(r_all[c0]), float(r_all[c1 - 1]), min_range)
            box = block_footprint(tb, rho[[0, -1]], orbit=orbit, wavelength_m=wavelength_m, look_side=look_side,
                                  heights_m=(grid.ref_height_m, grid.ref_height_m), doppler=doppler)
            win = dem.lazy_window(*box)
            dem_arg: Any = (win.heights, win.fields)
            task = dask.delayed(_mask_block, pure=True)(
                tb, rho, dem_arg, r0=float(r_all[0]), dr=dr, c0=c0, n_cols=c1 - c0, ref_height_m=grid.ref_height_m,
                rows=rows, orbit=orbit_d, wavelength_m=wavelength_m, look_side=look_side, doppler=doppler,
                dask_key_name=f"layover-profile-{bi}-{bj}-{tok}")
            row.append(da.from_delayed(task, shape=(a1 - a0, c1 - c0), dtype=np.uint8,
                                       name=f"layover-mask-{bi}-{bj}-{tok}"))
        blocks.append(row)
    return da.block(blocks)


def run(inputs: xr.Dataset, params: LayoverParams) -> xr.Dataset:
    """The layover/shadow mask of the reference grid.

    ``inputs``: the reference grid (coordinates ``azimuth_time``, ``slant_range``; the ``reference``
    variable's chunks set the blocks, its pixels are not read), its metadata and orbit in the
    ``reference_*`` attributes, and the run's DEM (``dem``). Native-Doppler grids are solved with their
    grid Doppler. Returns ``mask`` (uint8 on (azimuth, range): 0 none, 1 shadow, 2 layover, 3 both).
    """
    meta, orbit = radar_info(inputs.attrs, "reference")
    chunks = tuple(int(c[0]) for c in inputs["reference"].chunks) if "reference" in inputs and \
        inputs["reference"].chunks else (1024, 1024)
    t = np.asarray(inputs["azimuth_time"].values, np.float64)
    r = np.asarray(inputs["slant_range"].values, np.float64)
    mask = layover_shadow_grid(t, r, orbit=orbit, wavelength_m=meta.wavelength_m, look_side=meta.look_side,
                               dem=dem_from_dataset(inputs), doppler=meta.grid_doppler_model,
                               chunks=(chunks[0], chunks[1]), oversampling=params.profile_oversampling)
    coords = {"azimuth_time": ("azimuth", t), "slant_range": ("range", r)}
    attrs = {"long_name": "layover/shadow mask (ISCE3 values: 0 none, 1 shadow, 2 layover, 3 both)", **FLAG_ATTRS}
    return xr.Dataset({"mask": (("azimuth", "range"), mask, attrs)}, coords=coords,
                      attrs={"method": "ground profile per azimuth line (ISCE3 Topo::setLayoverShadow idea), "
                                       f"{params.profile_oversampling} samples per DEM spacing"})

