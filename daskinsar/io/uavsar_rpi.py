"""UAVSAR RPI products (``.ann`` annotation + ``.slc``): pairs (``UAVSAR_RPI``) and stacks (``UAVSAR_STACK``).

**Annotation** (``.ann``, JPL's RDF text): one ``Key (units) = value ; comment`` per line. Units are
converted to SI here: deg stay deg, ``cm``/``mm``/``km`` to m, ``ms``/``microsec``/``us`` to s, ``MHz``/``GHz``
to Hz. Keys used (ISCE2's ``UAVSAR_RPI`` / ``UAVSAR_Stack`` sensors read the same ones):

- common: ``Center Wavelength``, ``Average Pulse Repetition Interval``, ``Pulse Length``, ``Bandwidth``,
  ``Peg Latitude``/``Longitude``/``Heading`` (deg), ``Global Average Altitude`` and
  ``Global Average Terrain Height`` (m), the look direction;
- RPI pair (``UAVSAR RPI Annotation File Version Number`` present): per pass ``p`` (reader option
  ``pass_number``, 1 or 2) ``Single Look Complex Data of Pass p`` (file), ``Start Time of Acquisition
  for Pass p``, and the shared grid ``Single Look Complex Data Azimuth Lines``/``Range Samples``,
  ``... at Near Range``, ``... Starting Azimuth``, ``... Range Spacing``, ``... Azimuth Spacing`` (m),
  ``Reskew Doppler Near Mid Far`` (Hz), ``Approximate Upper Left Latitude`` ... corners (deg);
- stack (one ``.ann`` per date, several segments; reader options ``segment`` and ``date``):
  ``slc_<i>_1x1`` (file), ``slc_<i>_1x1_mag.set_rows``/``set_cols``, ``Segment <i> Data Starting Azimuth``,
  ``Image Starting Slant Range``, ``1x1 SLC Range/Azimuth Pixel Spacing``, ``Average Along Track
  Velocity``, ``Start Time of Acquisition``, ``dop`` (Doppler file: a header line, then slant range m
  and Doppler rad/m per line), ``Segment <i> Data Approximate Corner <k>`` ("lat, lon").

**Pixels**: the ``.slc`` holds little-endian complex64, lines x samples, read lazily per block of lines.

**Geometry** (as ISCE2): UAVSAR SLCs are motion-compensated to a reference track on the peg's SCH
sphere: radius ``rc`` = the ellipsoid's radius of curvature along the peg heading (plus the terrain
height for stacks, whose peg sits at that height), cross-track ``c = 0``, constant height ``h``
(the average altitude; minus the terrain height for stacks). Line ``k`` lies at along-track
``s = S0 + k ds`` (``ds`` the azimuth spacing on the sphere, ``S0`` the starting azimuth) at time
``k dt``; the platform speed along the track is ``(rc + h) / rc * ds / dt``. The line interval ``dt``
is the pulse repetition interval for stacks and, for RPI pairs, the PRI times ISCE2's factor
1.0735059946800756 (the RPI SLC's azimuth sampling is not the PRF). State vectors (ECEF position and
velocity, every 100 lines, 10 beyond each end) are evaluated on that track. Absolute times are the
annotation's start time (1 s resolution); the geometry does not depend on them.

**Grid**: native Doppler when the annotation gives a non-zero Doppler (RPI: the quadratic in range
sample through the reskew Doppler at the near, mid and far samples; stacks: the ``dop`` file, converted
to Hz with ``v / 2 pi`` and fitted with a degree-6 polynomial in range sample as ISCE2 does); zero
Doppler when the RPI reskew Doppler is zero.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import xarray as xr

from ..errors import InputFileError
from ..geometry.ellipsoid import SPEED_OF_LIGHT
from ..geometry.orbit import parse_utc
from ..geometry.sch import SchFrame, sch_orbit
from ._files import input_file
from ..scene import Chirp, Poly1D, RadarMetadata, Scene, radar_grid_coords
from .readers import ReaderInfo
from .validate import check_orbit

__all__ = ["read_ann", "SchFrame", "read_uavsar_rpi", "read_uavsar_stack", "sniff_uavsar_rpi", "sniff_uavsar_stack",
           "READER", "STACK_READER", "RPI_PRF_FACTOR", "sch_orbit"]

#: ISCE2's ratio of the pulse rate to the line rate of RPI SLCs
RPI_PRF_FACTOR = 1.0735059946800756
_UNITS = {"cm": 1e-2, "mm": 1e-3, "km": 1e3, "m": 1.0, "ms": 1e-3, "microsec": 1e-6, "us": 1e-6, "s": 1.0,
          "sec": 1.0, "mhz": 1e6, "ghz": 1e9, "khz": 1e3, "hz": 1.0, "deg": 1.0, "-": 1.0, "m/s": 1.0,
          "rad/m": 1.0, "pixels": 1.0, "bytes": 1.0}
_LINE = re.compile(r"^\s*(?P<key>[^;=()]+?)\s*(?:\((?P<unit>[^)]*)\))?\s*=\s*(?P<value>[^;]*?)\s*(?:;.*)?$")
_MAX_ANN = 1 << 20


def read_ann(path: str) -> dict[str, tuple[str, str]]:
    """``{key: (value text, unit)}`` of an annotation file (keys as written, case kept)."""
    input_file(path, "a UAVSAR annotation (.ann) file")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(_MAX_ANN + 1)
    except OSError as exc:
        raise InputFileError(path, "a UAVSAR annotation (.ann) file", str(exc)) from None
    if len(raw) > _MAX_ANN:
        raise InputFileError(path, "a UAVSAR annotation of at most 1 MiB", "a larger file")
    if b"\x00" in raw:
        raise InputFileError(path, "a UAVSAR annotation (text)", "binary content")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise InputFileError(path, "a UAVSAR annotation (ASCII text)", "non-ASCII bytes") from None
    out: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith(";"):
            continue
        m = _LINE.match(line)
        if m:
            out[m["key"].strip()] = (m["value"].strip(), (m["unit"] or "").strip())
    return out


class _Ann:
    """Typed access to annotation values, errors naming the file."""

    def __init__(self, path: str, values: dict[str, tuple[str, str]]):
        self.path, self.values = path, values

    def has(self, key: str) -> bool:
        return key in self.values

    def text(self, key: str) -> str:
        if key not in self.values:
            raise InputFileError(self.path, f"annotation key {key!r}", "none")
        return self.values[key][0]

    def number(self, key: str, *, positive: bool = False) -> float:
        value, unit = self.values.get(key, (None, ""))
        if value is None:
            raise InputFileError(self.path, f"annotation key {key!r}", "none")
        scale = _UNITS.get(unit.lower())
        if scale is None:
            raise InputFileError(self.path, f"a known unit for {key!r}", repr(unit))
        try:
            v = float(value) * scale
        except ValueError:
            raise InputFileError(self.path, f"a number for {key!r}", repr(value)) from None
        if not np.isfinite(v) or (positive and v <= 0):
            raise InputFileError(self.path, f"a {'positive ' if positive else ''}finite {key!r}", repr(value))
        return v

    def integer(self, key: str) -> int:
        v = self.number(key, positive=True)
        if v != int(v) or v > 10_000_000:
            raise InputFileError(self.path, f"a whole number of at most 1e7 for {key!r}", repr(self.text(key)))
        return int(v)

    def time(self, key: str) -> str:
        s = self.text(key).upper().replace(" UTC", "").strip()
        months = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
        try:
            day, mon, rest = s.split("-", 2)
            year, clock = rest.split(" ", 1)
            iso = f"{int(year):04d}-{months.index(mon) + 1:02d}-{int(day):02d}T{clock.strip()}"
            parse_utc(iso)
        except (ValueError, IndexError):
            raise InputFileError(self.path, f"a time dd-MMM-yyyy hh:mm:ss UTC for {key!r}", repr(s)) from None
        return iso


@dataclass
class _Layout:
    slc: str
    n_lines: int
    n_samples: int
    r0: float
    dr: float
    ds: float
    s0: float
    dt: float
    epoch: str
    frame: SchFrame
    h: float
    doppler: Poly1D | None
    polarization: str | None
    extra: dict[str, Any]


def _look(ann: _Ann) -> Literal["left", "right"]:
    key = next((k for k in ("Radar Look Direction", "Look Direction") if ann.has(k)), None)
    if key is None:
        raise InputFileError(ann.path, "a look direction (Radar Look Direction / Look Direction)", "none")
    v = ann.text(key).strip().lower()
    if v == "left":
        return "left"
    if v == "right":
        return "right"
    raise InputFileError(ann.path, f"{key} Left or Right", repr(v))


def _resolve(ann_path: str, name: str) -> str:
    p = name if os.path.isabs(name) else os.path.join(os.path.dirname(ann_path), os.path.basename(name))
    input_file(p, f"the data file named by {ann_path}")
    return p


def _peg(ann: _Ann, terrain_m: float = 0.0) -> SchFrame:
    """The peg point (deg) of the SCH frame, within the ranges of latitudes, longitudes and headings."""
    lat, lon, hdg = ann.number("Peg Latitude"), ann.number("Peg Longitude"), ann.number("Peg Heading")
    if not (abs(lat) <= 90.0 and abs(lon) <= 360.0 and abs(hdg) <= 360.0):
        raise InputFileError(ann.path, "a Peg Latitude within +-90, Peg Longitude and Peg Heading within +-360 deg",
                             f"{lat!r}, {lon!r}, {hdg!r}")
    return SchFrame(lat, lon, hdg, terrain_m)


def _polarization(ann: _Ann) -> str | None:
    """The annotation's Polarization (HH, HV, VH or VV), None when it states none."""
    if not ann.has("Polarization"):
        return None
    pol = ann.text("Polarization").strip().upper()
    if pol not in ("HH", "HV", "VH", "VV"):
        raise InputFileError(ann.path, "a Polarization of HH, HV, VH or VV", repr(pol))
    return pol


