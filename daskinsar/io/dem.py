"""DEM files: :func:`open_dem` (lazy, any GDAL raster or an ISCE ``.dem.xml``), the DEM input
model :class:`DemInput`, and :func:`write_dem_geotiff`.

What :func:`open_dem` does with a file, or refuses (one :class:`InputFileError` line naming it):

- **Samples** sit at pixel *centres*: GDAL geotransforms (as GDAL reports them, for Area and
  PixelIsPoint GeoTIFFs alike) refer to pixel corners, so sample (i, j) is at
  ``transform * (j + 0.5, i + 0.5)`` (``sample_at="corner"`` puts them on the geotransform
  nodes instead). An ISCE ``.xml``'s ``startingValue`` is the first sample itself.
- **Lazy**: a dask array over window reads (rasterio windows; ``np.memmap`` for ISCE raw
  files); nothing is read until a window or a reduction asks. Heights are float32 (float64
  when the file stores float64).
- **Voids** (nodata, GDAL masks, ISCE's -32768 in SHORT DEMs) are NaN, never filled here
  (see :func:`daskinsar.io.dem_prepare.prepare_dem`).
- **Units** from GDAL's band unit type, ``UNITS`` metadata or the vertical CRS axis: metres as
  is, international / US survey feet converted; an unknown unit is refused; none = metres.
- **Rotated or sheared** geotransforms are refused (no silent half-reading).
- **CRS**: WGS84 geographic is read as is; any other horizontal CRS (UTM, NAD83, ...) is
  reprojected to EPSG:4326 through a GDAL ``WarpedVRT`` (bilinear, exact per-pixel
  transform), window by window: only the part asked for is ever warped.
- **Vertical datum** (:func:`resolve_vertical_datum`): an explicit ``vertical_datum`` always
  wins; "auto" reads it from a compound CRS's vertical datum or a 3-D (ellipsoidal) CRS,
  GDAL metadata (``HEIGHT_REFERENCE`` / ``VERTICAL_DATUM``), an ISCE ``reference`` property
  (absent = EGM96, ISCE's own default), then the product naming (Copernicus DSM -> EGM2008,
  SRTM ``N42E012.hgt`` / NASADEM -> EGM96). EGM96 / EGM2008 heights are converted,
  ``h = H + N`` (:mod:`daskinsar.geometry.geoid`); an unknown datum gives a warning saying it
  was taken as ellipsoidal; any other vertical datum (NAVD88, ...) is refused.
- 1 x 1, zero-size, non-raster, truncated files: refused at open; a corrupt block when it is
  read; a file with no valid height by :meth:`Dem.height_range` / ``prepare_dem``.
"""

from __future__ import annotations

import os
import re
import warnings
from typing import Literal

import dask.array as da
import numpy as np
from dask.base import tokenize
from pydantic import Field, StrictBool

from ..errors import InputFileError
from ..params import Params
from ..geometry.dem import Dem, EdgeMode
from ..geometry.dem_interp import METHODS
from ..geometry.geoid import compact_grid_path, find_proj_grid, geoid_grid
from ._files import describe, input_file, open_raster
from .dem_readers import ISCE_SHORT_VOID, GdalBand, Heights, RawBand, parse_isce_xml

__all__ = ["open_dem", "DemInput", "write_dem_geotiff", "resolve_vertical_datum", "unit_factor", "VerticalDatum",
           "geoid_grid_available"]

InterpMethod = Literal["nearest", "bilinear", "bicubic", "biquintic"]
VerticalDatum = Literal["auto", "ellipsoid", "egm96", "egm2008"]
DemSource = Literal["copernicus", "copernicus-90", "srtm", "nasadem"]
_GEOID_MODEL = {"egm96": "EGM96", "egm2008": "EGM2008"}


