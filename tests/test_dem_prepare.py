"""prepare_dem (crop, datum, voids, Zarr store), its memory bound on a 24000^2 DEM, the DEM input
model, and the download of a DEM from a local tile server (127.0.0.1, never the internet)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pydantic
import pytest
import rasterio
import zarr
from dem_test_helpers import copernicus_tiles, serve, synthetic_geoid_n
from rasterio.transform import from_origin

from daskinsar.errors import DemCoverageError
from daskinsar.io.dem import DemInput, open_dem, write_dem_geotiff
from daskinsar.io.dem_fetch import DemDownloadError
from daskinsar.io.dem_prepare import fill_voids_laplace, open_dem_store, prepare_dem

D = 1.0 / 3600


def test_prepare_rome(data_dir, tmp_path):
    rome = data_dir / "dem" / "Rome-30m-DEM.tif"
    box = (12.47, 12.50, 41.97, 42.01)
    dem = prepare_dem(DemInput(path=str(rome), interpolation="bicubic"), *box, tmp_path / "run" / "dem.zarr")
    assert isinstance(dem.heights_m, zarr.Array) and dem.dtype == np.float32 and dem.method == "bicubic"
    lo0, lo1, la0, la1 = dem.bounds
    assert lo0 < box[0] and lo1 > box[1] and la0 < box[2] and la1 > box[3]
    assert dem.shape[0] < 360 and dem.shape[1] < 360  # cropped
    a = dem.attrs
    assert a["source"] == str(rome) and a["vertical_datum"] == "egm96" and a["voids_in_footprint"] == 0
    assert "EGM96 -> WGS84 ellipsoid" in a["datum_conversion"]
    full = open_dem(rome, interpolation="bicubic")
    rng = np.random.default_rng(0)
    lon = box[0] + (box[1] - box[0]) * rng.random(2000)
    lat = box[2] + (box[3] - box[2]) * rng.random(2000)
    np.testing.assert_allclose(dem(lon, lat), full(lon, lat), rtol=0, atol=1e-9)
    again = open_dem_store(tmp_path / "run" / "dem.zarr")
    assert again.height_range() == dem.height_range() and again.ref_height_m == pytest.approx(a["mean_m"])
    assert again.height_range() == (float(np.nanmin(again.heights_m[:])), float(np.nanmax(again.heights_m[:])))
    with pytest.raises(DemCoverageError, match="Rome-30m-DEM.tif.*scene footprint"):
        prepare_dem(str(rome), 12.4, 12.5, 41.97, 42.01, tmp_path / "x.zarr")
    assert not (tmp_path / "x.zarr").exists()


def _holed_plane(tmp_path):
    lon0, lat0, d = 10.0, 45.0, 1e-3
    i, j = np.mgrid[0:100, 0:100]
    h = (200.0 + 0.7 * i - 1.3 * j).astype(np.float32)
    truth = h.copy()
    h[40:46, 50:60] = np.nan  # 60 voids inside the footprint
    h[2, 2] = np.nan  # one in the margin, outside the footprint
    path = write_dem_geotiff(h, lon0, lat0, d, -d, tmp_path / "holes.tif")
    box = (lon0 + 10 * d, lon0 + 90 * d, lat0 - 90 * d, lat0 - 10 * d)  # footprint: rows/cols 10..90
    return path, box, truth


def test_voids_counted_and_warned(tmp_path):
    path, box, _ = _holed_plane(tmp_path)
    with pytest.warns(UserWarning, match=r"holes.tif: 60 void samples .* scene footprint \(0\.91% of it\) stay NaN"):
        dem = prepare_dem(path, *box, tmp_path / "dem.zarr", margin=20)
    assert dem.attrs["voids_in_footprint"] == 60 and dem.attrs["voids_in_crop"] == 61
    assert dem.attrs["voids_filled"] == 0 and np.isnan(dem(10.0 + 55e-3, 45.0 - 42e-3))


def test_voids_filled_by_laplace_when_asked(tmp_path):
    """A plane is harmonic: Laplace fill restores it exactly (up to the solver)."""
    path, box, truth = _holed_plane(tmp_path)
    with pytest.warns(UserWarning, match="filled 61 void samples \\(60 inside the scene footprint"):
        dem = prepare_dem(DemInput(path=path, fill_voids=True), *box, tmp_path / "dem.zarr", margin=20)
    assert dem.attrs["voids_filled"] == 61 and dem.attrs["void_fill"] == "laplace"
    h = np.asarray(dem.heights_m[:])
    assert np.isfinite(h).all()
    np.testing.assert_allclose(h, truth[:h.shape[0], :h.shape[1]], rtol=0, atol=1e-3)
    with pytest.raises(ValueError, match="no finite"):
        fill_voids_laplace(np.full((3, 3), np.nan))


def test_dem_input_model_is_strict():
    assert DemInput().path is None and DemInput().interpolation == "biquintic"
    assert DemInput().vertical_datum == "auto" and DemInput().fill_voids is False
    with pytest.raises(pydantic.ValidationError, match="extra"):
        DemInput(path="a.tif", datum="egm96")
    with pytest.raises(pydantic.ValidationError):
        DemInput(path="a.tif", vertical_datum="navd88")
    with pytest.raises(pydantic.ValidationError):
        DemInput(path="a.tif", fill_voids="yes")
    assert all(f.description for f in DemInput.model_fields.values())


# ----------------------------------------------------------------------------- memory on a 24000^2 DEM
_RSS_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    from daskinsar.io.dem import open_dem
    from daskinsar.io.dem_prepare import prepare_dem
    path, out = sys.argv[1], sys.argv[2]
    box = (12.40, 12.45, 41.90, 41.95)
    dem = prepare_dem(path, *box, out)
    rng = np.random.default_rng(0)
    lon = box[0] + 0.05 * rng.random(200_000)
    lat = box[2] + 0.05 * rng.random(200_000)
    h = dem(lon, lat)
    raw = open_dem(path)(lon[:1000], lat[:1000])  # straight from the 24000^2 file: one window
    # VmHWM: this process's own peak (ru_maxrss would include the parent's peak at fork, kept across exec)
    hwm_kib = int(next(ln for ln in open("/proc/self/status") if ln.startswith("VmHWM")).split()[1])
    print(json.dumps({"rss_bytes": hwm_kib * 1024,
                      "shape": list(open_dem(path).shape), "crop": list(dem.shape),
                      "finite": float(np.isfinite(h).mean()), "same": float(np.abs(raw - h[:1000]).max()),
                      "range": list(dem.height_range())}))
""")


