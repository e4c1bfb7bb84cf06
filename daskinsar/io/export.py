"""Exports of geocoded products: GeoTIFF, Cloud-Optimized GeoTIFF, PNG quicklooks, KML/KMZ.

Inputs are ``xarray.DataArray`` s (numpy or dask backed) on a map grid with a CRS in the
rioxarray convention (a ``spatial_ref`` coordinate, e.g. EPSG:4326 or UTM), dims ``y``/``x``
(``lat``/``lon`` and ``latitude``/``longitude`` are recognised too). Radar-grid arrays
(no CRS) can still be rendered as PNG quicklooks.

Memory stays bounded: GeoTIFFs are written strip by strip (whole tile rows, one strip
computed at a time, so it works with any dask scheduler); the COG is a streamed
GDAL ``COG``-driver copy of that tiled GeoTIFF; quicklooks reduce the array lazily
(``coarsen``) to at most ``max_size`` pixels per side before anything is computed.

Colour conventions: wrapped phase (rad, -pi..pi) is a cyclic hue over amplitude (HSV:
hue = phase, saturation = 1, value = amplitude scaled to its 98th percentile);
unwrapped phase / displacement use a diverging/sequential map with a colour bar whose
label carries the units; coherence is 0..1 greyscale.
"""

from __future__ import annotations

import math
import os
import warnings
import zipfile
from pathlib import Path
from typing import Literal
from xml.sax.saxutils import escape

import dask.array as da
import numpy as np
import xarray as xr

__all__ = [
    "write_geotiff",
    "write_cog",
    "validate_cog",
    "quicklook_png",
    "render_rgba",
    "write_kml",
    "write_kmz",
    "latlon_box",
    "export_geotiffs",
    "metadata_tags",
    "stored_file_token",
    "METADATA_TAGS",
]

_SPATIAL_DIMS = [("x", "y"), ("lon", "lat"), ("longitude", "latitude"), ("easting", "northing")]

Kind = Literal["wrapped", "unwrapped", "displacement", "coherence", "labels", "scalar"]


# ---------------------------------------------------------------------------------------
# grid helpers
# ---------------------------------------------------------------------------------------
def _georef(arr: xr.DataArray) -> xr.DataArray:
    """Return ``arr`` 2-D with rioxarray spatial dims set; raise a clear error otherwise."""
    import rioxarray  # noqa: F401  (registers .rio)

    if not isinstance(arr, xr.DataArray):
        raise TypeError(f"export: expected an xarray.DataArray, got {type(arr).__name__}")
    if "band" in arr.dims and arr.sizes["band"] == 1:
        arr = arr.isel(band=0)
    for xd, yd in _SPATIAL_DIMS:
        if xd in arr.dims and yd in arr.dims:
            if (xd, yd) != ("x", "y"):
                arr = arr.rename({xd: "x", yd: "y"})
            arr = arr.transpose("y", "x")
            break
    else:
        raise ValueError(
            f"export: {arr.name!r} has dims {arr.dims}; expected a map grid with dims y/x "
            "(or lat/lon), i.e. a geocoded product"
        )
    if arr.rio.crs is None:
        raise ValueError(
            f"export: {arr.name!r} has no CRS; expected a 'spatial_ref' coordinate (rioxarray write_crs)"
        )
    if arr.sizes["y"] > 1 and float(arr["y"][1]) > float(arr["y"][0]):  # south-up: make it north-up (lazy)
        arr = arr.isel(y=slice(None, None, -1))
    return arr


def _default_nodata(dtype: np.dtype, nodata):
    if nodata is not None:
        return nodata
    if np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.complexfloating):
        return float("nan")
    return None


