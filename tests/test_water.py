"""The water mask: a user raster (here in UTM) resampled onto the multilooked grid and masked out by the
unwrapper, on a simulated pair with a lake; refusals of rasters daskinsar cannot use."""

from __future__ import annotations

from pathlib import Path

import dask.array as da
import numpy as np
import pyproj
import pytest
import rasterio
import xarray as xr
from rasterio.transform import from_origin
from scipy import ndimage

from daskinsar.config import RunConfig
from daskinsar.errors import InputFileError
from daskinsar.io.water import open_water_raster
from daskinsar.pipeline import run
from daskinsar.simulate import simulate_pair
from daskinsar.simulate.presets import Lake, TerrainConfig, preset
from daskinsar.simulate.terrain import water_mask
from daskinsar.stages import unwrap, water
from daskinsar.stages.water import WaterMaskParams

UTM = "EPSG:32652"  # the scene (130.5 E, 32.8 N) is in UTM zone 52 N


def write_mask(path, values, x0, y0, step, crs=UTM, nodata=None):
    with rasterio.open(path, "w", driver="GTiff", height=values.shape[0], width=values.shape[1], count=1,
                       dtype=values.dtype.name, crs=crs, transform=from_origin(x0, y0, step, step),
                       nodata=nodata) as dst:
        dst.write(values, 1)
    return str(path)


def lake_raster(path, cfg, lon, lat, step=5.0):
    """The simulator's own lakes rasterised on a UTM grid (5 m pixels) around the scene: 1 water, 0 land."""
    to_utm = pyproj.Transformer.from_crs("EPSG:4326", UTM, always_xy=True)
    x, y = to_utm.transform(lon, lat)
    x0, y0 = np.floor(np.nanmin(x)) - 300.0, np.ceil(np.nanmax(y)) + 300.0
    nx, ny = int((np.nanmax(x) + 300.0 - x0) / step), int((y0 - np.nanmin(y) + 300.0) / step)
    xc, yc = np.meshgrid(x0 + step * (np.arange(nx) + 0.5), y0 - step * (np.arange(ny) + 0.5))
    lo, la = pyproj.Transformer.from_crs(UTM, "EPSG:4326", always_xy=True).transform(xc, yc)
    lakes = [(lk.east_km, lk.north_km, lk.radius_km) for lk in cfg.terrain.lakes]
    w = water_mask(lo, la, cfg.centre_lon_deg, cfg.centre_lat_deg, lakes).astype(np.uint8)
    return write_mask(path, w, x0, y0, step)


@pytest.fixture(scope="module")
def lake_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("lake")
    cfg = preset("small", terrain=TerrainConfig(relief_m=200.0, cone_height_m=150.0, cone_radius_km=0.8,
                                                lakes=[Lake(east_km=0.35, north_km=0.05, radius_km=0.25)]))
    sim = simulate_pair(cfg, d / "pair", chunks=128)
    truth = xr.open_zarr(sim.truth, consolidated=False)
    mask_path = lake_raster(d / "water_utm.tif", cfg, truth["lon"].values, truth["lat"].values)
    p = Path(sim.out_dir)
    rc = RunConfig.model_validate({
        "reference": {"path": str(p / "reference.zarr")}, "secondary": {"path": str(p / "secondary.zarr")},
        "dem": {"path": str(p / "dem.tif")}, "output": str(d / "run"),
        "water_mask": {"path": mask_path},
        "interferogram": {"azimuth_looks": 2, "range_looks": 2}, "filter": {"strength": 0.5, "patch_size": 16},
        "processing": {"chunk_azimuth": 128, "chunk_range": 128}})
    lines: list[str] = []
    status = run(rc, end="unwrap", progress=False, reporter=lines.append)
    assert status["water"] == "done" and status["unwrap"] == "done", status
    return cfg, sim, rc, d / "run", lines


def _group(run_dir, g):
    return xr.open_zarr(str(run_dir / "products.zarr"), group=g, consolidated=False)


