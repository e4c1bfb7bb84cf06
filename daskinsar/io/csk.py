"""Reader for COSMO-SkyMed level-1A SCS products (first generation SCS_A / SCS_B and second
generation CSG SCS), HDF5; the layout it shares with KOMPSAT-5 (:mod:`daskinsar.io.kompsat5`)
is read by :func:`read_csk_family`.

Why not sarpy
-------------
sarpy's ``csk`` reader (which also opens CSG and KOMPSAT-5) builds a SICD: the state vectors
are refitted into an ``ARPPoly`` of degree up to 8 (velocities no longer used), the Doppler
centroid and Doppler-rate polynomials are re-expanded about a scene centre pixel into
``DopCentroidPoly`` / ``DRateSFPoly`` (averaging the constant terms of the range and azimuth
polynomials), and the grid becomes SICD image coordinates with a fitted ``TimeCOAPoly``. The
zero-Doppler line times, the state vectors and the product's own polynomials are what the scene
model needs, so this module reads the HDF5 attributes itself with h5py (sarpy stays optional).
RAW_B (level 0) is refused: not implemented.

Layout read (attribute names as in the COSMO-SkyMed product specifications, as read by ISCE2's
``COSMO_SkyMed_SLC`` / ``KOMPSAT5`` and sarpy's ``csk``); an attribute is looked up on the
image dataset, then its beam group, then the file root::

    /  Mission ID (CSK | CSG | KMPS), Satellite ID, Product Type (SCS_*), Acquisition Mode,
       Look Side, Radar Frequency (Hz), Radar Wavelength (m), Reference UTC,
       State Vectors Times (s after Reference UTC), ECEF Satellite Position (m), ECEF Satellite
       Velocity (m/s), Projection ID (SLANT RANGE/AZIMUTH), Lines Order, Columns Order,
       Centroid vs Range / Azimuth Time Polynomial (Hz / s^k), Range / Azimuth Polynomial
       Reference Time (s), Doppler Rate vs Range / Azimuth Time Polynomial (Hz/s / s^k)
    /S01  Polarisation, PRF (Hz), Sampling Rate (Hz), Range Chirp Rate (Hz/s), Range Chirp Length (s),
          Range Focusing Bandwidth, Azimuth Focusing Bandwidth (Hz)
    /S01/SBI (first generation, KOMPSAT-5) or /S01/IMG (CSG): (lines, samples, 2) float32 or int16 I, Q;
          Zero Doppler Azimuth First / Last Time (s after Reference UTC), Line Time Interval (s),
          Zero Doppler Range First / Last Time (two-way, s), Column Time Interval (s), Column Spacing (m)

CSG states its range polynomials under the names ``Doppler Centroid vs Range Time Polynomial``
and its azimuth polynomial in raw (beam-centre) time; for CSG only the range polynomial is used
(the azimuth one is kept in ``extra``).

Conventions of the returned scene: epoch = ``Reference UTC``; line ``i`` at ``Zero Doppler Azimuth
First Time + i * Line Time Interval`` (s after the epoch, the product's own numbers); slant range
``c/2 * (Zero Doppler Range First Time + j * Column Time Interval)`` (m). Doppler centroid and FM
rate: ``P_range(tau - tau_ref) + P_azimuth(t - t_ref) - P_azimuth[0]`` (the range polynomial holds
the constant term); a :class:`~daskinsar.scene.Poly1D` in range time when the azimuth polynomial is
constant, else a LUT2D sampled from both polynomials; FM-rate sign as stated by the file. Lines
ordered LATE-EARLY or columns FAR-NEAR are mirrored lazily. The grid is zero Doppler (CSK level-1A
SCS products are focused on a zero-Doppler grid). ``prf_hz`` is the line rate; PRF in ``extra``.
Pixels are the stored values as complex64 (float32 exact; int16 digital numbers converted exactly).
SLC phase convention as the product (the same as daskinsar's).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import xarray as xr

from ..errors import InputFileError
from ..geometry.ellipsoid import SPEED_OF_LIGHT
from ..geometry.orbit import Orbit
from ..scene import LUT2D, Chirp, Poly1D, RadarMetadata, Scene, radar_grid_coords
from ._products import BlockWindow, error_line, iso, lazy_image, look_side, parse_utc, require_file
from .nisar_h5 import _has_hdf5_signature
from .readers import ReaderInfo

__all__ = ["read_csk", "read_csk_family", "sniff_csk", "mission_id", "H5PairWindow", "MISSIONS"]

#: Mission ID -> (sensor name, image dataset name)
MISSIONS = {"CSK": ("COSMO_SKYMED", "SBI"), "CSG": ("COSMO_SKYMED_SG", "IMG"), "KMPS": ("KOMPSAT5", "SBI")}


def _text(v) -> str:
    if isinstance(v, np.ndarray) and v.size == 1:
        v = v.reshape(-1)[0]
    if isinstance(v, (bytes, np.bytes_)):
        v = bytes(v).decode("ascii", errors="replace")
    return str(v).strip().strip("\x00").strip()


def mission_id(path: str) -> str | None:
    """The root ``Mission ID`` attribute of an HDF5 file, or None (never raises)."""
    try:
        if not os.path.isfile(path) or not _has_hdf5_signature(path):
            return None
        import h5py

        with h5py.File(path, "r") as f:
            return _text(f.attrs["Mission ID"]) if "Mission ID" in f.attrs else None
    except Exception:
        return None


def sniff_csk(path: str) -> bool:
    """HDF5 with root attribute Mission ID CSK or CSG. Never raises."""
    return mission_id(path) in ("CSK", "CSG")


class _Attrs:
    """Attribute lookup: image dataset, then beam group, then root; errors name the file and attribute."""

    def __init__(self, path: str, *objs):
        self.path = path
        self.objs = [o for o in objs if o is not None]

    def get(self, name: str, default=None):
        for o in self.objs:
            if name in o.attrs:
                return o.attrs[name]
        if default is not None:
            return default
        raise InputFileError(self.path, f"HDF5 attribute {name!r}", "it is missing")

    def text(self, name: str, default: str | None = None) -> str:
        return _text(self.get(name, default))

    def number(self, name: str, default: float | None = None, *, positive: bool = False) -> float:
        v = np.asarray(self.get(name, default))
        if v.size != 1 or not np.issubdtype(v.dtype, np.number):
            raise InputFileError(self.path, f"a number in attribute {name!r}", f"{v.dtype} of shape {v.shape}")
        x = float(v.reshape(-1)[0])
        if not np.isfinite(x) or (positive and x <= 0):
            raise InputFileError(self.path, f"a {'positive ' if positive else ''}finite number in attribute {name!r}",
                                 repr(x))
        return x

    def array(self, name: str, shape_tail: tuple[int, ...] = (), default=None) -> np.ndarray:
        v = np.asarray(self.get(name, default))
        if not np.issubdtype(v.dtype, np.number) or v.ndim != 1 + len(shape_tail) or v.shape[1:] != shape_tail:
            raise InputFileError(self.path, f"attribute {name!r} of shape (n,{','.join(map(str, shape_tail))})",
                                 f"{v.dtype} of shape {v.shape}")
        v = v.astype(np.float64)
        if not np.all(np.isfinite(v)):
            raise InputFileError(self.path, f"finite values in attribute {name!r}", "non-finite values")
        return v


class H5PairWindow(BlockWindow):
    """Lazy window on a (lines, samples, 2) HDF5 dataset of I, Q (float32 or integers)."""

    def __init__(self, path: str, name: str, shape: tuple[int, int], **flips):
        super().__init__(path, shape, **flips)
        self.name = name

    def read_block(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        import h5py

        try:
            with h5py.File(self.path, "r") as f:
                b = f[self.name][r0:r1, c0:c1, :]
        except Exception as exc:
            raise InputFileError(self.path, f"readable dataset {self.name}", f"a read error ({error_line(exc)})") \
                from None
        return b[..., 0].astype(np.float32) + 1j * b[..., 1].astype(np.float32)


def _poly(attrs: _Attrs, name: str, default=None) -> list[float] | None:
    if default is None and not any(name in o.attrs for o in attrs.objs):
        return None
    v = attrs.array(name, default=default)
    return [float(c) for c in v]


def _model(rg: list[float], az: list[float] | None, tau_ref: float, t_ref: float, t: np.ndarray,
           r: np.ndarray) -> Poly1D | LUT2D:
    """P_rg(tau - tau_ref) + P_az(t - t_ref) - P_az[0] as a Poly1D (range only) or a LUT2D."""
    if az is None or not any(az[1:]):
        return Poly1D(variable="range_time", reference=tau_ref, coeffs=rg)
    tn = np.linspace(t[0], t[-1], 9)
    rn = np.linspace(r[0], r[-1], 33)
    tau = 2.0 * rn / SPEED_OF_LIGHT
    v_rg = np.polynomial.polynomial.polyval(tau - tau_ref, rg)
    v_az = np.polynomial.polynomial.polyval(tn - t_ref, az) - az[0]
    return LUT2D(azimuth_time=[float(x) for x in tn], slant_range=[float(x) for x in rn],
                 values=(v_az[:, None] + v_rg[None, :]).tolist())


def read_csk_family(path: str, missions: tuple[str, ...], *, polarization: str | None = None,
                    chunks: tuple[int, int] | int | None = None) -> Scene:
    """Read a CSK / CSG / KOMPSAT-5 level-1A SCS HDF5 product whose Mission ID is one of ``missions``."""
    import h5py

    path = os.path.abspath(str(path))
    expected = f"a {'/'.join(missions)} level-1A SCS HDF5 product"
    size = require_file(path, expected)
    if not _has_hdf5_signature(path):
        raise InputFileError(path, expected, "a file without the HDF5 signature (not HDF5)")
    try:
        f = h5py.File(path, "r")
    except Exception as exc:
        raise InputFileError(path, "a complete, readable HDF5 file",
                             f"an HDF5 file that cannot be opened, probably truncated ({error_line(exc)})") from None
    try:
        return _read(f, path, size, missions, expected, polarization, chunks)
    except InputFileError:
        raise
    except Exception as exc:  # corrupt content deeper in the file
        raise InputFileError(path, expected, f"unreadable content ({error_line(exc)})") from None
    finally:
        f.close()


def _read(f, path: str, size: int, missions, expected, polarization, chunks) -> Scene:
    root = _Attrs(path, f)
    mission = root.text("Mission ID", default="")
    if mission not in missions:
        raise InputFileError(path, f"{expected} (Mission ID {' or '.join(missions)})",
                             f"Mission ID {mission!r}" if mission else "no Mission ID attribute")
    sensor, dset_name = MISSIONS[mission]
    ptype = root.text("Product Type")
    if not ptype.startswith("SCS"):
        level = "level-0 raw (not implemented)" if ptype.startswith("RAW") else "not a level-1A SCS product"
        raise InputFileError(path, f"{expected} (Product Type SCS_*)", f"Product Type {ptype!r}, {level}")
    proj = root.text("Projection ID", default="SLANT RANGE/AZIMUTH").replace(" ", "").upper()
    if proj != "SLANTRANGE/AZIMUTH":
        raise InputFileError(path, "Projection ID SLANT RANGE/AZIMUTH", repr(root.text("Projection ID")))

    beams = {}
    for name in sorted(k for k in f.keys() if len(k) == 3 and k[0] == "S" and k[1:].isdigit()):
        g = f[name]
        if hasattr(g, "keys") and dset_name in g:
            pol = _text(g.attrs["Polarisation"]) if "Polarisation" in g.attrs else root.text("Polarisation", "")
            if pol.upper() not in ("HH", "HV", "VH", "VV"):
                raise InputFileError(path, f"a Polarisation attribute HH, HV, VH or VV for beam {name}", repr(pol))
            beams[pol.upper()] = name
    if not beams:
        raise InputFileError(path, f"{expected}: a beam group Snn with dataset {dset_name}",
                             f"top-level {sorted(f.keys())[:10]}")
    pol = (polarization or next(iter(beams))).upper()
    if pol not in beams:
        raise InputFileError(path, f"a beam of polarisation {pol}", f"only {list(beams)}")
    group = f[beams[pol]]
    dset = group[dset_name]
    a = _Attrs(path, dset, group, f)

    # --- image dataset: shape, type, storage against the file size
    if dset.ndim != 3 or dset.shape[2] != 2 or dset.shape[0] < 2 or dset.shape[1] < 2:
        raise InputFileError(path, f"{dset.name} of shape (lines >= 2, samples >= 2, 2)", f"shape {dset.shape}")
    if dset.dtype.kind not in "fi" or dset.dtype.itemsize not in (2, 4):
        raise InputFileError(path, f"{dset.name} of float32 or int16 I, Q", f"dtype {dset.dtype}")
    n_l, n_s = int(dset.shape[0]), int(dset.shape[1])
    nbytes = n_l * n_s * 2 * dset.dtype.itemsize
    offset = dset.id.get_offset()
    if dset.chunks is None and offset is None:
        raise InputFileError(path, f"{nbytes} bytes of {dset.name} stored", "no data written")
    if dset.chunks is None and offset + nbytes > size:
        raise InputFileError(path, f"{dset.name} data ({nbytes} bytes from byte {offset}) within the file",
                             f"a file of {size} bytes (truncated)")
    if dset.chunks is not None and dset.compression is None and dset.id.get_storage_size() < nbytes:
        raise InputFileError(path, f"all {nbytes} bytes of {dset.name} stored",
                             f"{dset.id.get_storage_size()} bytes (truncated or unwritten)")

    # --- timing and range grid (the product's own numbers)
    ref = parse_utc(root.text("Reference UTC"), path, "attribute 'Reference UTC'")
    epoch = iso(ref)
    t_first = a.number("Zero Doppler Azimuth First Time")
    t_last = a.number("Zero Doppler Azimuth Last Time")
    dt = a.number("Line Time Interval", positive=True)
    lines_order = a.text("Lines Order", "EARLY-LATE").upper()
    cols_order = a.text("Columns Order", "NEAR-FAR").upper()
    if lines_order not in ("EARLY-LATE", "LATE-EARLY") or cols_order not in ("NEAR-FAR", "FAR-NEAR"):
        raise InputFileError(path, "Lines Order EARLY-LATE or LATE-EARLY and Columns Order NEAR-FAR or FAR-NEAR",
                             f"{lines_order!r}, {cols_order!r}")
    t0, t1 = min(t_first, t_last), max(t_first, t_last)
    if abs((t1 - t0) - (n_l - 1) * dt) > 1.01 * dt:
        raise InputFileError(path, f"Zero Doppler Azimuth First/Last Time {t1 - t0:.9f} s apart = (lines - 1) x "
                             "Line Time Interval", f"{(n_l - 1) * dt:.9f} s for {n_l} lines")
    tau_first = a.number("Zero Doppler Range First Time", positive=True)
    tau_last = a.number("Zero Doppler Range Last Time", positive=True)
    dtau = a.number("Column Time Interval", positive=True)
    tau0 = min(tau_first, tau_last)
    if abs(abs(tau_last - tau_first) - (n_s - 1) * dtau) > 1.01 * dtau:
        raise InputFileError(path, "Zero Doppler Range First/Last Time = (samples - 1) x Column Time Interval apart",
                             f"{abs(tau_last - tau_first):.6e} s vs {(n_s - 1) * dtau:.6e} s")
    spacing = a.number("Column Spacing", default=0.5 * SPEED_OF_LIGHT * dtau, positive=True)
    if abs(spacing / (0.5 * SPEED_OF_LIGHT * dtau) - 1) > 1e-3:
        raise InputFileError(path, "Column Spacing = c/2 x Column Time Interval (slant range)",
                             f"{spacing} m vs {0.5 * SPEED_OF_LIGHT * dtau:.6f} m")

    # --- radar
    freq = a.number("Radar Frequency", positive=True)
    wl = a.number("Radar Wavelength", default=SPEED_OF_LIGHT / freq, positive=True)
    if abs(wl * freq / SPEED_OF_LIGHT - 1) > 1e-3:
        raise InputFileError(path, "Radar Wavelength = c / Radar Frequency", f"{wl} m and {freq} Hz")
    look = look_side(a.text("Look Side"), path, "attribute 'Look Side'")
    prf = a.number("PRF", positive=True)
    if mission == "KMPS" and abs(prf * dt - 1) > 1e-6:
        raise InputFileError(path, "Line Time Interval = 1 / PRF (KOMPSAT-5 Doppler polynomials are scaled by "
                             "PRF x Line Time Interval in ISCE2; other cases are not handled)",
                             f"PRF x Line Time Interval = {prf * dt:.9f}")
    fs = a.number("Sampling Rate", default=1.0 / dtau, positive=True)
    chirp = Chirp(slope_hz_per_s=a.number("Range Chirp Rate"), duration_s=a.number("Range Chirp Length",
                                                                                     positive=True))

    # --- orbit (times after Reference UTC, the scene epoch)
    st = a.array("State Vectors Times")
    pos = a.array("ECEF Satellite Position", (3,))
    vel = a.array("ECEF Satellite Velocity", (3,))
    if not (len(st) == len(pos) == len(vel)) or len(st) < 2:
        raise InputFileError(path, "State Vectors Times, ECEF Satellite Position and Velocity of one length >= 2",
                             f"{len(st)}, {len(pos)}, {len(vel)}")
    if np.any(np.diff(st) <= 0):
        i = int(np.argmax(np.diff(st) <= 0))
        raise InputFileError(path, "strictly increasing State Vectors Times", f"{st[i]} then {st[i + 1]} at {i}")
    orbit = Orbit(epoch, st, pos, vel, source=f"{path}:/ECEF Satellite Position")

    # --- Doppler centroid and FM rate (the product's polynomials)
    t_lines = t0 + dt * np.arange(n_l)
    r_near = 0.5 * SPEED_OF_LIGHT * tau0
    r_samples = r_near + spacing * np.array([0.0, n_s - 1.0])
    tau_ref = a.number("Range Polynomial Reference Time", positive=True)
    extra: dict[str, Any] = {"format": "CSK_FAMILY_SCS_HDF5", "mission_id": mission, "product_type": ptype,
                             "satellite_id": a.text("Satellite ID", ""), "acquisition_mode":
                             a.text("Acquisition Mode", ""), "orbit_direction": a.text("Orbit Direction", ""),
                             "acquisition_prf_hz": prf, "lines_order": lines_order, "columns_order": cols_order,
                             "image_dataset": dset.name, "polarizations": list(beams),
                             "range_polynomial_reference_time_s": tau_ref}
    if mission == "CSG":
        dc_rg = _poly(a, "Doppler Centroid vs Range Time Polynomial", default=np.zeros(1)) or [0.0]
        dc_az = None
        raw_az = _poly(a, "Doppler Centroid vs Azimuth Time Polynomial - RAW")
        if raw_az is not None:
            extra["doppler_centroid_vs_raw_azimuth_time"] = raw_az
        t_ref = 0.0
    else:
        dc_rg = _poly(a, "Centroid vs Range Time Polynomial", default=np.zeros(1)) or [0.0]
        dc_az = _poly(a, "Centroid vs Azimuth Time Polynomial")
        t_ref = a.number("Azimuth Polynomial Reference Time", default=0.0 if dc_az is None else None)
        extra["azimuth_polynomial_reference_time_s"] = t_ref
    rate_rg = _poly(a, "Doppler Rate vs Range Time Polynomial")
    rate_az = _poly(a, "Doppler Rate vs Azimuth Time Polynomial") if mission != "CSG" else None
    doppler = _model(dc_rg, dc_az, tau_ref, t_ref, t_lines[[0, -1]], r_samples) if dc_rg else Poly1D()
    fm = _model(rate_rg, rate_az, tau_ref, t_ref, t_lines[[0, -1]], r_samples) if rate_rg else None
    extra["doppler_source"] = ("Centroid vs Range (+ Azimuth) Time Polynomial: Hz, in two-way range time - Range "
                               "Polynomial Reference Time (s) and azimuth time - Azimuth Polynomial Reference Time")
    speed = float(np.linalg.norm(orbit.interpolate(np.array([t_lines[n_l // 2]]), check=False)[1][0]))
    meta = RadarMetadata(
        sensor=sensor, platform=extra["satellite_id"] or mission, mode=extra["acquisition_mode"], polarization=pol,
        level="slc", epoch=epoch, wavelength_m=wl, prf_hz=1.0 / dt, range_sampling_rate_hz=fs,
        azimuth_line_interval_s=dt, range_pixel_spacing_m=spacing, look_side=look, grid="zero_doppler",
        doppler_centroid=doppler, azimuth_fm_rate=fm, chirp=chirp,
        range_bandwidth_hz=a.number("Range Focusing Bandwidth", default=0.0) or None,
        azimuth_bandwidth_hz=a.number("Azimuth Focusing Bandwidth", default=0.0) or None,
        platform_velocity_mps=speed, source_files=[path], extra=extra)
    window = H5PairWindow(path, dset.name, (n_l, n_s), flip_rows=lines_order == "LATE-EARLY",
                          flip_cols=cols_order == "FAR-NEAR")
    slc = lazy_image(window, chunks, f"read-{sensor.lower()}-h5", dset.name)
    coords = radar_grid_coords(t0, dt, n_l, r_near, spacing, n_s)
    ds = xr.Dataset({"slc": (("azimuth", "range"), slc, {"units": "1", "description": f"{pol} SLC ({ptype})"})},
                    coords=coords)
    ds["azimuth_time"].attrs.update(units="s", description=f"zero-Doppler time after {epoch} UTC")
    ds["slant_range"].attrs.update(units="m")
    return Scene(ds, meta, orbit, {"source_format": extra["format"]})


def read_csk(path: str, *, polarization: str | None = None, chunks: tuple[int, int] | int | None = None) -> Scene:
    """Read a COSMO-SkyMed (CSK SCS_A/SCS_B or CSG SCS) HDF5 product into a lazy :class:`Scene`.

    Parameters
    ----------
    path : the ``.h5`` file.
    polarization : e.g. "HH"; default the first beam group's.
    chunks : dask chunks (lines, samples); default 1024 x 1024.
    """
    return read_csk_family(path, ("CSK", "CSG"), polarization=polarization, chunks=chunks)


READER = ReaderInfo(
    name="COSMO_SKYMED",
    description="COSMO-SkyMed level-1A SCS_A/SCS_B and CSG SCS (HDF5), zero-Doppler SLC",
    sniff=sniff_csk,
    read=read_csk,
    levels=("slc",),
    tested_on_real_data=False,
    aliases=("COSMO_SKYMED_SLC", "CSK", "CSG", "COSMO-SKYMED"),
)
