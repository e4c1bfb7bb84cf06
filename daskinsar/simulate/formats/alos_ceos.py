"""Write an SLC scene as a JAXA CEOS level 1.1 product: ALOS PALSAR (mission ``ALOS``) or ALOS-2 PALSAR-2
(mission ``ALOS2``); see :mod:`daskinsar.io.ceos` for the layout the reader expects.

Files (JAXA names, which the reader's sniff and polarisation lookup rely on)::

    VOL-<scene>-<product>     volume directory (descriptor, file pointers, text)
    LED-<scene>-<product>     SAR leader: file descriptor, data set summary (4096 B), platform position (4680 B)
    IMG-<pol>-<scene>-<product>  image file: descriptor (720 B) + one record per line (544-byte signal data
                              record prefix, then big-endian complex float32 I/Q: format ``C*8``)

Format resolution (values are rounded to it):

- first line time: ALOS-2 to 1 us (signal data record's microseconds of day), ALOS to 1 ms (milliseconds of
  day, the only time the ALOS reader takes); slant range to the first sample to 1 m (4-byte integer);
- PRF (data set summary, mHz), range sampling rate (MHz), wavelength, chirp slope and length: 10 significant
  digits (16-character ASCII floats);
- Doppler centroid: ALOS-2 ``c0 + c1 R`` (Hz, Hz/km of slant range) fitted to the scene's centroid across the
  swath at mid-scene; ALOS the cross-track constant term ``c0`` (Hz; the linear and quadratic terms, in Hz per
  pixel from the first pixel, are written too);
- state vectors: ECEF (m, m/s), every ``interval_s`` (60 s as JAXA's) over the span of the scene's orbit,
  interpolated from the scene's own state vectors (exact where they coincide);
- pixels: the scene's complex64 values unchanged (float32 I, Q).
"""

from __future__ import annotations

import os

import numpy as np

from ...geometry.ellipsoid import SPEED_OF_LIGHT
from ...geometry.orbit import Orbit
from ...io.ceos import SIGNAL_DATA_RECORD
from ...io.ceos_records import build_record
from ...scene import Scene
from ._ceos import ceos_clock, dss_record, image_descriptor, leader_descriptor, platform_record, record_bytes
from ._common import absolute_time, grid_of, iter_line_blocks, scene_corners

__all__ = ["write_alos_ceos", "alos_state_vectors", "SDR_PREFIX", "MISSIONS"]

#: bytes of the signal data record before the samples (12-byte header included)
SDR_PREFIX = 544
#: scene id, product code and sensor id written for each mission
MISSIONS = {"ALOS": ("ALPSRP123456780", "H1.1__A", "ALOS -L -FBS -"),
            "ALOS2": ("ALOS2123456780-140909", "FBSR1.1__A", "ALOS2 -L -0315-")}
_POL_CODE = {"H": 0, "V": 1}


def alos_state_vectors(orbit: Orbit, interval_s: float = 60.0) -> Orbit:
    """The orbit's state vectors every ``interval_s`` from its first one over its span (at least 3), interpolated
    from its own vectors."""
    n = int(np.floor((orbit.time[-1] - orbit.time[0]) / interval_s + 1e-9)) + 1
    if n < 3:
        raise ValueError(f"the scene's orbit spans {orbit.time[-1] - orbit.time[0]:.1f} s: too short for 3 state "
                         f"vectors every {interval_s} s")
    t = orbit.time[0] + interval_s * np.arange(n)
    pos, vel = orbit.interpolate(t)
    return Orbit(orbit.epoch, t, pos, vel, orbit.n_hermite, orbit.source)


def _volume(names: list[tuple[str, str]], text: str) -> bytes:
    """A JAXA volume directory: volume descriptor, one file pointer per (kind, name), a text record."""
    recs = []
    desc = bytearray(build_record({}, {}, sequence=1, codes=(192, 192, 18, 18), length=360))
    desc[16:16 + 12] = b"CEOS-SAR    "
    recs.append(bytes(desc))
    for i, (kind, name) in enumerate(names):
        r = bytearray(build_record({}, {}, sequence=i + 2, codes=(219, 192, 18, 18), length=360))
        r[20:20 + len(name)] = name.encode("ascii")
        r[64:64 + len(kind)] = kind.encode("ascii")
        recs.append(bytes(r))
    t = bytearray(build_record({}, {}, sequence=len(names) + 2, codes=(18, 192, 18, 18), length=360))
    t[16:16 + len(text[:300])] = text[:300].encode("ascii")
    recs.append(bytes(t))
    return b"".join(recs)


def _doy(t: np.datetime64) -> tuple[int, int, float]:
    day = t.astype("datetime64[D]")
    doy = int((day - day.astype("datetime64[Y]")) / np.timedelta64(1, "D")) + 1
    return int(str(day)[:4]), doy, float((t - day) / np.timedelta64(1, "ns")) * 1e-9


