"""TOPS deramping phase against ESA's definition (MPC-0201) evaluated independently from the raw
annotation of a real S1B IW1 burst."""

from __future__ import annotations

import xml.etree.ElementTree as StdET

import numpy as np
import pytest

from daskinsar.geometry.orbit import seconds_between
from daskinsar.io.sentinel1 import open_safe
from daskinsar.stages import tops

C = 299792458.0


@pytest.fixture(scope="module")
def swath(data_dir):
    safe = next((data_dir / "sentinel1_safe").glob("S1B_IW_SLC__*.SAFE"))
    return open_safe(safe).swath("IW1", "VV")


def _esa_phase(path, k, lines, samples):
    """ESA's deramping phase written from the raw XML: nearest FM-rate / Doppler estimates to the burst
    centre, polynomials in tau - t0, speed from a cubic through the 4 state vectors around the centre."""
    r = StdET.parse(path).getroot()
    ep = r.findtext("imageAnnotation/imageInformation/productFirstLineUtcTime")
    dt = float(r.findtext("imageAnnotation/imageInformation/azimuthTimeInterval"))
    tau0 = float(r.findtext("imageAnnotation/imageInformation/slantRangeTime"))
    fs = float(r.findtext("generalAnnotation/productInformation/rangeSamplingRate"))
    lam = C / float(r.findtext("generalAnnotation/productInformation/radarFrequency"))
    kpsi = np.deg2rad(float(r.findtext("generalAnnotation/productInformation/azimuthSteeringRate")))
    lpb = int(r.findtext("swathTiming/linesPerBurst"))
    b = r.findall("swathTiming/burstList/burst")[k]
    t_mid = seconds_between(ep, b.findtext("azimuthTime")) + dt * lpb / 2
    osv = r.findall("generalAnnotation/orbitList/orbit")
    ot = np.array([seconds_between(ep, o.findtext("time")) for o in osv])
    ov = np.array([[float(o.findtext(f"velocity/{c}")) for c in "xyz"] for o in osv])
    near = np.argsort(np.abs(ot - t_mid))[:4]
    v = np.linalg.norm([np.polyval(np.polyfit(ot[near] - t_mid, ov[near, i], 3), 0.0) for i in range(3)])

    def nearest(tag, poly):
        nodes = r.findall(tag)
        n = min(nodes, key=lambda e: abs(seconds_between(ep, e.findtext("azimuthTime")) - t_mid))
        return float(n.findtext("t0")), [float(x) for x in n.findtext(poly).split()]

    fm_t0, fm = nearest("generalAnnotation/azimuthFmRateList/azimuthFmRate", "azimuthFmRatePolynomial")
    dc_t0, dc = nearest("dopplerCentroid/dcEstimateList/dcEstimate", "dataDcPolynomial")
    tau = tau0 + np.asarray(samples) / fs
    ka = np.polyval(fm[::-1], tau - fm_t0)
    fdc = np.polyval(dc[::-1], tau - dc_t0)
    ks = 2 * v * kpsi / lam
    kt = ka * ks / (ka - ks)
    eta_ref = -fdc / ka + np.polyval(dc[::-1], tau0 - dc_t0) / np.polyval(fm[::-1], tau0 - fm_t0)
    eta = (np.asarray(lines, float) - lpb / 2) * dt
    d = eta[:, None] - eta_ref[None, :]
    return -np.pi * kt * d * d - 2 * np.pi * fdc * d, kt, dt


def test_deramp_phase_is_esa_definition_at_every_range(swath):
    lines = np.arange(0, 1501, 25)
    samples = np.array([0, 3000, 10000, 21631])
    want, kt, dt = _esa_phase(swath.annotation, 4, lines, samples)
    got = tops.burst_deramp_phase(swath.tops_parameters(4), lines, samples)
    assert np.abs(got - want).max() < 1e-6 * np.abs(want).max()
    # k_a, f_dc (hence k_t and eta_ref) are those of each sample's range time, not of the first sample
    eta = (lines - 750.5) * dt
    fitted = [-np.polyfit(eta, got[:, j], 2)[0] / np.pi for j in range(len(samples))]
    np.testing.assert_allclose(fitted, kt, rtol=1e-6)
    assert (kt[-1] - kt[0]) / kt[0] < -0.005  # k_t drops by ~1.7% across IW1


