"""Tests of the InSAR pair simulator (daskinsar.simulate) against independent truth."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from daskinsar.errors import ConfigError
from daskinsar.geometry.ellipsoid import llh_to_ecef
from daskinsar.geometry.geo2rdr import geo2rdr
from daskinsar.geometry.rdr2geo import rdr2geo_ecef
from daskinsar.simulate import deformation as dfm
from daskinsar.simulate import orbits as orb
from daskinsar.simulate import slc
from daskinsar.simulate.presets import preset


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def small_pair(tmp_path_factory):
    from daskinsar.simulate import simulate_pair

    out = tmp_path_factory.mktemp("sim") / "small"
    res = simulate_pair("small", out, chunks=128)
    return res


@pytest.fixture(scope="module")
def loaded(small_pair):
    from daskinsar.io.store import open_scene

    ref = open_scene(small_pair.reference)
    sec = open_scene(small_pair.secondary)
    truth = xr.open_zarr(small_pair.truth, consolidated=False).load()
    return ref, sec, truth, small_pair.model


# ----------------------------------------------------------------------------- deformation
def test_mogi_peak_and_ratio():
    d, dv, nu = 1500.0, 1e6, 0.25
    x = np.array([0.0, 1000.0, 3000.0])
    ue, un, uu = dfm.mogi_enu(x, np.zeros(3), depth_m=d, volume_change_m3=dv, poisson=nu)
    assert uu[0] == pytest.approx((1 - nu) * dv / (np.pi * d**2), rel=1e-12)
    np.testing.assert_allclose(ue / uu, x / d, rtol=1e-12)  # radial / vertical = r / d
    assert np.all(un == 0)


@pytest.mark.parametrize("dip", [30.0, 70.0, 90.0])
def test_okada_small_fault_is_point_source(dip):
    """A 2 m x 2 m fault at 4 km depth equals Okada's point source of the same potency."""
    x = np.array([2000.0, -3000, 5000, 100])
    y = np.array([3000.0, 1000, -4000, -2000])
    L = W = 2.0
    dd = np.deg2rad(dip)
    f = dfm.okada_local(x + L / 2, y + W / 2 * np.cos(dd), d=4000 + W / 2 * np.sin(dd), dip_deg=dip, L=L, W=W,
                        U1=1.0, U2=0.5, U3=0.3)
    p = dfm.okada_point_surface(x, y, d=4000.0, dip_deg=dip, potency_strike=L * W, potency_dip=0.5 * L * W,
                                potency_tensile=0.3 * L * W)
    for a, b in zip(f, p):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6 * np.max(np.abs(b)))


def test_okada_finite_fault_is_integral_of_point_sources():
    """The closed form of a 6 km x 4 km fault equals the numerical integral of point sources over it."""
    x = np.array([2000.0, -3000, 5000, 100])
    y = np.array([3000.0, 1000, -4000, -2000])
    dip, L, W, d, n = 40.0, 6000.0, 4000.0, 8000.0, 60
    dd = np.deg2rad(dip)
    xs = (np.arange(n) + 0.5) / n * L
    es = (np.arange(n) + 0.5) / n * W
    XX, EE = np.meshgrid(xs, es, indexing="ij")
    XX, EE = XX.ravel()[:, None], EE.ravel()[:, None]
    dA = L * W / n / n
    tot = np.zeros((3, x.size))
    for k in range(XX.shape[0]):
        u = dfm.okada_point_surface(x - XX[k], y - EE[k] * np.cos(dd), d=float(d - EE[k, 0] * np.sin(dd)),
                                    dip_deg=dip, potency_strike=0.3 * dA, potency_dip=0.8 * dA,
                                    potency_tensile=0.2 * dA)
        tot += np.array(u)
    f = np.array(dfm.okada_local(x, y, d=d, dip_deg=dip, L=L, W=W, U1=0.3, U2=0.8, U3=0.2))
    np.testing.assert_allclose(f, tot, rtol=0, atol=2e-4 * np.abs(tot).max())


