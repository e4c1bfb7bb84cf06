"""Pieces shared by the ESA-style CEOS readers (ERS-1/2, RADARSAT-1, RISAT-1): leader and image file
descriptor lookup with mission checks, record prefix sizes, the processed data record of SLC products, and
the look side implied by the leader's scene centre."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ..errors import InputFileError
from ..geometry.ellipsoid import llh_to_ecef
from ..geometry.orbit import Orbit
from .ceos_records import (DATA_SET_SUMMARY, HEADER, HEADER_LEN, IMAGE_FILE_DESCRIPTOR, CeosContainer, CeosRecord,
                           field_table, mission_id, parse_fields, read_records)

Level = Literal["raw", "slc"]
Grid = Literal["zero_doppler", "native_doppler"]
LookSide = Literal["left", "right"]

__all__ = ["Level", "Grid", "LookSide", "LEADER_PREFIXES", "IMAGE_PREFIXES", "read_leader", "image_descriptor",
           "check_descriptor",
           "prefix_bytes", "look_side_from_scene_centre", "processed_record_table", "sniff_mission"]

LEADER_PREFIXES = ("LEA_", "SARLEADER")
IMAGE_PREFIXES = ("DAT_", "IMAGERY")


def read_leader(cont: CeosContainer, missions: tuple[str, ...], label: str, expected: str,
                strict: tuple[str, ...] = ()) -> tuple[str, list[CeosRecord], dict[str, Any], str]:
    """(leader name, records, data set summary fields, display path); the summary's mission field must be one
    of ``missions`` (normalised, see :func:`~daskinsar.io.ceos_records.mission_id`); the ``strict`` fields (the
    ones the reader uses) must be numbers or blank."""
    leads = cont.find(*LEADER_PREFIXES)
    if not leads:
        raise InputFileError(cont.path, expected, "no LEA_ / SARLEADER (SAR leader) file")
    led = leads[0]
    disp = cont.display(led)
    recs = read_records(cont.read(led), disp)
    if recs[0].type_code != 192:
        raise InputFileError(disp, "a SAR leader starting with a file descriptor record (type 192)",
                             f"record type {recs[0].type_code}")
    dss = next((r for r in recs[1:] if r.type_code == 10), None)
    if dss is None:
        raise InputFileError(disp, "a data set summary record (type 10)", "none")
    summ = parse_fields(dss, DATA_SET_SUMMARY, path=disp)
    if mission_id(summ["mission"]) not in missions:
        raise InputFileError(disp, f"a {label} product (mission field of the data set summary)",
                             f"mission {summ['mission']!r}")
    summ = parse_fields(dss, DATA_SET_SUMMARY, path=disp, strict=strict)
    if mission_id(summ["mission"]) not in missions:
        raise InputFileError(disp, f"a {label} product (mission field of the data set summary)",
                             f"mission {summ['mission']!r}")
    return led, recs, summ, disp


def image_descriptor(cont: CeosContainer, expected: str, prefixes: tuple[str, ...] = IMAGE_PREFIXES,
                     name: str | None = None) -> tuple[str, dict[str, Any], int, int]:
    """(image file name, descriptor fields, descriptor length, file size), with positive sizes checked."""
    imgs = [name] if name else cont.find(*prefixes)
    if not imgs:
        raise InputFileError(cont.path, expected, "no DAT_ / IMAGERY (image) file")
    img = imgs[0]
    idisp = cont.display(img)
    size = cont.size(img)
    head = cont.read(img, min(size, 8192))
    if len(head) < HEADER_LEN:
        raise InputFileError(idisp, "a CEOS image file (file descriptor record)", f"only {len(head)} bytes")
    dlen = HEADER.unpack_from(head, 0)[5]
    rec = read_records(head[:dlen] if HEADER_LEN <= dlen <= len(head) else head, idisp, max_records=1)[0]
    if rec.type_code != 192:
        raise InputFileError(idisp, "an image file starting with a file descriptor record (type 192)",
                             f"record type {rec.type_code}")
    d = parse_fields(rec, IMAGE_FILE_DESCRIPTOR, path=idisp)
    check_descriptor(d, idisp)
    present = (size - dlen) // d["record_length"]
    if present < d["n_records"]:
        raise InputFileError(idisp, f"{d['n_records']} image records of {d['record_length']} bytes after the "
                                    f"{dlen}-byte descriptor", f"{size} bytes (truncated)")
    return img, d, dlen, size


def check_descriptor(d: dict[str, Any], path: str) -> None:
    """The sizes of an image file descriptor: positive counts, numbers of 0 or more for prefixes, suffixes and
    borders, one record per line."""
    for k in ("n_records", "record_length", "n_pixels", "n_lines", "bits_per_sample", "bytes_per_group",
              "samples_per_group"):
        if not d[k] or d[k] <= 0:
            raise InputFileError(path, f"a positive {k.replace('_', ' ')} in the image file descriptor", f"{d[k]!r}")
    for k in ("prefix_bytes", "suffix_bytes", "left_border", "right_border"):
        if d[k] is None or d[k] < 0:
            raise InputFileError(path, f"a number of 0 or more for {k.replace('_', ' ')} in the image file "
                                       "descriptor", f"{d[k]!r}")
    if d["n_lines"] != d["n_records"]:
        raise InputFileError(path, f"one image record per line ({d['n_records']} records)", f"{d['n_lines']!r} lines")


def prefix_bytes(d: dict[str, Any], idisp: str, data_bytes: int | None = None) -> int:
    """Bytes before the samples in each record (header included), from the record length and the
    descriptor's prefix count (which ESA and CSA give without the 12-byte header, JAXA with it)."""
    pixels = d["left_border"] + d["n_pixels"] + d["right_border"]
    data = pixels * d["bytes_per_group"] if data_bytes is None else data_bytes
    pre, suf = d["prefix_bytes"], d["suffix_bytes"]
    for p in (pre + HEADER_LEN, pre):
        if p + data + suf == d["record_length"] and p >= HEADER_LEN:
            return p
    raise InputFileError(idisp, f"a record length of {HEADER_LEN} + prefix {pre} + {data} data bytes + suffix {suf}",
                         f"{d['record_length']} bytes")


