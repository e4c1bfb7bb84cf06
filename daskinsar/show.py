"""``daskinsar show``: quicklooks (PNG, and KMZ/KML for geocoded grids) of a product.

Products are named ``group/variable`` in a run's ``products.zarr`` (see DESIGN.md), or by
their ISCE file names (``topophase.flat``, ``filt_topophase.unw``, ``los.rdr`` ...), see
:data:`ISCE_PRODUCT_NAMES`. A ``.geo`` suffix on an ISCE name means the geocoded product
in the ``geocode`` group (``filt_topophase.flat.geo`` -> ``geocode/filt_ifg``, see
:func:`geocoded_variable`).
"""

from __future__ import annotations

import os
from pathlib import Path

import xarray as xr

from .errors import InputFileError
from .products import ISCE_PRODUCT_NAMES, geocoded_variable, resolve_product_name  # noqa: F401


class ProductNotFoundError(InputFileError, KeyError):
    """The store exists but holds no such group/variable (a KeyError too, so callers that
    skip absent optional products, like ``daskinsar show``'s default list, can catch it)."""

    def __str__(self) -> str:
        return Exception.__str__(self)


def _open_variable(source, product: str, path_label: str) -> xr.DataArray:
    """Find ``group/variable`` in a Dataset/DataTree or a Zarr store/GeoTIFF path."""
    group, _, var = product.rpartition("/")
    if isinstance(source, xr.Dataset):
        for cand in (product, var):
            if cand in source:
                return source[cand].rename(var)
        raise KeyError(f"{path_label}: no product {product!r}; dataset has {sorted(map(str, source.data_vars))}")
    if hasattr(xr, "DataTree") and isinstance(source, xr.DataTree):
        try:
            node = source[product]
        except KeyError as err:
            raise KeyError(f"{path_label}: no product {product!r}") from err
        return (node if isinstance(node, xr.DataArray) else node.to_dataset()[var]).rename(var)
    path = Path(os.fspath(source))
    if path.suffix.lower() in (".tif", ".tiff"):
        import rioxarray

        if not path.exists():
            raise InputFileError(path, "a GeoTIFF product")
        opened = rioxarray.open_rasterio(path, chunks=True, masked=True)
        if not isinstance(opened, xr.DataArray):
            raise InputFileError(path, "a single-band GeoTIFF product", "several subdatasets")
        return opened.squeeze("band", drop=True).rename(path.stem)
    candidates = [path] if path.name.endswith(".zarr") else [path / "products.zarr", path]
    store = next((c for c in candidates if c.exists()), None)
    if store is None:
        raise InputFileError(path, "a products.zarr store (or a run folder holding one)")
    try:
        ds = xr.open_zarr(store, group=group or None, consolidated=False)
    except (FileNotFoundError, KeyError, OSError, ValueError) as err:
        raise ProductNotFoundError(store, f"a group {group!r} (product {product!r})", type(err).__name__) from err
    if "spatial_ref" in ds.data_vars:  # the CRS variable reads back as data; it is a coordinate
        ds = ds.set_coords("spatial_ref")
    if var not in ds:
        raise ProductNotFoundError(store, f"variable {var!r} in group {group!r}",
                                   f"{sorted(map(str, ds.data_vars))}")
    arr = ds[var].rename(var)
    if "spatial_ref" not in arr.coords and "crs" in ds.attrs and {"x", "y"} <= set(arr.dims):
        import rioxarray  # noqa: F401

        arr = arr.rio.write_crs(ds.attrs["crs"])
    return arr


def _has_crs(arr: xr.DataArray) -> bool:
    import rioxarray  # noqa: F401

    try:
        from .io.export import _georef

        _georef(arr)
        return True
    except (ValueError, TypeError):
        return False


def show_product(path_or_dataset, name: str, out_dir, *, max_size: int = 2048) -> list[Path]:
    """Write quicklooks of one product; return the files written.

    Always a PNG with a colour bar (``<group>_<variable>.png``); for a geocoded grid (a
    CRS) also a KMZ (GroundOverlay + legend). Complex products are shown as wrapped phase
    over amplitude; ``*coherence*``/``phsig`` as 0..1 greyscale; ``unw`` with a rad colour
    bar; labels (``conncomp``) as categories.
    """
    from .io.export import quicklook_png, write_kmz

    product = resolve_product_name(name)
    label = str(path_or_dataset) if isinstance(path_or_dataset, (str, os.PathLike)) else "dataset"
    arr = _open_variable(path_or_dataset, product, label)
    if arr.ndim != 2:
        raise ValueError(f"{label}: product {product!r} has dims {arr.dims}; show expects a 2-D grid")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = product.replace("/", "_")
    files = [quicklook_png(arr, out_dir / f"{stem}.png", title=f"{product} ({name})" if name != product else product,
                           max_size=max_size)]
    if _has_crs(arr):
        files.append(write_kmz(arr, out_dir / f"{stem}.kmz", max_size=max_size))
    return files
