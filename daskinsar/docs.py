"""Generated parts of the user guide (README.md), made from the code they document.

Four blocks of the README are written by this module, each between an HTML comment
pair ``<!-- NAME:start -->`` / ``<!-- NAME:end -->``:

- ``config-reference``: every key of :class:`daskinsar.config.RunConfig` and of its
  nested sections (key path, type, default, constraints, description);
- ``products``: the product names (ISCE name next to the daskinsar group/variable,
  units), from :data:`daskinsar.products.ISCE_NAMES`;
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
BLOCK_NAMES = ("config-reference", "products", "sensors", "cli-reference")


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
#: (group, variable) -> (units / type, description); every ISCE_NAMES target must be here
PRODUCT_INFO: dict[tuple[str, str], tuple[str, str]] = {
    ("focus", "reference"): ("complex64", "focused reference SLC (raw inputs only; RUN/reference_slc.zarr)"),
    ("focus", "secondary"): ("complex64", "focused secondary SLC (raw inputs only; RUN/secondary_slc.zarr)"),
    ("topo", "lat"): ("deg (float64)", "latitude of each reference pixel on the DEM"),
    ("topo", "lon"): ("deg (float64)", "longitude of each reference pixel on the DEM"),
    ("topo", "hgt"): ("m (float32)", "height above the WGS84 ellipsoid"),
    ("topo", "incidence"): ("deg (float32)", "LOS incidence at the target (ISCE los.rdr band 1)"),
    ("topo", "heading"): ("deg (float32)", "LOS azimuth from north, anticlockwise (ISCE los.rdr band 2)"),
    ("topo", "azimuth_offset"): ("pixels (float32)", "geometric offset, secondary minus reference line"),
    ("topo", "range_offset"): ("pixels (float32)", "geometric offset, secondary minus reference column"),
    ("topo", "geometric_phase"): ("rad (float64)", "flat-earth + topographic phase removed by flattening"),
    ("offsets", "azimuth"): ("pixels", "dense (ampcor) offsets, azimuth, on the window grid"),
    ("offsets", "range"): ("pixels", "dense (ampcor) offsets, range, on the window grid"),
    ("offsets", "snr"): ("1", "correlation SNR of each window"),
    ("offsets", "kept"): ("bool", "window kept by culling"),
    ("resample", "secondary"): ("complex64", "secondary SLC resampled onto the reference grid"),
    ("interferogram", "ifg"): ("complex64", "flattened, multilooked reference * conj(secondary)"),
    ("interferogram", "coherence"): ("1 (0..1, float32)", "sample coherence"),
    ("interferogram", "phsig"): ("1 (0..1, float32)", "phase-sigma (slope-corrected phase-only) coherence"),
    ("interferogram", "amplitude"): ("SLC amplitude", "sqrt(mean|ref|^2 * mean|sec|^2) per look cell"),
    ("filter", "ifg"): ("complex64", "Goldstein-Werner filtered interferogram"),
    ("unwrap", "unw"): ("rad (float32)", "unwrapped phase of the filtered interferogram (relative)"),
    ("unwrap", "conncomp"): ("label (uint32)", "SNAPHU connected component, 0 = not unwrapped"),
    ("unwrap", "los_displacement"): ("m (float32)", "LOS displacement, positive towards the platform (relative)"),
    ("commonband", "reference"): ("complex64", "reference SLC filtered to the common range / Doppler band (only "
                                                "when an axis is filtered; the plan is in the group's attributes)"),
    ("commonband", "secondary"): ("complex64", "resampled secondary SLC filtered to the common band"),
    ("ionosphere", "dispersive_phase"): ("rad (float32)", "dispersive (ionospheric) phase in the interferogram at "
                                                          "f0_hz, filtered (plane fit, window in m)"),
    ("ionosphere", "nondispersive_phase"): ("rad (float32)", "unw - dispersive_phase: the unwrapped phase without "
                                                             "the ionosphere (also named `unwrap/unw_corrected`)"),
    ("ionosphere", "dispersive_phase_raw"): ("rad (float32)", "split-spectrum dispersive estimate before filtering"),
    ("ionosphere", "nondispersive_phase_raw"): ("rad (float32)", "split-spectrum non-dispersive estimate before "
                                                                 "filtering"),
    ("ionosphere", "mask"): ("bool (uint8)", "pixels the dispersive estimate used"),
    ("ionosphere", "los_displacement_corrected"): ("m (float32)", "LOS displacement without the ionosphere "
                                                                  "(also named `unwrap/los_displacement_corrected`)"),
    ("geocode", "<name>"): ("as the source", "map-projected product with a CRS (`spatial_ref`); "
                                             "RUN/geo/<name>.tif"),
}


def products_table_markdown() -> str:
    """ISCE product names next to daskinsar's group/variable, with units."""
    from .products import ISCE_NAMES

    isce_by_target: dict[tuple[str, str], list[str]] = {}
    for isce, target in ISCE_NAMES.items():
        isce_by_target.setdefault(target, []).append(isce)
    missing = [t for t in isce_by_target if t not in PRODUCT_INFO]
    if missing:
        raise KeyError(f"daskinsar.docs.PRODUCT_INFO lacks units for {missing}: add them")
    rows = ["| ISCE name | daskinsar `group/variable` | units, type | what it is |", "| --- | --- | --- | --- |"]
    for (group, var), (units, desc) in PRODUCT_INFO.items():
        names = isce_by_target.get((group, var), [])
        if (group, var) == ("geocode", "<name>"):
            names = ["`*.geo`"]
        isce = ", ".join(n if n.startswith("`") else f"`{n}`" for n in names) or "-"
        rows.append(f"| {isce} | `{group}/{var}` | {_cell(units)} | {_cell(desc)} |")
    # geocoded products: `<ISCE name>.geo` -> geocode/<variable>
    from .products import geocoded_variable

    geo_rows = []
    for isce, (group, var) in ISCE_NAMES.items():
        if group in ("interferogram", "filter", "unwrap"):
            gvar = geocoded_variable(f"{group}/{var}")
            tif = f"{gvar}_phase.tif" if PRODUCT_INFO[(group, var)][0].startswith("complex") else f"{gvar}.tif"
            geo_rows.append(f"| `{isce}.geo` | `geocode/{gvar}` | `RUN/geo/{tif}` |")
    if geo_rows:
        rows += ["", "Geocoded products (those listed in `geocode.products`; a complex interferogram is written to "
                     "GeoTIFF as its phase in rad, `<name>_phase.tif`):", "",
                 "| ISCE name | daskinsar `group/variable` | GeoTIFF |", "| --- | --- | --- |"] + geo_rows
    return "\n".join(rows)


# ------------------------------------------------------------------------------------------------
# sensors
def sensors_table_markdown() -> str:
    """The reader registry as a table."""
    from .io.readers import readers

    rows = ["| sensor (`--sensor`) | aliases | levels | tested on | format |", "| --- | --- | --- | --- | --- |"]
    for r in readers():
        tested = "real data" if r.tested_on_real_data else "generated data only"
        aliases = ", ".join(f"`{a}`" for a in r.aliases) or "-"
        rows.append(f"| `{r.name}` | {aliases} | {', '.join(r.levels)} | {tested} | {_cell(r.description)} |")
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


# ------------------------------------------------------------------------------------------------
GENERATORS: dict[str, Callable[[], str]] = {
    "config-reference": config_reference_markdown,
    "products": products_table_markdown,
    "sensors": sensors_table_markdown,
    "cli-reference": cli_reference_markdown,
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
