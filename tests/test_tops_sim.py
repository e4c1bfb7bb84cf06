"""TOPS pairs simulated on real annotations (S1B IW1 2021, two bursts; the S1B IW3 burst pair of
2018/2019), read back through the Sentinel-1 reader: spectra, deramping, ESD, interferometric phase."""

from __future__ import annotations

import xml.etree.ElementTree as StdET

import dask.array as da
import numpy as np
import pytest

from daskinsar.bursts import TopsScene, tops_parameters
from daskinsar.errors import InputFileError
from daskinsar.io.sentinel1 import measurement_raster, read_sentinel1
from daskinsar.io.store import open_scene
from daskinsar.io.tops_store import is_tops_store, open_tops_scene
from daskinsar.simulate.presets import MogiSource, TroposphereConfig
from daskinsar.simulate.tops import TopsSimulationConfig, simulate_tops_pair
from daskinsar.stages import tops
from daskinsar.stages.esd import esd_combine, esd_overlap, overlap_lines
from daskinsar.stages.topo import SecondaryGeometry, topo_kernel

MISREGISTRATION_LINES = 0.003


@pytest.fixture(scope="module")
def esd_sim(data_dir, tmp_path_factory):
    safe = next((data_dir / "sentinel1_safe").glob("S1B_IW_SLC__*.SAFE"))
    cfg = TopsSimulationConfig(swath="IW1", polarization="VV", bursts=[3, 4], first_sample=10000, n_samples=256,
                               azimuth_misregistration_lines=MISREGISTRATION_LINES, seed=3)
    res = simulate_tops_pair(safe, tmp_path_factory.mktemp("tops_esd"), cfg)
    return safe, res, read_sentinel1(str(res.reference)), read_sentinel1(str(res.secondary))


@pytest.fixture(scope="module")
def pair_sim(data_dir, tmp_path_factory):
    ref, sec = sorted((data_dir / "sentinel1_burst_pair").glob("*.SAFE"))
    cfg = TopsSimulationConfig(swath="IW3", first_sample=12000, n_samples=256, seed=5,
                               deformation=[MogiSource(depth_m=2000.0, volume_change_m3=2e6)],
                               troposphere=TroposphereConfig(turbulence_std_rad=0.3, stratified_rad_per_km=0.5))
    res = simulate_tops_pair(ref, tmp_path_factory.mktemp("tops_pair"), cfg, secondary_safe=sec)
    return res, read_sentinel1(str(res.reference)), read_sentinel1(str(res.secondary))


def _coregister(rb, sb, rows, dem, shift_lines=0.0, chunks=(512, 256)):
    """Geometric coregistration of reference lines ``rows`` (geo2rdr of rdr2geo on the DEM into the
    secondary burst), minus ``shift_lines``; the deramped secondary resampled and reramped.
    Returns (resampled secondary, geometric phase rad, azimuth offset px, range offset px)."""
    sp = tops_parameters(sb)
    r0, dr = float(sb.slant_range[0]), float(sb.slant_range[1] - sb.slant_range[0])
    geo = SecondaryGeometry(sb.orbit, float(sb.azimuth_time[0]), sp.line_interval_s, r0, dr)
    f = topo_kernel(rb.azimuth_time[rows], rb.slant_range, orbit=rb.orbit, wavelength_m=rb.meta.wavelength_m,
                    look_side="right", dem=dem, secondary=geo)
    az = f[5] - np.arange(f.shape[1])[:, None] - shift_lines
    rg = f[6] - np.arange(f.shape[2])[None, :]
    out, _ = tops.resample_burst(sb.data["slc"].data, sp, r0, dr, da.from_array(az, chunks=chunks),
                                 da.from_array(rg, chunks=chunks))
    return out.compute(), f[7], az, rg


