"""ERS-1/2 SAR in ESA CEOS format: raw level 0 (``SAR.RAW``) and single-look complex (``SAR.SLC-I``).

Files (folder, zip or any of them): ``LEA_01.001`` (or ``SARLEADER*``) SAR leader,
``DAT_01.001`` (or ``IMAGERY*``) image file, optional ``VDF_DAT.001`` volume directory.
Record layouts: :mod:`daskinsar.io.ceos_records` (CEOS standard, ESA document
ER-IS-EPO-GS-5902.1); the ERS-specific parts, as ISCE's ``ERS``/``ERS_SLC`` sensors read
them:

- **Mission**: the data set summary's mission field is ``ERS1`` or ``ERS2`` (blanks and
  dashes ignored); anything else is refused.
- **Level**: ``raw`` when the image records hold 8-bit I/Q bytes (5 significant bits, DC
  bias 15.5) and the product type names RAW; ``slc`` when they hold big-endian int16 I/Q and
  the product type names SLC. A disagreement between the two is refused.
- **Raw timing and geometry** (from each line's 400-byte prefix, :data:`ERS_RAW_LINE`):
  the range sampling rate is the ERS constant 18.962468 MHz (the leader's rounded value
  must agree to 1e-4); PRF = fs / (4 (PRI code + 2)); the first sample's slant range is
  ``c/2 (9 / PRF + 4 SWST / fs - 6.622 us)`` (Mohr & Madsen 2001); lines whose SWST code
  differs from the smallest are shifted right by ``4 (SWST - SWST_min)`` samples (the gate
  grows by that much), missing lines (gaps in the image format counter) are zero lines,
  duplicated lines are dropped. First line time: the leader's satellite clock time plus
  ``(ICU time - satellite binary time) / 256`` s (for products of ``CRDC_SARDPF`` and
  ``GTS - ERS`` the record time in ms of the day); both have ~1 ms resolution.
- **SLC timing and geometry** (data set summary, ESA local segment): first zero-Doppler
  azimuth time (``dd-MMM-yyyy hh:mm:ss.fff``, 1 ms resolution) and two-way range time of the
  first pixel (ms), PRF (Hz) and range sampling rate (MHz). Zero-Doppler grid; the Doppler
  centroid is the cross-track polynomial ``d0 + d1 tau + d2 tau^2`` in two-way range time
  ``tau`` (s) from the first pixel. Samples are returned as complex64 of the stored integers.
- Chirp: ISCE's ERS pulse bandwidth 15.50829 MHz over the leader's pulse length.
- Orbit: the leader's platform position record (ECEF m, m/s), or a Delft ODR file
  (``orbit_file=``, :mod:`daskinsar.io.orbit_files`).
- Look side: right (the leader's clock angle, when given, must say so).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from ..errors import InputFileError
from ..geometry.ellipsoid import SPEED_OF_LIGHT
from ..geometry.orbit import Orbit, parse_utc
from ..scene import Chirp, Poly1D, RadarMetadata, Scene, radar_grid_coords
from .ceos_common import (
    IMAGE_PREFIXES,
    LEADER_PREFIXES,
    Grid,
    Level,
    image_descriptor,
    prefix_bytes,
    read_leader,
    sniff_mission,
)
from .ceos_records import (
    PARSE_ERRORS,
    CeosContainer,
    ceos_time,
    decode_ci2,
    field_table,
    mission_id,
    orbit_from_state_vectors,
    platform_state_vectors,
    read_line_block,
    record_bytes_columns,
)
from .orbit_files import orbit_for_scene, parse_envisat_time, read_orbit_file
from .readers import ReaderInfo

__all__ = ["open_ers", "read_ers", "sniff_ers", "ERS_RAW_LINE", "ERS_FS_HZ", "ERS_DELAY_S", "ERS_CHIRP_BW_HZ",
           "ERS_BIAS", "READER", "LEADER_PREFIXES", "IMAGE_PREFIXES", "ers_prf", "ers_near_range"]

_EXPECTED = "an ERS-1/2 CEOS SAR product (LEA_01.001 / DAT_01.001 or SARLEADER / IMAGERY files, folder or zip)"
MISSIONS = ("ERS1", "ERS2")
#: ERS range sampling rate (Hz), window-start delay (s) and chirp bandwidth (Hz): Mohr & Madsen (2001), as ISCE
ERS_FS_HZ = 18.962468e6
ERS_DELAY_S = 6.622e-6
ERS_CHIRP_BW_HZ = 15.50829e6
#: DC bias of the 5-bit unsigned raw samples
ERS_BIAS = 15.5

#: ERS raw signal data record prefix (after the 12-byte header; 412 bytes in all)
ERS_RAW_LINE, ERS_RAW_PREFIX_END = field_table(
    ("line_number", 4, "U4"), ("record_index", 4, "U4"), ("left_fill", 4, "U4"), ("n_pixels", 4, "U4"),
    ("right_fill", 4, "U4"), ("_s1", 12, "X"), ("record_time_ms", 4, "U4"), ("_s2", 80, "X"), ("_s3", 64, "X"),
    ("packet_counter", 1, "B1"), ("subcommutation_counter", 1, "B1"), ("_s4", 8, "X"), ("fixed_code", 1, "A"),
    ("orbc_flag", 1, "B1"), ("icu_time", 4, "U4"), ("activity_task", 2, "U2"), ("image_format_counter", 4, "U4"),
    ("swst_code", 2, "U2"), ("pri_code", 2, "U2"), ("calibration_attenuation", 1, "B1"), ("rx_gain", 1, "B1"),
    ("_s5", 120, "X"), ("_replica", 72, "X"),
)


def ers_prf(pri_code: int) -> float:
    """PRF (Hz) of an ERS PRI code."""
    return ERS_FS_HZ / (4.0 * (pri_code + 2.0))


def ers_near_range(swst_code: int, prf_hz: float) -> float:
    """Slant range (m) of the first raw sample of an ERS SWST code."""
    return 0.5 * SPEED_OF_LIGHT * (9.0 / prf_hz + 4.0 * swst_code / ERS_FS_HZ - ERS_DELAY_S)


@dataclass
class ErsProduct:
    """A parsed ERS CEOS product (leader, image descriptor, line layout) without pixel data."""

    path: str
    container: CeosContainer
    leader: str
    image: str
    summary: dict[str, Any]
    descriptor: dict[str, Any]
    descriptor_length: int
    prefix: int
    level: str
    meta: RadarMetadata
    orbit: Orbit
    n_lines: int
    n_samples: int
    line_map: np.ndarray | None = None
    line_shift: np.ndarray | None = None


def _raw_prefix_columns(cont: CeosContainer, img: str, start: int, reclen: int, n: int) -> dict[str, np.ndarray]:
    """The per-line prefix fields of every raw record (one strided read)."""
    cols = ("image_format_counter", "swst_code", "pri_code", "icu_time", "record_time_ms")
    lo = min(ERS_RAW_LINE[c][0] for c in cols)
    hi = max(ERS_RAW_LINE[c][0] + ERS_RAW_LINE[c][1] for c in cols)
    mm = record_bytes_columns(cont, img, start, reclen, n, lo, hi)
    out = {}
    for c in cols:
        off, w, kind = ERS_RAW_LINE[c]
        out[c] = np.ascontiguousarray(mm[:, off - lo: off - lo + w]).view(">u4" if w == 4 else ">u2").reshape(n).astype(
            np.int64)
    return out


def _raw_line_layout(cols: dict[str, np.ndarray], idisp: str) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Output line -> record (-1 for a missing line), per-line SWST, smallest and largest SWST code."""
    swst = cols["swst_code"]
    valid = (swst > 500) & (swst < 1500) & ((swst - swst[0]) % 22 == 0)
    if not valid.any():
        raise InputFileError(idisp, "ERS raw lines with a sampling window start code of 500 .. 1500",
                             f"codes {int(swst.min())} .. {int(swst.max())}")
    last = int(swst[np.argmax(valid)])
    sw = np.empty_like(swst)
    for k in range(len(swst)):  # an invalid code keeps the previous line's window (ISCE)
        if valid[k]:
            last = int(swst[k])
        sw[k] = last
    counter = cols["image_format_counter"]
    rec_of_line: list[int] = []
    prev = None
    for k, c in enumerate(counter):
        if c == 0:
            continue
        if prev is None:
            rec_of_line.append(k)
            prev = c
            continue
        gap = int(c - prev) - 1
        if gap == -1:
            continue  # duplicated line
        if gap < -1:
            raise InputFileError(idisp, "ERS raw lines in image format counter order",
                                 f"counter {int(c)} after {int(prev)} at record {k + 1}")
        if gap > 30000:
            continue  # a corrupt counter (ISCE skips the record)
        rec_of_line.extend([-1] * gap)
        rec_of_line.append(k)
        prev = c
    if not rec_of_line:
        raise InputFileError(idisp, "ERS raw lines with non-zero image format counters", "none")
    return np.asarray(rec_of_line, np.int64), sw, int(sw[valid].min()), int(sw[valid].max())


