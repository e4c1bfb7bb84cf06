"""Benchmark row: a simulated Sentinel-1 IW subswath pair through `daskinsar run`.

The pair: ``simulate_tops_pair`` on the shared S1B IW1 VV annotation (9 bursts of 1501 lines,
21632 samples; a synthetic secondary 150 m across track, 0.003 line of azimuth misregistration,
a Mogi source), written as SAFE folders; then every step of the pipeline with IW's usual 5 x 20
looks. Simulation and processing each run in a fresh spawned process; the figures are the wall
time per step and the peak memory of the processing process as the kernel records it (VmHWM
of /proc/self/status, read by the process itself at its end: a fresh process, so nothing of
the parent counts) and, beside it, the sampled peak RSS of the process with its children
(SNAPHU executables).

    python benchmarks/bench_tops.py [--bursts 9] [--samples 21632] [--first-sample N] [--workdir DIR]

The full subswath (9 x 21632) takes long on 2 cores (the simulator alone about 6 us per pixel);
``--samples`` narrows the range window (``benchmarks/run.py --set tops=9x2048``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from _common import cpu_seconds, run_spawned, single_thread_env, step_times, vmhwm_mib  # noqa: E402

#: the shared S1B IW SLC (real annotations, placeholder pixels), relative to the test data folder
SAFE_GLOB = "sentinel1_safe/S1B_IW_SLC__*.SAFE"
LOOKS = (5, 20)


def _data_dir() -> Path:
    return Path(os.environ.get("DASKINSAR_TEST_DATA", HERE.parents[1] / "shared" / "data"))


def simulate_child(out: str, bursts: int, samples: int, first_sample: int) -> dict:
    single_thread_env()
    from daskinsar.simulate.presets import MogiSource
    from daskinsar.simulate.tops import TopsSimulationConfig, simulate_tops_pair

    safe = next(_data_dir().glob(SAFE_GLOB))
    cfg = TopsSimulationConfig(swath="IW1", polarization="VV", bursts=list(range(bursts)), first_sample=first_sample,
                               n_samples=samples, azimuth_misregistration_lines=0.003, seed=1, write_truth=False,
                               deformation=[MogiSource(depth_m=3000.0, volume_change_m3=5e6)])
    t0, c0 = time.perf_counter(), cpu_seconds()
    sim = simulate_tops_pair(safe, out, cfg)
    return {"seconds": time.perf_counter() - t0, "cpu_seconds": cpu_seconds() - c0, "pairs": len(sim.pairs),
            "vmhwm_MiB": vmhwm_mib(),
            "reference": str(sim.reference), "secondary": str(sim.secondary), "dem": str(sim.dem_path)}


def pipeline_child(sim: dict, run_dir: str, chunk: int) -> dict:
    single_thread_env()
    import dask

    from daskinsar.config import RunConfig
    from daskinsar.pipeline import run

    cfg = {"reference": {"path": sim["reference"], "options": {"polarization": "VV"}},
           "secondary": {"path": sim["secondary"], "options": {"polarization": "VV"}},
           "dem": {"path": sim["dem"]}, "output": run_dir,
           "processing": {"chunk_azimuth": chunk, "chunk_range": chunk},
           "interferogram": {"azimuth_looks": LOOKS[0], "range_looks": LOOKS[1]}}
    lines: list[str] = []
    t0, c0 = time.perf_counter(), cpu_seconds()
    with dask.config.set(scheduler="threads", num_workers=os.cpu_count()):
        status = run(RunConfig.model_validate(cfg), progress=False, reporter=lines.append)
    esd = next((ln for ln in lines if "ESD" in ln), "")
    return {"seconds": time.perf_counter() - t0, "cpu_seconds": cpu_seconds() - c0, "status": status,
            "step_seconds": step_times(lines), "vmhwm_MiB": vmhwm_mib(), "esd": esd,
            "load_end": [round(x, 2) for x in os.getloadavg()]}


def bench_tops(bursts: int, samples: int, tmp: str, first_sample: int | None = None, chunk: int = 1024) -> dict:
    """Simulate (or reuse a simulation kept in ``tmp``) and process; the figures of one row. ``first_sample``
    (default: 1000, or less so that the window fits the swath's 21632 samples) starts the range window."""
    if first_sample is None:
        first_sample = max(0, min(1000, 21632 - samples))
    base = Path(tmp) / f"tops-{bursts}x{samples}"
    done = base / "simulated.json"
    if done.exists():  # a kept work directory: simulate once, process again
        s, speak = json.loads(done.read_text())
    else:
        s, speak = run_spawned(simulate_child, out=str(base / "simulated"), bursts=bursts, samples=samples,
                               first_sample=first_sample)
        done.write_text(json.dumps([s, speak]))
    run_dir = base / "run"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    p, ppeak = run_spawned(pipeline_child, sim=s, run_dir=str(run_dir), chunk=chunk)
    pixels = bursts * 1501 * samples
    return {"bursts": bursts, "samples": samples, "pixels_per_image": pixels, "looks": list(LOOKS),
            "simulate_seconds": s["seconds"], "simulate_vmhwm_MiB": s["vmhwm_MiB"], "simulate_peak_rss_MiB": speak,
            "simulate_cpu_seconds": s.get("cpu_seconds"), "process_seconds": p["seconds"],
            "process_cpu_seconds": p["cpu_seconds"], "process_vmhwm_MiB": p["vmhwm_MiB"], "process_peak_rss_MiB": ppeak,
            "load_after_process": p["load_end"],
            "step_seconds": p["step_seconds"], "status": p["status"], "esd": p["esd"],
            "Mpixels_per_s": pixels / p["seconds"] / 1e6}


def markdown_row(r: dict) -> str:
    return (f"- IW subswath pair, {r['bursts']} bursts x {r['samples']} samples ({r['pixels_per_image'] / 1e6:.0f} "
            f"Mpixels per image, {r['looks'][0]} x {r['looks'][1]} looks): pipeline {r['process_seconds']:.0f} s "
            f"({r['Mpixels_per_s']:.2f} Mpixels/s; {r['process_cpu_seconds']:.0f} CPU s), peak memory "
            f"{r['process_vmhwm_MiB']:.0f} MiB (VmHWM; {r['process_peak_rss_MiB']:.0f} MiB with children, sampled); "
            f"simulation {r['simulate_seconds']:.0f} s, {r['simulate_vmhwm_MiB']:.0f} MiB; load after "
            f"{r['load_after_process']}; steps (s): {r['step_seconds']}")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bursts", type=int, default=9)
    ap.add_argument("--samples", type=int, default=21632)
    ap.add_argument("--first-sample", type=int, default=None)
    ap.add_argument("--chunk", type=int, default=1024)
    ap.add_argument("--workdir", help="keep the simulated pair here (reused when found)")
    args = ap.parse_args(argv)
    if args.workdir:
        os.makedirs(args.workdir, exist_ok=True)
        r = bench_tops(args.bursts, args.samples, args.workdir, args.first_sample, args.chunk)
    else:
        with tempfile.TemporaryDirectory(prefix="daskinsar-bench-tops-") as tmp:
            r = bench_tops(args.bursts, args.samples, tmp, args.first_sample, args.chunk)
    r["load_end"] = [round(x, 2) for x in os.getloadavg()]  # 1, 5, 15 min: the machine may be shared
    print(json.dumps(r, indent=2, default=str))
    print(markdown_row(r))
    return r


if __name__ == "__main__":
    main()
