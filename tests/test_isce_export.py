"""The ISCE layout export: every file opens in GDAL through its .vrt with the values of the Zarr products, the
ISCE .xml describes the same raster (and GDAL's ISCE driver reads it), the .rsc carries the pair's metadata."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
import rasterio
import xarray as xr
from typer.testing import CliRunner

from daskinsar.cli import app
from daskinsar.io.isce_export import ISCE_DATA_TYPES, ISCE_FILES

from products_helpers import shared_run


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    sim, out = shared_run(tmp_path_factory)
    target = tmp_path_factory.mktemp("isce")
    r = CliRunner().invoke(app, ["export", str(out), "--format", "isce", "-o", str(target)])
    assert r.exit_code == 0, r.output
    return out, target


def _north_up(a: xr.DataArray) -> np.ndarray:
    return a.transpose("y", "x").values  # geocoded groups are stored north up


def test_every_isce_file_opens_through_its_vrt_with_the_zarr_values(exported):
    run, target = exported
    prod = str(run / "products.zarr")
    groups = {g: xr.open_zarr(prod, group=g, consolidated=False) for g in ("geocode", "geocode_geometry")}
    names = sorted(p.name for p in target.iterdir() if p.suffix not in (".xml", ".vrt", ".rsc"))
    assert names == sorted(f.name for f in ISCE_FILES)
    for f in ISCE_FILES:
        with rasterio.open(target / f"{f.name}.vrt") as src:
            assert src.count == len(f.bands)
            assert src.crs == groups["geocode"].rio.crs
            x, y = groups["geocode"].x.values, groups["geocode"].y.values
            dx = (x[-1] - x[0]) / (len(x) - 1)
            assert src.transform.c == pytest.approx(x[0] - dx / 2, abs=1e-9 * abs(dx))
            assert src.transform.f == pytest.approx(y[0] + dx / 2, abs=1e-9 * abs(dx))
            assert (src.height, src.width) == (len(y), len(x))
            for k, (group, var, dtype) in enumerate(f.bands):
                got = src.read(k + 1)
                assert got.dtype == np.dtype(dtype), (f.name, k)
                if var.startswith("|"):
                    want = np.abs(_north_up(groups[group][var.strip("|")]))
                else:
                    want = _north_up(groups[group][var])
                np.testing.assert_array_equal(got, want.astype(dtype), err_msg=f"{f.name} band {k + 1}")
            last = src.read(src.count)
        root = ET.parse(target / f"{f.name}.xml").getroot()
        props = {p.get("name"): p.find("value").text for p in root.findall("property")}
        assert (int(props["width"]), int(props["length"]), int(props["number_bands"])) == (src.width, src.height,
                                                                                            src.count)
        assert props["data_type"] == ISCE_DATA_TYPES[f.bands[0][2]] and props["scheme"] == "BIL"
        c1 = {p.get("name"): p.find("value").text for p in root.find("component[@name='coordinate1']")
              .findall("property")}
        assert float(c1["startingvalue"]) == pytest.approx(x[0]) and float(c1["delta"]) == pytest.approx(dx)
        # GDAL's own ISCE driver reads the binary through the .xml
        with rasterio.open(target / f.name) as isce:
            assert isce.driver == "ISCE" and isce.count == len(f.bands)
            np.testing.assert_array_equal(isce.read(isce.count), last)


def test_rsc_carries_the_pair_metadata(exported):
    run, target = exported
    rsc = dict(line.split(None, 1) for line in (target / "filt_topophase.unw.geo.rsc").read_text().splitlines())
    with rasterio.open(run / "geo" / "unw.tif") as src:
        tags = src.tags()
        t = src.transform
    assert float(rsc["WAVELENGTH"]) == float(tags["WAVELENGTH_M"])
    assert float(rsc["P_BASELINE_TOP_HDR"]) == float(tags["PERPENDICULAR_BASELINE_M"])
    assert rsc["DATE12"].strip() == "200101-200216"
    assert float(rsc["X_FIRST"]) == pytest.approx(t.c) and float(rsc["Y_FIRST"]) == pytest.approx(t.f)
    assert float(rsc["X_STEP"]) == pytest.approx(t.a) and float(rsc["Y_STEP"]) == pytest.approx(t.e)
