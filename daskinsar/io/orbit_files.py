"""Precise orbit files of ERS-1/2 and Envisat: DORIS ``DOR_VOR_AX`` (ESA) and Delft ``ODR`` (TU Delft).

- **DORIS** (``DOR_VOR_AX*``, also ``DOR_POR_AX`` preliminary): an Envisat-format file, a
  1247-byte ASCII main product header (MPH, ``KEY=value`` lines), a specific product header
  of ``SPH_SIZE`` bytes, then one ASCII record per state vector::

      dd-MMM-yyyy hh:mm:ss.uuuuuu  delta_ut1  abs_orbit  x y z  vx vy vz  quality

  (UTC; ECEF metres and m/s). The first ten blank-separated tokens are used.
- **ODR** (Delft Orbital Data Records, ``ODR.nnn``): big-endian binary. Header 1: format
  id (4 bytes, ``@ODR`` or ``xODR``), satellite name (8 bytes), start time (int32); header 2:
  cycle length, arc number, number of records, version (4 x int32); then 16-byte records of
  int32 time (UTC seconds since 1985-01-01), latitude and longitude (1e-6 deg for ``@ODR``,
  1e-7 deg for ``xODR``) and height (mm) of the satellite's centre of mass above the GRS80
  ellipsoid. Velocities are not stored: they are the time derivative of a degree-8
  polynomial through the 9 records centred on each one (the 4 records at each end of a file,
  which lack a centred window, are dropped).

:func:`read_orbit_file` recognises either; :func:`orbit_for_scene` crops an orbit to a scene
and raises :class:`~daskinsar.errors.InputFileError` naming the orbit file when it does not
cover the scene (at least two state vectors before the first line and after the last).
"""

from __future__ import annotations

import struct

import numpy as np

from ..errors import InputFileError
from ..geometry.orbit import Orbit, format_utc, parse_utc, seconds_between
from ._files import describe, input_file
from .validate import check_orbit

__all__ = ["read_orbit_file", "read_doris", "read_odr", "orbit_for_scene", "parse_envisat_time",
           "format_envisat_time", "read_mph", "GRS80_A", "GRS80_F"]

#: GRS80 ellipsoid of the ODR heights
GRS80_A = 6378137.0
GRS80_F = 1.0 / 298.257222101
ODR_EPOCH = "1985-01-01T00:00:00"
MPH_SIZE = 1247
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def parse_envisat_time(s: str) -> str:
    """'dd-MMM-yyyy hh:mm:ss[.ffffff]' (Envisat / ESA CEOS UTC) -> ISO-8601."""
    s = s.strip().strip('"')
    try:
        day, mon, rest = s.split("-", 2)
        year, clock = rest.split(" ", 1)
        m = _MONTHS.index(mon.upper()) + 1
        hh, mm, ss = clock.strip().split(":")
        iso = f"{int(year):04d}-{m:02d}-{int(day):02d}T{int(hh):02d}:{int(mm):02d}:{ss}"
        parse_utc(iso)
    except (ValueError, IndexError) as exc:
        raise ValueError(f"time {s!r} (expected dd-MMM-yyyy hh:mm:ss.ffffff): {exc}") from None
    return iso


