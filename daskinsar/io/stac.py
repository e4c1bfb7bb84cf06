"""A STAC item per run, for its geocoded products (pystac), so catalogues and cloud tools index them.

:func:`run_item` builds a STAC 1.1 item: the footprint (the geocoded grid's extent, in WGS84),
``start_datetime`` / ``end_datetime`` from the reference's first line to the secondary's last,
the common metadata (platform, instruments, created, processing software) and one asset per
GeoTIFF (Cloud-Optimised GeoTIFF media type; title and description from the one product table)
plus the ``products.zarr`` store. The pair's InSAR metadata (wavelength, dates, baselines, look
side, heading, incidence) are item properties under the ``daskinsar:`` prefix.

Validation needs no network: :func:`validate_item` uses pystac's JSON-schema validator with the
STAC core schemas pystac ships (``pystac.validation.local_validator``). The item therefore
declares no STAC extension (``proj``, ``sar``, ``sat``): their schemas are not packaged with pystac
and could only be fetched online; the assets are GeoTIFFs that carry their CRS themselves.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pystac
import xarray as xr

from ..products import product_info

__all__ = ["run_item", "validate_item", "COG_MEDIA_TYPE", "ZARR_MEDIA_TYPE"]

COG_MEDIA_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
ZARR_MEDIA_TYPE = "application/vnd+zarr"


def _utc(s: str) -> dt.datetime:
    s = s.rstrip("Z")
    base, _, frac = s.partition(".")
    return dt.datetime.fromisoformat(base + ("." + frac[:6] if frac else "")).replace(tzinfo=dt.timezone.utc)


def _lonlat_bounds(geo: xr.Dataset) -> tuple[float, float, float, float]:
    import rioxarray  # noqa: F401  (registers .rio)
    from rasterio.warp import transform_bounds

    left, bottom, right, top = geo.rio.bounds(recalc=True) if "spatial_ref" in geo.coords else (
        float(geo.x.min()), float(geo.y.min()), float(geo.x.max()), float(geo.y.max()))
    crs = geo.rio.crs
    if crs is not None and not (crs.is_geographic and crs.to_epsg() == 4326):
        left, bottom, right, top = transform_bounds(crs, "EPSG:4326", left, bottom, right, top, densify_pts=21)
    return float(left), float(bottom), float(right), float(top)


def run_item(run_name: str, geo: xr.Dataset, meta: dict[str, Any], geotiffs: list[str],
             zarr_href: str = "./products.zarr") -> pystac.Item:
    """The STAC item of a run: ``geo`` its geocode group (for the footprint), ``meta`` the pair's metadata
    (:func:`daskinsar.io.run_metadata.pair_metadata`), ``geotiffs`` the GeoTIFFs' paths relative to the item
    (``geo/unw.tif``, ``geo/geometry/incidence.tif``, ...)."""
    west, south, east, north = _lonlat_bounds(geo)
    footprint = {"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north], [west, north],
                                                     [west, south]]]}
    start, end = _utc(meta["reference_start_utc"]), _utc(meta["secondary_stop_utc"])
    props: dict[str, Any] = {
        "platform": str(meta.get("platform") or meta["sensor"]).lower(),
        "instruments": [str(meta["sensor"]).lower()],
        "created": dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z"),
        "description": f"daskinsar interferometric pair {meta.get('reference_date')} / {meta.get('secondary_date')}",
    }
    for k in ("wavelength_m", "look_side", "reference_start_utc", "reference_stop_utc", "secondary_start_utc",
              "secondary_stop_utc", "perpendicular_baseline_m", "parallel_baseline_m", "platform_heading_deg",
              "orbit_direction", "incidence_centre_deg", "polarization", "daskinsar_version"):
        if meta.get(k) is not None:
            props[f"daskinsar:{k}"] = meta[k]
    item = pystac.Item(id=run_name, geometry=footprint, bbox=[west, south, east, north], datetime=None,
                       properties=props, start_datetime=start, end_datetime=end)
    for href in geotiffs:
        name = href.rsplit("/", 1)[-1].removesuffix(".tif")
        group = "geocode_geometry" if "/geometry/" in f"/{href}" else "geocode"
        info = product_info(group, name)
        item.add_asset(name, pystac.Asset(
            href=href if href.startswith((".", "/")) or "://" in href else f"./{href}", media_type=COG_MEDIA_TYPE,
            title=info.long_name if info else name, description=(f"{info.description} ({info.units})" if info else None),
            roles=["metadata" if group == "geocode_geometry" else "data"]))
    item.add_asset("products", pystac.Asset(href=zarr_href, media_type=ZARR_MEDIA_TYPE, title="daskinsar products",
                                            description="Zarr v3 store, one group per step (CF attributes)",
                                            roles=["data"]))
    return item


def validate_item(item: pystac.Item) -> list[str]:
    """Validate against the STAC core schemas packaged with pystac (no network); returns the schema URIs used,
    raises ``pystac.errors.STACValidationError`` when invalid."""
    from pystac.validation import JsonSchemaSTACValidator

    return [str(u) for u in item.validate(validator=JsonSchemaSTACValidator())]
