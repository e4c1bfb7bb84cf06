"""The SAFE side of the TOPS simulator: real annotations cropped to the simulated bursts and range
window (a moved orbit for a synthetic secondary), the manifest copied, the measurement TIFF written.
See :mod:`daskinsar.simulate.tops` for what is cropped and why."""

from __future__ import annotations

import math
import os
import shutil
import xml.etree.ElementTree as StdET
from pathlib import Path

import defusedxml.ElementTree as SafeET
import numpy as np
import tifffile

from ..bursts import TopsScene, tops_parameters
from ..geometry.geo2rdr import geo2rdr
from ..geometry.orbit import Orbit, format_utc, parse_utc
from ..geometry.rdr2geo import rdr2geo_ecef

__all__ = ["crop_annotation", "moved_orbit", "write_safe", "open_measurement", "burst_rows", "close_measurement",
           "secondary_window", "nearest_burst", "utc_text"]


def utc_text(t64) -> str:
    return format_utc(t64)[:26]  # microseconds, as ESA writes them


def _set(root, path: str, value) -> None:
    el = root.find(path)
    if el is None:
        raise KeyError(path)
    el.text = str(value)


def crop_annotation(root, keep: list[int], j0: int, n: int, orbit: Orbit | None) -> None:
    """Cut an annotation (ElementTree root, in place) to bursts ``keep`` and samples [j0, j0 + n)."""
    info = "imageAnnotation/imageInformation"
    lpb = int(root.findtext("swathTiming/linesPerBurst"))
    fs = float(root.findtext("generalAnnotation/productInformation/rangeSamplingRate"))
    dt = float(root.findtext(f"{info}/azimuthTimeInterval"))
    tau0 = float(root.findtext(f"{info}/slantRangeTime"))
    blist = root.find("swathTiming/burstList")
    bursts = list(blist)
    k0 = keep[0]
    for i, b in enumerate(bursts):
        if i not in keep:
            blist.remove(b)
            continue
        fv = np.array([int(x) for x in b.findtext("firstValidSample").split()])
        lv = np.array([int(x) for x in b.findtext("lastValidSample").split()])
        ok = (fv >= 0) & (fv - j0 <= n - 1) & (lv - j0 >= 0)
        fv2 = np.where(ok, np.clip(fv - j0, 0, n - 1), -1)
        lv2 = np.where(ok, np.clip(lv - j0, 0, n - 1), -1)
        b.find("firstValidSample").text = " ".join(map(str, fv2))
        b.find("lastValidSample").text = " ".join(map(str, lv2))
    blist.set("count", str(len(keep)))
    first = parse_utc(bursts[keep[0]].findtext("azimuthTime"))
    last = parse_utc(bursts[keep[-1]].findtext("azimuthTime")) + np.timedelta64(int(round((lpb - 1) * dt * 1e9)), "ns")
    _set(root, f"{info}/productFirstLineUtcTime", utc_text(first))
    _set(root, f"{info}/productLastLineUtcTime", utc_text(last))
    _set(root, "adsHeader/startTime", utc_text(first))
    _set(root, "adsHeader/stopTime", utc_text(last))
    _set(root, f"{info}/numberOfLines", len(keep) * lpb)
    _set(root, f"{info}/numberOfSamples", n)
    _set(root, "swathTiming/samplesPerBurst", n)
    _set(root, f"{info}/slantRangeTime", repr(tau0 + j0 / fs))
    plist = root.find("geolocationGrid/geolocationGridPointList")
    for pt in list(plist):
        line = int(pt.findtext("line")) - k0 * lpb
        if not 0 <= line < len(keep) * lpb:
            plist.remove(pt)
            continue
        pt.find("line").text = str(line)
        pt.find("pixel").text = str(int(pt.findtext("pixel")) - j0)
    plist.set("count", str(len(plist)))
    if orbit is not None:
        t0 = parse_utc(orbit.epoch)
        olist = root.find("generalAnnotation/orbitList")
        for o, t, p, v in zip(list(olist), orbit.time, orbit.position, orbit.velocity):
            o.find("time").text = utc_text(t0 + np.timedelta64(int(round(t * 1e9)), "ns"))
            for k, c in enumerate("xyz"):
                o.find(f"position/{c}").text = repr(float(p[k]))
                o.find(f"velocity/{c}").text = repr(float(v[k]))


