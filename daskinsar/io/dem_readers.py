"""Lazy window readers behind :func:`daskinsar.io.dem.open_dem`: array-likes whose
``__getitem__`` reads only the requested window of a DEM file (dask wraps them).

- :class:`GdalBand`: band 1 of anything GDAL reads, through rasterio windows; optionally
  through a ``WarpedVRT`` to EPSG:4326 (GDAL then warps only the window asked for).
- :class:`RawBand`: an ISCE raw raster described by its ``.xml`` (``np.memmap`` windows).
- :class:`Heights`: the conversion to heights in m above the WGS84 ellipsoid applied per
  window: voids to NaN, GDAL scale/offset, unit factor (ft -> m), + geoid undulation N.

:func:`parse_isce_xml` reads an ISCE image ``.xml`` on its own (no ``.vrt`` needed).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from defusedxml import ElementTree as DET

from ..errors import InputFileError
from ..geometry.geoid import GeoidGrid

__all__ = ["GdalBand", "RawBand", "Heights", "IsceImage", "parse_isce_xml", "ISCE_DTYPES"]

#: ISCE data types -> numpy (DEM heights are real)
ISCE_DTYPES = {"BYTE": "u1", "SHORT": "i2", "INT": "i4", "LONG": "i8", "FLOAT": "f4", "DOUBLE": "f8"}
#: ISCE's void value in SHORT DEMs (its stitcher's fill value, as SRTM's)
ISCE_SHORT_VOID = -32768


def _window(key, shape) -> tuple[int, int, int, int]:
    """(r0, r1, c0, c1) of a 2-D basic-slice key (step 1)."""
    if not isinstance(key, tuple):
        key = (key,)
    key = key + (slice(None),) * (2 - len(key))
    out = []
    for k, n in zip(key, shape):
        if isinstance(k, (int, np.integer)):
            k = slice(int(k), int(k) + 1)
        if not isinstance(k, slice):
            raise TypeError(f"DEM readers take basic slices, not {type(k).__name__}")
        a, b, s = k.indices(n)
        if s != 1:
            raise ValueError("DEM readers take slices of step 1")
        out += [a, max(a, b)]
    return out[0], out[1], out[2], out[3]


def _squeeze(key, out: np.ndarray) -> np.ndarray:
    """Drop the axes an integer index selected (numpy semantics for ``a[i, j]``)."""
    if not isinstance(key, tuple):
        key = (key,)
    sel = tuple(0 if isinstance(k, (int, np.integer)) else slice(None) for k in key)
    return out[sel] if any(isinstance(k, int) for k in sel) else out


class GdalBand:
    """Band 1 of a GDAL raster as a lazily sliced float array (NaN where the mask says nodata).

    ``warp``: keyword arguments of ``rasterio.vrt.WarpedVRT`` (crs, transform, width, height,
    resampling, ...) to read through a warped view; None to read the file's own grid.
    """

    ndim = 2

    def __init__(self, path: str, shape: tuple[int, int], dtype, warp: dict | None = None):
        self.path = path
        self.shape = (int(shape[0]), int(shape[1]))
        self.dtype = np.dtype(dtype)
        self.warp = warp

    def __getitem__(self, key) -> np.ndarray:
        import rasterio
        from rasterio.vrt import WarpedVRT
        from rasterio.windows import Window

        r0, r1, c0, c1 = _window(key, self.shape)
        if r1 == r0 or c1 == c0:
            return np.empty((r1 - r0, c1 - c0), self.dtype)
        w = Window(c0, r0, c1 - c0, r1 - r0)
        try:
            with rasterio.open(self.path) as src:
                if self.warp is None:
                    a = src.read(1, window=w, masked=True)
                else:
                    with WarpedVRT(src, **self.warp) as vrt:
                        a = vrt.read(1, window=w, masked=True)
        except Exception as exc:
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputFileError(self.path, "a readable DEM raster",
                                 f"unreadable data in rows {r0}..{r1 - 1}, columns {c0}..{c1 - 1}: {msg}") from None
        out = np.asarray(a.data, dtype=self.dtype)
        mask = np.ma.getmaskarray(a)
        if mask.any():
            out[mask] = np.nan
        return _squeeze(key, out)


class RawBand:
    """A single-band raw raster (ISCE) as a lazily sliced float array, via ``np.memmap``.

    ``void``: a stored value that marks voids (e.g. -32768 in SHORT DEMs), or None.
    """

    ndim = 2

    def __init__(self, path: str, shape: tuple[int, int], file_dtype: str, dtype, void: float | None = None):
        self.path = path
        self.shape = (int(shape[0]), int(shape[1]))
        self.file_dtype = np.dtype(file_dtype)
        self.dtype = np.dtype(dtype)
        self.void = void

    def __getitem__(self, key) -> np.ndarray:
        r0, r1, c0, c1 = _window(key, self.shape)
        try:
            mm = np.memmap(self.path, dtype=self.file_dtype, mode="r", shape=self.shape)
            a = np.array(mm[r0:r1, c0:c1])
            del mm
        except Exception as exc:
            raise InputFileError(self.path, "a readable raw DEM raster", f"{type(exc).__name__}: {exc}") from None
        out = a.astype(self.dtype)
        if self.void is not None:
            out[a == self.void] = np.nan
        if out.dtype.kind == "f":
            out[~np.isfinite(out)] = np.nan
        return _squeeze(key, out)


@dataclass(frozen=True, eq=False)
class Heights:
    """Per-window conversion of stored values to heights (m above the WGS84 ellipsoid):
    ``h = (value * scale + offset) * unit_m + N(lon, lat)`` (N = 0 without a geoid)."""

    base: Any
    lon0_deg: float
    dlon_deg: float
    lat0_deg: float
    dlat_deg: float
    scale: float = 1.0
    offset: float = 0.0
    unit_m: float = 1.0
    geoid: GeoidGrid | None = None
    ndim = 2

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.base.shape)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.base.dtype)

    def __getitem__(self, key) -> np.ndarray:
        r0, r1, c0, c1 = _window(key, self.shape)
        a = self.base[r0:r1, c0:c1]
        if self.scale != 1.0 or self.offset != 0.0:
            a = a * a.dtype.type(self.scale) + a.dtype.type(self.offset)
        if self.unit_m != 1.0:
            a = a * a.dtype.type(self.unit_m)
        if self.geoid is not None and a.size:
            lon = self.lon0_deg + self.dlon_deg * np.arange(c0, c1)
            lat = self.lat0_deg + self.dlat_deg * np.arange(r0, r1)
            a = (a + self.geoid.undulation(lon[None, :], lat[:, None])).astype(self.dtype)
        return _squeeze(key, a)


# ----------------------------------------------------------------------------- ISCE .xml
@dataclass(frozen=True)
class IsceImage:
    """What an ISCE image ``.xml`` says about its raster (sample centres, see :func:`parse_isce_xml`)."""

    xml_path: str
    data_path: str
    width: int
    length: int
    dtype: str  # numpy dtype string with byte order
    isce_type: str
    lon0_deg: float
    dlon_deg: float
    lat0_deg: float
    dlat_deg: float
    reference: str | None  # the ``reference`` (datum) property, None when absent
    properties: dict


def _norm(name: str) -> str:
    return re.sub(r"[\s_]+", "", (name or "").strip().lower())


def _props(el) -> dict:
    out = {}
    for p in el.findall("property"):
        v = p.find("value")
        out[_norm(p.get("name", ""))] = ((v.text if v is not None else p.text) or "").strip()
    return out


def parse_isce_xml(xml_path: str) -> IsceImage:
    """Read an ISCE image ``.xml`` (e.g. ``demLat_N42_N43_Lon_E012_E013.dem.wgs84.xml``) on its own.

    ``coordinate1`` is longitude (width), ``coordinate2`` latitude (length); their
    ``startingValue`` is the position of the *first sample* (ISCE's topo evaluates the DEM
    at ``first + i*delta``: a sample-registered grid, like SRTM tiles whose first sample sits
    on the whole degree). The ``.vrt`` ISCE renders beside it (which puts the GDAL pixel
    corner there, half a sample off) is not needed and not used. The data file is the xml's
    name without ``.xml``, else its ``file_name`` property (relative to the xml).
    """
    try:
        root = DET.parse(xml_path).getroot()
    except Exception as exc:
        raise InputFileError(xml_path, "an ISCE image .xml", f"unparsable XML ({exc})") from None
    if root.tag.lower() != "imagefile":
        raise InputFileError(xml_path, "an ISCE image .xml (<imageFile> root)", f"<{root.tag}>")
    props = _props(root)
    comps = {_norm(c.get("name", "")): _props(c) for c in root.findall("component")}

    def need(d: dict, key: str, where: str) -> str:
        if key not in d or d[key] == "":
            raise InputFileError(xml_path, f"an ISCE image .xml with {where} {key}", "none")
        return d[key]

    def number(text: str, key: str, kind=float):
        try:
            return kind(text)
        except ValueError:
            raise InputFileError(xml_path, f"a number for {key}", repr(text)) from None

    width = number(need(props, "width", "property"), "width", int)
    length = number(need(props, "length", "property"), "length", int)
    bands = number(props.get("numberbands", "1") or "1", "number_bands", int)
    if bands != 1:
        raise InputFileError(xml_path, "a single-band ISCE DEM", f"{bands} bands")
    isce_type = need(props, "datatype", "property").upper()
    if isce_type not in ISCE_DTYPES:
        raise InputFileError(xml_path, f"a DEM data type ({', '.join(ISCE_DTYPES)})", isce_type)
    order = (props.get("byteorder") or "l").lower()
    if order not in ("l", "little", "b", "big"):
        raise InputFileError(xml_path, "byte_order l or b", order)
    dtype = ("<" if order.startswith("l") else ">") + ISCE_DTYPES[isce_type]
    c1, c2 = comps.get("coordinate1"), comps.get("coordinate2")
    if c1 is None or c2 is None:
        raise InputFileError(xml_path, "ISCE coordinate1/coordinate2 components (lon/lat grid)", "none")
    lon0 = number(need(c1, "startingvalue", "coordinate1"), "coordinate1 startingValue")
    dlon = number(need(c1, "delta", "coordinate1"), "coordinate1 delta")
    lat0 = number(need(c2, "startingvalue", "coordinate2"), "coordinate2 startingValue")
    dlat = number(need(c2, "delta", "coordinate2"), "coordinate2 delta")
    for key, comp, n in (("coordinate1", c1, width), ("coordinate2", c2, length)):
        if comp.get("size") and number(comp["size"], f"{key} size", int) != n:
            raise InputFileError(xml_path, f"{key} size equal to the image's {n}", comp["size"])
    data = xml_path[:-4] if xml_path.lower().endswith(".xml") else xml_path
    if not os.path.isfile(data) and props.get("filename"):
        fn = props["filename"]
        data = fn if os.path.isabs(fn) else os.path.join(os.path.dirname(xml_path), fn)
    return IsceImage(xml_path, data, width, length, dtype, isce_type, lon0, dlon, lat0, dlat,
                     props.get("reference") or None, props)
