"""Resampling throughput (Msamples/s per core) and its ratio to a plain memory copy of the
same arrays, measured in the same run. Not a test.

    python benchmarks/bench_resample.py [--size 2048] [--taps 12] [--chunk 1024]
"""

from __future__ import annotations

import argparse
import json

import dask
import dask.array as da
import numpy as np

from _common import best as _best


#: real multiply-adds per output sample of a separable n-tap interpolation of complex samples by real
#: weights: n complex taps along azimuth plus, amortised, one range-interpolated row value (n complex
#: taps) per output sample (each row value serves the n outputs below it in its column)
def fma_per_sample(taps: int) -> int:
    return 2 * (2 * taps)


def fma_rate(n: int = 4096, repeat: int = 5) -> float:
    """Real float32 multiply-adds per second one thread reaches in a tight numba loop (``y += a * x`` on
    arrays in L1 cache, the loop LLVM vectorises): the arithmetic limit resampling is measured against."""
    import time

    import numba

    @numba.njit(nogil=True)
    def axpy(y, a, x, reps):
        for _ in range(reps):
            for i in range(y.shape[0]):
                y[i] += a * x[i]
        return y[0]

    x = np.ones(n, np.float32)
    y = np.zeros(n, np.float32)
    a = np.float32(1e-7)
    axpy(y, a, x, 1)
    reps = 20000
    t_min = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        axpy(y, a, x, reps)
        t_min = min(t_min, time.perf_counter() - t0)
    return n * reps / t_min


def measure(size: int = 2048, taps: int = 12, chunk: int = 1024) -> dict:
    """Resampling kernel (one thread) and dask stage (1 and 2 threads) vs np.copyto of the same SLC."""
    from daskinsar.stages.resample import ResampleParams, resample_block, resample_slc

    n = size
    rng = np.random.default_rng(0)
    sec = (rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))).astype(np.complex64)
    ii, jj = np.indices((n, n), dtype=np.float64)
    az = 0.3 + 1e-3 * ii + 2e-4 * jj
    rg = -1.7 + 5e-4 * jj
    params = ResampleParams(n_taps=taps)
    dst = np.empty_like(sec)
    np.copyto(dst, sec)  # warm up (first touch)
    t_copy = _best(lambda: np.copyto(dst, sec))

    resample_block(sec[:64, :64], (0, 0), sec.shape, (0, 0), az[:8, :8], rg[:8, :8], 0.1, params)  # JIT warm-up
    t_kernel = _best(lambda: resample_block(sec, (0, 0), sec.shape, (0, 0), az, rg, 300.0 / 1700.0, params), 2)

    d_sec = da.from_array(sec, chunks=chunk)
    d_az = da.from_array(az, chunks=chunk)
    d_rg = da.from_array(rg, chunks=chunk)
    with dask.config.set(scheduler="threads", num_workers=1):
        t_dask1 = _best(lambda: resample_slc(d_sec, d_az, d_rg, doppler_hz=300.0, azimuth_line_interval_s=1 / 1700,
                                             params=params, max_offset_px=(4.0, 3.0))[0].compute(), 2)
    with dask.config.set(scheduler="threads", num_workers=2):
        t_dask2 = _best(lambda: resample_slc(d_sec, d_az, d_rg, doppler_hz=300.0, azimuth_line_interval_s=1 / 1700,
                                             params=params, max_offset_px=(4.0, 3.0))[0].compute(), 2)
    ms = n * n / 1e6
    rate = fma_rate()
    floor_msps = rate / fma_per_sample(taps) / 1e6
    return {
        "fma_per_s_1thread": rate, "fma_per_output_sample": fma_per_sample(taps),
        "arithmetic_floor_msamples_per_s": floor_msps,
        "fraction_of_arithmetic_floor": (ms / t_kernel) / floor_msps,
        "size": n, "taps": taps, "chunk": chunk,
        "copy_s": t_copy, "kernel_s": t_kernel, "dask_1worker_s": t_dask1, "dask_2workers_s": t_dask2,
        "copy_msamples_per_s": round(ms / t_copy, 1),
        "kernel_msamples_per_s_1core": round(ms / t_kernel, 2),
        "dask_msamples_per_s_1worker": round(ms / t_dask1, 2),
        "dask_msamples_per_s_2workers": round(ms / t_dask2, 2),
        "kernel_over_copy": round(t_copy / t_kernel, 4),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--taps", type=int, default=12)
    ap.add_argument("--chunk", type=int, default=1024)
    a = ap.parse_args(argv)
    n = a.size
    res = measure(a.size, a.taps, a.chunk)
    print(f"| resample {n}x{n}, {a.taps} taps | kernel {res['kernel_msamples_per_s_1core']} Ms/s/core | "
          f"dask 1/2 workers {res['dask_msamples_per_s_1worker']}/{res['dask_msamples_per_s_2workers']} Ms/s | "
          f"copy {res['copy_msamples_per_s']} Ms/s | ratio {res['kernel_over_copy']} |")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
