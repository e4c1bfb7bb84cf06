"""Perpendicular and parallel baselines between two orbits at reference radar pixels.

Definition (ISCE2's, topsApp ``runComputeBaseline``): for a reference pixel (azimuth time
``t``, slant range ``R``) the target ``X`` is rdr2geo of the pixel on the ellipsoid at height
``h`` (zero Doppler); the secondary sees it at ``(t2, R2) = geo2rdr(X)`` from position
``S``; the reference platform is at ``M`` with velocity ``V``. ``S`` is projected onto the
plane through ``M`` normal to ``V`` (``S'``), ``B = |S' - M|`` and ``theta`` is the angle
at ``M`` between the line of sight and the baseline, from the law of cosines
``cos theta = (R^2 + B^2 - R2^2) / (2 R B)``. Then

- parallel baseline ``B_par = B cos theta`` (m): positive when the secondary is nearer to
  the target than the reference (``B_par ~ R - R2``);
- perpendicular baseline ``B_perp = s B sin theta`` (m), with the sign
  ``s = sign(((X - M) x (S' - M)) . V)``.
"""

from __future__ import annotations

import numpy as np

from .geo2rdr import geo2rdr
from .orbit import Orbit
from .rdr2geo import rdr2geo_ecef

__all__ = ["baselines"]


def baselines(reference_orbit: Orbit, secondary_orbit: Orbit, azimuth_time_s, slant_range_m, *, wavelength_m: float,
              look_side: str, height_m: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(perpendicular m, parallel m) baselines at reference pixels (azimuth times s since the reference
    orbit's epoch, slant ranges m, broadcast together), targets at ``height_m`` above the ellipsoid.
    The secondary orbit may count time from another epoch (its own)."""
    t, r = np.broadcast_arrays(np.asarray(azimuth_time_s, np.float64), np.asarray(slant_range_m, np.float64))
    x, *_ = rdr2geo_ecef(t, r, reference_orbit, wavelength_m=wavelength_m, look_side=look_side, dem=height_m)
    m, v = reference_orbit.interpolate(t)
    t2, r2 = geo2rdr(x, secondary_orbit, wavelength_m=wavelength_m)
    s, _ = secondary_orbit.interpolate(t2)
    u = v / np.linalg.norm(v, axis=-1, keepdims=True)
    sp = s - np.sum((s - m) * u, axis=-1, keepdims=True) * u
    b = np.linalg.norm(sp - m, axis=-1)
    cos_t = (r * r + b * b - r2 * r2) / (2.0 * r * b)
    b_par = b * cos_t
    sign = np.sign(np.sum(np.cross(x - m, sp - m) * v, axis=-1))
    b_perp = sign * b * np.sqrt(np.clip(1.0 - cos_t * cos_t, 0.0, None))
    return b_perp, b_par
