"""Raw echoes of distributed scenes (daskinsar.simulate.raw) and phase preservation of focusing.

Truth: the SLC simulator's own SLCs (the raw echoes must focus back to them), its point-target
prediction (geo2rdr position and phase -4 pi R / lambda) and its interferometric phase truth.
The focuser is the project's range-Doppler processor (daskinsar.stages.focus.focus) with its
default parameters: everything it needs comes from the raw stores' metadata.

Valid region: the SLC grid without a border of 16 pixels: within ~16 samples of the SLC's near
and far range edges the round trip error grows to ~1.5e-2 (the hard range edges of the SLC carry
content near the range Nyquist frequency, which the focuser's 16-tap RCMC interpolator passes
only partly); the azimuth edges come back to the interior accuracy.
"""

from __future__ import annotations

import json

import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr

from daskinsar.io.store import open_scene
from daskinsar.quality import point_target_analysis
from daskinsar.scene import Chirp
from daskinsar.simulate.presets import preset
from daskinsar.simulate.raw import slc_to_raw, slc_window
from daskinsar.stages.focus import FocusParams, focus
from daskinsar.stages.resample import resample_slc

BORDER = 16


def _wrap(x):
    return np.angle(np.exp(1j * x))


def _mask(shape, targets=(), border: int = BORDER, box: int = 48) -> np.ndarray:
    """The valid region: ``border`` pixels off the edges, without a box around the bright point
    targets (their peak and sinc side lobes would dominate the statistics)."""
    m = np.zeros(shape, bool)
    m[border:shape[0] - border, border:shape[1] - border] = True
    for row, col in targets:
        m[max(int(row) - box, 0):int(row) + box + 1, max(int(col) - box, 0):int(col) + box + 1] = False
    return m


def _errors(out: np.ndarray, ref: np.ndarray, targets=(), border: int = BORDER) -> dict:
    """Relative rms / max error (to the rms of the SLC) and phase rms (rad, where |SLC| > 0.1 rms)
    over the valid region."""
    m = _mask(ref.shape, targets, border)
    o, r = out[m], ref[m]
    rms = np.sqrt(np.mean(np.abs(r) ** 2))
    good = np.abs(r) > 0.1 * rms
    return {"rel_rms": float(np.sqrt(np.mean(np.abs(o - r) ** 2)) / rms),
            "rel_max": float(np.max(np.abs(o - r)) / rms),
            "phase_rms": float(np.sqrt(np.mean(np.angle(o[good] * np.conj(r[good])) ** 2))),
            "pixels": int(m.sum())}


def _targets(pair, role):
    return [(t.reference_row, t.reference_col) if role == "reference" else (t.secondary_row, t.secondary_col)
            for t in pair.model.targets]


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    from daskinsar.simulate import simulate_pair

    out = tmp_path_factory.mktemp("simraw") / "small"
    # the small preset at a PRF of 1500 Hz: the synthetic aperture of the whole PRF band is
    # (PRF^2 lambda R / 2 V_r^2) ~ 4400 pulses instead of ~9200 at 2160 Hz, for speed
    return simulate_pair(preset("small", prf_hz=1500.0), out, chunks=128, level="raw")


@pytest.fixture(scope="module")
def focused(pair):
    """Each raw store focused with default parameters, cut to its SLC grid, with the SLC."""
    res = {}
    with dask.config.set(scheduler="threads"):
        for role, raw_url, slc_url in (("reference", pair.reference_raw, pair.reference),
                                       ("secondary", pair.secondary_raw, pair.secondary)):
            raw = open_scene(raw_url)
            slc = open_scene(slc_url)
            foc = focus(raw, FocusParams(doppler="metadata"))
            sa, sr = slc_window(raw)
            res[role] = dict(raw=raw, slc=slc, foc=foc, sa=sa, sr=sr,
                             out=foc.data["slc"].data[sa, sr].compute(), ref=slc.data["slc"].values)
    return res