def test_okada_symmetry_decay_and_sense():
    kw = dict(depth_m=5000.0, strike_deg=0.0, dip_deg=90.0, rake_deg=0.0, slip_m=1.0, length_m=8000.0,
              width_m=4000.0)
    x, y = np.array([1500.0, 4000.0]), np.array([2500.0, -1000.0])
    e1, n1, u1 = dfm.okada_enu(x, y, **kw)
    e2, n2, u2 = dfm.okada_enu(-x, y, **kw)
    e3, n3, u3 = dfm.okada_enu(x, -y, **kw)
    # vertical strike-slip fault along north: uz antisymmetric across and along the fault,
    # north displacement antisymmetric across it, east displacement symmetric across it
    np.testing.assert_allclose(u2, -u1, atol=1e-12)
    np.testing.assert_allclose(u3, -u1, atol=1e-12)
    np.testing.assert_allclose(n2, -n1, atol=1e-12)
    np.testing.assert_allclose(e2, e1, atol=1e-12)
    # left-lateral: the east block moves north
    assert n1[0] > 0
    # far field of a dislocation decays as r^-2 (horizontal; the vertical has a nodal line here)
    r = np.array([200e3, 400e3])
    e, n, _ = dfm.okada_enu(r * np.cos(0.7), r * np.sin(0.7), **{**kw, "dip_deg": 45.0, "rake_deg": 90.0})
    assert np.hypot(e[1], n[1]) / np.hypot(e[0], n[0]) == pytest.approx(0.25, rel=0.01)
    # thrust reaching the surface: the hanging wall (east, the dip side) goes up
    W = 4000.0
    dtop = W / 2 * np.sin(np.deg2rad(30)) + 1.0
    trace = -W / 2 * np.cos(np.deg2rad(30))
    _, _, uz = dfm.okada_enu(np.array([trace - 50, trace + 50]), np.zeros(2), depth_m=dtop, strike_deg=0.0,
                             dip_deg=30.0, rake_deg=90.0, slip_m=1.0, length_m=20000.0, width_m=W)
    assert uz[1] > 0.3 and uz[1] > uz[0]


def test_los_sign_uplift_is_positive():
    # right-looking pass: LOS from ground to platform points up and sideways; uplift -> towards platform
    los = np.array([-0.6, -0.1, 0.78])
    assert dfm.los_displacement((0.0, 0.0, 0.05), los) > 0


# ----------------------------------------------------------------------------- orbits and terrain
def test_orbit_placement_and_baseline():
    P = llh_to_ecef(10.0, 45.0, 300.0)
    for side, asc in (("right", True), ("left", False)):
        el = orb.place_reference_orbit(10.0, 45.0, 300.0, altitude_m=700e3, inclination_deg=98.2,
                                       look_angle_deg=30.0, look_side=side, ascending=asc, t_centre_s=1.5)
        t = orb.zero_doppler_time(P, el, 1.5)
        p, v = orb.kepler_state(np.array(t), el)
        assert t == pytest.approx(1.5, abs=1e-6)
        assert np.degrees(orb.signed_look_angle(P, p, v)) == pytest.approx(30.0 if side == "left" else -30.0,
                                                                             abs=1e-6)
        assert (v[2] > 0) == asc
        el2 = orb.place_secondary_orbit(P, el, perpendicular_baseline_m=150.0, parallel_baseline_m=20.0,
                                        t_centre_s=1.5)
        bp, bl, _, _, t2 = orb.baseline_components(P, el, el2, 1.5)
        assert bp == pytest.approx(150.0, abs=1e-3) and bl == pytest.approx(20.0, abs=1e-3)
        p2, v2 = orb.kepler_state(np.array(t2), el2)
        # documented sign: B_perp > 0 -> smaller look angle at the scene centre
        assert abs(orb.signed_look_angle(P, p2, v2)) < abs(orb.signed_look_angle(P, p, v))
    # state vectors sampled every 10 s reproduce the analytic orbit through Hermite interpolation
    o = orb.sample_orbit(el, "2020-01-01T00:00:00", -60, 70)
    tt = np.linspace(0, 5, 7)
    np.testing.assert_allclose(o.interpolate(tt)[0], orb.kepler_state(tt, el)[0], atol=1e-6)


