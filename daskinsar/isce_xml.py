"""ISCE ``insarApp.xml`` accepted as it is, translated into run-configuration data (the dict that
:class:`~daskinsar.config.RunConfig` validates), each property meaning what it means in ISCE2.

The XML: ``<constant name="x">value</constant>`` and ``$x$`` substitution anywhere in values (names
are letters, digits, ``_ . -``; a ``$`` left unclosed is an error pointing at it; an expansion beyond
:data:`MAX_EXPANSION` characters is refused, so nested constants cannot blow up);
``<property name="...">value</property>`` or ``<property name="..."><value>..</value></property>``;
``<catalog>file.xml</catalog>`` inside a component (a file of properties, relative to the XML);
components ``master``/``reference``, ``slave``/``secondary`` and ``dem``. Property and component names
are case-insensitive, spaces and underscores alike, as in ISCE. The XML is parsed with defusedxml (no
entities, no external references); a malformed file is reported with its line and column.

The properties understood are those of :data:`PROPERTIES` (ISCE's meaning beside daskinsar's; the
README's compatibility table is generated from it). A value daskinsar cannot honour is an error that
says what is supported, never a silent substitute; any other property is a warning naming it.
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from xml.etree.ElementTree import ParseError

from defusedxml import ElementTree as DET

from .errors import ConfigError

#: ISCE's sensor names (insarApp's fifteen and the older spellings) -> daskinsar reader; None: a
#: daskinsar scene store (or detect the format from the file)
ISCE_SENSOR_NAMES: dict[str, str | None] = {
    "ALOS": "ALOS", "ALOS2": "ALOS2", "COSMO_SKYMED": "COSMO_SKYMED", "COSMO_SKYMED_SLC": "COSMO_SKYMED",
    "ENVISAT": "ENVISAT", "ERS": "ERS", "KOMPSAT5": "KOMPSAT5", "RADARSAT1": "RADARSAT1",
    "RADARSAT2": "RADARSAT2", "RISAT1": "RISAT1", "ROI_PAC": "ROI_PAC", "SENTINEL1A": "SENTINEL1",
    "TERRASARX": "TERRASARX", "UAVSAR_RPI": "UAVSAR_RPI", "UAVSAR_STACK": "UAVSAR_STACK",
    # not in insarApp's list, but written by ISCE users
    "ALOS_SLC": "ALOS", "ENVISAT_SLC": "ENVISAT", "ERS_SLC": "ERS", "ERS_ENVISAT": "ERS_ENVISAT",
    "ERS_ENVISAT_SLC": "ERS_ENVISAT", "SENTINEL1": "SENTINEL1", "SENTINEL1B": "SENTINEL1",
    "UAVSAR_HDF5_SLC": "NISAR_RSLC", "UAVSAR_RSLC": "NISAR_RSLC", "NISAR": "NISAR_RSLC", "NISAR_RSLC": "NISAR_RSLC",
    "NISAR_L0B": "NISAR_L0B", "TANDEMX": "TERRASARX", "DASKINSAR": None, "SIMULATED": None,
}
#: ISCE's default interferogram posting (m) when neither posting nor looks are given
ISCE_DEFAULT_POSTING_M = 15.0
#: the longest value (characters) a constant substitution may produce
MAX_EXPANSION = 65536

_FILE_KEYS = ("hdf5", "h5", "safe", "imagefile", "imgfile", "slcfile", "rawfile", "datafile", "file", "path",
              "filename", "zarr")
_IGNORED_SCENE_KEYS = {"leaderfile", "output", "orbitdirectory", "orbitdir", "auxiliarydatadirectory",
                       "swathnumber", "swaths"}
_CONSTANT = re.compile(r"\$([A-Za-z_][\w.-]*)\$")


def _norm(name: str) -> str:
    """ISCE matches property names case-insensitively and ignoring spaces/underscores."""
    return re.sub(r"[\s_]+", "", name.strip().lower())


def _text(el) -> str:
    v = el.find("value")
    if v is not None:
        return (v.text or "").strip()
    return (el.text or "").strip()


class _Reader:
    """The XML files of one insarApp configuration: constants, properties, components, catalogs."""

    def __init__(self, path: Path):
        self.path = path
        self.constants: dict[str, str] = {}
        self.names: dict[str, str] = {}  # normalised -> as written, for messages

    def parse(self, path: Path):
        try:
            return DET.parse(str(path)).getroot()
        except FileNotFoundError:
            raise ConfigError(f"{path}: file not found (referenced from {self.path})") from None
        except IsADirectoryError:
            raise ConfigError(f"{path}: is a folder, not an XML file (referenced from {self.path})") from None
        except PermissionError:
            raise ConfigError(f"{path}: permission denied") from None
        except ParseError as exc:
            line, col = getattr(exc, "position", (0, 0))
            try:
                text = path.read_text(errors="replace").splitlines()[line - 1].strip()
            except (OSError, IndexError):
                text = ""
            what = str(exc).split(":")[0]
            stray_close = text.startswith("</") or "junk after document element" in what
            hint = " (a closing tag without its opening tag: written twice?)" if stray_close else ""
            raise ConfigError(f"{path}: not well-formed XML at line {line}, column {col + 1}: {what}{hint}"
                              + (f": {text[:80]!r}" if text else "")) from None
        except Exception as exc:  # defusedxml's refusals (entities, external references)
            raise ConfigError(f"{path}: not a valid insarApp XML ({type(exc).__name__}: {exc})") from None

    def sub(self, s: str, where: str) -> str:
        """``s`` with every ``$name$`` replaced (repeatedly, for constants made of constants)."""
        def rep(m):
            key = m.group(1)
            if key not in self.constants:
                raise ConfigError(f"{self.path}: {where}: constant ${key}$ is used but not defined "
                                  f"(defined: {', '.join(sorted(self.constants)) or 'none'})")
            return self.constants[key]

        for _ in range(32):
            new = _CONSTANT.sub(rep, s)
            if len(new) > MAX_EXPANSION:
                raise ConfigError(f"{self.path}: {where}: constants expand to more than {MAX_EXPANSION} characters "
                                  "(constants nested into each other?)")
            if new == s:
                break
            s = new
        else:
            raise ConfigError(f"{self.path}: {where}: constants still unresolved after 32 rounds (a constant "
                              "that refers to itself?)")
        if "$" in s:
            i = s.index("$")
            name = re.match(r"\$[\w.-]*", s[i:])
            raise ConfigError(f"{self.path}: {where}: unclosed constant reference {name.group(0) if name else '$'!r} "
                              f"in {s!r} (write $name$)")
        return s

    def collect(self, el, base: Path) -> dict:
        """Properties and components of an element as a nested dict (normalised names)."""
        out: dict = {}
        for child in el:
            tag = str(child.tag).lower()
            name = child.get("name", "")
            if tag == "constant":
                self.constants[name] = self.sub(_text(child), f"constant {name!r}")
            elif tag == "property":
                value = self.sub(_text(child), f"property {name!r}")
                if _norm(name) in out and out[_norm(name)] != value:
                    raise ConfigError(f"{self.path}: property {name!r} given twice in one component "
                                      f"({out[_norm(name)][:40]!r} and {value[:40]!r}); keep one")
                out[_norm(name)] = value
                self.names[_norm(name)] = name
            elif tag == "component":
                out.setdefault("__components__", {})[_norm(name)] = self.collect(child, base)
            elif tag == "catalog":
                cat = base / self.sub((child.text or "").strip(), "catalog")
                out.update(self.collect(self.parse(cat), cat.parent))
        return out


# ---------------------------------------------------------------------------------------
# property semantics
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Property:
    """One insarApp property: ISCE's meaning and the run-configuration setting it becomes."""

    names: tuple[str, ...]  # as ISCE spells them (normalised for matching)
    isce: str  # what ISCE2's insarApp does with it
    daskinsar: str  # what it becomes here
    apply: Callable[[str, dict, Path], None]