def format_envisat_time(iso: str, digits: int = 6) -> str:
    """ISO-8601 -> 'dd-MMM-yyyy hh:mm:ss.ffffff' (``digits`` decimals, rounded)."""
    t = parse_utc(iso)
    q = np.timedelta64(10 ** (9 - digits), "ns")
    t = (t + q // 2) - ((t + q // 2) - np.datetime64("2000-01-01", "ns")) % q
    s = str(t)  # YYYY-MM-DDTHH:MM:SS.fffffffff
    date, clock = s.split("T")
    y, m, d = date.split("-")
    whole, _, frac = clock.partition(".")
    frac = (frac + "0" * 9)[:digits]
    return f"{d}-{_MONTHS[int(m) - 1]}-{y} {whole}" + (f".{frac}" if digits else "")


def read_mph(path: str, data: bytes) -> dict[str, str]:
    """The ``KEY=value`` pairs of an Envisat-format ASCII header block (quotes and units kept off)."""
    out: dict[str, str] = {}
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise InputFileError(path, "an Envisat-format ASCII header (KEY=value lines)", "non-ASCII bytes") from None
    for line in text.split("\n"):
        key, sep, value = line.partition("=")
        if sep and key.strip() and " " not in key.strip():
            out[key.strip()] = value.strip().strip('"').strip()
    return out


def header_number(value: str) -> float:
    """A numeric header value without its unit suffix ('+00001234<bytes>' -> 1234.0)."""
    return float(value.split("<", 1)[0])


def read_doris(path: str) -> Orbit:
    """State vectors of a DORIS orbit file (``DOR_VOR_AX`` / ``DOR_POR_AX``)."""
    path = str(path)
    input_file(path, "a DORIS orbit file (DOR_VOR_AX)")
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise InputFileError(path, "a DORIS orbit file (DOR_VOR_AX)", describe(exc)) from None
    if len(data) < MPH_SIZE:
        raise InputFileError(path, f"a DORIS orbit file (a {MPH_SIZE}-byte MPH)", f"{len(data)} bytes")
    mph = read_mph(path, data[:MPH_SIZE])
    if not mph.get("PRODUCT", "").startswith("DOR_"):
        raise InputFileError(path, "a DORIS orbit file (MPH PRODUCT=DOR_...)", f"PRODUCT={mph.get('PRODUCT')!r}")
    try:
        sph_size = int(header_number(mph["SPH_SIZE"]))
    except (KeyError, ValueError):
        raise InputFileError(path, "an MPH with SPH_SIZE", "none") from None
    if not 0 <= sph_size <= len(data) - MPH_SIZE:
        raise InputFileError(path, f"an SPH of at most {len(data) - MPH_SIZE} bytes", f"SPH_SIZE {sph_size}")
    times, pv = [], []
    try:
        text = data[MPH_SIZE + sph_size:].decode("ascii")
    except UnicodeDecodeError:
        raise InputFileError(path, "ASCII DORIS state vector records", "non-ASCII bytes") from None
    for i, line in enumerate(text.splitlines()):
        tok = line.split()
        if not tok:
            continue
        try:
            times.append(parse_envisat_time(f"{tok[0]} {tok[1]}"))
            pv.append([float(x) for x in tok[4:10]])
        except (ValueError, IndexError) as exc:
            raise InputFileError(path, "DORIS records 'dd-MMM-yyyy hh:mm:ss.ffffff dut1 orbit x y z vx vy vz'",
                                 f"record {i + 1}: {exc}") from None
        if len(pv[-1]) != 6:
            raise InputFileError(path, "6 state vector values per DORIS record", f"record {i + 1}: {len(pv[-1])}")
    if len(times) < 2:
        raise InputFileError(path, "at least 2 DORIS state vectors", f"{len(times)}")
    epoch = times[0]
    t = np.array([seconds_between(epoch, s) for s in times])
    arr = np.asarray(pv)
    return _make_orbit(path, epoch, t, arr[:, :3], arr[:, 3:], "DORIS")


def _grs80_ecef(lat_deg: np.ndarray, lon_deg: np.ndarray, h_m: np.ndarray) -> np.ndarray:
    lat, lon = np.deg2rad(lat_deg), np.deg2rad(lon_deg)
    e2 = GRS80_F * (2.0 - GRS80_F)
    n = GRS80_A / np.sqrt(1.0 - e2 * np.sin(lat) ** 2)
    return np.stack([(n + h_m) * np.cos(lat) * np.cos(lon), (n + h_m) * np.cos(lat) * np.sin(lon),
                     (n * (1.0 - e2) + h_m) * np.sin(lat)], axis=-1)


def read_odr(path: str) -> Orbit:
    """State vectors of a Delft ODR file (velocities from a local degree-8 polynomial, see the module doc)."""
    path = str(path)
    input_file(path, "a Delft ODR orbit file")
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise InputFileError(path, "a Delft ODR orbit file", describe(exc)) from None
    if len(data) < 32:
        raise InputFileError(path, "a Delft ODR orbit file (32-byte header)", f"{len(data)} bytes")
    fmt, sat, _start = struct.unpack(">4s8si", data[:16])
    _cycle, _arc, n, _version = struct.unpack(">4i", data[16:32])
    if fmt not in (b"@ODR", b"xODR"):
        raise InputFileError(path, "a Delft ODR orbit file (format id @ODR or xODR)", f"{fmt!r}")
    if not 9 <= n <= (len(data) - 32) // 16:
        raise InputFileError(path, f"9 .. {(len(data) - 32) // 16} ODR records (file size {len(data)} bytes)",
                             f"{n} records declared")
    rec = np.frombuffer(data[32: 32 + 16 * n], ">i4").reshape(n, 4).astype(np.float64)
    scale = 1e-6 if fmt == b"@ODR" else 1e-7
    t = rec[:, 0]
    if np.any(np.diff(t) <= 0):
        raise InputFileError(path, "strictly increasing ODR record times", "times that do not increase")
    xyz = _grs80_ecef(rec[:, 1] * scale, rec[:, 2] * scale, rec[:, 3] * 1e-3)
    vel = np.full_like(xyz, np.nan)
    for i in range(4, n - 4):
        tt = t[i - 4: i + 5] - t[i]
        for k in range(3):
            c = np.polynomial.polynomial.polyfit(tt, xyz[i - 4: i + 5, k] - xyz[i, k], 8)
            vel[i, k] = c[1]
    keep = slice(4, n - 4)
    epoch = format_utc(parse_utc(ODR_EPOCH) + np.timedelta64(int(t[4]), "s"))
    return _make_orbit(path, epoch, t[keep] - t[4], xyz[keep], vel[keep], f"ODR {sat.decode('ascii', 'replace')}")


def _make_orbit(path: str, epoch: str, t, pos, vel, kind: str) -> Orbit:
    try:
        orbit = Orbit(epoch, t, pos, vel, source=f"{path} ({kind})")
    except ValueError as exc:
        raise InputFileError(path, f"valid {kind} state vectors", describe(exc)) from None
    check_orbit(orbit, path)
    return orbit


def read_orbit_file(path: str) -> Orbit:
    """A DORIS or Delft ODR orbit file, recognised by its first bytes."""
    path = str(path)
    input_file(path, "an orbit file (DORIS DOR_VOR_AX or Delft ODR)")
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head[:4] in (b"@ODR", b"xODR"):
        return read_odr(path)
    if head.startswith(b"PRODUCT="):
        return read_doris(path)
    raise InputFileError(path, "an orbit file (DORIS DOR_VOR_AX or Delft ODR)", f"first bytes {head[:8]!r}")


def orbit_for_scene(orbit: Orbit, epoch: str, t_first_s: float, t_last_s: float, path: str) -> Orbit:
    """``orbit`` on ``epoch``, cropped to the scene [t_first_s, t_last_s] (s since ``epoch``) plus margin.

    Raises unless two state vectors lie before the first line and two after the last.
    """
    o = orbit.shift_epoch(epoch)
    before = int(np.count_nonzero(o.time < t_first_s))
    after = int(np.count_nonzero(o.time > t_last_s))
    if before < 2 or after < 2:
        raise InputFileError(path, f"an orbit covering the scene ({epoch} + {t_first_s:.3f} .. {t_last_s:.3f} s) "
                                   "with 2 state vectors on each side",
                             f"state vectors from {o.time[0]:.3f} to {o.time[-1]:.3f} s ({before} before, "
                             f"{after} after the scene)")
    return o.crop(t_first_s, t_last_s, margin=6)
