"""daskinsar on a real dask.distributed cluster: a ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1.

What is checked (all on simulated pairs, all processes bound to 127.0.0.1 and killed at teardown):

- ``daskinsar run CONFIG --scheduler tcp://...`` (a subprocess, like a user's) gives products
  bit-identical to a threaded run: every variable of every ``products.zarr`` group;
- SIGKILL of a worker while topo/resample tasks run on it: the run still completes (the scheduler
  reschedules the lost tasks on the surviving worker and on a replacement) with identical products;
- the scheduler's task prefixes (the dashboard's task-stream/progress names) read as pipeline stages;
- out of core: a pair whose two SLCs together exceed the workers' combined ``--memory-limit`` runs
  to completion on two one-thread workers that spill to their ``--local-directory``; peak worker
  memory (RSS of each worker process tree, sampled with psutil) and spilled bytes are reported.

The cluster helpers here are also used by ``benchmarks/bench_out_of_core.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml
import zarr

MiB = 2**20
HOST = "127.0.0.1"


# ------------------------------------------------------------------------------------------ helpers
def _kill_tree(proc: subprocess.Popen, sig=signal.SIGKILL) -> None:
    """Kill a process started in its own session, and everything in that session."""
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover
        pass


@dataclass
class SubprocessCluster:
    """A ``dask scheduler`` plus ``dask worker`` processes on 127.0.0.1, started as a user would.

    Ports are picked by the OS (``--port 0``); the scheduler writes its address to a
    scheduler file that the workers and the test read. Workers run without a nanny so the
    process we SIGKILL *is* the worker, with one thread each (FFTW/numba kernels are
    single-threaded per task) and a memory limit and ``--local-directory`` (spill) each.
    """

    workdir: Path
    memory_limit: str = "1GiB"
    nthreads: int = 1
    env: dict = field(default_factory=dict)
    tls: dict | None = None  # {"ca": path, "cert": path, "key": path}: mutual TLS (tls://)
    procs: dict = field(default_factory=dict)
    address: str = ""
    _logs: list = field(default_factory=list)

    def _popen(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "w")
        self._logs.append(log)
        env = dict(os.environ, **self.env)
        p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        self.procs[name] = p
        return p

    def _tls_args(self) -> list[str]:
        if not self.tls:
            return []
        return ["--tls-ca-file", str(self.tls["ca"]), "--tls-cert", str(self.tls["cert"]),
                "--tls-key", str(self.tls["key"])]

    def client_env(self) -> dict:
        """Environment that makes a client (e.g. ``daskinsar run``) use this cluster's TLS credentials."""
        if not self.tls:
            return {}
        return {"DASK_DISTRIBUTED__COMM__TLS__CA_FILE": str(self.tls["ca"]),
                "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT": str(self.tls["cert"]),
                "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY": str(self.tls["key"]),
                "DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION": "True"}

    def start_scheduler(self, timeout: float = 60) -> str:
        self.workdir.mkdir(parents=True, exist_ok=True)
        sfile = self.workdir / "scheduler.json"
        sfile.unlink(missing_ok=True)
        self._popen("scheduler", [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", HOST,
                                  "--port", "0", "--dashboard-address", f"{HOST}:0", "--scheduler-file", str(sfile),
                                  "--no-show"] + (["--protocol", "tls"] + self._tls_args() if self.tls else []))
        t0 = time.time()
        while time.time() - t0 < timeout:
            if self.procs["scheduler"].poll() is not None:
                raise RuntimeError(f"dask scheduler exited: {self.log('scheduler')}")
            if sfile.exists():
                try:
                    self.address = json.loads(sfile.read_text())["address"]
                    return self.address
                except (json.JSONDecodeError, KeyError):
                    pass
            time.sleep(0.1)
        raise TimeoutError(f"dask scheduler did not start in {timeout} s: {self.log('scheduler')}")

    def start_worker(self, name: str) -> subprocess.Popen:
        return self._popen(name, [sys.executable, "-m", "distributed.cli.dask_worker", self.address,
                                  "--host", HOST, "--nthreads", str(self.nthreads), "--nworkers", "1",
                                  "--memory-limit", self.memory_limit, "--no-nanny", "--no-dashboard",
                                  "--local-directory", str(self.workdir / f"{name}-scratch"), "--name", name]
                           + self._tls_args())

    def client(self, timeout: float = 30):
        from distributed import Client
        from distributed.security import Security

        sec = None
        if self.tls:
            sec = Security(tls_ca_file=str(self.tls["ca"]), tls_client_cert=str(self.tls["cert"]),
                           tls_client_key=str(self.tls["key"]), require_encryption=True)
        return Client(self.address, timeout=timeout, set_as_default=False, security=sec)

    def wait_for_workers(self, client, n: int, timeout: float = 90) -> None:
        t0 = time.time()
        while len(client.scheduler_info(n_workers=-1)["workers"]) < n:
            for name, p in self.procs.items():
                if p.poll() is not None and name != "scheduler" and not getattr(p, "_killed_on_purpose", False):
                    raise RuntimeError(f"{name} exited: {self.log(name)}")
            if time.time() - t0 > timeout:
                raise TimeoutError(f"only {len(client.scheduler_info()['workers'])} of {n} workers after {timeout} s")
            time.sleep(0.2)

    def start(self, n_workers: int = 2):
        """Scheduler plus ``n_workers`` workers (w0, w1, ...); returns a connected client."""
        self.start_scheduler()
        for i in range(n_workers):
            self.start_worker(f"w{i}")
        client = self.client()
        self.wait_for_workers(client, n_workers)
        return client

    def shutdown(self, proc=None, client=None) -> None:
        """End a test's CLI run (its whole process tree), its client, then the cluster."""
        if proc is not None:
            _kill_tree(proc)
        if client is not None:
            client.close()
        self.close()

    def worker_pids(self) -> dict[str, int]:
        return {k: p.pid for k, p in self.procs.items() if k != "scheduler" and p.poll() is None}

    def kill(self, name: str) -> None:
        p = self.procs[name]
        p._killed_on_purpose = True
        _kill_tree(p, signal.SIGKILL)

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text()[-3000:] if path.exists() else ""

    def close(self) -> None:
        for name in list(self.procs)[::-1]:
            _kill_tree(self.procs[name], signal.SIGKILL)
        for f in self._logs:
            f.close()


