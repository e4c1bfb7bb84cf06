"""Write scenes as UAVSAR RPI pair or stack products (``.ann`` + little-endian complex64 ``.slc``); see
:mod:`daskinsar.io.uavsar_rpi` for the layout the reader expects.

A UAVSAR SLC refers to a reference track on a peg's SCH sphere, so the scene's orbit must be such a track
(:func:`daskinsar.io.uavsar_rpi.sch_orbit`): the writer takes the peg from the orbit at the middle line
(sub-platform point and velocity heading), writes it, and refuses a scene whose orbit the annotation would
not reproduce to 1 cm. The simulator's satellite (Keplerian) orbits are no such track; its airborne platform
(``SimulationConfig(platform="airborne_sch")``, :mod:`daskinsar.simulate.airborne`) is, with both passes on one
track and grid as an RPI pair needs (end to end in ``tests/test_sensor_formats_e2e.py``). Annotation times have
1 s resolution, so the scene's first line must fall on a whole second. Pixels are written as they are
(complex64).
"""

from __future__ import annotations

import os

import numpy as np

from ...geometry.ellipsoid import ecef_to_llh, enu_basis
from ...geometry.orbit import parse_utc
from ...io.uavsar_rpi import RPI_PRF_FACTOR, SchFrame, sch_orbit
from ...io.orbit_files import format_envisat_time
from ...scene import Scene
from ._common import absolute_time, iter_line_blocks, scene_corners

__all__ = ["write_uavsar_rpi", "write_uavsar_stack", "scene_track"]