def test_24000_squared_dem_peak_rss_under_1_gib(tmp_path):
    n = 24000
    lon0, lat0 = 10.0, 45.0  # sample centres; the DEM spans 6.67 deg
    path = str(tmp_path / "big.tif")
    with rasterio.open(path, "w", driver="GTiff", width=n, height=n, count=1, dtype="int16", crs="EPSG:4326",
                       transform=from_origin(lon0 - D / 2, lat0 + D / 2, D, D), nodata=-32768, tiled=True,
                       blockxsize=512, blockysize=512, compress="deflate", SPARSE_OK="TRUE") as dst:
        r0, c0 = int((lat0 - 41.96) / D), int((12.39 - lon0) / D)  # write only the scene's area
        i, j = np.mgrid[0:1024, 0:1024]
        dst.write((300 + 100 * np.sin(i / 50) * np.cos(j / 70)).astype(np.int16), 1,
                  window=rasterio.windows.Window(c0, r0, 1024, 1024))
        dst.update_tags(HEIGHT_REFERENCE="ellipsoid")
    assert os.path.getsize(path) < 8 * 2**20
    res = subprocess.run([sys.executable, "-c", _RSS_SCRIPT, path, str(tmp_path / "dem.zarr")], capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    print("24000^2 DEM: peak RSS of prepare + sample (MiB):", out["rss_bytes"] / 2**20)
    assert out["shape"] == [n, n] and out["finite"] == 1.0 and out["same"] < 1e-6
    assert 190 <= out["range"][0] and out["range"][1] <= 410
    assert out["rss_bytes"] < 2**30


# ----------------------------------------------------------------------------- download
def _copernicus_tiles(root, lats=(41, 42), lon=12, n=360):
    return copernicus_tiles(root, _tile_heights, lats=lats, lon=lon, n=n)


def _tile_heights(lon, lat):
    return 100.0 + 50.0 * np.sin(lon * 40.0) + 30.0 * np.cos(lat * 30.0)


def test_no_dem_given_downloads_one(tmp_path, egm2008_grid):
    tiles = tmp_path / "tiles"
    _copernicus_tiles(str(tiles))
    box = (12.45, 12.55, 41.95, 42.05)  # across two tiles
    run = tmp_path / "run"
    with serve(str(tiles)) as url:
        dem = prepare_dem(DemInput(tile_server=url), *box, run / "dem.zarr")
    cached = os.listdir(run / "dem_download")
    assert len(cached) == 1 and cached[0].startswith("copernicus_")
    assert dem.attrs["vertical_datum"] == "egm2008" and "EGM2008" in dem.attrs["height_reference"]
    # the served tiles' heights at their own sample centres, + N of the (synthetic) EGM2008 grid
    lon = np.arange(4478, 4522) / 360  # the tiles' own sample centres (1/360 deg)
    lat = np.arange(15098, 15142) / 360
    lon, lat = np.meshgrid(lon[(lon > dem.bounds[0]) & (lon < dem.bounds[1])],
                           lat[(lat > dem.bounds[2]) & (lat < dem.bounds[3])])
    np.testing.assert_allclose(dem.replace(method="nearest")(lon, lat),
                               _tile_heights(lon, lat) + synthetic_geoid_n(lon, lat), rtol=0, atol=2e-3)
    # the server is gone: the cached download is reused
    again = prepare_dem(DemInput(tile_server=url), *box, run / "dem2.zarr")
    np.testing.assert_array_equal(again.heights_m[:], dem.heights_m[:])


def test_download_failure_is_one_clear_error(tmp_path, monkeypatch):
    with serve(str(tmp_path)) as url:  # an address where nothing listens once this block ends
        pass
    with pytest.raises(DemDownloadError, match=r"no DEM given and downloading Copernicus GLO-30.*failed.*dem\.path"):
        prepare_dem(DemInput(tile_server=url), 12.45, 12.55, 41.95, 42.05, tmp_path / "run" / "dem.zarr")
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc there
    with pytest.raises(DemDownloadError, match=r"SRTM.*netrc.*dem\.path"):
        prepare_dem(DemInput(source="srtm", tile_server=url), 12.45, 12.55, 41.95, 42.05, tmp_path / "r" / "d.zarr")