class MemorySampler:
    """Peak RSS (MiB) of each worker's process tree (the worker and e.g. its SNAPHU child), sampled
    every ``interval`` s in a thread."""

    def __init__(self, pids: dict[str, int], interval: float = 0.1):
        import psutil

        self._procs = {k: psutil.Process(pid) for k, pid in pids.items()}
        self.peak = {k: 0.0 for k in pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(interval,), daemon=True)

    def _rss(self, proc) -> float:
        import psutil

        total = 0
        try:
            for p in [proc] + proc.children(recursive=True):
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
        except psutil.Error:
            return 0.0
        return total / MiB

    def _loop(self, interval):
        while not self._stop.is_set():
            for k, p in self._procs.items():
                self.peak[k] = max(self.peak[k], self._rss(p))
            time.sleep(interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)


def _scheduler_state_fn():
    # defined in a closure so that cloudpickle sends it by value: the scheduler cannot import this test module
    def scheduler_state(dask_scheduler):
        """Run on the scheduler: task prefixes seen, worker memory metrics."""
        workers = {}
        for addr, ws in dask_scheduler.workers.items():
            m = ws.metrics
            spilled = m.get("spilled_bytes", {}) or {}
            workers[addr] = {"name": ws.name, "managed_mib": ws.nbytes / 2**20,
                             "process_mib": m.get("memory", 0) / 2**20,
                             "spilled_disk_mib": spilled.get("disk", 0) / 2**20,
                             "processing": sorted({ts.prefix.name for ts in ws.processing})}
        return {"prefixes": sorted(dask_scheduler.task_prefixes), "workers": workers}

    return scheduler_state


scheduler_state = _scheduler_state_fn()


def pipeline_config(pair_dir: Path, run_dir: Path, chunk: int, looks: int = 2, patch: int = 16) -> dict:
    pair_dir = Path(pair_dir)
    return {
        "reference": {"path": str(pair_dir / "reference.zarr")},
        "secondary": {"path": str(pair_dir / "secondary.zarr")},
        "dem": {"path": str(pair_dir / "dem.tif")},
        "output": str(run_dir),
        "interferogram": {"azimuth_looks": looks, "range_looks": looks},
        "filter": {"strength": 0.5, "patch_size": patch},
        "unwrap": {"enabled": True, "cost": "defo"},
        "geocode": {"products": ["filt_topophase.unw", "topophase.cor", "los_displacement", "filt_topophase.flat"]},
        "processing": {"chunk_azimuth": chunk, "chunk_range": chunk},
    }


