"""Sentinel-1 IW read as bursts on their own grids, against ESA's own annotation (real S1B IW SLC
annotations: burst timing, geolocation grid) and ASF's burst IDs."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as StdET
from pathlib import Path

import numpy as np
import pytest

from daskinsar.bursts import TopsScene, tops_parameters
from daskinsar.errors import InputFileError, TopsSceneError
from daskinsar.geometry.ellipsoid import llh_to_ecef
from daskinsar.geometry.geo2rdr import geo2rdr
from daskinsar.geometry.orbit import seconds_between
from daskinsar.geometry.rdr2geo import rdr2geo
from daskinsar.io.readers import read_scene
from daskinsar.io.sentinel1 import tops_metadata
from daskinsar.scene import Scene
from daskinsar.simulate.formats.orbit_files import write_eof


@pytest.fixture(scope="module")
def slc_safe(data_dir) -> Path:
    return next((data_dir / "sentinel1_safe").glob("S1B_IW_SLC__*.SAFE"))


@pytest.fixture(scope="module")
def tops_vh(slc_safe) -> TopsScene:
    return tops_metadata(str(slc_safe), polarization="VH")


def _ann(slc_safe: Path, swath: str, pol: str) -> Path:
    return next((slc_safe / "annotation").glob(f"s1b-{swath.lower()}-slc-{pol.lower()}-*.xml"))


def _raw_bursts(path: Path):
    """Independent plain read of burst timing and the geolocation grid (stdlib ElementTree)."""
    r = StdET.parse(path).getroot()
    epoch = r.findtext("imageAnnotation/imageInformation/productFirstLineUtcTime")
    t = [seconds_between(epoch, b.findtext("azimuthTime")) for b in r.findall("swathTiming/burstList/burst")]
    pts = r.findall("geolocationGrid/geolocationGridPointList/geolocationGridPoint")
    grid = {k: np.array([float(p.findtext(k)) for p in pts]) for k in ("line", "pixel", "latitude", "longitude",
                                                                        "height")}
    grid["t"] = np.array([seconds_between(epoch, p.findtext("azimuthTime")) for p in pts])
    return epoch, np.array(t), int(r.findtext("swathTiming/linesPerBurst")), \
        float(r.findtext("imageAnnotation/imageInformation/azimuthTimeInterval")), grid


def test_iw_reads_as_bursts_never_as_one_stripmap_scene(slc_safe, data_dir):
    tops = read_scene(str(slc_safe), polarization="VH")
    assert isinstance(tops, TopsScene) and not isinstance(tops, Scene)
    assert tops.keys == [f"IW1-b{i}" for i in range(9)] + [f"IW2-b{i}" for i in range(10)]
    for b in tops.bursts:
        p = tops_parameters(b)
        assert b.shape[0] == p.lines_per_burst and b.data["slc"].dtype == np.complex64
        names = {k[0] for k in b.data["slc"].data.__dask_graph__() if isinstance(k, tuple)}
        assert all(n.startswith(f"read-sentinel1-tiff-{p.key}-") for n in names)
    # a stripmap path asking it for a scene's grid is refused with one clear line
    with pytest.raises(TopsSceneError, match="expected a stripmap scene, found a Sentinel-1 IW TOPS product"):
        tops.azimuth_time
    # GRD stays one Scene
    grd = read_scene(str(next((data_dir / "sentinel1_safe").glob("S1B_IW_GRDH_*.SAFE"))))
    assert isinstance(grd, Scene) and grd.meta.level == "product"


@pytest.mark.parametrize("swath,pol", [("IW1", "VV"), ("IW1", "VH"), ("IW2", "VH")])
def test_every_line_time_is_the_annotations(slc_safe, swath, pol):
    epoch, t_burst, lpb, dt, grid = _raw_bursts(_ann(slc_safe, swath, pol))
    tops = tops_metadata(str(slc_safe), swath=swath, polarization=pol)
    off = seconds_between(tops.epoch, epoch)
    assert len(tops) == len(t_burst)
    for b, tb in zip(tops.bursts, t_burst):
        np.testing.assert_allclose(b.azimuth_time - off, tb + dt * np.arange(lpb), rtol=0, atol=1e-9)
    # ESA's geolocation grid points (their zero-Doppler times, at image lines): the line's own burst
    # grid gives their time to 0 lines (a fraction of a line: the residual bistatic delay, below);
    # one time axis for the swath (as before) is off by 160 lines per burst
    k = np.minimum(grid["line"] // lpb, len(t_burst) - 1).astype(int)
    t_line = np.array([tops.bursts[kk].azimuth_time[int(ln) - kk * lpb] - off for kk, ln in zip(k, grid["line"])])
    got = (t_line - grid["t"]) / dt
    uniform = (grid["line"] * dt - grid["t"]) / dt
    print(f"{swath}/{pol}: line times - ESA grid times: {got.min():+.4f} .. {got.max():+.4f} lines "
          f"(one time axis: up to {uniform.max():.1f} lines)")
    assert np.abs(got).max() < 0.15
    assert uniform[grid["line"] == lpb].min() > 150 and uniform.max() > 1250
    # that fraction is (tau - tau_C) / 2 with tau_C the same for every subswath (IW2's mid range)
    p = tops_parameters(tops.bursts[0])
    tau = 2.0 * np.interp(grid["pixel"], np.arange(tops.bursts[0].shape[1]), tops.bursts[0].slant_range) / 2.99792458e8
    assert 5.8505e-3 < p.bistatic_reference_range_time_s < 5.8510e-3
    assert np.abs(got + p.bistatic_shift_s(tau * 2.99792458e8 / 2) / dt).max() < 0.003


@pytest.mark.parametrize("swath,pol", [("IW1", "VV"), ("IW2", "VH")])
def test_burst_pixels_agree_with_esa_geolocation_grid(slc_safe, swath, pol):
    """geo2rdr of ESA's grid points (lat, lon, h) with each burst's grid and the annotation orbit
    lands on the grid's line and pixel within 0.1 pixel."""
    _, _, lpb, _, grid = _raw_bursts(_ann(slc_safe, swath, pol))
    tops = tops_metadata(str(slc_safe), swath=swath, polarization=pol)
    xyz = np.asarray(llh_to_ecef(grid["longitude"], grid["latitude"], grid["height"])).reshape(-1, 3)
    k = np.minimum(grid["line"] // lpb, len(tops) - 1).astype(int)
    err_line, err_px, raw_line = [], [], []
    for i, b in enumerate(tops.bursts):
        sel = k == i
        t, r = geo2rdr(xyz[sel], b.orbit, wavelength_m=b.meta.wavelength_m)
        dt, dr = b.grid_spacing
        # the pixel's zero-Doppler time is its line's time + the residual bistatic delay (tau - tau_C) / 2
        shift = tops_parameters(b).bistatic_shift_s(r)
        err_line.append((t - shift - b.azimuth_time[0]) / dt - (grid["line"][sel] - i * lpb))
        raw_line.append((t - b.azimuth_time[0]) / dt - (grid["line"][sel] - i * lpb))
        err_px.append((r - b.slant_range[0]) / dr - grid["pixel"][sel])
    err_line, err_px, raw_line = np.concatenate(err_line), np.concatenate(err_px), np.concatenate(raw_line)
    print(f"{swath}/{pol}: ESA grid vs burst grids: max |line| {np.abs(err_line).max():.4f} "
          f"({np.abs(raw_line).max():.4f} without the bistatic term), max |pixel| {np.abs(err_px).max():.4f} "
          f"({err_line.size} points)")
    assert np.abs(err_line).max() < 0.1 and np.abs(err_px).max() < 0.1
    assert np.abs(raw_line).max() < 0.15


def test_burst_ids(slc_safe, tops_vh, data_dir):
    # the burst pair: ASF's burst names for these two dates are S1_372326_IW3_... (hyp3-isce2's tests)
    for safe in sorted((data_dir / "sentinel1_burst_pair").glob("*.SAFE")):
        (b,) = tops_metadata(str(safe)).bursts
        p = tops_parameters(b)
        assert (p.burst_id, p.swath, p.relative_orbit, p.burst_id_source) == (372326, "IW3", 174, "computed")
    # the 2021 product: consecutive IDs along each subswath, track 168 as in its manifest
    for sw in ("IW1", "IW2"):
        ids = [tops_parameters(b).burst_id for b in tops_vh.swath_bursts(sw)]
        assert np.all(np.diff(ids) == 1) and {tops_parameters(b).relative_orbit for b in tops_vh} == {168}
    # the bursts of one cycle share an ID across subswaths: IW2 senses ~0.832 s after IW1
    for b1 in tops_vh.swath_bursts("IW1"):
        p1 = tops_parameters(b1)
        p2 = min((tops_parameters(b) for b in tops_vh.swath_bursts("IW2")),
                 key=lambda p: abs(p.sensing_time_s - p1.sensing_time_s - 0.832))
        assert abs(p2.sensing_time_s - p1.sensing_time_s - 0.832) < 0.05 and p2.burst_id == p1.burst_id


def test_bursts_option(slc_safe, tops_vh):
    bid = tops_parameters(tops_vh.burst("IW1-b3")).burst_id
    assert read_scene(str(slc_safe), polarization="VH", bursts=f"{bid}_IW1").keys == ["IW1-b3"]
    assert read_scene(str(slc_safe), polarization="VH", bursts="IW1-b3,IW2-b0").keys == ["IW1-b3", "IW2-b0"]
    both = read_scene(str(slc_safe), polarization="VH", bursts=bid).keys
    assert len(both) == 2 and both[0] == "IW1-b3" and both[1].startswith("IW2-")
    with pytest.raises(InputFileError, match="bursts 999"):
        read_scene(str(slc_safe), polarization="VH", bursts="999")


def test_bbox_touching_two_bursts_selects_those(slc_safe):
    tops = tops_metadata(str(slc_safe), swath="IW1", polarization="VV")
    p3, p4 = tops_parameters(tops.bursts[3]), tops_parameters(tops.bursts[4])
    b3 = tops.bursts[3]
    # the middle of the valid overlap of bursts 3 and 4, mid range, on the ellipsoid at the scene's height
    t_a = p4.first_line_time_s + p4.valid_first_line * p4.line_interval_s
    t_b = p3.first_line_time_s + p3.valid_last_line * p3.line_interval_s
    lon, lat, _ = rdr2geo(np.array([0.5 * (t_a + t_b)]), np.array([b3.slant_range[10000]]), b3.orbit,
                          wavelength_m=b3.meta.wavelength_m, look_side="right", dem=1500.0)
    d = 0.002
    box = f"{lon[0] - d},{lat[0] - d},{lon[0] + d},{lat[0] + d}"
    assert read_scene(str(slc_safe), swath="IW1", polarization="VV", bbox=box).keys == ["IW1-b3", "IW1-b4"]
    # the middle of burst 5 only
    t5 = tops_parameters(tops.bursts[5]).mid_time_s
    lon, lat, _ = rdr2geo(np.array([t5]), np.array([b3.slant_range[10000]]), b3.orbit,
                          wavelength_m=b3.meta.wavelength_m, look_side="right", dem=1500.0)
    box = (lon[0] - d, lat[0] - d, lon[0] + d, lat[0] + d)
    assert read_scene(str(slc_safe), swath="IW1", polarization="VV", bbox=box).keys == ["IW1-b5"]
    with pytest.raises(InputFileError, match="bursts intersecting bbox"):
        read_scene(str(slc_safe), swath="IW1", polarization="VV", bbox="10,10,10.1,10.1")


def test_orbit_file_replaces_the_annotation_orbit(slc_safe, tmp_path):
    ann = tops_metadata(str(slc_safe), swath="IW1", polarization="VV")
    b = ann.bursts[4]
    eof = tmp_path / "S1B_OPER_AUX_POEORB_test.EOF"
    write_eof(b.orbit, eof, time_shift_s=0.010)  # the same positions, 10 ms later
    got = tops_metadata(str(slc_safe), swath="IW1", polarization="VV", orbit_file=str(eof))
    g = got.bursts[4]
    assert g.orbit.source == str(eof) and got.attrs["orbit_source"] == str(eof)
    # a target seen from the moved orbit is seen 10 ms (4.86 lines) later, at the same range
    x = np.array([llh_to_ecef(12.3, 46.9, 1500.0)])
    t_a, r_a = geo2rdr(x, b.orbit, wavelength_m=b.meta.wavelength_m)
    t_e, r_e = geo2rdr(x, g.orbit, wavelength_m=g.meta.wavelength_m)
    assert abs((t_e - t_a)[0] - 0.010) < 1e-6 and abs((r_e - r_a)[0]) < 1e-3
    # an orbit file that does not cover the scene: one clear error naming it
    far = tmp_path / "short.EOF"
    write_eof(b.orbit, far, keep=slice(0, 4))
    with pytest.raises(InputFileError, match=re.escape(str(far)) + ".*covering the scene"):
        read_scene(str(slc_safe), swath="IW1", polarization="VV", orbit_file=str(far))


def _as_mode(slc_safe: Path, tmp: Path, mode: str, swath: str) -> Path:
    out = tmp / slc_safe.name
    (out / "annotation").mkdir(parents=True)
    (out / "measurement").mkdir()
    shutil.copy(slc_safe / "manifest.safe", out)
    src = _ann(slc_safe, "IW1", "VV")
    text = src.read_text().replace("<mode>IW</mode>", f"<mode>{mode}</mode>").replace(
        "<swath>IW1</swath>", f"<swath>{swath}</swath>")
    name = src.name.replace("-iw1-", f"-{swath.lower()}-")
    (out / "annotation" / name).write_text(text)
    (out / "measurement" / name.replace(".xml", ".tiff")).symlink_to(
        next((slc_safe / "measurement").glob(src.stem + ".tiff")))
    return out


@pytest.mark.parametrize("mode,swath,what", [("EW", "EW1", "EW \\(extra wide swath\\)"),
                                             ("WV", "WV1", "WV \\(wave mode\\)")])
def test_ew_and_wave_mode_are_refused(slc_safe, tmp_path, mode, swath, what):
    safe = _as_mode(slc_safe, tmp_path, mode, swath)
    with pytest.raises(InputFileError, match=f"{what} product: not supported yet"):
        read_scene(str(safe))


def test_run_refuses_an_iw_pair_as_stripmap(slc_safe, data_dir, tmp_path):
    from typer.testing import CliRunner

    from daskinsar.cli import app

    # IW pairs are processed now (tests/test_tops_pipeline.py); what stays refused is an IW product paired
    # with a stripmap scene (here the GRD of the same date), which would be processed as one image
    grd = next((data_dir / "sentinel1_safe").glob("S1B_IW_GRDH_*.SAFE"))
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"reference: {{path: {slc_safe}}}\nsecondary: {{path: {grd}}}\n"
                   f"dem: {{path: {data_dir / 'dem' / 'Rome-30m-DEM.tif'}}}\noutput: {tmp_path / 'run'}\n")
    r = CliRunner().invoke(app, ["run", str(cfg), "--end", "preprocess"])
    lines = [ln for ln in r.output.strip().splitlines() if ln.strip()]
    assert r.exit_code != 0 and len(lines) == 1 and "Traceback" not in r.output, r.output
    assert str(slc_safe) in lines[0] and "TOPS" in lines[0]
