"""ROI_PAC raw and SLC binaries with their ``.rsc`` keyword files.

Format (kept simple and documented here):

- ``<name>.slc``: complex64 little-endian, ``FILE_LENGTH`` lines of ``WIDTH`` samples.
- ``<name>.raw``: 8-bit unsigned I/Q echoes; every line is ``WIDTH`` bytes, of which
  bytes ``[XMIN, XMAX)`` are I,Q,I,Q,... samples (the bytes before ``XMIN`` are the
  sensor's line header); values are returned as complex64 minus ``I_BIAS``/``Q_BIAS``
  (default 15.5).
- ``<name>.<ext>.rsc``: one ``KEY value`` pair per line. Used keys: ``WIDTH``,
  ``FILE_LENGTH``, ``WAVELENGTH`` (m), ``PRF`` (Hz), ``RANGE_PIXEL_SIZE`` (m),
  ``STARTING_RANGE`` (m), ``RANGE_SAMPLING_FREQUENCY`` (Hz, else from the pixel size),
  ``FIRST_LINE_UTC`` (s of day), ``FIRST_LINE_YEAR``/``FIRST_LINE_MONTH_OF_YEAR``/
  ``FIRST_LINE_DAY_OF_MONTH`` (else ``DATE`` as YYMMDD or YYYYMMDD),
  ``ANTENNA_SIDE`` (-1 right, +1 left; default right; any other value is refused),
  ``PULSE_LENGTH`` (s) and ``CHIRP_SLOPE`` (Hz/s) (both or neither), ``DOPPLER_RANGE0..3`` (Doppler centroid in units of the PRF
  as a cubic in range pixel), ``PLATFORM``, ``POLARIZATION``, ``XMIN``/``XMAX``,
  ``I_BIAS``/``Q_BIAS``, ``AZIMUTH_LINE_INTERVAL`` (s, default 1/PRF).
- Orbit: a text file beside the data, ``<name>.orb`` or ``hdr_data_points*.rsc``,
  with one state vector per line: ``seconds_of_day x y z vx vy vz`` (ECEF m, m/s,
  same UTC day as the first line; times before the first line by more than 12 h are
  taken as the next day). Without one the reader raises unless ``orbit=`` is given.
- The binary must hold exactly ``FILE_LENGTH`` lines of its line size (never truncated nor
  read in part), and the ``.rsc`` must end with a complete line (a cut file is refused).
"""

from __future__ import annotations

import glob
import os
from typing import Any

import numpy as np
import xarray as xr

from ..errors import InputFileError
from ..geometry.ellipsoid import SPEED_OF_LIGHT
from ..geometry.orbit import Orbit
from ..scene import Chirp, Poly1D, RadarMetadata, Scene, radar_grid_coords
from ._files import describe, input_file
from .readers import ReaderInfo

__all__ = ["read_rsc", "write_rsc", "read_roipac", "read_orbit_points", "sniff_roipac"]

_REQUIRED = ("WIDTH", "FILE_LENGTH", "WAVELENGTH", "PRF", "STARTING_RANGE", "FIRST_LINE_UTC")


def read_rsc(path: str) -> dict[str, str]:
    """The ``KEY value`` pairs of an ``.rsc`` file (keys upper-case, values as text)."""
    path = str(path)
    size = input_file(path, "a ROI_PAC .rsc keyword file")
    if size > 1 << 20:
        raise InputFileError(path, "a ROI_PAC .rsc keyword file (at most 1 MiB of text)", f"{size} bytes")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(1 << 20)
    except OSError as exc:
        raise InputFileError(path, "a ROI_PAC .rsc keyword file", describe(exc)) from None
    if not raw.strip():
        raise InputFileError(path, "a ROI_PAC .rsc keyword file", "an empty file")
    if not raw.endswith((b"\n", b"\r")):
        raise InputFileError(path, "a ROI_PAC .rsc keyword file whose last line is complete",
                             f"a file ending in {raw[-20:].decode('ascii', 'replace')!r} (cut short?)")
    if b"\x00" in raw:
        raise InputFileError(path, "a ROI_PAC .rsc keyword file (text)", "binary content")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise InputFileError(path, "a ROI_PAC .rsc keyword file (ASCII text)", "non-ASCII bytes") from None
    out: dict[str, str] = {}
    for ln in text.splitlines():
        ln = ln.split("#", 1)[0].strip()
        if not ln:
            continue
        parts = ln.split(None, 1)
        if len(parts) != 2:
            raise InputFileError(path, "'KEY value' lines", f"line {ln[:40]!r}")
        out[parts[0].upper()] = parts[1].strip()
    return out


