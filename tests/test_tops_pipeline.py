"""Sentinel-1 IW (TOPS) pairs through `daskinsar run`: simulated pixels on the geometry of real
annotations (the S1B IW1 + IW2 annotation of 2021; the real S1B IW3 burst pair of 2018/2019) read
through the Sentinel-1 reader, bursts matched, coregistered with ESD, debursted, merged, filtered,
unwrapped and geocoded; truth: the simulation's deformation, ESA's geolocation grid, ISCE2's
topsProc.xml."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as StdET
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from daskinsar.bursts import tops_parameters
from daskinsar.cli import app
from daskinsar.config import RunConfig
from daskinsar.errors import ConfigError, DaskInsarError, InputFileError
from daskinsar.geometry.dem import dem_to_dataarray
from daskinsar.geometry.ellipsoid import llh_to_ecef
from daskinsar.geometry.grid import RadarGrid
from daskinsar.geometry.orbit import seconds_between
from daskinsar.io.sentinel1 import read_sentinel1, tops_metadata
from daskinsar.io.tops_store import open_tops_scene, tops_store_attrs, write_tops_scene
from daskinsar.pipeline import run
from daskinsar.scene import meta_from_attrs
from daskinsar.simulate.presets import MogiSource, TroposphereConfig
from daskinsar.simulate.tops import SubswathCrop, TopsSimulationConfig, simulate_tops_pair
from daskinsar.stages.deburst import merge_bursts
from daskinsar.stages.geocode import lookup_tile_kernel
from daskinsar.stages.interferogram import multilook
from daskinsar.stages.tops import local_doppler_hz
from daskinsar.stages.topo import TopoParams
from daskinsar.stages.tops_coreg import burst_geometry_kernel, burst_pair_dataset, burst_topo, merged_grid_metadata
from daskinsar.steps import RunContext, build_commonband, build_ionosphere
from daskinsar.steps_tops import PAIRS_ATTR, build_resample, build_topo
from daskinsar.simulate.formats.orbit_files import write_eof

MISREGISTRATION_LINES = 0.01  # injected; ESD's unambiguous range is about +-0.05 line in IW
LOOKS = (2, 8)


def _safe(data_dir: Path) -> Path:
    return next((data_dir / "sentinel1_safe").glob("S1B_IW_SLC__*.SAFE"))


def _config(sim, out: Path, **sections) -> RunConfig:
    opts = {"polarization": sim.config.polarization} if sim.config.polarization else {}
    cfg = {"reference": {"path": str(sim.reference), "options": dict(opts)},
           "secondary": {"path": str(sim.secondary), "options": dict(opts)},
           "dem": {"path": str(sim.dem_path)}, "output": str(out),
           "processing": {"chunk_azimuth": 512, "chunk_range": 256},
           "interferogram": {"azimuth_looks": LOOKS[0], "range_looks": LOOKS[1]}, "geocode": {"posting": 0.0005}}
    for k, v in sections.items():
        cfg[k] = {**cfg.get(k, {}), **v}
    return RunConfig.model_validate(cfg)


@pytest.fixture(scope="module")
def iw_pair(data_dir, tmp_path_factory):
    """2 subswaths x 3 bursts (IW1 b3-b5, far range; IW2 b4-b6, near range: one burst cycle, their range
    overlap inside both crops), VH, Mogi deformation, troposphere, 0.01 line of azimuth misregistration."""
    cfg = TopsSimulationConfig(swath="IW1", polarization="VH", bursts=[3, 4, 5], first_sample=20200, n_samples=256,
                               subswaths=[SubswathCrop(swath="IW2", bursts=[4, 5, 6], first_sample=420, n_samples=256)],
                               azimuth_misregistration_lines=MISREGISTRATION_LINES, seed=11,
                               deformation=[MogiSource(depth_m=2000.0, volume_change_m3=3e6)],
                               troposphere=TroposphereConfig(turbulence_std_rad=0.3, stratified_rad_per_km=0.5))
    return simulate_tops_pair(_safe(data_dir), tmp_path_factory.mktemp("tops_iw_pair"), cfg)


@pytest.fixture(scope="module")
def iw_run(iw_pair, tmp_path_factory):
    out = tmp_path_factory.mktemp("tops_run") / "run"
    lines: list[str] = []
    status = run(_config(iw_pair, out), progress=False, reporter=lines.append)
    return out, status, lines


def _truth_merged(sim, run_dir: Path) -> xr.Dataset:
    """The simulation's truth per reference burst, debursted and merged as the bursts are."""
    ref = open_tops_scene(str(run_dir / "reference.zarr"))
    bursts = {}
    for k in ref.keys:
        t = xr.open_zarr(sim.reference.parents[1] / "truth.zarr", group=k, consolidated=False)
        bursts[k] = xr.Dataset({v: (("azimuth", "range"), t[v].data) for v in
                                ("los_displacement", "deformation_phase", "tropo_phase")}, coords=ref.burst(k).data.coords)
    return merge_bursts(bursts)