def look_side_from_scene_centre(orbit: Orbit, t_s: float, lat_deg: float, lon_deg: float, path: str,
                                height_m: float = 0.0) -> LookSide:
    """'left' or 'right': the side of the flight direction on which the leader's scene centre lies at ``t_s``."""
    if not (np.isfinite(lat_deg) and np.isfinite(lon_deg) and abs(lat_deg) <= 90):
        raise InputFileError(path, "the scene centre latitude/longitude in the data set summary",
                             f"{lat_deg!r}, {lon_deg!r}")
    p, v = (x[0] for x in orbit.interpolate(np.array([t_s])))
    d = llh_to_ecef(lon_deg, lat_deg, height_m).reshape(3) - p
    up = p / np.linalg.norm(p)
    side = float(np.cross(v, d) @ up)
    rng = float(np.linalg.norm(d))
    if rng > 3e6 or abs(side) < 1e-3 * rng * np.linalg.norm(v):
        raise InputFileError(path, "a scene centre seen to the side of the orbit", f"{rng / 1e3:.1f} km away")
    return "left" if side > 0 else "right"


def processed_record_table(float_kind: str = "U4", ms_kind: str = "U4") -> tuple[dict, int]:
    """The CEOS processed data record prefix of SLC image records (192 bytes with the header). RADARSAT-1 stores
    its values as 4-byte integers (PRF in mHz, slant ranges in m, Doppler in Hz); RISAT-1, as read by ISCE2,
    as big-endian float32 (``float_kind="R4"``, also the ms of day)."""
    f = float_kind
    return field_table(
        ("line_number", 4, "U4"), ("record_index", 4, "U4"), ("left_fill", 4, "U4"), ("n_pixels", 4, "U4"),
        ("right_fill", 4, "U4"), ("update_flag", 4, "U4"), ("year", 4, "U4"), ("day_of_year", 4, "U4"),
        ("ms_of_day", 4, ms_kind), ("channel_indicator", 2, "U2"), ("channel_code", 2, "U2"), ("tx_pol", 2, "U2"),
        ("rx_pol", 2, "U2"), ("prf", 4, f), ("time_bias_ms", 4, "B4"), ("slant_range_first_m", 4, f),
        ("slant_range_mid_m", 4, f), ("slant_range_last_m", 4, f), ("doppler_first_hz", 4, "B4" if f == "U4" else f),
        ("doppler_mid_hz", 4, "B4" if f == "U4" else f), ("doppler_last_hz", 4, "B4" if f == "U4" else f),
        ("fm_rate_first", 4, "B4" if f == "U4" else f), ("fm_rate_mid", 4, "B4" if f == "U4" else f),
        ("fm_rate_last", 4, "B4" if f == "U4" else f), ("look_angle", 4, "B4"), ("squint_angle", 4, "B4"),
        ("_1", 4, "X"), ("_2", 16, "X"), ("geo_update_flag", 4, "U4"), ("lat_first", 4, "B4"), ("lat_mid", 4, "B4"),
        ("lat_last", 4, "B4"), ("lon_first", 4, "B4"), ("lon_mid", 4, "B4"), ("lon_last", 4, "B4"), ("_3", 36, "X"),
    )


def sniff_mission(path: str, missions: tuple[str, ...], expected: str) -> bool:
    """A folder / zip / file of an ESA-style CEOS product whose leader's mission is one of ``missions``."""
    try:
        cont = CeosContainer(str(path), expected)
        leads = cont.find(*LEADER_PREFIXES)
        if not leads:
            return False
        recs = read_records(cont.read(leads[0], 720 + 4096), "LEA", max_records=2)
        if len(recs) < 2 or recs[1].type_code != 10:
            return False
        m = parse_fields(recs[1], {"mission": DATA_SET_SUMMARY["mission"]})["mission"]
        return mission_id(m) in missions
    except Exception:
        return False
