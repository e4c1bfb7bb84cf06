"""Small XML helpers shared by the Sentinel-1 modules (safe parsing, typed field access)."""

from __future__ import annotations

import xml.etree.ElementTree as std_et
import zipfile
import zlib
from typing import Any, Iterable

import defusedxml.ElementTree as ET
import numpy as np
from defusedxml import DefusedXmlException

from ...errors import InputFileError
from ...geometry.orbit import parse_utc

__all__ = ["PARSE_ERRORS", "EXPECTED_SAFE", "fromstring", "text", "number", "floats", "seconds_since"]

EXPECTED_SAFE = "a Sentinel-1 SAFE product (folder, .zip or manifest.safe with annotation/*.xml)"

#: errors that parsing a damaged file can raise; turned into InputFileError by the callers
PARSE_ERRORS = (ValueError, KeyError, IndexError, TypeError, AttributeError, OverflowError,
                UnicodeDecodeError, EOFError, OSError, zipfile.BadZipFile, zlib.error)


def fromstring(data: bytes, path: str, what: str) -> Any:
    """Parse XML bytes (entity expansion refused); damaged XML is an InputFileError naming ``path``."""
    if not data or not data.strip():
        raise InputFileError(path, what, "an empty file")
    try:
        return ET.fromstring(data)
    except (std_et.ParseError, DefusedXmlException) as exc:
        raise InputFileError(path, what, f"malformed XML ({exc})") from None


def text(root, path: str, where: str, *, default: str | None = None) -> str:
    """Stripped text of ``root.find(path)``; KeyError naming the element when absent (unless ``default``)."""
    el = root.find(path)
    if el is None or el.text is None or not el.text.strip():
        if default is not None:
            return default
        raise KeyError(f"{path} (in {where})")
    return el.text.strip()


def number(root, path: str, where: str, default: str | None = None) -> float:
    return float(text(root, path, where, default=default))


def floats(s: str) -> list[float]:
    return [float(x) for x in s.split()]


def seconds_since(epoch: str, times: Iterable[str]) -> np.ndarray:
    """Seconds (float64) from ``epoch`` to each UTC time string."""
    e = parse_utc(epoch)
    return np.array([(parse_utc(t) - e) / np.timedelta64(1, "ns") for t in times], dtype=np.float64) * 1e-9
