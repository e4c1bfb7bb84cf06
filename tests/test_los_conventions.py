"""Line-of-sight angles in ISCE's los.rdr convention, checked against independent computations.

Incidence: the angle at the target between the ellipsoid normal and the line of sight to the
platform. Heading (los.rdr band 2): the azimuth of the target-to-platform vector, from north,
anticlockwise (ISCE2 topozero: ``atan2(-n, -e) - 90 deg`` of the satellite-to-target vector in the
target's east/north/up frame). Both are recomputed here from the ECEF target and platform positions
with pyproj's geodetic latitude/longitude and an explicitly written ENU rotation, not with
daskinsar's LOS code.
"""

from __future__ import annotations

import glob
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from pyproj import Transformer

from daskinsar.geometry.ellipsoid import SPEED_OF_LIGHT, llh_to_ecef
from daskinsar.geometry.geo2rdr import geo2rdr
from daskinsar.geometry.los import los_angles
from daskinsar.geometry.orbit import Orbit, seconds_between
from daskinsar.simulate.presets import preset
from daskinsar.simulate.slc import build_pair_model
from daskinsar.stages.topo import topo_kernel

_ECEF_TO_LLH = Transformer.from_crs("EPSG:4978", "EPSG:4979", always_xy=True)


def _isce_angles(target_xyz: np.ndarray, sat_xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(incidence, heading) in deg as ISCE2's topozero computes them, from ECEF positions (m)."""
    lon, lat, _ = _ECEF_TO_LLH.transform(target_xyz[..., 0], target_xyz[..., 1], target_xyz[..., 2])
    lo, la = np.radians(lon), np.radians(lat)
    d = target_xyz - sat_xyz  # satellite -> target
    e = -np.sin(lo) * d[..., 0] + np.cos(lo) * d[..., 1]
    n = -np.sin(la) * np.cos(lo) * d[..., 0] - np.sin(la) * np.sin(lo) * d[..., 1] + np.cos(la) * d[..., 2]
    u = np.cos(la) * np.cos(lo) * d[..., 0] + np.cos(la) * np.sin(lo) * d[..., 1] + np.sin(la) * d[..., 2]
    inc = np.degrees(np.arccos(np.abs(u) / np.sqrt(e * e + n * n + u * u)))
    hdg = np.degrees(np.arctan2(-n, -e)) - 90.0
    return inc, (hdg + 180.0) % 360.0 - 180.0


def _angle_diff(a, b):
    return np.abs((np.asarray(a) - np.asarray(b) + 180.0) % 360.0 - 180.0)


@pytest.mark.parametrize("ascending", [True, False])
def test_right_looking_heading_and_incidence_equal_isce_convention(ascending):
    model = build_pair_model(preset("small", ascending=ascending, look_side="right"))
    grid, orbit = model.ref_grid, model.ref_orbit
    t = grid.azimuth_time(np.linspace(0, grid.n_az - 1, 7))
    r = grid.slant_range(np.linspace(0, grid.n_rg - 1, 9))
    out = topo_kernel(t, r, orbit=orbit, wavelength_m=model.config.wavelength_m, look_side="right", dem=250.0)
    lon, lat, hgt, inc, hdg = out
    target = llh_to_ecef(lon, lat, hgt)
    sat, _ = orbit.interpolate(np.broadcast_to(t[:, None], lon.shape))
    inc_isce, hdg_isce = _isce_angles(target, sat)
    assert np.max(np.abs(inc - inc_isce)) < 1e-6
    assert np.max(_angle_diff(hdg, hdg_isce)) < 1e-6
    # the sense of the convention: right-looking ascending ~ +100 deg, descending ~ -100 deg
    expect = 100.0 if ascending else -100.0
    assert np.all(_angle_diff(hdg, expect) < 15.0), (ascending, float(np.mean(hdg)))


def _s1_points(xml_path):
    root = ET.parse(xml_path).getroot()
    epoch = root.find("imageAnnotation/imageInformation/productFirstLineUtcTime").text
    svs = root.findall("generalAnnotation/orbitList/orbit")
    orbit = Orbit(epoch, [seconds_between(epoch, s.find("time").text) for s in svs],
                  [[float(s.find("position/" + k).text) for k in "xyz"] for s in svs],
                  [[float(s.find("velocity/" + k).text) for k in "xyz"] for s in svs], source=xml_path)
    pts = root.findall("geolocationGrid/geolocationGridPointList/geolocationGridPoint")
    f = {k: np.array([float(p.find(k).text) for p in pts]) for k in ("latitude", "longitude", "height",
                                                                       "incidenceAngle")}
    heading = float(root.find("generalAnnotation/productInformation/platformHeading").text)
    pas = root.find("generalAnnotation/productInformation/pass").text
    wavelength = SPEED_OF_LIGHT / float(root.find("generalAnnotation/productInformation/radarFrequency").text)
    return orbit, f, heading, pas, wavelength


def test_sentinel1_incidence_equals_esa_and_heading_is_right_looking(data_dir):
    paths = sorted(glob.glob(str(data_dir / "sentinel1_safe" / "*" / "annotation" / "*.xml")))
    assert paths
    for path in paths:
        orbit, f, platform_heading, pas, wavelength = _s1_points(path)
        target = llh_to_ecef(f["longitude"], f["latitude"], f["height"])
        t, _ = geo2rdr(target, orbit, wavelength_m=wavelength)
        sat, _ = orbit.interpolate(t)
        inc, hdg = los_angles(target, sat)
        inc_esa_def, _ = los_angles(target, sat, normal="geocentric")
        err = np.abs(inc_esa_def - f["incidenceAngle"])
        print(path.rsplit("/", 1)[-1], "max |inc - ESA| (deg), ESA's geocentric normal:", float(err.max()),
              "ISCE's geodetic normal:", float(np.max(np.abs(inc - f["incidenceAngle"]))))
        assert err.max() < 0.01
        # ISCE's (the product's) incidence is to the geodetic normal: apart from ESA's by the angle between the
        # normals in the plane of incidence, a few hundredths of a degree (<= the geodetic-geocentric angle)
        lat = np.radians(f["latitude"])
        max_tilt = np.degrees(np.arctan((1 / (1 - 6.69437999014e-3) - 1) * np.tan(lat)))  # geodetic - geocentric
        assert np.all(np.abs(inc - f["incidenceAngle"]) <= np.abs(max_tilt) + 1e-6)
        # right-looking: the look direction is the platform heading (clockwise from north) + 90 deg, so the
        # target-to-platform azimuth, anticlockwise from north, is 90 deg - platformHeading, up to the
        # convergence of the meridians between the nadir and the target (delta lon * sin lat) and 1 deg
        # for the tilt of the zero-Doppler plane
        sat_lon, _, _ = _ECEF_TO_LLH.transform(sat[:, 0], sat[:, 1], sat[:, 2])
        bound = 1.0 + np.abs(f["longitude"] - sat_lon) * np.abs(np.sin(np.radians(f["latitude"])))
        assert np.all(_angle_diff(hdg, 90.0 - platform_heading) <= bound), (path, pas, platform_heading)
        assert np.all(hdg > 0) if pas.strip().upper() == "ASCENDING" else np.all(hdg < 0)
