"""NISAR L0B (RRSD) raw echo reader: ``/science/<band>SAR/RRSD/...`` HDF5.

Layout read (one frequency, one transmit/receive polarisation pair):

- ``swaths/frequency<F>/tx<P>/``: ``UTCtime`` (pulse transmit times, s since the epoch
  in its ``units`` attribute), ``slantRange`` (m, range of every sample of the receive
  window, one-way), ``chirpSlope`` (Hz/s), ``chirpDuration`` (s), ``rangeBandwidth`` (Hz),
  ``centerFrequency`` (Hz), ``nominalAcquisitionPRF`` (Hz);
- ``.../tx<P>/rx<Q>/<PQ>``: the echoes, (pulses, samples). Either complex floats, or a
  compound of two uint16 fields ``r``/``i`` holding *codes* that are decoded through the
  float32 look-up table ``BFPQLUT`` next to it (value = ``BFPQLUT[code]``, exactly as the
  table defines, for I and Q separately);
- ``lowRateTelemetry/orbit``: ``time``, ``position``, ``velocity`` (ECEF m, m/s);
- ``lowRateTelemetry/attitude``: ``time``, ``quaternions`` (q0 scalar first; rotation of
  the antenna frame to ECEF) - carried in ``meta.extra["attitude"]`` with times in s since
  the scene epoch;
- ``identification/lookDirection``, ``missionId``.

The scene's ``raw`` variable is a lazy complex64 dask array on (azimuth, range) with
``azimuth_time`` = pulse transmit times (s since the scene epoch, the epoch of
``UTCtime``) and ``slant_range`` = the sample ranges; ``level="raw"``,
``grid="native_doppler"``.
"""

from __future__ import annotations

import re

import dask.array as da
import numpy as np
import xarray as xr

from ..errors import InputFileError
from ..geometry.ellipsoid import SPEED_OF_LIGHT
from ..geometry.orbit import Orbit, seconds_between
from ..scene import Chirp, Poly1D, RadarMetadata, Scene
from ._files import describe, h5_check_image, h5_values, input_file
from .readers import ReaderInfo
from .validate import CHIRP_DURATION_S, PRF_HZ, check_range

_EXPECTED = "a NISAR L0B (RRSD) HDF5 file with /science/<band>SAR/RRSD"


def _band_root(f) -> str | None:
    sci = f.get("science")
    if sci is None:
        return None
    for band in sci:
        if "RRSD" in sci[band]:
            return f"science/{band}/RRSD"
    return None


def sniff(path: str) -> bool:
    try:
        import h5py

        with h5py.File(path, "r") as f:
            return _band_root(f) is not None
    except Exception:
        return False


def _epoch_from_units(units, path) -> str:
    if isinstance(units, bytes):
        units = units.decode()
    m = re.search(r"seconds since\s+(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2}(?:\.\d+)?)", str(units))
    if not m:
        raise InputFileError(path, "a time 'units' attribute 'seconds since YYYY-MM-DD hh:mm:ss'", repr(units))
    return f"{m.group(1)}T{m.group(2)}"


def _scalar(ds):
    if ds.size != 1:
        raise KeyError(f"{ds.name} (a scalar, not shape {ds.shape})")
    v = ds[()]
    v = v.reshape(-1)[0] if isinstance(v, np.ndarray) else v
    return v.decode() if isinstance(v, bytes) else v


def _number(ds, path: str) -> float:
    try:
        return float(_scalar(ds))
    except (TypeError, ValueError):
        raise InputFileError(path, f"a number in {ds.name}", repr(_scalar(ds))[:60]) from None


def _attitude(ag, epoch: str, path: str, size: int) -> dict:
    """The attitude quaternions (q0 scalar first, unit norm) at strictly increasing finite times."""
    a_epoch = _epoch_from_units(ag["time"].attrs.get("units"), path)
    t = np.asarray(h5_values(ag["time"], path, size), np.float64).reshape(-1) + seconds_between(epoch, a_epoch)
    q = np.asarray(h5_values(ag["quaternions"], path, size), np.float64)
    if q.ndim != 2 or q.shape != (len(t), 4) or len(t) < 2:
        raise InputFileError(path, f"attitude quaternions of shape (len(time), 4) = ({len(t)}, 4), at least 2",
                             f"shape {q.shape}")
    if not (np.all(np.isfinite(t)) and np.all(np.diff(t) > 0)):
        raise InputFileError(path, "finite, strictly increasing attitude times", "non-finite or unordered times")
    norm = np.linalg.norm(q, axis=1)
    if not (np.all(np.isfinite(q)) and np.all(np.abs(norm - 1.0) < 1e-3)):
        raise InputFileError(path, "finite unit attitude quaternions (|q| = 1)",
                             f"norms {np.nanmin(norm):.6g} .. {np.nanmax(norm):.6g}" if np.isfinite(norm).any()
                             else "non-finite values")
    return {"time_s": t.tolist(), "quaternions_wxyz": q.tolist(),
            "frame": "antenna (+Z boresight, +X elevation, +Y azimuth) to ECEF"}