def start_cli_run(config: dict, path: Path, scheduler: str, log: Path, extra: tuple[str, ...] = (),
                  env: dict | None = None) -> subprocess.Popen:
    """``daskinsar run CONFIG --scheduler ...`` as a subprocess (its own session, output to ``log``)."""
    path.write_text(yaml.safe_dump(config))
    with open(log, "w") as f:
        return subprocess.Popen([sys.executable, "-m", "daskinsar.cli", "run", str(path), "--scheduler", scheduler,
                                 *extra], stdout=f, stderr=subprocess.STDOUT, start_new_session=True,
                                env=dict(os.environ, **(env or {})))


def wait_cli(proc: subprocess.Popen, log: Path, timeout: float) -> str:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_tree(proc)
        raise AssertionError(f"daskinsar run did not finish in {timeout} s:\n{log.read_text()[-4000:]}")
    text = log.read_text()
    assert proc.returncode == 0, f"daskinsar run failed ({proc.returncode}):\n{text[-4000:]}"
    return text


PRODUCT_GROUPS = ("topo", "resample", "interferogram", "filter", "unwrap", "geocode")


def products(run_dir: Path) -> dict[str, np.ndarray]:
    """Every data variable and coordinate of every product group, loaded."""
    out = {}
    root = zarr.open_group(str(Path(run_dir) / "products.zarr"), mode="r")
    groups = sorted(k for k in root.group_keys() if not k.startswith("."))
    for group in groups:
        ds = xr.open_zarr(str(Path(run_dir) / "products.zarr"), group=group, consolidated=False,
                          decode_times=False)
        for v in list(ds.data_vars) + list(ds.coords):
            out[f"{group}/{v}"] = ds[v].values
    return out


def assert_identical(a: dict, b: dict) -> None:
    """Equal products. Labels and integers must match exactly; floating products may differ in
    the last bit only (rtol 1e-6): FFTW and numpy pick SIMD code paths by buffer alignment, which
    differs between processes, so a value can round differently in another worker."""
    assert sorted(a) == sorted(b), set(a) ^ set(b)
    bad = []
    for k in sorted(a):
        if np.issubdtype(np.asarray(a[k]).dtype, np.inexact):
            ok = np.allclose(a[k], b[k], rtol=1e-6, atol=0, equal_nan=True)
        else:
            ok = np.array_equal(a[k], b[k])
        if not ok:
            bad.append(k)
    for k in bad:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-6, atol=0, err_msg=f"{k} differs between the runs")


# ------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    from daskinsar.simulate import simulate_pair

    d = tmp_path_factory.mktemp("dist-sim")
    return simulate_pair("small", d / "pair", chunks=128)


@pytest.fixture(scope="module")
def threaded_run(pair, tmp_path_factory):
    """The reference: the same config run in process on the threaded scheduler."""
    from daskinsar.config import RunConfig
    from daskinsar.pipeline import run

    out = tmp_path_factory.mktemp("dist-threads") / "run"
    run(RunConfig.model_validate(pipeline_config(pair.out_dir, out, 128)), progress=False, reporter=lambda s: None)
    return out


@pytest.fixture
def cluster(tmp_path):
    c = SubprocessCluster(tmp_path / "cluster", memory_limit="1GiB")
    client = None
    try:
        client = c.start(2)
        yield c, client
    finally:
        if client is not None:
            client.close()
        c.close()


@pytest.fixture(scope="module")
def distributed_run(pair, tmp_path_factory):
    """``daskinsar run CONFIG --scheduler tcp://127.0.0.1:PORT`` (a subprocess) on a scheduler and two
    workers; -> (run folder, the scheduler's task prefixes after the run, the run's output)."""
    tmp = tmp_path_factory.mktemp("dist-run")
    c = SubprocessCluster(tmp / "cluster", memory_limit="1GiB")
    client = proc = None
    try:
        client = c.start(2)
        log = tmp / "run.log"
        proc = start_cli_run(pipeline_config(pair.out_dir, tmp / "run", 128), tmp / "run.yaml", c.address, log)
        text = wait_cli(proc, log, timeout=240)
        state = client.run_on_scheduler(scheduler_state)
    finally:
        c.shutdown(proc, client)
    print(text)
    return tmp / "run", state["prefixes"], text


# ------------------------------------------------------------------------------------------ tests
def test_cli_run_on_scheduler_and_workers_matches_threaded_run(distributed_run, threaded_run):
    run_dir, prefixes, text = distributed_run
    assert "dask dashboard: http://127.0.0.1:" in text
    a, b = products(threaded_run), products(run_dir)
    assert {k.split("/")[0] for k in a} >= set(PRODUCT_GROUPS)
    # bit-identical: every kernel is deterministic and independent of which worker runs it
    assert_identical(a, b)


