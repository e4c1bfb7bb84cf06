"""Per-pixel geometry of a radar grid from exact solutions on a coarse lattice at a few heights.

Only the ground height of a pixel depends on the DEM; everything else -- where the range-Doppler
circle of a pixel (t, R) meets the ellipsoid raised by ``h`` (lon, lat), the line of sight there
(incidence, heading) and when and at which range a second orbit sees that point -- is a smooth
function of (t, R, h). The grid solver therefore

1. solves exactly (:func:`~daskinsar.geometry.rdr2geo.rdr2geo_ecef` at constant heights,
   :func:`~daskinsar.geometry.los.los_angles`, :func:`~daskinsar.geometry.geo2rdr.geo2rdr`) the nodes of a
   lattice fixed in absolute coordinates -- azimuth times ``k * dt_L`` (s since the orbit epoch) and
   slant ranges ``j * dr_L`` (m), ``dr_L = LATTICE_M``, ``dt_L = LATTICE_M / |v|`` (``|v|`` the median
   speed of the orbit's state vectors) -- at ``K`` heights spanning the whole DEM (``levels``);
2. per pixel interpolates the node fields with Keys cubic convolution in (t, R) and the Lagrange
   polynomial through the ``K`` levels in h, and solves ``DEM(lon(h), lat(h)) = h`` by Newton steps
   (from the interpolated solution of the nodes; the slope from the derivatives of the Lagrange
   polynomials and of the biquintic DEM interpolant, secant steps for other DEM interpolations) to
   ``|DEM - h| < tol_m``; the other fields are then interpolated at that height.

A pixel depends only on its own (t, R), the 4 x 4 nodes around it and the levels (fixed by the whole
DEM), never on the block it is computed in: any chunking gives bit-identical results. Pixels whose
height iteration does not converge (layover), whose nodes have no solution, or that lie on no DEM
height are solved exactly, pixel by pixel.

Accepted error (interpolation only; the height equation is solved to ``tol_m`` on the DEM), measured
against the exact per-pixel solvers on the same pixels (``benchmarks/bench_topo.py``, the benchmark report):
on the simulator's demo scene (C band, spaceborne, a cone and relief) at most 2.3e-9 deg in longitude
(0.2 mm), 3.5e-10 deg in latitude, 1.8e-4 m in height, 2.1e-8 deg in incidence, 1.4e-9 deg in heading,
2.1e-8 secondary pixels and 5.3e-6 rad of geometric phase; on UAVSAR (airborne, 12.5 km altitude, lattice
25 m) at most 9e-9 deg in longitude/latitude, 1.9e-4 m in height and 4.4e-6 deg in incidence, with the
mean ISCE2 differences of ``tests/test_geometry.py`` unchanged to two digits.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .dem_eval import biquintic_terms, dem_height_grad_interior, dem_height_grad_t
from .ellipsoid import ecef_to_llh_point
from .geo2rdr import DopplerLike, geo2rdr
from .los import los_angles
from .orbit import Orbit
from .rdr2geo import HeightSource, _NO_DEM, rdr2geo_ecef

#: lattice spacing (m): slant range, and along-track distance at the orbit's median speed
LATTICE_M = 96.0
#: the lattice spacing is at most the platform altitude over this (so that the interpolation error, which
#: grows as spacing^4 / range^3, stays below 1 mm also for an airborne platform), and at least LATTICE_MIN_M
LATTICE_ALTITUDE_RATIO = 500.0
LATTICE_MIN_M = 2.0
#: heights (levels) of the lattice
N_LEVELS = 5
#: first fields of a node: lon, lat, incidence, heading (deg); then, with a second orbit, t2 - t (s) and
#: R2 - R (m)
N_BASE = 4
#: the heading field (deg, interpolated after unwrapping within each stencil)
_HDG = 3


def lattice_spacing(orbit: Orbit) -> tuple[float, float]:
    """(dt_L s, dr_L m) of the lattice of ``orbit``: ``LATTICE_M``, or less for a low (airborne) platform
    (the fields curve on the scale of the range: at most ``altitude / LATTICE_ALTITUDE_RATIO``)."""
    speed = float(np.median(np.linalg.norm(orbit.velocity, axis=1)))
    mid = orbit.position[len(orbit.time) // 2]
    altitude = float(ecef_to_llh_point(mid[0], mid[1], mid[2])[2])
    step = min(LATTICE_M, max(altitude / LATTICE_ALTITUDE_RATIO, LATTICE_MIN_M))
    return step / speed, step


def lattice_nodes(t: np.ndarray, r: np.ndarray, orbit: Orbit) -> tuple[int, np.ndarray, int, np.ndarray]:
    """(first azimuth node index, node times s, first range node index, node ranges m): the nodes of the
    Keys stencils (``floor(u) - 1 .. floor(u) + 2``) of azimuth times ``t`` and slant ranges ``r`` (1-D)."""
    dt_l, dr_l = lattice_spacing(orbit)
    if len(t) == 0 or len(r) == 0:
        return 0, np.zeros(4), 0, np.zeros(4)
    k0 = int(math.floor(float(np.min(t)) / dt_l)) - 1
    k1 = int(math.floor(float(np.max(t)) / dt_l)) + 2
    j0 = int(math.floor(float(np.min(r)) / dr_l)) - 1
    j1 = int(math.floor(float(np.max(r)) / dr_l)) + 2
    return k0, np.arange(k0, k1 + 1) * dt_l, j0, np.arange(j0, j1 + 1) * dr_l


def lattice_extent(t: np.ndarray, r: np.ndarray, orbit: Orbit) -> tuple[np.ndarray, np.ndarray]:
    """``t`` and ``r`` extended by the lattice nodes their pixels are interpolated from (for footprints)."""
    _, tn, _, rn = lattice_nodes(np.asarray(t, np.float64), np.asarray(r, np.float64), orbit)
    return np.concatenate([tn[:1], t, tn[-1:]]), np.concatenate([rn[:1], r, rn[-1:]])


def height_levels(h_min: float, h_max: float) -> np.ndarray:
    """The lattice heights (m) for ground heights between ``h_min`` and ``h_max``: ``N_LEVELS`` Chebyshev
    nodes of the range widened by 10 m (Lagrange interpolation through them stays close to the best
    polynomial)."""
    lo, hi = float(h_min) - 10.0, float(h_max) + 10.0
    k = np.arange(N_LEVELS)
    return 0.5 * (lo + hi) - 0.5 * (hi - lo) * np.cos((2 * k + 1) * np.pi / (2 * N_LEVELS)) / np.cos(
        np.pi / (2 * N_LEVELS))


def node_table(tn: np.ndarray, rn: np.ndarray, orbit: Orbit, levels: np.ndarray, *, wavelength_m: float,
               look_side: str | int, doppler: DopplerLike = None, secondary=None) -> np.ndarray:
    """Exact fields (n_fields, K, n_t, n_r) of the lattice nodes ``tn`` x ``rn`` at heights ``levels``
    (see :data:`N_BASE`). ``secondary``: None or (orbit, doppler, first azimuth time s, wavelength m) of a
    second pass (its Doppler is in Hz at its own wavelength)."""
    T, R = np.meshgrid(tn, rn, indexing="ij")
    nf = N_BASE + (2 if secondary is not None else 0)
    table = np.empty((nf, len(levels)) + T.shape)
    t_guess: np.ndarray | None = None if secondary is None else np.full(T.shape, float(secondary[2]))
    for k, h in enumerate(levels):
        xyz, lon, lat, _, sat, _ = rdr2geo_ecef(T, R, orbit, wavelength_m=wavelength_m, look_side=look_side,
                                               dem=float(h), doppler=doppler)
        inc, hdg = los_angles(xyz, sat)
        table[0, k], table[1, k], table[2, k], table[3, k] = lon, lat, inc, hdg
        if secondary is not None:
            t2, r2 = geo2rdr(xyz, secondary[0], wavelength_m=secondary[3], doppler=secondary[1], t_guess_s=t_guess,
                             check_coverage=False)
            table[4, k], table[5, k] = t2 - T, r2 - R
            t_guess = np.asarray(np.where(np.isfinite(t2), t2, t_guess))
    # longitudes continuous across the antimeridian (taken back to (-180, 180] per pixel): a longitude more
    # than 180 deg from the orbit's middle state vector is moved by 360 deg, the others are left exactly as
    # they are (the same in every block's lattice)
    p = orbit.position[len(orbit.time) // 2]
    ref = math.degrees(math.atan2(p[1], p[0]))
    lon = table[0]
    table[0] = np.where(lon - ref > 180.0, lon - 360.0, np.where(lon - ref < -180.0, lon + 360.0, lon))
    return np.ascontiguousarray(table)


def topo_grid_geometry(
    azimuth_time_s: np.ndarray,
    slant_range_m: np.ndarray,
    orbit: Orbit,
    *,
    wavelength_m: float,
    look_side: str | int,
    dem: HeightSource,
    levels: np.ndarray | None = None,
    doppler: DopplerLike = None,
    secondary=None,
    tol_m: float = 1e-4,
    max_iter: int = 50,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Geometry of the pixels of the grid ``azimuth_time_s`` (rows, s) x ``slant_range_m`` (columns, m):
    float64 (k, n_az, n_rg) with lon, lat (deg), hgt (m), incidence, heading (deg) and, with ``secondary``
    = (orbit, doppler, first azimuth time s, wavelength m), the second pass's azimuth time (s) and slant
    range (m).

    ``dem``: a constant height (m) or a DEM with a ``raster()`` method; ``levels``: the lattice heights
    (m; default from the DEM's own height range -- pass the whole DEM's for blocks of one scene). See the
    module docstring for the method and its error. ``out``: where to write (at least the k planes, float64)."""
    t = np.ascontiguousarray(np.asarray(azimuth_time_s, np.float64).reshape(-1))
    r = np.ascontiguousarray(np.asarray(slant_range_m, np.float64).reshape(-1))
    n_out = 5 + (2 if secondary is not None else 0)
    if out is None:
        out = np.empty((n_out, len(t), len(r)))
    if out.size == 0:
        return out
    orbit.check_coverage(float(np.nanmin(t)), float(np.nanmax(t)), "request")
    if hasattr(dem, "raster"):
        raster, use_dem = dem.raster(), True
        h_ref = float(raster.mean_m)
        if levels is None:
            levels = height_levels(*getattr(dem, "height_range")())
    else:
        raster, use_dem, h_ref = _NO_DEM, False, float(np.asarray(dem, np.float64))
        levels = np.array([h_ref]) if levels is None else levels
    levels = np.asarray(levels, np.float64)
    k0, tn, j0, rn = lattice_nodes(t, r, orbit)
    table = node_table(tn, rn, orbit, levels, wavelength_m=wavelength_m, look_side=look_side, doppler=doppler,
                       secondary=secondary)
    dt_l, dr_l = lattice_spacing(orbit)
    bad = np.zeros((len(t), len(r)), np.bool_)
    node_h = np.empty(table.shape[2:])
    _node_heights(table, levels, raster, use_dem, h_ref, tol_m, max_iter, node_h)
    _table_kernel(t, r, k0, dt_l, j0, dr_l, table, node_h, levels, raster, use_dem, h_ref, tol_m, max_iter, out, bad)
    if np.any(bad):  # exact, pixel by pixel
        ii, jj = np.nonzero(bad)
        xyz, lon, lat, hgt, sat, _ = rdr2geo_ecef(t[ii], r[jj], orbit, wavelength_m=wavelength_m,
                                                 look_side=look_side, dem=dem, doppler=doppler, tol_m=tol_m,
                                                 max_iter=max_iter)
        inc, hdg = los_angles(xyz, sat)
        out[0:5, ii, jj] = lon, lat, hgt, inc, hdg
        if secondary is not None:
            t2, r2 = geo2rdr(xyz, secondary[0], wavelength_m=secondary[3], doppler=secondary[1],
                             t_guess_s=float(secondary[2]), check_coverage=False)
            out[5, ii, jj], out[6, ii, jj] = t2, r2
    return out


