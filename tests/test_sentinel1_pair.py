"""The real Sentinel-1 Amsterdam pair (SNAP-coregistered, Zarr v2) through interferogram,
coherence and the Goldstein filter."""

import json

import numpy as np
import pytest
import zarr

from daskinsar.errors import InputFileError
from daskinsar.geometry.ellipsoid import SPEED_OF_LIGHT
from daskinsar.io.snap_zarr import open_snap_pair
from daskinsar.scene import meta_from_attrs
from daskinsar.stages.coherence import coherence, coherence_from_slcs
from daskinsar.stages.filter import goldstein
from daskinsar.stages.interferogram import ground_range_spacing, interferogram, looks_from_posting


@pytest.fixture(scope="module")
def pair(data_dir):
    return open_snap_pair(data_dir / "sentinel1_pair_amsterdam")


def test_reader_grid_and_metadata(pair, data_dir):
    ref, sec, geo = pair
    assert ref.shape == sec.shape == (84, 338)
    assert ref.dtype == np.complex64
    assert (geo.attrs["reference_date"], geo.attrs["secondary_date"]) == ("2023-03-19", "2023-03-31")
    assert geo.attrs["temporal_baseline_days"] == 12.0
    meta = meta_from_attrs(geo.attrs)
    assert meta.wavelength_m == pytest.approx(SPEED_OF_LIGHT / 5.405e9, rel=1e-6)
    assert meta.look_side == "right"
    # slant range from Abstracted_Metadata agrees with SNAP's slant-range-time tie-point grid
    tp = zarr.open_array(store=str(data_dir / "sentinel1_pair_amsterdam/20230331-coreg.znap/slant_range_time"),
                         mode="r", zarr_format=2)
    t_ns = np.asarray(tp[0, :2], dtype=np.float64)
    x = (np.arange(338) - tp.attrs["offset_x"]) / tp.attrs["subsampling_x"]
    r_tp = SPEED_OF_LIGHT / 2 * 1e-9 * (t_ns[0] + x * (t_ns[1] - t_ns[0]))
    assert np.max(np.abs(r_tp - ref["slant_range"].values)) < 0.2  # float32 ns grid: ~0.08 m
    # geometry over Amsterdam
    lat, lon = geo["latitude"].values, geo["longitude"].values
    assert 52.36 < lat.min() and lat.max() < 52.38 and 4.88 < lon.min() and lon.max() < 4.91
    assert 41 < geo["incidence_angle"].values.min() and geo["incidence_angle"].values.max() < 46
    # the orbit covers the scene's azimuth times
    assert geo["orbit_time"].values[0] < 0 < 0.2 < geo["orbit_time"].values[-1]
    # the SNAP metadata says the same line count
    md = json.loads((data_dir / "sentinel1_pair_amsterdam/20230319-coreg.znap/SNAP/product_metadata.json").read_text())
    am = {a["name"]: a["data"]["elems"] for a in md[0]["attributes"]}
    assert am["num_output_lines"][0] == 84


def test_interferogram_coherence_and_filter(pair):
    ref, sec, geo = pair
    meta = meta_from_attrs(geo.attrs)
    # insarApp's look rule at 15 m posting: 13.9 m azimuth, ~3.4 m ground range -> (1, 4)
    inc = float(geo["incidence_angle"].values.mean())
    looks = looks_from_posting(15.0, meta.extra["azimuth_spacing_m"], ground_range_spacing(meta.range_spacing_m, inc))
    assert looks == (1, 4)

    # full-resolution coherence, 5 x 15 window (the data's documented median is about 0.8)
    coh = coherence_from_slcs(ref, sec, (5, 15)).values
    med = float(np.median(coh))
    print(f"Amsterdam pair: median coherence (5x15) = {med:.3f}")
    assert 0.7 < med < 0.9
    assert np.all((coh >= 0) & (coh <= 1))

    # multilooked products, coherence over a 5 x 5 window of 1 x 3 looks (75 SLC pixels)
    ds = interferogram(ref, sec, looks=(1, 3))
    coh_ml = coherence(ds["ifg"], ds["power_reference"], ds["power_secondary"], (5, 5)).values
    assert ds["ifg"].shape == (84, 112)
    assert abs(float(np.median(coh_ml)) - med) < 0.05

    # Goldstein filter of the full-resolution interferogram
    ifg = interferogram(ref, sec, looks=(1, 1))["ifg"]
    filt = goldstein(ifg.chunk({"azimuth": 42, "range": 169}), alpha=0.5, psize=32).values
    raw = ifg.values
    assert np.all(np.isfinite(filt))

    def grad_var(z):
        d_rg = np.angle(z[:, 1:] * np.conj(z[:, :-1]))
        d_az = np.angle(z[1:, :] * np.conj(z[:-1, :]))
        return np.var(d_rg), np.var(d_az)

    vr0, va0 = grad_var(raw)
    vr1, va1 = grad_var(filt)
    print(f"phase-gradient variance range/azimuth: raw {vr0:.3f}/{va0:.3f}, filtered {vr1:.3f}/{va1:.3f} rad^2")
    assert vr1 < 0.5 * vr0 and va1 < 0.5 * va0
    # the filter keeps the fringes: where coherence is high, filtered and raw phase agree on average
    good = coh > 0.8
    dphi = np.angle(filt[good] * np.conj(raw[good]))
    assert abs(np.angle(np.mean(np.exp(1j * dphi)))) < 0.05
    assert np.median(np.abs(dphi)) < 0.5
    # same filtered result for a single chunk
    whole = goldstein(ifg.chunk(-1), alpha=0.5, psize=32).values
    assert np.max(np.abs(np.angle(whole * np.conj(filt)))[np.abs(whole) > 1e-3 * np.median(np.abs(whole))]) < 1e-4


def test_bad_input_is_a_clear_error(tmp_path, data_dir):
    with pytest.raises(InputFileError, match="no such folder"):
        open_snap_pair(tmp_path / "missing")
    one = tmp_path / "one"
    one.mkdir()
    (one / "20230319-coreg.znap").symlink_to(data_dir / "sentinel1_pair_amsterdam/20230319-coreg.znap")
    with pytest.raises(InputFileError, match="exactly two SNAP .znap products"):
        open_snap_pair(one)
    fake = one / "bogus.znap"
    fake.mkdir()
    (fake / ".zgroup").write_text('{"zarr_format": 2}')
    with pytest.raises(InputFileError, match=r"bogus.znap: expected exactly one pair of i_"):
        open_snap_pair(one)