def _has_prefix(prefixes, *stages) -> bool:
    """A task prefix naming the stage (fused tasks read e.g. 'concatenate-geocode-unw-store-map')."""
    return any(s in p for p in prefixes for s in stages)


def test_task_prefixes_read_as_pipeline_stages(distributed_run):
    _, prefixes, _ = distributed_run
    print("task prefixes:", prefixes)
    # the work ran on the workers (the scheduler saw the stage tasks) and the dashboard names them
    for stage in (("topo",), ("resample",), ("interferogram-looks", "multilook"), ("goldstein",), ("snaphu", "unwrap")):
        assert _has_prefix(prefixes, *stage), (stage, prefixes)


def test_geocode_tasks_named_geocode(distributed_run):
    _, prefixes, _ = distributed_run
    assert _has_prefix(prefixes, "geocode-"), prefixes


def _wait_for_processing(client, prefixes: tuple[str, ...], timeout: float, proc) -> tuple[str, str]:
    """Poll the scheduler until a worker is processing a task of one of ``prefixes``; -> (worker name, prefix)."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        assert proc.poll() is None, "the run ended before the worker could be killed"
        state = client.run_on_scheduler(scheduler_state)
        for w in state["workers"].values():
            hit = [p for p in w["processing"] if p.startswith(prefixes)]
            if hit:
                return str(w["name"]), hit[0]
        time.sleep(0.05)
    raise AssertionError(f"no {prefixes} task was processed within {timeout} s")


def test_worker_sigkilled_mid_run_products_identical(pair, threaded_run, cluster, tmp_path):
    c, client = cluster
    log = tmp_path / "run.log"
    proc = start_cli_run(pipeline_config(pair.out_dir, tmp_path / "run", 128), tmp_path / "run.yaml", c.address, log)
    try:
        victim, prefix = _wait_for_processing(client, ("topo", "resample"), timeout=180, proc=proc)
        time.sleep(0.2)  # well inside the task
        c.kill(victim)
        print(f"SIGKILLed {victim} while it processed a {prefix!r} task")
        # the surviving worker carries on; a replacement joins as an operator would start one
        c.start_worker(victim + "-replacement")
        text = wait_cli(proc, log, timeout=240)
    finally:
        _kill_tree(proc)
    assert "run finished" in text
    assert c.procs[victim].poll() is not None
    # the scheduler noticed the loss (and the tasks of the lost worker were rerun elsewhere)
    assert "Remove worker" in (c.workdir / "scheduler.log").read_text()
    assert_identical(products(threaded_run), products(tmp_path / "run"))
    # nothing half-written is left behind
    assert not [p for p in (tmp_path / "run" / "products.zarr").iterdir() if ".tmp-" in p.name]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make the certificates")
def test_tls_cluster_with_deploy_certificates(pair, tmp_path):
    """deploy/tls/make-certs.sh certificates; scheduler and workers with --tls-*; ``daskinsar run --scheduler
    tls://...`` finds its credentials in the DASK_DISTRIBUTED__COMM__TLS__* environment (dask config)."""
    script = Path(__file__).resolve().parents[1] / "deploy" / "tls" / "make-certs.sh"
    subprocess.run(["bash", str(script), str(tmp_path / "certs")], check=True, timeout=60, capture_output=True)
    tls = {k: tmp_path / "certs" / f for k, f in (("ca", "ca.pem"), ("cert", "cert.pem"), ("key", "key.pem"))}
    c = SubprocessCluster(tmp_path / "cluster", memory_limit="1GiB", tls=tls)
    client = proc = None
    try:
        address = c.start_scheduler()
        assert address.startswith("tls://127.0.0.1:"), address
        c.start_worker("w0")
        client = c.client()
        c.wait_for_workers(client, 1)
        log = tmp_path / "run.log"
        cfg = pipeline_config(pair.out_dir, tmp_path / "run", 128)
        # without credentials the client cannot talk to the scheduler
        proc = start_cli_run(cfg, tmp_path / "run.yaml", address, log, extra=("--end", "preprocess"),
                             env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "5s"})
        proc.wait(timeout=120)
        assert proc.returncode != 0
        print("without credentials:", log.read_text().strip().splitlines()[-1])
        proc = start_cli_run(cfg, tmp_path / "run.yaml", address, log, extra=("--end", "preprocess"),
                             env=c.client_env())
        text = wait_cli(proc, log, timeout=120)
        prefixes = client.run_on_scheduler(scheduler_state)["prefixes"]
    finally:
        c.shutdown(proc, client)
    assert "run finished" in text
    from daskinsar.io.store import open_scene

    ref = open_scene(str(tmp_path / "run" / "reference.zarr"))
    src = open_scene(str(Path(pair.out_dir) / "reference.zarr"))
    np.testing.assert_array_equal(ref.data["slc"].values, src.data["slc"].values)
    # the scene copy ran on the TLS worker
    assert _has_prefix(prefixes, "store-map", "open_dataset"), prefixes


