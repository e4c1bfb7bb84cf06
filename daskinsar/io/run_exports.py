"""Exports of a finished run (``daskinsar export RUN --format isce|stac``), local or on an object store.

Both read the run's stores (``products.zarr/geocode``, ``geocode_geometry``, the scene stores for
the pair's metadata) and write local files; for a run folder on an object store the files are
written to a local temporary folder and uploaded one by one (each appears whole or not at all).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import xarray as xr

from .. import __version__
from ..errors import DaskInsarError
from ..products import GEOMETRY_GROUP
from . import store
from .isce_export import export_isce
from .run_folder import RunFolder
from .run_metadata import pair_metadata
from .stac import run_item, validate_item
from .tops_store import is_tops_store, open_tops_scene

__all__ = ["export_run", "run_pair_metadata"]


def _open(folder: RunFolder, group: str) -> xr.Dataset | None:
    url = folder.join("products.zarr")
    if not store.is_complete(url, group):
        return None
    return xr.open_zarr(url, group=group, consolidated=False, decode_times=False)


def run_pair_metadata(folder: RunFolder) -> dict:
    """The pair's metadata of a run folder (its scene stores and the multilooked geometry)."""
    focused = store.is_complete(folder.join("reference_slc.zarr"))
    urls = {r: folder.join(f"{r}_slc.zarr" if focused else f"{r}.zarr") for r in ("reference", "secondary")}
    scenes = {r: open_tops_scene(u) if is_tops_store(u) else store.open_scene(u) for r, u in urls.items()}
    return pair_metadata(scenes["reference"], scenes["secondary"], _open(folder, "interferogram"), __version__)


def export_run(run: str, fmt: str, out: str | None = None, reporter=print) -> list[str]:
    """Export a run: ``fmt`` "isce" (``RUN/isce/`` by default) or "stac" (``RUN/item.json``). ``out``: another
    local folder (isce) or file (stac). Returns what was written."""
    folder = RunFolder(run)
    geo = _open(folder, "geocode")
    if geo is None:
        raise DaskInsarError(f"{folder.join('products.zarr/geocode')}: no complete geocode step; run the pipeline "
                             "through geocode first")
    if "spatial_ref" in geo.data_vars:
        geo = geo.set_coords("spatial_ref")
    groups = {"geocode": geo}
    geom = _open(folder, GEOMETRY_GROUP)
    if geom is not None:
        groups[GEOMETRY_GROUP] = geom.set_coords("spatial_ref") if "spatial_ref" in geom.data_vars else geom
    meta = run_pair_metadata(folder)
    if fmt == "isce":
        if out is not None or folder.is_local:
            target = Path(out) if out is not None else Path(folder.join("isce"))
            return [str(p) for p in export_isce(groups, target, meta)]
        with tempfile.TemporaryDirectory(prefix="daskinsar-isce-") as tmp:
            files = export_isce(groups, tmp, meta, upload=lambda p: folder.upload(p, f"isce/{p.name}"))
            return [folder.join(f"isce/{p.name}") for p in files]
    if fmt == "stac":
        tifs = [f"geo/{n}" for n in folder.listdir("geo") if n.endswith(".tif") and not n.startswith(".")]
        tifs += [f"geo/geometry/{n}" for n in folder.listdir("geo/geometry") if n.endswith(".tif")
                 and not n.startswith(".")]
        name = folder.url.rstrip("/").rsplit("/", 1)[-1] or "run"
        item = run_item(name, geo, meta, tifs)
        validate_item(item)
        text = json.dumps(item.to_dict(include_self_link=False, transform_hrefs=False), indent=2)
        if out is not None:
            Path(out).write_text(text)
            return [str(out)]
        folder.write_text("item.json", text)
        return [folder.join("item.json")]
    raise DaskInsarError(f"--format {fmt!r}: expected isce or stac")
