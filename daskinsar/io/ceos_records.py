"""CEOS SAR records: headers, field tables, file containers and lazy image lines.

Shared by every CEOS reader (JAXA ALOS/ALOS-2 in :mod:`daskinsar.io.ceos`, ESA ERS-1/2 in
:mod:`daskinsar.io.ceos_ers`, CSA RADARSAT-1 in :mod:`daskinsar.io.ceos_radarsat1`, ISRO
RISAT-1 in :mod:`daskinsar.io.ceos_risat1`).

A CEOS product is a set of files (volume directory, SAR leader, image file(s), trailer), in
a folder or a zip. Every file is a sequence of records; each record starts with a 12-byte
binary header (big-endian):

=======  =====  ==========================================
bytes    type   meaning
=======  =====  ==========================================
1-4      int32  record sequence number (1, 2, ...)
5        uint8  first record subtype code
6        uint8  record type code (192 file descriptor, 10 data set summary,
                20 map projection, 30 platform position, 40 attitude,
                50 radiometric, 60 data quality; 10/11 signal/processed data in IMG)
7        uint8  second record subtype code
8        uint8  third record subtype code
9-12     int32  record length in bytes (header included)
=======  =====  ==========================================

The rest of a record holds fields at fixed byte positions: ASCII text (``A``), ASCII
integers (``I``) and floats (``F``) right-justified in fixed widths, or big-endian binary
integers (``B1``/``B2``/``B4``/``B8``, ``U2``/``U4`` unsigned) and floats (``R4``). Tables
below give 1-based CEOS positions as consecutive (name, width, kind) items starting at byte 13.

The data set summary (type 10), platform position (type 30) and image file descriptor
(type 192) layouts are the CEOS SAR standard ones shared by JAXA, ESA (ER-IS-EPO-GS-5902),
CSA and ISRO; what differs between missions is the units of a few fields and the image
record prefixes, which each mission module documents.
"""

from __future__ import annotations

import os
import posixpath
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Collection

import numpy as np

from ..errors import InputFileError
from ..geometry.orbit import Orbit

__all__ = [
    "HEADER", "HEADER_LEN", "CeosRecord", "CeosContainer", "field_table", "read_records", "parse_fields",
    "build_record", "ceos_time", "doy_time", "DATA_SET_SUMMARY", "PLATFORM_POSITION_HEADER", "PP_POINT_BYTES",
    "PP_HEADER_END", "IMAGE_FILE_DESCRIPTOR", "platform_state_vectors", "mission_id", "PARSE_ERRORS",
    "read_line_block", "eci_to_ecef",
]

HEADER = struct.Struct(">IBBBBI")
HEADER_LEN = 12
#: the exceptions a damaged file can raise while being parsed (all become InputFileError)
PARSE_ERRORS = (ValueError, KeyError, IndexError, TypeError, OverflowError, struct.error, UnicodeDecodeError,
                EOFError, OSError, zipfile.BadZipFile, zlib.error)

_BIN = {"B1": ">u1", "B2": ">i2", "B4": ">i4", "B8": ">i8", "U2": ">u2", "U4": ">u4", "R4": ">f4"}


def field_table(*items: tuple[str, int, str]) -> tuple[dict[str, tuple[int, int, str]], int]:
    """``{name: (byte offset, width, kind)}`` of consecutive fields starting after the header, and the end
    offset. Kind ``X`` skips bytes."""
    out, off = {}, HEADER_LEN
    for name, n, kind in items:
        if kind != "X":
            out[name] = (off, n, kind)
        off += n
    return out, off


