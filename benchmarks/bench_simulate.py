"""Benchmark: simulate an N x N interferometric pair (default 8192 x 8192) and report time and peak memory.

Run as a script (not a test):

    python benchmarks/bench_simulate.py [--size 8192] [--chunks 1024] [--out /tmp/bench_sim] [--keep]

Peak memory is the process's maximum resident set size (``ru_maxrss``); the target is < 2 GiB
for 8192 x 8192 (the arrays are generated and written block by block).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=8192)
    ap.add_argument("--chunks", type=int, default=1024)
    ap.add_argument("--preset", default="alos")
    ap.add_argument("--out", default="/tmp/bench_simulate")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    from daskinsar.simulate import preset, simulate_pair
    from daskinsar.simulate.slc import build_pair_model

    cfg = preset(args.preset, n_azimuth=args.size, n_range=args.size)
    t0 = time.perf_counter()
    build_pair_model(cfg)
    t_model = time.perf_counter() - t0
    t0 = time.perf_counter()
    simulate_pair(cfg, args.out, chunks=args.chunks)
    t_total = time.perf_counter() - t0
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    mpix = 2 * args.size**2 / 1e6
    print(f"simulate {args.preset} {args.size} x {args.size} pair (chunks {args.chunks}): {t_total:.1f} s "
          f"(model: orbits, DEM, geometry tables {t_model:.1f} s), {mpix / t_total:.2f} Mpixel/s of SLC, "
          f"peak RSS {peak_gib:.2f} GiB (limit 2 GiB: {'OK' if peak_gib < 2 else 'EXCEEDED'})")
    if not args.keep:
        shutil.rmtree(args.out, ignore_errors=True)


if __name__ == "__main__":
    main()
