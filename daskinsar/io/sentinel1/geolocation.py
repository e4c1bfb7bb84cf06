"""What ESA's geolocation grid (``geolocationGrid`` of an annotation) tells beyond lat/lon:
burst footprints and the residual bistatic delay of the line times."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

if TYPE_CHECKING:  # annotation.py imports this module
    from .annotation import S1Burst, S1Swath

__all__ = ["bistatic_reference_range_time", "burst_footprint"]


def bistatic_reference_range_time(sw: "S1Swath") -> float | None:
    """The two-way range time ``tau_C`` (s) at which the IPF's bulk bistatic correction holds, from
    ESA's geolocation grid: a grid point's (zero-Doppler) ``azimuthTime`` is its image line's time
    plus ``(tau - tau_C) / 2``, the residual bistatic delay (up to ~0.13 line in IW1, ~0.05 line in
    IW2). None when the grid does not show that relation (to 5 us)."""
    g = sw.grid
    lines = g.line.values.ravel()
    tau = g.slant_range_time.values.ravel()
    t = g.azimuth_time.values.ravel()
    dt = sw.azimuth_time_interval_s
    if sw.bursts:
        lpb = sw.lines_per_burst
        k = (lines // lpb).astype(int)
        ok = (k >= 0) & (k < len(sw.bursts))
        t0 = np.array([b.azimuth_time_s for b in sw.bursts])
        t_line = t0[k[ok]] + (lines[ok] - k[ok] * lpb) * dt
    else:
        ok = (lines >= 0) & (lines < sw.n_lines)
        t_line = lines[ok] * dt
    if ok.sum() < 3:
        return None
    est = tau[ok] - 2.0 * (t[ok] - t_line)
    if np.ptp(est) > 10e-6:
        return None
    return float(np.median(est))



def burst_footprint(sw: "S1Swath", b: "S1Burst") -> np.ndarray:
    """(lon, lat) deg polygon (N, 2) of a burst's valid lines over the full range width, from ESA's
    geolocation grid (interpolated linearly in azimuth time and in pixel)."""
    g = sw.grid
    if "grid_line" not in g.dims:
        raise ValueError(f"{sw.annotation}: the geolocation grid is not a regular line x pixel grid")
    v0, v1 = b.valid_lines
    dt = sw.azimuth_time_interval_s
    times = (b.azimuth_time_s + v0 * dt, b.azimuth_time_s + v1 * dt)
    pix = g.pixel.values[0]
    inner = pix[(pix > 0) & (pix < sw.n_samples - 1)]
    cols = np.concatenate([[0.0], inner, [sw.n_samples - 1.0]])
    rows = []
    for t in times:
        lon = _interp_grid(g, "longitude", t, cols)
        lat = _interp_grid(g, "latitude", t, cols)
        rows.append(np.stack([lon, lat], axis=-1))
    return np.concatenate([rows[0], rows[1][::-1]])


def _interp_grid(g: xr.Dataset, name: str, t: float, cols: np.ndarray) -> np.ndarray:
    """A grid field at azimuth time ``t`` and pixels ``cols``: linear in time between the bracketing grid
    rows (extrapolated beyond the ends), then linear in pixel (extrapolated)."""
    tg = g.azimuth_time.values[:, 0]
    i = int(np.clip(np.searchsorted(tg, t) - 1, 0, len(tg) - 2))
    f = (t - tg[i]) / (tg[i + 1] - tg[i])
    row = g[name].values[i] * (1 - f) + g[name].values[i + 1] * f
    pix = g.pixel.values[0].astype(np.float64)
    out = np.interp(cols, pix, row)
    # np.interp holds the ends constant: extrapolate linearly instead
    lo, hi = cols < pix[0], cols > pix[-1]
    out[lo] = row[0] + (cols[lo] - pix[0]) * (row[1] - row[0]) / (pix[1] - pix[0])
    out[hi] = row[-1] + (cols[hi] - pix[-1]) * (row[-1] - row[-2]) / (pix[-1] - pix[-2])
    return out
