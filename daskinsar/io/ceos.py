"""CEOS SAR products of JAXA: ALOS PALSAR (level 1.0 raw, 1.1 SLC) and ALOS-2 PALSAR-2 (level 1.1 SLC).

A CEOS product is a set of files (``VOL-*`` volume directory, ``LED-*`` SAR leader,
``IMG-<pol>-*`` image files, ``TRL-*`` trailer), in a folder or a zip. Every file is
a sequence of records; each record starts with a 12-byte binary header (big-endian):

=======  =====  ==========================================
bytes    type   meaning
=======  =====  ==========================================
1-4      int32  record sequence number (1, 2, ...)
5        uint8  first record subtype code
6        uint8  record type code (192 file descriptor, 10 data set summary,
                20 map projection, 30 platform position, 40 attitude,
                50 radiometric, 60 data quality, 10/11 signal/processed data in IMG)
7        uint8  second record subtype code
8        uint8  third record subtype code
9-12     int32  record length in bytes (header included)
=======  =====  ==========================================

The rest of a record holds fields at fixed byte positions: ASCII text, ASCII integers
and floats right-justified in fixed widths, or big-endian binary integers. The field
tables below (1-based byte positions as in JAXA's format descriptions of the ALOS
PALSAR level 1.0/1.1 and ALOS-2 PALSAR-2 level 1.1/1.5 products) were checked
against a real ALOS-2 leader (data set summary, platform position, image file
descriptor). The signal data record table is not checked on real data here (the
test product holds no image lines).

Conventions used to build :class:`~daskinsar.scene.RadarMetadata`:

- PRF: data set summary field in mHz; range sampling rate in MHz; wavelength in m;
- chirp slope: JAXA stores it as the "amplitude coefficient linear term" (Hz/s;
  slope x pulse length equals the range bandwidth); pulse length in microseconds;
- look side from the sensor clock angle (+90 right, -90 left);
- ALOS-2 Doppler centroid: ``c0 + c1 * R_km`` (Hz, slant range in km);
- the orbit's epoch is the first image line time (levels 1.0/1.1) or, for products
  without image records, the scene centre time;
- level 1.1 samples are big-endian complex float32 (``C*8``); level 1.0 raw samples
  are 8-bit unsigned I/Q pairs, returned as complex64 minus the leader's I/Q DC bias.
"""

from __future__ import annotations

import os
import posixpath
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from ..errors import InputFileError
from ..geometry.orbit import Orbit, parse_utc
from ..scene import Chirp, Poly1D, RadarMetadata, Scene, radar_grid_coords
from .readers import ReaderInfo

__all__ = [
    "CeosRecord", "CeosProduct", "read_records", "parse_fields", "open_ceos", "read_ceos", "sniff_alos2",
    "sniff_alos", "DATA_SET_SUMMARY", "PLATFORM_POSITION_HEADER", "IMAGE_FILE_DESCRIPTOR", "SIGNAL_DATA_RECORD",
    "build_record",
]

HEADER = struct.Struct(">IBBBBI")
HEADER_LEN = 12
_EXPECTED = "a JAXA CEOS SAR product (VOL-/LED-/IMG-/TRL- files, folder or zip)"


# ----------------------------------------------------------------------------
# field tables: (name, length, kind); kinds: A text, I ascii int, F ascii float,
# B1/B2/B4/B8 big-endian binary integers, X skipped bytes. Start at byte 13.
# ----------------------------------------------------------------------------
def _table(*items):
    out, off = {}, HEADER_LEN
    for name, n, kind in items:
        if kind != "X":
            out[name] = (off, n, kind)
        off += n
    return out, off


