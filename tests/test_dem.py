"""DEM reading, interpolation, coverage, cropping and writing."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from daskinsar.errors import DemCoverageError, InputFileError
from daskinsar.io.dem import geoid_grid_available, open_dem, write_dem_geotiff

METHODS = ("nearest", "bilinear", "bicubic", "biquintic")


@pytest.fixture(scope="module")
def winnipeg_dem(data_dir):
    return data_dir / "uavsar_winnipeg" / "winnipeg_dem.tif"


@pytest.fixture(scope="module")
def rome_dem(data_dir):
    return data_dir / "dem" / "Rome-30m-DEM.tif"


def _truth(path):
    """Heights and pixel-centre coordinates computed directly with rasterio."""
    with rasterio.open(path) as src:
        a = src.read(1).astype(np.float64)
        if src.nodata is not None:
            a[a == src.nodata] = np.nan
        t = src.transform
        lon = t.c + t.a * (np.arange(src.width) + 0.5)
        lat = t.f + t.e * (np.arange(src.height) + 0.5)
    return a, lon, lat


@pytest.mark.parametrize("name,lo,hi,ref", [("winnipeg", 200, 300, "unspecified"), ("rome", 0, 200, "EGM96")])
def test_read_real_dems(name, lo, hi, ref, winnipeg_dem, rome_dem):
    path = winnipeg_dem if name == "winnipeg" else rome_dem
    if ref == "EGM96":  # the file's own heights (no datum conversion): the file says EGM96, we say ellipsoid
        with pytest.warns(UserWarning, match="EGM96"):
            dem = open_dem(path, vertical_datum="ellipsoid").to_xarray()
    else:
        dem = open_dem(path).to_xarray()
    a, lon, lat = _truth(path)
    assert dem.dims == ("y", "x") and dem.shape == a.shape
    assert dem.dtype == np.float32
    assert hasattr(dem.data, "dask")
    np.testing.assert_allclose(dem["x"].values, lon, rtol=0, atol=1e-10)
    np.testing.assert_allclose(dem["y"].values, lat, rtol=0, atol=1e-10)
    v = dem.values
    np.testing.assert_array_equal(np.isnan(v), np.isnan(a))
    np.testing.assert_allclose(v, a, rtol=0, atol=0, equal_nan=True)
    assert lo < np.nanmin(v) and np.nanmax(v) < hi  # plausible terrain heights, nodata not leaking
    assert ref in dem.attrs["height_reference"]
    assert str(path) in dem.attrs["source"]
    # chunking does not change what is read
    np.testing.assert_array_equal(open_dem(path, chunks=256, vertical_datum="ellipsoid").to_xarray().values, v)


def test_offline_geoid_grid_available():
    """Changed meaning: the geoid correction is now offered, so an offline EGM96 grid must always be there
    (PROJ's when installed, else the compact one shipped in the package)."""
    from daskinsar.geometry.geoid import compact_grid_path

    assert compact_grid_path("EGM96") is not None
    assert geoid_grid_available() in (compact_grid_path("EGM96"), geoid_grid_available("EGM96"))
    assert geoid_grid_available() is not None


@pytest.mark.parametrize("method", METHODS)
def test_exact_at_pixel_centres(method, rome_dem):
    interp = open_dem(rome_dem, interpolation=method)
    dem = interp.to_xarray()
    v = dem.values.astype(np.float64)
    rng = np.random.default_rng(1)
    i = rng.integers(0, v.shape[0], 500)
    j = rng.integers(0, v.shape[1], 500)
    h = interp(dem["x"].values[j], dem["y"].values[i])
    np.testing.assert_allclose(h, v[i, j], rtol=0, atol=1e-6)


def test_bilinear_between_centres(winnipeg_dem):
    interp = open_dem(winnipeg_dem, interpolation="bilinear")
    dem = interp.to_xarray()
    v = dem.values.astype(np.float64)
    x, y = dem["x"].values, dem["y"].values
    rng = np.random.default_rng(2)
    i = rng.integers(0, v.shape[0] - 1, 1000)
    j = rng.integers(0, v.shape[1] - 1, 1000)
    fy, fx = rng.random(1000), rng.random(1000)
    lon = x[j] + fx * (x[j + 1] - x[j])
    lat = y[i] + fy * (y[i + 1] - y[i])
    expect = (v[i, j] * (1 - fy) * (1 - fx) + v[i, j + 1] * (1 - fy) * fx
              + v[i + 1, j] * fy * (1 - fx) + v[i + 1, j + 1] * fy * fx)
    np.testing.assert_allclose(interp(lon, lat), expect, rtol=0, atol=1e-6)


def test_splines_reproduce_smooth_surfaces(tmp_path):
    """Bicubic/biquintic are exact for a plane and far closer than bilinear on a smooth hill."""
    lon0, lat0, d = 10.0, 45.0, 1e-3
    n = 80
    lon = lon0 + d * np.arange(n)
    lat = lat0 - d * np.arange(n)

    def hill(lo, la):
        return 500 + 300 * np.exp(-((lo - lon[40]) ** 2 + (la - lat[40]) ** 2) / (2 * (8 * d) ** 2)) + 2e3 * (lo - lon0)

    grid = hill(lon[None, :], lat[:, None])
    path = write_dem_geotiff(grid, lon0, lat0, d, -d, tmp_path / "hill.tif", dtype=np.float64)
    dem = open_dem(path)
    assert dem.dtype == np.float64
    rng = np.random.default_rng(3)
    qlon = lon[10] + rng.random(2000) * (lon[70] - lon[10])
    qlat = lat[70] + rng.random(2000) * (lat[10] - lat[70])
    truth = hill(qlon, qlat)
    err = {m: np.abs(dem.replace(method=m)(qlon, qlat) - truth).max() for m in ("bilinear", "bicubic", "biquintic")}
    print("max error on a smooth hill (m):", err)
    assert err["bicubic"] < err["bilinear"] / 10
    # ISCE's biquintic (local natural spline) is a different trade-off from Keys' cubic:
    # both are an order of magnitude better than bilinear on smooth relief
    assert err["biquintic"] < err["bilinear"] / 10
    plane = write_dem_geotiff(3.0 + 2e3 * (lon[None, :] - lon0) - 5e2 * (lat[:, None] - lat0), lon0, lat0, d, -d,
                              tmp_path / "plane.tif", dtype=np.float64)
    pdem = open_dem(plane)
    for m in ("bilinear", "bicubic", "biquintic"):
        h = pdem.replace(method=m)(qlon, qlat)
        np.testing.assert_allclose(h, 3.0 + 2e3 * (qlon - lon0) - 5e2 * (qlat - lat0), rtol=0, atol=1e-6)


def test_reproduces_isce2_topo_heights(data_dir, winnipeg_dem):
    """ISCE2's topo output z.rdr is the DEM height at its own (x.rdr, y.rdr): biquintic interpolation of the
    same DEM at those points reproduces it, with samples at pixel centres (the corner convention is far off)."""
    topo = data_dir / "uavsar_winnipeg" / "topo_isce2"
    lon = np.fromfile(topo / "x.rdr", "<f8")
    lat = np.fromfile(topo / "y.rdr", "<f8")
    hgt = np.fromfile(topo / "z.rdr", "<f8")
    centre = open_dem(winnipeg_dem, interpolation="biquintic")
    centre.check_covers(lon, lat)
    mae = np.mean(np.abs(centre(lon, lat) - hgt))
    corner = np.mean(np.abs(open_dem(winnipeg_dem, interpolation="biquintic", sample_at="corner")(lon, lat) - hgt))
    # ISCE's own biquintic, reproduced: millimetres (float32 DEM, float64 z.rdr)
    assert mae < 0.002, mae
    assert corner > 5 * mae


def test_coverage_error_names_file(winnipeg_dem):
    interp = open_dem(winnipeg_dem, interpolation="bilinear")
    lo0, lo1, la0, la1 = interp.bounds
    interp.check_covers([lo0 + 0.01, lo1 - 0.01], [la0 + 0.01, la1 - 0.01])
    interp.check_covers([lo0, lo1], [la0, la1])
    with pytest.raises(DemCoverageError) as ei:
        interp.check_covers([lo0 - 0.5, lo1], [la0, la1 + 0.25])
    msg = str(ei.value)
    assert str(winnipeg_dem) in msg
    assert f"{lo0 - 0.5:.6f}" in msg and f"{lo0:.6f}" in msg and f"{la1 + 0.25:.6f}" in msg
    with pytest.raises(DemCoverageError, match="winnipeg_dem.tif"):
        interp.check_covers([lo0, lo1], [la0 - 1, la1])
    # outside points: NaN by default (edge="fill"), an error when the points are checked first
    assert np.isnan(interp(lo0 - 0.1, la0))
    with pytest.raises(DemCoverageError, match="winnipeg_dem.tif"):
        interp.check_covers(np.array([lo0 + 0.01, lo1 + 0.1]), np.array([la0 + 0.01] * 2), what="request")


@pytest.mark.parametrize("method,atol", [("bilinear", 1e-9), ("bicubic", 1e-6), ("biquintic", 1e-6)])
def test_cropped_equals_full(method, atol, rome_dem):
    full = open_dem(rome_dem, interpolation=method)
    bounds = (12.47, 41.97, 12.50, 42.01)  # lon_min, lat_min, lon_max, lat_max
    part = full.window(bounds[0], bounds[2], bounds[1], bounds[3])
    # the DEM stays lazy; the window is read (numpy) and smaller
    assert hasattr(full.heights_m, "dask") and part.is_numpy
    assert part.shape[0] < full.shape[0] and part.shape[1] < full.shape[1]
    part.check_covers([bounds[0], bounds[2]], [bounds[1], bounds[3]])
    rng = np.random.default_rng(4)
    lon = bounds[0] + rng.random(3000) * (bounds[2] - bounds[0])
    lat = bounds[1] + rng.random(3000) * (bounds[3] - bounds[1])
    np.testing.assert_allclose(part(lon, lat), full(lon, lat), rtol=0, atol=atol)


def test_nodata_hole(tmp_path):
    d = 1e-3
    grid = np.fromfunction(lambda i, j: 100 + i + 2 * j, (40, 40))
    grid[20, 20] = np.nan
    hole = open_dem(write_dem_geotiff(grid, 0.0, 1.0, d, -d, tmp_path / "hole.tif"))
    dem = hole.to_xarray()
    assert np.isnan(dem.values[20, 20]) and np.isfinite(dem.values).sum() == 40 * 40 - 1
    x, y = dem["x"].values, dem["y"].values
    for m in METHODS[1:]:
        interp = hole.replace(method=m)
        assert np.isnan(interp(x[20] + 0.3 * d, y[20]))       # touches the hole
        far = interp(x[5] + 0.5 * d, y[5] - 0.5 * d)          # far from it: the plane
        assert far == pytest.approx(100 + 5.5 + 2 * 5.5, abs=1e-4)


def test_write_round_trip(tmp_path):
    rng = np.random.default_rng(5)
    grid = rng.normal(100, 20, (30, 50)).astype(np.float32)
    lon0, lat0, dlon, dlat = -120.5, 38.2, 2.5e-4, -3e-4
    path = write_dem_geotiff(grid, lon0, lat0, dlon, dlat, tmp_path / "sim.tif")
    dem = open_dem(path).to_xarray()
    np.testing.assert_allclose(dem["x"].values, lon0 + dlon * np.arange(50), rtol=0, atol=1e-9)
    np.testing.assert_allclose(dem["y"].values, lat0 + dlat * np.arange(30), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(dem.values, grid)
    assert dem.attrs["area_or_point"] == "Area"
    with pytest.warns(UserWarning, match="EGM96"):
        assert "EGM96" in open_dem(write_dem_geotiff(grid, lon0, lat0, dlon, dlat, tmp_path / "g.tif",
                                                     height_reference="egm96"),
                                   vertical_datum="ellipsoid").attrs["height_reference"]


def test_projected_dem_is_reprojected(tmp_path):
    """A UTM DEM comes back on a lon/lat grid with the same heights of a plane."""
    from rasterio.transform import from_origin

    e0, n0, res = 500000.0, 4650000.0, 30.0
    e = e0 + res * (np.arange(60) + 0.5)
    n = n0 - res * (np.arange(50) + 0.5)
    grid = (50 + 0.01 * (e[None, :] - e0) + 0.02 * (n0 - n[:, None])).astype(np.float32)
    path = tmp_path / "utm.tif"
    with rasterio.open(path, "w", driver="GTiff", width=60, height=50, count=1, dtype="float32",
                       crs="EPSG:32633", transform=from_origin(e0, n0, res, res), nodata=np.nan) as dst:
        dst.write(grid, 1)
    dem = open_dem(path).to_xarray()
    assert dem.attrs["crs"] == "EPSG:4326" and -180 <= float(dem.x.min()) and float(dem.x.max()) <= 180
    from pyproj import Transformer

    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32633", always_xy=True)
    lon, lat = np.meshgrid(dem.x.values, dem.y.values)
    ee, nn = to_utm.transform(lon, lat)
    ok = np.isfinite(dem.values)
    assert ok.mean() > 0.5
    # GDAL's bilinear kernel is truncated within a pixel of the source edge: compare the interior
    core = np.zeros_like(ok)
    core[2:-2, 2:-2] = True
    core &= np.isfinite(dem.values)
    for ax in (0, 1):
        core &= np.roll(ok, 2, ax) & np.roll(ok, -2, ax)
    ok = core
    assert ok.mean() > 0.4
    # GDAL's warper places samples to ~0.1 px (0.6 m/px slope here); a wrong CRS or axis order is off by metres
    np.testing.assert_allclose(dem.values[ok], (50 + 0.01 * (ee - e0) + 0.02 * (n0 - nn))[ok], atol=0.15 * 0.6)


def test_bad_files_raise_input_error(tmp_path):
    bad = tmp_path / "dem.tif"
    bad.write_text("not a raster")
    with pytest.raises(InputFileError, match="dem.tif"):
        open_dem(bad)
    with pytest.raises(InputFileError, match="nothing.tif.*no such file"):
        open_dem(tmp_path / "nothing.tif")