def _quadratic_doppler(r0: float, dr: float, n: int, near: float, mid: float, far: float) -> Poly1D:
    x = np.array([0.0, float(int((n - 1) / 2)), n - 1.0])
    c = np.linalg.solve(np.vander(x, 3, increasing=True), np.array([near, mid, far]))
    return Poly1D(reference=r0, scale=dr, coeffs=[float(v) for v in c])


def _rpi_layout(ann: _Ann, pass_number: int) -> _Layout:
    if pass_number not in (1, 2):
        raise InputFileError(ann.path, "pass_number 1 or 2 (an RPI pair)", repr(pass_number))
    p = str(pass_number)
    slc = _resolve(ann.path, ann.text(f"Single Look Complex Data of Pass {p}"))
    frame = _peg(ann)
    pri = ann.number("Average Pulse Repetition Interval", positive=True)
    dop_txt = ann.text("Reskew Doppler Near Mid Far").replace(",", " ").split()
    try:
        near, mid, far = (float(x) for x in dop_txt)
    except ValueError:
        raise InputFileError(ann.path, "three numbers for 'Reskew Doppler Near Mid Far' (Hz)", repr(dop_txt)) from None
    n_lines = ann.integer("Single Look Complex Data Azimuth Lines")
    n_samples = ann.integer("Single Look Complex Data Range Samples")
    r0 = ann.number("Single Look Complex Data at Near Range", positive=True)
    dr = ann.number("Single Look Complex Data Range Spacing", positive=True)
    doppler = None if near == mid == far == 0.0 else _quadratic_doppler(r0, dr, n_samples, near, mid, far)
    extra = {f"corner_{k.lower().replace(' ', '_')}_deg": ann.number(f"Approximate {k}")
             for k in ("Upper Left Latitude", "Upper Left Longitude", "Upper Right Latitude", "Upper Right Longitude",
                       "Lower Left Latitude", "Lower Left Longitude", "Lower Right Latitude", "Lower Right Longitude")
             if ann.has(f"Approximate {k}")}
    pol = _polarization(ann)
    ds = ann.number("Single Look Complex Data Azimuth Spacing", positive=True)
    return _Layout(slc, n_lines, n_samples, r0, dr, ds,
                   ann.number("Single Look Complex Data Starting Azimuth"), pri * RPI_PRF_FACTOR,
                   ann.time(f"Start Time of Acquisition for Pass {p}"), frame,
                   ann.number("Global Average Altitude", positive=True), doppler, pol,
                   {**extra, "reskew_doppler_hz": [near, mid, far], "pass": pass_number})