def test_simulated_product_reads_through_the_real_reader(esd_sim):
    src_safe, res, ref, sec = esd_sim
    assert isinstance(ref, TopsScene) and ref.keys == sec.keys == ["IW1-b0", "IW1-b1"]
    assert res.pairs == [("IW1-b0", "IW1-b0"), ("IW1-b1", "IW1-b1")]
    src = StdET.parse(next((src_safe / "annotation").glob("s1b-iw1-slc-vv-*.xml"))).getroot()
    out = StdET.parse(res.extra["reference_annotation"]).getroot()
    # the real annotation, cropped: orbit, estimates, timing of the kept bursts are the source's
    for path in ("generalAnnotation/orbitList", "generalAnnotation/azimuthFmRateList", "dopplerCentroid/dcEstimateList"):
        assert StdET.tostring(src.find(path)) == StdET.tostring(out.find(path))
    sb, ob = src.findall("swathTiming/burstList/burst"), out.findall("swathTiming/burstList/burst")
    assert [b.findtext("azimuthTime") for b in ob] == [sb[k].findtext("azimuthTime") for k in (3, 4)]
    fv_src = np.array([int(x) for x in sb[3].findtext("firstValidSample").split()])
    fv_out = np.array([int(x) for x in ob[0].findtext("firstValidSample").split()])
    assert np.array_equal(fv_out, np.where(fv_src >= 0, 0, -1))  # the crop lies inside the valid window
    assert out.findtext("imageAnnotation/imageInformation/numberOfSamples") == "256"
    # the TIFF holds burst k at its lines; no data outside valid lines
    raster = measurement_raster(str(res.reference)).data["slc"].values
    for k, b in enumerate(ref.bursts):
        x = b.data["slc"].values
        assert np.array_equal(raster[k * 1501:(k + 1) * 1501], x)
        p = tops_parameters(b)
        assert not x[:p.valid_first_line].any() and not x[p.valid_last_line + 1:].any()
        assert np.all(x[p.valid_first_line:p.valid_last_line + 1] != 0)
        assert p.burst_id == 359498 + 3 + k  # the source bursts' IDs (IW1 b0 is 359498)


def test_deramped_bursts_are_baseband_and_raw_ones_sweep(esd_sim):
    """The simulated bursts carry the TOPS azimuth spectrum: its centroid sweeps along the burst at the
    rate k_t predicted from the orbit geometry; deramping with the annotation centres it on 0."""
    _, _, ref, sec = esd_sim
    for b in ref.bursts + sec.bursts:
        p = tops_parameters(b)
        x = b.data["slc"].values[p.valid_first_line:p.valid_last_line + 1]
        t = b.azimuth_time[p.valid_first_line:p.valid_last_line + 1]
        rate = 1.0 / p.line_interval_s
        f_d, rho_d = tops.azimuth_centroid_hz(tops.deramp(x, tops.deramp_phase(p, t[:, None], b.slant_range[None, :])),
                                              p.line_interval_s)
        f_r, rho_r = tops.azimuth_centroid_hz(x, p.line_interval_s)
        print(f"{p.key}: deramped centroid {f_d:+.2f} Hz (|rho| {rho_d:.2f}); raw |rho| {rho_r:.3f}")
        assert abs(f_d) < 0.02 * rate and rho_d > 0.3
        assert rho_r < 0.1 * rho_d  # without deramping the burst's spectrum is spread over all of [-rate/2, rate/2)
        # the local centroid along the burst (64-line blocks), unwrapped: slope = k_t of the geometry
        fc, tc = [], []
        for a in range(0, len(t) - 64, 64):
            fc.append(tops.azimuth_centroid_hz(x[a:a + 64], p.line_interval_s)[0])
            tc.append(t[a + 32])
        fc = np.unwrap(np.array(fc) * 2 * np.pi / rate) * rate / (2 * np.pi)
        slope = np.polyfit(tc, fc, 1)[0]
        pos, vel = b.orbit.interpolate(np.array([p.mid_time_s]))
        vs = np.linalg.norm(vel)
        vg = vs * 6.3675e6 / np.linalg.norm(pos)  # ground speed of the beam footprint
        ka = -2 * vs * vg / (p.wavelength_m * b.slant_range.mean())
        ks = p.steering_doppler_rate_hz_s
        kt_geometry = ka * ks / (ka - ks)
        assert abs(slope / kt_geometry - 1) < 0.02 and (fc[-1] - fc[0]) > 5 * rate


def _esd(ref, sec, pairs, dem, shift_lines=0.0):
    (rk0, sk0), (rk1, sk1) = pairs
    rb0, rb1, sb0, sb1 = ref.burst(rk0), ref.burst(rk1), sec.burst(sk0), sec.burst(sk1)
    fwd, bwd = overlap_lines(tops_parameters(rb0), tops_parameters(rb1))
    s0, g0, _, _ = _coregister(rb0, sb0, fwd, dem, shift_lines)
    s1, g1, _, _ = _coregister(rb1, sb1, bwd, dem, shift_lines)
    t, r = rb0.azimuth_time[fwd][:, None], rb0.slant_range[None, :]
    df = tops.local_doppler_hz(tops_parameters(rb0), t, r) - tops.local_doppler_hz(tops_parameters(rb1), t, r)
    e = esd_overlap(rb0.data["slc"].values[fwd], s0, rb1.data["slc"].values[bwd], s1, df,
                    tops_parameters(rb0).line_interval_s, flatten_fwd_rad=g0, flatten_bwd_rad=g1)
    return e, esd_combine([e], tops_parameters(rb0).line_interval_s)


