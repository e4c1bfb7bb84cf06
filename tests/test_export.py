"""Exports: GeoTIFF/COG georeferencing, COG layout, PNG colours, KML/KMZ boxes, show_product."""

from __future__ import annotations

import zipfile

import dask.array as da
import matplotlib.colors
import matplotlib.image
import numpy as np
import pytest
import rasterio
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr
from affine import Affine
from defusedxml import ElementTree as ET
from pyproj import Transformer

from daskinsar.errors import InputFileError
from daskinsar.io.export import export_geotiffs, validate_cog, write_cog, write_geotiff
from daskinsar.quicklook import latlon_box, quicklook_png, render_rgba, write_kml, write_kmz
from daskinsar.show import ISCE_PRODUCT_NAMES, resolve_product_name, show_product

KML_NS = "{http://www.opengis.net/kml/2.2}"

# a geographic grid: pixel centres, north-up, 0.001 deg spacing
NY, NX = 300, 520
LON0, LAT0, D = 10.25, 46.5, 0.001


def geo_grid(values, dims=("y", "x"), crs=4326, x0=LON0, y0=LAT0, dx=D, dy=-D, name="unw", units="rad"):
    ny, nx = values.shape
    x = x0 + dx * (np.arange(nx) + 0.5)
    y = y0 + dy * (np.arange(ny) + 0.5)
    arr = xr.DataArray(values, dims=dims, coords={dims[0]: y, dims[1]: x}, name=name, attrs={"units": units})
    return arr.rio.write_crs(crs)


@pytest.fixture
def unw_geo():
    rng = np.random.default_rng(0)
    v = np.cumsum(rng.standard_normal((NY, NX)), axis=1).astype(np.float32)
    v[:20, :30] = np.nan
    return geo_grid(da.from_array(v, chunks=(128, 200)))


def test_geotiff_crs_transform_nodata_values(tmp_path, unw_geo):
    p = write_geotiff(unw_geo, tmp_path / "unw.tif")
    with rasterio.open(p) as src:
        assert src.crs.to_epsg() == 4326
        # outer edge of the first pixel = first centre minus half a pixel
        assert src.transform.almost_equals(Affine(D, 0, LON0, 0, -D, LAT0), precision=1e-12)
        assert np.isnan(src.nodata)
        assert src.tags(1)["units"] == "rad"
        back = src.read(1)
    np.testing.assert_array_equal(back, unw_geo.values)  # NaN == NaN positions too
    assert not any(tmp_path.glob(".*"))  # no partial files left


def test_geotiff_south_up_and_lat_lon_dims(tmp_path):
    """lat/lon dims, latitude ascending: written north-up with the same geography."""
    v = np.arange(40 * 60, dtype=np.float32).reshape(40, 60)
    arr = geo_grid(v, dims=("lat", "lon"), y0=LAT0 - 40 * D, dy=D)  # row 0 is the southernmost
    p = write_geotiff(arr, tmp_path / "a.tif")
    with rasterio.open(p) as src:
        assert src.transform.almost_equals(Affine(D, 0, LON0, 0, -D, LAT0), precision=1e-12)
        np.testing.assert_array_equal(src.read(1), v[::-1])
        # the top-left pixel is the north-west corner sample of the input
        row, col = src.index(LON0 + 0.5 * D, LAT0 - 0.5 * D)
        assert src.read(1)[row, col] == v[-1, 0]


def test_labels_geotiff_keeps_integer_nodata(tmp_path):
    lab = np.zeros((64, 64), np.uint32)
    lab[10:30, 5:50] = 3
    p = write_geotiff(geo_grid(lab, name="conncomp", units="1"), tmp_path / "cc.tif", nodata=0)
    with rasterio.open(p) as src:
        assert src.dtypes[0] == "uint32" and src.nodata == 0
        np.testing.assert_array_equal(src.read(1), lab)


