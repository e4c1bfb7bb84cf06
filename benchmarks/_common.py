"""Helpers shared by the benchmark scripts (timing, RSS sampling, spawned runs, the machine's state).

Not a test module and not part of the daskinsar package. Scripts in this folder import
it as ``from _common import ...`` (the folder is on ``sys.path`` when a script runs).
"""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
import threading
import time
from typing import Any, Callable

#: where the optional dolphin peer lives (a separate virtualenv: dolphin is not a daskinsar dependency). GDAL's
#: Python bindings come from PyPI's gdal-wheel (wheels for CPython 3.12/3.13 only), hence a 3.12 venv:
#: python3.12 -m venv /tmp/dolphin-venv && /tmp/dolphin-venv/bin/pip install gdal-wheel dolphin
DOLPHIN_PYTHON = "/tmp/dolphin-venv/bin/python"

def timed(fn: Callable[[], Any], repeat: int):
    """Warm up once (JIT compile, FFT plans, first touch of memory), then run ``repeat`` times.

    Returns ``(last output, min wall s, min CPU s of this thread)``.
    """
    fn()
    walls, cpus = [], []
    out = None
    for _ in range(max(1, repeat)):
        t0, c0 = time.perf_counter(), time.thread_time()
        out = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.thread_time() - c0)
    return out, min(walls), min(cpus)


def best(fn: Callable[[], Any], repeat: int = 3) -> float:
    """Minimum wall time (s) over ``repeat`` calls, without a separate warm-up call."""
    t_min = float("inf")
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        fn()
        t_min = min(t_min, time.perf_counter() - t0)
    return t_min


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its reaped children."""
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


class RssSampler:
    """Poll the resident set size of a process and of all its descendants in a thread.

    ``total_peak`` is the peak of (process + descendants) RSS sampled together, and
    ``children_peak`` the peak of the descendants alone (e.g. SNAPHU executables, dask
    worker processes), both in bytes. Polling (default every 20 ms) can miss a spike
    shorter than the period; ``getrusage`` is no substitute on Linux because a forked
    child inherits its parent's high-water mark across exec.
    """

    def __init__(self, pid: int | None = None, period_s: float = 0.02):
        import psutil

        self._proc = psutil.Process(pid)
        self.period_s = period_s
        self.children_peak = 0
        self.total_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def sample(self) -> int:
        """One sample: (process + descendants) RSS in bytes, updating the peaks."""
        import psutil

        kids = 0
        try:
            for c in self._proc.children(recursive=True):
                try:
                    kids += c.memory_info().rss
                except psutil.Error:
                    pass
            me = self._proc.memory_info().rss
        except psutil.Error:
            return 0
        self.children_peak = max(self.children_peak, kids)
        self.total_peak = max(self.total_peak, kids + me)
        return kids + me

    def _loop(self):
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.period_s)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _spawned_entry(func, kwargs, conn):
    try:
        conn.send(("ok", func(**kwargs)))
    except BaseException as e:  # report, do not hang the parent
        import traceback

        conn.send(("error", f"{type(e).__name__}: {e}\n{traceback.format_exc()[-2000:]}"))
    finally:
        conn.close()


def run_spawned(func: Callable[..., Any], timeout_s: float = 7200, **kwargs) -> tuple[Any, float]:
    """Run ``func(**kwargs)`` in a fresh spawned process (so peaks do not mix) and sample its
    RSS (with its descendants) from this process. ``func`` must be importable at module level.

    Returns ``(func's return value, peak RSS MiB)``; raises RuntimeError if ``func`` raised.
    """
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_spawned_entry, args=(func, kwargs, child))
    p.start()
    child.close()
    sampler = RssSampler(p.pid).__enter__()
    try:
        if not parent.poll(timeout_s):
            p.kill()
            raise RuntimeError(f"{getattr(func, '__name__', func)} did not finish in {timeout_s} s")
        status, value = parent.recv()
    finally:
        sampler.__exit__()
        p.join()
    if status != "ok":
        raise RuntimeError(value)
    return value, sampler.total_peak / 2**20


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages (runnable processes; the machine's cores are ``os.cpu_count()``)."""
    return [round(x, 2) for x in os.getloadavg()]


def machine_info() -> dict:
    """Cores, memory, Python and library versions, git commit: what the figures were measured on."""
    import numpy as np
    import psutil

    info: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_GiB": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    for mod in ("dask", "distributed", "zarr", "pyfftw", "numba", "snaphu", "rasterio", "daskinsar"):
        try:
            info[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001 - report what is there
            info[mod] = None
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        info["git_commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True,
                                            text=True, timeout=10).stdout.strip() or None
    except Exception:  # noqa: BLE001
        info["git_commit"] = None
    return info


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def single_thread_env() -> None:
    """One thread per library (BLAS, OpenMP, numba): call before importing them in a child process."""
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(k, "1")


def ensure_importable() -> None:
    """Put this folder on ``sys.path`` (for spawned children that unpickle functions of these scripts)."""
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)


def vmhwm_mib() -> float | None:
    """This process's peak resident set (VmHWM, MiB), or None where /proc has none."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def step_times(lines: list[str]) -> dict:
    """{step: seconds} from a run's reporter lines ("<step>: done in <s> s")."""
    import re

    out = {}
    for line in lines:
        m = re.search(r"(\w+): done in ([0-9.]+) s", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def get(d, *keys):
    """``d[k0][k1]...``, or None where a level is missing (report sections that did not run)."""
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def fmt(v, nd=3) -> str:
    """A report number: ``nd`` significant digits for floats, "-" for None."""
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{nd}g}"
    return str(v)
