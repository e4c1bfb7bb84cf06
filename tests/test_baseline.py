"""The baseline stage against the simulator's own orbits: Kepler elements placed analytically
(:mod:`daskinsar.simulate.orbits`), not our orbit interpolation, rdr2geo or geo2rdr."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from daskinsar.geometry.ellipsoid import llh_to_ecef
from daskinsar.scene import pair_dataset
from daskinsar.simulate import orbits as orb
from daskinsar.simulate.api import reference_scene, secondary_scene, truth_dataset
from daskinsar.simulate.presets import preset
from daskinsar.simulate.slc import build_pair_model
from daskinsar.stages import baseline as baseline_stage
from daskinsar.stages.baseline import POINTS, BaselineParams, node_indices


def _elements(cfg):
    """The pair's Kepler elements, placed as :func:`daskinsar.simulate.slc.build_pair_model` places them
    (checked below against the baseline the model reports)."""
    dt = 1.0 / cfg.prf_hz
    t_c = 0.5 * (cfg.n_azimuth - 1) * dt
    tc = cfg.terrain
    h_mid = 0.5 * ((tc.base_height_m - 10.0) + (tc.base_height_m + tc.relief_m + tc.cone_height_m + 10.0))
    el1 = orb.place_reference_orbit(cfg.centre_lon_deg, cfg.centre_lat_deg, h_mid, altitude_m=cfg.altitude_m,
                                    inclination_deg=cfg.inclination_deg, look_angle_deg=cfg.look_angle_deg,
                                    look_side=cfg.look_side, ascending=cfg.ascending, t_centre_s=t_c)
    P = llh_to_ecef(cfg.centre_lon_deg, cfg.centre_lat_deg, h_mid)
    el2 = orb.place_secondary_orbit(P, el1, perpendicular_baseline_m=cfg.perpendicular_baseline_m,
                                    parallel_baseline_m=cfg.parallel_baseline_m, t_centre_s=t_c)
    return el1, el2, P, t_c


def _pair(cfg):
    model = build_pair_model(cfg)
    el1, el2, P, t_c = _elements(cfg)
    bp, bl, ba, _, _ = orb.baseline_components(P, el1, el2, t_c)
    assert (bp, bl, ba) == pytest.approx((model.baseline["perpendicular_m"], model.baseline["parallel_m"],
                                          model.baseline["along_track_m"]), abs=1e-9)
    truth = truth_dataset(model, chunks=128)
    inputs = pair_dataset(reference_scene(model, 128), secondary_scene(model, 128)).drop_vars(
        ["reference", "secondary"]).assign(hgt=truth["hgt"])
    return model, truth, inputs, (el1, el2, t_c)


def _stage_points(ds, truth, shape):
    """(stage B_perp, stage B_par, target ECEF from the simulator's truth) at every node and named point."""
    rows, cols = ds["azimuth_index"].values, ds["range_index"].values
    ii, jj = np.meshgrid(rows, cols, indexing="ij")
    pts = [f(shape) for _, f in POINTS]
    ii = np.concatenate([ii.ravel(), [p[0] for p in pts]])
    jj = np.concatenate([jj.ravel(), [p[1] for p in pts]])
    bperp = np.concatenate([ds["perpendicular_baseline"].values.ravel(),
                            [ds.attrs[f"perpendicular_baseline_{n}_m"] for n, _ in POINTS]])
    bpar = np.concatenate([ds["parallel_baseline"].values.ravel(),
                           [ds.attrs[f"parallel_baseline_{n}_m"] for n, _ in POINTS]])
    sel = dict(azimuth=xr.DataArray(ii, dims="p"), range=xr.DataArray(jj, dims="p"))
    t = truth[["lon", "lat", "hgt"]].isel(sel).compute()
    xyz = llh_to_ecef(t["lon"].values, t["lat"].values, t["hgt"].values.astype(np.float64))
    return bperp, bpar, xyz, ii, jj


@pytest.mark.parametrize("look_side", ["right", "left"])
def test_baselines_equal_the_simulators_kepler_truth(look_side):
    """At the 10 x 10 nodes, the four corners and the centre, the stage's baselines equal
    ``baseline_components`` of the simulator's Kepler orbits at the same ground point within 1 cm.

    Why the two definitions agree. The simulator projects the baseline vector ``b = S - M`` (each
    platform at its own zero-Doppler time of the target X) on the reference line of sight ``l`` and on
    ``e``, the unit vector of the zero-Doppler plane normal to ``l`` pointing away from the Earth:
    ``B_par = b . l``, ``B_perp = b . e``; its along-track part ``a = b . V/|V|`` is left out. ISCE2
    removes ``a`` by projecting S on the plane normal to V (``S'``) and splits ``B = |S' - M|`` by the
    law of cosines in the triangle (M, X, S). At zero Doppler ``(X - M) . V = 0``, so
    ``R2^2 = |X - S'|^2 + a^2`` and ``B cos(theta) = b . l - a^2 / (2R)`` (3e-5 m for the pair's
    a = 6.9 m at R = 850 km), ``B sin(theta) = |b . e|`` to the same order. The sign: ISCE2's is that
    of ``((X - M) x (S' - M)) . V = R (V x l) . b``, and ``V x l`` points towards the Earth for a
    right-looking sensor (it is ``-e``) and away from it for a left-looking one (``+e``): ISCE2's B_perp
    is ``-b . e`` right-looking and ``+b . e`` left-looking.
    """
    cfg = preset("small", look_side=look_side, perpendicular_baseline_m=150.0, parallel_baseline_m=20.0)
    model, truth, inputs, (el1, el2, t_c) = _pair(cfg)
    ds = baseline_stage.run(inputs, BaselineParams())
    assert ds["perpendicular_baseline"].shape == (10, 10) and ds["perpendicular_baseline"].dtype == np.float64
    assert list(ds["azimuth_index"].values[[0, -1]]) == [0, cfg.n_azimuth - 1]
    bperp, bpar, xyz, _, _ = _stage_points(ds, truth, (cfg.n_azimuth, cfg.n_range))
    sign = -1.0 if look_side == "right" else 1.0
    want = np.array([orb.baseline_components(x, el1, el2, t_c)[:3] for x in xyz])
    err_perp = bperp - sign * want[:, 0]
    err_par = bpar - want[:, 1]
    print(f"{look_side}-looking: B_perp {ds.attrs['perpendicular_baseline_centre_m']:.4f} m at the centre, "
          f"{bperp.min():.3f} .. {bperp.max():.3f}; B_par {bpar.min():.3f} .. {bpar.max():.3f}; along-track "
          f"{want[:, 2].min():.2f} .. {want[:, 2].max():.2f} m; worst error vs Kepler truth: B_perp "
          f"{np.abs(err_perp).max() * 1e3:.3f} mm, B_par {np.abs(err_par).max() * 1e3:.3f} mm")
    assert np.all(np.isfinite(bperp)) and np.all(np.isfinite(bpar))
    assert np.abs(err_perp).max() < 0.01 and np.abs(err_par).max() < 0.01
    # the baselines vary over the scene (a test that a constant would not pass)
    assert np.ptp(bpar) > 0.1


def test_native_doppler_baselines_use_each_grids_doppler():
    """A squinted pair on native-Doppler grids (400 Hz): each platform is where its own grid sees the
    target, i.e. at the time its Doppler ``2 V . (X - P) / (lambda |X - P|)`` is 400 Hz, solved here on
    the Kepler orbits directly (no orbit interpolation, no geo2rdr). With ``b = S - M``, ``l`` the
    (squinted) line of sight, ``a = b . u`` (``u = V/|V|``) and ``b' = b - a u``, ISCE2's law of cosines
    is identically ``B cos(theta) = b . l - a^2/(2R)`` (``R2^2 = R^2 - 2R b.l + |b|^2``,
    ``|b|^2 = |b'|^2 + a^2``) and ``B sin(theta) = sqrt(|b'|^2 - (B cos theta)^2)``. The stage is within
    1 cm of these, while the zero-Doppler baselines of the same targets (the platforms at the wrong
    times) differ by more: the test fails if a grid's Doppler is ignored."""
    cfg = preset("small", perpendicular_baseline_m=150.0, parallel_baseline_m=20.0, grid_doppler_hz=400.0)
    model, truth, inputs, (el1, el2, t_c) = _pair(cfg)
    ds = baseline_stage.run(inputs, BaselineParams(azimuth_nodes=4, range_nodes=4))
    bperp, bpar, xyz, _, _ = _stage_points(ds, truth, (cfg.n_azimuth, cfg.n_range))
    lam, fd = cfg.wavelength_m, 400.0

    def doppler_time(x, el, t0):
        t = t0
        for _ in range(60):
            f = []
            for tt in (t, t + 1e-3, t - 1e-3):
                p, v = orb.kepler_state(np.array(tt), el)
                d = x - p
                f.append(2.0 * (v @ d) / (lam * np.linalg.norm(d)) - fd)
            step = f[0] / ((f[1] - f[2]) / 2e-3)
            t -= step
            if abs(step) < 1e-11:
                break
        return t

    want_perp, want_par, zero_dop = [], [], []
    for x in xyz:
        p1, v1 = orb.kepler_state(np.array(doppler_time(x, el1, t_c)), el1)
        p2, _ = orb.kepler_state(np.array(doppler_time(x, el2, t_c)), el2)
        b, u = p2 - p1, v1 / np.linalg.norm(v1)
        rng = np.linalg.norm(x - p1)
        los = (x - p1) / rng
        a = b @ u
        bcos = b @ los - a * a / (2.0 * rng)
        bp = b - a * u
        want_par.append(bcos)
        want_perp.append(-np.sqrt(bp @ bp - bcos * bcos))  # right-looking, secondary above: negative (ISCE2)
        zero_dop.append(orb.baseline_components(x, el1, el2, t_c)[:2])
    want_perp, want_par, zero_dop = np.array(want_perp), np.array(want_par), np.array(zero_dop)
    err = max(np.abs(bperp - want_perp).max(), np.abs(bpar - want_par).max())
    moved = max(np.abs(bperp + zero_dop[:, 0]).max(), np.abs(bpar - zero_dop[:, 1]).max())
    print(f"400 Hz pair: worst error vs Kepler truth at the grids' Doppler {err * 1e3:.3f} mm; the zero-Doppler "
          f"baselines of the same targets differ by up to {moved * 1e2:.1f} cm")
    assert err < 0.01
    assert moved > 2 * err


def test_nodes_and_points():
    assert list(node_indices(256, 10)) == [0, 28, 57, 85, 113, 142, 170, 198, 227, 255]
    assert list(node_indices(3, 10)) == [0, 1, 2]
    with pytest.raises(ValueError):
        BaselineParams(azimuth_nodes=1)


def test_one_track_pair_has_zero_baselines():
    """Both passes on one SCH reference track (the simulator's airborne platform, as a UAVSAR RPI pair): the
    baselines are 0 everywhere, not 0 * NaN from the law of cosines of a degenerate triangle; a pass 1 m above
    the track has a finite baseline of 1 m."""
    from daskinsar.geometry.baseline import baselines
    from daskinsar.simulate.airborne import SchTrack

    cfg = preset("small", platform="airborne_sch", altitude_m=12495.0, look_angle_deg=45.0, look_side="left",
                 wavelength_m=0.2379, prf_hz=380.0, n_azimuth=64, n_range=64, perpendicular_baseline_m=0.0,
                 secondary_azimuth_shift_lines=0.0, secondary_range_shift_pixels=0.0)
    model = build_pair_model(cfg)
    g = model.ref_grid
    t, r = np.meshgrid(g.azimuth_time(np.array([0, 32, 63])), g.slant_range(np.array([0, 32, 63])), indexing="ij")
    with np.errstate(invalid="raise"):
        bperp, bpar = baselines(model.ref_orbit, model.sec_orbit, t, r, wavelength_m=cfg.wavelength_m,
                                look_side="left", height_m=200.0)
    print(f"one track: |B_perp| <= {np.abs(bperp).max():.2e} m, |B_par| <= {np.abs(bpar).max():.2e} m")
    assert np.all(np.isfinite(bperp)) and np.all(np.isfinite(bpar))
    assert np.abs(bperp).max() < 1e-6 and np.abs(bpar).max() < 1e-6  # m (geo2rdr's time tolerance)
    from daskinsar.simulate.airborne import place_track

    tr = place_track(cfg.centre_lon_deg, cfg.centre_lat_deg, 200.0, altitude_m=cfg.altitude_m, speed_mps=228.0,
                     heading_deg=0.0, look_angle_deg=45.0, look_side="left", t_centre_s=0.0, t_peg_s=0.0)
    up = SchTrack(tr.frame, tr.height_m + 1.0, tr.speed_s_mps, tr.t_peg_s).orbit(model.sec_epoch, -60.0, 60.0)
    bperp, bpar = baselines(tr.orbit(model.ref_epoch, -60.0, 60.0), up, np.zeros(1), np.array([2e4]),
                            wavelength_m=cfg.wavelength_m, look_side="left", height_m=200.0)
    assert np.hypot(bperp, bpar)[0] == pytest.approx(1.0, abs=1e-6)
