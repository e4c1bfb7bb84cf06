"""Write a scene as an ERS-1/2 ESA CEOS product (``SAR.RAW`` raw or ``SAR.SLC-I`` SLC), see
:mod:`daskinsar.io.ceos_ers` for the layout the reader expects.

Files: ``VDF_DAT.001`` (volume), ``LEA_01.001`` (file descriptor, data set summary, platform position),
``DAT_01.001`` (image file descriptor + one record per line).

Format resolution (values are rounded to it):

- SLC: first zero-Doppler time to 1 ms (the leader's ``dd-MMM-yyyy hh:mm:ss.fff``); samples are int16
  I/Q, the scene scaled by :func:`slc_scale` (largest |I|, |Q| -> 16000 counts).
- raw: the scene must already be on the ERS timing grid (range sampling 18.962468 MHz, PRF of an
  integer PRI code, first sample at the range of an integer SWST code: :func:`ers_raw_codes`);
  the first line time is written to 1 ms (satellite clock time, ICU counter equal to the
  satellite binary time); samples are 5-bit: ``clip(round(g x + 15.5), 0, 31)`` with the gain
  ``g`` of :func:`raw_gain` (I/Q rms -> 5 counts).
"""

from __future__ import annotations

import os

import numpy as np

from ...geometry.ellipsoid import SPEED_OF_LIGHT
from ...io.ceos_ers import ERS_BIAS, ERS_CHIRP_BW_HZ, ERS_FS_HZ, ERS_RAW_LINE, ERS_RAW_PREFIX_END, ers_near_range, \
    ers_prf
from ...io.ceos_records import build_record
from ...io.orbit_files import format_envisat_time
from ...scene import Poly1D, Scene
from ._ceos import ceos_clock, dss_record, image_descriptor, leader_descriptor, platform_record, record_bytes, \
    volume_descriptor
from ._common import absolute_time, int_scale, iter_line_blocks, scene_corners, uniform_orbit

__all__ = ["write_ers_ceos", "slc_scale", "raw_gain", "ers_raw_codes", "ers_raw_timing", "quantize_raw"]

SLC_FULL_SCALE = 16000.0
RAW_RMS_COUNTS = 5.0


def slc_scale(scene: Scene) -> float:
    """int16 counts per unit of the SLC written by :func:`write_ers_ceos`."""
    return int_scale(scene, SLC_FULL_SCALE)


def raw_gain(scene: Scene) -> float:
    """5-bit counts per unit of the raw echoes written by :func:`write_ers_ceos` (rms -> 5 counts)."""
    arr = scene.data["raw"].data
    ms = (abs(arr) ** 2).mean()
    ms = float(ms.compute() if hasattr(ms, "compute") else ms)
    return float(np.float32(RAW_RMS_COUNTS / np.sqrt(ms / 2.0)))


def quantize_raw(x: np.ndarray, gain: float) -> np.ndarray:
    """(n, m) complex -> (n, 2m) uint8 I, Q codes of the ERS raw format."""
    out = np.empty((x.shape[0], 2 * x.shape[1]), np.uint8)
    out[:, 0::2] = np.clip(np.round(x.real * gain + ERS_BIAS), 0, 31)
    out[:, 1::2] = np.clip(np.round(x.imag * gain + ERS_BIAS), 0, 31)
    return out


def ers_raw_codes(prf_hz: float, near_range_m: float) -> tuple[int, int]:
    """(PRI code, SWST code) whose PRF and first-sample range are nearest to the given ones."""
    pri = int(round(ERS_FS_HZ / (4.0 * prf_hz) - 2.0))
    prf = ers_prf(pri)
    swst = int(round((2.0 * near_range_m / SPEED_OF_LIGHT - 9.0 / prf + 6.622e-6) * ERS_FS_HZ / 4.0))
    return pri, swst


def ers_raw_timing(scene: Scene) -> tuple[int, int]:
    """(PRI code, SWST code) of a raw scene on the ERS timing grid; ValueError if it is not on it."""
    meta = scene.meta
    dt = scene.grid_spacing[0]
    if abs(meta.range_sampling_rate_hz / ERS_FS_HZ - 1) > 1e-9:
        raise ValueError(f"ERS raw needs range sampling {ERS_FS_HZ} Hz")
    pri, swst = ers_raw_codes(1.0 / dt, float(scene.slant_range[0]))
    if abs(ers_prf(pri) * dt - 1) > 1e-9 or abs(ers_near_range(swst, ers_prf(pri)) - scene.slant_range[0]) > 1e-3:
        raise ValueError("the raw scene is not on the ERS timing grid (PRF of an integer PRI code, first sample "
                         "at an integer SWST code); see ers_raw_codes")
    if meta.chirp is None or abs(meta.chirp.bandwidth_hz / ERS_CHIRP_BW_HZ - 1) > 1e-6:
        raise ValueError(f"ERS raw needs the ERS chirp ({ERS_CHIRP_BW_HZ} Hz bandwidth)")
    return pri, swst


