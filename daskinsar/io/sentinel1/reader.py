"""The Sentinel-1 reader (``SENTINEL1``): SAFE folder / zip / manifest.safe -> Scene or TopsScene.

- IW SLC: a :class:`~daskinsar.bursts.TopsScene`, one Scene per burst on its own grid
  (never one stripmap Scene: the TIFF's lines are not on one time axis).
- Stripmap SLC (S1..S6) and GRD: one :class:`~daskinsar.scene.Scene`.
- EW and WV (wave mode): refused, not supported yet.
"""

from __future__ import annotations

import os
import posixpath
import re
import zipfile
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import xarray as xr

from ...bursts import TopsBurstParameters, TopsScene
from ...errors import ConfigError, InputFileError
from ...geometry.orbit import Orbit, parse_utc, seconds_between
from ...scene import Scene, radar_grid_coords
from ..readers import ReaderInfo
from ._xml import EXPECTED_SAFE, PARSE_ERRORS
from .annotation import S1Swath, grd_slant_range
from .container import SafeProduct, open_safe
from .measurement import measurement_array
from .orbit_file import orbit_covering

__all__ = ["READER", "read_sentinel1", "tops_metadata", "sniff_sentinel1", "measurement_raster", "MeasurementRaster"]


def read_sentinel1(path: str, *, swath: str | Sequence[str] | None = None, polarization: str | None = None,
                   bursts: Any = None, bbox: Any = None, orbit_file: str | None = None,
                   chunks: tuple[int, int] | None = None) -> Scene | TopsScene:
    """Read a Sentinel-1 SAFE product lazily.

    Parameters
    ----------
    swath : subswath(s) of an IW product ("IW1", "IW1,IW3" or a list; default all), or the
        swath of a stripmap/GRD product.
    polarization : e.g. "VV" (default: the co-polarisation, VV or HH).
    bursts : IW only: the bursts to keep, by ESA burst ID (``372326``, all subswaths),
        ID and subswath (``372326_IW3``) or key (``IW3-b0``: subswath and annotation index);
        a comma-separated string or a list.
    bbox : IW only: (west, south, east, north) in deg (or "w,s,e,n"): keep the bursts whose
        footprint (ESA's geolocation grid, valid lines, full width) intersects it.
    orbit_file : a precise / restituted orbit file (``.EOF``) replacing the annotation orbit;
        it must cover the scene.
    chunks : (lines, samples) of the dask chunks (default 256 lines, whole rows); IW chunks
        never cross a burst.

    IW SLC products come back as a :class:`~daskinsar.bursts.TopsScene` (one Scene per
    burst, variable ``slc`` complex64); stripmap SLC as a Scene with ``slc``; GRD as a
    Scene with ``amplitude`` (float32 DN) on the ground-range grid, whose ``slant_range``
    comes from the ground-to-slant polynomial at mid-swath time (``ground_range`` added).
    """
    try:
        return _read(str(path), swath=swath, polarization=polarization, bursts=bursts, bbox=bbox,
                     orbit_file=orbit_file, chunks=chunks)
    except (InputFileError, ConfigError):
        raise
    except PARSE_ERRORS as exc:  # includes pydantic's ValidationError (a ValueError)
        raise InputFileError(str(path), EXPECTED_SAFE, f"invalid content ({type(exc).__name__}: {exc})") from None


