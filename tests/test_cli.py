"""The command line: ingest, info, steps, and one-line errors for bad input."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from daskinsar.cli import app

runner = CliRunner()


def _invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_ingest_then_info(data_dir, tmp_path):
    out = tmp_path / "wpg.zarr"
    r = _invoke("ingest", data_dir / "uavsar_winnipeg" / "winnipeg.h5", "-o", out)
    assert r.exit_code == 0, r.output
    r = _invoke("info", out)
    assert r.exit_code == 0, r.output
    text = r.output
    for expected in ("UAVSAR", "250 lines x 250 samples", "2012-07-17T14:36:47", "0.241185 m", "36.591 Hz",
                     "spacing 6.2457 m", "footprint", "chunking"):
        assert expected in text, (expected, text)
    # footprint corners near the product's own bounding polygon (lon -98.7..-97.7, lat 49.3..50.0)
    import re

    pairs = [tuple(map(float, m)) for m in re.findall(r"\((-?\d+\.\d+), (-?\d+\.\d+)\)", text)]
    assert len(pairs) == 4
    assert all(-98.7 < lo < -97.6 and 49.3 < la < 50.0 for lo, la in pairs)


def test_list_sensors():
    r = _invoke("ingest", "--list-sensors")
    assert r.exit_code == 0
    for name in ("NISAR_RSLC", "SENTINEL1", "ALOS2", "ROI_PAC"):
        assert name in r.output


@pytest.mark.parametrize("case", ["truncated_h5", "safe_without_annotation", "missing", "unknown_sensor"])
def test_bad_input_one_line_error(data_dir, tmp_path, case):
    if case == "truncated_h5":
        src = (data_dir / "uavsar_winnipeg" / "winnipeg.h5").read_bytes()
        bad = tmp_path / "trunc.h5"
        bad.write_bytes(src[: len(src) // 3])
        args = ("ingest", bad, "-o", tmp_path / "x.zarr")
    elif case == "safe_without_annotation":
        src = next((data_dir / "sentinel1_safe").glob("S1B_IW_SLC*.SAFE"))
        bad = tmp_path / src.name
        shutil.copytree(src, bad, ignore=shutil.ignore_patterns("*.tiff", "annotation"))
        args = ("ingest", bad, "-o", tmp_path / "x.zarr", "--sensor", "SENTINEL1")
    elif case == "missing":
        bad = tmp_path / "nothing.h5"
        args = ("ingest", bad, "-o", tmp_path / "x.zarr")
    else:
        bad = data_dir / "uavsar_winnipeg" / "winnipeg.h5"
        args = ("ingest", bad, "-o", tmp_path / "x.zarr", "--sensor", "NOSUCHSAT")
    r = _invoke(*args)
    assert r.exit_code != 0
    lines = [ln for ln in r.output.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.output
    assert (str(bad) in lines[0]) or ("NOSUCHSAT" in lines[0])
    assert "Traceback" not in r.output
    assert not (tmp_path / "x.zarr").exists()
