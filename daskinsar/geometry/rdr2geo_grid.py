"""rdr2geo over a radar grid, every pixel warm-started from a coarse lattice of exact solutions.

Neighbouring pixels share their orbit state (one azimuth time per row) and nearly share their
solution. The grid solver therefore

1. solves, from the cold start of :func:`~daskinsar.geometry.rdr2geo.rdr2geo_ecef`, the nodes of a
   lattice fixed in absolute coordinates: azimuth times ``k * dt_L`` (s since the orbit epoch) and
   slant ranges ``j * dr_L`` (m), with ``dr_L = LATTICE_M`` and ``dt_L = LATTICE_M / |v|`` (``|v|``:
   the median speed of the orbit's state vectors) -- a node is the same wherever a block starts;
2. starts every pixel from the bilinear interpolation of its cell's four node solutions (ground point
   ECEF and the ellipsoid inflation ``h*``), evaluates its orbit state once per row, and iterates to
   the same stopping rule as the cold solver (ground height within ``tol_m`` of the DEM under it).

What is approximated is only the starting point: every pixel is still solved to ``tol_m`` on the DEM,
so a result differs from the cold solver's by less than the tolerance of the iteration (measured on
the simulator's demo scene with 1500 m of relief: max 1e-4 m in height, below 1e-9 deg in lon/lat,
see ``benchmarks/bench_topo.py``). A pixel depends only on its own (t, R), its cell's nodes and the
DEM, never on the block it is computed in, so any chunking gives bit-identical results.
A pixel whose cell has a node without solution (layover) starts cold.

The secondary geometry of topo (geo2rdr of every ground point on a second orbit) is warm-started the
same way: the lattice nodes' azimuth times and Doppler-residual rates, interpolated, start the chord
iteration of :func:`~daskinsar.geometry.geo2rdr.geo2rdr_warm`.
"""

from __future__ import annotations

import math
from typing import Callable

import numba
import numpy as np

from ..errors import GeometryError
from .orbit import Orbit, hermite_state
from .rdr2geo import HeightSource, _NO_DEM, _rdr2geo_many, height_source, look_sign, solve_point

#: lattice spacing (m): slant range, and along-track distance at the orbit's median speed
LATTICE_M = 96.0
#: Newton tolerance (m) of the surface step from a warm start: Newton converges quadratically, so after a
#: step below this the remaining error is ~ step^2 / (2 R) < 1e-14 m
WARM_NEWTON_TOL_M = 1e-4


def lattice_spacing(orbit: Orbit) -> tuple[float, float]:
    """(dt_L s, dr_L m) of the warm-start lattice of ``orbit``."""
    speed = float(np.median(np.linalg.norm(orbit.velocity, axis=1)))
    return LATTICE_M / speed, LATTICE_M


def lattice_nodes(t: np.ndarray, r: np.ndarray, orbit: Orbit) -> tuple[int, np.ndarray, int, np.ndarray]:
    """(first azimuth node index, node times s, first range node index, node ranges m) of the lattice
    cells covering azimuth times ``t`` and slant ranges ``r`` (1-D)."""
    dt_l, dr_l = lattice_spacing(orbit)
    if len(t) == 0 or len(r) == 0:
        return 0, np.zeros(0), 0, np.zeros(0)
    k0 = int(math.floor(float(np.min(t)) / dt_l))
    k1 = max(int(math.floor(float(np.max(t)) / dt_l)) + 1, k0 + 1)
    j0 = int(math.floor(float(np.min(r)) / dr_l))
    j1 = max(int(math.floor(float(np.max(r)) / dr_l)) + 1, j0 + 1)
    return k0, np.arange(k0, k1 + 1) * dt_l, j0, np.arange(j0, j1 + 1) * dr_l


def lattice_extent(t: np.ndarray, r: np.ndarray, orbit: Orbit) -> tuple[np.ndarray, np.ndarray]:
    """``t`` and ``r`` extended by the lattice nodes their pixels start from (for DEM footprints)."""
    _, tn, _, rn = lattice_nodes(np.asarray(t, np.float64), np.asarray(r, np.float64), orbit)
    return np.concatenate([tn[:1], t, tn[-1:]]), np.concatenate([rn[:1], r, rn[-1:]])


