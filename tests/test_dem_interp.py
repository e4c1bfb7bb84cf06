"""DEM interpolation kernels (ISCE's biquintic, Keys bicubic, bilinear)."""

import numpy as np
import pytest

from daskinsar.geometry.dem_interp import interpolate_raster, natural_spline_weights


def _reference(r, row, col, method):
    """Plain numpy separable evaluation of each method's definition."""
    ny, nx = r.shape
    if method == "bilinear":
        r0, c0 = np.floor(row).astype(int), np.floor(col).astype(int)
        wr = np.stack([1 - (row - r0), row - r0], -1)
        wc = np.stack([1 - (col - c0), col - c0], -1)
        offs = (0, 1)
    elif method == "bicubic":
        def keys(x, a=-0.5):
            x = np.abs(x)
            return np.where(x <= 1, (a + 2) * x**3 - (a + 3) * x**2 + 1,
                            np.where(x < 2, a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a, 0.0))
        r0, c0 = np.floor(row).astype(int), np.floor(col).astype(int)
        wr = keys((row - r0)[:, None] - np.arange(-1, 3))
        wc = keys((col - c0)[:, None] - np.arange(-1, 3))
        offs = (-1, 0, 1, 2)
    else:
        r0, c0 = np.floor(row).astype(int) - 1, np.floor(col).astype(int) - 1
        wr, wc = natural_spline_weights(6, row - r0), natural_spline_weights(6, col - c0)
        offs = tuple(range(6))
        r0, c0 = r0 - 0, c0 - 0
    out = np.zeros(row.shape)
    for j, dj in enumerate(offs):
        for k, dk in enumerate(offs):
            out += wr[:, j] * wc[:, k] * r[np.clip(r0 + dj, 0, ny - 1), np.clip(c0 + dk, 0, nx - 1)]
    return out


@pytest.mark.parametrize("method", ["bilinear", "bicubic", "biquintic"])
def test_compiled_kernel_matches_definition(method):
    rng = np.random.default_rng(0)
    r = rng.random((60, 40)) * 1000
    row = rng.random(5000) * 70 - 5
    col = rng.random(5000) * 50 - 5
    np.testing.assert_allclose(interpolate_raster(r, row, col, method), _reference(r, row, col, method), atol=1e-9)


@pytest.mark.parametrize("method", ["nearest", "bilinear", "bicubic", "biquintic"])
def test_exact_at_samples_and_on_planes(method):
    ii, jj = np.mgrid[0:30, 0:40].astype(float)
    plane = 100 + 3 * ii - 2 * jj
    np.testing.assert_allclose(interpolate_raster(plane, ii, jj, method), plane, atol=1e-9)
    if method != "nearest":
        rng = np.random.default_rng(1)
        row, col = rng.uniform(3, 26, 500), rng.uniform(3, 36, 500)
        np.testing.assert_allclose(interpolate_raster(plane, row, col, method), 100 + 3 * row - 2 * col, atol=1e-9)


def test_nan_stays_local():
    r = np.ones((20, 20))
    r[10, 10] = np.nan
    out = interpolate_raster(r, np.array([10.2, 2.0, np.nan]), np.array([10.3, 2.0, 1.0]))
    assert np.isnan(out[0]) and out[1] == pytest.approx(1.0) and np.isnan(out[2])
