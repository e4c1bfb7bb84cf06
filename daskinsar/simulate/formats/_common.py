"""What the product writers share: the scene's regular grid, UTC text, Doppler and FM-rate
polynomials derived from the scene, integer scaling, geolocation of the scene corners, and
writing the pixels block by block.

Everything here is derived from the :class:`~daskinsar.scene.Scene` being written (its grid,
orbit, wavelength, look side and Doppler model), so the products carry the scene's own values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator
from xml.etree import ElementTree as ET

import dask
import dask.array as da
import numpy as np

from ...errors import DaskInsarError
from ...geometry.ellipsoid import SPEED_OF_LIGHT
from ...geometry.orbit import parse_utc
from ...geometry.rdr2geo import rdr2geo, rdr2geo_ecef
from ...scene import Scene

__all__ = ["Grid", "grid_of", "utc", "utc_text", "doppler_poly", "fm_rate_poly", "dn_scale", "slc_array", "row_blocks",
           "corner_points", "geo_grid", "xml_tree", "sub", "fmt",
           "iter_line_blocks", "int_scale", "scene_corners", "absolute_time", "uniform_orbit"]


@dataclass(frozen=True)
class Grid:
    """The scene's regular radar grid: first line ``t0_s`` (s after ``epoch``), line interval ``dt_s``;
    first sample ``r0_m``, spacing ``dr_m``."""

    epoch: str
    t0_s: float
    dt_s: float
    n_az: int
    r0_m: float
    dr_m: float
    n_rg: int

    @property
    def tau0_s(self) -> float:
        """Two-way range time of the first sample (s)."""
        return 2.0 * self.r0_m / SPEED_OF_LIGHT

    @property
    def dtau_s(self) -> float:
        return 2.0 * self.dr_m / SPEED_OF_LIGHT

    def time(self, line: float) -> float:
        """Time (s after the epoch) of line ``line``."""
        return self.t0_s + line * self.dt_s

    def range(self, sample: float) -> float:
        """Slant range (m) of sample ``sample``."""
        return self.r0_m + sample * self.dr_m

    def times(self, lines) -> np.ndarray:
        return self.t0_s + np.asarray(lines, np.float64) * self.dt_s

    def ranges(self, samples) -> np.ndarray:
        return self.r0_m + np.asarray(samples, np.float64) * self.dr_m


def grid_of(scene: Scene, what: str) -> Grid:
    """The scene's grid; a product of format ``what`` needs a zero-Doppler SLC on a regular grid."""
    if scene.meta.level != "slc" or "slc" not in scene.data:
        raise DaskInsarError(f"{what}: only SLC scenes can be written (level {scene.meta.level!r})")
    if scene.meta.grid != "zero_doppler":
        raise DaskInsarError(f"{what}: the format's SLC is on a zero-Doppler grid; this scene's is {scene.meta.grid}")
    t, r = scene.azimuth_time, scene.slant_range
    if len(t) < 2 or len(r) < 2:
        raise DaskInsarError(f"{what}: a scene of at least 2 x 2 pixels is needed")
    dt, dr = float(t[1] - t[0]), float(r[1] - r[0])
    if np.max(np.abs(np.diff(t) - dt)) > 1e-9 * max(1.0, abs(t[-1])) or np.max(np.abs(np.diff(r) - dr)) > 1e-6:
        raise DaskInsarError(f"{what}: the scene's grid is not regular")
    return Grid(scene.meta.epoch, float(t[0]), dt, len(t), float(r[0]), dr, len(r))


def utc(epoch: str, seconds: float) -> np.datetime64:
    """``epoch`` + ``seconds`` as datetime64[ns]."""
    return parse_utc(epoch) + np.timedelta64(int(round(seconds * 1e9)), "ns")


