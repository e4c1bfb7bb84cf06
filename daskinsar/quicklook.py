"""Quicklooks of products (mdx.py's job): PNG with a colour bar, KML/KMZ overlays, one HTML page.

Colour conventions: wrapped phase (rad, -pi..pi) is a cyclic hue over amplitude (HSV: hue = phase,
saturation = 1, value = amplitude scaled to its 98th percentile); unwrapped phase and displacement use
a diverging map with a colour bar whose label carries the units, or, with ``wrap=RATE`` (mdx's
``-wrap``), fringes: the value modulo RATE (in the product's units: rad for phase, m for displacement)
as a cyclic hue, one colour cycle per RATE; coherence is 0..1 greyscale; labels are categories.

``zoom`` (mdx's ``-z``) is the number of screen pixels per product pixel (2: each pixel drawn 2 x 2;
0.5: 2 x 2 pixels averaged into one), within ``max_size`` screen pixels per side. Arrays are reduced
lazily (``coarsen``) before anything is computed, so memory stays bounded by the quicklook's size.
"""

from __future__ import annotations

import base64
import html
import io
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

from .errors import DaskInsarError
from .io.export import _georef

__all__ = ["Kind", "QuicklookError", "kind_of", "render_rgba", "quicklook_png", "colorbar_png", "latlon_box",
           "write_kml", "write_kmz", "html_page"]

Kind = Literal["wrapped", "unwrapped", "displacement", "coherence", "labels", "scalar"]


class QuicklookError(DaskInsarError):
    """A quicklook asked of a product it does not apply to."""


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


def kind_of(arr: xr.DataArray) -> Kind:
    """How a product is drawn, from its dtype, name and units."""
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


def _fringes(values: np.ndarray, rate: float) -> np.ndarray:
    """RGBA of real values modulo ``rate``: a cyclic hue, one cycle per ``rate`` (NaN transparent)."""
    from matplotlib.colors import hsv_to_rgb

    v = values.astype(np.float64)
    valid = np.isfinite(v)
    hue = np.mod(np.where(valid, v, 0.0), rate) / rate
    rgb = hsv_to_rgb(np.stack([hue, np.ones_like(hue), np.ones_like(hue)], -1))
    return np.concatenate([rgb, valid[..., None].astype(float)], -1)


def _check_wrap(arr: xr.DataArray, kind: Kind, wrap: float | None) -> None:
    if wrap is None:
        return
    if kind not in ("unwrapped", "displacement"):
        raise QuicklookError(f"--wrap draws fringes of unwrapped phase (rad) or displacement (m); "
                             f"{arr.name or 'this product'} is drawn as {kind}")
    if not (np.isfinite(wrap) and wrap > 0):
        raise QuicklookError(f"--wrap needs a positive rate (one colour cycle per RATE), got {wrap!r}")


def render_rgba(arr: xr.DataArray, *, kind: Kind | None = None, max_size: int = 2048, wrap: float | None = None):
    """Reduce lazily and colour an array: returns (rgba float (ny, nx, 4), reduced values, style).

    Nodata (NaN, zero complex; label 0 is kept) becomes transparent (alpha 0). ``wrap``: fringes, one
    colour cycle per ``wrap`` in the product's units (unwrapped phase or displacement only).
    """
    import matplotlib

    kind = kind or kind_of(arr)
    _check_wrap(arr, kind, wrap)
    if kind == "labels":  # mean of labels is meaningless: take every f-th pixel
        ny, nx = arr.shape
        f = max(1, math.ceil(max(ny, nx) / max_size))
        vals = np.asarray(arr.data[::f, ::f].compute() if isinstance(arr.data, da.Array) else arr.data[::f, ::f])
    else:
        vals = _reduce(arr.data, max_size)
    if kind == "wrapped":
        return _hsv_wrapped(vals), vals, dict(label="wrapped phase (rad)", cyclic=(-np.pi, np.pi))
    if wrap is not None:
        units = arr.attrs.get("units") or ("rad" if kind == "unwrapped" else "m")
        what = "unwrapped phase" if kind == "unwrapped" else str(arr.attrs.get("long_name") or "displacement")
        return _fringes(vals, wrap), vals, dict(label=f"{what} modulo {wrap:g} {units}", cyclic=(0.0, wrap))
    style = _style(arr, kind, vals)
    cmap = matplotlib.colormaps[style["cmap"]]
    norm = matplotlib.colors.Normalize(style["vmin"], style["vmax"], clip=True)
    v = vals.astype(np.float64)
    rgba = cmap(norm(np.nan_to_num(v, nan=style["vmin"])))
    rgba[..., 3] = (np.isfinite(v) & ((v != 0) if kind == "labels" else True)).astype(float)
    return rgba, vals, style


def _hue_cmap():
    import matplotlib
    from matplotlib.colors import hsv_to_rgb

    h = np.linspace(0, 1, 256)
    return matplotlib.colors.ListedColormap(hsv_to_rgb(np.stack([h, np.ones_like(h), np.ones_like(h)], -1)))


