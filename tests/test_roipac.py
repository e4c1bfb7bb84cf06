"""ROI_PAC raw / SLC reader on generated files."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from daskinsar.errors import InputFileError
from daskinsar.geometry.ellipsoid import SPEED_OF_LIGHT as C
from daskinsar.io import roipac
from daskinsar.io.readers import detect_reader, get_reader

SOD0 = 12 * 3600 + 34 * 60 + 56.125  # first line 12:34:56.125


def _orbit_lines(n=12, dt=10.0, t_first=SOD0 - 40.0):
    """A circular equatorial orbit of radius 7.07e6 m: x, y, z, vx, vy, vz per time."""
    rad, w = 7.07e6, 7.5e3 / 7.07e6
    t = t_first + dt * np.arange(n)
    a = w * (t - SOD0)
    return np.column_stack([t, rad * np.cos(a), rad * np.sin(a), np.zeros(n),
                            -rad * w * np.sin(a), rad * w * np.cos(a), np.zeros(n)])


def _make(tmp: Path, kind="slc", n_lines=40, width=30, orbit=True, **extra) -> dict:
    rng = np.random.default_rng(3)
    rsc = {"WIDTH": width, "FILE_LENGTH": n_lines, "WAVELENGTH": 0.0562356, "PRF": 1679.9,
           "RANGE_PIXEL_SIZE": 7.9048, "STARTING_RANGE": 830123.25, "FIRST_LINE_UTC": SOD0,
           "FIRST_LINE_YEAR": 2003, "FIRST_LINE_MONTH_OF_YEAR": 5, "FIRST_LINE_DAY_OF_MONTH": 17,
           "PLATFORM": "ERS2", "ANTENNA_SIDE": -1, "DOPPLER_RANGE0": 0.1, "DOPPLER_RANGE1": 1e-5,
           "PULSE_LENGTH": 3.71e-5, "CHIRP_SLOPE": 4.189e11}
    if kind == "slc":
        data = (rng.standard_normal((n_lines, width)) + 1j * rng.standard_normal((n_lines, width))).astype("<c8")
        path = tmp / "scene.slc"
        path.write_bytes(data.tobytes())
    else:
        xmin = 12
        rsc.update(XMIN=xmin, XMAX=width, I_BIAS=15.5, Q_BIAS=15.5)
        data = rng.integers(0, 32, (n_lines, width), dtype=np.uint8)
        path = tmp / "scene.raw"
        path.write_bytes(data.tobytes())
    rsc.update(extra)
    roipac.write_rsc(str(path) + ".rsc", rsc)
    if orbit:
        np.savetxt(tmp / "hdr_data_points_030517.rsc", _orbit_lines())
    return {"path": path, "data": data, "rsc": rsc}


def test_slc_reader(tmp_path):
    g = _make(tmp_path)
    assert detect_reader(str(g["path"])).name == "ROI_PAC"
    assert get_reader("ROIPAC").name == "ROI_PAC"
    sc = roipac.read_roipac(str(g["path"]), chunks=7)
    a = sc.data["slc"]
    assert a.shape == (40, 30) and a.data.npartitions == 6
    assert np.array_equal(a.values, g["data"])
    assert np.array_equal(roipac.read_roipac(str(g["path"]) + ".rsc", chunks=1000).data["slc"].values, g["data"])
    m = sc.meta
    assert m.epoch.startswith("2003-05-17T12:34:56.125")
    assert m.look_side == "right" and m.level == "slc" and m.sensor == "ERS2"
    assert m.range_sampling_rate_hz == pytest.approx(C / (2 * 7.9048))
    assert sc.slant_range[0] == 830123.25 and sc.grid_spacing[1] == pytest.approx(7.9048)
    assert sc.grid_spacing[0] == pytest.approx(1 / 1679.9)
    # Doppler: DOPPLER_RANGEk are fractions of PRF per range pixel**k
    assert m.doppler_centroid(0.0, sc.slant_range[10]) == pytest.approx((0.1 + 1e-5 * 10) * 1679.9)
    assert m.chirp.bandwidth_hz == pytest.approx(4.189e11 * 3.71e-5)


def test_orbit_from_hdr_data_points(tmp_path):
    g = _make(tmp_path)
    sc = roipac.read_roipac(str(g["path"]))
    o = sc.orbit
    assert o.epoch == sc.meta.epoch
    assert np.allclose(o.time, _orbit_lines()[:, 0] - SOD0)
    # the synthetic orbit passes x-axis at the first line time: Hermite reproduces the circle there
    p, v = o.interpolate(np.array([0.0, 3.3]))
    w = 7.5e3 / 7.07e6
    assert np.allclose(p[0], [7.07e6, 0, 0], atol=1e-3)
    assert np.allclose(p[1], [7.07e6 * np.cos(w * 3.3), 7.07e6 * np.sin(w * 3.3), 0], atol=1e-3)
    assert np.linalg.norm(v[1]) == pytest.approx(7.5e3, rel=1e-9)


def test_orbit_midnight_crossing(tmp_path):
    g = _make(tmp_path, orbit=False, FIRST_LINE_UTC=86395.0)
    orb = _orbit_lines(t_first=86360.0)
    orb[:, 0] = np.mod(orb[:, 0], 86400.0)  # next-day times restart at 0
    np.savetxt(tmp_path / "scene.orb", orb)
    o = roipac.read_roipac(str(g["path"])).orbit
    assert np.all(np.diff(o.time) == pytest.approx(10.0)) and o.time[0] == pytest.approx(-35.0)


def test_raw_reader(tmp_path):
    g = _make(tmp_path, kind="raw", width=52)
    sc = roipac.read_roipac(str(g["path"]), chunks=9)
    v = sc.data["raw"].values
    assert v.shape == (40, 20) and sc.meta.level == "raw" and sc.meta.grid == "native_doppler"
    d = g["data"][:, 12:52].astype(np.float32)
    assert np.array_equal(v.real, d[:, 0::2] - 15.5) and np.array_equal(v.imag, d[:, 1::2] - 15.5)


def test_orbit_given_explicitly(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    g = _make(tmp_path / "a", orbit=False)
    o = roipac.read_roipac(str(_make(tmp_path / "b")["path"])).orbit
    sc = roipac.read_roipac(str(g["path"]), orbit=o)
    assert sc.orbit.epoch == sc.meta.epoch


# ---------------------------------------------------------------------------
CASES = ["rsc_empty", "rsc_binary", "rsc_missing_keys", "rsc_bad_number", "rsc_negative_width", "rsc_bad_line",
         "rsc_bad_date", "data_truncated", "data_missing", "no_orbit", "orbit_garbage", "orbit_one_line",
         "raw_bad_xmax", "no_rsc"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input(tmp_path, case):
    g = _make(tmp_path, kind="raw" if case == "raw_bad_xmax" else "slc")
    path, rsc = g["path"], Path(str(g["path"]) + ".rsc")
    named = str(rsc)
    text = rsc.read_text()
    if case == "rsc_empty":
        rsc.write_text("")
    elif case == "rsc_binary":
        rsc.write_bytes(b"\x00\x01\x02" * 50)
    elif case == "rsc_missing_keys":
        rsc.write_text("\n".join(ln for ln in text.splitlines() if not ln.startswith(("PRF", "WIDTH"))))
    elif case == "rsc_bad_number":
        rsc.write_text(text.replace("1679.9", "fast"))
    elif case == "rsc_negative_width":
        rsc.write_text(text.replace("WIDTH                                    30", "WIDTH -30"))
    elif case == "rsc_bad_line":
        rsc.write_text(text + "JUSTAKEY\n")
    elif case == "rsc_bad_date":
        rsc.write_text(text.replace("FIRST_LINE_MONTH_OF_YEAR                 5", "FIRST_LINE_MONTH_OF_YEAR 15"))
    elif case == "data_truncated":
        path.write_bytes(path.read_bytes()[:1000])
        named = str(path)
    elif case == "data_missing":
        path.unlink()
        named = str(path)
    elif case == "no_orbit":
        (tmp_path / "hdr_data_points_030517.rsc").unlink()
        named = str(path)
    elif case == "orbit_garbage":
        (tmp_path / "hdr_data_points_030517.rsc").write_bytes(b"\xff\xfe garbage \x00")
        named = "hdr_data_points_030517.rsc"
    elif case == "orbit_one_line":
        np.savetxt(tmp_path / "hdr_data_points_030517.rsc", _orbit_lines()[:1])
        named = "hdr_data_points_030517.rsc"
    elif case == "raw_bad_xmax":
        rsc.write_text(text.replace("XMAX                                     30", "XMAX 31"))
    elif case == "no_rsc":
        rsc.unlink()
        named = str(path)
    t0 = time.perf_counter()
    with pytest.raises(InputFileError) as ei:
        roipac.read_roipac(str(path)).data.compute()
    assert named in str(ei.value) and time.perf_counter() - t0 < 5
