"""Zarr (v3) stores for scenes and products, with atomic writes.

A store is written under a temporary name beside its final place and moved into
place only once every chunk and the completion marker are written; an
interrupted write therefore never leaves something that opens as a valid scene
or product, and an existing store of the same name survives a failed write.

Works with local paths and fsspec URLs (``s3://``, ``gs://``, ``memory://`` ...).
On object stores the final move is a copy + delete, the root ``zarr.json`` (with the completion
marker) copied last: readers see the whole store or none.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from typing import Any, Iterator, Literal

import fsspec
import numpy as np
import xarray as xr
import zarr
from zarr.codecs import BloscCodec

from ..errors import InputFileError, OutputPathError
from ..geometry.orbit import Orbit
from ..scene import RadarMetadata, Scene

COMPLETE_ATTR = "daskinsar_complete"
TOKEN_ATTR = "daskinsar_step_token"
#: attribute of a TOPS scene store (io/tops_store.py): a group of burst scene stores, not one scene
TOPS_ATTR = "daskinsar_tops_scene"
ZARR_FORMAT: Literal[3] = 3


def url_to_fs(url: str):
    fs, path = fsspec.core.url_to_fs(str(url))
    return fs, path


def _is_local(fs) -> bool:
    return "file" in (fs.protocol if isinstance(fs.protocol, (tuple, list)) else (fs.protocol,))


def _join(url: str, name: str) -> str:
    return str(url).rstrip("/") + "/" + name


def _sibling(url: str, suffix: str) -> str:
    url = str(url).rstrip("/")
    head, _, tail = url.rpartition("/")
    name = f".{tail}.{suffix}-{uuid.uuid4().hex[:8]}"
    return f"{head}/{name}" if head else name


def move_into_place(tmp_url: str, final_url: str) -> None:
    """Replace ``final_url`` by ``tmp_url``; the old store is removed only after the move."""
    fs, tmp = url_to_fs(tmp_url)
    _, final = url_to_fs(final_url)
    if _is_local(fs):
        old = None
        if os.path.exists(final):
            old = _sibling(final, "old")
            os.replace(final, old)
        os.replace(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    else:
        _move_on_object_store(fs, tmp.rstrip("/"), final.rstrip("/"))


#: object written into a store's final place while daskinsar moves a store there (object stores only):
#: what lets a rerun replace a store whose move was interrupted (it is daskinsar's, not foreign)
MOVING_MARKER = ".daskinsar-moving"


def _move_on_object_store(fs, tmp: str, final: str) -> None:
    """An object store has no rename: copy the objects, the root ``zarr.json`` (holding the completion
    marker) last, so the store under its final name is complete or, to readers, absent; the old store's
    root ``zarr.json`` is removed first, so an old store never passes for the new one."""
    fs.pipe_file(f"{final}/{MOVING_MARKER}", b"")
    root = f"{final}/zarr.json"
    if fs.exists(root):
        fs.rm_file(root)
    old = [f for f in fs.find(final) if not f.endswith("/" + MOVING_MARKER)]
    if old:
        fs.rm(old)
    files = fs.find(tmp)
    rest = [f for f in files if f != f"{tmp}/zarr.json"]
    if rest:
        fs.copy(rest, [final + f[len(tmp):] for f in rest])
    fs.copy(f"{tmp}/zarr.json", root)
    fs.rm_file(f"{final}/{MOVING_MARKER}")
    fs.rm(tmp, recursive=True)


def remove(url: str) -> None:
    fs, path = url_to_fs(url)
    if fs.exists(path):
        fs.rm(path, recursive=True)


@contextlib.contextmanager
def atomic_store(final_url: str) -> Iterator[str]:
    """Yield a temporary URL to write a store to; move it to ``final_url`` on success.

    The caller writes everything, then this marks the store complete and moves it.
    On any exception the temporary store is deleted and ``final_url`` is untouched.
    """
    final_url = str(final_url).rstrip("/")
    fs, final = url_to_fs(final_url)
    if fs.exists(final) and not is_complete(final_url) and not fs.exists(f"{final}/{MOVING_MARKER}"):
        raise OutputPathError(f"{final_url}: exists and is not a daskinsar store; daskinsar never replaces what it "
                              "did not write (remove it or choose another path)")
    parent = final.rpartition("/")[0]
    if parent:
        fs.makedirs(parent, exist_ok=True)
    tmp_url = _sibling(final_url, "tmp")
    try:
        yield tmp_url
        mark_complete(tmp_url)
        move_into_place(tmp_url, final_url)
    except BaseException:
        with contextlib.suppress(Exception):
            remove(tmp_url)
        raise


def check_output_store(url: str, inputs: list[str], overwrite: bool = False) -> None:
    """Refuse an output store path that is (or holds, or lies inside) an input, that holds anything but a
    daskinsar store, or that holds a daskinsar store when ``overwrite`` is not given."""
    fs, path = url_to_fs(url)
    if _is_local(fs):
        here = os.path.realpath(path)
        for inp in inputs:
            if "://" in inp:
                continue
            p = os.path.realpath(inp)
            if here == p or here.startswith(p.rstrip(os.sep) + os.sep) or p.startswith(here.rstrip(os.sep) + os.sep):
                raise OutputPathError(f"{url}: the output would overwrite or hold the input {inp}; "
                                      "write the store somewhere else")
    if not fs.exists(path):
        return
    if not is_complete(url):
        raise OutputPathError(f"{url}: exists and is not a daskinsar store; daskinsar never replaces what it did "
                              "not write (remove it or choose another path)")
    if not overwrite:
        raise OutputPathError(f"{url}: a daskinsar store is already there; give --overwrite to replace it")


def ensure_group(url: str) -> None:
    """Create an empty Zarr v3 group at ``url`` (the root of a products store) if there is none."""
    fs, path = url_to_fs(url)
    if not fs.exists(path + "/zarr.json"):
        zarr.open_group(url, mode="a", zarr_format=ZARR_FORMAT)


def mark_complete(url: str, group: str | None = None) -> None:
    g = zarr.open_group(_join(url, group) if group else url, mode="r+")
    g.attrs[COMPLETE_ATTR] = True


def is_complete(url: str, group: str | None = None) -> bool:
    try:
        g = zarr.open_group(_join(url, group) if group else url, mode="r")
    except Exception:
        return False
    return bool(g.attrs.get(COMPLETE_ATTR, False))


def write_product(ds: xr.Dataset, url: str, token: str) -> str:
    """Write a step's Dataset to ``url`` atomically, its step token in its attributes (the token can
    only describe the data beside it). Returns the URL."""
    ds = ds.copy()
    ds.attrs = {**ds.attrs, TOKEN_ATTR: token}
    with atomic_store(url) as tmp:
        write_dataset(ds, tmp, mode="w-")
    return str(url)


def stored_token(url: str) -> str | None:
    """The step token of a complete store at ``url``, or None."""
    if not is_complete(url):
        return None
    token = zarr.open_group(str(url), mode="r").attrs.get(TOKEN_ATTR)
    return token if isinstance(token, str) else None


def zarr_encoding(ds: xr.Dataset) -> dict:
    """Per-variable encoding: no compression for complex data (speckle does not compress); for real
    rasters Blosc LZ4 after a byte shuffle (lossless; on topo's fields 0.35-0.67 of the raw size at about
    1 GB/s to encode and 1-3 GB/s to decode per core, where zstd level 3 gave 0.6-0.93 at 0.13-0.55 GB/s);
    store chunks follow the dask chunks."""
    enc = {}
    for name, var in ds.data_vars.items():
        e: dict = {}
        if np.issubdtype(var.dtype, np.complexfloating):
            e["compressors"] = None
        elif np.issubdtype(var.dtype, np.number) or var.dtype == np.bool_:
            e["compressors"] = BloscCodec(cname="lz4", clevel=5, shuffle="shuffle", typesize=var.dtype.itemsize)
        if var.chunks is not None:
            e["chunks"] = tuple(c[0] for c in var.chunks)
        enc[name] = e
    return enc


#: encoding key :func:`open_scene` gives a variable read from a local store: (array path, dask name at opening)
SOURCE_ENCODING = "daskinsar_source"


def _unchanged_sources(ds: xr.Dataset, url: str) -> dict[str, str]:
    """{variable: local source array path} of the variables that are still exactly what :func:`open_scene` read
    (same dask array: same chunks, nothing applied), when ``url`` is local too."""
    fs, _ = url_to_fs(url)
    if not _is_local(fs):
        return {}
    out = {}
    for name, var in ds.data_vars.items():
        src = var.encoding.get(SOURCE_ENCODING)
        if src and var.chunks is not None and getattr(var.data, "name", None) == src[1]:
            out[str(name)] = src[0]
    return out


def _layout(array_path: str) -> dict:
    """What decides an array's chunk files: shape, data type, fill value, chunk grid, key encoding, codecs."""
    meta = zarr.open_array(array_path, mode="r").metadata.to_dict()
    return {k: meta.get(k) for k in ("shape", "data_type", "fill_value", "chunk_grid", "chunk_key_encoding",
                                     "codecs")}


