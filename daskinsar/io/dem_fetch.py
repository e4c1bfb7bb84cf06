"""Download a DEM for a scene footprint when none is given, through ``dem-stitcher``.

Why dem-stitcher (ACCESS-Cloud-Based-InSAR/dem-stitcher, used by ASF's HyP3 ISCE2 jobs)
and not sardem: dem-stitcher reads the tiles with rasterio alone (windowed reads of COGs, no
``osgeo`` import, which has no PyPI wheel); sardem's Copernicus path needs GDAL's own Python
bindings and its SRTM path prompts for credentials and writes zeros for a tile it cannot
find. dem-stitcher's tile index ships with it (one URL per tile); a mirror
(``tile_server``) is used by rewriting each URL's scheme and host to the mirror's base URL,
the path kept: a mirror holds the tiles in the source's own layout.

The tiles keep their geoid heights here (``dst_ellipsoidal_height=False``): the GeoTIFF
written is tagged with its vertical datum (EGM2008 for Copernicus, EGM96 for SRTM/NASADEM)
and :func:`daskinsar.io.dem.open_dem` converts it like any other file. Sample registration
is left as the tiles have it (no relabelling). The file is cached in the given folder (the
run folder) and reused.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from urllib.parse import urlsplit

import numpy as np

from ..errors import DaskInsarError, DemCoverageError

__all__ = ["fetch_dem", "DemDownloadError", "SOURCES"]

#: daskinsar source name -> (dem-stitcher dataset, vertical datum of its heights, description)
SOURCES = {
    "copernicus": ("glo_30", "egm2008", "Copernicus GLO-30 DSM"),
    "copernicus-90": ("glo_90", "egm2008", "Copernicus GLO-90 DSM"),
    "srtm": ("srtm_v3", "egm96", "SRTM v3 (1 arcsec)"),
    "nasadem": ("nasadem", "egm96", "NASADEM"),
}
_CRS = {"egm2008": "EPSG:4326+3855", "egm96": "EPSG:9707"}
_BUFFER_DEG = 0.02  # around the footprint: room for the crop margin and interpolation stencils
_PATCH_LOCK = threading.Lock()

HOW_TO_GIVE = ("give a DEM instead: set dem.path to a GeoTIFF or an ISCE .dem.xml covering the scene "
               "(heights in m; dem.vertical_datum says what they are above)")


class DemDownloadError(DaskInsarError):
    """No DEM was given and none could be downloaded."""


@contextlib.contextmanager
def _mirror(tile_server: str | None):
    """Make dem-stitcher read its tiles from ``tile_server`` (same paths) while inside."""
    if tile_server is None:
        yield
        return
    import dem_stitcher.stitcher as st

    base = tile_server.rstrip("/")
    original = st.get_overlapping_dem_tiles

    def rewritten(bounds, dem_name):
        df = original(bounds, dem_name)
        df["url"] = [base + urlsplit(u).path for u in df["url"]]
        return df

    with _PATCH_LOCK:
        st.get_overlapping_dem_tiles = rewritten
        try:
            yield
        finally:
            st.get_overlapping_dem_tiles = original


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def fetch_dem(box: tuple[float, float, float, float], source: str, cache_dir: str, *,
              tile_server: str | None = None) -> str:
    """A GeoTIFF of ``source`` heights covering the lon/lat ``box`` = (lon_min, lon_max, lat_min,
    lat_max) deg plus a small buffer, downloaded once into ``cache_dir`` and reused.

    Raises :class:`DemDownloadError` (offline, server errors, missing credentials), saying how to
    give a DEM instead, or :class:`DemCoverageError` when the source has no tile there.
    """
    if source not in SOURCES:
        raise DemDownloadError(f"DEM source must be one of {', '.join(SOURCES)}, not {source!r}")
    dataset, datum, title = SOURCES[source]
    lon_min, lon_max, lat_min, lat_max = box
    b = [math.floor((lon_min - _BUFFER_DEG) * 100) / 100, math.floor((lat_min - _BUFFER_DEG) * 100) / 100,
         math.ceil((lon_max + _BUFFER_DEG) * 100) / 100, math.ceil((lat_max + _BUFFER_DEG) * 100) / 100]
    os.makedirs(cache_dir, exist_ok=True)
    out = os.path.join(cache_dir, f"{source}_{b[0]:.2f}_{b[2]:.2f}_{b[1]:.2f}_{b[3]:.2f}.tif")
    if os.path.isfile(out):
        return out
    where = tile_server or "dem-stitcher's default servers"
    what = f"{title} heights for lon {b[0]:.2f} .. {b[2]:.2f}, lat {b[1]:.2f} .. {b[3]:.2f} from {where}"
    try:
        # imported here: dem-stitcher pulls in geopandas (about 1 s), needed only to download
        from dem_stitcher.exceptions import NoDEMCoverage
        from dem_stitcher.stitcher import stitch_dem
    except ImportError as exc:
        raise DemDownloadError(f"no DEM given and dem-stitcher is not importable ({_reason(exc)}); "
                               f"{HOW_TO_GIVE}") from None
    try:
        with _mirror(tile_server):
            arr, profile = stitch_dem(b, dataset, dst_ellipsoidal_height=False, dst_area_or_point=None,
                                      n_threads_downloading=2, n_threads_reproj=1)
    except NoDEMCoverage:
        raise DemCoverageError(f"no DEM given, and {title} has no tile in lon {b[0]:.2f} .. {b[2]:.2f}, lat "
                               f"{b[1]:.2f} .. {b[3]:.2f}; {HOW_TO_GIVE}") from None
    except Exception as exc:  # network, HTTP, credentials, GDAL: one line
        raise DemDownloadError(f"no DEM given and downloading {what} failed ({_reason(exc)}); {HOW_TO_GIVE}") \
            from None
    _write(out, np.asarray(arr, np.float32), profile, datum, title, tile_server)
    return out


def _write(path: str, arr: np.ndarray, profile: dict, datum: str, title: str, server: str | None) -> None:
    import rasterio

    prof = dict(driver="GTiff", height=arr.shape[0], width=arr.shape[1], count=1, dtype="float32",
                crs=_CRS[datum], transform=profile["transform"], nodata=np.nan, compress="deflate")
    if arr.shape[0] >= 256 and arr.shape[1] >= 256:
        prof.update(tiled=True, blockxsize=256, blockysize=256)
    tmp = path + ".part"
    with rasterio.open(tmp, "w", **prof) as dst:
        dst.write(arr, 1)
        # the geotransform is GDAL's (pixel corners), as read from the tiles: samples stay where they were
        dst.update_tags(HEIGHT_REFERENCE=datum,
                        SOURCE=f"{title} via dem-stitcher" + (f" from {server}" if server else ""))
        dst.set_band_unit(1, "metre")
    os.replace(tmp, path)