def _draw_colorbar(fig, mappable_or_ax, style: dict, *, cax=None, orientation: str = "vertical"):
    """A colour bar for ``style`` (a cyclic hue for wrapped phase and fringes, else the style's map)."""
    import matplotlib

    if "cyclic" in style:
        lo, hi = style["cyclic"]
        sm = matplotlib.cm.ScalarMappable(norm=matplotlib.colors.Normalize(lo, hi), cmap=_hue_cmap())
    else:
        sm = matplotlib.cm.ScalarMappable(norm=matplotlib.colors.Normalize(style["vmin"], style["vmax"]),
                                          cmap=matplotlib.colormaps[style["cmap"]])
    cb = (fig.colorbar(sm, cax=cax, orientation=orientation) if cax is not None
          else fig.colorbar(sm, ax=mappable_or_ax, shrink=0.8))
    if style.get("cyclic") == (-np.pi, np.pi):
        cb.set_ticks([-np.pi, -np.pi / 2, 0, np.pi / 2, np.pi])
        cb.set_ticklabels(["-π", "-π/2", "0", "π/2", "π"])
        cb.set_label("wrapped phase (rad); brightness = amplitude")
    else:
        cb.set_label(style["label"])
    return cb


def _display_size(shape: tuple[int, int], zoom: float, max_size: int) -> tuple[int, int]:
    """Screen pixels (rows, cols) of a product of ``shape`` at ``zoom``, at most ``max_size`` per side."""
    if not (np.isfinite(zoom) and zoom > 0):
        raise QuicklookError(f"--zoom needs a positive factor (screen pixels per product pixel), got {zoom!r}")
    ny, nx = shape
    s = min(zoom, max_size / max(ny, nx))
    return max(1, round(ny * s)), max(1, round(nx * s))


def quicklook_png(arr: xr.DataArray, path: str | os.PathLike, *, kind: Kind | None = None, title: str | None = None,
                  max_size: int = 2048, dpi: int = 100, wrap: float | None = None, zoom: float | None = None) -> Path:
    """PNG quicklook with axes and a colour bar (units in its label). Uses the Agg backend.

    ``zoom``: screen pixels per product pixel (the image area is then exactly that size, capped at
    ``max_size``); None: an 8-inch-wide figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    kind = kind or kind_of(arr)
    disp = _display_size((arr.shape[0], arr.shape[1]), zoom, max_size) if zoom is not None else None
    rgba, vals, style = render_rgba(arr, kind=kind, max_size=max(disp) if disp else max_size, wrap=wrap)
    ny, nx = vals.shape
    extent = None
    try:
        g = _georef(arr)
        left, bottom, right, top = g.rio.bounds(recalc=True)
        extent = (left, right, bottom, top)
        xl, yl = ("longitude (deg)", "latitude (deg)") if g.rio.crs.is_geographic else ("easting (m)", "northing (m)")
    except (ValueError, TypeError):
        xl, yl = (str(arr.dims[1]) if arr.ndim == 2 else "x"), (str(arr.dims[0]) if arr.ndim == 2 else "y")
    if disp is None:
        w = 8.0
        h = max(3.0, min(12.0, w * ny / max(nx, 1) * 0.85 + 1.0))
        fig = Figure(figsize=(w, h), dpi=dpi)
        ax = fig.add_subplot(111)
        cax = None
    else:  # the image area exactly disp pixels, margins for labels and the colour bar around it
        iy, ix = disp
        ml, mr, mb, mt, cbw = 90, 140, 60, 40, 20
        W, H = ix + ml + mr, iy + mb + mt
        fig = Figure(figsize=(W / dpi, H / dpi), dpi=dpi)
        ax = fig.add_axes((ml / W, mb / H, ix / W, iy / H))
        cax = fig.add_axes(((ml + ix + 15) / W, mb / H, cbw / W, iy / H))
    FigureCanvasAgg(fig)
    ax.set_facecolor("0.85")
    aspect: Literal["auto", "equal"] = "auto" if (extent is None or disp is not None) else "equal"
    if kind == "wrapped" or wrap is not None:
        ax.imshow(rgba, extent=extent, interpolation="nearest", aspect=aspect)
    else:
        v = np.ma.masked_invalid(vals.astype(np.float64))
        if kind == "labels":
            v = np.ma.masked_equal(v, 0)
        ax.imshow(v, cmap=style["cmap"], vmin=style["vmin"], vmax=style["vmax"], extent=extent,
                  interpolation="nearest", aspect=aspect)
    _draw_colorbar(fig, ax, style, cax=cax)
    ax.locator_params(axis="x", nbins=4)
    ax.set_xlabel(xl)
    ax.set_ylabel(yl)
    ax.set_title(title or str(arr.name or ""))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches=None if disp is not None else "tight")
    return path


def colorbar_png(style: dict, path_or_buffer, *, horizontal: bool = False) -> None:
    """The colour bar of a rendered product alone (KMZ legends, the HTML page)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.4, 1.1) if horizontal else (1.4, 3.2), dpi=100)
    FigureCanvasAgg(fig)
    cax = fig.add_axes((0.04, 0.62, 0.92, 0.28) if horizontal else (0.1, 0.05, 0.2, 0.9))
    _draw_colorbar(fig, None, style, cax=cax, orientation="horizontal" if horizontal else "vertical")
    fig.savefig(path_or_buffer, dpi=100, facecolor="white", format="png")


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


