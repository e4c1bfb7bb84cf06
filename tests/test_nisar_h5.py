"""NISAR RSLC HDF5 reader, against the real UAVSAR Winnipeg file (read independently with h5py)."""

from __future__ import annotations

import pickle
import shutil

import h5py
import numpy as np
import pytest

from daskinsar.errors import InputFileError
from daskinsar.geometry.ellipsoid import SPEED_OF_LIGHT, ecef_to_llh
from daskinsar.geometry.orbit import parse_utc, seconds_between
from daskinsar.io.nisar_h5 import parse_time_units, read_nisar_rslc, sniff_nisar_rslc
from daskinsar.io.readers import detect_reader, get_reader, read_scene
from daskinsar.io.store import open_scene, write_scene
from daskinsar.scene import LUT2D

PROD = "/science/LSAR/SLC"


@pytest.fixture(scope="module")
def h5path(data_dir):
    return data_dir / "uavsar_winnipeg" / "winnipeg.h5"


@pytest.fixture(scope="module")
def scene(h5path):
    return read_nisar_rslc(h5path)


@pytest.fixture(scope="module")
def raw(h5path):
    """The file read directly with h5py: the independent truth for the reader."""
    with h5py.File(h5path, "r") as f:
        sw = f[PROD + "/swaths"]
        fa = sw["frequencyA"]
        o = f[PROD + "/metadata/orbit"]
        return {
            "slc": fa["HH"][()],
            "t": sw["zeroDopplerTime"][()],
            "t_units": sw["zeroDopplerTime"].attrs["units"].decode(),
            "dt": float(sw["zeroDopplerTimeSpacing"][()]),
            "r": fa["slantRange"][()],
            "dr": float(fa["slantRangeSpacing"][()]),
            "fc": float(fa["processedCenterFrequency"][()]),
            "start": f["/science/LSAR/identification/zeroDopplerStartTime"][()].decode(),
            "o_t": o["time"][()],
            "o_units": o["time"].attrs["units"].decode(),
            "o_p": o["position"][()],
            "o_v": o["velocity"][()],
        }


def test_parse_time_units():
    assert parse_time_units(b"seconds since 2012-07-15 14:36:47") == "2012-07-15T14:36:47"
    assert parse_time_units("seconds since 2025-01-02T03:04:05.250000") == "2025-01-02T03:04:05.250000"
    with pytest.raises(InputFileError, match="f.h5"):
        parse_time_units("days since 2012-07-15", "f.h5", "x")


def test_winnipeg_shape_dtype_values(scene, raw):
    slc = scene.data["slc"]
    assert slc.dims == ("azimuth", "range")
    assert scene.shape == (250, 250) == raw["slc"].shape
    assert slc.dtype == np.complex64
    assert hasattr(slc.data, "dask"), "the SLC must be lazy"
    np.testing.assert_array_equal(slc.values, raw["slc"])


def test_winnipeg_coordinates(scene, raw):
    m = scene.meta
    # epoch from the zeroDopplerTime units; first line time checks against identification's start time
    assert m.epoch == "2012-07-15T14:36:47"
    assert raw["t_units"] == "seconds since 2012-07-15 14:36:47"
    first_line_utc = parse_utc(m.epoch) + np.timedelta64(int(round(scene.azimuth_time[0] * 1e9)), "ns")
    assert abs((first_line_utc - parse_utc(raw["start"])) / np.timedelta64(1, "ns")) < 1e3  # < 1 us
    np.testing.assert_array_equal(scene.azimuth_time, raw["t"])
    np.testing.assert_array_equal(scene.slant_range, raw["r"])
    assert scene.slant_range[0] == pytest.approx(13150.0574, abs=1e-6)
    dt, dr = scene.grid_spacing
    assert dt == pytest.approx(raw["dt"], rel=1e-7)
    assert dr == pytest.approx(raw["dr"], rel=1e-9)
    # uniform grids, consistent with the spacing attributes everywhere
    np.testing.assert_allclose(np.diff(scene.azimuth_time), raw["dt"], rtol=1e-6)
    np.testing.assert_allclose(np.diff(scene.slant_range), raw["dr"], rtol=1e-9)
    assert m.line_interval_s == raw["dt"] and m.range_spacing_m == raw["dr"]


