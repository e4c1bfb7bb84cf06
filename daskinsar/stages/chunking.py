"""The chunk policy: the run's chunking, and the chunk layouts that overlapping stages need."""

from __future__ import annotations

import dask.array as da
import numpy as np
import xarray as xr
from pydantic import Field

from ..params import Params


#: chunks of arrays a stage receives as numpy (2048 x 2048 complex64: 32 MiB)
DEFAULT_CHUNKS = (2048, 2048)


class ChunkParams(Params):
    """The chunking of full-resolution arrays: the dask chunks and the Zarr chunks of the run's stores."""

    chunk_azimuth: int = Field(1024, ge=16, description="chunk height of full-resolution arrays (lines)")
    chunk_range: int = Field(1024, ge=16, description="chunk width of full-resolution arrays (pixels)")

    @property
    def chunks(self) -> dict[str, int]:
        """The chunks as xarray takes them."""
        return {"azimuth": self.chunk_azimuth, "range": self.chunk_range}


def chunks_at_least(chunks: tuple[int, ...], depth: int) -> tuple[int, ...]:
    """Chunk lengths along one axis, each at least ``depth`` (what ``map_overlap`` needs so
    that one neighbour supplies the whole halo). A short trailing chunk is merged into the
    one before it; short interior chunks are evened out first."""
    ch = tuple(int(c) for c in chunks)
    if len(ch) == 1 or min(ch) >= depth:
        return ch
    n = sum(ch)
    size = max(max(ch), depth)
    ch = tuple([size] * (n // size) + ([n % size] if n % size else []))
    if len(ch) > 1 and ch[-1] < depth:
        ch = ch[:-2] + (ch[-2] + ch[-1],)
    return ch


def rechunk_for_overlap(x: da.Array, depth: tuple[int, ...] | int) -> da.Array:
    """``x`` rechunked so that every chunk is at least ``depth`` long on each axis."""
    depths = (depth,) * x.ndim if isinstance(depth, int) else depth
    new = tuple(chunks_at_least(c, d) for c, d in zip(x.chunks, depths))
    return x if new == x.chunks else x.rechunk(new)


def as_dask(x, like: da.Array | None = None, chunks=DEFAULT_CHUNKS) -> da.Array:
    """The one coercion of a stage input to a dask array: an ``xr.DataArray``'s data, a dask array as
    is, anything else (numpy) wrapped with the chunks of ``like`` when it has the same shape, else
    ``chunks``."""
    if isinstance(x, xr.DataArray):
        x = x.data
    if isinstance(x, da.Array):
        return x
    x = np.asarray(x)
    if like is not None and like.shape == x.shape:
        chunks = like.chunks
    return da.from_array(x, chunks=chunks)


def padded_for_overlap(x: da.Array, depth: tuple[int, ...] | int) -> tuple[da.Array, tuple[slice, ...]]:
    """``x`` padded with zeros at its end on every axis shorter than ``depth`` (what a ``map_overlap`` with a
    zero boundary sees beyond the array anyway) and rechunked for the overlap, with the slices that crop
    the result back: stages then work on any image size, down to one pixel."""
    depths = (depth,) * x.ndim if isinstance(depth, int) else tuple(depth)
    pads = tuple((0, max(0, int(d) - n)) for d, n in zip(depths, x.shape))
    crop = tuple(slice(0, n) for n in x.shape)
    if any(p for _, p in pads):
        x = da.pad(x, pads, mode="constant")
    return rechunk_for_overlap(x, depths), crop


def block_edges(n: int, chunk: int) -> list[tuple[int, int]]:
    """(start, stop) of the blocks of ``chunk`` samples that tile ``0 .. n`` (the last one shorter), for
    stages that build their graph block by block from delayed tasks."""
    edges = list(range(0, n, chunk)) + [n]
    return list(zip(edges[:-1], edges[1:]))


def blocks_overlapping(starts, start: int, stop: int) -> range:
    """Indices of the blocks holding samples ``start .. stop - 1`` of an axis whose blocks begin at
    ``starts`` (the cumulative chunk sizes, from 0 to the axis length)."""
    return range(int(np.searchsorted(starts, start, "right")) - 1, int(np.searchsorted(starts, stop, "left")))
