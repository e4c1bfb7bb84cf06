"""Backward geocoding on the real UAVSAR geometry (orbit + DEM)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from daskinsar.errors import DemCoverageError
from daskinsar.geometry.rdr2geo import rdr2geo
from daskinsar.geometry.grid import RadarGrid, map_grid_for
from daskinsar.stages.geocode import geocode_dataset
from daskinsar.stages.pair import check_dem_covers
from daskinsar.geometry.dem import Dem
from daskinsar.stages.topo import topo_kernel


@pytest.fixture(scope="module")
def uavsar(data_dir):
    from daskinsar.io.nisar_h5 import read_nisar_rslc

    d = data_dir / "uavsar_winnipeg"
    scene = read_nisar_rslc(str(d / "winnipeg.h5"))
    with rasterio.open(d / "winnipeg_dem.tif") as src:
        tr = src.transform
        dem = Dem(src.read(1).astype(np.float64), tr.c + 0.5 * tr.a, tr.f + 0.5 * tr.e, tr.a, tr.e, "biquintic",
                  edge="clamp")
    topo = topo_kernel(scene.azimuth_time, scene.slant_range, orbit=scene.orbit,
                       wavelength_m=scene.meta.wavelength_m, look_side=scene.meta.look_side, dem=dem)
    return scene, dem, topo


@pytest.mark.parametrize("crs,posting", [("EPSG:4326", 5e-5), ("UTM", 5.0)])
def test_geocoded_lonlat_match_map_grid(uavsar, crs, posting):
    scene, dem, topo = uavsar
    radar = RadarGrid.from_coords(scene.azimuth_time, scene.slant_range)
    grid = map_grid_for(topo[0], topo[1], posting, crs)
    ds = geocode_dataset({"lon": topo[0], "lat": topo[1]}, radar, grid, dem=dem, orbit=scene.orbit,
                         wavelength_m=scene.meta.wavelength_m, tile=128)
    assert ds.rio.crs is not None
    lon = ds["lon"].values
    lat = ds["lat"].values
    valid = np.isfinite(lon)
    assert 0.3 < valid.mean() < 0.95  # the swath sits inside the north-up grid
    lon_grid, lat_grid = grid.lonlat(slice(None), slice(None))
    # bilinear interpolation of smooth lon/lat: the geocoded values name the output pixel they landed in
    if ds.rio.crs.is_geographic:
        err_x = (lon - lon_grid) / grid.dx
        err_y = (lat - lat_grid) / grid.dy
    else:
        from pyproj import Transformer

        x, y = Transformer.from_crs("EPSG:4326", grid.crs, always_xy=True).transform(lon, lat)
        xg, yg = np.meshgrid(grid.x, grid.y)
        err_x, err_y = (x - xg) / grid.dx, (y - yg) / grid.dy
    # skip the outermost ring of the swath (interpolation against the no-data edge)
    from scipy.ndimage import binary_erosion

    inner = binary_erosion(valid, iterations=3)
    ex, ey = np.abs(err_x[inner]), np.abs(err_y[inner])
    print(crs, "mean / 99% / max error (output px):", ex.mean(), np.percentile(ex, 99), ex.max(),
          ey.mean(), np.percentile(ey, 99), ey.max())
    # lon/lat carry the DEM's pixel-to-pixel relief, which bilinear interpolation
    # between radar pixels cannot follow exactly; the mapping itself is exact (see the flat case)
    assert ex.mean() < 0.02 and ey.mean() < 0.02
    assert np.percentile(ex, 99) < 0.1 and np.percentile(ey, 99) < 0.1


def test_geocoding_exact_on_flat_ground(uavsar):
    scene, _, _ = uavsar
    h = 245.0
    topo = topo_kernel(scene.azimuth_time, scene.slant_range, orbit=scene.orbit,
                       wavelength_m=scene.meta.wavelength_m, look_side=scene.meta.look_side, dem=h)
    radar = RadarGrid.from_coords(scene.azimuth_time, scene.slant_range)
    grid = map_grid_for(topo[0], topo[1], 5e-5)
    ds = geocode_dataset({"lon": topo[0], "lat": topo[1]}, radar, grid, dem=h, orbit=scene.orbit,
                         wavelength_m=scene.meta.wavelength_m, tile=128)
    from scipy.ndimage import binary_erosion

    inner = binary_erosion(np.isfinite(ds["lon"].values), iterations=3)
    lon_grid, lat_grid = grid.lonlat(slice(None), slice(None))
    assert np.max(np.abs(ds["lon"].values - lon_grid)[inner]) / grid.dx < 0.01
    assert np.max(np.abs(ds["lat"].values - lat_grid)[inner]) / abs(grid.dy) < 0.01


def test_geocoded_point_target_position(uavsar):
    scene, real_dem, topo = uavsar
    # a smooth hill (no pixel-scale relief, which would shift the blob's centroid by itself)
    lon0, lat0 = real_dem.lon0_deg, real_dem.lat0_deg
    ii, jj = np.mgrid[0:real_dem.heights_m.shape[0], 0:real_dem.heights_m.shape[1]]
    hill = 245.0 + 150.0 * np.exp(-((ii - 300) ** 2 + (jj - 350) ** 2) / (2 * 150.0**2))
    dem = Dem(hill, lon0, lat0, real_dem.dlon_deg, real_dem.dlat_deg, "bicubic", edge="clamp")
    radar = RadarGrid.from_coords(scene.azimuth_time, scene.slant_range)
    r0, c0 = 121.3, 87.6
    rr, cc = np.meshgrid(np.arange(scene.shape[0]), np.arange(scene.shape[1]), indexing="ij")
    blob = np.exp(-((rr - r0) ** 2 + (cc - c0) ** 2) / (2 * 1.5**2)).astype(np.float32)
    lon_t, lat_t, _ = rdr2geo(radar.t0_s + r0 * radar.dt_s, radar.r0_m + c0 * radar.dr_m, scene.orbit,
                              wavelength_m=scene.meta.wavelength_m, look_side=scene.meta.look_side, dem=dem)
    grid = map_grid_for(topo[0], topo[1], 2e-5)
    ds = geocode_dataset({"blob": blob}, radar, grid, dem=dem, orbit=scene.orbit,
                         wavelength_m=scene.meta.wavelength_m, tile=100)
    g = np.nan_to_num(ds["blob"].values)
    w = np.where(g > 0.05, g, 0)
    yy, xx = np.meshgrid(grid.y, grid.x, indexing="ij")
    lon_c = (w * xx).sum() / w.sum()
    lat_c = (w * yy).sum() / w.sum()
    ex, ey = (lon_c - lon_t) / grid.dx, (lat_c - lat_t) / grid.dy
    print("point target geocoding error (output px):", ex, ey)
    assert abs(ex) < 0.1 and abs(ey) < 0.1


def test_tiling_does_not_change_result(uavsar):
    scene, dem, topo = uavsar
    radar = RadarGrid.from_coords(scene.azimuth_time, scene.slant_range)
    grid = map_grid_for(topo[0], topo[1], 1e-4)
    kw = dict(dem=dem, orbit=scene.orbit, wavelength_m=scene.meta.wavelength_m)
    a = geocode_dataset({"hgt": topo[2].astype(np.float32)}, radar, grid, tile=64, **kw)["hgt"].values
    b = geocode_dataset({"hgt": topo[2].astype(np.float32)}, radar, grid, tile=1000, **kw)["hgt"].values
    np.testing.assert_array_equal(a, b)


def test_dem_not_covering_scene_names_the_file(uavsar):
    _, dem, topo = uavsar
    with pytest.raises(DemCoverageError, match="small_dem.tif: DEM covers"):
        check_dem_covers((-97.8, -97.7, 49.4, 49.5), topo[0], topo[1], "small_dem.tif")
    check_dem_covers(dem.bounds, topo[0], topo[1], "winnipeg_dem.tif")


def _ground_spacing_m(lon, lat):
    """(azimuth, range) pixel spacing (m): geodesic distances between neighbouring pixels (pyproj.Geod)."""
    from pyproj import Geod

    g = Geod(ellps="WGS84")
    out = []
    for axis in (0, 1):
        a = [np.take(x, range(0, x.shape[axis] - 1), axis=axis) for x in (lon, lat)]
        b = [np.take(x, range(1, x.shape[axis]), axis=axis) for x in (lon, lat)]
        _, _, d = g.inv(a[0], a[1], b[0], b[1])
        out.append(float(np.nanmedian(d)))
    return out


@pytest.mark.parametrize("looks", [(1, 1), (4, 4)])
def test_default_posting_follows_the_ground_spacing(uavsar, data_dir, looks):
    """The default posting is the multilooked grid's (finer) ground spacing: within a factor 1.5 of it on
    the east-west UAVSAR line (where a posting from latitude steps alone gave 0.5 m) and the Sentinel-1 pair."""
    from daskinsar.io.snap_zarr import open_snap_pair
    from daskinsar.stages.geocode import default_posting
    from daskinsar.stages.interferogram import multilook

    scene, _, topo = uavsar
    _, _, geo = open_snap_pair(data_dir / "sentinel1_pair_amsterdam")
    cases = {"UAVSAR": (topo[0], topo[1]),
             "Sentinel-1": (np.asarray(geo["longitude"].values, np.float64), np.asarray(geo["latitude"].values, np.float64))}
    for name, (lon, lat) in cases.items():
        lon_ml = multilook(lon, looks).compute()
        lat_ml = multilook(lat, looks).compute()
        spacing = min(_ground_spacing_m(lon_ml, lat_ml))
        posting_deg = default_posting(lon_ml, lat_ml, "EPSG:4326")
        posting_m = posting_deg * 111_132.0  # metres per degree of latitude (mid latitudes)
        utm = default_posting(lon_ml, lat_ml, "UTM")
        print(f"{name} {looks}: ground spacing {spacing:.2f} m, posting {posting_m:.2f} m ({posting_deg:.3g} deg), "
              f"UTM {utm:.2f} m")
        assert spacing / 1.5 <= posting_m <= spacing * 1.5, name
        assert spacing / 1.5 <= utm <= spacing * 1.5, name


def _smooth_ground(i, j):
    """lon/lat (deg) of a tilted, slightly curved ground grid: about 30 m x 18 m pixels at 35 N."""
    lon = -118.0 + 3.0e-4 * j + 8.0e-5 * i + 1.0e-9 * i * j
    lat = 35.0 - 1.6e-4 * i + 2.0e-5 * j + 2.0e-10 * j * j
    return lon, lat


def test_grid_choice_is_the_same_on_chunked_and_in_memory_points():
    """choose_grid / default_posting take dask arrays chunk by chunk: the same grid and posting as on the
    numpy arrays, NaN holes included, geographic and UTM."""
    import dask.array as da

    from daskinsar.stages.geocode import GeocodeParams, choose_grid

    i, j = np.mgrid[0:300, 0:410].astype(np.float64)
    lon, lat = _smooth_ground(i, j)
    lon[10:30, 50:90] = np.nan
    lat[200:210, :] = np.nan
    for crs in ("EPSG:4326", "UTM"):
        p = GeocodeParams(crs=crs)
        g_np, post_np = choose_grid(lon, lat, p)
        g_da, post_da = choose_grid(da.from_array(lon, chunks=(64, 100)), da.from_array(lat, chunks=(64, 100)), p)
        assert post_np == post_da and g_np == g_da, crs


def test_default_posting_of_a_large_grid_samples_lines_and_stays_in_bounded_memory():
    """Past POSTING_SAMPLE_PAIRS neighbour pairs the posting's medians use evenly spaced line pairs: within
    0.1% of the full medians, and a lazy 6144^2 grid of points (604 MiB as two float64 arrays) is never held
    in memory: the traced peak stays below 100 MiB (the posting's line sample, four arrays of at most
    POSTING_SAMPLE_PAIRS float64 = 32 MiB, plus chunk temporaries)."""
    import tracemalloc

    import dask
    import dask.array as da

    from daskinsar.stages.geocode import GeocodeParams, choose_grid, default_posting

    i, j = np.mgrid[0:700, 0:900].astype(np.float64)
    lon, lat = _smooth_ground(i, j)
    full = default_posting(lon, lat, "UTM")
    sampled = default_posting(lon, lat, "UTM", max_pairs=20_000)
    assert abs(sampled / full - 1) < 1e-3 and sampled != full

    n = 6144

    def block(block_info=None, which=0):
        (r0, r1), (c0, c1) = block_info[None]["array-location"]
        ii, jj = np.mgrid[r0:r1, c0:c1].astype(np.float64)
        return _smooth_ground(ii, jj)[which]

    lon_l = da.map_blocks(block, chunks=((512,) * 12, (512,) * 12), dtype=np.float64, which=0)
    lat_l = da.map_blocks(block, chunks=((512,) * 12, (512,) * 12), dtype=np.float64, which=1)
    with dask.config.set(scheduler="threads", num_workers=2):
        tracemalloc.start()
        grid, posting = choose_grid(lon_l, lat_l, GeocodeParams())
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < 100 * 2**20, peak / 2**20  # the grid: 2 n^2 float64 = 604 MiB
    # the extent of a smooth grid is that of its border: the same map grid from the border points alone
    e = np.arange(n, dtype=np.float64)
    z, last = np.zeros(n), np.full(n, n - 1.0)
    bi, bj = np.concatenate([z, last, e, e]), np.concatenate([e, e, z, last])
    b_lon, b_lat = _smooth_ground(bi, bj)
    border, _ = choose_grid(b_lon[None], b_lat[None], GeocodeParams(posting=posting))
    assert grid == border and 1e-4 < posting < 4e-4, (grid, border, posting)  # deg: the 18-30 m pixels
