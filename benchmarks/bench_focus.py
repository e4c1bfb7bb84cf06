"""Focusing throughput vs the FFT floor (not a test).

The floor: the FFT passes range-Doppler focusing cannot avoid, timed with pyfftw in the
same run on the same shapes (one thread each): range FFT + IFFT of every line (length
n_fft_r), azimuth FFT + IFFT of every column (length n_fft_a). The ratio
focus time / floor says how much the algorithm adds (matched filters, RCMC
interpolation, corner turn, dask overhead). Each transform of the floor copies its input into
FFTW's buffer and its result out (the project's ``_fft``, as the focuser did until it kept its
spectra in the plans' buffers); the plan executions alone are reported beside it, a stricter floor.

    python benchmarks/bench_focus.py [n_pulses] [n_range]
"""

from __future__ import annotations

import sys

import dask
import numpy as np

from _common import best


def _best(fn, n=2):
    return best(fn, n)


def measure(n_pulses: int = 8192, n_range: int = 4096, threads: tuple[int, ...] = (1, 2), repeat: int = 2) -> dict:
    """Focus a point-target raw scene with dask's threaded scheduler (``threads`` workers each) and time
    the single-thread FFT floor on the same shapes. Returns seconds and Msamples/s (raw samples)."""
    from daskinsar.simulate.point_targets import ALOS_LIKE, point_target_scene
    from daskinsar.stages.focus import FocusParams, _fft, _plan, focus

    scene, _ = point_target_scene(ALOS_LIKE, n_pulses=n_pulses, n_range=n_range, targets_rc=[(0.5, 0.2)],
                                  chunks=(1024, -1))
    scene = scene.with_data(scene.data.persist())
    params = FocusParams(doppler="metadata", azimuth_bandwidth_hz=1000.0)
    out = focus(scene, params)
    info = out.meta.extra["focus"]
    n_fft_a = info["azimuth_fft_length"]
    from daskinsar.stages.focus import chirp_replica, next_fast_len

    n_fft_r = next_fast_len(n_range + len(chirp_replica(ALOS_LIKE.chirp, ALOS_LIKE.range_sampling_rate_hz)) - 1)
    out.data["slc"].data.compute()  # warm up: numba compile, FFTW plans
    results = {}
    for nthreads in threads:
        with dask.config.set(scheduler="threads", num_workers=nthreads):
            focus(scene, params).data["slc"].data.compute()  # this pool's threads plan their FFTs
            results[nthreads] = _best(lambda: focus(scene, params).data["slc"].data.compute(), repeat)
    # the FFT floor, one thread, in blocks like the stage uses
    raw = scene.data["raw"].data[:1024].compute()
    cols = np.ascontiguousarray(scene.data["raw"].data[:, :256].compute().T)

    def range_ffts():
        for _ in range(max(1, n_pulses // 1024)):
            _fft(_fft(raw, n_fft_r, 1), n_fft_r, 1, True)

    def azimuth_ffts():
        for _ in range(max(1, n_range // 256)):
            _fft(_fft(cols, n_fft_a, 1), n_fft_a, 1, True)

    _best(range_ffts, 1)
    _best(azimuth_ffts, 1)
    floor = _best(range_ffts, repeat) + _best(azimuth_ffts, repeat)

    # the same transforms as plan executions alone (data already in FFTW's buffers, results left there)
    plans = [(_plan((1024, n_fft_r), 1), _plan((1024, n_fft_r), 1, True), max(1, n_pulses // 1024)),
             (_plan((256, n_fft_a), 1), _plan((256, n_fft_a), 1, True), max(1, n_range // 256))]

    def executions():
        for fwd, inv, n in plans:
            for _ in range(n):
                fwd()
                inv()

    for fwd, inv, _ in plans:
        fwd.input_array[...] = 1.0
        inv.input_array[...] = 1.0
    executions()
    execute_floor = _best(executions, repeat)
    msamp = n_pulses * n_range / 1e6
    return {"shape": [n_pulses, n_range], "range_fft_length": int(n_fft_r), "azimuth_fft_length": int(n_fft_a),
            "fft_floor_1thread_s": floor, "fft_floor_Msamples_per_s": msamp / floor,
            "fft_execute_floor_1thread_s": execute_floor,
            "thread_seconds_over_fft_execute_floor": {str(n): t * n / execute_floor for n, t in results.items()},
            "focus_s": {str(n): t for n, t in results.items()},
            "focus_Msamples_per_s": {str(n): msamp / t for n, t in results.items()},
            "thread_seconds_over_fft_floor": {str(n): t * n / floor for n, t in results.items()}}


def main(n_pulses: int = 8192, n_range: int = 4096):
    r = measure(n_pulses, n_range)
    n_fft_r, n_fft_a, floor = r["range_fft_length"], r["azimuth_fft_length"], r["fft_floor_1thread_s"]
    msamp = n_pulses * n_range / 1e6
    results = {int(n): t for n, t in r["focus_s"].items()}
    print(f"scene {n_pulses} x {n_range} ({msamp:.1f} Msamples), range FFT {n_fft_r}, azimuth FFT {n_fft_a}")
    print(f"FFT floor (1 thread): {floor:.2f} s = {msamp / floor:.1f} Msamples/s; the plan executions alone "
          f"(no copies in or out of FFTW's buffers): {r['fft_execute_floor_1thread_s']:.2f} s")
    for n, t in results.items():
        print(f"focus, dask threads={n}: {t:.2f} s = {msamp / t:.1f} Msamples/s, "
              f"{t * n / floor:.2f} x the single-thread FFT floor (thread-seconds)")


if __name__ == "__main__":
    a = [int(x) for x in sys.argv[1:3]]
    main(*a)
