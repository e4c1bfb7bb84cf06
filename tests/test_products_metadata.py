"""Products other tools read without help: CF attributes in the Zarr stores, GeoTIFFs that stand alone
(GDAL unit types, band descriptions, the pair's metadata checked against the simulator's own record),
one lattice per area (two footprints over one area share pixels exactly; a bbox gives equal shapes)."""

from __future__ import annotations

import math
from pathlib import Path

import cf_xarray  # noqa: F401  (registers .cf)
import numpy as np
import pytest
import rasterio
import xarray as xr

from daskinsar import __version__
from daskinsar.geometry.dem import dem_to_dataarray
from daskinsar.io.dem_prepare import open_dem_store
from daskinsar.io.export import METADATA_TAGS
from daskinsar.products import PRODUCTS, product_info
from daskinsar.stages import geocode
from daskinsar.stages.geocode import GeocodeParams, choose_grid, default_posting

from products_helpers import shared_run, truth_attrs

GROUPS = ("topo", "resample", "interferogram", "filter", "unwrap", "geocode", "geocode_geometry")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return shared_run(tmp_path_factory)


def _utc(epoch: str, seconds: float) -> np.datetime64:
    return np.datetime64(epoch.rstrip("Z"), "ns") + np.timedelta64(int(round(seconds * 1e9)), "ns")


def test_zarr_products_are_cf(run):
    sim, out = run
    truth = truth_attrs(sim)
    prod = str(out / "products.zarr")
    for group in GROUPS:
        ds = xr.open_zarr(prod, group=group, consolidated=False)  # CF decoding on
        assert ds.attrs["Conventions"] == "CF-1.10", group
        for name in list(ds.data_vars) + list(ds.coords):
            if name == "spatial_ref":
                continue
            attrs = ds[name].attrs if name in ds.data_vars else {**ds[name].attrs, **ds[name].encoding}
            assert attrs.get("units") and attrs.get("long_name"), (group, name, attrs)
            if name in ds.data_vars:
                assert attrs["source"] == f"daskinsar {__version__}, {'geocode' if 'geocode' in group else group} step"
                info = product_info(group, str(name))
                assert info is not None and attrs["units"] == info.units, (group, name)
        if "azimuth_time" in ds.coords:
            t = ds["azimuth_time"].values
            assert np.issubdtype(t.dtype, np.datetime64), (group, t.dtype)
            # the simulator's reference grid: first line at epoch + t0, lines dt apart (UTC)
            grid = truth["reference_grid"]
            looks = 2 if group in ("interferogram", "filter", "unwrap") else 1
            t0 = grid["t0_s"] + 0.5 * (looks - 1) * grid["dt_s"]
            expect = _utc(truth["reference_epoch"], t0)
            assert abs((t[0] - expect) / np.timedelta64(1, "ns")) < 2, (group, t[0], expect)
            step = (t[1] - t[0]) / np.timedelta64(1, "ns") * 1e-9
            assert step == pytest.approx(looks * grid["dt_s"], abs=1.5e-9)  # datetime64[ns] resolution
            raw = xr.open_zarr(prod, group=group, consolidated=False, decode_times=False)["azimuth_time"]
            assert raw.dtype == np.float64 and raw.attrs["units"].startswith("seconds since 2020-01-01T00:00:00")
    geo = xr.open_zarr(prod, group="geocode", consolidated=False, decode_coords="all")
    assert "spatial_ref" in geo.cf.grid_mapping_names.get("latitude_longitude", [])
    for name in geo.data_vars:
        assert geo[name].encoding.get("grid_mapping", geo[name].attrs.get("grid_mapping")) == "spatial_ref", name
    assert geo.cf["latitude"].name == "y" and geo.cf["longitude"].name == "x"
    topo = xr.open_zarr(prod, group="topo", consolidated=False)
    assert topo.cf["height_above_reference_ellipsoid"].name == "hgt"


def test_every_table_row_is_described():
    for key, p in PRODUCTS.items():
        assert p.units and p.long_name and p.description and p.dtype, key


