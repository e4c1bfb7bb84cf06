"""The README (user guide) stays true to the code: generated blocks are current, every
configuration key, reader, product and command is documented, and the quick start is unchanged."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import pytest
import yaml
from pydantic import BaseModel, Field, ValidationError

from daskinsar import docs
from daskinsar.config import RunConfig

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(scope="module")
def readme() -> str:
    return README.read_text()


def _rows(block: str) -> list[list[str]]:
    """The cells of a Markdown table's body rows (header and rule skipped)."""
    out = []
    for line in block.splitlines():
        if not line.startswith("|") or set(line) <= set("|- "):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        out.append(cells)
    return out[1:]  # drop the header row


def _code(cell: str) -> str:
    m = re.search(r"`([^`]*)`", cell)
    return m.group(1).replace("\\|", "|") if m else ""


# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", docs.BLOCK_NAMES)
def test_generated_block_is_current(readme, name):
    block = docs.extract_block(readme, name)
    assert block is not None, f"README.md lacks the <!-- {name}:start --> ... <!-- {name}:end --> markers"
    assert block == docs.GENERATORS[name]().strip(), (
        f"README.md's {name} block is out of date with the code; run: python -m daskinsar.docs --update README.md")


def _model_keys(model, prefix="") -> dict[str, object]:
    """Every key path of a pydantic model, walked independently of daskinsar.docs."""
    out = {}
    for name, f in model.model_fields.items():
        out[prefix + name] = f
        if isinstance(f.annotation, type) and issubclass(f.annotation, BaseModel):
            out.update(_model_keys(f.annotation, prefix + name + "."))
    return out


def _minimal() -> dict:
    return {"reference": {"path": "r.zarr"}, "secondary": {"path": "s.zarr"}}


def _get(obj, path):
    for p in path.split("."):
        obj = getattr(obj, p)
    return obj


def test_config_reference_documents_every_key_with_a_default_that_round_trips(readme):
    rows = _rows(docs.extract_block(readme, "config-reference"))
    documented = {_code(r[0]): r for r in rows}
    keys = _model_keys(RunConfig)
    assert set(documented) == set(keys), (set(keys) ^ set(documented))
    for path, row in documented.items():
        field = keys[path]
        is_section = isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
        if row[2] == "**required**":
            assert field.is_required(), path
            if "." not in path:  # a missing required key is an error naming it
                data = _minimal()
                data.pop(path)
                with pytest.raises(ValidationError, match=path):
                    RunConfig.model_validate(data)
            continue
        assert not field.is_required(), f"{path} is required but documented with a default"
        if is_section:
            continue
        # the documented default, put back into a config, validates and equals the model's default
        value = yaml.safe_load(_code(row[2]))
        data = _minimal()
        node = data
        parts = path.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
        cfg = RunConfig.model_validate(data)
        default_cfg = RunConfig.model_validate(_minimal())
        assert _get(cfg, path) == _get(default_cfg, path), path
        assert row[4], f"{path}: no description in the reference"


def test_config_reference_generator_walks_nested_models():
    class Inner(BaseModel):
        """Inner section."""

        mode: Literal["a", "b"] = "a"
        size: tuple[int, int] = (3, 4)

    class Outer(BaseModel):
        """Outer."""

        path: str = Field(description="where")
        limit: float | None = Field(None, gt=0, description="a limit")
        inner: Inner = Field(default_factory=Inner)

    md = docs.config_reference_markdown(Outer)
    rows = {_code(r[0]): r for r in _rows(md)}
    assert list(rows) == ["path", "limit", "inner", "inner.mode", "inner.size"]
    assert rows["path"][2] == "**required**" and rows["path"][4] == "where"
    assert rows["limit"][1] == r"`float \| null`" and rows["limit"][2] == "`null`" and rows["limit"][3] == "> 0"
    assert rows["inner"][1] == "section" and rows["inner"][4] == "Inner section."
    assert rows["inner.mode"][1] == r'`"a" \| "b"`' and rows["inner.mode"][2] == '`"a"`'
    assert rows["inner.size"][1] == "`[int, int]`" and rows["inner.size"][2] == "`[3, 4]`"