def test_the_unwrapper_leaves_the_lake_out_and_land_is_no_worse(lake_run):
    """The water step samples the UTM raster at every look cell: it agrees with the simulator's lake at the
    cells' ground points except on the shore (pixel quantisation); unwrapped phase is NaN and conncomp 0 on
    every water cell; on land the unwrapped phase is at least as close to the truth (deformation phase,
    multilooked like the interferogram, modulo a constant) as unwrapping the same filtered interferogram
    without the mask."""
    cfg, sim, rc, run_dir, lines = lake_run
    ifg, unw = _group(run_dir, "interferogram"), _group(run_dir, "unwrap")
    w = _group(run_dir, "water")["mask"].values
    lakes = [(lk.east_km, lk.north_km, lk.radius_km) for lk in cfg.terrain.lakes]
    want = water_mask(ifg["lon"].values, ifg["lat"].values, cfg.centre_lon_deg, cfg.centre_lat_deg, lakes)
    shore = ndimage.binary_dilation(want, iterations=1) & ~ndimage.binary_erosion(want, iterations=1)
    agree = np.mean((w == 1) == want)
    print(f"water: {want.sum()} lake cells of {want.size} ({100 * want.mean():.1f} %), raster agrees at "
          f"{100 * agree:.2f} % of the cells; {np.count_nonzero(((w == 1) != want) & ~shore)} disagreements off shore")
    assert want.sum() > 500 and agree >= 0.99 and not (((w == 1) != want) & ~shore).any()
    u, cc = unw["unw"].values, unw["conncomp"].values
    assert np.isnan(u[w == 1]).all() and (cc[w == 1] == 0).all()
    assert np.isnan(unw["los_displacement"].values[w == 1]).all()
    # the same filtered interferogram unwrapped without the mask
    inputs = xr.Dataset({"ifg": _group(run_dir, "filter")["ifg"], "coherence": ifg["coherence"]}, attrs=ifg.attrs)
    u0 = unwrap.run(inputs, rc.unwrap)["unw"].values
    truth = xr.open_zarr(sim.truth, consolidated=False)["deformation_phase"].values.astype(np.float64)
    la, lr = ifg.attrs["looks"]
    n0, n1 = u.shape
    t = truth[:n0 * la, :n1 * lr].reshape(n0, la, n1, lr).mean(axis=(1, 3))
    land = (w == 0) & np.isfinite(u) & np.isfinite(u0)

    def rms(x):
        e = (x - t)[land]
        return float(np.sqrt(np.mean((e - np.median(e)) ** 2)))

    with_mask, without = rms(u), rms(u0)
    print(f"land ({land.sum()} cells): unwrapped phase vs truth rms {with_mask:.4f} rad with the water mask, "
          f"{without:.4f} rad without; water cells unwrapped without the mask: {np.isfinite(u0[w == 1]).sum()}")
    assert land.sum() > 0.8 * (w == 0).sum()
    assert with_mask <= without + 1e-6  # no worse (1e-6 rad: float32 sums in a different order)
    assert any(s.startswith("water: ") for s in lines)


def test_the_run_has_baselines_and_a_layover_mask(lake_run):
    """The other layers of the run: baselines on 10 x 10 nodes near the simulated 300 m (right-looking:
    ISCE2's sign is negative), and a layover/shadow mask, full resolution and per look cell, that is clear
    (the simulator's terrain has neither)."""
    _, sim, _, run_dir, lines = lake_run
    b = _group(run_dir, "baseline")
    assert b["perpendicular_baseline"].shape == (10, 10)
    assert abs(b.attrs["perpendicular_baseline_centre_m"] + sim.model.baseline["perpendicular_m"]) < 1.0
    assert any(s.startswith("baseline: B_perp") for s in lines)
    m = _group(run_dir, "layover")["mask"]
    assert m.dtype == np.uint8 and m.shape == (256, 256) and int(m.max()) == 0
    ml = _group(run_dir, "interferogram")["layover_shadow"]
    assert ml.shape == _group(run_dir, "interferogram")["ifg"].shape and int(ml.max()) == 0