def test_simulate_pair_writes_raw_stores(pair, focused):
    info = json.loads(open(pair.config_json).read())
    assert info["level"] == "raw" and set(info["raw"]) == {"reference", "secondary"}
    for role in ("reference", "secondary"):
        raw, slc = focused[role]["raw"], focused[role]["slc"]
        m = raw.meta
        assert m.level == "raw" and "raw" in raw.data and m.chirp == slc.meta.chirp
        assert m.prf_hz == pytest.approx(1.0 / slc.meta.azimuth_line_interval_s)
        # pulses on the SLC's line grid, range gate on its sample grid, extended by aperture and chirp
        t, r = raw.azimuth_time, raw.slant_range
        sa, sr = focused[role]["sa"], focused[role]["sr"]
        np.testing.assert_allclose(t[sa], slc.azimuth_time, rtol=0, atol=1e-9)
        np.testing.assert_allclose(r[sr], slc.slant_range, rtol=0, atol=1e-6)
        n_chirp = m.chirp.duration_s * m.range_sampling_rate_hz
        assert r.size - sr.stop > n_chirp
        assert info["raw"][role]["slc_first_line"] == sa.start
        # the synthetic aperture of the processed band (the PRF) at far range: PRF / K_a
        ka = 2.0 * 7100.0**2 / (m.wavelength_m * r[-1])
        assert sa.start > 0.45 * m.prf_hz / ka * m.prf_hz
    # the SLC stores and the truth are still there
    assert open_scene(pair.reference).meta.level == "slc"
    assert "flat_topo_phase" in xr.open_zarr(pair.truth, consolidated=False)


@pytest.mark.parametrize("role", ["reference", "secondary"])
def test_round_trip_focus_of_raw_equals_slc(pair, focused, role):
    """focus(slc_to_raw(slc)) == slc over the valid region: relative rms < 1e-3 (reference) / 2e-3
    (secondary), phase rms < 0.01 rad. The secondary's range spectrum is shifted by the flat-earth
    and topographic fringe rates up to the range Nyquist frequency, where the focuser's 16-tap RCMC
    interpolator loses up to 70 % at half-sample offsets: the inverse restores it only partly."""
    f = focused[role]
    e = _errors(f["out"], f["ref"], _targets(pair, role))
    print(role, e)
    assert e["rel_rms"] < (1e-3 if role == "reference" else 2e-3), e
    assert e["phase_rms"] < 0.01 and e["rel_max"] < 2e-2, e
    # the whole grid, edges included, stays within 1 %
    e0 = _errors(f["out"], f["ref"], _targets(pair, role), border=0)
    print(role, "whole grid", e0)
    assert e0["rel_rms"] < 1e-2
    # focused output outside the SLC grid is (nearly) empty: no ghost of the scene
    full = f["foc"].data["slc"].data
    before = full[f["sa"], : f["sr"].start - 8].compute()
    assert np.sqrt(np.mean(np.abs(before) ** 2)) < 0.02 * np.sqrt(np.mean(np.abs(f["ref"]) ** 2))


def test_point_target_position_and_phase(pair, focused):
    """The bright scatterer of the small preset, focused from raw: at its geo2rdr position (< 0.05 px)
    with phase -4 pi R / lambda (< 0.05 rad), like in the simulator's SLC."""
    tg = pair.model.targets[0]
    out = focused["reference"]["out"]
    q = point_target_analysis(out, (tg.reference_row, tg.reference_col))
    assert abs(q.azimuth_px - tg.reference_row) < 0.05 and abs(q.range_px - tg.reference_col) < 0.05
    assert abs(_wrap(q.phase_rad - tg.phase_rad)) < 0.05


def test_interferogram_phase_is_preserved(pair, focused):
    """Interferogram of the focused raw pair == interferogram of the simulator's SLCs (secondary
    resampled with the truth offsets, both ways the same), within 0.05 rad rms over coherent pixels;
    and it agrees with the phase truth."""
    truth = xr.open_zarr(pair.truth, consolidated=False).load()
    az_off = da.from_array(truth["azimuth_offset"].values.astype(np.float64), chunks=128)
    rg_off = da.from_array(truth["range_offset"].values.astype(np.float64), chunks=128)
    ref_f, ref_s = focused["reference"]["out"], focused["reference"]["ref"]
    sec_f, sec_s = focused["secondary"]["out"], focused["secondary"]["ref"]
    res_f, flag = resample_slc(sec_f, az_off, rg_off)
    res_s, _ = resample_slc(sec_s, az_off, rg_off)
    res_f, res_s, flag = dask.compute(res_f, res_s, flag)
    ifg_f = ref_f * np.conj(res_f)
    ifg_s = ref_s * np.conj(res_s)
    b = BORDER + 8  # the secondary's valid region seen on the reference grid (offsets of a few pixels)
    sl = (slice(b, -b), slice(b, -b))
    amp = np.abs(ifg_s[sl])
    coh = (truth["coherence"].values[sl] > 0.5) & ~flag[sl] & (amp > 0.05 * np.median(amp))
    d = np.angle(ifg_f[sl] * np.conj(ifg_s[sl]))[coh]
    rms = float(np.sqrt(np.mean(d**2)))
    print("interferogram phase difference rms (rad):", rms, "pixels:", d.size)
    assert coh.sum() > 0.5 * coh.size
    assert rms < 0.05
    # against the phase truth: the residual's circular mean is 0 (its spread is the speckle noise
    # of coherence 0.9) for both, and equal for both
    phi = (truth["flat_topo_phase"] + truth["deformation_phase"] + truth["tropo_phase"]).values[sl]
    for ifg in (ifg_f, ifg_s):
        z = ifg[sl] * np.exp(-1j * phi)
        assert abs(np.angle(np.mean(z[coh] / np.abs(z[coh])))) < 0.05


