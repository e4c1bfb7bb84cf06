"""Phase unwrapping with SNAPHU, whole or in overlapping tiles made congruent (no seams).

Conventions
-----------
* Input: a multilooked, possibly filtered interferogram (complex, phase in rad,
  ``reference * conj(secondary)``) and its coherence (0..1) on the same grid, plus the
  equivalent number of independent looks ``nlooks`` that went into the coherence.
* Output: unwrapped phase in rad (float32, NaN where the input is invalid) and SNAPHU
  connected-component labels (uint32, 0 = not in a reliable component). The absolute
  level of the unwrapped phase is defined only up to ``2*pi*k``; pixels in different
  connected components may differ by an unknown ``2*pi*k``.

Untiled mode
------------
One SNAPHU call (``snaphu.unwrap`` from the snaphu-py package) on the whole array, as one
dask task. Used when ``rows * cols <= tile_pixels_budget``.

Tiled mode (ours, not SNAPHU's internal tiling)
-----------------------------------------------
1. The grid is cut into ``ty x tx`` *core* tiles (a partition of the image; the grid
   depends only on the shape and the budget, never on dask chunks). Each tile is
   extended by ``overlap // 2`` pixels into its neighbours, so neighbours share
   ``overlap`` rows/columns. Each extended tile is unwrapped by SNAPHU as its own dask
   task (``snaphu-tile-...``); memory per task is bounded by the tile size.
2. For every pair of edge-adjacent tiles the integer offset ``k_b - k_a`` is the mode of
   ``round((u_a - u_b) / 2pi)`` over overlap pixels that are coherent
   (``coherence >= offset_min_coherence``) and inside a connected component in both
   tiles (``unwrap-pair-...`` tasks). Its quality is the fraction of those pixels that
   agree with the mode.
3. Optional multi-resolution guide (``guide=True``, default): the interferogram is
   averaged over ``f x f`` cells (complex mean, ``f`` chosen so the decimated grid is a
   quarter of the budget) and unwrapped once with ``nlooks * f**2``. Each tile gets an edge to a
   virtual "guide" node with offset = mode of ``round((guide_upsampled - u_tile)/2pi)``
   over its coherent core pixels, weighted by ``guide_weight * agreement``. Because the
   guide weight is below the weight of a clean overlap, the guide only decides where
   the overlaps are poor (e.g. a tile cut off by an incoherent band), and it ties the
   tiles' absolute level to one consistent low-resolution solution.
4. A maximum spanning tree over tiles (+ guide) weighted by these qualities gives each
   tile's integer ``k`` (``unwrap-solve-...``, a tiny task). Every tile is shifted by
   ``2*pi*k`` exactly (integers only, no feathering) and each pixel is taken from the
   tile whose core holds it, i.e. the tile whose centre is nearest, so every seam lies
   in the middle of an overlap, ``overlap // 2`` pixels away from both tiles' edges.
5. Connected components are relabelled consistently: labels of different tiles that
   share at least ``min_link_pixels`` overlap pixels are merged (union-find), then
   numbered 1..N in order of their first appearance (tile-major, then local label).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass
from typing import Literal

import dask
import dask.array as da
import numpy as np
import xarray as xr
from pydantic import Field

from ..params import Params
from .chunking import as_dask
from .snaphu_call import snaphu_unwrap

log = logging.getLogger(__name__)

TWO_PI = 2.0 * np.pi
#: the smallest side (pixels) given to SNAPHU: its wrapped-gradient window is 7 x 7
MIN_SNAPHU_SIDE = 16

__all__ = [
    "UnwrapParams",
    "unwrap",
    "unwrap_block",
    "run",
    "tile_grid",
]


class UnwrapParams(Params):
    """Phase unwrapping with SNAPHU (tiled without seams when large) and the LOS displacement."""

    enabled: bool = Field(True, description="false: stop after the filter (no unwrapped phase, no displacement)")
    cost: Literal["defo", "smooth"] = Field("defo", description="SNAPHU statistical cost mode (defo: deformation, "
                                                                "smooth: smooth, topography-like)")
    init: Literal["mcf", "mst"] = Field("mcf", description="SNAPHU initialisation (minimum cost flow or minimum "
                                                           "spanning tree)")
    init_only: bool = Field(False, description="stop after SNAPHU's initialisation (its -i: no statistical-cost "
                                               "optimisation), as ISCE's snaphu_mcf does")
    defo_max_cycles: float = Field(1.2, gt=0, description="SNAPHU's DEFOMAX_CYCLE: the largest phase "
                                                          "discontinuity (cycles) the defo cost allows (ISCE's "
                                                          "snaphu: 4, snaphu_mcf: 2, SNAPHU's own default 1.2)")
    tile_pixels: int = Field(576 * 576, ge=10_000, description="most pixels (overlap included) per SNAPHU call; "
                                                               "larger interferograms are unwrapped in tiles (the "
                                                               "default: 512^2 cores + overlap; tilings compared "
                                                               "in benchmarks/report.md)")
    tile_overlap: int = Field(64, ge=8, description="pixels shared by neighbouring unwrapping tiles (each tile's "
                                                    "window reaches half of it into its neighbours)")
    guide: bool = Field(True, description="unwrap a decimated copy first and use it to tie the tiles together")
    guide_looks: int | None = Field(None, ge=2, description="decimation of the guide (None: a quarter of "
                                                            "tile_pixels)")
    guide_weight: float = Field(0.5, ge=0.0, le=1.0, description="weight of the guide against a clean overlap")
    offset_min_coherence: float = Field(0.4, ge=0, le=1, description="coherence floor of the pixels that vote on "
                                                                     "tile offsets")
    min_conncomp_frac: float = Field(0.01, gt=0, le=1, description="smallest connected component, as a fraction "
                                                                   "of the image")
    min_link_pixels: int = Field(16, ge=1, description="overlap pixels that merge two tiles' components")


# ---------------------------------------------------------------------------------------
# block kernel
# ---------------------------------------------------------------------------------------
_quiet_lock = threading.Lock()
_quiet_state = {"depth": 0, "saved": -1}


@contextlib.contextmanager
def _quiet_stdout():
    """Silence the process's stdout (file descriptor 1) while SNAPHU runs: the binary prints
    its progress there and snaphu-py has no quiet option. Concurrent uses share one
    redirection (reference counted); stderr, where errors and progress bars go, is untouched."""
    with _quiet_lock:
        if _quiet_state["depth"] == 0:
            sys.stdout.flush()
            _quiet_state["saved"] = os.dup(1)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.close(devnull)
        _quiet_state["depth"] += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_state["depth"] -= 1
            if _quiet_state["depth"] == 0:
                os.dup2(_quiet_state["saved"], 1)
                os.close(_quiet_state["saved"])


def _scratch_base(scratchdir: str | os.PathLike | None) -> str:
    if scratchdir is not None:
        os.makedirs(scratchdir, exist_ok=True)
        return os.fspath(scratchdir)
    base = dask.config.get("temporary-directory", None) or tempfile.gettempdir()
    os.makedirs(base, exist_ok=True)
    return base


def unwrap_block(
    ifg: np.ndarray,
    coherence: np.ndarray,
    *,
    nlooks: float,
    cost: str = "defo",
    init: str = "mcf",
    init_only: bool = False,
    defo_max_cycles: float = 1.2,
    min_conncomp_frac: float = 0.01,
    scratchdir: str | os.PathLike | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Unwrap one 2-D array with one SNAPHU call.

    Parameters
    ----------
    ifg : complex (rows, cols) wrapped interferogram; phase in rad. Zero or non-finite
        pixels are invalid (masked out for SNAPHU).
    coherence : float (rows, cols), 0..1; non-finite pixels are invalid.
    nlooks : equivalent number of independent looks of ``coherence``.
    cost, init, init_only, defo_max_cycles : SNAPHU's STATCOSTMODE, INITMETHOD, -i and DEFOMAX_CYCLE
        (see :mod:`daskinsar.stages.snaphu_call`).
    scratchdir : parent folder of SNAPHU's scratch files; a private, unique subfolder is
        made there per call and removed afterwards (safe for concurrent tasks).

    Returns
    -------
    unw : float32 (rows, cols), unwrapped phase in rad, NaN where invalid.
    conncomp : uint32 (rows, cols), connected-component labels, 0 = unreliable/invalid.
    """
    ifg = np.asarray(ifg)
    coherence = np.asarray(coherence)
    if ifg.ndim != 2 or ifg.shape != coherence.shape:
        raise ValueError(
            f"unwrap: interferogram and coherence must be 2-D of the same shape, got {ifg.shape} and {coherence.shape}"
        )
    igram = ifg.astype(np.complex64, copy=False)
    corr = np.clip(np.nan_to_num(coherence.astype(np.float32), nan=0.0), 0.0, 1.0)
    valid = np.isfinite(igram.real) & np.isfinite(igram.imag) & (igram != 0) & np.isfinite(coherence)
    unw = np.full(igram.shape, np.nan, dtype=np.float32)
    cc = np.zeros(igram.shape, dtype=np.uint32)
    if valid.sum() < 4:
        return unw, cc
    igram = np.where(valid, igram, 0).astype(np.complex64)
    # SNAPHU needs at least its phase-gradient window (7 x 7) of pixels: a smaller interferogram is unwrapped
    # inside a masked border of invalid pixels (which SNAPHU ignores), then cropped back
    n0, n1 = igram.shape
    p0, p1 = max(0, MIN_SNAPHU_SIDE - n0), max(0, MIN_SNAPHU_SIDE - n1)
    if p0 or p1:
        igram = np.pad(igram, ((0, p0), (0, p1)))
        corr = np.pad(corr, ((0, p0), (0, p1)))
        valid_p = np.pad(valid, ((0, p0), (0, p1)))
    else:
        valid_p = valid
    base = _scratch_base(scratchdir)
    scratch = tempfile.mkdtemp(prefix="daskinsar-snaphu-", dir=base)
    try:
        with _quiet_stdout():
            out_u, out_c = snaphu_unwrap(
                igram, corr, None if valid_p.all() else valid_p.astype(np.uint8), nlooks=float(nlooks), cost=cost,
                init=init, init_only=init_only, defo_max_cycles=defo_max_cycles,
                min_conncomp_frac=float(min(max(min_conncomp_frac, 1e-6), 1.0)), scratch=scratch)
    except RuntimeError as err:  # SNAPHU reports its own reason on stderr
        raise RuntimeError(f"SNAPHU failed on a {igram.shape} block: {err}") from err
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    unw[valid] = np.asarray(out_u, dtype=np.float32)[:n0, :n1][valid]
    cc[valid] = np.asarray(out_c).astype(np.uint32)[:n0, :n1][valid]
    return unw, cc


