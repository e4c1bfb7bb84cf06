"""``daskinsar show``: quicklooks (PNG, KMZ for geocoded grids, one HTML page) with mdx.py's habits.

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
from .quicklook import QuicklookError, html_page, kind_of, quicklook_png, write_kmz


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


#: what ``daskinsar show RUN`` draws when no product is named
DEFAULT_PRODUCTS = ("filt_topophase.flat", "topophase.cor", "filt_topophase.unw", "geocode/los_displacement")


def _is_geotiff(path) -> bool:
    return isinstance(path, (str, os.PathLike)) and Path(os.fspath(path)).suffix.lower() in (".tif", ".tiff")


def show_product(path_or_dataset, name: str, out_dir, *, max_size: int = 2048, wrap: float | None = None,
                 zoom: float | None = None) -> list[Path]:
    """Write quicklooks of one product of a run (or products.zarr, or a Dataset); return the files written.

    Always a PNG with a colour bar (``<group>_<variable>.png``); for a geocoded grid (a CRS) also a KMZ
    (GroundOverlay + legend). ``wrap``/``zoom`` as mdx's ``-wrap``/``-z`` (see :mod:`daskinsar.quicklook`).
    """
    product = resolve_product_name(name)
    label = str(path_or_dataset) if isinstance(path_or_dataset, (str, os.PathLike)) else "dataset"
    arr = _open_variable(path_or_dataset, product, label)
    title = f"{product} ({name})" if name != product else product
    return _draw(arr, Path(out_dir), product.replace("/", "_"), title, max_size=max_size, wrap=wrap, zoom=zoom)


def show_file(path, out_dir, *, max_size: int = 2048, wrap: float | None = None, zoom: float | None = None
              ) -> list[Path]:
    """Quicklooks of exactly one GeoTIFF: ``<file stem>.png`` (+ ``.kmz``), titled with the file's name and
    its band description."""
    path = Path(os.fspath(path))
    arr = _open_variable(path, path.stem, str(path))
    what = arr.attrs.get("long_name")
    return _draw(arr, Path(out_dir), path.stem, f"{path.name}" + (f": {what}" if what else ""), max_size=max_size,
                 wrap=wrap, zoom=zoom)


def _draw(arr: xr.DataArray, out_dir: Path, stem: str, title: str, *, max_size: int, wrap, zoom) -> list[Path]:
    if arr.ndim != 2:
        raise QuicklookError(f"{title}: dims {arr.dims}; show draws a 2-D grid")
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [quicklook_png(arr, out_dir / f"{stem}.png", title=title, max_size=max_size, wrap=wrap, zoom=zoom)]
    if _has_crs(arr):
        files.append(write_kmz(arr, out_dir / f"{stem}.kmz", max_size=max_size, wrap=wrap))
    return files


def show(target, names: list[str], out_dir, *, wrap: float | None = None, zoom: float | None = None,
         page: bool = False, echo=print) -> list[Path]:
    """``daskinsar show``: a GeoTIFF draws exactly that file; a run folder (or products.zarr) the named
    products (or :data:`DEFAULT_PRODUCTS`, those present). ``page``: also one HTML page with all of them
    side by side (``index.html`` in ``out_dir``). ``wrap`` applies to unwrapped phase and displacement."""
    out_dir = Path(out_dir)
    if _is_geotiff(target):
        if names:
            raise QuicklookError(f"{target}: a GeoTIFF is one product; --name chooses products of a run folder")
        files = show_file(target, out_dir, wrap=wrap, zoom=zoom)
        shown = [(Path(os.fspath(target)).name, _open_variable(target, Path(target).stem, str(target)))]
    else:
        files, shown = [], []
        for n in names or DEFAULT_PRODUCTS:
            try:
                arr = _open_variable(target, resolve_product_name(n), str(target))
            except ProductNotFoundError:
                if names:
                    raise
                echo(f"  {n}: not in {target} (skipped)")
                continue
            w = wrap if kind_of(arr) in ("unwrapped", "displacement") or names else None
            files += show_product(target, n, out_dir, wrap=w, zoom=zoom)
            shown.append((n, arr))
    if page and shown:
        files.append(html_page(shown, out_dir / "index.html", title=f"daskinsar: {target}", wrap=wrap))
    return files
