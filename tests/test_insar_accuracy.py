"""InSAR products against the simulator's truth: coregistration, flattening, coherence."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from daskinsar.config import RunConfig
from daskinsar.pipeline import run
from daskinsar.stages.coherence import expected_coherence_estimate

LOOKS = (4, 4)
WINDOW = (5, 5)
# band-limited speckle: independent samples per pixel = azimuth x range bandwidth fractions
SPECKLE_EFFICIENCY = 0.8 * 0.85


def _run(tmp_path, name, offsets="geometric", **sim_over):
    from daskinsar.simulate import simulate_pair
    from daskinsar.simulate.presets import preset

    cfg = preset("small", deformation=[], **sim_over)
    sim = simulate_pair(cfg, tmp_path / name, chunks=128)
    out = tmp_path / f"{name}_run"
    rc = RunConfig.model_validate({
        "reference": {"path": sim.reference}, "secondary": {"path": sim.secondary}, "dem": {"path": sim.dem},
        "output": str(out),
        "interferogram": {"coherence_window": list(WINDOW), "azimuth_looks": LOOKS[0], "range_looks": LOOKS[1]},
        "offsets": {"method": offsets, "skip_azimuth": 32, "skip_range": 32},
        "processing": {"chunk_azimuth": 128, "chunk_range": 128}})
    run(rc, end="interferogram", progress=False, reporter=lambda s: None)
    truth = xr.open_zarr(sim.truth, consolidated=False).load()
    return sim, out, truth


def _group(out, g):
    return xr.open_zarr(str(out / "products.zarr"), group=g, consolidated=False).load()


def _ml(x, looks=LOOKS):
    n0, n1 = (x.shape[0] // looks[0]) * looks[0], (x.shape[1] // looks[1]) * looks[1]
    return x[:n0, :n1].reshape(n0 // looks[0], looks[0], n1 // looks[1], looks[1]).mean(axis=(1, 3))


@pytest.fixture(scope="module")
def high_coherence(tmp_path_factory):
    from daskinsar.simulate.presets import preset

    # strong relief, so a residual topographic phase would show
    terrain = preset("small").terrain.model_copy(update={"relief_m": 500.0, "cone_height_m": 500.0})
    return _run(tmp_path_factory.mktemp("acc"), "hi", coherence={"temporal": 0.98, "snr_db": 40.0, "water": 0.05},
                terrain=terrain)


def test_geometric_offsets_match_truth(high_coherence):
    _, out, truth = high_coherence
    topo = _group(out, "topo")
    for k in ("azimuth_offset", "range_offset"):
        err = np.abs(topo[k].values - truth[k].values)
        print(k, "max error (px):", np.nanmax(err))
        assert np.nanmax(err) < 0.01


def test_resampled_coherence_and_phase(high_coherence):
    """Reference x resampled secondary, truth phases removed: coherence >= 0.99 x truth, phase std <= 0.05 rad."""
    sim, out, truth = high_coherence
    from daskinsar.io.store import open_scene

    ref = open_scene(sim.reference).data["slc"].values.astype(np.complex128)
    sec = _group(out, "resample")["secondary"].values.astype(np.complex128)
    phase = truth["flat_topo_phase"].values + truth["deformation_phase"].values + truth["tropo_phase"].values
    z = ref * np.conj(sec) * np.exp(-1j * phase)
    gamma = truth["coherence"].values
    inner = np.zeros(z.shape, bool)
    inner[16:-16, 16:-16] = True
    sel = inner & (gamma > 0.9)
    est = np.abs(z[sel].sum()) / np.sqrt((np.abs(ref[sel]) ** 2).sum() * (np.abs(sec[sel]) ** 2).sum())
    print("coherence after resampling:", est, "truth:", gamma[sel].mean())
    assert est >= 0.99 * gamma[sel].mean()
    # phase error of the resampled interferogram, averaged over looks so speckle noise is small
    zl = _ml(np.where(sel, z, 0))
    cl = _ml(sel.astype(float))
    good = cl > 0.99
    ph = np.angle(zl[good] * np.conj(np.mean(zl[good])))
    gl = _ml(gamma)[good]
    n = LOOKS[0] * LOOKS[1] * SPECKLE_EFFICIENCY
    expected = np.sqrt(np.mean((1 - gl**2) / (2 * n * gl**2)))
    print("resampled phase std (rad):", ph.std(), "expected from coherence alone:", expected)
    assert ph.std() <= 0.05


def test_flattened_phase_is_flat_and_uncorrelated_with_height(high_coherence):
    sim, out, truth = high_coherence
    ifg = _group(out, "interferogram")
    gamma = _ml(truth["coherence"].values)
    hgt = ifg["hgt"].values.astype(np.float64)
    z = ifg["ifg"].values
    sel = np.isfinite(z) & (gamma >= 0.9)
    sel[:3], sel[-3:], sel[:, :3], sel[:, -3:] = False, False, False, False
    ph = np.angle(z[sel] * np.conj(np.mean(z[sel])))
    print("flattened multilooked phase std (rad):", ph.std())
    assert ph.std() <= 0.1
    # no residual topographic phase: regress phase on height
    h = hgt[sel] - hgt[sel].mean()
    slope = float((h * ph).sum() / (h * h).sum())
    se = float(ph.std() / np.sqrt((h * h).sum()))
    # height of ambiguity: height change giving 2 pi of topographic phase
    import json

    b_perp = abs(json.loads(truth.attrs["baseline"])["perpendicular_m"])
    t = sim.model.ref_grid
    r_mid = t.slant_range()[len(t.slant_range()) // 2]
    inc = np.deg2rad(float(np.nanmean(truth["incidence"].values)))
    h_amb = sim.model.wavelength_m * r_mid * np.sin(inc) / (2 * b_perp)
    residual_fraction = abs(slope) * h_amb / (2 * np.pi)
    print(f"phase vs height slope {slope:.3e} rad/m (s.e. {se:.1e}); height of ambiguity {h_amb:.0f} m; "
          f"residual topographic fraction {residual_fraction:.2e}; height range {np.ptp(hgt[sel]):.0f} m")
    # the topographic phase is removed to 0.5 % of its size, and the slope is consistent with zero
    assert residual_fraction < 5e-3
    assert abs(slope) < 4 * se + 1e-5


def test_coherence_estimate_matches_estimator_expectation(tmp_path):
    gamma_true = 0.6
    _, out, truth = _run(tmp_path, "mid", coherence={"temporal": gamma_true, "snr_db": 80.0, "water": 0.6})
    est = _group(out, "interferogram")["coherence"].values
    g = _ml(truth["coherence"].values)
    sel = np.isfinite(est) & (np.abs(g - gamma_true) < 1e-3)
    sel[:3], sel[-3:], sel[:, :3], sel[:, -3:] = False, False, False, False
    n_nominal = WINDOW[0] * WINDOW[1] * LOOKS[0] * LOOKS[1]
    n_eff = n_nominal * SPECKLE_EFFICIENCY
    expect = float(expected_coherence_estimate(gamma_true, n_eff))
    mean = float(est[sel].mean())
    # windows overlap: independent estimates ~ pixels / window area
    m = sel.sum() / (WINDOW[0] * WINDOW[1])
    tol = 4 * float(est[sel].std()) / np.sqrt(m)
    print(f"coherence: true {gamma_true}, mean estimate {mean:.4f}, estimator expectation {expect:.4f} "
          f"(N_eff {n_eff:.0f}), tolerance {tol:.4f}; bias {mean - gamma_true:+.4f} vs theory {expect - gamma_true:+.4f}")
    assert abs(mean - expect) <= tol


def test_dense_offsets_refinement_finds_no_residual(tmp_path):
    """With exact geometry, the dense offsets (ampcor) agree with the geometric ones: the fitted residual is ~0."""
    _, out, truth = _run(tmp_path, "dense", offsets="geometric+dense",
                         coherence={"temporal": 0.95, "snr_db": 40.0, "water": 0.05})
    off = _group(out, "offsets")
    kept = off["kept"].values.astype(bool)
    assert kept.mean() > 0.5
    ra, rr = off["residual_azimuth"].values[kept], off["residual_range"].values[kept]
    print("dense minus geometric offsets: rms az", np.sqrt(np.mean(ra**2)), "rg", np.sqrt(np.mean(rr**2)))
    assert np.sqrt(np.mean(ra**2)) < 0.05 and np.sqrt(np.mean(rr**2)) < 0.05
