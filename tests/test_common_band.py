"""Range and azimuth common-band filtering (daskinsar.stages.common_band, stages.bandpass), the pair check
on range bands, and mixed-mode pairs end to end.

Truth: simulated pairs with per-scene spectra (daskinsar.simulate.spectra: both SLCs from one ground
reflectivity, each through its own band), their truth (LOS displacement, the secondary's band centre in the
reference's frame), and coherence theory written down here, independent of the filter code:

- Two scenes seeing one white ground reflectivity through amplitude spectra ``H1(f)`` and ``H2(f)`` (on
  one frequency axis of ground wavenumbers) have the coherence ``g * int H1 H2 df / sqrt(int H1^2 int H2^2)``
  (``g`` temporal/thermal). For flat spectra of widths ``B1``, ``B2`` overlapping over ``C`` this is
  ``g C / sqrt(B1 B2)``; the simulated spectra (Kaiser-windowed sinc FIRs, ``band_response``) differ from
  flat ones only by their roll-off, so the expectation is computed with them.
- Range: the secondary's band is shifted by the geometric spectral shift ``-f0 B_perp / (R tan(theta))``
  (flat terrain; ``B_perp`` the perpendicular baseline, ``R`` the slant range, ``theta`` the incidence) and
  by the carrier difference ``f2 - f1``.
- Azimuth: the Doppler bands ``fdc_i -+ Ba/2`` overlap over ``Ba - |fdc2 - fdc1|``.
- After ideal filtering of both scenes to the common band the coherence is ``g``.
Coherence is measured over 16 x 16 windows of the multilooked interferogram,
``|sum ifg| / sqrt(sum P1 sum P2)`` (bias below 0.005 for these window sizes), after removing the truth's
deformation phase; the median over the windows is compared.
"""

from __future__ import annotations

import json
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from daskinsar.cli import app
from daskinsar.config import RunConfig
from daskinsar.geometry.ellipsoid import SPEED_OF_LIGHT
from daskinsar.io.store import open_scene, write_scene
from daskinsar.pipeline import run
from daskinsar.simulate import simulate_pair
from daskinsar.simulate.presets import CoherenceConfig, MogiSource, SpectraConfig, TerrainConfig, preset
from daskinsar.simulate.spectra import band_response
from daskinsar.stages import common_band
from daskinsar.stages.bandpass import band_mask, bandpass, bandpass_block, bandpass_block_bands
from daskinsar.stages.interferogram import interferogram, multilook
from daskinsar.steps import RunContext, spectral_pair

C = SPEED_OF_LIGHT


def _run(sim, out: Path, **over) -> Path:
    d = Path(sim.out_dir)
    cfg = {"reference": {"path": sim.reference_raw or str(d / "reference.zarr")},
           "secondary": {"path": sim.secondary_raw or str(d / "secondary.zarr")},
           "dem": {"path": str(d / "dem.tif")}, "output": str(out),
           "interferogram": {"azimuth_looks": 2, "range_looks": 2}, "filter": {"patch_size": 16},
           "geocode": {"products": ["los_displacement", "topophase.cor"]},
           "processing": {"chunk_azimuth": 128, "chunk_range": 128}}
    cfg.update(over)
    run(RunConfig.model_validate(cfg), progress=False, reporter=lambda s: None)
    return out


def _group(run_dir: Path, group: str) -> xr.Dataset:
    return xr.open_zarr(str(run_dir / "products.zarr"), group=group, consolidated=False)


