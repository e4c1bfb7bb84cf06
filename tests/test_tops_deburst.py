"""Deburst and subswath merge: a field known per pixel (its own azimuth time and slant range) on the
real burst timing of the S1B IW1/IW2 annotations lands exactly where its coordinates say."""

from __future__ import annotations

import json

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from daskinsar.bursts import tops_parameters
from daskinsar.io.sentinel1 import tops_metadata
from daskinsar.stages.deburst import deburst, merge_subswaths

N_RG = 64


@pytest.fixture(scope="module")
def tops_vh(data_dir):
    return tops_metadata(str(next((data_dir / "sentinel1_safe").glob("S1B_IW_SLC__*.SAFE"))), polarization="VH")


def _field(t, r):
    """A value that tells where it came from: azimuth time (s) and slant range (m)."""
    return t * 1000.0 + (r - 8.0e5) * 1e-3


def _burst(b, c0: int, n: int, chunks, complex_=False):
    """A burst's real line times and valid lines, on ``n`` range samples from ``c0`` of its grid,
    valid from sample 3 to n - 4, holding _field of its own coordinates."""
    t = b.azimuth_time
    r = b.slant_range[c0:c0 + n]
    fv = np.asarray(b.data["valid_first_sample"].values)
    f = np.where(fv >= 0, 3, -1).astype(np.int32)
    last = np.where(fv >= 0, n - 4, -1).astype(np.int32)
    v = _field(t[:, None], r[None, :])
    if complex_:
        v = np.exp(1j * v).astype(np.complex64)
    return xr.DataArray(da.from_array(v, chunks=chunks), dims=("azimuth", "range"),
                        coords={"azimuth_time": ("azimuth", t), "slant_range": ("range", r),
                                "valid_first_sample": ("azimuth", f), "valid_last_sample": ("azimuth", last)})


def _check_placed(out: xr.DataArray):
    t = out["azimuth_time"].values[:, None]
    r = out["slant_range"].values[None, :]
    v = out.values
    ok = np.isfinite(v)
    dt = float(np.diff(out["azimuth_time"].values[:2])[0])
    err_lines = np.abs(v - _field(t, r))[ok] / (1000.0 * dt)  # the range term is exact; time error in lines
    return ok, err_lines


def test_deburst_places_every_line_by_its_time(tops_vh):
    bursts = tops_vh.swath_bursts("IW1")
    keys = [tops_parameters(b).key for b in bursts]
    out = deburst([_burst(b, 0, N_RG, (256, 32)) for b in bursts[::-1]], keys[::-1])  # any order
    ok, err = _check_placed(out)
    print(f"IW1 deburst: {out.shape[0]} lines, max placement error {err.max():.5f} lines")
    assert err.max() < 0.001  # the bursts' sub-microsecond rounding off the line lattice
    # valid lines: from the first burst's first valid line to the last burst's last valid line,
    # every line filled (valid samples 3 .. n - 4), nothing outside the windows
    p0, p8 = tops_parameters(bursts[0]), tops_parameters(bursts[-1])
    t_first = p0.first_line_time_s + p0.valid_first_line * p0.line_interval_s
    t_last = p8.first_line_time_s + p8.valid_last_line * p8.line_interval_s
    assert out["azimuth_time"].values[0] == pytest.approx(t_first, abs=1e-9)
    assert out["azimuth_time"].values[-1] == pytest.approx(t_last, abs=1e-6)
    assert ok[:, 3:N_RG - 3].all() and not ok[:, :3].any() and not ok[:, N_RG - 3:].any()
    # joins at the middle of each valid overlap
    lines = json.loads(out.attrs["deburst_lines"])
    t0 = out["azimuth_time"].values[0]
    for a, b in zip(bursts[:-1], bursts[1:]):
        pa, pb = tops_parameters(a), tops_parameters(b)
        start = (pb.first_line_time_s + pb.valid_first_line * pb.line_interval_s - t0) / pa.line_interval_s
        end = (pa.first_line_time_s + pa.valid_last_line * pa.line_interval_s - t0) / pa.line_interval_s
        cut = lines[pb.key][0]
        assert lines[pa.key][1] == cut and abs(cut - 0.5 * (start + end + 1)) <= 0.501
    names = {k[0] for k in out.data.__dask_graph__() if isinstance(k, tuple)}
    assert {f"deburst-{k}" for k in keys} <= {n.rsplit("-", 1)[0] for n in names}


def test_deburst_chunking_does_not_change_the_result(tops_vh):
    bursts = tops_vh.swath_bursts("IW2")
    a = deburst([_burst(b, 0, N_RG, (256, 32), complex_=True) for b in bursts]).values
    b = deburst([_burst(b, 0, N_RG, (97, 64), complex_=True) for b in bursts]).values
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.complex64 and np.count_nonzero(a == 0) > 0  # complex fill is 0


def test_merge_places_subswaths_on_one_grid(tops_vh):
    """IW1's far edge and IW2's near edge (IW2's first sample is IW1's sample 19901 on the real timing):
    one regular grid, each value where its time and range say, cut at the middle of the valid overlap."""
    iw1 = deburst([_burst(b, 19840, 120, (512, 60)) for b in tops_vh.swath_bursts("IW1")])
    iw2 = deburst([_burst(b, 0, 100, (512, 50)) for b in tops_vh.swath_bursts("IW2")])
    out = merge_subswaths([iw2, iw1], ["IW2", "IW1"])
    ok, err = _check_placed(out)
    print(f"merge: {out.shape}, max placement error {err.max():.5f} lines")
    assert err.max() < 0.001
    dr = float(np.diff(out["slant_range"].values[:2])[0])
    assert out["slant_range"].values[0] == iw1["slant_range"].values[0]
    assert np.allclose(np.diff(out["slant_range"].values), dr, rtol=0, atol=1e-6)
    cols = json.loads(out.attrs["merge_columns"])
    # IW1 valid to its sample 116 (output 116), IW2 valid from its sample 3 (output 19901 - 19840 + 3 = 64)
    assert cols["IW1"][1] == cols["IW2"][0] == (64 + 116 + 1) // 2
    # IW2 starts 882 lines before IW1 (real timing): those lines hold IW2 only, right of the cut
    t_out = out["azimuth_time"].values
    first_iw1 = int(round((iw1["azimuth_time"].values[0] - t_out[0]) / (t_out[1] - t_out[0])))
    assert first_iw1 > 800 and not ok[:first_iw1, :90].any() and ok[:first_iw1, 90:158].all()
    assert ok[first_iw1:first_iw1 + 100, 3:158].all()
    c = merge_subswaths([iw1.chunk({"azimuth": 333}), iw2.chunk({"azimuth": 1000})], ["IW1", "IW2"]).values
    np.testing.assert_array_equal(np.nan_to_num(c, nan=-1), np.nan_to_num(out.values, nan=-1))


def test_off_lattice_bursts_are_refused(tops_vh):
    bs = [_burst(b, 0, N_RG, (256, 32)) for b in tops_vh.swath_bursts("IW1")[:2]]
    dt = float(np.diff(bs[1]["azimuth_time"].values[:2])[0])
    bs[1] = bs[1].assign_coords(azimuth_time=bs[1]["azimuth_time"] + 0.3 * dt)
    with pytest.raises(ValueError, match="off the common lattice"):
        deburst(bs)