def _doppler_range_time(scene: Scene) -> list[float]:
    """The scene's Doppler centroid as a quadratic in two-way range time from the first pixel (Hz, Hz/s, Hz/s^2)."""
    r = scene.slant_range
    tau = 2.0 * (r - r[0]) / SPEED_OF_LIGHT
    f = np.asarray(scene.meta.doppler_centroid(float(scene.azimuth_time[len(scene.azimuth_time) // 2]), r), float)
    if isinstance(scene.meta.doppler_centroid, Poly1D) and len(scene.meta.doppler_centroid.coeffs) == 1:
        return [float(scene.meta.doppler_centroid.coeffs[0]), 0.0, 0.0]
    c = np.polynomial.polynomial.polyfit(tau, f, 2)
    return [float(x) for x in c]


def write_ers_ceos(scene: Scene, path: str, *, mission: str = "ERS2", lines_per_block: int = 512) -> str:
    """Write ``scene`` (level ``slc`` or ``raw``) as an ERS CEOS product in folder ``path``; returns the folder."""
    meta = scene.meta
    level = meta.level
    if level not in ("slc", "raw"):
        raise ValueError(f"ERS CEOS holds raw or SLC scenes, not {level!r}")
    if meta.look_side != "right":
        raise ValueError("ERS looks right; the scene looks left")
    os.makedirs(path, exist_ok=True)
    n_az, n_rg = scene.shape
    dt, dr = scene.grid_spacing
    prf = 1.0 / dt
    t_first = absolute_time(scene, float(scene.azimuth_time[0]))
    t_centre = absolute_time(scene, float(scene.azimuth_time[n_az // 2]))
    tau_p = meta.chirp.duration_s if meta.chirp else 37.12e-6
    corners = scene_corners(scene)
    lat_c, lon_c = corners["centre"]
    values = {
        "scene_id": f"{mission}-SAR", "scene_reference": "ORBIT 12345 FRAME 2781",
        "scene_centre_time": ceos_clock(t_centre), "scene_centre_lat_deg": lat_c, "scene_centre_lon_deg": lon_c,
        "ellipsoid": "GEM6", "semimajor_km": 6378.144, "semiminor_km": 6356.759, "n_sar_channels": 1,
        "mission": mission, "sensor_id": f"{mission}-SAR-IM", "orbit_number": "12345", "clock_angle_deg": 90.0,
        "incidence_centre_deg": 23.0, "radar_frequency": SPEED_OF_LIGHT / meta.wavelength_m / 1e9,
        "wavelength_m": meta.wavelength_m, "motion_compensation": "00", "pulse_code": "LINEAR FM CHIRP",
        "range_sampling_rate_mhz": meta.range_sampling_rate_hz / 1e6, "pulse_length_us": tau_p * 1e6,
        "facility": "D-PAF", "system": "VMP", "version": "6.9", "time_direction_pixel": "INCREASE",
        "time_direction_line": "INCREASE",
    }
    if level == "slc":
        if meta.grid != "zero_doppler":
            raise ValueError("an ERS SLC (SAR.SLC-I) is on a zero-Doppler grid")
        dc = _doppler_range_time(scene)
        tau0 = 2.0 * float(scene.slant_range[0]) / SPEED_OF_LIGHT
        values.update({
            "product_type": f"{mission[:3]}-{mission[3:]}.SAR.SLC-I", "prf_mhz": prf,
            "cross_track_dc_c0": dc[0], "cross_track_dc_c1": dc[1], "cross_track_dc_c2": dc[2],
            "bandwidth_azimuth_hz": meta.azimuth_bandwidth_hz or 0.8 * prf,
            "bandwidth_range_khz": (meta.range_bandwidth_hz or ERS_CHIRP_BW_HZ) / 1e3,
            "line_spacing_m": 4.0, "pixel_spacing_m": dr,
            "zd_range_time_first_ms": tau0 * 1e3,
            "zd_range_time_centre_ms": (tau0 + n_rg / 2 * 2 * dr / SPEED_OF_LIGHT) * 1e3,
            "zd_range_time_last_ms": (tau0 + (n_rg - 1) * 2 * dr / SPEED_OF_LIGHT) * 1e3,
            "zd_azimuth_time_first": format_envisat_time(str(t_first), 3).upper(),
            "zd_azimuth_time_centre": format_envisat_time(str(t_centre), 3).upper(),
            "zd_azimuth_time_last": format_envisat_time(str(absolute_time(scene, float(scene.azimuth_time[-1]))),
                                                        3).upper(),
        })
    else:
        pri, swst = ers_raw_timing(scene)
        sbt = 1_234_567_890
        values.update({"product_type": f"{mission[:3]}-{mission[3:]}.SAR.RAW", "prf_mhz": prf,
                       "quantization_bits": 5, "quantizer": "UNIFORM I,Q", "dc_bias_i": ERS_BIAS,
                       "dc_bias_q": ERS_BIAS, "satellite_binary_time": str(sbt),
                       "satellite_clock_time": ceos_clock(t_first)})
    orbit = uniform_orbit(scene, float(scene.azimuth_time[0]), float(scene.azimuth_time[-1]))
    dss = dss_record(values)
    pp = platform_record(orbit)
    with open(os.path.join(path, "LEA_01.001"), "wb") as fh:
        fh.write(leader_descriptor("LEA_01.001", dss_length=len(dss), pp_length=len(pp)) + dss + pp)
    with open(os.path.join(path, "VDF_DAT.001"), "wb") as fh:
        fh.write(volume_descriptor(f"ESA {mission} SAR CEOS PRODUCT written by daskinsar"))
    with open(os.path.join(path, "DAT_01.001"), "wb") as fh:
        if level == "slc":
            scale = slc_scale(scene)
            reclen = 12 + 4 * n_rg
            fh.write(image_descriptor("DAT_01.001", n_lines=n_az, n_pixels=n_rg, record_length=reclen, prefix_bytes=0,
                                      bits=16, samples_per_group=2, bytes_per_group=4, format_code="CI*4",
                                      format_type="COMPLEX INTEGER*4"))
            for a, blk in iter_line_blocks(scene, lines_per_block):
                iq = np.empty((blk.shape[0], 2 * n_rg), ">i2")
                iq[:, 0::2] = np.clip(np.round(blk.real * scale), -32767, 32767)
                iq[:, 1::2] = np.clip(np.round(blk.imag * scale), -32767, 32767)
                head = bytes(12)
                fh.write(b"".join(record_bytes(head, iq[i].tobytes(), a + i + 2, codes=(50, 11, 18, 20))
                                  for i in range(blk.shape[0])))
        else:
            gain = raw_gain(scene)
            reclen = ERS_RAW_PREFIX_END + 2 * n_rg
            fh.write(image_descriptor("DAT_01.001", n_lines=n_az, n_pixels=n_rg, record_length=reclen,
                                      prefix_bytes=ERS_RAW_PREFIX_END - 12, bits=5, samples_per_group=2,
                                      bytes_per_group=2, format_code="CU*2", format_type="COMPLEX UNSIGNED*2"))
            sod0 = float((t_first - t_first.astype("datetime64[D]")) / np.timedelta64(1, "ms"))
            for a, blk in iter_line_blocks(scene, lines_per_block):
                q = quantize_raw(blk, gain)
                recs = []
                for i in range(blk.shape[0]):
                    k = a + i
                    prefix = build_record(ERS_RAW_LINE, {
                        "line_number": k + 1, "record_index": 1, "left_fill": 0, "n_pixels": n_rg, "right_fill": 0,
                        "record_time_ms": int(round(sod0 + k * dt * 1e3)), "packet_counter": k % 256,
                        "subcommutation_counter": k % 48, "fixed_code": "A", "orbc_flag": 0,
                        "icu_time": sbt + int(k * dt * 256), "activity_task": 0x81, "image_format_counter": 1000 + k,
                        "swst_code": swst, "pri_code": pri, "calibration_attenuation": 0, "rx_gain": 0},
                        sequence=k + 2, codes=(50, 10, 31, 20), length=ERS_RAW_PREFIX_END, fill=b"\x00")
                    recs.append(record_bytes(prefix, q[i].tobytes(), k + 2))
                fh.write(b"".join(recs))
    return str(path)