#: data set summary record (type 10): the CEOS SAR standard layout. The 32 bytes after
#: ``range_compression`` are JAXA's Doppler polynomial (Hz, Hz/km of slant range; ALOS, ALOS-2) and ESA's spare; ESA then
#: states the zero-Doppler range times (ms, two-way) and azimuth times of its SLCs.
DATA_SET_SUMMARY, DSS_END = field_table(
    ("sequence_number", 4, "I"), ("sar_channel", 4, "I"), ("scene_id", 16, "A"), ("scene_reference", 32, "A"),
    ("scene_centre_time", 32, "A"), ("pass", 16, "A"), ("scene_centre_lat_deg", 16, "F"),
    ("scene_centre_lon_deg", 16, "F"), ("scene_centre_heading_deg", 16, "F"), ("ellipsoid", 16, "A"),
    ("semimajor_km", 16, "F"), ("semiminor_km", 16, "F"), ("gm", 16, "F"), ("_1", 16, "X"), ("j2", 16, "F"),
    ("j3", 16, "F"), ("j4", 16, "F"), ("_2", 16, "X"), ("terrain_height_m", 16, "F"),
    ("scene_centre_line", 8, "I"), ("scene_centre_pixel", 8, "I"), ("scene_length_km", 16, "F"),
    ("scene_width_km", 16, "F"), ("_3", 16, "X"), ("n_sar_channels", 4, "I"), ("_4", 4, "X"),
    ("mission", 16, "A"), ("sensor_id", 32, "A"), ("orbit_number", 8, "A"), ("nadir_lat_deg", 8, "F"),
    ("nadir_lon_deg", 8, "F"), ("nadir_heading_deg", 8, "F"), ("clock_angle_deg", 8, "F"),
    ("incidence_centre_deg", 8, "F"), ("radar_frequency", 8, "F"), ("wavelength_m", 16, "F"),
    ("motion_compensation", 2, "A"), ("pulse_code", 16, "A"), ("chirp_amp_c0", 16, "F"), ("chirp_amp_c1", 16, "F"),
    ("chirp_amp_c2", 16, "F"), ("chirp_amp_c3", 16, "F"), ("chirp_amp_c4", 16, "F"), ("chirp_phase_c0", 16, "F"),
    ("chirp_phase_c1", 16, "F"), ("chirp_phase_c2", 16, "F"), ("chirp_phase_c3", 16, "F"),
    ("chirp_phase_c4", 16, "F"), ("chirp_extraction_index", 8, "I"), ("_6", 8, "X"),
    ("range_sampling_rate_mhz", 16, "F"), ("range_gate_delay_us", 16, "F"), ("pulse_length_us", 16, "F"),
    ("baseband_flag", 4, "A"), ("range_compressed_flag", 4, "A"), ("rx_gain_like_db", 16, "F"),
    ("rx_gain_cross_db", 16, "F"), ("quantization_bits", 8, "I"), ("quantizer", 12, "A"), ("dc_bias_i", 16, "F"),
    ("dc_bias_q", 16, "F"), ("iq_gain_imbalance", 16, "F"), ("_7", 32, "X"), ("electronic_boresight_deg", 16, "F"),
    ("mechanical_boresight_deg", 16, "F"), ("echo_tracker", 4, "A"), ("prf_mhz", 16, "F"),
    ("elevation_beamwidth_deg", 16, "F"), ("azimuth_beamwidth_deg", 16, "F"), ("satellite_binary_time", 16, "A"),
    ("satellite_clock_time", 32, "A"), ("satellite_clock_increment_ns", 16, "A"), ("facility", 16, "A"),
    ("system", 8, "A"), ("version", 8, "A"), ("facility_process_code", 16, "A"), ("product_level", 16, "A"),
    ("product_type", 32, "A"), ("algorithm", 32, "A"), ("looks_azimuth", 16, "F"), ("looks_range", 16, "F"),
    ("bandwidth_per_look_azimuth_hz", 16, "F"), ("bandwidth_per_look_range_khz", 16, "F"),
    ("bandwidth_azimuth_hz", 16, "F"), ("bandwidth_range_khz", 16, "F"), ("weighting_azimuth", 32, "A"),
    ("weighting_range", 32, "A"), ("data_input_source", 16, "A"), ("resolution_ground_range_m", 16, "F"),
    ("resolution_azimuth_m", 16, "F"), ("_8", 32, "X"), ("along_track_dc_c0", 16, "F"),
    ("along_track_dc_c1", 16, "F"), ("along_track_dc_c2", 16, "F"), ("_9", 16, "X"), ("cross_track_dc_c0", 16, "F"),
    ("cross_track_dc_c1", 16, "F"), ("cross_track_dc_c2", 16, "F"), ("time_direction_pixel", 8, "A"),
    ("time_direction_line", 8, "A"), ("along_track_rate_c0", 16, "F"), ("along_track_rate_c1", 16, "F"),
    ("along_track_rate_c2", 16, "F"), ("_10", 16, "X"), ("cross_track_rate_c0", 16, "F"),
    ("cross_track_rate_c1", 16, "F"), ("cross_track_rate_c2", 16, "F"), ("_11", 16, "X"),
    ("line_content", 8, "A"), ("clutterlock", 4, "A"), ("autofocus", 4, "A"), ("line_spacing_m", 16, "F"),
    ("pixel_spacing_m", 16, "F"), ("range_compression", 16, "A"), ("doppler_c0_hz", 16, "F"),
    ("doppler_c1_hz_per_km", 16, "F"), ("zd_range_time_first_ms", 16, "F"), ("zd_range_time_centre_ms", 16, "F"),
    ("zd_range_time_last_ms", 16, "F"), ("zd_azimuth_time_first", 24, "A"), ("zd_azimuth_time_centre", 24, "A"),
    ("zd_azimuth_time_last", 24, "A"),
)