def test_every_geotiff_stands_alone(run):
    sim, out = run
    truth = truth_attrs(sim)
    tifs = sorted((out / "geo").glob("*.tif")) + sorted((out / "geo" / "geometry").glob("*.tif"))
    assert {f.stem for f in tifs} >= {"unw", "coherence", "los_displacement", "filt_ifg_phase", "incidence",
                                      "heading", "hgt"}
    ref, sec = truth["reference_grid"], truth["secondary_grid"]
    ref_start = _utc(truth["reference_epoch"], ref["t0_s"])
    ref_stop = _utc(truth["reference_epoch"], ref["t0_s"] + (ref["n_az"] - 1) * ref["dt_s"])
    sec_start = _utc(truth["secondary_epoch"], sec["t0_s"])
    t = xr.open_zarr(str(sim.truth), consolidated=False)
    centre = {k: float(t[k].values[ref["n_az"] // 2, ref["n_rg"] // 2]) for k in ("incidence", "heading")}
    lat_c = t["lat"].values[:, ref["n_rg"] // 2]
    lon_c = t["lon"].values[:, ref["n_rg"] // 2]
    # the ground track of one range column runs along the flight direction: bearing of its ends
    track = math.degrees(math.atan2((lon_c[-1] - lon_c[0]) * math.cos(math.radians(lat_c.mean())),
                                    lat_c[-1] - lat_c[0]))
    for f in tifs:
        with rasterio.open(f) as src:  # GDAL (rasterio's): what gdalinfo -json reports
            assert all(src.units) and all(src.descriptions), (f.name, src.units, src.descriptions)
            info = product_info("geocode_geometry" if f.parent.name == "geometry" else "geocode", f.stem)
            assert src.units[0] == info.units and src.descriptions[0] == info.long_name, f.name
            tags = src.tags()
            band0 = src.read(1)
        missing = [k for k in METADATA_TAGS if k not in tags]
        assert not missing, (f.name, missing)
        assert float(tags["WAVELENGTH_M"]) == truth["wavelength_m"]
        assert tags["LOOK_SIDE"] == truth["config"].get("look_side", "right")
        assert np.datetime64(tags["REFERENCE_START_UTC"].rstrip("Z")) == ref_start
        assert np.datetime64(tags["REFERENCE_STOP_UTC"].rstrip("Z")) == ref_stop
        assert np.datetime64(tags["SECONDARY_START_UTC"].rstrip("Z")) == sec_start
        assert tags["REFERENCE_DATE"] == "2020-01-01" and tags["SECONDARY_DATE"] == "2020-02-16"
        # ISCE2's sign convention for B_perp differs from the simulator's; the magnitude is the truth's 300 m
        assert abs(abs(float(tags["PERPENDICULAR_BASELINE_M"])) - truth["baseline"]["perpendicular_m"]) < 0.5
        assert float(tags["INCIDENCE_CENTRE_DEG"]) == pytest.approx(centre["incidence"], abs=0.05)
        # the simulator's truth and daskinsar (ISCE los.rdr band 2): the azimuth of target -> platform
        assert float(tags["LOS_AZIMUTH_CENTRE_DEG"]) == pytest.approx(centre["heading"], abs=0.05)
        # the platform's heading at its nadir differs from the target track's bearing by the convergence of the
        # meridians between them (about 2 deg here: ~4 deg of longitude at 33 N); a sign, orbit direction or
        # 180 deg error would be far off
        assert float(tags["HEADING_DEG"]) == pytest.approx(track, abs=2.5)
        assert tags["ORBIT_DIRECTION"] == ("ascending" if abs(track) < 90 else "descending")
        assert tags["PROCESSING_VERSION"] == __version__ and tags["SENSOR"] == "SIMULATED"
        if f.stem == "unw":  # the reference point's recorded phase is the file's value there
            i, j = int(tags["REFERENCE_POINT_ROW"]), int(tags["REFERENCE_POINT_COLUMN"])
            assert float(tags["REFERENCE_POINT_UNW_RAD"]) == pytest.approx(float(band0[i, j]), abs=1e-6)
            assert float(tags["REFERENCE_POINT_COHERENCE"]) > 0.9


def test_two_footprints_over_one_area_share_the_lattice_and_a_bbox_gives_one_shape(run):
    """Two crops of the multilooked products (different footprints, so their derived postings differ) geocoded
    by the stage: the grids share pixels exactly (bit-identical coordinates) and the values at shared interior
    pixels agree; with a bounding box both grids are the same."""
    sim, out = run
    prod = str(out / "products.zarr")
    ifg = xr.open_zarr(prod, group="interferogram", consolidated=False, decode_times=False)
    unw = xr.open_zarr(prod, group="unwrap", consolidated=False, decode_times=False)
    ref = xr.open_zarr(str(out / "reference.zarr"), consolidated=False, decode_times=False)
    dem = dem_to_dataarray(open_dem_store(str(out / "dem.zarr")))
    crops = {"a": (slice(0, 100), slice(0, 128)), "b": (slice(20, 128), slice(10, 118))}
    inputs = {}
    for k, (ra, rr) in crops.items():
        ds = xr.Dataset({"lon": ifg["lon"][ra, rr], "lat": ifg["lat"][ra, rr], "unw": unw["unw"][ra, rr]},
                        attrs={"reference_radar_metadata": ref.attrs["daskinsar_radar_metadata"],
                               "reference_orbit": ref.attrs["daskinsar_orbit"]})
        inputs[k] = ds.assign(dem=dem)
    derived = {k: default_posting(v["lon"].values, v["lat"].values, "EPSG:4326") for k, v in inputs.items()}
    assert derived["a"] != derived["b"]  # the footprints' own spacings differ ...
    grids = {k: choose_grid(v["lon"].values, v["lat"].values, GeocodeParams()) for k, v in inputs.items()}
    assert grids["a"][1] == grids["b"][1]  # ... the posting does not
    params = GeocodeParams(tile=64)
    outs = {k: geocode.run(v, params) for k, v in inputs.items()}
    a, b = outs["a"], outs["b"]
    assert a.sizes != b.sizes
    for axis in ("x", "y"):
        shared = np.intersect1d(a[axis].values, b[axis].values)  # bit-identical coordinates
        assert len(shared) >= 0.6 * min(a.sizes[axis], b.sizes[axis]), axis
        off = (a[axis].values[0] - b[axis].values[0]) / a.attrs["posting"]
        assert abs(off - round(off)) < 1e-9, axis
    xs, ys = np.intersect1d(a.x.values, b.x.values), np.intersect1d(a.y.values, b.y.values)
    va = a["unw"].sel(x=xs, y=ys).values
    vb = b["unw"].sel(x=xs, y=ys).values
    both = np.isfinite(va) & np.isfinite(vb)
    assert both.sum() > 500
    # unwrapped phase is the same radar data sampled at the same map pixels (away from the crops' edges)
    from scipy.ndimage import binary_erosion

    inner = binary_erosion(both, iterations=3)
    np.testing.assert_allclose(va[inner], vb[inner], rtol=0, atol=1e-5)
    lon, lat = ifg["lon"].values, ifg["lat"].values
    box = (float(np.nanmin(lon)), float(np.nanmin(lat)), float(np.nanmax(lon)), float(np.nanmax(lat)))
    boxed = {k: choose_grid(v["lon"].values, v["lat"].values, GeocodeParams(bbox=box))[0] for k, v in inputs.items()}
    assert boxed["a"].shape == boxed["b"].shape
    np.testing.assert_array_equal(boxed["a"].x, boxed["b"].x)
    np.testing.assert_array_equal(boxed["a"].y, boxed["b"].y)
    # pixel centres inside the box, none of the lattice's inside the box left out
    p = grids["a"][1]
    g = boxed["a"]
    assert box[0] <= g.x[0] < box[0] + p and box[2] - p < g.x[-1] <= box[2]
    assert box[3] - p < g.y[0] <= box[3] and box[1] <= g.y[-1] < box[1] + p


def test_isce_geocode_bounding_box_is_translated(tmp_path):
    from daskinsar.isce_xml import insarapp_to_dict

    (tmp_path / "dem.tif").write_bytes(b"")
    xml = tmp_path / "insarApp.xml"
    xml.write_text("""<insarApp><component name="insar">
      <property name="Sensor name">UAVSAR_HDF5_SLC</property>
      <component name="reference"><property name="HDF5">r.h5</property></component>
      <component name="secondary"><property name="HDF5">s.h5</property></component>
      <property name="demFilename">dem.tif</property>
      <property name="geocode bounding box">[32.7, 32.9, 130.4, 130.6]</property>
    </component></insarApp>""")
    assert insarapp_to_dict(Path(xml))["geocode"]["bbox"] == [130.4, 32.7, 130.6, 32.9]