def _copyable(layout: dict) -> bool:
    """Chunk files that can be copied unread: uncompressed (the ``bytes`` codec alone), so that each file's size
    alone shows it whole (:func:`_copy_chunk_files`)."""
    return [c.get("name") for c in layout["codecs"]] == ["bytes"]


def _copy_chunk_files(src: str, dst: str, layout: dict) -> None:
    """The chunk files of the uncompressed array ``src`` (its :func:`_layout`) into array ``dst`` (same layout),
    byte for byte, by the kernel. A chunk file of another size than a whole chunk (truncated, or not this
    array's) is refused, naming it: copied unread it would only fail, or read wrongly, in a later step."""
    from concurrent.futures import ThreadPoolExecutor

    chunks = tuple(layout["chunk_grid"]["configuration"]["chunk_shape"])
    dtype = np.dtype(layout["data_type"])
    nbytes = int(np.prod(chunks)) * dtype.itemsize
    pairs = []
    for root, _, files in os.walk(src):
        rel = os.path.relpath(root, src)
        for f in files:
            if rel == "." and f == "zarr.json":
                continue
            path = os.path.join(root, f)
            if os.path.getsize(path) != nbytes:
                raise InputFileError(path, f"an uncompressed chunk of {nbytes} bytes ({chunks} x {dtype})",
                                     f"{os.path.getsize(path)} bytes")
            os.makedirs(os.path.join(dst, rel), exist_ok=True)
            pairs.append((path, os.path.join(dst, rel, f)))
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda p: shutil.copyfile(*p), pairs))


