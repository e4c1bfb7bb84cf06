"""The run folder as a local path or an fsspec URL (``s3://bucket/run``, ``gs://``, ``az://``, ``memory://``).

:class:`RunFolder` is what the pipeline needs of a folder: join a name, test, list, read and
write small files (each write atomic: a local temporary file renamed, or one object PUT), upload
a finished local file as one object, and remove. Credentials are never part of a URL or the
configuration: fsspec's backends read them from the environment (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL``, ``GOOGLE_APPLICATION_CREDENTIALS``,
``AZURE_STORAGE_CONNECTION_STRING``, ...).

The one-writer guard on an object store (:class:`ObjectStoreLock`). A bucket has no OS lock, so
the lock is an object, ``RUN/.daskinsar/lock.json``, created with a conditional PUT
(``If-None-Match: *``: the store creates it only if it does not exist, so of two runs starting
together exactly one succeeds). It names its holder (host, pid, a random id) and a heartbeat time
that a thread refreshes every ``refresh_s`` while the run lives. A second run finding the lock
refuses, naming the holder, unless the lock is stale: its heartbeat is older than ``ttl_s`` (the
holder died without releasing it), or its holder ran on this host and that process no longer
exists (a run killed here is taken over at once). A stale lock is deleted and the conditional
create retried, so two runs taking over one stale lock still cannot both win. The heartbeat
thread re-reads the lock before each refresh; if another run holds it (possible only if this one
stalled for longer than ``ttl_s``), the run stops before its next write (:meth:`check`).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import fsspec

from ..errors import RunLockedError

__all__ = ["RunFolder", "ObjectStoreLock", "is_url"]


def is_url(path: str | os.PathLike) -> bool:
    """True for an fsspec URL (``proto://...``) other than a plain local path or ``file://``."""
    s = str(path)
    return "://" in s and not s.startswith("file://")


class RunFolder:
    """A run folder (local path or URL); ``join(name)`` gives the URL or path of an entry."""

    def __init__(self, url: str | os.PathLike):
        self.url = str(url).rstrip("/") if is_url(url) else str(url)
        self.is_local = not is_url(url)
        self.fs, self.path = fsspec.core.url_to_fs(self.url)

    def __str__(self) -> str:
        return self.url

    def join(self, name: str) -> str:
        if self.is_local:
            return str(Path(self.url) / name)
        return f"{self.url}/{name}" if name else self.url

    def _p(self, name: str = "") -> str:
        return f"{self.path.rstrip('/')}/{name}" if name else self.path

    def exists(self, name: str = "") -> bool:
        return bool(self.fs.exists(self._p(name)))

    def isdir(self, name: str = "") -> bool:
        return bool(self.fs.isdir(self._p(name)))

    def listdir(self, name: str = "") -> list[str]:
        """Names of the entries of a folder (none if it does not exist)."""
        try:
            entries = self.fs.ls(self._p(name), detail=False)
        except FileNotFoundError:
            return []
        base = self._p(name).rstrip("/")
        return sorted({str(e).rstrip("/").rsplit("/", 1)[-1] for e in entries if str(e).rstrip("/") != base})

    def read_text(self, name: str) -> str:
        return self.fs.cat_file(self._p(name)).decode()

    def write_text(self, name: str, text: str) -> None:
        """Write a small file atomically: a local temporary renamed into place, or one object PUT."""
        if self.is_local:
            final = Path(self.url) / name
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp = final.with_name(f".{final.name}.tmp")
            tmp.write_text(text)
            os.replace(tmp, final)
        else:
            self.fs.pipe_file(self._p(name), text.encode())

    def create_exclusive(self, name: str, text: str) -> bool:
        """Create ``name`` only if it does not exist (a conditional PUT); False when it exists."""
        try:
            self.fs.pipe_file(self._p(name), text.encode(), mode="create")
        except FileExistsError:
            return False
        return True

    def upload(self, local: str | os.PathLike, name: str) -> None:
        """Copy a finished local file to ``name`` as one object (it appears whole or not at all)."""
        self.fs.put_file(str(local), self._p(name))

    def remove(self, name: str, recursive: bool = False) -> None:
        try:
            self.fs.rm(self._p(name), recursive=recursive)
        except FileNotFoundError:
            pass


class ObjectStoreLock:
    """The one-writer lock of a run folder on an object store (see the module docstring)."""

    NAME = ".daskinsar/lock.json"

    def __init__(self, folder: RunFolder, ttl_s: float = 120.0, refresh_s: float = 20.0):
        self.folder = folder
        self.ttl_s = float(os.environ.get("DASKINSAR_LOCK_TTL_S", ttl_s))
        self.refresh_s = min(refresh_s, self.ttl_s / 4)
        self.id = uuid.uuid4().hex
        self.host = socket.gethostname()
        self.lost: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _record(self) -> str:
        return json.dumps({"id": self.id, "host": self.host, "pid": os.getpid(), "heartbeat": time.time(),
                           "since": time.strftime("%Y-%m-%d %H:%M:%S")})

    def _holder(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.folder.read_text(self.NAME))
        except FileNotFoundError:
            return None
        except (json.JSONDecodeError, UnicodeDecodeError):
            return {}

    def _stale(self, h: dict[str, Any]) -> bool:
        if time.time() - float(h.get("heartbeat", 0.0)) > self.ttl_s:
            return True
        if h.get("host") == self.host and isinstance(h.get("pid"), int):
            try:
                os.kill(h["pid"], 0)
            except ProcessLookupError:
                return True
            except PermissionError:
                return False
        return False

    def acquire(self, wait: bool = False) -> None:
        while True:
            if self.folder.create_exclusive(self.NAME, self._record()):
                break
            h = self._holder()
            if h is None:
                continue  # released meanwhile
            if self._stale(h):
                self.folder.remove(self.NAME)
                continue
            if wait:
                time.sleep(min(5.0, self.refresh_s))
                continue
            who = f"pid {h.get('pid')} on {h.get('host')} since {h.get('since')}" if h else "unreadable lock"
            raise RunLockedError(f"{self.folder}: another daskinsar run is writing this folder ({who}); wait for it "
                                 f"to finish (a dead run's lock expires {self.ttl_s:.0f} s after its last heartbeat), "
                                 "or use another output folder")
        self._thread = threading.Thread(target=self._heartbeat, name="daskinsar-run-lock", daemon=True)
        self._thread.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.refresh_s):
            h = self._holder()
            if not h or h.get("id") != self.id:
                self.lost = f"pid {h.get('pid')} on {h.get('host')}" if h else "nobody (the lock was removed)"
                return
            self.folder.write_text(self.NAME, self._record())

    def check(self) -> None:
        """Raise RunLockedError if another run took the lock over (this one stalled beyond the TTL)."""
        if self.lost:
            raise RunLockedError(f"{self.folder}: this run lost the folder's lock to {self.lost}; stopping before "
                                 "writing more")

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        h = self._holder()
        if h and h.get("id") == self.id:
            self.folder.remove(self.NAME)
