"""Helpers shared by the vendor product readers (COSMO-SkyMed / KOMPSAT-5 HDF5, TerraSAR-X, RADARSAT-2).

- :class:`Xml`: a namespace-free view of an annotation XML file (parsed with ``defusedxml``)
  whose accessors raise :class:`~daskinsar.errors.InputFileError` naming the file and the
  element when a value is missing or malformed;
- :func:`parse_utc`: ISO-8601-like UTC text (``T`` or blank separator, optional ``Z``,
  up to nanoseconds) as ``numpy.datetime64[ns]``;
- :class:`BlockWindow` and :func:`lazy_image`: a picklable window object per file that
  dask tasks index (each task opens the file, reads its block and closes it), with
  optional mirroring of either axis for products stored far-to-near or late-to-early;
- :func:`range_poly_doppler`: a Doppler-like quantity given as polynomials in two-way
  range time (one per azimuth time) as a :class:`~daskinsar.scene.Poly1D` (one
  polynomial) or a :class:`~daskinsar.scene.LUT2D` sampled from the product's own
  polynomials (several).
"""

from __future__ import annotations

import os
import re
from typing import Any, Literal, Sequence

import dask.array as da
import numpy as np
from dask.base import tokenize

from ..errors import InputFileError
from ..geometry.ellipsoid import SPEED_OF_LIGHT
from ..scene import LUT2D, Poly1D
from ._files import input_file

__all__ = ["require_file", "parse_utc", "iso", "Xml", "BlockWindow", "lazy_image", "range_poly_doppler",
           "error_line", "look_side"]

_UTC = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,12}))?\s*(?:Z|UTC|\+00:?00)?\s*$")


def error_line(exc: BaseException) -> str:
    """The first line of an exception's message (or its type name)."""
    msg = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def look_side(value: str, source: str, what: str) -> Literal["left", "right"]:
    """"left" or "right" from a product's look direction text (any case); otherwise InputFileError."""
    v = str(value).strip().lower()
    if v == "left":
        return "left"
    if v == "right":
        return "right"
    raise InputFileError(source, f"{what} LEFT or RIGHT", repr(value))


def require_file(path: str, expected: str) -> int:
    """Size (bytes) of an existing, readable, non-empty regular file; otherwise :class:`InputFileError` naming
    the cause (no such file, a folder, permission denied, empty: :func:`daskinsar.io._files.input_file`)."""
    return input_file(path, expected)


def parse_utc(text: Any, source: str, what: str) -> np.datetime64:
    """UTC time text ``YYYY-MM-DD[T ]hh:mm:ss[.fffffffff][Z]`` as datetime64[ns] (fractions beyond ns rounded)."""
    if isinstance(text, (bytes, np.bytes_)):
        text = bytes(text).decode("ascii", errors="replace")
    s = str(text).strip().strip("\x00")
    m = _UTC.match(s)
    if not m:
        raise InputFileError(source, f"a UTC time YYYY-MM-DDThh:mm:ss[.f] in {what}", repr(s[:60]) if s else "none")
    y, mo, d, hh, mi, ss, frac = m.groups()
    try:
        base = np.datetime64(f"{y}-{mo}-{d}T{hh}:{mi}:{ss}", "ns")
    except ValueError:
        raise InputFileError(source, f"a valid UTC time in {what}", repr(s)) from None
    if int(mo) > 12 or int(hh) > 23 or int(mi) > 59 or int(ss) > 60:
        raise InputFileError(source, f"a valid UTC time in {what}", repr(s))
    ns = int(round(float("0." + frac) * 1e9)) if frac else 0
    return base + np.timedelta64(ns, "ns")


def iso(t: np.datetime64) -> str:
    """datetime64 as an ISO-8601 string with nanoseconds (no zone suffix: UTC by convention)."""
    return str(np.asarray(t).astype("datetime64[ns]"))