def write_geotiff(
    arr: xr.DataArray,
    path: str | os.PathLike,
    *,
    nodata: float | int | None = None,
    compress: str = "DEFLATE",
    blocksize: int = 512,
    tags: dict[str, str] | None = None,
) -> Path:
    """Write a geocoded 2-D DataArray to a tiled GeoTIFF (CRS, transform, nodata set).

    Float/complex arrays get ``nodata=NaN`` unless ``nodata`` is given; integer arrays
    get no nodata unless given (or found in the array's ``_FillValue`` attribute).
    The ``units`` attribute becomes GDAL's band unit type (and a ``units`` band tag), ``long_name``
    the band description, ``standard_name`` and ``comment`` band tags; ``tags``: file metadata.
    """
    import rasterio
    from rasterio.windows import Window

    arr = _georef(arr)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dtype = np.dtype(arr.dtype)
    if dtype == np.bool_:
        arr, dtype = arr.astype(np.uint8), np.dtype(np.uint8)
    nodata = _default_nodata(dtype, nodata if nodata is not None else arr.attrs.get("_FillValue", arr.rio.nodata))
    ny, nx = arr.shape
    bs = int(blocksize)
    profile = dict(
        driver="GTiff", width=nx, height=ny, count=1, dtype=dtype.name, crs=arr.rio.crs,
        transform=arr.rio.transform(recalc=True), nodata=None if dtype.kind == "c" else nodata,
        tiled=True, blockxsize=bs, blockysize=bs, compress=compress, BIGTIFF="IF_SAFER",
    )
    if profile["nodata"] is not None and dtype.kind in "iu" and isinstance(nodata, float) and math.isnan(nodata):
        profile["nodata"] = None
    data = arr.data
    tmp = path.with_name(f".{path.name}.partial")
    with rasterio.open(tmp, "w", **profile) as dst:
        if isinstance(data, da.Array):
            # one row of dask chunks at a time (each chunk computed once, any scheduler;
            # memory = one chunk row; GDAL's block cache completes partial tile rows)
            bounds = np.cumsum((0,) + data.chunks[0])
            for r0, r1 in zip(bounds[:-1], bounds[1:]):
                dst.write(np.asarray(data[r0:r1].compute()), 1, window=Window(0, int(r0), nx, int(r1 - r0)))
        else:
            dst.write(np.asarray(data), 1)
        if arr.attrs.get("units"):
            dst.set_band_unit(1, str(arr.attrs["units"]))
            dst.update_tags(1, units=str(arr.attrs["units"]))
        band_tags = {k: str(arr.attrs[k]) for k in ("standard_name", "comment") if arr.attrs.get(k)}
        if band_tags:
            dst.update_tags(1, **band_tags)
        desc = arr.attrs.get("long_name") or arr.name
        if desc:
            dst.set_band_description(1, str(desc))
        if dtype.kind == "c" and nodata is not None:
            dst.update_tags(NODATA_COMPLEX=str(nodata))
        if tags:
            dst.update_tags(**tags)
    os.replace(tmp, path)
    return path


def write_cog(
    arr: xr.DataArray,
    path: str | os.PathLike,
    *,
    nodata: float | int | None = None,
    compress: str = "DEFLATE",
    blocksize: int = 512,
    resampling: str | None = None,
    tags: dict[str, str] | None = None,
) -> Path:
    """Write a Cloud-Optimized GeoTIFF: tiled, with overviews, IFDs before data.

    First a tiled GeoTIFF is written block by block, then GDAL's ``COG`` driver copies it
    (streamed) adding overviews. ``resampling`` for overviews defaults to ``AVERAGE`` for
    continuous data and ``NEAREST`` for integer (label) data.
    """
    from rasterio.shutil import copy as rio_copy

    path = Path(path)
    tmp = path.with_name(f".{path.name}.src.tif")
    write_geotiff(arr, tmp, nodata=nodata, compress="NONE", blocksize=blocksize, tags=tags)
    kind = np.dtype(arr.dtype).kind
    if resampling is None:
        resampling = "NEAREST" if kind in "iub" else "AVERAGE"
    part = path.with_name(f".{path.name}.partial")
    try:
        rio_copy(tmp, part, driver="COG", COMPRESS=compress, BLOCKSIZE=blocksize, OVERVIEWS="AUTO",
                 RESAMPLING=resampling, BIGTIFF="IF_SAFER",
                 **({"PREDICTOR": "YES"} if kind in "iuf" and compress.upper() in ("DEFLATE", "ZSTD", "LZW") else {}))
        os.replace(part, path)
    finally:
        for p in (tmp, part):
            if p.exists():
                p.unlink()
    return path