def _stack_layout(ann: _Ann, segment: int) -> _Layout:
    i = int(segment)
    slc_key = f"slc_{i}_1x1"
    if not ann.has(slc_key):
        segs = sorted(int(m.group(1)) for k in ann.values if (m := re.fullmatch(r"slc_(\d+)_1x1", k)))
        raise InputFileError(ann.path, f"segment {i} (annotation key {slc_key!r})", f"segments {segs}")
    slc = _resolve(ann.path, ann.text(slc_key))
    th = ann.number("Global Average Terrain Height")
    frame = _peg(ann, th)
    pri = ann.number("Average Pulse Repetition Interval", positive=True)
    n_lines = ann.integer(f"{slc_key}_mag.set_rows")
    n_samples = ann.integer(f"{slc_key}_mag.set_cols")
    r0 = ann.number("Image Starting Slant Range", positive=True)
    dr = ann.number("1x1 SLC Range Pixel Spacing", positive=True)
    ds = ann.number("1x1 SLC Azimuth Pixel Spacing", positive=True)
    h = ann.number("Global Average Altitude", positive=True) - th
    v = (frame.radius_m + h) / frame.radius_m * ds / pri
    dop_path = _resolve(ann.path, ann.text("dop"))
    try:
        with open(dop_path) as fh:
            rows = [ln.split() for ln in fh.read().splitlines()[1:] if ln.strip()]
        z = np.array([[float(a), float(b)] for a, b, *_ in rows])
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InputFileError(dop_path, "a UAVSAR Doppler file (header line, then range m and Doppler rad/m)",
                             str(exc)) from None
    if z.ndim != 2 or len(z) < 8 or not np.all(np.isfinite(z)):
        raise InputFileError(dop_path, "at least 8 finite (range, Doppler) rows", f"{len(z)} rows")
    coef = np.polynomial.polynomial.polyfit((z[:, 0] - r0) / dr, z[:, 1] * v / (2 * np.pi), 6, rcond=1e-9)
    doppler = Poly1D(reference=r0, scale=dr, coeffs=[float(c) for c in coef])
    extra: dict[str, Any] = {"segment": i, "doppler_file": dop_path}
    for k in range(1, 5):
        key = f"Segment {i} Data Approximate Corner {k}"
        if ann.has(key):
            try:
                la, lo = (float(x) for x in ann.text(key).split(","))
                extra[f"corner_{k}_lat_lon_deg"] = [la, lo]
            except ValueError:
                raise InputFileError(ann.path, f"'lat, lon' for {key!r}", repr(ann.text(key))) from None
    pol = _polarization(ann)
    return _Layout(slc, n_lines, n_samples, r0, dr, ds, ann.number(f"Segment {i} Data Starting Azimuth"), pri,
                   ann.time("Start Time of Acquisition"), frame, h, doppler, pol, extra)