def scene_track(scene: Scene, peg_height_m: float = 0.0) -> tuple[SchFrame, float, float, float]:
    """(SCH frame, starting azimuth s0 m, along-track rate m/s, track height m) of the scene's orbit, checked to
    reproduce it to 1 cm over the scene."""
    t = scene.azimuth_time
    tm = float(t[len(t) // 2])
    p, v = (x[0] for x in scene.orbit.interpolate(np.array([tm])))
    lon, lat, h = (float(np.ravel(x)[0]) for x in ecef_to_llh(p))
    e, n, _ = (np.asarray(b).reshape(3) for b in enu_basis(lon, lat))
    hdg = float(np.degrees(np.arctan2(v @ e, v @ n)))
    frame = SchFrame(lat, lon, hdg, peg_height_m)
    rc = frame.radius_m
    h_sch = h - peg_height_m
    v_s = float(np.linalg.norm(v)) * rc / (rc + h_sch)
    s0 = -v_s * (tm - float(t[0]))
    track = sch_orbit(frame, scene.meta.epoch, s0, v_s, h_sch, float(t[0]) - 1.0, float(t[-1]) + 1.0, 0.05)
    tt = np.linspace(t[0], t[-1], 11)
    err = np.abs(track.interpolate(tt)[0] - scene.orbit.interpolate(tt)[0]).max()
    if err > 0.01:
        raise ValueError(f"the scene's orbit is not a UAVSAR reference track on the peg's SCH sphere ({err:.3f} m "
                         "off); build it with daskinsar.io.uavsar_rpi.sch_orbit")
    return frame, s0 + v_s * float(t[0]), v_s, h_sch


def _ann_time(scene: Scene) -> str:
    t0 = absolute_time(scene, float(scene.azimuth_time[0]))
    if (t0 - t0.astype("datetime64[s]")) != np.timedelta64(0, "ns"):
        raise ValueError("UAVSAR annotation times have 1 s resolution: the first line must be on a whole second")
    return format_envisat_time(str(t0), 0).upper() + " UTC"


def _line(key: str, unit: str, value) -> str:
    return f"{key:<47}{'(' + unit + ')':<16}= {value}\n"


def _common(scene: Scene, frame: SchFrame, altitude: float, terrain: float, pri: float) -> str:
    m = scene.meta
    return (_line("Center Wavelength", "cm", f"{m.wavelength_m * 100:.10f}")
            + _line("Average Pulse Repetition Interval", "ms", f"{pri * 1e3:.12f}")
            + _line("Pulse Length", "microsec", f"{(m.chirp.duration_s if m.chirp else 40e-6) * 1e6:.6f}")
            + _line("Bandwidth", "MHz", f"{(m.chirp.bandwidth_hz if m.chirp else 80e6) / 1e6:.6f}")
            + _line("Peg Latitude", "deg", f"{frame.lat_deg:.12f}")
            + _line("Peg Longitude", "deg", f"{frame.lon_deg:.12f}")
            + _line("Peg Heading", "deg", f"{frame.hdg_deg:.12f}")
            + _line("Global Average Altitude", "m", f"{altitude:.6f}")
            + _line("Global Average Terrain Height", "m", f"{terrain:.6f}")
            + _line("Polarization", "&", m.polarization or "HH"))


def write_uavsar_rpi(scene: Scene, path: str, second: Scene | None = None, *, name: str = "simsite_00001_00001-001_"
                     "00002-001_0001d_s01_L090HH_01", lines_per_block: int = 512) -> str:
    """Write ``scene`` (pass 1) and optionally ``second`` (pass 2, on the same grid) as an RPI pair; returns the
    ``.ann`` path."""
    os.makedirs(path, exist_ok=True)
    frame, s0, v_s, h = scene_track(scene)
    dt, dr = scene.grid_spacing
    n_az, n_rg = scene.shape
    pri = dt / RPI_PRF_FACTOR
    dop = scene.meta.grid_doppler if scene.meta.grid == "native_doppler" else None
    r = scene.slant_range
    tm = float(scene.azimuth_time[n_az // 2])
    near_mid_far = ([float(dop(tm, r[k])) for k in (0, int((n_rg - 1) / 2), n_rg - 1)] if dop is not None
                    else [0.0, 0.0, 0.0])
    c = scene_corners(scene)
    text = "; UAVSAR RPI Metadata file for " + name + " (written by daskinsar)\n"
    text += _line("UAVSAR RPI Annotation File Version Number", "-", "2.2")
    text += _line("Site Description", "&", "simulated")
    text += _line("Radar Look Direction", "&", scene.meta.look_side.capitalize())
    text += _common(scene, frame, h, 0.0, pri)
    passes = [scene] + ([second] if second is not None else [])
    for k, sc in enumerate(passes, 1):
        if sc.shape != scene.shape or not np.allclose(sc.slant_range, r) or sc.grid_spacing != scene.grid_spacing:
            raise ValueError("the two passes of an RPI pair share one grid")
        fn = f"{name}_{k}.slc"
        text += _line(f"Single Look Complex Data of Pass {k}", "&", fn)
        text += _line(f"Start Time of Acquisition for Pass {k}", "&", _ann_time(sc))
        with open(os.path.join(path, fn), "wb") as fh:
            for _, blk in iter_line_blocks(sc, lines_per_block):
                fh.write(blk.astype("<c8").tobytes())
    text += (_line("Single Look Complex Data Azimuth Lines", "-", n_az)
             + _line("Single Look Complex Data Range Samples", "-", n_rg)
             + _line("Single Look Complex Data at Near Range", "m", f"{r[0]:.6f}")
             + _line("Single Look Complex Data Starting Azimuth", "m", f"{s0:.6f}")
             + _line("Single Look Complex Data Range Spacing", "m", f"{dr:.12f}")
             + _line("Single Look Complex Data Azimuth Spacing", "m", f"{v_s * dt:.12f}")
             + _line("Reskew Doppler Near Mid Far", "Hz", " ".join(f"{x:.9f}" for x in near_mid_far)))
    for key, (la, lo) in (("Upper Left", c["first_near"]), ("Upper Right", c["first_far"]),
                          ("Lower Left", c["last_near"]), ("Lower Right", c["last_far"])):
        text += _line(f"Approximate {key} Latitude", "deg", f"{la:.8f}")
        text += _line(f"Approximate {key} Longitude", "deg", f"{lo:.8f}")
    ann = os.path.join(path, name + ".ann")
    with open(ann, "w") as fh:
        fh.write(text)
    return ann


def write_uavsar_stack(scene: Scene, path: str, *, segment: int = 1, terrain_height_m: float = 0.0,
                       name: str = "simsite_00001_01", lines_per_block: int = 512) -> str:
    """Write ``scene`` as segment ``segment`` of one date of a UAVSAR stack (``.ann``, ``.slc``, ``.dop``);
    returns the ``.ann`` path. The scene's grid Doppler (zero for a zero-Doppler grid) goes to the ``.dop``."""
    os.makedirs(path, exist_ok=True)
    frame, s0, v_s, h = scene_track(scene, terrain_height_m)
    dt, dr = scene.grid_spacing
    n_az, n_rg = scene.shape
    date = str(parse_utc(scene.meta.epoch))[:10].replace("-", "")
    base = f"{name}_{date}"
    v = (frame.radius_m + h) / frame.radius_m * v_s
    r = scene.slant_range
    rr = np.linspace(r[0], r[-1], 33)
    tm = float(scene.azimuth_time[n_az // 2])
    fd = (np.asarray(scene.meta.grid_doppler(tm, rr), float) if scene.meta.grid == "native_doppler"
          else np.zeros_like(rr))
    with open(os.path.join(path, base + ".dop"), "w") as fh:
        fh.write("slant range (m)   Doppler (rad/m)\n")
        fh.writelines(f"{a:.6f} {b * 2 * np.pi / v:.12e}\n" for a, b in zip(rr, fd))
    slc = f"{base}_s{segment}_1x1.slc"
    with open(os.path.join(path, slc), "wb") as fh:
        for _, blk in iter_line_blocks(scene, lines_per_block):
            fh.write(blk.astype("<c8").tobytes())
    c = scene_corners(scene, terrain_height_m)
    text = f"; UAVSAR stack annotation for {base} (written by daskinsar)\n"
    text += _line("Look Direction", "&", scene.meta.look_side.capitalize())
    text += _line("Antenna Length", "m", "1.5")
    text += _common(scene, frame, h + terrain_height_m, terrain_height_m, dt)
    text += (_line("Start Time of Acquisition", "&", _ann_time(scene))
             + _line("Stop Time of Acquisition", "&", _ann_time(scene))
             + _line("Image Starting Slant Range", "m", f"{r[0]:.6f}")
             + _line("1x1 SLC Range Pixel Spacing", "m", f"{dr:.12f}")
             + _line("1x1 SLC Azimuth Pixel Spacing", "m", f"{v_s * dt:.12f}")
             + _line("Average Along Track Velocity", "m/s", f"{v:.6f}")
             + _line("dop", "&", base + ".dop")
             + _line(f"slc_{segment}_1x1", "&", slc) + _line(f"slc_{segment}_1x1_mag.set_rows", "pixels", n_az)
             + _line(f"slc_{segment}_1x1_mag.set_cols", "pixels", n_rg)
             + _line(f"Segment {segment} Data Starting Azimuth", "m", f"{s0:.6f}"))
    for k, key in enumerate(("first_near", "first_far", "last_far", "last_near"), 1):
        text += _line(f"Segment {segment} Data Approximate Corner {k}", "&", f"{c[key][0]:.8f}, {c[key][1]:.8f}")
    ann = os.path.join(path, base + ".ann")
    with open(ann, "w") as fh:
        fh.write(text)
    return ann
