"""Common-band filter and split-spectrum ionosphere throughput against the FFT passes they must make.

Usage::

    python benchmarks/bench_spectra.py [--n 2048] [--repeat 3]

One thread, one block (no dask), an n x n complex64 SLC:

- ``commonband range`` / ``commonband azimuth``: :func:`daskinsar.stages.bandpass.bandpass_block` with
  per-pixel band edges (the common-band filter of one image; a pair is two of them).
- its FFT floor: the forward + inverse FFTs of the same windowed segments (same shapes, scipy.fft, one
  worker) -- what the overlapped-segment method cannot avoid; and the whole-line floor, one forward and one
  inverse FFT of every full line, the least any FFT filter of the image can do.
- ``ionosphere``: the per-block work of the ionosphere step, its own kernels: ``subband_looks_kernel`` (the
  low and high sub-band of both SLCs, each SLC's segments transformed once for both bands, two fused
  crossmul + multilook passes, 4 x 4 looks) and the plane fit of the estimate on the multilooked grid;
  floor: the FFT passes that must be made, one forward and two inverse segment transforms per SLC.

Prints one JSON document (``run.py`` calls :func:`bench_spectra` and :func:`markdown_rows`).
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import scipy.fft as sfft

from _common import timed

LOOKS = (4, 4)


def _slc(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, n), dtype=np.float32) + 1j * rng.standard_normal((n, n), dtype=np.float32)
            ).astype(np.complex64)


def _segment_floor(n_lines: int, n: int, repeat: int) -> float:
    """Wall seconds of the forward + inverse FFTs of the windowed segments of n_lines lines of n samples."""
    from daskinsar.stages.bandpass import HOP, PAD

    n_seg = int(np.ceil(n / HOP)) + 2
    n_fft = sfft.next_fast_len(2 * HOP + 2 * PAD)
    seg = _slc(1, 1)[0, :1] * np.ones((n_lines, n_seg, 2 * HOP), np.complex64)

    def run():
        sfft.ifft(sfft.fft(seg, n=n_fft, axis=-1, workers=1), axis=-1, workers=1)

    return timed(run, repeat)[1]


def _line_floor(x: np.ndarray, repeat: int) -> float:
    def run():
        sfft.ifft(sfft.fft(x, axis=1, workers=1), axis=1, workers=1)

    return timed(run, repeat)[1]


def bench_spectra(n: int, repeat: int = 3) -> dict:
    from daskinsar.stages.bandpass import bandpass_block
    from daskinsar.stages.ionosphere import plane_fit_kernel, subband_looks_kernel

    ref, sec = _slc(n, 0), _slc(n, 1)
    # band edges that vary slowly across the image, as a spectral shift over terrain does
    drift = 0.01 * np.sin(np.linspace(0, 3, n))[None, :] * np.ones((n, 1))
    lo, hi = -0.40 + drift, 0.25 + drift
    samples = n * n
    out: dict = {"n": n, "samples": samples}
    seg_floor = _segment_floor(n, n, repeat)
    line_floor = _line_floor(ref, repeat)
    for axis, name in ((1, "range"), (0, "azimuth")):
        x, a, b = (ref, lo, hi) if axis == 1 else (np.ascontiguousarray(ref.T), lo.T.copy(), hi.T.copy())
        _, wall, cpu = timed(lambda: bandpass_block(x, a, b, 0), repeat)
        out[f"commonband_{name}"] = {"seconds": wall, "cpu_seconds": cpu, "Msamples_per_s": samples / wall / 1e6,
                                     "segment_fft_floor_s": seg_floor, "ratio_to_segment_floor": wall / seg_floor,
                                     "whole_line_fft_floor_s": line_floor, "ratio_to_whole_line_floor":
                                     wall / line_floor}
    phase = np.zeros((n, n), np.float64)
    ml = (n // LOOKS[0], n // LOOKS[1])
    w = np.ones(ml)
    d = np.random.default_rng(2).standard_normal(ml)

    def iono():
        # sub-bands inside a 0.65 cycles/sample common band (fs = 1, no spectral shift: phase 0)
        packed = subband_looks_kernel(ref, sec, phase, None, 0, slice(0, n), LOOKS, range_sampling_rate_hz=1.0,
                                      b1_hz=0.65, b2_hz=0.65, guard_hz=0.0, fraction=1.0 / 3.0)
        plane_fit_kernel(d, w, (25, 25), 3.0)
        return packed

    _, wall, cpu = timed(iono, max(1, repeat - 1))
    out["ionosphere"] = {"seconds": wall, "cpu_seconds": cpu, "Msamples_per_s": samples / wall / 1e6,
                         "fft_floor_s": 3 * seg_floor, "ratio_to_fft_floor": wall / (3 * seg_floor),
                         "looks": list(LOOKS)}
    return out


def markdown_rows(s: dict, fmt=lambda v: f"{v:.3g}") -> list[str]:
    """Rows of run.py's stage table."""
    if "n" not in s:
        return []
    rows = []
    for name in ("range", "azimuth"):
        r = s[f"commonband_{name}"]
        rows.append(f"| commonband {name} filter (one image) | {s['n']}^2 | {fmt(r['Msamples_per_s'])} | FFT floor of "
                    f"its segments {fmt(s['samples'] / r['segment_fft_floor_s'] / 1e6)} Ms/s; whole lines "
                    f"{fmt(s['samples'] / r['whole_line_fft_floor_s'] / 1e6)} Ms/s | "
                    f"{fmt(r['ratio_to_segment_floor'])} x segment floor, {fmt(r['ratio_to_whole_line_floor'])} x "
                    "whole-line floor |")
    io = s["ionosphere"]
    rows.append(f"| ionosphere (2 sub-bands of 2 SLCs, one forward FFT per SLC, 2 looks passes, plane fit) | {s['n']}^2 | "
                f"{fmt(io['Msamples_per_s'])} | FFT floor {fmt(s['samples'] / io['fft_floor_s'] / 1e6)} Ms/s | "
                f"{fmt(io['ratio_to_fft_floor'])} x floor |")
    return rows


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2048)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    print(json.dumps(bench_spectra(a.n, a.repeat), indent=2))