DATA_SET_SUMMARY, _ = _table(
    ("sequence_number", 4, "I"), ("sar_channel", 4, "I"), ("scene_id", 16, "A"), ("scene_reference", 32, "A"),
    ("scene_centre_time", 32, "A"), ("pass", 16, "A"), ("scene_centre_lat_deg", 16, "F"),
    ("scene_centre_lon_deg", 16, "F"), ("scene_centre_heading_deg", 16, "F"), ("ellipsoid", 16, "A"),
    ("semimajor_km", 16, "F"), ("semiminor_km", 16, "F"), ("gm", 16, "F"), ("_1", 16, "X"), ("j2", 16, "F"),
    ("j3", 16, "F"), ("j4", 16, "F"), ("_2", 16, "X"), ("terrain_height_m", 16, "F"),
    ("scene_centre_line", 8, "I"), ("scene_centre_pixel", 8, "I"), ("scene_length_km", 16, "F"),
    ("scene_width_km", 16, "F"), ("_3", 16, "X"), ("n_sar_channels", 4, "I"), ("_4", 4, "X"),
    ("mission", 16, "A"), ("sensor_id", 32, "A"), ("orbit_number", 8, "A"), ("nadir_lat_deg", 8, "F"),
    ("nadir_lon_deg", 8, "F"), ("nadir_heading_deg", 8, "F"), ("clock_angle_deg", 8, "F"),
    ("incidence_centre_deg", 8, "F"), ("_5", 8, "X"), ("wavelength_m", 16, "F"), ("motion_compensation", 2, "A"),
    ("pulse_code", 16, "A"), ("chirp_amp_c0", 16, "F"), ("chirp_amp_c1", 16, "F"), ("chirp_amp_c2", 16, "F"),
    ("chirp_amp_c3", 16, "F"), ("chirp_amp_c4", 16, "F"), ("chirp_phase_c0", 16, "F"), ("chirp_phase_c1", 16, "F"),
    ("chirp_phase_c2", 16, "F"), ("chirp_phase_c3", 16, "F"), ("chirp_phase_c4", 16, "F"),
    ("chirp_extraction_index", 8, "I"), ("_6", 8, "X"), ("range_sampling_rate_mhz", 16, "F"),
    ("range_gate_delay_us", 16, "F"), ("pulse_length_us", 16, "F"), ("baseband_flag", 4, "A"),
    ("range_compressed_flag", 4, "A"), ("rx_gain_like_db", 16, "F"), ("rx_gain_cross_db", 16, "F"),
    ("quantization_bits", 8, "I"), ("quantizer", 12, "A"), ("dc_bias_i", 16, "F"), ("dc_bias_q", 16, "F"),
    ("iq_gain_imbalance", 16, "F"), ("_7", 32, "X"), ("electronic_boresight_deg", 16, "F"),
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
    ("doppler_c1_hz_per_km", 16, "F"),
)

PLATFORM_POSITION_HEADER, _PP_END = _table(
    ("orbital_elements", 32, "A"), ("osc_x", 16, "F"), ("osc_y", 16, "F"), ("osc_z", 16, "F"), ("osc_vx", 16, "F"),
    ("osc_vy", 16, "F"), ("osc_vz", 16, "F"), ("n_points", 4, "I"), ("year", 4, "I"), ("month", 4, "I"),
    ("day", 4, "I"), ("day_of_year", 4, "I"), ("seconds_of_day", 22, "F"), ("interval_s", 22, "F"),
    ("frame", 64, "A"), ("gmha_deg", 22, "F"), ("along_track_error", 16, "F"), ("across_track_error", 16, "F"),
    ("radial_error", 16, "F"), ("along_track_velocity_error", 16, "F"), ("across_track_velocity_error", 16, "F"),
    ("radial_velocity_error", 16, "F"),
)
_PP_POINT = 6 * 22  # x, y, z, vx, vy, vz as 22-character floats

