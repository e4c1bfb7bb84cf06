"""Progress display for long dask computations on the local (threads/processes) schedulers."""

from __future__ import annotations

import contextlib
import sys
import threading
from typing import Any, Iterator

from dask.callbacks import Callback


class RichDaskProgress(Callback):
    """A rich progress bar over the tasks of every dask computation inside the ``with`` block.

    Written to stderr; silent when stderr is not a terminal unless ``force`` is set
    (logs then get one line per computation instead of a redrawn bar).
    """

    def __init__(self, label: str, force: bool = False):
        super().__init__()
        self.label = label
        self._lock = threading.Lock()
        self._live = sys.stderr.isatty() or force
        self._progress: Any = None
        self._task: Any = None
        self._done = 0
        self._total = 0

    def __enter__(self):
        if self._live:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TimeElapsedColumn(), transient=True)
            self._progress.__enter__()
        return super().__enter__()

    def __exit__(self, *args):
        try:
            return super().__exit__(*args)
        finally:
            if self._progress is not None:
                self._progress.__exit__(*args)

    def _start_state(self, dsk, state):
        with self._lock:
            self._total = sum(len(state[k]) for k in ("ready", "waiting", "running", "finished"))
            self._done = len(state["finished"])
            if self._progress is not None:
                if self._task is not None:
                    self._progress.remove_task(self._task)
                self._task = self._progress.add_task(self.label, total=self._total, completed=self._done)

    def _posttask(self, key, result, dsk, state, worker_id):
        with self._lock:
            self._done += 1
            if self._progress is not None and self._task is not None:
                self._progress.update(self._task, completed=self._done)


@contextlib.contextmanager
def task_progress(label: str, enabled: bool = True) -> Iterator[None]:
    """Progress of the dask computations inside the block: a rich bar on the local schedulers; with a
    distributed client, its task progress (the dashboard shows the task stream)."""
    if not enabled:
        yield
        return
    try:
        from distributed import get_client

        get_client()
        distributed = True
    except (ImportError, ValueError):
        distributed = False
    if distributed:
        yield
        return
    with RichDaskProgress(label):
        yield
