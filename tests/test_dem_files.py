"""open_dem on what files hold: units, rotated grids, vertical datums, ISCE .dem.xml, and the files
it must refuse with one InputFileError line."""

from __future__ import annotations

import os

import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine, from_origin


from daskinsar.errors import InputFileError
from daskinsar.geometry import geoid as G
from daskinsar.io.dem import open_dem, resolve_vertical_datum, write_dem_geotiff

LON0, LAT0, D = 12.0, 42.5, 1.0 / 3600


def _tif(path, data, *, crs="EPSG:4326", unit=None, tags=None, transform=None, nodata=None, **kw):
    data = np.asarray(data)
    t = transform or from_origin(LON0 - D / 2, LAT0 + D / 2, D, D)
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[-1], height=data.shape[-2],
                       count=1 if data.ndim == 2 else data.shape[0], dtype=data.dtype.name, crs=crs, transform=t,
                       nodata=nodata, **kw) as dst:
        dst.write(data if data.ndim == 3 else data[None])
        if unit is not None:
            dst.set_band_unit(1, unit)
        dst.update_tags(**(tags or {"HEIGHT_REFERENCE": "ellipsoid"}))
    return str(path)


def _plane(ny=20, nx=30):
    i, j = np.mgrid[0:ny, 0:nx]
    return (1000.0 + 2.0 * i - 3.0 * j).astype(np.float32)


@pytest.mark.parametrize("unit,factor", [("metre", 1.0), ("m", 1.0), ("ft", 0.3048), ("foot", 0.3048),
                                         ("US survey foot", 1200.0 / 3937.0), (None, 1.0)])
def test_units_converted_to_metres(tmp_path, unit, factor):
    h = _plane()
    dem = open_dem(_tif(tmp_path / "u.tif", h, unit=unit))
    np.testing.assert_allclose(dem.to_xarray().values, h * factor, rtol=1e-6)
    assert dem.attrs["unit_factor"] == factor


def test_unknown_unit_refused(tmp_path):
    with pytest.raises(InputFileError, match=r"u\.tif.*unit 'furlong'"):
        open_dem(_tif(tmp_path / "u.tif", _plane(), unit="furlong"))


def test_rotated_geotransform_refused(tmp_path):
    t = Affine(D, 0.1 * D, LON0, 0.05 * D, -D, LAT0)
    with pytest.raises(InputFileError, match="rot.tif.*rotation/shear"):
        open_dem(_tif(tmp_path / "rot.tif", _plane(), transform=t))


def test_refused_files(tmp_path):
    p1 = _tif(tmp_path / "one.tif", np.ones((1, 1), np.float32))
    with pytest.raises(InputFileError, match="one.tif.*2 x 2"):
        open_dem(p1)
    (tmp_path / "zero.tif").write_bytes(b"")
    with pytest.raises(InputFileError, match="zero.tif.*empty"):
        open_dem(tmp_path / "zero.tif")
    (tmp_path / "text.tif").write_text("heights: 1 2 3\n")
    with pytest.raises(InputFileError, match="text.tif"):
        open_dem(tmp_path / "text.tif")
    with pytest.raises(InputFileError, match="bands.tif.*3 bands"):
        open_dem(_tif(tmp_path / "bands.tif", np.ones((3, 4, 4), np.float32)))
    with pytest.raises(InputFileError, match="nocrs.tif.*no CRS"):
        open_dem(_tif(tmp_path / "nocrs.tif", _plane(), crs=None))


def _tiled(path, n=512):
    rng = np.random.default_rng(0)
    h = rng.normal(500, 50, (n, n)).astype(np.float32)  # incompressible: blocks fill the file
    return _tif(path, h, tiled=True, blockxsize=256, blockysize=256, compress="deflate"), h