# ---------------------------------------------------------------------------------------
# tile grid
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tile:
    """One tile: core (the pixels it delivers) and window (what SNAPHU sees), global pixels."""

    index: tuple[int, int]
    core: tuple[slice, slice]
    window: tuple[slice, slice]


def _splits(n: int, k: int) -> list[int]:
    return [round(i * n / k) for i in range(k + 1)]


def choose_ntiles(shape: tuple[int, int], tile_pixels_budget: int, overlap: int) -> tuple[int, int]:
    """Fewest tiles (most square, on ties) whose extended windows fit the pixel budget."""
    ny, nx = shape
    if ny * nx <= tile_pixels_budget:
        return (1, 1)
    best = None
    for ty in range(1, ny + 1):
        h = math.ceil(ny / ty) + (overlap if ty > 1 else 0)
        if h * min(nx, 1 + overlap) > tile_pixels_budget and h > 1:
            continue
        for tx in range(1, nx + 1):
            w = math.ceil(nx / tx) + (overlap if tx > 1 else 0)
            if h * w <= tile_pixels_budget:
                cand = (ty * tx, abs(math.log((ny / ty) / (nx / tx))), ty, tx)
                if best is None or cand < best:
                    best = cand
                break
        if best is not None and ty > best[0]:
            break
    if best is None:
        raise ValueError(
            f"unwrap: tile_pixels_budget={tile_pixels_budget} is too small for overlap={overlap}"
        )
    return best[2], best[3]


