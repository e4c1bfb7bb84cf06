"""The InSAR pipeline: steps named like ISCE's, each checkpointed in the run folder.

The pipeline orders steps and moves data between stores; it holds no physics. Every step is
a :class:`Step` of :data:`STEPS` (``daskinsar steps`` lists them); its ``build`` (in
:mod:`daskinsar.steps`) opens its inputs from the stores of earlier steps, calls a stage's
``run(inputs, params)`` and returns the Datasets to write, keyed by their place in the run
folder (``products.zarr/<step>``, or a scene store).

Resume: a step's token is a hash of its configuration sections, its inputs' identities, the
daskinsar version and the tokens of the steps it reads; every output is written atomically
(:func:`daskinsar.io.store.write_product`) with that token in its own attributes. A rerun skips a
step whose outputs all carry the wanted token (a crash costs at most the step that was running)
and redoes a step whose settings or inputs changed, and every step after it.

Why a graph per step rather than one for the whole run: several steps need a small eager
result of the one before (the offset fit needs the dense offsets, the unwrapper's tile
congruence needs the unwrapped tiles, the geocoder's coarse lookup needs the geometry), and a
stored checkpoint per step is what makes resume and bounded memory possible; within a step the
graph is whole and lazy.

The run folder is daskinsar's: created by it (marked ``.daskinsar/run.json``) or refused, and
written by one run at a time (an OS lock, ``.daskinsar/lock``; on an object store a heartbeat lock
object created by a conditional PUT, :class:`daskinsar.io.run_folder.ObjectStoreLock`). The run folder
may be a local path or an fsspec URL (``s3://bucket/run``, ``gs://``, ``az://``).

Every Dataset is given its CF attributes (:func:`daskinsar.products.cf_attributes`: units, long names,
``Conventions``, ``grid_mapping``, ``azimuth_time`` units with the epoch, provenance) just before it is
written: the one place products are described.
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import hashlib
import json
import os
import socket
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from . import __version__, steps_tops
from .config import RunConfig
from .errors import ConfigError, OutputPathError, RunLockedError
from .io import store
from .io.export import stored_file_token
from .io.run_folder import ObjectStoreLock, RunFolder, is_url
from .products import cf_attributes
from .progress import task_progress
from .scene import SCENE_ROLE
from .steps import STEP_NAMES, STEPS, RunContext, Step

__all__ = ["run", "select_steps", "step_token", "claim_run_folder", "run_lock", "STEPS", "STEP_NAMES"]

# ---------------------------------------------------------------------------------------------
# tokens
def _identity(path: str | list[str] | None) -> list:
    """What identifies an input's content cheaply: its path and the size and mtime of the file, or of
    a folder and its immediate entries (a replaced input gets a new token); of each frame of a list."""
    if isinstance(path, list):
        return [_identity(p) for p in path]
    if path is None or "://" in path or not os.path.exists(path):
        return [path]
    p = Path(path)
    entries = [p] + (sorted(p.iterdir()) if p.is_dir() else [])
    return [path] + [[e.name, e.stat().st_size, e.stat().st_mtime_ns] for e in entries]


def _section(config: RunConfig, name: str) -> Any:
    value = getattr(config, name)
    if name in ("reference", "secondary", "dem", "water_mask"):
        return [value.model_dump(mode="json"), _identity(value.path)]
    return value.model_dump(mode="json") if hasattr(value, "model_dump") else value


def step_token(step: Step, config: RunConfig, upstream: dict[str, str]) -> str:
    """The one way a step's token is made: its name, the daskinsar version, its config sections and
    the tokens of the steps it reads."""
    h = hashlib.sha256()
    parts = [step.name, __version__, [_section(config, s) for s in step.config], [upstream[a] for a in step.after]]
    h.update(json.dumps(parts, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def _up_to_date(ctx: RunContext, step: Step, token: str) -> bool:
    """Every output of the step exists, is complete and carries ``token`` (a GeoTIFF in its tags)."""
    outs = step.outputs(ctx)
    return bool(outs) and all((stored_file_token(ctx.url(o)) if o.endswith(".tif") else
                               store.stored_token(ctx.url(o))) == token for o in outs)


# ---------------------------------------------------------------------------------------------
# the run folder: ownership and the one-writer lock
RUN_MARKER = ".daskinsar/run.json"


def claim_run_folder(run_dir: Path | str, inputs: list[str]) -> None:
    """Create the run folder, or accept it if empty or already a daskinsar run folder; refuse anything
    else, and refuse a folder that is (or holds, or lies inside) an input. ``run_dir``: a local path or
    an fsspec URL (``s3://bucket/run``)."""
    if is_url(run_dir):
        return _claim_url_folder(RunFolder(run_dir), inputs)
    run_dir = Path(run_dir)
    here = run_dir.resolve()
    for inp in inputs:
        if "://" in inp:
            continue
        p = Path(inp).resolve()
        if here == p or p.is_relative_to(here) or here.is_relative_to(p):
            raise OutputPathError(f"{run_dir}: the run folder would hold or overwrite the input {inp}; choose "
                                  "an output folder apart from the inputs")
    marker = run_dir / RUN_MARKER
    if run_dir.exists():
        if not run_dir.is_dir():
            raise OutputPathError(f"{run_dir}: exists and is not a folder; choose another output")
        if not marker.exists() and any(run_dir.iterdir()):
            names = ", ".join(sorted(e.name for e in run_dir.iterdir())[:5])
            raise OutputPathError(f"{run_dir}: exists, is not empty ({names}) and is not a daskinsar run folder; "
                                  "daskinsar writes only into a new or empty folder or one of its own runs")
    marker.parent.mkdir(parents=True, exist_ok=True)
    if not marker.exists():
        marker.write_text(json.dumps({"created_by": f"daskinsar {__version__}", "time": time.time()}))


def _claim_url_folder(folder: RunFolder, inputs: list[str]) -> None:
    here = folder.url.rstrip("/") + "/"
    for inp in inputs:
        there = str(inp).rstrip("/") + "/"
        if here.startswith(there) or there.startswith(here):
            raise OutputPathError(f"{folder}: the run folder would hold or overwrite the input {inp}; choose "
                                  "an output folder apart from the inputs")
    if folder.exists() and not folder.isdir():
        raise OutputPathError(f"{folder}: exists and is not a folder; choose another output")
    if not folder.exists(RUN_MARKER):
        names = folder.listdir()
        if names:
            raise OutputPathError(f"{folder}: exists, is not empty ({', '.join(names[:5])}) and is not a daskinsar "
                                  "run folder; daskinsar writes only into a new or empty folder or one of its own runs")
        folder.write_text(RUN_MARKER, json.dumps({"created_by": f"daskinsar {__version__}", "time": time.time()}))


@contextlib.contextmanager
def run_lock(run_dir: Path | str, wait: bool = False) -> Iterator[Callable[[], None]]:
    """Hold the run folder's exclusive lock: an OS lock on a local folder (released when the process ends,
    even if killed), a heartbeat lock object on an object store (:class:`ObjectStoreLock`). Yields a check
    to call before each write (it raises when an object-store lock was lost)."""
    if is_url(run_dir):
        lock = ObjectStoreLock(RunFolder(run_dir))
        lock.acquire(wait=wait)
        try:
            yield lock.check
        finally:
            lock.release()
        return
    run_dir = Path(run_dir)
    path = run_dir / ".daskinsar" / "lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = os.pread(fd, 512, 0).decode(errors="replace").strip() or "unknown"
            raise RunLockedError(f"{run_dir}: another daskinsar run is writing this folder ({holder}); wait for it "
                                 "to finish, or use another output folder") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}"
                  .encode(), 0)
        yield lambda: None
    finally:
        os.close(fd)