def _residual(run_dir: Path, truth: xr.Dataset) -> tuple[np.ndarray, dict, xr.Dataset]:
    """ifg x conj(truth phase), both on the multilooked grid, unit phasors (NaN where either has no data)."""
    ifg = xr.open_zarr(run_dir / "products.zarr", group="interferogram", consolidated=False, decode_times=False)
    valid = np.isfinite(truth["deformation_phase"].values)
    ph = np.where(valid, np.exp(1j * np.nan_to_num(truth["deformation_phase"].values + truth["tropo_phase"].values)), 0)
    t_ml = multilook(ph.astype(np.complex64), LOOKS).compute()
    r = ifg["ifg"].values * np.conj(t_ml)
    ok = np.isfinite(r) & (np.abs(t_ml) > 0.99) & (np.abs(r) > 0)  # whole cells of truth, data in the ifg
    return np.where(ok, r / np.where(ok, np.abs(r), 1), np.nan), json.loads(ifg.attrs["tops_layout"]), ifg


def _seams(resid: np.ndarray, layout: dict) -> list[dict]:
    """Every burst seam (a cut line within a subswath) and the subswath seam (a cut column): the phase step
    across it, angle(mean below|right x conj(mean above|left)), from 20 look cells either side (cells that
    straddle the cut left out), and the windows used (multilooked rows, columns)."""
    la, lr = LOOKS
    out = []
    keys = sorted(layout, key=lambda k: (layout[k]["swath"], layout[k]["rows"][0]))
    for a, b in zip(keys[:-1], keys[1:]):
        if layout[a]["swath"] != layout[b]["swath"]:
            continue
        cut = layout[a]["rows"][1]
        c0, c1 = layout[a]["columns"]
        rc, cols = cut // la, slice(-(-c0 // lr) + 1, c1 // lr - 1)
        above, below = slice(rc - 20, rc), slice(rc + (1 if cut % la else 0), rc + 20)
        step = np.angle(np.nansum(resid[below, cols]) * np.conj(np.nansum(resid[above, cols])))
        out.append({"name": f"{a}|{b}", "step": float(step), "above": (above, cols), "below": (below, cols),
                    "forward": a, "backward": b})
    by_swath = {}
    for k in keys:
        by_swath.setdefault(layout[k]["swath"], []).append(k)
    near, far = sorted(by_swath, key=lambda s: layout[by_swath[s][0]]["columns"][0])
    cut = layout[by_swath[near][0]]["columns"][1]
    cc = cut // lr
    left, right = slice(cc - 6, cc), slice(cc + (1 if cut % lr else 0), cc + 6)
    rows = np.isfinite(resid[:, left]).all(axis=1) & np.isfinite(resid[:, right]).all(axis=1)
    step = np.angle(np.nansum(resid[rows][:, right]) * np.conj(np.nansum(resid[rows][:, left])))
    out.append({"name": f"{near}|{far}", "step": float(step), "rows": rows, "left": left, "right": right,
                "near": near, "far": far})
    return out