def write_dataset(ds: xr.Dataset, url: str, group: str | None = None, mode: Any = "w-", compute: bool = True):
    """Write a Dataset as Zarr v3 (no consolidated metadata).

    Encodings inherited from a source store are dropped (store chunks follow the
    dask chunks, made regular here); coordinates are small and written eagerly. A variable that is
    still exactly what :func:`open_scene` read from a local store whose chunk files would be written the
    same (same chunks and codecs, uncompressed: an SLC scene store copied into a run folder) has its chunk
    files copied instead of being decoded and encoded again (only into a new store, ``mode="w-"``: no stale chunk file
    of an earlier array can remain beside the copied ones)."""
    copies = _unchanged_sources(ds, _join(url, group) if group else url) if compute and mode == "w-" else {}
    ds = ds.drop_encoding()
    ds = ds.assign_coords({k: v.compute() for k, v in ds.coords.items() if v.chunks is not None})

    def regular(chunks: tuple[int, ...]) -> bool:  # Zarr needs equal chunks but a shorter last one
        return all(c == chunks[0] for c in chunks[:-1]) and chunks[-1] <= chunks[0]

    for name, var in ds.data_vars.items():
        if var.chunks is not None and not all(regular(c) for c in var.chunks):
            ds[name] = var.chunk({d: max(c) for d, c in zip(var.dims, var.chunks)})
    kw: dict[str, Any] = dict(group=group, mode=mode, consolidated=False, zarr_format=ZARR_FORMAT,
                              encoding=zarr_encoding(ds), compute=compute)
    if not copies:
        return ds.to_zarr(url, **kw)
    rest = ds.drop_vars(list(copies))
    result = rest.to_zarr(url, **{**kw, "encoding": zarr_encoding(rest)})
    copied = ds[list(copies)]
    pending = copied.to_zarr(url, **{**kw, "mode": "a", "compute": False, "encoding": zarr_encoding(copied)})
    target = url_to_fs(_join(url, group) if group else url)[1]
    layouts = {name: _layout(src) for name, src in copies.items()}
    if all(_copyable(lay) and lay == _layout(os.path.join(target, name)) for name, lay in layouts.items()):
        for name, src in copies.items():
            _copy_chunk_files(src, os.path.join(target, name), layouts[name])
    else:
        pending.compute()
    return result