@numba.njit(cache=True, nogil=True)
def _keys(f, w):  # pragma: no cover - numba
    """Keys (a = -0.5) weights of nodes floor(u) - 1 .. floor(u) + 2 at fraction f."""
    for m in range(4):
        x = abs(f - (m - 1))
        if x <= 1.0:
            w[m] = (1.5 * x - 2.5) * x * x + 1.0
        elif x < 2.0:
            w[m] = ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
        else:
            w[m] = 0.0


@numba.njit(cache=True, nogil=True)
def _near(x, ref):  # pragma: no cover - numba
    """Angle x (deg) moved by 360 deg where that brings it within 180 deg of ref (else exactly x)."""
    if x - ref > 180.0:
        return x - 360.0
    if x - ref < -180.0:
        return x + 360.0
    return x


@numba.njit(cache=True, nogil=True, inline="always")
def _lon180(lon):  # pragma: no cover - numba
    """A longitude of the lattice's continuous range (deg) taken to (-180, 180]."""
    if lon > 180.0:
        return lon - 360.0
    if lon <= -180.0:
        return lon + 360.0
    return lon


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _lagrange(h, levels, inv_den, L):  # pragma: no cover - numba
    """Lagrange weights at h of the polynomial through ``levels`` (``inv_den[k]`` = 1 / prod_m (l_k - l_m)):
    prefix and suffix products of (h - l_m), no branches."""
    K = levels.shape[0]
    p = 1.0
    for k in range(K):
        L[k] = p
        p *= h - levels[k]
    q = 1.0
    for k in range(K - 1, -1, -1):
        L[k] *= q * inv_den[k]
        q *= h - levels[k]


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _lagrange_d(h, levels, inv_den, L, D):  # pragma: no cover - numba
    """:func:`_lagrange` (into ``L``) and the weights' derivatives d/dh (into ``D``), carried through the
    same prefix and suffix products."""
    K = levels.shape[0]
    p = 1.0
    dp = 0.0
    for k in range(K):
        L[k] = p
        D[k] = dp
        dp = dp * (h - levels[k]) + p
        p *= h - levels[k]
    q = 1.0
    dq = 0.0
    for k in range(K - 1, -1, -1):
        D[k] = (D[k] * q + L[k] * dq) * inv_den[k]
        L[k] *= q * inv_den[k]
        dq = dq * (h - levels[k]) + q
        q *= h - levels[k]


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _solve_height(vk, levels, inv_den, L, D, h, dem, T, use_dem, tol_m, max_iter):  # pragma: no cover - numba
    """(h, converged): Newton steps from h (m) on g(h) = DEM(lon(h), lat(h)) - h, lon/lat (deg) the Lagrange
    polynomials through ``vk[0]``, ``vk[1]`` at ``levels``, g' from the DEM interpolant's exact derivatives
    (secant steps where the DEM gives none: interpolation methods other than biquintic); iterates kept
    within 50 m of the levels. Converged: |g(h)| < tol_m at the h returned."""
    if not use_dem:
        return h, True
    K = levels.shape[0]
    h_a = g_a = 0.0
    for it in range(max_iter):
        _lagrange_d(h, levels, inv_den, L, D)
        lo = 0.0
        la = 0.0
        dlo = 0.0
        dla = 0.0
        for k in range(K):
            lo += L[k] * vk[0, k]
            la += L[k] * vk[1, k]
            dlo += D[k] * vk[0, k]
            dla += D[k] * vk[1, k]
        lo = _lon180(lo)
        ht, dh_dlon, dh_dlat = dem_height_grad_interior(dem, T, lo, la)
        if not ht == ht:  # near the raster's edge, NaN or another interpolation: the general evaluation
            ht, dh_dlon, dh_dlat = dem_height_grad_t(dem, T, lo, la)
        if not np.isfinite(ht):
            return h, False
        g = ht - h
        if abs(g) < tol_m:
            return h, True
        slope = dh_dlon * dlo + dh_dlat * dla - 1.0
        den = g - g_a
        if np.isfinite(slope) and slope != 0.0:
            h_new = h - g / slope
        elif it == 0 or den == 0.0:
            h_new = h + g
        else:
            h_new = h - g * (h - h_a) / den
        h_a = h
        g_a = g
        h = min(max(h_new, levels[0] - 50.0), levels[K - 1] + 50.0)
    return h, False


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _node_heights(F, levels, dem, use_dem, h_ref, tol_m, max_iter, H):  # pragma: no cover - numba
    """Solved ground height (m) at every lattice node (NaN without solution), each node from its own
    values only (so a node's height is the same in every block's lattice)."""
    NF, K, n_k, n_j = F.shape
    inv_den = _inverse_denominators(levels)
    T = biquintic_terms(dem)
    vk = np.empty((2, K))
    L = np.empty(K)
    D = np.empty(K)
    for a in range(n_k):
        for b in range(n_j):
            for k in range(K):
                vk[0, k] = F[0, k, a, b]
                vk[1, k] = F[1, k, a, b]
            h, ok = _solve_height(vk, levels, inv_den, L, D, h_ref, dem, T, use_dem, tol_m, max_iter)
            H[a, b] = h if ok and np.isfinite(vk[0, 0]) else np.nan


