"""Generated parts of the user guide (README.md), made from the code they document.

Four blocks of the README are written by this module, each between an HTML comment
pair ``<!-- NAME:start -->`` / ``<!-- NAME:end -->``:

- ``config-reference``: every key of :class:`daskinsar.config.RunConfig` and of its
  nested sections (key path, type, default, constraints, description);
- ``products``: the product names (ISCE name next to the daskinsar group/variable,
  units, descriptions), from the one table :data:`daskinsar.products.PRODUCTS`;
- ``sensors``: the reader registry (:func:`daskinsar.io.readers.readers`);
- ``cli-reference``: every ``daskinsar`` command with its arguments and options.

``python -m daskinsar.docs --update README.md`` rewrites the blocks in place;
``python -m daskinsar.docs --check README.md`` exits 1 when any block is out of date;
``python -m daskinsar.docs --print config-reference`` prints one block.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any, Callable, Literal

import annotated_types
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

# ------------------------------------------------------------------------------------------------
# descriptions for keys whose model field carries none (the model's own description always wins);
# tests/test_docs.py checks that every key here is a real key path of RunConfig
BLOCK_NAMES = ("config-reference", "products", "sensors", "cli-reference", "insarapp")


def _marker(name: str, which: str) -> str:
    return f"<!-- {name}:{which} -->"


# ------------------------------------------------------------------------------------------------
# configuration reference
def _is_model(tp) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def format_type(tp) -> str:
    """A short, YAML-minded rendering of a type annotation."""
    if tp is type(None):
        return "null"
    if tp is Any:
        return "any"
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Literal:
        return " | ".join(json.dumps(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(format_type(a) for a in args)
    if origin in (list, typing.List):
        return f"list[{format_type(args[0])}]" if args else "list"
    if origin in (dict, typing.Dict):
        return "mapping" if not args or args[1] is Any else f"mapping[{format_type(args[0])}, {format_type(args[1])}]"
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"list[{format_type(args[0])}]"
        return "[" + ", ".join(format_type(a) for a in args) + "]"
    if origin is typing.Annotated:
        return format_type(args[0])
    if _is_model(tp):
        return "section"
    return {str: "str", int: "int", float: "float", bool: "bool"}.get(tp, getattr(tp, "__name__", str(tp)))


def _jsonable(v):
    if isinstance(v, BaseModel):
        return v.model_dump(mode="json")
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    return v


def field_default(field) -> tuple[bool, Any]:
    """(has_default, default value as plain JSON data) of a pydantic FieldInfo."""
    if field.default_factory is not None:
        return True, _jsonable(field.default_factory())
    if field.default is PydanticUndefined:
        return False, None
    return True, _jsonable(field.default)


def format_constraints(field) -> str:
    out = []
    for m in field.metadata:
        for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            v = getattr(m, attr, None)
            if v is not None and isinstance(m, (annotated_types.Ge, annotated_types.Gt, annotated_types.Le,
                                                annotated_types.Lt, annotated_types.Interval)):
                out.append(f"{sym} {v}")
    return ", ".join(out)


def _doc_first_line(cls) -> str:
    doc = (cls.__doc__ or "").strip()
    if not doc or doc.startswith(("Usage docs:", "!!!")) or cls.__doc__ == BaseModel.__doc__:
        return ""
    return " ".join(doc.split("\n\n")[0].split())


def iter_config_fields(model: type[BaseModel] | None = None, prefix: str = ""):
    """Yield ``(key_path, field_info, annotation)`` for every key of ``model`` and its nested sections,
    depth first (a section's row comes before its keys)."""
    if model is None:
        from .config import RunConfig

        model = RunConfig
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        yield path, field, field.annotation
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield from iter_config_fields(ann, path + ".")


def _cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def config_reference_markdown(model: type[BaseModel] | None = None) -> str:
    """The configuration reference as a Markdown table, generated from the pydantic models."""
    if model is None:
        from .config import RunConfig

        model = RunConfig
    rows = ["| key | type | default | constraints | description |", "| --- | --- | --- | --- | --- |"]
    for path, field, ann in iter_config_fields(model):
        if _is_model(ann):
            desc = field.description or _doc_first_line(ann)
            has_default, _ = field_default(field)
            rows.append(f"| **`{path}`** | section | {'' if has_default else '**required**'} | | {_cell(desc)} |")
            continue
        has_default, default = field_default(field)
        dflt = f"`{_cell(json.dumps(default))}`" if has_default else "**required**"
        desc = field.description or ""
        rows.append(f"| `{path}` | `{_cell(format_type(ann))}` | {dflt} | {_cell(format_constraints(field))} | "
                    f"{_cell(desc)} |")
    top = _doc_first_line(model)
    lines = [f"`{model.__name__}`: {top}" if top else f"`{model.__name__}`", "",
             "Keys are YAML paths (`filter.strength` is `filter: {strength: ...}`). Unknown keys are errors "
             "(with the nearest valid key suggested). Relative paths are taken relative to the config file.", ""]
    return "\n".join(lines + rows)


# ------------------------------------------------------------------------------------------------
# products
def products_table_markdown() -> str:
    """ISCE product names next to daskinsar's group/variable, with units: from the one product table
    (:data:`daskinsar.products.PRODUCTS`)."""
    from .products import GEOMETRY_FIELDS, GEOMETRY_GROUP, ISCE_NAMES, PRODUCTS, geocoded_variable, product_info

    rows = ["| ISCE name | daskinsar `group/variable` | units (type) | what it is |", "| --- | --- | --- | --- |"]
    for key, p in PRODUCTS.items():
        isce = ", ".join(f"`{n}`" for n in p.isce) or "-"
        rows.append(f"| {isce} | `{key}` | {_cell(p.units)} ({p.dtype}) | {_cell(p.description)} |")
    rows.append("| `*.geo` | `geocode/<name>` | as the source | map-projected product with a CRS (`spatial_ref`); "
                "RUN/geo/<name>.tif |")
    rows.append(f"| `los.rdr.geo`, `z.rdr.geo` | `{GEOMETRY_GROUP}/<name>` | as the source | geocoded "
                f"{', '.join(GEOMETRY_FIELDS)} (always); RUN/geo/geometry/<name>.tif |")
    geo_rows = []
    for isce, (group, var) in ISCE_NAMES.items():
        if group in ("interferogram", "filter", "unwrap"):
            gvar = geocoded_variable(f"{group}/{var}")
            tif = f"{gvar}_phase.tif" if PRODUCTS[f"{group}/{var}"].dtype.startswith("complex") else f"{gvar}.tif"
            info = product_info("geocode", tif.removesuffix(".tif"))
            units = info.units if info else ""
            geo_rows.append(f"| `{isce}.geo` | `geocode/{gvar}` | `RUN/geo/{tif}` | {_cell(units)} |")
    rows += ["", "Geocoded products (those listed in `geocode.products`; a complex interferogram is written to "
                 "GeoTIFF as its phase in rad, `<name>_phase.tif`):", "",
             "| ISCE name | daskinsar `group/variable` | GeoTIFF | GeoTIFF unit type |", "| --- | --- | --- | --- |"]
    rows += geo_rows
    return "\n".join(rows)


# ------------------------------------------------------------------------------------------------
# sensors
#: per reader: the real file its parsing was checked against, and how (the tests named); "none found" where the
#: public test suites searched hold no real sample of the format (the reader is then exercised on files the
#: simulator writes in that format, end to end through `daskinsar run`)
REAL_DATA_RECORD: dict[str, str] = {
    "ALOS": "none found for PALSAR-1 CEOS (the ALOS-1 raw chunk in `../shared/data` is NISAR L0B layout)",
    "ALOS2": "a real PALSAR-2 CEOS leader (pyroSAR's test data): scene times, PRF, wavelength, sampling and orbit "
             "against its `summary.txt` (tests/test_ceos.py)",
    "COSMO_SKYMED": "none found (no public HDF5 sample with its attributes)",
    "ENVISAT": "none found", "ERS": "none found", "ERS_ENVISAT": "none found",
    "KOMPSAT5": "none found",
    "NISAR_L0B": "a real ALOS-1 PALSAR raw chunk in L0B layout (ISCE3's test data): BFPQ decoding, chirp "
                 "resolution, Doppler from orbit + attitude within 15 Hz (tests/test_nisar_l0b.py, test_focus.py)",
    "NISAR_RSLC": "a real UAVSAR RSLC (ISCE3's Winnipeg test file): every pixel against ISCE2's topo, lon/lat "
                  "1e-5 deg, height 0.15 m (tests/test_nisar_h5.py, test_geometry.py)",
    "RADARSAT1": "none found",
    "RADARSAT2": "a real FQ9 SLC product.xml (Orfeo Toolbox test data): its geolocation tie points "
                 "reproduced to 3e-5 deg (tests/test_sensor_radarsat2.py)",
    "RISAT1": "none found",
    "ROI_PAC": "none found (the format is a keyword file; checked against ROI_PAC's documented keywords)",
    "SENTINEL1": "real IW SLC/GRD annotations (xarray-sentinel's test data) against ESA's geolocation grids, a "
                 "real single-burst pair against ISCE2's topsProc.xml (tests/test_sentinel1_safe.py, "
                 "test_tops_*.py)",
    "TERRASARX": "a real TSX-1 SSC annotation (Orfeo Toolbox test data): its GEOREF geolocation grid reproduced "
                 "to 3.7e-5 deg (tests/test_sensor_terrasarx.py)",
    "UAVSAR_RPI": "none found", "UAVSAR_STACK": "none found",
}


def sensors_table_markdown() -> str:
    """The reader registry as a table: ISCE's names for each reader and the real data it was checked on."""
    from .io.readers import readers
    from .isce_xml import ISCE_SENSOR_NAMES

    rows = ["| sensor (`--sensor`) | ISCE sensor names | aliases | levels | format | checked on real data |",
            "| --- | --- | --- | --- | --- | --- |"]
    for r in readers():
        isce = ", ".join(f"`{k}`" for k, v in ISCE_SENSOR_NAMES.items() if v == r.name) or "-"
        aliases = ", ".join(f"`{a}`" for a in r.aliases) or "-"
        record = REAL_DATA_RECORD.get(r.name, "real data" if r.tested_on_real_data else "none found")
        rows.append(f"| `{r.name}` | {isce} | {aliases} | {', '.join(r.levels)} | {_cell(r.description)} | "
                    f"{_cell(record)} |")
    return "\n".join(rows)


# ------------------------------------------------------------------------------------------------
# command line
def _param_type(p, ctx=None) -> str:
    if getattr(p, "is_flag", False):
        return "flag"
    typ = ""
    dt = getattr(p, "display_type", None)
    if callable(dt):
        for args in ((ctx,), ()):
            try:
                typ = str(dt(*args))
                break
            except Exception:  # a typer/click version with another signature
                continue
    if not typ:
        typ = getattr(getattr(p, "type", None), "name", "") or "text"
    typ = typ.strip("<>")
    if getattr(p, "multiple", False) and "list" not in typ:
        typ += ", repeatable"
    return typ


def _param_row(p, ctx=None) -> str:
    """One table row of a click/typer parameter (duck-typed: typer may vendor its own click)."""
    if p.param_type_name == "argument":
        name = f"`{p.name.upper()}`" + (" (required)" if p.required else "")
    else:
        name = ", ".join(f"`{o}`" for o in (*p.opts, *p.secondary_opts)) + (" (required)" if p.required else "")
    default = p.default
    dflt = "" if default in (None, (), [], False) or callable(default) else f"`{default}`"
    return f"| {name} | {_cell(_param_type(p, ctx))} | {_cell(dflt)} | {_cell(p.help or '')} |"


def cli_reference_markdown() -> str:
    """Every ``daskinsar`` command with its arguments and options (from the typer app)."""
    import typer

    from .cli import app

    group: Any = typer.main.get_command(app)
    try:
        ctx = group.make_context("daskinsar", ["steps"], resilient_parsing=True)
    except Exception:  # pragma: no cover
        ctx = None
    out = ["`daskinsar [--debug] COMMAND ...`: " + " ".join((group.help or "").split())]
    gopts = [p for p in group.params if p.name != "help"]
    if gopts:
        out += ["", "| global option | type | default | help |", "| --- | --- | --- | --- |"]
        out += [_param_row(p, ctx) for p in gopts]
    for name, cmd in group.commands.items():
        params = [p for p in cmd.params if p.name != "help"]
        args = " ".join(p.name.upper() if p.required else f"[{p.name.upper()}]"
                        for p in params if p.param_type_name == "argument")
        opts = " [OPTIONS]" if any(p.param_type_name == "option" for p in params) else ""
        out += ["", f"#### `daskinsar {name}{opts}{(' ' + args) if args else ''}`", "",
                " ".join((cmd.help or "").split())]
        if params:
            out += ["", "| argument / option | type | default | help |", "| --- | --- | --- | --- |"]
            out += [_param_row(p, ctx) for p in params]
    return "\n".join(out)


def insarapp_table_markdown() -> str:
    """The insarApp.xml properties understood: ISCE's meaning beside daskinsar's (isce_xml.PROPERTIES)."""
    from .isce_xml import ISCE_SENSOR_NAMES, PROPERTIES

    out = ["| insarApp property | in ISCE2 | in daskinsar |", "| --- | --- | --- |"]
    out += [f"| {' / '.join(f'`{n}`' for n in p.names)} | {_cell(p.isce)} | {_cell(p.daskinsar)} |" for p in PROPERTIES]
    names = ", ".join(f"`{k}`" for k, v in ISCE_SENSOR_NAMES.items() if v is not None)
    out += ["", f"Sensor names: {names}; `DASKINSAR` (or none) for daskinsar scene stores and detection."]
    return "\n".join(out)


# ------------------------------------------------------------------------------------------------
GENERATORS: dict[str, Callable[[], str]] = {
    "config-reference": config_reference_markdown,
    "products": products_table_markdown,
    "sensors": sensors_table_markdown,
    "cli-reference": cli_reference_markdown,
    "insarapp": insarapp_table_markdown,
}


def extract_block(text: str, name: str) -> str | None:
    """The text between a block's markers (stripped), or None when the markers are absent."""
    m = re.search(re.escape(_marker(name, "start")) + r"\n?(.*?)\n?" + re.escape(_marker(name, "end")), text, re.S)
    return m.group(1).strip() if m else None


def replace_block(text: str, name: str, content: str, source: str = "README") -> str:
    start, end = _marker(name, "start"), _marker(name, "end")
    i, j = text.find(start), text.find(end)
    if i < 0 or j < 0 or j < i:
        raise ValueError(f"{source}: expected the markers {start} ... {end} around the generated {name} block")
    return text[: i + len(start)] + "\n" + content.strip() + "\n" + text[j:]


def update_text(text: str, names=BLOCK_NAMES, source: str = "README") -> tuple[str, list[str]]:
    """Rewrite the generated blocks of ``text``; returns the new text and the names of the blocks that changed."""
    changed = []
    for name in names:
        new = GENERATORS[name]()
        if extract_block(text, name) != new.strip():
            changed.append(name)
        text = replace_block(text, name, new, source)
    return text, changed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m daskinsar.docs", description=__doc__.split("\n\n")[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--update", metavar="README", help="rewrite the generated blocks of this file in place")
    g.add_argument("--check", metavar="README", help="exit 1 when a generated block of this file is out of date")
    g.add_argument("--print", dest="show", choices=BLOCK_NAMES, help="print one generated block")
    a = ap.parse_args(argv)
    if a.show:
        print(GENERATORS[a.show]())
        return 0
    path = Path(a.update or a.check)
    text = path.read_text()
    new, changed = update_text(text, source=str(path))
    if a.check:
        if changed:
            print(f"{path}: out of date: {', '.join(changed)}; run python -m daskinsar.docs --update {path}",
                  file=sys.stderr)
            return 1
        print(f"{path}: generated blocks up to date")
        return 0
    if new != text:
        path.write_text(new)
    print(f"{path}: {'updated ' + ', '.join(changed) if changed else 'already up to date'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
