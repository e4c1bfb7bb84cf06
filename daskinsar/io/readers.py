"""The sensor reader registry: one interface for every input format.

A reader is an object satisfying :class:`SceneReader`:

- ``name``, ``description``, ``levels``, ``aliases``, ``tested_on_real_data``;
- ``sniff(path) -> bool``: cheap test whether ``path`` is this format (never raises);
- ``read(path, **options) -> Scene | TopsScene``: a lazy, chunked :class:`~daskinsar.scene.Scene`
  with validated metadata and orbit (a TOPS product: a :class:`~daskinsar.bursts.TopsScene`,
  one Scene per burst); bad input raises
  :class:`~daskinsar.errors.InputFileError` naming the file and what was expected.

Readers are found through the ``daskinsar.readers`` entry-point group, so a
third-party package adds a sensor with one line in its own ``pyproject.toml``::

    [project.entry-points."daskinsar.readers"]
    MYSENSOR = "mypackage.reader:READER"

where ``READER`` is a :class:`ReaderInfo` (or any object with the same attributes).
``daskinsar ingest --list-sensors`` prints the registry.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Callable, Protocol, runtime_checkable

from ..bursts import TopsScene
from ..errors import ConfigError, InputFileError
from ..scene import Scene
from .validate import check_scene

__all__ = ["SceneReader", "ReaderInfo", "readers", "get_reader", "detect_reader", "read_scene", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "daskinsar.readers"


@runtime_checkable
class SceneReader(Protocol):
    """What a sensor reader provides (see the module docstring)."""

    name: str
    description: str
    levels: tuple[str, ...]
    aliases: tuple[str, ...]
    tested_on_real_data: bool

    def sniff(self, path: str) -> bool: ...

    def read(self, path: str, **options: Any) -> Scene | TopsScene: ...


@dataclass(frozen=True)
class ReaderInfo:
    """A :class:`SceneReader` made of two functions."""

    name: str
    description: str
    sniff: Callable[[str], bool]
    read: Callable[..., Scene | TopsScene]
    levels: tuple[str, ...] = ("slc",)
    tested_on_real_data: bool = False
    aliases: tuple[str, ...] = ()


_registry: dict[str, SceneReader] | None = None


def _load() -> dict[str, SceneReader]:
    global _registry
    if _registry is None:
        reg: dict[str, SceneReader] = {}
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            reader = ep.load()
            if not isinstance(reader, SceneReader):
                raise TypeError(f"entry point {ep.name} = {ep.value} is not a daskinsar SceneReader")
            for key in (reader.name, *reader.aliases):
                reg[key.upper()] = reader
        _registry = reg
    return _registry


def readers() -> list[SceneReader]:
    """All registered readers, each once, sorted by name."""
    seen = {id(r): r for r in _load().values()}
    return sorted(seen.values(), key=lambda r: r.name)


def get_reader(sensor: str) -> SceneReader:
    try:
        return _load()[sensor.upper()]
    except KeyError:
        names = ", ".join(r.name for r in readers())
        raise InputFileError(f"sensor {sensor!r}", f"one of the known sensors ({names})",
                             "an unknown sensor name") from None


def detect_reader(path: str) -> SceneReader:
    for r in readers():
        try:
            if r.sniff(str(path)):
                return r
        except Exception:  # a sniffer must never stop detection
            continue
    raise InputFileError(path, "a file of a supported sensor format (see `daskinsar ingest --list-sensors`)",
                         "no reader recognises it")


def reader_options(reader: SceneReader) -> list[str]:
    """The keyword options a reader's ``read`` accepts (besides the path)."""
    params = list(inspect.signature(reader.read).parameters.values())[1:]
    return [p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]


def read_scene(path: str, sensor: str | None = None, **options: Any) -> Scene | TopsScene:
    """Read any supported input into a lazy Scene, checked by :func:`~daskinsar.io.validate.check_scene`.
    Unknown options are an error naming the accepted ones."""
    reader = get_reader(sensor) if sensor else detect_reader(path)
    accepted = reader_options(reader)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ConfigError(f"{path}: reader {reader.name} has no option {', '.join(map(repr, unknown))} "
                          f"(its options: {', '.join(accepted) or 'none'})")
    # every reader's output passes the physics checks before anything downstream sees it
    return check_scene(reader.read(str(path), **options), str(path))