def open_ers(path: str | os.PathLike, *, sensor: str | None = None, orbit_file: str | None = None) -> ErsProduct:
    """Parse an ERS CEOS product's leader, image descriptor and (raw) line prefixes; no pixels read."""
    try:
        return _open_ers(str(path), sensor, orbit_file)
    except InputFileError:
        raise
    except PARSE_ERRORS as exc:  # includes pydantic's ValidationError (a ValueError)
        raise InputFileError(str(path), _EXPECTED, f"invalid content ({type(exc).__name__}: {exc})") from None


#: data set summary fields the reader uses: a non-blank value there must be a finite number
_USED_DSS = ("wavelength_m", "range_sampling_rate_mhz", "clock_angle_deg", "pulse_length_us", "prf_mhz",
             "zd_range_time_first_ms", "cross_track_dc_c0", "cross_track_dc_c1", "cross_track_dc_c2",
             "bandwidth_azimuth_hz")


def _level(summ: dict[str, Any], d: dict[str, Any], idisp: str) -> Level:
    ptype = (summ.get("product_type") or "").upper()
    layout = (d["bits_per_sample"], d["samples_per_group"], d["bytes_per_group"])
    by_layout: Level | None = "raw" if layout in ((5, 2, 2), (8, 2, 2)) else "slc" if layout == (16, 2, 4) else None
    by_type = "raw" if "RAW" in ptype else "slc" if "SLC" in ptype else None
    if by_layout is None:
        raise InputFileError(idisp, "ERS raw (8-bit I/Q bytes) or SLC (int16 I/Q) image records",
                             f"{layout[0]} bits x {layout[1]} samples in {layout[2]} bytes")
    if by_type is not None and by_type != by_layout:
        raise InputFileError(idisp, f"image records matching the leader's product type {ptype!r}",
                             f"{by_layout} samples ({layout[0]} bits)")
    if by_type is None and ptype:
        raise InputFileError(idisp, "an ERS product type naming RAW or SLC (SAR.RAW, SAR.SLC-I)", repr(ptype))
    return by_layout


