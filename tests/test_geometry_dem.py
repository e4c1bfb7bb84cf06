"""The Dem type: windows equal the whole DEM, lazy reads stay in their window, edge handling,
coverage errors, statistics chunk by chunk, and agreement with the types it replaces."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
from dask.base import tokenize

from daskinsar.errors import DemCoverageError, InputFileError
from daskinsar.geometry.dem import Dem
from daskinsar.geometry.dem_interp import interpolate_raster

METHODS = ("nearest", "bilinear", "bicubic", "biquintic")
LON0, LAT0, D = 10.0, 45.0, 1e-3


def _terrain(ny=120, nx=150, seed=0):
    rng = np.random.default_rng(seed)
    i, j = np.mgrid[0:ny, 0:nx]
    h = 300 + 80 * np.sin(j / 9.0) * np.cos(i / 13.0) + rng.normal(0, 3, (ny, nx))
    return h.astype(np.float32)


class CountingArray:
    """An array-like recording every window read (to prove reads stay small)."""

    def __init__(self, a):
        self.a, self.shape, self.dtype, self.ndim, self.reads = a, a.shape, a.dtype, 2, []

    def __getitem__(self, key):
        out = self.a[key]
        self.reads.append(out.size)
        return out


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("box", [(10.04, 10.07, 44.93, 44.96), (10.0, 10.02, 44.881, 44.9)])  # interior, at edges
@pytest.mark.parametrize("edge", ["fill", "clamp"])
def test_window_equals_whole(method, box, edge):
    h = _terrain()
    whole = Dem(h, LON0, LAT0, D, -D, method=method, edge=edge)
    win = whole.window(*box)  # default margin 4
    assert win.is_numpy and win.shape[0] < h.shape[0] and win.shape[1] < h.shape[1]
    rng = np.random.default_rng(1)
    lon = box[0] + rng.random(3000) * (box[1] - box[0])
    lat = box[2] + rng.random(3000) * (box[3] - box[2])
    np.testing.assert_allclose(win(lon, lat), whole(lon, lat), rtol=0, atol=1e-9)
    # and both equal the kernel on the full raster, independent of the Dem code
    ref = interpolate_raster(h.astype(np.float64), (lat - LAT0) / -D, (lon - LON0) / D, method)
    np.testing.assert_allclose(whole(lon, lat), ref, rtol=0, atol=1e-9)


def test_window_margin_never_below_stencil():
    """A margin smaller than the method's stencil is widened: biquintic still equals the whole DEM."""
    h = _terrain()
    whole = Dem(h, LON0, LAT0, D, -D, method="biquintic")
    box = (10.05, 10.06, 44.94, 44.95)
    win = whole.window(*box, margin=0)
    lon = np.linspace(box[0], box[1], 101)
    lat = np.linspace(box[2], box[3], 101)
    np.testing.assert_allclose(win(lon, lat), whole(lon, lat), rtol=0, atol=1e-9)


@pytest.mark.parametrize("backing", ["dask", "counting"])
def test_lazy_dem_reads_only_the_window(backing):
    h = _terrain(400, 500)
    arr = da.from_array(h, chunks=100) if backing == "dask" else CountingArray(h)
    lazy = Dem(arr, LON0, LAT0, D, -D, method="bicubic")
    ref = Dem(h, LON0, LAT0, D, -D, method="bicubic")
    rng = np.random.default_rng(2)
    lon = 10.2 + 0.01 * rng.random(500)
    lat = 44.8 - 0.01 * rng.random(500)
    np.testing.assert_allclose(lazy(lon, lat), ref(lon, lat), rtol=0, atol=1e-9)
    assert lazy.window(10.2, 10.21, 44.79, 44.8).shape == (19, 19)  # 11 samples + 2 x 4 margin
    if backing == "counting":
        assert max(arr.reads) <= 19 * 19 < h.size / 500
    with pytest.raises(TypeError, match="window"):
        lazy.raster()


