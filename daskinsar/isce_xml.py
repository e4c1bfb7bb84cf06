"""ISCE ``insarApp.xml`` accepted as it is, translated into run-configuration data (the dict that
:class:`~daskinsar.config.RunConfig` validates).

What is understood (property and component names are case-insensitive, spaces
and underscores alike):

- ``<constant name="x">value</constant>`` and ``$x$`` substitution anywhere in values;
- ``<property name="...">value</property>`` and ``<property name="..."><value>..</value></property>``;
- ``<catalog>file.xml</catalog>`` inside a component (a file of properties, relative to the XML);
- components ``master``/``reference`` and ``slave``/``secondary`` with their files
  (IMAGEFILE, LEADERFILE, SAFE, HDF5, SLC/OUTPUT, ...); ``Dem`` (catalog with
  FILE_NAME, or ``demFilename``);
- ``sensor name``, ``posting``, ``filter strength``, ``unwrap``, ``unwrapper name``,
  ``culling error limit``, ``slc offset method`` (ampcor -> geometric+dense, else
  geometric), ``doppler method``, ``geocode list``, ``geocode bounding box`` ([S, N, W, E] deg),
  ``range looks``, ``azimuth looks``.

Anything else gives a warning naming the property: it is never silently ignored.
The XML is parsed with defusedxml (no entities, no external references).
"""

from __future__ import annotations

import ast
import re
import warnings
from pathlib import Path

from defusedxml import ElementTree as DET

from .errors import ConfigError

# ISCE sensor names -> daskinsar reader names
SENSOR_NAMES = {
    "ALOS": "ALOS", "ALOS2": "ALOS2", "ALOS_SLC": "ALOS", "SENTINEL1": "SENTINEL1", "SENTINEL1A": "SENTINEL1",
    "UAVSAR_HDF5_SLC": "NISAR_RSLC", "UAVSAR_RSLC": "NISAR_RSLC", "NISAR": "NISAR_RSLC", "NISAR_RSLC": "NISAR_RSLC",
    "NISAR_L0B": "NISAR_L0B", "ROI_PAC": "ROI_PAC", "DASKINSAR": None, "SIMULATED": None,
}

_FILE_KEYS = ("hdf5", "h5", "safe", "imagefile", "imgfile", "slcfile", "rawfile", "datafile", "file", "path",
              "filename", "zarr")
_IGNORED_SCENE_KEYS = {"leaderfile", "output", "orbitdirectory", "orbitdir", "auxiliarydatadirectory",
                       "polarization", "swathnumber", "swaths"}

_HANDLED = {
    "sensorname", "posting", "filterstrength", "unwrap", "unwrappername", "cullingerrorlimit",
    "slcoffsetmethod", "dopplermethod", "geocodelist", "rangelooks", "azimuthlooks", "demfilename",
    "output", "outputdirectory", "geocodeboundingbox",
}


def _norm(name: str) -> str:
    """ISCE matches property names case-insensitively and ignoring spaces/underscores."""
    return re.sub(r"[\s_]+", "", name.strip().lower())


def _text(el) -> str:
    v = el.find("value")
    if v is not None:
        return (v.text or "").strip()
    return (el.text or "").strip()


class _Reader:
    def __init__(self, path: Path):
        self.path = path
        self.constants: dict[str, str] = {}
        self.names: dict[str, str] = {}  # normalised -> as written, for messages

    def parse(self, path: Path):
        try:
            return DET.parse(str(path)).getroot()
        except FileNotFoundError:
            raise ConfigError(f"{path}: file not found (referenced from {self.path})") from None
        except Exception as exc:  # defusedxml raises for entities too
            raise ConfigError(f"{path}: not a valid insarApp XML ({type(exc).__name__}: {exc})") from None

    def sub(self, s: str) -> str:
        def rep(m):
            key = m.group(1)
            if key not in self.constants:
                raise ConfigError(f"{self.path}: constant ${key}$ is used but not defined")
            return self.constants[key]

        for _ in range(10):
            new = re.sub(r"\$([^$\s]+)\$", rep, s)
            if new == s:
                break
            s = new
        return s

    def collect(self, el, base: Path) -> dict:
        """Properties and components of an element as a nested dict (normalised names)."""
        out: dict = {}
        for child in el:
            tag = child.tag.lower()
            if tag == "constant":
                self.constants[child.get("name", "")] = self.sub(_text(child))
            elif tag == "property":
                out[_norm(child.get("name", ""))] = self.sub(_text(child))
                self.names[_norm(child.get("name", ""))] = child.get("name", "")
            elif tag == "component":
                out.setdefault("__components__", {})[_norm(child.get("name", ""))] = self.collect(child, base)
            elif tag == "catalog":
                cat = base / self.sub((child.text or "").strip())
                out.update(self.collect(self.parse(cat), cat.parent))
        return out


def _bool(v: str) -> bool:
    return str(v).strip().lower() in ("1", "true", "yes", "on")


def _scene(comp: dict, sensor: str | None, role: str, src: Path, names: dict) -> dict:
    comp = dict(comp)
    comp.pop("__components__", None)
    path = next((comp.pop(k) for k in _FILE_KEYS if k in comp), None)
    if path is None:
        raise ConfigError(f"{src}: the {role} component names no input file (expected one of "
                          f"{', '.join(k.upper() for k in _FILE_KEYS)})")
    options = {}
    if "polarization" in comp:
        options["polarization"] = comp.pop("polarization")
    for k in list(comp):
        if k in _IGNORED_SCENE_KEYS:
            comp.pop(k)
            continue
        warnings.warn(f"{src}: {role} property {names.get(k, k)!r} is not supported by daskinsar and is ignored", stacklevel=3)
    p = Path(path)
    if not p.is_absolute() and "://" not in path:
        path = str((src.parent / p))
    return {"path": path, "sensor": sensor, "options": options}


