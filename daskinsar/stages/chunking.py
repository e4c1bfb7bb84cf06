"""Chunk layouts that overlapping stages need."""

from __future__ import annotations

import dask.array as da


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
    if isinstance(depth, int):
        depth = (depth,) * x.ndim
    new = tuple(chunks_at_least(c, d) for c, d in zip(x.chunks, depth))
    return x if new == x.chunks else x.rechunk(new)