def rdr2geo_grid(
    azimuth_time_s: np.ndarray,
    slant_range_m: np.ndarray,
    orbit: Orbit,
    *,
    wavelength_m: float,
    look_side: str | int,
    dem: HeightSource = 0.0,
    doppler: Callable | None = None,
    tol_m: float = 1e-4,
    max_iter: int = 50,
    accept_m: float = 0.01,
) -> dict:
    """Ground points of the pixels of the grid ``azimuth_time_s`` (rows, s since the orbit epoch) x
    ``slant_range_m`` (columns, m); see the module docstring for the method and
    :func:`~daskinsar.geometry.rdr2geo.rdr2geo_ecef` for the arguments (``dem``: a height in m or a DEM
    with a ``raster()`` method). Returns a dict of ``xyz`` (n_az, n_rg, 3) ECEF m, ``lon``, ``lat`` (deg),
    ``hgt`` (m), ``sat_pos``, ``sat_vel`` (n_az, 3: the platform state per row, m and m/s) and the
    lattice: ``nodes`` (n_k, n_j, 4: ECEF m and h* m of every node, NaN without solution), ``k0``,
    ``j0`` (first node indices), ``node_t``, ``node_r`` (node coordinates, s and m)."""
    t = np.ascontiguousarray(np.asarray(azimuth_time_s, np.float64).reshape(-1))
    r = np.ascontiguousarray(np.asarray(slant_range_m, np.float64).reshape(-1))
    n_az, n_rg = len(t), len(r)
    if n_az:
        orbit.check_coverage(float(np.nanmin(t)), float(np.nanmax(t)), "request")
    if hasattr(dem, "raster"):
        raster = dem.raster()
        h0, use_dem = float(raster.mean_m), True
    else:
        raster, h0, use_dem = _NO_DEM, float(np.asarray(dem, np.float64)), False
    # the lattice nodes, each solved from the cold start
    k0, tn, j0, rn = lattice_nodes(t, r, orbit)
    TN, RN = np.meshgrid(tn, rn, indexing="ij")
    node_out = np.empty((TN.size, 14))
    tnf, rnf = TN.reshape(-1), RN.reshape(-1)
    fdn = np.zeros_like(tnf) if doppler is None else np.asarray(doppler(tnf, rnf), np.float64).reshape(-1)
    _, heights = height_source(dem, TN.shape) if use_dem else (None, np.full(TN.size, h0))
    sign = look_sign(look_side)
    args = orbit.kernel_args()
    if TN.size:
        _rdr2geo_many(tnf, rnf, 0.5 * wavelength_m * rnf * fdn, heights, raster, use_dem, *args, sign, tol_m,
                      max_iter, accept_m, node_out)
    nodes = np.ascontiguousarray(node_out[:, [0, 1, 2, 13]].reshape(TN.shape + (4,)))
    nodes[np.isnan(node_out[:, 0]).reshape(TN.shape)] = np.nan
    # every pixel, warm
    fd = None if doppler is None else np.asarray(doppler(*np.meshgrid(t, r, indexing="ij")), np.float64)
    c2 = np.zeros((n_az, n_rg)) if fd is None else 0.5 * wavelength_m * r[None, :] * fd
    dt_l, dr_l = lattice_spacing(orbit)
    xyz = np.empty((n_az, n_rg, 3))
    llh = np.empty((3, n_az, n_rg))
    pos = np.empty((n_az, 3))
    vel = np.empty((n_az, 3))
    n_bad = _grid_kernel(t, r, np.ascontiguousarray(c2), h0, raster, use_dem, *args, sign, tol_m, max_iter, accept_m,
                         k0, dt_l, j0, dr_l, nodes, xyz, llh, pos, vel)
    if n_az * n_rg and n_bad == n_az * n_rg:
        raise GeometryError(f"rdr2geo did not converge for any of {n_az * n_rg} pixels; check look side, DEM and "
                            "orbit")
    check = getattr(dem, "check_coverage", None) if getattr(dem, "strict", False) else None
    if check is not None and n_az * n_rg:
        check(float(np.nanmin(llh[0])), float(np.nanmax(llh[0])), float(np.nanmin(llh[1])),
              float(np.nanmax(llh[1])), what="request")
    return {"xyz": xyz, "lon": llh[0], "lat": llh[1], "hgt": llh[2], "sat_pos": pos, "sat_vel": vel, "nodes": nodes,
            "k0": k0, "j0": j0, "node_t": tn, "node_r": rn, "dt_l": dt_l, "dr_l": dr_l}