def _read_block(path: str, n_samples: int, a: int, b: int) -> np.ndarray:
    with open(path, "rb") as fh:
        fh.seek(a * n_samples * 8)
        buf = fh.read((b - a) * n_samples * 8)
    if len(buf) != (b - a) * n_samples * 8:
        raise InputFileError(path, f"SLC lines {a}..{b - 1}", "the file ends early (truncated)")
    return np.frombuffer(buf, "<c8").reshape(b - a, n_samples).astype(np.complex64)


def _scene(ann: _Ann, lay: _Layout, sensor: str, chunks: int, polarization: str | None) -> Scene:
    import dask.array as da
    from dask.base import tokenize

    if polarization is not None and lay.polarization is not None and polarization.upper() != lay.polarization:
        raise InputFileError(ann.path, f"polarization {polarization.upper()}", f"{lay.polarization}")
    size = os.path.getsize(lay.slc)
    if size != lay.n_lines * lay.n_samples * 8:
        raise InputFileError(lay.slc, f"{lay.n_lines} x {lay.n_samples} complex64 samples = "
                                      f"{lay.n_lines * lay.n_samples * 8} bytes ({ann.path})", f"{size} bytes")
    lam = ann.number("Center Wavelength", positive=True)
    pri = ann.number("Average Pulse Repetition Interval", positive=True)
    tau_p = ann.number("Pulse Length", positive=True)
    bw = ann.number("Bandwidth", positive=True)
    look = _look(ann)
    rc = lay.frame.radius_m
    if not lay.r0 > lay.h > 0:
        raise InputFileError(ann.path, f"a near range above the platform height ({lay.h:.1f} m)", f"{lay.r0:.1f} m")
    v_s = lay.ds / lay.dt  # along the sphere (m/s)
    t_end = (lay.n_lines - 1) * lay.dt
    step = 100 * lay.dt
    try:
        orbit = sch_orbit(lay.frame, lay.epoch, lay.s0, v_s, lay.h, -10 * step, t_end + 10 * step, step,
                          source=f"{ann.path} (peg SCH reference track)")
    except ValueError as exc:
        raise InputFileError(ann.path, "a valid reference track", str(exc)) from None
    check_orbit(orbit, ann.path)
    grid: Literal["zero_doppler", "native_doppler"] = "zero_doppler" if lay.doppler is None else "native_doppler"
    dop = lay.doppler or Poly1D(coeffs=[0.0])
    meta = RadarMetadata(
        sensor=sensor, platform="UAVSAR", mode="RPI" if sensor == "UAVSAR_RPI" else "stack",
        polarization=lay.polarization, level="slc", epoch=lay.epoch, wavelength_m=lam, prf_hz=1.0 / pri,
        range_sampling_rate_hz=SPEED_OF_LIGHT / (2.0 * lay.dr), azimuth_line_interval_s=lay.dt,
        range_pixel_spacing_m=lay.dr, look_side=look, grid=grid, doppler_centroid=dop, grid_doppler=dop,
        chirp=Chirp(slope_hz_per_s=-bw / tau_p, duration_s=tau_p), range_bandwidth_hz=bw,
        platform_velocity_mps=(rc + lay.h) / rc * v_s, source_files=[ann.path, lay.slc],
        extra={**lay.extra, "peg_deg": [lay.frame.lat_deg, lay.frame.lon_deg, lay.frame.hdg_deg],
               "peg_radius_m": rc, "track_height_m": lay.h, "starting_azimuth_m": lay.s0,
               "azimuth_spacing_m": lay.ds},
    )
    nb = max(int(chunks), 1)
    bounds = list(range(0, lay.n_lines, nb)) + [lay.n_lines]
    name = f"read-uavsar-{sensor.lower()}-" + tokenize(lay.slc, size, os.path.getmtime(lay.slc), nb)
    graph = {(name, i, 0): (_read_block, lay.slc, lay.n_samples, a, b)
             for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))}
    arr = da.Array(graph, name, (tuple(np.diff(bounds)), (lay.n_samples,)), dtype=np.complex64)
    coords = radar_grid_coords(0.0, lay.dt, lay.n_lines, lay.r0, lay.dr, lay.n_samples)
    ds = xr.Dataset({"slc": (("azimuth", "range"), arr)}, coords=coords)
    ds.attrs["sensor"] = sensor
    return Scene(ds, meta, orbit)