def _read(path, *, swath, polarization, bursts, bbox, orbit_file, chunks) -> Scene | TopsScene:
    prod = open_safe(path)
    swaths = _names(swath)
    first = prod.swath(swaths[0] if swaths else None, polarization)
    mode = first.mode.upper()
    if mode == "EW":
        raise InputFileError(prod.path, "a Sentinel-1 IW, stripmap (S1..S6) or GRD product",
                             "an EW (extra wide swath) product: not supported yet")
    if mode == "WV":
        raise InputFileError(prod.path, "a Sentinel-1 IW, stripmap (S1..S6) or GRD product",
                             "a WV (wave mode) product: not supported yet")
    if mode == "IW" and first.is_slc:
        if not first.bursts:
            raise InputFileError(first.annotation, "an IW SLC annotation with a burst list", "no bursts")
        return _read_tops(prod, swaths, first.polarization, bursts, bbox, orbit_file, chunks, pixels=True)
    for opt, val in (("bursts", bursts), ("bbox", bbox)):
        if val is not None:
            raise ConfigError(f"{path}: reader option {opt!r} applies to IW SLC products only (this is a "
                              f"{first.mode} {first.product_type})")
    if len(swaths) > 1:
        raise ConfigError(f"{path}: a {first.mode} {first.product_type} product reads one swath, got {swaths}")
    return _read_single(prod, first, orbit_file, chunks)


def _names(swath) -> list[str]:
    if swath is None:
        return []
    items = swath.split(",") if isinstance(swath, str) else list(swath)
    return [str(s).strip().upper() for s in items if str(s).strip()]


def _orbit(orbit_file: str | None, default: Orbit, epoch: str, t_min: float, t_max: float) -> Orbit:
    return default if orbit_file is None else orbit_covering(orbit_file, epoch, t_min, t_max)


def _read_single(prod: SafeProduct, sw: S1Swath, orbit_file: str | None, chunks) -> Scene:
    if sw.measurement is None:
        raise InputFileError(prod.path, f"a measurement TIFF for {sw.swath}/{sw.polarization}", "none in measurement/")
    arr = measurement_array(prod.source, sw.measurement, chunks=chunks, expected_shape=(sw.n_lines, sw.n_samples))
    meta = sw.metadata(source_files=[prod.source.display(sw.annotation), prod.source.display(sw.measurement)])
    dt = sw.azimuth_time_interval_s
    if sw.is_slc:
        coords = radar_grid_coords(0.0, dt, sw.n_lines, sw.near_range_m, sw.range_spacing_m, sw.n_samples)
        ds = xr.Dataset({"slc": (("azimuth", "range"), arr)}, coords=coords)
    else:
        gr = sw.range_pixel_spacing_m * np.arange(sw.n_samples, dtype=np.float64)
        coords = radar_grid_coords(0.0, dt, sw.n_lines, 0.0, 1.0, sw.n_samples)
        if sw.srgr:
            # at mid-scene time only: the ground-to-slant relation drifts along azimuth
            # (use grd_slant_range(sw, t, ground_range) for other lines)
            coords["slant_range"] = ("range", grd_slant_range(sw, 0.5 * dt * (sw.n_lines - 1), gr))
        else:
            coords["slant_range"] = ("range", np.full(sw.n_samples, np.nan))
        coords["ground_range"] = ("range", gr)
        ds = xr.Dataset({"amplitude": (("azimuth", "range"), arr)}, coords=coords)
    ds.attrs["sensor"] = "SENTINEL1"
    orbit = _orbit(orbit_file, sw.orbit, sw.epoch, 0.0, dt * (sw.n_lines - 1))
    return Scene(ds, meta, orbit)


# ------------------------------------------------------------------------------------------ TOPS
def tops_metadata(path: str, *, swath: str | Sequence[str] | None = None, polarization: str | None = None,
                  bursts: Any = None, bbox: Any = None, orbit_file: str | None = None) -> TopsScene:
    """The bursts of an IW SLC product as :func:`read_sentinel1` gives them, but without pixels: each
    burst Scene has its grid coordinates, metadata, orbit and TOPS parameters and no data variable
    (for planning from the annotations alone: burst matching, baselines, footprints)."""
    try:
        prod = open_safe(path)
        first = prod.swath(_names(swath)[0] if _names(swath) else None, polarization)
        if not (first.mode.upper() == "IW" and first.is_tops):
            raise InputFileError(prod.path, "an IW SLC product with bursts", f"a {first.mode} {first.product_type}")
        return _read_tops(prod, _names(swath), first.polarization, bursts, bbox, orbit_file, None, pixels=False)
    except (InputFileError, ConfigError):
        raise
    except PARSE_ERRORS as exc:
        raise InputFileError(str(path), EXPECTED_SAFE, f"invalid content ({type(exc).__name__}: {exc})") from None