def validate_cog(path: str | os.PathLike) -> list[str]:
    """Check that ``path`` is a Cloud-Optimized GeoTIFF; return the problems (empty = valid).

    Checks: GeoTIFF readable; GDAL reports ``LAYOUT=COG`` (IMAGE_STRUCTURE metadata); the
    ghost header says ``LAYOUT=IFDS_BEFORE_DATA``; every level is tiled (block sides a
    multiple of 16); overviews exist when the image is larger than a block; all IFDs sit
    before any image data; overview data come before full-resolution data (smallest
    overview first), so a reader fetches the headers and a coarse view with few requests.
    """
    import rasterio
    import tifffile

    path = Path(path)
    problems: list[str] = []
    try:
        with rasterio.open(path) as src:
            if src.driver != "GTiff":
                return [f"{path}: not a GeoTIFF (driver {src.driver})"]
            if src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") != "COG":
                problems.append("GDAL does not report LAYOUT=COG")
            bh, bw = src.block_shapes[0]
            if bw >= src.width and src.width > 512 or bh % 16 or bw % 16:
                problems.append(f"not tiled with 16-multiple blocks (block {bh}x{bw})")
            if (src.width > bw or src.height > bh) and not src.overviews(1):
                problems.append("no overviews although the image is larger than one block")
    except rasterio.errors.RasterioIOError as err:
        return [f"{path}: cannot open as GeoTIFF ({err})"]
    with open(path, "rb") as fh:
        head = fh.read(1024)
    if b"LAYOUT=IFDS_BEFORE_DATA" not in head:
        problems.append("ghost header LAYOUT=IFDS_BEFORE_DATA missing")
    with tifffile.TiffFile(path) as tf:
        pages = [p for p in tf.pages]
        ifd_offsets = [p.offset for p in pages]
        data_starts = [min(o for o in p.dataoffsets if o) for p in pages if any(p.dataoffsets)]
        if not all(getattr(p, "is_tiled", False) for p in pages):
            problems.append("a level is stored in strips, not tiles")
        if data_starts and max(ifd_offsets) > min(data_starts):
            problems.append("an IFD is stored after image data")
        if ifd_offsets != sorted(ifd_offsets):
            problems.append("IFDs are not in full-resolution-first order")
        if len(data_starts) > 1 and data_starts != sorted(data_starts, reverse=True):
            problems.append("image data are not ordered smallest overview first")
    return problems


