"""The layover/shadow mask against a brute-force truth on a steep Gaussian cone.

The simulator refuses terrain with layover, so the case is geometry only: a Kepler orbit placed by
:mod:`daskinsar.simulate.orbits`, a radar grid around a 2500 m Gaussian cone (sigma 800 m: slopes up
to 62.2 deg, steeper than the 44.6 deg incidence in front and than its 45.4 deg complement behind) and
the cone written as a DEM GeoTIFF. The truth is computed here without the stage's code: on each line's
exact zero-Doppler plane (analytic Kepler state) the *analytic* cone surface is traced every 2 m
across track; a pixel is layover where its range circle meets the surface more than once, shadow
where a straight ray from the platform to one of those points passes below the surface nearer to it.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr
from scipy import ndimage

from daskinsar.geometry.dem import dem_to_dataarray
from daskinsar.geometry.ellipsoid import ecef_to_llh, llh_to_ecef
from daskinsar.io.dem import open_dem, write_dem_geotiff
from daskinsar.scene import RadarMetadata, radar_attrs
from daskinsar.simulate import orbits as orb
from daskinsar.stages import layover
from daskinsar.stages.layover import LAYOVER, SHADOW, LayoverParams

LON_C, LAT_C = 10.0, 45.0
H0, SIGMA = 2500.0, 800.0
M_PER_DEG = 111319.49079327357
N_AZ, N_RG, DT, DR = 160, 560, 0.0045, 10.0


def cone(lon, lat):
    """The analytic surface: height (m above the ellipsoid) of the cone at (lon, lat) deg."""
    e = (np.asarray(lon) - LON_C) * M_PER_DEG * np.cos(np.deg2rad(LAT_C))
    n = (np.asarray(lat) - LAT_C) * M_PER_DEG
    return H0 * np.exp(-(e * e + n * n) / (2.0 * SIGMA**2))


@pytest.fixture(scope="module", params=[DT, DT / 8], ids=["lines-31m", "lines-3.9m"])
def scene(request, tmp_path_factory):
    """(elements, azimuth times s, slant ranges m, inputs(chunks)): lines 31 m apart on the ground (one
    profile per line), or 3.9 m (the stage traces a profile every second line: the DEM's 22 m / 2)."""
    dt = request.param
    t_c = 5.0
    el = orb.place_reference_orbit(LON_C, LAT_C, 0.0, altitude_m=700e3, inclination_deg=98.2, look_angle_deg=40.0,
                                   look_side="right", ascending=True, t_centre_s=t_c)
    orbit = orb.sample_orbit(el, "2021-01-01T00:00:00", -60.0, 70.0)
    P = llh_to_ecef(LON_C, LAT_C, 0.0)
    r_c = float(np.linalg.norm(P - orb.kepler_state(np.array(t_c), el)[0]))
    t = t_c + dt * (np.arange(N_AZ) - N_AZ // 2)
    r = r_c + DR * (np.arange(N_RG) - 260)
    d = 1.0 / 3600.0
    lon = LON_C - 0.25 + d * np.arange(int(0.5 / d) + 1)
    lat = LAT_C + 0.18 - d * np.arange(int(0.36 / d) + 1)
    path = tmp_path_factory.mktemp("cone") / "cone.tif"
    write_dem_geotiff(cone(lon[None, :], lat[:, None]).astype(np.float32), lon[0], lat[0], d, -d, path)
    meta = RadarMetadata(sensor="TEST", epoch=orbit.epoch, wavelength_m=0.056, prf_hz=1.0 / dt,
                         range_sampling_rate_hz=2.998e8 / (2 * DR), look_side="right")
    dem = dem_to_dataarray(open_dem(path, edge="clamp"))

    def inputs(chunks):
        ref = da.zeros((N_AZ, N_RG), dtype=np.complex64, chunks=chunks)
        return xr.Dataset({"reference": (("azimuth", "range"), ref), "dem": dem},
                          coords={"azimuth_time": ("azimuth", t), "slant_range": ("range", r)},
                          attrs=radar_attrs(meta, orbit, "reference"))

    return el, t, r, inputs


#: where the truth is evaluated in each pixel (fractions of the range spacing): the centre and 32 points
OFFSETS = np.sort(np.concatenate([[0.0], (np.arange(32) + 0.5) / 32 - 0.5]))
CENTRE = int(np.flatnonzero(OFFSETS == 0.0)[0])


def brute_force_truth(el, t, r):
    """From the analytic cone on each line's zero-Doppler plane: (layover, shadow) bool (lines, pixels,
    len(OFFSETS)) at the OFFSETS of each pixel, and layover anywhere in each pixel's range cell (exact: the
    ranges where the count of surface points is 2 or more form intervals between segment ends)."""
    n_az, n_rg = len(t), len(r)
    rs = (r[:, None] + DR * OFFSETS[None, :]).ravel()  # increasing
    lay = np.zeros((n_az, rs.size), bool)
    lay_cell = np.zeros((n_az, n_rg), bool)
    sha = np.zeros((n_az, rs.size), bool)
    P = llh_to_ecef(LON_C, LAT_C, 0.0)
    for i, ti in enumerate(t):
        p, v = orb.kepler_state(np.array(ti), el)
        u = v / np.linalg.norm(v)
        ez = -p / np.linalg.norm(p)
        ez -= (ez @ u) * u
        ez /= np.linalg.norm(ez)  # down, in the zero-Doppler plane
        ec = np.cross(u, ez)
        ec *= np.sign(ec @ (P - p))  # across track, towards the scene
        c_mid = (P - p) @ ec
        c = c_mid + np.arange(-7000.0, 8000.0, 2.0)

        def misfit(zz, cc):  # m: the point's ellipsoid height minus the cone's height under it
            lo, la, h = ecef_to_llh(p + cc[:, None] * ec + zz[:, None] * ez)
            return h - cone(lo, la)

        # secant iterations on the line {p + c ec + z ez} for the surface point (misfit 0)
        z0 = np.full(c.shape, (P - p) @ ez)
        g0 = misfit(z0, c)
        z = z0 + g0
        active = np.ones(c.shape, bool)
        for _ in range(30):
            g = misfit(z[active], c[active])
            den = g - g0[active]
            step = np.where(den != 0, g * (z[active] - z0[active]) / np.where(den != 0, den, 1.0), 0.0)
            z0[active], g0[active] = z[active], g
            z[active] -= step
            active[np.flatnonzero(active)[np.abs(step) < 1e-5]] = False
            if not active.any():
                break
        assert not active.any()
        rng = np.hypot(c, z)
        # every profile segment [k, k+1] meets the range circles between its two ranges (half open)
        lo_r, hi_r = np.minimum(rng[:-1], rng[1:]), np.maximum(rng[:-1], rng[1:])
        j0, j1 = np.searchsorted(rs, lo_r), np.searchsorted(rs, hi_r)
        count = np.zeros(rs.size + 1, int)
        np.add.at(count, j0, 1)
        np.add.at(count, j1, -1)
        lay[i] = np.cumsum(count)[:rs.size] >= 2
        b = np.unique(np.concatenate([lo_r, hi_r]))
        n_at = np.searchsorted(np.sort(lo_r), b, side="right") - np.searchsorted(np.sort(hi_r), b, side="right")
        k = np.flatnonzero(n_at[:-1] >= 2)  # [b_k, b_k+1) is met twice or more
        c0 = np.clip(np.floor((b[k] - r[0]) / DR + 0.5).astype(int), 0, n_rg)
        c1 = np.clip(np.ceil((b[k + 1] - r[0]) / DR + 0.5).astype(int), 0, n_rg)
        cells = np.zeros(n_rg + 1, int)
        np.add.at(cells, c0, 1)
        np.add.at(cells, c1, -1)
        lay_cell[i] = np.cumsum(cells)[:n_rg] > 0
        # the crossing points and the straight ray from the platform to each
        n_hit = j1 - j0
        seg = np.repeat(np.arange(len(j0)), n_hit)
        jj = np.repeat(j0, n_hit) + np.arange(seg.size) - np.repeat(np.cumsum(n_hit) - n_hit, n_hit)
        f = (rs[jj] - rng[seg]) / (rng[seg + 1] - rng[seg])
        cx, zx = c[seg] + f * (c[seg + 1] - c[seg]), z[seg] + f * (z[seg + 1] - z[seg])
        # the ray at profile node m (c_m < c*) is at depth z* c_m / c*: below the surface there if deeper
        # than z_m; i.e. the smallest z_m / c_m over the nearer nodes is below z* / c*
        prefix_min = np.minimum.accumulate(z / c)
        below = prefix_min[np.maximum(seg - 1, 0)] < zx / cx - 1e-3 / cx
        below &= seg > 0
        np.logical_or.at(sha[i], jj, below)
    return lay.reshape(n_az, n_rg, -1), sha.reshape(n_az, n_rg, -1), lay_cell


def _geometry(ds: xr.Dataset) -> dict:
    from daskinsar.scene import radar_info
    from daskinsar.stages.topo import dem_from_dataset

    meta, orbit = radar_info(ds.attrs, "reference")
    return dict(orbit=orbit, wavelength_m=meta.wavelength_m, look_side=meta.look_side, dem=dem_from_dataset(ds),
                oversampling=LayoverParams().profile_oversampling)


@pytest.fixture(scope="module")
def whole_mask(scene):
    return layover.run(scene[3]((N_AZ, N_RG)), LayoverParams())["mask"].values


def test_mask_flags_the_cones_layover_and_shadow_as_the_brute_force_truth(scene, whole_mask):
    """The mask against the truth at pixel centres and within pixels: it flags >= 98 % of the pixels whose
    centre is layover (shadow) in truth, and <= 1 % of the pixels truth leaves clear across their whole
    extent (the mask marks the pixel nearest each flagged profile point, so a pixel part of whose range
    cell is layover is flagged), none beyond one pixel of them."""
    el, t, r, inputs = scene
    mask = whole_mask
    ds = inputs((N_AZ, N_RG))
    grid = layover.profile_grid(t, r, **_geometry(ds))
    assert grid.line_step == (1 if t[1] - t[0] > DT / 2 else 2)  # the fine case exercises shared profiles
    lay_t, sha_t, lay_cell = brute_force_truth(el, t, r)
    lay, sha = (mask & LAYOVER) > 0, (mask & SHADOW) > 0
    figures = {}
    for name, got, want, part in (("layover", lay, lay_t, lay_cell), ("shadow", sha, sha_t, sha_t.any(axis=-1))):
        centre = want[..., CENTRE]
        assert not (centre & ~part).any()
        recall = (got & centre).sum() / centre.sum()
        false = (got & ~part).sum() / (~part).sum()
        far = got & ~ndimage.binary_dilation(part, np.ones((3, 3), bool))
        figures[name] = (int(centre.sum()), recall, false, int(far.sum()))
        print(f"{name} (profile every {grid.line_step} lines): truth {centre.sum()} pixels at their centre "
              f"({100 * centre.mean():.1f} %), {part.sum()} in part; flagged {100 * recall:.2f} % of the first, "
              f"false flags {100 * false:.3f} % of the clear pixels ({(got & ~part).sum()}), {far.sum()} beyond "
              "one pixel")
    for name, (n, recall, false, far) in figures.items():
        assert n > 1000, name  # the case has both, in quantity
        assert recall >= 0.98 and false <= 0.01 and far == 0, (name, figures[name])
    # layover on the radar-facing slope (nearer than the summit's range), shadow behind it
    cols = np.arange(N_RG)[None, :]
    assert np.median(np.broadcast_to(cols, lay.shape)[lay]) < np.median(np.broadcast_to(cols, sha.shape)[sha])
    assert set(np.unique(mask)) <= {0, 1, 2, 3} and mask.dtype == np.uint8


def test_mask_does_not_depend_on_the_chunks(scene, whole_mask):
    whole = whole_mask
    tiled = layover.run(scene[3]((47, 230)), LayoverParams())["mask"].values
    assert (whole > 0).sum() > 1000
    np.testing.assert_array_equal(tiled, whole)


def test_profile_flags_on_a_hand_made_profile():
    # ranges rise, fall on a steep foreslope, rise again; look angles dip behind a peak
    rng = np.array([[10.0, 11.0, 12.0, 11.5, 11.2, 11.8, 12.5, 13.0]])
    look = np.array([[1.0, 2.0, 3.0, 3.5, 3.2, 3.4, 3.6, 3.7]])
    flags = layover.profile_flags(rng, look)
    f = flags[0]
    lay = (f & LAYOVER) > 0
    sha = (f & SHADOW) > 0
    # points 3, 4 lie nearer than point 2 (active), 5 too (passive); 2 shares its range with 5
    assert list(lay) == [False, False, True, True, True, True, False, False]
    assert list(sha) == [False, False, False, False, True, True, False, False]
    px = layover.flags_to_pixels(rng, flags, 10.0, 0.5, 0, 8)[0]
    assert px[0] == 0 and px[2] & LAYOVER and px[3] & LAYOVER and px[4] & LAYOVER