class DemInput(Params):
    """The DEM of a run (the run configuration's ``dem:`` section)."""

    path: str | None = Field(
        None, description="DEM file: a GeoTIFF (or anything GDAL reads) or an ISCE .dem.xml, heights in m (or ft); "
                          "None: download one for the scene footprint from `source`, cached in the run folder")
    interpolation: InterpMethod = Field(
        "biquintic", description="DEM interpolation between samples (biquintic = ISCE's default; bicubic = Keys)")
    vertical_datum: VerticalDatum = Field(
        "auto", description="what the heights are above: auto = from the file (CRS, metadata, ISCE reference, "
                            "product naming); ellipsoid = WGS84 ellipsoidal heights (m), used as they are; "
                            "egm96 / egm2008 = geoid heights (m), converted to ellipsoidal (h = H + N). "
                            "A setting other than auto always wins over the file")
    fill_voids: StrictBool = Field(
        False, description="fill voids (nodata) inside the cropped DEM by Laplace interpolation (harmonic, from the "
                           "surrounding heights) and report their number; false: keep them as NaN and warn with "
                           "their number and fraction of the scene footprint")
    source: DemSource = Field(
        "copernicus", description="download source when path is None: copernicus (GLO-30, 1 arcsec, EGM2008), "
                                  "copernicus-90 (GLO-90, 3 arcsec, EGM2008), srtm (SRTM v3 1 arcsec, EGM96) or "
                                  "nasadem (EGM96); srtm/nasadem need an Earthdata login in ~/.netrc")
    tile_server: str | None = Field(
        None, description="base URL of a mirror of the source's tiles in the source's own layout; None = the "
                          "download library's default servers")


# ----------------------------------------------------------------------------- vertical datum & units
_COPERNICUS = re.compile(r"(Copernicus_DSM|COP[-_]?DEM|GLO[-_]?(30|90))", re.I)
_SRTM = re.compile(r"(^|[^A-Za-z0-9])([NS]\d{2}[EW]\d{3})(\.SRTMGL[13])?\.hgt", re.I)
_NASADEM = re.compile(r"NASADEM", re.I)


def _datum_from_text(text: str) -> str | None:
    t = text.upper().replace(" ", "")
    if "EGM2008" in t or "EGM08" in t:
        return "egm2008"
    if "EGM96" in t:
        return "egm96"
    if "ELLIPSOID" in t or t in ("WGS84", "WGS-84", "WGS_84", "EPSG:4979"):
        return "ellipsoid"
    return None


def _datum_from_crs(path: str, crs) -> tuple[str | None, str]:
    """(datum or None, what the CRS says). Refuses vertical datums other than EGM96/EGM2008."""
    if crs is None:
        return None, "no CRS"
    import pyproj

    pc = pyproj.CRS.from_user_input(crs.to_wkt() if hasattr(crs, "to_wkt") else crs)
    vert = next((s for s in pc.sub_crs_list if s.is_vertical), None) if pc.is_compound else \
        (pc if pc.is_vertical else None)
    if vert is not None:
        name = f"{vert.name} ({vert.datum.name if vert.datum else '?'})"
        d = _datum_from_text(name)
        if d is None:
            raise InputFileError(path, "heights above the WGS84 ellipsoid, EGM96 or EGM2008 (the vertical datums "
                                       "daskinsar converts)", f"vertical CRS {name}; convert the DEM, or set "
                                                              "vertical_datum if you know better")
        return d, vert.name
    if len(pc.axis_info) == 3 and "ellipsoidal height" in pc.axis_info[2].name.lower():
        return "ellipsoid", f"{pc.name} (3-D, ellipsoidal heights)"
    return None, "unspecified"


