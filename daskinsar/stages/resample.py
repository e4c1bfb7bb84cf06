"""Resampling of a secondary SLC onto the reference grid (windowed-sinc interpolation with
Doppler-carrier handling).

Conventions
-----------
- Offsets are pixels on the reference grid, ``secondary = reference + offset``: the output
  pixel at reference (line i, sample j) takes the secondary value at (i + azimuth_offset[i, j],
  j + range_offset[i, j]).
- The interpolator is a Kaiser-windowed sinc of ``n_taps`` taps per axis (even, >= 8),
  tabulated at ``table_steps`` fractional positions per pixel, each row normalised to unit
  DC gain.
- Azimuth carrier: SLC data carry a Doppler-centroid carrier exp(j 2 pi fd t) along azimuth.
  Each azimuth tap is demodulated relative to the source position, i.e. the tap at line m
  is multiplied by exp(-j 2 pi fd (m - y) dt) (deramp, interpolate, reramp at the new
  position y, in one step); fd (Hz) comes from a constant or a callable of (azimuth time s,
  slant range m) evaluated at the source position on the secondary grid.
- Output pixels whose source lies outside the secondary image are 0 and flagged (True) in
  the returned mask.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable

import dask
import dask.array as da
import numba
import numpy as np
import xarray as xr
from pydantic import Field

from ..geometry.sinc import kaiser_sinc_table
from ..params import Params
from ..scene import SECONDARY_DIMS, Poly1D, meta_from_attrs
from .chunking import as_dask, blocks_overlapping
from .phasor import cis

__all__ = ["ResampleParams", "resample_block", "resample_slc", "run"]


class ResampleParams(Params):
    """Resampling of the secondary SLC onto the reference grid (Kaiser-windowed sinc)."""

    n_taps: int = Field(12, ge=8, le=32, description="sinc taps per axis (even)")
    table_steps: int = Field(2048, ge=64, description="fractional positions per pixel in the kernel table")
    kaiser_beta: float = Field(4.0, ge=0.0, description="Kaiser window shape parameter")


_STRIP = 256  # output columns per strip: the strip's row caches (64 KiB) stay in L2, src lines are read in runs


@functools.lru_cache(maxsize=8)
def _tables(n_taps: int, steps: int, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """Read-only kernel table (float64) and its float32 copy, computed once per setting
    (the table takes milliseconds: i0 over the whole table)."""
    t64 = np.ascontiguousarray(kaiser_sinc_table(n_taps, steps, beta), dtype=np.float64)
    t32 = t64.astype(np.float32)
    t64.setflags(write=False)
    t32.setflags(write=False)
    return t64, t32


@numba.njit(cache=True, nogil=True, fastmath=True)
def _edge_pixel(src, origin_a, origin_r, y, x, fd_dt, table, steps):  # pragma: no cover - numba
    """One output pixel whose taps leave ``src`` (taps outside count as zeros), complex128.

    y, x: source position (secondary lines, samples); fd_dt: carrier, cycles per line."""
    n_taps = table.shape[1]
    h = n_taps // 2 - 1
    n_src_a, n_src_r = src.shape
    iy = int(math.floor(y))
    ix = int(math.floor(x))
    ky = int((y - iy) * steps + 0.5)
    kx = int((x - ix) * steps + 0.5)
    m0 = iy - h
    c0 = ix - h
    ph = -2.0 * math.pi * fd_dt
    rot = complex(math.cos(ph), math.sin(ph))
    ph0 = ph * (m0 - y)
    car = complex(math.cos(ph0), math.sin(ph0))
    acc = 0j
    la = m0 - origin_a
    lr = c0 - origin_r
    b0 = max(0, -lr)
    b1 = min(n_taps, n_src_r - lr)
    for a in range(n_taps):
        if la + a >= 0 and la + a < n_src_a:
            row = 0j
            for b in range(b0, b1):
                row += table[kx, b] * src[la + a, lr + b]
            acc += table[ky, a] * car * row
        car *= rot
    return acc


@numba.njit(cache=True, nogil=True, fastmath=True, inline="always")
def _row_value(src_f, line, c2, table32, kx, n_taps):  # pragma: no cover - numba
    """Range-interpolated value of src line ``line`` (re, im float32): sum_b table32[kx, b] src[line, c2/2 + b],
    ``src_f`` being src viewed as interleaved float32; n_taps even. Two partial sums per component
    (even / odd taps) halve the dependency chains. The single code path for every row value."""
    r0 = np.float32(0.0)
    i0 = np.float32(0.0)
    r1 = np.float32(0.0)
    i1 = np.float32(0.0)
    for q in range(n_taps // 2):
        b = 2 * q
        k = c2 + 2 * b
        w0 = table32[kx, b]
        w1 = table32[kx, b + 1]
        r0 += w0 * src_f[line, k]
        i0 += w0 * src_f[line, k + 1]
        r1 += w1 * src_f[line, k + 2]
        i1 += w1 * src_f[line, k + 3]
    return r0 + r1, i0 + i1


@numba.njit(cache=True, nogil=True, fastmath=True)
def _resample_kernel(src, src_f, origin_a, origin_r, n_sec_a, n_sec_r, out_a0, out_r0,
                     az_off, rg_off, fd_dt, has_carrier, table, table32, steps, strip,
                     out, flag):  # pragma: no cover - numba
    """Windowed-sinc resampling of one block (see the module docstring for conventions).

    src : complex64 (n_src_a, n_src_r) secondary samples, first at absolute pixel
        (origin_a, origin_r); ``src_f`` is the same memory viewed as float32 (n_src_a, 2 n_src_r).
    az_off, rg_off : float64 (ni, nj) offsets, pixels; fd_dt : float64 (ni, nj) or (1, 1) (constant) carrier,
        cycles per line; has_carrier : False when fd_dt is all zero (the carrier factors are then 1).
    table, table32 : kernel table (steps + 1, n_taps) in float64 and float32.
    out, flag : complex64 / bool (ni, nj) outputs.

    Separable 2-D interpolation, with m0 = floor(y) - h the first azimuth tap line. The "row
    value" R(l; ix, kx) = sum_b table[kx, b] src[l, ix - h + b] is the range-interpolated value
    of source line l, and the output is
        sum_a table[ky, a] exp(j ph (m0 + a - y)) R(m0 + a; ix, kx)
        = exp(-j ph fy) * sum_a table[ky, a] exp(j ph (a - h)) R(m0 + a; ix, kx),
    ph = -2 pi fd_dt (rad per line), fy = y - floor(y). The factors exp(j ph (a - h)) are
    recomputed only when fd_dt changes; sums are float32 with float64 phases.
    Row values depend only on (l, ix, kx): walking down an output column they are kept in a
    per-column cache of consecutive lines [lo, hi) for the column's current (ix, kx), stored
    twice in a ring of 2 * ring slots so the taps of any pixel are contiguous. A cached value is
    bit-identical to a recomputed one (one code path computes it), so results do not depend on
    how the image is blocked. Columns are processed in strips of ``strip``. Pixels whose taps
    leave ``src`` go to ``_edge_pixel`` (float64, taps outside ``src`` are zeros).
    """
    n_taps = table.shape[1]
    h = n_taps // 2 - 1
    ni, nj = az_off.shape
    n_src_a, n_src_r = src.shape
    ring = 1
    while ring < n_taps:
        ring *= 2
    mask = ring - 1
    two_pi = 2.0 * math.pi
    cre = np.zeros((strip, 2 * ring), dtype=np.float32)
    cim = np.zeros((strip, 2 * ring), dtype=np.float32)
    key_ix = np.empty(strip, dtype=np.int64)
    key_kx = np.empty(strip, dtype=np.int64)
    lo = np.empty(strip, dtype=np.int64)
    hi = np.empty(strip, dtype=np.int64)
    pre = np.ones(n_taps, dtype=np.float32)     # Re exp(j ph (a - h))
    pim = np.zeros(n_taps, dtype=np.float32)    # Im exp(j ph (a - h))
    fsi = 1 if fd_dt.shape[0] > 1 else 0         # constant carrier: fd_dt is (1, 1)
    fsj = 1 if fd_dt.shape[1] > 1 else 0
    last_fd = 0.0                               # carrier of pre/pim (no NaN sentinel under fastmath)
    for j0 in range(0, nj, strip):
        js = min(strip, nj - j0)
        for jj in range(js):
            key_ix[jj] = -1
            key_kx[jj] = -1
            lo[jj] = 0
            hi[jj] = 0
        for i in range(ni):
            for jj in range(js):
                j = j0 + jj
                y = out_a0 + i + az_off[i, j]
                x = out_r0 + j + rg_off[i, j]
                if not (y >= 0.0 and y <= n_sec_a - 1 and x >= 0.0 and x <= n_sec_r - 1):
                    out[i, j] = 0.0
                    flag[i, j] = True
                    continue
                flag[i, j] = False
                iy = int(math.floor(y))
                ix = int(math.floor(x))
                la = iy - h - origin_a      # first azimuth tap, line of src
                lr = ix - h - origin_r      # first range tap, sample of src
                if la < 0 or la + n_taps > n_src_a or lr < 0 or lr + n_taps > n_src_r:
                    out[i, j] = _edge_pixel(src, origin_a, origin_r, y, x, fd_dt[i * fsi, j * fsj], table, steps)
                    continue
                fy = y - iy
                ky = int(fy * steps + 0.5)
                kx = int((x - ix) * steps + 0.5)
                lb = la + n_taps
                c2 = 2 * lr
                # bring the cache of this column to lines [la, lb) for (ix, kx)
                if key_ix[jj] != ix or key_kx[jj] != kx or la < lo[jj] or la > hi[jj]:
                    key_ix[jj] = ix
                    key_kx[jj] = kx
                    first = la
                else:
                    first = hi[jj]
                for line in range(first, lb):
                    vr, vi = _row_value(src_f, line, c2, table32, kx, n_taps)
                    s = line & mask
                    cre[jj, s] = vr
                    cim[jj, s] = vi
                    cre[jj, s + ring] = vr
                    cim[jj, s + ring] = vi
                if first == la or lb > hi[jj]:
                    hi[jj] = lb
                    lo[jj] = max(la if first == la else lo[jj], lb - ring)
                s0 = la & mask
                if has_carrier:
                    fd = fd_dt[i * fsi, j * fsj]
                    ph = -two_pi * fd
                    if fd != last_fd:
                        # exp(j ph (a - h)) by recurrences up and down from a = h (float64)
                        rr, ri = cis(ph)
                        ur, ui = 1.0, 0.0
                        dr, di = 1.0, 0.0
                        pre[h] = 1.0
                        pim[h] = 0.0
                        for k in range(1, n_taps - h):
                            ur, ui = ur * rr - ui * ri, ur * ri + ui * rr
                            pre[h + k] = ur
                            pim[h + k] = ui
                            if k <= h:
                                dr, di = dr * rr + di * ri, di * rr - dr * ri
                                pre[h - k] = dr
                                pim[h - k] = di
                        last_fd = fd
                    # sum_a (t_a exp(j ph (a - h))) R_a as four real sums, even/odd taps apart
                    rr0 = np.float32(0.0)
                    ii0 = np.float32(0.0)
                    ri0 = np.float32(0.0)
                    ir0 = np.float32(0.0)
                    rr1 = np.float32(0.0)
                    ii1 = np.float32(0.0)
                    ri1 = np.float32(0.0)
                    ir1 = np.float32(0.0)
                    for q in range(n_taps // 2):
                        a = 2 * q
                        t0 = table32[ky, a]
                        t1 = table32[ky, a + 1]
                        wr0 = t0 * pre[a]
                        wi0 = t0 * pim[a]
                        wr1 = t1 * pre[a + 1]
                        wi1 = t1 * pim[a + 1]
                        vr0 = cre[jj, s0 + a]
                        vi0 = cim[jj, s0 + a]
                        vr1 = cre[jj, s0 + a + 1]
                        vi1 = cim[jj, s0 + a + 1]
                        rr0 += wr0 * vr0
                        ii0 += wi0 * vi0
                        ri0 += wr0 * vi0
                        ir0 += wi0 * vr0
                        rr1 += wr1 * vr1
                        ii1 += wi1 * vi1
                        ri1 += wr1 * vi1
                        ir1 += wi1 * vr1
                    acc_re = (rr0 + rr1) - (ii0 + ii1)
                    acc_im = (ri0 + ri1) + (ir0 + ir1)
                    # the remaining factor exp(-j ph fy) of exp(j ph (m0 - y)) = exp(-j ph h) exp(-j ph fy)
                    cr, ci = cis(-ph * fy)
                    cr32 = np.float32(cr)
                    ci32 = np.float32(ci)
                    out[i, j] = complex(acc_re * cr32 - acc_im * ci32, acc_re * ci32 + acc_im * cr32)
                else:
                    r0 = np.float32(0.0)
                    i0 = np.float32(0.0)
                    r1 = np.float32(0.0)
                    i1 = np.float32(0.0)
                    for q in range(n_taps // 2):
                        a = 2 * q
                        t0 = table32[ky, a]
                        t1 = table32[ky, a + 1]
                        r0 += t0 * cre[jj, s0 + a]
                        i0 += t0 * cim[jj, s0 + a]
                        r1 += t1 * cre[jj, s0 + a + 1]
                        i1 += t1 * cim[jj, s0 + a + 1]
                    out[i, j] = complex(r0 + r1, i0 + i1)


def resample_block(src: np.ndarray, src_origin: tuple[int, int], secondary_shape: tuple[int, int],
                   out_origin: tuple[int, int], azimuth_offset: np.ndarray, range_offset: np.ndarray,
                   doppler_times_dt: np.ndarray | float = 0.0, params: ResampleParams | None = None,
                   table: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Resample one output block (pure numpy/numba kernel).

    Parameters
    ----------
    src : complex secondary samples, first sample at absolute secondary pixel ``src_origin``
        (lines, samples); taps falling outside ``src`` count as zeros.
    secondary_shape : (lines, samples) of the whole secondary image.
    out_origin : absolute reference pixel of the block's first output pixel.
    azimuth_offset, range_offset : (ni, nj) offsets in pixels (secondary = reference + offset).
    doppler_times_dt : fd * azimuth line interval (cycles per line), scalar or (ni, nj),
        at the source position.

    Returns
    -------
    (resampled complex64 (ni, nj), outside flag bool (ni, nj))
    """
    params = params or ResampleParams()
    if table is None:
        table, table32 = _tables(params.n_taps, params.table_steps, float(params.kaiser_beta))
    else:
        table = np.ascontiguousarray(table, dtype=np.float64)
        table32 = table.astype(np.float32)
    az = np.ascontiguousarray(azimuth_offset, dtype=np.float64)
    rg = np.ascontiguousarray(range_offset, dtype=np.float64)
    fd = np.asarray(doppler_times_dt, dtype=np.float64)
    # a constant carrier is passed as a (1, 1) array (no full-size broadcast copy)
    fd = fd.reshape(1, 1) if fd.size == 1 else np.ascontiguousarray(np.broadcast_to(fd, az.shape))
    out = np.empty(az.shape, dtype=np.complex64)
    flag = np.empty(az.shape, dtype=np.bool_)
    src = np.ascontiguousarray(src, dtype=np.complex64)
    _resample_kernel(src, src.view(np.float32), int(src_origin[0]), int(src_origin[1]),
                     int(secondary_shape[0]), int(secondary_shape[1]), int(out_origin[0]), int(out_origin[1]),
                     az, rg, fd, bool(np.any(fd != 0.0)), table, table32,
                     int(table.shape[0] - 1), _STRIP, out, flag)
    return out, flag