def _bool(v: str) -> bool:
    return str(v).strip().lower() in ("1", "true", "yes", "on")


def _number(v: str, what: str, src: Path, kind=float):
    """``v`` as a float, or as an int (``kind=int``: a whole number, written ``50`` or ``50.0``)."""
    try:
        x = float(v)
        if kind is int:
            if not x.is_integer():
                raise ValueError
            return int(x)
        return x
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{src}: {what} {v[:40]!r}: expected {'a whole number' if kind is int else 'a number'}") \
            from None


def _list(raw: str) -> list[str]:
    """An ISCE list value: a Python list literal, or names separated by commas/spaces."""
    raw = raw.strip()
    try:
        items = ast.literal_eval(raw)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        items = None
    if not isinstance(items, (list, tuple)):  # bare names, or a single value
        items = [s for s in re.split(r"[,\s]+", raw.strip("[]")) if s]
    return [str(s).strip().strip("'\"") for s in items]


def _set(data: dict, section: str, key: str, value) -> None:
    data.setdefault(section, {})[key] = value


def _unwrapper(v: str, data: dict, src: Path) -> None:
    name = v.strip().lower()
    settings = {"snaphu": dict(cost="defo", init="mst", defo_max_cycles=4.0, init_only=False),
                "snaphu_mcf": dict(cost="smooth", init="mcf", defo_max_cycles=2.0, init_only=True)}
    if name not in settings:
        raise ConfigError(f"{src}: unwrapper name {v!r} is not supported (daskinsar unwraps with SNAPHU as ISCE's "
                          "'snaphu' or 'snaphu_mcf'; icu and grass are not available)")
    data.setdefault("unwrap", {}).update(settings[name])


