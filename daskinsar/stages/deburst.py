"""Deburst (bursts of a subswath -> one grid) and subswath merge (subswaths -> one grid), lazily.

Inputs are ``xarray.DataArray`` on dims ``(azimuth, range)`` with coordinates
``azimuth_time`` (s) and ``slant_range`` (m), and, along ``azimuth``, ``valid_first_sample`` /
``valid_last_sample`` (range sample indices of the array, inclusive; -1 on lines without
valid samples), as the Sentinel-1 reader gives them for each burst. Any product on the
burst grids works: SLC (resampled or not), interferogram, coherence, ...

Deburst
-------
- Every burst's lines lie on one regular time axis ``t0 + n dt`` (Sentinel-1 bursts start on
  a common line lattice, to < 0.001 line); a burst whose first line is more than
  ``line_tolerance`` lines off the lattice is refused. Each line goes to the output line of
  its own azimuth time: 0 lines off.
- Consecutive bursts are joined at the middle of the overlap of their valid lines: the
  earlier burst supplies the lines before ``cut = (start + end + 1) // 2`` (``start`` the
  later burst's first valid line, ``end`` the earlier burst's last valid line, output line
  numbers), the later burst the lines from ``cut`` on.
- Samples outside a line's valid window are the fill value (0 for complex and integer
  data, NaN for real). The output spans the first burst's first valid line to the last
  burst's last valid line.

Merge
-----
- Subswaths must share the range spacing and the line interval, and lie on one range and
  one time lattice (to ``tolerance`` pixel / line); the output axes are regular, spanning
  the union of the inputs.
- Adjacent subswaths are cut at the middle of the overlap of their valid samples (the
  narrowest valid window over the lines of each subswath).

Both are lazy: one slice and one masking task per burst (``deburst-<burst>-<token>``),
chunked per burst in azimuth, with the input range chunks. :func:`merge_bursts` does both for
every variable of a set of burst datasets (any product on the burst grids) and records where
each burst landed.
"""

from __future__ import annotations

import json
from typing import Mapping, Sequence

import dask.array as da
import numpy as np
import xarray as xr
from dask.base import tokenize

__all__ = ["deburst", "merge_subswaths", "merge_bursts", "fill_value", "burst_swath"]


def fill_value(dtype) -> float | complex | int:
    """The value of pixels without data: NaN for real floats, 0 otherwise."""
    dt = np.dtype(dtype)
    return np.nan if np.issubdtype(dt, np.floating) else 0


def _axis_step(x: np.ndarray, what: str) -> float:
    if len(x) < 2:
        raise ValueError(f"{what}: an axis needs at least 2 samples")
    d = np.diff(x)
    if not np.allclose(d, d[0], rtol=1e-9, atol=0):
        raise ValueError(f"{what}: the axis is not regular")
    return float(d[0])


def _lattice(starts: np.ndarray, origin: float, step: float, tolerance: float, what: str) -> np.ndarray:
    n = (starts - origin) / step
    k = np.round(n)
    bad = np.abs(n - k) > tolerance
    if np.any(bad):
        i = int(np.argmax(bad))
        raise ValueError(f"{what}: item {i} starts {n[i] - k[i]:+.4f} {'lines' if 'azimuth' in what else 'samples'} "
                         f"off the common lattice (tolerance {tolerance})")
    return k.astype(np.int64)


def _valid_lines(fvs: np.ndarray) -> tuple[int, int]:
    v = np.flatnonzero(fvs >= 0)
    return (int(v[0]), int(v[-1])) if v.size else (0, -1)


def _mask_block(x, fvs, lvs, line0, fill, block_info=None):
    (a0, a1), (c0, c1) = block_info[0]["array-location"]
    f = fvs[line0 + a0: line0 + a1, None]
    last = lvs[line0 + a0: line0 + a1, None]
    cols = np.arange(c0, c1)[None, :]
    ok = (f >= 0) & (cols >= f) & (cols <= last)
    out = np.array(x, copy=True)
    out[~ok] = fill
    return out