def write_alos_ceos(scene: Scene, path: str, *, mission: str = "ALOS", interval_s: float = 60.0,
                    lines_per_block: int = 512) -> str:
    """Write a zero-Doppler SLC ``scene`` as an ALOS (``mission="ALOS"``) or ALOS-2 (``"ALOS2"``) CEOS level 1.1
    product in folder ``path``; returns the folder."""
    mission = mission.upper()
    if mission not in MISSIONS:
        raise ValueError(f"mission {mission!r}: ALOS or ALOS2")
    grid = grid_of(scene, f"{mission} CEOS level 1.1")
    m = scene.meta
    os.makedirs(path, exist_ok=True)
    scene_id, product, sensor_id = MISSIONS[mission]
    pol = (m.polarization or "HH").upper()
    names = {k: f"{k}-{scene_id}-{product}" for k in ("VOL", "LED")}
    names["IMG"] = f"IMG-{pol}-{scene_id}-{product}"
    n_az, n_rg = grid.n_az, grid.n_rg
    t_first = absolute_time(scene, grid.t0_s)
    year, doy, sod0 = _doy(t_first)
    orbit = alos_state_vectors(scene.orbit, interval_s)
    t_mid = grid.time((n_az - 1) / 2)
    _, v_mid = scene.orbit.interpolate(np.array([t_mid]))
    corners = scene_corners(scene)
    r = grid.ranges(np.arange(n_rg))
    fd = np.asarray(m.doppler_centroid(np.full(n_rg, t_mid), r), np.float64) * np.ones(n_rg)
    values = {
        "scene_id": scene_id[:16], "scene_centre_time": ceos_clock(absolute_time(scene, t_mid)),
        "scene_centre_lat_deg": corners["centre"][0], "scene_centre_lon_deg": corners["centre"][1],
        "ellipsoid": "GRS80", "semimajor_km": 6378.137, "semiminor_km": 6356.7523141,
        "scene_centre_line": n_az // 2, "scene_centre_pixel": n_rg // 2, "n_sar_channels": 1, "mission": mission,
        "sensor_id": sensor_id + pol, "clock_angle_deg": 90.0 if m.look_side == "right" else -90.0,
        "radar_frequency": SPEED_OF_LIGHT / m.wavelength_m / 1e9, "wavelength_m": m.wavelength_m,
        "range_sampling_rate_mhz": m.range_sampling_rate_hz / 1e6, "prf_mhz": 1e3 / grid.dt_s,
        "facility": "EICS" if mission == "ALOS2" else "EOC", "product_level": "1.1",
        "product_type": "SLANT RANGE SINGLE LOOK COMPLEX", "looks_azimuth": 1.0, "looks_range": 1.0,
        "time_direction_pixel": "ASCEND", "time_direction_line": "ASCEND",
        "pass": "ASCENDING" if v_mid[0, 2] > 0 else "DESCENDING", "line_content": "RANGE",
        "line_spacing_m": float(np.linalg.norm(v_mid)) * grid.dt_s, "pixel_spacing_m": grid.dr_m,
    }
    if m.chirp is not None:
        values.update({"chirp_amp_c1": m.chirp.slope_hz_per_s, "pulse_length_us": m.chirp.duration_s * 1e6,
                       "pulse_code": "LINEAR FM CHIRP"})
    if m.range_bandwidth_hz:
        values["bandwidth_range_khz"] = m.range_bandwidth_hz / 1e3
    if m.azimuth_bandwidth_hz:
        values["bandwidth_azimuth_hz"] = m.azimuth_bandwidth_hz
    c0, c1 = np.polynomial.polynomial.polyfit(r / 1e3, fd, 1)  # JAXA's pair: Hz, Hz/km of slant range
    values.update({"doppler_c0_hz": c0, "doppler_c1_hz_per_km": c1})
    if mission != "ALOS2":  # ALOS-1 leaders also carry the CEOS cross-track terms: the constant at mid swath
        values.update({"cross_track_dc_c0": float(fd[n_rg // 2]), "cross_track_dc_c1": 0.0, "cross_track_dc_c2": 0.0})
    dss = dss_record(values, length=4096)
    pp = platform_record(orbit, frame="ECR", codes=(18, 30, 18, 20), length=4680)
    with open(os.path.join(path, names["LED"]), "wb") as fh:
        fh.write(leader_descriptor(names["LED"], dss_length=len(dss), pp_length=len(pp), codes=(11, 192, 18, 18))
                 + dss + pp)
    with open(os.path.join(path, names["VOL"]), "wb") as fh:
        fh.write(_volume([("SARLEADER FILE", names["LED"]), ("IMAGERY OPTIONS FILE", names["IMG"])],
                         f"JAXA {mission} PALSAR CEOS LEVEL 1.1 PRODUCT written by daskinsar"))

    r0 = int(round(grid.r0_m))
    prf_mhz = int(round(1e3 / grid.dt_s))

    def prefix(k: int) -> bytes:
        sod = sod0 + k * grid.dt_s
        us = int(round(sod * 1e6))
        ms = int(round(sod * 1e3)) if mission == "ALOS" else us // 1000
        vals = {"line_number": k + 1, "record_index": 1, "left_fill": 0, "n_pixels": n_rg, "right_fill": 0,
                "year": year, "day_of_year": doy, "ms_of_day": ms, "tx_pol": _POL_CODE[pol[0]],
                "rx_pol": _POL_CODE[pol[1]], "prf_mhz": prf_mhz, "slant_range_first_sample_m": r0}
        if mission == "ALOS2":
            vals["us_of_day"] = us
        return build_record(SIGNAL_DATA_RECORD, vals, sequence=k + 2, codes=(50, 11, 18, 20), length=SDR_PREFIX,
                            fill=b"\x00")

    with open(os.path.join(path, names["IMG"]), "wb") as fh:
        fh.write(image_descriptor(names["IMG"][:16], n_lines=n_az, n_pixels=n_rg, record_length=SDR_PREFIX + 8 * n_rg,
                                  prefix_bytes=SDR_PREFIX, bits=32, samples_per_group=2, bytes_per_group=8,
                                  format_code="C*8", format_type="COMPLEX*8", codes=(50, 192, 18, 18)))
        for a, blk in iter_line_blocks(scene, lines_per_block):
            iq = np.empty((blk.shape[0], 2 * n_rg), ">f4")
            iq[:, 0::2], iq[:, 1::2] = blk.real, blk.imag
            fh.write(b"".join(record_bytes(prefix(a + i), iq[i].tobytes(), a + i + 2, codes=(50, 11, 18, 20))
                              for i in range(blk.shape[0])))
    return str(path)