def test_dem_geotiff(small_pair):
    import rasterio

    from daskinsar.io.dem import open_dem

    with rasterio.open(small_pair.dem) as src:
        assert src.crs.to_epsg() == 4326
        assert src.tags()["AREA_OR_POINT"] == "Area"
        assert src.dtypes[0] == "float32"
    dem = open_dem(small_pair.dem).to_xarray()
    m = small_pair.model.dem
    np.testing.assert_array_equal(dem.values.astype(np.float64), m.heights_m)
    np.testing.assert_allclose(dem.x.values[[0, -1]], [m.lon0_deg, m.lon0_deg + m.dlon_deg * (dem.sizes["x"] - 1)],
                               atol=1e-9)
    np.testing.assert_allclose(dem.y.values[[0, -1]], [m.lat0_deg, m.lat0_deg + m.dlat_deg * (dem.sizes["y"] - 1)],
                               atol=1e-9)
    assert 50.0 < float(dem.max() - dem.min()) < 1000.0


# ----------------------------------------------------------------------------- geometry of the simulation
def test_pixel_geometry_matches_exact_chain(loaded):
    """Coarse-table geometry (decimated, interpolated) vs exact rdr2geo + geo2rdr per pixel."""
    ref, sec, truth, m = loaded
    cfg = m.config
    rng = np.random.default_rng(3)
    i, j = rng.integers(0, cfg.n_azimuth, 25), rng.integers(0, cfg.n_range, 25)
    t1, r1 = m.ref_grid.azimuth_time(i), m.ref_grid.slant_range(j)
    xyz, lon, lat, h, _, _ = rdr2geo_ecef(t1, r1, m.ref_orbit, wavelength_m=cfg.wavelength_m,
                                          look_side=cfg.look_side, dem=m.dem, tol_m=1e-6)
    t2, r2 = geo2rdr(xyz, m.sec_orbit, wavelength_m=cfg.wavelength_m, t_guess_s=t1)
    np.testing.assert_allclose(truth.hgt.values[i, j], h, atol=2e-3)  # float32 storage of ~300 m
    np.testing.assert_allclose(truth.lon.values[i, j], lon, atol=1e-9)
    np.testing.assert_allclose(truth.lat.values[i, j], lat, atol=1e-9)
    # flat+topo phase <=> R1 - R2 to < 1 mm  (0.053 rad per mm at L-band)
    r_diff = -truth.flat_topo_phase.values[i, j].astype(np.float64) * cfg.wavelength_m / (4 * np.pi)
    np.testing.assert_allclose(r_diff, r1 - r2, atol=1e-3)
    row2, col2 = m.sec_grid.pixel(t2, r2)
    np.testing.assert_allclose(truth.azimuth_offset.values[i, j], row2 - i, atol=1e-4)
    np.testing.assert_allclose(truth.range_offset.values[i, j], col2 - j, atol=1e-4)
    # secondary side: its table maps a secondary pixel to the exact reference coordinates
    g = slc.pixel_geometry(m.sec_table, m.dem, np.array([17, 201]), np.array([5, 133, 250]))
    T2, R2 = np.meshgrid(m.sec_grid.azimuth_time([17, 201]), m.sec_grid.slant_range([5, 133, 250]), indexing="ij")
    x2 = rdr2geo_ecef(T2, R2, m.sec_orbit, wavelength_m=cfg.wavelength_m, look_side=cfg.look_side, dem=m.dem,
                      tol_m=1e-6)[0]
    tr, rr = geo2rdr(x2, m.ref_orbit, wavelength_m=cfg.wavelength_m, t_guess_s=T2)
    np.testing.assert_allclose(g["r_other"], rr, atol=1e-3)
    np.testing.assert_allclose(g["t_other"], tr, atol=1e-3 / 7000.0)


def test_speckle_interpolation_is_exact_enough():
    """The 16-tap sinc interpolation of sampled speckle vs the speckle's continuous definition."""
    frac_az, frac_rg = 0.8, 0.85
    w = slc.speckle_window(7, 0, -40, 100, -40, 100, frac_az, frac_rg)
    rng = np.random.default_rng(5)
    R = rng.random(60) * 40 + 20
    C = rng.random(60) * 40 + 20
    got = slc.sinc_interp(w, R + 40, C + 40, slc.sinc_lut(16))
    exact = slc.speckle_at(7, 0, R, C, frac_az, frac_rg)
    err_db = 10 * np.log10(np.mean(np.abs(got - exact) ** 2) / np.mean(np.abs(exact) ** 2))
    assert err_db < -35.0
    # integer positions reproduce the samples
    np.testing.assert_allclose(slc.sinc_interp(w, np.array([50.0]), np.array([61.0]), slc.sinc_lut(16)),
                               w[50, 61], atol=1e-12)