def _not_a_folder(path: str) -> None:
    """An ``.ann`` path that is a folder is refused as such (a folder of products is given without .ann)."""
    if os.path.isdir(path) and path.lower().endswith(".ann"):
        raise InputFileError(path, "a UAVSAR annotation (.ann) file", "a folder, not a file")


def _ann_of(path: str) -> str:
    _not_a_folder(path)
    if os.path.isdir(path):
        anns = sorted(glob.glob(os.path.join(path, "*.ann")))
        if len(anns) != 1:
            raise InputFileError(path, "a folder with one .ann annotation (or give the .ann)",
                                 f"{len(anns)} .ann files")
        return anns[0]
    if path.lower().endswith(".slc"):
        base = re.sub(r"(_s\d+)?(_1x1)?\.slc$", "", path, flags=re.I)
        cands = sorted(glob.glob(base + "*.ann"))
        if not cands:
            raise InputFileError(path, "the .ann annotation beside the .slc", "none")
        return cands[0]
    return path


def read_uavsar_rpi(path: str, *, polarization: str | None = None, chunks: int = 1024, orbit_file: str | None = None,
                    pass_number: int = 1) -> Scene:
    """Read pass ``pass_number`` (1 or 2) of a UAVSAR RPI pair (``.ann`` + ``.slc``) as a lazy SLC Scene."""
    if orbit_file is not None:
        raise InputFileError(path, "no orbit_file (UAVSAR's track comes from the annotation's peg)", repr(orbit_file))
    ann_path = _ann_of(str(path))
    ann = _Ann(ann_path, read_ann(ann_path))
    if not ann.has("UAVSAR RPI Annotation File Version Number"):
        raise InputFileError(ann_path, "a UAVSAR RPI pair annotation ('UAVSAR RPI Annotation File Version Number')",
                             "a stack or other annotation")
    return _scene(ann, _rpi_layout(ann, int(pass_number)), "UAVSAR_RPI", chunks, polarization)


