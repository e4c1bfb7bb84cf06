"""Geometry core against truth we did not produce: ISCE2's topo on UAVSAR, ESA's S1 geolocation grids."""

from __future__ import annotations

import glob
import xml.etree.ElementTree as ET

import dask
import numpy as np
import pytest
import rasterio

from daskinsar.errors import OrbitCoverageError
from daskinsar.geometry.ellipsoid import SPEED_OF_LIGHT, ecef_to_llh, llh_to_ecef
from daskinsar.geometry.geo2rdr import geo2rdr
from daskinsar.geometry.orbit import Orbit, seconds_between
from daskinsar.geometry.rdr2geo import rdr2geo, rdr2geo_ecef
from daskinsar.geometry.dem import Dem
from daskinsar.stages.topo import SecondaryGeometry, topo_grid, topo_kernel


# ----------------------------------------------------------------------------- helpers
def _winnipeg(data_dir):
    from daskinsar.io.nisar_h5 import read_nisar_rslc

    d = data_dir / "uavsar_winnipeg"
    scene = read_nisar_rslc(str(d / "winnipeg.h5"))
    with rasterio.open(d / "winnipeg_dem.tif") as src:
        tr = src.transform
        assert src.tags().get("AREA_OR_POINT", "Area") == "Area"
        dem = Dem(src.read(1).astype(np.float64), tr.c + 0.5 * tr.a, tr.f + 0.5 * tr.e, tr.a, tr.e, "biquintic",
                  edge="clamp")
    n_az, n_rg = scene.shape
    truth = {k: np.fromfile(d / "topo_isce2" / f"{k}.rdr", dtype=np.float64).reshape(n_az, n_rg) for k in "xyz"}
    for k in ("inc", "hdg"):
        truth[k] = np.fromfile(d / "topo_isce2" / f"{k}.rdr", dtype=np.float32).reshape(n_az, n_rg)
    return scene, dem, truth


def _s1_annotations(data_dir):
    return sorted(glob.glob(str(data_dir / "sentinel1_safe" / "*" / "annotation" / "*.xml")))


def _s1_orbit_and_grid(xml_path):
    """Independent minimal parse of an S1 annotation (orbit + geolocation grid)."""
    root = ET.parse(xml_path).getroot()
    epoch = root.find("imageAnnotation/imageInformation/productFirstLineUtcTime").text
    svs = root.findall("generalAnnotation/orbitList/orbit")
    orbit = Orbit(
        epoch,
        [seconds_between(epoch, s.find("time").text) for s in svs],
        [[float(s.find("position/" + k).text) for k in "xyz"] for s in svs],
        [[float(s.find("velocity/" + k).text) for k in "xyz"] for s in svs],
        source=xml_path,
    )
    wavelength = SPEED_OF_LIGHT / float(root.find("generalAnnotation/productInformation/radarFrequency").text)
    pts = root.findall("geolocationGrid/geolocationGridPointList/geolocationGridPoint")
    grid = {
        "t": np.array([seconds_between(epoch, p.find("azimuthTime").text) for p in pts]),
        "r": np.array([float(p.find("slantRangeTime").text) for p in pts]) * SPEED_OF_LIGHT / 2,
        **{k: np.array([float(p.find(k).text) for p in pts]) for k in ("latitude", "longitude", "height")},
    }
    return orbit, wavelength, grid


# ----------------------------------------------------------------------------- ellipsoid / orbit
def test_los_angles_invert():
    from daskinsar.geometry.los import los_angles, los_vector_from_angles, los_enu

    rng = np.random.default_rng(0)
    ground = llh_to_ecef(rng.uniform(-10, 10, 50), rng.uniform(30, 60, 50), rng.uniform(0, 3000, 50))
    sat = ground + rng.normal(size=(50, 3)) * 3e5 + 6e5 * ground / np.linalg.norm(ground, axis=-1, keepdims=True)
    inc, hdg = los_angles(ground, sat)
    np.testing.assert_allclose(los_vector_from_angles(inc, hdg), los_enu(ground, sat), atol=1e-12)


