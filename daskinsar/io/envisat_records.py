"""Envisat product format: main/specific product headers, data set descriptors and the ASAR/ERS records.

An Envisat-format file (``.N1`` for Envisat, ``.E1``/``.E2`` for ERS-1/2 products of ESA's
PF-ASAR processor) is

- the **MPH** (main product header): 1247 bytes of ASCII ``KEY=value`` lines (``PRODUCT``,
  ``SENSING_START``, ``SPH_SIZE``, ``NUM_DSD``, ``DSD_SIZE``, ...);
- the **SPH** (specific product header): ``SPH_SIZE`` bytes, ``KEY=value`` lines (``FIRST_LINE_TIME``,
  the corner coordinates ``FIRST_NEAR_LAT`` ... ``LAST_FAR_LONG`` in 1e-6 deg,
  ``MDS1_TX_RX_POLAR``, ...) ending with ``NUM_DSD`` data set descriptors (DSDs) of ``DSD_SIZE``
  (280) bytes each: ``DS_NAME``, ``DS_TYPE``, ``FILENAME``, ``DS_OFFSET``, ``DS_SIZE``, ``NUM_DSR``,
  ``DSR_SIZE``;
- the data sets at their ``DS_OFFSET``: annotation data sets (ADS) and the measurement data set
  (MDS) of ``NUM_DSR`` records of ``DSR_SIZE`` bytes.

Binary fields are big-endian; an MJD time is int32 days since 2000-01-01, uint32 seconds and uint32
microseconds (12 bytes). Record layouts used (byte offsets from the record start; as in GDAL's
``frmts/envisat/records.c`` and ISCE2's ``EnviSAT_SLC`` reader):

- ``MAIN PROCESSING PARAMS ADS`` (2009 bytes; newer processors append fields after them):
  :data:`MPP_FIELDS`, five orbit state vectors at 1765 (MJD, x/y/z int32 in 1e-2 m, vx/vy/vz int32
  in 1e-5 m/s, 36 bytes each);
- ``DOP CENTROID COEFFS ADS`` (55 bytes): MJD, slant range time origin (float32 ns), five
  coefficients (Hz, Hz/s, ...; float32) of the Doppler centroid in (two-way range time - origin) s;
- ``GEOLOCATION GRID ADS`` (521 bytes per granule): first and last line tie points, 11 each:
  sample numbers (uint32, 1-based), slant range times (float32 ns), incidence angles (float32 deg),
  latitudes and longitudes (int32, 1e-6 deg);
- IMS ``MDS1`` records: MJD zero-Doppler time, quality flag (1 byte), range line number (uint32),
  then int16 I/Q samples (17-byte prefix);
- ERS level 0 ``SAR_SOURCE_PACKETS`` records (11498 bytes): MJD, FEP header, and the ERS source
  packet with the image format counter (uint32 at byte 54), SWST code (uint16 at 58), PRI code
  (uint16 at 60) and 5616 I/Q byte pairs from byte 266.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputFileError
from ..geometry.orbit import parse_utc
from .orbit_files import MPH_SIZE, header_number, read_mph

__all__ = ["MPH_SIZE", "DSD_SIZE", "MPP_SIZE", "MPP_FIELDS", "DOP_SIZE", "GEO_SIZE", "IMS_PREFIX", "ERS_L0_SIZE",
           "ERS_L0_SAMPLES_AT", "ERS_L0_FIELDS", "read_headers", "Dsd", "mjd_to_iso", "iso_to_mjd", "field",
           "format_mph", "format_sph", "format_dsd", "N_TIE"]

DSD_SIZE = 280
MPP_SIZE = 2009
DOP_SIZE = 55
GEO_SIZE = 521
CHIRP_SIZE = 1483
SQ_SIZE = 170
N_TIE = 11
IMS_PREFIX = 17
ERS_L0_SIZE = 11498
ERS_L0_SAMPLES_AT = 266
_MJD0 = np.datetime64("2000-01-01T00:00:00", "ns")

#: main processing parameters: name -> (offset, numpy dtype, count)
MPP_FIELDS = {
    "first_zero_doppler_time": (0, "mjd", 1), "last_zero_doppler_time": (13, "mjd", 1),
    "range_spacing": (44, ">f4", 1), "azimuth_spacing": (48, ">f4", 1), "line_time_interval": (52, ">f4", 1),
    "num_output_lines": (56, ">u4", 1), "num_samples_per_line": (60, ">u4", 1), "data_type": (64, "S5", 1),
    "first_swst_value": (643, ">f4", 5), "prf_value": (703, ">f4", 5), "tx_pulse_len_value": (723, ">f4", 5),
    "tx_pulse_bw_value": (743, ">f4", 5), "first_proc_range_samp": (975, ">u4", 1), "range_ref": (979, ">f4", 1),
    "range_samp_rate": (983, ">f4", 1), "radar_freq": (987, ">f4", 1), "num_looks_range": (991, ">u2", 1),
    "tot_bw_range": (1024, ">f4", 5), "num_lines_proc": (1264, ">u4", 1), "look_bw_az": (1270, ">f4", 1),
    "to_bw_az": (1274, ">f4", 1), "az_fm_rate": (1289, ">f4", 3), "az_fm_origin": (1301, ">f4", 1),
}
MPP_SV_AT, MPP_SV_SIZE = 1765, 36
ERS_L0_FIELDS = {"image_format_counter": (54, ">u4"), "swst_code": (58, ">u2"), "pri_code": (60, ">u2")}


def mjd_to_iso(buf: bytes, at: int = 0) -> str:
    days, sec, us = np.frombuffer(buf[at:at + 12], ">i4", 1)[0], *np.frombuffer(buf[at + 4:at + 12], ">u4", 2)
    if not (0 <= sec < 86401 and 0 <= us < 1_000_000 and -20000 < days < 40000):
        raise ValueError(f"MJD time {days} d {sec} s {us} us")
    t = _MJD0 + np.timedelta64(int(days), "D") + np.timedelta64(int(sec), "s") + np.timedelta64(int(us), "us")
    return str(t)


def iso_to_mjd(iso: str) -> bytes:
    """12-byte MJD of an ISO time, rounded to the microsecond."""
    t = parse_utc(iso)
    us_total = int(round((t - _MJD0) / np.timedelta64(1, "ns") / 1000.0))
    days, rem = divmod(us_total, 86_400_000_000)
    sec, us = divmod(rem, 1_000_000)
    return np.array([days], ">i4").tobytes() + np.array([sec, us], ">u4").tobytes()


def field(rec: bytes, spec: tuple, path: str, name: str):
    """One field of a record by its (offset, dtype, count) spec."""
    off, dt, n = spec
    if dt == "mjd":
        try:
            return mjd_to_iso(rec, off)
        except ValueError as exc:
            raise InputFileError(path, f"a valid MJD time in field {name}", str(exc)) from None
    size = np.dtype(dt).itemsize * n
    if off + size > len(rec):
        raise InputFileError(path, f"field {name} at bytes {off}..{off + size}", f"a record of {len(rec)} bytes")
    v = np.frombuffer(rec[off: off + size], dt, n)
    if dt.startswith("S"):
        return v[0].decode("ascii", "replace").strip()
    return [float(x) for x in v] if n > 1 else float(v[0])


class Dsd:
    """A data set descriptor."""

    def __init__(self, entries: dict[str, str], path: str):
        try:
            self.name = entries["DS_NAME"].strip()
            self.type = entries.get("DS_TYPE", "").strip()
            self.filename = entries.get("FILENAME", "").strip()
            self.offset = int(header_number(entries["DS_OFFSET"]))
            self.size = int(header_number(entries["DS_SIZE"]))
            self.num_dsr = int(header_number(entries["NUM_DSR"]))
            self.dsr_size = int(header_number(entries["DSR_SIZE"]))
        except (KeyError, ValueError) as exc:
            raise InputFileError(path, "data set descriptors with DS_NAME, DS_OFFSET, DS_SIZE, NUM_DSR, DSR_SIZE",
                                 str(exc)) from None

    def __repr__(self) -> str:
        return f"Dsd({self.name!r}, offset={self.offset}, n={self.num_dsr} x {self.dsr_size})"


def read_headers(path: str, file_size: int, head: bytes) -> tuple[dict, dict, dict[str, Dsd]]:
    """MPH and SPH key/values and the DSDs by name, from the first bytes ``head`` of the file.

    Every DSD of a data set in this file must lie within ``file_size``."""
    if len(head) < MPH_SIZE:
        raise InputFileError(path, f"an Envisat-format product (a {MPH_SIZE}-byte main product header)",
                             f"{len(head)} bytes")
    if not head.startswith(b"PRODUCT="):
        raise InputFileError(path, "an Envisat-format product (MPH starting with PRODUCT=)", repr(head[:16]))
    mph = read_mph(path, head[:MPH_SIZE])
    try:
        sph_size = int(header_number(mph["SPH_SIZE"]))
        num_dsd = int(header_number(mph["NUM_DSD"]))
        dsd_size = int(header_number(mph.get("DSD_SIZE", f"{DSD_SIZE}")))
    except (KeyError, ValueError) as exc:
        raise InputFileError(path, "an MPH with SPH_SIZE, NUM_DSD and DSD_SIZE", str(exc)) from None
    if not (0 < num_dsd <= 64 and dsd_size == DSD_SIZE and num_dsd * dsd_size <= sph_size <= len(head) - MPH_SIZE):
        raise InputFileError(path, f"an SPH of {num_dsd} DSDs of {DSD_SIZE} bytes within the file header",
                             f"SPH_SIZE {sph_size}, NUM_DSD {num_dsd}, DSD_SIZE {dsd_size}")
    sph_bytes = head[MPH_SIZE: MPH_SIZE + sph_size]
    dsd_at = sph_size - num_dsd * dsd_size
    sph = read_mph(path, sph_bytes[:dsd_at])
    dsds: dict[str, Dsd] = {}
    for k in range(num_dsd):
        block = sph_bytes[dsd_at + k * dsd_size: dsd_at + (k + 1) * dsd_size]
        entries = read_mph(path, block)
        if not entries.get("DS_NAME", "").strip():
            continue  # spare DSD
        d = Dsd(entries, path)
        if d.type in ("A", "M", "G") and d.size > 0:
            if d.offset < MPH_SIZE + sph_size or d.offset + d.size > file_size:
                raise InputFileError(path, f"data set {d.name!r} within the file ({file_size} bytes)",
                                     f"bytes {d.offset} .. {d.offset + d.size}")
            if d.num_dsr * d.dsr_size != d.size:
                raise InputFileError(path, f"data set {d.name!r} of NUM_DSR x DSR_SIZE bytes",
                                     f"{d.num_dsr} x {d.dsr_size} != {d.size}")
        dsds[d.name] = d
    return mph, sph, dsds


# ----------------------------------------------------------------------------
# writing (for the simulator's format writers)
# ----------------------------------------------------------------------------
def _kv(key: str, value: str, quoted: bool) -> str:
    return f'{key}="{value}"\n' if quoted else f"{key}={value}\n"


def _block(items: list[tuple[str, str, bool]], size: int | None) -> bytes:
    text = "".join(_kv(k, v, q) for k, v, q in items)
    if size is not None:
        if len(text) > size:
            raise ValueError(f"header of {len(text)} bytes exceeds {size}")
        pad = size - len(text)
        text += (" " * (pad - 1) + "\n") if pad else ""
    return text.encode("ascii")


def format_mph(items: list[tuple[str, str, bool]]) -> bytes:
    """An MPH of exactly 1247 bytes from (key, value, quoted) items."""
    return _block(items, MPH_SIZE)


def format_sph(items: list[tuple[str, str, bool]], dsds: list[bytes]) -> bytes:
    return _block(items, None) + b"".join(dsds)


def format_dsd(name: str, ds_type: str, filename: str, offset: int, size: int, num_dsr: int, dsr_size: int) -> bytes:
    """One 280-byte data set descriptor."""
    text = (f'DS_NAME="{name:<28}"\nDS_TYPE={ds_type}\nFILENAME="{filename:<62}"\n'
            f"DS_OFFSET={offset:+021d}<bytes>\nDS_SIZE={size:+021d}<bytes>\nNUM_DSR={num_dsr:+011d}\n"
            f"DSR_SIZE={dsr_size:+011d}<bytes>\n" + " " * 32 + "\n")
    assert len(text) == DSD_SIZE, len(text)
    return text.encode("ascii")