def write_rsc(path: str, values: dict[str, Any]) -> None:
    """Write an ``.rsc`` file (for tests and exports)."""
    with open(path, "w") as fh:
        for k, v in values.items():
            fh.write(f"{k:<40s} {v}\n")


def read_orbit_points(path: str) -> np.ndarray:
    """An (N, 7) array ``[seconds_of_day, x, y, z, vx, vy, vz]`` from a ROI_PAC orbit text file."""
    input_file(path, "a ROI_PAC orbit file (lines 'sec_of_day x y z vx vy vz')")
    try:
        rows = []
        with open(path) as fh:
            for ln in fh:
                ln = ln.split("#", 1)[0].strip()
                if ln:
                    vals = [float(x) for x in ln.split()]
                    if len(vals) < 7:
                        raise ValueError(f"a line with {len(vals)} numbers")
                    rows.append(vals[:7])
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputFileError(path, "a ROI_PAC orbit file (lines 'sec_of_day x y z vx vy vz')", str(exc)) from None
    if len(rows) < 2:
        raise InputFileError(path, "a ROI_PAC orbit file with >= 2 state vectors", f"{len(rows)}")
    return np.array(rows)


def _first_line_epoch(rsc: dict[str, str], path: str) -> tuple[str, float]:
    sod = float(rsc["FIRST_LINE_UTC"])
    if "FIRST_LINE_YEAR" in rsc:
        y, m, d = int(rsc["FIRST_LINE_YEAR"]), int(rsc["FIRST_LINE_MONTH_OF_YEAR"]), int(rsc["FIRST_LINE_DAY_OF_MONTH"])
    elif "DATE" in rsc:
        s = rsc["DATE"].strip()
        if len(s) == 6:
            yy = int(s[:2])
            y, m, d = (2000 + yy if yy < 70 else 1900 + yy), int(s[2:4]), int(s[4:6])
        elif len(s) == 8:
            y, m, d = int(s[:4]), int(s[4:6]), int(s[6:8])
        else:
            raise ValueError(f"DATE {s!r}")
    else:
        raise KeyError("FIRST_LINE_YEAR/MONTH/DAY or DATE")
    day = np.datetime64(f"{y:04d}-{m:02d}-{d:02d}", "ns")
    return str(day + np.timedelta64(int(round(sod * 1e9)), "ns")), sod


def _find_orbit(data_path: str) -> str | None:
    stem = os.path.splitext(data_path)[0]
    for cand in (stem + ".orb", data_path + ".orb"):
        if os.path.isfile(cand):
            return cand
    hits = sorted(glob.glob(os.path.join(os.path.dirname(data_path) or ".", "hdr_data_points*.rsc")))
    return hits[0] if hits else None