def _open_ers(path: str, sensor: str | None, orbit_file: str | None) -> ErsProduct:
    cont = CeosContainer(path, _EXPECTED)
    led, recs, summ, disp = read_leader(cont, MISSIONS, "ERS-1/2", _EXPECTED, strict=_USED_DSS)
    if sensor is not None and mission_id(sensor) not in (mission_id(summ["mission"]), "ERS"):
        raise InputFileError(disp, f"an {sensor} product (mission field of the data set summary)",
                             f"mission {summ['mission']!r}")
    img, d, dlen, size = image_descriptor(cont, _EXPECTED)
    idisp = cont.display(img)
    level = _level(summ, d, idisp)
    prefix = prefix_bytes(d, idisp)
    reclen = d["record_length"]
    n_rec = d["n_records"]
    pixels = d["left_border"] + d["n_pixels"] + d["right_border"]
    lam = summ["wavelength_m"]
    fs_leader = summ["range_sampling_rate_mhz"] * 1e6
    clock = summ["clock_angle_deg"]
    if np.isfinite(clock) and clock < 0:
        raise InputFileError(disp, "an ERS product looking right (clock angle +90 deg)", f"clock angle {clock}")
    tau_p = summ["pulse_length_us"] * 1e-6
    if not (np.isfinite(tau_p) and tau_p > 0):
        raise InputFileError(disp, "a positive range pulse length (us) in the data set summary", f"{tau_p!r}")
    chirp = Chirp(slope_hz_per_s=ERS_CHIRP_BW_HZ / tau_p, duration_s=tau_p)
    if not (np.isfinite(fs_leader) and abs(fs_leader / ERS_FS_HZ - 1.0) < 1e-4):
        raise InputFileError(disp, f"the ERS range sampling rate {ERS_FS_HZ / 1e6} MHz in the data set summary",
                             f"{fs_leader / 1e6!r} MHz")
    line_map = shift = None
    grid: Grid
    extra: dict[str, Any] = {"product_type": summ["product_type"], "facility": summ["facility"],
                             "scene_centre_time": summ["scene_centre_time"], "orbit_number": summ["orbit_number"],
                             "scene_centre_lat_deg": summ["scene_centre_lat_deg"],
                             "scene_centre_lon_deg": summ["scene_centre_lon_deg"],
                             "incidence_centre_deg": summ["incidence_centre_deg"]}
    if level == "raw":
        cols = _raw_prefix_columns(cont, img, dlen, reclen, n_rec)
        pri = int(cols["pri_code"][0])
        prf = ers_prf(pri)
        line_map, sw, sw_min, sw_max = _raw_line_layout(cols, idisp)
        shift = 4 * (sw - sw_min)
        n_lines, n_samples = len(line_map), pixels + 4 * (sw_max - sw_min)
        fs = ERS_FS_HZ
        r0 = ers_near_range(sw_min, prf)
        centre = ceos_time(summ["scene_centre_time"])
        first_rec = int(line_map[0])
        if (summ["facility"] or "").strip() in ("CRDC_SARDPF", "GTS - ERS"):
            day = centre[:10]
            epoch = str(parse_utc(day) + np.timedelta64(int(cols["record_time_ms"][first_rec]), "ms"))
            extra["timing"] = "record time (ms of day)"
        else:
            try:
                sbt = int(summ["satellite_binary_time"])
                sct = ceos_time(summ["satellite_clock_time"])
            except (TypeError, ValueError) as exc:
                raise InputFileError(disp, "the satellite binary time and clock time of the data set summary",
                                     str(exc)) from None
            delta = (int(cols["icu_time"][first_rec]) - sbt) / 256.0
            if abs(delta) > 5 * 86400:
                epoch = str(parse_utc(centre) - np.timedelta64(int(round(0.5 * n_lines / prf * 1e9)), "ns"))
                extra["timing"] = "scene centre time (ICU clock inconsistent with the satellite clock)"
            else:
                epoch = str(parse_utc(sct) + np.timedelta64(int(round(delta * 1e9)), "ns"))
                extra["timing"] = "satellite clock time + ICU counter / 256 s"
        extra.update(swst_codes=[sw_min, sw_max], pri_code=pri,
                     missing_lines=int(np.count_nonzero(line_map < 0)))
        dop = Poly1D(coeffs=[0.0])
        grid, bias = "native_doppler", (ERS_BIAS, ERS_BIAS)
        extra["iq_bias"] = list(bias)
    else:
        if d["left_border"] or d["right_border"]:
            raise InputFileError(idisp, "an SLC image without border pixels", f"{d['left_border']} left, "
                                 f"{d['right_border']} right border pixels")
        prf = summ["prf_mhz"]  # ESA states the PRF in Hz in this field
        fs = fs_leader
        tau0 = summ["zd_range_time_first_ms"] * 1e-3
        if not (np.isfinite(tau0) and tau0 > 0):
            raise InputFileError(disp, "a positive zero-Doppler range time of the first pixel (ms)", f"{tau0!r}")
        r0 = 0.5 * SPEED_OF_LIGHT * tau0
        try:
            epoch = parse_envisat_time(summ["zd_azimuth_time_first"])
        except ValueError as exc:
            raise InputFileError(disp, "a zero-Doppler azimuth time of the first line (dd-MMM-yyyy hh:mm:ss.fff)",
                                 str(exc)) from None
        n_lines, n_samples = n_rec, d["n_pixels"]
        dc = [summ[f"cross_track_dc_c{k}"] for k in range(3)]
        if not np.all(np.isfinite(dc)):
            raise InputFileError(disp, "the cross-track Doppler centroid coefficients c0, c1, c2 of an SLC in the "
                                       "data set summary", f"{dc}")
        dop = Poly1D(variable="range_time", reference=tau0, scale=1.0, coeffs=dc)
        grid = "zero_doppler"
    for name, v in (("PRF", prf), ("wavelength", lam)):
        if not (np.isfinite(v) and v > 0):
            raise InputFileError(disp, f"a positive {name} in the data set summary", f"{v!r}")
    t_last = (n_lines - 1) / prf
    if orbit_file:
        orbit = orbit_for_scene(read_orbit_file(orbit_file), epoch, 0.0, t_last, orbit_file)
    else:
        pp = next((r for r in recs[1:] if r.type_code == 30), None)
        if pp is None:
            raise InputFileError(disp, "a platform position record (type 30) or orbit_file=", "none")
        hdr, vals = platform_state_vectors(pp, disp)
        orbit = orbit_from_state_vectors(hdr, vals, disp, epoch)
    mission = mission_id(summ["mission"])
    meta = RadarMetadata(
        sensor="ERS", platform=f"ERS-{mission[-1]}", mode=summ["sensor_id"] or None, polarization="VV",
        level=level, epoch=epoch, wavelength_m=lam, prf_hz=prf, range_sampling_rate_hz=fs,
        azimuth_line_interval_s=1.0 / prf, look_side="right", grid=grid, doppler_centroid=dop,
        grid_doppler=dop if grid == "native_doppler" else Poly1D(coeffs=[0.0]), chirp=chirp,
        range_bandwidth_hz=ERS_CHIRP_BW_HZ,
        azimuth_bandwidth_hz=(summ["bandwidth_azimuth_hz"] if level == "slc" and np.isfinite(
            summ["bandwidth_azimuth_hz"]) and summ["bandwidth_azimuth_hz"] > 0 else None),
        source_files=[cont.display(led), idisp] + ([str(orbit_file)] if orbit_file else []),
        extra={**extra, "first_range_m": r0, "orbit_source": orbit.source},
    )
    return ErsProduct(path, cont, led, img, summ, d, dlen, prefix, level, meta, orbit, n_lines, n_samples,
                      line_map, shift)


