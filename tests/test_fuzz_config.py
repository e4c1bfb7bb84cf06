"""Fuzzing the two configuration formats (YAML run configurations and ISCE insarApp.xml): seeded
mutations of a valid file, each of which must end in one clear ConfigError naming the file, or load
into a configuration that holds exactly what the file says (no value dropped, coerced or replaced by a
default). Generated here, never stored."""

from __future__ import annotations

import copy
import json
import math
import random
import warnings

import pytest
import yaml

from daskinsar.config import RunConfig, load_config
from daskinsar.errors import ConfigError

N_MUTATIONS = 120

VALID = {
    "reference": {"path": "ref.zarr"},
    "secondary": {"path": "sec.zarr", "options": {"polarization": "VV"}},
    "dem": {"path": "dem.tif", "vertical_datum": "egm96"},
    "output": "run",
    "interferogram": {"posting_m": 30.0, "coherence_window": [5, 5]},
    "filter": {"strength": 0.7, "patch_size": 32},
    "unwrap": {"enabled": True, "cost": "defo", "tile_overlap": 64},
    "offsets": {"method": "geometric+dense", "min_windows": 10, "max_residual_px": 0.3},
    "geocode": {"products": ["filt_topophase.unw", "topophase.cor"], "crs": "EPSG:4326"},
    "processing": {"chunk_azimuth": 512, "chunk_range": 512},
}

ODD_VALUES = [0, -1, -1e300, 1e300, float("nan"), float("inf"), -float("inf"), "", "abc", "30", True, False, None,
              [], {}, [1, 2, 3], {"a": 1}, 2**70, 0.5, "EPSG:999999", "../../etc/passwd", "\x00", "é" * 10]


def _leaves(d, prefix=()):
    if isinstance(d, dict):
        for k, v in d.items():
            yield from _leaves(v, prefix + (k,))
    else:
        yield prefix, d


def _get(d, path):
    for p in path:
        d = d[p]
    return d


def _same(a, b) -> bool:
    """Equal values: a whole number given for a float field is that float (exactly), nothing else converts."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) and isinstance(b, str):  # pydantic's lossless conversions of YAML text
        return b.strip().lower() in ({"1", "true", "yes", "on", "t", "y"} if a else {"0", "false", "no", "off", "f", "n"})
    if isinstance(a, (int, float)) and not isinstance(a, bool) and isinstance(b, str):
        try:
            return float(b) == a
        except ValueError:
            return False
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, float) and isinstance(b, (int, float)):
        return (math.isnan(a) and isinstance(b, float) and math.isnan(b)) or (a == b and float(b) == a)
    return type(a) is type(b) and a == b


def _mutate_data(rng: random.Random) -> tuple[dict, str]:
    d = copy.deepcopy(VALID)
    leaves = list(_leaves(d))
    kind = rng.choice(["value", "value", "value", "delete", "unknown key", "nest", "section type"])
    path, _ = rng.choice(leaves)
    parent = _get(d, path[:-1])
    if kind == "value":
        parent[path[-1]] = rng.choice(ODD_VALUES)
    elif kind == "delete":
        del parent[path[-1]]
    elif kind == "unknown key":
        parent[path[-1] + "x"] = 1
    elif kind == "nest":
        v: object = 1
        for _ in range(rng.randint(50, 400)):
            v = [v]
        parent[path[-1]] = v
    else:
        d[rng.choice(list(d))] = rng.choice(ODD_VALUES)
    return d, f"{kind} at {'.'.join(path)}"


def _mutate_text(text: str, rng: random.Random) -> tuple[bytes, str]:
    b = bytearray(text.encode())
    kind = rng.choice(["truncate", "flip", "insert", "duplicate key", "alias bomb", "not utf-8"])
    if kind == "truncate":
        b = b[: rng.randrange(len(b))]
    elif kind == "flip":
        for _ in range(rng.randint(1, 5)):
            i = rng.randrange(len(b))
            b[i] = rng.randrange(256)
    elif kind == "insert":
        i = rng.randrange(len(b))
        b[i:i] = rng.choice([b": [", b"{", b"&a ", b"*a", b"\t", b"!!python/object:os.system ", b"- - -"])
    elif kind == "duplicate key":
        b += b"\noutput: elsewhere\n"
    elif kind == "alias bomb":  # 8^12 values from a few hundred bytes, in the reader options (free-form)
        lines = ["  options:", "    a0: &a0 [x, x, x, x, x, x, x, x]"]
        lines += [f"    a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 8)}]" for i in range(1, 12)]
        b = bytearray(text.replace("reference:\n  path: ref.zarr\n", "reference:\n  path: ref.zarr\n"
                                   + "\n".join(lines) + "\n").encode())
    else:
        b[rng.randrange(len(b))] = 0xFF
    return bytes(b), kind


def _check_loaded(cfg: RunConfig, data: dict) -> None:
    """Every value the file gives is the configuration's value at the same place (paths resolved)."""
    dump = cfg.model_dump(mode="python")
    for path, value in _leaves(data):
        got = _get(dump, path)
        if path[-1] == "path" or path == ("output",):
            assert str(got).endswith(str(value).lstrip("./")) or value in ("", None), (path, value, got)
            continue
        assert _same(got, value), (path, value, got)