def test_cog_validates_and_plain_tiff_does_not(tmp_path, unw_geo):
    big = geo_grid(da.from_array(np.tile(unw_geo.values, (4, 4)), chunks=(500, 700)))
    cog = write_cog(big, tmp_path / "unw_cog.tif", blocksize=256)
    assert validate_cog(cog) == []
    with rasterio.open(cog) as src:
        assert src.overviews(1), "COG must have overviews"
        assert src.block_shapes[0] == (256, 256)
        assert src.crs.to_epsg() == 4326 and np.isnan(src.nodata)
        np.testing.assert_array_equal(src.read(1), big.values)
    # a strip-organised GeoTIFF without overviews is not a COG, and the validator says why
    plain = tmp_path / "plain.tif"
    with rasterio.open(plain, "w", driver="GTiff", width=NX * 4, height=NY * 4, count=1, dtype="float32",
                       crs="EPSG:4326", transform=Affine(D, 0, LON0, 0, -D, LAT0)) as dst:
        dst.write(big.values, 1)
    problems = validate_cog(plain)
    assert any("LAYOUT=COG" in p for p in problems)
    assert any("overview" in p for p in problems)
    assert any("tile" in p for p in problems)


def test_cog_utm_crs(tmp_path):
    v = np.linspace(0, 1, 200 * 300, dtype=np.float32).reshape(200, 300)
    arr = geo_grid(v, crs=32611, x0=500_000.0, y0=4_200_000.0, dx=30.0, dy=-30.0, name="coherence", units="1")
    cog = write_cog(arr, tmp_path / "coh.tif", blocksize=128)
    assert validate_cog(cog) == []
    with rasterio.open(cog) as src:
        assert src.crs.to_epsg() == 32611
        assert src.transform.almost_equals(Affine(30.0, 0, 500_000.0, 0, -30.0, 4_200_000.0), precision=1e-9)


def test_export_geotiffs_one_cog_per_product(tmp_path):
    y = LAT0 - D * (np.arange(80) + 0.5)
    x = LON0 + D * (np.arange(90) + 0.5)
    rng = np.random.default_rng(4)
    ds = xr.Dataset(
        {
            "ifg": (("y", "x"), np.exp(1j * rng.random((80, 90))).astype(np.complex64)),
            "conncomp": (("y", "x"), rng.integers(0, 3, (80, 90)).astype(np.uint32)),
            "los_displacement": (("y", "x"), rng.random((80, 90)).astype(np.float32)),
        },
        coords={"y": y, "x": x},
    ).rio.write_crs(4326)
    files = export_geotiffs(ds, tmp_path / "geo")
    assert [f.name for f in files] == ["ifg.tif", "conncomp.tif", "los_displacement.tif"]
    for f in files:
        assert validate_cog(f) == []
        with rasterio.open(f) as src:
            assert src.crs.to_epsg() == 4326
            assert src.transform.almost_equals(Affine(D, 0, LON0, 0, -D, LAT0), precision=1e-12)
            np.testing.assert_array_equal(src.read(1), ds[f.stem].values)
    with rasterio.open(files[1]) as src:
        assert src.nodata == 0


def _kml_box(text):
    root = ET.fromstring(text)
    box = root.find(f".//{KML_NS}GroundOverlay/{KML_NS}LatLonBox")
    return {k: float(box.find(KML_NS + k).text) for k in ("north", "south", "east", "west")}, root


def test_kmz_holds_png_and_correct_latlonbox(tmp_path, unw_geo):
    p = write_kmz(unw_geo, tmp_path / "unw.kmz")
    with zipfile.ZipFile(p) as z:
        names = z.namelist()
        assert names[0] == "doc.kml"
        box, root = _kml_box(z.read("doc.kml"))
        href = root.find(f".//{KML_NS}GroundOverlay/{KML_NS}Icon/{KML_NS}href").text
        assert href in names and href.endswith(".png")
        png = z.read(href)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    expect = dict(north=LAT0, south=LAT0 - NY * D, west=LON0, east=LON0 + NX * D)
    for k, v in expect.items():
        assert box[k] == pytest.approx(v, abs=1e-9), k
    assert latlon_box(unw_geo) == pytest.approx(expect, abs=1e-9)
    # the overlay has the grid's aspect and is transparent exactly where data are missing
    with zipfile.ZipFile(p) as z:
        (tmp_path / "ov.png").write_bytes(z.read(href))
    ov = matplotlib.image.imread(tmp_path / "ov.png")
    assert ov.shape[:2] == (NY, NX)
    np.testing.assert_array_equal(ov[..., 3] == 0, np.isnan(unw_geo.values))


