"""The lattice geometry (topo, geocoding lookup) against the exact per-pixel solvers it interpolates, and the
compiled DEM evaluation against the DEM interpolator it must reproduce to the bit."""

from __future__ import annotations

import numpy as np
import pytest

from daskinsar.geometry.dem_eval import dem_heights_grad_t, dem_heights_t
from daskinsar.geometry.dem_interp import DemRaster, dem_heights
from daskinsar.geometry.ellipsoid import llh_to_ecef
from daskinsar.geometry.geo2rdr import geo2rdr
from daskinsar.geometry.los import los_angles
from daskinsar.geometry.rdr2geo import rdr2geo_ecef
from daskinsar.stages.topo import SecondaryGeometry, topo_grid, topo_kernel


@pytest.mark.parametrize("method", ["biquintic", "bicubic", "bilinear", "nearest"])
@pytest.mark.parametrize("clamp", [True, False])
def test_compiled_dem_heights_are_the_interpolators_to_the_bit(method, clamp):
    rng = np.random.default_rng(4)
    dem = DemRaster.build(rng.normal(800.0, 300.0, (120, 90)), 7.0, 1 / 3600, 46.0, -1 / 3600, method, clamp=clamp,
                          row0=5, col0=-2)
    lon = 7.0 + rng.uniform(-12, 100, 20000) / 3600  # inside, near and beyond the edges
    lat = 46.0 - rng.uniform(-12, 130, 20000) / 3600
    lon[::53] = np.nan
    assert np.array_equal(dem_heights_t(dem, lon, lat), dem_heights(dem, lon, lat), equal_nan=True)


@pytest.mark.parametrize("method", ["biquintic", "bicubic"])
@pytest.mark.parametrize("clamp", [True, False])
def test_dem_derivatives_of_the_height_solvers(method, clamp):
    """The Newton steps' DEM: heights equal to the interpolator's to the bit, inside and near the edges;
    biquintic derivatives (m/deg) equal to central differences of the interpolator itself; no derivatives
    (NaN) for the other methods, which the solvers take by secant steps."""
    rng = np.random.default_rng(7)
    dem = DemRaster.build(rng.normal(800.0, 300.0, (120, 90)), 7.0, 1 / 3600, 46.0, -1 / 3600, method, clamp=clamp,
                          row0=5, col0=-2)
    lon = 7.0 + rng.uniform(-12, 100, 20000) / 3600
    lat = 46.0 - rng.uniform(-12, 130, 20000) / 3600
    lon[::53] = np.nan
    h, d_lon, d_lat = dem_heights_grad_t(dem, lon, lat)
    assert np.array_equal(h, dem_heights(dem, lon, lat), equal_nan=True)
    if method != "biquintic":
        assert np.all(np.isnan(d_lon[np.isfinite(lon)]) | (d_lon[np.isfinite(lon)] == 0.0))
        return
    e = 1e-3 / 3600  # a thousandth of the posting
    fd_lon = (dem_heights(dem, lon + e, lat) - dem_heights(dem, lon - e, lat)) / (2 * e)
    fd_lat = (dem_heights(dem, lon, lat + e) - dem_heights(dem, lon, lat - e)) / (2 * e)
    # away from the clamped edges and the unclamped fill (where the interpolant has kinks or ends)
    col, row = (lon - 7.0) * 3600 + 2, (46.0 - lat) * 3600 - 5
    inside = np.isfinite(lon) & (np.abs(col - 45) < 42) & (np.abs(row - 60) < 57)
    # and off the cell boundaries, where the interpolant's derivative jumps (it is continuous, not smooth)
    inside &= (np.abs(col - np.round(col)) > 2e-3) & (np.abs(row - np.round(row)) > 2e-3)
    assert inside.sum() > 10000
    scale = np.abs(fd_lon[inside]).max()
    assert scale > 1e5  # metres per degree of a rough DEM: a real test
    np.testing.assert_allclose(d_lon[inside], fd_lon[inside], rtol=1e-5, atol=1e-6 * scale)
    np.testing.assert_allclose(d_lat[inside], fd_lat[inside], rtol=1e-5, atol=1e-6 * scale)


@pytest.fixture(scope="module")
def demo_block():
    from daskinsar.simulate import preset
    from daskinsar.simulate.slc import build_pair_model

    cfg = preset("demo", n_azimuth=96, n_range=96)
    m = build_pair_model(cfg)
    sg = m.sec_grid
    sec = SecondaryGeometry(m.sec_orbit, float(sg.azimuth_time()[0]), sg.dt_s, float(sg.slant_range()[0]), sg.dr_m)
    return cfg, m, m.ref_grid.azimuth_time(), m.ref_grid.slant_range(), sec


def _exact(t, r, orbit, wavelength_m, look_side, dem, sec):
    T, R = np.meshgrid(t, r, indexing="ij")
    xyz, lon, lat, hgt, pos, _ = rdr2geo_ecef(T, R, orbit, wavelength_m=wavelength_m, look_side=look_side, dem=dem)
    inc, hdg = los_angles(xyz, pos)
    t2, r2 = geo2rdr(xyz, sec.orbit, wavelength_m=wavelength_m, t_guess_s=sec.first_azimuth_time_s,
                     check_coverage=False)
    return lon, lat, hgt, inc, hdg, t2, r2


