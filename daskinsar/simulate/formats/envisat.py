"""Write a scene as an Envisat-format product: ASAR IMS (``ASA_IMS_1P``, ``.N1``), ERS SLC (``SAR_IMS_1P``,
``.E1``/``.E2``) or ERS raw level 0 (``SAR_IM__0P``); see :mod:`daskinsar.io.envisat` for what the reader takes.

Format resolution (values are rounded to it): MJD times to 1 us; line time interval, range sampling
rate, radar frequency and the geolocation grid's slant range times (ns) are float32 (the first
sample's range to about 4 cm); state vectors to 1 cm and 1e-5 m/s; SLC samples int16 I/Q (the scene
scaled by :func:`slc_scale`, largest |I|, |Q| -> 16000 counts). ERS raw: the scene must be on the ERS
timing grid (:func:`daskinsar.simulate.formats.ers_ceos.ers_raw_codes`); every source packet holds 5616
I/Q pairs, so a narrower scene is padded with alternating 15/16 codes (mean = the 15.5 bias).
"""

from __future__ import annotations

import os

import numpy as np

from ...geometry.ellipsoid import SPEED_OF_LIGHT
from ...geometry.rdr2geo import rdr2geo
from ...io.envisat_records import (CHIRP_SIZE, DOP_SIZE, ERS_L0_SAMPLES_AT, ERS_L0_SIZE, GEO_SIZE, IMS_PREFIX,
                                   MPH_SIZE, MPP_FIELDS, MPP_SIZE, MPP_SV_AT, MPP_SV_SIZE, N_TIE, SQ_SIZE, format_dsd,
                                   format_mph, format_sph, iso_to_mjd)
from ...io.orbit_files import format_envisat_time
from ...scene import Scene
from ._common import absolute_time, int_scale, iter_line_blocks, scene_corners
from .ers_ceos import _doppler_range_time, ers_raw_timing, quantize_raw, raw_gain

__all__ = ["write_envisat", "slc_scale", "product_name"]

SLC_FULL_SCALE = 16000.0


def slc_scale(scene: Scene) -> float:
    """int16 counts per unit of the SLC written by :func:`write_envisat`."""
    return int_scale(scene, SLC_FULL_SCALE)


def product_name(ptype: str, t_first: np.datetime64, duration_s: float, mission: str) -> str:
    """A 62-character Envisat product file name."""
    s = str(t_first)
    ext = ".N1" if mission == "ENVISAT" else f".E{mission[-1]}"
    centre = "PDE" if mission == "ENVISAT" else "ESA"
    name = (f"{ptype}N{centre}{s[:4]}{s[5:7]}{s[8:10]}_{s[11:13]}{s[14:16]}{s[17:19]}_"
            f"{int(round(duration_s * 1000)):08d}{'1620'}_00123_09876_0000{ext}")
    assert len(name) == 62, (name, len(name))
    return name


def _put(buf: bytearray, spec: tuple, value) -> None:
    off, dt, n = spec
    if dt == "mjd":
        buf[off: off + 12] = iso_to_mjd(value)
    elif dt.startswith("S"):
        buf[off: off + n * int(dt[1:])] = str(value).ljust(int(dt[1:]))[: int(dt[1:])].encode("ascii")
    else:
        vals = np.resize(np.asarray(value, np.float64), n)
        buf[off: off + np.dtype(dt).itemsize * n] = vals.astype(dt).tobytes()


def _iso(t: np.datetime64) -> str:
    return str(t.astype("datetime64[ns]"))


def _state_vectors(scene: Scene, t_mid: float) -> bytes:
    o = scene.orbit
    i = int(np.clip(np.searchsorted(o.time, t_mid) - 2, 0, len(o.time) - 5))
    out = bytearray()
    for k in range(i, i + 5):
        out += iso_to_mjd(_iso(absolute_time(scene, float(o.time[k]))))
        out += np.concatenate([np.round(o.position[k] * 100), np.round(o.velocity[k] * 1e5)]).astype(">i4").tobytes()
    return bytes(out)