def _window_coherence(ifg, p1, p2, w: int = 16, valid=None) -> float:
    n0, n1 = (ifg.shape[0] // w) * w, (ifg.shape[1] // w) * w

    def s(a):
        return a[:n0, :n1].reshape(n0 // w, w, n1 // w, w).sum((1, 3))

    a, b = s(p1), s(p2)
    g = np.abs(s(ifg)) / np.sqrt(a * b)
    keep = np.ones(g.shape, bool) if valid is None else s(valid.astype(float)) == w * w
    return float(np.median(g[keep]))


def _theory(frac1: float, frac2: float, offset: float, g: float) -> float:
    """g * int H1 H2 / sqrt(int H1^2 int H2^2) of two simulated bands (widths and offset in cycles/sample)."""
    f = np.linspace(-0.5, 0.5, 40001)
    h1, h2 = band_response(f, frac1), band_response(f, frac2, offset)
    return float(g * np.sum(h1 * h2) / np.sqrt(np.sum(h1 ** 2) * np.sum(h2 ** 2)))


def _unfiltered_coherence(run_dir: Path, looks) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The multilooked interferogram of the reference and the resampled secondary without any filter."""
    ref = open_scene(str(run_dir / "reference.zarr")) if (run_dir / "reference.zarr").exists() else None
    ref = open_scene(str(run_dir / "reference_slc.zarr")) if (run_dir / "reference_slc.zarr").exists() else ref
    ds = interferogram(ref.data["slc"], _group(run_dir, "resample")["secondary"], tuple(looks),
                       geometric_phase=_group(run_dir, "topo")["geometric_phase"].data)
    return ds["ifg"].values, ds["power_reference"].values, ds["power_secondary"].values


# ---------------------------------------------------------------------------------------------
def test_bandpass_equals_whole_line_filter_and_ignores_chunks():
    """The segment filter equals an FFT filter of whole lines with the same mask (to 1e-3 of the signal),
    follows band edges that vary along the lines, and its result does not depend on the chunking."""
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((40, 1500)) + 1j * rng.standard_normal((40, 1500))).astype(np.complex64)
    lo, hi = -0.31, 0.12
    y = bandpass_block(x, np.full(x.shape, lo), np.full(x.shape, hi), 0)
    n = 8192
    ref = np.fft.ifft(np.fft.fft(x, n=n, axis=1) * band_mask(np.fft.fftfreq(n), np.array(lo), np.array(hi)), axis=1)
    ref = ref[:, :1500]
    rms = np.sqrt(np.mean(np.abs(ref) ** 2))
    assert np.sqrt(np.mean(np.abs(y - ref) ** 2)) < 1e-3 * rms
    # power kept: the band's width less one transition (the raised-cosine edges are inside the band)
    assert np.mean(np.abs(y) ** 2) / np.mean(np.abs(x) ** 2) == pytest.approx(hi - lo - 0.015, abs=0.02)
    # band edges that move along the line: a tone inside the local band passes, outside it is stopped
    k = np.arange(1500)
    tone = np.exp(2j * np.pi * 0.3 * k)[None, :].astype(np.complex64)
    lo_v = np.where(k < 750, 0.2, -0.4)[None, :] * np.ones((1, 1))
    out = bandpass_block(tone, lo_v, lo_v + 0.2, 0)
    assert np.abs(out[0, 100:500]).mean() > 0.99 and np.abs(out[0, 1000:1400]).mean() < 1e-3
    edges = (da.from_array(np.full(x.shape, lo)), da.from_array(np.full(x.shape, hi)))
    a = bandpass(da.from_array(x, chunks=(7, 300)), *edges, axis=1).compute()
    b = bandpass(da.from_array(x, chunks=(40, 1500)), *edges, axis=1).compute()
    c = bandpass(da.from_array(x.T.copy(), chunks=(257, 13)), lo, hi, axis=0).compute()
    assert np.array_equal(a, b) and np.array_equal(a, y) and np.max(np.abs(c.T - y)) < 1e-6 * rms
    # several bands from one transform of the segments: each as the whole-line filter of its own band
    bands = [(lo, hi), (0.15, 0.45)]
    ys = bandpass_block_bands(x, [(np.full(x.shape, b0), np.full(x.shape, b1)) for b0, b1 in bands], 0)
    for (b0, b1), yb in zip(bands, ys):
        want = np.fft.ifft(np.fft.fft(x, n=n, axis=1) * band_mask(np.fft.fftfreq(n), np.array(b0), np.array(b1)),
                           axis=1)[:, :1500]
        assert np.sqrt(np.mean(np.abs(yb - want) ** 2)) < 1e-3 * rms, (b0, b1)


# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def long_baseline(tmp_path_factory):
    """L band, flat terrain, 4 km perpendicular baseline: a third of the range band is shifted away."""
    cfg = preset("small", n_azimuth=256, n_range=512, perpendicular_baseline_m=4000.0, deformation=[],
                 point_targets=[], terrain=TerrainConfig(relief_m=0.0, cone_height_m=0.0, lakes=[]),
                 coherence=CoherenceConfig(temporal=0.95, snr_db=float("inf")), spectra=SpectraConfig())
    d = tmp_path_factory.mktemp("cb_long")
    sim = simulate_pair(cfg, d / "pair", chunks=128)
    return sim, _run(sim, d / "run")


def test_long_baseline_coherence_gain_matches_the_spectral_shift(long_baseline):
    """Coherence without / with range filtering against the theory of the shift -f0 B_perp / (R tan theta);
    the processor's shift (from topo's geometric phase) against the same formula."""
    sim, run_dir = long_baseline
    truth = xr.open_zarr(sim.truth, consolidated=False)
    info = json.loads(Path(sim.config_json).read_text())
    f0 = C / info["config"]["wavelength_m"]
    r = float(np.median(truth["slant_range"].values))
    theta = np.deg2rad(float(np.median(truth["incidence"].values)))
    shift = f0 * info["baseline"]["perpendicular_m"] / (r * np.tan(theta))  # magnitude (Hz)
    plan = json.loads(_group(run_dir, "commonband").attrs["commonband_plan"])
    assert plan["range_filter"] and not plan["azimuth_filter"]
    assert abs(plan["shift_hz"][1]) == pytest.approx(shift, rel=0.02)
    ifg = _group(run_dir, "interferogram")
    g = 0.95
    fs, b = plan["range_sampling_rate_hz"], 28e6
    os_ = sim.model.spectra.os  # the simulated spectra are FIRs of the (oversampled) generation grid
    expect_raw = _theory(b / (fs * os_), b / (fs * os_), shift / (fs * os_), g)
    raw = _window_coherence(*_unfiltered_coherence(run_dir, ifg.attrs["looks"]))
    filt = _window_coherence(ifg["ifg"].values, ifg["power_reference"].values, ifg["power_secondary"].values)
    print(f"long baseline: shift {shift / 1e6:.3f} MHz (processor {plan['shift_hz'][1] / 1e6:.3f}); coherence "
          f"unfiltered {raw:.4f} (theory {expect_raw:.4f}), filtered {filt:.4f} (theory {g}); gain "
          f"{filt - raw:.4f} (theory {g - expect_raw:.4f})")
    assert expect_raw < 0.8  # the shift matters
    assert abs(raw - expect_raw) < 0.02 and abs(filt - g) < 0.02
    assert abs((filt - raw) - (g - expect_raw)) < 0.02


def test_commonband_products_do_not_depend_on_chunking(long_baseline):
    sim, run_dir = long_baseline
    cfg = RunConfig.model_validate_json((run_dir / "config.json").read_text())
    ctx = RunContext(cfg, run_dir, progress=False)
    inputs = spectral_pair(ctx).isel(azimuth=slice(0, 160), range=slice(0, 400))
    a = common_band.run(inputs.chunk({"azimuth": 37, "range": 150}), cfg.commonband)
    b = common_band.run(inputs.chunk({"azimuth": -1, "range": -1}), cfg.commonband)
    for v in ("reference", "secondary"):
        x, y = a[v].values, b[v].values
        assert np.max(np.abs(x - y)) <= 1e-5 * np.sqrt(np.mean(np.abs(y) ** 2)), v


# ---------------------------------------------------------------------------------------------
def _uavsar_like(spectra: SpectraConfig):
    """L band, 20 MHz at 1243 MHz (24 MHz sampling) for the reference, hilly, a Mogi source."""
    return preset("small", wavelength_m=C / 1243e6, chirp_bandwidth_hz=20e6, range_sampling_rate_hz=24e6,
                  chirp_duration_s=20e-6, n_azimuth=256, n_range=256, point_targets=[],
                  perpendicular_baseline_m=200.0, terrain=TerrainConfig(relief_m=150.0, cone_height_m=0.0, lakes=[]),
                  coherence=CoherenceConfig(temporal=0.9, snr_db=float("inf")),
                  deformation=[MogiSource(depth_m=1200.0, volume_change_m3=4e5)], spectra=spectra)


@pytest.fixture(scope="module")
def mixed_pairs(tmp_path_factory):
    """A 20 MHz / 40 MHz pair (1243 / 1253 MHz) and the same scene as a 20 / 20 MHz pair, processed alike."""
    d = tmp_path_factory.mktemp("cb_mixed")
    out = {}
    for name, sp in (("mixed", SpectraConfig(secondary_centre_frequency_hz=1253e6, secondary_chirp_bandwidth_hz=40e6,
                                             secondary_range_sampling_rate_hz=48e6)),
                     ("same", SpectraConfig())):
        sim = simulate_pair(_uavsar_like(sp), d / name, chunks=128)
        out[name] = (sim, _run(sim, d / f"{name}_run", commonband={"range": True}))
    return out


def _displacement_figures(sim, run_dir: Path) -> dict:
    ifg, unw = _group(run_dir, "interferogram"), _group(run_dir, "unwrap")
    truth = xr.open_zarr(sim.truth, consolidated=False)
    n0, n1 = ifg["ifg"].shape
    d = multilook(truth["los_displacement"].data, tuple(ifg.attrs["looks"])).compute()[:n0, :n1]
    est = unw["los_displacement"].values
    ok = np.isfinite(est)
    e = est[ok] - d[ok]
    slope = np.polyfit(d[ok], est[ok], 1)[0]
    i = ifg["ifg"].values * np.exp(4j * np.pi * d / ifg.attrs["displacement_wavelength_m"])
    coh = _window_coherence(i, ifg["power_reference"].values, ifg["power_secondary"].values)
    return {"rms_mm": 1e3 * float(np.std(e)), "slope": float(slope), "coherence": coh,
            "range_m": float(np.ptp(d)), "lambda_d": float(ifg.attrs["displacement_wavelength_m"])}


def test_mixed_20_40_mhz_pair_end_to_end(mixed_pairs):
    """20 MHz at 1243 MHz against 40 MHz at 1253 MHz: the 40 MHz scene is cut to what the 20 MHz grid holds
    (bandwidth matching), filtered to the common band 1233..1253 MHz (less the geometric shift); coherence
    after filtering equals g = 0.9 (theory: the whole common band kept by both) within 0.02; the LOS
    displacement against truth is as good as the same scene's 20 / 20 MHz pair and has the right scale (it is
    measured at the secondary's frequencies of the common band, 1243 MHz, not at its 1253 MHz carrier)."""
    sim, run_dir = mixed_pairs["mixed"]
    sec = open_scene(str(run_dir / "secondary.zarr"))
    kept = sec.meta.extra["band_matched"]["kept_band_hz"]
    assert kept[0] == pytest.approx(1233e6) and 1253e6 < kept[1] < 1254e6
    plan = json.loads(_group(run_dir, "commonband").attrs["commonband_plan"])
    assert plan["common_range_band_hz"][0] == pytest.approx(1233e6, abs=1e3)
    assert plan["common_range_band_hz"][1] == pytest.approx(1253e6, abs=1e3)
    mixed, same = _displacement_figures(sim, run_dir), _displacement_figures(*mixed_pairs["same"])
    print("20/40 MHz pair:", mixed, "\n20/20 MHz pair:", same)
    # without filtering the pair's coherence would be g * 20 / sqrt(20 * 40) = 0.64
    assert abs(mixed["coherence"] - 0.9) < 0.02 and abs(same["coherence"] - 0.9) < 0.02
    assert mixed["lambda_d"] == pytest.approx(C / 1243e6, rel=5e-4)
    assert mixed["range_m"] > 0.04 and abs(mixed["slope"] - 1.0) < 0.003 and abs(same["slope"] - 1.0) < 0.003
    assert mixed["rms_mm"] <= 1.2 * same["rms_mm"] + 0.2
    assert (run_dir / "geo" / "los_displacement.tif").exists()


def test_spectral_shift_follows_the_terrain(mixed_pairs):
    """The processor's local shift (fringe frequency of topo's geometric phase) against the simulator's (from
    its own geometry tables, dR2/dR1 on the DEM): same field, terrain slopes included."""
    sim, run_dir = mixed_pairs["same"]
    ref, sec = open_scene(str(run_dir / "reference.zarr")), open_scene(str(run_dir / "secondary.zarr"))
    fs = C / (2 * ref.grid_spacing[1])
    nu = common_band.range_shift_field(_group(run_dir, "topo")["geometric_phase"].data, fs).compute()
    truth = xr.open_zarr(sim.truth, consolidated=False)["range_band_offset_hz"].values
    assert C / sec.meta.wavelength_m == C / ref.meta.wavelength_m
    sl = (slice(8, -8), slice(8, -8))
    diff = nu[sl] - truth[sl]
    print(f"shift: median {np.median(nu) / 1e3:.1f} kHz, terrain spread (std) {truth[sl].std() / 1e3:.1f} kHz, "
          f"difference rms {np.sqrt(np.mean(diff ** 2)):.1f} Hz")
    assert truth[sl].std() > 5e3  # the slopes change the shift
    assert np.sqrt(np.mean(diff ** 2)) < 0.05 * truth[sl].std()


def test_same_mode_pair_with_small_shift_is_not_filtered_by_default(mixed_pairs):
    """auto: a 20 / 20 MHz pair whose shift cuts 2 % of the band is left alone; the decision is in the
    step's attributes (no copy of the SLCs)."""
    sim, run_dir = mixed_pairs["same"]
    cfg = RunConfig.model_validate_json((run_dir / "config.json").read_text())
    inputs = spectral_pair(RunContext(cfg, run_dir, progress=False))
    plan = common_band.plan(inputs, common_band.CommonBandParams())
    assert not plan.range_filter and not plan.azimuth_filter and "auto" in plan.range_reason
    narrowing = 1 - (plan.common_range_band_hz[1] - plan.common_range_band_hz[0]) / 20e6
    assert 0.005 < narrowing < 0.05
    cb = common_band.apply(inputs, plan)
    assert "reference" not in cb and cb.attrs["range_filter"] == 0 and "commonband_plan" in cb.attrs
    # what the forced run decided is in its step's attributes
    assert _group(run_dir, "commonband").attrs["range_filter"] == 1


# ---------------------------------------------------------------------------------------------
def test_non_overlapping_bands_are_refused_in_one_line(mixed_pairs, tmp_path):
    sim, _ = mixed_pairs["same"]
    d = Path(sim.out_dir)
    sec = open_scene(str(d / "secondary.zarr"))
    moved = sec.meta.model_copy(update={"wavelength_m": C / 1300e6})
    bad = write_scene(sec.__class__(sec.data, moved, sec.orbit), str(tmp_path / "s_band_moved.zarr"))
    cfg = tmp_path / "run.yaml"
    cfg.write_text(json.dumps({"reference": {"path": str(d / "reference.zarr")}, "secondary": {"path": bad},
                               "dem": {"path": str(d / "dem.tif")}, "output": str(tmp_path / "run")}))
    res = CliRunner().invoke(app, ["run", str(cfg)])
    assert res.exit_code != 0
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    msg = lines[0]
    assert bad in msg and str(d / "reference.zarr") in msg
    assert "1290.000..1310.000 MHz" in msg and "1233.000..1253.000 MHz" in msg and "not overlap" in msg


# ---------------------------------------------------------------------------------------------
def test_doppler_centroids_raw_pair_azimuth_filter(tmp_path):
    """Raw echoes of an X-band pair whose azimuth spectra are centred 400 Hz apart (-150 / +250 Hz, 1050 Hz
    processed bandwidth at 1500 Hz PRF), each focused at its own Doppler: coherence without the azimuth
    filter against the overlap theory, with it against g. (X band and a 5 us chirp keep the raw scenes
    small: the synthetic aperture and the chirp are what a raw scene adds to its SLC.)"""
    ba, g = 0.7 * 1500.0, 0.95
    cfg = preset("small", wavelength_m=0.031, prf_hz=1500.0, azimuth_bandwidth_fraction=0.7, n_azimuth=192,
                 n_range=160, chirp_duration_s=5e-6, deformation=[], point_targets=[], perpendicular_baseline_m=0.0,
                 terrain=TerrainConfig(relief_m=50.0, cone_height_m=0.0, lakes=[]),
                 coherence=CoherenceConfig(temporal=g, snr_db=float("inf")),
                 spectra=SpectraConfig(reference_doppler_centroid_hz=-150.0, secondary_doppler_centroid_hz=250.0))
    sim = simulate_pair(cfg, tmp_path / "pair", chunks=128, level="raw", raw_options={"azimuth_bandwidth_hz": ba})
    run_dir = _run(sim, tmp_path / "run", focus={"doppler": "metadata"}, processing={"chunk_azimuth": 256,
                                                                                      "chunk_range": 256})
    plan = json.loads(_group(run_dir, "commonband").attrs["commonband_plan"])
    assert plan["azimuth_filter"] and plan["common_doppler_band_hz"] == pytest.approx([250 - ba / 2, -150 + ba / 2])
    ifg = _group(run_dir, "interferogram")
    p1, p2 = ifg["power_reference"].values, ifg["power_secondary"].values
    # the focused grid extends beyond the simulated scene (zeros): windows where both images have signal
    w = 8
    n0, n1 = (p1.shape[0] // w) * w, (p1.shape[1] // w) * w

    def s(a):
        return a[:n0, :n1].reshape(n0 // w, w, n1 // w, w).sum((1, 3))

    sig = (s(p1) > 0.7 * np.percentile(s(p1), 95)) & (s(p2) > 0.7 * np.percentile(s(p2), 95))
    sig[1:-1, 1:-1] &= sig[:-2, 1:-1] & sig[2:, 1:-1] & sig[1:-1, :-2] & sig[1:-1, 2:]
    assert sig.sum() >= 20

    def coh(i, a, b):
        return float(np.median((np.abs(s(i)) / np.sqrt(s(a) * s(b)))[sig]))

    raw = coh(*_unfiltered_coherence(run_dir, ifg.attrs["looks"]))
    filt = coh(ifg["ifg"].values, p1, p2)
    prf = 1500.0
    expect_raw = _theory(ba / prf, ba / prf, 400.0 / prf, g)
    print(f"Doppler centroids 400 Hz apart: coherence unfiltered {raw:.4f} (theory {expect_raw:.4f}), "
          f"azimuth-filtered {filt:.4f} (theory {g})")
    assert expect_raw < 0.7
    assert abs(raw - expect_raw) < 0.02 and abs(filt - g) < 0.02


def test_overlap_below_the_minimum_is_refused(mixed_pairs):
    from daskinsar.errors import PairError
    from daskinsar.stages.pair import MIN_COMMON_BAND_FRACTION, check_pair

    sim, _ = mixed_pairs["same"]
    d = Path(sim.out_dir)
    ref, sec = open_scene(str(d / "reference.zarr")), open_scene(str(d / "secondary.zarr"))
    assert check_pair(ref, sec, "ref.zarr", "sec.zarr") == pytest.approx((1233e6, 1253e6))
    # 20 MHz bands 18.5 MHz apart share 1.5 MHz, 7.5 % of either: below the 10 % minimum
    moved = sec.__class__(sec.data, sec.meta.model_copy(update={"wavelength_m": C / (1243e6 + 18.5e6)}), sec.orbit)
    assert MIN_COMMON_BAND_FRACTION == 0.1
    with pytest.raises(PairError, match=r"sec\.zarr: range band 1251\.500\..1271\.500 MHz overlaps the reference's "
                                        r"1233\.000\.\.1253\.000 MHz \(ref\.zarr\) by 1\.500 MHz, below the minimum"):
        check_pair(ref, moved, "ref.zarr", "sec.zarr")


def test_fbs_secondary_on_an_fbd_reference_is_band_matched(tmp_path):
    """ALOS-like FBD (14 MHz, 16 MHz sampling) reference and FBS (28 MHz, 32 MHz) secondary: the simulated
    spectra have the configured widths (measured from the data), and preprocess cuts the FBS scene to what
    the FBD grid holds, on its own grid, before anything is resampled."""
    cfg = preset("small", chirp_bandwidth_hz=14e6, range_sampling_rate_hz=16e6, n_azimuth=128, n_range=128,
                 point_targets=[], deformation=[], spectra=SpectraConfig(secondary_chirp_bandwidth_hz=28e6,
                                                                           secondary_range_sampling_rate_hz=32e6))
    sim = simulate_pair(cfg, tmp_path / "pair", chunks=128)
    widths = {}
    for role in ("reference", "secondary"):
        s = open_scene(getattr(sim, role))
        fs = C / (2 * s.grid_spacing[1])
        p = np.mean(np.abs(np.fft.fft(s.data["slc"].values, axis=1)) ** 2, axis=0)
        widths[role] = float(np.mean(p > 0.5 * np.median(p[p > 0.1 * p.max()])) * fs)
        assert s.meta.range_bandwidth_hz == (14e6 if role == "reference" else 28e6)
    assert widths["reference"] == pytest.approx(14e6, rel=0.05) and widths["secondary"] == pytest.approx(28e6, rel=0.05)
    lines: list[str] = []
    d = Path(sim.out_dir)
    run(RunConfig.model_validate({"reference": {"path": str(d / "reference.zarr")},
                                  "secondary": {"path": str(d / "secondary.zarr")}, "dem": {"path": str(d / "dem.tif")},
                                  "output": str(tmp_path / "run")}), progress=False, reporter=lines.append,
        end="preprocess")
    sec = open_scene(str(tmp_path / "run" / "secondary.zarr"))
    f0 = C / 0.236
    lo, hi = sec.meta.extra["band_matched"]["kept_band_hz"]
    assert (lo - f0, hi - f0) == pytest.approx((-7.2e6, 7.2e6), abs=1e3)  # 14 MHz widened to 0.9 x 16 MHz
    assert sec.meta.range_bandwidth_hz == pytest.approx(14.4e6) and sec.meta.wavelength_m == pytest.approx(0.236)
    assert any("secondary range band cut to" in ln for ln in lines)
    p = np.mean(np.abs(np.fft.fft(sec.data["slc"].values, axis=1)) ** 2, axis=0)
    f = np.fft.fftfreq(p.size, d=1 / 32e6)
    assert p[np.abs(f) > 8e6].mean() < 1e-3 * p[np.abs(f) < 6e6].mean()  # nothing left to alias on a 16 MHz grid


def test_spectral_simulation_does_not_depend_on_the_blocks():
    """Per-scene spectra: any block of either SLC is the same computed alone or as part of a larger one."""
    from daskinsar.simulate.presets import IonosphereConfig
    from daskinsar.simulate.slc import build_pair_model, reference_block, secondary_block

    cfg = _uavsar_like(SpectraConfig(secondary_centre_frequency_hz=1253e6, secondary_chirp_bandwidth_hz=40e6,
                                     secondary_range_sampling_rate_hz=48e6, secondary_doppler_centroid_hz=80.0))
    model = build_pair_model(cfg.model_copy(update={"n_azimuth": 64, "n_range": 64,
                                                    "ionosphere": IonosphereConfig(gradient_tecu_per_km=(0.3, 0.1))}))
    for kernel, (n0, n1) in ((reference_block, (64, 64)), (secondary_block, (64, 128))):
        whole = kernel(model, 0, n0, 0, n1)
        parts = np.block([[kernel(model, a, b, c, d) for c, d in ((0, 37), (37, n1))] for a, b in ((0, 21), (21, n0))])
        assert np.array_equal(whole, parts), kernel.__name__