def deburst(bursts: Sequence[xr.DataArray], names: Sequence[str] | None = None, *,
            line_tolerance: float = 0.01) -> xr.DataArray:
    """The bursts of one subswath (any order) on one regular azimuth-time grid (see the module docstring).

    ``names`` label the bursts in task names (default ``b0``, ``b1`` .. in time order).
    The result has the ``valid_first_sample`` / ``valid_last_sample`` coordinates of the
    line's source burst and ``attrs["deburst_lines"]`` (JSON: name -> [first, end) output
    lines).
    """
    if not bursts:
        raise ValueError("deburst: no bursts")
    order = sorted(range(len(bursts)), key=lambda i: float(bursts[i]["azimuth_time"].values[0]))
    arrs = [bursts[i] for i in order]
    labels = [names[i] for i in order] if names is not None else [f"b{i}" for i in range(len(arrs))]
    dt = _axis_step(np.asarray(arrs[0]["azimuth_time"].values), "deburst azimuth_time")
    r = np.asarray(arrs[0]["slant_range"].values)
    for a, lab in zip(arrs, labels):
        if a.dims != ("azimuth", "range"):
            raise ValueError(f"deburst: burst {lab} has dims {a.dims}, expected ('azimuth', 'range')")
        if not np.isclose(_axis_step(np.asarray(a["azimuth_time"].values), f"burst {lab}"), dt, rtol=1e-9, atol=0):
            raise ValueError(f"deburst: burst {lab} has another line interval than {labels[0]}")
        if a.sizes["range"] != len(r) or not np.allclose(a["slant_range"].values, r, rtol=0, atol=1e-6):
            raise ValueError(f"deburst: burst {lab} has another slant-range axis than {labels[0]}")
        for c in ("valid_first_sample", "valid_last_sample"):
            if c not in a.coords:
                raise ValueError(f"deburst: burst {lab} has no {c!r} coordinate")
    t0 = float(arrs[0]["azimuth_time"].values[0])
    starts = _lattice(np.array([float(a["azimuth_time"].values[0]) for a in arrs]), t0, dt, line_tolerance,
                      "deburst azimuth")
    resid = float(np.max(np.abs(np.array([float(a["azimuth_time"].values[0]) for a in arrs]) - t0 - starts * dt))
                  / dt)
    fv = [np.asarray(a["valid_first_sample"].values, np.int64) for a in arrs]
    lv = [np.asarray(a["valid_last_sample"].values, np.int64) for a in arrs]
    valid = [(int(s) + v0, int(s) + v1) for s, (v0, v1) in zip(starts, map(_valid_lines, fv))]
    # output lines [lo_k, hi_k) supplied by burst k
    lo = [v[0] for v in valid]
    hi = [v[1] + 1 for v in valid]
    for k in range(len(arrs) - 1):
        if valid[k + 1][0] <= valid[k][1]:  # overlap of valid lines: join at its middle
            cut = (valid[k + 1][0] + valid[k][1] + 1) // 2
            hi[k] = cut
            lo[k + 1] = cut
        if lo[k + 1] < hi[k]:
            raise ValueError(f"deburst: bursts {labels[k]} and {labels[k + 1]} are not in azimuth order")
    tok = tokenize([a.data for a in arrs], starts.tolist())
    out0 = lo[0]
    pieces, used = [], {}
    cursor = out0
    dtype = arrs[0].dtype
    fill = fill_value(dtype)
    rg_chunks = arrs[0].data.chunks[1] if isinstance(arrs[0].data, da.Array) else (len(r),)
    fvs_out = []
    lvs_out = []
    for k, a in enumerate(arrs):
        if hi[k] <= lo[k]:
            continue
        if lo[k] > cursor:  # a gap between bursts: fill lines
            pieces.append(da.full((lo[k] - cursor, len(r)), fill, dtype=dtype, chunks=(lo[k] - cursor, rg_chunks)))
            fvs_out.append(np.full(lo[k] - cursor, -1))
            lvs_out.append(np.full(lo[k] - cursor, -1))
        a0, a1 = lo[k] - int(starts[k]), hi[k] - int(starts[k])
        src = a.data if isinstance(a.data, da.Array) else da.from_array(np.asarray(a.data), chunks=(a1 - a0, -1))
        part = src[a0:a1]
        pieces.append(da.map_blocks(_mask_block, part, fv[k], lv[k], a0, fill, dtype=dtype,
                                    name=f"deburst-{labels[k]}-{tok}"))
        fvs_out.append(fv[k][a0:a1])
        lvs_out.append(lv[k][a0:a1])
        used[labels[k]] = [lo[k] - out0, hi[k] - out0]
        cursor = hi[k]
    data = da.concatenate(pieces, axis=0)
    n = data.shape[0]
    coords = {"azimuth_time": ("azimuth", t0 + dt * (out0 + np.arange(n, dtype=np.float64))),
              "slant_range": ("range", r.copy()),
              "valid_first_sample": ("azimuth", np.concatenate(fvs_out).astype(np.int32)),
              "valid_last_sample": ("azimuth", np.concatenate(lvs_out).astype(np.int32))}
    attrs = {"deburst_lines": json.dumps(used), "deburst_max_time_residual_lines": resid}
    return xr.DataArray(data, dims=("azimuth", "range"), coords=coords, name=arrs[0].name, attrs=attrs)