def test_iw_pair_end_to_end(iw_pair, iw_run):
    """2 subswaths x 3 bursts through every step: the LOS displacement against the simulated deformation,
    ESD against the injected misregistration, no phase step at any burst or subswath seam."""
    run_dir, status, lines = iw_run
    assert all(status[s] == "done" for s in ("preprocess", "verifydem", "topo", "resample", "interferogram",
                                              "filter", "unwrap", "geocode", "export")), status
    assert status["focus"] == status["offsets"] == "skipped"
    # the bursts matched by their platform positions (the simulation's own matching is independent of it)
    pairs = json.loads(tops_store_attrs(str(run_dir / "reference.zarr"))[PAIRS_ATTR])["pairs"]
    assert [(p["reference"], p["secondary"]) for p in pairs] == sorted(iw_pair.pairs)
    assert all(p["same_burst_id"] for p in pairs)
    # ESD: reported, applied, the injected misregistration
    esd = json.loads(xr.open_zarr(run_dir / "products.zarr", group="interferogram", consolidated=False).attrs["esd"])
    print(f"ESD in the run: {esd['misregistration_lines']:+.5f} +- {esd['std_lines']:.5f} lines (injected "
          f"{MISREGISTRATION_LINES}), {esd['n_overlaps']} overlaps")
    assert esd["applied"] and esd["n_overlaps"] == 4
    assert abs(esd["misregistration_lines"] - MISREGISTRATION_LINES) < 0.0005
    assert any(ln.startswith("resample: ESD azimuth misregistration +0.010") for ln in lines)
    # the products stripmap runs write, in the same groups
    for g, v in (("interferogram", "ifg"), ("interferogram", "coherence"), ("interferogram", "amplitude"),
                 ("filter", "ifg"), ("unwrap", "unw"), ("unwrap", "los_displacement"), ("geocode", "unw")):
        assert v in xr.open_zarr(run_dir / "products.zarr", group=g, consolidated=False), (g, v)
    assert (run_dir / "geo" / "los_displacement.tif").exists()
    # LOS displacement (relative) against the truth, averaged over the same look cells
    truth = _truth_merged(iw_pair, run_dir)
    t_los = multilook(truth["los_displacement"].values, LOOKS).compute()
    unw = xr.open_zarr(run_dir / "products.zarr", group="unwrap", consolidated=False)
    los, cc = unw["los_displacement"].values, unw["conncomp"].values
    err = los - t_los
    ok = np.isfinite(err) & (cc > 0)
    err = err[ok] - np.median(err[ok])
    rms_mm = 1e3 * float(np.sqrt(np.mean(err**2)))
    print(f"LOS displacement - truth: {rms_mm:.2f} mm rms over {ok.sum()} cells ({ok.mean():.0%}); truth spans "
          f"{1e3 * np.nanmin(t_los):.1f} .. {1e3 * np.nanmax(t_los):.1f} mm")
    assert rms_mm <= 5.0 and ok.mean() > 0.85 and np.nanmax(t_los) - np.nanmin(t_los) > 0.05
    # look cells without any data (the merged grid is ragged) are NaN, not a guess
    empty = multilook(np.isfinite(truth["los_displacement"].values).astype(np.float32), LOOKS).compute() == 0
    assert empty.sum() > 1000 and np.isnan(unw["unw"].values[empty]).all()
    # every seam: no phase step
    resid, layout, _ = _residual(run_dir, truth)
    seams = _seams(resid, layout)
    print("seam steps with ESD (rad): " + ", ".join(f"{s['name']} {s['step']:+.4f}" for s in seams))
    assert len(seams) == 5 and all(abs(s["step"]) <= 0.05 for s in seams)


def _predicted(seam: dict, ifg: xr.Dataset, ref, m_lines: float) -> float:
    """The step a misregistration of m lines makes (Yague-Martinez et al. 2016, eq. 11 ff.): every burst
    interferogram has the phase -2 pi f(t, R) m dt, f its local Doppler centroid, so across a burst seam
    2 pi (f_fwd - f_bwd) m dt = 2 pi dt m k_t T_cycle, here averaged over the measuring windows as
    measured (the windows' own ramp k_t dt included)."""
    t, r = ifg["azimuth_time"].values, ifg["slant_range"].values
    dt = ref.params(ref.keys[0]).line_interval_s

    def mean_phase(key, rows, cols):
        tt, rr = np.meshgrid(t[rows], r[cols], indexing="ij")
        return np.angle(np.mean(np.exp(-2j * np.pi * local_doppler_hz(ref.params(key), tt, rr) * m_lines * dt)))

    if "forward" in seam:
        return float(np.angle(np.exp(1j * (mean_phase(seam["backward"], *seam["below"])
                                           - mean_phase(seam["forward"], *seam["above"])))))
    rows = np.flatnonzero(seam["rows"])
    layout = json.loads(ifg.attrs["tops_layout"])
    la = LOOKS[0]

    def key_of(swath, row):
        return next(k for k, v in layout.items() if v["swath"] == swath and v["rows"][0] <= row * la < v["rows"][1])

    steps = [mean_phase(key_of(seam["far"], i), [i], seam["right"]) - mean_phase(key_of(seam["near"], i), [i],
                                                                                      seam["left"]) for i in rows]
    return float(np.angle(np.mean(np.exp(1j * np.array(steps)))))