# ---------------------------------------------------------------------------------------
# quicklooks
# ---------------------------------------------------------------------------------------
def _reduce(data, max_size: int) -> np.ndarray:
    """Average over f x f cells (lazily for dask) so the largest side is <= max_size."""
    data = data if isinstance(data, (np.ndarray, da.Array)) else np.asarray(data)
    ny, nx = data.shape
    f = max(1, math.ceil(max(ny, nx) / max_size))
    if f > 1:
        ty, tx = ny // f * f, nx // f * f
        d = da.asarray(data)[:ty, :tx]
        d = d.rechunk((max(f, d.chunksize[0] // f * f), max(f, d.chunksize[1] // f * f)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            d = da.coarsen(np.nanmean, d, {0: f, 1: f}).compute()
        return d
    return np.asarray(data.compute() if isinstance(data, da.Array) else data)


def _kind_of(arr: xr.DataArray) -> Kind:
    name = str(arr.name or "").lower()
    units = str(arr.attrs.get("units", "")).lower()
    if np.issubdtype(arr.dtype, np.complexfloating):
        return "wrapped"
    if np.issubdtype(arr.dtype, np.integer) or "conncomp" in name:
        return "labels"
    if "coherence" in name or "phsig" in name or name.endswith("cor"):
        return "coherence"
    if "displacement" in name or units in ("m", "mm", "cm"):
        return "displacement"
    if "unw" in name or units == "rad":
        return "unwrapped"
    return "scalar"


def _hsv_wrapped(z: np.ndarray, alpha_nodata: bool = True) -> np.ndarray:
    from matplotlib.colors import hsv_to_rgb

    amp = np.abs(z)
    valid = np.isfinite(z) & (amp > 0)
    phase = np.angle(np.where(valid, z, 0))
    ref = np.nanpercentile(amp[valid], 98) if valid.any() else 1.0
    val = np.clip(np.sqrt(np.where(valid, amp, 0) / (ref or 1.0)), 0, 1)
    hsv = np.stack([(phase + np.pi) / (2 * np.pi) % 1.0, np.ones_like(val), val], -1)
    rgba = np.concatenate([hsv_to_rgb(hsv), valid[..., None].astype(float)], -1)
    if not alpha_nodata:
        rgba[..., 3] = 1.0
    return rgba


def _style(arr: xr.DataArray, kind: Kind, values: np.ndarray):
    units = arr.attrs.get("units")
    finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
    if kind == "coherence":
        return dict(cmap="gray", vmin=0.0, vmax=1.0, label="coherence (0..1)")
    if kind == "labels":
        n = int(values.max()) if values.size else 1
        return dict(cmap="tab20", vmin=0.5, vmax=max(n, 1) + 0.5, label="connected component (label)")
    lo, hi = (np.percentile(finite, [1, 99]) if finite.size else (0.0, 1.0))
    if kind == "unwrapped":
        return dict(cmap="RdBu_r", vmin=lo, vmax=hi, label=f"unwrapped phase ({units or 'rad'})")
    if kind == "displacement":
        m = max(abs(lo), abs(hi)) or 1.0
        return dict(cmap="RdBu_r", vmin=-m, vmax=m, label=f"{arr.attrs.get('long_name') or arr.name or 'displacement'} "
                                                          f"({units or 'm'})")
    label = str(arr.attrs.get("long_name") or arr.name or "value")
    return dict(cmap="viridis", vmin=lo, vmax=hi, label=f"{label} ({units})" if units else label)


def render_rgba(arr: xr.DataArray, *, kind: Kind | None = None, max_size: int = 2048):
    """Reduce lazily and colour an array: returns (rgba float (ny, nx, 4), reduced values, style).

    Nodata (NaN, zero complex; label 0 is kept) becomes transparent (alpha 0).
    """
    import matplotlib

    kind = kind or _kind_of(arr)
    if kind == "labels":  # mean of labels is meaningless: take every f-th pixel
        ny, nx = arr.shape
        f = max(1, math.ceil(max(ny, nx) / max_size))
        vals = np.asarray(arr.data[::f, ::f].compute() if isinstance(arr.data, da.Array) else arr.data[::f, ::f])
    else:
        vals = _reduce(arr.data, max_size)
    if kind == "wrapped":
        return _hsv_wrapped(vals), vals, dict(label="wrapped phase (rad)")
    style = _style(arr, kind, vals)
    cmap = matplotlib.colormaps[style["cmap"]]
    norm = matplotlib.colors.Normalize(style["vmin"], style["vmax"], clip=True)
    v = vals.astype(np.float64)
    rgba = cmap(norm(np.nan_to_num(v, nan=style["vmin"])))
    rgba[..., 3] = (np.isfinite(v) & ((v != 0) if kind == "labels" else True)).astype(float)
    return rgba, vals, style


def _cyclic_colorbar(fig, ax):
    """Colour bar for the wrapped-phase hue (-pi..pi), full brightness."""
    import matplotlib
    from matplotlib.colors import hsv_to_rgb

    h = np.linspace(0, 1, 256)
    cmap = matplotlib.colors.ListedColormap(hsv_to_rgb(np.stack([h, np.ones_like(h), np.ones_like(h)], -1)))
    sm = matplotlib.cm.ScalarMappable(norm=matplotlib.colors.Normalize(-np.pi, np.pi), cmap=cmap)
    cb = fig.colorbar(sm, ax=ax, shrink=0.8)
    cb.set_ticks([-np.pi, -np.pi / 2, 0, np.pi / 2, np.pi])
    cb.set_ticklabels(["-π", "-π/2", "0", "π/2", "π"])
    cb.set_label("wrapped phase (rad); brightness = amplitude")
    return cb


def quicklook_png(
    arr: xr.DataArray,
    path: str | os.PathLike,
    *,
    kind: Kind | None = None,
    title: str | None = None,
    max_size: int = 2048,
    dpi: int = 100,
) -> Path:
    """PNG quicklook with axes and a colour bar (units in its label). Uses the Agg backend."""
    from matplotlib.figure import Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    kind = kind or _kind_of(arr)
    rgba, vals, style = render_rgba(arr, kind=kind, max_size=max_size)
    ny, nx = vals.shape
    extent = None
    try:
        g = _georef(arr)
        left, bottom, right, top = g.rio.bounds(recalc=True)
        extent = (left, right, bottom, top)
        xl, yl = ("longitude (deg)", "latitude (deg)") if g.rio.crs.is_geographic else ("easting (m)", "northing (m)")
    except (ValueError, TypeError):
        xl, yl = (str(arr.dims[1]) if arr.ndim == 2 else "x"), (str(arr.dims[0]) if arr.ndim == 2 else "y")
    w = 8.0
    h = max(3.0, min(12.0, w * ny / max(nx, 1) * 0.85 + 1.0))
    fig = Figure(figsize=(w, h), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(111)
    ax.set_facecolor("0.85")
    if kind == "wrapped":
        ax.imshow(rgba, extent=extent, interpolation="nearest", aspect="auto" if extent is None else "equal")
        _cyclic_colorbar(fig, ax)
    else:
        v = np.ma.masked_invalid(vals.astype(np.float64))
        if kind == "labels":
            v = np.ma.masked_equal(v, 0)
        im = ax.imshow(v, cmap=style["cmap"], vmin=style["vmin"], vmax=style["vmax"], extent=extent,
                       interpolation="nearest", aspect="auto" if extent is None else "equal")
        cb = fig.colorbar(im, ax=ax, shrink=0.8)
        cb.set_label(style["label"])
    ax.set_xlabel(xl)
    ax.set_ylabel(yl)
    ax.set_title(title or str(arr.name or ""))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


# ---------------------------------------------------------------------------------------
# KML / KMZ
# ---------------------------------------------------------------------------------------
def latlon_box(arr: xr.DataArray) -> dict[str, float]:
    """North/south/east/west (deg) of the grid's outer pixel edges, in EPSG:4326."""
    from rasterio.warp import transform_bounds

    g = _georef(arr)
    left, bottom, right, top = g.rio.bounds(recalc=True)
    if not g.rio.crs.is_geographic or g.rio.crs.to_epsg() != 4326:
        left, bottom, right, top = transform_bounds(g.rio.crs, "EPSG:4326", left, bottom, right, top, densify_pts=21)
    return {"north": top, "south": bottom, "east": right, "west": left}


def _overlay_rgba(arr: xr.DataArray, kind, max_size):
    """RGBA overlay on an EPSG:4326 grid (reprojected, nearest, when the CRS is projected)."""
    from rasterio.transform import from_origin
    from rasterio.warp import Resampling, calculate_default_transform, reproject, transform_bounds

    g = _georef(arr)
    rgba, vals, style = render_rgba(g, kind=kind, max_size=max_size)
    crs = g.rio.crs
    if crs.to_epsg() == 4326:
        return rgba, latlon_box(g), style
    ny, nx = vals.shape
    left, bottom, right, top = g.rio.bounds(recalc=True)
    from rasterio.transform import from_bounds

    src_t = from_bounds(left, bottom, right, top, nx, ny)
    t0, _, _ = calculate_default_transform(crs, "EPSG:4326", nx, ny, left, bottom, right, top)
    res = abs(t0.a)  # square pixels near the source resolution; the grid covers the whole source
    west, south, east, north = transform_bounds(crs, "EPSG:4326", left, bottom, right, top, densify_pts=21)
    w, h = max(1, math.ceil((east - west) / res)), max(1, math.ceil((north - south) / res))
    dst_t = from_origin(west, north, res, res)
    out = np.zeros((4, h, w), np.float32)
    for b in range(4):
        reproject(rgba[..., b].astype(np.float32), out[b], src_transform=src_t, src_crs=crs, dst_transform=dst_t,
                  dst_crs="EPSG:4326", resampling=Resampling.nearest, src_nodata=None, dst_nodata=0)
    box = {"west": dst_t.c, "north": dst_t.f, "east": dst_t.c + w * dst_t.a, "south": dst_t.f + h * dst_t.e}
    return np.moveaxis(out, 0, -1), box, style


def _kml_text(name: str, image_href: str, box: dict[str, float], legend_href: str | None) -> str:
    legend = ""
    if legend_href:
        legend = f"""
    <ScreenOverlay>
      <name>legend</name>
      <Icon><href>{escape(legend_href)}</href></Icon>
      <overlayXY x="0" y="0" xunits="fraction" yunits="fraction"/>
      <screenXY x="0.02" y="0.05" xunits="fraction" yunits="fraction"/>
      <size x="0" y="0" xunits="pixels" yunits="pixels"/>
    </ScreenOverlay>"""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2">
  <Document>
    <name>{escape(name)}</name>
    <GroundOverlay>
      <name>{escape(name)}</name>
      <Icon><href>{escape(image_href)}</href></Icon>
      <LatLonBox>
        <north>{box['north']:.10f}</north>
        <south>{box['south']:.10f}</south>
        <east>{box['east']:.10f}</east>
        <west>{box['west']:.10f}</west>
      </LatLonBox>
    </GroundOverlay>{legend}
  </Document>
</kml>
"""


def _legend_png(path: Path, style: dict, kind) -> None:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1.4, 3.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.1, 0.05, 0.2, 0.9))
    cmap: matplotlib.colors.Colormap
    if kind == "wrapped":
        h = np.linspace(0, 1, 256)
        from matplotlib.colors import hsv_to_rgb

        cmap = matplotlib.colors.ListedColormap(hsv_to_rgb(np.stack([h, np.ones_like(h), np.ones_like(h)], -1)))
        norm = matplotlib.colors.Normalize(-np.pi, np.pi)
    else:
        cmap = matplotlib.colormaps[style["cmap"]]
        norm = matplotlib.colors.Normalize(style["vmin"], style["vmax"])
    cb = matplotlib.colorbar.ColorbarBase(ax, cmap=cmap, norm=norm)
    cb.set_label(style["label"])
    fig.savefig(path, dpi=100, facecolor="white")


def write_kml(arr: xr.DataArray, path: str | os.PathLike, *, kind: Kind | None = None, max_size: int = 2048,
              legend: bool = True) -> list[Path]:
    """KML GroundOverlay next to its PNG (``<stem>.png``; legend ``<stem>_legend.png``)."""
    import matplotlib.image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    kind = kind or _kind_of(arr)
    rgba, box, style = _overlay_rgba(arr, kind, max_size)
    png = path.with_suffix(".png")
    matplotlib.image.imsave(png, np.clip(rgba, 0, 1))
    files = [path, png]
    leg = None
    if legend:
        leg = path.with_name(path.stem + "_legend.png")
        _legend_png(leg, style, kind)
        files.append(leg)
    path.write_text(_kml_text(str(arr.name or path.stem), png.name, box, leg.name if leg else None))
    return files


def write_kmz(arr: xr.DataArray, path: str | os.PathLike, *, kind: Kind | None = None, max_size: int = 2048,
              legend: bool = True) -> Path:
    """KMZ (zip) holding ``doc.kml`` (GroundOverlay, LatLonBox from the grid bounds) and its PNG(s)."""
    import io

    import matplotlib.image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    kind = kind or _kind_of(arr)
    rgba, box, style = _overlay_rgba(arr, kind, max_size)
    stem = path.stem
    buf = io.BytesIO()
    matplotlib.image.imsave(buf, np.clip(rgba, 0, 1), format="png")
    leg_name = f"{stem}_legend.png" if legend else None
    tmp = path.with_name(f".{path.name}.partial")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("doc.kml", _kml_text(str(arr.name or stem), f"{stem}.png", box, leg_name))
        z.writestr(f"{stem}.png", buf.getvalue())
        if legend:
            lb = Path(str(tmp) + ".legend.png")
            _legend_png(lb, style, kind)
            z.write(lb, leg_name)
            lb.unlink()
    os.replace(tmp, path)
    return path


TOKEN_TAG = "DASKINSAR_STEP_TOKEN"


def stored_file_token(path: str | os.PathLike) -> str | None:
    """The step token in a GeoTIFF's tags (None when the file is missing, unreadable or has none); ``path``
    a local path or an fsspec URL (only the header is read)."""
    import fsspec
    import rasterio

    try:
        if "://" in str(path):
            fs, p = fsspec.core.url_to_fs(str(path))
            if not fs.isfile(p):
                return None
            with fs.open(p, "rb") as fh:  # tifffile seeks to the first IFD and its GDAL metadata: a few requests
                return _gdal_metadata(fh).get(TOKEN_TAG)
        if not os.path.isfile(path):
            return None
        with rasterio.open(path) as src:
            return src.tags().get(TOKEN_TAG)
    except Exception:
        return None


def _gdal_metadata(fh) -> dict[str, str]:
    """The dataset-level items of a GeoTIFF's GDAL_METADATA tag (42112), read from an open binary file."""
    import tifffile
    from defusedxml import ElementTree

    with tifffile.TiffFile(fh) as tf:
        tag = tf.pages.first.tags.get(42112)
        if tag is None:
            return {}
        root = ElementTree.fromstring(str(tag.value))
    return {str(i.get("name")): i.text or "" for i in root.iter("Item") if i.get("sample") is None}


#: GeoTIFF metadata tag -> (key of :func:`daskinsar.io.run_metadata.pair_metadata`, what it is)
METADATA_TAGS: dict[str, tuple[str, str]] = {
    "SENSOR": ("sensor", "sensor (reader name)"),
    "PLATFORM": ("platform", "platform (satellite or aircraft)"),
    "WAVELENGTH_M": ("wavelength_m", "radar wavelength (m)"),
    "LOOK_SIDE": ("look_side", "look side of the flight direction (left/right)"),
    "POLARIZATION": ("polarization", "polarisation"),
    "REFERENCE_DATE": ("reference_date", "reference acquisition date (UTC)"),
    "REFERENCE_START_UTC": ("reference_start_utc", "reference first line time (UTC)"),
    "REFERENCE_STOP_UTC": ("reference_stop_utc", "reference last line time (UTC)"),
    "SECONDARY_DATE": ("secondary_date", "secondary acquisition date (UTC)"),
    "SECONDARY_START_UTC": ("secondary_start_utc", "secondary first line time (UTC)"),
    "SECONDARY_STOP_UTC": ("secondary_stop_utc", "secondary last line time (UTC)"),
    "ORBIT_DIRECTION": ("orbit_direction", "ascending or descending at the scene centre"),
    "HEADING_DEG": ("platform_heading_deg", "platform flight direction at the scene centre, clockwise from north "
                                            "(deg)"),
    "INCIDENCE_CENTRE_DEG": ("incidence_centre_deg", "LOS incidence at the scene centre (deg)"),
    "LOS_AZIMUTH_CENTRE_DEG": ("los_azimuth_centre_deg", "azimuth of the line of sight from the target towards the "
                                                         "platform, from north, anticlockwise, at the scene centre "
                                                         "(deg; ISCE los.rdr band 2)"),
    "CENTRE_LON_DEG": ("centre_lon_deg", "scene centre longitude (deg)"),
    "CENTRE_LAT_DEG": ("centre_lat_deg", "scene centre latitude (deg)"),
    "PERPENDICULAR_BASELINE_M": ("perpendicular_baseline_m", "perpendicular baseline at the scene centre (m)"),
    "PARALLEL_BASELINE_M": ("parallel_baseline_m", "parallel baseline at the scene centre (m)"),
    "PROCESSING_VERSION": ("daskinsar_version", "daskinsar version that made the file"),
}


def metadata_tags(meta: dict, refpoint: dict | None) -> dict[str, str]:
    """GeoTIFF metadata tags of a run (:data:`METADATA_TAGS`) and its reference point: the pixel of highest
    coherence inside a connected component (``REFERENCE_POINT_X``/``_Y`` in the CRS, ``_ROW``/``_COLUMN``,
    ``REFERENCE_POINT_UNW_RAD``: the unwrapped phase there; the phase is *not* shifted to zero there)."""
    tags = {"PROCESSOR": "daskinsar",
            "DISPLACEMENT_CONVENTION": "LOS displacement positive towards the platform = -wavelength/(4 pi) * "
                                       "unwrapped phase; relative (unknown constant)"}
    for tag, (key, _) in METADATA_TAGS.items():
        if meta.get(key) is not None:
            v = meta[key]
            tags[tag] = repr(float(v)) if isinstance(v, float) else str(v)
    if refpoint:
        for k in ("x", "y", "row", "column", "coherence", "unw_rad"):
            if k in refpoint:
                tags[f"REFERENCE_POINT_{k.upper()}"] = repr(refpoint[k]) if isinstance(refpoint[k], float) \
                    else str(refpoint[k])
        tags["REFERENCE_POINT"] = "pixel of highest coherence inside a connected component; the unwrapped phase is " \
                                  "not shifted to zero there (subtract REFERENCE_POINT_UNW_RAD)"
    else:
        tags["REFERENCE_POINT"] = "none: the unwrapped phase is relative (unknown constant)"
    return tags


def geotiff_variables(geo: xr.Dataset) -> xr.Dataset:
    """The 2-D variables of a geocoded Dataset as GIS tools read them: complex interferograms as their
    phase (``<name>_phase``, rad), everything else as is; the CRS kept; units and names from the one
    product table (:func:`daskinsar.products.product_info`)."""
    import rioxarray  # noqa: F401  (registers .rio)

    from ..products import product_info

    out = xr.Dataset(coords={"y": geo["y"], "x": geo["x"]})
    for name, arr in geo.data_vars.items():
        if name == "spatial_ref" or arr.ndim != 2:
            continue
        if np.issubdtype(arr.dtype, np.complexfloating):
            name, arr = f"{name}_phase", xr.apply_ufunc(np.angle, arr, dask="allowed").astype(np.float32)
        info = product_info("geocode", str(name))
        attrs = {k: v for k, v in arr.attrs.items() if k in ("units", "long_name", "standard_name", "comment")}
        if info is not None:
            attrs.update(units=info.units, long_name=info.long_name, comment=info.description)
            if info.standard_name:
                attrs["standard_name"] = info.standard_name
        out[str(name)] = arr.assign_attrs(attrs)
    return out.rio.write_crs(geo.rio.crs if geo.rio.crs is not None else geo.attrs["crs"])


def export_geotiffs(ds: xr.Dataset, out_dir: str | os.PathLike, *, cog: bool = True,
                    names: list[str] | None = None, tags: dict[str, str] | None = None) -> list[Path]:
    """Write each geocoded 2-D variable of ``ds`` to ``<out_dir>/<name>.tif`` (COG by default), each
    file written under a temporary name and moved into place when complete.

    Integer (label) variables get ``nodata=0`` (SNAPHU's "no component"); floats NaN. ``tags``: file
    metadata (e.g. the step token that makes a rerun verify the files).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for name in names or [str(v) for v in ds.data_vars]:
        arr = ds[name]
        if "spatial_ref" in ds.coords and "spatial_ref" not in arr.coords:
            arr = arr.assign_coords(spatial_ref=ds.coords["spatial_ref"])
        if arr.ndim != 2:
            continue
        nodata = 0 if np.issubdtype(arr.dtype, np.integer) else None
        writer = write_cog if cog else write_geotiff
        files.append(writer(arr, out_dir / f"{name}.tif", nodata=nodata, tags=tags))
    return files