def _remove_stale_temporaries(ctx: RunContext) -> None:
    """Temporaries left by a killed run (we hold the lock: no live writer owns them) are never products."""
    folder = ctx.folder
    for sub in ("", "products.zarr"):
        for name in folder.listdir(sub):
            if name.startswith(".") and (".tmp-" in name or ".old-" in name):
                store.remove(folder.join(f"{sub}/{name}" if sub else name))
    # the export writes each GeoTIFF under a hidden name, then renames it (locally; one PUT on a store)
    for sub in ("geo", "geo/geometry"):
        for name in folder.listdir(sub):
            if name.startswith(".") and not folder.isdir(f"{sub}/{name}"):
                folder.remove(f"{sub}/{name}")


def _epoch(ctx: RunContext, name: str, ds: Any) -> str | None:
    """The epoch (ISO UTC) ``azimuth_time`` counts from in an output: its own scene's, else the reference's."""
    own = ds.attrs.get(f"{SCENE_ROLE}_radar_metadata")
    if own:
        return str(json.loads(own)["epoch"])
    if steps_tops.is_tops_run(ctx):
        return steps_tops.reference_epoch(ctx)
    if store.is_complete(ctx.url("reference.zarr")):
        return ctx.scene("reference").meta.epoch
    return None


def select_steps(start: str | None = None, end: str | None = None, dostep: str | None = None) -> list[str]:
    for s in (start, end, dostep):
        if s is not None and s not in STEP_NAMES:
            close = difflib.get_close_matches(s, STEP_NAMES, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"unknown step {s!r}{hint} (steps: {', '.join(STEP_NAMES)})")
    if dostep:
        return [dostep]
    i0 = STEP_NAMES.index(start) if start else 0
    i1 = STEP_NAMES.index(end) if end else len(STEP_NAMES) - 1
    return list(STEP_NAMES[i0: i1 + 1])