# ----------------------------------------------------------------------------------------- XML
class Xml:
    """A parsed annotation file with namespaces stripped; paths are ElementTree paths from the root."""

    def __init__(self, root, source: str):
        self.root = root
        self.source = source

    @classmethod
    def load(cls, path: str, expected: str, root_tag: str | None = None, max_bytes: int = 256 << 20) -> "Xml":
        import defusedxml.ElementTree as DET

        size = require_file(path, expected)
        if size > max_bytes:
            raise InputFileError(path, f"{expected} of at most {max_bytes >> 20} MiB", f"{size} bytes")
        try:
            root = DET.parse(path).getroot()
        except Exception as exc:  # ParseError, DefusedXmlException, UnicodeDecodeError ...
            raise InputFileError(path, f"{expected} (well-formed XML)", error_line(exc)) from None
        for el in root.iter():
            if isinstance(el.tag, str) and "}" in el.tag:
                el.tag = el.tag.split("}", 1)[1]
        if root_tag is not None and root.tag != root_tag:
            raise InputFileError(path, f"{expected} (root element <{root_tag}>)", f"root element <{root.tag}>")
        return cls(root, str(path))

    def node(self, path: str, required: bool = True, base=None):
        el = (self.root if base is None else base).find(path)
        if el is None and required:
            raise InputFileError(self.source, f"element {path}", "it is missing")
        return el

    def nodes(self, path: str, base=None) -> list:
        return list((self.root if base is None else base).findall(path))

    def text(self, path: str, default: str | None = None, base=None) -> str:
        el = self.node(path, required=default is None, base=base)
        if el is None or el.text is None or not el.text.strip():
            if default is not None:
                return default
            raise InputFileError(self.source, f"a value in element {path}", "an empty element")
        return el.text.strip()

    def number(self, path: str, default: float | None = None, base=None, *, positive: bool = False) -> float:
        if default is not None and self.node(path, required=False, base=base) is None:
            return default
        s = self.text(path, base=base)
        try:
            v = float(s)
        except ValueError:
            raise InputFileError(self.source, f"a number in element {path}", repr(s[:40])) from None
        if not np.isfinite(v) or (positive and v <= 0):
            raise InputFileError(self.source, f"a {'positive ' if positive else ''}finite number in element {path}",
                                 repr(s[:40]))
        return v

    def integer(self, path: str, base=None, *, minimum: int = 1, maximum: int = 10_000_000) -> int:
        s = self.text(path, base=base)
        try:
            v = int(float(s)) if re.fullmatch(r"[+-]?\d+(\.0*)?([eE][+]?\d+)?", s) else int(s)
        except ValueError:
            raise InputFileError(self.source, f"an integer in element {path}", repr(s[:40])) from None
        if not minimum <= v <= maximum:
            raise InputFileError(self.source, f"an integer of {minimum} .. {maximum} in element {path}", str(v))
        return v

    def numbers(self, path: str, base=None) -> np.ndarray:
        s = self.text(path, base=base)
        try:
            v = np.array([float(x) for x in s.split()], dtype=np.float64)
        except ValueError:
            raise InputFileError(self.source, f"whitespace-separated numbers in element {path}", repr(s[:60])) from None
        if not np.all(np.isfinite(v)):
            raise InputFileError(self.source, f"finite numbers in element {path}", repr(s[:60]))
        return v

    def utc(self, path: str, base=None) -> np.datetime64:
        return parse_utc(self.text(path, base=base), self.source, f"element {path}")