def merge_subswaths(swaths: Sequence[xr.DataArray], names: Sequence[str] | None = None, *,
                    tolerance: float = 0.01) -> xr.DataArray:
    """Debursted subswaths (any order) on one regular (azimuth time, slant range) grid (module docstring).

    ``attrs["merge_columns"]`` (JSON): name -> [first, end) output columns taken from it.
    """
    if not swaths:
        raise ValueError("merge: no subswaths")
    order = sorted(range(len(swaths)), key=lambda i: float(swaths[i]["slant_range"].values[0]))
    arrs = [swaths[i] for i in order]
    labels = [names[i] for i in order] if names is not None else [f"s{i}" for i in range(len(arrs))]
    dt = _axis_step(np.asarray(arrs[0]["azimuth_time"].values), f"merge {labels[0]} azimuth_time")
    dr = _axis_step(np.asarray(arrs[0]["slant_range"].values), f"merge {labels[0]} slant_range")
    for a, lab in zip(arrs, labels):
        if not np.isclose(_axis_step(np.asarray(a["azimuth_time"].values), lab), dt, rtol=1e-9, atol=0):
            raise ValueError(f"merge: {lab} has another line interval than {labels[0]}")
        if not np.isclose(_axis_step(np.asarray(a["slant_range"].values), lab), dr, rtol=1e-9, atol=0):
            raise ValueError(f"merge: {lab} has another range spacing than {labels[0]}")
    t_first = np.array([float(a["azimuth_time"].values[0]) for a in arrs])
    r_first = np.array([float(a["slant_range"].values[0]) for a in arrs])
    t0, r0 = float(t_first.min()), float(r_first.min())
    row0 = _lattice(t_first, t0, dt, tolerance, "merge azimuth")
    col0 = _lattice(r_first, r0, dr, tolerance, "merge range")
    n_rows = int(max(s + a.sizes["azimuth"] for s, a in zip(row0, arrs)))
    n_cols = int(max(c + a.sizes["range"] for c, a in zip(col0, arrs)))
    # narrowest valid window of each subswath, in output columns
    near, far = [], []
    for a, c in zip(arrs, col0):
        f = np.asarray(a["valid_first_sample"].values)
        last = np.asarray(a["valid_last_sample"].values)
        ok = f >= 0
        near.append(int(c + (f[ok].max() if ok.any() else 0)))
        far.append(int(c + (last[ok].min() if ok.any() else a.sizes["range"] - 1)))
    c_lo = [int(c) for c in col0]
    c_hi = [int(c + a.sizes["range"]) for c, a in zip(col0, arrs)]
    for s in range(len(arrs) - 1):
        if near[s + 1] <= far[s]:
            cut = (near[s + 1] + far[s] + 1) // 2
        else:
            cut = near[s + 1]
        c_hi[s] = min(c_hi[s], cut)
        c_lo[s + 1] = max(c_lo[s + 1], cut)
    dtype = np.result_type(*[a.dtype for a in arrs])
    fill = fill_value(dtype)
    cols, used, cursor = [], {}, 0
    for s, a in enumerate(arrs):
        if c_hi[s] <= c_lo[s]:
            continue
        if c_lo[s] > cursor:
            cols.append(da.full((n_rows, c_lo[s] - cursor), fill, dtype=dtype))
        src = a.data if isinstance(a.data, da.Array) else da.from_array(np.asarray(a.data))
        part = src[:, c_lo[s] - int(col0[s]): c_hi[s] - int(col0[s])].astype(dtype)
        top, bottom = int(row0[s]), n_rows - int(row0[s]) - a.sizes["azimuth"]
        blocks = []
        if top:
            blocks.append(da.full((top, part.shape[1]), fill, dtype=dtype))
        blocks.append(part)
        if bottom:
            blocks.append(da.full((bottom, part.shape[1]), fill, dtype=dtype))
        cols.append(da.concatenate(blocks, axis=0) if len(blocks) > 1 else part)
        used[labels[s]] = [c_lo[s], c_hi[s]]
        cursor = c_hi[s]
    if cursor < n_cols:
        cols.append(da.full((n_rows, n_cols - cursor), fill, dtype=dtype))
    data = da.concatenate(cols, axis=1)
    coords = {"azimuth_time": ("azimuth", t0 + dt * np.arange(n_rows, dtype=np.float64)),
              "slant_range": ("range", r0 + dr * np.arange(n_cols, dtype=np.float64))}
    return xr.DataArray(data, dims=("azimuth", "range"), coords=coords, name=arrs[0].name,
                        attrs={"merge_columns": json.dumps(used)})


