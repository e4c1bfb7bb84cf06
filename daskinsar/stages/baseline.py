"""baseline: perpendicular and parallel baselines of the pair on a coarse grid of the reference scene.

The definition is ISCE2's (:mod:`daskinsar.geometry.baseline`): at a reference pixel the target is the
pixel's ground point at its topo height (``hgt``), the secondary platform is where the secondary grid
sees that target, and the baseline vector is split along and across the reference line of sight
(``B_par`` positive when the secondary is nearer the target, ``B_perp`` signed as ISCE2 signs it).
Native-Doppler grids are solved with each scene's grid Doppler.

The nodes are ``azimuth_nodes`` x ``range_nodes`` pixels spread evenly over the grid, first and last
line and column included (so the four corners are nodes). The scene centre (pixel
``(n_azimuth // 2, n_range // 2)``) and the corners are also given as flat numbers in the attributes.
A node whose pixel has no topo height (NaN: layover, no DEM) has NaN baselines.

The result is a few hundred numbers whose values the attributes carry, so :func:`run` computes them
when called (it reads the topo heights of the nodes only).
"""

from __future__ import annotations

import dask
import numpy as np
import xarray as xr
from pydantic import Field

from ..geometry.baseline import baselines
from ..params import Params
from ..scene import pair_scenes

__all__ = ["BaselineParams", "run", "node_indices", "POINTS"]

#: the named points of the attributes: (name, azimuth index, range index) as functions of the grid shape
POINTS = (
    ("first_near", lambda n: (0, 0)),
    ("first_far", lambda n: (0, n[1] - 1)),
    ("last_near", lambda n: (n[0] - 1, 0)),
    ("last_far", lambda n: (n[0] - 1, n[1] - 1)),
    ("centre", lambda n: (n[0] // 2, n[1] // 2)),
)


class BaselineParams(Params):
    """Perpendicular and parallel baselines on a coarse grid of the reference scene."""

    azimuth_nodes: int = Field(10, ge=2, description="nodes of the baseline grid in azimuth (first and last line "
                                                     "included)")
    range_nodes: int = Field(10, ge=2, description="nodes of the baseline grid in range (first and last column "
                                                   "included)")


def node_indices(n: int, k: int) -> np.ndarray:
    """``min(k, n)`` pixel indices spread evenly over ``0 .. n-1``, both ends included."""
    return np.unique(np.round(np.linspace(0, n - 1, min(k, n))).astype(np.int64))


def run(inputs: xr.Dataset, params: BaselineParams) -> xr.Dataset:
    """Baselines of the pair on the node grid.

    ``inputs``: the pair's grids, metadata and orbits (a :func:`daskinsar.scene.pair_dataset`; pixels not
    needed) and ``hgt`` (m, topo's heights on the full-resolution reference grid). Returns
    ``perpendicular_baseline`` and ``parallel_baseline`` (m, float64) and ``height`` (m, the targets'
    heights) on dims ``baseline_azimuth`` x ``baseline_range`` with coordinates ``azimuth_time`` (s since
    the reference epoch), ``slant_range`` (m), ``azimuth_index``, ``range_index`` (reference pixel);
    attributes ``perpendicular_baseline_<point>_m``, ``parallel_baseline_<point>_m``,
    ``azimuth_index_<point>``, ``range_index_<point>`` (flat numbers) for each point of :data:`POINTS`.
    """
    ref, sec = pair_scenes(inputs)
    t, r = ref.azimuth_time, ref.slant_range
    shape = (len(t), len(r))
    rows, cols = node_indices(shape[0], params.azimuth_nodes), node_indices(shape[1], params.range_nodes)
    point_idx = [f(shape) for _, f in POINTS]
    pi = np.array([p[0] for p in point_idx])
    pj = np.array([p[1] for p in point_idx])
    hgt = inputs["hgt"]
    nodes = hgt.isel(azimuth=rows, range=cols)
    points = hgt.isel(azimuth=xr.DataArray(pi, dims="point"), range=xr.DataArray(pj, dims="point"))
    h_nodes, h_points = (np.asarray(a, np.float64) for a in dask.compute(nodes.data, points.data))
    tt = np.concatenate([np.repeat(t[rows], len(cols)), t[pi]])
    rr = np.concatenate([np.tile(r[cols], len(rows)), r[pj]])
    hh = np.concatenate([h_nodes.ravel(), h_points])
    ok = np.isfinite(hh)
    bperp = np.full(hh.shape, np.nan)
    bpar = np.full(hh.shape, np.nan)
    if ok.any():
        bperp[ok], bpar[ok] = baselines(ref.orbit, sec.orbit, tt[ok], rr[ok], wavelength_m=ref.meta.wavelength_m,
                                        look_side=ref.meta.look_side, height_m=hh[ok],
                                        reference_doppler=ref.meta.grid_doppler_model,
                                        secondary_doppler=sec.meta.grid_doppler_model,
                                        secondary_time_guess_s=float(sec.azimuth_time[len(sec.azimuth_time) // 2]))
    n = len(rows) * len(cols)
    dims = ("baseline_azimuth", "baseline_range")
    attrs: dict = {"definition": "ISCE2 (topsApp runComputeBaseline): B_par = B cos(theta) (law of cosines), "
                                 "positive when the secondary is nearer the target; B_perp = B sin(theta), sign of "
                                 "((X - M) x (S' - M)) . V",
                   "target": "each node's ground point at its topo height"}
    for k, (name, _) in enumerate(POINTS):
        attrs[f"perpendicular_baseline_{name}_m"] = float(bperp[n + k])
        attrs[f"parallel_baseline_{name}_m"] = float(bpar[n + k])
        attrs[f"azimuth_index_{name}"] = int(pi[k])
        attrs[f"range_index_{name}"] = int(pj[k])
    coords = {"azimuth_time": ("baseline_azimuth", t[rows], {"units": "s"}),
              "slant_range": ("baseline_range", r[cols], {"units": "m"}),
              "azimuth_index": ("baseline_azimuth", rows), "range_index": ("baseline_range", cols)}
    return xr.Dataset({
        "perpendicular_baseline": (dims, bperp[:n].reshape(len(rows), len(cols)),
                                   {"units": "m", "long_name": "perpendicular baseline (ISCE2 sign)"}),
        "parallel_baseline": (dims, bpar[:n].reshape(len(rows), len(cols)),
                              {"units": "m", "long_name": "parallel baseline, positive when the secondary is "
                                                          "nearer the target"}),
        "height": (dims, h_nodes, {"units": "m", "long_name": "target height above the WGS84 ellipsoid (topo)"}),
    }, coords=coords, attrs=attrs)


def summary(ds: xr.Dataset) -> str:
    """One line: the centre's baselines and their range over the nodes."""
    def span(v):
        a = ds[v].values
        a = a[np.isfinite(a)]
        return f"{a.min():.2f} .. {a.max():.2f}" if a.size else "n/a"

    return (f"B_perp {ds.attrs['perpendicular_baseline_centre_m']:.2f} m at the centre "
            f"({span('perpendicular_baseline')} over the scene), B_par {ds.attrs['parallel_baseline_centre_m']:.2f} m "
            f"({span('parallel_baseline')})")
