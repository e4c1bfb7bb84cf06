"""Reader of a coregistered SLC pair exported by ESA SNAP as Zarr v2 (``.znap``) folders.

A SNAP "znap" product is a Zarr v2 group holding one array per band (``i_VV_<date>``,
``q_VV_<date>``: float32 in-phase and quadrature; optional full-resolution
``latitude_VV``, ``longitude_VV``, ``elevation_VV``, ``h2ph_VV_<date>``), tie-point grids
(``latitude``, ``longitude``, ``incident_angle``, ``slant_range_time``; attributes
``subsampling_x/y`` and ``offset_x/y`` in pixels) and SNAP's full metadata tree in
``SNAP/product_metadata.json`` (``Abstracted_Metadata``: timing, spacing, radar
frequency, orbit state vectors; ``Slave_Metadata`` in a secondary of a stack).

:func:`open_snap_pair` takes the folder that holds two such products of one stack
(already coregistered and debursted on the stack master's grid) and returns the
reference and secondary SLCs as lazy complex64 ``xarray.DataArray`` s plus a geometry
dataset. Conventions:

- dims ``(azimuth, range)``; ``azimuth_time`` in s since the grid's first line
  (``epoch`` attribute, ISO-8601 UTC), ``slant_range`` in m (one-way), both from
  ``Abstracted_Metadata`` (``first_line_time``, ``line_time_interval``,
  ``slant_range_to_first_pixel``, ``range_spacing``);
- SNAP times ``[days, seconds, microseconds]`` count from 2000-01-01T00:00:00 UTC;
- tie-point grids are interpolated bilinearly at integer pixel coordinates
  (``(x - offset_x) / subsampling_x``), which reproduces ``slant_range_to_first_pixel``
  from the ``slant_range_time`` grid to a few cm.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
import zarr

from ..errors import InputFileError
from ..geometry.ellipsoid import SPEED_OF_LIGHT
from ..geometry.orbit import Orbit, format_utc
from ..scene import RadarMetadata, Scene, radar_attrs
from ._files import describe, input_file, input_folder
from .validate import check_scene

__all__ = ["open_snap_pair", "read_snap_metadata", "snap_orbit", "open_snap_product"]

_MJD2000 = np.datetime64("2000-01-01T00:00:00", "ns")
_DATE_RE = re.compile(r"^i_(?P<pol>[A-Z]{2})_(?P<date>\d{2}[A-Za-z]{3}\d{4})$")


def _snap_utc(elems) -> np.datetime64:
    d, s, us = (int(v) for v in elems)
    return _MJD2000 + np.timedelta64(d, "D") + np.timedelta64(s, "s") + np.timedelta64(us, "us")


def _element(tree, name: str, path: Path):
    for e in tree:
        if e.get("name") == name:
            return e
    raise InputFileError(path, f"a SNAP metadata element {name!r}", "none")


def _attrs(elem) -> dict:
    out = {}
    for a in elem.get("attributes", []) or []:
        out[a["name"]] = a.get("data", {}).get("elems")
    return out


def read_snap_metadata(znap: str | Path) -> dict:
    """The parsed ``SNAP/product_metadata.json`` (a list of metadata elements)."""
    p = Path(znap) / "SNAP" / "product_metadata.json"
    input_file(p, "SNAP's product metadata (SNAP/product_metadata.json) of a .znap product")
    try:
        tree = json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        raise InputFileError(p, "SNAP product metadata in JSON", f"unreadable content ({describe(exc)})") from None
    if not isinstance(tree, list):
        raise InputFileError(p, "a JSON list of SNAP metadata elements", type(tree).__name__)
    return {"tree": tree, "path": p}


def _abstracted(znap: Path) -> tuple[dict, list, Path]:
    md = read_snap_metadata(znap)
    am = _element(md["tree"], "Abstracted_Metadata", md["path"])
    return _attrs(am), am.get("elements", []) or [], md["path"]


def _scalar(attrs: dict, key: str, path: Path) -> float:
    v: Any = attrs.get(key)
    if isinstance(v, list) and v:
        v = v[0]
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise InputFileError(path, f"a numeric Abstracted_Metadata attribute {key!r}", repr(v)) from None
    if not np.isfinite(x):
        raise InputFileError(path, f"a finite Abstracted_Metadata attribute {key!r}", repr(v))
    return x


def _first_line_time(attrs: dict, path: Path) -> np.datetime64:
    try:
        return _snap_utc(attrs["first_line_time"])
    except (KeyError, TypeError, ValueError, OverflowError):
        raise InputFileError(path, "an Abstracted_Metadata first_line_time [days, seconds, microseconds]",
                             repr(attrs.get("first_line_time"))) from None


def snap_orbit(znap: str | Path, epoch: str | None = None) -> Orbit:
    """The orbit state vectors of a .znap product (``Abstracted_Metadata/Orbit_State_Vectors``)."""
    attrs, elems, path = _abstracted(Path(znap))
    try:
        osv = next(e for e in elems if e.get("name") == "Orbit_State_Vectors")
    except StopIteration:
        raise InputFileError(path, "orbit state vectors (Abstracted_Metadata/Orbit_State_Vectors)", "none") from None
    times, pos, vel = [], [], []
    for sv in osv.get("elements", []) or []:
        a = _attrs(sv)
        try:
            times.append(_snap_utc(a["time"]))
            pos.append([float(a[k][0]) for k in ("x_pos", "y_pos", "z_pos")])
            vel.append([float(a[k][0]) for k in ("x_vel", "y_vel", "z_vel")])
        except (KeyError, TypeError, ValueError, IndexError, OverflowError):
            raise InputFileError(path, "orbit vectors with time, x/y/z_pos and x/y/z_vel",
                                 repr(sv.get("name"))) from None
    if len(times) < 2:
        raise InputFileError(path, "at least 2 orbit state vectors", str(len(times)))
    if epoch is None:
        epoch = format_utc(_first_line_time(attrs, path))
    ep = np.datetime64(epoch.replace("Z", ""), "ns")
    t = np.array([(ti - ep) / np.timedelta64(1, "ns") * 1e-9 for ti in times])
    try:
        return Orbit(epoch, t, np.array(pos), np.array(vel), source=str(path))
    except ValueError as exc:
        raise InputFileError(path, "valid orbit state vectors (Abstracted_Metadata/Orbit_State_Vectors)",
                             describe(exc)) from None


def _check_chunks(folder: Path) -> None:
    """The chunk files a band's ``.zarray`` declares, all present (a missing chunk would read as zeros) and,
    uncompressed, each of a whole chunk's size: checked from the files before zarr allocates anything."""
    expected = "a Zarr v2 array (.zarray) of a SNAP .znap product"
    input_file(folder / ".zarray", expected)
    try:
        za = json.loads((folder / ".zarray").read_text())
        shape, chunks = [int(n) for n in za["shape"]], [int(n) for n in za["chunks"]]
        itemsize = np.dtype(za["dtype"]).itemsize
        compressed = za.get("compressor") is not None or bool(za.get("filters"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputFileError(folder / ".zarray", expected, describe(exc)) from None
    if len(shape) != len(chunks) or min(shape + chunks, default=0) < 1:
        raise InputFileError(folder / ".zarray", "positive shape and chunks of one rank", f"{shape}, {chunks}")
    grid = [-(-n // c) for n, c in zip(shape, chunks)]
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")}
    if int(np.prod(grid, dtype=np.float64)) != len(names):
        raise InputFileError(folder, f"the {int(np.prod(grid, dtype=np.float64))} chunk files its .zarray declares "
                                     f"(shape {shape}, chunks {chunks})", f"{len(names)}")
    if not compressed:
        nbytes = int(np.prod(chunks)) * itemsize
        for n in sorted(names):
            if (folder / n).stat().st_size != nbytes:
                raise InputFileError(folder / n, f"an uncompressed chunk of {nbytes} bytes",
                                     f"{(folder / n).stat().st_size} bytes (truncated or damaged)")


class _Band:
    """A band read window by window; a damaged chunk is an :class:`InputFileError` naming the band."""

    def __init__(self, arr, path: Path):
        self.arr, self.path = arr, path
        self.shape, self.dtype, self.ndim = arr.shape, arr.dtype, arr.ndim

    def __getitem__(self, key):
        try:
            return np.asarray(self.arr[key])
        except Exception as exc:  # zarr / numcodecs raise several types for damaged chunks
            raise InputFileError(self.path, "readable chunks of a SNAP band", describe(exc)) from None


def _open_array(znap: Path, name: str):
    """A band of a product, every chunk of it present and of its size."""
    _check_chunks(znap / name)
    try:
        return zarr.open_array(store=str(znap / name), mode="r", zarr_format=2)
    except Exception as exc:  # zarr raises several types for missing/bad arrays
        raise InputFileError(znap / name, "a Zarr v2 array (.zarray) of a SNAP .znap product",
                             f"unreadable ({describe(exc)})") from None


def _band_names(znap: Path) -> tuple[str, str, str, str]:
    """(i band, q band, polarisation, date string like 19Mar2023) of a .znap product."""
    found = []
    for p in sorted(znap.iterdir()):
        m = _DATE_RE.match(p.name)
        if m and (znap / ("q" + p.name[1:])).is_dir():
            found.append((p.name, "q" + p.name[1:], m["pol"], m["date"]))
    if len(found) != 1:
        raise InputFileError(znap, "exactly one pair of i_<POL>_<ddMonYYYY> / q_<POL>_<ddMonYYYY> bands",
                             f"{len(found)} pairs")
    return found[0]


def _lazy(arr, chunks) -> da.Array:
    return da.from_array(_Band(arr, Path(str(arr.store_path.store.root))), chunks=chunks, asarray=True,
                         inline_array=True, meta=np.empty((0,) * arr.ndim, arr.dtype))


def _to_complex(i: np.ndarray, q: np.ndarray) -> np.ndarray:
    out = np.empty(i.shape, dtype=np.complex64)
    out.real = i
    out.imag = q
    return out


def open_snap_product(znap: str | Path, chunks=(2048, 2048)) -> tuple[xr.DataArray, dict]:
    """One .znap product: its SLC (lazy complex64 DataArray, dims ``(azimuth, range)``) and a dict
    of its raw pieces (``date`` as datetime64 day, polarisation, band arrays)."""
    znap = Path(znap)
    input_folder(znap, "a SNAP .znap folder (a Zarr v2 group with .zgroup)")
    input_file(znap / ".zgroup", "the .zgroup of a SNAP .znap folder (a Zarr v2 group)")
    iname, qname, pol, date = _band_names(znap)
    ia, qa = _open_array(znap, iname), _open_array(znap, qname)
    if ia.shape != qa.shape or len(ia.shape) != 2:
        raise InputFileError(znap, f"2-D {iname} and {qname} bands of the same shape", f"{ia.shape} and {qa.shape}")
    slc = da.map_blocks(_to_complex, _lazy(ia, chunks), _lazy(qa, chunks), dtype=np.complex64,
                        token=f"read-snap-{date}")
    day = np.datetime64(np.datetime64(f"{date[5:]}-{_month(date[2:5], znap):02d}-{date[:2]}", "D"))
    return xr.DataArray(slc, dims=("azimuth", "range"), name=f"slc_{date}",
                        attrs={"date": str(day), "polarization": pol, "source": str(znap)}), {
        "date": day, "pol": pol, "znap": znap, "shape": ia.shape}


def _month(mon: str, path: Path) -> int:
    names = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    try:
        return names.index(mon.lower()) + 1
    except ValueError:
        raise InputFileError(path, "a band date like 19Mar2023", mon) from None


def _tie_point(znap: Path, name: str, shape: tuple[int, int]) -> np.ndarray | None:
    """Bilinear interpolation of a SNAP tie-point grid at integer pixel coordinates."""
    if not (znap / name).is_dir():
        return None
    arr = _open_array(znap, name)
    a = np.asarray(arr[:], dtype=np.float64)
    at = arr.attrs
    try:
        sx, sy = float(at["subsampling_x"]), float(at["subsampling_y"])
        ox, oy = float(at.get("offset_x", 0.0)), float(at.get("offset_y", 0.0))
    except (KeyError, TypeError, ValueError):
        raise InputFileError(znap / name, "tie-point grid attributes subsampling_x/y, offset_x/y", "missing") from None
    if not (np.isfinite([sx, sy, ox, oy]).all() and sx > 0 and sy > 0 and a.ndim == 2 and min(a.shape) >= 2):
        raise InputFileError(znap / name, "a 2-D tie-point grid of at least 2 x 2 with positive subsampling_x/y and "
                                          "finite offsets", f"shape {a.shape}, subsampling {sx}, {sy}, offsets {ox}, {oy}")
    if not np.all(np.isfinite(a)):
        raise InputFileError(znap / name, "finite tie-point values", f"{int(np.count_nonzero(~np.isfinite(a)))} "
                                                                      "non-finite")
    fy = (np.arange(shape[0]) - oy) / sy
    fx = (np.arange(shape[1]) - ox) / sx

    def lin(f, n):
        i0 = np.clip(np.floor(f).astype(int), 0, max(n - 2, 0))
        return i0, np.minimum(i0 + 1, n - 1), f - i0

    y0, y1, wy = lin(fy, a.shape[0])
    x0, x1, wx = lin(fx, a.shape[1])
    top = a[y0][:, x0] * (1 - wx) + a[y0][:, x1] * wx
    bot = a[y1][:, x0] * (1 - wx) + a[y1][:, x1] * wx
    return top * (1 - wy)[:, None] + bot * wy[:, None]


def open_snap_pair(folder: str | Path, reference: str | None = None, chunks=(2048, 2048)
                   ) -> tuple[xr.DataArray, xr.DataArray, xr.Dataset]:
    """Open a coregistered SLC pair exported by SNAP as two ``*.znap`` folders.

    Parameters
    ----------
    folder : directory holding exactly two ``.znap`` products of one coregistered stack.
    reference : date (``YYYY-MM-DD`` or ``YYYYMMDD``) of the acquisition to use as
        reference; default the earlier one (the interferogram then measures the change
        from the earlier to the later acquisition).
    chunks : dask chunks of the SLCs.

    Returns
    -------
    ``(reference_slc, secondary_slc, geometry)``: two lazy complex64 DataArrays on the
    stack master's grid with coordinates ``azimuth_time`` (s since ``attrs['epoch']``)
    and ``slant_range`` (m), and an ``xr.Dataset`` with ``latitude``, ``longitude``
    (deg; SNAP's per-pixel values where the stack has them, else the tie-point grid),
    ``incidence_angle`` (deg), optional ``elevation`` (m) and ``h2ph`` (SNAP's height-to-phase factor, as
    stored), the radar metadata (``daskinsar_radar_metadata`` attribute) and the orbit
    (``orbit_time`` s since the epoch, ``orbit_position`` / ``orbit_velocity`` ECEF).
    """
    folder = Path(folder)
    input_folder(folder, "a folder holding two SNAP .znap products")
    znaps = sorted(p for p in folder.iterdir() if p.is_dir() and p.suffix == ".znap")
    if len(znaps) != 2:
        raise InputFileError(folder, "exactly two SNAP .znap products (a coregistered pair)", f"{len(znaps)}")
    prods = [open_snap_product(z, chunks) for z in znaps]
    if prods[0][1]["shape"] != prods[1][1]["shape"]:
        raise InputFileError(folder, "two coregistered products on the same grid",
                             f"shapes {prods[0][1]['shape']} and {prods[1][1]['shape']}")
    prods.sort(key=lambda p: p[1]["date"])
    if reference is not None:
        ref_day = np.datetime64(f"{reference[:4]}-{reference[4:6]}-{reference[6:8]}" if "-" not in reference
                                else reference, "D")
        days = [p[1]["date"] for p in prods]
        if ref_day not in days:
            raise InputFileError(folder, f"a product acquired on {ref_day}", ", ".join(str(d) for d in days))
        if days[1] == ref_day:
            prods.reverse()
    (ref, ref_info), (sec, sec_info) = prods

    # grid and radar metadata from Abstracted_Metadata (the stack master's, identical in both)
    master = ref_info["znap"]
    attrs, _, mpath = _abstracted(master)
    other, _, opath = _abstracted(sec_info["znap"])
    for key in ("first_line_time", "line_time_interval", "slant_range_to_first_pixel", "range_spacing",
                "num_output_lines", "num_samples_per_line", "radar_frequency", "antenna_pointing"):
        if attrs.get(key) != other.get(key):
            raise InputFileError(opath, f"the stack master's Abstracted_Metadata {key} of {mpath} (one grid)",
                                 f"{other.get(key)!r} vs {attrs.get(key)!r}")
    n_az, n_rg = ref_info["shape"]
    first = _first_line_time(attrs, mpath)
    epoch = format_utc(first)
    dt = _scalar(attrs, "line_time_interval", mpath)
    r0 = _scalar(attrs, "slant_range_to_first_pixel", mpath)
    dr = _scalar(attrs, "range_spacing", mpath)
    n_lines = int(_scalar(attrs, "num_output_lines", mpath))
    n_samples = int(_scalar(attrs, "num_samples_per_line", mpath))
    if (n_lines, n_samples) != (n_az, n_rg):
        raise InputFileError(mpath, f"num_output_lines x num_samples_per_line = {n_az} x {n_rg} (the bands' shape)",
                             f"{n_lines} x {n_samples}")
    freq_hz = _scalar(attrs, "radar_frequency", mpath) * 1e6
    for key, known in (("MISSION", ("SENTINEL-1A", "SENTINEL-1B", "SENTINEL-1C", "SENTINEL-1D")),
                       ("PASS", ("ASCENDING", "DESCENDING"))):
        if str(attrs.get(key)) not in known:
            raise InputFileError(mpath, f"an Abstracted_Metadata {key} of {', '.join(known)}", repr(attrs.get(key)))
    pointing = str(attrs.get("antenna_pointing", "")).strip().lower()
    if pointing not in ("left", "right"):
        raise InputFileError(mpath, "an Abstracted_Metadata antenna_pointing left or right", repr(pointing))
    for key in ("radar_frequency", "pulse_repetition_frequency", "range_sampling_rate", "line_time_interval",
                "range_spacing"):
        if _scalar(attrs, key, mpath) <= 0:
            raise InputFileError(mpath, f"a positive Abstracted_Metadata {key}", repr(attrs.get(key)))
    try:
        meta = _metadata(attrs, mpath, ref_info, epoch, freq_hz, dt, dr, pointing, znaps)
    except ValueError as exc:  # pydantic's ValidationError
        raise InputFileError(mpath, "valid SNAP Abstracted_Metadata", describe(exc)) from None
    coords = {"azimuth_time": ("azimuth", np.arange(n_az) * dt),
              "slant_range": ("range", r0 + np.arange(n_rg) * dr)}
    return _pair(ref, sec, ref_info, sec_info, meta, coords, master, epoch, chunks, mpath)


def _metadata(attrs: dict, mpath: Path, ref_info: dict, epoch: str, freq_hz: float, dt: float, dr: float,
              pointing: str, znaps: list) -> RadarMetadata:
    return RadarMetadata(
        sensor="SENTINEL1", platform=str(attrs.get("MISSION")), mode=str(attrs.get("ACQUISITION_MODE")),
        polarization=ref_info["pol"], level="slc", epoch=epoch,
        wavelength_m=SPEED_OF_LIGHT / freq_hz,
        prf_hz=_scalar(attrs, "pulse_repetition_frequency", mpath),
        range_sampling_rate_hz=_scalar(attrs, "range_sampling_rate", mpath) * 1e6,
        azimuth_line_interval_s=dt, range_pixel_spacing_m=dr,
        look_side="left" if pointing == "left" else "right",
        range_bandwidth_hz=_scalar(attrs, "range_bandwidth", mpath) * 1e6,
        azimuth_bandwidth_hz=_scalar(attrs, "azimuth_bandwidth", mpath),
        source_files=[str(z) for z in znaps],
        extra={"pass": attrs.get("PASS"), "product": attrs.get("PRODUCT"),
               "azimuth_spacing_m": _scalar(attrs, "azimuth_spacing", mpath)},
    )


def _pair(ref, sec, ref_info, sec_info, meta, coords, master, epoch, chunks, mpath):
    n_az, n_rg = ref_info["shape"]
    ref = ref.assign_coords(coords).rename("reference")
    sec = sec.assign_coords(coords).rename("secondary")
    ref.attrs["epoch"] = epoch
    sec.attrs["epoch"] = epoch

    # geometry: per-pixel bands where present (either product), else tie-point grids
    geo: dict[str, tuple] = {}
    dims = ("azimuth", "range")
    for z in (ref_info["znap"], sec_info["znap"]):
        for band, name, units in (("latitude_VV", "latitude", "deg"), ("longitude_VV", "longitude", "deg"),
                                  ("elevation_VV", "elevation", "m")):
            if name not in geo and (z / band).is_dir():
                a = _open_array(z, band)
                geo[name] = (dims, _lazy(a, chunks).astype(np.float32), {"units": units, "source": f"SNAP {band}"})
        for p in sorted(z.iterdir()):
            if p.name.startswith("h2ph_") and "h2ph" not in geo:
                a = _open_array(z, p.name)
                geo["h2ph"] = (dims, _lazy(a, chunks).astype(np.float32), {"source": f"SNAP {p.name}"})
    for tp, name, units in (("latitude", "latitude", "deg"), ("longitude", "longitude", "deg"),
                            ("incident_angle", "incidence_angle", "deg")):
        if name not in geo:
            v = _tie_point(master, tp, (n_az, n_rg))
            if v is not None:
                geo[name] = (dims, v.astype(np.float32), {"units": units, "source": f"SNAP tie-point grid {tp}"})
    orbit = snap_orbit(master, epoch)
    # the physics checks every registered reader's scene passes (grid, radar, orbit covering the lines)
    check_scene(Scene(xr.Dataset(coords=coords), meta, orbit), str(mpath))
    ds = xr.Dataset({k: xr.Variable(*v) for k, v in geo.items()}, coords=coords)
    ds = ds.assign(orbit_position=(("orbit_time", "xyz"), orbit.position),
                   orbit_velocity=(("orbit_time", "xyz"), orbit.velocity))
    ds = ds.assign_coords(orbit_time=orbit.time)
    ds.attrs.update(radar_attrs(meta, orbit))
    ds.attrs.update(epoch=epoch, reference_date=str(ref_info["date"]), secondary_date=str(sec_info["date"]),
                    temporal_baseline_days=float((sec_info["date"] - ref_info["date"]) / np.timedelta64(1, "D")))
    return ref, sec, ds
