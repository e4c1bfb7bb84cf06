"""Tiled (dask tasks) unwrapping vs one SNAPHU call on the same interferogram.

    python benchmarks/bench_unwrap.py --size 4096 --tiles 2 --overlap 128 --workers 2
    python benchmarks/bench_unwrap.py                 # 1024 x 1024, quick

Each mode runs in a fresh, spawned process so peaks do not mix. Memory figures (RSS, from
a psutil sampler thread polling every 20 ms; SNAPHU is an external executable, so
tracemalloc cannot see its memory, and ``getrusage(RUSAGE_CHILDREN)`` is polluted on
Linux because a forked child inherits the parent's high-water mark across exec):
* ``snaphu_peak_MiB``: peak of the summed RSS of all live SNAPHU child processes (in tiled
  mode ``workers`` tiles run at once, so this is the concurrent total);
* ``total_peak_MiB``: peak of Python process RSS + SNAPHU children RSS, sampled together,
  measured from just before the unwrap call (the simulated inputs are already resident).
``cpu_seconds`` (user+sys of the process and its reaped children) is less sensitive than
wall time to other load on the machine.
Accuracy: share of pixels with true coherence >= 0.5 whose ``unw - truth`` equals the
most common 2*pi*k.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import tempfile
import time

import numpy as np

from _common import RssSampler, cpu_seconds, vmhwm_mib


def simulate(n: int, fringes: float = 20.0, nlooks: int = 10, seed: int = 1, rows_per_block: int = 256):
    """Mogi-like bowl + multilook decorrelation noise (coherence 0.3..0.95), built in row blocks.

    Returns (ifg complex64, estimated coherence float32, true coherence float32, truth rad float32).
    """
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    m = max(64, n // 8)
    f = ndimage.gaussian_filter(rng.standard_normal((m, m)), m / 16, mode="wrap")
    f = ndimage.zoom(f, n / m, order=1)[:n, :n]
    coh = (0.3 + 0.65 * (f - f.min()) / (f.max() - f.min())).astype(np.float32)
    ifg = np.empty((n, n), np.complex64)
    coh_est = np.empty((n, n), np.float32)
    phi = np.empty((n, n), np.float32)
    d = 0.35 * n
    x = np.arange(n, dtype=np.float64)
    for r0 in range(0, n, rows_per_block):
        r1 = min(n, r0 + rows_per_block)
        y = np.arange(r0, r1, dtype=np.float64)[:, None]
        r2 = (x[None, :] - 0.55 * n) ** 2 + (y - 0.45 * n) ** 2
        p = -2 * np.pi * fringes * d**3 / (r2 + d**2) ** 1.5
        g = coh[r0:r1].astype(np.float64)
        shape = (nlooks, r1 - r0, n)
        a = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)
        b = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)
        s2 = g * a + np.sqrt(1 - g**2) * b
        z = (a * np.conj(s2)).mean(0)
        coh_est[r0:r1] = np.abs(z) / np.sqrt((np.abs(a) ** 2).mean(0) * (np.abs(s2) ** 2).mean(0))
        ifg[r0:r1] = z * np.exp(1j * p)
        phi[r0:r1] = p
    return ifg, coh_est, coh, phi


def _run(mode: str, args: dict, q) -> None:
    try:
        _run_mode(mode, args, q)
    except Exception as e:  # noqa: BLE001 - report it (e.g. a peer not installed), never leave the parent waiting
        q.put({"mode": mode, "error": f"{type(e).__name__}: {e}"})


def _run_mode(mode: str, args: dict, q) -> None:
    import dask

    from daskinsar.stages.unwrap import unwrap

    ifg, coh_est, coh, phi = simulate(args["size"], nlooks=args["nlooks"])
    scratch = tempfile.mkdtemp(prefix="bench-unwrap-")
    sampler = RssSampler().__enter__()
    cpu0 = cpu_seconds()
    t0 = time.perf_counter()
    if mode == "single":
        u, c = unwrap(ifg, coh_est, nlooks=args["nlooks"], tile_pixels_budget=ifg.size, scratchdir=scratch)
        u, c = dask.compute(u, c, scheduler="synchronous")
    elif mode == "tiled":
        n = args["size"]
        u, c = unwrap(ifg, coh_est, nlooks=args["nlooks"], ntiles=(args["tiles"], args["tiles"]),
                      overlap=args["overlap"], tile_pixels_budget=(n // args["tiles"] + args["overlap"]) ** 2,
                      guide=not args["no_guide"], scratchdir=scratch)
        u, c = dask.compute(u, c, scheduler="threads", num_workers=args["workers"])
    elif mode == "default":  # the pipeline's default tiling (UnwrapParams), 2 threads
        from daskinsar.stages.unwrap import UnwrapParams

        p = UnwrapParams()
        u, c = unwrap(ifg, coh_est, nlooks=args["nlooks"], tile_pixels_budget=p.tile_pixels, overlap=p.tile_overlap,
                      scratchdir=scratch)
        u, c = dask.compute(u, c, scheduler="threads", num_workers=args["workers"])
    elif mode == "whirlwind":  # the Rust MCF unwrapper of PyPI's whirlwind-insar (a peer), on `workers` threads
        import whirlwind

        whirlwind.set_num_threads(args["workers"])
        u, c = whirlwind.unwrap(ifg, coh_est, nlooks=float(args["nlooks"]))
        u, c = np.asarray(u), np.asarray(c)
    else:  # SNAPHU's own internal tiling, for comparison only
        import snaphu

        u, c = snaphu.unwrap(ifg, coh_est, nlooks=args["nlooks"], cost="defo", ntiles=(args["tiles"],) * 2,
                             tile_overlap=args["overlap"], nproc=args["workers"], scratchdir=scratch)
        u, c = np.asarray(u), np.asarray(c)
    dt = time.perf_counter() - t0
    cpu = cpu_seconds() - cpu0
    sampler.__exit__()
    good = coh >= 0.5
    k = np.rint((u - phi) / (2 * np.pi))[good]
    _, counts = np.unique(k[np.isfinite(k)], return_counts=True)
    q.put({
        "mode": mode,
        "seconds": dt,
        "congruent_fraction": float(counts.max() / good.sum()),
        "cpu_seconds": cpu,
        "snaphu_peak_MiB": sampler.children_peak / 2**20,
        "total_peak_MiB": sampler.total_peak / 2**20,
        "vmhwm_MiB": vmhwm_mib(),
    })


def measure(size: int = 1024, tiles: int = 2, overlap: int = 128, workers: int = 2, nlooks: int = 10,
            no_guide: bool = False, modes=("single", "tiled"), echo=None) -> dict:
    """Run each mode ("single": one SNAPHU call; "tiled": daskinsar's tiled unwrapper with ``tiles`` x ``tiles``;
    "default": the tiling the pipeline's defaults choose; "whirlwind": whirlwind-insar's unwrapper (a peer, if
    installed); "snaphu-internal-tiles")
    in a fresh spawned process on the same simulated interferogram. Returns {mode: figures}."""
    args = dict(size=size, tiles=tiles, overlap=overlap, workers=workers, nlooks=nlooks, no_guide=no_guide)
    ctx = mp.get_context("spawn")
    results = {}
    for mode in modes:
        q = ctx.Queue()
        p = ctx.Process(target=_run, args=(mode, args, q))
        p.start()
        results[mode] = q.get()
        p.join()
        if echo:
            echo(results[mode])
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=1024, help="interferogram is size x size pixels")
    ap.add_argument("--tiles", type=int, default=2, help="tiles per side in tiled mode")
    ap.add_argument("--overlap", type=int, default=128, help="tile overlap, pixels")
    ap.add_argument("--workers", type=int, default=2, help="concurrent tiles (threads)")
    ap.add_argument("--nlooks", type=int, default=10)
    ap.add_argument("--no-guide", action="store_true", help="tiled mode without the multi-resolution guide")
    ap.add_argument("--snaphu-tiles", action="store_true", help="also time SNAPHU's internal tiling (comparison)")
    args = vars(ap.parse_args())
    modes = ["single", "tiled"] + (["snaphu-internal-tiles"] if args["snaphu_tiles"] else [])
    results = measure(modes=modes, echo=lambda r: print(json.dumps(r)), **{k: v for k, v in args.items()
                                                                           if k != "snaphu_tiles"})
    s, t = results["single"], results["tiled"]
    print(f"size {args['size']}^2, {args['tiles']}x{args['tiles']} tiles, overlap {args['overlap']}, "
          f"{args['workers']} workers")
    print(f"time ratio tiled/single: {t['seconds'] / s['seconds']:.2f} ({t['seconds']:.1f} s / {s['seconds']:.1f} s)")
    print(f"cpu ratio tiled/single: {t['cpu_seconds'] / s['cpu_seconds']:.2f} "
          f"({t['cpu_seconds']:.1f} s / {s['cpu_seconds']:.1f} s)")
    print(f"SNAPHU peak RSS ratio tiled/single: {t['snaphu_peak_MiB'] / s['snaphu_peak_MiB']:.2f} "
          f"({t['snaphu_peak_MiB']:.0f} / {s['snaphu_peak_MiB']:.0f} MiB, sum over concurrent SNAPHU processes)")
    print(f"total peak RSS ratio tiled/single: {t['total_peak_MiB'] / s['total_peak_MiB']:.2f} "
          f"({t['total_peak_MiB']:.0f} / {s['total_peak_MiB']:.0f} MiB, python + SNAPHU)")
    print(f"congruent fraction (coh>=0.5): single {s['congruent_fraction']:.5f}, tiled {t['congruent_fraction']:.5f}")


if __name__ == "__main__":
    main()