def _load_or_clear_error(p, what, *, max_len: int):
    """The loaded configuration, or None after checking the refusal is one line naming the file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return load_config(p)
    except ConfigError as exc:
        msg = str(exc)
        assert str(p) in msg and "\n" not in msg and len(msg) < max_len, (what, msg)
        return None


@pytest.mark.parametrize("seed", range(N_MUTATIONS))
def test_yaml_mutations_are_a_clear_error_or_exactly_what_the_file_says(seed, tmp_path):
    rng = random.Random(seed)
    p = tmp_path / "run.yaml"
    if seed % 2:
        data, what = _mutate_data(rng)
        text = json.dumps(data, allow_nan=True)  # JSON is YAML (and writes deep nests without recursion limits)
        p.write_text(text)
        try:
            parsed = yaml.safe_load(text)  # what the file says, read as YAML reads it
        except RecursionError:
            parsed = None
    else:
        raw, what = _mutate_text(yaml.safe_dump(VALID), rng)
        p.write_bytes(raw)
        try:
            parsed = yaml.safe_load(raw.decode("utf-8"))
        except Exception:
            parsed = None
    cfg = _load_or_clear_error(p, what, max_len=2000)
    if cfg is None:
        return
    assert isinstance(parsed, dict), what
    _check_loaded(cfg, parsed)


ISCE = """<?xml version="1.0" encoding="UTF-8"?>
<insarApp>
<component name="insar">
    <constant name="dir">data</constant>
    <property name="sensor name">ALOS</property>
    <component name="Master"><property name="IMAGEFILE">$dir$/ref/IMG-HH</property></component>
    <component name="Slave"><property name="IMAGEFILE">$dir$/sec/IMG-HH</property></component>
    <component name="Dem"><property name="FILE_NAME">dem.tif</property></component>
    <property name="posting">30</property>
    <property name="filter strength">0.5</property>
    <property name="Culling error limit">50</property>
    <property name="unwrapper name">snaphu</property>
    <property name="doppler method">useDOPIQ</property>
    <property name="geocode list">['filt_topophase.unw', 'topophase.cor']</property>
    <property name="geo posting">0.0002</property>
</component>
</insarApp>
"""

#: insarApp property -> (configuration field, how ISCE reads the text)
XML_FIELDS = {"posting": (("interferogram", "posting_m"), float),
              "filter strength": (("filter", "strength"), float),
              "Culling error limit": (("offsets", "min_windows"), lambda s: int(float(s))),
              "geo posting": (("geocode", "posting"), float)}


def _mutate_xml(rng: random.Random) -> tuple[bytes, dict, str]:
    text = ISCE
    expect: dict = {}
    kind = rng.choice(["value", "value", "value", "bytes", "tag", "constant", "duplicate"])
    if kind == "value":
        name = rng.choice(list(XML_FIELDS) + ["unwrapper name", "doppler method", "sensor name", "geocode list"])
        value = rng.choice(["0", "-1", "1e300", "nan", "inf", "", "abc", "30.5", "[1, 2]", "$nope$", "$dir",
                            "snaphu_mcf", "useDEFAULT", "ERS", "['los.rdr']", "2" * 400])
        start = text.index(f'<property name="{name}">') + len(f'<property name="{name}">')
        end = text.index("</property>", start)
        text = text[:start] + value + text[end:]
        expect[name] = value
    elif kind == "bytes":
        b = bytearray(text.encode())
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        return bytes(b), {}, kind
    elif kind == "tag":
        tag = rng.choice(["</component>", "<component", "</property>", "</insarApp>", "<insarApp>"])
        i = text.index(tag)
        text = text[:i] + text[i + len(tag):] if rng.random() < 0.5 else text[:i] + tag + text[i:]
    elif kind == "constant":
        text = text.replace('<constant name="dir">data</constant>',
                            rng.choice(['<constant name="dir">$dir$</constant>', '<constant name="dir"></constant>',
                                        '<constant name="">x</constant>', '<constant name="dir">$other$</constant>']))
    else:
        text = text.replace('<property name="posting">30</property>',
                            '<property name="posting">30</property><property name="posting">90</property>')
    return text.encode(), expect, kind


@pytest.mark.parametrize("seed", range(N_MUTATIONS))
def test_insarapp_mutations_are_a_clear_error_or_what_isce_means(seed, tmp_path):
    rng = random.Random(1000 + seed)
    raw, expect, what = _mutate_xml(rng)
    p = tmp_path / "insarApp.xml"
    p.write_bytes(raw)
    cfg = _load_or_clear_error(p, what, max_len=3000)
    if cfg is None:
        return
    for name, text in expect.items():
        if name in XML_FIELDS:
            path, parse = XML_FIELDS[name]
            want = parse(text)
            got = _get(cfg.model_dump(), path)
            assert got == want or (isinstance(want, float) and math.isnan(want) and math.isnan(got)), (name, text, got)