def tile_grid(shape: tuple[int, int], ntiles: tuple[int, int], overlap: int) -> list[list[Tile]]:
    """Regular grid of core tiles, each extended by ``overlap//2`` (+ remainder) into neighbours."""
    ny, nx = shape
    ty, tx = ntiles
    if ty < 1 or tx < 1 or ty > ny or tx > nx:
        raise ValueError(f"unwrap: cannot cut a {shape} grid into {ntiles} tiles")
    ys, xs = _splits(ny, ty), _splits(nx, tx)
    lo, hi = overlap // 2, overlap - overlap // 2
    grid = []
    for i in range(ty):
        row = []
        for j in range(tx):
            core = (slice(ys[i], ys[i + 1]), slice(xs[j], xs[j + 1]))
            win = (
                slice(max(ys[i] - lo, 0), min(ys[i + 1] + hi, ny)),
                slice(max(xs[j] - lo, 0), min(xs[j + 1] + hi, nx)),
            )
            row.append(Tile((i, j), core, win))
        grid.append(row)
    return grid


# ---------------------------------------------------------------------------------------
# small kernels used by the tiled graph
# ---------------------------------------------------------------------------------------
def _tile_task(ifg, coh, *, min_coherence, **kw):
    """Unwrap one extended tile; also keep which pixels may vote on offsets."""
    unw, cc = unwrap_block(ifg, coh, **kw)
    good = (cc > 0) & np.isfinite(unw) & (np.nan_to_num(np.asarray(coh, dtype=np.float32)) >= min_coherence)
    return unw, cc, good


