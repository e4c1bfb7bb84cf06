"""Geoid undulation: the Rome DEM's EGM96 heights to ellipsoidal heights against PROJ's EGM96
values (README truth), the compact shipped grid against PROJ's grid, grid discovery, and errors."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest
from dem_test_helpers import synthetic_geoid_n, write_synthetic_geoid

from daskinsar.geometry import geoid as G
from daskinsar.io.dem import open_dem

# EGM96 undulation, bilinear on PROJ's egm96_15 grid (data/README.md): independent truth
N_ROME_CENTRE = 48.61  # m at 42.0 N, 12.5 E
N_0_0 = 17.16  # m at 0 N, 0 E


@pytest.fixture
def no_proj_grids(monkeypatch):
    """As on a machine without PROJ's geoid grids: only daskinsar's compact grids."""
    monkeypatch.setattr(G, "_proj_dirs", lambda: [])
    G.geoid_grid.cache_clear()
    yield
    G.geoid_grid.cache_clear()


@pytest.fixture
def fresh_grids():
    G.geoid_grid.cache_clear()
    yield
    G.geoid_grid.cache_clear()


def _rome_centre_shift(rome, **kw):
    """Ellipsoidal minus file height at the Rome DEM sample on (42.0 N, 12.5 E)."""
    h = open_dem(rome, **kw)
    with pytest.warns(UserWarning, match="EGM96"):
        raw = open_dem(rome, vertical_datum="ellipsoid")
    i = int(round((42.0 - h.lat0_deg) / h.dlat_deg))
    j = int(round((12.5 - h.lon0_deg) / h.dlon_deg))
    assert h.lats()[i] == pytest.approx(42.0, abs=1e-9) and h.lons()[j] == pytest.approx(12.5, abs=1e-9)
    return float(h.heights_m[i, j].compute()) - float(raw.heights_m[i, j].compute()), h


def test_rome_dem_to_ellipsoidal_from_compact_grid(data_dir, no_proj_grids):
    rome = data_dir / "dem" / "Rome-30m-DEM.tif"
    shift, dem = _rome_centre_shift(rome)
    assert abs(shift - N_ROME_CENTRE) < 0.1, shift
    assert "compact grid egm96_15.geoid" in dem.attrs["datum_conversion"]
    assert dem.attrs["vertical_datum"] == "egm96" and "EGM96" in dem.attrs["height_reference"]
    g = G.geoid_grid("EGM96")
    assert g.values_m is not None and os.path.getsize(G.compact_grid_path("EGM96")) <= 1.5 * 2**20
    assert abs(g.undulation(0.0, 0.0) - N_0_0) < 0.1
    assert abs(g.undulation(12.5, 42.0) - N_ROME_CENTRE) < 0.1


def test_compact_grid_matches_proj_grid_when_installed(data_dir, fresh_grids):
    """With PROJ's EGM96 grid installed the conversion uses it; the compact grid agrees with it to
    its 1 mm quantisation everywhere (without PROJ's grid the compact one is what is used)."""
    rome = data_dir / "dem" / "Rome-30m-DEM.tif"
    shift, dem = _rome_centre_shift(rome)
    assert abs(shift - N_ROME_CENTRE) < 0.1, shift
    compact = G.read_compact(G.compact_grid_path("EGM96"))
    proj_path = G.find_proj_grid("EGM96")
    if proj_path is not None:
        assert proj_path in dem.attrs["datum_conversion"]
        full = G.geoid_grid("EGM96", "proj")
        rng = np.random.default_rng(0)
        lat = np.degrees(np.arcsin(rng.uniform(-1, 1, 200_000)))
        lon = rng.uniform(-180, 180, 200_000)
        assert np.abs(compact.undulation(lon, lat) - full.undulation(lon, lat)).max() <= 0.0005 + 1e-6
    # the shipped grid records what it was measured against
    err = compact.info["error_vs_source"]
    assert err["globe_max_m"] <= 0.0005 + 1e-6 and err["land_max_m"] <= 0.0005 + 1e-6


def test_proj_data_directories_are_searched(tmp_path, monkeypatch):
    monkeypatch.setenv("PROJ_DATA", os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")]))
    dirs = G._proj_dirs()
    assert dirs[:2] == [str(tmp_path / "a"), str(tmp_path / "b")] and "/usr/share/proj" in dirs
    write_synthetic_geoid(str(tmp_path / "x.tif"))
    (tmp_path / "b").mkdir()
    os.replace(tmp_path / "x.tif", tmp_path / "b" / "us_nga_egm08_25.tif")
    assert G.find_proj_grid("EGM2008") == str(tmp_path / "b" / "us_nga_egm08_25.tif")


def test_proj_grid_read_by_window(tmp_path, monkeypatch, fresh_grids):
    write_synthetic_geoid(str(tmp_path / "us_nga_egm08_25.tif"))
    monkeypatch.setattr(G, "_proj_dirs", lambda: [str(tmp_path)])
    g = G.geoid_grid("EGM2008")
    assert g.path == str(tmp_path / "us_nga_egm08_25.tif") and g.values_m is None and g.wraps
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(-170, 170, 5000), rng.uniform(-89, 89, 5000)
    np.testing.assert_allclose(g.undulation(lon, lat), synthetic_geoid_n(lon, lat), rtol=0, atol=1e-4)
    # across the antimeridian the nodes wrap: halfway between 179 E and 180 W (= -180)
    assert g.undulation(179.5, 0.0) == pytest.approx(0.5 * (synthetic_geoid_n(179, 0) + synthetic_geoid_n(-180, 0)),
                                                     abs=1e-4)


def test_missing_grid_says_how_to_install(monkeypatch, no_proj_grids):
    monkeypatch.setattr(G, "compact_grid_path", lambda model: None)
    with pytest.raises(G.GeoidGridError, match="us_nga_egm08_25.tif.*vertical_datum: ellipsoid"):
        G.geoid_grid("EGM2008")


def test_compact_grid_tool_round_trip(tmp_path):
    """tools/make_geoid_grids.py: compact grid within half a quantum of its source, error recorded."""
    spec = importlib.util.spec_from_file_location(
        "make_geoid_grids", os.path.join(os.path.dirname(__file__), "..", "tools", "make_geoid_grids.py"))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    src = write_synthetic_geoid(str(tmp_path / "full.tif"))
    out = tool.build("EGM2008", src, stride=1, quantum_m=1e-3, out_dir=str(tmp_path), points=100_000)
    assert out["globe_max_m"] <= 0.0005 + 1e-6 and out["bytes"] == os.path.getsize(out["file"])
    g = G.read_compact(out["file"])
    assert g.model == "EGM2008" and g.info["error_vs_source"]["globe_max_m"] == out["globe_max_m"]
    lon, lat = np.array([-120.3, 0.0, 77.7]), np.array([33.3, 0.0, -45.2])
    np.testing.assert_allclose(g.undulation(lon, lat), synthetic_geoid_n(lon, lat), rtol=0, atol=6e-4)