def test_ecef_roundtrip_and_pyproj():
    import pyproj

    rng = np.random.default_rng(1)
    lon = rng.uniform(-180, 180, 1000)
    lat = rng.uniform(-89.9, 89.9, 1000)
    h = rng.uniform(-500, 800e3, 1000)
    xyz = llh_to_ecef(lon, lat, h)
    tr = pyproj.Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)
    x, y, z = tr.transform(lon, lat, h)
    np.testing.assert_allclose(xyz, np.stack([x, y, z], -1), atol=1e-6)
    lo, la, hh = ecef_to_llh(xyz)
    np.testing.assert_allclose(lo, lon, atol=1e-10)
    np.testing.assert_allclose(la, lat, atol=1e-10)
    np.testing.assert_allclose(hh, h, atol=1e-5)


def test_orbit_hermite_reproduces_left_out_state_vectors(data_dir):
    orbit, _, _ = _s1_orbit_and_grid(_s1_annotations(data_dir)[0])
    # drop every other state vector (20 s spacing) and predict the dropped ones
    sub = Orbit(orbit.epoch, orbit.time[::2], orbit.position[::2], orbit.velocity[::2])
    inner = slice(3, len(orbit.time) - 3, 2)
    p, v = sub.interpolate(orbit.time[inner])
    dp = np.linalg.norm(p - orbit.position[inner], axis=-1)
    dv = np.linalg.norm(v - orbit.velocity[inner], axis=-1)
    assert dp.max() < 0.02, dp.max()  # m, over 20 s gaps
    # the annotation's velocities agree with its positions to about 1.5 cm/s only
    assert dv.max() < 0.03, dv.max()  # m/s
    # the interpolated velocity is the derivative of the interpolated position
    t = np.linspace(orbit.time[3], orbit.time[-4], 50)
    p1, _ = orbit.interpolate(t + 1e-3)
    p0, _ = orbit.interpolate(t - 1e-3)
    _, v = orbit.interpolate(t)
    assert np.abs((p1 - p0) / 2e-3 - v).max() < 1e-4


def test_orbit_not_covering_request_says_so(data_dir):
    orbit, wl, _ = _s1_orbit_and_grid(_s1_annotations(data_dir)[0])
    with pytest.raises(OrbitCoverageError, match="orbit covers"):
        orbit.interpolate(np.array([orbit.stop + 100.0]))
    with pytest.raises(OrbitCoverageError, match="orbit covers"):
        rdr2geo(orbit.start - 50.0, 850e3, orbit, wavelength_m=wl, look_side="right")
    far = llh_to_ecef(0.0, 0.0, 0.0)  # a point the pass never sees
    with pytest.raises(OrbitCoverageError):
        geo2rdr(far, orbit, wavelength_m=wl)


# ----------------------------------------------------------------------------- ISCE2 truth
def test_rdr2geo_matches_isce2_topo_on_uavsar(data_dir):
    scene, dem, truth = _winnipeg(data_dir)
    t, r = np.meshgrid(scene.azimuth_time, scene.slant_range, indexing="ij")
    out = topo_kernel(scene.azimuth_time, scene.slant_range, orbit=scene.orbit,
                      wavelength_m=scene.meta.wavelength_m, look_side=scene.meta.look_side, dem=dem)
    lon, lat, hgt, inc, hdg = out
    err = {
        "lon": np.abs(lon - truth["x"]), "lat": np.abs(lat - truth["y"]), "hgt": np.abs(hgt - truth["z"]),
        "inc": np.abs(inc - truth["inc"]),
        # the shared truth is ISCE3 Topo's hdg.rdr, which for a left-looking grid is the azimuth of the
        # satellite-to-target vector: ISCE2's los.rdr band 2 (ours) is the target-to-satellite one, 180 deg apart
        "hdg": np.abs((hdg - (truth["hdg"] - 180.0) + 180.0) % 360.0 - 180.0),
    }
    summary = {k: (float(v.mean()), float(v.max())) for k, v in err.items()}
    print("rdr2geo vs ISCE2 (mean, max):", summary)
    assert summary["lon"][0] <= 1e-5 and summary["lat"][0] <= 1e-5
    assert summary["hgt"][0] <= 0.15
    assert summary["inc"][0] <= 1e-4
    assert summary["hdg"][0] <= 1e-4


