"""Progress of long dask computations, per pipeline step, on any scheduler.

- local schedulers (threads, processes, sync): a dask callback counts finished tasks;
- a distributed client: a thread polls the scheduler's per-prefix task counts (cumulative, so
  tasks that finished and were forgotten between two polls still count) since the block started,
  so a run against a remote scheduler shows its progress in its own output, not only on the
  dashboard.

On a terminal the count is a redrawn rich bar on stderr; otherwise (logs, CI, a pipe) it is
printed as lines through ``reporter`` (``"topo: writing products.zarr/topo: 120/480 tasks (25%)"``),
at most one every ``interval_s`` seconds, and a last line when the block ends.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from typing import Any, Callable, Iterator

from dask.callbacks import Callback

__all__ = ["RichDaskProgress", "task_progress", "ProgressLine"]


class ProgressLine:
    """Task counts -> a rich bar (terminal) or throttled lines (anything else)."""

    def __init__(self, label: str, reporter: Callable[[str], None] = print, interval_s: float = 5.0,
                 terminal: bool | None = None):
        self.label = label
        self.reporter = reporter
        self.interval_s = interval_s
        self.terminal = sys.stderr.isatty() if terminal is None else terminal
        self.done = self.total = 0
        self._t0 = time.perf_counter()
        self._last = -1e9
        self._lock = threading.Lock()
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> "ProgressLine":
        if self.terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TimeElapsedColumn(), transient=True)
            self._progress.__enter__()
            self._task = self._progress.add_task(self.label, total=None)
        return self

    def update(self, done: int, total: int) -> None:
        with self._lock:
            self.done, self.total = done, max(total, done)
            if self._progress is not None:
                self._progress.update(self._task, completed=self.done, total=self.total or None)
                return
            now = time.perf_counter()
            if self.total and now - self._last >= self.interval_s:
                self._last = now
                self.reporter(self._line())

    def _line(self) -> str:
        pct = 100.0 * self.done / self.total if self.total else 100.0
        return f"{self.label}: {self.done}/{self.total} tasks ({pct:.0f}%), {time.perf_counter() - self._t0:.1f} s"

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)
        elif self.total and exc[0] is None:
            self.reporter(self._line())


class RichDaskProgress(Callback):
    """Progress over the tasks of every local-scheduler dask computation inside the ``with`` block.

    A rich bar on stderr when it is a terminal (or ``force``); otherwise lines through ``reporter``
    when one is given, else silent."""

    def __init__(self, label: str, force: bool = False, reporter: Callable[[str], None] | None = None):
        super().__init__()
        terminal = sys.stderr.isatty() or force
        self._line = ProgressLine(label, reporter or (lambda s: None), terminal=terminal) \
            if (terminal or reporter) else None
        self._lock = threading.Lock()
        self._done = 0
        self._total = 0

    def __enter__(self):
        if self._line is not None:
            self._line.__enter__()
        return super().__enter__()

    def __exit__(self, *args):
        try:
            return super().__exit__(*args)
        finally:
            if self._line is not None:
                self._line.__exit__(*args)

    def _start_state(self, dsk, state):
        with self._lock:
            self._total += sum(len(state[k]) for k in ("ready", "waiting", "running", "finished"))
            self._done += len(state["finished"])
            if self._line is not None:
                self._line.update(self._done, self._total)

    def _posttask(self, key, result, dsk, state, worker_id):
        with self._lock:
            self._done += 1
            if self._line is not None:
                self._line.update(self._done, self._total)


def _task_prefix_counts_fn():
    # a closure, so that cloudpickle sends it by value: the scheduler need not have daskinsar installed
    def task_prefix_counts(dask_scheduler) -> dict[str, tuple[int, int]]:
        """On the scheduler: {task prefix: (tasks that ever waited, tasks that ever finished)}: the prefixes'
        cumulative state counts, which outlive the tasks (unlike task groups, forgotten with their tasks)."""
        out = {}
        for name, tp in dask_scheduler.task_prefixes.items():
            c = tp.state_counts
            out[str(name)] = (int(c.get("waiting", 0)), int(c.get("memory", 0) + c.get("erred", 0)))
        return out

    return task_prefix_counts


task_prefix_counts = _task_prefix_counts_fn()


class DistributedProgress:
    """Polls a distributed client's scheduler: tasks that entered the scheduler, and finished, since the block
    started (every task waits once before it runs)."""

    def __init__(self, client, line: ProgressLine, poll_s: float = 1.0):
        self.client = client
        self.line = line
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._before: dict[str, tuple[int, int]] = {}
        self._thread = threading.Thread(target=self._loop, name="daskinsar-progress", daemon=True)

    def _poll(self) -> None:
        counts = self.client.run_on_scheduler(task_prefix_counts)
        total = done = 0
        for name, (waited, finished) in counts.items():
            w0, f0 = self._before.get(name, (0, 0))
            total += waited - w0
            done += finished - f0
        self.line.update(min(done, total), total)

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_s):
            with contextlib.suppress(Exception):  # a scheduler that went away ends the display, not the run
                self._poll()

    def __enter__(self):
        with contextlib.suppress(Exception):
            self._before = self.client.run_on_scheduler(task_prefix_counts)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)
        with contextlib.suppress(Exception):
            self._poll()


def _active_client():
    try:
        from distributed import get_client

        return get_client()
    except (ImportError, ValueError):
        return None


@contextlib.contextmanager
def task_progress(label: str, enabled: bool = True, reporter: Callable[[str], None] = print) -> Iterator[None]:
    """Progress of the dask computations inside the block, on the local schedulers or a distributed client
    (see the module docstring)."""
    if not enabled:
        yield
        return
    client = _active_client()
    if client is None:
        with RichDaskProgress(label, reporter=reporter):
            yield
        return
    with ProgressLine(label, reporter) as line, DistributedProgress(client, line):
        yield