# ----------------------------------------------------------------------------- refusals and values
@pytest.fixture
def cells():
    lon, lat = np.meshgrid(np.linspace(130.49, 130.51, 20), np.linspace(32.79, 32.81, 16))
    return xr.Dataset({"lon": (("azimuth", "range"), da.from_array(lon, chunks=(8, 7))),
                       "lat": (("azimuth", "range"), da.from_array(lat, chunks=(8, 7)))})


def _utm_box(step=20.0, margin=500.0):
    x, y = pyproj.Transformer.from_crs("EPSG:4326", UTM, always_xy=True).transform([130.49, 130.51], [32.79, 32.81])
    x0, y0 = min(x) - margin, max(y) + margin
    return x0, y0, int((max(x) - x0 + margin) / step), int((y0 - min(y) + margin) / step), step


def test_water_values_and_nearest_pixels(tmp_path, cells):
    x0, y0, nx, ny, step = _utm_box()
    cls = (np.arange(nx)[None, :] // 20 % 3 + np.zeros((ny, 1), int)).astype(np.uint8)  # bands of 0, 1, 2
    path = write_mask(tmp_path / "classes.tif", cls, x0, y0, step)
    x, _ = pyproj.Transformer.from_crs("EPSG:4326", UTM, always_xy=True).transform(cells["lon"].values,
                                                                                  cells["lat"].values)
    want_cls = (np.floor((x - x0) / step).astype(int) // 20) % 3
    ds = cells.assign(water_raster=open_water_raster(path))
    any_nonzero = water.run(ds, WaterMaskParams(path=path))["mask"].values
    only_2 = water.run(ds, WaterMaskParams(path=path, water_values=[2.0]))["mask"].values
    np.testing.assert_array_equal(any_nonzero, want_cls != 0)
    np.testing.assert_array_equal(only_2, want_cls == 2)
    assert 0 < only_2.mean() < any_nonzero.mean() < 1


def test_rasters_that_cannot_be_used_are_refused(tmp_path, cells):
    x0, y0, nx, ny, step = _utm_box()
    ones = np.ones((ny, nx), np.uint8)
    small = write_mask(tmp_path / "small.tif", ones[: ny // 2], x0, y0, step)
    with pytest.raises(InputFileError, match=r"small\.tif: expected a water mask raster covering the scene, "
                                             r"found \d+ of the scene's 320 look cells outside it"):
        water.run(cells.assign(water_raster=open_water_raster(small)), WaterMaskParams(path=small))
    holes = ones.copy()
    holes[ny // 2 - 3: ny // 2 + 3] = 255
    nod = write_mask(tmp_path / "nodata.tif", holes, x0, y0, step, nodata=255)
    ds = water.run(cells.assign(water_raster=open_water_raster(nod)), WaterMaskParams(path=nod))
    with pytest.raises(InputFileError, match=r"nodata\.tif: .*no data \(nodata\) under \d+ look cells"):
        ds["mask"].values
    no_crs = tmp_path / "nocrs.tif"
    with rasterio.open(no_crs, "w", driver="GTiff", height=4, width=4, count=1, dtype="uint8") as dst:
        dst.write(np.ones((4, 4), np.uint8), 1)
    with pytest.raises(InputFileError, match=r"nocrs\.tif: expected a water mask raster with a CRS"):
        open_water_raster(no_crs)
    junk = tmp_path / "junk.tif"
    junk.write_bytes(b"not a raster at all" * 10)
    with pytest.raises(InputFileError, match=r"junk\.tif: expected a water mask raster readable by GDAL"):
        open_water_raster(junk)
    with pytest.raises(InputFileError, match="no such file"):
        open_water_raster(tmp_path / "absent.tif")
    two = tmp_path / "two.tif"
    with rasterio.open(two, "w", driver="GTiff", height=4, width=4, count=2, dtype="uint8", crs=UTM,
                       transform=from_origin(x0, y0, step, step)) as dst:
        dst.write(np.ones((2, 4, 4), np.uint8))
    with pytest.raises(InputFileError, match="one band"):
        open_water_raster(two)
