"""``daskinsar show`` with mdx.py's habits: one file draws that file, --wrap draws fringes at the rate
asked, --zoom scales the picture, KMZ for geocoded products, one HTML page with colour bars."""

from __future__ import annotations

import base64
import html.parser
import io
import zipfile

import matplotlib.image
import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from daskinsar.cli import app
from daskinsar.io.export import write_geotiff
from daskinsar.quicklook import QuicklookError, render_rgba

runner = CliRunner()


def _grid(values, name, units, long_name):
    ny, nx = values.shape
    arr = xr.DataArray(values.astype(np.float32), dims=("y", "x"), name=name,
                       coords={"y": 42.0 - 0.001 * np.arange(ny), "x": 12.0 + 0.001 * np.arange(nx)},
                       attrs={"units": units, "long_name": long_name})
    return arr.rio.write_crs("EPSG:4326")


@pytest.fixture
def ramp_tif(tmp_path):
    """Unwrapped phase rising by 20 pi (10 cycles) from west to east; a second, different file beside it."""
    phase = np.tile(np.linspace(0.0, 20 * np.pi, 400, endpoint=False), (120, 1))
    path = write_geotiff(_grid(phase, "unw", "rad", "unwrapped phase"), tmp_path / "unw.tif")
    write_geotiff(_grid(np.full((120, 400), 0.5), "coherence", "1", "coherence"), tmp_path / "coherence.tif")
    return path


def _hue_cycles(rgba_row) -> int:
    """Completed colour cycles along a row of a cyclic-hue image (hue jumps from ~1 back to ~0)."""
    from matplotlib.colors import rgb_to_hsv

    hue = rgb_to_hsv(np.clip(rgba_row[..., :3], 0, 1))[..., 0]
    return int(np.sum(np.diff(hue) < -0.5))


def test_show_one_geotiff_draws_exactly_that_file(ramp_tif, tmp_path):
    res = runner.invoke(app, ["show", str(ramp_tif), "-o", str(tmp_path / "ql")])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "ql").iterdir()) == ["unw.kmz", "unw.png"]
    res = runner.invoke(app, ["show", str(ramp_tif), "-n", "topophase.cor"])
    assert res.exit_code != 0 and "a GeoTIFF is one product" in res.output


@pytest.mark.parametrize("rate, cycles", [(2 * np.pi, 10), (4 * np.pi, 5), (np.pi, 20)])
def test_wrap_draws_fringes_at_the_rate_asked(ramp_tif, rate, cycles):
    arr = xr.open_dataarray(ramp_tif, engine="rasterio").squeeze("band", drop=True)
    arr.attrs.update(units="rad")
    rgba, _, style = render_rgba(arr.rename("unw"), wrap=rate)
    assert _hue_cycles(rgba[60]) == cycles - 1  # n cycles over the row: n - 1 jumps inside it
    assert f"modulo {rate:g} rad" in style["label"]


def test_wrap_of_displacement_in_metres_and_refused_elsewhere(tmp_path):
    disp = _grid(np.tile(np.linspace(0.0, 0.3, 300, endpoint=False), (50, 1)), "los_displacement", "m",
                 "line-of-sight displacement")
    rgba, _, style = render_rgba(disp, wrap=0.028)  # one fringe of a C-band interferogram, in metres
    assert _hue_cycles(rgba[25]) == int(0.3 / 0.028)  # 10.7 cycles: 10 jumps
    with pytest.raises(QuicklookError, match="--wrap draws fringes of unwrapped phase"):
        render_rgba(_grid(np.ones((10, 10)), "coherence", "1", "coherence"), wrap=1.0)


def test_zoom_scales_the_picture(ramp_tif, tmp_path):
    sizes = {}
    for z in ("0.5", "1", "2"):
        out = tmp_path / f"z{z}"
        assert runner.invoke(app, ["show", str(ramp_tif), "--zoom", z, "-o", str(out)]).exit_code == 0
        sizes[z] = matplotlib.image.imread(out / "unw.png").shape[:2]
    # the image area is zoom x 400 by zoom x 120 screen pixels; the margins are fixed (230 x 100 pixels)
    for z in ("0.5", "1", "2"):
        assert sizes[z] == (round(120 * float(z)) + 100, round(400 * float(z)) + 230), sizes