def insarapp_to_dict(path: str | Path) -> dict:
    """Translate an ISCE insarApp.xml into run-configuration data (paths relative to the XML's folder)."""
    src = Path(path)
    r = _Reader(src)
    root = r.parse(src)
    top = r.collect(root, src.parent)
    comps = top.get("__components__", {})
    insar = comps.get("insar", top)
    props = {k: v for k, v in insar.items() if k != "__components__"}
    sub = insar.get("__components__", {})

    sensor_raw = props.get("sensorname")
    sensor = None
    if sensor_raw:
        key = sensor_raw.strip().upper()
        if key not in SENSOR_NAMES:
            raise ConfigError(f"{src}: unknown sensor name {sensor_raw!r}; daskinsar reads "
                              f"{', '.join(sorted(SENSOR_NAMES))}")
        sensor = SENSOR_NAMES[key]

    def pick(*names):
        for n in names:
            if n in sub:
                return sub[n]
        return None

    ref = pick("reference", "master")
    sec = pick("secondary", "slave")
    if ref is None or sec is None:
        raise ConfigError(f"{src}: needs a Reference (Master) and a Secondary (Slave) component")
    data: dict = {
        "reference": _scene(ref, sensor, "reference", src, r.names),
        "secondary": _scene(sec, sensor, "secondary", src, r.names),
    }
    dem = pick("dem")
    dem_path = props.get("demfilename")
    if dem is not None:
        dem_path = dem.get("filename") or dem.get("filename") or dem.get("demfilename") or dem_path
    if not dem_path:
        raise ConfigError(f"{src}: needs a Dem component (catalog with FILE_NAME) or a 'demFilename' property")
    dem_path = str(src.parent / dem_path) if not Path(dem_path).is_absolute() else dem_path
    if Path(dem_path).suffix.lower() not in (".tif", ".tiff", ".vrt") and Path(dem_path + ".vrt").exists():
        dem_path = dem_path + ".vrt"
    data["dem"] = {"path": dem_path}

    ifg: dict = {}
    if "posting" in props:
        ifg["posting_m"] = float(props["posting"])
    if "rangelooks" in props or "azimuthlooks" in props:
        ifg["range_looks"] = int(props.get("rangelooks", 1))
        ifg["azimuth_looks"] = int(props.get("azimuthlooks", 1))
    if ifg:
        data["interferogram"] = ifg
    if "output" in props or "outputdirectory" in props:
        data["output"] = props.get("output") or props.get("outputdirectory")
    if "filterstrength" in props:
        data["filter"] = {"strength": float(props["filterstrength"])}
    unwrap = {}
    if "unwrap" in props:
        unwrap["enabled"] = _bool(props["unwrap"])
    if "unwrappername" in props:
        name = props["unwrappername"].strip().lower()
        if name not in ("snaphu", "snaphu_mcf"):
            raise ConfigError(f"{src}: unwrapper name {props['unwrappername']!r} is not supported "
                              f"(daskinsar unwraps with snaphu / snaphu_mcf)")
    if unwrap:
        data["unwrap"] = unwrap
    offsets: dict = {}
    if "cullingerrorlimit" in props:
        offsets["max_residual_px"] = float(props["cullingerrorlimit"])
    if "slcoffsetmethod" in props:
        m = props["slcoffsetmethod"].strip().lower()
        offsets["method"] = "geometric+dense" if m == "ampcor" else "geometric"
    if offsets:
        data["offsets"] = offsets
    if "dopplermethod" in props:
        m = props["dopplermethod"].strip().lower()
        data["focus"] = {"doppler": "data" if m in ("usedopiq", "usecalcdop", "usedoppler") else
                         "zero" if m in ("usezero", "zero") else "data"}
        if m not in ("usedopiq", "usecalcdop", "usedoppler", "usezero", "zero", "usedefault"):
            warnings.warn(f"{src}: doppler method {props['dopplermethod']!r} is not known; using the data's "
                          "Doppler estimate", stacklevel=2)
    if "geocodelist" in props:
        raw = props["geocodelist"].strip()
        try:
            items = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            items = [s for s in re.split(r"[\s,]+", raw.strip("[]")) if s]
        data["geocode"] = {"products": [str(s).strip("'\" ") for s in items]}
    if "geocodeboundingbox" in props:  # ISCE: [south, north, west, east] in degrees
        raw = props["geocodeboundingbox"].strip()
        try:
            snwe = [float(v) for v in re.split(r"[\s,]+", raw.strip("[]()")) if v]
        except ValueError:
            snwe = []
        if len(snwe) != 4:
            raise ConfigError(f"{src}: geocode bounding box {raw!r}: expected [south, north, west, east] in degrees")
        data.setdefault("geocode", {})["bbox"] = [snwe[2], snwe[0], snwe[3], snwe[1]]
    for k in props:
        if k not in _HANDLED:
            warnings.warn(f"{src}: insarApp property {r.names.get(k, k)!r} is not supported by daskinsar and is ignored",
                          stacklevel=2)
    for k in sub:
        if k not in ("reference", "master", "secondary", "slave", "dem"):
            warnings.warn(f"{src}: insarApp component {k!r} is not supported by daskinsar and is ignored",
                          stacklevel=2)
    return data
