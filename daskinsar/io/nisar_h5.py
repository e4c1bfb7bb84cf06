"""Reader for NISAR RSLC HDF5 products (and UAVSAR data delivered in that layout).

Layout read (NISAR L1 RSLC product specification; early sample products name the
product group ``SLC`` instead of ``RSLC``, both are accepted)::

    /science/<band>/identification/            missionId, lookDirection, ...
    /science/<band>/<RSLC|SLC>/swaths/
        zeroDopplerTime         (n_az,)  s since the epoch in its ``units`` attribute
        zeroDopplerTimeSpacing  ()       s
        frequencyA/
            HH, HV, ...         (n_az, n_rg) complex64 (or complex32 = {r, i} float16)
            slantRange          (n_rg,)  m
            slantRangeSpacing   ()       m
            processedCenterFrequency, processedRangeBandwidth,
            processedAzimuthBandwidth, nominalAcquisitionPRF, listOfPolarizations
    /science/<band>/<RSLC|SLC>/metadata/
        orbit/                  time (s since its own epoch), position (m), velocity (m/s), ECEF
        processingInformation/parameters/
            zeroDopplerTime, slantRange           axes of the 2-D LUTs (own epoch)
            frequencyA/dopplerCentroid (Hz, required), frequencyA/azimuthFMRate (Hz/s, optional)

where ``<band>`` is ``LSAR`` or ``SSAR``.

Conventions of the returned :class:`~daskinsar.scene.Scene`:

- the scene epoch is the one in ``swaths/zeroDopplerTime``'s ``units`` attribute
  ("seconds since YYYY-MM-DD HH:MM:SS"); ``azimuth_time`` is that dataset's values
  (s since the epoch) and ``slant_range`` the frequency's ``slantRange`` values (m),
  both used verbatim (the files' own coordinate arrays are authoritative; the
  spacing attributes are checked against them);
- every other time axis (orbit, LUTs) is converted from its own epoch to the scene
  epoch;
- the grid is zero Doppler as the layout's names say, unless the file's own geolocation grid
  shows its nodes look at the Doppler centroid instead (then ``grid="native_doppler"`` with the
  centroid LUT as ``grid_doppler``); points at neither Doppler are refused
  (:func:`grid_from_geolocation`); ``meta.extra["grid_evidence"]`` says what decided;
- ``prf_hz`` is the sampling rate of the azimuth grid, ``1 / zeroDopplerTimeSpacing``
  (the acquisition PRF ``nominalAcquisitionPRF`` is kept in ``meta.extra``);
  ``range_sampling_rate_hz = c / (2 * slantRangeSpacing)``;
- sizes before values: the axes must be as long as the image, the image's bytes stored in the file,
  and no metadata dataset may declare more than the file can hold (checked before it is read);
  ``processedCenterFrequency`` and the Doppler centroid LUT are required (never replaced);
- the SLC is read lazily: each dask task opens the HDF5 file by path, reads its
  window and closes the file (no h5py object is ever pickled), so the graph runs on
  distributed workers that see the same path.
"""

from __future__ import annotations

import os
import re
import warnings
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
from dask.base import tokenize

from ..errors import InputFileError
from ..geometry.ellipsoid import SPEED_OF_LIGHT
from ..geometry.orbit import Orbit, seconds_between
from ..scene import LUT2D, RadarMetadata, Scene
from ._files import describe, h5_check_image, h5_values, input_file
from .readers import ReaderInfo

__all__ = ["read_nisar_rslc", "sniff_nisar_rslc", "find_rslc_group", "parse_time_units", "H5Window"]

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_EXPECTED = "a NISAR RSLC HDF5 product (/science/LSAR|SSAR/RSLC or SLC group)"
_TIME_UNITS = re.compile(
    r"seconds\s+since\s+(\d{4}-\d{2}-\d{2})(?:[T ]+(\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?", re.IGNORECASE)
DEFAULT_CHUNK = (1024, 1024)