IMAGE_FILE_DESCRIPTOR, _ = _table(
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

SIGNAL_DATA_RECORD, _SDR_END = _table(
    ("line_number", 4, "B4"), ("record_index", 4, "B4"), ("left_fill", 4, "B4"), ("n_pixels", 4, "B4"),
    ("right_fill", 4, "B4"), ("update_flag", 4, "B4"), ("year", 4, "B4"), ("day_of_year", 4, "B4"),
    ("ms_of_day", 4, "B4"), ("channel_indicator", 2, "B2"), ("channel_code", 2, "B2"), ("tx_pol", 2, "B2"),
    ("rx_pol", 2, "B2"), ("prf_mhz", 4, "B4"), ("scan_id", 4, "B4"), ("range_compressed", 2, "B2"),
    ("chirp_type", 2, "B2"), ("chirp_length_ns", 4, "B4"), ("chirp_c0", 4, "B4"), ("chirp_c1", 4, "B4"),
    ("chirp_c2", 4, "B4"), ("us_of_day", 8, "B8"), ("rx_gain_db", 4, "B4"), ("invalid_line", 4, "B4"),
    ("elevation_electronic", 4, "B4"), ("elevation_mechanical", 4, "B4"), ("squint_electronic", 4, "B4"),
    ("squint_mechanical", 4, "B4"), ("slant_range_first_sample_m", 4, "B4"), ("window_position", 4, "B4"),
)

_BIN = {"B1": ">u1", "B2": ">i2", "B4": ">i4", "B8": ">i8"}


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

    Stops at zero padding (a header with sequence 0 and length 0). A record whose
    length is below 12 bytes or runs past the end of the file raises
    :class:`InputFileError`.
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
        if seq != len(out) + 1 and not out:
            raise InputFileError(path, "a CEOS file starting with record number 1", f"record number {seq}")
        out.append(CeosRecord(off, seq, s1, t, s2, s3, n, bytes(data[off: off + n])))
        off += n
        if max_records is not None and len(out) >= max_records:
            break
    if not out:
        raise InputFileError(path, "a CEOS file", "no records")
    return out


def parse_fields(rec: bytes | CeosRecord, table: dict, *, path: str = "record") -> dict[str, Any]:
    """Decode the fields of ``table`` from a record. Blank or unparsable ASCII numbers become None/NaN."""
    buf = rec.data if isinstance(rec, CeosRecord) else rec
    out: dict[str, Any] = {}
    for name, (off, n, kind) in table.items():
        if off + n > len(buf):
            raise InputFileError(path, f"field {name!r} at bytes {off + 1}-{off + n}",
                                 f"a record of only {len(buf)} bytes")
        raw = buf[off: off + n]
        if kind in _BIN:
            out[name] = int(np.frombuffer(raw, _BIN[kind])[0])
            continue
        txt = raw.decode("ascii", errors="replace").strip()
        if kind == "A":
            out[name] = txt
        elif kind == "I":
            try:
                out[name] = int(txt) if txt else None
            except ValueError:
                out[name] = None
        else:
            try:
                out[name] = float(txt) if txt else float("nan")
            except ValueError:
                out[name] = float("nan")
    return out


def build_record(table: dict, values: dict[str, Any], *, sequence: int, codes: tuple[int, int, int, int],
                 length: int) -> bytes:
    """Encode a record (for writing test products): the inverse of :func:`parse_fields`."""
    buf = bytearray(b" " * length)
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
            s = f"{v:.{max(n - 8, 1)}E}" if kind == "F" else str(v)
            buf[off: off + n] = s.rjust(n)[:n].encode("ascii")
    return bytes(buf)


# ----------------------------------------------------------------------------
# container: folder, zip or one of the files
# ----------------------------------------------------------------------------
class _Container:
    """The files of a CEOS product in a folder or a zip; picklable (paths only)."""

    def __init__(self, path: str):
        self.path = str(path)
        p = self.path
        if os.path.isdir(p):
            self.root, self.is_zip = p, False
            self.names = sorted(os.listdir(p))
        elif os.path.isfile(p) and zipfile.is_zipfile(p):
            self.root, self.is_zip = p, True
            try:
                with zipfile.ZipFile(p) as zf:
                    self.names = sorted(n for n in zf.namelist() if not n.endswith("/"))
            except (zipfile.BadZipFile, OSError) as exc:
                raise InputFileError(p, _EXPECTED, f"an unreadable zip ({exc})") from None
        elif os.path.isfile(p):
            self.root, self.is_zip = os.path.dirname(p) or ".", False
            self.names = sorted(os.listdir(self.root))
        else:
            raise InputFileError(p, _EXPECTED, "no such file or folder")

    def find(self, prefix: str) -> list[str]:
        return [n for n in self.names if posixpath.basename(n).upper().startswith(prefix)]

    def display(self, name: str) -> str:
        return f"{self.root}!/{name}" if self.is_zip else os.path.join(self.root, name)

    def size(self, name: str) -> int:
        if self.is_zip:
            with zipfile.ZipFile(self.root) as zf:
                return zf.getinfo(name).file_size
        return os.path.getsize(os.path.join(self.root, name))

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
        except (OSError, zipfile.BadZipFile, zlib.error, EOFError, KeyError) as exc:
            raise InputFileError(self.display(name), "a readable CEOS file", str(exc)) from None


# ----------------------------------------------------------------------------
# product
# ----------------------------------------------------------------------------
def _ceos_time(s: str) -> str:
    """'YYYYMMDDhhmmssttt...' (scene centre time) -> ISO-8601."""
    s = s.strip()
    if len(s) < 14 or not s[:14].isdigit():
        raise ValueError(f"scene centre time {s!r}")
    frac = "".join(ch for ch in s[14:] if ch.isdigit())
    iso = f"{s[:4]}-{s[4:6]}-{s[6:8]}T{s[8:10]}:{s[10:12]}:{s[12:14]}"
    return iso + (f".{frac}" if frac else "")


def _doy_time(year: int, doy: int, seconds_of_day: float) -> str:
    t = (np.datetime64(f"{year:04d}-01-01", "ns") + np.timedelta64(doy - 1, "D")
         + np.timedelta64(int(round(seconds_of_day * 1e9)), "ns"))
    return str(t)


@dataclass
class CeosImageFile:
    name: str
    polarization: str
    descriptor: dict[str, Any]
    descriptor_length: int
    file_size: int
    first_record: dict[str, Any] | None

    @property
    def n_records_present(self) -> int:
        reclen = self.descriptor["record_length"] or 0
        return max(self.file_size - self.descriptor_length, 0) // reclen if reclen else 0


@dataclass
class CeosProduct:
    """A parsed CEOS product: leader records, orbit, image file descriptors, metadata."""

    path: str
    container: _Container
    sensor: str
    leader_name: str
    summary: dict[str, Any]
    platform: dict[str, Any]
    orbit: Orbit
    images: dict[str, CeosImageFile]
    meta: RadarMetadata
    level: str
    volume: list[CeosRecord] = field(default_factory=list)
    leader_records: list[CeosRecord] = field(default_factory=list)
    trailer: list[CeosRecord] = field(default_factory=list)

    @property
    def scene_centre_time(self) -> str:
        return _ceos_time(self.summary["scene_centre_time"])


def _orbit_from_platform(rec: CeosRecord, path: str, epoch: str | None) -> tuple[dict, Orbit]:
    hdr = parse_fields(rec, PLATFORM_POSITION_HEADER, path=path)
    n = hdr["n_points"]
    if not n or n < 2:
        raise InputFileError(path, "a platform position record with >= 2 state vectors", f"{n} points")
    need = _PP_END + n * _PP_POINT
    if need > len(rec.data):
        raise InputFileError(path, f"{n} state vectors in the platform position record",
                             f"a record of {len(rec.data)} bytes")
    txt = rec.data[_PP_END: need].decode("ascii", errors="replace")
    try:
        vals = np.array([float(txt[i * 22:(i + 1) * 22]) for i in range(6 * n)]).reshape(n, 6)
    except ValueError as exc:
        raise InputFileError(path, "numeric state vectors in the platform position record", str(exc)) from None
    t0 = _doy_time(hdr["year"], hdr["day_of_year"], hdr["seconds_of_day"])
    times = hdr["interval_s"] * np.arange(n)
    orbit = Orbit(t0, times, vals[:, :3], vals[:, 3:], source=path)
    if epoch is not None:
        orbit = orbit.shift_epoch(epoch)
    return hdr, orbit


def _pol_of(name: str) -> str:
    parts = posixpath.basename(name).upper().split("-")
    return parts[1] if len(parts) > 2 else "HH"


_PARSE_ERRORS = (ValueError, KeyError, IndexError, TypeError, OverflowError, struct.error, UnicodeDecodeError,
                 EOFError, OSError, zipfile.BadZipFile, zlib.error)


def open_ceos(path: str | os.PathLike, *, sensor: str | None = None) -> CeosProduct:
    """Parse a CEOS product's leader and image file descriptors (no image lines read).

    Any damage (truncated, empty, wrong-format files) raises :class:`InputFileError`.
    """
    try:
        return _open_ceos(path, sensor=sensor)
    except InputFileError:
        raise
    except _PARSE_ERRORS as exc:  # includes pydantic's ValidationError (a ValueError)
        raise InputFileError(str(path), _EXPECTED, f"invalid content ({type(exc).__name__}: {exc})") from None


def _open_ceos(path: str | os.PathLike, *, sensor: str | None = None) -> CeosProduct:
    cont = _Container(str(path))
    leds = cont.find("LED-")
    if not leds:
        raise InputFileError(cont.path, _EXPECTED, "no LED- (SAR leader) file")
    led = leds[0]
    disp = cont.display(led)
    recs = read_records(cont.read(led), disp)
    if recs[0].type_code != 192:
        raise InputFileError(disp, "a SAR leader starting with a file descriptor record (type 192)",
                             f"record type {recs[0].type_code}")
    by_type: dict[int, CeosRecord] = {}
    for r in recs[1:]:
        by_type.setdefault(r.type_code, r)
    if 10 not in by_type:
        raise InputFileError(disp, "a data set summary record (type 10)", "none")
    if 30 not in by_type:
        raise InputFileError(disp, "a platform position record (type 30)", "none")
    summ = parse_fields(by_type[10], DATA_SET_SUMMARY, path=disp)
    try:
        centre = _ceos_time(summ["scene_centre_time"])
        parse_utc(centre)
    except ValueError as exc:
        raise InputFileError(disp, "a scene centre time YYYYMMDDhhmmssttt in the data set summary", str(exc)) from None
    mission = (summ["mission"] or "").upper().replace(" ", "")
    sensor = (sensor or ("ALOS2" if mission.startswith("ALOS2") else "ALOS" if mission.startswith("ALOS")
                         else mission or "CEOS")).upper()

    images: dict[str, CeosImageFile] = {}
    for img in cont.find("IMG-"):
        idisp = cont.display(img)
        size = cont.size(img)
        head = cont.read(img, min(size, 16384))
        if len(head) < HEADER_LEN:
            raise InputFileError(idisp, "a CEOS image file (file descriptor record)", f"only {len(head)} bytes")
        dlen = HEADER.unpack_from(head, 0)[5]
        irecs = read_records(head[:dlen] if HEADER_LEN <= dlen <= len(head) else head, idisp, max_records=1)
        if irecs[0].type_code != 192:
            raise InputFileError(idisp, "an image file starting with a file descriptor record (type 192)",
                                 f"record type {irecs[0].type_code}")
        desc = parse_fields(irecs[0], IMAGE_FILE_DESCRIPTOR, path=idisp)
        if not desc["record_length"] or not desc["n_pixels"] or not desc["n_lines"]:
            raise InputFileError(idisp, "an image file descriptor with record length, lines and pixels",
                                 f"{desc['record_length']}, {desc['n_lines']}, {desc['n_pixels']}")
        first = None
        if size >= irecs[0].length + _SDR_END:
            r1 = head[irecs[0].length: irecs[0].length + _SDR_END]
            if len(r1) == _SDR_END:
                first = parse_fields(r1, SIGNAL_DATA_RECORD, path=idisp)
        images[_pol_of(img)] = CeosImageFile(img, _pol_of(img), desc, irecs[0].length, size, first)

    level_txt = (summ.get("product_level") or "").strip()
    first_img = next(iter(images.values()), None)
    if level_txt.startswith("1.0") or (first_img and first_img.descriptor["bits_per_sample"] == 8):
        level = "raw"
    elif level_txt.startswith("1.1") or (first_img and (first_img.descriptor["format_code"] or "").startswith("C")):
        level = "slc"
    else:
        level = "product"

    # epoch: first image line time if an image record is there, else scene centre time
    epoch = centre
    if first_img is not None and first_img.first_record is not None:
        fr = first_img.first_record
        sod = fr["us_of_day"] * 1e-6 if sensor == "ALOS2" and fr["us_of_day"] > 0 else fr["ms_of_day"] * 1e-3
        if fr["year"] > 1990 and 1 <= fr["day_of_year"] <= 366:
            epoch = _doy_time(fr["year"], fr["day_of_year"], sod)
    _, orbit = _orbit_from_platform(by_type[30], disp, epoch)

    prf = summ["prf_mhz"] * 1e-3
    fs = summ["range_sampling_rate_mhz"] * 1e6
    lam = summ["wavelength_m"]
    for name, v in (("PRF", prf), ("range sampling rate", fs), ("wavelength", lam)):
        if not np.isfinite(v) or v <= 0:
            raise InputFileError(disp, f"a positive {name} in the data set summary", str(v))
    clock = summ["clock_angle_deg"]
    look = "left" if np.isfinite(clock) and clock < 0 else "right"
    slope = summ["chirp_amp_c1"]
    tau_p = summ["pulse_length_us"] * 1e-6
    chirp = Chirp(slope_hz_per_s=slope, duration_s=tau_p) if np.isfinite(slope) and np.isfinite(tau_p) else None
    c0, c1 = summ["doppler_c0_hz"], summ["doppler_c1_hz_per_km"]
    if sensor == "ALOS2" and np.isfinite(c0):
        dop = Poly1D(reference=0.0, scale=1000.0, coeffs=[c0, c1 if np.isfinite(c1) else 0.0])
    else:
        dc0 = summ["cross_track_dc_c0"]
        dop = Poly1D(coeffs=[dc0 if np.isfinite(dc0) else 0.0])
    rbw = summ["bandwidth_range_khz"]
    abw = summ["bandwidth_azimuth_hz"]
    pol = first_img.polarization if first_img else None
    meta = RadarMetadata(
        sensor=sensor,
        platform=summ["mission"] or None,
        mode=(summ["sensor_id"] or None),
        polarization=pol,
        level=level,
        epoch=epoch,
        wavelength_m=lam,
        prf_hz=prf,
        range_sampling_rate_hz=fs,
        azimuth_line_interval_s=1.0 / prf,
        look_side=look,
        grid="zero_doppler" if level == "slc" else "native_doppler",
        doppler_centroid=dop,
        chirp=chirp,
        range_bandwidth_hz=rbw * 1e3 if np.isfinite(rbw) else None,
        azimuth_bandwidth_hz=abw if np.isfinite(abw) else None,
        source_files=[cont.display(led)] + [cont.display(i.name) for i in images.values()],
        extra={
            "product_level": level_txt,
            "product_type": summ["product_type"],
            "scene_id": summ["scene_id"],
            "scene_centre_time": centre,
            "scene_centre_lat_deg": summ["scene_centre_lat_deg"],
            "scene_centre_lon_deg": summ["scene_centre_lon_deg"],
            "incidence_centre_deg": summ["incidence_centre_deg"],
            "clock_angle_deg": clock,
            "pass": summ["time_direction_line"] or summ["pass"],
            "orbit_number": summ["orbit_number"],
        },
    )
    vol = []
    vols = cont.find("VOL-")
    if vols:
        vol = read_records(cont.read(vols[0]), cont.display(vols[0]))
    trl = []
    trls = cont.find("TRL-")
    if trls:  # the trailer's file descriptor (the rest is quick-look data or padding)
        trl = read_records(cont.read(trls[0], 65536), cont.display(trls[0]), max_records=1)
    platform = parse_fields(by_type[30], PLATFORM_POSITION_HEADER, path=disp)
    return CeosProduct(cont.path, cont, sensor, led, summ, platform, orbit, images, meta, level, vol, recs, trl)


# ----------------------------------------------------------------------------
# image lines (lazy)
# ----------------------------------------------------------------------------
def _read_lines(cont: _Container, name: str, start: int, reclen: int, prefix: int, r0: int, r1: int, nbytes: int,
                fmt: str, bias: tuple[float, float], display: str) -> np.ndarray:
    """Lines [r0, r1) of an IMG file (a dask task; opens the file itself)."""
    need = (r1 - r0) * reclen
    buf = cont.read(name, need, start + r0 * reclen)
    if len(buf) != need:
        raise InputFileError(display, f"image lines {r0}..{r1 - 1}", "the file ends early (truncated)")
    rows = np.frombuffer(buf, np.uint8).reshape(r1 - r0, reclen)[:, prefix: prefix + nbytes]
    rows = np.ascontiguousarray(rows)
    if fmt == "C*8":
        v = rows.view(">f4").astype(np.float32)
        return (v[:, 0::2] + 1j * v[:, 1::2]).astype(np.complex64)
    if fmt == "C*2":
        v = rows.astype(np.float32)
        return ((v[:, 0::2] - bias[0]) + 1j * (v[:, 1::2] - bias[1])).astype(np.complex64)
    raise ValueError(fmt)


def read_ceos(path: str, *, polarization: str | None = None, sensor: str | None = None,
              chunks: int = 1024) -> Scene:
    """Read a CEOS level 1.0 (raw) or 1.1 (SLC) product as a lazy Scene (``raw`` or ``slc``).

    Raises :class:`InputFileError` for products whose IMG files hold no image
    records (metadata-only deliveries) and for map-projected levels (1.5).
    Use :func:`open_ceos` for the metadata and orbit alone.
    """
    import dask.array as da
    from dask.base import tokenize

    prod = open_ceos(path, sensor=sensor)
    if not prod.images:
        raise InputFileError(prod.path, "an IMG-<pol> image file", "none")
    pol = (polarization or ("HH" if "HH" in prod.images else next(iter(prod.images)))).upper()
    if pol not in prod.images:
        raise InputFileError(prod.path, f"an IMG-{pol} image file", f"only {', '.join(prod.images)}")
    img = prod.images[pol]
    disp = prod.container.display(img.name)
    d = img.descriptor
    if img.n_records_present == 0:
        raise InputFileError(disp, f"{d['n_records']} image records of {d['record_length']} bytes after the "
                                   f"{img.descriptor_length}-byte file descriptor",
                             "no image records (the IMG file holds its file descriptor only)")
    if img.n_records_present < d["n_records"]:
        raise InputFileError(disp, f"{d['n_records']} image records", f"only {img.n_records_present} (truncated)")
    layout = (d["bits_per_sample"], d["samples_per_group"], d["bytes_per_group"])
    fmt = {(32, 2, 8): "C*8", (8, 2, 2): "C*2"}.get(layout)
    if prod.level == "product" or fmt is None:
        raise InputFileError(disp, "level 1.0 raw (8-bit I/Q) or level 1.1 SLC (complex float32) image data",
                             f"level {prod.summary.get('product_level')!r}, {layout[0]} bits x {layout[1]} samples "
                             f"in {layout[2]} bytes ({(d['format_code'] or '').strip()!r})")
    n_lines, n_pix = d["n_lines"], d["n_pixels"]
    nbytes = n_pix * d["bytes_per_group"]
    fr = img.first_record or {}
    r0_m = float(fr.get("slant_range_first_sample_m") or 0.0)
    if r0_m <= 0:
        raise InputFileError(disp, "a positive slant range to the first sample in the first signal data record",
                             str(r0_m))
    raw_bias = (prod.summary.get("dc_bias_i") or 0.0, prod.summary.get("dc_bias_q") or 0.0)
    bias = tuple(0.0 if not np.isfinite(b) else float(b) for b in raw_bias)
    name = f"read-ceos-{prod.sensor.lower()}-" + tokenize(prod.path, img.name, d)
    step = max(int(chunks), 1)
    bounds = list(range(0, n_lines, step)) + [n_lines]
    graph = {(name, i, 0): (_read_lines, prod.container, img.name, img.descriptor_length, d["record_length"],
                            d["prefix_bytes"], a, b, nbytes, fmt, bias, disp)
             for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))}
    arr = da.Array(graph, name, (tuple(np.diff(bounds)), (n_pix,)), dtype=np.complex64)
    meta = prod.meta.model_copy(update={"polarization": pol})
    coords = radar_grid_coords(0.0, meta.line_interval_s, n_lines, r0_m, meta.range_spacing_m, n_pix)
    var = "raw" if prod.level == "raw" else "slc"
    ds = xr.Dataset({var: (("azimuth", "range"), arr)}, coords=coords)
    ds.attrs["sensor"] = prod.sensor
    return Scene(ds, meta, prod.orbit)