def _crop(scene, n_az):
    return scene.with_data(scene.data.isel(azimuth=slice(0, n_az)))


def test_slc_to_raw_does_not_depend_on_chunking(pair):
    slc = _crop(open_scene(pair.reference), 96)
    small = slc.with_data(slc.data.chunk({"azimuth": 40, "range": 70}))
    big = slc.with_data(slc.data.chunk({"azimuth": -1, "range": -1}))
    a = slc_to_raw(small, range_columns_per_block=1, range_lines_per_block=1500).data["raw"].data
    b = slc_to_raw(big, range_columns_per_block=4096, range_lines_per_block=100000).data["raw"].data
    def n_az_tasks(x):
        return sum(1 for k in dict(x.__dask_graph__()) if str(k[0]).startswith("slc-to-raw-azimuth"))

    assert n_az_tasks(a) > 1 and n_az_tasks(b) == 1
    assert len(a.chunks[0]) > len(b.chunks[0]) == 1
    with dask.config.set(scheduler="threads"):
        a, b = dask.compute(a, b)
    assert a.shape == b.shape
    assert np.max(np.abs(a - b)) < 1e-5 * np.sqrt(np.mean(np.abs(b) ** 2))


def test_squinted_raw_with_azimuth_weighting(pair):
    """Doppler centroid -500 Hz (the SLC's spectrum centred there) and Kaiser azimuth weighting:
    RCMC, Doppler unwrapping and the weighting are inverted as well."""
    slc = _crop(open_scene(pair.reference), 128)
    fdc = -500.0
    carrier = np.exp(2j * np.pi * fdc * slc.azimuth_time)[:, None].astype(np.complex64)
    ref = slc.data["slc"].values * carrier
    slc = slc.with_data(slc.data.assign(slc=(("azimuth", "range"), da.from_array(ref, chunks=(64, 128)))))
    fp = FocusParams(doppler="metadata", azimuth_window="kaiser")
    raw = slc_to_raw(slc, doppler=fdc, focus_params=fp)
    assert raw.meta.doppler_centroid(0.0, raw.slant_range[:1])[0] == fdc
    with dask.config.set(scheduler="threads"):
        raw = raw.with_data(raw.data.copy(data={"raw": raw.data["raw"].data.persist()}))
        sa, sr = slc_window(raw)
        out = focus(raw, fp).data["slc"].data[sa, sr].compute()
    e = _errors(out, ref, _targets(pair, "reference"))
    print("squinted", e)
    assert e["rel_rms"] < 1e-3 and e["phase_rms"] < 0.01, e


def test_bad_inputs_are_refused(pair):
    slc = open_scene(pair.reference)
    with pytest.raises(ValueError, match="prf_hz"):
        slc_to_raw(slc, prf_hz=1000.0)
    with pytest.raises(ValueError, match="range_sampling_rate_hz"):
        slc_to_raw(slc, range_sampling_rate_hz=20e6)
    with pytest.raises(ValueError, match="zero-Doppler"):
        slc_to_raw(slc.__class__(slc.data, slc.meta.model_copy(update={"grid": "native_doppler"}), slc.orbit))
    with pytest.raises(ValueError, match="chirp"):
        slc_to_raw(slc.__class__(slc.data, slc.meta.model_copy(update={"chirp": None}), slc.orbit))
    with pytest.raises(ValueError, match="secondary range compression"):
        slc_to_raw(slc, focus_params=FocusParams(secondary_range_compression=True))
    assert slc_to_raw(slc, chirp=Chirp(slope_hz_per_s=-1e12, duration_s=10e-6)).meta.chirp.slope_hz_per_s == -1e12