#: platform position data record (type 30) up to its state vectors
PLATFORM_POSITION_HEADER, PP_HEADER_END = field_table(
    ("orbital_elements", 32, "A"), ("osc_x", 16, "F"), ("osc_y", 16, "F"), ("osc_z", 16, "F"), ("osc_vx", 16, "F"),
    ("osc_vy", 16, "F"), ("osc_vz", 16, "F"), ("n_points", 4, "I"), ("year", 4, "I"), ("month", 4, "I"),
    ("day", 4, "I"), ("day_of_year", 4, "I"), ("seconds_of_day", 22, "F"), ("interval_s", 22, "F"),
    ("frame", 64, "A"), ("gmha_deg", 22, "F"), ("along_track_error", 16, "F"), ("across_track_error", 16, "F"),
    ("radial_error", 16, "F"), ("along_track_velocity_error", 16, "F"), ("across_track_velocity_error", 16, "F"),
    ("radial_velocity_error", 16, "F"),
)
#: x, y, z, vx, vy, vz of one state vector as 22-character ASCII floats
PP_POINT_BYTES = 6 * 22

#: image (data) file descriptor record (type 192)
IMAGE_FILE_DESCRIPTOR, _ = field_table(
    ("ascii_flag", 2, "A"), ("_1", 2, "X"), ("format_document", 12, "A"), ("format_revision", 2, "A"),
    ("record_revision", 2, "A"), ("software", 12, "A"), ("file_number", 4, "I"), ("file_name", 16, "A"),
    ("_2", 116, "X"), ("n_records", 6, "I"), ("record_length", 6, "I"), ("_3", 24, "X"),
    ("bits_per_sample", 4, "I"), ("samples_per_group", 4, "I"), ("bytes_per_group", 4, "I"),
    ("justification", 4, "A"), ("n_channels", 4, "I"), ("n_lines", 8, "I"), ("left_border", 4, "I"),
    ("n_pixels", 8, "I"), ("right_border", 4, "I"), ("top_border", 4, "I"), ("bottom_border", 4, "I"),
    ("interleaving", 4, "A"), ("records_per_line", 2, "I"), ("records_per_multichannel_line", 2, "I"),
    ("prefix_bytes", 4, "I"), ("data_bytes", 8, "I"), ("suffix_bytes", 4, "I"), ("_4", 108, "X"),
    ("format_type", 28, "A"), ("format_code", 4, "A"), ("left_fill_bits", 4, "I"), ("right_fill_bits", 4, "I"),
    ("max_data_range", 8, "I"),
)


@dataclass(frozen=True)
class CeosRecord:
    """One CEOS record: header codes and its bytes (header included)."""

    offset: int
    sequence: int
    subtype1: int
    type_code: int
    subtype2: int
    subtype3: int
    length: int
    data: bytes = field(repr=False)

    @property
    def codes(self) -> tuple[int, int, int, int]:
        return (self.subtype1, self.type_code, self.subtype2, self.subtype3)