def _offset_method(v: str, data: dict, src: Path) -> None:
    if v.strip().lower() not in ("ampcor", "offsetprf"):
        raise ConfigError(f"{src}: SLC offset method {v!r} is not known (ISCE's are ampcor and offsetprf)")
    _set(data, "offsets", "method", "geometric+dense")


def _doppler_method(v: str, data: dict, src: Path) -> None:
    known = {"usedopiq": "data", "usecalcdop": "data", "usedoppler": "data", "usedefault": "metadata"}
    m = v.strip().lower()
    if m not in known:
        raise ConfigError(f"{src}: doppler method {v!r} is not known (ISCE's are useDOPIQ, useCalcDop, useDoppler "
                          "and useDEFAULT)")
    _set(data, "focus", "doppler", known[m])


def _bounding_box(v: str, data: dict, src: Path) -> None:
    try:
        snwe = [float(x) for x in _list(v)]
    except ValueError:
        snwe = []
    if len(snwe) != 4:
        raise ConfigError(f"{src}: geocode bounding box {v!r}: expected [south, north, west, east] in degrees")
    _set(data, "geocode", "bbox", [snwe[2], snwe[0], snwe[3], snwe[1]])


def _looks(key: str) -> Callable[[str, dict, Path], None]:
    def apply(v: str, data: dict, src: Path) -> None:
        _set(data, "interferogram", key, _number(v, key.replace("_", " "), src, int))
    return apply


PROPERTIES: tuple[Property, ...] = (
    Property(("sensor name",), "the sensor of both scenes (ISCE's fifteen names)",
             "the reader of both scenes (`--list-sensors`)", lambda v, d, s: None),
    Property(("posting",), "interferogram posting (m) from which the looks are chosen; 15 m when not given",
             "`interferogram.posting_m`; 15 m when neither posting nor looks are given",
             lambda v, d, s: _set(d, "interferogram", "posting_m", _number(v, "posting", s))),
    Property(("range looks",), "range looks (else from the posting)", "`interferogram.range_looks`",
             _looks("range_looks")),
    Property(("azimuth looks",), "azimuth looks (else from the posting)", "`interferogram.azimuth_looks`",
             _looks("azimuth_looks")),
    Property(("filter strength",), "Goldstein filter exponent alpha", "`filter.strength`",
             lambda v, d, s: _set(d, "filter", "strength", _number(v, "filter strength", s))),
    Property(("unwrap",), "unwrap the filtered interferogram", "`unwrap.enabled`",
             lambda v, d, s: _set(d, "unwrap", "enabled", _bool(v))),
    Property(("unwrapper name",), "snaphu: DEFO cost, MST init, DEFOMAX_CYCLE 4; snaphu_mcf: SMOOTH cost, MCF "
                                  "init only, DEFOMAX_CYCLE 2; icu, grass",
             "the same SNAPHU settings (`unwrap.cost`, `init`, `init_only`, `defo_max_cycles`); icu/grass refused",
             _unwrapper),
    Property(("culling error limit",), "fewest offsets that must remain after culling (runOffoutliers), "
                                       "default 100", "`offsets.min_windows`",
             lambda v, d, s: _set(d, "offsets", "min_windows", _number(v, "culling error limit", s, int))),
    Property(("slc offset method",), "ampcor, or offsetprf otherwise: both measure offsets from the data",
             "dense offsets (daskinsar's ampcor) refining the geometric ones: `offsets.method: geometric+dense`",
             _offset_method),
    Property(("doppler method",), "useDOPIQ, useCalcDop, useDoppler: estimated from the data; useDEFAULT: "
                                  "the product's metadata Doppler",
             "`focus.doppler: data` / `metadata` (raw inputs)", _doppler_method),
    Property(("geocode list",), "products to geocode (ISCE file names)",
             "`geocode.products`, checked when the configuration is loaded",
             lambda v, d, s: _set(d, "geocode", "products", _list(v))),
    Property(("geo posting", "geocode posting"), "posting of the geocoded products (deg)",
             "`geocode.posting` (deg, EPSG:4326)",
             lambda v, d, s: _set(d, "geocode", "posting", _number(v, "geo posting", s))),
    Property(("geocode bounding box",), "[south, north, west, east] (deg) of the geocoded products",
             "`geocode.bbox` ([west, south, east, north])", _bounding_box),
    Property(("dem filename",), "DEM file (when no Dem component)", "`dem.path`", lambda v, d, s: None),
    Property(("output", "output directory"), "(not an ISCE property)", "`output`: the run folder",
             lambda v, d, s: d.__setitem__("output", v)),
)
_BY_NAME = {_norm(n): p for p in PROPERTIES for n in p.names}


