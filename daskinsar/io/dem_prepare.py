"""The run's DEM: :func:`prepare_dem` crops, converts and writes it once as a Zarr store;
:func:`open_dem_store` reopens it as a :class:`~daskinsar.geometry.dem.Dem` backed by the
store's ``zarr.Array`` (windows read straight from the store).

Voids inside the crop are counted; by default they stay NaN and a warning gives their
number and fraction of the scene footprint. With ``fill_voids`` they are filled by
**Laplace interpolation**: each void sample takes the value that makes the discrete
Laplacian vanish (the mean of its four neighbours), the known heights around the void
being the boundary values (a sparse linear solve over the void samples only; a void at
the crop's edge has no neighbour there: a zero-slope boundary). The count is reported
and recorded in the store's attributes.
"""

from __future__ import annotations

import os
import warnings
from typing import cast

import dask
import dask.array as da
import numpy as np
import zarr

from ..errors import InputFileError
from ..geometry.dem import Dem, EdgeMode
from .dem import DemInput, open_dem
from .store import atomic_store, is_complete

__all__ = ["prepare_dem", "open_dem_store", "fill_voids_laplace", "DEM_STORE_KIND"]

DEM_STORE_KIND = "daskinsar-dem"
_GRID_KEYS = ("lon0_deg", "lat0_deg", "dlon_deg", "dlat_deg")


