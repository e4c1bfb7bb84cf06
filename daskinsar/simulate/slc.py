"""SLC-level synthesis of an interferometric pair on zero- or native-Doppler grids, with its truth.

Signal model and sign conventions (stated once; copied into the truth store attrs)
------------------------------------------------------------------------------------
- SLC phase convention (DESIGN.md): a scatterer at one-way slant range ``R`` contributes
  ``exp(-j 4 pi R / lambda)``; interferogram = reference * conj(secondary).
- Reference SLC on its grid (azimuth time ``t1_i``, slant range ``R1_j``): ``ref = A``,
  the complex reflectivity: circular complex Gaussian speckle, band-limited to
  ``bandwidth_fraction`` of the sampling rate in each axis (baseband spectrum, zero
  Doppler), plus point targets ``a exp(-j 4 pi R_p / lambda) sinc(...) sinc(...)`` at
  their geometry-predicted positions. ``A`` is defined on an unbounded integer grid of
  reference pixels, seeded per fixed generation tile, so any window of it can be
  regenerated anywhere, bit for bit.
- Secondary SLC on its own grid (its own orbit, start time and near range): for
  secondary pixel ``(t2, R2)`` the ground point ``X = rdr2geo(t2, R2, secondary orbit,
  DEM)``, its reference coordinates ``(t1', R1') = geo2rdr(X, reference orbit)`` and

      sec = [g A(t1', R1' + d_los - dR_tropo) + sqrt(1 - g^2) N] * exp(-j 4 pi / lambda (R2 - R1'))
                                                * exp(+j 4 pi d_los(X) / lambda) * exp(-j phi_tropo)

  ``A(t1', R1' + ...)`` is the reference reflectivity interpolated with a Kaiser-windowed
  sinc (16 taps) at the fractional reference pixel, moved by the motion and the tropospheric path
  ``dR_tropo = phi_tropo lambda / (4 pi)`` (their envelope shift: both are non-dispersive, so every
  frequency of the band carries the same delay), ``N`` independent speckle of the
  same spectrum on the secondary grid, ``g`` the true coherence, ``d_los`` the LOS
  displacement (m, positive towards the platform: the range shrinks by ``d_los``
  between the passes), ``phi_tropo`` the differential tropospheric phase.
- Hence at every reference pixel, with the secondary resampled onto it,

      arg(ref * conj(sec)) = flat_topo_phase + deformation_phase + tropo_phase + noise
      flat_topo_phase   = -4 pi / lambda (R1 - R2(X))     (what topo/geometry removes)
      deformation_phase = -4 pi / lambda d_los            (d_los = -lambda/(4 pi) phase)
      tropo_phase       = phi_tropo

  (all in rad, on the reference grid, in ``truth.zarr``).
- Not modelled: baseline (spectral-shift) decorrelation -- the secondary sees exactly
  the reference's band of ground wavenumbers, so its spectrum is offset by the local
  fringe frequency -- and volume/temporal changes of the speckle other than ``g``. (With
  ``spectra`` or ``ionosphere`` in the configuration, :mod:`daskinsar.simulate.spectra` gives each
  scene its own band instead.)

Geometry per pixel
------------------
rdr2geo / geo2rdr are exact but cost microseconds per pixel, so each grid gets a coarse
lookup: the exact solutions at nodes every ``decimation`` pixels and at ``K`` constant
ellipsoid heights (``rdr2geo`` with ``dem = h_k``). Per pixel, the fields are
interpolated in (azimuth, range) with Keys cubic convolution and in height with the
Lagrange polynomial through the ``K`` levels; the pixel's height is the root of
``DEM(lon(h), lat(h)) = h`` (secant iterations on the compiled DEM interpolator,
tolerance 1e-6 m, from the interpolated heights solved at the nodes; the azimuth interpolation is done
once per row for every node column). Errors against the exact chain are tested (< 1 mm in range).

Randomness
----------
White noise comes from ``numpy.random.SeedSequence(seed, spawn_key=(stream, tile_row +
2**20, tile_col + 2**20))`` on a fixed grid of ``GEN_TILE`` x ``GEN_TILE`` samples,
filtered by a finite (direct, not FFT) separable FIR; every output sample therefore
depends only on the seed and its position -- never on dask chunking.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np

from ..geometry.ellipsoid import SPEED_OF_LIGHT
from ..geometry.grid import RadarGrid
from ..geometry.orbit import Orbit
from ..geometry.sinc import kaiser_sinc_table
from ..geometry.dem_eval import biquintic_terms, dem_height_t
from ..geometry.dem import Dem
from .presets import SimulationConfig

#: generation tile edge (samples) of the white-noise streams
GEN_TILE = 256
#: offset of tile indices in the seed spawn key (tiles at negative indices exist)
TILE_OFFSET = 2**20
#: half length (samples) of the band-limiting FIR (kernel length 2 * FIR_HALF + 1)
FIR_HALF = 48
#: Kaiser beta of the band-limiting FIR
FIR_BETA = 8.0
#: streams of the seed
STREAM_REFLECTIVITY = 0
STREAM_SECONDARY_NOISE = 1
STREAM_TROPO = 2


# ----------------------------------------------------------------------------- speckle
def fir_kernel(x, frac: float) -> np.ndarray:
    """Continuous band-limiting kernel at offsets ``x`` (samples): Kaiser-windowed
    ``frac * sinc(frac x)`` over ``|x| <= FIR_HALF``, scaled so the sampled kernel has
    unit energy (unit-variance output from unit-variance white noise)."""
    x = np.asarray(x, np.float64)
    k = np.arange(-FIR_HALF, FIR_HALF + 1)
    norm = np.sqrt(np.sum(_raw_kernel(k, frac) ** 2))
    return _raw_kernel(x, frac) / norm


def _raw_kernel(x, frac):
    x = np.asarray(x, np.float64)
    u = np.clip(x / (FIR_HALF + 1.0), -1.0, 1.0)
    win = np.i0(FIR_BETA * np.sqrt(1.0 - u * u)) / np.i0(FIR_BETA)
    return np.where(np.abs(x) < FIR_HALF + 1.0, frac * np.sinc(frac * x) * win, 0.0)


def white_noise(seed: int, stream: int, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    """Unit-variance circular complex white noise (complex128) on integer samples
    ``[r0, r1) x [c0, c1)`` of the unbounded generation grid (see module docstring)."""
    T = GEN_TILE
    out = np.empty((r1 - r0, c1 - c0), np.complex128)
    for tr in range(r0 // T, (r1 - 1) // T + 1):
        for tc in range(c0 // T, (c1 - 1) // T + 1):
            ss = np.random.SeedSequence(seed, spawn_key=(stream, tr + TILE_OFFSET, tc + TILE_OFFSET))
            g = np.random.default_rng(ss).standard_normal((2, T, T))
            a0, a1 = max(r0, tr * T), min(r1, (tr + 1) * T)
            b0, b1 = max(c0, tc * T), min(c1, (tc + 1) * T)
            blk = g[:, a0 - tr * T:a1 - tr * T, b0 - tc * T:b1 - tc * T]
            dst = out[a0 - r0:a1 - r0, b0 - c0:b1 - c0]
            dst.real = blk[0] * np.sqrt(0.5)  # = ((blk[0] + 1j blk[1]) * sqrt(0.5)).real, exactly
            dst.imag = blk[1] * np.sqrt(0.5)
    return out


def speckle_window(seed: int, stream: int, r0: int, r1: int, c0: int, c1: int, frac_az: float,
                   frac_rg: float) -> np.ndarray:
    """Band-limited unit-variance speckle (complex128) on samples ``[r0, r1) x [c0, c1)``."""
    h = FIR_HALF
    return band_limit(white_noise(seed, stream, r0 - h, r1 + h, c0 - h, c1 + h), frac_az, frac_rg)


def band_limit(w: np.ndarray, frac_az: float, frac_rg: float) -> np.ndarray:
    """The band-limiting FIR applied to white noise ``w`` given with a margin of ``FIR_HALF`` samples on
    every side; returns the ``(rows - 2 FIR_HALF, cols - 2 FIR_HALF)`` interior (speckle_window's filter)."""
    h = FIR_HALF
    ka = fir_kernel(np.arange(-h, h + 1), frac_az)
    kr = fir_kernel(np.arange(-h, h + 1), frac_rg)
    return _fir2(w, ka, kr)


def _fir2(w, ka, kr):
    """Separable FIR (azimuth ``ka`` first, then range ``kr``; odd, symmetric kernels) of ``w`` (complex),
    keeping only the fully filtered interior. Every output sample is the same sum in the same order wherever
    its window starts (bit-identical for any chunking)."""
    h = (len(ka) - 1) // 2
    re = np.ascontiguousarray(w.real)
    im = np.ascontiguousarray(w.imag)
    out = np.empty((w.shape[0] - 2 * h, w.shape[1] - 2 * h), np.complex128)
    _fir2_kernel(re, im, np.ascontiguousarray(ka, np.float64), np.ascontiguousarray(kr, np.float64), out)
    return out


@numba.njit(cache=True, nogil=True)
def _fir2_kernel(re, im, ka, kr, out):
    """Both passes as independent sums per output sample over the symmetric tap pairs (centre tap first, then
    k = 1 .. h), looped so that the compiler vectorises across samples (the order within each sum is fixed)."""
    h = (ka.shape[0] - 1) // 2
    n_r, n_c = out.shape
    n_cw = re.shape[1]
    tre = np.empty(n_cw)
    tim = np.empty(n_cw)
    are = np.empty(n_c)
    aim = np.empty(n_c)
    for i in range(n_r):
        # azimuth: row i + h of the input, symmetric pairs
        c = i + h
        for j in range(n_cw):
            tre[j] = ka[h] * re[c, j]
            tim[j] = ka[h] * im[c, j]
        for k in range(1, h + 1):
            wk = ka[h + k]
            for j in range(n_cw):
                tre[j] += wk * (re[c - k, j] + re[c + k, j])
                tim[j] += wk * (im[c - k, j] + im[c + k, j])
        # range
        for j in range(n_c):
            are[j] = kr[h] * tre[j + h]
            aim[j] = kr[h] * tim[j + h]
        for k in range(1, h + 1):
            wk = kr[h + k]
            for j in range(n_c):
                are[j] += wk * (tre[j + h - k] + tre[j + h + k])
                aim[j] += wk * (tim[j + h - k] + tim[j + h + k])
        for j in range(n_c):
            out[i, j] = complex(are[j], aim[j])


def speckle_at(seed: int, stream: int, rows, cols, frac_az: float, frac_rg: float) -> np.ndarray:
    """Speckle evaluated *exactly* at fractional positions (slow; for tests): the continuous
    band-limiting kernel applied to the white noise."""
    rows = np.asarray(rows, np.float64)
    cols = np.asarray(cols, np.float64)
    out = np.zeros(rows.shape, np.complex128)
    h = FIR_HALF + 1
    r0, r1 = int(np.floor(rows.min())) - h, int(np.ceil(rows.max())) + h + 1
    c0, c1 = int(np.floor(cols.min())) - h, int(np.ceil(cols.max())) + h + 1
    w = white_noise(seed, stream, r0, r1, c0, c1)
    for idx in np.ndindex(rows.shape):
        r, c = rows[idx], cols[idx]
        mr = np.arange(int(np.floor(r)) - FIR_HALF, int(np.floor(r)) + FIR_HALF + 2)
        mc = np.arange(int(np.floor(c)) - FIR_HALF, int(np.floor(c)) + FIR_HALF + 2)
        ka = fir_kernel(r - mr, frac_az)
        kr = fir_kernel(c - mc, frac_rg)
        out[idx] = ka @ w[mr - r0][:, mc - c0] @ kr
    return out


# ----------------------------------------------------------------------------- sinc interpolation
N_LUT = 2048


def sinc_lut(taps: int = 16, beta: float | None = None) -> np.ndarray:
    """The shared Kaiser-sinc table (:func:`daskinsar.geometry.sinc.kaiser_sinc_table`) with ``N_LUT``
    steps and the simulator's beta per tap count (4, 6, 8 for 8, 16, 32 taps)."""
    if beta is None:
        beta = {8: 4.0, 16: 6.0, 32: 8.0}.get(taps, 6.0)
    return kaiser_sinc_table(taps, N_LUT, beta)


@numba.njit(cache=True, nogil=True)
def _sinc_interp_kernel(data, rows, cols, lut, out):
    """Per point: the 2-D windowed sinc as ``sum_n wc[n] sum_m wr[m] data[ir - h + m, ic - h + n]`` (the inner
    sums, one per column of the stencil, accumulated row by row so the compiler vectorises them); taps
    outside ``data`` count as zero."""
    taps = lut.shape[1]
    half = taps // 2 - 1
    ny, nx = data.shape
    nl = lut.shape[0] - 1
    wr = np.empty(taps)
    wc = np.empty(taps)
    acc = np.empty(taps, np.complex128)
    for p in range(rows.size):
        r = rows[p]
        c = cols[p]
        if not (np.isfinite(r) and np.isfinite(c)):
            out[p] = np.nan
            continue
        ir = int(np.floor(r))
        ic = int(np.floor(c))
        fr = (r - ir) * nl
        fc = (c - ic) * nl
        kr = min(int(fr), nl - 1)
        kc = min(int(fc), nl - 1)
        ar = fr - kr
        ac = fc - kc
        for m in range(taps):
            wr[m] = lut[kr, m] * (1.0 - ar) + lut[kr + 1, m] * ar
            wc[m] = lut[kc, m] * (1.0 - ac) + lut[kc + 1, m] * ac
        r0 = ir - half
        c0 = ic - half
        for n in range(taps):
            acc[n] = 0.0
        if r0 >= 0 and r0 + taps <= ny and c0 >= 0 and c0 + taps <= nx:
            for m in range(taps):
                w = wr[m]
                for n in range(taps):
                    acc[n] += w * data[r0 + m, c0 + n]
        else:
            for m in range(taps):
                rr = r0 + m
                if rr < 0 or rr >= ny:
                    continue
                w = wr[m]
                for n in range(taps):
                    cc = c0 + n
                    if cc >= 0 and cc < nx:
                        acc[n] += w * data[rr, cc]
        total = 0.0 + 0.0j
        for n in range(taps):
            total += wc[n] * acc[n]
        out[p] = total


def sinc_interp(data: np.ndarray, rows, cols, lut: np.ndarray) -> np.ndarray:
    """Interpolate complex ``data`` at fractional (row, col) sample positions with a windowed-sinc
    LUT (see :func:`sinc_lut`); samples outside ``data`` count as zero."""
    rows, cols = np.broadcast_arrays(np.asarray(rows, np.float64), np.asarray(cols, np.float64))
    out = np.empty(rows.size, np.complex128)
    _sinc_interp_kernel(np.ascontiguousarray(data, np.complex128), np.ascontiguousarray(rows).ravel(),
                        np.ascontiguousarray(cols).ravel(), lut, out)
    return out.reshape(rows.shape)


def point_response(x, frac: float) -> np.ndarray:
    """Impulse response of a point target along one axis (peak 1 at ``x = 0``), band-limited like
    the speckle: the band-limiting kernel normalised to unit peak."""
    return _raw_kernel(x, frac) / frac


# ----------------------------------------------------------------------------- radar grids
# ----------------------------------------------------------------------------- geometry tables
@dataclass
class GeometryTable:
    """Exact geometry at coarse nodes of a radar grid and at ``K`` ellipsoid heights.

    Node ``(a, b)`` sits at pixel ``(i0 + a * dec, j0 + b * dec)``; ``fields[name]`` has
    shape ``(K, n_nodes_az, n_nodes_rg)``. Fields: ``lon``, ``lat`` (deg), ``t_other`` (s),
    ``r_other`` (m) (geo2rdr of the ground point on the other pass's orbit), ``los_e``,
    ``los_n``, ``los_u`` (ground-to-reference-platform unit vector, ENU).
    """

    dec: int
    i0: int
    j0: int
    levels: np.ndarray
    fields: dict = field(default_factory=dict)
    packed: np.ndarray | None = None
    node_h: np.ndarray | None = None  # solved terrain height (m) at each node (see node_heights)


def build_table(grid: RadarGrid, orbit, other_orbit, *, wavelength_m: float, look_side: str, levels,
                dec: int, los_orbit: str, doppler=None) -> GeometryTable:
    """Compute a :class:`GeometryTable` (eagerly; ``K * (n_az/dec) * (n_rg/dec)`` exact solves).

    ``los_orbit``: "self" (LOS from this grid's platform) or "other" (from the other pass at the
    ground point's zero-Doppler time), so that both tables carry the *reference* LOS. ``doppler``: the
    Doppler (Hz) of both grids' lines (None: zero-Doppler grids).
    """
    from ..geometry.geo2rdr import geo2rdr
    from ..geometry.los import los_enu
    from ..geometry.rdr2geo import rdr2geo_ecef

    margin = 2 * dec
    i0 = j0 = -margin
    nci = int(math.ceil((grid.n_az - 1 + 2 * margin) / dec)) + 1
    ncj = int(math.ceil((grid.n_rg - 1 + 2 * margin) / dec)) + 1
    ti = grid.azimuth_time(i0 + dec * np.arange(nci))
    rj = grid.slant_range(j0 + dec * np.arange(ncj))
    T, R = np.meshgrid(ti, rj, indexing="ij")
    levels = np.asarray(levels, np.float64)
    packed = np.empty((len(TABLE_FIELDS), len(levels), nci, ncj))
    out = {k: packed[n] for n, k in enumerate(TABLE_FIELDS)}
    for k, h in enumerate(levels):
        xyz, lon, lat, _, sat, _ = rdr2geo_ecef(T, R, orbit, wavelength_m=wavelength_m, look_side=look_side, dem=h,
                                                doppler=doppler)
        t_o, r_o = geo2rdr(xyz, other_orbit, wavelength_m=wavelength_m, t_guess_s=T, doppler=doppler)
        if los_orbit == "other":
            sat = other_orbit.interpolate(t_o)[0]
        los = los_enu(xyz, sat)
        out["lon"][k], out["lat"][k], out["t_other"][k], out["r_other"][k] = lon, lat, t_o, r_o
        out["los_e"][k], out["los_n"][k], out["los_u"][k] = los[..., 0], los[..., 1], los[..., 2]
    return GeometryTable(dec, i0, j0, levels, out, packed)


def keys_weights(u: np.ndarray):
    """Keys (a = -0.5) cubic-convolution stencil: first node index ``floor(u) - 1`` and the 4 weights."""
    iu = np.floor(u).astype(np.int64)
    f = u - iu
    w = []
    for off in (-1, 0, 1, 2):
        x = np.abs(f - off)
        w.append(np.where(x <= 1, 1.5 * x**3 - 2.5 * x**2 + 1, np.where(x < 2, -0.5 * x**3 + 2.5 * x**2 - 4 * x + 2, 0.0)))
    return iu - 1, w


# the simulation's DEM is the processor's Dem (float32 values as written, held as float64; edges repeated)
DemModel = Dem


TABLE_FIELDS = ("lon", "lat", "t_other", "r_other", "los_e", "los_n", "los_u")


@numba.njit(cache=True, nogil=True)
def _keys_w(f, w):
    for m in range(4):
        x = abs(f - (m - 1))
        if x <= 1.0:
            w[m] = 1.5 * x**3 - 2.5 * x**2 + 1.0
        elif x < 2.0:
            w[m] = -0.5 * x**3 + 2.5 * x**2 - 4.0 * x + 2.0
        else:
            w[m] = 0.0


@numba.njit(cache=True, nogil=True)
def _lagrange_w(h, levels, inv_den, L):
    K = levels.shape[0]
    for k in range(K):
        w = inv_den[k]
        for m in range(K):
            if m != k:
                w *= h - levels[m]
        L[k] = w


@numba.njit(cache=True, nogil=True)
def _inv_den(levels):
    K = levels.shape[0]
    out = np.empty(K)
    for k in range(K):
        d = 1.0
        for m in range(K):
            if m != k:
                d *= levels[k] - levels[m]
        out[k] = 1.0 / d
    return out


@numba.njit(cache=True, nogil=True)
def _solve_h(vk, levels, inv_den, L, h_start, dem, T):
    """(h, converged): secant iterations on g(h) = DEM(lon(h), lat(h)) - h (lon, lat: the Lagrange
    polynomials through vk[0], vk[1] at the levels) from h_start, tolerance 1e-6 m."""
    K = levels.shape[0]
    h_a = h_start
    g_a = 0.0
    h_b = 0.0
    h = h_start
    for it in range(80):
        h = h_a if it == 0 else h_b
        _lagrange_w(h, levels, inv_den, L)
        lo = 0.0
        la = 0.0
        for k in range(K):
            lo += L[k] * vk[0, k]
            la += L[k] * vk[1, k]
        g = dem_height_t(dem, T, lo, la) - h
        if it == 0:
            g_a = g
            h_b = h_a + g
            continue
        if abs(g) < 1e-6:
            return h, True
        den = g - g_a
        if den == 0.0:
            h_new = h_b + g
        else:
            h_new = h_b - g * (h_b - h_a) / den
        h_a = h_b
        g_a = g
        h_b = h_new
    return h, False


@numba.njit(cache=True, nogil=True)
def _node_heights_kernel(F, levels, dem, out):
    """The solved terrain height (m) at every table node (from the levels' mean; NaN without solution):
    the start of the pixels around it (a node's height depends on the node only)."""
    K = levels.shape[0]
    inv_den = _inv_den(levels)
    T = biquintic_terms(dem)
    L = np.empty(K)
    vk = np.empty((2, K))
    hmid = 0.0
    for k in range(K):
        hmid += levels[k] / K
    for a in range(F.shape[2]):
        for b in range(F.shape[3]):
            for k in range(K):
                vk[0, k] = F[0, k, a, b]
                vk[1, k] = F[1, k, a, b]
            h, ok = _solve_h(vk, levels, inv_den, L, hmid, dem, T)
            out[a, b] = h if ok else np.nan


@numba.njit(cache=True, nogil=True)
def _pixel_geometry_kernel(ru, cu, F, H, levels, dem, out):
    """Per pixel (rows ``ru`` x cols ``cu`` in coarse-node units): Keys interpolation of the
    table fields F (NF, K, n_a, n_b) at each height level (azimuth first, once per row), secant solve of
    DEM(lon(h), lat(h)) = h from the Keys-interpolated node heights H (n_a, n_b), and Lagrange
    interpolation in h of every field. out: (NF + 1, len(ru), len(cu)) = hgt, fields."""
    NF, K, n_b = F.shape[0], F.shape[1], F.shape[3]
    wa = np.empty(4)
    wbs = np.empty((cu.size, 4))
    ibs = np.empty(cu.size, np.int64)
    for q in range(cu.size):
        ib = int(np.floor(cu[q]))
        _keys_w(cu[q] - ib, wbs[q])
        ibs[q] = ib - 1
    inv_den = _inv_den(levels)
    T = biquintic_terms(dem)
    G = np.empty((n_b, NF, K))
    GH = np.empty(n_b)
    vk = np.empty((2, K))
    vk2 = np.empty((NF, K))
    L = np.empty(K)
    hmid = 0.0
    for k in range(K):
        hmid += levels[k] / K
    b_lo = ibs.min() if cu.size else 0
    b_hi = ibs.max() + 4 if cu.size else 0
    for p in range(ru.size):
        ia = int(np.floor(ru[p]))
        _keys_w(ru[p] - ia, wa)
        ia -= 1
        for jn in range(b_lo, b_hi):
            for f in range(NF):
                for k in range(K):
                    G[jn, f, k] = (wa[0] * F[f, k, ia, jn] + wa[1] * F[f, k, ia + 1, jn]
                                   + wa[2] * F[f, k, ia + 2, jn] + wa[3] * F[f, k, ia + 3, jn])
            GH[jn] = wa[0] * H[ia, jn] + wa[1] * H[ia + 1, jn] + wa[2] * H[ia + 2, jn] + wa[3] * H[ia + 3, jn]
        for q in range(cu.size):
            ib = ibs[q]
            w0, w1, w2, w3 = wbs[q, 0], wbs[q, 1], wbs[q, 2], wbs[q, 3]
            for f in range(2):
                for k in range(K):
                    vk[f, k] = w0 * G[ib, f, k] + w1 * G[ib + 1, f, k] + w2 * G[ib + 2, f, k] + w3 * G[ib + 3, f, k]
            h0 = w0 * GH[ib] + w1 * GH[ib + 1] + w2 * GH[ib + 2] + w3 * GH[ib + 3]
            if not (levels[0] <= h0 <= levels[K - 1]):
                h0 = hmid
            h, ok = _solve_h(vk, levels, inv_den, L, h0, dem, T)
            if not ok:
                h = np.nan
            out[0, p, q] = h
            for f in range(2):
                acc = 0.0
                for k in range(K):
                    acc += L[k] * vk[f, k]
                out[f + 1, p, q] = acc
            for k in range(K):
                c0 = L[k] * w0
                c1 = L[k] * w1
                c2 = L[k] * w2
                c3 = L[k] * w3
                for f in range(2, NF):
                    vk2[f, k] = c0 * G[ib, f, k] + c1 * G[ib + 1, f, k] + c2 * G[ib + 2, f, k] + c3 * G[ib + 3, f, k]
            for f in range(2, NF):
                acc = 0.0
                for k in range(K):
                    acc += vk2[f, k]
                out[f + 1, p, q] = acc


def node_heights(table: GeometryTable, dem: DemModel) -> np.ndarray:
    """The solved terrain height (m) at every node of ``table`` (computed once, kept on the table)."""
    if table.node_h is None:
        if table.packed is None:
            table.packed = np.ascontiguousarray(np.stack([table.fields[n] for n in TABLE_FIELDS]))
        h = np.empty(table.packed.shape[2:])
        _node_heights_kernel(table.packed, table.levels, dem.raster(), h)
        table.node_h = h
    return table.node_h


def pixel_geometry(table: GeometryTable, dem: DemModel, rows: np.ndarray, cols: np.ndarray) -> dict:
    """Block kernel: geometry of the pixels ``rows x cols`` (integer pixel indices of the table's
    grid). Returns 2-D float64 arrays ``hgt`` (m), ``lon``, ``lat`` (deg), ``t_other`` (s),
    ``r_other`` (m), ``los_e``, ``los_n``, ``los_u``."""
    if table.packed is None:
        table.packed = np.ascontiguousarray(np.stack([table.fields[n] for n in TABLE_FIELDS]))
    ru = (np.asarray(rows, np.float64) - table.i0) / table.dec
    cu = (np.asarray(cols, np.float64) - table.j0) / table.dec
    out = np.empty((len(TABLE_FIELDS) + 1, len(ru), len(cu)))
    _pixel_geometry_kernel(ru, cu, table.packed, node_heights(table, dem), table.levels, dem.raster(), out)
    if not np.all(np.isfinite(out[0])):
        from ..errors import GeometryError

        raise GeometryError(f"simulation: the terrain height could not be solved for "
                            f"{np.count_nonzero(~np.isfinite(out[0]))} pixels (layover or shadow: lower the "
                            "relief or the slopes of the DEM)")
    res = {"hgt": out[0]}
    for k, n in enumerate(TABLE_FIELDS):
        res[n] = out[k + 1]
    return res


# ----------------------------------------------------------------------------- the pair model
@dataclass
class PointTargetTruth:
    """A simulated point target: ground point and predicted positions on both grids."""

    lon_deg: float
    lat_deg: float
    hgt_m: float
    amplitude: float
    reference_azimuth_time_s: float
    reference_slant_range_m: float
    reference_row: float
    reference_col: float
    secondary_azimuth_time_s: float
    secondary_slant_range_m: float
    secondary_row: float
    secondary_col: float
    phase_rad: float  # -4 pi R_ref / lambda, wrapped

    def as_dict(self) -> dict:
        return {k: float(v) for k, v in self.__dict__.items()}


@dataclass
class PairModel:
    """Everything the block kernels need (small arrays; the DEM and coarse tables)."""

    config: SimulationConfig
    ref_epoch: str
    sec_epoch: str
    ref_orbit: Orbit
    sec_orbit: Orbit
    ref_grid: RadarGrid
    sec_grid: RadarGrid
    dem: DemModel
    ref_table: GeometryTable
    sec_table: GeometryTable
    tropo: np.ndarray  # coarse turbulent phase (rad) on reference pixel nodes
    tropo_dec: int
    tropo_i0: int
    tropo_j0: int
    targets: list
    frac_az: float
    frac_rg: float
    lut: np.ndarray
    baseline: dict
    centre_lon_deg: float
    centre_lat_deg: float
    spectra: Any = None  # per-scene spectra (simulate.spectra.SpectralModel) when configured

    @property
    def wavelength_m(self) -> float:
        return self.config.wavelength_m

    @property
    def secondary_wavelength_m(self) -> float:
        sp = self.config.spectra
        f = sp.secondary_centre_frequency_hz if sp is not None else None
        return SPEED_OF_LIGHT / f if f else self.config.wavelength_m


def build_pair_model(cfg) -> PairModel:
    """Orbits, grids, DEM, geometry tables, troposphere and point targets of a configuration."""
    from ..geometry.ellipsoid import llh_to_ecef
    from ..geometry.geo2rdr import geo2rdr
    from ..geometry.rdr2geo import rdr2geo, rdr2geo_ecef
    from . import orbits as orb
    from .terrain import make_dem

    lam = cfg.wavelength_m
    fd = cfg.grid_doppler  # None: zero-Doppler grids
    dt1 = 1.0 / cfg.prf_hz
    dt2 = 1.0 / (cfg.secondary_prf_hz or cfg.prf_hz)
    dr = SPEED_OF_LIGHT / (2.0 * cfg.range_sampling_rate_hz)
    fs2 = cfg.spectra.secondary_range_sampling_rate_hz if cfg.spectra is not None else None
    dr2 = SPEED_OF_LIGHT / (2.0 * fs2) if fs2 else dr  # the secondary's own sampling (per-scene spectra)
    n_rg2 = int(round((cfg.n_range - 1) * dr / dr2)) + 1
    t_c = 0.5 * (cfg.n_azimuth - 1) * dt1
    tc = cfg.terrain
    h_lo = tc.base_height_m - 10.0
    h_hi = tc.base_height_m + tc.relief_m + tc.cone_height_m + 10.0
    h_mid = 0.5 * (h_lo + h_hi)
    P = llh_to_ecef(cfg.centre_lon_deg, cfg.centre_lat_deg, h_mid)
    ref_epoch = cfg.reference_epoch
    sec_epoch = orb.add_days(ref_epoch, cfg.temporal_baseline_days)
    span = max(cfg.n_azimuth * max(dt1, dt2), 1.0)
    if cfg.platform == "airborne_sch":
        # one SCH reference track for both passes (zero baseline; the config refuses secondary shifts and PRF)
        from .airborne import place_track

        track = place_track(cfg.centre_lon_deg, cfg.centre_lat_deg, h_mid, altitude_m=cfg.altitude_m,
                            speed_mps=cfg.airborne_speed_mps, heading_deg=cfg.airborne_heading_deg,
                            look_angle_deg=cfg.look_angle_deg, look_side=cfg.look_side, t_centre_s=t_c,
                            t_peg_s=(cfg.n_azimuth // 2) * dt1)
        ref_orbit = track.orbit(ref_epoch, -60.0, span + 60.0, source="simulated reference SCH track")
        sec_orbit = track.orbit(sec_epoch, -60.0, span + 60.0, source="simulated secondary SCH track (same track)")
        bperp = bpar = balong = 0.0
        t1c = t2c = t_c
        p1 = p2 = track.state(np.array([t_c]))[0][0]
    else:
        el1 = orb.place_reference_orbit(cfg.centre_lon_deg, cfg.centre_lat_deg, h_mid, altitude_m=cfg.altitude_m,
                                        inclination_deg=cfg.inclination_deg, look_angle_deg=cfg.look_angle_deg,
                                        look_side=cfg.look_side, ascending=cfg.ascending, t_centre_s=t_c)
        el2 = orb.place_secondary_orbit(P, el1, perpendicular_baseline_m=cfg.perpendicular_baseline_m,
                                        parallel_baseline_m=cfg.parallel_baseline_m, t_centre_s=t_c)
        bperp, bpar, balong, t1c, t2c = orb.baseline_components(P, el1, el2, t_c)
        ref_orbit = orb.sample_orbit(el1, ref_epoch, -60.0, span + 60.0, source="simulated reference orbit")
        sec_orbit = orb.sample_orbit(el2, sec_epoch, -60.0, span + 60.0, source="simulated secondary orbit")
        p1 = orb.kepler_state(np.array(t1c), el1)[0]
        p2 = orb.kepler_state(np.array(t2c), el2)[0]
    R1c = float(np.linalg.norm(P - p1))
    R2c = float(np.linalg.norm(P - p2))
    ref_grid = RadarGrid(0.0, dt1, cfg.n_azimuth, R1c - 0.5 * (cfg.n_range - 1) * dr, dr, cfg.n_range)
    sec_grid = RadarGrid(t2c - 0.5 * (cfg.n_azimuth - 1) * dt2 + cfg.secondary_azimuth_shift_lines * dt2, dt2,
                         cfg.n_azimuth, R2c - 0.5 * (n_rg2 - 1) * dr2 + cfg.secondary_range_shift_pixels * dr2,
                         dr2, n_rg2)

    # DEM covering both footprints (+ table margins) at the extreme heights, plus a margin
    dec = cfg.geometry_decimation_pixels
    lons, lats = [], []
    for grid, orbit in ((ref_grid, ref_orbit), (sec_grid, sec_orbit)):
        ii = np.array([-3 * dec, grid.n_az - 1 + 3 * dec])
        jj = np.array([-3 * dec, grid.n_rg - 1 + 3 * dec])
        T, R = np.meshgrid(grid.azimuth_time(ii), grid.slant_range(jj), indexing="ij")
        for h in (h_lo - 100.0, h_hi + 100.0):
            lo, la, _ = rdr2geo(T, R, orbit, wavelength_m=lam, look_side=cfg.look_side, dem=h, doppler=fd)
            lons.append(lo.ravel())
            lats.append(la.ravel())
    lon_all, lat_all = np.concatenate(lons), np.concatenate(lats)
    m_lat = tc.margin_km * 1e3 / 111e3
    m_lon = m_lat / np.cos(np.deg2rad(cfg.centre_lat_deg))
    d = tc.spacing_arcsec / 3600.0
    lon0 = np.floor((lon_all.min() - m_lon) / d) * d
    lat_top = np.ceil((lat_all.max() + m_lat) / d) * d
    nx = int(np.ceil((lon_all.max() + m_lon - lon0) / d)) + 1
    ny = int(np.ceil((lat_top - (lat_all.min() - m_lat)) / d)) + 1
    hdem = make_dem(lon0, lat_top, d, -d, (ny, nx), centre_lon=cfg.centre_lon_deg, centre_lat=cfg.centre_lat_deg,
                    base_height_m=tc.base_height_m, relief_m=tc.relief_m, beta=tc.spectral_exponent,
                    min_wavelength_m=tc.min_wavelength_m, cone_height_m=tc.cone_height_m,
                    cone_radius_km=tc.cone_radius_km, cone_east_km=tc.cone_east_km, cone_north_km=tc.cone_north_km,
                    lakes=[(lk.east_km, lk.north_km, lk.radius_km) for lk in tc.lakes], seed=cfg.seed)
    dem = Dem(hdem.astype(np.float64), float(lon0), float(lat_top), d, -d, tc.interpolation, source="simulated DEM",
              edge="clamp")
    levels = np.linspace(float(hdem.min()) - 10.0, float(hdem.max()) + 10.0, cfg.height_levels)

    ref_table = build_table(ref_grid, ref_orbit, sec_orbit, wavelength_m=lam, look_side=cfg.look_side, levels=levels,
                            dec=dec, los_orbit="self", doppler=fd)
    sec_table = build_table(sec_grid, sec_orbit, ref_orbit, wavelength_m=lam, look_side=cfg.look_side, levels=levels,
                            dec=dec, los_orbit="other", doppler=fd)

    # troposphere: coarse turbulent field on reference pixel nodes
    tdec = 8
    ti0 = tj0 = -64
    nti = int(math.ceil((cfg.n_azimuth + 128) / tdec)) + 1
    ntj = int(math.ceil((cfg.n_range + 128) / tdec)) + 1
    tropo = np.zeros((nti, ntj))
    tr = cfg.troposphere
    if tr.turbulence_std_rad > 0:
        v = np.linalg.norm(ref_orbit.interpolate(np.array([t_c]))[1])
        ground_az = tdec * dt1 * v * 6371e3 / (6371e3 + cfg.altitude_m)
        # ground range per slant range: 1 / sin(incidence); a satellite's incidence ~ 1.12 x its look angle,
        # an aircraft's ~ its look angle (the Earth's curvature adds < 0.2 deg within 20 km)
        inc_deg = cfg.look_angle_deg if cfg.platform == "airborne_sch" else cfg.look_angle_deg * 1.12
        ground_rg = tdec * dr / np.sin(np.deg2rad(inc_deg))
        tropo = turbulence_field(tr, cfg.seed, (nti, ntj), ground_az, ground_rg)

    frac_az = cfg.azimuth_bandwidth_fraction
    frac_rg = cfg.range_bandwidth_fraction
    model = PairModel(cfg, ref_epoch, sec_epoch, ref_orbit, sec_orbit, ref_grid, sec_grid, dem, ref_table, sec_table,
                      tropo, tdec, ti0, tj0, [], frac_az, frac_rg, sinc_lut(cfg.interpolation_taps),
                      {"perpendicular_m": bperp, "parallel_m": bpar, "along_track_m": balong},
                      cfg.centre_lon_deg, cfg.centre_lat_deg)

    # point targets: on the DEM surface at fractional reference positions
    for k, pt in enumerate(cfg.point_targets):
        i = pt.azimuth_fraction * (cfg.n_azimuth - 1) + 0.29
        j = pt.range_fraction * (cfg.n_range - 1) + 0.37
        t, r = ref_grid.azimuth_time(i), ref_grid.slant_range(j)
        xyz, lon, lat, hgt, _, _ = rdr2geo_ecef(np.array([t]), np.array([r]), ref_orbit, wavelength_m=lam,
                                                look_side=cfg.look_side, dem=dem, doppler=fd)
        t1, r1 = geo2rdr(xyz, ref_orbit, wavelength_m=lam, t_guess_s=np.array([t]), doppler=fd)
        t2, r2 = geo2rdr(xyz, sec_orbit, wavelength_m=lam, t_guess_s=np.array([t]), doppler=fd)
        row1, col1 = ref_grid.pixel(t1[0], r1[0])
        row2, col2 = sec_grid.pixel(t2[0], r2[0])
        model.targets.append(PointTargetTruth(float(lon[0]), float(lat[0]), float(hgt[0]),
                                              10 ** (pt.amplitude_db / 20.0), float(t1[0]), float(r1[0]),
                                              float(row1), float(col1), float(t2[0]), float(r2[0]), float(row2),
                                              float(col2), float(np.angle(np.exp(-4j * np.pi * r1[0] / lam)))))
    if cfg.spectral:
        from .spectra import build_spectral_model

        model.spectra = build_spectral_model(model)
    return model


def turbulence_field(tr, seed: int, shape: tuple[int, int], ground_az_m: float, ground_rg_m: float) -> np.ndarray:
    """Turbulent tropospheric phase (rad) on a grid of nodes ``ground_az_m`` x ``ground_rg_m`` apart:
    power-law spectrum ``(k^2 + k0^2)^(-beta/2)`` of the configuration ``tr``, zero mean, std
    ``tr.turbulence_std_rad``."""
    nti, ntj = shape
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(STREAM_TROPO,)))
    w = rng.standard_normal((nti, ntj))
    ky = np.fft.fftfreq(nti, d=ground_az_m)[:, None]
    kx = np.fft.rfftfreq(ntj, d=ground_rg_m)[None, :]
    k0 = 1.0 / (tr.outer_scale_km * 1e3)
    amp = (kx**2 + ky**2 + k0**2) ** (-tr.spectral_exponent / 4.0)
    f = np.fft.irfft2(np.fft.rfft2(w) * amp, s=(nti, ntj))
    return (f - f.mean()) / f.std() * tr.turbulence_std_rad


# ----------------------------------------------------------------------------- truth fields
def deformation_enu(model: PairModel, lon, lat):
    """(east, north, up) displacement (m) of all configured sources at (lon, lat) deg."""
    from . import deformation as dfm
    from .terrain import local_xy_km

    e_km, n_km = local_xy_km(lon, lat, model.centre_lon_deg, model.centre_lat_deg)
    x, y = e_km * 1e3, n_km * 1e3
    ue = np.zeros_like(x)
    un = np.zeros_like(x)
    uu = np.zeros_like(x)
    for s in model.config.deformation:
        if s.kind == "mogi":
            u = dfm.mogi_enu(x, y, depth_m=s.depth_m, volume_change_m3=s.volume_change_m3, x0_m=s.east_km * 1e3,
                             y0_m=s.north_km * 1e3, poisson=s.poisson)
        else:
            u = dfm.okada_enu(x, y, depth_m=s.depth_m, strike_deg=s.strike_deg, dip_deg=s.dip_deg,
                              rake_deg=s.rake_deg, slip_m=s.slip_m, length_m=s.length_m, width_m=s.width_m,
                              opening_m=s.opening_m, x0_m=s.east_km * 1e3, y0_m=s.north_km * 1e3, poisson=s.poisson)
        ue, un, uu = ue + u[0], un + u[1], uu + u[2]
    return ue, un, uu


def coherence_at(model: PairModel, lon, lat) -> np.ndarray:
    """True coherence at ground points (lon, lat deg): temporal x thermal, water inside lakes."""
    from .terrain import water_mask

    c = model.config.coherence
    snr = 10 ** (c.snr_db / 10.0)
    g = c.temporal * (snr / (1.0 + snr) if np.isfinite(snr) else 1.0)
    lakes = [(lk.east_km, lk.north_km, lk.radius_km) for lk in model.config.terrain.lakes]
    water = water_mask(lon, lat, model.centre_lon_deg, model.centre_lat_deg, lakes)
    return np.where(water, c.water, g)


def tropo_at(model: PairModel, ref_row, ref_col, hgt) -> np.ndarray:
    """Differential tropospheric phase (rad, its contribution to the interferogram phase) at
    fractional reference pixels and heights (m)."""
    ref_row = np.asarray(ref_row, np.float64)
    ref_col = np.asarray(ref_col, np.float64)
    out = model.config.troposphere.stratified_rad_per_km * np.asarray(hgt) / 1e3
    if model.config.troposphere.turbulence_std_rad > 0:
        u = np.ascontiguousarray((ref_row.ravel() - model.tropo_i0) / model.tropo_dec)
        v = np.ascontiguousarray((ref_col.ravel() - model.tropo_j0) / model.tropo_dec)
        val = np.empty(u.shape)
        _keys2_at(np.ascontiguousarray(model.tropo, np.float64), u, v, val)
        out = out + val.reshape(ref_row.shape)
    return out


@numba.njit(cache=True, nogil=True)
def _keys2_at(F, u, v, out):
    """Keys cubic convolution of the node field F at fractional node positions (u, v) (stencils clamped to F)."""
    wa = np.empty(4)
    wb = np.empty(4)
    for p in range(u.shape[0]):
        ia = int(np.floor(u[p]))
        ib = int(np.floor(v[p]))
        _keys_w(u[p] - ia, wa)
        _keys_w(v[p] - ib, wb)
        ra = min(max(ia - 1, 0), F.shape[0] - 4)
        cb = min(max(ib - 1, 0), F.shape[1] - 4)
        acc = 0.0
        for a in range(4):
            for b in range(4):
                acc += wa[a] * wb[b] * F[ra + a, cb + b]
        out[p] = acc


TRUTH_FIELDS = ("hgt", "lon", "lat", "los_displacement", "coherence", "flat_topo_phase", "deformation_phase",
                "tropo_phase", "range_offset", "azimuth_offset", "incidence", "heading", "los_e", "los_n", "los_u")


def truth_block(model: PairModel, r0: int, r1: int, c0: int, c1: int, strip: int = 128) -> np.ndarray:
    """Block kernel: truth fields (len(TRUTH_FIELDS), r1-r0, c1-c0) float64 on reference pixels."""
    from .deformation import los_displacement

    lam = model.wavelength_m
    out = np.empty((len(TRUTH_FIELDS), r1 - r0, c1 - c0))
    cols = np.arange(c0, c1)
    R1 = model.ref_grid.slant_range(cols)[None, :]
    for s0 in range(r0, r1, strip):
        rows = np.arange(s0, min(s0 + strip, r1))
        g = pixel_geometry(model.ref_table, model.dem, rows, cols)
        los = np.stack([g["los_e"], g["los_n"], g["los_u"]], axis=-1)
        dlos = los_displacement(deformation_enu(model, g["lon"], g["lat"]), los)
        r2row, r2col = model.sec_grid.pixel(g["t_other"], g["r_other"])
        ii, jj = np.meshgrid(rows.astype(np.float64), cols.astype(np.float64), indexing="ij")
        vals = {
            "hgt": g["hgt"], "lon": g["lon"], "lat": g["lat"], "los_displacement": dlos,
            "coherence": coherence_at(model, g["lon"], g["lat"]),
            "flat_topo_phase": -4.0 * np.pi / lam * (R1 - g["r_other"])
                               - 4.0 * np.pi * g["r_other"] * (1.0 / lam - 1.0 / model.secondary_wavelength_m),
            "deformation_phase": -4.0 * np.pi / lam * dlos,
            "tropo_phase": tropo_at(model, ii, jj, g["hgt"]),
            "range_offset": r2col - jj, "azimuth_offset": r2row - ii,
            "incidence": np.rad2deg(np.arccos(np.clip(g["los_u"], -1, 1))),
            "heading": np.rad2deg(np.arctan2(-g["los_e"], g["los_n"])),
            "los_e": g["los_e"], "los_n": g["los_n"], "los_u": g["los_u"],
        }
        for k, name in enumerate(TRUTH_FIELDS):
            out[k, rows - r0] = vals[name]
    return out


# ----------------------------------------------------------------------------- SLC kernels
def _add_targets(model: PairModel, win: np.ndarray, r0: int, c0: int) -> None:
    """Add the point targets' responses to a reflectivity window whose first sample is (r0, c0)."""
    h = FIR_HALF
    for tg in model.targets:
        ir, ic = int(np.floor(tg.reference_row)), int(np.floor(tg.reference_col))
        a0, a1 = max(ir - h, r0), min(ir + h + 2, r0 + win.shape[0])
        b0, b1 = max(ic - h, c0), min(ic + h + 2, c0 + win.shape[1])
        if a0 >= a1 or b0 >= b1:
            continue
        sa = point_response(np.arange(a0, a1) - tg.reference_row, model.frac_az)
        sr = point_response(np.arange(b0, b1) - tg.reference_col, model.frac_rg)
        ph = np.exp(-4j * np.pi * tg.reference_slant_range_m / model.wavelength_m)
        win[a0 - r0:a1 - r0, b0 - c0:b1 - c0] += tg.amplitude * ph * sa[:, None] * sr[None, :]


def reflectivity(model: PairModel, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    """The reference reflectivity ``A`` (complex128) on reference pixels ``[r0, r1) x [c0, c1)``."""
    a = speckle_window(model.config.seed, STREAM_REFLECTIVITY, r0, r1, c0, c1, model.frac_az, model.frac_rg)
    _add_targets(model, a, r0, c0)
    return a


def reference_block(model: PairModel, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    """Block kernel: reference SLC (complex64) on pixels ``[r0, r1) x [c0, c1)``."""
    if model.spectra is not None:
        return model.spectra.reference_block(model, r0, r1, c0, c1)
    return reflectivity(model, r0, r1, c0, c1).astype(np.complex64)


def secondary_block(model: PairModel, r0: int, r1: int, c0: int, c1: int, strip: int = 128) -> np.ndarray:
    """Block kernel: secondary SLC (complex64) on secondary pixels ``[r0, r1) x [c0, c1)``
    (signal model in the module docstring; with per-scene spectra :mod:`daskinsar.simulate.spectra`'s)."""
    from .deformation import los_displacement

    if model.spectra is not None:
        return model.spectra.secondary_block(model, r0, r1, c0, c1)

    lam = model.wavelength_m
    cols = np.arange(c0, c1)
    R2 = model.sec_grid.slant_range(cols)[None, :]
    parts = []
    for s0 in range(r0, r1, strip):
        rows = np.arange(s0, min(s0 + strip, r1))
        g = pixel_geometry(model.sec_table, model.dem, rows, cols)
        rr, cc = model.ref_grid.pixel(g["t_other"], g["r_other"])
        parts.append((rows, g, rr, cc))
    rmin = min(int(np.floor(p[2].min())) for p in parts)
    rmax = max(int(np.ceil(p[2].max())) for p in parts)
    cmin = min(int(np.floor(p[3].min())) for p in parts)
    cmax = max(int(np.ceil(p[3].max())) for p in parts)
    pad = model.lut.shape[1] // 2 + 1
    wr0, wc0 = rmin - pad, cmin - pad
    A = reflectivity(model, wr0, rmax + pad + 1, wc0, cmax + pad + 1)
    N = speckle_window(model.config.seed, STREAM_SECONDARY_NOISE, r0, r1, c0, c1, model.frac_az, model.frac_rg)
    out = np.empty((r1 - r0, c1 - c0), np.complex64)
    for rows, g, rr, cc in parts:
        gam = coherence_at(model, g["lon"], g["lat"])
        los = np.stack([g["los_e"], g["los_n"], g["los_u"]], axis=-1)
        dlos = los_displacement(deformation_enu(model, g["lon"], g["lat"]), los)
        phi_t = tropo_at(model, rr, cc, g["hgt"])
        # the motion and the tropospheric path move the echo's envelope as well as its phase (both
        # non-dispersive): the reflectivity is taken d closer and the path delay farther
        shift_px = (dlos - phi_t * lam / (4.0 * np.pi)) / model.ref_grid.dr_m
        a = sinc_interp(A, rr - wr0, cc - wc0 + shift_px, model.lut)
        phase = -4.0 * np.pi / lam * (R2 - g["r_other"]) + 4.0 * np.pi / lam * dlos - phi_t
        val = (gam * a + np.sqrt(1.0 - gam * gam) * N[rows - r0]) * np.exp(1j * phase)
        out[rows - r0] = val.astype(np.complex64)
    return out