def read_records(data: bytes, path: str, *, max_records: int | None = None) -> list[CeosRecord]:
    """Split a CEOS file's bytes into records, checking every header.

    Stops at zero padding (a header with sequence 0 and length 0). A record whose length is
    below 12 bytes or runs past the end of the file raises :class:`InputFileError`.
    """
    if len(data) == 0:
        raise InputFileError(path, "a CEOS file", "an empty file")
    if len(data) < HEADER_LEN:
        raise InputFileError(path, "a CEOS file (12-byte record header)", f"only {len(data)} bytes")
    out: list[CeosRecord] = []
    off = 0
    while off + HEADER_LEN <= len(data):
        seq, s1, t, s2, s3, n = HEADER.unpack_from(data, off)
        if seq == 0 and n == 0:
            break
        if n < HEADER_LEN:
            raise InputFileError(path, "a CEOS record header", f"record length {n} at byte {off}")
        if off + n > len(data):
            raise InputFileError(path, f"a complete CEOS record of {n} bytes at byte {off}",
                                 f"the file ends after {len(data) - off} bytes (truncated)")
        if seq != 1 and not out:
            raise InputFileError(path, "a CEOS file starting with record number 1", f"record number {seq}")
        out.append(CeosRecord(off, seq, s1, t, s2, s3, n, bytes(data[off: off + n])))
        off += n
        if max_records is not None and len(out) >= max_records:
            break
    if not out:
        raise InputFileError(path, "a CEOS file", "no records")
    return out


def parse_fields(rec: bytes | CeosRecord, table: dict, *, path: str = "record",
                 strict: Collection[str] = ()) -> dict[str, Any]:
    """Decode the fields of ``table`` from a record. Blank or unparsable ASCII numbers become None/NaN,
    except in the ``strict`` fields (the ones a reader uses): there a non-blank value that is not a finite
    number raises :class:`InputFileError` (a blank one still reads as None/NaN: absent)."""
    buf = rec.data if isinstance(rec, CeosRecord) else rec
    out: dict[str, Any] = {}
    for name, (off, n, kind) in table.items():
        if off + n > len(buf):
            raise InputFileError(path, f"field {name!r} at bytes {off + 1}-{off + n}",
                                 f"a record of only {len(buf)} bytes")
        raw = buf[off: off + n]
        if kind in _BIN:
            v = np.frombuffer(raw, _BIN[kind])[0]
            out[name] = float(v) if kind == "R4" else int(v)
            if name in strict and kind == "R4" and not np.isfinite(out[name]):
                raise InputFileError(path, f"a finite number in field {name!r} (bytes {off + 1}-{off + n})",
                                     repr(out[name]))
            continue
        txt = raw.decode("ascii", errors="replace").strip().strip("\x00")
        if kind == "A":
            out[name] = txt
        elif kind == "I":
            try:
                out[name] = int(txt) if txt else None
            except ValueError:
                out[name] = None
        else:
            try:
                out[name] = float(txt.replace("D", "E")) if txt else float("nan")
            except ValueError:
                out[name] = float("nan")
        if name in strict and txt and (out[name] is None or not np.isfinite(out[name])):
            raise InputFileError(path, f"a finite number in field {name!r} (bytes {off + 1}-{off + n})", repr(txt))
    return out


def build_record(table: dict, values: dict[str, Any], *, sequence: int, codes: tuple[int, int, int, int],
                 length: int, fill: bytes = b" ") -> bytes:
    """Encode a record (for writing products): the inverse of :func:`parse_fields`."""
    buf = bytearray(fill * length)
    buf[:HEADER_LEN] = HEADER.pack(sequence, *codes, length)
    for name, v in values.items():
        off, n, kind = table[name]
        if kind in _BIN:
            buf[off: off + n] = np.array([v], _BIN[kind]).tobytes()
        elif kind == "A":
            buf[off: off + n] = str(v).ljust(n)[:n].encode("ascii")
        elif kind == "I":
            buf[off: off + n] = str(int(v)).rjust(n)[:n].encode("ascii")
        else:
            s = f"{v:.{max(n - 7, 1)}E}"
            buf[off: off + n] = s.rjust(n)[:n].encode("ascii")
    return bytes(buf)