# ----------------------------------------------------------------------------------------- lazy pixels
class BlockWindow:
    """A picklable lazily read 2-D complex image: subclasses implement ``read_block(r0, r1, c0, c1)``
    in *file* order; ``flip_rows`` / ``flip_cols`` present the file mirrored (late-to-early lines,
    far-to-near samples), so the array seen by dask always runs early-to-late and near-to-far."""

    dtype = np.dtype(np.complex64)

    def __init__(self, path: str, shape: tuple[int, int], *, flip_rows: bool = False, flip_cols: bool = False):
        self.path = str(path)
        self.shape = (int(shape[0]), int(shape[1]))
        self.ndim = 2
        self.flip_rows = bool(flip_rows)
        self.flip_cols = bool(flip_cols)

    def read_block(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __getitem__(self, key) -> np.ndarray:
        if not isinstance(key, tuple):
            key = (key,)
        key = key + (slice(None),) * (2 - len(key))
        (r0, r1, rs), (c0, c1, cs) = (k.indices(n) for k, n in zip(key, self.shape))
        if rs != 1 or cs != 1:
            raise IndexError("only contiguous windows are supported")
        r1, c1 = max(r1, r0), max(c1, c0)
        n_r, n_c = self.shape
        fr0, fr1 = (n_r - r1, n_r - r0) if self.flip_rows else (r0, r1)
        fc0, fc1 = (n_c - c1, n_c - c0) if self.flip_cols else (c0, c1)
        if fr1 == fr0 or fc1 == fc0:
            return np.zeros((fr1 - fr0, fc1 - fc0), self.dtype)
        block = self.read_block(fr0, fr1, fc0, fc1)
        if self.flip_rows:
            block = block[::-1]
        if self.flip_cols:
            block = block[:, ::-1]
        return np.ascontiguousarray(block, dtype=self.dtype)


def _chunks(shape: tuple[int, int], chunks) -> tuple[int, int]:
    if chunks is None:
        chunks = (1024, 1024)
    if isinstance(chunks, (int, np.integer)):
        chunks = (int(chunks), int(chunks))
    a, b = (int(c) for c in chunks)
    if a < 1 or b < 1:
        raise ValueError(f"chunks must be positive, got {chunks}")
    return min(a, shape[0]), min(b, shape[1])


def lazy_image(window: BlockWindow, chunks, prefix: str, *token_parts) -> da.Array:
    """A dask array over ``window`` (one task per block, named ``prefix-<token>``)."""
    c = _chunks(window.shape, chunks)
    st = os.stat(window.path)
    token = tokenize(window.path, st.st_size, st.st_mtime_ns, window.shape, window.flip_rows, window.flip_cols,
                     c, *token_parts)
    return da.from_array(window, chunks=c, name=f"{prefix}-{token}", lock=False, asarray=False, fancy=False,
                         meta=np.empty((0, 0), np.complex64))


# ----------------------------------------------------------------------------------------- Doppler
def _poly(coeffs: Sequence[float], x) -> np.ndarray:
    out = np.zeros(np.shape(x))
    for c in list(coeffs)[::-1]:
        out = out * x + c
    return out


def range_poly_doppler(estimates: Sequence[tuple[float, float, Sequence[float]]], near_range_m: float,
                       far_range_m: float, n_range: int = 33, *, source: str = "product",
                       what: str = "Doppler estimates") -> Poly1D | LUT2D:
    """Polynomials in two-way range time given per azimuth time as one Doppler model.

    ``estimates``: ``(azimuth_time_s, reference_range_time_s, coefficients)`` with the value
    ``sum_k c_k (tau - reference)**k`` (tau = 2 R / c, s). One estimate: a
    :class:`Poly1D` in range time holding the coefficients verbatim. Several: a
    :class:`LUT2D` with the product's polynomials evaluated at ``n_range`` slant ranges
    spanning ``[near_range_m, far_range_m]`` (bilinear in between, constant beyond); two estimates at
    one azimuth time are refused (:class:`InputFileError` naming ``source``).
    """
    if not estimates:
        return Poly1D()
    if len(estimates) == 1:
        _, ref, coeffs = estimates[0]
        return Poly1D(variable="range_time", reference=float(ref), coeffs=[float(c) for c in coeffs])
    r = np.linspace(near_range_m, far_range_m, n_range)
    tau = 2.0 * r / SPEED_OF_LIGHT
    est = sorted(estimates, key=lambda e: e[0])
    times = np.array([e[0] for e in est], np.float64)
    if not np.all(np.isfinite(times)) or np.any(np.diff(times) <= 0):
        raise InputFileError(source, f"{what} at distinct azimuth times", f"times {times.tolist()} s")
    values = [[float(v) for v in _poly(c, tau - ref)] for _, ref, c in est]
    return LUT2D(azimuth_time=[float(e[0]) for e in est], slant_range=[float(x) for x in r], values=values)