# ----------------------------------------------------------------------------- the pair against truth
def test_scene_stores(loaded, small_pair):
    ref, sec, truth, m = loaded
    info = json.loads(open(small_pair.config_json).read())
    assert info["config"]["name"] == "small"
    assert info["baseline"]["perpendicular_m"] == pytest.approx(300.0, abs=1e-3)
    for s, role in ((ref, "reference"), (sec, "secondary")):
        assert s.meta.sensor == "SIMULATED" and s.meta.level == "slc" and s.meta.grid == "zero_doppler"
        assert s.data["slc"].dtype == np.complex64
        assert s.shape == (256, 256)
        assert s.meta.extra["role"] == role
    assert sec.meta.epoch != ref.meta.epoch
    np.testing.assert_allclose(ref.slant_range, m.ref_grid.slant_range())
    np.testing.assert_allclose(sec.azimuth_time, m.sec_grid.azimuth_time())
    assert "los_displacement > 0 towards" in truth.attrs["sign_convention"]


def test_interferogram_matches_truth(loaded):
    """ref * conj(secondary resampled with the truth offsets) * exp(-j(flat_topo + deformation + tropo))
    has zero mean phase, and its multilooked phase scatters as expected for the set coherence.

    Expected phase std of an N-look interferogram (Cramer-Rao, large N):
    sqrt(1 - g^2) / (g sqrt(2 N_eff)), with N_eff = N * frac_az * frac_rg independent looks
    (the speckle is band-limited)."""
    ref, sec, truth, m = loaded
    r = ref.data["slc"].values.astype(np.complex128)
    s = sec.data["slc"].values.astype(np.complex128)
    ii, jj = np.meshgrid(np.arange(256.0), np.arange(256.0), indexing="ij")
    s_res = slc.sinc_interp(s, ii + truth.azimuth_offset.values, jj + truth.range_offset.values, slc.sinc_lut(16))
    phase = truth.flat_topo_phase.values + truth.deformation_phase.values + truth.tropo_phase.values
    resid = r * np.conj(s_res) * np.exp(-1j * phase.astype(np.float64))
    gam = truth.coherence.values
    good = np.zeros_like(gam, bool)
    good[16:-16, 16:-16] = True
    good &= gam > 0.5
    for tg in m.targets:  # keep the bright target out of the statistics
        good[int(tg.reference_row) - 20:int(tg.reference_row) + 20, int(tg.reference_col) - 20:int(tg.reference_col) + 20] = False
    n = 16
    blocks = []
    for a in range(16, 240 - n + 1, n):
        for b in range(16, 240 - n + 1, n):
            if good[a:a + n, b:b + n].all():
                blocks.append((a, b))
    assert len(blocks) > 100
    ml = np.array([resid[a:a + n, b:b + n].sum() for a, b in blocks])
    p1 = np.array([np.sum(np.abs(r[a:a + n, b:b + n]) ** 2) for a, b in blocks])
    p2 = np.array([np.sum(np.abs(s_res[a:a + n, b:b + n]) ** 2) for a, b in blocks])
    g_set = float(np.median(gam[good]))
    g_est = np.abs(ml).sum() / np.sqrt(p1.sum() * p2.sum()) * 1.0
    mean_phase = np.angle(ml.sum())
    std = np.sqrt(np.mean(np.angle(ml) ** 2))
    n_eff = n * n * m.frac_az * m.frac_rg
    crb = np.sqrt(1 - g_set**2) / (g_set * np.sqrt(2 * n_eff))
    print(f"set coherence {g_set:.4f}, estimated {g_est:.4f}; mean residual {mean_phase:.4f} rad; "
          f"{n * n}-look residual std {std:.4f} rad vs expected {crb:.4f} rad")
    assert abs(mean_phase) < 0.01
    assert 0.6 * crb < std < 1.4 * crb
    assert g_est == pytest.approx(g_set, abs=0.02)
    # without the deformation term the residual is far off: the sign and size of d_los matter
    wrong = resid * np.exp(1j * 2 * truth.deformation_phase.values)
    ml_w = np.array([wrong[a:a + n, b:b + n].sum() for a, b in blocks])
    assert np.sqrt(np.mean(np.angle(ml_w) ** 2)) > 5 * std


