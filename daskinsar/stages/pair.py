"""Checks that two scenes form an interferometric pair, and that the DEM covers the reference.

Run before anything is written, so a bad pair never replaces a good run's stores.
"""

from __future__ import annotations

import numpy as np

from ..errors import DemCoverageError, PairError, UnsupportedSceneError
from ..geometry.ellipsoid import SPEED_OF_LIGHT
from ..geometry.geo2rdr import geo2rdr
from ..geometry.orbit import seconds_between
from ..geometry.rdr2geo import rdr2geo, rdr2geo_ecef
from ..scene import RadarMetadata, Scene

__all__ = ["check_pair", "check_dem_covers", "check_dem_covers_scene", "check_not_across_antimeridian", "footprint_edges",
           "range_band_hz", "range_bandwidth_hz", "MIN_COMMON_BAND_FRACTION"]

#: the narrowest common range band a pair may have, as a fraction of the narrower of its two bands
#: (checked on the centre frequencies and bandwidths by preprocess, with the geometric spectral shift by
#: commonband); below it the interferogram would be all but decorrelated
MIN_COMMON_BAND_FRACTION = 0.1


def range_bandwidth_hz(meta: RadarMetadata) -> float:
    """A scene's range bandwidth (Hz): ``range_bandwidth_hz``, else the chirp's, else the sampling rate."""
    if meta.range_bandwidth_hz:
        return float(meta.range_bandwidth_hz)
    if meta.chirp is not None and meta.chirp.bandwidth_hz > 0:
        return float(min(meta.chirp.bandwidth_hz, meta.range_sampling_rate_hz))
    return float(meta.range_sampling_rate_hz)


def range_band_hz(meta: RadarMetadata) -> tuple[float, float]:
    """(lowest, highest) transmitted frequency (Hz): centre frequency c / wavelength -+ half the bandwidth."""
    f0, b = SPEED_OF_LIGHT / meta.wavelength_m, range_bandwidth_hz(meta)
    return f0 - 0.5 * b, f0 + 0.5 * b


def _mhz(band: tuple[float, float]) -> str:
    return f"{band[0] / 1e6:.3f}..{band[1] / 1e6:.3f} MHz"