def test_without_esd_the_seams_step_as_theory_predicts(iw_pair, iw_run):
    """The same run with ESD off (resample and interferogram redone; later tests need neither): each burst seam
    steps by the phase the injected misregistration predicts, 2 pi (f_fwd - f_bwd) m dt (0.5-0.6 rad here):
    what ESD removes."""
    run_dir, _, _ = iw_run
    status = run(_config(iw_pair, run_dir, esd={"enabled": False}), start="resample", end="interferogram",
                 progress=False, reporter=lambda s: None)
    assert status["resample"] == status["interferogram"] == "done"
    resid, layout, ifg = _residual(run_dir, _truth_merged(iw_pair, run_dir))
    assert json.loads(ifg.attrs["esd"])["applied"] is False
    ref = open_tops_scene(str(run_dir / "reference.zarr"))
    seams = _seams(resid, layout)
    for s in seams:
        s["predicted"] = _predicted(s, ifg, ref, MISREGISTRATION_LINES)
    print("seam steps without ESD (rad), measured / predicted: " +
          ", ".join(f"{s['name']} {s['step']:+.4f} / {s['predicted']:+.4f}" for s in seams))
    for s in seams[:-1]:  # burst seams
        assert abs(s["step"] - s["predicted"]) < 0.03 and s["predicted"] > 0.45
    assert abs(seams[-1]["step"] - seams[-1]["predicted"]) < 0.03  # the subswath seam


def test_spectral_filters_asked_of_a_tops_pair_are_refused(iw_pair, iw_run):
    """Common-band filtering and the split-spectrum ionosphere are stripmap steps: on auto a TOPS run skips
    them (and says so); set to true they are refused, never run on the wrong spectra."""
    run_dir, _, _ = iw_run
    said: list[str] = []
    ctx = RunContext(_config(iw_pair, run_dir), run_dir, progress=False, reporter=said.append)
    assert build_commonband(ctx) is None and build_ionosphere(ctx) is None
    assert any(s.startswith("commonband: skipped (TOPS pair") for s in said)
    for section, match in (({"commonband": {"range": True}}, r"commonband\.range: .*TOPS"),
                           ({"commonband": {"azimuth": True}}, r"commonband\.azimuth: .*TOPS"),
                           ({"ionosphere": {"enabled": True}}, r"ionosphere\.enabled: .*TOPS")):
        ctx = RunContext(_config(iw_pair, run_dir, **section), run_dir, progress=False, reporter=said.append)
        with pytest.raises(ConfigError, match=match):
            build_ionosphere(ctx) if "ionosphere" in section else build_commonband(ctx)


def test_tasks_are_named_per_burst(iw_pair, iw_run):
    run_dir, _, _ = iw_run
    ctx = RunContext(_config(iw_pair, run_dir, esd={"enabled": False}), run_dir, progress=False,
                     reporter=lambda s: None)
    topo = build_topo(ctx)
    res = build_resample(ctx)
    assert sorted(topo) == [f"products.zarr/bursts/{k}/topo" for k in sorted(k for k, _ in iw_pair.pairs)]
    for path, ds in {**topo, **res}.items():
        key = path.split("/")[2]
        names = {k[0] if isinstance(k, tuple) else k for k in ds[next(iter(ds.data_vars))].data.__dask_graph__()}
        step = "topo" if path.endswith("topo") else "resample"
        assert any(n.startswith(f"tops-{step}-{key}-") for n in names), (path, sorted(names)[:5])