def _geolocation(scene: Scene, lines_per_granule: int) -> bytes:
    n_az, n_rg = scene.shape
    t, r = scene.azimuth_time, scene.slant_range
    samp = np.linspace(0, n_rg - 1, N_TIE).round().astype(int)
    out = bytearray()
    for a in range(0, n_az, lines_per_granule):
        b = min(a + lines_per_granule, n_az) - 1
        rec = bytearray(GEO_SIZE)
        rec[0:12] = iso_to_mjd(_iso(absolute_time(scene, float(t[a]))))
        rec[13:17] = np.array([a + 1], ">u4").tobytes()
        rec[17:21] = np.array([b - a + 1], ">u4").tobytes()
        for base, line in ((25, a), (279, b)):
            if base == 279:
                rec[267:279] = iso_to_mjd(_iso(absolute_time(scene, float(t[line]))))
            tt = np.full(N_TIE, t[line])
            lon, lat, _ = rdr2geo(tt, r[samp], scene.orbit, wavelength_m=scene.meta.wavelength_m,
                                  look_side=scene.meta.look_side, dem=0.0)
            rec[base: base + 44] = (samp + 1).astype(">u4").tobytes()
            rec[base + 44: base + 88] = (2.0 * r[samp] / SPEED_OF_LIGHT * 1e9).astype(">f4").tobytes()
            rec[base + 88: base + 132] = np.full(N_TIE, 23.0).astype(">f4").tobytes()
            rec[base + 132: base + 176] = np.round(lat * 1e6).astype(">i4").tobytes()
            rec[base + 176: base + 220] = np.round(lon * 1e6).astype(">i4").tobytes()
        out += rec
    return bytes(out)


