"""Perpendicular and parallel baselines between two orbits at reference radar pixels.

Definition (ISCE2's, topsApp ``runComputeBaseline``): for a reference pixel (azimuth time
``t``, slant range ``R``) the target ``X`` is rdr2geo of the pixel at height ``h`` (on the
ellipsoid raised by ``h``, or per pixel its topo height) with the reference grid's Doppler; the
secondary sees it at ``(t2, R2) = geo2rdr(X)`` with the secondary grid's Doppler, from position
``S``; the reference platform is at ``M`` with velocity ``V`` at ``t``. ``S`` is projected onto
the plane through ``M`` normal to ``V`` (``S'``), ``B = |S' - M|`` and ``theta`` is the angle
at ``M`` between the line of sight and the baseline, from the law of cosines
``cos theta = (R^2 + B^2 - R2^2) / (2 R B)``. Then

- parallel baseline ``B_par = B cos theta`` (m): positive when the secondary is nearer to
  the target than the reference (``B_par ~ R - R2``);
- perpendicular baseline ``B_perp = s B sin theta`` (m), with the sign
  ``s = sign(((X - M) x (S' - M)) . V)``: positive when the secondary lies on the side of the line
  of sight that ``V x (X - M)`` points to, i.e. *below* the line of sight (towards the Earth) for a
  right-looking sensor and *above* it for a left-looking one.

On zero-Doppler grids both platforms are at their zero-Doppler time of ``X``; on native-Doppler
grids each is where its own grid sees ``X`` (the times and ranges that topo, the geometric offsets
and the flat-earth phase use). With ``b = S - M``, ``l = (X - M)/R`` and the secondary's along-track
offset ``a = b . V/|V|``: ``R2^2 = R^2 - 2R b.l + |b|^2`` and ``|b|^2 = B^2 + a^2``, so the law of
cosines is exactly ``B_par = b . l - a^2 / (2R)``, the projection of the baseline vector on the line
of sight up to ``a^2 / (2R)`` (3e-5 m for a = 7 m at R = 850 km), and ``|B_perp| = sqrt(B^2 - B_par^2)``.
"""

from __future__ import annotations

import numpy as np

from .geo2rdr import DopplerLike, geo2rdr
from .orbit import Orbit
from .rdr2geo import HeightSource, rdr2geo_ecef

__all__ = ["baselines", "baseline_vectors"]


def baseline_vectors(reference_orbit: Orbit, secondary_orbit: Orbit, azimuth_time_s, slant_range_m, *,
                     wavelength_m: float, look_side: str, height_m: HeightSource = 0.0,
                     reference_doppler: DopplerLike = None, secondary_doppler: DopplerLike = None,
                     secondary_time_guess_s=None):
    """The geometry of :func:`baselines` at reference pixels: ``(X, M, V, S, R, R2)``, target, reference
    platform position and velocity, secondary platform position (ECEF m, m/s; ``(..., 3)``) and the
    two slant ranges (m). NaN where the pixel has no ground point or the secondary does not see it."""
    t, r = np.broadcast_arrays(np.asarray(azimuth_time_s, np.float64), np.asarray(slant_range_m, np.float64))
    h = height_m if hasattr(height_m, "raster") else np.broadcast_to(np.asarray(height_m, np.float64), t.shape)
    x, _, _, _, m, v = rdr2geo_ecef(t, r, reference_orbit, wavelength_m=wavelength_m, look_side=look_side, dem=h,
                                    doppler=reference_doppler)
    t2, r2 = geo2rdr(x, secondary_orbit, wavelength_m=wavelength_m, doppler=secondary_doppler,
                     t_guess_s=secondary_time_guess_s, check_coverage=False)
    ok = np.isfinite(t2)
    s = np.full(x.shape, np.nan)
    if ok.any():
        s[ok], _ = secondary_orbit.interpolate(t2[ok])
    return x, m, v, s, r, r2


def baselines(reference_orbit: Orbit, secondary_orbit: Orbit, azimuth_time_s, slant_range_m, *, wavelength_m: float,
              look_side: str, height_m: HeightSource = 0.0, reference_doppler: DopplerLike = None,
              secondary_doppler: DopplerLike = None, secondary_time_guess_s=None) -> tuple[np.ndarray, np.ndarray]:
    """(perpendicular m, parallel m) baselines at reference pixels (azimuth times s since the reference
    orbit's epoch, slant ranges m, broadcast together), targets at ``height_m`` above the ellipsoid (a
    constant, per-pixel heights broadcast with the pixels, or a DEM). The secondary orbit may count time
    from another epoch (its own). ``reference_doppler`` / ``secondary_doppler``: each grid's Doppler
    (None on a zero-Doppler grid; a Poly1D or LUT2D in Hz, ``RadarMetadata.grid_doppler_model``).
    ``secondary_time_guess_s``: a first guess of the secondary's times (s in its epoch). NaN where the
    pixel has no ground point (a NaN height) or the secondary orbit does not see it."""
    x, m, v, s, r, r2 = baseline_vectors(reference_orbit, secondary_orbit, azimuth_time_s, slant_range_m,
                                         wavelength_m=wavelength_m, look_side=look_side, height_m=height_m,
                                         reference_doppler=reference_doppler, secondary_doppler=secondary_doppler,
                                         secondary_time_guess_s=secondary_time_guess_s)
    u = v / np.linalg.norm(v, axis=-1, keepdims=True)
    sp = s - np.sum((s - m) * u, axis=-1, keepdims=True) * u
    b = np.linalg.norm(sp - m, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos_t = (r * r + b * b - r2 * r2) / (2.0 * r * b)
    # both passes on one track (a UAVSAR RPI pair, b = 0): both components are 0, not 0 * NaN
    cos_t = np.where(b > 0, cos_t, 0.0)
    b_par = b * cos_t
    sign = np.sign(np.sum(np.cross(x - m, sp - m) * v, axis=-1))
    b_perp = sign * b * np.sqrt(np.clip(1.0 - cos_t * cos_t, 0.0, None))
    return b_perp, b_par