def test_esd_recovers_the_misregistration(esd_sim):
    _, res, ref, sec = esd_sim
    e, total = _esd(ref, sec, res.pairs, res.dem)
    print(f"ESD: {e.misregistration_lines:.6f} +- {e.std_lines:.6f} lines (simulated {MISREGISTRATION_LINES}), "
          f"{e.n_cells} cells, coherence {e.mean_coherence:.2f}, Doppler difference {e.doppler_difference_hz:.0f} Hz")
    assert abs(e.misregistration_lines - MISREGISTRATION_LINES) < 0.0005
    assert total.misregistration_lines == pytest.approx(e.misregistration_lines)
    assert 4000 < e.doppler_difference_hz < 5500  # k_t x burst cycle
    # applying the estimate closes the loop
    again, _ = _esd(ref, sec, res.pairs, res.dem, shift_lines=e.misregistration_lines)
    print(f"ESD after the correction: {again.misregistration_lines:+.6f} lines")
    assert abs(again.misregistration_lines) < 0.0005


def test_interferogram_phase_is_the_truth(pair_sim):
    """The real pair's two dates: coregistered, deramped, resampled, reramped: ref x conj(sec) has the
    simulated flat-earth + topographic + deformation + tropospheric phase."""
    res, ref, sec = pair_sim
    (rk, sk), = res.pairs
    rb, sb = ref.burst(rk), sec.burst(sk)
    rows = slice(0, rb.shape[0])
    s_res, _, az, rg = _coregister(rb, sb, rows, res.dem)
    tr = res.truth[rk]
    assert np.nanmax(np.abs(az - tr.azimuth_offset.values)) < 1e-4 and np.nanmax(np.abs(rg - tr.range_offset.values)) < 1e-4
    x = rb.data["slc"].values
    truth = (tr.flat_topo_phase + tr.deformation_phase + tr.tropo_phase).values
    assert np.ptp(tr.deformation_phase.values) > 2 * np.pi  # the check sees several fringes of deformation
    resid = x * np.conj(s_res) * np.exp(-1j * truth)
    ok = (x != 0) & (s_res != 0)
    mean = resid[ok].mean()
    la, lr = 8, 16
    n_a, n_r = (x.shape[0] // la) * la, (x.shape[1] // lr) * lr
    ml = np.where(ok, resid, 0)[:n_a, :n_r].reshape(n_a // la, la, n_r // lr, lr).sum(axis=(1, 3))
    cells = np.angle(ml[np.abs(ml) > 0] * np.conj(mean))
    print(f"pair: ifg - truth: mean {np.angle(mean):+.4f} rad (|mean| {np.abs(mean) / np.abs(resid[ok]).mean():.2f}), "
          f"{la}x{lr}-look residual std {cells.std():.3f} rad")
    assert abs(np.angle(mean)) < 0.05 and cells.std() < 0.2
    # chunking of the resampling does not change it
    s2, _, _, _ = _coregister(rb, sb, rows, res.dem, chunks=(300, 100))
    np.testing.assert_array_equal(s2, s_res)


def test_ingest_and_info_of_an_iw_product(esd_sim, tmp_path):
    from typer.testing import CliRunner

    from daskinsar.cli import app

    _, res, ref, _ = esd_sim
    store = tmp_path / "ref.zarr"
    r = CliRunner().invoke(app, ["ingest", str(res.reference), "-o", str(store)])
    assert r.exit_code == 0, r.output
    assert "2 bursts in IW1" in r.output and is_tops_store(str(store))
    back = open_tops_scene(str(store))
    assert back.keys == ref.keys
    for a, b in zip(back.bursts, ref.bursts):
        assert np.array_equal(a.data["slc"].values, b.data["slc"].values)
        assert np.array_equal(a.azimuth_time, b.azimuth_time)
        assert tops_parameters(a) == tops_parameters(b)
        assert np.array_equal(a.data["valid_first_sample"].values, b.data["valid_first_sample"].values)
    info = CliRunner().invoke(app, ["info", str(store)])
    assert info.exit_code == 0 and "TOPS: 2 bursts" in info.output
    assert "IW1-b0" in info.output and "359501" in info.output and "359502" in info.output
    with pytest.raises(InputFileError, match="TOPS scene store"):
        open_scene(str(store))
    assert open_scene(str(store / "IW1-b1")).meta.extra["burst"] == "IW1-b1"