def _overlay_rgba(arr: xr.DataArray, kind, max_size, wrap: float | None = None):
    """RGBA overlay on an EPSG:4326 grid (reprojected, nearest, when the CRS is projected)."""
    from rasterio.transform import from_origin
    from rasterio.warp import Resampling, calculate_default_transform, reproject, transform_bounds

    g = _georef(arr)
    rgba, vals, style = render_rgba(g, kind=kind, max_size=max_size, wrap=wrap)
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


def write_kml(arr: xr.DataArray, path: str | os.PathLike, *, kind: Kind | None = None, max_size: int = 2048,
              legend: bool = True, wrap: float | None = None) -> list[Path]:
    """KML GroundOverlay next to its PNG (``<stem>.png``; legend ``<stem>_legend.png``)."""
    import matplotlib.image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    kind = kind or kind_of(arr)
    rgba, box, style = _overlay_rgba(arr, kind, max_size, wrap)
    png = path.with_suffix(".png")
    matplotlib.image.imsave(png, np.clip(rgba, 0, 1))
    files = [path, png]
    leg = None
    if legend:
        leg = path.with_name(path.stem + "_legend.png")
        colorbar_png(style, leg)
        files.append(leg)
    path.write_text(_kml_text(str(arr.name or path.stem), png.name, box, leg.name if leg else None))
    return files


def write_kmz(arr: xr.DataArray, path: str | os.PathLike, *, kind: Kind | None = None, max_size: int = 2048,
              legend: bool = True, wrap: float | None = None) -> Path:
    """KMZ (zip) holding ``doc.kml`` (GroundOverlay, LatLonBox from the grid bounds) and its PNG(s)."""
    import io

    import matplotlib.image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    kind = kind or kind_of(arr)
    rgba, box, style = _overlay_rgba(arr, kind, max_size, wrap)
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
            colorbar_png(style, lb)
            z.write(lb, leg_name)
            lb.unlink()
    os.replace(tmp, path)
    return path




def _png_data_uri(rgba: np.ndarray) -> str:
    import matplotlib.image

    buf = io.BytesIO()
    matplotlib.image.imsave(buf, np.clip(rgba, 0, 1), format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def html_page(products: list[tuple[str, xr.DataArray]], path: str | os.PathLike, *, title: str = "daskinsar",
              wrap: float | None = None, max_size: int = 1024) -> Path:
    """One self-contained HTML page (images inlined, no server, no script) with the products side by side,
    each with its colour bar, units and extent. ``wrap`` applies to the unwrapped/displacement products.

    Each product is a ``<figure class="product" data-product=NAME data-units=UNITS>`` holding the map
    (``img.map``) and its colour bar (``img.colorbar``, its label as ``alt``)."""
    cards = []
    for name, arr in products:
        kind = kind_of(arr)
        w = wrap if kind in ("unwrapped", "displacement") else None
        rgba, vals, style = render_rgba(arr, kind=kind, max_size=max_size, wrap=w)
        buf = io.BytesIO()
        colorbar_png(style, buf, horizontal=True)
        bar = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
        try:
            g = _georef(arr)
            left, bottom, right, top = g.rio.bounds(recalc=True)
            unit = "deg" if g.rio.crs.is_geographic else "m"
            extent = f"{g.rio.crs.to_string()}: x {left:.6g} .. {right:.6g}, y {bottom:.6g} .. {top:.6g} {unit}"
        except (ValueError, TypeError):
            extent = f"radar grid {arr.shape[0]} x {arr.shape[1]} ({', '.join(map(str, arr.dims))})"
        label = html.escape(style["label"], quote=True)
        cards.append(f"""<figure class="product" data-product="{html.escape(name, quote=True)}" \
data-units="{html.escape(str(arr.attrs.get('units', '')), quote=True)}">
<img class="map" alt="{html.escape(name, quote=True)}" src="{_png_data_uri(rgba)}">
<img class="colorbar" alt="{label}" src="{bar}">
<figcaption><b>{html.escape(name)}</b> &mdash; {html.escape(style['label'])}<br><small>{html.escape(extent)} \
({vals.shape[0]} x {vals.shape[1]} shown)</small></figcaption>
</figure>""")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 1em; background: #f4f4f4; }}
main {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 1em; }}
figure.product {{ margin: 0; padding: 0.6em; background: white; border: 1px solid #ccc; }}
img.map {{ width: 100%; image-rendering: pixelated; background: #d9d9d9; }}
img.colorbar {{ width: 100%; max-width: 400px; display: block; }}
</style></head>
<body><h1>{html.escape(title)}</h1><main>
{chr(10).join(cards)}
</main></body></html>
"""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
