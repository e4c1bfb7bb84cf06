"""Write a daskinsar SLC scene as a COSMO-SkyMed level-1A SCS HDF5 product (first generation
SCS_B with ``/S01/SBI``, or second generation CSG with ``/S01/IMG``); the KOMPSAT-5 writer
(:mod:`.kompsat5`) shares :func:`write_csk_family`.

The file carries the attribute tree of a real product (root: mission, satellite, product type,
mode, look side, radar frequency and wavelength, Reference UTC at midnight, sensing start/stop,
state vectors as times after Reference UTC with ECEF positions and velocities, projection,
line/column order, Doppler centroid and Doppler-rate polynomials in two-way range time and in
azimuth time with their reference times; beam group: polarisation, PRF, sampling rate, chirp rate
and length, focusing bandwidths; image dataset: zero-Doppler first/last azimuth and range times,
line and column time intervals and spacings, corner coordinates and incidence angles). Values
come from the scene; the Doppler rate is the zero-Doppler FM rate from the orbit. Pixels are
written as float32 I/Q (exact) or int16 digital numbers (``dtype="int16"``, scale in the root
attribute ``Rescaling Factor``), one row-chunk slab at a time.
"""

from __future__ import annotations

import os

import numpy as np

from ...errors import DaskInsarError
from ...geometry.ellipsoid import SPEED_OF_LIGHT
from ...geometry.orbit import parse_utc
from ...scene import Scene
from ._common import corner_points, dn_scale, doppler_poly, fm_rate_poly, grid_of, row_blocks, slc_array, utc, utc_text

__all__ = ["write_csk", "write_csk_family"]

_N_COEFFS = 6


def _b(s: str) -> np.bytes_:
    return np.bytes_(s)


def _pad(coeffs: list[float]) -> np.ndarray:
    out = np.zeros(_N_COEFFS)
    out[:len(coeffs)] = coeffs
    return out