def _sensor(raw: str | None, src: Path) -> str | None:
    if not raw:
        return None
    key = raw.strip().upper()
    if key not in ISCE_SENSOR_NAMES:
        raise ConfigError(f"{src}: unknown sensor name {raw!r}; daskinsar reads "
                          f"{', '.join(k for k in ISCE_SENSOR_NAMES if k not in ('DASKINSAR', 'SIMULATED'))}")
    return ISCE_SENSOR_NAMES[key]


def _scene(comp: dict, sensor: str | None, role: str, src: Path, names: dict) -> dict:
    comp = dict(comp)
    comp.pop("__components__", None)
    raw = next((comp.pop(k) for k in _FILE_KEYS if k in comp), None)
    if raw is None:
        raise ConfigError(f"{src}: the {role} component names no input file (expected one of "
                          f"{', '.join(k.upper() for k in _FILE_KEYS)})")
    options = {}
    if "polarization" in comp:
        options["polarization"] = comp.pop("polarization")
    for k in list(comp):
        if k in _IGNORED_SCENE_KEYS:
            comp.pop(k)
            continue
        warnings.warn(f"{src}: {role} property {names.get(k, k)!r} is not supported by daskinsar and is ignored",
                      stacklevel=3)

    def resolve(p: str) -> str:
        return p if Path(p).is_absolute() or "://" in p else str(src.parent / p)

    # ISCE's multi-frame syntax: a list of files, consecutive frames joined along track
    paths = _list(raw) if raw.strip().startswith("[") else [raw]
    if not paths:
        raise ConfigError(f"{src}: the {role} component's file list {raw!r} is empty")
    path: str | list[str] = resolve(paths[0]) if len(paths) == 1 else [resolve(p) for p in paths]
    return {"path": path, "sensor": sensor, "options": options}


def insarapp_to_dict(path: str | Path) -> dict:
    """Translate an ISCE insarApp.xml into run-configuration data (paths relative to the XML's folder)."""
    src = Path(path)
    r = _Reader(src)
    top = r.collect(r.parse(src), src.parent)
    comps = top.get("__components__", {})
    insar = comps.get("insar", comps.get("insarapp", top))  # ISCE files name the component either way
    props = {k: v for k, v in insar.items() if k != "__components__"}
    sub = insar.get("__components__", {})
    sensor = _sensor(props.get("sensorname"), src)

    def pick(*names):
        return next((sub[n] for n in names if n in sub), None)

    ref, sec = pick("reference", "master"), pick("secondary", "slave")
    if ref is None or sec is None:
        raise ConfigError(f"{src}: needs a Reference (Master) and a Secondary (Slave) component")
    data: dict = {"reference": _scene(ref, sensor, "reference", src, r.names),
                  "secondary": _scene(sec, sensor, "secondary", src, r.names)}
    dem = pick("dem")
    dem_path = props.get("demfilename")
    if dem is not None:
        dem_path = dem.get("filename") or dem.get("demfilename") or dem_path
    if dem_path:
        dem_path = str(src.parent / dem_path) if not Path(dem_path).is_absolute() else dem_path
        if Path(dem_path).suffix.lower() not in (".tif", ".tiff", ".vrt", ".xml") and Path(dem_path + ".xml").exists():
            dem_path = dem_path + ".xml"  # an ISCE DEM named by its raster: read through its .xml
        data["dem"] = {"path": dem_path}
    else:
        data["dem"] = {}  # as ISCE: no DEM given, one is downloaded for the scene

    for k, v in props.items():
        prop = _BY_NAME.get(k)
        if prop is None:
            warnings.warn(f"{src}: insarApp property {r.names.get(k, k)!r} is not supported by daskinsar and is "
                          "ignored", stacklevel=2)
            continue
        prop.apply(v, data, src)
    ifg = data.get("interferogram", {})
    if "posting_m" not in ifg and not ("range_looks" in ifg and "azimuth_looks" in ifg):
        _set(data, "interferogram", "posting_m", ISCE_DEFAULT_POSTING_M)
    for k in sub:
        if k not in ("reference", "master", "secondary", "slave", "dem"):
            warnings.warn(f"{src}: insarApp component {k!r} is not supported by daskinsar and is ignored",
                          stacklevel=2)
    return data
