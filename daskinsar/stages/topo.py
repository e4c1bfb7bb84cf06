"""topo: per-pixel geometry of the reference radar grid (ISCE's lat.rdr, lon.rdr, z.rdr, los.rdr),
and the geometric coregistration of a secondary orbit onto it.

For every reference pixel (azimuth time t1 s, slant range R1 m) rdr2geo on the DEM
gives the ground point X; from it come longitude/latitude (deg), ellipsoid height
(m), LOS incidence and heading (deg, ISCE conventions, see
:mod:`daskinsar.geometry.los`). With a secondary orbit, geo2rdr(X) gives the
secondary's (t2, R2), hence

- geometric offsets of the secondary in pixels of the secondary grid:
  ``azimuth = (t2 - t2_first)/dt2 - row``, ``range = (R2 - R2_first)/dr2 - col``;
- the flat-earth + topographic phase that flattening removes (rad):
  ``phi_geom = -4*pi/wavelength * (R1 - R2)`` (ifg = reference * conj(secondary)).

The kernel works on one block of the (azimuth, range) grid given the block's
coordinate vectors; the stage maps it over the grid with ``dask.array.blockwise``
(no halo needed: every pixel is independent).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dask
import dask.array as da
import numpy as np
import xarray as xr
from pydantic import Field

from ..geometry.dem_interp import DemRaster, interpolate_raster
from ..geometry.geo2rdr import geo2rdr
from ..geometry.los import los_angles
from ..geometry.orbit import Orbit
from ..geometry.rdr2geo import rdr2geo_ecef
from ..params import Params
from ..scene import pair_scenes

TOPO_FIELDS = ("lon", "lat", "hgt", "incidence", "heading")


class TopoParams(Params):
    """Per-pixel geometry of the reference grid."""

    height_tolerance_m: float = Field(1e-4, gt=0, description="rdr2geo: stop when the ground point's height is "
                                                              "within this of the DEM under it (m)")
    max_iterations: int = Field(50, ge=5, description="rdr2geo: DEM-height iterations before a pixel is "
                                                      "declared without solution (layover)")
COREG_FIELDS = ("azimuth_offset", "range_offset", "geometric_phase")


@dataclass(frozen=True)
class DemGrid:
    """A DEM raster with its geographic grid: sample (i, j) sits at
    ``lon = lon0 + j*dlon``, ``lat = lat0 + i*dlat`` (pixel centres, deg)."""

    heights_m: np.ndarray
    lon0_deg: float
    lat0_deg: float
    dlon_deg: float
    dlat_deg: float
    method: str = "biquintic"

    def __call__(self, lon_deg, lat_deg):
        col = (np.asarray(lon_deg) - self.lon0_deg) / self.dlon_deg
        row = (np.asarray(lat_deg) - self.lat0_deg) / self.dlat_deg
        return interpolate_raster(self.heights_m, row, col, self.method)

    def raster(self) -> DemRaster:
        """The DEM as compiled geometry kernels take it (edge samples repeated outside); built
        once per instance (every block's rdr2geo asks for it)."""
        r = self.__dict__.get("_raster")
        if r is None:
            r = DemRaster.build(self.heights_m, self.lon0_deg, self.dlon_deg, self.lat0_deg, self.dlat_deg,
                                self.method, clamp=True)
            object.__setattr__(self, "_raster", r)
        return r

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(lon_min, lon_max, lat_min, lat_max) of the sample centres."""
        ny, nx = self.heights_m.shape
        lons = (self.lon0_deg, self.lon0_deg + (nx - 1) * self.dlon_deg)
        lats = (self.lat0_deg, self.lat0_deg + (ny - 1) * self.dlat_deg)
        return min(lons), max(lons), min(lats), max(lats)


@dataclass(frozen=True)
class SecondaryGeometry:
    """What geometric coregistration needs of the secondary scene."""

    orbit: Orbit  # the secondary's orbit, times in its own epoch
    first_azimuth_time_s: float  # s since the secondary orbit's epoch
    azimuth_line_interval_s: float
    first_slant_range_m: float
    range_spacing_m: float
    doppler: Any = None  # grid Doppler (Hz): Poly1D or LUT2D, None for zero Doppler


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
) -> np.ndarray:
    """Geometry of one block of the radar grid.

    Parameters: 1-D azimuth times (s since the orbit epoch) and slant ranges (m)
    of the block's rows and columns; ``dem`` a height callable (lon, lat) -> m
    or a constant. Returns float64 ``(k, n_az, n_rg)`` with k = 5 fields
    :data:`TOPO_FIELDS` (deg, deg, m, deg, deg), plus the 3 :data:`COREG_FIELDS`
    (pixels, pixels, rad) when ``secondary`` is given.
    """
    t, r = np.meshgrid(np.asarray(azimuth_time_s, np.float64), np.asarray(slant_range_m, np.float64), indexing="ij")
    xyz, lon, lat, hgt, pos, _ = rdr2geo_ecef(t, r, orbit, wavelength_m=wavelength_m, look_side=look_side,
                                             dem=dem, doppler=doppler, tol_m=tol_m, max_iter=max_iter)
    inc, hdg = los_angles(xyz, pos)
    fields = [lon, lat, hgt, inc, hdg]
    if secondary is not None:
        t2, r2 = geo2rdr(xyz, secondary.orbit, wavelength_m=wavelength_m, doppler=secondary.doppler,
                         t_guess_s=secondary.first_azimuth_time_s, check_coverage=False)
        # fractional pixel of the secondary grid; the stage subtracts the row/column index
        az_px = (t2 - secondary.first_azimuth_time_s) / secondary.azimuth_line_interval_s
        rg_px = (r2 - secondary.first_slant_range_m) / secondary.range_spacing_m
        fields += [az_px, rg_px, -4.0 * np.pi / wavelength_m * (r - r2)]
    return np.stack(fields, axis=0)


def topo_grid(
    azimuth_time_s: np.ndarray,
    slant_range_m: np.ndarray,
    *,
    orbit: Orbit,
    wavelength_m: float,
    look_side: str,
    dem,
    doppler=None,
    secondary: SecondaryGeometry | None = None,
    chunks: tuple[int, int] = (1024, 1024),
    tol_m: float = 1e-4,
    max_iter: int = 50,
) -> xr.Dataset:
    """Lazy per-pixel geometry over a radar grid (dask, one task per block).

    Returns an ``xarray.Dataset`` on (azimuth, range) with ``lon``, ``lat`` (deg),
    ``hgt`` (m, ellipsoid), ``incidence``, ``heading`` (deg) and, with a
    secondary, ``azimuth_offset``, ``range_offset`` (pixels, secondary minus
    reference) and ``geometric_phase`` (rad).
    """
    t = da.from_array(np.asarray(azimuth_time_s, np.float64), chunks=chunks[0])
    r = da.from_array(np.asarray(slant_range_m, np.float64), chunks=chunks[1])
    names = TOPO_FIELDS + (COREG_FIELDS if secondary is not None else ())
    # large constant inputs go into the graph once, shared by every task
    orbit_d, dem_d, sec_d = dask.delayed(orbit, pure=True), dask.delayed(dem, pure=True), dask.delayed(secondary, pure=True)
    stacked = da.blockwise(
        _topo_block, "kij", t, "i", r, "j",
        new_axes={"k": len(names)}, dtype=np.float64, concatenate=True,
        orbit=orbit_d, dem=dem_d, secondary=sec_d, wavelength_m=wavelength_m, look_side=look_side,
        doppler=doppler, tol_m=tol_m, max_iter=max_iter,
        name="topo-rdr2geo-" + dask.base.tokenize(t, r, orbit, dem, secondary, wavelength_m, look_side, doppler,
                                                  tol_m, max_iter),
    )
    coords = {"azimuth_time": ("azimuth", np.asarray(azimuth_time_s, np.float64)),
              "slant_range": ("range", np.asarray(slant_range_m, np.float64))}
    units = {"lon": "deg", "lat": "deg", "hgt": "m", "incidence": "deg", "heading": "deg",
             "azimuth_offset": "pixel", "range_offset": "pixel", "geometric_phase": "rad"}
    out = xr.Dataset(coords=coords)
    for k, name in enumerate(names):
        dtype = np.float64 if name in ("lon", "lat", "geometric_phase") else np.float32
        arr = stacked[k].astype(dtype)
        if name == "azimuth_offset":
            arr = (stacked[k] - da.arange(len(azimuth_time_s), chunks=chunks[0])[:, None]).astype(np.float32)
        elif name == "range_offset":
            arr = (stacked[k] - da.arange(len(slant_range_m), chunks=chunks[1])[None, :]).astype(np.float32)
        out[name] = (("azimuth", "range"), arr, {"units": units[name]})
    return out


def _topo_block(t, r, **kw):
    return topo_kernel(t, r, **kw)


def dem_from_dataset(ds: xr.Dataset) -> DemGrid:
    """The DEM a stage input carries: variable ``dem`` (m above the WGS84 ellipsoid) on dims
    ``dem_lat`` x ``dem_lon`` (sample centres, deg), interpolation in its ``interpolation`` attribute."""
    dem = ds["dem"]
    lon = np.asarray(dem["dem_lon"].values, np.float64)
    lat = np.asarray(dem["dem_lat"].values, np.float64)
    return DemGrid(np.asarray(dem.values, np.float64), float(lon[0]), float(lat[0]), float(lon[1] - lon[0]),
                   float(lat[1] - lat[0]), str(dem.attrs.get("interpolation", "biquintic")))


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
                                  doppler=sec.meta.grid_doppler_model)
    ds = topo_grid(ref.azimuth_time, ref.slant_range, orbit=ref.orbit, wavelength_m=ref.meta.wavelength_m,
                   look_side=ref.meta.look_side, dem=dem_from_dataset(inputs), doppler=ref.meta.grid_doppler_model,
                   secondary=secondary, chunks=(int(chunks[0]), int(chunks[1])),
                   tol_m=params.height_tolerance_m, max_iter=params.max_iterations)
    ds.attrs.update(convention="geometric_phase = -4*pi/wavelength*(R_reference - R_secondary) (rad); "
                    "offsets: secondary pixel = reference pixel + offset; heading: ISCE los.rdr convention")
    return ds