def _read_rows(path: str, kind: str, row_bytes: int, x0: int, nbytes: int, r0: int, r1: int,
               bias: tuple[float, float]) -> np.ndarray:
    """Lines [r0, r1) of a ROI_PAC binary (a dask task; opens the file itself)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(r0 * row_bytes)
            buf = fh.read((r1 - r0) * row_bytes)
    except OSError as exc:
        raise InputFileError(path, "a readable ROI_PAC binary", str(exc)) from None
    if len(buf) != (r1 - r0) * row_bytes:
        raise InputFileError(path, f"lines {r0}..{r1 - 1} of {row_bytes} bytes", "the file ends early (truncated)")
    rows = np.frombuffer(buf, np.uint8).reshape(r1 - r0, row_bytes)[:, x0: x0 + nbytes]
    if kind == "slc":
        return np.ascontiguousarray(rows).view("<c8").astype(np.complex64)
    v = rows.astype(np.float32)
    return ((v[:, 0::2] - bias[0]) + 1j * (v[:, 1::2] - bias[1])).astype(np.complex64)


def _paths(path: str) -> tuple[str, str]:
    p = str(path)
    if p.lower().endswith(".rsc"):
        return p[:-4], p
    return p, p + ".rsc"


def read_roipac(path: str, *, orbit: Orbit | None = None, chunks: int = 1024) -> Scene:
    """Read a ROI_PAC ``.slc`` or ``.raw`` (path of the data or of its ``.rsc``) as a lazy Scene."""
    try:
        return _read_roipac(path, orbit=orbit, chunks=chunks)
    except InputFileError:
        raise
    except (ValueError, KeyError, TypeError, OverflowError, OSError) as exc:  # incl. pydantic ValidationError
        raise InputFileError(str(path), "a valid ROI_PAC product", describe(exc)) from None


def _read_roipac(path: str, *, orbit: Orbit | None, chunks: int) -> Scene:
    import dask.array as da
    from dask.base import tokenize

    data_path, rsc_path = _paths(path)
    if not os.path.lexists(rsc_path):
        raise InputFileError(data_path, "a ROI_PAC binary with an .rsc keyword file beside it", f"no {rsc_path}")
    rsc = read_rsc(rsc_path)
    missing = [k for k in _REQUIRED if k not in rsc]
    if missing:
        raise InputFileError(rsc_path, "ROI_PAC keys " + ", ".join(_REQUIRED), "missing " + ", ".join(missing))
    kind = "raw" if data_path.lower().endswith(".raw") else "slc"
    try:
        width, length = int(rsc["WIDTH"]), int(rsc["FILE_LENGTH"])
        lam, prf, r0 = float(rsc["WAVELENGTH"]), float(rsc["PRF"]), float(rsc["STARTING_RANGE"])
        if width <= 0 or length <= 0 or not (lam > 0 and prf > 0 and r0 > 0) or not np.isfinite([lam, prf, r0]).all():
            raise ValueError("WIDTH, FILE_LENGTH, WAVELENGTH, PRF and STARTING_RANGE must be positive and finite, "
                             f"got {width}, {length}, {lam}, {prf}, {r0}")
        if "RANGE_SAMPLING_FREQUENCY" in rsc:
            fs = float(rsc["RANGE_SAMPLING_FREQUENCY"])
            dr = float(rsc.get("RANGE_PIXEL_SIZE", SPEED_OF_LIGHT / (2 * fs)))
        else:
            dr = float(rsc["RANGE_PIXEL_SIZE"])
            fs = SPEED_OF_LIGHT / (2 * dr)
        epoch, sod0 = _first_line_epoch(rsc, rsc_path)
        dt = float(rsc.get("AZIMUTH_LINE_INTERVAL", 1.0 / prf))
        if not (np.isfinite(fs) and fs > 0 and np.isfinite(dr) and dr > 0 and np.isfinite(dt) and dt > 0):
            raise ValueError("RANGE_SAMPLING_FREQUENCY / RANGE_PIXEL_SIZE and AZIMUTH_LINE_INTERVAL must be positive "
                             f"and finite, got {fs}, {dr}, {dt}")
        side = float(rsc.get("ANTENNA_SIDE", -1))
        if side not in (-1.0, 1.0):
            raise ValueError(f"ANTENNA_SIDE must be -1 (right) or 1 (left), got {rsc['ANTENNA_SIDE']!r}")
        look = "left" if side > 0 else "right"
        dop = [float(rsc.get(f"DOPPLER_RANGE{k}", 0.0)) * prf for k in range(4)]
        chirp = None
        if ("CHIRP_SLOPE" in rsc) != ("PULSE_LENGTH" in rsc):
            raise ValueError("CHIRP_SLOPE and PULSE_LENGTH go together (one of them is missing)")
        if "CHIRP_SLOPE" in rsc:
            chirp = Chirp(slope_hz_per_s=float(rsc["CHIRP_SLOPE"]), duration_s=float(rsc["PULSE_LENGTH"]))
        if kind == "slc":
            row_bytes, x0, nbytes, n_rg = width * 8, 0, width * 8, width
        else:
            x0 = int(rsc.get("XMIN", 0))
            x1 = int(rsc.get("XMAX", width))
            if not (0 <= x0 < x1 <= width) or (x1 - x0) % 2:
                raise ValueError(f"XMIN {x0} / XMAX {x1} do not fit WIDTH {width} bytes as I/Q pairs")
            row_bytes, nbytes, n_rg = width, x1 - x0, (x1 - x0) // 2
        bias = (float(rsc.get("I_BIAS", 15.5)), float(rsc.get("Q_BIAS", 15.5)))
    except (KeyError, ValueError) as exc:
        raise InputFileError(rsc_path, "valid ROI_PAC keyword values", describe(exc)) from None
    size = input_file(data_path, f"the ROI_PAC {kind} binary described by {rsc_path}")
    if size != row_bytes * length:
        # never a silent part read: the binary is exactly FILE_LENGTH lines of WIDTH
        how = "truncated" if size < row_bytes * length else "more than FILE_LENGTH x WIDTH describes"
        raise InputFileError(data_path, f"FILE_LENGTH {length} lines x {row_bytes} bytes = {row_bytes * length} "
                                        f"bytes (per {os.path.basename(rsc_path)})", f"{size} bytes ({how})")

    if orbit is None:
        orb_path = _find_orbit(data_path)
        if orb_path is None:
            raise InputFileError(data_path, "an orbit file beside it (<name>.orb or hdr_data_points*.rsc) "
                                            "or orbit= given", "none")
        pts = read_orbit_points(orb_path)
        t = pts[:, 0] - sod0
        t = np.where(t < -43200.0, t + 86400.0, t)
        try:
            orbit = Orbit(epoch, t, pts[:, 1:4], pts[:, 4:7], source=orb_path)
        except ValueError as exc:
            raise InputFileError(orb_path, "a valid orbit", describe(exc)) from None

    meta = RadarMetadata(
        sensor=rsc.get("PLATFORM", "ROI_PAC").upper(),
        platform=rsc.get("PLATFORM"),
        polarization=rsc.get("POLARIZATION"),
        level=kind,
        epoch=epoch,
        wavelength_m=lam,
        prf_hz=prf,
        range_sampling_rate_hz=fs,
        azimuth_line_interval_s=dt,
        range_pixel_spacing_m=dr,
        look_side=look,
        grid="native_doppler" if kind == "raw" else "zero_doppler",
        # DOPPLER_RANGEk: fraction of PRF per range pixel**k -> Hz vs pixel index
        doppler_centroid=Poly1D(reference=r0, scale=dr, coeffs=dop),
        chirp=chirp,
        source_files=[data_path, rsc_path],
        extra={"roipac_rsc": rsc},
    )
    step = max(int(chunks), 1)
    bounds = list(range(0, length, step)) + [length]
    name = f"read-roipac-{kind}-" + tokenize(data_path, size, os.path.getmtime(data_path), row_bytes, step)
    graph = {(name, i, 0): (_read_rows, data_path, kind, row_bytes, x0, nbytes, a, b, bias)
             for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))}
    arr = da.Array(graph, name, (tuple(np.diff(bounds)), (n_rg,)), dtype=np.complex64)
    coords = radar_grid_coords(0.0, dt, length, r0, dr, n_rg)
    ds = xr.Dataset({kind: (("azimuth", "range"), arr)}, coords=coords)
    ds.attrs["sensor"] = meta.sensor
    return Scene(ds, meta, orbit)


def sniff_roipac(path: str) -> bool:
    """A ``.slc``/``.raw`` with an ``.rsc`` beside it, or such an ``.rsc``."""
    try:
        data_path, rsc_path = _paths(str(path))
        return (data_path.lower().endswith((".slc", ".raw")) and os.path.isfile(rsc_path)
                and os.path.isfile(data_path))
    except Exception:
        return False


READER = ReaderInfo(
    name="ROI_PAC",
    description="ROI_PAC .raw / .slc binaries with .rsc keyword files (+ .orb / hdr_data_points orbit)",
    sniff=sniff_roipac, read=read_roipac, levels=("raw", "slc"), tested_on_real_data=False,
    aliases=("ROIPAC",),
)
