"""Seeded mutations of HDF5 products (NISAR RSLC / L0B, COSMO-SkyMed, KOMPSAT-5): attributes and datasets
set to impossible values, axes reordered or cut, datasets deleted or declared 2**40 elements long (see
:mod:`fuzz_mutations` for the rule each outcome is judged by)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from fuzz_mutations import (ANY_FIELD, POSITIVE_FIELD, Mutation, flip, folder_instead, random_flips,
                            random_truncations, replace)
from fuzz_products import Target


def _pick(rng: np.random.Generator, ops) -> str:
    return str(rng.choice(list(ops)))


H5_ARRAY_OPS = ("reversed", "swapped", "duplicated", "truncated", "nan-one", "zero-all", "huge-one")


def _h5_bad(v: np.ndarray, op: str, rng_seed: int) -> np.ndarray:
    v = np.array(v)
    if op in ("text", "unknown"):
        return np.bytes_("abc" if op == "text" else "UNKNOWN_VALUE")
    if op == "blank":
        return np.bytes_("")
    if v.dtype.kind not in "fiuc":
        raise ValueError(op)
    if v.ndim == 0:
        x = {"zero": 0.0, "negative": -float(np.real(v)), "nan": np.nan, "inf": np.inf, "huge": 1e20}[op]
        return np.asarray(x, np.float64 if v.dtype.kind in "iu" and op in ("nan", "inf", "huge") else v.dtype)
    w = v.astype(np.float64) if v.dtype.kind in "iu" and op in ("nan-one", "huge-one", "nan", "inf") else v.copy()
    rng = np.random.default_rng(rng_seed)
    k = int(rng.integers(0, len(w)))
    if op == "reversed":
        return w[::-1].copy()
    if op == "swapped":
        w[[0, 1]] = w[[1, 0]]
    elif op == "duplicated":
        w[1] = w[0]
    elif op == "truncated":
        return w[:-1].copy()
    elif op in ("nan-one", "nan"):
        w[k] = np.nan
    elif op == "inf":
        w[k] = np.inf
    elif op in ("huge-one", "huge"):
        w[k] = 1e20
    elif op == "zero-all" or op == "zero":
        w[...] = 0
    elif op == "negative":
        w = -w
    return w


def h5_mutation(rel: str, obj: str, attr: str | None, op: str, seed: int = 0) -> Mutation:
    """An HDF5 attribute (``attr``) or dataset (``attr`` None) of object ``obj`` set to ``op``: a value op,
    an array op of :data:`H5_ARRAY_OPS`, "delete", or "inflated" (a dataset declared 2**40 elements long,
    chunked and never written: a reader must refuse it before allocating)."""
    import h5py

    def f(d: Path) -> None:
        with h5py.File(d / rel, "r+") as h:
            if attr is not None:
                if op == "delete":
                    del h[obj].attrs[attr]
                else:
                    h[obj].attrs[attr] = _h5_bad(h[obj].attrs[attr], op, seed)
                return
            ds = h[obj]
            keep = dict(ds.attrs)
            if op == "delete":
                del h[obj]
                return
            if op == "inflated":
                shape, dtype = (1 << 40,) + ds.shape[1:], ds.dtype
                del h[obj]
                new = h.create_dataset(obj, shape=shape, dtype=dtype, chunks=(1024,) + ds.shape[1:] if ds.ndim else None)
            else:
                value = _h5_bad(ds[()], op, seed)
                del h[obj]
                new = h.create_dataset(obj, data=value)
            for k, v in keep.items():
                new.attrs[k] = v
    where = f"{obj}@{attr}" if attr is not None else obj
    return Mutation(f"{rel} {where} {op}", f)


def h5_inventory(path: Path, image: str) -> list[tuple[str, str | None, tuple, str, bool]]:
    """(object, attribute or None, shape, dtype kind, ordered) of every dataset and attribute of an HDF5 file but
    the ``image`` dataset and datasets of more than 4096 elements; ``ordered``: a strictly increasing 1-D array
    (an axis) or a 2-D array of rows (state vectors, LUT rows), whose order a reader can check."""
    import h5py

    out: list[tuple[str, str | None, tuple, str, bool]] = []

    def item(obj, attr, v):
        v = np.asarray(v)
        ordered = v.ndim == 2 or (v.ndim == 1 and v.size > 2 and v.dtype.kind in "fiu" and bool(np.all(np.diff(v) > 0)))
        out.append((obj, attr, v.shape, v.dtype.kind, ordered))

    with h5py.File(path, "r") as h:
        def visit(name, o):
            for a in o.attrs:
                item(o.name, a, o.attrs[a])
            if isinstance(o, h5py.Dataset) and o.size <= 4096 and o.name != image:
                item(o.name, None, o[()])
        for a in h.attrs:
            item("/", a, h.attrs[a])
        h.visititems(visit)
    return out


def h5_mutations(rel: str, inventory, rng: np.random.Generator, n: int, positive: Sequence[str] = (),
                 labels: dict[str, Callable[[str], dict]] | None = None) -> list[Mutation]:
    """``n`` seeded mutations of HDF5 objects: scalars get an :data:`ANY_FIELD` value (also zero / negative when
    the dataset or attribute name is in ``positive``), axes and row arrays an op of :data:`H5_ARRAY_OPS`, other
    arrays (polynomial coefficients, LUT values) a NaN or 1e20 element, strings an unknown value or a blank;
    about a tenth are deletions and datasets are sometimes inflated to 2**40 elements. ``labels``: free-text
    attributes the reader carries as they are, and the metadata a new text gives."""
    labels = labels or {}
    out = []
    for k in rng.choice(len(inventory), size=min(n, len(inventory)), replace=False):
        obj, attr, shape, kind, ordered = inventory[int(k)]
        name = attr if attr is not None else obj.rsplit("/", 1)[-1]
        expect = None
        if rng.random() < 0.1:
            op = "delete"
        elif kind in "SUO":
            op = str(rng.choice(["unknown", "blank"]))
            if name in labels:
                expect = labels[name]("UNKNOWN_VALUE" if op == "unknown" else "")
        elif len(shape) == 0 or int(np.prod(shape)) == 1:
            op = str(rng.choice(POSITIVE_FIELD if name in positive else ANY_FIELD))
            if op in ("text", "blank") and len(shape):
                op = "nan"
        elif attr is None and rng.random() < 0.2:
            op = "inflated"
        elif ordered:
            op = str(rng.choice(H5_ARRAY_OPS if shape[0] >= 2 else ("nan-one", "huge-one")))
        else:
            op = str(rng.choice(["nan-one", "huge-one"]))
        m = h5_mutation(rel, obj, attr, op, seed=int(k))
        out.append(Mutation(m.name, m.apply, expect=expect) if expect is not None else m)
    return out



# ---------------------------------------------------------------------------------------------------- HDF5
def hdf5(t: Target, rng: np.random.Generator, *, positive: tuple[str, ...], image: str,
         required: tuple[str, ...] = (), n_random: int = 40, labels: dict | None = None,
         optional: dict[str, dict] | None = None, deleted: dict[str, dict] | None = None) -> list[Mutation]:
    """Mutations of an HDF5 product: seeded attribute / dataset mutations (values, array order, lengths,
    deletion, 2**40-element declarations), the ``positive`` fields set to zero / negative, the image dataset
    declared far larger than the file, name flips of ``required`` objects, truncations and bit flips.
    ``labels``: see :func:`h5_mutations`; ``optional``: positive fields where 0 means "not stated" (and the
    metadata fields that then stay unknown); ``deleted``: datasets whose absence the reader documents (and the
    metadata it then has)."""
    import h5py

    rel = t.target
    path = t.folder / rel
    inv = h5_inventory(path, image)
    optional = optional or {}
    out = [Mutation(m.name, m.apply, expect=(deleted or {}).get(m.name.split()[1].rsplit("/", 1)[-1]))
           if m.name.endswith(" delete") else m for m in h5_mutations(rel, inv, rng, n_random, positive, labels)]
    for name, expect in (deleted or {}).items():
        obj = next(o for o, a, *_ in inv if a is None and o.rsplit("/", 1)[-1] == name)
        m = h5_mutation(rel, obj, None, "delete")
        out.append(Mutation(m.name, m.apply, expect=expect))
    for obj, attr, shape, kind, _ in inv:
        name = attr if attr is not None else obj.rsplit("/", 1)[-1]
        if name in positive and kind in "fiu" and int(np.prod(shape)) == 1:
            m = h5_mutation(rel, obj, attr, op := _pick(rng, ("zero", "negative")))
            out.append(Mutation(m.name, m.apply, expect=optional[name]) if op == "zero" and name in optional else m)
    out.append(h5_mutation(rel, image, None, "inflated"))
    with h5py.File(path, "r") as h:
        img_off, img_n = h[image].id.get_offset(), h[image].id.get_storage_size()
    raw = path.read_bytes()
    for name in required:
        at = raw.find(name.encode() + b"\x00")
        if at >= 0:
            m = flip(rel, at + int(rng.integers(len(name))), int(rng.integers(0, 5)))
            out.append(Mutation(f"{m.name} (in the name {name!r})", m.apply))
    out += [Mutation(m.name + " (superblock)", m.apply) for m in random_flips(rel, 0, 48, 2, rng)]
    out += random_truncations(rel, len(raw), 5, rng)
    if img_off is not None:
        out += random_flips(rel, img_off, img_off + img_n, 3, rng)
    out += [folder_instead(rel), replace(rel, b"\x89HDF\r\n\x1a\n" + b"\x00" * 100, "a bare HDF5 signature")]
    return out


