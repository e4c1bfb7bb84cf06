"""Write scenes as RADARSAT-1 (raw, SLC) and RISAT-1 (SLC) CEOS products; see :mod:`daskinsar.io.ceos_radarsat1`
and :mod:`daskinsar.io.ceos_risat1` for the layouts.

Format resolution (values are rounded to it):

- RADARSAT-1 SLC: first line time to 1 ms, PRF to 1 mHz, first slant range to 1 m and Doppler centroids to
  1 Hz (4-byte integers of the processed data record); int16 samples (largest |I|, |Q| -> 16000 counts).
- RADARSAT-1 raw: the scene must be on the RADARSAT-1 timing grid (sampling rate of an ADC code, PRF of a PRF
  code, first sample at a window code: :func:`rsat_raw_codes`); line times to 1 us; samples 4-bit
  ``clip(round(g x + 7.5), 0, 15)`` stored XOR 8, with the gain ``g`` of :func:`raw_gain_4bit`.
- RISAT-1 SLC: float32 record fields (ms of day plus an integer bias: 1 ms; PRF; first slant range to a few
  cm; Doppler), int16 samples.
- Both: inertial state vectors (RADARSAT-1 velocities in mm/s, RISAT-1 with a two-digit year) rotated from the
  scene's ECEF orbit by a Greenwich hour angle of 123.456 deg at the first vector.
"""

from __future__ import annotations

import os

import numpy as np

from ...geometry.ellipsoid import SPEED_OF_LIGHT
from ...io.ceos_radarsat1 import AUX_BYTES, BEAM_GATE, PROCESSED_RECORD as RSAT_RECORD, RAW_PREFIX, RSAT_SMO_HZ, \
    rsat_chirp_slope, rsat_timing
from ...io.ceos_records import build_record
from ...io.ceos_risat1 import PROCESSED_RECORD as RISAT_RECORD
from ...scene import Scene
from ._ceos import ceos_clock, dss_record, image_descriptor, leader_descriptor, platform_record, record_bytes, \
    volume_descriptor
from ._common import absolute_time, int_scale, iter_line_blocks, scene_corners, uniform_orbit

__all__ = ["write_radarsat1_ceos", "write_risat1_ceos", "rsat_raw_codes", "raw_gain_4bit", "quantize_4bit",
           "GMHA_DEG"]

GMHA_DEG = 123.456
SLC_FULL_SCALE = 16000.0
_POL_CODE = {"V": 1, "H": 2, "L": 3, "R": 4}


def rsat_raw_codes(fs_hz: float, prf_hz: float, near_range_m: float, beam: int = 3) -> tuple[int, int, int, int]:
    """(ADC code, PRF code, window code, beam) nearest to a sampling rate, PRF and first-sample range."""
    adc = int(np.argmin([abs(RSAT_SMO_HZ / (4 + 3 * a) - fs_hz) for a in range(3)]))
    tb = (4.0 + 3.0 * adc) / RSAT_SMO_HZ
    p = int(round(1.0 / (prf_hz * 6.0 * tb) - 2.0))
    prf = 1.0 / ((2.0 + p) * 6.0 * tb)
    w = int(round(((2.0 * near_range_m / SPEED_OF_LIGHT) - BEAM_GATE[beam] / prf + 4.04e-6) / (6.0 * tb) - 5.0))
    return adc, p, w, beam


def raw_gain_4bit(scene: Scene) -> float:
    arr = scene.data["raw"].data
    ms = (abs(arr) ** 2).mean()
    ms = float(ms.compute() if hasattr(ms, "compute") else ms)
    return float(np.float32(2.5 / np.sqrt(ms / 2.0)))


def quantize_4bit(x: np.ndarray, gain: float) -> np.ndarray:
    """(n, m) complex -> (n, 2m) uint8 stored RADARSAT-1 codes."""
    out = np.empty((x.shape[0], 2 * x.shape[1]), np.uint8)
    out[:, 0::2] = np.clip(np.round(x.real * gain + 7.5), 0, 15)
    out[:, 1::2] = np.clip(np.round(x.imag * gain + 7.5), 0, 15)
    return out ^ 8


def _aux(t_s: float, adc: int, p: int, w: int, beam: int) -> bytes:
    a = bytearray(AUX_BYTES)
    us_total = int(round(t_s * 1e6))
    sec, rem = divmod(us_total, 1_000_000)
    ms, us = divmod(rem, 1000)
    a[18:20] = beam.to_bytes(2, "big")
    a[22] = adc << 4
    a[25], a[26] = p >> 5, (p & 31) << 3
    a[27], a[28] = w >> 4, (w & 15) << 4
    a[44] = sec >> 12
    a[45] = (sec >> 4) & 255
    a[46] = ((sec & 15) << 4) | (ms >> 6)
    a[47] = ((ms & 63) << 2) | (us >> 8)
    a[48] = us & 255
    return bytes(a)


