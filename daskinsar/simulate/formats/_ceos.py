"""CEOS records for the format writers: leader/image file descriptors, data set summary, platform position."""

from __future__ import annotations

import numpy as np

from ...geometry.orbit import Orbit, parse_utc
from ...io.ceos_records import (DATA_SET_SUMMARY, HEADER, IMAGE_FILE_DESCRIPTOR, PLATFORM_POSITION_HEADER,
                                PP_HEADER_END, PP_POINT_BYTES, build_record, ecef_to_eci, field_table)

__all__ = ["leader_descriptor", "dss_record", "platform_record", "image_descriptor", "ceos_clock", "record_bytes",
           "volume_descriptor"]

_FILE_DESC, _ = field_table(
    ("ascii_flag", 2, "A"), ("_1", 2, "X"), ("format_document", 12, "A"), ("format_revision", 2, "A"),
    ("record_revision", 2, "A"), ("software", 12, "A"), ("file_number", 4, "I"), ("file_name", 16, "A"),
    ("_2", 108, "X"), ("n_dss", 6, "I"), ("dss_length", 6, "I"), ("n_map", 6, "I"), ("map_length", 6, "I"),
    ("n_pp", 6, "I"), ("pp_length", 6, "I"),
)


def ceos_clock(t: np.datetime64, digits: int = 3) -> str:
    """'YYYYMMDDhhmmssttt' (``digits`` decimals, rounded) of a UTC time."""
    q = np.timedelta64(10 ** (9 - digits), "ns")
    t = t.astype("datetime64[ns]")
    t = (t + q // 2) - ((t + q // 2) - np.datetime64("2000-01-01", "ns")) % q
    s = str(t)
    frac = (s[20:] + "0" * 9)[:digits]
    return s[:4] + s[5:7] + s[8:10] + s[11:13] + s[14:16] + s[17:19] + frac


def leader_descriptor(name: str, *, dss_length: int, pp_length: int, codes=(63, 192, 18, 18),
                      software: str = "daskinsar") -> bytes:
    return build_record(_FILE_DESC, {"ascii_flag": "A", "format_document": "CEOS-SAR-CCT", "format_revision": "A",
                                     "record_revision": "A", "software": software, "file_number": 1,
                                     "file_name": name, "n_dss": 1, "dss_length": dss_length, "n_map": 0,
                                     "map_length": 0, "n_pp": 1, "pp_length": pp_length},
                        sequence=1, codes=codes, length=720)


def volume_descriptor(text: str) -> bytes:
    """A one-record volume directory (type 192) naming the product."""
    rec = bytearray(build_record({}, {}, sequence=1, codes=(192, 192, 18, 18), length=360))
    rec[16:16 + len(text[:300])] = text[:300].encode("ascii")
    return bytes(rec)


def dss_record(values: dict, *, sequence: int = 2, length: int = 1886, codes=(18, 10, 18, 20)) -> bytes:
    return build_record(DATA_SET_SUMMARY, {"sequence_number": 1, "sar_channel": 1, **values},
                        sequence=sequence, codes=codes, length=length)


def platform_record(orbit: Orbit, *, sequence: int = 3, frame: str = "EARTH FIXED", inertial: bool = False,
                    gmha_deg: float = 0.0, velocity_scale: float = 1.0, year_offset: int = 0,
                    codes=(18, 30, 18, 20), length: int | None = None) -> bytes:
    """A platform position record of ``orbit``'s (uniformly spaced) state vectors; inertial ones rotated by the
    Greenwich hour angle ``gmha_deg`` at the first vector; velocities stored times ``velocity_scale``."""
    t = orbit.time
    dt = float(t[1] - t[0])
    t0 = parse_utc(orbit.epoch) + np.timedelta64(int(round(t[0] * 1e9)), "ns")
    day = t0.astype("datetime64[D]")
    sod = float((t0 - day) / np.timedelta64(1, "ns")) * 1e-9
    y, m, d = (int(x) for x in str(day).split("-"))
    doy = int((day - day.astype("datetime64[Y]")) / np.timedelta64(1, "D")) + 1
    pos, vel = orbit.position, orbit.velocity
    if inertial:
        pos, vel = ecef_to_eci(t - t[0], pos, vel, gmha_deg)
    n = len(t)
    length = length or PP_HEADER_END + n * PP_POINT_BYTES
    rec = bytearray(build_record(PLATFORM_POSITION_HEADER, {
        "orbital_elements": "RESTITUTED", "n_points": n, "year": y - year_offset, "month": m, "day": d,
        "day_of_year": doy, "seconds_of_day": sod, "interval_s": dt, "frame": frame, "gmha_deg": gmha_deg},
        sequence=sequence, codes=codes, length=length))
    vals = np.concatenate([pos, vel * velocity_scale], axis=1).reshape(-1)
    txt = "".join(f"{v:22.15E}" for v in vals).encode("ascii")
    rec[PP_HEADER_END: PP_HEADER_END + len(txt)] = txt
    return bytes(rec)


def image_descriptor(name: str, *, n_lines: int, n_pixels: int, record_length: int, prefix_bytes: int,
                     bits: int, samples_per_group: int, bytes_per_group: int, format_code: str,
                     format_type: str, codes=(63, 192, 18, 18)) -> bytes:
    return build_record(IMAGE_FILE_DESCRIPTOR, {
        "ascii_flag": "A", "format_document": "CEOS-SAR-CCT", "format_revision": "A", "record_revision": "A",
        "software": "daskinsar", "file_number": 2, "file_name": name, "n_records": n_lines,
        "record_length": record_length, "bits_per_sample": bits, "samples_per_group": samples_per_group,
        "bytes_per_group": bytes_per_group, "justification": "", "n_channels": 1, "n_lines": n_lines,
        "left_border": 0, "n_pixels": n_pixels, "right_border": 0, "top_border": 0, "bottom_border": 0,
        "interleaving": "BSQ", "records_per_line": 1, "records_per_multichannel_line": 1,
        "prefix_bytes": prefix_bytes, "data_bytes": n_pixels * bytes_per_group, "suffix_bytes": 0,
        "format_type": format_type, "format_code": format_code}, sequence=1, codes=codes, length=720)


def record_bytes(prefix: bytes, body: bytes, sequence: int, codes=(50, 10, 31, 20)) -> bytes:
    """One image record: ``prefix`` (its first 12 bytes are replaced by the header) followed by ``body``."""
    rec = bytearray(prefix + body)
    rec[:12] = HEADER.pack(sequence, *codes, len(rec))
    return bytes(rec)
