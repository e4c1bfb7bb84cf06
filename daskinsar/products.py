"""Product names: daskinsar ``group/variable`` names and the ISCE file names users know.

One table serves the geocode list, ``daskinsar show`` and the documentation.
A ``.geo`` suffix on an ISCE name means the geocoded product in the ``geocode``
group (``filt_topophase.flat.geo`` -> ``geocode/filt_ifg``).
"""

from __future__ import annotations

from .errors import ConfigError

# ISCE file name -> daskinsar "group/variable"
ISCE_PRODUCT_NAMES: dict[str, str] = {
    "reference.slc": "focus/reference",
    "secondary.slc": "focus/secondary",
    "lat.rdr": "topo/lat",
    "lon.rdr": "topo/lon",
    "z.rdr": "topo/hgt",
    "hgt.rdr": "topo/hgt",
    "los.rdr": "topo/incidence",
    "los.rdr.incidence": "topo/incidence",
    "los.rdr.heading": "topo/heading",
    "topophase.flat": "interferogram/ifg",
    "topophase.cor": "interferogram/coherence",
    "phsig.cor": "interferogram/phsig",
    "filt_topophase.flat": "filter/ifg",
    "filt_topophase.unw": "unwrap/unw",
    "filt_topophase.unw.conncomp": "unwrap/conncomp",
    "filt_topophase.conncomp": "unwrap/conncomp",
    "los_displacement": "unwrap/los_displacement",
    "dispersive.bil": "ionosphere/dispersive_phase_raw",
    "nondispersive.bil": "ionosphere/nondispersive_phase_raw",
    "dispersive.bil.unwCor.filt": "ionosphere/dispersive_phase",
    "mask.bil": "ionosphere/mask",
}

#: daskinsar names that stand for another product (the ionosphere step's corrected unwrapped phase and
#: displacement, named as if in the unwrap group, live in the ionosphere group)
ALIASES: dict[str, str] = {
    "unwrap/unw_corrected": "ionosphere/nondispersive_phase",
    "unwrap/los_displacement_corrected": "ionosphere/los_displacement_corrected",
}


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


#: ISCE product names -> (group, variable)
ISCE_NAMES: dict[str, tuple[str, str]] = {k: (v.split("/", 1)[0], v.split("/", 1)[1])
                                          for k, v in ISCE_PRODUCT_NAMES.items()}


def resolve_product(name: str) -> tuple[str, str]:
    """An ISCE or daskinsar product name -> (group, variable); ConfigError for a name that is neither."""
    full = resolve_product_name(name)
    if "/" not in full:
        raise ConfigError(f"unknown product name {name!r}; use an ISCE name ({', '.join(ISCE_PRODUCT_NAMES)}) "
                          "or group/variable")
    group, var = full.split("/", 1)
    return group, var