class _StoreWindow:
    """A window of a store-backed array (e.g. a ``zarr.Array``), read inside the task that needs
    it: halos then cost a little extra reading instead of keeping neighbouring blocks in memory."""

    def __init__(self, array, box: tuple[int, int, int, int]):
        self.array, self.box = array, box

    def read(self) -> np.ndarray:
        a0, a1, r0, r1 = self.box
        return np.asarray(self.array[a0:a1, r0:r1])


def _block_task(sec_slice, sec_box, pad_box, secondary_shape, out_origin, az, rg, fd_spec, params, piece_origins=()):
    """Pad the secondary slice to the halo box, evaluate the Doppler, run the kernel. ``sec_slice``: a
    :class:`_StoreWindow`, or the secondary blocks overlapping ``sec_box`` (a list, first pixels at
    ``piece_origins``), or None. Returns (resampled complex64 (ni, nj), outside flag bool (ni, nj))."""
    a0, a1, r0, r1 = pad_box
    src = np.zeros((a1 - a0, r1 - r0), dtype=np.complex64)
    if isinstance(sec_slice, _StoreWindow):
        src[sec_box[0] - a0:sec_box[1] - a0, sec_box[2] - r0:sec_box[3] - r0] = sec_slice.read()
    elif sec_slice is not None:
        for block, (b0, c0) in zip(sec_slice, piece_origins):
            # the part of the block inside the source box, placed in the padded source
            i0, i1 = max(b0, sec_box[0]), min(b0 + block.shape[0], sec_box[1])
            j0, j1 = max(c0, sec_box[2]), min(c0 + block.shape[1], sec_box[3])
            src[i0 - a0:i1 - a0, j0 - r0:j1 - r0] = block[i0 - b0:i1 - b0, j0 - c0:j1 - c0]
    fd_dt = _doppler_cycles_per_line(fd_spec, out_origin, az, rg)
    return resample_block(src, (a0, r0), secondary_shape, out_origin, az, rg, fd_dt, params)