def test_water_has_low_coherence(loaded):
    ref, sec, truth, m = loaded
    lake = truth.coherence.values < 0.1
    assert lake.sum() > 50
    assert np.all(truth.coherence.values[~lake] == pytest.approx(0.9 * 100 / 101))


def test_point_target_positions(loaded):
    """The bright scatterer peaks (oversampled) at its geometry-predicted pixel in both SLCs."""
    ref, sec, truth, m = loaded
    tg = m.targets[0]
    for data, row, col, grid in ((ref.data["slc"].values, tg.reference_row, tg.reference_col, "ref"),
                                 (sec.data["slc"].values, tg.secondary_row, tg.secondary_col, "sec")):
        pr, pc = _peak(data, row, col)
        assert abs(pr - row) < 0.01, (grid, pr, row)
        assert abs(pc - col) < 0.01, (grid, pc, col)
    # reference phase at the target = -4 pi R / lambda
    w = slc.sinc_interp(ref.data["slc"].values, np.array([tg.reference_row]), np.array([tg.reference_col]),
                        slc.sinc_lut(16))
    assert abs(np.angle(w[0] * np.exp(-1j * tg.phase_rad))) < 0.05


def _peak(data, row, col, half=32, up=16):
    i0, j0 = int(round(row)) - half, int(round(col)) - half
    patch = np.asarray(data[i0:i0 + 2 * half, j0:j0 + 2 * half], np.complex128)
    F = np.fft.fftshift(np.fft.fft2(patch))
    n = 2 * half * up
    pad = np.zeros((n, n), complex)
    o = (n - 2 * half) // 2
    pad[o:o + 2 * half, o:o + 2 * half] = F
    u = np.abs(np.fft.ifft2(np.fft.ifftshift(pad))) ** 2
    a, b = np.unravel_index(np.argmax(u), u.shape)

    def par(m1, c0, p1):
        return 0.5 * (m1 - p1) / (m1 - 2 * c0 + p1)

    da = par(u[a - 1, b], u[a, b], u[a + 1, b])
    db = par(u[a, b - 1], u[a, b], u[a, b + 1])
    return i0 + (a + da) / up, j0 + (b + db) / up


def test_same_seed_two_chunkings_identical_bytes(small_pair, tmp_path):
    from daskinsar.simulate import simulate_pair

    other = simulate_pair("small", tmp_path / "b", chunks=(96, 200))
    import zarr

    for name in ("reference.zarr", "secondary.zarr"):
        a = zarr.open_group(f"{small_pair.out_dir}/{name}", mode="r")["slc"][:]
        b = zarr.open_group(f"{other.out_dir}/{name}", mode="r")["slc"][:]
        assert a.tobytes() == b.tobytes()
    ta = xr.open_zarr(small_pair.truth, consolidated=False).load()
    tb = xr.open_zarr(other.truth, consolidated=False).load()
    for v in ta.data_vars:
        assert ta[v].values.tobytes() == tb[v].values.tobytes(), v
    # a different seed gives different speckle
    m2 = slc.build_pair_model(preset("small", seed=1))
    assert not np.allclose(slc.reference_block(m2, 0, 8, 0, 8),
                           np.asarray(zarr.open_group(f"{small_pair.out_dir}/reference.zarr", mode="r")["slc"][:8, :8]))


def test_config_errors(tmp_path):
    from daskinsar.simulate import load_config

    with pytest.raises(ConfigError, match="unknown simulation preset|not a simulation preset"):
        load_config("nosuch")
    with pytest.raises(ConfigError):
        load_config({"preset": "small", "n_azimuth": "many"})
    with pytest.raises(ConfigError):
        load_config({"preset": "small", "bogus_field": 1})
    p = tmp_path / "c.json"
    p.write_text(json.dumps({"preset": "small", "perpendicular_baseline_m": 120.0}))
    assert load_config(p).perpendicular_baseline_m == 120.0
    assert load_config(p).n_azimuth == 256


