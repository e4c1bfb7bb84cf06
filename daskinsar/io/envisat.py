"""Envisat ASAR and ERS-1/2 SAR products in the Envisat format (``.N1``, ``.E1``, ``.E2``).

Levels (the MPH ``PRODUCT`` name decides; the format is in :mod:`daskinsar.io.envisat_records`):

- ``ASA_IMS_1P`` (ASAR image mode SLC) and ``SAR_IMS_1P`` (ERS-1/2 SLC of PF-ASAR): zero-Doppler
  SLC. First line time: the first ``MDS1`` record's MJD zero-Doppler time (1 us; it must agree with
  the main processing parameters' first zero-Doppler time); line interval: the processing
  parameters' ``LINE_TIME_INTERVAL`` (float32 s; the last line's MJD time must agree within 2 us);
  first sample's range: the geolocation grid's first slant range time (float32 ns, as ISCE2, so to
  about 4 cm); range sampling rate, radar frequency, PRF, pulse length and bandwidth from the main
  processing parameters; Doppler centroid from the Doppler ADS (a polynomial in two-way range time);
  int16 I/Q samples returned as complex64.
- ``SAR_IM__0P`` (ERS-1/2 raw, level 0 source packets): decoded like the ERS CEOS raw product
  (:mod:`daskinsar.io.ceos_ers`: 5-bit I/Q minus 15.5, PRF from the PRI code, first sample range from
  the SWST code, SWST changes and line gaps handled), first line time from the first packet's MJD
  time. The product holds a single MPH state vector, so an ``orbit_file=`` (Delft ODR or DORIS) is
  required.
- ``ASA_IM__0P`` (ASAR raw) is **refused**: its samples are FBAQ-compressed and decoding needs the
  reconstruction tables of the ASA_INS_AX instrument file (ISCE2 decodes it with a C extension).
  Other products (``*_IMP_1P``, ``*_APS``, wide swath, ...) are refused as not single-look complex.

Orbit: the five state vectors of the main processing parameters (``ASA/SAR_IMS``), or a precise
orbit file (``orbit_file=``: DORIS ``DOR_VOR_AX`` or Delft ODR), which must cover the scene.
Look side: right. The ENVISAT reader refuses ERS products and the ERS reader Envisat ones.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from ..errors import InputFileError
from ..geometry.ellipsoid import SPEED_OF_LIGHT
from ..geometry.orbit import Orbit, seconds_between
from ..scene import Chirp, Poly1D, RadarMetadata, Scene, radar_grid_coords
from .ceos_ers import ERS_BIAS, ERS_CHIRP_BW_HZ, ERS_FS_HZ, _raw_line_layout, ers_near_range, ers_prf
from .ceos_common import Grid, Level
from .ceos_records import PARSE_ERRORS
from .envisat_records import (DOP_SIZE, ERS_L0_FIELDS, ERS_L0_SAMPLES_AT, ERS_L0_SIZE, GEO_SIZE, IMS_PREFIX,
                              MPP_FIELDS, MPP_SIZE, MPP_SV_AT, MPP_SV_SIZE, Dsd, field, mjd_to_iso, read_headers)
from .orbit_files import orbit_for_scene, read_orbit_file
from ._files import input_file
from .readers import ReaderInfo
from .validate import check_orbit

__all__ = ["open_envisat", "read_envisat", "read_ers_envisat", "sniff_envisat", "sniff_ers_envisat", "READER",
           "ERS_READER", "EnvisatProduct"]

_EXPECTED = "an Envisat-format SAR product (.N1 / .E1 / .E2)"
SLC_PRODUCTS = ("ASA_IMS_1P", "SAR_IMS_1P")
RAW_PRODUCTS = ("SAR_IM__0P",)
HEAD_BYTES = 1 << 20


@dataclass
class EnvisatProduct:
    path: str
    product: str
    mission: str
    level: str
    mph: dict[str, str]
    sph: dict[str, str]
    dsds: dict[str, Dsd]
    meta: RadarMetadata
    orbit: Orbit
    mds: Dsd
    n_lines: int
    n_samples: int
    line_map: np.ndarray | None = None
    line_shift: np.ndarray | None = None
    raw_samples: int = 0


def _read(path: str, offset: int, n: int) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(offset)
        b = fh.read(n)
    if len(b) != n:
        raise InputFileError(path, f"{n} bytes at offset {offset}", f"{len(b)} (truncated)")
    return b


def _product_kind(path: str, mph: dict[str, str]) -> tuple[str, str, Level]:
    """(product type, mission 'ENVISAT'/'ERS1'/'ERS2', level) from the MPH PRODUCT name."""
    name = mph.get("PRODUCT", "")
    ptype = name[:10]
    if name.startswith("ASA_"):
        mission = "ENVISAT"
    elif name.startswith("SAR_") and len(name) >= 62 and name[-3:-1] == ".E" and name[-1] in "12":
        mission = f"ERS{name[-1]}"
    else:
        raise InputFileError(path, "an ASAR (ASA_*.N1) or ERS (SAR_*.E1/.E2) product name in the MPH",
                             f"PRODUCT={name!r}")
    if ptype == "ASA_IM__0P":
        raise InputFileError(path, "an ASAR IMS (ASA_IMS_1P) product: ASAR raw (ASA_IM__0P) needs FBAQ decoding with "
                                   "the ASA_INS_AX instrument file, which daskinsar does not do", f"PRODUCT={name!r}")
    if ptype in SLC_PRODUCTS:
        return ptype, mission, "slc"
    if ptype in RAW_PRODUCTS:
        return ptype, mission, "raw"
    raise InputFileError(path, "a single-look complex (ASA_IMS_1P, SAR_IMS_1P) or ERS raw (SAR_IM__0P) product",
                         f"PRODUCT={name!r}")


def _need(path: str, dsds: dict[str, Dsd], name: str, dsr_min: int) -> Dsd:
    d = dsds.get(name)
    if d is None or d.num_dsr < 1 or d.size <= 0:
        raise InputFileError(path, f"a {name!r} data set", "none" if d is None else f"{d.num_dsr} records")
    if d.dsr_size < dsr_min:
        raise InputFileError(path, f"{name!r} records of at least {dsr_min} bytes", f"{d.dsr_size} bytes")
    return d


def _mpp_orbit(path: str, mpp: bytes) -> Orbit:
    times, pv = [], []
    for k in range(5):
        at = MPP_SV_AT + k * MPP_SV_SIZE
        try:
            times.append(mjd_to_iso(mpp, at))
        except ValueError as exc:
            raise InputFileError(path, "valid orbit state vector times in the main processing parameters",
                                 str(exc)) from None
        v = np.frombuffer(mpp[at + 12: at + 36], ">i4", 6).astype(np.float64)
        pv.append(np.concatenate([v[:3] * 1e-2, v[3:] * 1e-5]))
    t = np.array([seconds_between(times[0], s) for s in times])
    arr = np.array(pv)
    try:
        orbit = Orbit(times[0], t, arr[:, :3], arr[:, 3:], source=f"{path} (main processing parameters)")
    except ValueError as exc:
        raise InputFileError(path, "5 valid orbit state vectors in the main processing parameters", str(exc)) from None
    check_orbit(orbit, path)
    return orbit


def open_envisat(path: str | os.PathLike, *, orbit_file: str | None = None, mission: str | None = None,
                 polarization: str | None = None) -> EnvisatProduct:
    """Parse an Envisat-format product (headers, annotation data sets, ERS raw line prefixes); no pixels read.

    ``mission``: "ENVISAT" or "ERS" to refuse the other."""
    try:
        return _open(str(path), orbit_file, mission, polarization)
    except InputFileError:
        raise
    except PARSE_ERRORS as exc:
        raise InputFileError(str(path), _EXPECTED, f"invalid content ({type(exc).__name__}: {exc})") from None


def _open(path: str, orbit_file: str | None, want: str | None, polarization: str | None) -> EnvisatProduct:
    size = input_file(path, _EXPECTED)
    with open(path, "rb") as fh:
        head = fh.read(min(size, HEAD_BYTES))
    mph, sph, dsds = read_headers(path, size, head)
    ptype, mission, level = _product_kind(path, mph)
    if want is not None and (want == "ENVISAT") != (mission == "ENVISAT"):
        other = "ENVISAT" if mission == "ENVISAT" else "ERS"
        raise InputFileError(path, f"an {want} product (MPH PRODUCT name)",
                             f"an {mission} product {mph.get('PRODUCT')!r}: read it with sensor {other}")
    extra: dict[str, Any] = {"product": mph.get("PRODUCT"), "proc_center": mph.get("PROC_CENTER"),
                             "software": mph.get("SOFTWARE_VER"), "abs_orbit": mph.get("ABS_ORBIT"),
                             "rel_orbit": mph.get("REL_ORBIT"), "pass": sph.get("PASS"), "swath": sph.get("SWATH")}
    for k in ("FIRST_NEAR_LAT", "FIRST_NEAR_LONG", "FIRST_FAR_LAT", "FIRST_FAR_LONG", "LAST_NEAR_LAT",
              "LAST_NEAR_LONG", "LAST_FAR_LAT", "LAST_FAR_LONG", "FIRST_MID_LAT", "FIRST_MID_LONG",
              "LAST_MID_LAT", "LAST_MID_LONG"):
        if k in sph:
            try:
                extra[k.lower() + "_deg"] = float(sph[k].split("<")[0]) * 1e-6
            except ValueError:
                pass
    line_map = shift = None
    raw_samples = 0
    product_orbit: Orbit | None = None
    grid: Grid
    if level == "slc":
        pol = sph.get("MDS1_TX_RX_POLAR", "").replace("/", "").upper()
        if pol not in ("HH", "HV", "VH", "VV"):
            raise InputFileError(path, "an MDS1_TX_RX_POLAR of H/H, H/V, V/H or V/V in the SPH",
                                 repr(sph.get("MDS1_TX_RX_POLAR")))
        if polarization is not None and polarization.upper() != pol:
            raise InputFileError(path, f"polarization {polarization.upper()} (MDS1_TX_RX_POLAR)", repr(pol))
        mpp_d = _need(path, dsds, "MAIN PROCESSING PARAMS ADS", MPP_SIZE)
        mds = _need(path, dsds, "MDS1", IMS_PREFIX + 4)
        dop_d = _need(path, dsds, "DOP CENTROID COEFFS ADS", DOP_SIZE)
        geo_d = _need(path, dsds, "GEOLOCATION GRID ADS", GEO_SIZE)
        mpp = _read(path, mpp_d.offset, mpp_d.dsr_size)
        v = {k: field(mpp, s, path, k) for k, s in MPP_FIELDS.items()}
        n_lines, n_samples = int(v["num_output_lines"]), int(v["num_samples_per_line"])
        if n_lines != mds.num_dsr or IMS_PREFIX + 4 * n_samples != mds.dsr_size or n_samples < 1:
            raise InputFileError(path, f"MDS1 of {n_lines} records of {IMS_PREFIX} + 4 x {n_samples} bytes "
                                       "(main processing parameters)",
                                 f"{mds.num_dsr} records of {mds.dsr_size} bytes")
        first = _read(path, mds.offset, IMS_PREFIX)
        last = _read(path, mds.offset + (n_lines - 1) * mds.dsr_size, IMS_PREFIX)
        epoch = mjd_to_iso(first)
        dt = v["line_time_interval"]
        if not (np.isfinite(dt) and dt > 0):
            raise InputFileError(path, "a positive line time interval (s)", f"{dt!r}")
        span = seconds_between(epoch, mjd_to_iso(last))
        if abs(span - (n_lines - 1) * dt) > 2e-6 + 1e-6 * n_lines * dt:
            raise InputFileError(path, f"MDS1 line times {dt} s apart (line time interval)",
                                 f"{span:.6f} s over {n_lines - 1} intervals")
        if abs(seconds_between(epoch, v["first_zero_doppler_time"])) > 1e-3:
            raise InputFileError(path, "the first MDS1 line at the first zero-Doppler time",
                                 f"{epoch} vs {v['first_zero_doppler_time']}")
        geo = _read(path, geo_d.offset, GEO_SIZE)
        tau0 = float(np.frombuffer(geo[69:73], ">f4")[0]) * 1e-9
        dop = _read(path, dop_d.offset, DOP_SIZE)
        tau_ref = float(np.frombuffer(dop[13:17], ">f4")[0]) * 1e-9
        dcoef = [float(x) for x in np.frombuffer(dop[17:37], ">f4", 5)]
        if not (np.isfinite(tau0) and tau0 > 0 and np.isfinite(tau_ref) and all(np.isfinite(dcoef))):
            raise InputFileError(path, "finite range times and Doppler coefficients", f"{tau0!r}, {dcoef!r}")
        fs = v["range_samp_rate"]
        lam = SPEED_OF_LIGHT / v["radar_freq"] if v["radar_freq"] > 0 else float("nan")
        prf = v["prf_value"][0]
        tau_p, bw = v["tx_pulse_len_value"][0], v["tx_pulse_bw_value"][0]
        az_bw, rg_bw = v["to_bw_az"], v["tot_bw_range"][0]
        for name, val in (("transmitted pulse length (s)", tau_p), ("transmitted pulse bandwidth (Hz)", bw),
                          ("total processed azimuth bandwidth (Hz)", az_bw),
                          ("total processed range bandwidth (Hz)", rg_bw)):
            if not (np.isfinite(val) and val >= 0):  # 0: not stated
                raise InputFileError(path, f"a positive {name} (or 0: not stated) in the main processing "
                                           "parameters", f"{val!r}")
        if (tau_p > 0) != (bw > 0):
            raise InputFileError(path, "the transmitted pulse length and bandwidth together (both or neither)",
                                 f"{tau_p!r} s, {bw!r} Hz")
        chirp = Chirp(slope_hz_per_s=bw / tau_p, duration_s=tau_p) if tau_p > 0 else None
        az_bw = az_bw or None
        rg_bw = rg_bw or None
        r0 = 0.5 * SPEED_OF_LIGHT * tau0
        doppler = Poly1D(variable="range_time", reference=tau_ref, scale=1.0, coeffs=dcoef)
        grid = "zero_doppler"
        product_orbit = _mpp_orbit(path, mpp)
        extra["slant_range_time_first_ns"] = tau0 * 1e9
    else:
        if polarization is not None and polarization.upper() != "VV":
            raise InputFileError(path, "polarization VV (ERS carries VV only)", repr(polarization))
        pol = "VV"
        mds = _need(path, dsds, "SAR_SOURCE_PACKETS", ERS_L0_SIZE)
        if mds.dsr_size != ERS_L0_SIZE:
            raise InputFileError(path, f"ERS level 0 source packets of {ERS_L0_SIZE} bytes", f"{mds.dsr_size}")
        n_rec = mds.num_dsr
        mm = np.memmap(path, np.uint8, mode="r", offset=mds.offset, shape=(n_rec, ERS_L0_SIZE))
        cols = {k: np.ascontiguousarray(mm[:, o: o + np.dtype(t).itemsize]).view(t).reshape(n_rec).astype(np.int64)
                for k, (o, t) in ERS_L0_FIELDS.items()}
        line_map, sw, sw_min, sw_max = _raw_line_layout(cols, path)
        shift = 4 * (sw - sw_min)
        raw_samples = (ERS_L0_SIZE - ERS_L0_SAMPLES_AT) // 2
        n_lines, n_samples = len(line_map), raw_samples + 4 * (sw_max - sw_min)
        pri = int(cols["pri_code"][0])
        prf = ers_prf(pri)
        dt = 1.0 / prf
        fs = ERS_FS_HZ
        lam = 0.0565646  # ERS C band (ISCE2's ERS_EnviSAT constant)
        r0 = ers_near_range(sw_min, prf)
        epoch = mjd_to_iso(_read(path, mds.offset + int(line_map[0]) * ERS_L0_SIZE, 12))
        tau_p = 37.12e-6
        chirp = Chirp(slope_hz_per_s=ERS_CHIRP_BW_HZ / tau_p, duration_s=tau_p)
        doppler = Poly1D(coeffs=[0.0])
        grid = "native_doppler"
        az_bw = None
        rg_bw = ERS_CHIRP_BW_HZ
        extra.update(swst_codes=[sw_min, sw_max], pri_code=pri, missing_lines=int(np.count_nonzero(line_map < 0)),
                     iq_bias=[ERS_BIAS, ERS_BIAS])
        if not orbit_file:
            raise InputFileError(path, "orbit_file= (a Delft ODR or DORIS file): an ERS level 0 product holds one "
                                       "MPH state vector only", "no orbit file")
    t_last = (n_lines - 1) * dt
    if orbit_file:
        orbit = orbit_for_scene(read_orbit_file(orbit_file), epoch, 0.0, t_last, orbit_file)
    else:
        assert product_orbit is not None
        orbit = product_orbit.shift_epoch(epoch)
    for name, val in (("wavelength", lam), ("PRF", prf), ("range sampling rate", fs)):
        if not (np.isfinite(val) and val > 0):
            raise InputFileError(path, f"a positive {name}", f"{val!r}")
    meta = RadarMetadata(
        sensor="ENVISAT" if mission == "ENVISAT" else "ERS",
        platform="Envisat" if mission == "ENVISAT" else f"ERS-{mission[-1]}",
        mode=ptype, polarization=pol, level=level, epoch=epoch, wavelength_m=lam, prf_hz=prf,
        range_sampling_rate_hz=fs, azimuth_line_interval_s=dt, look_side="right", grid=grid,
        doppler_centroid=doppler, grid_doppler=doppler if grid == "native_doppler" else Poly1D(coeffs=[0.0]),
        chirp=chirp, range_bandwidth_hz=rg_bw, azimuth_bandwidth_hz=az_bw,
        source_files=[path] + ([str(orbit_file)] if orbit_file else []),
        extra={**extra, "first_range_m": r0, "orbit_source": orbit.source},
    )
    return EnvisatProduct(path, ptype, mission, level, mph, sph, dsds, meta, orbit, mds, n_lines, n_samples,
                          line_map, shift, raw_samples)


def _read_ims(path: str, offset: int, dsr: int, a: int, b: int, n: int) -> np.ndarray:
    buf = _read(path, offset + a * dsr, (b - a) * dsr)
    rows = np.frombuffer(buf, np.uint8).reshape(b - a, dsr)[:, IMS_PREFIX:]
    v = np.ascontiguousarray(rows).view(">i2").astype(np.float32)
    return (v[:, 0::2] + 1j * v[:, 1::2]).astype(np.complex64)


def _read_l0(path: str, offset: int, recs: np.ndarray, shifts: np.ndarray, n_pix: int, n_samples: int) -> np.ndarray:
    out = np.zeros((len(recs), n_samples), np.complex64)
    have = recs >= 0
    if not have.any():
        return out
    k0, k1 = int(recs[have].min()), int(recs[have].max()) + 1
    buf = _read(path, offset + k0 * ERS_L0_SIZE, (k1 - k0) * ERS_L0_SIZE)
    rows = np.frombuffer(buf, np.uint8).reshape(k1 - k0, ERS_L0_SIZE)[:, ERS_L0_SAMPLES_AT:]
    v = rows.astype(np.float32) - ERS_BIAS
    block = (v[:, 0::2] + 1j * v[:, 1::2]).astype(np.complex64)
    for i in np.flatnonzero(have):
        s = int(shifts[recs[i]])
        out[i, s: s + n_pix] = block[recs[i] - k0]
    return out


def _scene(p: EnvisatProduct, chunks: int) -> Scene:
    import dask.array as da
    from dask.base import tokenize

    step = max(int(chunks), 1)
    bounds = list(range(0, p.n_lines, step)) + [p.n_lines]
    name = f"read-envisat-{p.level}-" + tokenize(p.path, os.path.getmtime(p.path), p.n_lines, step)
    if p.level == "slc":
        graph: dict[Any, Any] = {(name, i, 0): (_read_ims, p.path, p.mds.offset, p.mds.dsr_size, a, b, p.n_samples)
                 for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))}
    else:
        assert p.line_map is not None and p.line_shift is not None
        graph = {(name, i, 0): (_read_l0, p.path, p.mds.offset, p.line_map[a:b], p.line_shift, p.raw_samples,
                                p.n_samples) for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))}
    arr = da.Array(graph, name, (tuple(np.diff(bounds)), (p.n_samples,)), dtype=np.complex64)
    m = p.meta
    dr = SPEED_OF_LIGHT / (2.0 * m.range_sampling_rate_hz)
    coords = radar_grid_coords(0.0, m.line_interval_s, p.n_lines, m.extra["first_range_m"], dr, p.n_samples)
    ds = xr.Dataset({p.level: (("azimuth", "range"), arr)}, coords=coords)
    ds.attrs["sensor"] = m.sensor
    return Scene(ds, m, p.orbit)


def read_envisat(path: str, *, polarization: str | None = None, chunks: int = 1024,
                 orbit_file: str | None = None) -> Scene:
    """Read an Envisat ASAR IMS product (``ASA_IMS_1P``) as a lazy SLC :class:`Scene`."""
    return _scene(open_envisat(path, orbit_file=orbit_file, mission="ENVISAT", polarization=polarization), chunks)


def read_ers_envisat(path: str, *, polarization: str | None = None, chunks: int = 1024,
                     orbit_file: str | None = None) -> Scene:
    """Read an ERS-1/2 product in Envisat format (``SAR_IMS_1P`` SLC, ``SAR_IM__0P`` raw) as a lazy Scene."""
    return _scene(open_envisat(path, orbit_file=orbit_file, mission="ERS", polarization=polarization), chunks)


def _sniff(path: str, prefix: str) -> bool:
    try:
        if not os.path.isfile(path):
            return False
        with open(path, "rb") as fh:
            head = fh.read(80)
        return head.startswith(b'PRODUCT="' + prefix.encode())
    except Exception:
        return False


def sniff_envisat(path: str) -> bool:
    """An Envisat-format file whose product name starts with ASA_ (ASAR)."""
    return _sniff(str(path), "ASA_")


def sniff_ers_envisat(path: str) -> bool:
    """An Envisat-format file whose product name starts with SAR_ (ERS-1/2)."""
    return _sniff(str(path), "SAR_")


READER = ReaderInfo(
    name="ENVISAT",
    description="Envisat ASAR IMS (ASA_IMS_1P .N1) SLC; product orbit or DORIS/ODR orbit_file (ASA_IM__0P refused)",
    sniff=sniff_envisat, read=read_envisat, levels=("slc",), tested_on_real_data=False,
    aliases=("ENVISAT_SLC", "ASAR"),
)
ERS_READER = ReaderInfo(
    name="ERS_ENVISAT",
    description="ERS-1/2 in Envisat format (.E1/.E2): SAR_IMS_1P SLC, SAR_IM__0P raw (needs orbit_file)",
    sniff=sniff_ers_envisat, read=read_ers_envisat, levels=("raw", "slc"), tested_on_real_data=False,
    aliases=("ERS_ENVISAT_SLC",),
)