def _doppler_cycles_per_line(fd_spec, out_origin, az, rg):
    kind = fd_spec[0]
    if kind == "const":
        return fd_spec[1]
    _, fn, t0, dt, r0, dr = fd_spec
    ii, jj = np.indices(az.shape)
    y = out_origin[0] + ii + az
    x = out_origin[1] + jj + rg
    return np.asarray(fn(t0 + dt * y, r0 + dr * x), dtype=np.float64) * dt


def resample_slc(secondary: Any, azimuth_offset_px: da.Array, range_offset_px: da.Array, *,
                 doppler_hz: float | Callable = 0.0, azimuth_line_interval_s: float | None = None,
                 secondary_grid: tuple[float, float, float, float] | None = None,
                 params: ResampleParams | None = None,
                 max_offset_px: tuple[float, float] | None = None) -> tuple[da.Array, da.Array]:
    """Resample a secondary SLC onto the reference grid, lazily.

    Parameters
    ----------
    secondary : complex (lines, samples) array on the secondary grid: a dask or numpy array,
        or a store-backed array such as a ``zarr.Array``, which each task then reads its
        window from directly (memory bounded by the output block, whatever the scene width).
    azimuth_offset_px, range_offset_px : dask arrays on the reference grid (its shape and
        chunks define the output), pixels, secondary = reference + offset.
    doppler_hz : Doppler centroid of the secondary data (Hz): a constant, or a callable
        ``fd(azimuth_time_s, slant_range_m)``; a callable needs ``secondary_grid`` =
        (first azimuth time s, line interval s, first slant range m, range spacing m).
    azimuth_line_interval_s : 1/PRF (s) for a constant Doppler (defaults to the grid's).
    max_offset_px : (azimuth, range) bound of |offset| used for the halo; computed from the
        offset fields when omitted.

    Returns
    -------
    (resampled complex64 dask array, outside-image flag bool dask array), both on the
    reference grid with the chunks of the offset fields. One task per output block reads
    only the secondary slice (block + halo of max offset + half kernel) it needs, so the
    result is the same for any chunking.
    """
    params = params or ResampleParams()
    direct = not isinstance(secondary, (da.Array, np.ndarray))
    if not direct:
        secondary = as_dask(secondary)
    az_off = as_dask(azimuth_offset_px, chunks="auto")
    rg_off = as_dask(range_offset_px, chunks="auto")
    if az_off.shape != rg_off.shape:
        raise ValueError(f"azimuth offsets {az_off.shape} and range offsets {rg_off.shape} differ in shape")
    rg_off = rg_off.rechunk(az_off.chunks)
    if max_offset_px is None:
        m_az, m_rg = dask.compute(da.nanmax(da.fabs(az_off)), da.nanmax(da.fabs(rg_off)))
        max_offset_px = (float(m_az) if np.isfinite(m_az) else 0.0, float(m_rg) if np.isfinite(m_rg) else 0.0)
    if callable(doppler_hz):
        if secondary_grid is None:
            raise ValueError("a Doppler callable needs secondary_grid=(t0_s, dt_s, r0_m, dr_m)")
        fd_spec = ("callable", doppler_hz, *map(float, secondary_grid))
    else:
        dt = azimuth_line_interval_s if azimuth_line_interval_s is not None else (
            secondary_grid[1] if secondary_grid is not None else None)
        if float(doppler_hz) != 0.0 and dt is None:
            raise ValueError("a non-zero constant Doppler needs azimuth_line_interval_s (1/PRF)")
        fd_spec = ("const", float(doppler_hz) * (dt or 0.0))
    h = params.n_taps // 2
    halo_a = int(math.ceil(max_offset_px[0])) + h + 1
    halo_r = int(math.ceil(max_offset_px[1])) + h + 1
    n_sec = secondary.shape
    doppler_key = fd_spec[1:] if fd_spec[0] == "const" else (dask.base.tokenize(doppler_hz), secondary_grid)
    token = dask.base.tokenize(repr(secondary) if direct else secondary, secondary.shape, az_off, rg_off, fd_spec[0],
                               doppler_key, params, halo_a, halo_r)
    az_blocks = az_off.to_delayed()
    rg_blocks = rg_off.to_delayed()
    if not direct:  # each task takes the blocks it overlaps: one graph, every block computed once
        sec_blocks = secondary.to_delayed(optimize_graph=False)
        sec_a = np.cumsum((0,) + secondary.chunks[0])
        sec_r = np.cumsum((0,) + secondary.chunks[1])
    a_starts = np.cumsum((0,) + az_off.chunks[0])
    r_starts = np.cumsum((0,) + az_off.chunks[1])
    out_rows, flag_rows = [], []
    for bi in range(len(az_off.chunks[0])):
        out_row, flag_row = [], []
        for bj in range(len(az_off.chunks[1])):
            o0, o1 = int(a_starts[bi]), int(a_starts[bi + 1])
            p0, p1 = int(r_starts[bj]), int(r_starts[bj + 1])
            pad_box = (o0 - halo_a, o1 + halo_a, p0 - halo_r, p1 + halo_r)
            sec_box = (max(pad_box[0], 0), min(pad_box[1], n_sec[0]), max(pad_box[2], 0), min(pad_box[3], n_sec[1]))
            sec_slice: Any = None
            origins: list[tuple[int, int]] = []
            if not (sec_box[0] < sec_box[1] and sec_box[2] < sec_box[3]):
                sec_box = (0, 0, 0, 0)
            elif direct:
                sec_slice = _StoreWindow(secondary, sec_box)
            else:
                rows = blocks_overlapping(sec_a, sec_box[0], sec_box[1])
                cols = blocks_overlapping(sec_r, sec_box[2], sec_box[3])
                sec_slice = [sec_blocks[i, j] for i in rows for j in cols]
                origins = [(int(sec_a[i]), int(sec_r[j])) for i in rows for j in cols]
            task = dask.delayed(_block_task, pure=True, nout=2)(
                sec_slice, sec_box, pad_box, n_sec, (o0, p0), az_blocks[bi, bj], rg_blocks[bi, bj], fd_spec, params,
                origins, dask_key_name=f"resample-sinc-{token}-{bi}-{bj}")
            shape = (o1 - o0, p1 - p0)
            out_row.append(da.from_delayed(task[0], shape=shape, dtype=np.complex64,
                                           name=f"resample-slc-{token}-{bi}-{bj}"))
            flag_row.append(da.from_delayed(task[1], shape=shape, dtype=bool,
                                            name=f"resample-outside-{token}-{bi}-{bj}"))
        out_rows.append(out_row)
        flag_rows.append(flag_row)
    return da.block(out_rows), da.block(flag_rows)


