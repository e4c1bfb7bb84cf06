"""Seeded mutations of valid SAR products, and the rule every mutated read must meet.

A :class:`Mutation` changes a fresh copy of a valid product (a folder) in place. :func:`run_fuzz`
applies each one to its own copy and reads it back with the real reader. Allowed outcomes:

- ``error``: a :class:`~daskinsar.errors.DaskInsarError` whose message is one line and names a
  file of the copy (never a MemoryError turned into one: declared sizes are checked before
  anything is allocated);
- ``same``: the read equals the unmutated read (metadata, grid, orbit, pixels): the mutation
  hit a field the reader does not use (:attr:`Tally.same` lists them);
- ``pixel``: for a bit flip at a random offset only, metadata, grid and orbit equal the
  unmutated read and at most two pixels differ (the flip hit the image samples);
- ``expected``: for a mutation that states its correct result (``Mutation.expect``: the
  metadata fields an optional element's removal leaves unknown), the unmutated read with those
  fields so.

Anything else fails: another exception type (a traceback), or a read that differs from the
unmutated one (a silent, wrong product).

Mutation builders: whole files (truncate, flip, overwrite, delete, a folder in their place),
text values (XML leaves, ``KEY value`` files) and HDF5 objects (attributes and datasets).
Numeric values are set to the "impossible anywhere" values of :data:`ANY_FIELD` (NaN, inf,
1e20, text, blank) in any field, and to zero / negative only in fields a reader documents
as positive (:data:`POSITIVE_FIELD`).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import dask
import numpy as np

from daskinsar.bursts import TopsScene
from daskinsar.errors import DaskInsarError
from daskinsar.scene import SCENE_ROLE, meta_from_attrs

Apply = Callable[[Path], None]

#: values no SAR metadata field can hold, and the extra ones impossible in a positive quantity
ANY_FIELD = ("nan", "inf", "huge", "text", "blank")
POSITIVE_FIELD = ANY_FIELD + ("zero", "negative")
#: metadata extras downstream code uses (the rest is informational and not compared)
USED_EXTRA = ("attitude", "tops")


@dataclass(frozen=True)
class Mutation:
    name: str
    apply: Apply
    flip: bool = False  # a bit flip at a random offset: may land in the image samples
    expect: dict | Callable | None = None  # the correct read: the unmutated one with these metadata fields, or
    #                                         a function of the unmutated read


@dataclass
class Tally:
    reader: str
    counts: Counter = field(default_factory=Counter)
    same: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values()) + len(self.failures)

    def line(self) -> str:
        return (f"{self.reader}: {self.total} mutations, {self.counts['error']} clear errors, "
                f"{self.counts['same']} read unchanged, {self.counts['pixel']} read with the flipped pixel, "
                f"{self.counts['expected']} read as stated, {len(self.failures)} failures")


# --------------------------------------------------------------------------------------------- reading
def _scenes(read) -> list:
    return list(read.bursts) if isinstance(read, TopsScene) else [read]


def fingerprint(read, root: str, pixels: bool) -> tuple[list[str], list[np.ndarray]]:
    """(metadata, grid and orbit as text with ``root`` masked; the pixel arrays) of a read."""
    texts, images = [], []
    for s in _scenes(read):
        m = s.meta.model_copy(update={"extra": {k: v for k, v in s.meta.extra.items() if k in USED_EXTRA},
                                      "source_files": []})
        o = s.orbit
        parts = [m.model_dump_json(), o.epoch, o.time.tobytes().hex(), o.position.tobytes().hex(),
                 o.velocity.tobytes().hex(), s.azimuth_time.tobytes().hex(), s.slant_range.tobytes().hex(),
                 str(s.shape)]
        texts.append("|".join(parts).replace(root, "<ROOT>"))
        if pixels:
            images.append(np.asarray(s.data[s.main_variable].values))
    return texts, images


def _with_meta(read, update: dict):
    """A read with its radar metadata fields ``update`` (a scene, a TOPS scene or a SNAP pair's tuple)."""
    if isinstance(read, TopsScene):
        return TopsScene([_with_meta(b, update) for b in read.bursts], dict(read.attrs))
    if isinstance(read, tuple):  # (reference, secondary, geometry with the metadata in its attributes)
        ref, sec, geo = read
        geo = geo.copy()
        geo.attrs = {**geo.attrs, f"{SCENE_ROLE}_radar_metadata":
                     meta_from_attrs(geo.attrs).model_copy(update=update).to_json()}
        return ref, sec, geo
    return type(read)(read.data, read.meta.model_copy(update=update), read.orbit, dict(read.attrs))


def _differing_pixels(a: list[np.ndarray], b: list[np.ndarray]) -> int:
    if len(a) != len(b) or any(x.shape != y.shape for x, y in zip(a, b)):
        return 1 << 30
    return sum(int(np.count_nonzero(~((x == y) | (np.isnan(x) & np.isnan(y))))) for x, y in zip(a, b))


def run_fuzz(reader: str, pristine: Path, target: str, read: Callable[[str], object], mutations: Sequence[Mutation],
             work: Path, *, pixels: bool = True, fingerprint: Callable = fingerprint) -> Tally:
    """Apply every mutation to its own copy of ``pristine`` (a folder) and read ``target`` (relative to the
    copy; "" for the folder itself) with ``read``. Returns the outcomes; failures are listed, not raised.
    ``fingerprint(read, root, pixels)``: (texts, arrays) compared with the unmutated read's."""
    tally = Tally(reader)
    with dask.config.set(scheduler="sync"):
        ref_read = read(str(pristine / target) if target else str(pristine))
        ref_text, ref_pix = fingerprint(ref_read, str(pristine), pixels)
    work.mkdir(parents=True, exist_ok=True)
    for i, mut in enumerate(mutations):
        case = work / f"m{i:03d}"
        shutil.copytree(pristine, case)
        try:
            mut.apply(case)
            path = str(case / target) if target else str(case)
            try:
                with dask.config.set(scheduler="sync"):
                    got_text, got_pix = fingerprint(read(path), str(case), pixels)
            except DaskInsarError as exc:
                msg = str(exc)
                if "\n" in msg or str(case) not in msg:
                    tally.failures.append(f"{mut.name}: message not one line naming the file: {msg!r}")
                elif "MemoryError" in msg or "Unable to allocate" in msg:
                    tally.failures.append(f"{mut.name}: allocation attempted before the size was checked: {msg}")
                else:
                    tally.counts["error"] += 1
                continue
            except Exception as exc:  # the failure the suite exists to catch
                first = str(exc).splitlines()[0] if str(exc) else ""
                tally.failures.append(f"{mut.name}: traceback {type(exc).__name__}: {first[:200]}")
                continue
            if mut.expect is not None:
                if callable(mut.expect):  # the correct read computed from the unmutated one
                    want, want_pix = fingerprint(mut.expect(ref_read), str(pristine), pixels)
                else:
                    want, want_pix = fingerprint(_with_meta(ref_read, mut.expect), str(pristine), False)[0], ref_pix
                if got_text == want and _differing_pixels(got_pix, want_pix) == 0:
                    tally.counts["expected"] += 1
                else:
                    tally.failures.append(f"{mut.name}: read, but not as stated ({mut.expect})")
            elif got_text == ref_text and _differing_pixels(got_pix, ref_pix) == 0:
                tally.counts["same"] += 1
                tally.same.append(mut.name)
            elif mut.flip and got_text == ref_text and _differing_pixels(got_pix, ref_pix) <= 2:
                tally.counts["pixel"] += 1
            else:
                what = "metadata/grid/orbit" if got_text != ref_text else "pixels"
                tally.failures.append(f"{mut.name}: read without error but its {what} differ (silently wrong)")
        finally:
            shutil.rmtree(case, ignore_errors=True)
    return tally


# --------------------------------------------------------------------------------------------- files
def _bytes(d: Path, rel: str) -> bytearray:
    return bytearray((d / rel).read_bytes())


def truncate(rel: str, at: int) -> Mutation:
    def f(d: Path) -> None:
        p = d / rel
        p.write_bytes(p.read_bytes()[:at])
    return Mutation(f"{rel} truncated to {at} B", f)


def flip(rel: str, offset: int, bit: int) -> Mutation:
    def f(d: Path) -> None:
        b = _bytes(d, rel)
        b[offset] ^= 1 << bit
        (d / rel).write_bytes(bytes(b))
    return Mutation(f"{rel} bit {bit} of byte {offset} flipped", f, flip=True)


def overwrite(rel: str, offset: int, data: bytes, what: str = "") -> Mutation:
    def f(d: Path) -> None:
        b = _bytes(d, rel)
        b[offset: offset + len(data)] = data
        (d / rel).write_bytes(bytes(b))
    return Mutation(f"{rel} {what or f'bytes {offset}..'} = {data[:24]!r}", f)


def remove(rel: str) -> Mutation:
    return Mutation(f"{rel} deleted", lambda d: (d / rel).unlink())


def folder_instead(rel: str) -> Mutation:
    def f(d: Path) -> None:
        (d / rel).unlink()
        (d / rel).mkdir()
    return Mutation(f"{rel} replaced by a folder", f)


def replace(rel: str, data: bytes, what: str) -> Mutation:
    return Mutation(f"{rel} replaced by {what}", lambda d: (d / rel).write_bytes(data))


def random_truncations(rel: str, size: int, n: int, rng: np.random.Generator, lo: int = 0) -> list[Mutation]:
    """``n`` truncations of a ``size``-byte file at seeded offsets in [lo, size)."""
    return [truncate(rel, int(k)) for k in sorted(set(rng.integers(lo, size, n).tolist()))]


def random_flips(rel: str, start: int, stop: int, n: int, rng: np.random.Generator,
                 bits: Sequence[int] = tuple(range(8))) -> list[Mutation]:
    """``n`` single-bit flips at seeded offsets in [start, stop) (bit chosen among ``bits``)."""
    return [flip(rel, int(rng.integers(start, stop)), int(rng.choice(bits))) for _ in range(n)]


# --------------------------------------------------------------------------------------------- text values
def bad_value(value: str, op: str) -> str:
    """``value`` (text of a number or a word) turned into the impossible value ``op``."""
    if op == "zero":
        return "0"
    if op == "negative":
        v = value.strip()
        return v[1:] if v.startswith("-") else "-" + v if not v.startswith("+") else "-" + v[1:]
    return {"nan": "NaN", "inf": "inf", "huge": "1e20", "text": "abc", "blank": "",
            "unknown": "UNKNOWN_VALUE"}[op]


def is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


_LEAF = re.compile(rb"<([A-Za-z_][\w.:-]*)((?:\s[^<>]*?)?)>([^<>]*)</\1>")


def xml_leaves(data: bytes) -> list[tuple[str, int, int, str]]:
    """(tag, start, end, text) of every element holding only text (byte offsets of the text)."""
    return [(m.group(1).decode(), m.start(3), m.end(3), m.group(3).decode("utf-8", "replace"))
            for m in _LEAF.finditer(data)]


def xml_leaf_mutation(rel: str, leaf: tuple[str, int, int, str], op: str, index: int) -> Mutation:
    tag, a, b, text = leaf
    if op == "delete":
        def f(d: Path) -> None:
            raw = bytes(_bytes(d, rel))
            s = raw.rfind(b"<" + tag.encode(), 0, a)
            e = raw.find(b">", b) + 1
            (d / rel).write_bytes(raw[:s] + raw[e:])
        return Mutation(f"{rel} <{tag}> #{index} deleted", f)
    new = bad_value(text, op).encode()

    def g(d: Path) -> None:
        raw = bytes(_bytes(d, rel))
        (d / rel).write_bytes(raw[:a] + new + raw[b:])
    return Mutation(f"{rel} <{tag}> #{index} {text.strip()[:30]!r} -> {new.decode()!r}", g)


def xml_mutations(rel: str, data: bytes, rng: np.random.Generator, n: int,
                  positive: Sequence[str] = (), only: Sequence[str] | None = None) -> list[Mutation]:
    """``n`` seeded mutations of leaves of an XML file: numbers get a value of :data:`ANY_FIELD` (also zero or
    negative when their tag is in ``positive``), words an unknown value or a blank; a tenth are deletions.
    ``only``: restrict to these tags."""
    leaves = [lf for lf in xml_leaves(data) if lf[3].strip() and (only is None or lf[0] in only)]
    out = []
    for k in rng.choice(len(leaves), size=min(n, len(leaves)), replace=False):
        leaf = leaves[int(k)]
        num = all(is_number(x) for x in leaf[3].split())
        ops = (POSITIVE_FIELD if leaf[0] in positive else ANY_FIELD) if num else ("unknown", "blank")
        op = "delete" if rng.random() < 0.1 else str(rng.choice(ops))
        out.append(xml_leaf_mutation(rel, leaf, op, int(k)))
    return out


def xml_tag_flips(rel: str, data: bytes, rng: np.random.Generator, n: int) -> list[Mutation]:
    """``n`` seeded bit flips (bits 0-4) inside opening tag names of an XML file."""
    spans = [(m.start(1), m.end(1)) for m in re.finditer(rb"<([A-Za-z][\w]*)[ >]", data)]
    out = []
    for k in rng.choice(len(spans), size=n, replace=False):
        a, b = spans[int(k)]
        m = flip(rel, int(rng.integers(a, b)), int(rng.integers(0, 5)))
        out.append(Mutation(m.name + " (a tag name)", m.apply))
    return out


def xml_blocks(rel: str, tag: str, how: str) -> Mutation:
    """The repeated ``<tag>...</tag>`` blocks of an XML file reversed, swapped (first two), duplicated (the
    first written twice) or truncated (the last dropped)."""
    pat = re.compile(rf"<{tag}(\s[^>]*)?>.*?</{tag}>".encode(), re.S)

    def f(d: Path) -> None:
        raw = bytes(_bytes(d, rel))
        ms = list(pat.finditer(raw))
        assert len(ms) >= 2, (rel, tag)
        blocks = [m.group(0) for m in ms]
        if how == "reversed":
            blocks = blocks[::-1]
        elif how == "swapped":
            blocks[0], blocks[1] = blocks[1], blocks[0]
        elif how == "duplicated":  # the first block twice, the others kept
            blocks[0] = blocks[0] + b"\n" + blocks[0]
        elif how == "truncated":
            blocks[-1] = b""
        out, pos = [], 0
        for m, blk in zip(ms, blocks):
            out += [raw[pos:m.start()], blk]
            pos = m.end()
        (d / rel).write_bytes(b"".join(out) + raw[pos:])
    return Mutation(f"{rel} <{tag}> blocks {how}", f)


def kv_mutation(rel: str, key: str, op: str, pattern: str = r"^(?P<k>{key})(?P<sep>\s+)(?P<v>\S+)") -> Mutation:
    """A ``KEY value`` line of a text file (``pattern`` with groups k, sep, v locates it) set to ``op``
    (a :func:`bad_value` op, or "delete" for the whole line)."""
    rx = re.compile(pattern.format(key=re.escape(key)), re.M)

    def f(d: Path) -> None:
        t = (d / rel).read_text()
        m = rx.search(t)
        assert m, (rel, key)
        if op == "delete":
            e = t.find("\n", m.end())
            t = t[:m.start()] + (t[e + 1:] if e >= 0 else "")
        else:
            t = t[:m.start("v")] + (bad_value(m.group("v"), op) or "   ") + t[m.end("v"):]
        (d / rel).write_text(t)
    return Mutation(f"{rel} {key} {op}", f)


def set_text(rel: str, old: str, new: str, what: str) -> Mutation:
    def f(d: Path) -> None:
        t = (d / rel).read_text()
        assert old in t, (rel, old)
        (d / rel).write_text(t.replace(old, new, 1))
    return Mutation(f"{rel} {what}", f)


# --------------------------------------------------------------------------------------------- permissions
class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


@contextlib.contextmanager
def file_permissions_apply():
    """Within the block, file permissions apply to this thread even when it runs as root: root's
    CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH are dropped from the thread's effective capabilities (Linux
    capabilities are per thread; they stay permitted, so they are raised again afterwards)."""
    if os.geteuid() != 0:
        yield
        return
    libc = ctypes.CDLL(None, use_errno=True)
    hdr, data = _CapHeader(0x20080522, 0), (_CapData * 2)()
    if libc.capget(ctypes.byref(hdr), data) != 0:
        raise OSError(ctypes.get_errno(), "capget failed")
    saved = data[0].effective
    data[0].effective &= ~((1 << 1) | (1 << 2))
    if libc.capset(ctypes.byref(hdr), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed: cannot test permission errors as root")
    try:
        yield
    finally:
        data[0].effective = saved
        libc.capset(ctypes.byref(hdr), data)
