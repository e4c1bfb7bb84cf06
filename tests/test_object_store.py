"""A run folder on object storage (``output: s3://bucket/run``), end to end against a real S3-compatible server
(moto in server mode on 127.0.0.1, started here): threaded and on a ``dask scheduler`` + 2 workers, products
equal to a local run; a run killed mid-step leaves no half-written group visible and a rerun completes;
a second writer is refused while the first holds the lock object."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
import zarr

from daskinsar.config import RunConfig
from daskinsar.errors import RunLockedError
from daskinsar.io.export import stored_file_token
from daskinsar.io.store import is_complete
from daskinsar.pipeline import run, run_lock

from products_helpers import product_arrays, run_config, shared_run
from test_distributed import SubprocessCluster, assert_identical, start_cli_run, wait_cli

HOST = "127.0.0.1"
BUCKET = "daskinsar-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """A moto S3 server on 127.0.0.1 and the environment (credentials, endpoint) that points clients at it."""
    port = _free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)], stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": f"http://{HOST}:{port}"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        import s3fs

        t0 = time.time()
        while True:
            try:
                with socket.create_connection((HOST, port), timeout=1):
                    break
            except OSError:
                assert proc.poll() is None and time.time() - t0 < 30, "moto server did not start"
                time.sleep(0.2)
        s3fs.S3FileSystem.clear_instance_cache()
        s3fs.S3FileSystem().mkdir(BUCKET)
        yield env
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        log.close()


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    return shared_run(tmp_path_factory)


def _fs():
    import s3fs

    return s3fs.S3FileSystem()


def _visible_groups_complete(url: str) -> list[str]:
    """Names of the non-hidden groups of a products store that are not complete (must be none)."""
    root = zarr.open_group(url, mode="r")
    return [g for g in root.group_keys() if not g.startswith(".") and not is_complete(url, g)]


def _assert_products_equal(local_run: Path, url: str) -> None:
    got = product_arrays(f"{url}/products.zarr")
    want = product_arrays(str(local_run / "products.zarr"))
    assert_identical(want, got)
    fs = _fs()
    tifs = sorted(p.relative_to(local_run).as_posix() for p in local_run.glob("geo/**/*.tif"))
    remote = sorted(p.split(f"{BUCKET}/", 1)[1].split("/", 1)[1] for p in fs.find(url.removeprefix("s3://") + "/geo")
                    if p.endswith(".tif"))
    assert remote == tifs
    import rasterio

    for t in tifs:
        data = fs.cat_file(f"{url.removeprefix('s3://')}/{t}")
        with rasterio.open(local_run / t) as a, rasterio.MemoryFile(data) as m, m.open() as b:
            np.testing.assert_array_equal(a.read(), b.read())
            assert a.tags()["WAVELENGTH_M"] == b.tags()["WAVELENGTH_M"]
            assert stored_file_token(f"{url}/{t}") == a.tags()["DASKINSAR_STEP_TOKEN"]
    assert fs.exists(url.removeprefix("s3://") + "/config.json")
    assert fs.exists(url.removeprefix("s3://") + "/.daskinsar/run.json")
    assert not fs.exists(url.removeprefix("s3://") + "/.daskinsar/lock.json")  # released


def test_threaded_run_on_s3_equals_the_local_run_and_resumes(s3, local):
    sim, local_run = local
    url = f"s3://{BUCKET}/threads"
    cfg = RunConfig.model_validate(run_config(sim.out_dir, url))
    status = run(cfg, progress=False, reporter=lambda s: None)
    assert status["export"] == "done", status
    _assert_products_equal(local_run, url)
    again = run(cfg, progress=False, reporter=lambda s: None)
    # every step that wrote is up to date; a step that had nothing to do (focus of SLCs, water without a
    # raster, ...) is skipped again
    assert all(v == ("skipped" if status[k] == "skipped" else "up to date") for k, v in again.items()), again
    assert sum(v == "up to date" for v in again.values()) >= 10, again
    # one writer: the lock object refuses a second run while held
    with run_lock(url):
        with pytest.raises(RunLockedError, match="another daskinsar run is writing this folder"):
            run(cfg, progress=False, reporter=lambda s: None)


def test_distributed_run_on_s3_equals_the_local_run_with_progress_per_step(s3, local, tmp_path):
    sim, local_run = local
    url = f"s3://{BUCKET}/distributed"
    c = SubprocessCluster(tmp_path / "cluster", memory_limit="1GiB", env=s3)
    client = proc = None
    try:
        client = c.start(2)
        log = tmp_path / "run.log"
        proc = start_cli_run(run_config(sim.out_dir, url), tmp_path / "run.yaml", c.address, log, env=s3)
        text = wait_cli(proc, log, timeout=300)
    finally:
        c.shutdown(proc, client)
    print(text)
    _assert_products_equal(local_run, url)
    # progress per step in the run's own output, counted from the scheduler's tasks
    for step in ("topo", "resample", "interferogram", "unwrap", "geocode"):
        lines = [ln for ln in text.splitlines() if ln.startswith(f"{step}: writing products.zarr/") and "tasks" in ln]
        assert lines, (step, text[-3000:])
        done, total = lines[-1].split(": ")[-1].split(" tasks")[0].split("/")
        assert int(done) == int(total) > 0, lines[-1]


def test_killed_mid_step_leaves_no_half_written_group_and_the_rerun_completes(s3, local, tmp_path):
    sim, local_run = local
    url = f"s3://{BUCKET}/killed"
    cfg = run_config(sim.out_dir, url)
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(cfg))
    # a run that stalls when the interferogram's temporary group is written but not yet marked complete
    code = ("import sys, time\n"
            "import daskinsar.io.store as st\n"
            "orig = st.mark_complete\n"
            "def stalled(url, group=None):\n"
            "    if '/.interferogram.tmp-' in str(url):\n"
            f"        open({str(tmp_path / 'stalled')!r}, 'w').close()\n"
            "        time.sleep(300)\n"
            "    return orig(url, group)\n"
            "st.mark_complete = stalled\n"
            "from daskinsar.cli import main\n"
            f"sys.argv = ['daskinsar', 'run', {str(path)!r}]\n"
            "main()\n")
    flag = tmp_path / "stalled"
    log = tmp_path / "run.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=out, stderr=subprocess.STDOUT,
                                env=dict(os.environ, **s3))
    t0 = time.time()
    while not flag.exists():
        assert proc.poll() is None, log.read_text()[-3000:]
        if time.time() - t0 > 240:
            proc.kill()
            pytest.fail("the run never reached the interferogram write:\n" + log.read_text()[-3000:])
        time.sleep(0.2)
    proc.kill()
    proc.wait()
    fs = _fs()
    base = url.removeprefix("s3://")
    assert any(".interferogram.tmp-" in p for p in fs.ls(base + "/products.zarr"))  # the half-written group ...
    assert _visible_groups_complete(f"{url}/products.zarr") == []  # ... is not visible as a group
    assert not is_complete(f"{url}/products.zarr", "interferogram")
    assert fs.exists(base + "/.daskinsar/lock.json")  # the killed run's lock: its process is gone
    status = run(RunConfig.model_validate(cfg), progress=False, reporter=lambda s: None)
    assert status["topo"] == "up to date" and status["interferogram"] == "done", status
    assert not [p for p in fs.ls(base + "/products.zarr") if ".tmp-" in p]
    assert _visible_groups_complete(f"{url}/products.zarr") == []
    _assert_products_equal(local_run, url)