class _LazyWindowSource:
    """A lazily indexed (not dask) DataArray as the store-backed source :func:`resample_slc` reads
    windows from inside its tasks; ``key`` names it in task tokens."""

    def __init__(self, array: xr.DataArray, key: str):
        self.array, self.key, self.shape = array, key, array.shape

    def __getitem__(self, index) -> np.ndarray:
        return np.asarray(self.array[index].values)

    def __repr__(self) -> str:
        return f"LazyWindowSource({self.key})"


def run(inputs: xr.Dataset, params: ResampleParams) -> xr.Dataset:
    """The secondary SLC resampled onto the reference grid.

    ``inputs``: ``secondary`` on its own grid (dims ``secondary_azimuth`` x ``secondary_range`` with
    ``secondary_azimuth_time`` (s) / ``secondary_slant_range`` (m), the secondary's metadata in the
    ``secondary_*`` attributes); ``azimuth_offset``, ``range_offset`` (pixels, secondary = reference +
    offset) on the reference grid, whose chunks make the output blocks. A ``secondary`` that is not
    dask-backed (opened lazily, ``chunks=None``) is read window by window inside the tasks, halo
    included, so memory stays bounded by the output block. The Doppler carrier of the secondary
    (its metadata Doppler centroid) is kept. Returns ``secondary`` (complex64) and ``outside`` (bool:
    no secondary sample there) on the reference grid.
    """
    sec = inputs["secondary"]
    meta = meta_from_attrs(inputs.attrs, "secondary")
    t = np.asarray(inputs[SECONDARY_DIMS["azimuth_time"]].values, np.float64)
    r = np.asarray(inputs[SECONDARY_DIMS["slant_range"]].values, np.float64)
    dt = float(t[1] - t[0]) if len(t) > 1 else meta.line_interval_s
    dr = float(r[1] - r[0]) if len(r) > 1 else meta.range_spacing_m
    source = sec.data if sec.chunks is not None else _LazyWindowSource(sec, str(sec.encoding.get("source", "")) +
                                                                       f":{sec.name}:{dask.base.tokenize(t, r)}")
    az, rg = inputs["azimuth_offset"].data, inputs["range_offset"].data
    doppler: Any = meta.doppler_centroid
    if isinstance(doppler, Poly1D) and not any(doppler.coeffs[1:]):  # a constant: no per-pixel evaluation
        doppler = float(doppler.coeffs[0])
    resampled, outside = resample_slc(source, az, rg, doppler_hz=doppler,
                                      secondary_grid=(float(t[0]), dt, float(r[0]), dr), params=params)
    coords = {k: inputs[k] for k in ("azimuth_time", "slant_range")}
    return xr.Dataset({"secondary": (("azimuth", "range"), resampled, {"units": "1", "long_name":
                                     "secondary SLC resampled onto the reference grid"}),
                       "outside": (("azimuth", "range"), outside, {"long_name": "no secondary sample here"})},
                      coords=coords)
