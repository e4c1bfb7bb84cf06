"""Goldstein filter throughput: daskinsar vs the FFT floor (same run) and vs dolphin.

Usage::

    python benchmarks/bench_filter.py [--n 2048] [--psize 32] [--alpha 0.5] [--repeat 5]
                                      [--dolphin-python /tmp/dolphin-venv/bin/python] [--dask]

- daskinsar: ``goldstein_kernel`` on one thread (one block, no dask), min over repeats.
- FFT floor: the pyFFTW forward + inverse passes alone over exactly the same batched
  patches (same plan, same batch size) -- what any patch-FFT Goldstein must pay.
- dolphin (optional): ``dolphin.goldstein.goldstein`` run in a *separate* virtualenv
  (dolphin pulls GDAL-dependent modules and ~420 MB of dependencies, so it is not a
  daskinsar dependency). The input is handed over as a .npy file; agreement is the
  phase difference in the interior (dolphin does not filter its last patch row/column
  and does not smooth the spectrum, so daskinsar runs with ``smooth=1`` for it).
- ``--dask``: the dask stage on 2 threads over a 2n x 2n image in n x n chunks.

Prints one JSON document. Times are seconds; "cpu" is thread/process CPU time, which
is less disturbed by other load on a shared machine than wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

from _common import DOLPHIN_PYTHON, timed


def make_ifg(n: int, coherence: float = 0.5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:n, 0:n].astype(np.float32)
    phase = 2 * np.pi * (x / 37.0 + y / 53.0) + 2.5 * np.sin(2 * np.pi * x / 400.0) * np.cos(2 * np.pi * y / 300.0)
    rng = np.random.default_rng(seed)
    a = (rng.standard_normal((n, n), dtype=np.float32) + 1j * rng.standard_normal((n, n), dtype=np.float32))
    b = (rng.standard_normal((n, n), dtype=np.float32) + 1j * rng.standard_normal((n, n), dtype=np.float32))
    sec = (coherence * a + np.sqrt(1 - coherence**2) * b) * np.exp(-1j * phase)
    return (a * np.conj(sec)).astype(np.complex64), phase


def fft_floor(n: int, psize: int, step: int, repeat: int) -> tuple[float, float]:
    """Forward + inverse pyFFTW over the same batches of patches goldstein_block uses."""
    from daskinsar.stages import filter as F

    npc = len(range(-(psize - step), n, step))  # patch starts from -(psize-step) to < n, step apart
    npr = npc
    rows = max(1, min(npr, (1 << 20) // (npc * psize * psize)))
    buf, fwd, inv = F._plans((rows * npc, psize, psize), "FFTW_ESTIMATE")
    buf[:] = np.random.default_rng(1).standard_normal(buf.shape).astype(np.complex64)
    n_batches = -(-npr // rows)

    def run():
        for _ in range(n_batches):
            fwd()
            inv()

    _, wall, cpu = timed(run, repeat)
    return wall, cpu


def run_dolphin(python: str, ifg: np.ndarray, alpha: float, psize: int, repeat: int):
    with tempfile.TemporaryDirectory(prefix="bench-goldstein-") as tmp:
        src, dst = os.path.join(tmp, "in.npy"), os.path.join(tmp, "out.npy")
        np.save(src, ifg)
        script = (
            "import json, sys, time, numpy as np\n"
            "from dolphin.goldstein import goldstein\n"
            f"x = np.load({src!r})\n"
            f"out = goldstein(x, {alpha}, {psize})\n"
            "walls, cpus = [], []\n"
            f"for _ in range({repeat}):\n"
            "    t0, c0 = time.perf_counter(), time.process_time()\n"
            f"    out = goldstein(x, {alpha}, {psize})\n"
            "    walls.append(time.perf_counter() - t0); cpus.append(time.process_time() - c0)\n"
            f"np.save({dst!r}, np.asarray(out, dtype=np.complex64))\n"
            "import dolphin\n"
            "print(json.dumps({'wall': min(walls), 'cpu': min(cpus), 'version': dolphin.__version__}))\n"
        )
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        res = subprocess.run([python, "-c", script], capture_output=True, text=True, env=env, timeout=1800)
        if res.returncode != 0:
            return None, {"error": res.stderr.strip().splitlines()[-1] if res.stderr else "failed"}
        info = json.loads(res.stdout.strip().splitlines()[-1])
        return np.load(dst), info


def measure(n: int = 2048, psize: int = 32, alpha: float = 0.5, repeat: int = 5,
            dolphin_python: str | None = DOLPHIN_PYTHON, dask_stage: bool = False) -> dict:
    """All the figures of this benchmark as a dict (see the module docstring)."""
    from daskinsar.stages.filter import goldstein, goldstein_kernel

    step = psize // 2
    ifg, phase = make_ifg(n)
    res: dict = {"n": n, "psize": psize, "step": step, "alpha": alpha, "samples": n * n}

    out, wall, cpu = timed(lambda: goldstein_kernel(ifg, alpha=alpha, psize=psize, smooth=3), repeat)
    res["daskinsar_smooth3"] = {"wall": wall, "cpu": cpu, "Msamples_per_s": n * n / wall / 1e6}
    out1, wall1, cpu1 = timed(lambda: goldstein_kernel(ifg, alpha=alpha, psize=psize, smooth=1), repeat)
    res["daskinsar_smooth1"] = {"wall": wall1, "cpu": cpu1, "Msamples_per_s": n * n / wall1 / 1e6}
    inner = (slice(psize, -2 * psize), slice(psize, -2 * psize))
    err = np.angle(out[inner] * np.exp(-1j * phase[inner]))
    err0 = np.angle(ifg[inner] * np.exp(-1j * phase[inner]))
    res["phase_error_std_rad"] = {"unfiltered": float(err0.std()), "filtered": float(err.std())}

    fw, fc = fft_floor(n, psize, step, repeat)
    res["fft_floor"] = {"wall": fw, "cpu": fc}
    res["ratio_to_fft_floor_cpu"] = cpu / fc

    if dolphin_python and os.path.exists(dolphin_python):
        dout, info = run_dolphin(dolphin_python, ifg, alpha, psize, max(1, min(repeat, 3)))
        res["dolphin"] = info
        if dout is not None:
            res["speedup_vs_dolphin_wall"] = info["wall"] / wall1
            res["speedup_vs_dolphin_cpu"] = info["cpu"] / cpu1
            amp = np.abs(dout[inner])
            ok = amp > 1e-3 * np.median(amp)
            d = np.abs(np.angle(out1[inner][ok] * np.conj(dout[inner][ok])))
            derr = np.angle(dout[inner] * np.exp(-1j * phase[inner]))
            res["agreement_vs_dolphin_rad"] = {"median": float(np.median(d)), "p95": float(np.percentile(d, 95)),
                                               "dolphin_phase_error_std": float(derr.std()),
                                               "daskinsar_smooth1_phase_error_std": float(
                                                   np.angle(out1[inner] * np.exp(-1j * phase[inner])).std())}
    else:
        res["dolphin"] = {"error": f"no dolphin venv at {dolphin_python}"}

    if dask_stage:
        import dask
        import dask.array as da

        big = np.tile(ifg, (2, 2))
        x = da.from_array(big, chunks=n)
        with dask.config.set(scheduler="threads", num_workers=2):
            goldstein(x, alpha=alpha, psize=psize).compute()
            t0 = time.perf_counter()
            goldstein(x, alpha=alpha, psize=psize).compute()
            w = time.perf_counter() - t0
        res["dask_2threads"] = {"shape": list(big.shape), "chunks": n, "wall": w, "Msamples_per_s": big.size / w / 1e6}

    res["peak_rss_MiB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return res


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2048)
    ap.add_argument("--psize", type=int, default=32)
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--dolphin-python", default=DOLPHIN_PYTHON)
    ap.add_argument("--dask", action="store_true")
    args = ap.parse_args(argv)
    res = measure(args.n, args.psize, args.alpha, args.repeat, args.dolphin_python, args.dask)
    print(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    main(sys.argv[1:])
