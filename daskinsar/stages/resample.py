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

import math
from typing import Callable

import dask
import dask.array as da
import numba
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ResampleParams", "sinc_table", "resample_block", "resample_slc"]


class ResampleParams(BaseModel):
    """Interpolator settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_taps: int = Field(12, ge=8, le=32, description="sinc taps per axis (even)")
    table_steps: int = Field(2048, ge=64, description="fractional positions per pixel in the kernel table")
    kaiser_beta: float = Field(4.0, ge=0.0, description="Kaiser window shape parameter")


def sinc_table(n_taps: int = 8, steps: int = 2048, beta: float = 4.0) -> np.ndarray:
    """Kernel table (steps + 1, n_taps), float64.

    Row k holds the weights for fractional position f = k / steps: tap b applies to sample
    floor(x) - n_taps/2 + 1 + b, at distance u = b - n_taps/2 + 1 - f from the position;
    weight = sinc(u) * I0(beta sqrt(1 - (u / (n_taps/2))^2)) / I0(beta), normalised to sum 1.
    """
    if n_taps % 2:
        raise ValueError(f"n_taps must be even, got {n_taps}")
    f = np.arange(steps + 1)[:, None] / steps
    u = np.arange(n_taps)[None, :] - n_taps // 2 + 1 - f
    half = n_taps / 2.0
    arg = np.clip(1.0 - (u / half) ** 2, 0.0, None)
    w = np.sinc(u) * np.i0(beta * np.sqrt(arg)) / np.i0(beta)
    return w / w.sum(axis=1, keepdims=True)


@numba.njit(cache=True, nogil=True, fastmath=True)
def _resample_kernel(src, origin_a, origin_r, n_sec_a, n_sec_r, out_a0, out_r0,
                     az_off, rg_off, fd_dt, table, steps, out, flag):  # pragma: no cover - numba
    n_taps = table.shape[1]
    h = n_taps // 2 - 1
    ni, nj = az_off.shape
    n_src_a, n_src_r = src.shape
    two_pi = 2.0 * math.pi
    for i in range(ni):
        for j in range(nj):
            y = out_a0 + i + az_off[i, j]
            x = out_r0 + j + rg_off[i, j]
            if not (y >= 0.0 and y <= n_sec_a - 1 and x >= 0.0 and x <= n_sec_r - 1):
                out[i, j] = 0.0
                flag[i, j] = True
                continue
            iy = int(math.floor(y))
            ix = int(math.floor(x))
            ky = int((y - iy) * steps + 0.5)
            kx = int((x - ix) * steps + 0.5)
            m0 = iy - h            # first azimuth tap (absolute secondary line)
            c0 = ix - h            # first range tap (absolute secondary sample)
            ph = -two_pi * fd_dt[i, j]
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
            out[i, j] = acc
            flag[i, j] = False


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
    table = sinc_table(params.n_taps, params.table_steps, params.kaiser_beta) if table is None else table
    az = np.ascontiguousarray(azimuth_offset, dtype=np.float64)
    rg = np.ascontiguousarray(range_offset, dtype=np.float64)
    fd = np.ascontiguousarray(np.broadcast_to(np.asarray(doppler_times_dt, dtype=np.float64), az.shape))
    out = np.empty(az.shape, dtype=np.complex64)
    flag = np.empty(az.shape, dtype=np.bool_)
    _resample_kernel(np.ascontiguousarray(src, dtype=np.complex64), int(src_origin[0]), int(src_origin[1]),
                     int(secondary_shape[0]), int(secondary_shape[1]), int(out_origin[0]), int(out_origin[1]),
                     az, rg, fd, table, int(table.shape[0] - 1), out, flag)
    return out, flag


def _block_task(sec_slice, sec_box, pad_box, secondary_shape, out_origin, az, rg, fd_spec, params):
    """Pad the secondary slice to the halo box, evaluate the Doppler, run the kernel.
    Returns a (2, ni, nj) complex64 stack: resampled data and the outside flag (0/1)."""
    a0, a1, r0, r1 = pad_box
    src = np.zeros((a1 - a0, r1 - r0), dtype=np.complex64)
    if sec_slice is not None and sec_slice.size:
        src[sec_box[0] - a0:sec_box[1] - a0, sec_box[2] - r0:sec_box[3] - r0] = sec_slice
    fd_dt = _doppler_cycles_per_line(fd_spec, out_origin, az, rg)
    out, flag = resample_block(src, (a0, r0), secondary_shape, out_origin, az, rg, fd_dt, params)
    return np.stack([out, flag.astype(np.complex64)])


def _doppler_cycles_per_line(fd_spec, out_origin, az, rg):
    kind = fd_spec[0]
    if kind == "const":
        return fd_spec[1]
    _, fn, t0, dt, r0, dr = fd_spec
    ii, jj = np.indices(az.shape)
    y = out_origin[0] + ii + az
    x = out_origin[1] + jj + rg
    return np.asarray(fn(t0 + dt * y, r0 + dr * x), dtype=np.float64) * dt


def resample_slc(secondary: da.Array, azimuth_offset_px: da.Array, range_offset_px: da.Array, *,
                 doppler_hz: float | Callable = 0.0, azimuth_line_interval_s: float | None = None,
                 secondary_grid: tuple[float, float, float, float] | None = None,
                 params: ResampleParams | None = None,
                 max_offset_px: tuple[float, float] | None = None) -> tuple[da.Array, da.Array]:
    """Resample a secondary SLC onto the reference grid, lazily.

    Parameters
    ----------
    secondary : complex (lines, samples) dask/numpy array on the secondary grid.
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
    if not isinstance(secondary, da.Array):
        secondary = da.from_array(secondary, chunks=(2048, 2048))
    az_off = azimuth_offset_px if isinstance(azimuth_offset_px, da.Array) else da.from_array(np.asarray(azimuth_offset_px))
    rg_off = range_offset_px if isinstance(range_offset_px, da.Array) else da.from_array(np.asarray(range_offset_px))
    if az_off.shape != rg_off.shape:
        raise ValueError(f"azimuth offsets {az_off.shape} and range offsets {rg_off.shape} differ in shape")
    rg_off = rg_off.rechunk(az_off.chunks)
    if max_offset_px is None:
        max_offset_px = dask.compute(da.nanmax(da.fabs(az_off)), da.nanmax(da.fabs(rg_off)))
        max_offset_px = tuple(float(v) if np.isfinite(v) else 0.0 for v in max_offset_px)
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
    token = dask.base.tokenize(secondary, az_off, rg_off, fd_spec[0], fd_spec[1:] if fd_spec[0] == "const" else
                               (dask.base.tokenize(doppler_hz), secondary_grid), params, halo_a, halo_r)
    az_blocks = az_off.to_delayed()
    rg_blocks = rg_off.to_delayed()
    a_starts = np.cumsum((0,) + az_off.chunks[0])
    r_starts = np.cumsum((0,) + az_off.chunks[1])
    rows = []
    for bi in range(len(az_off.chunks[0])):
        row = []
        for bj in range(len(az_off.chunks[1])):
            o0, o1 = int(a_starts[bi]), int(a_starts[bi + 1])
            p0, p1 = int(r_starts[bj]), int(r_starts[bj + 1])
            pad_box = (o0 - halo_a, o1 + halo_a, p0 - halo_r, p1 + halo_r)
            sec_box = (max(pad_box[0], 0), min(pad_box[1], n_sec[0]), max(pad_box[2], 0), min(pad_box[3], n_sec[1]))
            if sec_box[0] < sec_box[1] and sec_box[2] < sec_box[3]:
                sec_slice = secondary[sec_box[0]:sec_box[1], sec_box[2]:sec_box[3]]
            else:
                sec_slice, sec_box = None, (0, 0, 0, 0)
            task = dask.delayed(_block_task, pure=True)(
                sec_slice, sec_box, pad_box, n_sec, (o0, p0), az_blocks[bi, bj], rg_blocks[bi, bj], fd_spec, params,
                dask_key_name=f"resample-sinc-{token}-{bi}-{bj}")
            row.append(da.from_delayed(task, shape=(2, o1 - o0, p1 - p0), dtype=np.complex64,
                                       name=f"resample-block-{token}-{bi}-{bj}"))
        rows.append(row)
    stack = da.block(rows)
    out = stack[0]
    flag = stack[1].real.astype(bool)
    return out, flag