def test_rdr2geo_geo2rdr_roundtrip_and_blockwise(data_dir):
    scene, dem, _ = _winnipeg(data_dir)
    kw = dict(orbit=scene.orbit, wavelength_m=scene.meta.wavelength_m, look_side=scene.meta.look_side, dem=dem)
    t, r = np.meshgrid(scene.azimuth_time, scene.slant_range, indexing="ij")
    xyz, *_ = rdr2geo_ecef(t, r, **kw)
    t2, r2 = geo2rdr(xyz, scene.orbit, wavelength_m=scene.meta.wavelength_m)
    dt, dr = scene.grid_spacing
    assert np.max(np.abs(t2 - t)) / dt < 1e-6
    assert np.max(np.abs(r2 - r)) / dr < 1e-6
    whole = topo_kernel(scene.azimuth_time, scene.slant_range, **kw)
    for chunks in [(64, 100), (250, 33)]:
        ds = topo_grid(scene.azimuth_time, scene.slant_range, chunks=chunks, **kw)
        with dask.config.set(scheduler="threads"):
            got = [ds[k].values for k in ("lon", "lat", "hgt", "incidence")]
        for k, (g, w) in enumerate(zip(got, whole)):
            np.testing.assert_array_equal(g, w.astype(g.dtype))


# ----------------------------------------------------------------------------- ESA truth
def test_geo2rdr_matches_esa_geolocation_grids(data_dir):
    paths = _s1_annotations(data_dir)
    assert any("slc" in p for p in paths) and any("grd" in p for p in paths)
    for path in paths:
        orbit, wl, g = _s1_orbit_and_grid(path)
        xyz = llh_to_ecef(g["longitude"], g["latitude"], g["height"])
        t, r = geo2rdr(xyz, orbit, wavelength_m=wl)
        dr = np.abs(r - g["r"])
        dt = np.abs(t - g["t"])
        print(path.rsplit("/", 1)[-1], f"max |dR| {dr.max():.4f} m, max |dt| {dt.max() * 1e3:.4f} ms")
        assert dr.max() <= 0.05
        assert dt.max() <= 1e-4


def test_rdr2geo_matches_esa_geolocation_grid(data_dir):
    path = [p for p in _s1_annotations(data_dir) if "slc" in p][0]
    orbit, wl, g = _s1_orbit_and_grid(path)
    lon, lat, _ = rdr2geo(g["t"], g["r"], orbit, wavelength_m=wl, look_side="right", dem=g["height"])
    # 1e-5 deg is about 1 m on the ground
    assert np.max(np.abs(lon - g["longitude"])) < 1e-5
    assert np.max(np.abs(lat - g["latitude"])) < 1e-5


def test_geometric_coregistration_is_identity_for_same_orbit(data_dir):
    scene, dem, _ = _winnipeg(data_dir)
    dt, dr = scene.grid_spacing
    sec = SecondaryGeometry(scene.orbit, float(scene.azimuth_time[0]), dt, float(scene.slant_range[0]), dr)
    ds = topo_grid(scene.azimuth_time[:40], scene.slant_range[:50], orbit=scene.orbit,
                   wavelength_m=scene.meta.wavelength_m, look_side=scene.meta.look_side, dem=dem,
                   secondary=sec, chunks=(16, 32))
    assert np.max(np.abs(ds["azimuth_offset"].values)) < 1e-4
    assert np.max(np.abs(ds["range_offset"].values)) < 1e-4
    assert np.max(np.abs(ds["geometric_phase"].values)) < 1e-3


@pytest.mark.parametrize("kind", ["poly", "lut"])
def test_native_doppler_rdr2geo_geo2rdr(data_dir, kind):
    """On a native-Doppler grid the pixel's ground point satisfies fd = 2 v.(x - p)/(lambda R)."""
    from daskinsar.scene import LUT2D, Poly1D

    orbit, wl, g = _s1_orbit_and_grid(_s1_annotations(data_dir)[0])
    if kind == "poly":
        fd = Poly1D(reference=850e3, scale=1e4, coeffs=[120.0, -15.0, 2.0])
    else:
        fd = LUT2D(azimuth_time=[0.0, 30.0], slant_range=[8e5, 9.5e5], values=[[80.0, 140.0], [60.0, 100.0]])
    t = g["t"][::7]
    r = g["r"][::7]
    xyz, lon, lat, hgt, pos, vel = rdr2geo_ecef(t, r, orbit, wavelength_m=wl, look_side="right", dem=150.0,
                                                doppler=fd)
    d = xyz - pos
    rng = np.linalg.norm(d, axis=-1)
    np.testing.assert_allclose(rng, r, atol=1e-6)
    np.testing.assert_allclose(2 * np.sum(vel * d, -1) / (wl * rng), fd(t, r), atol=1e-6)
    t2, r2 = geo2rdr(xyz, orbit, wavelength_m=wl, doppler=fd)
    assert np.max(np.abs(t2 - t)) < 1e-9 and np.max(np.abs(r2 - r)) < 1e-6
    # a zero-Doppler solve of the same point lands elsewhere: the Doppler really is used
    t0, _ = geo2rdr(xyz, orbit, wavelength_m=wl)
    assert np.min(np.abs(t0 - t)) > 1e-3