def test_kml_utm_box_covers_the_grid(tmp_path):
    v = np.ones((100, 150), np.float32)
    x0, y0, dx = 500_000.0, 4_200_000.0, 30.0
    arr = geo_grid(v, crs=32611, x0=x0, y0=y0, dx=dx, dy=-dx, name="coherence", units="1")
    files = write_kml(arr, tmp_path / "coh.kml")
    assert all(f.exists() for f in files)
    box, _ = _kml_box(files[0].read_bytes())
    t = Transformer.from_crs(32611, 4326, always_xy=True)
    xs = np.array([x0, x0 + 150 * dx, x0, x0 + 150 * dx])
    ys = np.array([y0, y0, y0 - 100 * dx, y0 - 100 * dx])
    lon, lat = t.transform(xs, ys)
    tol = 1e-6
    assert box["west"] <= lon.min() + tol and box["east"] >= lon.max() - tol
    assert box["south"] <= lat.min() + tol and box["north"] >= lat.max() - tol
    # and not much larger than the grid (< one pixel ~ 0.0004 deg)
    assert box["east"] - box["west"] < lon.max() - lon.min() + 0.001


def test_wrapped_phase_colours_follow_phase(tmp_path):
    """Hue of the overlay PNG = wrapped phase (cyclic), value follows amplitude."""
    ny, nx = 64, 256
    phase = np.angle(np.exp(1j * np.linspace(-3 * np.pi, 3 * np.pi, nx)))[None, :].repeat(ny, 0)
    amp = np.linspace(0.2, 1.0, ny)[:, None].repeat(nx, 1)
    ifg = (amp * np.exp(1j * phase)).astype(np.complex64)
    arr = geo_grid(ifg, name="ifg", units="1")
    files = write_kml(arr, tmp_path / "ifg.kml", legend=False)
    img = matplotlib.image.imread(files[1])[..., :3]
    hsv = matplotlib.colors.rgb_to_hsv(img)
    hue_phase = hsv[..., 0] * 2 * np.pi - np.pi
    err = np.angle(np.exp(1j * (hue_phase - phase)))
    bright = amp > 0.5
    assert np.abs(err[bright]).max() < 0.05  # 8-bit quantisation of the hue
    # brighter rows = larger amplitude
    assert np.all(np.diff(hsv[:, :, 2].mean(1)) >= -1e-6) and hsv[-1, :, 2].mean() > 2 * hsv[0, :, 2].mean()


def test_coherence_is_greyscale(tmp_path):
    coh = np.linspace(0, 1, 128, dtype=np.float32)[None, :].repeat(32, 0)
    files = write_kml(geo_grid(coh, name="coherence", units="1"), tmp_path / "coh.kml", legend=False)
    img = matplotlib.image.imread(files[1])[..., :3]
    assert np.abs(img[..., 0] - img[..., 1]).max() < 1e-6 and np.abs(img[..., 1] - img[..., 2]).max() < 1e-6
    # a 256-entry colour table then 8-bit PNG: at most two 8-bit steps from the value
    np.testing.assert_allclose(img[0, :, 0], coh[0], atol=2 / 255)
    assert np.all(np.diff(img[0, :, 0]) >= 0)