@pytest.mark.slow
def test_out_of_core_pair_larger_than_workers_memory(tmp_path):
    """Two one-thread workers with ``--memory-limit 6MiB`` each (12 MiB together) process a pair of two
    1024 x 1024 complex64 SLCs (16 MiB together) end to end, spilling to their ``--local-directory``.

    ``--memory-limit`` in dask bounds what a worker *holds* (task results): above 60 % of it results
    are spilled to disk. Pausing and the restart at 95 % are switched off
    (``distributed.worker.memory.pause/terminate: false``) because the Python process itself (numpy,
    numba-compiled kernels, GDAL, pyproj) is ~300 MiB before it holds any data, so a limit below that
    would otherwise pause the worker for ever; topo at ~40 s per Mpixel and core makes a pair larger
    than a realistic limit (2 x >= 500 MiB) far too slow for a test. What is shown: the run completes
    with results spilled to disk and is still right (LOS displacement vs the simulator's truth);
    peak RSS per worker is printed. Larger figures: benchmarks/bench_out_of_core.py.
    """
    from daskinsar.simulate import simulate_pair
    from daskinsar.simulate.presets import preset

    n_az = n_rg = int(os.environ.get("DASKINSAR_OOC_SIZE", 1024))
    chunk = 256
    limit_mib = int(os.environ.get("DASKINSAR_OOC_LIMIT_MIB", 6))
    sim = simulate_pair(preset("small", n_azimuth=n_az, n_range=n_rg), tmp_path / "pair", chunks=chunk)
    slc_mib = 2 * n_az * n_rg * 8 / MiB
    assert slc_mib > 2 * limit_mib
    env = {"DASK_DISTRIBUTED__WORKER__MEMORY__PAUSE": "False",
           "DASK_DISTRIBUTED__WORKER__MEMORY__TERMINATE": "False"}
    c = SubprocessCluster(tmp_path / "cluster", memory_limit=f"{limit_mib}MiB", env=env)
    client = proc = None
    try:
        client = c.start(2)
        log = tmp_path / "run.log"
        t0 = time.time()
        spilled = {}
        with MemorySampler(c.worker_pids()) as mem:
            proc = start_cli_run(pipeline_config(sim.out_dir, tmp_path / "run", chunk, looks=4, patch=32),
                                 tmp_path / "run.yaml", c.address, log)
            while proc.poll() is None and time.time() - t0 < 300:
                for w in client.run_on_scheduler(scheduler_state)["workers"].values():
                    spilled[w["name"]] = max(spilled.get(w["name"], 0.0), w["spilled_disk_mib"])
                time.sleep(0.5)
            wait_cli(proc, log, timeout=max(1.0, 300 - (time.time() - t0)))
        elapsed = time.time() - t0
    finally:
        c.shutdown(proc, client)
    figures = {"scene": f"{n_az} x {n_rg}", "slc_pair_mib": round(slc_mib, 1), "workers": 2,
               "memory_limit_mib_each": limit_mib, "peak_rss_mib": {k: round(v) for k, v in mem.peak.items()},
               "max_spilled_mib": {k: round(v, 1) for k, v in spilled.items()}, "run_s": round(elapsed, 1)}
    print("out-of-core:", figures)
    (tmp_path / "out_of_core.json").write_text(json.dumps(figures))
    got = products(tmp_path / "run")
    assert {k.split("/")[0] for k in got} >= set(PRODUCT_GROUPS)
    assert got["resample/secondary"].shape == (n_az, n_rg)
    # task results did leave memory for the workers' local directories
    assert max(spilled.values()) > 0, spilled
    # and the processing is still right: the LOS displacement matches the simulator's truth
    from daskinsar.demo import compare_with_truth

    fig = compare_with_truth(tmp_path / "run", sim.truth)
    print("out-of-core run vs truth:", fig)
    assert fig["n_pixels"] > 1000 and fig["rms_error_m"] <= 0.005


def test_cli_run_has_tls_options():
    from typer.testing import CliRunner

    from daskinsar.cli import app

    out = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "200"}).output
    for opt in ("--tls-ca-file", "--tls-cert", "--tls-key"):
        assert opt in out, opt
