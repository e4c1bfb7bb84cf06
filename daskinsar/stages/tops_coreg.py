"""TOPS (Sentinel-1 IW) coregistration of a burst pair: geometry, geometric offsets, resampling,
baselines, and the grid Doppler of the residual bistatic delay.

Per matched burst pair (a reference burst and the secondary burst that sees the same ground,
:func:`daskinsar.bursts.match_bursts`), on the reference burst's own grid:

- **geometry** (:func:`burst_topo`): for every reference pixel (line time ``t``, slant range
  ``R``) the ground point ``X`` is rdr2geo on the DEM at the pixel's *zero-Doppler* time
  ``t + (tau - tau_C) / 2`` (``tau = 2 R / c``; ``tau_C`` from ESA's geolocation grid: the
  residual bistatic delay the IPF leaves in the line times, up to 0.17 line across IW), with
  longitude, latitude, height, incidence and heading as the stripmap ``topo`` gives them;
  geo2rdr of ``X`` with the secondary orbit (in its own epoch) gives the secondary's
  zero-Doppler time, hence its line time ``t2 - (tau2 - tau_C2) / 2`` and the geometric offsets
  (pixels of the secondary burst grid, secondary = reference + offset) and the flat-earth +
  topographic phase ``-4 pi / lambda (R - R2)``. Without ``tau_C`` (annotations without a
  geolocation grid) line time = zero-Doppler time.
- **resampling** (:func:`burst_resample`): the secondary burst deramped with its own annotation,
  windowed-sinc interpolated at the offsets, reramped at each output pixel's source position
  (:func:`daskinsar.stages.tops.resample_burst`); pixels whose source lies outside the
  secondary's valid-sample window are 0.
- **baselines** (:func:`burst_baselines`): perpendicular and parallel baselines at the burst's
  mid time and mid range on the ellipsoid, ISCE2's definition (:mod:`daskinsar.geometry.baseline`).

:func:`bistatic_grid_doppler` expresses the bistatic delay as the Doppler (Hz) at which a line
sees its pixels, a :class:`~daskinsar.scene.LUT2D` over a grid: the vocabulary the stripmap
stages (geocode) use for native-Doppler grids, so the merged TOPS grid geocodes on its pixels.

Tasks are named per burst: ``tops-topo-<burst>-<block>``, ``tops-deramp-<burst>``,
``tops-resample-<burst>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dask
import dask.array as da
import numpy as np
import xarray as xr

from ..bursts import tops_parameters
from ..errors import PairError
from ..geometry.baseline import baselines
from ..geometry.dem import LazyWindow
from ..geometry.ellipsoid import SPEED_OF_LIGHT
from ..geometry.geo2rdr import geo2rdr
from ..geometry.los import los_angles
from ..geometry.orbit import Orbit
from ..geometry.rdr2geo import rdr2geo_ecef
from ..scene import LUT2D, SECONDARY_DIMS, RadarMetadata, Scene, pair_dataset, pair_scenes
from .resample import ResampleParams
from .chunking import block_edges
from .topo import COREG_FIELDS, TOPO_FIELDS, TopoParams, block_footprint, dem_from_dataset
from .tops import resample_burst

__all__ = ["TopsSecondary", "burst_pair_dataset", "burst_geometry_kernel", "burst_topo", "burst_resample",
           "burst_baselines", "bistatic_shift_s", "bistatic_grid_doppler", "merged_grid_metadata", "check_burst_pair",
           "VALID_COORDS"]

#: the per-line valid-sample window of a burst (range sample indices, inclusive; -1: no valid sample)
VALID_COORDS = ("valid_first_sample", "valid_last_sample")
_UNITS = {"lon": "deg", "lat": "deg", "hgt": "m", "incidence": "deg", "heading": "deg", "azimuth_offset": "pixel",
          "range_offset": "pixel", "geometric_phase": "rad"}


def bistatic_shift_s(slant_range_m, tau_c_s: float | None) -> np.ndarray:
    """Zero-Doppler time minus line time (s) at slant ranges (m): ``(2 R / c - tau_C) / 2``; 0 without
    ``tau_C``."""
    r = np.asarray(slant_range_m, np.float64)
    return np.zeros(r.shape) if tau_c_s is None else 0.5 * (2.0 * r / SPEED_OF_LIGHT - float(tau_c_s))


@dataclass(frozen=True)
class TopsSecondary:
    """What the geometric coregistration needs of the secondary burst (times in its orbit's epoch)."""

    orbit: Orbit
    first_line_time_s: float
    line_interval_s: float
    first_slant_range_m: float
    range_spacing_m: float
    tau_c_s: float | None  # its bistatic reference range time (s), None: line time = zero-Doppler time


def burst_geometry_kernel(line_time_s: np.ndarray, slant_range_m: np.ndarray, *, orbit: Orbit, wavelength_m: float,
                          look_side: str, dem, tau_c_s: float | None, secondary: TopsSecondary | None = None,
                          first_row: int = 0, first_col: int = 0, tol_m: float = 1e-4,
                          max_iter: int = 50) -> np.ndarray:
    """Geometry of reference pixels at line times (s since the orbit epoch) and slant ranges (m),
    broadcast together (module docstring). Returns float64 ``(k, ...)``: :data:`TOPO_FIELDS` (deg, deg,
    m, deg, deg) and, with ``secondary``, :data:`COREG_FIELDS`: the offsets in secondary burst pixels
    minus the reference pixel's own (row ``first_row + i``, column ``first_col + j`` for 2-D blocks),
    and the geometric phase (rad)."""
    t, r = np.broadcast_arrays(np.asarray(line_time_s, np.float64), np.asarray(slant_range_m, np.float64))
    xyz, lon, lat, hgt, pos, _ = rdr2geo_ecef(t + bistatic_shift_s(r, tau_c_s), r, orbit, wavelength_m=wavelength_m,
                                             look_side=look_side, dem=dem, tol_m=tol_m, max_iter=max_iter)
    inc, hdg = los_angles(xyz, pos)
    fields = [lon, lat, hgt, inc, hdg]
    if secondary is not None:
        t2, r2 = geo2rdr(xyz, secondary.orbit, wavelength_m=wavelength_m, t_guess_s=secondary.first_line_time_s,
                         check_coverage=False)
        line2 = (t2 - bistatic_shift_s(r2, secondary.tau_c_s) - secondary.first_line_time_s) / secondary.line_interval_s
        col2 = (r2 - secondary.first_slant_range_m) / secondary.range_spacing_m
        if t.ndim == 2:
            line2 = line2 - (first_row + np.arange(t.shape[0]))[:, None]
            col2 = col2 - (first_col + np.arange(t.shape[1]))[None, :]
        fields += [line2, col2, -4.0 * np.pi / wavelength_m * (r - r2)]
    return np.stack(fields, axis=0)


def burst_pair_dataset(reference: Scene, secondary: Scene) -> xr.Dataset:
    """:func:`~daskinsar.scene.pair_dataset` of two burst scenes, their valid-sample windows kept as
    coordinates (``valid_first_sample`` ... on ``azimuth``; ``secondary_valid_first_sample`` ... on
    ``secondary_azimuth``)."""
    strip = [c for c in VALID_COORDS if c in secondary.data.coords]
    ds = pair_dataset(reference, secondary.with_data(secondary.data.drop_vars(strip)))
    for c in strip:
        ds = ds.assign_coords({f"secondary_{c}": (SECONDARY_DIMS["azimuth"], np.asarray(secondary.data[c].values))})
    return ds


def _burst_block(t, r, dem_arg, a0, c0, **kw):
    dem = LazyWindow.dem(*dem_arg) if isinstance(dem_arg, tuple) else dem_arg
    return burst_geometry_kernel(t[:, None], r[None, :], dem=dem, first_row=a0, first_col=c0, **kw)


def burst_topo(inputs: xr.Dataset, params: TopoParams, chunks: tuple[int, int] = (1024, 1024)) -> xr.Dataset:
    """Geometry and geometric coregistration of one burst pair, lazily (one task per block, each given
    only its DEM window).

    ``inputs``: :func:`burst_pair_dataset` (the reference burst's grid and TOPS parameters; its pixels
    are not read) and the run's DEM (``dem``). Returns on the reference burst's grid ``lon``, ``lat``
    (deg), ``hgt`` (m), ``incidence``, ``heading`` (deg), ``azimuth_offset``, ``range_offset``
    (pixels of the secondary burst, secondary = reference + offset), ``geometric_phase`` (rad), with
    the reference's valid-sample window as coordinates; tasks ``tops-topo-<burst>-<i>-<j>``.
    """
    ref, sec = pair_scenes(inputs)
    rp, sp = tops_parameters(ref), tops_parameters(sec)
    dem = dem_from_dataset(inputs)
    dt, dr = sec.grid_spacing
    secondary = TopsSecondary(sec.orbit, float(sec.azimuth_time[0]), dt, float(sec.slant_range[0]), dr,
                              sp.bistatic_reference_range_time_s)
    t_all, r_all = ref.azimuth_time, ref.slant_range
    kw: dict[str, Any] = dict(wavelength_m=ref.meta.wavelength_m, look_side=ref.meta.look_side,
                              tau_c_s=rp.bistatic_reference_range_time_s, tol_m=params.height_tolerance_m,
                              max_iter=params.max_iterations)
    heights = dem.height_range()
    tok = dask.base.tokenize(t_all, r_all, ref.orbit, dem, secondary, kw, chunks)
    orbit_d, sec_d = dask.delayed(ref.orbit, pure=True), dask.delayed(secondary, pure=True)
    n = len(TOPO_FIELDS) + len(COREG_FIELDS)
    rows = []
    for bi, (a0, a1) in enumerate(block_edges(len(t_all), chunks[0])):
        row = []
        for bj, (c0, c1) in enumerate(block_edges(len(r_all), chunks[1])):
            tb, rb = t_all[a0:a1], r_all[c0:c1]
            # the block's ground at its zero-Doppler times (the shift is a fraction of a line)
            shift = bistatic_shift_s(rb[[0, -1]], rp.bistatic_reference_range_time_s)
            box = block_footprint(np.concatenate([tb + shift.min(), tb[-1:] + shift.max()]), rb, orbit=ref.orbit,
                                  wavelength_m=kw["wavelength_m"], look_side=kw["look_side"], heights_m=heights)
            win = dem.lazy_window(*box)
            task = dask.delayed(_burst_block, pure=True)(
                tb, rb, (win.heights, win.fields), a0, c0, orbit=orbit_d, secondary=sec_d, **kw,
                dask_key_name=f"tops-topo-{rp.key}-{bi}-{bj}-{tok}")
            row.append(da.from_delayed(task, shape=(n, a1 - a0, c1 - c0), dtype=np.float64,
                                       name=f"tops-topo-block-{rp.key}-{bi}-{bj}-{tok}"))
        rows.append(row)
    stacked = da.block(rows)
    coords = {"azimuth_time": ("azimuth", t_all), "slant_range": ("range", r_all)}
    coords.update({c: ("azimuth", np.asarray(inputs[c].values)) for c in VALID_COORDS if c in inputs.coords})
    out = xr.Dataset(coords=coords, attrs={"burst": rp.key, "secondary_burst": sp.key})
    for k, name in enumerate(TOPO_FIELDS + COREG_FIELDS):
        dtype = np.float64 if name in ("lon", "lat", "geometric_phase") else np.float32
        out[name] = (("azimuth", "range"), stacked[k].astype(dtype), {"units": _UNITS[name]})
    out.attrs["convention"] = ("geometric_phase = -4*pi/wavelength*(R_reference - R_secondary) (rad); offsets: "
                               "secondary burst pixel = reference burst pixel + offset; zero-Doppler time = line "
                               "time + (tau - tau_C)/2 (residual bistatic delay)")
    return out


def burst_resample(inputs: xr.Dataset, params: ResampleParams, rows: slice | None = None) -> xr.Dataset:
    """The secondary burst resampled onto the reference burst's pixels (or its lines ``rows``), lazily.

    ``inputs``: :func:`burst_pair_dataset` with ``secondary`` (dask) and the offsets
    ``azimuth_offset`` / ``range_offset`` (pixels, on the reference grid; secondary = reference +
    offset). Returns ``secondary`` (complex64, 0 where its source lies outside the secondary's valid
    window) on the reference lines ``rows``; tasks ``tops-resample-<reference burst>``.
    """
    ref, sec = pair_scenes(inputs)
    rp, sp = tops_parameters(ref), tops_parameters(sec)
    rows = slice(0, inputs.sizes["azimuth"]) if rows is None else rows
    r = np.asarray(inputs[SECONDARY_DIMS["slant_range"]].values)
    az = inputs["azimuth_offset"].data[rows] + float(rows.start or 0)  # source line = output line + offset
    rg = inputs["range_offset"].data[rows]
    valid = None
    if all(f"secondary_{c}" in inputs.coords for c in VALID_COORDS):
        first, last = (np.asarray(inputs[f"secondary_{c}"].values, np.int64) for c in VALID_COORDS)
        valid = (first, last)
    out, _ = resample_burst(inputs["secondary"].data, sp, float(r[0]), float(r[1] - r[0]), az, rg, resample=params,
                            secondary_valid=valid, label=rp.key)
    sub = inputs.isel(azimuth=rows)
    coords = {k: sub[k] for k in ("azimuth_time", "slant_range", *VALID_COORDS) if k in sub.coords}
    return xr.Dataset({"secondary": (("azimuth", "range"), out, {"units": "1", "long_name": "secondary burst "
                                     "resampled onto the reference burst (deramped, interpolated, reramped)"})},
                      coords=coords, attrs={"burst": rp.key, "secondary_burst": sp.key})


def burst_baselines(reference: Scene, secondary: Scene) -> tuple[float, float]:
    """(perpendicular m, parallel m) baselines at the reference burst's mid time and mid range, targets
    on the ellipsoid (ISCE2 topsApp's figures of a burst)."""
    t, r = reference.azimuth_time, reference.slant_range
    bperp, bpar = baselines(reference.orbit, secondary.orbit, 0.5 * (t[0] + t[-1]), 0.5 * (r[0] + r[-1]),
                            wavelength_m=reference.meta.wavelength_m, look_side=reference.meta.look_side)
    return float(bperp), float(bpar)


def bistatic_grid_doppler(orbit: Orbit, line_time_s: np.ndarray, slant_range_m: np.ndarray, *, wavelength_m: float,
                          look_side: str, tau_c_s: float | None, height_m: float = 0.0) -> LUT2D:
    """The Doppler (Hz) at which each line of a grid sees its pixels, given the bistatic delay, on the
    nodes ``line_time_s`` x ``slant_range_m`` (increasing): for the pixel (t, R) the ground point at
    zero-Doppler time ``t + (tau - tau_C)/2`` (on the ellipsoid raised to ``height_m``) and ``f = 2 v(t)
    . (X - p(t)) / (lambda |X - p(t)|)``, the Doppler geo2rdr / rdr2geo solve a native-Doppler grid with.
    Zero everywhere without ``tau_C``."""
    tt, rr = np.meshgrid(np.asarray(line_time_s, np.float64), np.asarray(slant_range_m, np.float64), indexing="ij")
    if tau_c_s is None:
        values = np.zeros(tt.shape)
    else:
        xyz, *_ = rdr2geo_ecef(tt + bistatic_shift_s(rr, tau_c_s), rr, orbit, wavelength_m=wavelength_m,
                               look_side=look_side, dem=height_m)
        p, v = orbit.interpolate(tt)
        d = xyz - p
        values = 2.0 * np.sum(v * d, axis=-1) / (wavelength_m * np.linalg.norm(d, axis=-1))
    return LUT2D(azimuth_time=[float(x) for x in line_time_s], slant_range=[float(x) for x in slant_range_m],
                 values=values.tolist())



def merged_grid_metadata(burst_meta: RadarMetadata, orbit: Orbit, azimuth_time_s: np.ndarray,
                         slant_range_m: np.ndarray, tau_c_s: float | None, *, n_nodes: tuple[int, int] = (5, 33),
                         extra: dict | None = None) -> RadarMetadata:
    """The metadata of a merged (debursted) TOPS grid: a burst's, with its residual bistatic delay as the
    grid Doppler (:func:`bistatic_grid_doppler` on ``n_nodes`` nodes spanning the grid; a native-Doppler
    grid whose lines are line times, not zero-Doppler times) and without the per-burst TOPS parameters."""
    t = np.asarray(azimuth_time_s, np.float64)
    r = np.asarray(slant_range_m, np.float64)
    lut = bistatic_grid_doppler(orbit, np.linspace(t[0], t[-1], n_nodes[0]), np.linspace(r[0], r[-1], n_nodes[1]),
                                wavelength_m=burst_meta.wavelength_m, look_side=burst_meta.look_side, tau_c_s=tau_c_s)
    keep = {k: v for k, v in burst_meta.extra.items() if k not in ("tops", "burst")}
    return burst_meta.model_copy(update={"grid": "native_doppler" if tau_c_s is not None else "zero_doppler",
                                         "grid_doppler": lut, "bursts": None,
                                         "extra": {**keep, **(extra or {}), "tops_bistatic_tau_c_s": tau_c_s}})


def check_burst_pair(reference: Scene, secondary: Scene, ref_path: str, sec_path: str) -> None:
    """Raise PairError unless two matched bursts can form an interferogram: one wavelength and look side,
    and the secondary burst sees the reference burst's centre (on the ellipsoid) inside its own grid. Each
    orbit stays in its own epoch (repeat passes a year apart leave geo2rdr no precision in a shared one)."""
    rm, sm = reference.meta, secondary.meta
    if abs(rm.wavelength_m - sm.wavelength_m) > 1e-6 * rm.wavelength_m:
        raise PairError(f"{sec_path}: wavelength {sm.wavelength_m} m differs from the reference's {rm.wavelength_m} m "
                        f"({ref_path})")
    if rm.look_side != sm.look_side:
        raise PairError(f"{sec_path}: looks {sm.look_side} but the reference ({ref_path}) looks {rm.look_side}")
    t, r = reference.azimuth_time, reference.slant_range
    xyz, *_ = rdr2geo_ecef(np.array([0.5 * (t[0] + t[-1])]), np.array([0.5 * (r[0] + r[-1])]), reference.orbit,
                           wavelength_m=rm.wavelength_m, look_side=rm.look_side)
    t2, r2 = geo2rdr(xyz, secondary.orbit, wavelength_m=sm.wavelength_m, t_guess_s=float(secondary.azimuth_time[0]),
                     check_coverage=False)
    st, sr = secondary.azimuth_time, secondary.slant_range
    if not (np.isfinite(t2[0]) and st[0] <= t2[0] <= st[-1] and sr[0] <= r2[0] <= sr[-1]):
        raise PairError(f"{sec_path}: its burst {tops_parameters(secondary).key} does not see the centre of the "
                        f"reference burst {tops_parameters(reference).key} ({ref_path}); the products are not of one "
                        "track and area")