def _read_tops(prod: SafeProduct, swaths: list[str], pol: str, bursts, bbox, orbit_file, chunks, *,
               pixels: bool) -> TopsScene:
    # default: every subswath of the polarisation that has a measurement (burst extracts list the
    # other subswaths' annotations without bursts or TIFF)
    names = swaths or sorted({i["swath"] for i in prod.items if i["polarization"] == pol and i["measurement"]})
    sws = [prod.swath(s, pol) for s in names]
    for sw in sws:
        if sw.measurement is None and pixels:
            raise InputFileError(prod.path, f"a measurement TIFF for {sw.swath}/{sw.polarization}",
                                 "none in measurement/")
        if not sw.is_tops or sw.mode.upper() != "IW":
            raise InputFileError(sw.annotation, "an IW SLC annotation with a burst list", f"{sw.mode} without bursts")
    epoch = min((sw.epoch for sw in sws), key=parse_utc)
    rel = prod.manifest.get("relative_orbit_start")
    box = None if bbox is None else _bbox(bbox, prod.path)
    cand: list[tuple[S1Swath, int, TopsBurstParameters]] = []
    for sw in sws:
        for b in sw.bursts:
            cand.append((sw, b.index, sw.tops_parameters(b, relative_orbit=rel)))
    keep = _select(cand, bursts, box, prod.path)
    off = {sw.swath: seconds_between(epoch, sw.epoch) for sw in sws}
    t_all = [p.first_line_time_s + off[sw.swath] for sw, _, p in keep]
    t_end = [t + p.line_interval_s * (p.lines_per_burst - 1) for t, (_, _, p) in zip(t_all, keep)]
    eof = None if orbit_file is None else orbit_covering(orbit_file, epoch, min(t_all), max(t_end))
    scenes = []
    for sw, k, p in keep:
        orbit = eof if eof is not None else sw.orbit.shift_epoch(epoch)
        scenes.append(_burst_scene(prod, sw, k, p.shifted(off[sw.swath]).with_orbit(orbit), orbit, epoch, chunks,
                                   pixels))
    return TopsScene(scenes, {"source": prod.path, "mission": sws[0].mission, "mode": "IW", "polarization": pol,
                              "product_type": "SLC", "orbit_source": orbit_file or "annotation"})


def _burst_scene(prod: SafeProduct, sw: S1Swath, k: int, p: TopsBurstParameters, orbit: Orbit, epoch: str,
                 chunks, pixels: bool) -> Scene:
    b = sw.bursts[k]
    coords = radar_grid_coords(p.first_line_time_s, p.line_interval_s, b.n_lines, sw.near_range_m,
                               sw.range_spacing_m, sw.n_samples)
    coords["valid_first_sample"] = ("azimuth", np.asarray(b.first_valid_sample, np.int32))
    coords["valid_last_sample"] = ("azimuth", np.asarray(b.last_valid_sample, np.int32))
    ds = xr.Dataset(coords=coords)
    files = [prod.source.display(sw.annotation)]
    if pixels:
        assert sw.measurement is not None  # checked by the caller
        ds["slc"] = (("azimuth", "range"), measurement_array(
            prod.source, sw.measurement, chunks=chunks, expected_shape=(sw.n_lines, sw.n_samples),
            rows=(b.first_line, b.first_line + b.n_lines), name=f"read-sentinel1-tiff-{p.key}"))
        files.append(prod.source.display(sw.measurement))
    ds.attrs["sensor"] = "SENTINEL1"
    meta = sw.metadata(source_files=files, epoch=epoch)
    meta = meta.model_copy(update={"bursts": None, "extra": {**meta.extra, "burst": p.key,
                                                             "tops": p.model_dump(mode="json")}})
    return Scene(ds, meta, orbit, {"source": prod.path})


