"""The sensor reader registry: one interface for every input format.

A reader is registered under a sensor name with

- ``sniff(path) -> bool``: cheap test whether ``path`` is this format (never raises);
- ``read(path, **options) -> Scene``: a lazy, chunked :class:`~daskinsar.scene.Scene`
  with validated metadata and orbit; bad input raises
  :class:`~daskinsar.errors.InputFileError` naming the file and what was expected.

``daskinsar ingest --list-sensors`` prints this registry.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from ..errors import InputFileError


@dataclass(frozen=True)
class ReaderInfo:
    name: str
    description: str
    sniff: Callable[[str], bool]
    read: Callable[..., object]
    levels: tuple[str, ...] = ("slc",)
    tested_on_real_data: bool = False
    aliases: tuple[str, ...] = ()


_REGISTRY: dict[str, ReaderInfo] = {}

# modules that register readers when imported
_READER_MODULES = (
    "daskinsar.io.nisar_h5",
    "daskinsar.io.sentinel1_safe",
    "daskinsar.io.ceos",
    "daskinsar.io.roipac",
    "daskinsar.io.nisar_l0b",
)
_loaded = False


def register(info: ReaderInfo) -> ReaderInfo:
    for key in (info.name, *info.aliases):
        _REGISTRY[key.upper()] = info
    return info


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    for mod in _READER_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:  # a reader module not written yet
            if exc.name != mod:
                raise
    _loaded = True


def readers() -> list[ReaderInfo]:
    """All registered readers, each once, sorted by name."""
    _load_all()
    seen = {id(r): r for r in _REGISTRY.values()}
    return sorted(seen.values(), key=lambda r: r.name)


def get_reader(sensor: str) -> ReaderInfo:
    _load_all()
    try:
        return _REGISTRY[sensor.upper()]
    except KeyError:
        names = ", ".join(r.name for r in readers())
        raise InputFileError(f"sensor {sensor!r}", f"one of the known sensors ({names})", "an unknown sensor name") from None


def detect_reader(path: str) -> ReaderInfo:
    for r in readers():
        try:
            if r.sniff(str(path)):
                return r
        except Exception:
            continue
    raise InputFileError(path, "a file of a supported sensor format (see `daskinsar ingest --list-sensors`)",
                         "no reader recognises it")


def read_scene(path: str, sensor: str | None = None, **options):
    """Read any supported input into a lazy Scene."""
    reader = get_reader(sensor) if sensor else detect_reader(path)
    return reader.read(str(path), **options)
