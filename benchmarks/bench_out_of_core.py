"""Out-of-core figure: a simulated pair whose SLCs exceed the workers' combined memory limit, run end to
end with ``daskinsar run --scheduler tcp://...`` on a real ``dask scheduler`` + two ``dask worker``
processes (127.0.0.1, one thread each, ``--local-directory`` for spilling).

Reports per scene size: SLC pair size, worker memory limit, peak RSS of each worker process tree
(psutil, sampled every 0.1 s), peak RSS per pipeline step, spilled MiB, wall time of simulation and
run, and the LOS displacement error against the simulator's truth.

Usage::

    python benchmarks/bench_out_of_core.py --sizes 1024 2048 --memory-limit-mib 6 --chunk 256
    python benchmarks/bench_out_of_core.py --sizes 2048 --memory-limit-mib 600 --keep-pause   # dask defaults

With a limit below the Python process's own footprint (~300 MiB with numpy, numba kernels, GDAL,
pyproj loaded) the worker's pause and nanny-restart thresholds would stop it for ever, so by default
they are switched off (``distributed.worker.memory.pause/terminate: false``) and the limit acts on
what a worker *holds*: task results above 60 % of it are spilled to disk. ``--keep-pause`` keeps the
dask defaults (pause at 80 %, no nanny here so no restart at 95 %).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_distributed import (MiB, MemorySampler, SubprocessCluster,  # noqa: E402
                              pipeline_config, scheduler_state, start_cli_run, wait_cli)


def run_one(n: int, limit_mib: int, chunk: int, workdir: Path, keep_pause: bool, timeout: float) -> dict:
    from daskinsar.demo import compare_with_truth
    from daskinsar.simulate import simulate_pair
    from daskinsar.simulate.presets import preset

    t0 = time.time()
    with __import__("dask").config.set(scheduler="threads"):
        sim = simulate_pair(preset("small", n_azimuth=n, n_range=n), workdir / "pair", chunks=chunk)
    t_sim = time.time() - t0
    env = {} if keep_pause else {"DASK_DISTRIBUTED__WORKER__MEMORY__PAUSE": "False",
                                 "DASK_DISTRIBUTED__WORKER__MEMORY__TERMINATE": "False"}
    c = SubprocessCluster(workdir / "cluster", memory_limit=f"{limit_mib}MiB", env=env)
    client = proc = None
    steps: dict[str, float] = {}
    spilled: dict[str, float] = {}
    try:
        client = c.start(2)
        log = workdir / "run.log"
        t1 = time.time()
        with MemorySampler(c.worker_pids()) as mem:
            proc = start_cli_run(pipeline_config(sim.out_dir, workdir / "run", chunk, looks=4, patch=32),
                                 workdir / "run.yaml", c.address, log)
            seen = 0
            while proc.poll() is None and time.time() - t1 < timeout:
                for w in client.run_on_scheduler(scheduler_state)["workers"].values():
                    spilled[w["name"]] = max(spilled.get(w["name"], 0.0), w["spilled_disk_mib"])
                # peak RSS per step: the peak between two "<step>: done" lines of the run's output
                for line in log.read_text().splitlines()[seen:]:
                    seen += 1
                    m = re.match(r"(\w+): done in", line)
                    if m:
                        steps[m.group(1)] = round(max(mem.peak.values()))
                        mem.peak = {k: 0.0 for k in mem.peak}
                time.sleep(0.5)
            text = wait_cli(proc, log, timeout=max(1.0, timeout - (time.time() - t1)))
        t_run = time.time() - t1
        for line in text.splitlines()[seen:]:
            m = re.match(r"(\w+): done in", line)
            if m:
                steps[m.group(1)] = round(max(mem.peak.values()))
    finally:
        c.shutdown(proc, client)
    truth = compare_with_truth(workdir / "run", sim.truth)
    step_times = dict(re.findall(r"^(\w+): done in ([\d.]+) s", text, flags=re.M))
    return {
        "scene": f"{n} x {n}", "chunk": chunk, "slc_pair_mib": round(2 * n * n * 8 / MiB, 1),
        "workers": 2, "threads_per_worker": 1, "memory_limit_mib_each": limit_mib,
        "pause_terminate": "dask defaults" if keep_pause else "off",
        "peak_rss_mib_per_step": steps, "step_s": {k: float(v) for k, v in step_times.items()},
        "max_spilled_mib": {k: round(v, 1) for k, v in spilled.items()},
        "simulate_s": round(t_sim, 1), "run_s": round(t_run, 1),
        "los_rms_error_mm": round(truth.get("rms_error_m", float("nan")) * 1e3, 3),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048], help="scene sizes (n x n pixels)")
    ap.add_argument("--memory-limit-mib", type=int, default=6, help="--memory-limit of each of the 2 workers")
    ap.add_argument("--chunk", type=int, default=256)
    ap.add_argument("--keep-pause", action="store_true", help="keep dask's pause threshold (80 %% of the limit)")
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()
    results = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
            r = run_one(n, args.memory_limit_mib, args.chunk, Path(tmp), args.keep_pause, args.timeout)
        print(json.dumps(r), flush=True)
        results.append(r)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
