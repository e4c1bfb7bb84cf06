"""Product names, units and descriptions: THE one table (:data:`PRODUCTS`).

Every place a product is named or described takes it from here: the run's stores (CF
attributes set by :func:`cf_attributes` before each write), the GeoTIFF band descriptions and
unit types (:mod:`daskinsar.io.export`), the ISCE layout export (ISCE file names), the STAC
item, ``daskinsar show``, the geocode list and the README's products block
(:mod:`daskinsar.docs`).

Names: daskinsar ``group/variable`` (``unwrap/unw``) and the ISCE file names users know
(``filt_topophase.unw``). A ``.geo`` suffix on an ISCE name means the geocoded product in the
``geocode`` group (``filt_topophase.flat.geo`` -> ``geocode/filt_ifg``); the geocoded geometry
(incidence, heading, height: always geocoded beside the products) is the ``geocode_geometry``
group.

Units are UDUNITS strings as CF wants them (``degree``, ``m``, ``rad``, ``1``: dimensionless;
pixel offsets and labels are dimensionless counts, their long names say in what).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from .errors import ConfigError

__all__ = ["Product", "PRODUCTS", "COORDINATES", "ISCE_PRODUCT_NAMES", "ISCE_NAMES", "GEOMETRY_GROUP",
           "GEOMETRY_FIELDS", "CF_CONVENTIONS", "product_info", "geocoded_variable", "resolve_product_name",
           "resolve_product", "cf_attributes", "azimuth_time_units"]

CF_CONVENTIONS = "CF-1.10"
#: the group of the geocoded geometry (incidence, heading, height), written by the geocode step
GEOMETRY_GROUP = "geocode_geometry"
#: the geometry fields geocoded beside the products (multilooked ``interferogram`` variables)
GEOMETRY_FIELDS = ("incidence", "heading", "hgt")


@dataclass(frozen=True)
class Product:
    """One stored variable: its units (UDUNITS), type, CF long name, CF standard name (None where CF has
    none), what it is, and the ISCE file names that mean it."""

    units: str
    dtype: str
    long_name: str
    description: str
    standard_name: str | None = None
    isce: tuple[str, ...] = ()


def _p(units: str, dtype: str, long_name: str, description: str = "", standard_name: str | None = None,
       isce: tuple[str, ...] = ()) -> Product:
    return Product(units, dtype, long_name, description or long_name, standard_name, isce)


_SLC = "complex64"
#: ``group/variable`` -> its description; the rows in the order the README shows them
PRODUCTS: dict[str, Product] = {
    # scene stores (RUN/reference.zarr, RUN/reference_slc.zarr, ...): group = the store's role
    "focus/reference": _p("1", _SLC, "focused reference SLC", "focused reference SLC (raw inputs only; "
                          "RUN/reference_slc.zarr)", isce=("reference.slc",)),
    "focus/secondary": _p("1", _SLC, "focused secondary SLC", "focused secondary SLC (raw inputs only; "
                          "RUN/secondary_slc.zarr)", isce=("secondary.slc",)),
    "scene/slc": _p("1", _SLC, "single-look complex image", "a scene store's SLC (calibration as the sensor "
                    "product gives it)"),
    "scene/raw": _p("1", _SLC, "raw echoes", "a scene store's raw echoes (complex samples)"),
    # topo: full-resolution reference grid
    "topo/lat": _p("degree_north", "float64", "latitude of the reference pixel on the DEM", standard_name="latitude",
                   isce=("lat.rdr",)),
    "topo/lon": _p("degree_east", "float64", "longitude of the reference pixel on the DEM",
                   standard_name="longitude", isce=("lon.rdr",)),
    "topo/hgt": _p("m", "float32", "height above the WGS84 ellipsoid",
                   standard_name="height_above_reference_ellipsoid", isce=("z.rdr", "hgt.rdr")),
    "topo/incidence": _p("degree", "float32", "incidence angle of the line of sight at the target",
                         "LOS incidence at the target, from the ellipsoid normal (ISCE los.rdr band 1)",
                         isce=("los.rdr", "los.rdr.incidence")),
    "topo/heading": _p("degree", "float32", "azimuth of the target-to-platform line of sight from north, anticlockwise",
                       "azimuth of the line of sight from the target towards the platform, from north, anticlockwise, "
                       "in (-180, 180] (ISCE los.rdr band 2)",
                       isce=("los.rdr.heading",)),
    "topo/azimuth_offset": _p("1", "float32", "geometric azimuth offset (lines)",
                              "geometric offset, secondary minus reference line"),
    "topo/range_offset": _p("1", "float32", "geometric range offset (columns)",
                            "geometric offset, secondary minus reference column"),
    "topo/geometric_phase": _p("rad", "float64", "flat-earth and topographic phase",
                               "flat-earth + topographic phase removed by flattening"),
    # offsets: the dense-offset window grid
    "offsets/azimuth": _p("1", "float32", "dense azimuth offset (lines)",
                          "dense (ampcor) offsets, azimuth, on the window grid"),
    "offsets/range": _p("1", "float32", "dense range offset (columns)",
                        "dense (ampcor) offsets, range, on the window grid"),
    "offsets/snr": _p("1", "float32", "correlation signal-to-noise ratio", "correlation SNR of each window"),
    "offsets/peak": _p("1", "float32", "normalised correlation peak", "correlation peak of each window (0..1)"),
    "offsets/var_azimuth": _p("1", "float32", "variance of the azimuth offset (lines^2)",
                              "ampcor's variance estimate of the azimuth offset"),
    "offsets/var_range": _p("1", "float32", "variance of the range offset (columns^2)",
                            "ampcor's variance estimate of the range offset"),
    "offsets/cov_azimuth_range": _p("1", "float32", "covariance of the azimuth and range offsets (pixels^2)",
                                    "ampcor's covariance estimate of the two offsets"),
    "offsets/kept": _p("1", "bool", "window kept by culling", "window kept by culling (true/false)"),
    # resample
    "resample/secondary": _p("1", _SLC, "secondary SLC resampled onto the reference grid"),
    "resample/outside": _p("1", "bool", "no secondary sample at this pixel",
                           "the resampled secondary has no data here (true/false)"),
    # interferogram: multilooked grid
    "interferogram/ifg": _p("1", _SLC, "flattened multilooked interferogram",
                            "flattened, multilooked reference * conj(secondary)", isce=("topophase.flat",)),
    "interferogram/coherence": _p("1", "float32", "sample coherence", "sample coherence (0..1)",
                                  isce=("topophase.cor",)),
    "interferogram/phsig": _p("1", "float32", "phase-sigma coherence",
                              "phase-sigma (slope-corrected phase-only) coherence (0..1)", isce=("phsig.cor",)),
    "interferogram/amplitude": _p("1", "float32", "interferogram amplitude",
                                  "sqrt(mean|ref|^2 * mean|sec|^2) per look cell (SLC amplitude units)"),
    "interferogram/power_reference": _p("1", "float32", "mean reference power per look cell",
                                        "mean |reference|^2 per look cell (SLC power units)"),
    "interferogram/power_secondary": _p("1", "float32", "mean secondary power per look cell",
                                        "mean |secondary|^2 per look cell (SLC power units)"),
    "interferogram/lat": _p("degree_north", "float64", "latitude of the look cell on the DEM", standard_name="latitude"),
    "interferogram/lon": _p("degree_east", "float64", "longitude of the look cell on the DEM",
                            standard_name="longitude"),
    "interferogram/hgt": _p("m", "float32", "height above the WGS84 ellipsoid", "height above the WGS84 ellipsoid, "
                            "averaged per look cell", standard_name="height_above_reference_ellipsoid"),
    "interferogram/incidence": _p("degree", "float32", "incidence angle of the line of sight at the target",
                                  "LOS incidence at the target, averaged per look cell"),
    "interferogram/heading": _p("degree", "float32", "azimuth of the target-to-platform line of sight from north, anticlockwise",
                                "azimuth of the line of sight from the target towards the platform, from north, "
                                "anticlockwise, averaged per look cell"),
    "interferogram/layover_shadow": _p("1", "uint8", "layover/shadow flags of the look cell",
                                       "layover/shadow flags OR-ed over the look cell (0 none, 1 shadow, 2 layover, "
                                       "3 both)"),
    # filter
    "filter/ifg": _p("1", _SLC, "Goldstein-Werner filtered interferogram", isce=("filt_topophase.flat",)),
    "filter/phsig": _p("1", "float32", "phase-sigma coherence of the filtered interferogram",
                       "phase-sigma coherence of the filtered interferogram (0..1)"),
    # unwrap
    "unwrap/unw": _p("rad", "float32", "unwrapped phase", "unwrapped phase of the filtered interferogram "
                     "(relative: an unknown constant 2*pi*k)", isce=("filt_topophase.unw",)),
    "unwrap/conncomp": _p("1", "uint32", "SNAPHU connected component", "SNAPHU connected component label, "
                          "0 = not unwrapped", isce=("filt_topophase.unw.conncomp", "filt_topophase.conncomp")),
    "unwrap/los_displacement": _p("m", "float32", "line-of-sight displacement, positive towards the platform",
                                  "LOS displacement, positive towards the platform (relative)",
                                  isce=("los_displacement",)),
    # baseline: a coarse node grid of the reference scene
    "baseline/perpendicular_baseline": _p("m", "float64", "perpendicular baseline",
                                          "perpendicular baseline at the node (ISCE2's definition and sign)"),
    "baseline/parallel_baseline": _p("m", "float64", "parallel baseline",
                                     "parallel baseline at the node, positive when the secondary is nearer the target"),
    "baseline/height": _p("m", "float64", "target height above the WGS84 ellipsoid at the node (topo)",
                          standard_name="height_above_reference_ellipsoid"),
    # layover: full-resolution reference grid
    "layover/mask": _p("1", "uint8", "layover/shadow mask", "layover/shadow mask (ISCE3's values: 0 none, "
                       "1 shadow, 2 layover, 3 both)"),
    # water: multilooked grid
    "water/mask": _p("1", "uint8", "water mask", "water (1) / land (0) from the user's water mask raster, "
                     "at the look cells; water is left out by the unwrapper"),
    # commonband: full-resolution reference grid (only when an axis is filtered)
    "commonband/reference": _p("1", _SLC, "reference SLC filtered to the common band",
                               "reference SLC filtered to the common range / Doppler band (only when an axis is "
                               "filtered; the plan is in the group's attributes)"),
    "commonband/secondary": _p("1", _SLC, "resampled secondary SLC filtered to the common band"),
    # ionosphere: multilooked grid
    "ionosphere/dispersive_phase": _p("rad", "float32", "dispersive (ionospheric) phase",
                                      "dispersive (ionospheric) phase in the interferogram at f0_hz, filtered "
                                      "(plane fit, window in m)", isce=("dispersive.bil.unwCor.filt",)),
    "ionosphere/nondispersive_phase": _p("rad", "float32", "unwrapped phase without the ionosphere",
                                         "unw - dispersive_phase: the unwrapped phase without the ionosphere "
                                         "(also named `unwrap/unw_corrected`)"),
    "ionosphere/dispersive_phase_raw": _p("rad", "float32", "split-spectrum dispersive phase before filtering",
                                          isce=("dispersive.bil",)),
    "ionosphere/nondispersive_phase_raw": _p("rad", "float32",
                                             "split-spectrum non-dispersive phase before filtering",
                                             isce=("nondispersive.bil",)),
    "ionosphere/mask": _p("1", "uint8", "pixels the dispersive estimate used", "pixels the dispersive estimate "
                          "used (1/0)", isce=("mask.bil",)),
    "ionosphere/los_displacement_corrected": _p("m", "float32", "line-of-sight displacement without the "
                                                "ionosphere, positive towards the platform",
                                                "LOS displacement without the ionosphere (also named "
                                                "`unwrap/los_displacement_corrected`)"),
}

#: daskinsar names that stand for another product (the ionosphere step's corrected unwrapped phase and
#: displacement, named as if in the unwrap group, live in the ionosphere group)
ALIASES: dict[str, str] = {
    "unwrap/unw_corrected": "ionosphere/nondispersive_phase",
    "unwrap/los_displacement_corrected": "ionosphere/los_displacement_corrected",
}

#: coordinate name -> description (``azimuth_time`` gets its epoch in :func:`cf_attributes`)
COORDINATES: dict[str, Product] = {
    "azimuth_time": _p("s", "float64", "zero-Doppler azimuth time of the line", "azimuth time (UTC), stored as "
                       "seconds since the reference scene's epoch", standard_name="time"),
    "slant_range": _p("m", "float64", "one-way slant range of the column"),
    "azimuth_window": _p("1", "int64", "index of the dense-offset window in azimuth"),
    "range_window": _p("1", "int64", "index of the dense-offset window in range"),
    "azimuth_center": _p("1", "float64", "reference line at the window centre"),
    "range_center": _p("1", "float64", "reference column at the window centre"),
}

# ISCE file name -> daskinsar "group/variable"
ISCE_PRODUCT_NAMES: dict[str, str] = {name: key for key, p in PRODUCTS.items() for name in p.isce}

#: ISCE product names -> (group, variable)
ISCE_NAMES: dict[str, tuple[str, str]] = {k: (v.split("/", 1)[0], v.split("/", 1)[1])
                                          for k, v in ISCE_PRODUCT_NAMES.items()}


def geocoded_variable(product: str) -> str:
    """Variable name of ``group/variable`` inside the ``geocode`` group: interferogram
    and unwrap variables keep their names, filter ones get ``filt_``, others
    ``<group>_<variable>``."""
    group, _, var = product.partition("/")
    if group in ("interferogram", "unwrap"):
        return var
    if group == "filter":
        return f"filt_{var}"
    return f"{group}_{var}"


#: geocoded variable name -> the multilooked product it is made from
_GEOCODED_FROM: dict[str, str] = {geocoded_variable(k): k for k in PRODUCTS
                                  if k.split("/")[0] in ("interferogram", "filter", "unwrap", "topo", "offsets",
                                                         "ionosphere", "water")}


def product_info(group: str, variable: str) -> Product | None:
    """The table's row of ``group/variable`` (geocoded variables are described by their source product;
    a GeoTIFF's ``<name>_phase`` by the phase of ``<name>``; a scene store's ``slc``/``raw`` by ``scene/*``)."""
    key = f"{group}/{variable}"
    if key in PRODUCTS:
        return PRODUCTS[key]
    if group in ("reference", "secondary", "reference_slc", "secondary_slc", "scene"):
        return PRODUCTS.get(f"scene/{variable}")
    if group in ("geocode", GEOMETRY_GROUP, "geo"):
        if variable.endswith("_phase") and variable[: -len("_phase")] in _GEOCODED_FROM:
            src = PRODUCTS[_GEOCODED_FROM[variable[: -len("_phase")]]]
            return Product("rad", "float32", f"phase of the {src.long_name}", f"phase (-pi..pi) of the "
                           f"{src.long_name}, geocoded", None, tuple(n + ".geo" for n in src.isce))
        src_key = _GEOCODED_FROM.get(variable)
        if src_key is None:
            return None
        src = PRODUCTS[src_key]
        return Product(src.units, src.dtype, src.long_name, f"{src.description}; geocoded", src.standard_name,
                       tuple(n + ".geo" for n in src.isce))
    return None


def resolve_product_name(name: str) -> str:
    """Map a user-given product name (daskinsar or ISCE) to ``group/variable``."""
    key = name.strip().strip("/")
    if key in ALIASES:
        return ALIASES[key]
    if key in ISCE_PRODUCT_NAMES:
        return ISCE_PRODUCT_NAMES[key]
    if key.endswith(".geo"):
        base = key[: -len(".geo")]
        if base in ISCE_PRODUCT_NAMES:
            return "geocode/" + geocoded_variable(ISCE_PRODUCT_NAMES[base])
    if key.endswith(".xml") or key.endswith(".vrt"):
        return resolve_product_name(key.rsplit(".", 1)[0])
    return key


def resolve_product(name: str) -> tuple[str, str]:
    """An ISCE or daskinsar product name -> (group, variable); ConfigError for a name that is neither."""
    full = resolve_product_name(name)
    if "/" not in full:
        raise ConfigError(f"unknown product name {name!r}; use an ISCE name ({', '.join(ISCE_PRODUCT_NAMES)}) "
                          "or group/variable")
    group, var = full.split("/", 1)
    return group, var


# ---------------------------------------------------------------------------------------------
# CF attributes of a stored Dataset
def azimuth_time_units(epoch: str) -> str:
    """CF time units of ``azimuth_time`` for a scene epoch (ISO-8601, UTC): ``seconds since <epoch>Z``, so
    ``xr.decode_cf`` gives UTC datetimes while the stored values stay float seconds."""
    iso = str(np.datetime64(epoch.strip().rstrip("Zz").replace(" ", "T"), "ns"))
    return f"seconds since {iso}Z"


_MAP_AXES = {"longitude": "longitude of the pixel centre", "latitude": "latitude of the pixel centre",
             "projection_x_coordinate": "easting of the pixel centre",
             "projection_y_coordinate": "northing of the pixel centre"}


def _describe(target: dict[str, Any], info: Product) -> None:
    target["units"] = info.units
    target["long_name"] = info.long_name
    if info.standard_name:
        target["standard_name"] = info.standard_name
    if info.description != info.long_name:
        target["comment"] = info.description


def cf_attributes(ds: xr.Dataset, group: str, *, step: str, version: str, epoch: str | None) -> xr.Dataset:
    """``ds`` (a copy) with CF attributes from the one table: ``Conventions``, ``units``/``long_name``/
    ``standard_name``/``comment`` on every variable and coordinate the table knows, ``grid_mapping`` on
    map-grid variables, ``azimuth_time`` units with the epoch (``epoch``: the scene's, ISO UTC), and per
    variable provenance (``source``: the daskinsar version and step that made it). ``group`` names the
    store or product group (``interferogram``, ``geocode``, ``reference``, ...). A variable the table
    does not know keeps the attributes its stage gave it (tests check the table covers every product)."""
    ds = ds.copy()
    source = f"daskinsar {version}, {step} step"
    for name, var in ds.data_vars.items():
        if name == "spatial_ref":
            continue
        attrs = dict(var.attrs)
        info = product_info(group, str(name))
        if info is not None:
            _describe(attrs, info)
        attrs["source"] = source
        if {"y", "x"} <= set(var.dims) and ("spatial_ref" in ds.coords or "spatial_ref" in ds.data_vars):
            attrs["grid_mapping"] = "spatial_ref"
        var.attrs = attrs
    for name, coord in ds.coords.items():
        if name in ("x", "y") and "long_name" not in coord.attrs and coord.attrs.get("standard_name"):
            coord.attrs = {**coord.attrs, "long_name": _MAP_AXES.get(coord.attrs["standard_name"], str(name))}
        info = COORDINATES.get(str(name))
        if info is None:
            continue
        attrs = dict(coord.attrs)
        _describe(attrs, info)
        if name == "azimuth_time":
            if epoch is None:
                attrs.pop("standard_name", None)  # without its epoch it is no absolute time
            else:
                attrs["units"] = azimuth_time_units(epoch)
                attrs["calendar"] = "proleptic_gregorian"
        coord.attrs = attrs
    history = f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {source}"
    ds.attrs = {**ds.attrs, "Conventions": CF_CONVENTIONS, "source": f"daskinsar {version}",
                "history": history, "title": f"daskinsar {group}"}
    return ds