def _sniff(path: str, mission: str) -> bool:
    try:
        cont = _Container(str(path))
        leds = cont.find("LED-")
        if not leds:
            return False
        recs = read_records(cont.read(leds[0], 720 + 4096), "LED", max_records=2)
        if len(recs) < 2 or recs[1].type_code != 10:
            return False
        m = parse_fields(recs[1], {"mission": DATA_SET_SUMMARY["mission"]})["mission"].upper().replace(" ", "")
        return m == mission
    except Exception:
        return False


def sniff_alos2(path: str) -> bool:
    """A folder / zip / file of a CEOS product whose leader names mission ALOS2."""
    return _sniff(path, "ALOS2")


def sniff_alos(path: str) -> bool:
    """A folder / zip / file of a CEOS product whose leader names mission ALOS (PALSAR)."""
    return _sniff(path, "ALOS")


def _read_alos2(path: str, *, polarization: str | None = None, chunks: int = 1024) -> Scene:
    return read_ceos(path, sensor="ALOS2", polarization=polarization, chunks=chunks)


def _read_alos(path: str, *, polarization: str | None = None, chunks: int = 1024) -> Scene:
    return read_ceos(path, sensor="ALOS", polarization=polarization, chunks=chunks)


ALOS2_READER = ReaderInfo(
    name="ALOS2",
    description="ALOS-2 PALSAR-2 CEOS level 1.1 SLC (folder or zip); leader metadata + orbit",
    sniff=sniff_alos2, read=_read_alos2, levels=("slc",), tested_on_real_data=True,
    aliases=("ALOS-2", "PALSAR2"),
)
ALOS_READER = ReaderInfo(
    name="ALOS",
    description="ALOS PALSAR CEOS level 1.0 raw / 1.1 SLC (folder or zip)",
    sniff=sniff_alos, read=_read_alos, levels=("raw", "slc"), tested_on_real_data=False,
    aliases=("ALOS1", "PALSAR"),
)
