"""The SAFE container: a Sentinel-1 product stored as a folder, a ``.zip`` or given by its
``manifest.safe``; which swaths and polarisations it holds and where their files are.

Names inside a product are POSIX paths relative to the SAFE root (``annotation/x.xml``).
:class:`SafeSource` is picklable (it stores only paths), so dask tasks reopen it themselves.
"""

from __future__ import annotations

import io
import os
import posixpath
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any

from ...errors import InputFileError
from ._xml import EXPECTED_SAFE, fromstring
from .annotation import S1Swath, parse_annotation

__all__ = ["SafeSource", "SafeProduct", "open_safe", "split_name"]


class SafeSource:
    """Uniform read access to the files of a SAFE folder or zip."""

    def __init__(self, path: str):
        self.path = str(path)
        p = self.path
        if os.path.basename(p).lower() == "manifest.safe":
            p = os.path.dirname(p) or "."
        self.root = p
        self.is_zip = os.path.isfile(p)
        self.prefix = ""
        if self.is_zip:
            try:
                with zipfile.ZipFile(p) as zf:
                    names = zf.namelist()
            except (zipfile.BadZipFile, OSError) as exc:
                raise InputFileError(self.path, EXPECTED_SAFE, f"not a readable zip ({exc})") from None
            manifests = [n for n in names if posixpath.basename(n) == "manifest.safe"]
            if not manifests:
                raise InputFileError(self.path, EXPECTED_SAFE, "a zip without manifest.safe")
            self.prefix = posixpath.dirname(sorted(manifests, key=len)[0])
            self._names = [n[len(self.prefix) + 1:] if self.prefix else n for n in names
                           if n.startswith(self.prefix) and not n.endswith("/")]
        elif os.path.isdir(p):
            found = []
            for dirpath, _, files in os.walk(p):
                rel = os.path.relpath(dirpath, p)
                for f in files:
                    found.append(posixpath.normpath(posixpath.join(rel.replace(os.sep, "/"), f)))
            self._names = found
            if os.path.isdir(os.path.join(p, "manifest.safe")):
                raise InputFileError(os.path.join(p, "manifest.safe"), EXPECTED_SAFE, "a folder, not a file")
        else:
            raise InputFileError(self.path, EXPECTED_SAFE, "no such file or folder")

    def names(self) -> list[str]:
        return list(self._names)

    def exists(self, name: str) -> bool:
        return posixpath.normpath(name) in self._names

    def display(self, name: str) -> str:
        """The path of a member as a user reads it in messages (``archive.zip!/member`` for zips)."""
        if self.is_zip:
            return f"{self.root}!/{posixpath.join(self.prefix, name)}"
        return os.path.join(self.root, name)

    def _member(self, name: str) -> str:
        return posixpath.join(self.prefix, name) if self.prefix else name

    def read_bytes(self, name: str) -> bytes:
        name = posixpath.normpath(name)
        try:
            if self.is_zip:
                with zipfile.ZipFile(self.root) as zf:
                    return zf.read(self._member(name))
            with open(os.path.join(self.root, name), "rb") as fh:
                return fh.read()
        except KeyError:
            raise InputFileError(self.display(name), "a file listed in the SAFE product", "it is missing") from None
        except (OSError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise InputFileError(self.display(name), "a readable file", str(exc)) from None

    def open(self, name: str):
        """A seekable binary file object (the caller closes it; a zip member is opened inside its archive)."""
        name = posixpath.normpath(name)
        if self.is_zip:
            zf = zipfile.ZipFile(self.root)
            return _ZipMember(zf, zf.open(self._member(name)))
        return open(os.path.join(self.root, name), "rb")


class _ZipMember(io.RawIOBase):
    """A zip member that closes its archive with it."""

    def __init__(self, zf, fh):
        self._zf, self._fh = zf, fh

    def readable(self):
        return True

    def seekable(self):
        return True

    def read(self, n=-1):
        return self._fh.read(n)

    def readinto(self, b):
        data = self._fh.read(len(b))
        b[: len(data)] = data
        return len(data)

    def seek(self, off, whence=0):
        return self._fh.seek(off, whence)

    def tell(self):
        return self._fh.tell()

    def close(self):
        try:
            self._fh.close()
            self._zf.close()
        finally:
            super().close()


@dataclass
class SafeProduct:
    """A SAFE product: its source, the annotation/measurement pairs it holds and manifest facts."""

    path: str
    source: SafeSource
    items: list[dict[str, Any]]  # swath, polarization, annotation, measurement (member names)
    mission: str | None = None
    product_type: str | None = None
    manifest: dict[str, Any] = field(default_factory=dict)  # relative orbit, ascending node time (if listed)

    @property
    def swaths(self) -> list[str]:
        return sorted({i["swath"] for i in self.items})

    @property
    def polarizations(self) -> list[str]:
        return sorted({i["polarization"] for i in self.items})

    def find(self, swath: str | None = None, polarization: str | None = None) -> dict[str, Any]:
        """The item of a swath / polarisation (default: co-pol VV/HH first, then one with a measurement)."""
        cands = [i for i in self.items
                 if (swath is None or i["swath"].upper() == swath.upper())
                 and (polarization is None or i["polarization"].upper() == polarization.upper())]
        if not cands:
            have = ", ".join(f"{i['swath']}/{i['polarization']}" for i in self.items)
            raise InputFileError(self.path, f"swath {swath or 'any'} / polarisation {polarization or 'any'}",
                                 f"only {have}")
        cands.sort(key=lambda i: (i["measurement"] is None, i["polarization"] not in ("VV", "HH"),
                                  i["swath"], i["polarization"]))
        return cands[0]

    def swath(self, swath: str | None = None, polarization: str | None = None) -> S1Swath:
        item = self.find(swath, polarization)
        return parse_annotation(self.source.read_bytes(item["annotation"]), self.source.display(item["annotation"]),
                                item["measurement"])

    def all_swaths(self) -> list[S1Swath]:
        return [self.swath(i["swath"], i["polarization"]) for i in self.items]


def split_name(name: str) -> tuple[str, str, str] | None:
    """(mission, swath, polarisation) from ``s1b-iw1-slc-vv-...`` file names."""
    parts = posixpath.basename(name).lower().split("-")
    if len(parts) < 4 or not parts[0].startswith("s1"):
        return None
    return parts[0].upper(), parts[1].upper(), parts[3].upper()


def _stem(name: str) -> str:
    return posixpath.splitext(posixpath.basename(name))[0].lower()


def _manifest_facts(mroot) -> tuple[str | None, dict[str, Any]]:
    """(product type, {relative_orbit_start/stop, ascending_node_time}) from the manifest, where listed."""
    ptype = None
    facts: dict[str, Any] = {}
    for el in mroot.iter():
        tag = el.tag.rsplit("}", 1)[-1]
        if not el.text or not el.text.strip():
            continue
        if tag == "productType" and ptype is None:
            ptype = el.text.strip()
        elif tag == "relativeOrbitNumber":
            facts[f"relative_orbit_{el.attrib.get('type', 'start')}"] = int(el.text)
        elif tag == "ascendingNodeTime":
            facts["ascending_node_time"] = el.text.strip()
    return ptype, facts


def open_safe(path: str | os.PathLike) -> SafeProduct:
    """Open a SAFE folder / zip / manifest.safe and list its swaths and polarisations."""
    src = SafeSource(str(path))
    manifest_name = "manifest.safe"
    if not src.exists(manifest_name):
        raise InputFileError(src.path, EXPECTED_SAFE, "no manifest.safe")
    what = "a SAFE manifest (XFDU XML)"
    mroot = fromstring(src.read_bytes(manifest_name), src.display(manifest_name), what)
    if not mroot.tag.endswith("XFDU"):
        raise InputFileError(src.display(manifest_name), what, f"root element <{mroot.tag}>")
    hrefs = set()
    for el in mroot.iter():
        if el.tag.endswith("fileLocation") and "href" in el.attrib:
            hrefs.add(posixpath.normpath(el.attrib["href"]))
    names = src.names()
    ann = sorted({n for n in names if posixpath.dirname(n) == "annotation" and n.endswith(".xml")}
                 | {h for h in hrefs if posixpath.dirname(h) == "annotation" and h.endswith(".xml") and src.exists(h)})
    meas = {_stem(n): n for n in names if n.startswith("measurement/") and n.lower().endswith((".tiff", ".tif"))}
    items = []
    for a in ann:
        parts = split_name(a)
        if parts is None:
            continue
        _, sw, pol = parts
        items.append({"swath": sw, "polarization": pol, "annotation": a, "measurement": meas.get(_stem(a))})
    if not items:
        raise InputFileError(src.path, EXPECTED_SAFE, "no product annotation XML under annotation/")
    try:
        ptype, facts = _manifest_facts(mroot)
    except ValueError as exc:
        raise InputFileError(src.display(manifest_name), what, f"an invalid orbit number ({exc})") from None
    first = split_name(str(items[0]["annotation"]))
    return SafeProduct(path=src.path, source=src, items=items, mission=first[0] if first else None,
                       product_type=ptype, manifest=facts)