def test_truncated_file_refused_at_open(tmp_path):
    import rasterio.shutil

    path, _ = _tiled(tmp_path / "trunc.tif")  # GDAL's GeoTIFF: the directory at the end
    cog = str(tmp_path / "trunc_cog.tif")
    rasterio.shutil.copy(path, cog, driver="COG", COMPRESS="DEFLATE", BLOCKSIZE=256)  # directory first
    for p in (path, cog):
        size = os.path.getsize(p)
        with open(p, "r+b") as f:
            f.truncate(size // 2)
    with pytest.raises(InputFileError, match="trunc.tif.*(TIFF|directory)"):
        open_dem(path)
    with pytest.raises(InputFileError, match="trunc_cog.tif.*truncated: block"):
        open_dem(cog)


def test_corrupt_block_is_one_clear_error_when_read(tmp_path):
    path, h = _tiled(tmp_path / "bad.tif")
    with rasterio.open(path) as src:
        off = int(src.get_tag_item("BLOCK_OFFSET_1_1", "TIFF", bidx=1))
    with open(path, "r+b") as f:
        f.seek(off)
        f.write(b"\x00garbage!" * 64)
    dem = open_dem(path)  # opens: the damage is inside a block
    np.testing.assert_array_equal(dem.window(*_box(dem, 0, 100, 0, 100), margin=0).heights_m[:100, :100],
                                  h[:100, :100])  # a sound block reads
    with pytest.raises(InputFileError, match="bad.tif.*unreadable data in rows"):
        dem.height_range()


def _box(dem, r0, r1, c0, c1):
    lon, lat = dem.lons(), dem.lats()
    return lon[c0], lon[c1 - 1], lat[r1 - 1], lat[r0]


def test_all_nodata_refused(tmp_path):
    dem = open_dem(_tif(tmp_path / "void.tif", np.full((8, 8), -9999, np.int16), nodata=-9999))
    assert np.isnan(dem.to_xarray().values).all()
    with pytest.raises(InputFileError, match="void.tif.*nodata everywhere"):
        dem.height_range()


# ----------------------------------------------------------------------------- vertical datums
def _n96(lon, lat):
    return G.geoid_grid("EGM96").undulation(lon, lat)


@pytest.mark.parametrize("how", ["compound crs", "metadata"])
def test_egm96_declared_is_converted(tmp_path, how):
    h = _plane()
    kw = {"crs": "EPSG:9707", "tags": {"AREA_OR_POINT": "Area"}} if how == "compound crs" else \
        {"tags": {"VERTICAL_DATUM": "EGM96 geoid"}}
    dem = open_dem(_tif(tmp_path / "g.tif", h, **kw))
    lon, lat = np.meshgrid(dem.lons(), dem.lats())
    np.testing.assert_allclose(dem.to_xarray().values, h + _n96(lon, lat), rtol=0, atol=1e-4)
    assert dem.attrs["vertical_datum"] == "egm96" and "EGM96" in dem.attrs["datum_conversion"]


def test_copernicus_name_means_egm2008(tmp_path, egm2008_grid):
    from dem_test_helpers import synthetic_geoid_n

    h = _plane()
    path = _tif(tmp_path / "Copernicus_DSM_COG_10_N42_00_E012_00_DEM.tif", h, tags={"AREA_OR_POINT": "Point"})
    dem = open_dem(path)
    lon, lat = np.meshgrid(dem.lons(), dem.lats())
    np.testing.assert_allclose(dem.to_xarray().values, h + synthetic_geoid_n(lon, lat), rtol=0, atol=1e-3)
    assert dem.attrs["vertical_datum"] == "egm2008"


def test_srtm_names_and_explicit_setting_wins(tmp_path):
    assert resolve_vertical_datum("/x/N42E012.hgt", "auto", crs=rasterio.crs.CRS.from_epsg(4326))[0] == "egm96"
    assert resolve_vertical_datum("/x/NASADEM_HGT_n42e012.tif", "auto",
                                  crs=rasterio.crs.CRS.from_epsg(4326))[0] == "egm96"
    with pytest.warns(UserWarning, match="declares.*egm96.*taken as ellipsoid|declares.*EGM96"):
        assert resolve_vertical_datum("/x/N42E012.hgt", "ellipsoid", crs=rasterio.crs.CRS.from_epsg(4326))[0] == \
            "ellipsoid"
    h = _plane()
    path = _tif(tmp_path / "plain.tif", h, tags={"AREA_OR_POINT": "Area"})
    with pytest.warns(UserWarning, match="plain.tif.*no vertical datum.*taken as WGS84 ellipsoidal"):
        plain = open_dem(path)
    np.testing.assert_array_equal(plain.to_xarray().values, h)
    told = open_dem(path, vertical_datum="egm96")  # nothing declared: the setting, no warning needed
    lon, lat = np.meshgrid(told.lons(), told.lats())
    np.testing.assert_allclose(told.to_xarray().values, h + _n96(lon, lat), rtol=0, atol=1e-4)


def test_other_vertical_datum_refused(tmp_path):
    with pytest.raises(InputFileError, match="navd.tif.*NAVD88"):
        open_dem(_tif(tmp_path / "navd.tif", _plane(), crs="EPSG:4326+5703", tags={"AREA_OR_POINT": "Area"}))


def test_written_height_reference_round_trips(tmp_path):
    h = _plane()
    e = open_dem(write_dem_geotiff(h, LON0, LAT0, D, -D, tmp_path / "e.tif"))
    assert e.attrs["vertical_datum"] == "ellipsoid"
    g = open_dem(write_dem_geotiff(h, LON0, LAT0, D, -D, tmp_path / "g.tif", height_reference="egm96"))
    assert g.attrs["vertical_datum"] == "egm96"


# ----------------------------------------------------------------------------- ISCE .dem.xml
def _isce(tmp_path, h, dtype, order="l", reference="WGS84", name="demLat_N42_N43_Lon_E012_E013.dem.wgs84"):
    data = tmp_path / name
    np.asarray(h).astype(np.dtype(dtype).newbyteorder("<" if order == "l" else ">")).tofile(data)
    itype = {"i2": "SHORT", "f4": "FLOAT", "f8": "DOUBLE"}[np.dtype(dtype).str[1:]]
    ref = f'<property name="reference"><value>{reference}</value><doc>Geodetic datum</doc></property>' \
        if reference else ""
    xml = f"""<imageFile>{ref}
    <property name="width"><value>{h.shape[1]}</value></property>
    <property name="length"><value>{h.shape[0]}</value></property>
    <property name="number_bands"><value>1</value></property>
    <property name="data_type"><value>{itype}</value></property>
    <property name="scheme"><value>BIP</value></property>
    <property name="byte_order"><value>{order}</value></property>
    <property name="file_name"><value>{name}</value></property>
    <property name="image_type"><value>dem</value></property>
    <component name="coordinate1"><factorymodule>isceobj.Image</factorymodule>
        <property name="startingvalue"><value>{LON0!r}</value></property>
        <property name="delta"><value>{D!r}</value></property>
        <property name="size"><value>{h.shape[1]}</value></property></component>
    <component name="Coordinate2">
        <property name="startingValue"><value>{LAT0!r}</value></property>
        <property name="delta"><value>{-D!r}</value></property>
        <property name="size"><value>{h.shape[0]}</value></property></component>
</imageFile>"""
    (tmp_path / (name + ".xml")).write_text(xml)
    return str(tmp_path / (name + ".xml"))


@pytest.mark.parametrize("dtype,order", [("i2", "b"), ("i2", "l"), ("f4", "l"), ("f8", "b")])
def test_isce_dem_xml_read_on_its_own(tmp_path, dtype, order):
    h = np.rint(_plane()).astype(np.float64)
    if dtype == "i2":
        h[3, 4] = -32768  # ISCE's void in SHORT DEMs
    xml = _isce(tmp_path, h, dtype, order)
    assert not any(p.endswith(".vrt") for p in os.listdir(tmp_path))
    dem = open_dem(xml)
    a = dem.to_xarray()
    # startingValue is the first sample itself
    np.testing.assert_allclose(a.x.values, LON0 + D * np.arange(h.shape[1]), rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.y.values, LAT0 - D * np.arange(h.shape[0]), rtol=0, atol=1e-12)
    want = h.copy()
    if dtype == "i2":
        want[3, 4] = np.nan
    np.testing.assert_array_equal(a.values, want.astype(a.dtype))
    assert a.dtype == (np.float64 if dtype == "f8" else np.float32)
    assert dem.attrs["vertical_datum"] == "ellipsoid"


def test_isce_reference_egm96_and_missing(tmp_path):
    h = _plane()
    e = open_dem(_isce(tmp_path, h, "f4", reference="EGM96", name="a.dem"))
    lon, lat = np.meshgrid(e.lons(), e.lats())
    np.testing.assert_allclose(e.to_xarray().values, h + _n96(lon, lat), rtol=0, atol=1e-4)
    with pytest.warns(UserWarning, match="ISCE's default: EGM96"):
        m = open_dem(_isce(tmp_path, h, "f4", reference=None, name="b.dem"))
    assert m.attrs["vertical_datum"] == "egm96"
    with pytest.raises(InputFileError, match="c.dem.xml.*reference"):
        open_dem(_isce(tmp_path, h, "f4", reference="NAVD88", name="c.dem"))


def test_isce_size_mismatch_refused(tmp_path):
    xml = _isce(tmp_path, _plane(), "f4")
    with open(xml[:-4], "ab") as f:
        f.write(b"\0" * 8)
    with pytest.raises(InputFileError, match="expected 2400 bytes.*found 2408 bytes"):
        open_dem(xml)
