"""End to end at frame size: simulated N x N pairs, SLCs to geocoded unwrapped products with the default
settings, each simulation and each pipeline run in its own spawned process. Not a test.

    python benchmarks/bench_frame.py --sizes 4096,8192,16384 --workdir /data/frame

Per size: simulation wall and CPU seconds; pipeline wall seconds, CPU seconds (the process and its
reaped children, i.e. the SNAPHU executables) and their ratio (cores used); peak memory as VmHWM of the
pipeline process (read from /proc in the child, so it is that process's own high-water mark) and the
sampled peak of the process plus its children; per step wall and CPU seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

from _common import cpu_seconds, ensure_importable, load_average, run_spawned, single_thread_env, vmhwm_mib


def simulate_child(out: str, n: int, chunk: int = 1024) -> dict:
    single_thread_env()
    from daskinsar.simulate import preset, simulate_pair

    c0, t0 = cpu_seconds(), time.perf_counter()
    simulate_pair(preset("demo", n_azimuth=n, n_range=n), out, chunks=chunk, scheduler="threads")
    wall = time.perf_counter() - t0
    cpu = cpu_seconds() - c0
    return {"seconds": wall, "cpu_seconds": cpu, "cores_used": cpu / wall, "vmhwm_MiB": vmhwm_mib()}


def pipeline_child(sim_dir: str, run_dir: str, chunk: int) -> dict:
    """The pipeline with the demo configuration (default settings but the chunk size), 2 threads."""
    single_thread_env()
    import re

    import dask

    from daskinsar.config import RunConfig
    from daskinsar.demo import demo_config
    from daskinsar.pipeline import run

    cfg = demo_config(Path(sim_dir), Path(run_dir))
    cfg["processing"] = {"chunk_azimuth": chunk, "chunk_range": chunk}
    steps: dict = {}
    mark = {"t": time.perf_counter(), "cpu": cpu_seconds()}

    def reporter(line: str) -> None:  # a step's "done" line: its wall (its own figure) and the CPU since the last
        m = re.search(r"(\w+): done in ([0-9.]+) s", line)
        if m:
            now, cpu = time.perf_counter(), cpu_seconds()
            steps[m.group(1)] = {"seconds": float(m.group(2)), "cpu_seconds": cpu - mark["cpu"],
                                 "wall_since_last_s": now - mark["t"]}
            mark.update(t=now, cpu=cpu)

    c0, t0 = cpu_seconds(), time.perf_counter()
    with dask.config.set(scheduler="threads", num_workers=os.cpu_count()):
        status = run(RunConfig.model_validate(cfg), progress=False, reporter=reporter)
    wall = time.perf_counter() - t0
    cpu = cpu_seconds() - c0
    for s in steps.values():
        s["cores_used"] = s["cpu_seconds"] / max(s["wall_since_last_s"], 1e-9)
    return {"seconds": wall, "cpu_seconds": cpu, "cores_used": cpu / wall, "vmhwm_MiB": vmhwm_mib(),
            "status": status, "steps": steps}


#: what the pipeline reads of a simulated pair (its truth, which is most of the folder, is not read)
PIPELINE_INPUTS = ("reference.zarr", "secondary.zarr", "dem.tif")


def read_inputs(sim_dir: str) -> dict:
    """Read every file of the pipeline's inputs once (into the page cache) and time it: each size then
    starts from the same state, its inputs cached as after the simulation or a download, instead of
    from whatever earlier sections left in the cache. When they were not cached, the time is the disk's."""
    n_bytes, t0 = 0, time.perf_counter()
    for name in PIPELINE_INPUTS:
        root = Path(sim_dir) / name
        for f in ([root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())):
            with open(f, "rb") as fh:
                while chunk := fh.read(1 << 24):
                    n_bytes += len(chunk)
    dt = time.perf_counter() - t0
    return {"GiB": n_bytes / 2**30, "seconds": dt, "MB_per_s": n_bytes / 1e6 / max(dt, 1e-9)}


def measure_pair(n: int, workdir: str, chunk: int = 1024, keep: bool = False) -> dict:
    """Simulate (or reuse, in a kept work directory) an n x n pair and run the pipeline on it."""
    ensure_importable()
    base = os.path.join(workdir, f"pair{n}")
    sim, run_dir, done = os.path.join(base, "simulated"), os.path.join(base, "run"), os.path.join(base, "sim.json")
    if os.path.exists(done):
        s = json.loads(Path(done).read_text())
        s["reused"] = True
    else:
        if os.path.exists(sim):
            shutil.rmtree(sim)
        load0 = load_average()
        s, speak = run_spawned(simulate_child, out=sim, n=n, chunk=chunk)
        s.update(sampled_peak_MiB=speak, load_start=load0, load_end=load_average())
        Path(done).parent.mkdir(parents=True, exist_ok=True)
        Path(done).write_text(json.dumps(s))
    if os.path.exists(run_dir):
        shutil.rmtree(run_dir)
    inputs = read_inputs(sim)
    load0 = load_average()
    p, ppeak = run_spawned(pipeline_child, sim_dir=sim, run_dir=run_dir, chunk=chunk)
    p.update(sampled_peak_with_children_MiB=ppeak, load_start=load0, load_end=load_average(), inputs_read=inputs)
    mpx = n * n / 1e6
    res = {"size": n, "chunk": chunk, "simulate": s, "pipeline": p, "Mpixels": mpx,
           "pipeline_Mpixel_per_core_s": mpx / (p["seconds"] * (os.cpu_count() or 1)),
           "pipeline_s_per_Mpixel": p["seconds"] / mpx}
    if not keep:
        shutil.rmtree(run_dir, ignore_errors=True)
    return res


def measure(sizes=(4096, 8192, 16384), workdir: str = "/tmp/daskinsar-frame", chunk: int = 1024, echo=None) -> dict:
    """:func:`measure_pair` for each size; the growth of time and memory with size."""
    out: dict = {"sizes": list(sizes), "runs": {}}
    for n in sizes:
        try:
            r = measure_pair(n, workdir, chunk)
        except Exception as e:  # noqa: BLE001 - report it, keep the other sizes
            r = {"size": n, "error": f"{type(e).__name__}: {e}"}
        out["runs"][str(n)] = r
        if echo:
            echo(r)
    ok = [out["runs"][str(n)] for n in sizes if "pipeline" in out["runs"][str(n)]]
    if len(ok) >= 2:
        a, b = ok[0], ok[-1]
        out["growth"] = {"from": a["size"], "to": b["size"], "pixel_ratio": b["Mpixels"] / a["Mpixels"],
                         "time_ratio": b["pipeline"]["seconds"] / a["pipeline"]["seconds"],
                         "s_per_Mpixel_ratio": b["pipeline_s_per_Mpixel"] / a["pipeline_s_per_Mpixel"],
                         "peak_ratio": (b["pipeline"]["vmhwm_MiB"] or 0) / max(a["pipeline"]["vmhwm_MiB"] or 1, 1)}
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="4096,8192,16384")
    ap.add_argument("--workdir", default="/tmp/daskinsar-frame")
    ap.add_argument("--chunk", type=int, default=1024)
    a = ap.parse_args(argv)
    res = measure([int(x) for x in a.sizes.split(",")], a.workdir, a.chunk, echo=lambda r: print(json.dumps(r)))
    print(json.dumps(res.get("growth")))


if __name__ == "__main__":
    main()