_KEY = re.compile(r"^(IW\d|EW\d)-B(\d+)$")
_ID_SWATH = re.compile(r"^(?:T\d+_)?(\d+)_(IW\d|EW\d)$|^(IW\d|EW\d)_(\d+)$")


def _select(cand, bursts, box, path: str):
    keep = cand
    if bursts is not None:
        tokens = [str(t).strip().upper() for t in (bursts.split(",") if isinstance(bursts, str) else
                                                    (bursts if isinstance(bursts, (list, tuple)) else [bursts]))]
        chosen: list = []
        missing: list[str] = []
        for tok in filter(None, tokens):
            m_key, m_id = _KEY.match(tok), _ID_SWATH.match(tok)
            if m_key:
                hits = [c for c in cand if c[2].key.upper() == tok]
            elif m_id:
                bid, sw = (m_id.group(1), m_id.group(2)) if m_id.group(1) else (m_id.group(4), m_id.group(3))
                hits = [c for c in cand if c[2].burst_id == int(bid) and c[2].swath == sw]
            elif tok.isdigit():
                hits = [c for c in cand if c[2].burst_id == int(tok)]
            else:
                raise ConfigError(f"{path}: reader option bursts: {tok!r} is not a burst ID (372326), ID and "
                                  "subswath (372326_IW1) or key (IW1-b3)")
            if not hits:
                missing.append(tok)
            chosen.extend(h for h in hits if h not in chosen)
        if missing:
            have = ", ".join(f"{c[2].burst_id}_{c[2].swath} ({c[2].key})" for c in cand)
            raise InputFileError(path, f"bursts {', '.join(missing)}", f"only {have}")
        keep = [c for c in cand if c in chosen]
    if box is not None:
        inside = [c for c in keep if _intersects(c[0].burst_footprint(c[1]), box)]
        if not inside:
            fp = np.concatenate([c[0].burst_footprint(c[1]) for c in keep])
            raise InputFileError(path, f"bursts intersecting bbox (W, S, E, N) {box}",
                                 f"none: the bursts cover lon {fp[:, 0].min():.4f} .. {fp[:, 0].max():.4f}, "
                                 f"lat {fp[:, 1].min():.4f} .. {fp[:, 1].max():.4f}")
        keep = inside
    return keep


def _bbox(bbox, path: str) -> tuple[float, float, float, float]:
    try:
        vals = [float(v) for v in (bbox.split(",") if isinstance(bbox, str) else bbox)]
    except (TypeError, ValueError):
        vals = []
    if len(vals) != 4 or not all(np.isfinite(vals)):
        raise ConfigError(f"{path}: reader option bbox: expected (west, south, east, north) in deg, got {bbox!r}")
    w, s, e, n = vals
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise ConfigError(f"{path}: reader option bbox: expected west < east in -180..180 and south < north in "
                          f"-90..90 (deg), got {bbox!r}")
    return w, s, e, n


def _intersects(poly: np.ndarray, box: tuple[float, float, float, float]) -> bool:
    """Whether a (lon, lat) polygon and a (west, south, east, north) box intersect (deg; the polygon's
    longitudes are unwrapped around the box centre, so boxes near the antimeridian work)."""
    w, s, e, n = box
    c = 0.5 * (w + e)
    p = np.array(poly, dtype=np.float64)
    p[:, 0] = (p[:, 0] - c + 180.0) % 360.0 - 180.0 + c
    if np.any((p[:, 0] >= w) & (p[:, 0] <= e) & (p[:, 1] >= s) & (p[:, 1] <= n)):
        return True
    corners = np.array([[w, s], [e, s], [e, n], [w, n]])
    if any(_inside(q, p) for q in corners):
        return True
    edges_b = list(zip(corners, np.roll(corners, -1, axis=0)))
    for a, b in zip(p, np.roll(p, -1, axis=0)):
        if any(_segments_cross(a, b, q0, q1) for q0, q1 in edges_b):
            return True
    return False