def test_quicklooks_bounded_and_written(tmp_path):
    rng = np.random.default_rng(1)
    big = da.from_array(
        (rng.standard_normal((1500, 1100)) + 1j * rng.standard_normal((1500, 1100))).astype(np.complex64),
        chunks=(512, 512),
    )
    rgba, vals, _ = render_rgba(xr.DataArray(big, dims=("azimuth", "range"), name="ifg"), max_size=300)
    assert max(vals.shape) <= 300 and rgba.shape == vals.shape + (4,)
    files = []
    files.append(quicklook_png(xr.DataArray(big, dims=("azimuth", "range"), name="ifg"), tmp_path / "ifg.png",
                               max_size=300))
    y, x = np.mgrid[0:200, 0:300]
    unw = geo_grid(((x - 150) ** 2 + (y - 100) ** 2) / 1e3, name="unw", units="rad")
    files.append(quicklook_png(unw, tmp_path / "unw.png"))
    disp = (unw * (0.0555 / (4 * np.pi))).rename("los_displacement").assign_attrs(units="m")
    files.append(quicklook_png(disp, tmp_path / "disp.png"))
    files.append(quicklook_png(geo_grid(np.clip(unw.values / 30, 0, 1), name="coherence", units="1"),
                               tmp_path / "coh.png"))
    for f in files:
        im = matplotlib.image.imread(f)
        assert im.shape[0] > 100 and im.shape[1] > 100
        assert im[..., :3].std() > 0.05  # not blank


def test_show_product_with_isce_names(tmp_path):
    """A small products.zarr: radar-grid ifg -> PNG; geocoded unw -> PNG + KMZ."""
    rng = np.random.default_rng(2)
    store = tmp_path / "run" / "products.zarr"
    ifg = (np.exp(1j * np.linspace(0, 20, 64 * 80)).reshape(64, 80) * (1 + rng.random((64, 80)))).astype(np.complex64)
    xr.Dataset({"ifg": (("azimuth", "range"), ifg), "coherence": (("azimuth", "range"), rng.random((64, 80)))}).to_zarr(
        store, group="interferogram", consolidated=False, zarr_format=3)
    geo = geo_grid(rng.standard_normal((50, 70)).astype(np.float32), name="unw")
    geo.to_dataset().to_zarr(store, group="geocode", consolidated=False, zarr_format=3, mode="a")

    files = show_product(tmp_path / "run", "topophase.flat", tmp_path / "out")
    assert [f.name for f in files] == ["interferogram_ifg.png"]
    files = show_product(store, "filt_topophase.unw.geo", tmp_path / "out")
    assert [f.name for f in files] == ["geocode_unw.png", "geocode_unw.kmz"]
    with zipfile.ZipFile(files[1]) as z:
        box, _ = _kml_box(z.read("doc.kml"))
    assert box["north"] == pytest.approx(LAT0) and box["west"] == pytest.approx(LON0)
    # the same from an in-memory dataset, by daskinsar name
    assert show_product(geo.to_dataset(), "geocode/unw", tmp_path / "out2")[0].exists()

    assert resolve_product_name("topophase.cor") == ISCE_PRODUCT_NAMES["topophase.cor"] == "interferogram/coherence"
    assert resolve_product_name("los.rdr") == "topo/incidence"
    assert resolve_product_name("filt_topophase.unw") == "unwrap/unw"
    assert resolve_product_name("filt_topophase.flat.geo") == "geocode/filt_ifg"
    assert resolve_product_name("topophase.cor.geo") == "geocode/coherence"
    assert resolve_product_name("los.rdr.geo") == "geocode/topo_incidence"
    with pytest.raises(InputFileError, match="variable 'phsig'") as info:
        show_product(store, "phsig.cor", tmp_path / "out")
    assert isinstance(info.value, KeyError)  # the CLI skips absent optional products
    assert str(info.value).startswith(str(store))
    with pytest.raises(KeyError, match="group 'unwrap'"):
        show_product(store, "filt_topophase.unw", tmp_path / "out")
    with pytest.raises(InputFileError, match="products.zarr"):
        show_product(tmp_path / "nowhere", "unwrap/unw", tmp_path / "out")