def run(config: RunConfig, *, start: str | None = None, end: str | None = None, dostep: str | None = None,
        progress: bool = True, reporter: Callable[[str], None] = print, wait: bool = False) -> dict[str, str]:
    """Run the pipeline (on whatever dask scheduler is active). Returns {step: status}.

    ``config.output``: a local folder or an fsspec URL (``s3://bucket/run``; credentials from the
    environment)."""
    selected = select_steps(start, end, dostep)
    run_dir: Path | str = config.output if is_url(config.output) else Path(config.output)
    claim_run_folder(run_dir, [*config.reference.paths, *config.secondary.paths,
                               *(p for p in (config.dem.path, config.water_mask.path) if p)])
    status: dict[str, str] = {}
    with run_lock(run_dir, wait=wait) as still_ours:
        ctx = RunContext(config, run_dir, progress=progress, reporter=reporter)
        store.ensure_group(ctx.products_url)
        _remove_stale_temporaries(ctx)
        tokens: dict[str, str] = {}
        for step in STEPS:
            t0 = time.perf_counter()
            token = tokens[step.name] = step_token(step, config, tokens)
            if _up_to_date(ctx, step, token):
                status[step.name] = "up to date"  # reported in the run's summary
                continue
            if step.name not in selected:
                status[step.name] = "not selected"
                continue
            still_ours()
            ctx.token = token
            outputs = step.build(ctx)
            if outputs is None:
                status[step.name] = "skipped"
                for name in step.outputs(ctx):  # a stale product of an earlier configuration is not this one
                    if store.is_complete(ctx.url(name)):
                        store.remove(ctx.url(name))
                continue
            for name, ds in outputs.items():
                group = name.removeprefix("products.zarr/").removesuffix(".zarr")
                ds = cf_attributes(ds, group, step=step.name, version=__version__, epoch=_epoch(ctx, name, ds))
                ds.attrs["daskinsar_config"] = config.model_dump_json()
                ds.attrs["daskinsar_version"] = __version__
                still_ours()
                with task_progress(f"{step.name}: writing {name}", enabled=progress, reporter=reporter):
                    store.write_product(ds, ctx.url(name), token)
            ctx.cache.clear()
            status[step.name] = "done"
            reporter(f"{step.name}: done in {time.perf_counter() - t0:.1f} s")
        # the configuration that made the products, written once the run has finished
        still_ours()
        ctx.folder.write_text("config.json", config.model_dump_json(indent=2))
    return status