# ----------------------------------------------------------------------------
# container: folder, zip or one of the files
# ----------------------------------------------------------------------------
class CeosContainer:
    """The files of a CEOS product in a folder or a zip; picklable (paths only)."""

    def __init__(self, path: str, expected: str):
        self.path = str(path)
        p = self.path
        self.folders: list[str] = []  # entries of a product folder that are folders (reported, never read)
        if os.path.isdir(p):
            self.root, self.is_zip = p, False
            try:
                entries = os.listdir(p)
            except PermissionError:
                raise InputFileError(p, expected, "permission denied (the folder cannot be listed)") from None
            self.names = sorted(n for n in entries if os.path.isfile(os.path.join(p, n)))
            self.folders = sorted(n for n in entries if os.path.isdir(os.path.join(p, n)))
        elif os.path.isfile(p) and zipfile.is_zipfile(p):
            self.root, self.is_zip = p, True
            try:
                with zipfile.ZipFile(p) as zf:
                    self.names = sorted(n for n in zf.namelist() if not n.endswith("/"))
            except (zipfile.BadZipFile, OSError) as exc:
                raise InputFileError(p, expected, f"an unreadable zip ({exc})") from None
        elif os.path.isfile(p):
            self.root, self.is_zip = os.path.dirname(p) or ".", False
            self.names = sorted(n for n in os.listdir(self.root) if os.path.isfile(os.path.join(self.root, n)))
        elif os.path.lexists(p) or _denied(p):
            raise InputFileError(p, expected, "permission denied or not a regular file")
        else:
            raise InputFileError(p, expected, "no such file or folder")

    def find(self, *prefixes: str) -> list[str]:
        """Files whose base name starts with one of ``prefixes`` (case-insensitive); a folder of such a name
        where no such file is is refused (never reported as "no such file")."""
        ups = tuple(p.upper() for p in prefixes)
        hits = [n for n in self.names if posixpath.basename(n).upper().startswith(ups)]
        if not hits:
            for n in self.folders:
                if n.upper().startswith(ups):
                    raise InputFileError(self.display(n), f"a CEOS file {n} ({' / '.join(prefixes)}...)",
                                         "a folder, not a file")
        return hits

    def display(self, name: str) -> str:
        return f"{self.root}!/{name}" if self.is_zip else os.path.join(self.root, name)

    def local_path(self, name: str) -> str | None:
        return None if self.is_zip else os.path.join(self.root, name)

    def size(self, name: str) -> int:
        try:
            if self.is_zip:
                with zipfile.ZipFile(self.root) as zf:
                    return zf.getinfo(name).file_size
            return os.path.getsize(os.path.join(self.root, name))
        except (OSError, KeyError, zipfile.BadZipFile) as exc:
            raise InputFileError(self.display(name), "a readable CEOS file", str(exc)) from None

    def read(self, name: str, n: int | None = None, offset: int = 0) -> bytes:
        try:
            if self.is_zip:
                with zipfile.ZipFile(self.root) as zf, zf.open(name) as fh:
                    if offset:
                        fh.seek(offset)
                    return fh.read() if n is None else fh.read(n)
            with open(os.path.join(self.root, name), "rb") as fh:
                fh.seek(offset)
                return fh.read() if n is None else fh.read(n)
        except PermissionError:
            raise InputFileError(self.display(name), "a readable CEOS file", "permission denied") from None
        except (OSError, zipfile.BadZipFile, zlib.error, EOFError, KeyError) as exc:
            raise InputFileError(self.display(name), "a readable CEOS file", str(exc)) from None


def _denied(path: str) -> bool:
    """Whether looking ``path`` up is refused (a folder on the way that may not be entered)."""
    try:
        os.stat(path)
    except PermissionError:
        return True
    except OSError:
        return False
    return False


# ----------------------------------------------------------------------------
# times, mission names, state vectors
# ----------------------------------------------------------------------------
def ceos_time(s: str) -> str:
    """'YYYYMMDDhhmmssttt...' (CEOS scene centre / clock time) -> ISO-8601."""
    s = s.strip()
    if len(s) < 14 or not s[:14].isdigit():
        raise ValueError(f"time {s!r} (expected YYYYMMDDhhmmss...)")
    frac = "".join(ch for ch in s[14:] if ch.isdigit())
    iso = f"{s[:4]}-{s[4:6]}-{s[6:8]}T{s[8:10]}:{s[10:12]}:{s[12:14]}"
    return iso + (f".{frac}" if frac else "")


def doy_time(year: int, doy: int, seconds_of_day: float) -> str:
    """ISO-8601 UTC of a (year, day of year, seconds of day) time, to the nanosecond."""
    if not (1900 < year < 2200 and 1 <= doy <= 366 and np.isfinite(seconds_of_day)):
        raise ValueError(f"time year {year}, day {doy}, {seconds_of_day} s")
    t = (np.datetime64(f"{year:04d}-01-01", "ns") + np.timedelta64(doy - 1, "D")
         + np.timedelta64(int(round(seconds_of_day * 1e9)), "ns"))
    return str(t)