def check_pair(ref: Scene, sec: Scene, ref_path: str, sec_path: str) -> tuple[float, float]:
    """Raise PairError unless the two scenes can form an interferogram: range bands that overlap by at
    least :data:`MIN_COMMON_BAND_FRACTION` of the narrower one (centre frequencies and bandwidths may
    differ), neither scene across the antimeridian, the same look side, and the secondary sees at least one
    of the reference's corners or its centre. Returns the common range band (Hz, absolute), before the
    geometric spectral shift."""
    b1, b2 = range_band_hz(ref.meta), range_band_hz(sec.meta)
    common = (max(b1[0], b2[0]), min(b1[1], b2[1]))
    width = common[1] - common[0]
    if width <= 0:
        raise PairError(f"{sec_path}: range band {_mhz(b2)} does not overlap the reference's {_mhz(b1)} "
                        f"({ref_path}): the two scenes share no frequencies to form an interferogram")
    narrower = min(b1[1] - b1[0], b2[1] - b2[0])
    if width < MIN_COMMON_BAND_FRACTION * narrower:
        raise PairError(f"{sec_path}: range band {_mhz(b2)} overlaps the reference's {_mhz(b1)} ({ref_path}) by "
                        f"{width / 1e6:.3f} MHz, below the minimum of {MIN_COMMON_BAND_FRACTION:.0%} of the narrower "
                        "band")
    for scene, path in ((ref, ref_path), (sec, sec_path)):
        check_not_across_antimeridian(footprint_edges(scene, 0.0)[0], path)
    if ref.meta.look_side != sec.meta.look_side:
        raise PairError(f"{sec_path}: looks {sec.meta.look_side} but the reference ({ref_path}) looks "
                        f"{ref.meta.look_side}")
    t, r = ref.azimuth_time, ref.slant_range
    tt = np.array([t[0], t[-1], t[len(t) // 2], t[0], t[-1]])
    rr = np.array([r[0], r[0], r[len(r) // 2], r[-1], r[-1]])
    xyz, *_ = rdr2geo_ecef(tt, rr, ref.orbit, wavelength_m=ref.meta.wavelength_m, look_side=ref.meta.look_side,
                           doppler=ref.meta.grid_doppler_model)
    sorb = sec.orbit.shift_epoch(ref.meta.epoch)
    t2, r2 = geo2rdr(xyz, sorb, wavelength_m=sec.meta.wavelength_m, doppler=sec.meta.grid_doppler_model,
                     check_coverage=False)
    st = sec.azimuth_time + seconds_between(ref.meta.epoch, sec.meta.epoch)
    sr = sec.slant_range
    inside = np.isfinite(t2) & (t2 >= st[0]) & (t2 <= st[-1]) & (r2 >= sr[0]) & (r2 <= sr[-1])
    if not inside.any():
        raise PairError(f"{sec_path}: the secondary scene does not overlap the reference scene ({ref_path}): "
                        "none of the reference's corners or centre is inside the secondary's image")
    return common


def check_not_across_antimeridian(lon_deg, label: str) -> None:
    """Raise UnsupportedSceneError when footprint longitudes (deg, in (-180, 180]) lie on both sides of the
    antimeridian: a scene is a few hundred km wide, so a spread beyond 180 deg means it crosses +-180 deg,
    where DEM cropping, the map grid and geocoding would span the whole globe."""
    lon = np.asarray(lon_deg, np.float64)
    lon = lon[np.isfinite(lon)]
    if lon.size and float(lon.max() - lon.min()) > 180.0:
        east, west = float(lon[lon < 0].max()), float(lon[lon > 0].min())
        raise UnsupportedSceneError(
            f"{label}: the scene crosses the antimeridian (its footprint spans lon {west:.4f}..180 and "
            f"-180..{east:.4f} deg); daskinsar does not process scenes across +-180 deg longitude")


def footprint_edges(scene: Scene, height_m: float, n: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """(lon, lat) in deg of ``n`` points along each edge of the scene's grid at one ellipsoid height (m)."""
    t, r = scene.azimuth_time, scene.slant_range
    ti = np.linspace(t[0], t[-1], n)
    ri = np.linspace(r[0], r[-1], n)
    edge_t = np.concatenate([ti, ti, np.full(n, t[0]), np.full(n, t[-1])])
    edge_r = np.concatenate([np.full(n, r[0]), np.full(n, r[-1]), ri, ri])
    lon, lat, _ = rdr2geo(edge_t, edge_r, scene.orbit, wavelength_m=scene.meta.wavelength_m,
                          look_side=scene.meta.look_side, dem=height_m, doppler=scene.meta.grid_doppler_model)
    return lon, lat


def check_dem_covers(dem_bounds: tuple[float, float, float, float], lon, lat, dem_path: str) -> None:
    """Raise DemCoverageError unless the DEM (lon_min, lon_max, lat_min, lat_max of its sample centres,
    deg) covers the points (deg)."""
    lon = np.asarray(lon)[np.isfinite(lon)]
    lat = np.asarray(lat)[np.isfinite(lat)]
    need = (float(lon.min()), float(lon.max()), float(lat.min()), float(lat.max()))
    have = dem_bounds
    if need[0] < have[0] or need[1] > have[1] or need[2] < have[2] or need[3] > have[3]:
        raise DemCoverageError(
            f"{dem_path}: DEM covers lon {have[0]:.4f}..{have[1]:.4f}, lat {have[2]:.4f}..{have[3]:.4f} deg, "
            f"but the scene needs lon {need[0]:.4f}..{need[1]:.4f}, lat {need[2]:.4f}..{need[3]:.4f} deg")


def check_dem_covers_scene(scene: Scene, dem_bounds: tuple[float, float, float, float],
                           height_range_m: tuple[float, float], dem_path: str) -> None:
    """:func:`check_dem_covers` of the scene's footprint edges at the lowest and highest DEM heights (m)."""
    for h in height_range_m:
        check_dem_covers(dem_bounds, *footprint_edges(scene, float(h)), dem_path)