def burst_swath(key: str) -> str:
    """The subswath of a burst key (``IW1-b3`` -> ``IW1``)."""
    return key.rsplit("-b", 1)[0]


def merge_bursts(bursts: Mapping[str, xr.Dataset], variables: Sequence[str] | None = None) -> xr.Dataset:
    """Bursts (keyed ``IW1-b3`` ..., each a Dataset on its own burst grid with the valid-sample
    coordinates) debursted per subswath and merged into one grid, every variable alike.

    ``attrs["tops_layout"]`` (JSON): per burst, its subswath and the output rows ``[first, end)``
    and columns ``[first, end)`` its pixels fill (its share of the overlaps included).
    """
    if not bursts:
        raise ValueError("merge_bursts: no bursts")
    names = list(variables) if variables is not None else [str(v) for v in next(iter(bursts.values())).data_vars]
    # the coordinates (small) read once, not by every variable's deburst
    bursts = {k: ds.assign_coords({c: ds[c].compute() for c in ds.coords}) for k, ds in bursts.items()}
    swaths: dict[str, list[str]] = {}
    for key in bursts:
        swaths.setdefault(burst_swath(key), []).append(key)
    out: dict[str, xr.DataArray] = {}
    layout: dict[str, dict] = {}
    for name in names:
        per_swath, used_lines = [], {}
        for sw, keys in swaths.items():
            d = deburst([bursts[k][name] for k in keys], keys)
            used_lines[sw] = (d, json.loads(d.attrs["deburst_lines"]))
            per_swath.append(d)
        merged = merge_subswaths(per_swath, list(swaths))
        if not layout:
            t = np.asarray(merged["azimuth_time"].values)
            dt = float(t[1] - t[0]) if len(t) > 1 else 1.0
            cols = json.loads(merged.attrs["merge_columns"])
            for sw, (d, lines) in used_lines.items():
                row0 = int(round((float(d["azimuth_time"].values[0]) - float(t[0])) / dt))
                for k, (a, b) in lines.items():
                    layout[k] = {"swath": sw, "rows": [row0 + a, row0 + b], "columns": cols.get(sw, [0, 0])}
        merged.attrs = dict(next(iter(bursts.values()))[name].attrs)
        out[name] = merged
    return xr.Dataset(out, attrs={"tops_layout": json.dumps(layout)})