def _mode_offset(diff_rad: np.ndarray) -> tuple[int, float, int]:
    """Mode of round(diff/2pi): (offset, fraction agreeing, number of votes)."""
    if diff_rad.size == 0:
        return 0, 0.0, 0
    k = np.rint(diff_rad / TWO_PI).astype(np.int64)
    vals, counts = np.unique(k, return_counts=True)
    m = int(np.argmax(counts))
    return int(vals[m]), float(counts[m] / k.size), int(k.size)


def _local(sl: tuple[slice, slice], win: tuple[slice, slice]) -> tuple[slice, slice]:
    return (slice(sl[0].start - win[0].start, sl[0].stop - win[0].start),
            slice(sl[1].start - win[1].start, sl[1].stop - win[1].start))


def _intersect(a: tuple[slice, slice], b: tuple[slice, slice]) -> tuple[slice, slice]:
    return (slice(max(a[0].start, b[0].start), min(a[0].stop, b[0].stop)),
            slice(max(a[1].start, b[1].start), min(a[1].stop, b[1].stop)))


def _pair_task(ta, tb, win_a, win_b, min_link_pixels):
    """Offset k_b - k_a from the overlap of tiles a and b, and their label co-occurrences."""
    ov = _intersect(win_a, win_b)
    la, lb = _local(ov, win_a), _local(ov, win_b)
    ua, ca, ga = (x[la] for x in ta)
    ub, cb, gb = (x[lb] for x in tb)
    both = ga & gb
    k, frac, n = _mode_offset((ua - ub)[both])
    links = []
    inc = (ca > 0) & (cb > 0)
    if inc.any():
        pairs, counts = np.unique(np.stack([ca[inc], cb[inc]]), axis=1, return_counts=True)
        links = [(int(p), int(q)) for (p, q), c in zip(pairs.T, counts) if c >= min_link_pixels]
    return {"k": k, "quality": frac, "n": n, "links": links}


def _guide_task(tile, guide_unw, core, win, factor):
    """Offset k_tile (relative to the guide) over the tile's coherent core pixels."""
    from scipy import ndimage

    u, cc, good = tile
    lc = _local(core, win)
    u, good = u[lc], good[lc]
    rows = (np.arange(core[0].start, core[0].stop) - (factor - 1) / 2) / factor
    cols = (np.arange(core[1].start, core[1].stop) - (factor - 1) / 2) / factor
    rr, cc_ = np.meshgrid(rows, cols, indexing="ij")
    g = np.nan_to_num(guide_unw, nan=0.0)
    gmask = np.isfinite(guide_unw).astype(np.float32)
    up = ndimage.map_coordinates(g, [rr, cc_], order=1, mode="nearest")
    upm = ndimage.map_coordinates(gmask, [rr, cc_], order=1, mode="nearest") > 0.999
    sel = good & upm
    k, frac, n = _mode_offset((up - u)[sel])
    return {"k": k, "quality": frac, "n": n}