def test_edge_handling_beyond_sample_centres():
    h = _terrain()
    fill = Dem(h, LON0, LAT0, D, -D, method="bilinear")
    clamp = fill.replace(edge="clamp")
    lon_out = LON0 - 0.5 * D  # half a sample west of the first column
    lat = LAT0 - 10 * D
    assert np.isnan(fill(lon_out, lat))
    assert clamp(lon_out, lat) == pytest.approx(float(h[10, 0]), abs=1e-6)
    assert Dem(h, LON0, LAT0, D, -D, edge="fill", fill_value=-1.0)(lon_out, lat) == -1.0
    assert np.isnan(fill(np.nan, lat)) and np.isnan(clamp(lon_out, np.nan))


def test_bounds_and_coverage_error_names_source_and_boxes():
    h = _terrain()
    dem = Dem(h, LON0, LAT0, D, -D, source="/data/my_dem.tif")
    lo0, lo1, la0, la1 = dem.bounds
    assert (lo0, la1) == (LON0, LAT0)
    assert lo1 == pytest.approx(LON0 + 149 * D) and la0 == pytest.approx(LAT0 - 119 * D)
    dem.check_covers([lo0, lo1], [la0, la1])
    with pytest.raises(DemCoverageError) as ei:
        dem.check_covers(np.array([lo0 - 0.5, lo1]), np.array([la0, la1 + 0.25]), what="scene footprint")
    msg = str(ei.value)
    assert "/data/my_dem.tif" in msg and "scene footprint" in msg
    for v in (lo0 - 0.5, lo0, la1 + 0.25, la1):
        assert f"{v:.6f}" in msg


def test_height_range_chunk_by_chunk_and_voids():
    h = _terrain(3000, 2500)
    h[100:110, 200:260] = np.nan
    arr = CountingArray(h)
    dem = Dem(arr, LON0, LAT0, D, -D)
    lo, hi = dem.height_range()
    assert (lo, hi) == (float(np.nanmin(h)), float(np.nanmax(h)))
    assert max(arr.reads) <= 2048 * 2048 < h.size  # never the whole array at once
    n = len(arr.reads)
    assert dem.stats()["n_void"] == 600
    assert dem.stats()["mean_m"] == pytest.approx(float(np.nanmean(h, dtype=np.float64)), rel=1e-12)
    assert len(arr.reads) == n  # computed once
    assert Dem(da.from_array(h, chunks=500), LON0, LAT0, D, -D).height_range() == (lo, hi)
    with pytest.raises(InputFileError, match="nodata everywhere"):
        Dem(np.full((4, 4), np.nan, np.float32), LON0, LAT0, D, -D, source="void.tif").height_range()


def test_raster_built_once_and_reference_height_shared_by_windows():
    h = _terrain()
    dem = Dem(h, LON0, LAT0, D, -D, ref_height_m=123.0)
    assert dem.raster() is dem.raster()
    a = dem.window(10.01, 10.02, 44.95, 44.96).raster()
    b = dem.window(10.10, 10.12, 44.90, 44.91).raster()
    assert a.mean_m == b.mean_m == 123.0
    own = Dem(h, LON0, LAT0, D, -D).raster()
    assert own.mean_m == pytest.approx(float(h.astype(np.float64).mean()))


def test_validation_and_tokens():
    h = _terrain()
    with pytest.raises(ValueError, match="method"):
        Dem(h, LON0, LAT0, D, -D, method="cubic")
    with pytest.raises(InputFileError, match="2 x 2"):
        Dem(np.ones((1, 1), np.float32), LON0, LAT0, D, -D, source="one.tif")
    with pytest.raises(ValueError, match="dlat_deg"):
        Dem(h, LON0, LAT0, D, 0.0)
    a, b = Dem(h, LON0, LAT0, D, -D), Dem(h.copy(), LON0, LAT0, D, -D)
    assert tokenize(a) == tokenize(b) != tokenize(a.replace(method="bilinear"))
    xa = a.to_xarray()
    assert xa.dims == ("y", "x") and xa.x.values[1] - xa.x.values[0] == pytest.approx(D)