def mission_id(text: str | None) -> str:
    """A mission field normalised for comparison: upper case without blanks, '-' or '_' ('ERS-2' -> 'ERS2')."""
    return "".join(ch for ch in (text or "").upper() if ch not in " -_/")


def platform_state_vectors(rec: CeosRecord, path: str) -> tuple[dict, np.ndarray]:
    """Header fields and the (n, 6) x, y, z, vx, vy, vz values of a platform position record (as stored)."""
    hdr = parse_fields(rec, PLATFORM_POSITION_HEADER, path=path)
    n = hdr["n_points"]
    if not n or n < 2:
        raise InputFileError(path, "a platform position record with >= 2 state vectors", f"{n} points")
    need = PP_HEADER_END + n * PP_POINT_BYTES
    if need > len(rec.data):
        raise InputFileError(path, f"{n} state vectors in the platform position record",
                             f"a record of {len(rec.data)} bytes")
    if not (np.isfinite(hdr["interval_s"]) and hdr["interval_s"] > 0 and np.isfinite(hdr["seconds_of_day"])):
        raise InputFileError(path, "a positive state vector interval and a first time (s of day)",
                             f"{hdr['interval_s']!r}, {hdr['seconds_of_day']!r}")
    txt = rec.data[PP_HEADER_END: need].decode("ascii", errors="replace")
    try:
        vals = np.array([float(txt[i * 22:(i + 1) * 22].replace("D", "E")) for i in range(6 * n)]).reshape(n, 6)
    except ValueError as exc:
        raise InputFileError(path, "numeric state vectors in the platform position record", str(exc)) from None
    return hdr, vals


#: Earth rotation rate (rad/s) used to turn inertial state vectors into ECEF
EARTH_ROTATION_RAD_S = 7.2921158553e-5


