"""CEOS SAR products of JAXA: ALOS PALSAR (level 1.0 raw, 1.1 SLC) and ALOS-2 PALSAR-2 (level 1.1 SLC).

The record structure, the data set summary, platform position and image file descriptor
tables are in :mod:`daskinsar.io.ceos_records` (re-exported here). The JAXA field
positions were checked against a real ALOS-2 leader (data set summary, platform position,
image file descriptor). The signal data record table is not checked on real data here (the
test product holds no image lines). The leader's mission field decides the reader: the ALOS
reader refuses an ALOS-2 product and vice versa.

Conventions used to build :class:`~daskinsar.scene.RadarMetadata`:

- PRF: data set summary field in mHz; range sampling rate in MHz; wavelength in m;
- chirp slope: JAXA stores it as the "amplitude coefficient linear term" (Hz/s;
  slope x pulse length equals the range bandwidth); pulse length in microseconds;
- product level from the data set summary: 1.0 (raw, 8-bit I/Q), 1.1 (SLC, complex float32) read,
  1.5 / 2.1 / 3.1 known and refused, anything else refused; the image layout must match the level;
- look side from the sensor clock angle (+90 right, -90 left; anything else is refused);
- the leader fields used are numbers or blank (absent: no chirp, no bandwidths); the Doppler
  (ALOS-2 ``c0 + c1 R``, ALOS cross-track ``c0``) and, for raw data, the chirp and I/Q biases are
  required;
- ALOS-2 Doppler centroid: ``c0 + c1 * R_km`` (Hz, slant range in km);
- the orbit's epoch is the first image line time (levels 1.0/1.1) or, for products
  without image records, the scene centre time;
- level 1.1 samples are big-endian complex float32 (``C*8``); level 1.0 raw samples
  are 8-bit unsigned I/Q pairs, returned as complex64 minus the leader's I/Q DC bias.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import xarray as xr

from ..errors import InputFileError
from ..geometry.orbit import Orbit, parse_utc, seconds_between
from ..scene import Chirp, Poly1D, RadarMetadata, Scene, radar_grid_coords
from .ceos_common import check_descriptor, prefix_bytes
from .ceos_records import (DATA_SET_SUMMARY, HEADER, HEADER_LEN, IMAGE_FILE_DESCRIPTOR, PARSE_ERRORS,
                           PLATFORM_POSITION_HEADER, CeosContainer, CeosRecord, build_record, ceos_time,
                           decode_cf4, decode_u1, doy_time, field_table, mission_id, orbit_from_state_vectors,
                           parse_fields, platform_state_vectors, read_line_block, read_records)
from .readers import ReaderInfo

__all__ = [
    "CeosRecord", "CeosProduct", "read_records", "parse_fields", "open_ceos", "read_ceos", "sniff_alos2",
    "sniff_alos", "DATA_SET_SUMMARY", "PLATFORM_POSITION_HEADER", "IMAGE_FILE_DESCRIPTOR", "SIGNAL_DATA_RECORD",
    "build_record", "HEADER", "HEADER_LEN",
]

_EXPECTED = "a JAXA CEOS SAR product (VOL-/LED-/IMG-/TRL- files, folder or zip)"
#: JAXA processing levels (data set summary ``product_level``): the ones read, and the others known
JAXA_LEVELS = {"1.0": "raw", "1.1": "slc"}
JAXA_OTHER_LEVELS = ("1.5", "2.1", "3.1")
#: data set summary fields the reader uses: a non-blank value there must be a finite number
_USED_DSS = ("prf_mhz", "range_sampling_rate_mhz", "wavelength_m", "clock_angle_deg", "chirp_amp_c1",
             "pulse_length_us", "doppler_c0_hz", "doppler_c1_hz_per_km", "cross_track_dc_c0", "cross_track_dc_c1",
             "cross_track_dc_c2", "bandwidth_range_khz", "bandwidth_azimuth_hz", "dc_bias_i", "dc_bias_q")
#: the mission field of the leader's data set summary (normalised) of each JAXA reader
JAXA_MISSIONS = {"ALOS": "ALOS", "ALOS2": "ALOS2"}

SIGNAL_DATA_RECORD, _SDR_END = field_table(
    ("line_number", 4, "B4"), ("record_index", 4, "B4"), ("left_fill", 4, "B4"), ("n_pixels", 4, "B4"),
    ("right_fill", 4, "B4"), ("update_flag", 4, "B4"), ("year", 4, "B4"), ("day_of_year", 4, "B4"),
    ("ms_of_day", 4, "B4"), ("channel_indicator", 2, "B2"), ("channel_code", 2, "B2"), ("tx_pol", 2, "B2"),
    ("rx_pol", 2, "B2"), ("prf_mhz", 4, "B4"), ("scan_id", 4, "B4"), ("range_compressed", 2, "B2"),
    ("chirp_type", 2, "B2"), ("chirp_length_ns", 4, "B4"), ("chirp_c0", 4, "B4"), ("chirp_c1", 4, "B4"),
    ("chirp_c2", 4, "B4"), ("us_of_day", 8, "B8"), ("rx_gain_db", 4, "B4"), ("invalid_line", 4, "B4"),
    ("elevation_electronic", 4, "B4"), ("elevation_mechanical", 4, "B4"), ("squint_electronic", 4, "B4"),
    ("squint_mechanical", 4, "B4"), ("slant_range_first_sample_m", 4, "B4"), ("window_position", 4, "B4"),
)


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
    container: CeosContainer
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
        return ceos_time(self.summary["scene_centre_time"])


def _pol_of(name: str) -> str:
    parts = posixpath.basename(name).upper().split("-")
    return parts[1] if len(parts) > 2 else "HH"


def open_ceos(path: str | os.PathLike, *, sensor: str | None = None) -> CeosProduct:
    """Parse a CEOS product's leader and image file descriptors (no image lines read).

    Any damage (truncated, empty, wrong-format files) raises :class:`InputFileError`.
    """
    try:
        return _open_ceos(path, sensor=sensor)
    except InputFileError:
        raise
    except PARSE_ERRORS as exc:  # includes pydantic's ValidationError (a ValueError)
        raise InputFileError(str(path), _EXPECTED, f"invalid content ({type(exc).__name__}: {exc})") from None


def _open_ceos(path: str | os.PathLike, *, sensor: str | None = None) -> CeosProduct:
    cont = CeosContainer(str(path), _EXPECTED)
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
    summ = parse_fields(by_type[10], DATA_SET_SUMMARY, path=disp, strict=_USED_DSS)
    try:
        centre = ceos_time(summ["scene_centre_time"])
        parse_utc(centre)
    except ValueError as exc:
        raise InputFileError(disp, "a scene centre time YYYYMMDDhhmmssttt in the data set summary", str(exc)) from None
    mission = mission_id(summ["mission"])
    if mission not in JAXA_MISSIONS:
        raise InputFileError(disp, "a JAXA ALOS or ALOS-2 product (mission field of the data set summary)",
                             f"mission {summ['mission']!r}")
    if sensor is not None and JAXA_MISSIONS.get(sensor.upper()) != mission:
        # never relabel: an ALOS-2 product read as ALOS (or the reverse) is refused
        raise InputFileError(disp, f"a {sensor.upper()} product (mission field of the data set summary)",
                             f"mission {summ['mission']!r}")
    sensor = JAXA_MISSIONS[mission]

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
        check_descriptor(desc, idisp)
        prefix_bytes(desc, idisp)
        first = None
        if size >= irecs[0].length + _SDR_END:
            r1 = head[irecs[0].length: irecs[0].length + _SDR_END]
            if len(r1) == _SDR_END:
                first = parse_fields(r1, SIGNAL_DATA_RECORD, path=idisp)
        images[_pol_of(img)] = CeosImageFile(img, _pol_of(img), desc, irecs[0].length, size, first)

    level: Literal["raw", "slc", "product"]
    level_txt = (summ.get("product_level") or "").strip()
    first_img = next(iter(images.values()), None)
    if level_txt in JAXA_LEVELS:
        level = "raw" if JAXA_LEVELS[level_txt] == "raw" else "slc"
    elif level_txt in JAXA_OTHER_LEVELS:
        level = "product"
    else:
        raise InputFileError(disp, f"a JAXA product level ({', '.join([*JAXA_LEVELS, *JAXA_OTHER_LEVELS])}) in the "
                                   "data set summary", f"level {level_txt!r}")

    # epoch: first image line time if an image record is there, else scene centre time
    epoch = centre
    if first_img is not None and first_img.first_record is not None and level != "product":
        fr = first_img.first_record
        sod = fr["us_of_day"] * 1e-6 if sensor == "ALOS2" and fr["us_of_day"] > 0 else fr["ms_of_day"] * 1e-3
        try:
            epoch = doy_time(fr["year"], fr["day_of_year"], sod)
        except ValueError as exc:
            raise InputFileError(cont.display(first_img.name), "a valid first line time (year, day of year, time of "
                                                               "day) in the first signal data record",
                                 str(exc)) from None
        if abs(seconds_between(centre, epoch)) > 600.0:
            raise InputFileError(cont.display(first_img.name), "a first line time within 10 min of the leader's scene "
                                                               f"centre time {centre}", epoch)
    hdr, vals = platform_state_vectors(by_type[30], disp)
    orbit = orbit_from_state_vectors(hdr, vals, disp, epoch)

    prf = summ["prf_mhz"] * 1e-3
    fs = summ["range_sampling_rate_mhz"] * 1e6
    lam = summ["wavelength_m"]
    for name, v in (("PRF", prf), ("range sampling rate", fs), ("wavelength", lam)):
        if not np.isfinite(v) or v <= 0:
            raise InputFileError(disp, f"a positive {name} in the data set summary", str(v))
    clock = summ["clock_angle_deg"]
    if not (np.isfinite(clock) and abs(abs(clock) - 90.0) <= 5.0):
        raise InputFileError(disp, "a sensor clock angle of +90 (right-looking) or -90 deg (left-looking) in the "
                                   "data set summary", repr(clock))
    look: Literal["left", "right"] = "left" if clock < 0 else "right"
    slope = summ["chirp_amp_c1"]
    tau_p = summ["pulse_length_us"] * 1e-6
    if np.isfinite(slope) != np.isfinite(tau_p) or (level == "raw" and not np.isfinite(slope)):
        raise InputFileError(disp, "the chirp slope (chirp_amp_c1) and pulse length in the data set summary"
                                   + (" (needed to focus raw data)" if level == "raw" else " (both or neither)"),
                             f"{slope!r} Hz/s, {summ['pulse_length_us']!r} us")
    chirp = Chirp(slope_hz_per_s=slope, duration_s=tau_p) if np.isfinite(slope) else None
    # JAXA's Doppler pair (Hz, Hz/km of slant range from range 0; read so for ALOS-1 and ALOS-2, as OSSIM's
    # ALOS PALSAR model does); ALOS-1 leaders without it: the CEOS cross-track constant term, alone
    c0, c1 = summ["doppler_c0_hz"], summ["doppler_c1_hz_per_km"]
    if np.isfinite(c0) and np.isfinite(c1):
        dop = Poly1D(reference=0.0, scale=1000.0, coeffs=[c0, c1])
    elif sensor == "ALOS2":
        raise InputFileError(disp, "the ALOS-2 Doppler centroid c0 (Hz) and c1 (Hz/km) in the data set summary",
                             f"{c0!r}, {c1!r}")
    else:
        dc = [summ[f"cross_track_dc_c{k}"] for k in range(3)]
        if not np.isfinite(dc[0]):
            raise InputFileError(disp, "the Doppler centroid in the data set summary: JAXA's c0 (Hz) and c1 (Hz/km), "
                                       "or the cross-track constant term (Hz)", "both blank")
        if any(np.isfinite(x) and x != 0.0 for x in dc[1:]):
            raise InputFileError(disp, "JAXA's Doppler centroid c0 (Hz) and c1 (Hz/km) in the data set summary (the "
                                       "cross-track Doppler's linear and quadratic terms are set, in units the "
                                       "product does not state)", f"{dc}")
        dop = Poly1D(coeffs=[dc[0]])
    if level == "raw" and not (np.isfinite(summ["dc_bias_i"]) and np.isfinite(summ["dc_bias_q"])):
        raise InputFileError(disp, "the I and Q DC biases of raw data in the data set summary",
                             f"{summ['dc_bias_i']!r}, {summ['dc_bias_q']!r}")
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
        raise InputFileError(prod.path, "an IMG-<pol> image file", "no such file in the product")
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
    if prod.level == "product" or fmt != {"raw": "C*2", "slc": "C*8"}[prod.level]:
        raise InputFileError(disp, "level 1.0 raw (8-bit I/Q) or level 1.1 SLC (complex float32) image data",
                             f"level {prod.summary.get('product_level')!r}, {layout[0]} bits x {layout[1]} samples "
                             f"in {layout[2]} bytes ({(d['format_code'] or '').strip()!r})")
    n_lines, n_pix = d["n_lines"], d["n_pixels"]
    nbytes = n_pix * d["bytes_per_group"]
    prefix = prefix_bytes(d, disp)
    fr = img.first_record or {}
    r0_m = float(fr.get("slant_range_first_sample_m") or 0.0)
    if r0_m <= 0:
        raise InputFileError(disp, "a positive slant range to the first sample in the first signal data record",
                             str(r0_m))
    _check_doppler_terms(prod, disp, r0_m, r0_m + (n_pix - 1) * prod.meta.range_spacing_m)
    bias = (prod.summary.get("dc_bias_i") or 0.0, prod.summary.get("dc_bias_q") or 0.0)
    bias = (0.0 if not np.isfinite(bias[0]) else float(bias[0]), 0.0 if not np.isfinite(bias[1]) else float(bias[1]))
    name = f"read-ceos-{prod.sensor.lower()}-" + tokenize(prod.path, img.name, d)
    step = max(int(chunks), 1)
    bounds = list(range(0, n_lines, step)) + [n_lines]
    decode = decode_cf4 if fmt == "C*8" else decode_u1(*bias)
    graph = {(name, i, 0): (read_line_block, prod.container, img.name, img.descriptor_length, d["record_length"],
                            prefix, nbytes, a, b, decode, disp)
             for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))}
    arr = da.Array(graph, name, (tuple(np.diff(bounds)), (n_pix,)), dtype=np.complex64)
    meta = prod.meta.model_copy(update={"polarization": pol})
    coords = radar_grid_coords(0.0, meta.line_interval_s, n_lines, r0_m, meta.range_spacing_m, n_pix)
    var = "raw" if prod.level == "raw" else "slc"
    ds = xr.Dataset({var: (("azimuth", "range"), arr)}, coords=coords)
    ds.attrs["sensor"] = prod.sensor
    return Scene(ds, meta, prod.orbit)


def _check_doppler_terms(prod: CeosProduct, disp: str, near_m: float, far_m: float) -> None:
    """An ALOS-1 leader stating both JAXA's Doppler pair (read) and a non-zero CEOS cross-track constant
    term: the constant must lie within the pair's Doppler over the swath (slant ranges ``near_m`` ..
    ``far_m``), widened by 5 % of the PRF; otherwise the two disagree and neither is taken."""
    summ = prod.summary
    vals = [summ.get(k) for k in ("cross_track_dc_c0", "doppler_c0_hz", "doppler_c1_hz_per_km")]
    if prod.sensor != "ALOS" or not all(v is not None and np.isfinite(v) for v in vals) or vals[0] == 0.0:
        return
    dc0, c0, c1 = (float(v) for v in vals)  # type: ignore[arg-type]
    f = [c0 + c1 * r / 1e3 for r in (near_m, far_m)]
    margin = 0.05 * prod.meta.prf_hz
    if not (min(f) - margin <= dc0 <= max(f) + margin):
        raise InputFileError(disp, "a cross-track Doppler constant term (Hz) within JAXA's Doppler c0 + c1 R_km over "
                                   f"the swath ({f[0]:.2f} .. {f[1]:.2f} Hz, +-{margin:.1f} Hz)", f"{dc0:.2f} Hz")


def _sniff(path: str, mission: str) -> bool:
    try:
        cont = CeosContainer(str(path), _EXPECTED)
        leds = cont.find("LED-")
        if not leds:
            return False
        recs = read_records(cont.read(leds[0], 720 + 4096), "LED", max_records=2)
        if len(recs) < 2 or recs[1].type_code != 10:
            return False
        m = parse_fields(recs[1], {"mission": DATA_SET_SUMMARY["mission"]})["mission"]
        return mission_id(m) == mission
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