def test_lattice_topo_matches_the_exact_solver(demo_block):
    """Every field within its accepted interpolation error of rdr2geo/LOS/geo2rdr solved pixel by pixel, on
    terrain with a cone and relief (the height equation is solved on the DEM in both)."""
    cfg, m, t, r, sec = demo_block
    kw = dict(orbit=m.ref_orbit, wavelength_m=cfg.wavelength_m, look_side=cfg.look_side, dem=m.dem)
    got = topo_kernel(t, r, secondary=sec, **kw)
    lon, lat, hgt, inc, hdg, t2, r2 = _exact(t, r, m.ref_orbit, cfg.wavelength_m, cfg.look_side, m.dem, sec)
    assert np.all(np.isfinite(got))
    assert np.abs(got[0] - lon).max() < 1e-8 and np.abs(got[1] - lat).max() < 1e-8  # deg (< 1 mm)
    assert np.abs(got[2] - hgt).max() < 1e-3  # m (both solved to 1e-4 m on the DEM)
    assert np.abs(got[3] - inc).max() < 1e-6 and np.abs((got[4] - hdg + 180) % 360 - 180).max() < 1e-6  # deg
    az = (t2 - sec.first_azimuth_time_s) / sec.azimuth_line_interval_s
    rg = (r2 - sec.first_slant_range_m) / sec.range_spacing_m
    assert np.abs(got[5] - az).max() < 1e-6 and np.abs(got[6] - rg).max() < 1e-6  # secondary pixels
    phase = -4.0 * np.pi / cfg.wavelength_m * (r[None, :] - r2)
    assert np.abs(got[7] - phase).max() < 1e-3  # rad


def test_lattice_topo_blocks_are_bit_identical_to_the_whole(demo_block):
    cfg, m, t, r, sec = demo_block
    kw = dict(orbit=m.ref_orbit, wavelength_m=cfg.wavelength_m, look_side=cfg.look_side, dem=m.dem, secondary=sec)
    whole = topo_kernel(t, r, **kw)
    ds = topo_grid(t, r, chunks=(37, 20), **kw)
    for k, name in enumerate(("lon", "lat", "geometric_phase")):
        np.testing.assert_array_equal(ds[name].values, whole[[0, 1, 7][k]])


def test_lattice_topo_across_the_antimeridian():
    """A scene straddling lon +-180: longitudes in (-180, 180] and equal (modulo 360) to the exact solver's."""
    from daskinsar.simulate import orbits as orb

    el = orb.place_reference_orbit(179.999, 10.0, 0.0, altitude_m=700e3, inclination_deg=98.0, look_angle_deg=30.0,
                                   look_side="right", ascending=True, t_centre_s=1.0)
    orbit = orb.sample_orbit(el, "2020-01-01T00:00:00", -60.0, 60.0)
    t = 1.0 + np.arange(-40, 40) * 1e-3
    pos, _ = orbit.interpolate(np.array([1.0]))
    rc = float(np.linalg.norm(llh_to_ecef(179.999, 10.0, 0.0) - pos[0]))  # slant range of the scene centre
    r = rc + np.arange(-60, 60) * 5.0
    got = topo_kernel(t, r, orbit=orbit, wavelength_m=0.056, look_side="right", dem=120.0)
    Tg, Rg = np.meshgrid(t, r, indexing="ij")
    _, lon, lat, hgt, _, _ = rdr2geo_ecef(Tg, Rg, orbit, wavelength_m=0.056, look_side="right", dem=120.0)
    assert (got[0].max() > 179.99) and (got[0].min() < -179.99)  # the scene does straddle it
    assert np.all((got[0] > -180.0) & (got[0] <= 180.0))
    assert np.abs((got[0] - lon + 180.0) % 360.0 - 180.0).max() < 1e-8
    assert np.abs(got[1] - lat).max() < 1e-8 and np.abs(got[2] - hgt).max() < 1e-3


def test_lattice_lookup_matches_geo2rdr_of_every_pixel(demo_block):
    from daskinsar.geometry.grid import RadarGrid, map_grid_for
    from daskinsar.geometry.map_lookup import levels_for
    from daskinsar.stages.geocode import lattice_lookup_tile_kernel, lookup_tile_kernel

    cfg, m, t, r, _ = demo_block
    topo = topo_kernel(t, r, orbit=m.ref_orbit, wavelength_m=cfg.wavelength_m, look_side=cfg.look_side, dem=m.dem)
    grid = map_grid_for(topo[0], topo[1], 2e-4)
    radar = RadarGrid.from_coords(t, r)
    kw = dict(dem=m.dem, orbit=m.ref_orbit, wavelength_m=cfg.wavelength_m, t_guess_s=float(t[len(t) // 2]))
    rows, cols = slice(3, grid.shape[0]), slice(5, grid.shape[1])  # a tile not at the grid's origin
    row, col = lattice_lookup_tile_kernel(radar, grid, rows, cols, levels=levels_for(m.dem), **kw)
    lon, lat = grid.lonlat(rows, cols)
    row_x, col_x = lookup_tile_kernel(radar, lon, lat, **kw)
    inside = np.isfinite(row_x)
    assert inside.mean() > 0.3
    np.testing.assert_array_equal(np.isfinite(row[inside]), True)
    assert np.abs(row - row_x)[inside].max() < 1e-6 and np.abs(col - col_x)[inside].max() < 1e-6  # radar pixels