def test_winnipeg_metadata(scene, raw, h5path):
    m = scene.meta
    assert m.sensor == "UAVSAR" and m.look_side == "left" and m.grid == "zero_doppler"
    assert m.polarization == "HH" and m.level == "slc"
    assert m.wavelength_m == pytest.approx(SPEED_OF_LIGHT / 1.243e9, rel=1e-12)
    assert m.wavelength_m == pytest.approx(SPEED_OF_LIGHT / raw["fc"], rel=1e-12)
    assert m.prf_hz * raw["dt"] == pytest.approx(1.0, rel=1e-12)
    assert m.range_sampling_rate_hz * 2 * raw["dr"] / SPEED_OF_LIGHT == pytest.approx(1.0, rel=1e-12)
    assert m.range_bandwidth_hz == pytest.approx(20e6)
    # the Doppler LUT of this file is zero everywhere (zero-Doppler processed); axes on the scene epoch
    assert isinstance(m.doppler_centroid, LUT2D)
    assert m.doppler_centroid.azimuth_time[0] <= scene.azimuth_time[0]
    assert m.doppler_centroid.azimuth_time[-1] >= scene.azimuth_time[-1]
    np.testing.assert_array_equal(m.doppler_centroid(scene.azimuth_time[:, None], scene.slant_range[None, :]), 0.0)
    assert isinstance(m.azimuth_fm_rate, LUT2D)
    assert str(h5path) in m.source_files[0]
    assert m.platform_velocity_mps == pytest.approx(220, abs=15)  # an aircraft


