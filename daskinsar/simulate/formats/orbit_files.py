"""Write an orbit as a DORIS ``DOR_VOR_AX`` file or a Delft ``xODR`` file (see :mod:`daskinsar.io.orbit_files`),
or as a Sentinel-1 EOF orbit file (see :mod:`daskinsar.io.sentinel1.orbit_file`).

Resolution: DORIS positions to 1 mm and velocities to 1e-6 m/s, times to 1 us; ODR times to whole
seconds (the orbit's state vector times must be whole seconds of UTC), latitude/longitude to 1e-7 deg,
heights to 1 mm (positions to ~1 cm), no velocities.
"""

from __future__ import annotations

import os

import numpy as np

from ...geometry.orbit import Orbit, parse_utc
from ...io.envisat_records import format_dsd, format_mph, format_sph
from ...io.orbit_files import GRS80_A, GRS80_F, ODR_EPOCH, format_envisat_time

__all__ = ["write_doris", "write_odr", "write_eof"]


def _abs(orbit: Orbit, k: int) -> np.datetime64:
    return parse_utc(orbit.epoch) + np.timedelta64(int(round(orbit.time[k] * 1e9)), "ns")


def write_doris(orbit: Orbit, path: str) -> str:
    """A DORIS precise orbit file (``DOR_VOR_AX...``) of ``orbit``'s state vectors in folder ``path``."""
    os.makedirs(path, exist_ok=True)
    t0, t1 = _abs(orbit, 0), _abs(orbit, len(orbit.time) - 1)
    s0, s1 = str(t0), str(t1)
    name = (f"DOR_VOR_AXVF-P{s0[:4]}{s0[5:7]}{s0[8:10]}_{s0[11:13]}{s0[14:16]}{s0[17:19]}_"
            f"{s0[:4]}{s0[5:7]}{s0[8:10]}_{s0[11:13]}{s0[14:16]}{s0[17:19]}_"
            f"{s1[:4]}{s1[5:7]}{s1[8:10]}_{s1[11:13]}{s1[14:16]}{s1[17:19]}")
    lines = []
    for k in range(len(orbit.time)):
        p, v = orbit.position[k], orbit.velocity[k]
        lines.append(f"{format_envisat_time(str(_abs(orbit, k))).upper()} +0.000000 12345 "
                     f"{p[0]:+13.3f} {p[1]:+13.3f} {p[2]:+13.3f} {v[0]:+12.6f} {v[1]:+12.6f} {v[2]:+12.6f} "
                     "0001000000000\n")
    body = "".join(lines).encode("ascii")
    rec = len(lines[0])
    sph_items = [("SPH_DESCRIPTOR", "DORIS Precise Orbit", True),
                 ("START_TIME", format_envisat_time(s0).upper(), True),
                 ("STOP_TIME", format_envisat_time(s1).upper(), True)]
    sph_len = len(format_sph(sph_items, [])) + 280
    dsd = format_dsd("DORIS PRECISE ORBIT", "M", "", 1247 + sph_len, len(body), len(lines), rec)
    sph = format_sph(sph_items, [dsd])
    mph = format_mph([("PRODUCT", name, True), ("PROC_STAGE", "V", False), ("PROC_CENTER", "F-PAC", True),
                      ("SENSING_START", format_envisat_time(s0).upper(), True),
                      ("SENSING_STOP", format_envisat_time(s1).upper(), True),
                      ("TOT_SIZE", f"{1247 + len(sph) + len(body):+021d}<bytes>", False),
                      ("SPH_SIZE", f"{len(sph):+011d}<bytes>", False), ("NUM_DSD", "+0000000001", False),
                      ("DSD_SIZE", "+0000000280<bytes>", False), ("NUM_DATA_SETS", "+0000000001", False)])
    fn = os.path.join(path, name)
    with open(fn, "wb") as fh:
        fh.write(mph + sph + body)
    return fn


def _ecef_to_grs80(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    e2 = GRS80_F * (2.0 - GRS80_F)
    x, y, z = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    p = np.hypot(x, y)
    lat = np.arctan2(z, p * (1.0 - e2))
    for _ in range(10):
        n = GRS80_A / np.sqrt(1.0 - e2 * np.sin(lat) ** 2)
        h = p / np.cos(lat) - n
        lat = np.arctan2(z, p * (1.0 - e2 * n / (n + h)))
    n = GRS80_A / np.sqrt(1.0 - e2 * np.sin(lat) ** 2)
    h = p / np.cos(lat) - n
    return np.rad2deg(lat), np.rad2deg(np.arctan2(y, x)), h


def write_odr(orbit: Orbit, path: str, satellite: str = "ERS-2") -> str:
    """A Delft ``xODR`` file ``ODR.123`` of ``orbit``'s positions in folder ``path``."""
    os.makedirs(path, exist_ok=True)
    t_abs = np.array([(_abs(orbit, k) - parse_utc(ODR_EPOCH)) / np.timedelta64(1, "ns") * 1e-9
                      for k in range(len(orbit.time))])
    if np.max(np.abs(t_abs - np.round(t_abs))) > 1e-6:
        raise ValueError("ODR records are at whole UTC seconds; the orbit's state vectors are not")
    lat, lon, h = _ecef_to_grs80(orbit.position)
    rec = np.stack([np.round(t_abs), np.round(lat * 1e7), np.round(lon * 1e7), np.round(h * 1e3)], 1).astype(">i4")
    head = (b"xODR" + satellite.encode("ascii").ljust(8)[:8] + np.array([rec[0, 0]], ">i4").tobytes()
            + np.array([35, 123, len(rec), 1], ">i4").tobytes())
    fn = os.path.join(path, "ODR.123")
    with open(fn, "wb") as fh:
        fh.write(head + rec.tobytes())
    return fn


def write_eof(orbit: Orbit, path, *, time_shift_s: float = 0.0, keep: slice = slice(None)) -> str:
    """A Sentinel-1 EOF orbit file (Earth Explorer XML, ``List_of_OSVs``) at ``path`` of ``orbit``'s state
    vectors ``keep``, their times moved by ``time_shift_s`` (s); positions to 1 mm, velocities to 1e-6 m/s,
    times to 1 us."""
    t0 = parse_utc(orbit.epoch)
    rows = list(zip(orbit.time, orbit.position, orbit.velocity))[keep]

    def utc(t: float) -> str:
        return np.datetime_as_string(t0 + np.timedelta64(int(round((t + time_shift_s) * 1e9)), "ns"), "us")

    osv = "".join(
        f"<OSV><TAI>TAI=x</TAI><UTC>UTC={utc(t)}</UTC>"
        f"<Absolute_Orbit>+1</Absolute_Orbit><X unit=\"m\">{p[0]:.3f}</X><Y unit=\"m\">{p[1]:.3f}</Y>"
        f"<Z unit=\"m\">{p[2]:.3f}</Z><VX unit=\"m/s\">{v[0]:.6f}</VX><VY unit=\"m/s\">{v[1]:.6f}</VY>"
        f"<VZ unit=\"m/s\">{v[2]:.6f}</VZ><Quality>NOMINAL</Quality></OSV>"
        for t, p, v in rows)
    with open(path, "w") as f:
        f.write(f"<?xml version=\"1.0\"?><Earth_Explorer_File><Earth_Explorer_Header/><Data_Block type=\"xml\">"
                f"<List_of_OSVs count=\"{len(rows)}\">{osv}</List_of_OSVs></Data_Block></Earth_Explorer_File>")
    return str(path)
