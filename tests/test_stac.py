"""The STAC item of a run validates offline (pystac's validator, core schemas packaged with pystac), and
describes the run: footprint around the geocoded grid, acquisition interval, one asset per GeoTIFF."""

from __future__ import annotations

import json

import numpy as np
import pystac
import pytest
import xarray as xr
from typer.testing import CliRunner

from daskinsar.cli import app
from daskinsar.io.stac import validate_item

from products_helpers import shared_run, truth_attrs


@pytest.fixture(scope="module")
def item(tmp_path_factory):
    sim, out = shared_run(tmp_path_factory)
    r = CliRunner().invoke(app, ["export", str(out), "--format", "stac"])
    assert r.exit_code == 0, r.output
    return sim, out, json.loads((out / "item.json").read_text())


def test_stac_item_validates_offline_and_describes_the_run(item, monkeypatch):
    sim, out, d = item

    def no_network(self, source, *a, **k):
        raise AssertionError(f"validation tried to fetch {source}")

    monkeypatch.setattr(pystac.StacIO, "read_text", no_network)
    monkeypatch.setattr(pystac.stac_io.DefaultStacIO, "read_text", no_network)
    it = pystac.Item.from_dict(d)
    schemas = validate_item(it)
    assert any("item-spec" in s for s in schemas)
    geo = xr.open_zarr(str(out / "products.zarr"), group="geocode", consolidated=False)
    p = geo.attrs["posting"]
    west, south, east, north = d["bbox"]
    assert west == pytest.approx(float(geo.x.min()) - p / 2) and east == pytest.approx(float(geo.x.max()) + p / 2)
    assert south == pytest.approx(float(geo.y.min()) - p / 2) and north == pytest.approx(float(geo.y.max()) + p / 2)
    truth = truth_attrs(sim)
    start = np.datetime64(d["properties"]["start_datetime"].rstrip("Z"))
    assert start == np.datetime64(truth["reference_epoch"]) + np.timedelta64(
        int(round(truth["reference_grid"]["t0_s"] * 1e9)), "ns")
    assert d["properties"]["end_datetime"][:10] == "2020-02-16"
    tifs = {f.relative_to(out).as_posix() for f in out.glob("geo/**/*.tif")}
    hrefs = {a["href"].removeprefix("./") for a in d["assets"].values() if a["href"].endswith(".tif")}
    assert hrefs == tifs
    for a in d["assets"].values():
        assert (out / a["href"].removeprefix("./")).exists()
        assert a.get("title") and a.get("roles")


def test_an_invalid_item_is_refused(item):
    _, _, d = item
    bad = json.loads(json.dumps(d))
    bad["bbox"] = "everywhere"
    with pytest.raises(pystac.errors.STACValidationError):
        validate_item(pystac.Item.from_dict(bad))
