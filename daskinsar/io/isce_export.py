"""The run's geocoded products in ISCE's layout: ISCE2 binary rasters with ``.xml`` and ``.vrt`` sidecars.

``daskinsar export RUN --format isce`` writes, from ``products.zarr/geocode`` and
``products.zarr/geocode_geometry``, the files an insarApp run leaves in its folder, under ISCE's
names (:data:`ISCE_FILES`), so ISCE users' scripts, GDAL (through the ``.vrt``, or the ``.xml``
with GDAL's ISCE driver) and MintPy's readers open them:

- raw little-endian binaries, band interleaved by line (ISCE's ``BIL``), north up;
- ``<file>.xml``: ISCE2's ``imageFile`` description (width, length, bands, data type, scheme,
  byte order; ``coordinate1``/``coordinate2`` give the first pixel centre and the posting);
- ``<file>.vrt``: a GDAL VRT of raw bands (offsets, CRS, geotransform), as ISCE2 writes beside;
- ``<file>.rsc``: ROI_PAC-style key/value metadata (grid, wavelength, dates, baseline, heading,
  incidence, ...) that MintPy's readers merge with the ``.xml``.

Band layouts follow ISCE: ``filt_topophase.unw.geo`` has the interferogram magnitude then the
unwrapped phase (rad), ``los.rdr.geo`` the incidence then the LOS azimuth (deg), the
interferograms are complex64 (``CFLOAT``), ``filt_topophase.unw.conncomp.geo`` one byte per
pixel. Rows are written one dask chunk row at a time: memory stays at a chunk row.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import dask.array as da
import numpy as np
import xarray as xr

from ..products import GEOMETRY_GROUP, product_info

__all__ = ["ISCE_FILES", "IsceFile", "export_isce", "ISCE_DATA_TYPES"]

#: numpy dtype -> ISCE2 data type name
ISCE_DATA_TYPES = {"uint8": "BYTE", "int16": "SHORT", "int32": "INT", "float32": "FLOAT", "float64": "DOUBLE",
                   "complex64": "CFLOAT"}
#: numpy dtype -> GDAL data type name (the VRT's)
_GDAL_TYPES = {"uint8": "Byte", "int16": "Int16", "int32": "Int32", "float32": "Float32", "float64": "Float64",
               "complex64": "CFloat32"}


@dataclass(frozen=True)
class IsceFile:
    """An ISCE file: its name, ISCE image type, and per band (group, variable or how to make it, dtype)."""

    name: str
    image_type: str
    bands: tuple[tuple[str, str, str], ...]  # (group, variable, numpy dtype); variable "|x|" = magnitude of x


#: the files of the ISCE layout (written when their source variables exist)
ISCE_FILES: tuple[IsceFile, ...] = (
    IsceFile("filt_topophase.unw.geo", "unw", (("geocode", "|filt_ifg|", "float32"), ("geocode", "unw", "float32"))),
    IsceFile("filt_topophase.unw.conncomp.geo", "cc", (("geocode", "conncomp", "uint8"),)),
    IsceFile("topophase.cor.geo", "cor", (("geocode", "coherence", "float32"),)),
    IsceFile("phsig.cor.geo", "cor", (("geocode", "phsig", "float32"),)),
    IsceFile("topophase.flat.geo", "cpx", (("geocode", "ifg", "complex64"),)),
    IsceFile("filt_topophase.flat.geo", "cpx", (("geocode", "filt_ifg", "complex64"),)),
    IsceFile("los_displacement.geo", "bil", (("geocode", "los_displacement", "float32"),)),
    IsceFile("los.rdr.geo", "bil", ((GEOMETRY_GROUP, "incidence", "float32"), (GEOMETRY_GROUP, "heading", "float32"))),
    IsceFile("z.rdr.geo", "bil", ((GEOMETRY_GROUP, "hgt", "float64"),)),
)


def _band(groups: dict[str, xr.Dataset], group: str, var: str, dtype: str) -> xr.DataArray | None:
    ds = groups.get(group)
    if ds is None:
        return None
    if var.startswith("|"):
        src = var.strip("|")
        if src not in ds:
            src = "ifg"
        if src not in ds:
            return None
        arr: xr.DataArray = abs(ds[src])
    elif var in ds:
        arr = ds[var]
    else:
        return None
    if np.dtype(dtype) == np.uint8 and arr.dtype.kind in "iu":
        top = int(arr.max().compute()) if arr.size else 0
        if top > 255:
            raise ValueError(f"{group}/{var}: label {top} does not fit ISCE's one-byte connected components")
    return arr.astype(dtype)


def _north_up(arr: xr.DataArray) -> xr.DataArray:
    if arr.sizes["y"] > 1 and float(arr["y"][1]) > float(arr["y"][0]):
        arr = arr.isel(y=slice(None, None, -1))
    return arr.transpose("y", "x")


def _write_bil(path: Path, bands: list[xr.DataArray]) -> None:
    """Band interleaved by line, little endian, one chunk row at a time (under a hidden name, renamed)."""
    tmp = path.with_name(f".{path.name}.partial")
    data = [da.asarray(b.data) for b in bands]
    rows = data[0].chunks[0]
    with open(tmp, "wb") as fh:
        r0 = 0
        for h in rows:
            block = np.stack([np.asarray(d[r0:r0 + h].compute()) for d in data], axis=1)  # (h, bands, w)
            fh.write(block.astype(block.dtype.newbyteorder("<"), copy=False).tobytes())
            r0 += h
    os.replace(tmp, path)


def _prop(parent: ET.Element, name: str, value: Any, doc: str | None = None) -> None:
    p = ET.SubElement(parent, "property", name=name)
    ET.SubElement(p, "value").text = str(value)
    if doc:
        ET.SubElement(p, "doc").text = doc


def _isce_xml(name: str, image_type: str, width: int, length: int, nbands: int, dtype: str,
              x0: float, dx: float, y0: float, dy: float) -> str:
    root = ET.Element("imageFile")
    _prop(root, "access_mode", "read")
    _prop(root, "byte_order", "l")
    for cname, size, start, delta, doc in (("coordinate1", width, x0, dx, "First coordinate of a 2D image (width)."),
                                          ("coordinate2", length, y0, dy, "Second coordinate of a 2D image (length).")):
        c = ET.SubElement(root, "component", name=cname)
        ET.SubElement(c, "factorymodule").text = "isceobj.Image"
        ET.SubElement(c, "factoryname").text = "createCoordinate"
        ET.SubElement(c, "doc").text = doc
        _prop(c, "delta", repr(float(delta)), "Coordinate quantization.")
        _prop(c, "endingvalue", repr(float(start + delta * size)), "Ending value of the coordinate.")
        _prop(c, "family", "imagecoordinate", "Instance family name")
        _prop(c, "name", "imagecoordinate_name", "Instance name")
        _prop(c, "size", size, "Coordinate size.")
        _prop(c, "startingvalue", repr(float(start)), "Starting value of the coordinate.")
    _prop(root, "data_type", ISCE_DATA_TYPES[dtype])
    _prop(root, "extra_file_name", name + ".vrt")
    _prop(root, "family", "image")
    _prop(root, "file_name", name)
    _prop(root, "image_type", image_type)
    _prop(root, "length", length)
    _prop(root, "name", "image_name")
    _prop(root, "number_bands", nbands)
    _prop(root, "scheme", "BIL")
    _prop(root, "width", width)
    _prop(root, "xmax", width)
    _prop(root, "xmin", 0)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def _vrt(name: str, width: int, length: int, bands: list[xr.DataArray], dtype: str, wkt: str,
         geotransform: tuple[float, ...]) -> str:
    size = np.dtype(dtype).itemsize
    root = ET.Element("VRTDataset", rasterXSize=str(width), rasterYSize=str(length))
    ET.SubElement(root, "SRS").text = wkt
    ET.SubElement(root, "GeoTransform").text = ", ".join(repr(float(v)) for v in geotransform)
    for k, b in enumerate(bands):
        band = ET.SubElement(root, "VRTRasterBand", dataType=_GDAL_TYPES[dtype], band=str(k + 1),
                             subClass="VRTRawRasterBand")
        ET.SubElement(band, "SourceFilename", relativeToVRT="1").text = name
        ET.SubElement(band, "ByteOrder").text = "LSB"
        ET.SubElement(band, "ImageOffset").text = str(k * width * size)
        ET.SubElement(band, "PixelOffset").text = str(size)
        ET.SubElement(band, "LineOffset").text = str(len(bands) * width * size)
        if b.attrs.get("long_name"):
            ET.SubElement(band, "Description").text = str(b.attrs["long_name"])
        if b.attrs.get("units"):
            ET.SubElement(band, "UnitType").text = str(b.attrs["units"])
        if dtype.startswith("float"):
            ET.SubElement(band, "NoDataValue").text = "nan"
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def _rsc(width: int, length: int, x_first: float, y_first: float, dx: float, dy: float, crs_geographic: bool,
         meta: dict[str, Any]) -> str:
    """ROI_PAC-style metadata (``KEY value`` lines): the grid's outer corner and posting, and the pair's metadata."""
    rows: dict[str, Any] = {"WIDTH": width, "FILE_LENGTH": length, "X_FIRST": repr(x_first), "Y_FIRST": repr(y_first),
                            "X_STEP": repr(dx), "Y_STEP": repr(dy), "X_UNIT": "degrees" if crs_geographic else "meters",
                            "Y_UNIT": "degrees" if crs_geographic else "meters", "PROCESSOR": "isce",
                            "INSAR_PROCESSOR": "daskinsar"}
    keys = {"WAVELENGTH": "wavelength_m", "PLATFORM": "platform", "HEADING": "platform_heading_deg",
            "ORBIT_DIRECTION": "orbit_direction", "STARTING_RANGE": "centre_slant_range_m",
            "CENTER_INCIDENCE_ANGLE": "incidence_centre_deg", "P_BASELINE_TOP_HDR": "perpendicular_baseline_m",
            "P_BASELINE_BOTTOM_HDR": "perpendicular_baseline_m", "DASKINSAR_VERSION": "daskinsar_version"}
    for k, m in keys.items():
        if meta.get(m) is not None:
            rows[k] = meta[m]
    if meta.get("look_side"):
        rows["ANTENNA_SIDE"] = -1 if meta["look_side"] == "right" else 1
    if meta.get("reference_date") and meta.get("secondary_date"):
        d1, d2 = (meta[k].replace("-", "") for k in ("reference_date", "secondary_date"))
        rows["DATE12"] = f"{d1[2:]}-{d2[2:]}"
    if meta.get("reference_start_utc"):
        hh, mm, ss = meta["reference_start_utc"][11:].rstrip("Z").split(":")
        rows["CENTER_LINE_UTC"] = repr(int(hh) * 3600 + int(mm) * 60 + float(ss))
    width_k = max(len(k) for k in rows)
    return "".join(f"{k:<{width_k}}    {v}\n" for k, v in rows.items())


def export_isce(groups: dict[str, xr.Dataset], out_dir: str | os.PathLike, meta: dict[str, Any] | None = None,
                upload: Callable[[Path], None] | None = None) -> list[Path]:
    """Write the ISCE layout of the geocoded groups (``{"geocode": ds, "geocode_geometry": ds}``) to ``out_dir``;
    ``meta``: the pair's metadata (:func:`daskinsar.io.run_metadata.pair_metadata`) for the ``.rsc`` files;
    ``upload(path)``, when given, is called for each finished file (then deleted locally). Returns the files."""
    import rioxarray  # noqa: F401  (registers .rio)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for f in ISCE_FILES:
        bands = [_band(groups, g, v, t) for g, v, t in f.bands]
        if any(b is None for b in bands):
            continue
        arrs = [_north_up(b) for b in bands if b is not None]
        for b, (g, v, _) in zip(arrs, f.bands):
            info = product_info(g, v.strip("|"))
            if info is not None and not v.startswith("|"):
                b.attrs.update(long_name=info.long_name, units=info.units)
            elif v.startswith("|"):
                b.attrs.update(long_name="interferogram magnitude", units="1")
        ref = groups[f.bands[0][0]]
        crs = ref.rio.crs
        x, y = arrs[0]["x"].values, arrs[0]["y"].values
        dx = float((x[-1] - x[0]) / (len(x) - 1)) if len(x) > 1 else float(ref.attrs.get("posting", 1.0))
        dy = float((y[-1] - y[0]) / (len(y) - 1)) if len(y) > 1 else -float(ref.attrs.get("posting", 1.0))
        width, length = len(x), len(y)
        dtype = f.bands[0][2]
        path = out / f.name
        _write_bil(path, arrs)
        gt = (float(x[0]) - dx / 2, dx, 0.0, float(y[0]) - dy / 2, 0.0, dy)
        sidecars = {
            ".xml": _isce_xml(f.name, f.image_type, width, length, len(arrs), dtype, float(x[0]), dx, float(y[0]), dy),
            ".vrt": _vrt(f.name, width, length, arrs, dtype, crs.to_wkt() if crs is not None else "", gt),
            ".rsc": _rsc(width, length, gt[0], gt[3], dx, dy, bool(crs is None or crs.is_geographic), meta or {}),
        }
        files = [path]
        for ext, text in sidecars.items():
            side = out / (f.name + ext)
            tmp = side.with_name(f".{side.name}.partial")
            tmp.write_text(text)
            os.replace(tmp, side)
            files.append(side)
        for p in files:
            if upload is not None:
                upload(p)
                p.unlink()
            written.append(p)
    return written