def _doy(t: np.datetime64) -> tuple[int, int, float]:
    day = t.astype("datetime64[D]")
    y = int(str(day)[:4])
    doy = int((day - day.astype("datetime64[Y]")) / np.timedelta64(1, "D")) + 1
    return y, doy, float((t - day) / np.timedelta64(1, "ns")) * 1e-9


def _leader(scene: Scene, path: str, values: dict, **pp_kw) -> None:
    t = scene.azimuth_time
    c = scene_corners(scene)
    t_c = absolute_time(scene, float(t[len(t) // 2]))
    values = {"scene_centre_time": ceos_clock(t_c), "scene_centre_lat_deg": c["centre"][0],
              "scene_centre_lon_deg": c["centre"][1], "wavelength_m": scene.meta.wavelength_m,
              "clock_angle_deg": 90.0 if scene.meta.look_side == "right" else -90.0, "time_direction_pixel": "INCREASE",
              "time_direction_line": "INCREASE", **values}
    dss = dss_record(values)
    pp = platform_record(uniform_orbit(scene, float(t[0]), float(t[-1])), inertial=True, gmha_deg=GMHA_DEG,
                         frame="INERTIAL", **pp_kw)
    with open(os.path.join(path, "LEA_01.001"), "wb") as fh:
        fh.write(leader_descriptor("LEA_01.001", dss_length=len(dss), pp_length=len(pp)) + dss + pp)


def _slc_records(scene: Scene, fh, table: dict, fields, lines_per_block: int) -> None:
    n_az, n_rg = scene.shape
    scale = int_scale(scene, SLC_FULL_SCALE)
    for a, blk in iter_line_blocks(scene, lines_per_block):
        iq = np.empty((blk.shape[0], 2 * n_rg), ">i2")
        iq[:, 0::2] = np.clip(np.round(blk.real * scale), -32767, 32767)
        iq[:, 1::2] = np.clip(np.round(blk.imag * scale), -32767, 32767)
        out = []
        for i in range(blk.shape[0]):
            pre = build_record(table, fields(a + i), sequence=a + i + 2, codes=(50, 11, 18, 20), length=192,
                               fill=b"\x00")
            out.append(record_bytes(pre, iq[i].tobytes(), a + i + 2, codes=(50, 11, 18, 20)))
        fh.write(b"".join(out))


def write_radarsat1_ceos(scene: Scene, path: str, *, beam: int = 3, lines_per_block: int = 512) -> str:
    """Write ``scene`` (raw or SLC, HH) as a RADARSAT-1 CEOS product in folder ``path``; returns the folder."""
    m = scene.meta
    os.makedirs(path, exist_ok=True)
    n_az, n_rg = scene.shape
    dt, dr = scene.grid_spacing
    t = scene.azimuth_time
    t0 = absolute_time(scene, float(t[0]))
    y, doy, sod0 = _doy(t0)
    values = {"mission": "RSAT-1", "sensor_id": "RSAT-1 SAR STD-3", "scene_id": "RSAT1-SIM", "n_sar_channels": 1,
              "range_sampling_rate_mhz": m.range_sampling_rate_hz / 1e6, "pulse_length_us": 42.0,
              "radar_frequency": SPEED_OF_LIGHT / m.wavelength_m / 1e9, "facility": "CDPF", "prf_mhz": 1e3 / dt}
    with open(os.path.join(path, "VDF_DAT.001"), "wb") as fh:
        fh.write(volume_descriptor("CSA RADARSAT-1 CEOS PRODUCT written by daskinsar"))
    if m.level == "slc":
        _leader(scene, path, {**values, "product_type": "SPECIAL PRODUCT(SINGL-LOOK COMP)"}, velocity_scale=1e3)
        r = scene.slant_range
        tm = float(t[n_az // 2])
        dop = [int(round(float(m.grid_doppler(tm, r[k])))) for k in (0, (n_rg - 1) // 2, n_rg - 1)]

        def fields(k: int) -> dict:
            ms = int(round((sod0 + k * dt) * 1e3))
            return {"line_number": k + 1, "record_index": 1, "n_pixels": n_rg, "year": y, "day_of_year": doy,
                    "ms_of_day": ms, "tx_pol": 2, "rx_pol": 2, "prf": int(round(1e3 / dt)),
                    "slant_range_first_m": int(round(r[0])), "slant_range_mid_m": int(round(r[n_rg // 2])),
                    "slant_range_last_m": int(round(r[-1])), "doppler_first_hz": dop[0], "doppler_mid_hz": dop[1],
                    "doppler_last_hz": dop[2]}
        with open(os.path.join(path, "DAT_01.001"), "wb") as fh:
            fh.write(image_descriptor("DAT_01.001", n_lines=n_az, n_pixels=n_rg, record_length=192 + 4 * n_rg,
                                      prefix_bytes=180, bits=16, samples_per_group=2, bytes_per_group=4,
                                      format_code="CI*4", format_type="COMPLEX INTEGER*4"))
            _slc_records(scene, fh, RSAT_RECORD, fields, lines_per_block)
        return str(path)
    if m.level != "raw":
        raise ValueError(f"RADARSAT-1 CEOS holds raw or SLC scenes, not {m.level!r}")
    adc, p, w, beam = rsat_raw_codes(m.range_sampling_rate_hz, 1.0 / dt, float(scene.slant_range[0]), beam)
    fs, prf, r0 = rsat_timing(adc, p, w, beam)
    off_grid = abs(fs * dr * 2 / SPEED_OF_LIGHT - 1) > 1e-9 or abs(prf * dt - 1) > 1e-9
    if off_grid or abs(r0 - scene.slant_range[0]) > 1e-3:
        raise ValueError("the raw scene is not on the RADARSAT-1 timing grid (ADC, PRF and window codes); see "
                         "rsat_raw_codes")
    if m.chirp is None or abs(m.chirp.slope_hz_per_s / rsat_chirp_slope(fs) - 1) > 1e-9 or \
            abs(m.chirp.duration_s - 42e-6) > 1e-12:
        raise ValueError("RADARSAT-1 raw needs its chirp (42 us at the sampling rate's slope)")
    _leader(scene, path, {**values, "product_type": "RAW SIGNAL DATA", "quantization_bits": 4}, velocity_scale=1e3)
    gain = raw_gain_4bit(scene)
    reclen = RAW_PREFIX + AUX_BYTES + 2 * n_rg
    with open(os.path.join(path, "DAT_01.001"), "wb") as fh:
        fh.write(image_descriptor("DAT_01.001", n_lines=n_az, n_pixels=n_rg, record_length=reclen, prefix_bytes=180,
                                  bits=4, samples_per_group=2, bytes_per_group=2, format_code="CU*2",
                                  format_type="COMPLEX UNSIGNED*2"))
        for a, blk in iter_line_blocks(scene, lines_per_block):
            q = quantize_4bit(blk, gain)
            out = []
            for i in range(blk.shape[0]):
                k = a + i
                pre = bytearray(RAW_PREFIX)
                pre[36:44] = np.array([y, doy], ">u4").tobytes()
                body = _aux(sod0 + k * dt, adc, p, w, beam) + q[i].tobytes()
                out.append(record_bytes(bytes(pre), body, k + 2))
            fh.write(b"".join(out))
    return str(path)


def write_risat1_ceos(scene: Scene, path: str, *, lines_per_block: int = 512) -> str:
    """Write an SLC ``scene`` as a RISAT-1 CEOS product in folder ``path``; returns the folder."""
    m = scene.meta
    if m.level != "slc":
        raise ValueError("RISAT-1 CEOS (as read here) holds SLC scenes")
    os.makedirs(path, exist_ok=True)
    n_az, n_rg = scene.shape
    dt, dr = scene.grid_spacing
    t = scene.azimuth_time
    y, doy, sod0 = _doy(absolute_time(scene, float(t[0])))
    pol = (m.polarization or "HH").upper()
    _leader(scene, path, {"mission": "RISAT-1", "sensor_id": "RISAT-1 SAR FRS-1", "scene_id": "RISAT1-SIM",
                          "range_sampling_rate_mhz": m.range_sampling_rate_hz,  # RISAT-1 states Hz here
                          "pulse_length_us": m.chirp.duration_s if m.chirp else 20e-6,  # and s here
                          "prf_mhz": 1.0 / dt, "product_type": "SLC", "facility": "NRSC"}, year_offset=2000)
    with open(os.path.join(path, "VDF_DAT.001"), "wb") as fh:
        fh.write(volume_descriptor("ISRO RISAT-1 CEOS PRODUCT written by daskinsar"))
    r = scene.slant_range
    tm = float(t[n_az // 2])
    dop = [float(m.grid_doppler(tm, r[k])) for k in (0, (n_rg - 1) // 2, n_rg - 1)]

    def fields(k: int) -> dict:
        ms = int(round((sod0 + k * dt) * 1e3))
        ms_f = float(np.float32(ms))
        return {"line_number": k + 1, "record_index": 1, "n_pixels": n_rg, "year": y, "day_of_year": doy,
                "ms_of_day": ms_f, "time_bias_ms": int(ms - ms_f), "tx_pol": _POL_CODE[pol[0]],
                "rx_pol": _POL_CODE[pol[1]], "prf": 1.0 / dt, "slant_range_first_m": r[0],
                "slant_range_mid_m": r[n_rg // 2], "slant_range_last_m": r[-1], "doppler_first_hz": dop[0],
                "doppler_mid_hz": dop[1], "doppler_last_hz": dop[2]}
    with open(os.path.join(path, "DAT_01.001"), "wb") as fh:
        fh.write(image_descriptor("DAT_01.001", n_lines=n_az, n_pixels=n_rg, record_length=192 + 4 * n_rg,
                                  prefix_bytes=180, bits=16, samples_per_group=2, bytes_per_group=4, format_code="CI*4",
                                  format_type="COMPLEX INTEGER*4"))
        _slc_records(scene, fh, RISAT_RECORD, fields, lines_per_block)
    return str(path)
