"""Never lose a user's data, never report a wrong product as done: output paths, the run-folder lock,
tokens that describe the data beside them, resumable exports."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml
import zarr
from typer.testing import CliRunner

from daskinsar.cli import app
from daskinsar.config import RunConfig
from daskinsar.errors import OutputPathError, RunLockedError
from daskinsar.io.export import stored_file_token
from daskinsar.pipeline import run, run_lock, step_token
from daskinsar.steps import STEPS

runner = CliRunner()


def _invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    from daskinsar.simulate import simulate_pair

    return simulate_pair("small", tmp_path_factory.mktemp("sim") / "pair", chunks=128)


def _config(sim, out, **over) -> dict:
    d = Path(sim.out_dir)
    cfg = {"reference": {"path": str(d / "reference.zarr")}, "secondary": {"path": str(d / "secondary.zarr")},
           "dem": {"path": str(d / "dem.tif")}, "output": str(out),
           "interferogram": {"azimuth_looks": 2, "range_looks": 2}, "filter": {"strength": 0.5, "patch_size": 16},
           "geocode": {"products": ["filt_topophase.unw", "topophase.cor"]},
           "processing": {"chunk_azimuth": 128, "chunk_range": 128}}
    cfg.update(over)
    return cfg


def _tree(path: Path) -> dict:
    return {p.relative_to(path): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_ingest_never_replaces_what_it_did_not_write(data_dir, tmp_path, monkeypatch):
    src = tmp_path / "in" / "winnipeg.h5"
    src.parent.mkdir()
    shutil.copy(data_dir / "uavsar_winnipeg" / "winnipeg.h5", src)
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("field notes")
    notes = tmp_path / "notes.txt"
    notes.write_text("do not lose me")
    cases = {user: "is not a daskinsar store", notes: "is not a daskinsar store",
             src: "overwrite or hold the input", src.parent: "overwrite or hold the input"}
    before = {p: _tree(p) if p.is_dir() else p.read_bytes() for p in (user, notes, src.parent)}
    for target, expect in cases.items():
        r = _invoke("ingest", src, "-o", target)
        lines = [ln for ln in r.output.splitlines() if ln.strip()]
        assert r.exit_code != 0 and len(lines) == 1 and expect in lines[0], (target, r.output)
    monkeypatch.chdir(user)  # `-o .`: the working folder is not a store
    r = _invoke("ingest", src, "-o", ".")
    assert r.exit_code != 0 and "not a daskinsar store" in r.output
    assert {p: _tree(p) if p.is_dir() else p.read_bytes() for p in (user, notes, src.parent)} == before
    # a daskinsar store is replaced only when asked
    out = tmp_path / "wpg.zarr"
    assert _invoke("ingest", src, "-o", out).exit_code == 0
    r = _invoke("ingest", src, "-o", out)
    assert r.exit_code != 0 and "--overwrite" in r.output
    assert _invoke("ingest", src, "-o", out, "--overwrite").exit_code == 0


def test_run_folder_must_be_daskinsars(sim, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "reference.zarr").mkdir()
    (folder / "reference.zarr" / "data.bin").write_bytes(b"user data")
    before = _tree(folder)
    with pytest.raises(OutputPathError, match="not a daskinsar run folder"):
        run(RunConfig.model_validate(_config(sim, folder)), progress=False, reporter=lambda s: None)
    assert _tree(folder) == before
    with pytest.raises(OutputPathError, match="input"):
        run(RunConfig.model_validate(_config(sim, Path(sim.out_dir))), progress=False, reporter=lambda s: None)


def test_second_writer_is_refused_while_the_first_holds_the_folder(sim, tmp_path):
    out = tmp_path / "run"
    cfg = RunConfig.model_validate(_config(sim, out))
    out.mkdir()
    (out / ".daskinsar").mkdir()
    (out / ".daskinsar" / "run.json").write_text("{}")
    with run_lock(out):
        with pytest.raises(RunLockedError, match=f"pid {os.getpid()}"):
            run(cfg, progress=False, reporter=lambda s: None)
    assert not (out / "products.zarr").exists()


def _stalled_run(cfg_path: Path, group: str) -> subprocess.Popen:
    """`daskinsar run` in a subprocess that stalls when the temporary store of ``group`` is complete."""
    code = ("import sys, time\n"
            "import daskinsar.io.store as st\n"
            "orig = st.mark_complete\n"
            "def stalled(url, group=None):\n"
            f"    if '/.{group}.tmp-' in str(url):\n"
            "        time.sleep(120)\n"
            "    return orig(url, group)\n"
            "st.mark_complete = stalled\n"
            "from daskinsar.cli import main\n"
            f"sys.argv = ['daskinsar', 'run', {str(cfg_path)!r}]\n"
            "main()\n")
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _wait_for(cond, proc, timeout=300):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if cond():
            return
        assert proc.poll() is None, proc.stdout.read().decode()
        time.sleep(0.2)
    proc.kill()
    pytest.fail("the run never reached the expected point")


def test_concurrent_runs_with_two_filter_strengths_keep_products_and_tokens_together(sim, tmp_path):
    out = tmp_path / "run"
    cfg_a = _config(sim, out, filter={"strength": 0.5, "patch_size": 16})
    cfg_b = _config(sim, out, filter={"strength": 0.9, "patch_size": 16})
    pa, pb = tmp_path / "a.yaml", tmp_path / "b.yaml"
    pa.write_text(yaml.safe_dump(cfg_a))
    pb.write_text(yaml.safe_dump(cfg_b))
    proc = _stalled_run(pa, "filter")
    prod = out / "products.zarr"
    _wait_for(lambda: prod.exists() and any(p.name.startswith(".filter.tmp-") for p in prod.iterdir()), proc)
    r = _invoke("run", pb)  # the second writer, with another strength, while the first is mid-step
    assert r.exit_code != 0 and "another daskinsar run is writing this folder" in r.output, r.output
    proc.kill()
    proc.wait()
    # whichever order the runs finish in, every product carries the token of the data beside it
    for cfg_path, strength in ((pb, 0.9), (pa, 0.5), (pb, 0.9)):
        assert _invoke("run", cfg_path).exit_code == 0
        cfg = RunConfig.model_validate(yaml.safe_load(cfg_path.read_text()))
        tokens: dict[str, str] = {}
        for step in STEPS:
            tokens[step.name] = step_token(step, cfg, tokens)
        for group in ("filter", "unwrap", "geocode"):
            attrs = zarr.open_group(str(prod / group), mode="r").attrs
            assert attrs["daskinsar_step_token"] == tokens[group], group
        assert xr.open_zarr(str(prod), group="filter", consolidated=False).attrs["alpha"] == strength
        assert all(stored_file_token(f) == tokens["export"] for f in (out / "geo").glob("*.tif"))


def test_sigterm_mid_step_is_one_line_and_the_rerun_completes(sim, tmp_path):
    out = tmp_path / "run"
    p = tmp_path / "run.yaml"
    p.write_text(yaml.safe_dump(_config(sim, out)))
    proc = _stalled_run(p, "filter")
    prod = out / "products.zarr"
    _wait_for(lambda: prod.exists() and any(p.name.startswith(".filter.tmp-") for p in prod.iterdir()), proc)
    proc.send_signal(signal.SIGTERM)
    output = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 128 + signal.SIGTERM, output
    last = output.strip().splitlines()[-1]
    assert last == "error: terminated (SIGTERM); finished steps are kept, rerun to resume", output
    assert "Traceback" not in output
    assert not (prod / "filter").exists()  # the interrupted step left nothing presented as a product
    status = run(RunConfig.model_validate(yaml.safe_load(p.read_text())), progress=False, reporter=lambda s: None)
    assert status["interferogram"] == "up to date" and status["filter"] == "done"
    assert not [q for q in prod.iterdir() if q.name.startswith(".")]


def test_export_killed_midway_then_rerun_completes_every_geotiff(sim, tmp_path):
    out = tmp_path / "run"
    cfg = _config(sim, out)
    p = tmp_path / "run.yaml"
    p.write_text(yaml.safe_dump(cfg))
    # kill the run while the export step writes its second GeoTIFF
    code = ("import sys, time\n"
            "import daskinsar.io.export as ex\n"
            "orig = ex.write_cog\n"
            "n = [0]\n"
            "def slow(arr, path, **kw):\n"
            "    n[0] += 1\n"
            "    if n[0] == 2:\n"
            "        open(str(path) + '.started', 'w').close()\n"
            "        time.sleep(120)\n"
            "    return orig(arr, path, **kw)\n"
            "ex.write_cog = slow\n"
            "from daskinsar.cli import main\n"
            f"sys.argv = ['daskinsar', 'run', {str(p)!r}]\n"
            "main()\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    _wait_for(lambda: any((out / "geo").glob("*.started")) if (out / "geo").exists() else False, proc)
    proc.kill()
    proc.wait()
    for f in (out / "geo").glob("*.started"):
        f.unlink()
    assert len(list((out / "geo").glob("*.tif"))) == 1
    status = run(RunConfig.model_validate(cfg), progress=False, reporter=lambda s: None)
    assert status["geocode"] == "up to date" and status["export"] == "done"
    geo = xr.open_zarr(str(out / "products.zarr"), group="geocode", consolidated=False)
    tifs = sorted(f.name for f in (out / "geo").glob("*.tif"))
    assert tifs == sorted(f"{v}.tif" for v in geo.data_vars if v != "spatial_ref") and len(tifs) == 2
    assert not [f for f in (out / "geo").iterdir() if f.name.startswith(".")]


def test_export_write_failure_then_rerun_completes(sim, tmp_path, monkeypatch):
    """A full disk mid-export (an injected write failure): the error surfaces, the rerun completes every file."""
    import daskinsar.io.export as ex

    out = tmp_path / "run"
    cfg = RunConfig.model_validate(_config(sim, out))
    orig = ex.write_cog
    calls = [0]

    def failing(arr, path, **kw):
        calls[0] += 1
        if calls[0] == 2:
            raise OSError(28, "No space left on device", str(path))
        return orig(arr, path, **kw)

    monkeypatch.setattr(ex, "write_cog", failing)
    with pytest.raises(OSError, match="No space left"):
        run(cfg, progress=False, reporter=lambda s: None)
    monkeypatch.setattr(ex, "write_cog", orig)
    status = run(cfg, progress=False, reporter=lambda s: None)
    assert status["export"] == "done"
    files = list((out / "geo").glob("*.tif"))
    assert len(files) == 2 and all(stored_file_token(f) for f in files)
    np.testing.assert_array_equal(
        xr.open_dataarray(files[0], engine="rasterio").isnull().all().values, False)