def write_envisat(scene: Scene, path: str, *, product: str = "ASA_IMS_1P", mission: str | None = None,
                  lines_per_block: int = 512) -> str:
    """Write ``scene`` into folder ``path`` as an Envisat-format ``product``; returns the file path."""
    meta = scene.meta
    mission = mission or ("ENVISAT" if product.startswith("ASA_") else "ERS2")
    if product in ("ASA_IMS_1P", "SAR_IMS_1P"):
        if meta.level != "slc" or meta.grid != "zero_doppler":
            raise ValueError(f"{product} holds a zero-Doppler SLC")
    elif product == "SAR_IM__0P":
        if meta.level != "raw":
            raise ValueError("SAR_IM__0P holds raw echoes")
        ers_raw_timing(scene)
    else:
        raise ValueError(f"cannot write product {product!r}")
    if meta.look_side != "right":
        raise ValueError("Envisat and ERS look right")
    os.makedirs(path, exist_ok=True)
    n_az, n_rg = scene.shape
    dt, dr = scene.grid_spacing
    t = scene.azimuth_time
    t_first, t_last = absolute_time(scene, float(t[0])), absolute_time(scene, float(t[-1]))
    name = product_name(product, t_first, float(t[-1] - t[0]), mission)
    fn = os.path.join(path, name)
    c = scene_corners(scene)
    sph_items = [("SPH_DESCRIPTOR", "Image Mode SLC Image" if product != "SAR_IM__0P" else "SAR Level 0", True),
                 ("STRIPLINE_CONTINUITY_INDICATOR", "+000", False), ("SLICE_POSITION", "+001", False),
                 ("NUM_SLICES", "+001", False), ("FIRST_LINE_TIME", format_envisat_time(_iso(t_first)).upper(), True),
                 ("LAST_LINE_TIME", format_envisat_time(_iso(t_last)).upper(), True)]
    for key, (la, lo) in (("FIRST_NEAR", c["first_near"]), ("FIRST_MID", c["first_mid"]), ("FIRST_FAR", c["first_far"]),
                          ("LAST_NEAR", c["last_near"]), ("LAST_MID", c["last_mid"]), ("LAST_FAR", c["last_far"])):
        sph_items += [(f"{key}_LAT", f"{int(round(la * 1e6)):+011d}<10-6degN>", False),
                      (f"{key}_LONG", f"{int(round(lo * 1e6)):+011d}<10-6degE>", False)]
    sph_items += [("SWATH", "IS2", True), ("PASS", "ASCENDING ", True), ("SAMPLE_TYPE", "COMPLEX ", True),
                  ("ALGORITHM", "RAN/DOP", True), ("MDS1_TX_RX_POLAR", "V/V", True), ("MDS2_TX_RX_POLAR", "   ", True),
                  ("COMPRESSION", "NONE ", True), ("AZIMUTH_LOOKS", "+001", False), ("RANGE_LOOKS", "+001", False),
                  ("RANGE_SPACING", f"{dr:+015.8E}<m>", False), ("LINE_TIME_INTERVAL", f"{dt:+015.8E}<s>", False),
                  ("LINE_LENGTH", f"{n_rg:+06d}<samples>", False), ("DATA_TYPE", "SWORD", True)]
    # data sets: (name, type, payload bytes or (n_dsr, dsr_size) for the MDS written afterwards)
    if product != "SAR_IM__0P":
        mpp = bytearray(MPP_SIZE)
        fs, lam = meta.range_sampling_rate_hz, meta.wavelength_m
        vals = {"first_zero_doppler_time": _iso(t_first), "last_zero_doppler_time": _iso(t_last),
                "range_spacing": dr, "azimuth_spacing": 4.0, "line_time_interval": dt, "num_output_lines": n_az,
                "num_samples_per_line": n_rg, "data_type": "SWORD", "prf_value": meta.prf_hz,
                "tx_pulse_len_value": meta.chirp.duration_s if meta.chirp else 0.0,
                "tx_pulse_bw_value": meta.chirp.bandwidth_hz if meta.chirp else 0.0, "range_samp_rate": fs,
                "radar_freq": SPEED_OF_LIGHT / lam, "num_looks_range": 1,
                "tot_bw_range": meta.range_bandwidth_hz or 0.0, "num_lines_proc": n_az,
                "look_bw_az": meta.azimuth_bandwidth_hz or 0.0, "to_bw_az": meta.azimuth_bandwidth_hz or 0.0}
        for k, v in vals.items():
            _put(mpp, MPP_FIELDS[k], v)
        mpp[MPP_SV_AT: MPP_SV_AT + 5 * MPP_SV_SIZE] = _state_vectors(scene, float(t[n_az // 2]))
        dop = bytearray(DOP_SIZE)
        dop[0:12] = iso_to_mjd(_iso(t_first))
        dop[13:17] = np.array([2.0 * scene.slant_range[0] / SPEED_OF_LIGHT * 1e9], ">f4").tobytes()
        dop[17:37] = np.array(_doppler_range_time(scene) + [0.0, 0.0], ">f4").tobytes()
        dop[37:41] = np.array([0.9], ">f4").tobytes()
        sq = bytearray(SQ_SIZE)
        sq[0:12] = iso_to_mjd(_iso(t_first))
        chirp = bytearray(CHIRP_SIZE)
        chirp[0:12] = iso_to_mjd(_iso(t_first))
        geo = _geolocation(scene, max(1, (n_az + 3) // 4))
        ads = [("MDS1 SQ ADS", "A", bytes(sq), SQ_SIZE), ("MAIN PROCESSING PARAMS ADS", "A", bytes(mpp), MPP_SIZE),
               ("DOP CENTROID COEFFS ADS", "A", bytes(dop), DOP_SIZE), ("CHIRP PARAMS ADS", "A", bytes(chirp),
                                                                       CHIRP_SIZE),
               ("GEOLOCATION GRID ADS", "A", geo, GEO_SIZE)]
        mds_name, mds_dsr = "MDS1", IMS_PREFIX + 4 * n_rg
    else:
        ads = []
        mds_name, mds_dsr = "SAR_SOURCE_PACKETS", ERS_L0_SIZE
    refs = [("LEVEL 0 PRODUCT", "R", "NOT USED"), ("ORBIT STATE VECTOR 1", "R", "DOR_VOR_AXVF-P20000101_000000")]
    n_dsd = len(ads) + 1 + len(refs)
    sph_len = len(format_sph(sph_items, [])) + n_dsd * 280
    offset = MPH_SIZE + sph_len
    dsds, payload = [], []
    for nm, ty, data, dsr in ads:
        dsds.append(format_dsd(nm, ty, "", offset, len(data), len(data) // dsr, dsr))
        payload.append(data)
        offset += len(data)
    dsds.append(format_dsd(mds_name, "M", "", offset, n_az * mds_dsr, n_az, mds_dsr))
    total = offset + n_az * mds_dsr
    dsds += [format_dsd(nm, ty, fname, 0, 0, 0, 0) for nm, ty, fname in refs]
    sph = format_sph(sph_items, dsds)
    o = scene.orbit
    mid = o.interpolate(np.array([t[n_az // 2]]))
    p0, v0 = mid[0][0], mid[1][0]
    mph = format_mph([
        ("PRODUCT", name, True), ("PROC_STAGE", "N", False), ("REF_DOC", "PO-RS-MDA-GS-2009_4/C", True),
        ("ACQUISITION_STATION", "Kiruna", True), ("PROC_CENTER", "PDHS-E" if mission == "ENVISAT" else "ESRIN", True),
        ("PROC_TIME", format_envisat_time(_iso(t_first)).upper(), True), ("SOFTWARE_VER", "ASAR/4.05", True),
        ("SENSING_START", format_envisat_time(_iso(t_first)).upper(), True),
        ("SENSING_STOP", format_envisat_time(_iso(t_last)).upper(), True), ("PHASE", "2", False),
        ("CYCLE", "+023", False), ("REL_ORBIT", "+00123", False), ("ABS_ORBIT", "+09876", False),
        ("STATE_VECTOR_TIME", format_envisat_time(_iso(absolute_time(scene, float(t[n_az // 2])))).upper(), True),
        ("DELTA_UT1", "+.000000<s>", False),
        ("X_POSITION", f"{p0[0]:+012.3f}<m>", False), ("Y_POSITION", f"{p0[1]:+012.3f}<m>", False),
        ("Z_POSITION", f"{p0[2]:+012.3f}<m>", False), ("X_VELOCITY", f"{v0[0]:+012.6f}<m/s>", False),
        ("Y_VELOCITY", f"{v0[1]:+012.6f}<m/s>", False), ("Z_VELOCITY", f"{v0[2]:+012.6f}<m/s>", False),
        ("VECTOR_SOURCE", "FP", True), ("PRODUCT_ERR", "0", False), ("TOT_SIZE", f"{total:+021d}<bytes>", False),
        ("SPH_SIZE", f"{len(sph):+011d}<bytes>", False), ("NUM_DSD", f"{n_dsd:+011d}", False),
        ("DSD_SIZE", "+0000000280<bytes>", False), ("NUM_DATA_SETS", f"{len(ads) + 1:+011d}", False)])
    assert len(sph) == sph_len
    with open(fn, "wb") as fh:
        fh.write(mph + sph + b"".join(payload))
        if product != "SAR_IM__0P":
            scale = slc_scale(scene)
            for a, blk in iter_line_blocks(scene, lines_per_block):
                out = np.zeros((blk.shape[0], mds_dsr), np.uint8)
                for i in range(blk.shape[0]):
                    out[i, :12] = np.frombuffer(iso_to_mjd(_iso(absolute_time(scene, float(t[a + i])))), np.uint8)
                    out[i, 13:17] = np.frombuffer(np.array([a + i + 1], ">u4").tobytes(), np.uint8)
                iq = np.empty((blk.shape[0], 2 * n_rg), ">i2")
                iq[:, 0::2] = np.clip(np.round(blk.real * scale), -32767, 32767)
                iq[:, 1::2] = np.clip(np.round(blk.imag * scale), -32767, 32767)
                out[:, IMS_PREFIX:] = iq.view(np.uint8).reshape(blk.shape[0], -1)
                fh.write(out.tobytes())
        else:
            n_pairs = (ERS_L0_SIZE - ERS_L0_SAMPLES_AT) // 2
            if n_rg > n_pairs:
                raise ValueError(f"an ERS source packet holds {n_pairs} samples, the scene has {n_rg}")
            pri, swst = ers_raw_timing(scene)
            gain = raw_gain(scene)
            pad = np.where(np.arange(2 * (n_pairs - n_rg)) % 4 < 2, 15, 16).astype(np.uint8)
            for a, blk in iter_line_blocks(scene, lines_per_block):
                out = np.zeros((blk.shape[0], ERS_L0_SIZE), np.uint8)
                q = quantize_raw(blk, gain)
                for i in range(blk.shape[0]):
                    line = a + i
                    out[i, :12] = np.frombuffer(iso_to_mjd(_iso(absolute_time(scene, float(t[line])))), np.uint8)
                    out[i, 12:24] = 0xFF  # ground station reference time: not set for ERS
                    out[i, 24:26] = np.frombuffer(np.array([ERS_L0_SIZE - 33], ">u2").tobytes(), np.uint8)
                    out[i, 54:58] = np.frombuffer(np.array([1000 + line], ">u4").tobytes(), np.uint8)
                    out[i, 58:60] = np.frombuffer(np.array([swst], ">u2").tobytes(), np.uint8)
                    out[i, 60:62] = np.frombuffer(np.array([pri], ">u2").tobytes(), np.uint8)
                out[:, ERS_L0_SAMPLES_AT: ERS_L0_SAMPLES_AT + 2 * n_rg] = q
                out[:, ERS_L0_SAMPLES_AT + 2 * n_rg:] = pad
                fh.write(out.tobytes())
    return fn