def read_uavsar_stack(path: str, *, polarization: str | None = None, chunks: int = 1024,
                      orbit_file: str | None = None, segment: int = 1, date: str | None = None) -> Scene:
    """Read one segment of one date of a UAVSAR stack. ``path``: the date's ``.ann``, or a folder of the
    stack's ``.ann`` files with ``date`` (YYYYMMDD, the acquisition start date) choosing one."""
    if orbit_file is not None:
        raise InputFileError(path, "no orbit_file (UAVSAR's track comes from the annotation's peg)", repr(orbit_file))
    path = str(path)
    _not_a_folder(path)
    if os.path.isdir(path):
        anns = sorted(glob.glob(os.path.join(path, "*.ann")))
        by_date = {}
        for a in anns:
            acc = _Ann(a, read_ann(a))
            if acc.has("Start Time of Acquisition"):
                by_date[acc.time("Start Time of Acquisition")[:10].replace("-", "")] = a
        if date is None:
            if len(by_date) != 1:
                raise InputFileError(path, "date= (YYYYMMDD) choosing one of the stack's acquisitions",
                                     f"dates {sorted(by_date)}")
            date = next(iter(by_date))
        if str(date) not in by_date:
            raise InputFileError(path, f"an acquisition on {date} in the stack", f"dates {sorted(by_date)}")
        ann_path = by_date[str(date)]
    else:
        ann_path = _ann_of(path)
    ann = _Ann(ann_path, read_ann(ann_path))
    if ann.has("UAVSAR RPI Annotation File Version Number") or not ann.has("Start Time of Acquisition"):
        raise InputFileError(ann_path, "a UAVSAR stack annotation (slc_<i>_1x1, Start Time of Acquisition)",
                             "an RPI pair or other annotation")
    if date is not None and ann.time("Start Time of Acquisition")[:10].replace("-", "") != str(date):
        raise InputFileError(ann_path, f"an acquisition on {date}", ann.time("Start Time of Acquisition")[:10])
    return _scene(ann, _stack_layout(ann, segment), "UAVSAR_STACK", chunks, polarization)


def _sniff_text(path: str) -> str:
    try:
        p = _ann_of(str(path))
        if not p.lower().endswith(".ann") or not os.path.isfile(p):
            return ""
        with open(p, "rb") as fh:
            return fh.read(65536).decode("ascii", "replace")
    except Exception:
        return ""


def sniff_uavsar_rpi(path: str) -> bool:
    """A UAVSAR RPI pair annotation (or its folder / .slc)."""
    return "UAVSAR RPI Annotation File Version Number" in _sniff_text(path)


def sniff_uavsar_stack(path: str) -> bool:
    """A UAVSAR stack annotation (segments ``slc_<i>_1x1``)."""
    t = _sniff_text(path)
    return "UAVSAR RPI Annotation File Version Number" not in t and re.search(r"^slc_\d+_1x1\s", t, re.M) is not None


READER = ReaderInfo(
    name="UAVSAR_RPI",
    description="UAVSAR RPI pair (.ann + .slc), pass_number 1/2; peg SCH track; native/zero Doppler from the .ann",
    sniff=sniff_uavsar_rpi, read=read_uavsar_rpi, levels=("slc",), tested_on_real_data=False,
    aliases=("UAVSAR",),
)
STACK_READER = ReaderInfo(
    name="UAVSAR_STACK",
    description="UAVSAR stack (.ann per date, .slc per segment, .dop Doppler): segment=, date=",
    sniff=sniff_uavsar_stack, read=read_uavsar_stack, levels=("slc",), tested_on_real_data=False,
    aliases=("UAVSARSTACK",),
)