@numba.njit(cache=True, nogil=True)
def _cell(x, d, i0, n):  # pragma: no cover - numba
    """(lower node index among n, fraction) of coordinate x on the lattice of spacing d whose first node is i0."""
    u = x / d
    k = math.floor(u)
    a = min(max(int(k) - i0, 0), n - 2)
    return a, u - (a + i0)


@numba.njit(cache=True, nogil=True)
def _grid_kernel(t, r, c2, h0, dem, use_dem, coef, t_ref, time, scale, n_herm, sign, tol_m, max_iter, accept_m,
                 k0, dt_l, j0, dr_l, nodes, xyz, llh, pos_rows, vel_rows):  # pragma: no cover - numba
    n_k, n_j = nodes.shape[0], nodes.shape[1]
    pos = np.empty(3)
    vel = np.empty(3)
    res = np.empty(8)
    s = np.empty(4)
    n_bad = 0
    cb = np.empty(r.shape[0], np.int64)
    fb = np.empty(r.shape[0])
    for j in range(r.shape[0]):
        cb[j], fb[j] = _cell(r[j], dr_l, j0, n_j)
    for i in range(t.shape[0]):
        hermite_state(coef, t_ref, time, scale, n_herm, t[i], pos, vel)
        pos_rows[i] = pos
        vel_rows[i] = vel
        a, fa = _cell(t[i], dt_l, k0, n_k)
        for j in range(r.shape[0]):
            b, f = cb[j], fb[j]
            w00, w01, w10, w11 = (1 - fa) * (1 - f), (1 - fa) * f, fa * (1 - f), fa * f
            for m in range(4):
                s[m] = (w00 * nodes[a, b, m] + w01 * nodes[a, b + 1, m] + w10 * nodes[a + 1, b, m]
                        + w11 * nodes[a + 1, b + 1, m])
            warm = np.isfinite(s[3])
            ok = solve_point(pos[0], pos[1], pos[2], vel[0], vel[1], vel[2], r[j], c2[i, j], h0, warm, s[0], s[1],
                             s[2], s[3], dem, use_dem, sign, tol_m, max_iter, accept_m,
                             WARM_NEWTON_TOL_M if warm else 1e-8, res)
            if not ok:
                n_bad += 1
            xyz[i, j, 0] = res[0]
            xyz[i, j, 1] = res[1]
            xyz[i, j, 2] = res[2]
            llh[0, i, j] = res[3]
            llh[1, i, j] = res[4]
            llh[2, i, j] = res[5]
    return n_bad


@numba.njit(cache=True, nogil=True)
def lattice_interp(t, r, k0, dt_l, j0, dr_l, node_vals, out):  # pragma: no cover - numba
    """Bilinear interpolation of lattice node values ``node_vals`` (n_k, n_j, m) at the pixels of the grid
    ``t`` x ``r`` into ``out`` (n_az, n_rg, m), cells as in the grid solver."""
    n_k, n_j, m_f = node_vals.shape
    for i in range(t.shape[0]):
        a, fa = _cell(t[i], dt_l, k0, n_k)
        for j in range(r.shape[0]):
            b, f = _cell(r[j], dr_l, j0, n_j)
            for m in range(m_f):
                out[i, j, m] = ((1 - fa) * ((1 - f) * node_vals[a, b, m] + f * node_vals[a, b + 1, m])
                                + fa * ((1 - f) * node_vals[a + 1, b, m] + f * node_vals[a + 1, b + 1, m]))