def _read_raw_block(cont: CeosContainer, name: str, start: int, reclen: int, prefix: int, nbytes: int,
                    recs: np.ndarray, shifts: np.ndarray, n_samples: int, display: str) -> np.ndarray:
    """Output lines of an ERS raw image (dask task): records ``recs`` (-1: missing, zeros) placed at
    ``shifts`` samples, minus the 15.5 DC bias."""
    out = np.zeros((len(recs), n_samples), np.complex64)
    have = recs >= 0
    if not have.any():
        return out
    k0, k1 = int(recs[have].min()), int(recs[have].max()) + 1
    decode = _decode_ers_raw
    block = read_line_block(cont, name, start, reclen, prefix, nbytes, k0, k1, decode, display)
    n_pix = nbytes // 2
    for i in np.flatnonzero(have):
        s = int(shifts[recs[i]])
        out[i, s: s + n_pix] = block[recs[i] - k0]
    return out


def _decode_ers_raw(rows: np.ndarray) -> np.ndarray:
    v = rows.astype(np.float32) - ERS_BIAS
    return (v[:, 0::2] + 1j * v[:, 1::2]).astype(np.complex64)


def read_ers(path: str, *, polarization: str | None = None, chunks: int = 1024,
             orbit_file: str | None = None) -> Scene:
    """Read an ERS-1/2 CEOS raw or SLC product as a lazy :class:`Scene` (variable ``raw`` or ``slc``); an
    ERS product in the Envisat format (``.E1``/``.E2``) is handed to :func:`daskinsar.io.envisat.read_ers_envisat`.

    ``polarization``: ERS is VV only (any other value is refused). ``orbit_file``: a Delft ODR
    (or DORIS) file replacing the leader's state vectors.
    """
    import dask.array as da
    from dask.base import tokenize

    from .envisat import (  # envisat imports this module
        read_ers_envisat,
        sniff_ers_envisat,
    )

    if sniff_ers_envisat(path):  # ERS in the Envisat format (.E1/.E2)
        return read_ers_envisat(path, polarization=polarization, chunks=chunks, orbit_file=orbit_file)
    if polarization is not None and polarization.upper() != "VV":
        raise InputFileError(path, "polarization VV (ERS carries VV only)", repr(polarization))
    p = open_ers(path, orbit_file=orbit_file)
    d = p.descriptor
    idisp = p.container.display(p.image)
    pixels = d["left_border"] + d["n_pixels"] + d["right_border"]
    nbytes = pixels * d["bytes_per_group"]
    step = max(int(chunks), 1)
    bounds = list(range(0, p.n_lines, step)) + [p.n_lines]
    name = f"read-ers-{p.level}-" + tokenize(p.path, p.image, d, p.n_lines, step)
    if p.level == "raw":
        assert p.line_map is not None and p.line_shift is not None
        graph: dict[Any, Any] = {
            (name, i, 0): (_read_raw_block, p.container, p.image, p.descriptor_length, d["record_length"], p.prefix,
                           nbytes, p.line_map[a:b], p.line_shift, p.n_samples, idisp)
            for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))}
    else:
        graph = {(name, i, 0): (read_line_block, p.container, p.image, p.descriptor_length, d["record_length"],
                                p.prefix, nbytes, a, b, decode_ci2, idisp)
                 for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))}
    arr = da.Array(graph, name, (tuple(np.diff(bounds)), (p.n_samples,)), dtype=np.complex64)
    meta = p.meta
    dr = SPEED_OF_LIGHT / (2.0 * meta.range_sampling_rate_hz)
    coords = radar_grid_coords(0.0, 1.0 / meta.prf_hz, p.n_lines, meta.extra["first_range_m"], dr, p.n_samples)
    ds = xr.Dataset({p.level: (("azimuth", "range"), arr)}, coords=coords)
    ds.attrs["sensor"] = "ERS"
    return Scene(ds, meta, p.orbit)


def sniff_ers(path: str) -> bool:
    """A folder / zip / file of a CEOS product whose leader names mission ERS1 or ERS2."""
    return sniff_mission(path, MISSIONS, _EXPECTED)


READER = ReaderInfo(
    name="ERS",
    description="ERS-1/2 SAR, ESA CEOS raw (SAR.RAW, level 0) / SLC (SAR.SLC-I); leader orbit or Delft ODR",
    sniff=sniff_ers, read=read_ers, levels=("raw", "slc"), tested_on_real_data=False,
    aliases=("ERS1", "ERS2", "ERS-1", "ERS-2", "ERS_SLC"),
)