def moved_orbit(orbit: Orbit, cross_m: float, radial_m: float, shift_s: float) -> Orbit:
    """The orbit offset by ``cross_m`` (horizontal, to the right of the track) and ``radial_m`` (up),
    reaching each position ``shift_s`` later; velocities follow the moved positions."""
    p, v = orbit.position, orbit.velocity
    up = p / np.linalg.norm(p, axis=1, keepdims=True)
    right = np.cross(v, up)
    right /= np.linalg.norm(right, axis=1, keepdims=True)
    off = cross_m * right + radial_m * up
    dv = np.gradient(off, orbit.time, axis=0)
    return Orbit(orbit.epoch, orbit.time + shift_s, p + off, v + dv, orbit.n_hermite, "simulated secondary orbit")


def write_safe(src_safe: Path, member: str, root, out_safe: Path) -> Path:
    """A SAFE folder with the real manifest and one (cropped) annotation."""
    (out_safe / "annotation").mkdir(parents=True, exist_ok=True)
    (out_safe / "measurement").mkdir(exist_ok=True)
    shutil.copy(src_safe / "manifest.safe", out_safe / "manifest.safe")
    path = out_safe / "annotation" / os.path.basename(member)
    path.write_bytes(StdET.tostring(root, encoding="utf-8", xml_declaration=True))
    return path


def secondary_window(sw_r, sw_s, keep: list[int], j0: int, n: int, margin: int = 24) -> tuple[int, int]:
    """Range window of the secondary covering the reference crop (geo2rdr of its corners)."""
    b = sw_r.bursts[keep[len(keep) // 2]]
    t = b.azimuth_time_s + sw_r.azimuth_time_interval_s * b.n_lines / 2.0
    r = sw_r.near_range_m + sw_r.range_spacing_m * np.array([j0, j0 + n - 1.0])
    xyz, *_ = rdr2geo_ecef(np.full(2, t), r, sw_r.orbit, wavelength_m=sw_r.wavelength_m, look_side="right",
                           dem=300.0)
    # the secondary orbit in its own epoch (a year of seconds would leave geo2rdr no precision to converge on)
    _, r2 = geo2rdr(xyz, sw_s.orbit, wavelength_m=sw_s.wavelength_m)
    c = (r2 - sw_s.near_range_m) / sw_s.range_spacing_m
    s0 = max(int(math.floor(c.min())) - margin, 0)
    s1 = min(int(math.ceil(c.max())) + margin + 1, sw_s.n_samples)
    return s0, s1 - s0


def nearest_burst(sw_r, k: int, sw_s) -> int:
    b = sw_r.bursts[k]
    t = b.azimuth_time_s + sw_r.azimuth_time_interval_s * b.n_lines / 2.0
    p, v = sw_r.orbit.interpolate(np.array([t]))
    u = v[0] / np.linalg.norm(v[0])
    d = []
    for bs in sw_s.bursts:
        ts = bs.azimuth_time_s + sw_s.azimuth_time_interval_s * bs.n_lines / 2.0
        q, _ = sw_s.orbit.interpolate(np.array([ts]))
        d.append(abs(float(np.dot(q[0] - p[0], u))))
    return int(np.argmin(d))


def open_measurement(tops: TopsScene, annotation: Path, safe: Path) -> np.memmap:
    """The measurement TIFF of one subswath (its bursts stacked in annotation order, one row per strip,
    zeros until written), memory-mapped for writing burst by burst (:func:`burst_rows`)."""
    shape = tops.bursts[0].shape
    path = safe / "measurement" / (annotation.stem + ".tiff")
    return tifffile.memmap(path, shape=(shape[0] * len(tops), shape[1]), dtype=np.complex64, rowsperstrip=1,
                           photometric="minisblack")


def burst_rows(tiff: np.memmap, tops: TopsScene, key: str) -> np.ndarray:
    """The rows of a burst (its subswath's annotation order) in an :func:`open_measurement` TIFF."""
    bursts = tops.swath_bursts(tops_parameters(tops.burst(key)).swath)
    i = [tops_parameters(b).key for b in bursts].index(key)
    n = bursts[0].shape[0]
    return tiff[i * n:(i + 1) * n]


def close_measurement(tiff: np.memmap, annotation: Path) -> None:
    """Flush the TIFF and write the bursts' byteOffset into the annotation."""
    tiff.flush()
    path = Path(str(tiff.filename))
    with tifffile.TiffFile(path) as tf:
        offsets = tf.pages[0].dataoffsets
    root = SafeET.fromstring(annotation.read_bytes())
    bursts = root.findall("swathTiming/burstList/burst")
    lines = len(offsets) // max(len(bursts), 1)
    for i, b in enumerate(bursts):
        if b.find("byteOffset") is not None:
            b.find("byteOffset").text = str(int(offsets[i * lines]))
    annotation.write_bytes(StdET.tostring(root, encoding="utf-8", xml_declaration=True))
