"""RISAT-1 SAR single-look complex products in CEOS format (ISRO/NRSC), as ISCE2's ``Risat1_SLC`` reads them.

Files as for ERS (``LEA_01.001`` / ``DAT_01.001`` ...). Mission field ``RISAT-1``. Differences from the CEOS
standard that ISCE2 handles and this reader follows (no real RISAT-1 product was at hand to check them):

- data set summary: range sampling rate in Hz, range pulse length in s, PRF in Hz;
- image records: the 192-byte processed data record with its values as big-endian float32
  (:func:`~daskinsar.io.ceos_common.processed_record_table` with ``"R4"``): ms of day (plus an int32
  acquisition time bias in ms), PRF (Hz), slant range to the first pixel (m), Doppler centroid at the first,
  mid and last pixel (Hz); transmit/receive polarization codes (1 V, 2 H, 3 L, 4 R); samples int16 I/Q
  (4 bytes per pixel) or int32 I/Q (8 bytes);
- platform position record: two-digit year (20YY), inertial state vectors (m, m/s) rotated to ECEF with the
  record's Greenwich mean hour angle.

Look side: from the data set summary's scene centre relative to the orbit (ISCE2 notes that the leader's
"sensor orientation" field uses the opposite convention to its own, so the geometry decides here). Grid:
native Doppler with the records' Doppler (quadratic through first/mid/last pixel), as ISCE2 uses it.
Chirp: not read (the SLC is focused).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import xarray as xr

from ..errors import InputFileError
from ..geometry.ellipsoid import SPEED_OF_LIGHT
from ..geometry.orbit import seconds_between
from ..scene import Poly1D, RadarMetadata, Scene, radar_grid_coords
from .ceos_common import (image_descriptor, look_side_from_scene_centre, prefix_bytes, processed_record_table,
                          read_leader, sniff_mission)
from .ceos_records import (PARSE_ERRORS, CeosContainer, ceos_time, decode_ci2, decode_ci4, doy_time,
                           orbit_from_state_vectors, parse_fields, platform_state_vectors, read_line_block)
from .readers import ReaderInfo

__all__ = ["read_risat1", "open_risat1", "sniff_risat1", "READER", "PROCESSED_RECORD", "TX_POL", "RX_POL"]

_EXPECTED = "a RISAT-1 CEOS SLC product (LEA_01.001 / DAT_01.001, folder or zip)"
MISSIONS = ("RISAT1",)
PROCESSED_RECORD, PROCESSED_END = processed_record_table("R4", ms_kind="R4")
TX_POL = {1: "V", 2: "H", 3: "L", 4: "R"}
RX_POL = {1: "V", 2: "H"}


def open_risat1(path: str | os.PathLike) -> dict[str, Any]:
    """Parse a RISAT-1 SLC product (leader, image descriptor, first processed data record); no pixels read."""
    try:
        return _open(str(path))
    except InputFileError:
        raise
    except PARSE_ERRORS as exc:
        raise InputFileError(str(path), _EXPECTED, f"invalid content ({type(exc).__name__}: {exc})") from None


def _open(path: str) -> dict[str, Any]:
    cont = CeosContainer(path, _EXPECTED)
    led, recs, summ, disp = read_leader(cont, MISSIONS, "RISAT-1", _EXPECTED,
                                        strict=("wavelength_m", "range_sampling_rate_mhz", "scene_centre_lat_deg",
                                                "scene_centre_lon_deg"))
    img, d, dlen, size = image_descriptor(cont, _EXPECTED)
    idisp = cont.display(img)
    layout = (d["bits_per_sample"], d["samples_per_group"], d["bytes_per_group"])
    decode = {(16, 2, 4): decode_ci2, (32, 2, 8): decode_ci4}.get(layout)
    if decode is None:
        raise InputFileError(idisp, "RISAT-1 SLC samples (int16 or int32 I/Q)",
                             f"{layout[0]} bits x {layout[1]} samples in {layout[2]} bytes")
    pre = prefix_bytes(d, idisp)
    if pre < PROCESSED_END:
        raise InputFileError(idisp, f"a processed data record prefix of {PROCESSED_END} bytes", f"{pre}")
    first = parse_fields(cont.read(img, PROCESSED_END, dlen), PROCESSED_RECORD, path=idisp)
    ms = first["ms_of_day"] + first["time_bias_ms"]
    try:
        epoch = doy_time(first["year"], first["day_of_year"], ms * 1e-3)
    except ValueError as exc:
        raise InputFileError(idisp, "a valid acquisition time in the first processed data record", str(exc)) from None
    prf, fs, r0, lam = first["prf"], summ["range_sampling_rate_mhz"], first["slant_range_first_m"], summ["wavelength_m"]
    for name, v in (("PRF (Hz, image record)", prf), ("range sampling rate (Hz, data set summary)", fs),
                    ("slant range to the first pixel (m)", r0), ("wavelength (m)", lam)):
        if not (np.isfinite(v) and v > 0):
            raise InputFileError(idisp if "record" in name or "slant" in name else disp, f"a positive {name}", f"{v!r}")
    tx, rx = TX_POL.get(first["tx_pol"]), RX_POL.get(first["rx_pol"])
    if tx is None or rx is None:
        raise InputFileError(idisp, "polarization codes (transmit 1..4, receive 1..2)",
                             f"{first['tx_pol']}, {first['rx_pol']}")
    n_lines, n_samples = d["n_records"], d["n_pixels"]
    dr = SPEED_OF_LIGHT / (2.0 * fs)
    x = np.array([0.0, float((n_samples - 1) // 2), n_samples - 1.0])
    f = np.array([first["doppler_first_hz"], first["doppler_mid_hz"], first["doppler_last_hz"]], float)
    if not np.all(np.isfinite(f)):
        raise InputFileError(idisp, "finite Doppler centroids in the processed data record", f"{f.tolist()}")
    c = np.linalg.solve(np.vander(x, 3, increasing=True), f) if n_samples >= 3 else np.array([f[0], 0.0, 0.0])
    dop = Poly1D(reference=r0, scale=dr, coeffs=[float(v) for v in c])
    pp = next((r for r in recs[1:] if r.type_code == 30), None)
    if pp is None:
        raise InputFileError(disp, "a platform position record (type 30)", "none")
    hdr, vals = platform_state_vectors(pp, disp)
    if hdr["year"] is None or not 0 <= hdr["year"] < 100:
        raise InputFileError(disp, "a two-digit year (20YY) in the platform position record", f"{hdr['year']!r}")
    orbit = orbit_from_state_vectors(hdr, vals, disp, epoch, inertial=True, year=2000 + hdr["year"])
    try:
        centre = ceos_time(summ["scene_centre_time"])
    except ValueError as exc:
        raise InputFileError(disp, "a scene centre time in the data set summary", str(exc)) from None
    look = look_side_from_scene_centre(orbit, seconds_between(epoch, centre), summ["scene_centre_lat_deg"],
                                       summ["scene_centre_lon_deg"], disp)
    meta = RadarMetadata(
        sensor="RISAT1", platform="RISAT-1", mode=summ["sensor_id"] or None, polarization=tx + rx, level="slc",
        epoch=epoch, wavelength_m=lam, prf_hz=prf, range_sampling_rate_hz=fs, azimuth_line_interval_s=1.0 / prf,
        look_side=look, grid="native_doppler", doppler_centroid=dop, grid_doppler=dop,
        source_files=[cont.display(led), idisp],
        extra={"product_type": summ["product_type"], "scene_centre_time": centre, "first_range_m": r0,
               "scene_centre_lat_deg": summ["scene_centre_lat_deg"], "doppler_first_mid_last_hz": f.tolist(),
               "scene_centre_lon_deg": summ["scene_centre_lon_deg"], "orbit_source": orbit.source},
    )
    return {"container": cont, "image": img, "display": idisp, "descriptor": d, "dlen": dlen, "prefix": pre,
            "decode": decode, "meta": meta, "orbit": orbit, "n_lines": n_lines, "n_samples": n_samples}


def read_risat1(path: str, *, polarization: str | None = None, chunks: int = 1024,
                orbit_file: str | None = None) -> Scene:
    """Read a RISAT-1 CEOS SLC as a lazy Scene (one polarization per product folder)."""
    import dask.array as da
    from dask.base import tokenize

    if orbit_file is not None:
        raise InputFileError(path, "no orbit_file (RISAT-1 state vectors come from the leader)", repr(orbit_file))
    p = open_risat1(path)
    m = p["meta"]
    if polarization is not None and polarization.upper() != m.polarization:
        raise InputFileError(p["display"], f"polarization {polarization.upper()}", m.polarization)
    d = p["descriptor"]
    n_lines, n_samples = p["n_lines"], p["n_samples"]
    step = max(int(chunks), 1)
    bounds = list(range(0, n_lines, step)) + [n_lines]
    name = "read-risat1-slc-" + tokenize(p["container"].path, p["image"], d, step)
    graph = {(name, i, 0): (read_line_block, p["container"], p["image"], p["dlen"], d["record_length"], p["prefix"],
                            d["bytes_per_group"] * n_samples, a, b, p["decode"], p["display"])
             for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))}
    arr = da.Array(graph, name, (tuple(np.diff(bounds)), (n_samples,)), dtype=np.complex64)
    coords = radar_grid_coords(0.0, 1.0 / m.prf_hz, n_lines, m.extra["first_range_m"],
                               SPEED_OF_LIGHT / (2.0 * m.range_sampling_rate_hz), n_samples)
    ds = xr.Dataset({"slc": (("azimuth", "range"), arr)}, coords=coords)
    ds.attrs["sensor"] = "RISAT1"
    return Scene(ds, m, p["orbit"])


def sniff_risat1(path: str) -> bool:
    """A CEOS product whose leader names mission RISAT-1."""
    return sniff_mission(path, MISSIONS, _EXPECTED)


READER = ReaderInfo(
    name="RISAT1",
    description="RISAT-1 CEOS SLC (int16/int32 I/Q, float32 record fields); inertial leader orbit",
    sniff=sniff_risat1, read=read_risat1, levels=("slc",), tested_on_real_data=False,
    aliases=("RISAT-1", "RISAT1_SLC"),
)
