"""Smoke test of the benchmark harness (benchmarks/run.py): it runs and writes its reports.

The figures at these tiny sizes mean nothing; what is checked is that the command still
works against the current stage APIs and writes a JSON and a Markdown report with the
expected keys, and that the goal table and report renderer handle every section (the slow
sections -- unwrap peers, scaling children, end-to-end runs -- are fed recorded-shape
figures instead of being run, to keep this under a minute).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
GOAL_STATUSES = {"met", "not met", "not measured"}
N_GOALS = 9


@pytest.fixture(scope="module")
def run_module():
    """benchmarks/run.py imported under a name that cannot clash with other modules."""
    spec = importlib.util.spec_from_file_location("daskinsar_benchmarks_run", BENCH / "run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_tiny_run_writes_reports(tmp_path):
    sections = "copy,focus,filter,resample,crossmul,multilook,topo,geocode"
    out = tmp_path / "report"
    res = subprocess.run([sys.executable, str(BENCH / "run.py"), "--tiny", "--only", sections, "--out", str(out)],
                         capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr[-3000:]
    rep = json.loads(out.with_suffix(".json").read_text())
    assert {"profile", "sizes", "machine", "load_start", "load_end", "sections", "goals", "seconds"} <= set(rep)
    assert rep["profile"] == "tiny"
    assert len(rep["load_start"]) == 3 and rep["machine"]["cpu_count"] >= 1
    s = rep["sections"]
    assert set(sections.split(",")) <= set(s)
    failed = {k: v["error"] for k, v in s.items() if "error" in v}
    assert not failed, failed
    # limits and ratios are there and are positive numbers
    assert s["copy"]["GB_per_s_read_plus_write"] > 0
    assert s["focus"]["fft_floor_1thread_s"] > 0 and s["focus"]["ratio_to_fft_floor"] > 0
    assert s["filter"]["ratio_to_fft_floor"] > 0 and s["filter"]["Msamples_per_s_1thread"] > 0
    for k in ("no_phase", "with_geometric_phase"):
        assert 0 < s["crossmul"][k]["fraction_of_copy_bandwidth"]
    assert 0 < s["resample"]["fraction_of_copy_bandwidth"]
    assert 0 < s["multilook"]["fraction_of_copy_bandwidth"]
    assert s["multilook"]["dolphin"]["status"] in {"measured", "not installed", "not importable"}
    assert s["topo"]["pixels_per_s"] > 0
    gc = s["geocode"]
    assert gc["daskinsar"]["output_pixels_per_s"] > 0 and gc["daskinsar"]["valid_pixels"] > 0
    # the geocoded height must be the DEM height there (independent truth): well under a metre
    assert gc["daskinsar"]["abs_error_vs_dem_m"]["median"] < 1.0
    # goals: every goal listed, with a valid status; sections not run are "not measured"
    assert len(rep["goals"]) == N_GOALS
    assert {g["status"] for g in rep["goals"]} <= GOAL_STATUSES
    byname = {g["goal"]: g for g in rep["goals"]}
    assert byname["2-worker speedup >= 1.8"]["status"] == "not measured"
    assert byname["focus within 2x of its FFT floor"]["status"] in {"met", "not met"}
    md = out.with_suffix(".md").read_text()
    for head in ("# daskinsar benchmark report", "## Goals", "## Stage throughput vs limits", "## Peers"):
        assert head in md
    assert "Load average" in md


def test_goals_and_markdown_cover_slow_sections(run_module):
    """The renderer and goal table on the slow sections' figures (as their functions return them)."""
    unwrap_mode = {"seconds": 10.0, "cpu_seconds": 12.0, "congruent_fraction": 0.999, "snaphu_peak_MiB": 50.0,
                   "total_peak_MiB": 300.0}
    run = {"seconds": 2.0, "cpu_seconds": 2.0, "baseline_rss_MiB": 280.0, "tasks": 10, "size": 256,
           "scene_factor": 1, "workers": 1, "peak_rss_MiB": 300.0, "working_set_MiB": 20.0, "Msamples_per_s": 1.0}
    rep = {
        "profile": "test", "sizes": {"demo": "demo"}, "started": "now", "load_start": [1, 1, 1],
        "load_end": [1, 1, 1], "seconds": 1.0, "machine": {"cpu_count": 2},
        "sections": {
            "unwrap": {"size": 2048, "single_snaphu": unwrap_mode, "tiled": dict(unwrap_mode, seconds=2.0),
                       "tiles": [4, 4], "speedup_wall": 5.0, "speedup_cpu": 4.0,
                       "tiled_variants": {"2x2": dict(unwrap_mode, seconds=4.0, speedup_wall=2.5, speedup_cpu=2.0),
                                          "4x4": dict(unwrap_mode, seconds=2.0, speedup_wall=5.0, speedup_cpu=4.0)},
                       "congruent_fraction": {"single": 0.999, "tiled": 0.999}},
            "scaling": {"graph": "g", "chunk": 64, "scheduler": "threads",
                        "runs": [run, dict(run, workers=2, seconds=1.0), dict(run, size=512, scene_factor=4,
                                                                               workers=2, seconds=4.0)],
                        "speedup_2_workers": 2.0,
                        "scene_4x": {"time_ratio": 4.0, "ideal_time_ratio": 4, "peak_rss_ratio": 1.0,
                                     "working_set_ratio": 1.0}},
            "e2e": {"demo": {"seconds": 60.0, "peak_rss_MiB": 500.0, "step_seconds": {"topo": 1.0},
                             "figures": {"simulate_s": 1, "process_s": 2, "rms_error_m": 1e-3}},
                    "pair": {"size": [4096, 4096], "preset": "demo", "simulate_seconds": 1.0,
                             "simulate_peak_rss_MiB": 1.0, "process_seconds": 1.0, "process_peak_rss_MiB": 1.0,
                             "step_seconds": {}}},
        },
    }
    goals = {g["goal"]: g for g in run_module.goals(rep)}
    assert len(goals) == N_GOALS
    unwrap_goal = goals["unwrapping 2048^2 >= 4x faster than one SNAPHU call, no loss of correctness"]
    assert unwrap_goal["status"] == "met"
    assert goals["2-worker speedup >= 1.8"]["status"] == "met"
    assert goals["peak worker memory within 20% between 1x and 16x scene"]["status"] == "met"
    assert goals["focus within 2x of its FFT floor"]["status"] == "not measured"
    # a tiled result that lost correctness does not meet the unwrapping goal however fast it is
    rep["sections"]["unwrap"]["congruent_fraction"]["tiled"] = 0.9
    assert {g["goal"]: g for g in run_module.goals(rep)}[unwrap_goal["goal"]]["status"] == "not met"
    rep["goals"] = run_module.goals(rep)
    md = run_module.markdown(rep)
    for text in ("## Scaling", "## End to end", "2-thread speedup", "one SNAPHU call", "4096 x 4096 pair",
                 "tiled 2x2", "tiled 4x4"):
        assert text in md
