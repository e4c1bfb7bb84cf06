"""Stores of TOPS scenes: a Zarr (v3) group with one scene subgroup per burst.

Layout::

    scene.zarr/                 attrs: daskinsar_tops_scene (JSON: burst keys in order, product attrs),
                                       daskinsar_complete (written last)
      IW1-b0/ ... IW3-b8/       one daskinsar scene store per burst (io.store.write_scene: slc,
                                azimuth_time, slant_range, valid_first_sample, valid_last_sample,
                                orbit/; metadata with the burst's TOPS parameters in extra["tops"])

The whole group is written under a temporary name and moved into place when complete
(:func:`~daskinsar.io.store.atomic_store`); each burst group is itself a complete scene store,
so ``open_scene(url + "/IW1-b3")`` opens one burst.
"""

from __future__ import annotations

import json

import zarr

from ..bursts import TopsScene
from ..errors import InputFileError
from .store import TOPS_ATTR, atomic_store, is_complete, open_scene, write_scene

__all__ = ["write_tops_scene", "open_tops_scene", "is_tops_store", "tops_store_attrs"]


def _join(url: str, name: str) -> str:
    return str(url).rstrip("/") + "/" + name


def write_tops_scene(tops: TopsScene, url: str, compute: bool = True, attrs: dict | None = None) -> str:
    """Write a TOPS scene atomically (all bursts or nothing), ``attrs`` added to the group's attributes
    (e.g. a pipeline step's token). Returns the URL."""
    url = str(url).rstrip("/")
    with atomic_store(url) as tmp:
        g = zarr.open_group(tmp, mode="w", zarr_format=3)
        g.attrs.update({**(attrs or {}), TOPS_ATTR: json.dumps({"bursts": tops.keys, "attrs": tops.attrs})})
        for key, burst in zip(tops.keys, tops.bursts):
            write_scene(burst, _join(tmp, key), compute=compute)
    return url


def is_tops_store(url: str) -> bool:
    """Whether ``url`` is a complete TOPS scene store."""
    if not is_complete(url):
        return False
    try:
        return TOPS_ATTR in zarr.open_group(str(url), mode="r").attrs
    except Exception:
        return False


def open_tops_scene(url: str, chunks: dict | str | None = "auto-store") -> TopsScene:
    """Open a TOPS scene store lazily."""
    url = str(url).rstrip("/")
    if not is_complete(url):
        raise InputFileError(url, "a complete daskinsar TOPS scene store", "an incomplete or missing store")
    attrs = zarr.open_group(url, mode="r").attrs
    if TOPS_ATTR not in attrs:
        raise InputFileError(url, "a daskinsar TOPS scene store (attribute daskinsar_tops_scene)",
                             "a store without it (a stripmap scene store? open it with open_scene)")
    info = json.loads(str(attrs[TOPS_ATTR]))
    bursts = [open_scene(_join(url, key), chunks=chunks) for key in info["bursts"]]
    return TopsScene(bursts, dict(info.get("attrs", {})))


def tops_store_attrs(url: str) -> dict:
    """The group attributes of a complete TOPS scene store (without opening its bursts)."""
    if not is_tops_store(url):
        raise InputFileError(str(url), "a complete daskinsar TOPS scene store", "none there")
    return dict(zarr.open_group(str(url).rstrip("/"), mode="r").attrs)