class _DecodedEchoes:
    """Array-like over the echo dataset that decodes codes through the BFPQLUT on read.

    Opens the file for each read (picklable, safe for distributed workers)."""

    def __init__(self, path: str, dset: str, lut: np.ndarray | None, shape, fields):
        self.path = path
        self.dset = dset
        self.lut = lut
        self.shape = tuple(shape)
        self.fields = fields
        self.dtype = np.dtype(np.complex64)
        self.ndim = 2

    def __getitem__(self, key):
        import h5py

        try:
            with h5py.File(self.path, "r") as f:
                raw = f[self.dset][key]
        except OSError as exc:
            raise InputFileError(self.path, f"readable echo data in {self.dset}", str(exc)) from None
        if self.fields is not None:
            re_, im_ = self.fields
            if self.lut is not None:
                return (self.lut[raw[re_]] + 1j * self.lut[raw[im_]]).astype(np.complex64)
            return (raw[re_].astype(np.float32) + 1j * raw[im_].astype(np.float32)).astype(np.complex64)
        return np.asarray(raw, dtype=np.complex64)


def read(path: str, *, frequency: str = "A", polarization: str | None = None, chunks=(1024, -1)) -> Scene:
    """Read a NISAR L0B file into a lazy raw Scene (see the module docstring)."""
    import h5py

    path = str(path)
    size = input_file(path, _EXPECTED)
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise InputFileError(path, _EXPECTED, f"not a readable HDF5 file ({describe(exc)})") from None
    with f:
        root = _band_root(f)
        if root is None:
            raise InputFileError(path, _EXPECTED, "no RRSD group")
        band = root.split("/")[1]
        try:
            sw = f[f"{root}/swaths/frequency{frequency}"]
        except KeyError:
            raise InputFileError(path, f"{_EXPECTED} with swaths/frequency{frequency}", "no such frequency") from None
        txs = sorted(k[2:] for k in sw if k.startswith("tx"))
        if not txs:
            raise InputFileError(path, "transmit groups tx<P> under " + sw.name, "none")
        if polarization:
            tx, rx = polarization[0].upper(), polarization[1].upper()
        else:
            tx = txs[0]
            rxs = sorted(k[2:] for k in sw[f"tx{tx}"] if k.startswith("rx"))
            if not rxs:
                raise InputFileError(path, f"receive groups rx<Q> under {sw.name}/tx{tx}", "none")
            rx = tx if tx in rxs else rxs[0]
        gname = f"{sw.name}/tx{tx}"
        try:
            g = f[gname]
            rxg = g[f"rx{rx}"]
            dset = rxg[f"{tx}{rx}"]
            # sizes first: the echoes must be in the file and the axes as long as the echoes, before any read
            shape = dset.shape
            dtype = dset.dtype
            if len(shape) != 2 or g["UTCtime"].shape != shape[:1] or g["slantRange"].shape != shape[1:]:
                raise InputFileError(path, f"echoes of shape (len(UTCtime), len(slantRange)) = "
                                     f"({g['UTCtime'].shape}, {g['slantRange'].shape})", f"shape {shape}")
            h5_check_image(dset, path, size)
            t_pulse = np.asarray(h5_values(g["UTCtime"], path, size), np.float64)
            epoch = _epoch_from_units(g["UTCtime"].attrs.get("units"), path)
            slant_range = np.asarray(h5_values(g["slantRange"], path, size), np.float64)
            slope = _number(g["chirpSlope"], path)
            duration = _number(g["chirpDuration"], path)
            fc = _number(g["centerFrequency"], path)
            prf = _number(g["nominalAcquisitionPRF"], path)
            bw = _number(g["rangeBandwidth"], path) if "rangeBandwidth" in g else abs(slope) * duration
            lut = np.asarray(h5_values(rxg["BFPQLUT"], path, size), np.float32) if "BFPQLUT" in rxg else None
            orb_g = f[f"{root}/lowRateTelemetry/orbit"]
            o_t = np.asarray(h5_values(orb_g["time"], path, size), np.float64)
            o_epoch = _epoch_from_units(orb_g["time"].attrs.get("units"), path)
            o_p = np.asarray(h5_values(orb_g["position"], path, size), np.float64)
            o_v = np.asarray(h5_values(orb_g["velocity"], path, size), np.float64)
            ident = f[f"science/{band}/identification"]
            look = str(_scalar(ident["lookDirection"])).strip().lower()
            ptype = str(_scalar(ident["productType"])).strip() if "productType" in ident else "RRSD"
            if ptype.upper() not in ("RRSD", "L0B"):
                raise InputFileError(path, "identification/productType RRSD or L0B (raw echoes)", repr(ptype))
            mission = str(_scalar(ident["missionId"])).strip() if "missionId" in ident else "NISAR"
            att = None
            if f"{root}/lowRateTelemetry/attitude" in f:
                att = _attitude(f[f"{root}/lowRateTelemetry/attitude"], epoch, path, size)
        except KeyError as exc:
            raise InputFileError(path, f"{_EXPECTED}; missing {exc.args[0] if exc.args else 'a dataset'}",
                                 "an incomplete file") from None
        except (OSError, TypeError, ValueError) as exc:
            raise InputFileError(path, _EXPECTED, f"a truncated or damaged file ({describe(exc)})") from None
        if dtype.names:
            names = [n for n in dtype.names]
            if len(names) != 2:
                raise InputFileError(path, f"echo compound of two fields (r, i) in {dset.name}", str(dtype))
            fields = (names[0], names[1])
            if lut is None and dtype[names[0]].kind == "u":
                raise InputFileError(path, f"a BFPQLUT beside the encoded echoes {dset.name}", "none")
            if lut is not None:
                # every code of the echoes' unsigned type must index a finite value of the table
                n_codes = 1 << (8 * dtype[names[0]].itemsize) if dtype[names[0]].kind == "u" else None
                if lut.ndim != 1 or (n_codes is not None and lut.size != n_codes):
                    raise InputFileError(path, f"a BFPQLUT of {n_codes} values (one per {dtype[names[0]]} code)",
                                         f"shape {lut.shape}")
                if not np.all(np.isfinite(lut)):
                    raise InputFileError(path, "finite BFPQLUT values", f"{int(np.count_nonzero(~np.isfinite(lut)))} "
                                                                        "non-finite")
        elif dtype.kind == "c":
            fields, lut = None, None
        else:
            raise InputFileError(path, f"complex or (r, i)-encoded echoes in {dset.name}", str(dtype))
        dset_name = dset.name
    if look not in ("left", "right"):
        raise InputFileError(path, "identification/lookDirection Left or Right", look)
    # check that the data can actually be read (a truncated file fails here, not mid-pipeline)
    arr = _DecodedEchoes(path, dset_name, lut, shape, fields)
    arr[shape[0] - 1:shape[0], :1]
    check_range(path, "centerFrequency", fc, (1.5e8, 6e10), "Hz")
    check_range(path, "nominalAcquisitionPRF", prf, PRF_HZ, "Hz")
    check_range(path, "chirpDuration", duration, CHIRP_DURATION_S, "s")
    if not (np.isfinite(slope) and slope != 0 and np.isfinite(bw) and bw > 0):
        raise InputFileError(path, "a finite non-zero chirpSlope (Hz/s) and a positive rangeBandwidth (Hz)",
                             f"{slope!r}, {bw!r}")
    lam = SPEED_OF_LIGHT / fc
    try:
        orbit = Orbit(o_epoch, o_t, o_p, o_v, source=f"{path} (lowRateTelemetry/orbit)").shift_epoch(epoch)
    except ValueError as exc:
        raise InputFileError(path, "valid orbit state vectors", describe(exc)) from None
    if len(slant_range) < 2 or not float(np.median(np.diff(slant_range))) > 0:
        raise InputFileError(path, "at least two range samples on an increasing slant-range axis",
                             f"{len(slant_range)} samples")
    dr = float(np.median(np.diff(slant_range)))
    try:
        meta = _metadata(path, mission, tx, rx, epoch, lam, prf, dr, look, slope, duration, bw, att, fc, band,
                         frequency)
    except ValueError as exc:  # pydantic's ValidationError
        raise InputFileError(path, _EXPECTED, describe(exc)) from None
    ch = tuple(shape[i] if c == -1 else min(c, shape[i]) for i, c in enumerate(chunks))
    raw = da.from_array(arr, chunks=ch, name=f"read-nisar-l0b-{da.core.tokenize(path, dset_name, frequency)}",
                        asarray=False, fancy=False, meta=np.empty((0, 0), np.complex64))
    data = xr.Dataset({"raw": (("azimuth", "range"), raw)},
                      coords={"azimuth_time": ("azimuth", t_pulse), "slant_range": ("range", slant_range)})
    return Scene(data, meta, orbit)


def _metadata(path, mission, tx, rx, epoch, lam, prf, dr, look, slope, duration, bw, att, fc, band,
              frequency) -> RadarMetadata:
    fs = SPEED_OF_LIGHT / (2.0 * dr)
    return RadarMetadata(
        sensor="NISAR_L0B", platform=mission, mode="stripmap", polarization=f"{tx}{rx}", level="raw", epoch=epoch,
        wavelength_m=lam, prf_hz=prf, range_sampling_rate_hz=fs, look_side=look, grid="native_doppler",
        doppler_centroid=Poly1D(coeffs=[0.0]), chirp=Chirp(slope_hz_per_s=slope, duration_s=duration),
        range_bandwidth_hz=bw, range_pixel_spacing_m=dr, source_files=[path],
        extra={"attitude": att, "center_frequency_hz": fc, "band": band, "frequency": frequency} if att else
        {"center_frequency_hz": fc, "band": band, "frequency": frequency},
    )


READER = ReaderInfo(
    name="NISAR_L0B", description="NISAR L0B (RRSD) raw echoes, HDF5 (BFPQ-encoded or complex)",
    sniff=sniff, read=read, levels=("raw",), tested_on_real_data=True, aliases=("L0B", "RRSD"),
)