def eci_to_ecef(t_s: np.ndarray, pos: np.ndarray, vel: np.ndarray, gmha_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Inertial (true-of-date) state vectors to ECEF: rotation about z by the Greenwich hour angle
    ``gmha_deg + w t`` (``t_s`` s after the first vector, where the angle is ``gmha_deg``) and the
    transport term ``-w x r`` for the velocity."""
    th = np.deg2rad(gmha_deg) + EARTH_ROTATION_RAD_S * np.asarray(t_s, np.float64)
    c, s = np.cos(th), np.sin(th)
    x = c * pos[:, 0] + s * pos[:, 1]
    y = -s * pos[:, 0] + c * pos[:, 1]
    vx = c * vel[:, 0] + s * vel[:, 1] + EARTH_ROTATION_RAD_S * y
    vy = -s * vel[:, 0] + c * vel[:, 1] - EARTH_ROTATION_RAD_S * x
    return np.stack([x, y, pos[:, 2]], 1), np.stack([vx, vy, vel[:, 2]], 1)


def ecef_to_eci(t_s: np.ndarray, pos: np.ndarray, vel: np.ndarray, gmha_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of :func:`eci_to_ecef` (for writing inertial state vectors)."""
    th = np.deg2rad(gmha_deg) + EARTH_ROTATION_RAD_S * np.asarray(t_s, np.float64)
    c, s = np.cos(th), np.sin(th)
    vx_r = vel[:, 0] - EARTH_ROTATION_RAD_S * pos[:, 1]
    vy_r = vel[:, 1] + EARTH_ROTATION_RAD_S * pos[:, 0]
    x = c * pos[:, 0] - s * pos[:, 1]
    y = s * pos[:, 0] + c * pos[:, 1]
    vx = c * vx_r - s * vy_r
    vy = s * vx_r + c * vy_r
    return np.stack([x, y, pos[:, 2]], 1), np.stack([vx, vy, vel[:, 2]], 1)


def orbit_from_state_vectors(hdr: dict, vals: np.ndarray, path: str, epoch: str, *, velocity_scale: float = 1.0,
                             inertial: bool = False, year: int | None = None) -> Orbit:
    """An ECEF :class:`Orbit` (epoch ``epoch``) from a platform position record's header and values."""
    from .validate import check_orbit

    y = year if year is not None else hdr["year"]
    try:
        t0 = doy_time(int(y), int(hdr["day_of_year"]), float(hdr["seconds_of_day"]))
    except (TypeError, ValueError) as exc:
        raise InputFileError(path, "a valid first state vector time in the platform position record",
                             str(exc)) from None
    n = len(vals)
    times = hdr["interval_s"] * np.arange(n)
    pos, vel = vals[:, :3].copy(), vals[:, 3:] * velocity_scale
    if inertial:
        gmha = hdr["gmha_deg"]
        if not np.isfinite(gmha):
            raise InputFileError(path, "a Greenwich mean hour angle with inertial state vectors", f"{gmha!r}")
        pos, vel = eci_to_ecef(times, pos, vel, gmha)
    try:
        orbit = Orbit(t0, times, pos, vel, source=path)
    except ValueError as exc:
        raise InputFileError(path, "valid state vectors", str(exc)) from None
    check_orbit(orbit, path)
    return orbit.shift_epoch(epoch)


# ----------------------------------------------------------------------------
# image lines (dask tasks)
# ----------------------------------------------------------------------------
Decoder = Callable[[np.ndarray], np.ndarray]


def read_line_block(cont: CeosContainer, name: str, start: int, reclen: int, prefix: int, nbytes: int,
                    r0: int, r1: int, decode: Decoder, display: str) -> np.ndarray:
    """Records [r0, r1) of an image file (a dask task; opens the file itself): the ``nbytes`` after each
    record's ``prefix`` bytes, decoded to complex64 by ``decode`` (an (n, nbytes) uint8 array)."""
    need = (r1 - r0) * reclen
    buf = cont.read(name, need, start + r0 * reclen)
    if len(buf) != need:
        raise InputFileError(display, f"image records {r0}..{r1 - 1}", "the file ends early (truncated)")
    rows = np.frombuffer(buf, np.uint8).reshape(r1 - r0, reclen)[:, prefix: prefix + nbytes]
    return decode(np.ascontiguousarray(rows))


def decode_cf4(rows: np.ndarray) -> np.ndarray:
    """Big-endian complex float32 (I, Q) samples."""
    v = rows.view(">f4").astype(np.float32)
    return (v[:, 0::2] + 1j * v[:, 1::2]).astype(np.complex64)


def decode_ci2(rows: np.ndarray) -> np.ndarray:
    """Big-endian signed int16 (I, Q) samples."""
    v = rows.view(">i2").astype(np.float32)
    return (v[:, 0::2] + 1j * v[:, 1::2]).astype(np.complex64)


def decode_ci4(rows: np.ndarray) -> np.ndarray:
    """Big-endian signed int32 (I, Q) samples."""
    v = rows.view(">i4").astype(np.float64)
    return (v[:, 0::2] + 1j * v[:, 1::2]).astype(np.complex64)


def decode_u1(bias_i: float, bias_q: float) -> Decoder:
    """Unsigned 8-bit (I, Q) samples minus the DC biases."""
    def decode(rows: np.ndarray) -> np.ndarray:
        v = rows.astype(np.float32)
        return ((v[:, 0::2] - bias_i) + 1j * (v[:, 1::2] - bias_q)).astype(np.complex64)
    return decode


def record_bytes_columns(cont: CeosContainer, name: str, start: int, reclen: int, n: int, lo: int, hi: int,
                         block_records: int = 4096) -> np.ndarray:
    """Bytes [lo, hi) of each of ``n`` records (an (n, hi - lo) uint8 array), read block by block (memory
    bounded by ``block_records`` records; a local file is memory-mapped)."""
    local = cont.local_path(name)
    if local is not None:
        mm = np.memmap(local, np.uint8, mode="r", offset=start, shape=(n, reclen))
        return np.ascontiguousarray(mm[:, lo:hi])
    out = np.empty((n, hi - lo), np.uint8)
    for a in range(0, n, block_records):
        b = min(a + block_records, n)
        buf = cont.read(name, (b - a) * reclen, start + a * reclen)
        if len(buf) != (b - a) * reclen:
            raise InputFileError(cont.display(name), f"image records {a}..{b - 1}", "the file ends early (truncated)")
        out[a:b] = np.frombuffer(buf, np.uint8).reshape(b - a, reclen)[:, lo:hi]
    return out