def _inside(q, poly) -> bool:
    x, y = q
    xs, ys = poly[:, 0], poly[:, 1]
    x2, y2 = np.roll(xs, -1), np.roll(ys, -1)
    crossing = ((ys > y) != (y2 > y)) & (x < (x2 - xs) * (y - ys) / np.where(y2 != ys, y2 - ys, 1e-300) + xs)
    return bool(np.count_nonzero(crossing) % 2)


def _segments_cross(a, b, c, d) -> bool:
    def orient(p, q, r):
        return np.sign((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]))

    return orient(a, b, c) != orient(a, b, d) and orient(c, d, a) != orient(c, d, b)


# ------------------------------------------------------------------------------------------ raw raster
@dataclass
class MeasurementRaster:
    """A measurement TIFF as stored, bursts stacked (not a Scene: no geometry processing takes it).

    ``azimuth_time`` is the raster's *line clock*, line index x ``azimuthTimeInterval``
    since ``productFirstLineUtcTime``: the acquisition time of a line only for stripmap /
    GRD products and within the first burst of TOPS ones. For TOPS geometry use the
    per-burst grids of :func:`read_sentinel1`.
    """

    data: xr.Dataset
    swath: S1Swath

    @property
    def shape(self) -> tuple[int, int]:
        v = self.data[next(iter(self.data.data_vars))]
        return int(v.shape[0]), int(v.shape[1])

    @property
    def slant_range(self) -> np.ndarray:
        return self.swath.near_range_m + self.swath.range_spacing_m * np.arange(self.shape[1], dtype=np.float64)

    @property
    def azimuth_time(self) -> np.ndarray:
        return self.swath.azimuth_times()


def measurement_raster(path: str, *, swath: str | None = None, polarization: str | None = None,
                       chunks: tuple[int, int] | None = None) -> MeasurementRaster:
    """The measurement TIFF of one swath / polarisation as stored (lazy; ``slc`` or ``amplitude``)."""
    prod = open_safe(path)
    sw = prod.swath(swath, polarization)
    if sw.measurement is None:
        raise InputFileError(prod.path, f"a measurement TIFF for {sw.swath}/{sw.polarization}", "none in measurement/")
    arr = measurement_array(prod.source, sw.measurement, chunks=chunks, expected_shape=(sw.n_lines, sw.n_samples))
    return MeasurementRaster(xr.Dataset({"slc" if sw.is_slc else "amplitude": (("line", "sample"), arr)}), sw)


def sniff_sentinel1(path: str) -> bool:
    """SAFE folder, ``.SAFE.zip``/``.zip`` with a manifest.safe, or a manifest.safe file."""
    p = str(path)
    try:
        if os.path.basename(p).lower() == "manifest.safe":
            return os.path.isfile(p)
        if os.path.isdir(p):
            return os.path.isfile(os.path.join(p, "manifest.safe"))
        if os.path.isfile(p) and p.lower().endswith(".zip"):
            with zipfile.ZipFile(p) as zf:
                return any(posixpath.basename(n) == "manifest.safe" for n in zf.namelist())
    except Exception:
        return False
    return False


READER = ReaderInfo(
    name="SENTINEL1",
    description="Sentinel-1 SAFE, folder or zip: IW SLC as bursts on their own grids (TopsScene), stripmap SLC, "
                "GRD; annotation or EOF orbit; EW and WV refused",
    sniff=sniff_sentinel1,
    read=read_sentinel1,
    levels=("slc", "product"),
    tested_on_real_data=True,
    aliases=("S1", "SENTINEL-1", "SENTINEL1_SAFE", "SENTINEL1A", "SENTINEL1B"),
)