def test_kmz_of_a_geocoded_product_with_fringes(ramp_tif, tmp_path):
    assert runner.invoke(app, ["show", str(ramp_tif), "--wrap", "6.283185307179586", "-o", str(tmp_path)]
                         ).exit_code == 0
    with zipfile.ZipFile(tmp_path / "unw.kmz") as z:
        names = set(z.namelist())
        kml = z.read("doc.kml").decode()
        overlay = matplotlib.image.imread(io.BytesIO(z.read("unw.png")))
    assert names == {"doc.kml", "unw.png", "unw_legend.png"}
    assert "<north>42.0005000000</north>" in kml and "<west>11.9995000000</west>" in kml
    assert _hue_cycles(overlay[60]) == 9


class _Figures(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.figures: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "figure" and "product" in a.get("class", ""):
            self.figures.append({"product": a.get("data-product"), "units": a.get("data-units"), "img": {}})
        elif tag == "img" and self.figures:
            self.figures[-1]["img"][a.get("class")] = (a.get("alt"), a.get("src"))


def test_html_page_has_every_product_and_its_colour_bar(ramp_tif, tmp_path):
    """The run-folder case is exercised by the CI demo test; here a run-like products.zarr."""
    unw = _grid(np.tile(np.linspace(0.0, 20 * np.pi, 200), (80, 1)), "unw", "rad", "unwrapped phase")
    coh = _grid(np.full((80, 200), 0.7), "coherence", "1", "coherence")
    disp = _grid(np.tile(np.linspace(0.0, 0.1, 200), (80, 1)), "los_displacement", "m", "line-of-sight displacement")
    ifg = xr.DataArray(np.exp(1j * np.tile(np.linspace(0, 20, 200), (80, 1))).astype(np.complex64), dims=unw.dims,
                       coords=unw.coords, name="filt_ifg")
    store = tmp_path / "run" / "products.zarr"
    xr.Dataset({"unw": unw, "coherence": coh, "los_displacement": disp}).to_zarr(store, group="geocode", mode="w")
    xr.Dataset({"ifg": ifg.drop_vars("spatial_ref")}).to_zarr(store, group="filter", mode="a")
    res = runner.invoke(app, ["show", str(tmp_path / "run"), "-n", "filter/ifg", "-n", "geocode/coherence",
                              "-n", "geocode/unw", "-n", "geocode/los_displacement", "--html", "--wrap", "3.14159"])
    assert res.exit_code != 0 and "--wrap draws fringes" in res.output  # --wrap with an interferogram named
    res = runner.invoke(app, ["show", str(tmp_path / "run"), "-n", "filter/ifg", "-n", "geocode/coherence",
                              "-n", "geocode/unw", "-n", "geocode/los_displacement", "--html"])
    assert res.exit_code == 0, res.output
    page = (tmp_path / "run" / "quicklook" / "index.html").read_text()
    parser = _Figures()
    parser.feed(page)
    got = {f["product"]: f for f in parser.figures}
    assert list(got) == ["filter/ifg", "geocode/coherence", "geocode/unw", "geocode/los_displacement"]
    labels = {"filter/ifg": "wrapped phase (rad)", "geocode/coherence": "coherence (0..1)",
              "geocode/unw": "unwrapped phase (rad)", "geocode/los_displacement": "(m)"}
    for name, fig in got.items():
        assert set(fig["img"]) == {"map", "colorbar"}, name
        alt, src = fig["img"]["colorbar"]
        assert labels[name] in alt, (name, alt)
        for _, uri in fig["img"].values():  # inlined PNGs that decode
            assert uri.startswith("data:image/png;base64,")
            assert matplotlib.image.imread(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).ndim == 3
    assert "http" not in page.replace("http-equiv", "")  # self-contained: no server, nothing fetched
