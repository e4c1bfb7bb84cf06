"""topo: per-pixel geometry of the reference radar grid (ISCE's lat.rdr, lon.rdr, z.rdr, los.rdr),
and the geometric coregistration of a secondary orbit onto it.

For every reference pixel (azimuth time t1 s, slant range R1 m) rdr2geo on the DEM
gives the ground point X; from it come longitude/latitude (deg), ellipsoid height
(m), LOS incidence and heading (deg, ISCE conventions, see
:mod:`daskinsar.geometry.los`). With a secondary orbit, geo2rdr(X) gives the
secondary's (t2, R2), hence

- geometric offsets of the secondary in pixels of the secondary grid:
  ``azimuth = (t2 - t2_first)/dt2 - row``, ``range = (R2 - R2_first)/dr2 - col``;
- the flat-earth + topographic phase that flattening removes (rad), each scene's range at its own
  wavelength: ``phi_geom = -4*pi*R1/wavelength1 + 4*pi*R2/wavelength2`` (ifg = reference * conj(secondary);
  ``-4*pi/wavelength*(R1 - R2)`` when both centre frequencies are one).

The kernel works on one block of the (azimuth, range) grid given the block's
coordinate vectors and the DEM window under its footprint; the stage makes one task per block
(no halo needed: every pixel is independent). The geometry is solved exactly on a lattice fixed in
absolute coordinates and at heights spanning the whole DEM, and interpolated per pixel around the height
equation, which is solved per pixel on the DEM (:mod:`daskinsar.geometry.rdr2geo_grid`: its accepted
error, below a millimetre, and why any blocking gives bit-identical results).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dask
import dask.array as da
import numpy as np
import xarray as xr
from pydantic import Field

from ..errors import GeometryError
from ..geometry.dem import Dem, LazyWindow, dem_from_dataarray
from ..geometry.orbit import Orbit
from ..geometry.rdr2geo import rdr2geo_ecef
from ..geometry.rdr2geo_grid import height_levels, lattice_extent, topo_grid_geometry
from ..params import Params
from ..scene import pair_scenes
from .chunking import block_edges

TOPO_FIELDS = ("lon", "lat", "hgt", "incidence", "heading")


class TopoParams(Params):
    """Per-pixel geometry of the reference grid."""

    height_tolerance_m: float = Field(1e-4, gt=0, description="rdr2geo: stop when the ground point's height is "
                                                              "within this of the DEM under it (m)")
    max_iterations: int = Field(50, ge=5, description="rdr2geo: DEM-height iterations before a pixel is "
                                                      "declared without solution (layover)")
COREG_FIELDS = ("azimuth_offset", "range_offset", "geometric_phase")


@dataclass(frozen=True)
class SecondaryGeometry:
    """What geometric coregistration needs of the secondary scene."""

    orbit: Orbit  # the secondary's orbit, times in its own epoch
    first_azimuth_time_s: float  # s since the secondary orbit's epoch
    azimuth_line_interval_s: float
    first_slant_range_m: float
    range_spacing_m: float
    doppler: Any = None  # grid Doppler (Hz): Poly1D or LUT2D, None for zero Doppler
    wavelength_m: float | None = None  # the secondary's own wavelength (m); None: the reference's


def topo_kernel(
    azimuth_time_s: np.ndarray,
    slant_range_m: np.ndarray,
    *,
    orbit: Orbit,
    wavelength_m: float,
    look_side: str,
    dem,
    doppler=None,
    secondary: SecondaryGeometry | None = None,
    tol_m: float = 1e-4,
    max_iter: int = 50,
    levels: np.ndarray | None = None,
) -> np.ndarray:
    """Geometry of one block of the radar grid.

    Parameters: 1-D azimuth times (s since the orbit epoch) and slant ranges (m)
    of the block's rows and columns; ``dem`` a :class:`~daskinsar.geometry.dem.Dem` in memory or a constant
    height (m); ``levels``: the lattice heights (m; default from ``dem``'s height range: a block of a larger
    scene passes those of the whole DEM, as :func:`topo_grid` does). Returns float64 ``(k, n_az, n_rg)`` with k = 5 fields
    :data:`TOPO_FIELDS` (deg, deg, m, deg, deg), plus the 3 :data:`COREG_FIELDS`
    (pixels, pixels, rad) when ``secondary`` is given.
    """
    t = np.asarray(azimuth_time_s, np.float64).reshape(-1)
    r = np.asarray(slant_range_m, np.float64).reshape(-1)
    lam2 = wavelength_m if secondary is None else (secondary.wavelength_m or wavelength_m)
    sec = None if secondary is None else (secondary.orbit, secondary.doppler, secondary.first_azimuth_time_s, lam2)
    out = np.empty((len(TOPO_FIELDS) + (len(COREG_FIELDS) if secondary is not None else 0), len(t), len(r)))
    topo_grid_geometry(t, r, orbit, wavelength_m=wavelength_m, look_side=look_side, dem=dem, levels=levels,
                       doppler=doppler, secondary=sec, tol_m=tol_m, max_iter=max_iter, out=out)
    if secondary is not None:  # planes 5, 6: t2 (s), R2 (m), made in place into the phase
        # -4 pi R1/lambda1 + 4 pi R2/lambda2, written so that one wavelength gives -4 pi/lambda (R1 - R2) exactly,
        # and fractional pixels of the secondary grid (the stage subtracts the row/column index)
        np.subtract(r[None, :], out[6], out=out[7])
        out[7] *= -4.0 * np.pi / wavelength_m
        if lam2 != wavelength_m:
            out[7] -= (4.0 * np.pi * (1.0 / wavelength_m - 1.0 / lam2)) * out[6]
        out[5] -= secondary.first_azimuth_time_s
        out[5] /= secondary.azimuth_line_interval_s
        out[6] -= secondary.first_slant_range_m
        out[6] /= secondary.range_spacing_m
    return out


def block_footprint(azimuth_time_s: np.ndarray, slant_range_m: np.ndarray, *, orbit: Orbit, wavelength_m: float,
                    look_side: str, heights_m: tuple[float, float], doppler=None) -> tuple[float, float, float, float]:
    """(lon_min, lon_max, lat_min, lat_max) in deg of the ground a block of the radar grid sees for ground
    heights (m) between ``heights_m``: its edges solved on the ellipsoid raised to each height,
    widened by a tenth of its size (at least 3e-3 deg) on each side (rdr2geo's intermediate guesses stay
    inside)."""
    t, r = np.asarray(azimuth_time_s, np.float64), np.asarray(slant_range_m, np.float64)
    ti = t[np.unique(np.linspace(0, len(t) - 1, 5).astype(int))]
    ri = r[np.unique(np.linspace(0, len(r) - 1, 5).astype(int))]
    et = np.concatenate([ti, ti, np.full(len(ri), t[0]), np.full(len(ri), t[-1])])
    er = np.concatenate([np.full(len(ti), r[0]), np.full(len(ti), r[-1]), ri, ri])
    lons, lats = [], []
    for h in heights_m:
        _, lo, la, _, _, _ = rdr2geo_ecef(et, er, orbit, wavelength_m=wavelength_m, look_side=look_side,
                                          dem=float(h), doppler=doppler)
        lons.append(lo)
        lats.append(la)
    lon, lat = np.concatenate(lons), np.concatenate(lats)
    lon, lat = lon[np.isfinite(lon)], lat[np.isfinite(lat)]
    if lon.size == 0:
        raise GeometryError("topo: no ground point found for a block's edges; check the orbit, look side and DEM")
    # at least 3e-3 deg (~300 m): the lattice's height iterates may pass 50 m beyond the DEM's height range
    w = max(0.1 * max(float(lon.max() - lon.min()), float(lat.max() - lat.min())), 3e-3)
    return float(lon.min()) - w, float(lon.max()) + w, float(lat.min()) - w, float(lat.max()) + w


def topo_grid(
    azimuth_time_s: np.ndarray,
    slant_range_m: np.ndarray,
    *,
    orbit: Orbit,
    wavelength_m: float,
    look_side: str,
    dem: Dem | float,
    doppler=None,
    secondary: SecondaryGeometry | None = None,
    chunks: tuple[int, int] = (1024, 1024),
    tol_m: float = 1e-4,
    max_iter: int = 50,
) -> xr.Dataset:
    """Lazy per-pixel geometry over a radar grid (dask, one task per block).

    ``dem``: a :class:`~daskinsar.geometry.dem.Dem` (lazy or in memory) or a constant height (m). Each
    block's task receives only the DEM window its footprint needs (a slice in the graph: memory is
    bounded by the block, not by the DEM), and every pixel starts from the DEM's one reference height,
    so results do not depend on the blocks.

    Returns an ``xarray.Dataset`` on (azimuth, range) with ``lon``, ``lat`` (deg),
    ``hgt`` (m, ellipsoid), ``incidence``, ``heading`` (deg) and, with a
    secondary, ``azimuth_offset``, ``range_offset`` (pixels, secondary minus
    reference) and ``geometric_phase`` (rad).
    """
    t_all = np.asarray(azimuth_time_s, np.float64)
    r_all = np.asarray(slant_range_m, np.float64)
    names = TOPO_FIELDS + (COREG_FIELDS if secondary is not None else ())
    heights = dem.height_range() if isinstance(dem, Dem) else (float(dem), float(dem))
    # the lattice heights of the whole DEM (a block's DEM window would give others)
    levels = height_levels(*heights) if isinstance(dem, Dem) else None
    # the orbit and secondary geometry go into the graph once, shared by every task
    orbit_d, sec_d = dask.delayed(orbit, pure=True), dask.delayed(secondary, pure=True)
    tok = dask.base.tokenize(t_all, r_all, orbit, dem, secondary, wavelength_m, look_side, doppler, tol_m, max_iter,
                             chunks)
    rows = []
    for bi, (a0, a1) in enumerate(block_edges(len(t_all), chunks[0])):
        row = []
        for bj, (c0, c1) in enumerate(block_edges(len(r_all), chunks[1])):
            tb, rb = t_all[a0:a1], r_all[c0:c1]
            if isinstance(dem, Dem):
                # the footprint of the block's pixels and of the lattice nodes they start from
                te, re_ = lattice_extent(tb, rb, orbit)
                box = block_footprint(te, re_, orbit=orbit, wavelength_m=wavelength_m, look_side=look_side,
                                      heights_m=heights, doppler=doppler)
                win = dem.lazy_window(*box)
                dem_arg: Any = (win.heights, win.fields)
            else:
                dem_arg = float(dem)
            task = dask.delayed(_topo_block, pure=True)(
                tb, rb, dem_arg, orbit=orbit_d, secondary=sec_d, wavelength_m=wavelength_m, look_side=look_side,
                doppler=doppler, tol_m=tol_m, max_iter=max_iter, levels=levels, dask_key_name=f"topo-rdr2geo-{bi}-{bj}-{tok}")
            row.append(da.from_delayed(task, shape=(len(names), a1 - a0, c1 - c0), dtype=np.float64,
                                       name=f"topo-block-{bi}-{bj}-{tok}"))
        rows.append(row)
    stacked = da.block([[blk for blk in row] for row in rows]) if rows else da.zeros((len(names), 0, 0))
    coords = {"azimuth_time": ("azimuth", t_all), "slant_range": ("range", r_all)}
    units = {"lon": "deg", "lat": "deg", "hgt": "m", "incidence": "deg", "heading": "deg",
             "azimuth_offset": "pixel", "range_offset": "pixel", "geometric_phase": "rad"}
    out = xr.Dataset(coords=coords)
    for k, name in enumerate(names):
        dtype = np.float64 if name in ("lon", "lat", "geometric_phase") else np.float32
        arr = stacked[k].astype(dtype)
        if name == "azimuth_offset":
            arr = (stacked[k] - da.arange(len(t_all), chunks=chunks[0])[:, None]).astype(np.float32)
        elif name == "range_offset":
            arr = (stacked[k] - da.arange(len(r_all), chunks=chunks[1])[None, :]).astype(np.float32)
        out[name] = (("azimuth", "range"), arr, {"units": units[name]})
    return out


def _topo_block(t, r, dem_arg, **kw):
    dem = LazyWindow.dem(*dem_arg) if isinstance(dem_arg, tuple) else dem_arg
    return topo_kernel(t, r, dem=dem, **kw)


def dem_from_dataset(ds: xr.Dataset) -> Dem:
    """The DEM a stage input carries: variable ``dem`` (see :func:`daskinsar.geometry.dem.dem_to_dataarray`)."""
    return dem_from_dataarray(ds["dem"])


def run(inputs: xr.Dataset, params: TopoParams) -> xr.Dataset:
    """Per-pixel geometry of the reference grid and the geometric coregistration of the secondary.

    ``inputs``: a pair dataset (:func:`daskinsar.scene.pair_dataset`; the ``reference`` variable's chunks
    set the blocks, its pixels are not read) and the run's DEM (``dem``, see :func:`dem_from_dataset`).
    Native-Doppler grids are solved with their grid Doppler. Returns the :func:`topo_grid` fields.
    """
    ref, sec = pair_scenes(inputs)
    chunks = tuple(c[0] for c in inputs["reference"].chunks) if inputs["reference"].chunks else (1024, 1024)
    dt, dr = sec.grid_spacing
    secondary = SecondaryGeometry(sec.orbit, float(sec.azimuth_time[0]), dt, float(sec.slant_range[0]), dr,
                                  doppler=sec.meta.grid_doppler_model, wavelength_m=sec.meta.wavelength_m)
    ds = topo_grid(ref.azimuth_time, ref.slant_range, orbit=ref.orbit, wavelength_m=ref.meta.wavelength_m,
                   look_side=ref.meta.look_side, dem=dem_from_dataset(inputs), doppler=ref.meta.grid_doppler_model,
                   secondary=secondary, chunks=(int(chunks[0]), int(chunks[1])),
                   tol_m=params.height_tolerance_m, max_iter=params.max_iterations)
    ds.attrs.update(convention="geometric_phase = -4*pi*R_reference/wavelength_reference + "
                    "4*pi*R_secondary/wavelength_secondary (rad); "
                    "offsets: secondary pixel = reference pixel + offset; heading: ISCE los.rdr convention")
    return ds