def _labels_task(tile) -> np.ndarray:
    return np.unique(tile[1][tile[1] > 0])


def _solve_task(shape_t, pairs, guides, labels, *, guide_weight, min_votes):
    """Integer offsets per tile (max spanning tree) and local->global label maps."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import breadth_first_order, minimum_spanning_tree

    ty, tx = shape_t
    nt = ty * tx
    g_node = nt
    nn = nt + (1 if guides else 0)
    rows, cols, w, off = [], [], [], {}
    for (a, b), p in pairs.items():
        if p["n"] >= min_votes and p["quality"] > 0:
            rows.append(a)
            cols.append(b)
            w.append(2.0 - p["quality"])
            off[(a, b)] = p["k"]
            off[(b, a)] = -p["k"]
    for t, gd in (guides or {}).items():
        if gd["n"] >= min_votes and gd["quality"] > 0:
            rows.append(g_node)
            cols.append(t)
            w.append(2.0 - guide_weight * gd["quality"])
            off[(g_node, t)] = gd["k"]
            off[(t, g_node)] = -gd["k"]
    k = np.zeros(nn, dtype=np.int64)
    reached = np.zeros(nn, dtype=bool)
    if rows:
        mst = minimum_spanning_tree(coo_matrix((w, (rows, cols)), shape=(nn, nn)).tocsr())
        sym = (mst + mst.T).tocsr()
        for root in ([g_node] if guides else []) + list(range(nt)):
            if reached[root]:
                continue
            order, pred = breadth_first_order(sym, root, directed=False, return_predecessors=True)
            reached[order] = True
            for node in order[1:]:
                k[node] = k[pred[node]] + off[(int(pred[node]), int(node))]
    else:
        reached[:] = False
    if nt > 1 and not reached[:nt].all():
        log.warning("unwrap: %d of %d tiles have no reliable link to the others; their 2*pi offset is arbitrary",
                    int((~reached[:nt]).sum()), nt)
    # connected components: union-find over (tile, label)
    parent: dict = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for t in range(nt):
        for lab in labels[t]:
            parent[(t, int(lab))] = (t, int(lab))
    for (a, b), p in pairs.items():
        for la, lb in p["links"]:
            ra, rb = find((a, la)), find((b, lb))
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    numbering: dict = {}
    maps = []
    for t in range(nt):
        lut = {}
        for lab in labels[t]:
            root = find((t, int(lab)))
            if root not in numbering:
                numbering[root] = len(numbering) + 1
            lut[int(lab)] = numbering[root]
        maps.append(lut)
    return {"k": k[:nt].reshape(ty, tx), "maps": maps}


def _apply_task(tile, solved, i, j, tx, core, win):
    """Shift one tile by 2*pi*k (exact) and relabel its components; return its core."""
    u, cc, _ = tile
    lc = _local(core, win)
    k = int(solved["k"][i, j])
    u_out = (u[lc].astype(np.float64) + TWO_PI * k).astype(np.float32)
    lut = solved["maps"][i * tx + j]
    c = cc[lc]
    c_out = np.zeros_like(c)
    if lut:
        keys = np.array(sorted(lut), dtype=np.int64)
        vals = np.array([lut[x] for x in keys], dtype=np.uint32)
        lookup = np.zeros(int(keys.max()) + 1, dtype=np.uint32)
        lookup[keys] = vals
        c_out = lookup[np.minimum(c, keys.max())] * (c > 0)
        c_out = c_out.astype(np.uint32)
    return u_out, c_out


def _coarsen_mean(x: da.Array, f: int) -> da.Array:
    """Mean over f x f cells (trims the excess rows/cols), chunk-size independent."""
    ny, nx = (s // f * f for s in x.shape)
    x = x[:ny, :nx]
    cy = max(f, (x.chunks[0][0] // f) * f)
    cx = max(f, (x.chunks[1][0] // f) * f)
    x = x.rechunk((cy, cx))
    return da.coarsen(np.mean, x, {0: f, 1: f})


# ---------------------------------------------------------------------------------------
# stage functions
# ---------------------------------------------------------------------------------------
def unwrap(
    ifg,
    coherence,
    *,
    nlooks: float,
    cost: Literal["defo", "smooth"] = "defo",
    init: Literal["mcf", "mst"] = "mcf",
    init_only: bool = False,
    defo_max_cycles: float = 1.2,
    tile_pixels_budget: int = 2048 * 2048,
    overlap: int = 128,
    ntiles: tuple[int, int] | None = None,
    guide: bool = True,
    guide_looks: int | None = None,
    guide_weight: float = 0.5,
    offset_min_coherence: float = 0.4,
    min_conncomp_frac: float = 0.01,
    min_link_pixels: int = 16,
    scratchdir: str | os.PathLike | None = None,
) -> tuple[da.Array, da.Array]:
    """Unwrap an interferogram lazily (see the module docstring for the tiled method).

    Parameters
    ----------
    ifg : complex (rows, cols) numpy/dask array (or DataArray), wrapped phase in rad.
    coherence : float (rows, cols), 0..1.
    nlooks : equivalent number of independent looks of ``coherence`` (SNAPHU's NCORRLOOKS).
    cost, init : SNAPHU cost mode ("defo" for deformation, "smooth" for topography) and
        initialisation ("mcf" or "mst").
    init_only, defo_max_cycles : stop after the initialisation; SNAPHU's DEFOMAX_CYCLE (cycles).
    tile_pixels_budget : largest number of pixels (incl. overlap) given to one SNAPHU call;
        larger interferograms are unwrapped in tiles.
    overlap : rows/cols shared by neighbouring tiles (pixels).
    ntiles : force a (rows, cols) tile grid instead of deriving it from the budget.
    guide : unwrap an ``f x f``-averaged copy first and use it as a multi-resolution guide.
    guide_looks : ``f``; default: the smallest ``f >= 2`` that brings the guide to a quarter
        of ``tile_pixels_budget`` (the guide is cheaper than one tile).
    guide_weight : weight of guide edges relative to overlap edges (0..1).
    offset_min_coherence : coherence floor for pixels that vote on tile offsets.
    min_conncomp_frac : SNAPHU's minimum component size as a fraction of the whole image
        (scaled to each tile so the minimum size in pixels is the same tiled or not).
    min_link_pixels : overlap pixels needed to merge two tiles' components.
    scratchdir : where SNAPHU's scratch files go (per-task private subfolders);
        default: dask's ``temporary-directory`` or the system temp folder.

    Returns
    -------
    (unw, conncomp) : dask arrays, float32 rad (NaN invalid) and uint32 labels, chunked
        like ``ifg`` when it is a dask array.
    """
    ifg = getattr(ifg, "data", ifg) if not isinstance(ifg, (np.ndarray, da.Array)) else ifg
    coherence = getattr(coherence, "data", coherence) if not isinstance(coherence, (np.ndarray, da.Array)) else coherence
    out_chunks = ifg.chunks if isinstance(ifg, da.Array) else None
    ifg = as_dask(ifg)
    coherence = as_dask(coherence, like=ifg)
    if ifg.ndim != 2 or ifg.shape != coherence.shape:
        raise ValueError(
            f"unwrap: expected 2-D interferogram and coherence of one shape, got {ifg.shape} and {coherence.shape}"
        )
    if not np.iscomplexobj(np.empty(0, dtype=ifg.dtype)):
        raise ValueError(f"unwrap: expected a complex interferogram, got dtype {ifg.dtype}")
    if nlooks is None or not nlooks > 0:
        raise ValueError(f"unwrap: nlooks must be a positive number of looks, got {nlooks}")
    shape = ifg.shape
    ny, nx = shape
    token = dask.base.tokenize(ifg, coherence, nlooks, cost, init, init_only, defo_max_cycles, tile_pixels_budget,
                               overlap, ntiles, guide, guide_looks, guide_weight, offset_min_coherence,
                               min_conncomp_frac, min_link_pixels)
    nt = ntiles if ntiles is not None else choose_ntiles(shape, tile_pixels_budget, overlap)
    snaphu_kw = dict(nlooks=nlooks, cost=cost, init=init, init_only=init_only, defo_max_cycles=defo_max_cycles,
                     scratchdir=scratchdir)

    if tuple(nt) == (1, 1):
        res = dask.delayed(unwrap_block, pure=True)(
            ifg, coherence, min_conncomp_frac=min_conncomp_frac, **snaphu_kw, dask_key_name=f"snaphu-{token}"
        )
        unw = da.from_delayed(res[0], shape, dtype=np.float32, name=f"unwrap-unw-{token}")
        cc = da.from_delayed(res[1], shape, dtype=np.uint32, name=f"unwrap-conncomp-{token}")
    else:
        unw, cc = _unwrap_tiled(ifg, coherence, tuple(nt), overlap, token, snaphu_kw, guide, guide_looks, guide_weight,
                                tile_pixels_budget, offset_min_coherence, min_conncomp_frac, min_link_pixels)
    if out_chunks is not None:
        unw, cc = unw.rechunk(out_chunks), cc.rechunk(out_chunks)
    return unw, cc


def _unwrap_tiled(ifg, coherence, nt, overlap, token, snaphu_kw, guide, guide_looks, guide_weight, budget,
                  offset_min_coherence, min_conncomp_frac, min_link_pixels):
    ny, nx = ifg.shape
    ty, tx = nt
    grid = tile_grid((ny, nx), nt, overlap)
    delayed = dask.delayed
    tiles = {}
    labels = []
    for i in range(ty):
        for j in range(tx):
            t = grid[i][j]
            npix = (t.window[0].stop - t.window[0].start) * (t.window[1].stop - t.window[1].start)
            frac = min(1.0, min_conncomp_frac * ny * nx / npix)
            tiles[i, j] = delayed(_tile_task, pure=True)(
                ifg[t.window], coherence[t.window], min_coherence=offset_min_coherence,
                min_conncomp_frac=frac, **snaphu_kw, dask_key_name=f"snaphu-tile-{token}-{i}-{j}",
            )
            labels.append(delayed(_labels_task, pure=True)(tiles[i, j], dask_key_name=f"unwrap-labels-{token}-{i}-{j}"))
    pairs = {}
    for i in range(ty):
        for j in range(tx):
            a = i * tx + j
            for di, dj in ((0, 1), (1, 0)):
                ii, jj = i + di, j + dj
                if ii < ty and jj < tx:
                    pairs[(a, ii * tx + jj)] = delayed(_pair_task, pure=True)(
                        tiles[i, j], tiles[ii, jj], grid[i][j].window, grid[ii][jj].window, min_link_pixels,
                        dask_key_name=f"unwrap-pair-{token}-{i}-{j}-{ii}-{jj}",
                    )
    guides = None
    if guide:
        f = int(guide_looks) if guide_looks else max(2, math.ceil(math.sqrt(4 * ny * nx / budget)))
        if ny // f >= 8 and nx // f >= 8:
            c_ifg = _coarsen_mean(ifg.astype(np.complex64), f)
            c_coh = _coarsen_mean(coherence.astype(np.float32), f)
            g_kw = dict(snaphu_kw, nlooks=snaphu_kw["nlooks"] * f * f)
            g = delayed(unwrap_block, pure=True)(c_ifg, c_coh, min_conncomp_frac=min_conncomp_frac, **g_kw,
                                                 dask_key_name=f"snaphu-guide-{token}")
            guides = {
                i * tx + j: delayed(_guide_task, pure=True)(
                    tiles[i, j], g[0], grid[i][j].core, grid[i][j].window, f,
                    dask_key_name=f"unwrap-guide-offset-{token}-{i}-{j}",
                )
                for i in range(ty)
                for j in range(tx)
            }
    solved = delayed(_solve_task, pure=True)(
        nt, pairs, guides, labels, guide_weight=guide_weight, min_votes=max(16, overlap),
        dask_key_name=f"unwrap-solve-{token}",
    )
    u_rows, c_rows = [], []
    for i in range(ty):
        u_row, c_row = [], []
        for j in range(tx):
            t = grid[i][j]
            shp = (t.core[0].stop - t.core[0].start, t.core[1].stop - t.core[1].start)
            out = delayed(_apply_task, pure=True)(tiles[i, j], solved, i, j, tx, t.core, t.window,
                                                  dask_key_name=f"unwrap-apply-{token}-{i}-{j}")
            u_row.append(da.from_delayed(out[0], shp, dtype=np.float32, name=f"unwrap-unw-{token}-{i}-{j}"))
            c_row.append(da.from_delayed(out[1], shp, dtype=np.uint32, name=f"unwrap-conncomp-{token}-{i}-{j}"))
        u_rows.append(u_row)
        c_rows.append(c_row)
    return da.block(u_rows), da.block(c_rows)


def run(inputs: xr.Dataset, params: UnwrapParams) -> xr.Dataset:
    """``inputs``: the filtered interferogram ``ifg`` and the ``coherence`` of the unfiltered one (optionally
    ``water``: nonzero where the unwrapper is to leave pixels out: NaN phase, component 0), with the
    interferogram's attributes ``effective_looks`` and ``wavelength_m`` (or ``displacement_wavelength_m``,
    see :mod:`daskinsar.stages.common_band`) -> ``unw`` (rad), ``conncomp``
    and ``los_displacement`` (m, positive towards the platform). SNAPHU's scratch files go to dask's
    ``temporary-directory`` (each worker's local disk)."""
    for v in ("ifg", "coherence"):
        if v not in inputs:
            raise KeyError(f"unwrap: input dataset has no variable {v!r} (has {list(inputs.data_vars)})")
    nlooks = float(inputs.attrs["effective_looks"])
    ifg = inputs["ifg"].data
    if "water" in inputs:  # a water mask (nonzero = water): zero pixels are invalid for SNAPHU
        ifg = as_dask(ifg)
        water = as_dask(inputs["water"].data, like=ifg)
        if water.shape != ifg.shape:
            raise ValueError(f"unwrap: water mask of shape {water.shape} is not on the interferogram's {ifg.shape}")
        ifg = da.where(water != 0, np.complex64(0), ifg)
    unw, cc = unwrap(ifg, inputs["coherence"].data, nlooks=nlooks, cost=params.cost, init=params.init,
                     init_only=params.init_only, defo_max_cycles=params.defo_max_cycles,
                     tile_pixels_budget=params.tile_pixels, overlap=params.tile_overlap, guide=params.guide,
                     guide_looks=params.guide_looks, guide_weight=params.guide_weight,
                     offset_min_coherence=params.offset_min_coherence, min_conncomp_frac=params.min_conncomp_frac,
                     min_link_pixels=params.min_link_pixels)
    # the interferogram measures the motion at the secondary's frequencies of the common band
    # (commonband's displacement_wavelength_m; the one wavelength of a same-mode pair otherwise)
    wavelength = float(inputs.attrs.get("displacement_wavelength_m", inputs.attrs["wavelength_m"]))
    # ifg phase = -4 pi/lambda (R_ref - R_sec); motion towards the platform between the two
    # acquisitions (R_sec < R_ref) gives negative phase: d_los = -phase * lambda / (4 pi)
    disp = (-unw * (wavelength / (4.0 * np.pi))).astype(np.float32)
    coords = {k: v for k, v in inputs["ifg"].coords.items()}
    dims = ("azimuth", "range")
    return xr.Dataset({
        "unw": (dims, unw, {"units": "rad", "long_name": "unwrapped phase", "isce_name": "filt_topophase.unw"}),
        "conncomp": (dims, cc, {"long_name": "SNAPHU connected component", "units": "1"}),
        "los_displacement": (dims, disp, {"units": "m", "long_name": "line-of-sight displacement, positive towards "
                                          "the platform", "note": "relative: unwrapped phase has an unknown "
                                          "constant 2*pi*k"}),
    }, coords=coords, attrs={"nlooks": nlooks, "cost": params.cost, "init": params.init,
                             "init_only": int(params.init_only), "defo_max_cycles": params.defo_max_cycles,
                             "displacement_wavelength_m": wavelength})