def resolve_vertical_datum(path: str, setting: str, *, crs=None, tags: dict | None = None,
                           isce_reference: str | None = None, isce: bool = False) -> tuple[str, str]:
    """(datum used, what the file declares) for a DEM file; see the module docstring for the order.

    ``datum used`` is "ellipsoid", "egm96" or "egm2008". Warns when the setting overrides a
    different declaration, and when nothing is declared (heights then taken as ellipsoidal).
    """
    if setting not in ("auto", "ellipsoid", "egm96", "egm2008"):
        raise ValueError(f"vertical_datum must be auto, ellipsoid, egm96 or egm2008, not {setting!r}")
    declared, what = None, "unspecified"
    if isce:
        if isce_reference is None:
            declared, what = "egm96", "no reference property (ISCE's default: EGM96)"
        else:
            declared, what = _datum_from_text(isce_reference), f"reference {isce_reference}"
            if declared is None:
                raise InputFileError(path, "an ISCE reference of WGS84, EGM96 or EGM2008", repr(isce_reference))
    else:
        declared, what = _datum_from_crs(path, crs)
        if declared is None:
            for k, v in (tags or {}).items():
                if k.upper() in ("HEIGHT_REFERENCE", "VERTICAL_DATUM", "VERTICAL_CRS", "VERTICAL_REFERENCE"):
                    declared, what = _datum_from_text(str(v)), f"metadata {k}={v}"
                    if declared is None:
                        raise InputFileError(path, "heights above the WGS84 ellipsoid, EGM96 or EGM2008",
                                             f"metadata {k}={v}; set vertical_datum if you know better")
                    break
        if declared is None:
            name = os.path.basename(path)
            if _COPERNICUS.search(name):
                declared, what = "egm2008", "Copernicus DSM product name (EGM2008 heights)"
            elif _SRTM.search(name) or _NASADEM.search(name):
                declared, what = "egm96", "SRTM/NASADEM product name (EGM96 heights)"
    if setting != "auto":
        if declared is not None and declared != setting:
            warnings.warn(f"{path}: the file declares {what} but vertical_datum={setting!r} was given: the "
                          f"heights are taken as {setting}", stacklevel=4)
        return setting, what
    if declared is None:
        warnings.warn(f"{path}: no vertical datum declared ({what}): heights taken as WGS84 ellipsoidal; set "
                      "vertical_datum (egm96, egm2008 or ellipsoid) to say what they are", stacklevel=4)
        return "ellipsoid", f"{what} (taken as WGS84 ellipsoidal)"
    if isce and isce_reference is None:
        warnings.warn(f"{path}: {what}: heights converted from EGM96; set vertical_datum if they are not",
                      stacklevel=4)
    return declared, what


_UNITS = {"": 1.0, "m": 1.0, "metre": 1.0, "meter": 1.0, "metres": 1.0, "meters": 1.0,
          "ft": 0.3048, "foot": 0.3048, "feet": 0.3048, "internationalfoot": 0.3048, "internationalfeet": 0.3048,
          "usft": 1200.0 / 3937.0, "ftus": 1200.0 / 3937.0, "ussurveyfoot": 1200.0 / 3937.0,
          "ussurveyfeet": 1200.0 / 3937.0, "footus": 1200.0 / 3937.0, "usfoot": 1200.0 / 3937.0,
          "surveyfoot": 1200.0 / 3937.0}


def unit_factor(path: str, unit: str | None) -> float:
    """Metres per stored height unit ("m", "metre", "ft", "foot", "US survey foot", ...; none = m)."""
    key = re.sub(r"[\s_\-.()]+", "", (unit or "").lower())
    if key not in _UNITS:
        raise InputFileError(path, "heights in metres or feet (GDAL unit type / UNITS metadata)", f"unit {unit!r}")
    return _UNITS[key]


def _vertical_unit(crs) -> str | None:
    if crs is None:
        return None
    import pyproj

    pc = pyproj.CRS.from_user_input(crs.to_wkt())
    vert = next((s for s in pc.sub_crs_list if s.is_vertical), None) if pc.is_compound else None
    if vert is not None and vert.axis_info:
        return vert.axis_info[0].unit_name
    return None


def geoid_grid_available(model: str = "EGM96") -> str | None:
    """Where the ``model`` geoid grid used for datum conversion comes from: PROJ's grid when
    installed where PROJ looks, else the compact grid shipped in ``daskinsar/data``, else None."""
    return find_proj_grid(model) or compact_grid_path(model)


# ----------------------------------------------------------------------------- opening
def _horizontal_crs(crs):
    import pyproj

    pc = pyproj.CRS.from_user_input(crs.to_wkt())
    horiz = pc.sub_crs_list[0] if pc.is_compound else pc
    if horiz.is_geographic and len(horiz.axis_info) == 3:
        horiz = horiz.to_2d()
    return horiz