def test_deramp_reramp_and_local_doppler(swath):
    p = swath.tops_parameters(2)
    t = p.mid_time_s + np.linspace(-1.5, 1.5, 7)[:, None]
    r = swath.near_range_m + np.array([0.0, 20000.0, 45000.0])[None, :]
    phi = tops.deramp_phase(p, t, r)
    x = np.exp(1j * np.arange(21).reshape(7, 3)).astype(np.complex64)
    np.testing.assert_allclose(tops.reramp(tops.deramp(x, phi), phi), x, atol=1e-5)
    # the local Doppler is what the ramp's phase sweeps: f = -(1/2 pi) d phi / d eta
    h = 1e-4
    f_num = -(tops.deramp_phase(p, t + h, r) - tops.deramp_phase(p, t - h, r)) / (4 * np.pi * h)
    np.testing.assert_allclose(tops.local_doppler_hz(p, t, r), f_num, rtol=1e-6, atol=1e-3)
    # over a burst the centroid sweeps several line rates (TOPS), increasing from aft to fore
    f = tops.local_doppler_hz(p, t, r)
    assert np.all(np.diff(f, axis=0) > 0) and (f[-1] - f[0]).min() * p.line_interval_s > 5


def test_resampling_ramps_are_esa_phase_at_each_source_position(swath):
    """The compiled deramp / reramp of burst resampling: ``x exp(+-j phi)``, phi ESA's at each pixel's own
    (fractional) source position; 0 where an offset is not finite or the source is outside the valid window."""
    k = 4
    p = swath.tops_parameters(k)
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(48, 80)) + 1j * rng.normal(size=(48, 80))).astype(np.complex64)
    a0, c0 = 40, 15000  # the block's place in the burst: the ramp is steep here (eta ~ -1 s)
    where = {0: {"array-location": [(a0, a0 + 48), (c0, c0 + 80)]}}

    def phase_error(got, want):
        return np.abs(np.angle(got * np.conj(x) * np.exp(-1j * want)))

    want, _, _ = _esa_phase(swath.annotation, k, a0 + np.arange(48), c0 + np.arange(80))
    got = tops._deramp_block(x, p, swath.near_range_m, 0.0, block_info=where)
    assert np.abs(want).max() > 1000  # many turns of phase across the block
    assert phase_error(got, want).max() < 1e-6 * np.abs(want).max() + 1e-5
    np.testing.assert_allclose(np.abs(got), np.abs(x), rtol=1e-5)
    # source positions off the pixel grid, separable so ESA's phase takes them as lines x samples
    ii, jj = np.indices(x.shape, dtype=np.float64)
    az, rg = 0.3 + 0.01 * ii, -2.7 + 0.02 * jj
    want, _, _ = _esa_phase(swath.annotation, k, a0 + 1.01 * np.arange(48) + 0.3, c0 + 1.02 * np.arange(80) - 2.7)
    az[5, 7] = np.nan
    n_lines = p.lines_per_burst
    first, last = np.full(n_lines, c0 + 10, np.int64), np.full(n_lines, c0 + 60, np.int64)
    first[a0 + 20] = -1  # a line with no valid sample
    got = tops._reramp_block(x, az, rg, p, swath.near_range_m, (first, last), block_info=where)
    src_line = np.rint(a0 + ii + az)
    src_sample = c0 + jj + rg
    outside = (~np.isfinite(az) | (src_line == a0 + 20) | (src_sample < c0 + 10) | (src_sample > c0 + 60))
    assert outside.sum() > 0.3 * x.size and (got[outside] == 0).all()
    assert phase_error(got, -want)[~outside].max() < 1e-6 * np.abs(want).max() + 1e-5