def write_scene(scene: Scene, url: str, compute: bool = True) -> str:
    """Write a scene to ``url`` atomically. Returns the URL."""
    with atomic_store(url) as tmp:
        write_dataset(scene.to_dataset(), tmp, mode="w-", compute=compute)
    return str(url)


def open_scene(url: str, chunks: dict | str | None = "auto-store") -> Scene:
    """Open a scene store lazily (dask arrays on the store's chunks)."""
    url = str(url)
    fs, path = url_to_fs(url)
    if not fs.exists(path):
        raise InputFileError(url, "a daskinsar scene store (Zarr v3 group)", "nothing at that path")
    if not is_complete(url):
        raise InputFileError(url, "a complete daskinsar scene store",
                             "an incomplete or foreign Zarr store (no completion marker)")
    if TOPS_ATTR in zarr.open_group(url, mode="r").attrs:
        raise InputFileError(url, "a stripmap scene store", "a TOPS scene store (bursts on their own grids; "
                                  "daskinsar.io.tops_store.open_tops_scene opens it)")
    open_chunks: Any = {} if chunks == "auto-store" else chunks
    ds = xr.open_zarr(url, consolidated=False, chunks=open_chunks, decode_times=False)
    ds.attrs.pop(COMPLETE_ATTR, None)
    if _is_local(fs):
        for name, var in ds.data_vars.items():
            if var.chunks is not None:
                var.encoding[SOURCE_ENCODING] = (os.path.join(path, str(name)), var.data.name)
    try:
        return Scene.from_dataset(ds)
    except KeyError:
        raise InputFileError(url, "radar metadata and orbit in the store attributes", "none") from None


def open_variable(url: str, name: str) -> "zarr.Array":
    """One variable of a store as a read-only ``zarr.Array`` (for tasks that read their own
    windows, halos included, straight from the store)."""
    node = zarr.open_group(str(url), mode="r")[name]
    if not isinstance(node, zarr.Array):
        raise InputFileError(url, f"an array {name!r}", "a group")
    return node


def scene_from_arrays(meta: RadarMetadata, orbit: Orbit, azimuth_time, slant_range, **variables) -> Scene:
    """Build a Scene from numpy/dask arrays with dims (azimuth, range)."""
    coords = {"azimuth_time": ("azimuth", np.asarray(azimuth_time, np.float64)),
              "slant_range": ("range", np.asarray(slant_range, np.float64))}
    ds = xr.Dataset({k: (("azimuth", "range"), v) for k, v in variables.items()}, coords=coords)
    return Scene(ds, meta, orbit)
