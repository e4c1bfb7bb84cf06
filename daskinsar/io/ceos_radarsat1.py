"""RADARSAT-1 SAR in CEOS format (CSA / CDPF, ASF): raw signal data and single-look complex products.

Files as for ERS (``LEA_01.001`` / ``DAT_01.001`` ...; :mod:`daskinsar.io.ceos_common`). The data set
summary's mission field must be ``RSAT-1`` (or ``RADARSAT-1``). The leader's platform position record holds
inertial (true-of-date) state vectors with velocities in mm/s; they are turned into ECEF by rotating by the
record's Greenwich mean hour angle at the first vector plus the Earth's rotation since (ISCE2 does the same
with its ``ECI2ECR``).

**Raw** (as ISCE2's ``Radarsat1`` sensor): each signal data record is the 12-byte header, a 180-byte prefix
(acquisition year and day of year at bytes 37-44), a 50-byte auxiliary block of bit fields (RSI-D6) and the
echo: one byte per I or Q sample holding a 4-bit code ``x``, value ``(x XOR 8) - 7.5``. From the auxiliary
block: the time of day (17-bit s, 10-bit ms, 10-bit us), the ADC rate code ``a`` (time base
``tb = (4 + 3 a) / 129.2683 MHz``, range sampling rate ``1 / tb``), the PRF code ``p`` (``PRF = 1 / ((2 + p) 6
tb)``), the receive window code ``w`` (window start ``(5 + w) 6 tb``), the beam number and a replica flag.
First sample's range: ``c/2 (window start + k / PRF - 2 x 2.02 us)`` with ``k`` the beam's pulses in flight
(ISCE2's table). A line that carries the replica has its first ``2 int(44.559 us / tb)`` bytes removed and is
padded with zeros; a time gap of ``n`` PRIs (< 126) becomes ``n - 1`` zero lines; a change of PRF, ADC rate or
window within the scene is refused. Chirp: 42 us, slope by sampling rate (ISCE2: -7.214e11, -4.1619e11 or
-2.7931e11 Hz/s). Doppler: unknown (0; the focuser estimates it).

**SLC**: int16 I/Q after the standard 192-byte processed data record (:func:`processed_record_table`, all
4-byte integers: PRF in mHz, slant ranges in m, Doppler centroid in Hz at the first, mid and last pixel,
ms of day), range sampling rate from the data set summary (MHz). Grid: native Doppler with the record's
Doppler (a quadratic through first/mid/last pixel), as ISCE2 geolocates these stripmap SLCs with their
Doppler. Look side: from the scene centre of the data set summary (it must agree with the clock angle when
one is given).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import xarray as xr

from ..errors import InputFileError
from ..geometry.ellipsoid import SPEED_OF_LIGHT
from ..geometry.orbit import seconds_between
from ..scene import Chirp, Poly1D, RadarMetadata, Scene, radar_grid_coords
from .ceos_common import (
    Grid,
    Level,
    image_descriptor,
    look_side_from_scene_centre,
    prefix_bytes,
    processed_record_table,
    read_leader,
    sniff_mission,
)
from .ceos_records import (
    HEADER_LEN,
    PARSE_ERRORS,
    CeosContainer,
    ceos_time,
    decode_ci2,
    doy_time,
    orbit_from_state_vectors,
    parse_fields,
    platform_state_vectors,
    read_line_block,
    record_bytes_columns,
)
from .readers import ReaderInfo

__all__ = ["read_radarsat1", "open_radarsat1", "sniff_radarsat1", "READER", "RSAT_SMO_HZ", "AUX_BYTES",
           "rsat_timing", "BEAM_GATE", "PROCESSED_RECORD", "RAW_PREFIX", "decode_aux", "rsat_chirp_slope"]

_EXPECTED = "a RADARSAT-1 CEOS SAR product (LEA_01.001 / DAT_01.001, folder or zip)"
MISSIONS = ("RSAT1", "RADARSAT1")
RSAT_SMO_HZ = 129.2683e6
ONE_WAY_DELAY_S = 2.02e-6
AUX_BYTES = 50
RAW_PREFIX = HEADER_LEN + 180
PULSE_S = 42.0e-6
#: beam number -> pulses in flight before the window (ISCE2's beamToRangeGateEdge)
BEAM_GATE = {1: 7, 2: 7, 3: 8, 4: 8, 5: 8, 6: 9, 7: 9, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9}
PROCESSED_RECORD, PROCESSED_END = processed_record_table("U4")


def rsat_chirp_slope(fs_hz: float) -> float:
    return -7.214e11 if fs_hz > 30e6 else -4.1619047619047619629e11 if fs_hz > 15e6 else -2.7931e11


def rsat_timing(adc_code: int, prf_code: int, window_code: int, beam: int) -> tuple[float, float, float]:
    """(range sampling rate Hz, PRF Hz, first sample's slant range m) of RADARSAT-1 auxiliary codes."""
    tb = (4.0 + 3.0 * adc_code) / RSAT_SMO_HZ
    prf = 1.0 / ((2.0 + prf_code) * 6.0 * tb)
    window = (5.0 + window_code) * 6.0 * tb
    r0 = 0.5 * SPEED_OF_LIGHT * (window + BEAM_GATE[beam] / prf - 2.0 * ONE_WAY_DELAY_S)
    return 1.0 / tb, prf, r0


def decode_aux(aux: np.ndarray) -> dict[str, np.ndarray]:
    """Bit fields of (n, 50) auxiliary blocks."""
    a = aux.astype(np.int64)
    sec = ((a[:, 44] & 31) << 12) | (a[:, 45] << 4) | (a[:, 46] >> 4)
    ms = ((a[:, 46] & 15) << 6) | (a[:, 47] >> 2)
    us = ((a[:, 47] & 3) << 8) | a[:, 48]
    return {"time_s": sec + ms * 1e-3 + us * 1e-6, "adc_code": (a[:, 22] & 63) >> 4,
            "prf_code": (a[:, 25] << 5) | (a[:, 26] >> 3), "window_code": (a[:, 27] << 4) | (a[:, 28] >> 4),
            "beam": (a[:, 18] << 8) | a[:, 19], "replica": (a[:, 49] >> 6) & 1}


def _aux_columns(cont: CeosContainer, img: str, start: int, reclen: int, n: int) -> tuple[dict, np.ndarray]:
    mm = record_bytes_columns(cont, img, start, reclen, n, 36, RAW_PREFIX + AUX_BYTES)
    aux = np.ascontiguousarray(mm[:, RAW_PREFIX - 36:])
    ymd = np.ascontiguousarray(mm[:, :8]).view(">u4").reshape(n, 2)
    return decode_aux(aux), ymd


def open_radarsat1(path: str | os.PathLike) -> dict[str, Any]:
    """Parse a RADARSAT-1 product (leader, image descriptor, raw auxiliary blocks); no pixels read."""
    try:
        return _open(str(path))
    except InputFileError:
        raise
    except PARSE_ERRORS as exc:
        raise InputFileError(str(path), _EXPECTED, f"invalid content ({type(exc).__name__}: {exc})") from None


def _open(path: str) -> dict[str, Any]:
    cont = CeosContainer(path, _EXPECTED)
    led, recs, summ, disp = read_leader(cont, MISSIONS, "RADARSAT-1", _EXPECTED,
                                        strict=("wavelength_m", "range_sampling_rate_mhz", "pulse_length_us",
                                                "scene_centre_lat_deg", "scene_centre_lon_deg", "clock_angle_deg"))
    img, d, dlen, size = image_descriptor(cont, _EXPECTED)
    idisp = cont.display(img)
    layout = (d["bits_per_sample"], d["samples_per_group"], d["bytes_per_group"])
    n_rec, reclen = d["n_records"], d["record_length"]
    lam = summ["wavelength_m"]
    if not (np.isfinite(lam) and lam > 0):
        raise InputFileError(disp, "a positive wavelength in the data set summary", f"{lam!r}")
    extra: dict[str, Any] = {"product_type": summ["product_type"], "facility": summ["facility"],
                             "scene_centre_time": summ["scene_centre_time"],
                             "scene_centre_lat_deg": summ["scene_centre_lat_deg"],
                             "scene_centre_lon_deg": summ["scene_centre_lon_deg"]}
    level: Level
    grid: Grid
    info: dict[str, Any] = {"container": cont, "image": img, "display": idisp, "descriptor": d, "dlen": dlen}
    if layout in ((4, 2, 2), (8, 2, 2)):
        level = "raw"
        data_bytes = reclen - RAW_PREFIX - AUX_BYTES - d["suffix_bytes"]
        if d["prefix_bytes"] + HEADER_LEN != RAW_PREFIX or data_bytes != d["n_pixels"] * d["bytes_per_group"]:
            raise InputFileError(idisp, f"raw records of {RAW_PREFIX} header+prefix bytes, {AUX_BYTES} auxiliary "
                                        f"bytes and {d['n_pixels']} I/Q byte pairs", f"{reclen} bytes, prefix "
                                 f"{d['prefix_bytes']}")
        cols, ymd = _aux_columns(cont, img, dlen, reclen, n_rec)
        for key in ("adc_code", "prf_code", "window_code", "beam"):
            if np.any(cols[key] != cols[key][0]):
                raise InputFileError(idisp, f"one {key.replace('_', ' ')} for the whole scene (window, PRF and ADC "
                                            "changes are not supported)", f"{np.unique(cols[key]).tolist()}")
        beam = int(cols["beam"][0])
        if beam not in BEAM_GATE or int(cols["adc_code"][0]) > 2:
            raise InputFileError(idisp, f"a RADARSAT-1 beam of {sorted(BEAM_GATE)} and ADC code 0..2",
                                 f"beam {beam}, ADC code {int(cols['adc_code'][0])}")
        fs, prf, r0 = rsat_timing(int(cols["adc_code"][0]), int(cols["prf_code"][0]), int(cols["window_code"][0]),
                                  beam)
        tb = 1.0 / fs
        replica = 2 * int(44.559e-6 / tb)
        width = (data_bytes - (replica if cols["replica"][0] else 0)) // 2
        if width <= 0:
            raise InputFileError(idisp, "echo samples after the replica", f"{data_bytes} data bytes")
        t = cols["time_s"]
        lines: list[int] = [0]
        for k in range(1, n_rec):
            gap = int(np.floor((t[k] - t[lines[-1]]) * prf + 0.5))
            if gap == 0:
                continue
            if gap < 0 or gap >= 126:
                raise InputFileError(idisp, "RADARSAT-1 lines in time order with gaps of less than 126 PRIs",
                                     f"a jump of {gap} PRIs at record {k + 1}")
            lines.extend([-1] * (gap - 1))
            lines.append(k)
        year, doy = int(ymd[0, 0]), int(ymd[0, 1])
        try:
            epoch = doy_time(year, doy, float(t[0]))
        except ValueError as exc:
            raise InputFileError(idisp, "a valid acquisition year, day and time in the first record",
                                 str(exc)) from None
        chirp = Chirp(slope_hz_per_s=rsat_chirp_slope(fs), duration_s=PULSE_S)
        dop = Poly1D(coeffs=[0.0])
        grid = "native_doppler"
        info.update(line_map=np.asarray(lines, np.int64), replica_flags=cols["replica"], replica_bytes=replica,
                    data_bytes=data_bytes, width=width)
        n_lines, n_samples = len(lines), width
        extra.update(beam=beam, missing_lines=int(np.count_nonzero(np.asarray(lines) < 0)), iq_bias=[7.5, 7.5])
    elif layout == (16, 2, 4):
        level = "slc"
        pre = prefix_bytes(d, idisp)
        if pre < PROCESSED_END:
            raise InputFileError(idisp, f"a processed data record prefix of {PROCESSED_END} bytes", f"{pre}")
        first = parse_fields(cont.read(img, PROCESSED_END, dlen), PROCESSED_RECORD, path=idisp)
        prf = first["prf"] * 1e-3
        fs = summ["range_sampling_rate_mhz"] * 1e6
        r0 = float(first["slant_range_first_m"])
        try:
            epoch = doy_time(first["year"], first["day_of_year"], first["ms_of_day"] * 1e-3)
        except ValueError as exc:
            raise InputFileError(idisp, "a valid acquisition time in the first processed data record",
                                 str(exc)) from None
        n_lines, n_samples = n_rec, d["n_pixels"]
        dr = SPEED_OF_LIGHT / (2.0 * fs) if fs > 0 else float("nan")
        x = np.array([0.0, float((n_samples - 1) // 2), n_samples - 1.0])
        f = np.array([first["doppler_first_hz"], first["doppler_mid_hz"], first["doppler_last_hz"]], float)
        c = np.linalg.solve(np.vander(x, 3, increasing=True), f) if n_samples >= 3 else np.array([f[0], 0, 0])
        dop = Poly1D(reference=r0, scale=dr, coeffs=[float(v) for v in c])
        grid = "native_doppler"
        chirp = None
        tp = summ["pulse_length_us"]
        if np.isfinite(tp) and tp > 0 and np.isfinite(fs) and fs > 0:
            chirp = Chirp(slope_hz_per_s=rsat_chirp_slope(fs), duration_s=tp * 1e-6)
        info.update(prefix=pre)
        extra["doppler_first_mid_last_hz"] = f.tolist()
    else:
        raise InputFileError(idisp, "RADARSAT-1 raw (4-bit I/Q bytes) or SLC (int16 I/Q) image records",
                             f"{layout[0]} bits x {layout[1]} samples in {layout[2]} bytes")
    for name, v in (("PRF", prf), ("range sampling rate", fs), ("first slant range", r0)):
        if not (np.isfinite(v) and v > 0):
            raise InputFileError(idisp, f"a positive {name}", f"{v!r}")
    pp = next((r for r in recs[1:] if r.type_code == 30), None)
    if pp is None:
        raise InputFileError(disp, "a platform position record (type 30)", "none")
    hdr, vals = platform_state_vectors(pp, disp)
    orbit = orbit_from_state_vectors(hdr, vals, disp, epoch, velocity_scale=1e-3, inertial=True)
    try:
        centre = ceos_time(summ["scene_centre_time"])
    except ValueError as exc:
        raise InputFileError(disp, "a scene centre time in the data set summary", str(exc)) from None
    look = look_side_from_scene_centre(orbit, seconds_between(epoch, centre), summ["scene_centre_lat_deg"],
                                       summ["scene_centre_lon_deg"], disp)
    clock = summ["clock_angle_deg"]
    if np.isfinite(clock) and (clock < 0) != (look == "left"):
        raise InputFileError(disp, f"a clock angle agreeing with the {look}-looking scene centre", f"{clock}")
    meta = RadarMetadata(
        sensor="RADARSAT1", platform="RADARSAT-1", mode=summ["sensor_id"] or None, polarization="HH", level=level,
        epoch=epoch, wavelength_m=lam, prf_hz=prf, range_sampling_rate_hz=fs, azimuth_line_interval_s=1.0 / prf,
        look_side=look, grid=grid, doppler_centroid=dop, grid_doppler=dop, chirp=chirp,
        source_files=[cont.display(led), idisp], extra={**extra, "first_range_m": r0, "orbit_source": orbit.source},
    )
    info.update(meta=meta, orbit=orbit, level=level, n_lines=n_lines, n_samples=n_samples)
    return info


def _read_raw(cont: CeosContainer, name: str, start: int, reclen: int, recs: np.ndarray, replica: np.ndarray,
              replica_bytes: int, width: int, display: str) -> np.ndarray:
    out = np.zeros((len(recs), width), np.complex64)
    have = recs >= 0
    if not have.any():
        return out
    k0, k1 = int(recs[have].min()), int(recs[have].max()) + 1
    buf = cont.read(name, (k1 - k0) * reclen, start + k0 * reclen)
    if len(buf) != (k1 - k0) * reclen:
        raise InputFileError(display, f"image records {k0}..{k1 - 1}", "the file ends early (truncated)")
    rows = np.frombuffer(buf, np.uint8).reshape(k1 - k0, reclen)[:, RAW_PREFIX + AUX_BYTES:]
    for i in np.flatnonzero(have):
        k = int(recs[i])
        line = rows[k - k0, replica_bytes:] if replica[k] else rows[k - k0]
        v = (line[: 2 * width] ^ 8).astype(np.float32) - 7.5
        n = v.size // 2
        out[i, :n] = v[0: 2 * n: 2] + 1j * v[1: 2 * n: 2]
    return out


def read_radarsat1(path: str, *, polarization: str | None = None, chunks: int = 1024,
                   orbit_file: str | None = None) -> Scene:
    """Read a RADARSAT-1 CEOS raw or SLC product as a lazy Scene (HH only; no orbit files)."""
    import dask.array as da
    from dask.base import tokenize

    if polarization is not None and polarization.upper() != "HH":
        raise InputFileError(path, "polarization HH (RADARSAT-1 carries HH only)", repr(polarization))
    if orbit_file is not None:
        raise InputFileError(path, "no orbit_file (RADARSAT-1 state vectors come from the leader)", repr(orbit_file))
    p = open_radarsat1(path)
    d, cont, img, disp = p["descriptor"], p["container"], p["image"], p["display"]
    n_lines, n_samples, level = p["n_lines"], p["n_samples"], p["level"]
    step = max(int(chunks), 1)
    bounds = list(range(0, n_lines, step)) + [n_lines]
    name = f"read-radarsat1-{level}-" + tokenize(cont.path, img, d, step)
    if level == "raw":
        graph: dict[Any, Any] = {(name, i, 0): (_read_raw, cont, img, p["dlen"], d["record_length"], p["line_map"][a:b],
                                p["replica_flags"], p["replica_bytes"], p["width"], disp)
                 for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))}
    else:
        graph = {(name, i, 0): (read_line_block, cont, img, p["dlen"], d["record_length"], p["prefix"],
                                4 * n_samples, a, b, decode_ci2, disp)
                 for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))}
    arr = da.Array(graph, name, (tuple(np.diff(bounds)), (n_samples,)), dtype=np.complex64)
    m = p["meta"]
    coords = radar_grid_coords(0.0, 1.0 / m.prf_hz, n_lines, m.extra["first_range_m"],
                               SPEED_OF_LIGHT / (2.0 * m.range_sampling_rate_hz), n_samples)
    ds = xr.Dataset({level: (("azimuth", "range"), arr)}, coords=coords)
    ds.attrs["sensor"] = "RADARSAT1"
    return Scene(ds, m, p["orbit"])


def sniff_radarsat1(path: str) -> bool:
    """A CEOS product whose leader names mission RSAT-1 / RADARSAT-1."""
    return sniff_mission(path, MISSIONS, _EXPECTED)


READER = ReaderInfo(
    name="RADARSAT1",
    description="RADARSAT-1 CEOS raw (4-bit I/Q, auxiliary timing) / SLC; inertial leader orbit",
    sniff=sniff_radarsat1, read=read_radarsat1, levels=("raw", "slc"), tested_on_real_data=False,
    aliases=("RADARSAT-1", "RSAT1", "RSAT-1"),
)