def test_rdr2geo_on_steep_terrain_satisfies_range_doppler_and_dem():
    """On the simulator's rough terrain (hundreds of metres of relief, slopes towards the radar)
    every solved pixel lies at its slant range, at zero Doppler and on the DEM surface; only
    genuine layover may be left without a solution."""
    from daskinsar.simulate import preset
    from daskinsar.simulate.slc import build_pair_model

    cfg = preset("demo")
    m = build_pair_model(cfg)
    t, r = np.meshgrid(m.ref_grid.azimuth_time()[::8], m.ref_grid.slant_range()[::8], indexing="ij")
    xyz, lon, lat, hgt, pos, vel = rdr2geo_ecef(t, r, m.ref_orbit, wavelength_m=cfg.wavelength_m,
                                               look_side=cfg.look_side, dem=m.dem)
    ok = np.isfinite(hgt)
    assert ok.mean() > 0.99
    d = xyz - pos
    assert np.max(np.abs(np.linalg.norm(d, axis=-1) - r)[ok]) < 1e-6
    assert np.max(np.abs(np.sum(vel * d, axis=-1) / np.linalg.norm(vel, axis=-1))[ok]) < 1e-6
    assert np.max(np.abs(hgt - m.dem(lon, lat))[ok]) < 1e-4
    assert np.ptp(hgt[ok]) > 200.0  # the terrain is not flat


def test_geometry_rejects_unsupported_models():
    orbit = Orbit("2020-01-01T00:00:00", np.arange(5.0) * 10, np.array([[7e6 + k, 0, 0] for k in range(5)], float),
                  np.tile([0.0, 7500.0, 0.0], (5, 1)))
    with pytest.raises(TypeError, match="Dem"):
        rdr2geo(20.0, 850e3, orbit, wavelength_m=0.24, look_side="right", dem=lambda lo, la: 0 * lo)
    with pytest.raises(TypeError, match="Poly1D"):
        geo2rdr(np.array([6.4e6, 0.0, 0.0]), orbit, wavelength_m=0.24, doppler=lambda t, r: 0 * t)
    # rdr2geo takes the same Doppler forms as geo2rdr, and no others
    with pytest.raises(TypeError, match="Poly1D"):
        rdr2geo(20.0, 850e3, orbit, wavelength_m=0.24, look_side="right", doppler=lambda t, r: 0 * t)


def test_geo2rdr_tolerance_below_time_resolution_is_per_point_nan_with_a_message(data_dir):
    from daskinsar.geometry.geo2rdr import attainable_tolerance_s

    scene, dem, _ = _winnipeg(data_dir)
    t, r = np.meshgrid(scene.azimuth_time[::50], scene.slant_range[::50], indexing="ij")
    xyz, *_ = rdr2geo_ecef(t, r, scene.orbit, wavelength_m=scene.meta.wavelength_m, look_side=scene.meta.look_side,
                           dem=dem)
    assert 1e-14 < attainable_tolerance_s(scene.orbit) < 1e-9  # the default tol_s is attainable
    with pytest.warns(UserWarning, match="below the float64 time resolution"):
        t2, r2 = geo2rdr(xyz, scene.orbit, wavelength_m=scene.meta.wavelength_m, tol_s=1e-18)
    assert np.isnan(t2).any() and t2.shape == t.shape
    # points that converged anyway are right; the attainable tolerance converges everywhere
    ok = np.isfinite(t2)
    assert np.all(np.abs(t2[ok] - t[ok]) < 1e-6)
    t3, _ = geo2rdr(xyz, scene.orbit, wavelength_m=scene.meta.wavelength_m, tol_s=10 * attainable_tolerance_s(scene.orbit))
    assert np.all(np.isfinite(t3)) and np.max(np.abs(t3 - t)) < 1e-6