def test_sensors_table_lists_every_registered_reader(readme):
    from daskinsar.io.readers import readers

    rows = {_code(r[0]): r for r in _rows(docs.extract_block(readme, "sensors"))}
    registered = {r.name: r for r in readers()}
    missing = set(registered) - set(rows)
    assert not missing, f"README.md's sensors table lacks the registered readers {sorted(missing)}"
    assert not set(rows) - set(registered), "README.md's sensors table lists readers that are not registered"
    for name, r in registered.items():
        assert rows[name][3] == ", ".join(r.levels), name
        assert rows[name][5].startswith("none found") != r.tested_on_real_data, name
        assert rows[name][1].count("`") >= 2, name  # the ISCE sensor names it answers to


def test_products_table_names_every_isce_product(readme):
    from daskinsar.products import ISCE_NAMES, resolve_product

    block = docs.extract_block(readme, "products")
    rows = _rows(block.split("\n\n")[0])  # the first table: radar-grid products
    targets = {_code(r[1]): r[0] for r in rows}
    for isce, (group, var) in ISCE_NAMES.items():
        assert f"{group}/{var}" in targets, f"{isce}: {group}/{var} missing from the products table"
        assert f"`{isce}`" in targets[f"{group}/{var}"], f"{isce} not listed next to {group}/{var}"
        assert resolve_product(isce) == (group, var)
    for r in rows:  # every row says its units
        assert r[2], r


def test_cli_reference_lists_every_command_and_option(readme):
    import typer

    from daskinsar.cli import app

    block = docs.extract_block(readme, "cli-reference")
    group = typer.main.get_command(app)
    for name, cmd in group.commands.items():
        assert re.search(rf"^#### `daskinsar {name}\b", block, re.M), f"command {name!r} missing"
        for p in cmd.params:
            if p.name == "help":
                continue
            if p.param_type_name == "option":
                assert f"`{p.opts[0]}`" in block, f"{name}: option {p.opts[0]} missing"


def test_quick_start_and_data_location_unchanged(readme):
    qs = readme[readme.index("## Quick start"):]
    qs = qs[: qs.index("\n## ", 3)] if "\n## " in qs[3:] else qs
    assert "pip install -e . && daskinsar demo" in qs
    assert 'pip install -e ".[test]" && pytest' in qs
    assert "../shared/data" in qs and "$DASKINSAR_TEST_DATA" in qs


def test_readme_names_every_pipeline_step_and_the_cluster_usage(readme):
    from daskinsar.pipeline import STEP_NAMES

    for s in STEP_NAMES:
        assert f"`{s}`" in readme, f"step {s} not described"
    assert "daskinsar run CONFIG --scheduler tcp://HOST:8786" in readme
    assert "--scheduler local" in readme
    assert "deploy/README.md" in readme
    for nb in ("01_quickstart.ipynb", "02_real_data.ipynb", "03_cluster.ipynb"):
        assert nb in readme


def test_update_and_check_commands(tmp_path, readme, capsys):
    stale = docs.replace_block(readme, "config-reference", "| key | type |\n| --- | --- |\n| `old` | str |")
    p = tmp_path / "README.md"
    p.write_text(stale)
    assert docs.main(["--check", str(p)]) == 1
    assert "config-reference" in capsys.readouterr().err
    assert docs.main(["--update", str(p)]) == 0
    assert p.read_text() == readme  # only the generated block changed, and back to the committed text
    assert docs.main(["--check", str(p)]) == 0
    p.write_text("# no markers\n")
    with pytest.raises(ValueError, match="config-reference:start"):
        docs.main(["--update", str(p)])


def test_every_reader_has_a_real_data_record_consistent_with_its_flag():
    """The README's sensor table says, per reader, what real file it was checked against or that none was
    found, and agrees with each reader's own tested_on_real_data flag."""
    from daskinsar.docs import REAL_DATA_RECORD
    from daskinsar.io.readers import readers

    for r in readers():
        assert r.name in REAL_DATA_RECORD, r.name
        assert r.tested_on_real_data == (not REAL_DATA_RECORD[r.name].startswith("none found")), r.name