def test_winnipeg_orbit(scene, raw):
    orb = scene.orbit
    assert orb.epoch == scene.meta.epoch
    assert len(orb.time) == 100
    # orbit epoch converted from its own units
    shift = seconds_between(scene.meta.epoch, parse_time_units(raw["o_units"]))
    np.testing.assert_allclose(orb.time, raw["o_t"] + shift, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(orb.position, raw["o_p"])
    np.testing.assert_array_equal(orb.velocity, raw["o_v"])
    orb.check_coverage(scene.azimuth_time[0], scene.azimuth_time[-1])
    # velocity is the time derivative of position: a position-only spline agrees with the given
    # velocities, and the Hermite interpolation (positions + velocities) with the spline in between
    from scipy.interpolate import CubicSpline

    cs = CubicSpline(orb.time, orb.position)
    inner = slice(3, -3)
    np.testing.assert_allclose(cs(orb.time, 1)[inner], orb.velocity[inner], rtol=0, atol=1e-4)
    tm = 0.5 * (orb.time[1:] + orb.time[:-1])[inner]
    p, v = orb.interpolate(tm)
    np.testing.assert_allclose(p, cs(tm), rtol=0, atol=1e-3)
    np.testing.assert_allclose(v, cs(tm, 1), rtol=0, atol=1e-4)
    # an aircraft at ~12-13 km altitude over Manitoba
    p0, _ = orb.interpolate(scene.azimuth_time[:1])
    lon, lat, hgt = ecef_to_llh(p0[0])
    assert -100 < lon < -95 and 48 < lat < 51 and 10e3 < hgt < 15e3


def test_registry(h5path):
    assert sniff_nisar_rslc(str(h5path))
    assert detect_reader(str(h5path)).name == "NISAR_RSLC"
    assert get_reader("uavsar_rslc") is get_reader("NISAR_RSLC")
    s = read_scene(str(h5path), sensor="UAVSAR_RSLC")
    assert s.shape == (250, 250)


def test_chunking_and_distributed_safety(h5path, raw):
    import dask

    s = read_nisar_rslc(h5path, chunks=(64, 100))
    arr = s.data["slc"].data
    assert arr.chunks[0][0] == 64 and arr.chunks[1][0] == 100
    graph = dict(arr.__dask_graph__())
    assert all(k[0].startswith("read-nisar-rslc") for k in graph if isinstance(k, tuple))
    blob = pickle.dumps(graph)  # no h5py handle in the graph (those refuse to pickle)
    assert b"h5py._hl" not in blob
    # each task opens the file itself: works in separate processes
    with dask.config.set({"scheduler": "processes", "num_workers": 2, "multiprocessing.context": "fork"}):
        got = arr[100:200, 30:230].compute()
    np.testing.assert_array_equal(got, raw["slc"][100:200, 30:230])
    np.testing.assert_array_equal(arr.compute(), read_nisar_rslc(h5path).data["slc"].values)


def test_ingest_round_trip(scene, tmp_path):
    url = write_scene(scene, str(tmp_path / "ref.zarr"))
    back = open_scene(url)
    np.testing.assert_array_equal(back.data["slc"].values, scene.data["slc"].values)
    assert back.data["slc"].dtype == np.complex64
    np.testing.assert_array_equal(back.azimuth_time, scene.azimuth_time)
    np.testing.assert_array_equal(back.slant_range, scene.slant_range)
    assert back.meta == scene.meta
    assert back.orbit.epoch == scene.orbit.epoch
    for a in ("time", "position", "velocity"):
        np.testing.assert_array_equal(getattr(back.orbit, a), getattr(scene.orbit, a))


def test_option_errors_name_the_file(h5path):
    with pytest.raises(InputFileError, match=r"winnipeg\.h5.*HH"):
        read_nisar_rslc(h5path, polarization="VV")
    # frequency B lists four polarisations but holds no image layers in this file
    with pytest.raises(InputFileError, match=r"winnipeg\.h5.*frequencyB/HH"):
        read_nisar_rslc(h5path, frequency="B")
    with pytest.raises(InputFileError, match=r"winnipeg\.h5.*frequencyC"):
        read_nisar_rslc(h5path, frequency="C")


def _assert_input_error(path, *words, sniffable=False):
    with pytest.raises(InputFileError) as ei:
        read_nisar_rslc(path)
    msg = str(ei.value)
    assert str(path) in msg
    assert "Traceback" not in msg and ei.value.__cause__ is None
    for w in words:
        assert w in msg, msg
    assert sniff_nisar_rslc(str(path)) is sniffable


def test_truncated_file(h5path, tmp_path):
    data = h5path.read_bytes()
    bad = tmp_path / "truncated.h5"
    bad.write_bytes(data[: len(data) // 2])
    _assert_input_error(bad, "truncated")


def test_not_hdf5_and_empty(tmp_path):
    txt = tmp_path / "notes.h5"
    txt.write_text("this is not an HDF5 file\n" * 10)
    _assert_input_error(txt, "HDF5")
    empty = tmp_path / "empty.h5"
    empty.write_bytes(b"")
    _assert_input_error(empty, "empty")
    _assert_input_error(tmp_path / "missing.h5", "no such file")


def test_hdf5_without_slc_group(tmp_path):
    p = tmp_path / "l0b_like.h5"
    with h5py.File(p, "w") as f:
        f.create_group("/science/LSAR/RRSD/swaths")
    _assert_input_error(p, "RSLC", "RRSD")


def test_hdf5_wrong_layout(h5path, tmp_path):
    """A copy of the real file with the azimuth time axis removed, and one with its units garbled."""
    p = tmp_path / "no_time.h5"
    shutil.copy(h5path, p)
    with h5py.File(p, "r+") as f:
        del f[PROD + "/swaths/zeroDopplerTime"]
    _assert_input_error(p, "zeroDopplerTime", sniffable=True)  # the layout is only checked on reading
    q = tmp_path / "bad_units.h5"
    shutil.copy(h5path, q)
    with h5py.File(q, "r+") as f:
        f[PROD + "/swaths/zeroDopplerTime"].attrs["units"] = "fortnights"
    with pytest.raises(InputFileError, match=r"bad_units\.h5.*seconds since"):
        read_nisar_rslc(q)


def test_grid_and_orbit_agree_with_isce2_topo(scene, data_dir):
    """ISCE2's rdr2geo output for every pixel (independent truth) lies at exactly our slant range from the
    orbit position at our azimuth time, and at zero Doppler there: this pins the azimuth time epoch, the
    first slant range, both spacings and the orbit epoch (one line = 6 m, one range bin = 6.2 m)."""
    from daskinsar.geometry.ellipsoid import llh_to_ecef

    topo = data_dir / "uavsar_winnipeg" / "topo_isce2"
    lon, lat, hgt = (np.fromfile(topo / f"{c}.rdr", "<f8").reshape(scene.shape) for c in "xyz")
    target = llh_to_ecef(lon, lat, hgt)
    pos, vel = scene.orbit.interpolate(scene.azimuth_time)
    look = target - pos[:, None, :]
    rng = np.linalg.norm(look, axis=-1)
    np.testing.assert_allclose(rng, np.broadcast_to(scene.slant_range, scene.shape), rtol=0, atol=1e-3)
    along_track = (look * vel[:, None, :]).sum(-1) / np.linalg.norm(vel, axis=-1)[:, None]
    np.testing.assert_allclose(along_track, 0.0, rtol=0, atol=1e-3)
    # left-looking: the targets lie to the left of the flight direction
    up = pos / np.linalg.norm(pos, axis=-1, keepdims=True)
    side = np.einsum("ic,ijc->ij", np.cross(up, vel), look)
    assert np.all(side > 0) and scene.meta.look_side == "left"


def test_chunk_choice_follows_hdf5_chunks():
    from daskinsar.io.nisar_h5 import _choose_chunks

    assert _choose_chunks((5000, 8000), (128, 512)) == (1024, 1024)
    assert _choose_chunks((5000, 8000), (300, 700)) == (900, 700)  # whole multiples of the HDF5 chunks
    assert _choose_chunks((5000, 8000), None) == (1024, 1024)
    assert _choose_chunks((250, 250), (64, 128)) == (250, 250)


def test_complex32_chunked_layer(h5path, tmp_path, raw):
    """NISAR products may store the SLC as 'complex32' (compound r, i of float16), chunked."""
    p = tmp_path / "c32.h5"
    shutil.copy(h5path, p)
    c32 = np.dtype([("r", np.float16), ("i", np.float16)])
    with h5py.File(p, "r+") as f:
        grp = f[PROD + "/swaths/frequencyA"]
        del grp["HH"]
        data = np.empty(raw["slc"].shape, c32)
        data["r"], data["i"] = raw["slc"].real, raw["slc"].imag
        grp.create_dataset("HH", data=data, chunks=(50, 125))
    s = read_nisar_rslc(p, chunks=(100, 125))
    got = s.data["slc"].values
    assert got.dtype == np.complex64
    expect = raw["slc"].real.astype(np.float16).astype(np.float32) + 1j * raw["slc"].imag.astype(np.float16)
    np.testing.assert_array_equal(got, expect.astype(np.complex64))
    assert read_nisar_rslc(p).data["slc"].data.chunks == ((250,), (250,))


def test_doppler_lut_exact_at_nodes_and_biquintic_between(h5path, tmp_path):
    """The Doppler centroid LUT is read whole (378 x 225 nodes): equal to the file at every node, and
    between nodes equal to ISCE3's biquintic (the local natural cubic spline through the 6 x 6 nodes
    floor-1 .. floor+4, separably), computed here independently with scipy. The real file's LUT is all
    zeros, so the file's axes get a squinted centroid with 0.5 Hz of node-to-node noise."""
    from scipy.interpolate import CubicSpline

    noise = np.random.default_rng(11).normal(0.0, 0.5, (378, 225))
    h5path = _with_doppler_and_geolocation(h5path, tmp_path / "squint.h5", lambda t, r: _squint_hz(t, r) + noise, None)
    scene = read_nisar_rslc(str(h5path))
    lut = scene.meta.doppler_centroid
    with h5py.File(h5path, "r") as f:
        par = f["/science/LSAR/SLC/metadata/processingInformation/parameters"]
        v = par["frequencyA/dopplerCentroid"][()]
        r = par["slantRange"][()]
    t = np.asarray(lut.azimuth_time)
    assert lut.method == "biquintic" and np.asarray(lut.values).shape == v.shape == (len(t), len(r))
    tt, rr = np.meshgrid(t, r, indexing="ij")
    np.testing.assert_allclose(lut(tt, rr), v, rtol=0, atol=1e-9 * np.abs(v).max())
    rng = np.random.default_rng(3)
    ti = t[5] + rng.random(200) * (t[-6] - t[5])
    ri = r[5] + rng.random(200) * (r[-6] - r[5])

    def stencil(nodes, x):
        k = int(np.floor((x - nodes[0]) / (nodes[1] - nodes[0])))
        return slice(k - 1, k + 5)

    def biquintic(a, b):
        st, sr = stencil(t, a), stencil(r, b)
        along_range = [CubicSpline(r[sr], v[i, sr], bc_type="natural")(b) for i in range(st.start, st.stop)]
        return CubicSpline(t[st], along_range, bc_type="natural")(a)

    want = np.array([biquintic(a, b) for a, b in zip(ti, ri)])
    np.testing.assert_allclose(lut(ti, ri), want, rtol=0, atol=1e-9 * np.abs(v).max() + 1e-9)


def _with_doppler_and_geolocation(h5path, out, doppler_hz, cube_doppler):
    """A copy of the file with its Doppler centroid LUT replaced by ``doppler_hz(t, r)`` (on the LUT's
    own axes; the real file's LUT is all zeros) and, when ``cube_doppler`` is given, a NISAR
    geolocation grid cube (3 heights x 6 times x 5 ranges, EPSG:4326) whose ground points look at that
    Doppler (Hz, a function of (t, r), on the scene's epoch)."""
    from daskinsar.geometry.rdr2geo import rdr2geo

    shutil.copy(h5path, out)
    scene = read_nisar_rslc(h5path)
    with h5py.File(out, "r+") as f:
        meta = f[PROD + "/metadata"]
        par = meta["processingInformation/parameters"]
        # the LUT's axis is on the swath's epoch (the units attributes agree), which the scene's time keeps
        assert par["zeroDopplerTime"].attrs["units"] == f[PROD + "/swaths/zeroDopplerTime"].attrs["units"]
        tt, rr = np.meshgrid(par["zeroDopplerTime"][()], par["slantRange"][()], indexing="ij")
        par["frequencyA/dopplerCentroid"][...] = doppler_hz(tt, rr)
        del meta["geolocationGrid"]
        if cube_doppler is None:
            return out
        g = meta.create_group("geolocationGrid")
        t = np.linspace(float(scene.azimuth_time[0]), float(scene.azimuth_time[-1]), 6)
        r = np.linspace(float(scene.slant_range[0]), float(scene.slant_range[-1]), 5)
        h = np.array([0.0, 200.0, 400.0])
        T, R = np.meshgrid(t, r, indexing="ij")

        # the cube's Doppler as the geometry takes it: a LUT2D dense enough (50 x 50 nodes, bilinear) to
        # follow the function within 1e-3 Hz
        tn, rn = np.linspace(t[0], t[-1], 50), np.linspace(r[0], r[-1], 50)
        dense = LUT2D(azimuth_time=tn.tolist(), slant_range=rn.tolist(),
                      values=cube_doppler(*np.meshgrid(tn, rn, indexing="ij")).tolist())
        cube = [rdr2geo(T, R, scene.orbit, wavelength_m=scene.meta.wavelength_m, look_side=scene.meta.look_side,
                        dem=hk, doppler=dense) for hk in h]
        g["coordinateX"] = np.stack([c[0] for c in cube])
        g["coordinateY"] = np.stack([c[1] for c in cube])
        g["heightAboveEllipsoid"] = h
        g["slantRange"] = r
        g["zeroDopplerTime"] = t
        g["zeroDopplerTime"].attrs["units"] = f"seconds since {scene.meta.epoch.replace('T', ' ')}".encode()
        g["epsg"] = np.int32(4326)
    return out


def _squint_hz(t, r):
    """A smooth, squinted Doppler centroid (Hz) of the scene's times (s) and ranges (m)."""
    return 30.0 + 6.0 * np.sin(0.2 * (t - 172803.0)) + 2.0e-4 * (r - 14000.0)


def test_grid_doppler_read_from_the_geolocation_grid(h5path, tmp_path):
    """The layout always says zeroDopplerTime; the file's geolocation grid decides. Points at zero
    Doppler: a zero-Doppler grid; points at the Doppler centroid: a native-Doppler grid whose Doppler
    is the centroid LUT (and rdr2geo with it lands on the cube's points); at neither: refused."""
    from daskinsar.geometry.rdr2geo import rdr2geo

    zero = read_nisar_rslc(_with_doppler_and_geolocation(h5path, tmp_path / "zero.h5", _squint_hz,
                                                         lambda t, r: np.zeros_like(t)))
    assert zero.meta.grid == "zero_doppler" and "zero Doppler" in zero.meta.extra["grid_evidence"]
    assert zero.meta.grid_doppler_model is None

    native_file = _with_doppler_and_geolocation(h5path, tmp_path / "native.h5", _squint_hz, _squint_hz)
    native = read_nisar_rslc(native_file)
    assert native.meta.grid == "native_doppler" and "Doppler centroid" in native.meta.extra["grid_evidence"]
    assert native.meta.grid_doppler_model == native.meta.doppler_centroid
    with h5py.File(native_file, "r") as f:
        g = f[PROD + "/metadata/geolocationGrid"]
        T, R = np.meshgrid(g["zeroDopplerTime"][()], g["slantRange"][()], indexing="ij")
        lon, lat, _ = rdr2geo(T, R, native.orbit, wavelength_m=native.meta.wavelength_m,
                              look_side=native.meta.look_side, dem=200.0, doppler=native.meta.grid_doppler_model)
        # metres apart; the LUT's biquintic interpolation of the squint is good to 1e-3 Hz (about 7 mm here)
        east = np.radians(lon - g["coordinateX"][1]) * 6.378e6 * np.cos(np.radians(lat))
        north = np.radians(lat - g["coordinateY"][1]) * 6.357e6
        assert np.max(np.hypot(east, north)) < 0.02

    half = _with_doppler_and_geolocation(h5path, tmp_path / "half.h5", _squint_hz, lambda t, r: 0.5 * _squint_hz(t, r))
    _assert_input_error(half, "half.h5", "zero Doppler or at the file's dopplerCentroid", sniffable=True)

    # no cube: the layout's word, said in the evidence
    bare = read_nisar_rslc(_with_doppler_and_geolocation(h5path, tmp_path / "bare.h5", _squint_hz, None))
    assert bare.meta.grid == "zero_doppler" and "no geolocation grid" in bare.meta.extra["grid_evidence"]