def utc_text(t: np.datetime64, digits: int = 6, sep: str = "T", zone: str = "") -> str:
    """UTC text with ``digits`` decimals (rounded), ``sep`` between date and time, ``zone`` suffix (e.g. "Z")."""
    ns = int(np.asarray(t).astype("datetime64[ns]").astype(np.int64))
    q = 10 ** (9 - digits)
    ns = (ns + q // 2) // q * q
    whole = np.datetime64(ns // 1_000_000_000, "s")
    frac = (ns % 1_000_000_000) // q
    date, clock = str(whole).split("T")
    return f"{date}{sep}{clock}" + (f".{frac:0{digits}d}" if digits else "") + zone


def _fit(x: np.ndarray, y: np.ndarray, degree: int) -> list[float]:
    """Least-squares polynomial coefficients (increasing powers) of y(x)."""
    scale = float(np.max(np.abs(x))) or 1.0
    c = np.polynomial.polynomial.polyfit(x / scale, y, degree)
    return [float(v / scale**k) for k, v in enumerate(c)]


def doppler_poly(scene: Scene, grid: Grid, t_s: float, degree: int = 2) -> tuple[float, list[float]]:
    """(reference two-way range time s, coefficients Hz / s^k) of the scene's Doppler centroid at time ``t_s``."""
    r = grid.ranges(np.linspace(0, grid.n_rg - 1, 9))
    tau = 2.0 * r / SPEED_OF_LIGHT
    ref = float(tau[len(tau) // 2])
    f = np.asarray(scene.meta.doppler_centroid(np.full_like(r, t_s), r), np.float64)
    return ref, _fit(tau - ref, f, degree)


def fm_rate_poly(scene: Scene, grid: Grid, t_s: float, degree: int = 3) -> tuple[float, list[float]]:
    """(reference two-way range time s, coefficients Hz/s / s^k) of the zero-Doppler azimuth FM rate
    ``-2 / wavelength * d2R/dt2`` at time ``t_s``, from the scene's orbit and an ellipsoid-height target."""
    r = grid.ranges(np.linspace(0, grid.n_rg - 1, 9))
    t = np.full_like(r, t_s)
    xyz, _, _, _, pos, vel = rdr2geo_ecef(t, r, scene.orbit, wavelength_m=scene.meta.wavelength_m,
                                           look_side=scene.meta.look_side)
    h = 0.05
    _, v1 = scene.orbit.interpolate(t + h)
    _, v0 = scene.orbit.interpolate(t - h)
    acc = (v1 - v0) / (2 * h)
    d2r = (np.einsum("ij,ij->i", vel, vel) - np.einsum("ij,ij->i", acc, xyz - pos)) / r
    ka = -2.0 / scene.meta.wavelength_m * d2r
    tau = 2.0 * r / SPEED_OF_LIGHT
    ref = float(tau[len(tau) // 2])
    return ref, _fit(tau - ref, ka, degree)


def slc_array(scene: Scene) -> da.Array:
    """The scene's SLC as a dask array (row chunks of at most 256 lines for in-memory scenes)."""
    a = scene.data["slc"].data
    return a if isinstance(a, da.Array) else da.from_array(np.asarray(a), chunks=(256, -1))


def dn_scale(slc: da.Array, rms_dn: float = 150.0) -> float:
    """Factor turning the SLC into digital numbers of rms ``rms_dn`` per complex sample (one streaming pass)."""
    power = float(da.mean(da.real(slc) ** 2 + da.imag(slc) ** 2).compute())
    if not np.isfinite(power) or power <= 0:
        raise DaskInsarError("cannot scale an SLC of zero or non-finite power to integers")
    return rms_dn / np.sqrt(power)


def row_blocks(slc: da.Array) -> Iterator[tuple[int, int, np.ndarray]]:
    """``(first line, end line, block)`` over the array's row chunks (full width; one slab in memory)."""
    r0 = 0
    for n in slc.chunks[0]:
        with dask.config.set(scheduler="threads"):
            block = np.asarray(slc[r0:r0 + n].compute())
        yield r0, r0 + n, block
        r0 += n


def corner_points(scene: Scene, grid: Grid, height_m: float = 0.0) -> dict[str, tuple[float, float, float, float]]:
    """(lat deg, lon deg, height m, incidence deg) at the four corners and the centre of the grid."""
    lines = {"first": 0, "last": grid.n_az - 1, "mid": (grid.n_az - 1) / 2}
    samples = {"near": 0, "far": grid.n_rg - 1, "mid": (grid.n_rg - 1) / 2}
    keys = [("first", "near"), ("first", "far"), ("last", "near"), ("last", "far"), ("mid", "mid")]
    t = np.array([grid.time(lines[a]) for a, _ in keys])
    r = np.array([grid.range(samples[b]) for _, b in keys])
    xyz, lon, lat, hgt, pos, _ = rdr2geo_ecef(t, r, scene.orbit, wavelength_m=scene.meta.wavelength_m,
                                              look_side=scene.meta.look_side, dem=height_m)
    los = (pos - xyz) / np.linalg.norm(pos - xyz, axis=1)[:, None]
    lon_r, lat_r = np.radians(lon), np.radians(lat)
    up = np.stack([np.cos(lat_r) * np.cos(lon_r), np.cos(lat_r) * np.sin(lon_r), np.sin(lat_r)], -1)
    inc = np.degrees(np.arccos(np.clip(np.einsum("ij,ij->i", los, up), -1, 1)))
    return {f"{a}_{b}": (float(lat[i]), float(lon[i]), float(hgt[i]), float(inc[i])) for i, (a, b) in enumerate(keys)}


def geo_grid(scene: Scene, grid: Grid, lines: np.ndarray, samples: np.ndarray, height_m: float = 0.0):
    """(lat deg, lon deg) of the grid pixels ``lines`` x ``samples`` (arrays of shape (n_lines, n_samples))."""
    t = grid.times(lines)[:, None] + 0.0 * np.asarray(samples)[None, :]
    r = grid.ranges(samples)[None, :] + 0.0 * t
    _, lon, lat, _, _, _ = rdr2geo_ecef(t, r, scene.orbit, wavelength_m=scene.meta.wavelength_m,
                                        look_side=scene.meta.look_side, dem=height_m)
    return lat, lon


# ----------------------------------------------------------------------------------------- XML writing
def fmt(v: float) -> str:
    """A float as the vendors print them (17 significant digits, exponent)."""
    return f"{float(v):.17E}"


def sub(parent: ET.Element, tag: str, text=None, **attrs) -> ET.Element:
    el = ET.SubElement(parent, tag, {k.rstrip("_"): str(v) for k, v in attrs.items()})
    if text is not None:
        el.text = fmt(float(text)) if isinstance(text, (float, np.floating)) else str(text)
    return el


def xml_tree(root: ET.Element, path: str) -> None:
    ET.indent(root, space="  ")
    ET.ElementTree(root).write(path, encoding="UTF-8", xml_declaration=True)


# ----------------------------------------------------------------------------- the CEOS / Envisat / UAVSAR writers' helpers
def iter_line_blocks(scene: Scene, lines_per_block: int = 512) -> Iterator[tuple[int, np.ndarray]]:
    """(first line, complex64 block of whole lines) over the scene's main variable, computed one block at a
    time (memory bounded by the block)."""
    arr = scene.data[scene.main_variable].data
    n = scene.shape[0]
    for a in range(0, n, lines_per_block):
        b = min(a + lines_per_block, n)
        blk = arr[a:b]
        yield a, np.asarray(blk.compute() if hasattr(blk, "compute") else blk, np.complex64)


def int_scale(scene: Scene, full_scale: float) -> float:
    """The factor that maps the scene's largest |I| or |Q| to ``full_scale`` counts (one pass over the data),
    rounded to float32 so that readers and tests can reproduce it."""
    arr = scene.data[scene.main_variable].data
    m = abs(arr.real).max(), abs(arr.imag).max()
    if hasattr(m[0], "compute"):
        import dask

        m = dask.compute(*m)
    peak = float(max(m))
    if not np.isfinite(peak) or peak <= 0:
        raise ValueError("cannot scale an all-zero or non-finite scene to integers")
    return float(np.float32(full_scale / peak))


def absolute_time(scene: Scene, t_s: float) -> np.datetime64:
    """UTC of ``t_s`` seconds on the scene's time axis."""
    return parse_utc(scene.meta.epoch) + np.timedelta64(int(round(t_s * 1e9)), "ns")


def scene_corners(scene: Scene, height_m: float = 0.0) -> dict[str, tuple[float, float]]:
    """(lat, lon) in deg of the first/last line x near/mid/far pixels and the centre, at ``height_m``."""
    t, r = scene.azimuth_time, scene.slant_range
    tt = np.array([t[0], t[0], t[0], t[-1], t[-1], t[-1], t[len(t) // 2]])
    rr = np.array([r[0], r[len(r) // 2], r[-1], r[0], r[len(r) // 2], r[-1], r[len(r) // 2]])
    dop = None if scene.meta.grid == "zero_doppler" else scene.meta.grid_doppler
    lon, lat, _ = rdr2geo(tt, rr, scene.orbit, wavelength_m=scene.meta.wavelength_m, look_side=scene.meta.look_side,
                          dem=height_m, doppler=dop)
    names = ("first_near", "first_mid", "first_far", "last_near", "last_mid", "last_far", "centre")
    return {k: (float(la), float(lo)) for k, la, lo in zip(names, lat, lon)}


def uniform_orbit(scene: Scene, t_first_s: float, t_last_s: float, n_min: int = 5):
    """The scene's state vectors around [t_first_s, t_last_s] (at least ``n_min``, uniform spacing required)."""
    o = scene.orbit
    dt = np.diff(o.time)
    if np.max(np.abs(dt - dt[0])) > 1e-6:
        raise ValueError("the writer needs uniformly spaced state vectors")
    o = o.crop(t_first_s, t_last_s, margin=max(2, n_min // 2 + 1))
    return o