def test_merged_grid_geolocates_on_esa_geolocation_grid(data_dir):
    """The merged IW1 + IW2 grid (every burst of the real S1B annotations) with its metadata: geo2rdr of ESA's
    geolocation grid points (lat, lon, h) lands on each point's own line and pixel within 0.1 pixel (the
    residual bistatic delay as the grid's Doppler: 0.13 line without it); rdr2geo of each point's line and
    pixel (the burst geometry) lands on ESA's (lat, lon) within 0.1 pixel along track."""
    safe = _safe(data_dir)
    tops = tops_metadata(str(safe), polarization="VH")
    zero_doppler_row_err = {}
    bursts = {tops_parameters(b).key: xr.Dataset({"x": (("azimuth", "range"), da.zeros(b.shape, chunks=(-1, 4096)))},
                                                 coords=b.data.coords) for b in tops.bursts}
    merged = merge_bursts(bursts)
    b0 = tops.bursts[0]
    tau_c = tops_parameters(b0).bistatic_reference_range_time_s
    meta = merged_grid_metadata(b0.meta, b0.orbit, merged["azimuth_time"].values, merged["slant_range"].values, tau_c)
    grid = RadarGrid.from_coords(merged["azimuth_time"].values, merged["slant_range"].values)
    for sw in ("IW1", "IW2"):
        root = StdET.parse(next((safe / "annotation").glob(f"s1b-{sw.lower()}-slc-vh-*.xml"))).getroot()
        pts = root.findall("geolocationGrid/geolocationGridPointList/geolocationGridPoint")
        g = {k: np.array([float(p.findtext(k)) for p in pts]) for k in ("line", "pixel", "latitude", "longitude",
                                                                        "height")}
        bs = tops.swath_bursts(sw)
        lpb = bs[0].shape[0]
        k = np.minimum(g["line"] // lpb, len(bs) - 1).astype(int)
        t_line = np.array([bs[kk].azimuth_time[int(ln) - kk * lpb] for kk, ln in zip(k, g["line"])])
        r = np.interp(g["pixel"], np.arange(bs[0].shape[1]), bs[0].slant_range)
        want_row, want_col = grid.pixel(t_line, r)
        got, err = {}, {}
        for label, dop in (("bistatic", meta.grid_doppler_model), ("zero Doppler", None)):
            row, col = lookup_tile_kernel(grid, g["longitude"], g["latitude"], dem=lambda lo, la: g["height"],
                                          orbit=b0.orbit, wavelength_m=meta.wavelength_m, doppler=dop,
                                          t_guess_s=t_line)
            got[label] = np.isfinite(row)
            err[label] = (np.nanmax(np.abs(row - want_row)), np.nanmax(np.abs(col - want_col)))
        # the burst geometry the topo step computes, at the grid points' own line times and ranges
        x = burst_geometry_kernel(t_line, r, orbit=b0.orbit, wavelength_m=b0.meta.wavelength_m, look_side="right",
                                  dem=g["height"], tau_c_s=tau_c)
        d = llh_to_ecef(x[0], x[1], x[2]) - llh_to_ecef(g["longitude"], g["latitude"], g["height"])
        _, v = b0.orbit.interpolate(t_line)
        along = np.abs(np.sum(d * v / np.linalg.norm(v, axis=1, keepdims=True), axis=1))
        ground_line_m = 0.88 * np.linalg.norm(v, axis=1) * grid.dt_s  # ground speed ~ 0.88 orbit speed
        print(f"{sw}: ESA grid on the merged grid: max |row| {err['bistatic'][0]:.4f} (zero Doppler: "
              f"{err['zero Doppler'][0]:.4f}), max |col| {err['bistatic'][1]:.4f}, {got['bistatic'].sum()} of "
              f"{len(want_row)} points inside; burst rdr2geo vs ESA (lat, lon): max {np.max(along / ground_line_m):.4f} "
              "line along track")
        assert got["bistatic"].sum() > 0.8 * len(want_row)
        assert err["bistatic"][0] < 0.1 and err["bistatic"][1] < 0.1
        assert np.max(along / ground_line_m) < 0.1
        zero_doppler_row_err[sw] = err["zero Doppler"][0]
    assert zero_doppler_row_err["IW1"] > 0.1  # the delay matters: without it IW1 fails the 0.1 pixel


def test_bbox_processes_exactly_the_bursts_it_touches_and_eof_orbits_are_used(iw_pair, iw_run, tmp_path):
    """A lon/lat box on the overlap of IW1's first two bursts: exactly those two (and the secondary bursts
    matched to them) are stored and processed. An EOF orbit file given as a reader option is the orbit the
    run uses: the same positions 10 ms later move every pixel's ground point to where the annotation orbit's
    pixel 10 ms earlier was; an EOF that does not cover the scene is refused with one line."""
    meta = tops_metadata(str(iw_pair.reference), swath="IW1", polarization="VH")
    b0, b1 = meta.bursts[0], meta.bursts[1]
    p0, p1 = tops_parameters(b0), tops_parameters(b1)
    t_mid = 0.5 * (p1.first_line_time_s + p1.valid_first_line * p1.line_interval_s
                   + p0.first_line_time_s + p0.valid_last_line * p0.line_interval_s)
    # at the height ESA's geolocation grid has there (the reader's burst footprints are on its points):
    # linear in pixel along the grid lines, then in azimuth time between the two grid lines around t_mid
    root = StdET.parse(iw_pair.extra["reference_annotations"]["IW1"]).getroot()
    pts = root.findall("geolocationGrid/geolocationGridPointList/geolocationGridPoint")
    line = np.array([int(p.findtext("line")) for p in pts])
    pix, hgt = (np.array([float(p.findtext(k)) for p in pts]) for k in ("pixel", "height"))
    t_pt = np.array([seconds_between(meta.epoch, p.findtext("azimuthTime")) for p in pts])
    rows = np.unique(line)
    ts = np.array([t_pt[line == ln].mean() for ln in rows])
    h_at = [np.interp(40.0, pix[line == ln], hgt[line == ln]) for ln in rows]
    h = float(np.interp(t_mid, ts, h_at))
    x = burst_geometry_kernel(np.array([t_mid]), np.array([b0.slant_range[40]]), orbit=b0.orbit,
                              wavelength_m=b0.meta.wavelength_m, look_side="right", dem=h, tau_c_s=None)
    d = 0.0015
    box = f"{x[0, 0] - d},{x[1, 0] - d},{x[0, 0] + d},{x[1, 0] + d}"
    opts = {"polarization": "VH", "bbox": box, "orbit_file": str(tmp_path / "S1B_OPER_AUX_POEORB_test.EOF")}
    write_eof(b0.orbit, Path(opts["orbit_file"]), time_shift_s=0.010)  # the annotation's positions, 10 ms later
    out = tmp_path / "run-eof"
    cfg = _config(iw_pair, out)
    cfg = cfg.model_copy(update={"reference": cfg.reference.model_copy(update={"options": opts})})
    status = run(cfg, end="topo", progress=False, reporter=lambda s: None)
    assert status["topo"] == "done"
    ref = open_tops_scene(str(out / "reference.zarr"))
    assert ref.keys == ["IW1-b0", "IW1-b1"]
    assert open_tops_scene(str(out / "secondary.zarr")).keys == ["IW1-b0", "IW1-b1"]
    assert sorted(p.name for p in (out / "products.zarr" / "bursts").iterdir() if p.is_dir()) == ["IW1-b0", "IW1-b1"]
    assert all(b.orbit.source == opts["orbit_file"] for b in ref.bursts)
    runs = {label: xr.open_zarr(d / "products.zarr", group="bursts/IW1-b0/topo", consolidated=False)
            for label, d in (("annotation", iw_run[0]), ("eof", out))}
    # EOF 10 ms later: row i with the EOF sees what row i - 10 ms / dt saw with the annotation orbit
    shift = 0.010 / p0.line_interval_s
    rows = np.arange(200, 1200)
    lat_a = runs["annotation"]["lat"].values[:, 100]
    lat_e = runs["eof"]["lat"].values[rows, 100]
    want = np.interp(rows - shift, np.arange(len(lat_a)), lat_a)
    moved = np.abs(lat_e - lat_a[rows]).max()
    print(f"EOF 10 ms later: latitudes move by up to {moved * 111e3:.1f} m; against the shifted annotation "
          f"geometry: {np.abs(lat_e - want).max() * 111e3:.3f} m")
    assert moved * 111e3 > 30 and np.abs(lat_e - want).max() * 111e3 < 0.5
    # an orbit file that does not cover the scene
    short = tmp_path / "short.EOF"
    write_eof(b0.orbit, short, keep=slice(0, 4))
    cfg = _config(iw_pair, tmp_path / "run-short")
    cfg = cfg.model_copy(update={"reference": cfg.reference.model_copy(update={"options": {
        "polarization": "VH", "orbit_file": str(short)}})})
    with pytest.raises(InputFileError, match=re.escape(str(short)) + ".*covering the scene"):
        run(cfg, end="preprocess", progress=False, reporter=lambda s: None)


def test_unknown_reader_options_and_stripmap_partners_are_refused(iw_pair, tmp_path):
    cfg = _config(iw_pair, tmp_path / "r1")
    bad = cfg.model_copy(update={"reference": cfg.reference.model_copy(update={"options": {"burst": "IW1-b0"}})})
    with pytest.raises(DaskInsarError, match="has no option 'burst'.*bursts"):
        run(bad, end="preprocess", progress=False, reporter=lambda s: None)
    dense = _config(iw_pair, tmp_path / "r2", offsets={"method": "dense"})
    with pytest.raises(DaskInsarError, match="'dense' is not available for TOPS"):
        run(dense, end="preprocess", progress=False, reporter=lambda s: None)
    # ingested TOPS stores are inputs too; reader options given with one would be ignored, so they are refused
    stores = {}
    for role in ("reference", "secondary"):
        stores[role] = str(tmp_path / f"{role}-in.zarr")
        write_tops_scene(read_sentinel1(str(getattr(iw_pair, role)), polarization="VH"), stores[role])
    cfg = RunConfig.model_validate({"reference": {"path": stores["reference"]}, "secondary": {"path": stores["secondary"]},
                                    "dem": {"path": str(iw_pair.dem_path)}, "output": str(tmp_path / "r3")})
    assert run(cfg, end="preprocess", progress=False, reporter=lambda s: None)["preprocess"] == "done"
    pairs = json.loads(tops_store_attrs(str(tmp_path / "r3" / "reference.zarr"))[PAIRS_ATTR])["pairs"]
    assert [(p["reference"], p["secondary"]) for p in pairs] == sorted(iw_pair.pairs)
    # reference bursts no secondary burst sees are left out, and said so
    iw1 = str(tmp_path / "secondary-iw1.zarr")
    write_tops_scene(read_sentinel1(str(iw_pair.secondary), polarization="VH", swath="IW1"), iw1)
    lines: list[str] = []
    part = cfg.model_copy(update={"secondary": cfg.secondary.model_copy(update={"path": iw1}),
                                  "output": str(tmp_path / "r4")})
    run(part, end="preprocess", progress=False, reporter=lines.append)
    assert open_tops_scene(str(tmp_path / "r4" / "reference.zarr")).keys == ["IW1-b0", "IW1-b1", "IW1-b2"]
    assert "preprocess: reference bursts no secondary burst sees (not processed): IW2-b0, IW2-b1, IW2-b2" in lines
    opts = cfg.model_copy(update={"reference": cfg.reference.model_copy(update={"options": {"bbox": "1,2,3,4"}})})
    with pytest.raises(DaskInsarError, match="TOPS scene store takes no reader options"):
        run(opts, end="preprocess", progress=False, reporter=lambda s: None)


@pytest.fixture(scope="module")
def burst_pair(data_dir, tmp_path_factory):
    """The real 2018/2019 IW3 burst pair's geometry with simulated pixels, and 0.3 samples of range
    misregistration for the dense range check to find."""
    ref, sec = sorted((data_dir / "sentinel1_burst_pair").glob("*.SAFE"))
    cfg = TopsSimulationConfig(swath="IW3", first_sample=12000, n_samples=256, seed=5,
                               range_misregistration_samples=0.3,
                               deformation=[MogiSource(depth_m=2000.0, volume_change_m3=2e6)],
                               troposphere=TroposphereConfig(turbulence_std_rad=0.3, stratified_rad_per_km=0.5))
    return simulate_tops_pair(ref, tmp_path_factory.mktemp("tops_burst_pair"), cfg, secondary_safe=sec)


def _topsproc(data_dir: Path) -> dict:
    text = (data_dir / "sentinel1_burst_pair" / "topsProc.xml").read_text()  # tags with ':': not well-formed XML
    body = re.search(r"<baseline>(.*?)</baseline>", text, re.S).group(1)
    return {k: v.strip() for k, v in re.findall(r"<([A-Za-z0-9_\-]+)>([^<]*)</\1>", body)}


def test_burst_pair_matched_and_baselines_as_isce2(burst_pair, data_dir, tmp_path):
    """`daskinsar run` on the real pair's geometry: the bursts matched as ISCE2 matched them, the baselines it
    reports at mid-range within 0.5 m of ISCE2's (which used precise orbits); a single burst per subswath has
    no overlap, so no ESD (said so); the dense range check finds the injected range misregistration and the
    interferogram then has the truth's phase."""
    lines: list[str] = []
    out = tmp_path / "run"
    cfg = _config(burst_pair, out, offsets={"method": "geometric+dense", "skip_azimuth": 64, "skip_range": 64})
    status = run(cfg, end="interferogram", progress=False, reporter=lines.append)
    assert status["interferogram"] == "done" and status["offsets"] == "done"
    proc = _topsproc(data_dir)
    pairs = json.loads(tops_store_attrs(str(out / "reference.zarr"))[PAIRS_ATTR])["pairs"]
    assert len(pairs) == int(proc["IW-3_Number_of_common_bursts"])
    assert (pairs[0]["reference"], pairs[0]["secondary"]) == (f"IW3-b{proc['IW-3_First_common_burst_in_reference']}",
                                                              f"IW3-b{proc['IW-3_First_common_burst_in_secondary']}")
    want = (float(proc["IW-3_Bperp_at_midrange_for_first_common_burst"]),
            float(proc["IW-3_Bpar_at_midrange_for_first_common_burst"]))
    print(f"run baselines: Bperp {pairs[0]['bperp_m']:.3f} m, Bpar {pairs[0]['bpar_m']:.3f} m (ISCE2 {want})")
    assert abs(pairs[0]["bperp_m"] - want[0]) < 0.5 and abs(pairs[0]["bpar_m"] - want[1]) < 0.5
    assert any("Bperp 7.6" in ln for ln in lines)
    assert any("no ESD (no two consecutive bursts overlap)" in ln for ln in lines)
    # the dense range check against the truth's offsets (dense minus geometric)
    key = pairs[0]["reference"]
    truth = burst_pair.truth[key]
    topo = xr.open_zarr(out / "products.zarr", group=f"bursts/{key}/topo", consolidated=False)
    true_resid = float(np.nanmean(truth["range_offset"].values - topo["range_offset"].values))
    found = json.loads(xr.open_zarr(out / "products.zarr", group="interferogram",
                                    consolidated=False).attrs["esd"])["range_residual_samples"]
    print(f"dense range check: {found:+.4f} samples (truth {true_resid:+.4f})")
    assert abs(true_resid) > 0.25 and abs(found - true_resid) < 0.03
    # the interferogram (one burst: the merge is the burst's valid window) has the truth's phase
    m = merge_bursts({key: xr.Dataset({v: (("azimuth", "range"), truth[v].data) for v in
                                       ("deformation_phase", "tropo_phase")},
                                      coords=open_tops_scene(str(out / "reference.zarr")).burst(key).data.coords)})
    resid, _, ifg = _residual(out, m)
    assert meta_from_attrs(ifg.attrs, "reference").grid == "native_doppler"
    mean = np.nanmean(resid)
    print(f"burst pair: ifg - truth {np.angle(mean):+.4f} rad, |mean| {np.abs(mean):.2f}")
    assert abs(np.angle(mean)) < 0.05 and np.abs(mean) > 0.9


def _as_ew(slc_safe: Path, tmp: Path) -> Path:
    out = tmp / slc_safe.name
    (out / "annotation").mkdir(parents=True)
    (out / "measurement").mkdir()
    shutil.copy(slc_safe / "manifest.safe", out)
    src = next((slc_safe / "annotation").glob("s1b-iw1-slc-vv-*.xml"))
    name = src.name.replace("-iw1-", "-ew1-")
    (out / "annotation" / name).write_text(src.read_text().replace("<mode>IW</mode>", "<mode>EW</mode>").replace(
        "<swath>IW1</swath>", "<swath>EW1</swath>"))
    (out / "measurement" / name.replace(".xml", ".tiff")).symlink_to(
        next((slc_safe / "measurement").glob(src.stem + ".tiff")))
    return out


def test_run_refuses_an_ew_pair_with_one_line(data_dir, tmp_path):
    ew = _as_ew(_safe(data_dir), tmp_path / "ew")
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"reference: {{path: {ew}}}\nsecondary: {{path: {ew}}}\n"
                   f"dem: {{path: {data_dir / 'dem' / 'Rome-30m-DEM.tif'}}}\noutput: {tmp_path / 'run'}\n")
    r = CliRunner().invoke(app, ["run", str(cfg)])
    lines = [ln for ln in r.output.strip().splitlines() if ln.strip()]
    assert r.exit_code != 0 and len(lines) == 1 and "Traceback" not in r.output, r.output
    assert str(ew) in lines[0] and "EW (extra wide swath) product: not supported yet" in lines[0]
    assert not (tmp_path / "run" / "reference.zarr").exists()


def test_burst_topo_does_not_depend_on_chunks(burst_pair):
    """The burst geometry of one burst pair, computed in 512 x 256 and in 300 x 100 blocks: identical."""
    ref, sec = read_sentinel1(str(burst_pair.reference)), read_sentinel1(str(burst_pair.secondary))
    (rk, sk), = burst_pair.pairs
    inputs = burst_pair_dataset(ref.burst(rk), sec.burst(sk)).assign(dem=dem_to_dataarray(burst_pair.dem))
    rows = slice(600, 900)
    a = burst_topo(inputs, TopoParams(), (512, 256)).isel(azimuth=rows).compute()
    b = burst_topo(inputs, TopoParams(), (300, 100)).isel(azimuth=rows).compute()
    for v in a.data_vars:
        np.testing.assert_array_equal(a[v].values, b[v].values, err_msg=v)
    # and the offsets are the truth's (the simulation's own geometry), to 1e-3 pixel
    tr = burst_pair.truth[rk].isel(azimuth=rows)
    assert np.nanmax(np.abs(a["azimuth_offset"].values - tr["azimuth_offset"].values)) < 1e-3