def write_csk_family(scene: Scene, path: str, *, mission: str, satellite: str, product_type: str, mode: str,
                     beam: str, dtype: str = "float32", rms_dn: float = 150.0) -> str:
    """Write ``scene`` as an HDF5 product of Mission ID ``mission`` ("CSK", "CSG" or "KMPS"); returns ``path``."""
    import h5py

    if mission not in ("CSK", "CSG", "KMPS"):
        raise DaskInsarError(f"write_csk_family: unknown mission {mission!r}")
    if dtype not in ("float32", "int16"):
        raise DaskInsarError(f"write_csk_family: dtype must be float32 or int16, got {dtype!r}")
    g = grid_of(scene, f"{mission} SCS")
    m = scene.meta
    if m.chirp is None:
        raise DaskInsarError(f"{mission} SCS: the scene has no chirp (Range Chirp Rate and Length are needed)")
    pol = (m.polarization or "HH").upper()
    first = utc(g.epoch, g.t0_s)
    midnight = first.astype("datetime64[D]").astype("datetime64[ns]")
    shift = float((parse_utc(g.epoch) - midnight) / np.timedelta64(1, "ns")) * 1e-9  # scene epoch after midnight (s)
    t_first, t_last = shift + g.t0_s, shift + g.time(g.n_az - 1)
    t_mid = shift + g.time((g.n_az - 1) / 2)
    tau_first = g.tau0_s
    tau_last = g.tau0_s + (g.n_rg - 1) * g.dtau_s
    slc = slc_array(scene)
    scale = dn_scale(slc, rms_dn) if dtype == "int16" else 1.0
    orbit = scene.orbit.shift_epoch(g.epoch) if scene.orbit.epoch != g.epoch else scene.orbit
    corners = corner_points(scene, g)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with h5py.File(path, "w") as f:
        r = f.attrs
        r["Mission ID"] = _b(mission)
        r["Satellite ID"] = _b(satellite)
        r["Product Type"] = _b(product_type)
        r["Product Filename"] = _b(os.path.basename(path))
        r["Acquisition Mode"] = _b(mode)
        r["Multi-Beam ID"] = _b(beam)
        r["Look Side"] = _b(m.look_side.upper())
        r["Radar Frequency"] = SPEED_OF_LIGHT / m.wavelength_m
        r["Radar Wavelength"] = m.wavelength_m
        r["Reference UTC"] = _b(utc_text(midnight, 9, " "))
        r["Scene Sensing Start UTC"] = _b(utc_text(first, 9, " "))
        r["Scene Sensing Stop UTC"] = _b(utc_text(utc(g.epoch, g.time(g.n_az - 1)), 9, " "))
        r["Number of State Vectors"] = np.int32(len(orbit.time))
        r["State Vectors Times"] = orbit.time + shift
        r["ECEF Satellite Position"] = orbit.position
        r["ECEF Satellite Velocity"] = orbit.velocity
        r["Orbit Direction"] = _b("ASCENDING" if orbit.interpolate(np.array([g.t0_s]))[1][0][2] > 0 else "DESCENDING")
        r["Projection ID"] = _b("SLANT RANGE/AZIMUTH")
        r["Ellipsoid Designator"] = _b("WGS84")
        r["Lines Order"] = _b("EARLY-LATE")
        r["Columns Order"] = _b("NEAR-FAR")
        r["Processing Centre"] = _b("daskinsar simulator")
        r["Product Generation UTC"] = _b(utc_text(first, 9, " "))
        r["L0 Software Version"] = _b("simulated")
        r["L1A Software Version"] = _b("simulated")
        r["Antenna Length"] = 5.7
        r["Range Focusing Weighting Function"] = _b("HAMMING")
        r["Range Focusing Weighting Coefficient"] = 1.0
        r["Azimuth Focusing Weighting Function"] = _b("HAMMING")
        r["Azimuth Focusing Weighting Coefficient"] = 1.0
        r["Range Spreading Loss Compensation Geometry"] = _b("NONE")
        r["Rescaling Factor"] = scale
        tau_ref, dc = doppler_poly(scene, g, g.time((g.n_az - 1) / 2))
        _, ka = fm_rate_poly(scene, g, g.time((g.n_az - 1) / 2))
        _, ka0 = fm_rate_poly(scene, g, g.t0_s)
        ka_rate = (ka[0] - ka0[0]) / (t_mid - t_first)
        polys = {"Doppler Rate vs Range Time Polynomial": _pad(ka)}
        if mission == "CSG":
            lat, lon, h, _ = corners["mid_mid"]
            r["Scene Centre Geodetic Coordinates"] = np.array([lat, lon, h])
        else:
            r["Centroid vs Range Time Polynomial"] = _pad(dc)
            r["Centroid vs Azimuth Time Polynomial"] = _pad([dc[0]])
            r["Range Polynomial Reference Time"] = tau_ref
            r["Azimuth Polynomial Reference Time"] = t_mid
            r["Doppler Rate vs Azimuth Time Polynomial"] = _pad([ka[0], ka_rate])
            for k, v in polys.items():
                r[k] = v
        grp = f.create_group("S01")
        grp.attrs["Polarisation"] = _b(pol)
        grp.attrs["Beam ID"] = _b(beam)
        grp.attrs["PRF"] = m.prf_hz
        grp.attrs["Sampling Rate"] = 1.0 / g.dtau_s
        grp.attrs["Range Chirp Rate"] = m.chirp.slope_hz_per_s
        grp.attrs["Range Chirp Length"] = m.chirp.duration_s
        grp.attrs["Echo Sampling Window Length"] = np.int32(g.n_rg)
        if m.range_bandwidth_hz:
            grp.attrs["Range Focusing Bandwidth"] = m.range_bandwidth_hz
        if m.azimuth_bandwidth_hz:
            grp.attrs["Azimuth Focusing Bandwidth"] = m.azimuth_bandwidth_hz
            grp.attrs["Azimuth Focusing Transition Bandwidth"] = m.azimuth_bandwidth_hz
        if mission == "CSG":
            grp.attrs["Doppler Centroid vs Range Time Polynomial"] = _pad(dc)
            grp.attrs["Range Polynomial Reference Time"] = tau_ref
            for k, v in polys.items():
                grp.attrs[k] = v
        name = "IMG" if mission == "CSG" else "SBI"
        ds = grp.create_dataset(name, shape=(g.n_az, g.n_rg, 2), dtype=np.dtype(dtype).newbyteorder(">"),
                                chunks=(min(g.n_az, 256), min(g.n_rg, 256), 2))
        a = ds.attrs
        a["Zero Doppler Azimuth First Time"] = t_first
        a["Zero Doppler Azimuth Last Time"] = t_last
        a["Line Time Interval"] = g.dt_s
        a["Zero Doppler Range First Time"] = tau_first
        a["Zero Doppler Range Last Time"] = tau_last
        a["Column Time Interval"] = g.dtau_s
        a["Column Spacing"] = g.dr_m
        speed = float(np.linalg.norm(orbit.interpolate(np.array([g.t0_s]))[1][0]))
        a["Line Spacing"] = 0.88 * speed * g.dt_s  # about ground speed x line interval
        for key, label in (("first_near", "Top Left"), ("first_far", "Top Right"), ("last_near", "Bottom Left"),
                           ("last_far", "Bottom Right")):
            lat, lon, h, _ = corners[key]
            a[f"{label} Geodetic Coordinates"] = np.array([lat, lon, h])
        a["Centre Geodetic Coordinates"] = np.array(corners["mid_mid"][:3])
        a["Near Incidence Angle"] = corners["first_near"][3]
        a["Far Incidence Angle"] = corners["first_far"][3]
        for r0, r1, block in row_blocks(slc):
            z = block.astype(np.complex128) * scale  # float64 product, rounded half to even
            iq = np.stack([z.real, z.imag], axis=-1)
            if dtype == "int16":
                iq = np.clip(np.round(iq), -32767, 32767)
            ds[r0:r1] = iq.astype(ds.dtype)
    return str(path)


def write_csk(scene: Scene, path: str, *, generation: int = 1, dtype: str = "float32", rms_dn: float = 150.0) -> str:
    """Write ``scene`` as a COSMO-SkyMed SCS product at ``path`` (``.h5``): ``generation`` 1
    (CSK SCS_B, ``/S01/SBI``) or 2 (CSG SCS_U, ``/S01/IMG``). Returns ``path``."""
    if generation == 1:
        return write_csk_family(scene, path, mission="CSK", satellite="CSKS2", product_type="SCS_B", mode="HIMAGE",
                                beam="H4-03", dtype=dtype, rms_dn=rms_dn)
    if generation == 2:
        return write_csk_family(scene, path, mission="CSG", satellite="CSG1", product_type="SCS_U",
                                mode="STRIPMAP", beam="S2-09", dtype=dtype, rms_dn=rms_dn)
    raise DaskInsarError(f"write_csk: generation must be 1 or 2, got {generation!r}")
