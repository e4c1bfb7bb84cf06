"""What a product needs to stand alone: the acquisition pair's metadata, computed once per run.

:func:`pair_metadata` gathers, from the run's two scenes and the multilooked geometry, the
numbers a user needs to turn a product into displacement or to stack it in a time series:
wavelength, reference and secondary acquisition times (UTC), sensor and platform, look side,
platform heading and LOS angles at the scene centre, the perpendicular baseline at the scene
centre (:func:`daskinsar.geometry.baseline.baselines`) and the daskinsar version. The GeoTIFF
tags, the ISCE layout export and the STAC item all take them from here (one key each, below).

:func:`reference_point` picks, on a geocoded grid, the pixel an unwrapped phase is best referred
to (highest coherence inside a connected component); daskinsar does not shift the phase there:
its value is recorded so a user can.
"""

from __future__ import annotations

import math
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr

from ..geometry.baseline import baselines
from ..geometry.ellipsoid import ecef_to_llh, enu_basis
from ..geometry.orbit import format_utc, parse_utc
from ..bursts import TopsScene
from ..scene import Scene

__all__ = ["pair_metadata", "reference_point", "acquisition_times"]


def acquisition_times(scene: Scene | TopsScene) -> tuple[str, str]:
    """(first line, last line) azimuth times of a scene (a TOPS scene: of its first and last burst) as
    ISO-8601 UTC strings (``...Z``)."""
    bursts = scene.bursts if isinstance(scene, TopsScene) else [scene]
    first = min(float(b.azimuth_time[0]) for b in bursts)
    last = max(float(b.azimuth_time[-1]) for b in bursts)
    epoch = parse_utc(bursts[0].meta.epoch)
    return tuple(format_utc(epoch + np.timedelta64(int(round(x * 1e9)), "ns")) + "Z"
                 for x in (first, last))  # type: ignore[return-value]


def _central(scene: Scene | TopsScene) -> Scene:
    """The scene, or a TOPS scene's middle burst (where the centre's geometry is taken)."""
    return scene.bursts[len(scene.bursts) // 2] if isinstance(scene, TopsScene) else scene


def _centre_value(arr: xr.DataArray) -> float:
    """The value at the central pixel (or the nearest finite one on the central row)."""
    i, j = arr.sizes[arr.dims[0]] // 2, arr.sizes[arr.dims[1]] // 2
    row = np.asarray(arr.isel({arr.dims[0]: i}).values, np.float64)
    ok = np.flatnonzero(np.isfinite(row))
    if not ok.size:
        return float("nan")
    return float(row[ok[np.argmin(np.abs(ok - j))]])


def pair_metadata(reference: Scene | TopsScene, secondary: Scene | TopsScene, geometry: xr.Dataset | None,
                  version: str) -> dict[str, Any]:
    """The pair's metadata (keys below; units in the names). ``geometry``: the multilooked ``interferogram``
    group (its ``incidence``, ``heading`` give the LOS angles at the centre), or None. TOPS scenes: times
    span their bursts, the centre is the middle reference burst's."""
    ref, sec = _central(reference), _central(secondary)
    meta = ref.meta
    t, r = ref.azimuth_time, ref.slant_range
    tc, rc = float(t[len(t) // 2]), float(r[len(r) // 2])
    b_perp, b_par = baselines(ref.orbit, sec.orbit, tc, rc, wavelength_m=meta.wavelength_m,
                              look_side=meta.look_side)
    pos, vel = ref.orbit.interpolate(np.array([tc]))
    lon, lat, _ = ecef_to_llh(pos)
    east, north, _ = enu_basis(lon, lat)
    heading = math.degrees(math.atan2(float(np.sum(vel * east)), float(np.sum(vel * north))))
    ref_start, ref_stop = acquisition_times(reference)
    sec_start, sec_stop = acquisition_times(secondary)
    out: dict[str, Any] = {
        "sensor": meta.sensor,
        "platform": meta.platform or meta.sensor,
        "wavelength_m": meta.wavelength_m,
        "look_side": meta.look_side,
        "reference_start_utc": ref_start,
        "reference_stop_utc": ref_stop,
        "secondary_start_utc": sec_start,
        "secondary_stop_utc": sec_stop,
        "reference_date": ref_start[:10],
        "secondary_date": sec_start[:10],
        "platform_heading_deg": heading,
        "perpendicular_baseline_m": float(b_perp),
        "parallel_baseline_m": float(b_par),
        "orbit_direction": "ascending" if float(np.sum(vel * north)) > 0 else "descending",
        "centre_slant_range_m": rc,
        "daskinsar_version": version,
    }
    if meta.polarization:
        out["polarization"] = meta.polarization
    if geometry is not None:
        if "incidence" in geometry:
            out["incidence_centre_deg"] = _centre_value(geometry["incidence"])
        if "heading" in geometry:
            out["los_azimuth_centre_deg"] = _centre_value(geometry["heading"])
        if "lon" in geometry and "lat" in geometry:
            out["centre_lon_deg"] = _centre_value(geometry["lon"])
            out["centre_lat_deg"] = _centre_value(geometry["lat"])
    return out


def reference_point(geo: xr.Dataset) -> dict[str, Any] | None:
    """On a geocoded Dataset with ``coherence`` (and ``conncomp``, ``unw`` when unwrapped): the pixel of
    highest coherence inside a connected component, as row, column, x, y and the unwrapped phase there
    (rad). Computed lazily, block by block (one reduction), so memory stays at a chunk. None without
    coherence."""
    if "coherence" not in geo:
        return None
    coh = da.asarray(geo["coherence"].data).astype(np.float64)
    ok = da.isfinite(coh)
    if "conncomp" in geo:
        ok = ok & (da.asarray(geo["conncomp"].data) > 0)
    score = da.where(ok, coh, -1.0)
    flat = int(da.argmax(score.ravel()).compute())
    i, j = divmod(flat, coh.shape[1])
    if not bool(np.asarray(ok[i, j])):
        return None
    out: dict[str, Any] = {"row": i, "column": j, "x": float(geo["x"].values[j]), "y": float(geo["y"].values[i]),
                           "coherence": float(np.asarray(coh[i, j]))}
    if "unw" in geo:
        out["unw_rad"] = float(np.asarray(geo["unw"].data[i, j]))
    return out