def _chunk_edges(chunks: int, block: tuple[int, int]) -> tuple[int, int]:
    """Chunk shape near ``chunks`` samples, a whole number of file blocks."""
    by, bx = max(int(block[0]), 1), max(int(block[1]), 1)
    return (max(1, round(chunks / by)) * by if by < chunks else chunks,
            max(1, round(chunks / bx)) * bx if bx < chunks else chunks)


def _check_gtiff_blocks(path: str, src) -> None:
    """Refuse a GeoTIFF whose block table does not match its size (fewer blocks stored than its width and
    height declare: GDAL would read the missing ones as nodata), with a block that ends beyond the end of
    the file (truncated), or with a block of an offset but no bytes. Blocks of a sparse file (offset and
    byte count 0) are nodata by the format: they are read as voids, and counted as such."""
    if src.driver != "GTiff":
        return
    import tifffile  # imported when used, like rasterio here (import time); rasterio gives no block table length

    size = os.path.getsize(path)
    by, bx = src.block_shapes[0]
    nby, nbx = -(-src.height // by), -(-src.width // bx)
    try:
        with tifffile.TiffFile(path) as tf:
            page = tf.pages.first
            offs = np.asarray(page.dataoffsets, dtype=np.int64)
            cnts = np.asarray(page.databytecounts, dtype=np.int64)
            planes = page.samplesperpixel if page.planarconfig == 2 else 1
    except Exception as exc:  # tifffile raises several types on damaged files
        raise InputFileError(path, "a readable GeoTIFF block table", describe(exc)) from None
    if offs.size != nby * nbx * planes or cnts.size != offs.size:
        raise InputFileError(path, f"{nby * nbx * planes} blocks of {by} x {bx} for its {src.height} x {src.width} "
                                   "samples", f"{offs.size} block offsets and {cnts.size} byte counts stored "
                                              "(damaged sizes or block table)")
    bad = np.flatnonzero((offs > 0) != (cnts > 0))
    if bad.size:
        k = int(bad[0])
        raise InputFileError(path, "GeoTIFF blocks of the bytes they point to (or sparse: offset and size 0)",
                             f"block {k} at byte {offs[k]} of {cnts[k]} bytes")
    end = offs + cnts
    if end.max(initial=0) > size:
        k = int(np.argmax(end))
        raise InputFileError(path, "a complete GeoTIFF", f"truncated: block {k} ends at byte {end[k]} of a "
                                                        f"{size}-byte file")


def _open_gdal(path: str, vertical_datum: str, sample_at: str) -> tuple:
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.warp import calculate_default_transform

    src = open_raster(path, "a DEM raster readable by GDAL (GeoTIFF) or an ISCE .dem.xml")
    with src:
        if src.count != 1:
            raise InputFileError(path, "a DEM raster with one band of heights", f"{src.count} bands")
        if src.width < 2 or src.height < 2:
            raise InputFileError(path, "a DEM of at least 2 x 2 samples", f"{src.height} x {src.width}")
        if src.crs is None:
            raise InputFileError(path, "a DEM raster with a CRS (e.g. EPSG:4326)", "no CRS")
        t = src.transform
        if not all(np.isfinite([t.a, t.b, t.c, t.d, t.e, t.f])) or t.a == 0.0 or t.e == 0.0:
            raise InputFileError(path, "a geotransform of finite numbers and non-zero pixel sizes",
                                 f"{tuple(t)[:6]}")
        if t.b != 0.0 or t.d != 0.0:
            raise InputFileError(path, "a north-up DEM grid (geotransform without rotation or shear)",
                                 f"rotation/shear terms {t.b:g}, {t.d:g}; warp it north-up first (gdalwarp)")
        _check_gtiff_blocks(path, src)
        tags = {**src.tags(), **src.tags(1)}
        unit = src.units[0] or tags.get("UNITS") or tags.get("units") or tags.get("unit") or _vertical_unit(src.crs)
        factor = unit_factor(path, unit)
        datum, declared = resolve_vertical_datum(path, vertical_datum, crs=src.crs, tags=tags)
        scale = float(src.scales[0]) if src.scales else 1.0
        offset = float(src.offsets[0]) if src.offsets else 0.0
        out_dtype = np.float64 if np.dtype(src.dtypes[0]) == np.float64 else np.float32
        horiz = _horizontal_crs(src.crs)
        import pyproj

        geographic = horiz.is_geographic and horiz.equals(pyproj.CRS.from_epsg(4326), ignore_axis_order=True)
        block = src.block_shapes[0]
        if geographic:
            shape, warp = (src.height, src.width), None
        else:
            hcrs = rasterio.crs.CRS.from_wkt(horiz.to_wkt())
            tr, w, h = calculate_default_transform(hcrs, "EPSG:4326", src.width, src.height, *src.bounds)
            t = tr
            shape = (h, w)
            warp = dict(src_crs=hcrs, crs="EPSG:4326", transform=tr, width=w, height=h,
                        resampling=Resampling.bilinear, src_nodata=src.nodata, nodata=np.nan,
                        dtype="float64" if out_dtype == np.float64 else "float32",
                        tolerance=1e-6)  # px: a near-exact transform per pixel (rasterio refuses 0)
            block = (512, 512)
        meta = {"area_or_point": tags.get("AREA_OR_POINT", "Area"), "units_file": unit or "unspecified (m)",
                "crs_file": horiz.name if geographic else f"{horiz.name} (reprojected to EPSG:4326)",
                "mtime": os.path.getmtime(path), "size": os.path.getsize(path)}
    half = 0.5 if sample_at == "centre" else 0.0
    grid = (t.c + half * t.a, t.a, t.f + half * t.e, t.e)
    base = GdalBand(path, shape, out_dtype, warp)
    return base, grid, block, factor, scale, offset, datum, declared, meta


def _open_isce(path: str, vertical_datum: str) -> tuple:
    img = parse_isce_xml(path)
    input_file(img.data_path, f"the raster beside the ISCE .xml {path}", allow_empty=True)
    itemsize = np.dtype(img.dtype).itemsize
    want = img.width * img.length * itemsize
    have = os.path.getsize(img.data_path)
    if have != want:
        raise InputFileError(img.data_path, f"{want} bytes ({img.length} x {img.width} {img.isce_type} per "
                                            f"{os.path.basename(path)})", f"{have} bytes")
    if img.width < 2 or img.length < 2:
        raise InputFileError(path, "a DEM of at least 2 x 2 samples", f"{img.length} x {img.width}")
    datum, declared = resolve_vertical_datum(path, vertical_datum, isce_reference=img.reference, isce=True)
    out_dtype = np.float64 if img.isce_type == "DOUBLE" else np.float32
    void = ISCE_SHORT_VOID if img.isce_type == "SHORT" else None
    base = RawBand(img.data_path, (img.length, img.width), img.dtype, out_dtype, void)
    meta = {"units_file": "m (ISCE)", "crs_file": "WGS 84 (ISCE)", "isce_data_file": img.data_path,
            "mtime": os.path.getmtime(img.data_path), "size": have}
    return base, (img.lon0_deg, img.dlon_deg, img.lat0_deg, img.dlat_deg), (1024, 1024), 1.0, 1.0, 0.0, datum, \
        declared, meta


def open_dem(path, *, interpolation: str = "biquintic", vertical_datum: str = "auto", chunks: int = 1024,
             sample_at: Literal["centre", "corner"] = "centre", edge: EdgeMode = "fill") -> Dem:
    """Open a DEM file lazily as a :class:`~daskinsar.geometry.dem.Dem` of WGS84 ellipsoidal heights (m).

    Parameters
    ----------
    path : a GeoTIFF (or anything GDAL reads) or an ISCE image ``.xml`` (``*.dem.xml``,
        ``*.dem.wgs84.xml``; the raster beside it is read directly, no ``.vrt`` needed).
    interpolation : the Dem's ``method`` (see :data:`~daskinsar.geometry.dem_interp.METHODS`).
    vertical_datum : "auto" (from the file) or "ellipsoid" / "egm96" / "egm2008" (always wins).
    chunks : dask chunk edge (samples), rounded to whole file blocks.
    sample_at : "centre" (GDAL convention, see module docstring) or "corner".
    edge : the Dem's edge handling ("fill" = NaN beyond the samples, or "clamp").

    Attributes of the result (``dem.attrs``): ``height_reference`` (what the file declares),
    ``vertical_datum`` (what was used), ``datum_conversion``, ``units_file``, ``unit_factor``,
    ``crs_file``, ``sample_at``.
    """
    path = str(path)
    if interpolation not in METHODS:
        raise ValueError(f"interpolation must be one of {METHODS}, not {interpolation!r}")
    if sample_at not in ("centre", "corner"):
        raise ValueError(f"sample_at must be 'centre' or 'corner', not {sample_at!r}")
    input_file(path, "a DEM raster (GeoTIFF) or an ISCE .dem.xml")
    with open(path, "rb") as f:
        head = f.read(512).lstrip()
    if path.lower().endswith(".xml") and b"imagefile" in head.lower():
        base, grid, block, factor, scale, offset, datum, declared, meta = _open_isce(path, vertical_datum)
        meta["sample_at"] = "centre (ISCE startingValue)"
    else:
        base, grid, block, factor, scale, offset, datum, declared, meta = _open_gdal(path, vertical_datum, sample_at)
        meta["sample_at"] = sample_at
    lon0, dlon, lat0, dlat = grid
    geoid = geoid_grid(_GEOID_MODEL[datum]) if datum in _GEOID_MODEL else None
    heights = Heights(base, lon0, dlon, lat0, dlat, scale, offset, factor, geoid)
    conversion = "none (heights used as they are)" if geoid is None else \
        f"{geoid.model} -> WGS84 ellipsoid, h = H + N, N bilinear from {geoid.source}"
    name = "dem-read-" + tokenize(os.path.abspath(path), meta.pop("mtime"), meta.pop("size"), grid, factor, scale,
                                  offset, datum, conversion, getattr(base, "warp", None) is not None,
                                  str(base.dtype), chunks)
    arr = da.from_array(heights, chunks=_chunk_edges(chunks, block), name=name, lock=False, asarray=True,
                        meta=np.empty((0, 0), base.dtype))
    attrs = {**meta, "height_reference": declared, "vertical_datum": datum, "datum_conversion": conversion,
             "unit_factor": factor}
    return Dem(arr, lon0, lat0, dlon, dlat, method=interpolation, source=os.path.abspath(path), edge=edge,
               attrs=attrs)


# ----------------------------------------------------------------------------- writing
def write_dem_geotiff(array, lon0: float, lat0: float, dlon: float, dlat: float, path, *,
                      nodata: float = np.nan, height_reference: Literal["ellipsoid", "egm96", "egm2008"] = "ellipsoid",
                      dtype=np.float32) -> str:
    """Write a lon/lat DEM as a tiled, deflate-compressed GeoTIFF (EPSG:4326).

    ``array[i, j]`` is the height (m) at longitude ``lon0 + j * dlon`` and latitude
    ``lat0 + i * dlat`` (deg; sample *centres*, ``dlat < 0`` for north-up). The file's
    geotransform (pixel corners, ``AREA_OR_POINT=Area``) is shifted by half a pixel
    accordingly, so :func:`open_dem` returns exactly these coordinates. The height reference
    is written as ``HEIGHT_REFERENCE`` metadata; ``egm96`` / ``egm2008`` also use the compound
    CRS EPSG:9707 / EPSG:4326+3855.
    """
    import rasterio
    from rasterio.transform import Affine

    a = np.asarray(array)
    if a.ndim != 2:
        raise ValueError(f"DEM array must be 2-D, got shape {a.shape}")
    transform = Affine(dlon, 0.0, lon0 - dlon / 2.0, 0.0, dlat, lat0 - dlat / 2.0)
    crs = {"ellipsoid": "EPSG:4326", "egm96": "EPSG:9707", "egm2008": "EPSG:4326+3855"}[height_reference]
    profile = dict(driver="GTiff", height=a.shape[0], width=a.shape[1], count=1, dtype=np.dtype(dtype).name,
                   crs=crs, transform=transform, nodata=nodata, compress="deflate")
    if a.shape[0] >= 256 and a.shape[1] >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    path = str(path)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(a.astype(dtype), 1)
        dst.update_tags(AREA_OR_POINT="Area", HEIGHT_REFERENCE=height_reference)
        dst.set_band_unit(1, "metre")
    return path