@numba.njit(cache=True, nogil=True)
def _inverse_denominators(levels):  # pragma: no cover - numba
    K = levels.shape[0]
    inv_den = np.empty(K)
    for k in range(K):
        d = 1.0
        for m in range(K):
            if m != k:
                d *= levels[k] - levels[m]
        inv_den[k] = 1.0 / d
    return inv_den


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _table_kernel(t, r, k0, dt_l, j0, dr_l, F, H, levels, dem, use_dem, h_ref, tol_m, max_iter, out,
                  bad):  # pragma: no cover - numba
    """Every pixel of the grid t x r from the node table F (NF, K, n_k, n_j) and the nodes' solved heights H
    (n_k, n_j; NaN: start from h_ref); see the module docstring. Pixels left to the exact solver: ``bad``."""
    NF, K, n_k, n_j = F.shape
    inv_den = _inverse_denominators(levels)
    T = biquintic_terms(dem)
    wa = np.empty(4)
    wbs = np.empty((r.shape[0], 4))
    ibs = np.empty(r.shape[0], np.int64)
    for j in range(r.shape[0]):
        u = r[j] / dr_l
        ib = math.floor(u)
        _keys(u - ib, wbs[j])
        ibs[j] = min(max(int(ib) - 1 - j0, 0), n_j - 4)
    G = np.empty((n_j, NF, K))
    GH = np.empty(n_j)
    vk = np.empty((2, K))
    L = np.empty(K)
    D = np.empty(K)
    val = np.empty(NF)
    for i in range(t.shape[0]):
        u = t[i] / dt_l
        ia = math.floor(u)
        _keys(u - ia, wa)
        a0 = min(max(int(ia) - 1 - k0, 0), n_k - 4)
        # the row's azimuth interpolation, once for every node column
        for jn in range(n_j):
            for f in range(NF):
                for k in range(K):
                    G[jn, f, k] = (wa[0] * F[f, k, a0, jn] + wa[1] * F[f, k, a0 + 1, jn]
                                   + wa[2] * F[f, k, a0 + 2, jn] + wa[3] * F[f, k, a0 + 3, jn])
            # the heading, unwrapped around the first node of its stencil (it may cross +-180 deg)
            ref = F[_HDG, 0, a0, jn]
            for k in range(K):
                acc = 0.0
                for m in range(4):
                    acc += wa[m] * _near(F[_HDG, k, a0 + m, jn], ref)
                G[jn, _HDG, k] = acc
            GH[jn] = wa[0] * H[a0, jn] + wa[1] * H[a0 + 1, jn] + wa[2] * H[a0 + 2, jn] + wa[3] * H[a0 + 3, jn]
        for j in range(r.shape[0]):
            b0 = ibs[j]
            w0, w1, w2, w3 = wbs[j, 0], wbs[j, 1], wbs[j, 2], wbs[j, 3]
            for f in range(2):
                for k in range(K):
                    vk[f, k] = w0 * G[b0, f, k] + w1 * G[b0 + 1, f, k] + w2 * G[b0 + 2, f, k] + w3 * G[b0 + 3, f, k]
            # the ground height: Newton steps on g(h) = DEM(lon(h), lat(h)) - h from the nodes' heights
            h = w0 * GH[b0] + w1 * GH[b0 + 1] + w2 * GH[b0 + 2] + w3 * GH[b0 + 3]
            if not (levels[0] <= h <= levels[K - 1]):
                h = h_ref
            h, ok = _solve_height(vk, levels, inv_den, L, D, h, dem, T, use_dem, tol_m, max_iter)
            if not ok or not (levels[0] - 50.0 <= h <= levels[K - 1] + 50.0):
                bad[i, j] = True
                continue
            _lagrange(h, levels, inv_den, L)
            for f in range(NF):
                acc = 0.0
                if f == _HDG:
                    ref = G[b0, _HDG, 0]
                    for k in range(K):
                        acc += L[k] * (w0 * _near(G[b0, f, k], ref) + w1 * _near(G[b0 + 1, f, k], ref)
                                       + w2 * _near(G[b0 + 2, f, k], ref) + w3 * _near(G[b0 + 3, f, k], ref))
                else:
                    for k in range(K):
                        acc += L[k] * (w0 * G[b0, f, k] + w1 * G[b0 + 1, f, k] + w2 * G[b0 + 2, f, k]
                                       + w3 * G[b0 + 3, f, k])
                val[f] = acc
            if not np.isfinite(val[0] + val[1] + val[2] + val[3]):
                bad[i, j] = True
                continue
            out[0, i, j] = _lon180(val[0])
            out[1, i, j] = val[1]
            out[2, i, j] = h
            out[3, i, j] = val[2]
            hdg = val[_HDG]
            out[4, i, j] = hdg - 360.0 if hdg > 180.0 else (hdg + 360.0 if hdg <= -180.0 else hdg)
            if NF > N_BASE:
                out[5, i, j] = t[i] + val[4]
                out[6, i, j] = r[j] + val[5]