def fill_voids_laplace(heights: np.ndarray) -> tuple[np.ndarray, int]:
    """Fill NaN samples by Laplace (harmonic) interpolation from the finite ones.

    Returns (filled copy, number of samples filled). Needs at least one finite sample.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import spsolve

    a = np.array(heights, dtype=np.float64)
    void = ~np.isfinite(a)
    n = int(void.sum())
    if n == 0:
        return a, 0
    if n == a.size:
        raise ValueError("no finite height to fill voids from")
    ny, nx = a.shape
    idx = -np.ones(a.shape, np.int64)
    idx[void] = np.arange(n)
    vr, vc = np.nonzero(void)
    rows, cols, vals = [], [], []
    deg = np.zeros(n)
    rhs = np.zeros(n)
    for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        r, c = vr + dr, vc + dc
        inside = (r >= 0) & (r < ny) & (c >= 0) & (c < nx)
        k = np.nonzero(inside)[0]
        deg[k] += 1.0
        rr, cc = r[k], c[k]
        nb_void = void[rr, cc]
        kv = k[nb_void]
        rows.append(kv)
        cols.append(idx[rr[nb_void], cc[nb_void]])
        vals.append(-np.ones(kv.size))
        kk = k[~nb_void]
        np.add.at(rhs, kk, a[rr[~nb_void], cc[~nb_void]])
    rows.append(np.arange(n))
    cols.append(np.arange(n))
    vals.append(deg)
    m = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)).tocsc()
    a[void] = spsolve(m, rhs)
    return a, n


def _footprint_slices(dem: Dem, rs: slice, cs: slice, box) -> tuple[slice, slice]:
    """Slices (relative to the crop rs, cs) of the samples inside the footprint box."""
    ny, nx = dem.shape
    c0, c1 = Dem._index_range(box[0], box[1], dem.lon0_deg, dem.dlon_deg, nx, 0)
    r0, r1 = Dem._index_range(box[2], box[3], dem.lat0_deg, dem.dlat_deg, ny, 0)
    c0, c1 = max(c0, cs.start), min(c1 + 1, cs.stop)
    r0, r1 = max(r0, rs.start), min(r1 + 1, rs.stop)
    return slice(r0 - rs.start, r1 - rs.start), slice(c0 - cs.start, c1 - cs.start)


def prepare_dem(dem_input, lon_min: float, lon_max: float, lat_min: float, lat_max: float, out_url, *,
                margin: int = 8, chunks: int = 1024, edge: EdgeMode = "fill", attrs: dict | None = None) -> Dem:
    """The run's DEM over the scene footprint (lon/lat box, deg), written to ``out_url``.

    ``dem_input``: a :class:`DemInput` (``path=None`` downloads one, cached beside ``out_url``),
    a DEM file path, or an opened :class:`Dem`. Crops to the footprint plus ``margin`` samples
    (clipped at the DEM's edges), converts the vertical datum (in :func:`open_dem`), counts the
    voids inside the footprint and warns, or fills them (``fill_voids``), and writes float32
    heights to a chunked Zarr store atomically. Raises :class:`DemCoverageError` when the DEM
    does not cover the footprint. ``edge``: the stored DEM's edge handling; ``attrs``: extra store
    attributes (e.g. the pipeline's step token). Returns :func:`open_dem_store` of the result.
    """
    box = (float(lon_min), float(lon_max), float(lat_min), float(lat_max))
    extra_attrs = attrs
    if isinstance(dem_input, Dem):
        cfg, dem = DemInput.model_validate({"path": dem_input.source, "interpolation": dem_input.method}), dem_input
    else:
        cfg = dem_input if isinstance(dem_input, DemInput) else DemInput(path=str(dem_input))
        path = cfg.path
        if path is None:
            from .dem_fetch import fetch_dem

            cache = os.path.join(os.path.dirname(os.path.abspath(str(out_url))), "dem_download")
            path = fetch_dem(box, cfg.source, cache, tile_server=cfg.tile_server)
        dem = open_dem(path, interpolation=cfg.interpolation, vertical_datum=cfg.vertical_datum, edge=edge)
    dem.check_covers(np.array(box[:2]), np.array(box[2:]), what="scene footprint")
    rs, cs = dem.window_indices(*box, margin=margin)
    crop = dem.heights_m[rs, cs]
    if not hasattr(crop, "dask"):
        crop = da.from_array(np.asarray(crop), chunks=chunks)
    crop = crop.astype(np.float32).rechunk((chunks, chunks))
    fr, fc = _footprint_slices(dem, rs, cs, box)
    n_foot = (fr.stop - fr.start) * (fc.stop - fc.start)
    try:
        voids_foot, voids_crop = dask.compute((~da.isfinite(crop[fr, fc])).sum(), (~da.isfinite(crop)).sum())
    except InputFileError:
        raise
    voids_foot, voids_crop = int(voids_foot), int(voids_crop)
    filled = 0
    if voids_crop == crop.size:
        raise InputFileError(dem.source, "valid heights over the scene footprint",
                             f"nodata everywhere in lon {box[0]:.6f} .. {box[1]:.6f}, lat {box[2]:.6f} .. {box[3]:.6f}")
    if voids_crop and cfg.fill_voids:
        values, filled = fill_voids_laplace(crop.compute())
        crop = da.from_array(values.astype(np.float32), chunks=chunks)
        warnings.warn(f"{dem.source}: filled {filled} void samples ({voids_foot} inside the scene footprint, "
                      f"{voids_foot / n_foot:.2%} of it) by Laplace interpolation", stacklevel=2)
    elif voids_foot:
        warnings.warn(f"{dem.source}: {voids_foot} void samples (nodata) inside the scene footprint "
                      f"({voids_foot / n_foot:.2%} of it) stay NaN: heights there are unknown (set "
                      "dem.fill_voids: true to fill them by Laplace interpolation)", stacklevel=2)
    lon0 = dem.lon0_deg + cs.start * dem.dlon_deg
    lat0 = dem.lat0_deg + rs.start * dem.dlat_deg
    attrs = {"kind": DEM_STORE_KIND, "lon0_deg": lon0, "lat0_deg": lat0, "dlon_deg": dem.dlon_deg,
             "dlat_deg": dem.dlat_deg, "method": dem.method, "edge": dem.edge, "source": dem.source,
             "footprint_deg": list(box), "margin_samples": int(margin),
             "crop_rows": [rs.start, rs.stop], "crop_cols": [cs.start, cs.stop],
             "voids_in_footprint": voids_foot, "voids_in_crop": voids_crop, "footprint_samples": n_foot,
             "voids_filled": filled, "void_fill": "laplace" if filled else "none (NaN)",
             **{k: v for k, v in dem.attrs.items() if isinstance(v, (str, int, float, bool))}}
    url = str(out_url).rstrip("/")
    with atomic_store(url) as tmp:
        g = zarr.open_group(tmp, mode="w", zarr_format=3)
        z = g.create_array("hgt", shape=crop.shape, chunks=(chunks, chunks), dtype="float32", fill_value=np.nan)
        finite = da.isfinite(crop)
        _, lo, hi, tot, n = dask.compute(da.store(crop, z, lock=False, compute=False),  # type: ignore[arg-type]
                                         da.nanmin(crop), da.nanmax(crop), da.nansum(crop, dtype=np.float64),
                                         finite.sum())
        attrs.update(min_m=float(lo), max_m=float(hi), mean_m=float(tot) / int(n), n_finite=int(n))
        g.attrs.update({**attrs, **(extra_attrs or {})})
    return open_dem_store(url)


def open_dem_store(url, *, interpolation: str | None = None) -> Dem:
    """Reopen a store written by :func:`prepare_dem` as a Dem backed by its ``zarr.Array``.

    ``ref_height_m`` is the store's mean height, so every window starts geometry solves alike.
    """
    url = str(url).rstrip("/")
    if not is_complete(url):
        raise InputFileError(url, "a complete daskinsar DEM store (prepare_dem)", "no completion marker")
    g = zarr.open_group(url, mode="r")
    a = dict(g.attrs)
    if a.get("kind") != DEM_STORE_KIND or "hgt" not in g:
        raise InputFileError(url, "a daskinsar DEM store", f"kind {a.get('kind')!r}")
    arr = cast(zarr.Array, g["hgt"])
    n_finite = int(cast(int, a["n_finite"]))
    stats = {"min_m": float(cast(float, a["min_m"])), "max_m": float(cast(float, a["max_m"])),
             "mean_m": float(cast(float, a["mean_m"])), "n_finite": n_finite,
             "n_void": int(arr.shape[0] * arr.shape[1] - n_finite)}
    keep = {k: v for k, v in a.items() if k not in _GRID_KEYS + ("kind", "method", "edge", "daskinsar_complete")}
    lon0, lat0, dlon, dlat = (float(cast(float, a[k])) for k in _GRID_KEYS)
    dem = Dem(arr, lon0, lat0, dlon, dlat, method=str(interpolation or a["method"]), source=url,
              edge="clamp" if a["edge"] == "clamp" else "fill", ref_height_m=stats["mean_m"], attrs=keep)
    dem._cache["stats"] = stats
    return dem