# ----------------------------------------------------------------------------- helpers
def _has_hdf5_signature(path: str) -> bool:
    """True if the HDF5 signature sits at offset 0 or at a user-block offset (512 * 2**k)."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            offset = 0
            while offset + 8 <= size:
                fh.seek(offset)
                if fh.read(8) == HDF5_SIGNATURE:
                    return True
                offset = 512 if offset == 0 else offset * 2
                if offset > 1 << 24:
                    break
    except OSError:
        return False
    return False


def _text(value) -> str:
    """An HDF5 string (bytes, numpy bytes, 0-d array or 1-element array) as str."""
    a = np.asarray(value)
    v: Any = (a.reshape(-1)[0] if a.size else "") if a.ndim > 0 else a
    v = v.item() if isinstance(v, np.ndarray) else v
    if isinstance(v, (bytes, np.bytes_)):
        v = bytes(v).decode("utf-8", errors="replace")
    return str(v).strip().strip("\x00").strip()


def parse_time_units(units, path: str = "", what: str = "") -> str:
    """The epoch of a CF-style "seconds since YYYY-MM-DD HH:MM:SS[.f]" attribute, as ISO-8601 UTC."""
    s = _text(units)
    m = _TIME_UNITS.search(s)
    if not m:
        raise InputFileError(path, f"a 'units' attribute 'seconds since YYYY-MM-DD HH:MM:SS' on {what}",
                             repr(s) if s else "none")
    date, clock = m.group(1), m.group(2) or "00:00:00"
    if clock.count(":") == 1:
        clock += ":00"
    hh, rest = clock.split(":", 1)
    iso = f"{date}T{int(hh):02d}:{rest}"
    try:
        np.datetime64(iso, "ns")
    except ValueError:
        raise InputFileError(path, f"a valid epoch in the units of {what}", repr(s)) from None
    return iso


def find_rslc_group(h5, band: str | None = None) -> str | None:
    """Path of the RSLC product group (``/science/<band>/RSLC`` or ``.../SLC``) or None."""
    sci = h5.get("science")
    if sci is None or not hasattr(sci, "keys"):
        return None
    bands = [band] if band else sorted(sci.keys())
    for b in bands:
        g = sci.get(b)
        if g is None or not hasattr(g, "keys"):
            continue
        for name in ("RSLC", "SLC"):
            p = g.get(name)
            if p is not None and hasattr(p, "keys") and "swaths" in p:
                return p.name
    return None


def sniff_nisar_rslc(path: str) -> bool:
    """Cheap test: HDF5 signature and a /science/*/RSLC|SLC group with swaths. Never raises."""
    try:
        if not os.path.isfile(path) or not _has_hdf5_signature(path):
            return False
        import h5py

        with h5py.File(path, "r") as f:
            return find_rslc_group(f) is not None
    except Exception:
        return False


def _open(path: str):
    import h5py

    input_file(path, _EXPECTED)
    if not _has_hdf5_signature(path):
        raise InputFileError(path, _EXPECTED, "a file without the HDF5 signature (not HDF5)")
    try:
        return h5py.File(path, "r")
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputFileError(path, "a complete, readable HDF5 file",
                             f"an HDF5 file that cannot be opened, probably truncated ({msg})") from None


def _dataset(group, rel: str, path: str):
    obj = group.get(rel)
    if obj is None or not hasattr(obj, "shape"):
        raise InputFileError(path, f"dataset {group.name}/{rel} of {_EXPECTED}", "it is missing")
    return obj


def _scalar(group, rel: str, path: str, default=None):
    obj = group.get(rel)
    if obj is None:
        if default is not None:
            return default
        raise InputFileError(path, f"dataset {group.name}/{rel} of {_EXPECTED}", "it is missing")
    if not hasattr(obj, "shape") or obj.size != 1:
        raise InputFileError(path, f"a number in {group.name}/{rel}", f"shape {getattr(obj, 'shape', 'a group')}")
    try:
        return float(np.asarray(obj[()]).reshape(-1)[0])
    except (TypeError, ValueError):
        raise InputFileError(path, f"a number in {group.name}/{rel}", repr(obj[()])[:60]) from None


def _values(dset, path: str) -> np.ndarray:
    """A metadata dataset's values as float64, its declared size checked against the file first."""
    return np.asarray(h5_values(dset, path, os.path.getsize(path)), dtype=np.float64)


def _times(dset, epoch: str, path: str) -> np.ndarray:
    """A time dataset converted from its own epoch (units attribute) to ``epoch`` (s)."""
    own = parse_time_units(dset.attrs.get("units", ""), path, dset.name)
    t = _values(dset, path).reshape(-1)
    return t + seconds_between(epoch, own)


def _decimation_index(n: int, max_nodes: int | None) -> np.ndarray:
    if max_nodes is None or n <= max_nodes:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, max_nodes)).astype(int))


def _regular(x: np.ndarray) -> bool:
    d = np.diff(x)
    return len(x) < 3 or bool(np.max(np.abs(d - d[0])) <= 1e-6 * abs(d[0]))


def _read_lut(params, rel: str, epoch: str, path: str, max_nodes: int | None) -> LUT2D | None:
    """A 2-D LUT on the processingInformation/parameters (zeroDopplerTime, slantRange) axes, every node kept
    and interpolated biquintic as ISCE3 does (bilinear when an axis is irregular). ``max_nodes`` thins it
    to at most that many nodes per axis and warns with the largest error that makes at the dropped nodes."""
    obj = params.get(rel)
    if obj is None:
        return None
    for axis in ("zeroDopplerTime", "slantRange"):
        if axis not in params:
            raise InputFileError(path, f"the {params.name}/{axis} axis of {obj.name}", "it is missing")
    if obj.shape != params["zeroDopplerTime"].shape + params["slantRange"].shape:
        raise InputFileError(path, f"{obj.name} of shape (len(zeroDopplerTime), len(slantRange)) = "
                                   f"{params['zeroDopplerTime'].shape + params['slantRange'].shape}", str(obj.shape))
    t = _times(params["zeroDopplerTime"], epoch, path)
    r = _values(params["slantRange"], path).reshape(-1)
    v = _values(obj, path)
    if v.shape != (len(t), len(r)):
        raise InputFileError(path, f"{obj.name} of shape (len(zeroDopplerTime), len(slantRange)) = "
                                   f"{(len(t), len(r))}", str(v.shape))
    finite = np.isfinite(v)
    if not finite.any():
        raise InputFileError(path, f"finite values in {obj.name}", "none")
    if not finite.all():  # no-data nodes take the nearest valid node along range, said aloud
        n_bad = int((~finite).sum())
        idx = np.where(finite, np.arange(v.shape[1])[None, :], -1)
        for i in range(v.shape[0]):
            ok = idx[i][idx[i] >= 0]
            if ok.size == 0:
                raise InputFileError(path, f"at least one finite value per line of {obj.name}", f"none on line {i}")
            v[i] = v[i][ok[np.clip(np.searchsorted(ok, np.arange(v.shape[1])), 0, ok.size - 1)]]
        warnings.warn(f"{path}: {obj.name}: {n_bad} NaN nodes of {v.size} replaced by the nearest valid node "
                      "along range", stacklevel=3)
    method = "biquintic" if _regular(t) and _regular(r) and min(len(t), len(r)) >= 2 else "bilinear"
    full = LUT2D(azimuth_time=t.tolist(), slant_range=r.tolist(), values=v.tolist(), method=method)
    if max_nodes is None:
        return full
    it, ir = _decimation_index(len(t), max_nodes), _decimation_index(len(r), max_nodes)
    thin = LUT2D(azimuth_time=t[it].tolist(), slant_range=r[ir].tolist(), values=v[np.ix_(it, ir)].tolist(),
                 method=method)
    tt, rr = np.meshgrid(t, r, indexing="ij")
    err = float(np.max(np.abs(thin(tt, rr) - v)))
    warnings.warn(f"{path}: {obj.name} thinned to {len(it)} x {len(ir)} nodes (lut_max_nodes={max_nodes}): "
                  f"largest error at the file's nodes {err:.3g} (its units)", stacklevel=3)
    return thin


GRID_DOPPLER_TOLERANCE_HZ = 1.0
"""How close (Hz) the Doppler of the geolocation grid's ground points must come to 0 (a zero-Doppler
grid) or to the file's Doppler centroid (a native-Doppler grid)."""


def grid_from_geolocation(meta_grp, orbit: Orbit, doppler: LUT2D | None, wavelength_m: float, epoch: str,
                          path: str) -> tuple[str, str]:
    """Which Doppler the image grid is on, from the file's own geolocation grid.

    The layout names the azimuth axis ``zeroDopplerTime`` and ISCE3 treats the grid as zero Doppler;
    a processor that focused to a native-Doppler grid writes the same names. The
    ``metadata/geolocationGrid`` cube settles it: its ground points (``coordinateX``/``coordinateY`` in
    its ``epsg``, at ``heightAboveEllipsoid``) are where each (time, range) node looks, so their Doppler
    ``2 v.(x - p) / (wavelength R)`` is 0 on a zero-Doppler grid and the Doppler centroid on a native one.

    Returns ``(grid, evidence)``: ``grid`` is "zero_doppler" or "native_doppler"; ``evidence`` says
    what decided it. Without a usable cube the layout's zero Doppler is taken (and the evidence says
    so). Raises :class:`InputFileError` when the points are at neither Doppler.
    """
    from pyproj import CRS, Transformer

    from ..geometry.ellipsoid import llh_to_ecef

    g = meta_grp.get("geolocationGrid") if meta_grp is not None else None
    needed = ("coordinateX", "coordinateY", "heightAboveEllipsoid", "zeroDopplerTime", "slantRange", "epsg")
    if g is None or any(k not in g for k in needed):
        return "zero_doppler", "the layout's zeroDopplerTime axis (no geolocation grid cube to check it)"
    cube = g["heightAboveEllipsoid"].shape + g["zeroDopplerTime"].shape + g["slantRange"].shape
    if g["coordinateX"].shape != cube or g["coordinateY"].shape != cube:
        raise InputFileError(path, f"{g.name}/coordinateX and coordinateY of shape (heights, times, ranges) = "
                                   f"{cube}", f"{g['coordinateX'].shape} and {g['coordinateY'].shape}")
    t = _times(g["zeroDopplerTime"], epoch, path)
    r = _values(g["slantRange"], path).reshape(-1)
    h = _values(g["heightAboveEllipsoid"], path).reshape(-1)
    gx, gy = _values(g["coordinateX"], path), _values(g["coordinateY"], path)
    try:
        crs = CRS.from_epsg(int(np.asarray(g["epsg"][()]).reshape(-1)[0]))
    except Exception as exc:  # pyproj raises its own CRSError for unknown codes
        raise InputFileError(path, f"{g.name}/epsg a known EPSG code", str(exc)) from None
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(gx, gy)
    hh = np.broadcast_to(h[:, None, None], gx.shape)
    tt = np.broadcast_to(t[None, :, None], gx.shape)
    ok = np.isfinite(lon) & np.isfinite(lat) & (tt >= orbit.start) & (tt <= orbit.stop)
    if not ok.any():
        return "zero_doppler", "the layout's zeroDopplerTime axis (its geolocation grid is outside the orbit)"
    xyz = llh_to_ecef(lon[ok], lat[ok], hh[ok])
    pos, vel = orbit.interpolate(tt[ok])
    look = xyz - pos
    rng = np.linalg.norm(look, axis=-1)
    f_points = 2.0 * np.einsum("ij,ij->i", vel, look) / (wavelength_m * rng)
    rr = np.broadcast_to(r[None, None, :], gx.shape)[ok]
    if np.max(np.abs(rng - rr)) > 1.0:
        raise InputFileError(path, f"{g.name} ground points at their slantRange from the orbit (within 1 m)",
                             f"up to {np.max(np.abs(rng - rr)):.3g} m off")
    zero = float(np.max(np.abs(f_points)))
    if zero < GRID_DOPPLER_TOLERANCE_HZ:
        return "zero_doppler", f"geolocation grid at zero Doppler (largest {zero:.2g} Hz over {ok.sum()} points)"
    if doppler is not None:
        native = float(np.max(np.abs(f_points - doppler(tt[ok], rr))))
        if native < GRID_DOPPLER_TOLERANCE_HZ:
            return "native_doppler", (f"geolocation grid at the Doppler centroid (within {native:.2g} Hz over "
                                      f"{ok.sum()} points)")
    raise InputFileError(path, f"{g.name} ground points at zero Doppler or at the file's dopplerCentroid "
                               f"(within {GRID_DOPPLER_TOLERANCE_HZ:g} Hz)",
                         f"Doppler from {np.min(f_points):.4g} to {np.max(f_points):.4g} Hz")


def _choose_chunks(shape: tuple[int, int], h5_chunks: tuple[int, int] | None,
                   target: tuple[int, int] = DEFAULT_CHUNK) -> tuple[int, int]:
    """Dask chunks: whole multiples of the HDF5 chunks near ``target``, else ``target``."""
    out = []
    for n, t, c in zip(shape, target, h5_chunks or (None, None)):
        if c:
            k = max(1, int(round(t / c)))
            out.append(min(n, k * c))
        else:
            out.append(min(n, t))
    return max(out[0], 1), max(out[1], 1)


class H5Window:
    """A picklable, lazily read HDF5 dataset: holds only the file path and dataset name.

    ``window[key]`` opens the file, reads the slice, closes the file; a ``complex32``
    compound (``r``, ``i`` float16) is returned as complex64.
    """

    def __init__(self, path: str, name: str, shape: tuple[int, ...], dtype=np.complex64,
                 compound: bool = False):
        self.path = str(path)
        self.name = name
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.ndim = len(self.shape)
        self.compound = compound

    def __getitem__(self, key):
        import h5py

        try:
            with h5py.File(self.path, "r") as f:
                block = f[self.name][key]
        except Exception as exc:
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputFileError(self.path, f"readable dataset {self.name}", f"a read error ({msg})") from None
        if self.compound:
            out = np.empty(block.shape, self.dtype)
            out.real = block["r"]
            out.imag = block["i"]
            return out
        return np.asarray(block, dtype=self.dtype)


def _sensor_name(mission: str) -> str:
    m = mission.upper()
    if "UAVSAR" in m:
        return "UAVSAR"
    if "NISAR" in m or not m:
        return "NISAR"
    return mission


# ----------------------------------------------------------------------------- reader
def read_nisar_rslc(path: str, *, frequency: str = "A", polarization: str | None = None,
                    band: str | None = None, chunks: tuple[int, int] | None = None,
                    lut_max_nodes: int | None = None) -> Scene:
    """Read a NISAR (or UAVSAR) RSLC HDF5 product into a lazy :class:`Scene`.

    Parameters
    ----------
    path : the ``.h5`` file.
    frequency : "A" (default) or "B" (also accepted: "frequencyA").
    polarization : e.g. "HH"; default the first of the frequency's ``listOfPolarizations``.
    band : "LSAR" or "SSAR"; default the first band holding an RSLC group.
    chunks : dask chunks (azimuth, range); default whole multiples of the HDF5
        chunking near 1024 x 1024 (or 1024 x 1024 for contiguous datasets).
    lut_max_nodes : None (default) keeps the Doppler centroid and azimuth FM-rate LUTs whole
        (biquintic between their nodes, as ISCE3); a number thins them to at most that many nodes
        per axis and warns with the largest error that makes at the file's nodes.

    Returns
    -------
    Scene with ``slc`` (complex64, dask), coords ``azimuth_time`` (s since
    ``meta.epoch``) and ``slant_range`` (m), RadarMetadata and the orbit on the scene
    epoch. Bad input raises :class:`InputFileError` naming the file.
    """
    path = os.path.abspath(str(path))
    f = _open(path)
    try:
        try:
            return _read(f, path, frequency, polarization, band, chunks, lut_max_nodes)
        except InputFileError:
            raise
        except Exception as exc:  # corrupt content deeper in the file
            raise InputFileError(path, _EXPECTED, f"unreadable content ({describe(exc)})") from None
    finally:
        f.close()


def _read(f, path, frequency, polarization, band, chunks, lut_max_nodes) -> Scene:
    prod_path = find_rslc_group(f, band)
    if prod_path is None:
        if "science" not in f or not hasattr(f["science"], "keys"):
            found = f"no /science group (top level: {sorted(f.keys())[:10]})"
        else:
            groups = [f"/science/{b}/{k}" for b in sorted(f["science"].keys())
                      if hasattr(f["science"][b], "keys") for k in sorted(f["science"][b].keys())]
            found = f"only {groups[:10]} (no RSLC/SLC group with swaths)"
        raise InputFileError(path, _EXPECTED + (f" in band {band}" if band else ""), found)
    prod = f[prod_path]
    band_name = prod_path.split("/")[2]
    ident = f[f"/science/{band_name}"].get("identification")

    freq = str(frequency).replace("frequency", "").upper()
    swaths = prod["swaths"]
    fgrp = swaths.get(f"frequency{freq}")
    if fgrp is None:
        have = sorted(k for k in swaths.keys() if k.startswith("frequency"))
        raise InputFileError(path, f"group {swaths.name}/frequency{freq}", f"only {have}")

    pols = [_text(p) for p in np.asarray(fgrp["listOfPolarizations"][()]).reshape(-1)] \
        if "listOfPolarizations" in fgrp else []
    pols = [p for p in pols if p] or sorted(k for k in fgrp.keys() if re.fullmatch(r"[HVLR][HV]", k))
    if polarization is None:
        if not pols:
            raise InputFileError(path, f"a polarisation layer in {fgrp.name}", "none")
        polarization = pols[0]
    polarization = polarization.upper()
    slc_ds = fgrp.get(polarization)
    if slc_ds is None or not hasattr(slc_ds, "shape"):
        raise InputFileError(path, f"polarisation layer {fgrp.name}/{polarization}", f"only {pols}")

    # --- grid coordinates
    t_ds = _dataset(swaths, "zeroDopplerTime", path)
    r_ds = _dataset(fgrp, "slantRange", path)
    epoch = parse_time_units(t_ds.attrs.get("units", ""), path, t_ds.name)
    # shapes before values: the axes as long as the image, the image stored in the file
    if slc_ds.ndim != 2 or slc_ds.shape != t_ds.shape + r_ds.shape:
        raise InputFileError(path, f"{slc_ds.name} of shape (len(zeroDopplerTime), len(slantRange)) = "
                             f"{t_ds.shape + r_ds.shape}", f"shape {slc_ds.shape}")
    h5_check_image(slc_ds, path, os.path.getsize(path))
    azimuth_time = _values(t_ds, path).reshape(-1)
    slant_range = _values(r_ds, path).reshape(-1)
    if len(azimuth_time) < 1 or len(slant_range) < 1:
        raise InputFileError(path, f"a non-empty image in {slc_ds.name}", f"shape {slc_ds.shape}")

    dt = _scalar(swaths, "zeroDopplerTimeSpacing", path,
                 default=float(np.median(np.diff(azimuth_time))) if len(azimuth_time) > 1 else None)
    dr = _scalar(fgrp, "slantRangeSpacing", path,
                 default=float(np.median(np.diff(slant_range))) if len(slant_range) > 1 else None)
    if len(azimuth_time) > 1 and abs(np.median(np.diff(azimuth_time)) - dt) > 1e-6 * abs(dt):
        warnings.warn(f"{path}: zeroDopplerTimeSpacing {dt} differs from the zeroDopplerTime steps "
                      f"{np.median(np.diff(azimuth_time))}; using the time array", stacklevel=3)
    if len(slant_range) > 1 and abs(np.median(np.diff(slant_range)) - dr) > 1e-6 * abs(dr):
        warnings.warn(f"{path}: slantRangeSpacing {dr} differs from the slantRange steps "
                      f"{np.median(np.diff(slant_range))}; using the slant range array", stacklevel=3)

    # --- dtype
    compound = slc_ds.dtype.names is not None
    if compound:
        if not {"r", "i"} <= set(slc_ds.dtype.names):
            raise InputFileError(path, f"{slc_ds.name} complex (or a compound of r, i)", f"dtype {slc_ds.dtype}")
    elif not np.issubdtype(slc_ds.dtype, np.complexfloating):
        raise InputFileError(path, f"{slc_ds.name} complex", f"dtype {slc_ds.dtype}")

    # --- identification
    def ident_text(name, default=""):
        if ident is not None and name in ident:
            return _text(ident[name][()])
        return default

    mission = ident_text("missionId")
    ptype = ident_text("productType")
    if ptype and ptype.upper() not in ("RSLC", "SLC"):
        raise InputFileError(path, "identification/productType RSLC or SLC (a level-1 SLC)", repr(ptype))
    look = ident_text("lookDirection").lower()
    if look not in ("left", "right"):
        raise InputFileError(path, "identification/lookDirection 'left' or 'right'", repr(look) if look else "none")

    # --- radar parameters
    fc = _scalar(fgrp, "processedCenterFrequency", path)
    if not np.isfinite(fc) or fc <= 0:
        raise InputFileError(path, f"{fgrp.name}/processedCenterFrequency (Hz, > 0)", str(fc))
    if not (dt > 0 and dr > 0):
        raise InputFileError(path, "positive zeroDopplerTimeSpacing and slantRangeSpacing", f"{dt}, {dr}")

    def opt_scalar(g, name):
        return _scalar(g, name, path, default=np.nan) if name in g else None

    # --- orbit
    meta_grp = prod.get("metadata")
    if meta_grp is None or "orbit" not in meta_grp:
        raise InputFileError(path, f"group {prod.name}/metadata/orbit", "it is missing")
    og = meta_grp["orbit"]
    o_time = _times(_dataset(og, "time", path), epoch, path)
    o_pos = _values(_dataset(og, "position", path), path)
    o_vel = _values(_dataset(og, "velocity", path), path)
    try:
        orbit = Orbit(epoch=epoch, time=o_time, position=o_pos, velocity=o_vel,
                      source=f"{path}:{og.name}")
    except ValueError as exc:
        raise InputFileError(path, f"orbit state vectors in {og.name}", describe(exc)) from None

    # --- Doppler (required: the product's) / FM rate (optional) LUTs
    params = meta_grp.get("processingInformation/parameters")
    rel = f"frequency{freq}/dopplerCentroid"
    doppler = _read_lut(params, rel, epoch, path, lut_max_nodes) if params is not None else None
    if doppler is None:
        raise InputFileError(path, f"the Doppler centroid LUT {meta_grp.name}/processingInformation/parameters/{rel}",
                             "it is missing")
    fm_rate = _read_lut(params, f"frequency{freq}/azimuthFMRate", epoch, path, lut_max_nodes)

    grid, grid_evidence = grid_from_geolocation(meta_grp, orbit, doppler, SPEED_OF_LIGHT / fc, epoch, path)

    t_mid = float(azimuth_time[len(azimuth_time) // 2])
    speed = None
    if orbit.start <= t_mid <= orbit.stop:
        speed = float(np.linalg.norm(orbit.interpolate(t_mid)[1]))

    extra: dict[str, Any] = {
        "format": "NISAR_RSLC",
        "band": band_name,
        "frequency": freq,
        "product_group": prod_path,
        "dataset": slc_ds.name,
        "polarizations": pols,
        "mission_id": mission,
        "center_frequency_hz": fc,
        "grid_evidence": grid_evidence,
    }
    for key, name in (("nominal_acquisition_prf_hz", "nominalAcquisitionPRF"),
                      ("scene_center_along_track_spacing_m", "sceneCenterAlongTrackSpacing"),
                      ("scene_center_ground_range_spacing_m", "sceneCenterGroundRangeSpacing")):
        v = opt_scalar(fgrp, name)
        if v is not None and np.isfinite(v):
            extra[key] = v
    for key, name in (("product_version", "productVersion"), ("product_type", "productType"),
                      ("zero_doppler_start_time", "zeroDopplerStartTime"),
                      ("zero_doppler_end_time", "zeroDopplerEndTime"),
                      ("orbit_pass_direction", "orbitPassDirection"), ("track_number", "trackNumber"),
                      ("frame_number", "frameNumber"), ("absolute_orbit_number", "absoluteOrbitNumber"),
                      ("bounding_polygon", "boundingPolygon")):
        v = ident_text(name)
        if v:
            extra[key] = v
    if "orbitType" in og:
        extra["orbit_type"] = _text(og["orbitType"][()])

    meta_kwargs: dict[str, Any] = dict(
        sensor=_sensor_name(mission),
        platform=mission or None,
        mode=f"{band_name} frequency{freq}",
        polarization=polarization,
        level="slc",
        epoch=epoch,
        wavelength_m=SPEED_OF_LIGHT / fc,
        prf_hz=1.0 / dt,
        range_sampling_rate_hz=SPEED_OF_LIGHT / (2.0 * dr),
        azimuth_line_interval_s=dt,
        range_pixel_spacing_m=dr,
        look_side=look,
        grid=grid,
        range_bandwidth_hz=opt_scalar(fgrp, "processedRangeBandwidth"),
        azimuth_bandwidth_hz=opt_scalar(fgrp, "processedAzimuthBandwidth"),
        platform_velocity_mps=speed,
        source_files=[path],
        extra=extra,
    )
    if doppler is not None:
        meta_kwargs["doppler_centroid"] = doppler
        if grid == "native_doppler":
            meta_kwargs["grid_doppler"] = doppler
    if fm_rate is not None:
        meta_kwargs["azimuth_fm_rate"] = fm_rate
    meta = RadarMetadata(**meta_kwargs)

    # --- lazy SLC
    shape = (int(slc_ds.shape[0]), int(slc_ds.shape[1]))
    h5_chunks = tuple(slc_ds.chunks) if slc_ds.chunks else None
    dchunks = tuple(chunks) if chunks is not None else _choose_chunks(shape, h5_chunks)
    window = H5Window(path, slc_ds.name, shape, np.complex64, compound)
    token = tokenize(path, os.path.getmtime(path), os.path.getsize(path), slc_ds.name, dchunks)
    slc = da.from_array(window, chunks=dchunks, name=f"read-nisar-rslc-{token}", lock=False,
                        asarray=False, fancy=False, meta=np.empty((0, 0), np.complex64))

    ds = xr.Dataset(
        {"slc": (("azimuth", "range"), slc, {"units": "1", "description": f"{polarization} SLC, frequency {freq}"})},
        coords={"azimuth_time": ("azimuth", azimuth_time, {
                    "units": "s", "description": f"zero-Doppler azimuth time, s after the scene epoch {epoch} UTC"}),
                "slant_range": ("range", slant_range, {"units": "m"})},
    )
    return Scene(ds, meta, orbit, {"source_format": "NISAR_RSLC"})


READER = ReaderInfo(
    name="NISAR_RSLC",
    description="NISAR / UAVSAR RSLC HDF5 (/science/LSAR|SSAR/RSLC or SLC), zero-Doppler SLC",
    sniff=sniff_nisar_rslc,
    read=read_nisar_rslc,
    levels=("slc",),
    tested_on_real_data=True,
    aliases=("UAVSAR_RSLC",),
)