AIRBORNE = dict(platform="airborne_sch", altitude_m=12495.0, look_angle_deg=45.0, look_side="left",
                wavelength_m=0.2379, prf_hz=380.0, perpendicular_baseline_m=0.0, secondary_azimuth_shift_lines=0.0,
                secondary_range_shift_pixels=0.0)


@pytest.mark.parametrize("change, message", [
    (dict(perpendicular_baseline_m=30.0), "perpendicular_baseline_m = 30"),
    (dict(parallel_baseline_m=-2.0), "parallel_baseline_m = -2"),
    (dict(secondary_azimuth_shift_lines=3.3), "secondary_azimuth_shift_lines = 3.3"),
    (dict(secondary_range_shift_pixels=-2.6), "secondary_range_shift_pixels = -2.6"),
    (dict(secondary_prf_hz=400.0), "secondary_prf_hz set"),
    (dict(altitude_m=692e3), "below 100 km"),
    (dict(spectra={"secondary_doppler_centroid_hz": 10.0}, point_targets=[]), "per-scene spectra"),
    (dict(reference_epoch="2021-06-01T18:00:00.5"), "whole second"),
    (dict(temporal_baseline_days=8.1234567), "whole second"),
])
def test_airborne_refuses_what_one_track_cannot_fly(change, message):
    """platform airborne_sch: one line naming the option for every combination one reference track and grid
    cannot give; level raw is refused too."""
    from daskinsar.simulate import load_config, simulate_pair

    with pytest.raises(ConfigError, match=message) as exc:
        load_config({"preset": "small", **AIRBORNE, **change})
    assert "\n" not in str(exc.value) and "airborne_sch" in str(exc.value)
    if change.get("altitude_m"):
        cfg = load_config({"preset": "small", **AIRBORNE})
        with pytest.raises(ConfigError, match="level 'raw' needs platform 'satellite'"):
            simulate_pair(cfg, "/nonexistent/never-written", level="raw")


def test_airborne_track_geometry():
    """The airborne reference track, from the ellipsoid alone: constant height above it (to 1 mm over the
    scene), the configured speed and heading, the scene centre at zero Doppler under the configured look angle
    from the ellipsoid normal, on the left for a left-looking, on the right for a right-looking platform; the
    secondary flies the same positions in its own epoch."""
    from daskinsar.geometry.ellipsoid import ecef_to_llh, enu_basis

    for side, hdg in (("left", 12.5), ("right", -160.0)):
        cfg = preset("small", **{**AIRBORNE, "look_side": side}, airborne_heading_deg=hdg, n_azimuth=64, n_range=64)
        m = slc.build_pair_model(cfg)
        t = m.ref_grid.azimuth_time(np.arange(64))
        pos, vel = m.ref_orbit.interpolate(t)
        assert np.abs(ecef_to_llh(pos)[2] - cfg.altitude_m).max() < 1e-3
        assert np.allclose(np.linalg.norm(vel, axis=1), 228.0, rtol=1e-9)
        tc = 0.5 * (t[0] + t[-1])
        p, v = (x[0] for x in m.ref_orbit.interpolate(np.array([tc])))
        lon, lat, _ = (float(np.ravel(x)[0]) for x in ecef_to_llh(p))
        e, n, up = (np.asarray(b).reshape(3) for b in enu_basis(lon, lat))
        assert np.degrees(np.arctan2(v @ e, v @ n)) == pytest.approx(hdg, abs=1e-3)
        h_c = cfg.terrain.base_height_m + 0.5 * (cfg.terrain.relief_m + cfg.terrain.cone_height_m)
        d = llh_to_ecef(cfg.centre_lon_deg, cfg.centre_lat_deg, h_c).reshape(3) - p
        assert abs(d @ v) / np.linalg.norm(d) / np.linalg.norm(v) < 1e-9
        assert np.degrees(np.arccos(-(d @ up) / np.linalg.norm(d))) == pytest.approx(45.0, abs=1e-6)
        assert (np.cross(v, d) @ up > 0) == (side == "left")
        assert np.abs(m.sec_orbit.interpolate(t)[0] - pos).max() < 1e-6 and m.sec_epoch != m.ref_epoch
        assert m.sec_grid == m.ref_grid
