"""The seeded mutations of each product format (see :mod:`fuzz_mutations` for the rule they are judged by).

Every builder takes the valid product (a :class:`fuzz_products.Target`) and a seeded generator and returns
at least 50 mutations: the format's used fields set to impossible values (NaN, inf, 1e20, text, blank;
zero and negative where the quantity is positive), structural fields (sizes, counts, record lengths and
prefixes, declared dimensions up to 2**40) broken, lists reversed / swapped / duplicated / truncated,
enumerations set to unknown values, required elements deleted, files truncated at random offsets, bits
flipped at random offsets (in headers and in the image samples), files deleted or replaced by a folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from daskinsar.io.ceos_records import (DATA_SET_SUMMARY, HEADER, IMAGE_FILE_DESCRIPTOR, PLATFORM_POSITION_HEADER,
                                       PP_HEADER_END, read_records)
from fuzz_mutations import (ANY_FIELD, POSITIVE_FIELD, Mutation, bad_value, flip, folder_instead, h5_inventory,
                            h5_mutation, h5_mutations, kv_mutation, overwrite, random_flips, random_truncations,
                            remove, replace, xml_blocks, xml_mutations, xml_tag_flips)
from fuzz_products import DEM_BOX, Target

_BIN = {"B1": ">u1", "B2": ">i2", "B4": ">i4", "B8": ">i8", "U2": ">u2", "U4": ">u4", "R4": ">f4"}


def _pick(rng: np.random.Generator, ops) -> str:
    return str(rng.choice(list(ops)))


# ---------------------------------------------------------------------------------------------------- CEOS
def ceos_field(rel: str, at: int, width: int, kind: str, op: str, label: str) -> Mutation:
    """One CEOS field (``at``: byte offset in the file) set to ``op``: ASCII fields as text right-justified in
    their width, binary fields as the impossible value of their type."""
    if kind in _BIN:
        dt = np.dtype(_BIN[kind])
        if dt.kind == "f":
            v = {"zero": 0.0, "negative": -1.0, "nan": np.nan, "inf": np.inf, "huge": 1e20}.get(op, np.nan)
        else:
            info = np.iinfo(dt)
            v = {"zero": 0, "negative": -1 if info.min < 0 else info.max, "huge": info.max}.get(op, info.max)
        data = np.array([v], dt).tobytes()
    else:
        text = ("9" * width if kind == "I" else "1.0E+20") if op == "huge" else bad_value("1", op)
        if op == "negative":
            text = "-1"
        data = text.rjust(width)[:width].encode("ascii")
    return overwrite(rel, at, data, f"{label} {op}")


def ceos(t: Target, rng: np.random.Generator, *, positive_dss: tuple[str, ...],
         record_fields: dict[str, tuple[int, int, str]] | None = None,
         optional: dict[str, dict] | None = None) -> list[Mutation]:
    """Mutations of a CEOS product folder (leader + one image file): data set summary, platform position
    and image file descriptor fields, record headers, the first image record's fields (``record_fields``),
    truncations, bit flips and missing files. ``optional``: data set summary fields the reader documents as
    optional, and what a blank one leaves unknown (the metadata fields then None)."""
    optional = optional or {}
    d = t.folder
    leader = next(p.name for p in sorted(d.iterdir()) if p.name.upper().startswith(("LEA", "SARLEADER", "LED-")))
    image = next(p.name for p in sorted(d.iterdir()) if p.name.upper().startswith(("DAT_", "IMAGERY", "IMG-")))
    led = (d / leader).read_bytes()
    img = (d / image).read_bytes()
    recs = read_records(led, leader)
    dss_at = next(r.offset for r in recs if r.type_code == 10)
    pp = next(r for r in recs if r.type_code == 30)
    out: list[Mutation] = []
    # data set summary: every numeric field may be hit (unused ones must read unchanged), used ones twice
    numeric = [k for k, (_, _, kind) in DATA_SET_SUMMARY.items() if kind in "FI"]
    for name in list(positive_dss) + [str(x) for x in rng.choice(numeric, 12, replace=False)]:
        off, n, kind = DATA_SET_SUMMARY[name]
        ops = POSITIVE_FIELD if name in positive_dss else ANY_FIELD
        m = ceos_field(leader, dss_at + off, n, kind, op := _pick(rng, ops), f"data set summary {name}")
        out.append(Mutation(m.name, m.apply, expect=optional[name]) if op == "blank" and name in optional else m)
    for name in ("mission", "product_level", "product_type", "scene_centre_time", "sensor_id"):
        off, n, _ = DATA_SET_SUMMARY[name]
        m = overwrite(leader, dss_at + off, b"UNKNOWN_XYZ".ljust(n)[:n], f"data set summary {name} unknown")
        # the sensor id is a free-text label (the metadata's mode): read as written
        out.append(Mutation(m.name, m.apply, expect={"mode": "UNKNOWN_XYZ"}) if name == "sensor_id" else m)
    # platform position: counts, times and the state vectors
    for name in ("n_points", "seconds_of_day", "interval_s", "day_of_year", "year"):
        off, n, kind = PLATFORM_POSITION_HEADER[name]
        out.append(ceos_field(leader, pp.offset + off, n, kind, _pick(rng, POSITIVE_FIELD), f"platform {name}"))
    n_sv = int(led[pp.offset + PLATFORM_POSITION_HEADER["n_points"][0]:][:4])
    for k in rng.choice(6 * n_sv, 4, replace=False):
        out.append(ceos_field(leader, pp.offset + PP_HEADER_END + 22 * int(k), 22, "F", _pick(rng, ANY_FIELD),
                              f"state vector value {int(k)}"))
    a, b = pp.offset + PP_HEADER_END, pp.offset + PP_HEADER_END + 132
    out.append(Mutation(f"{leader} first two state vectors swapped", _swap(leader, a, b, 132)))
    # image file descriptor: every structural field, to zero / negative / huge / text
    for name in ("n_records", "record_length", "n_pixels", "n_lines", "prefix_bytes", "bits_per_sample",
                 "bytes_per_group", "samples_per_group", "suffix_bytes", "left_border", "data_bytes"):
        off, n, kind = IMAGE_FILE_DESCRIPTOR[name]
        for op in ("zero", "huge", str(rng.choice(["negative", "text", "blank"]))):
            out.append(ceos_field(image, off, n, kind, op, f"image descriptor {name}"))
    # the first image record's fields the reader uses
    first = HEADER.unpack_from(img, 0)[5]
    for name, (off, n, kind) in (record_fields or {}).items():
        out.append(ceos_field(image, first + off, n, kind, _pick(rng, ("zero", "negative", "huge")),
                              f"first image record {name}"))
    # record headers (sequence, type codes, length) of the leader and the image file
    out += [Mutation(m.name + " (a record header)", m.apply)
            for m in random_flips(leader, 0, 12, 2, rng) + random_flips(leader, dss_at, dss_at + 12, 2, rng)
            + random_flips(leader, pp.offset, pp.offset + 12, 2, rng) + random_flips(image, 0, 12, 2, rng)]
    out += random_truncations(leader, len(led), 4, rng) + random_truncations(image, len(img), 4, rng)
    out += random_flips(image, first + 192, len(img), 3, rng)  # image samples (or line prefixes: same)
    out += [remove(leader), remove(image), folder_instead(leader), folder_instead(image),
            replace(image, b"not a CEOS file\n" * 64, "text")]
    return out


def _swap(rel: str, a: int, b: int, n: int):
    def f(d: Path) -> None:
        raw = bytearray((d / rel).read_bytes())
        raw[a:a + n], raw[b:b + n] = raw[b:b + n], raw[a:a + n]
        (d / rel).write_bytes(bytes(raw))
    return f


# ---------------------------------------------------------------------------------------------------- Envisat
def envisat(t: Target, rng: np.random.Generator) -> list[Mutation]:
    """Mutations of an Envisat-format file: MPH/SPH/DSD values, main processing parameters, Doppler,
    geolocation grid and MDS record fields, truncations and flips."""
    from daskinsar.io import envisat_records as er

    rel = t.target
    data = (t.folder / rel).read_bytes()
    _, _, dsds = er.read_headers(str(t.folder / rel), len(data), data[:1 << 20])
    out: list[Mutation] = []
    for key in ("SPH_SIZE", "NUM_DSD", "DSD_SIZE", "FIRST_LINE_TIME", "LAST_LINE_TIME", "PRODUCT", "DS_OFFSET",
                "DS_SIZE", "NUM_DSR", "DSR_SIZE", "MDS1_TX_RX_POLAR", "FIRST_NEAR_LAT", "ABS_ORBIT", "SENSING_START"):
        at = data.index(key.encode() + b"=") + len(key) + 1
        quoted = data[at:at + 1] == b'"'
        end = data.index(b"\n", at)
        width = end - at - (2 if quoted else 0)
        op = _pick(rng, ("zero", "negative", "huge", "text", "blank"))
        text = {"zero": "0", "negative": "-1", "huge": "9" * width, "text": "abc", "blank": ""}[op]
        out.append(overwrite(rel, at + (1 if quoted else 0), text.ljust(width)[:width].encode(), f"{key} {op}"))
    mpp = dsds["MAIN PROCESSING PARAMS ADS"].offset
    positive = ("range_spacing", "line_time_interval", "num_output_lines", "num_samples_per_line", "prf_value",
                "tx_pulse_len_value", "range_samp_rate", "radar_freq", "tot_bw_range")
    for name, (off, dt, n) in er.MPP_FIELDS.items():
        if dt in ("mjd",) or dt.startswith("S"):
            out.append(overwrite(rel, mpp + off, b"\xff" * 12 if dt == "mjd" else b"XXXXX", f"MPP {name} garbage"))
            continue
        op = _pick(rng, POSITIVE_FIELD if name in positive else ANY_FIELD)
        m = ceos_field(rel, mpp + off, np.dtype(dt).itemsize, {">f4": "R4", ">u4": "U4", ">u2": "U2"}[dt], op,
                       f"MPP {name}")
        unstated = {"tot_bw_range": {"range_bandwidth_hz": None}, "to_bw_az": {"azimuth_bandwidth_hz": None}}
        out.append(Mutation(m.name, m.apply, expect=unstated[name]) if op == "zero" and name in unstated else m)
    for k in range(4):  # state vectors: time, then x/y/z and velocities
        off = er.MPP_SV_AT + er.MPP_SV_SIZE * int(rng.integers(5)) + int(rng.choice([0, 12, 16, 20, 24, 28, 32]))
        out.append(ceos_field(rel, mpp + off, 4, "B4", _pick(rng, ("zero", "huge", "negative")), f"MPP state vector {k}"))
    a = mpp + er.MPP_SV_AT
    out.append(Mutation(f"{rel} first two MPP state vectors swapped", _swap(rel, a, a + er.MPP_SV_SIZE, er.MPP_SV_SIZE)))
    dop = dsds["DOP CENTROID COEFFS ADS"].offset
    geo = dsds["GEOLOCATION GRID ADS"].offset
    mds = dsds["MDS1"].offset
    for name, at in (("Doppler origin", dop + 13), ("Doppler c0", dop + 17), ("Doppler c1", dop + 21),
                     ("geolocation range time", geo + 69), ("geolocation first sample", geo + 25)):
        out.append(ceos_field(rel, at, 4, "R4" if "sample" not in name else "U4", _pick(rng, ANY_FIELD), name))
    out.append(overwrite(rel, mds, b"\xff" * 12, "MDS1 first record time garbage"))
    out.append(ceos_field(rel, mds + 13, 4, "U4", "huge", "MDS1 first range line number"))
    out += [Mutation(m.name + " (a header)", m.apply) for m in random_flips(rel, 0, mpp, 8, rng, bits=(4, 5, 6, 7))]
    out += random_truncations(rel, len(data), 6, rng)
    out += random_flips(rel, mds + 30, len(data), 3, rng)
    out += [remove(rel), folder_instead(rel), replace(rel, b"PRODUCT=" + b"x" * 2000, "a broken header")]
    return out


# ---------------------------------------------------------------------------------------------------- HDF5
def hdf5(t: Target, rng: np.random.Generator, *, positive: tuple[str, ...], image: str,
         required: tuple[str, ...] = (), n_random: int = 40, labels: dict | None = None,
         optional: dict[str, dict] | None = None, deleted: dict[str, dict] | None = None) -> list[Mutation]:
    """Mutations of an HDF5 product: seeded attribute / dataset mutations (values, array order, lengths,
    deletion, 2**40-element declarations), the ``positive`` fields set to zero / negative, the image dataset
    declared far larger than the file, name flips of ``required`` objects, truncations and bit flips.
    ``labels``: see :func:`h5_mutations`; ``optional``: positive fields where 0 means "not stated" (and the
    metadata fields that then stay unknown); ``deleted``: datasets whose absence the reader documents (and the
    metadata it then has)."""
    import h5py

    rel = t.target
    path = t.folder / rel
    inv = h5_inventory(path, image)
    optional = optional or {}
    out = [Mutation(m.name, m.apply, expect=(deleted or {}).get(m.name.split()[1].rsplit("/", 1)[-1]))
           if m.name.endswith(" delete") else m for m in h5_mutations(rel, inv, rng, n_random, positive, labels)]
    for name, expect in (deleted or {}).items():
        obj = next(o for o, a, *_ in inv if a is None and o.rsplit("/", 1)[-1] == name)
        m = h5_mutation(rel, obj, None, "delete")
        out.append(Mutation(m.name, m.apply, expect=expect))
    for obj, attr, shape, kind, _ in inv:
        name = attr if attr is not None else obj.rsplit("/", 1)[-1]
        if name in positive and kind in "fiu" and int(np.prod(shape)) == 1:
            m = h5_mutation(rel, obj, attr, op := _pick(rng, ("zero", "negative")))
            out.append(Mutation(m.name, m.apply, expect=optional[name]) if op == "zero" and name in optional else m)
    out.append(h5_mutation(rel, image, None, "inflated"))
    with h5py.File(path, "r") as h:
        img_off, img_n = h[image].id.get_offset(), h[image].id.get_storage_size()
    raw = path.read_bytes()
    for name in required:
        at = raw.find(name.encode() + b"\x00")
        if at >= 0:
            m = flip(rel, at + int(rng.integers(len(name))), int(rng.integers(0, 5)))
            out.append(Mutation(f"{m.name} (in the name {name!r})", m.apply))
    out += [Mutation(m.name + " (superblock)", m.apply) for m in random_flips(rel, 0, 48, 2, rng)]
    out += random_truncations(rel, len(raw), 5, rng)
    if img_off is not None:
        out += random_flips(rel, img_off, img_off + img_n, 3, rng)
    out += [folder_instead(rel), replace(rel, b"\x89HDF\r\n\x1a\n" + b"\x00" * 100, "a bare HDF5 signature")]
    return out


# ---------------------------------------------------------------------------------------------------- XML
def xml_product(t: Target, rng: np.random.Generator, *, xml: str, image: str | None, positive: tuple[str, ...],
                blocks: tuple[str, ...], counted: tuple[str, ...] = (), n_random: int = 34,
                optional: dict[str, dict] | None = None) -> list[Mutation]:
    """Mutations of an annotation-XML product: seeded leaf mutations, the ``positive`` elements to zero /
    negative, repeated ``blocks`` (state vectors, estimates) reordered or duplicated (and the last dropped when
    the file declares their number: ``counted``), tag-name flips, truncations, and the image file truncated,
    flipped, deleted or replaced by a folder. ``optional``: elements a reader documents as optional (their
    deletion, or a 0 for "not stated", leaves these metadata fields unknown)."""
    optional = optional or {}
    data = (t.folder / xml).read_bytes()
    out = [_optional(m, optional) for m in xml_mutations(xml, data, rng, n_random, positive)
           + xml_mutations(xml, data, rng, 2 * len(positive), positive, only=positive)]
    for tag in blocks:
        out += [xml_blocks(xml, tag, how) for how in ("reversed", "swapped", "duplicated")
                + (("truncated",) if tag in counted else ())]
    out += xml_tag_flips(xml, data, rng, 5)
    out += random_truncations(xml, len(data), 3, rng)
    out += [replace(xml, b"<?xml version='1.0'?><product/>", "an empty document"), folder_instead(xml)]
    if image is not None:
        size = (t.folder / image).stat().st_size
        out += random_truncations(image, size, 2, rng) + random_flips(image, size // 2, size, 2, rng)
        out += [remove(image), folder_instead(image)]
    return out


def _optional(m: Mutation, optional: dict[str, dict]) -> Mutation:
    """``m`` with its stated result when it deletes (or zeroes) an optional element."""
    tag = m.name.split("<", 1)[1].split(">", 1)[0] if "<" in m.name else ""
    if tag in optional and (m.name.endswith("deleted") or m.name.endswith("-> '0'")):
        return Mutation(m.name, m.apply, expect=optional[tag])
    return m


# ---------------------------------------------------------------------------------------------------- text files
def keyword_file(t: Target, rng: np.random.Generator, *, rel: str, keys: dict[str, tuple[str, ...]],
                 pattern: str | None = None, optional: dict[str, dict] | None = None) -> list[Mutation]:
    """Every key of a keyword file set to two of its impossible values (``keys``: key -> ops) or deleted
    (``optional``: keys a reader documents as optional, and the metadata their absence leaves unknown)."""
    optional = optional or {}
    out = []
    for key, ops in keys.items():
        for op in rng.choice(list(ops) + ["delete"], 2, replace=False):
            m = kv_mutation(rel, key, str(op), pattern) if pattern else kv_mutation(rel, key, str(op))
            out.append(Mutation(m.name, m.apply, expect=optional[key]) if op == "delete" and key in optional else m)
    return out


# ---------------------------------------------------------------------------------------------------- SNAP
def _json_edit(rel: str, what: str, fn) -> Mutation:
    import json

    def f(d: Path) -> None:
        tree = json.loads((d / rel).read_text())
        am = next(e for e in tree if e.get("name") == "Abstracted_Metadata")
        fn(am)
        (d / rel).write_text(json.dumps(tree))
    return Mutation(f"{rel} {what}", f)


def _set_attr(am: dict, key: str, op: str) -> None:
    a = next(x for x in am["attributes"] if x["name"] == key)
    v = a["data"]["elems"]
    if op == "delete":
        am["attributes"].remove(a)
        return
    if isinstance(v, list):
        new = {"zero": [0.0] * len(v), "negative": [-x for x in v], "nan": [float("nan")] * len(v),
               "inf": [float("inf")], "huge": [1e20] * len(v), "text": "abc", "blank": []}[op]
    else:
        new = bad_value(str(v), op)
    a["data"]["elems"] = new


def snap(t: Target, rng: np.random.Generator) -> list[Mutation]:
    """Mutations of a SNAP pair: the stack master's Abstracted_Metadata attributes, its orbit state vectors,
    the bands' .zarray sizes and chunk files, the tie-point grids' subsampling, and missing files."""
    import json

    znaps = sorted(p.name for p in t.folder.glob("*.znap"))
    master = znaps[0]  # the reference (the earlier date) gives the grid; the other's must agree
    md = f"{master}/SNAP/product_metadata.json"
    other = f"{znaps[1]}/SNAP/product_metadata.json"
    tree = json.loads((t.folder / md).read_text())
    am = next(e for e in tree if e.get("name") == "Abstracted_Metadata")
    used_pos = ("line_time_interval", "slant_range_to_first_pixel", "range_spacing", "num_output_lines",
                "num_samples_per_line", "radar_frequency", "pulse_repetition_frequency", "range_sampling_rate",
                "range_bandwidth", "azimuth_bandwidth", "azimuth_spacing")
    numeric = [a["name"] for a in am["attributes"] if a["data"]["type"].startswith(("float", "int"))]
    out: list[Mutation] = []
    for key in list(used_pos) + [str(k) for k in rng.choice(numeric, 10, replace=False)]:
        op = _pick(rng, (POSITIVE_FIELD if key in used_pos else ANY_FIELD) + ("delete",))
        out.append(_json_edit(md, f"{key} {op}", lambda a, k=key, o=op: _set_attr(a, k, o)))
    for key in ("line_time_interval", "first_line_time", "radar_frequency", "PASS"):
        op = "zero" if key != "PASS" else "unknown"
        out.append(_json_edit(other, f"{key} {op} (the other product)", lambda a, k=key, o=op: _set_attr(a, k, o)))
    labels = {"ACQUISITION_MODE": "mode"}
    for key in ("antenna_pointing", "MISSION", "ACQUISITION_MODE", "PASS", "first_line_time"):
        op = "unknown" if key != "first_line_time" else "text"
        m = _json_edit(md, f"{key} {op}", lambda a, k=key, o=op: _set_attr(a, k, o))
        out.append(Mutation(m.name, m.apply, expect={labels[key]: "UNKNOWN_VALUE"}) if key in labels else m)

    def vectors(fn, what):
        def edit(a):
            osv = next(e for e in a["elements"] if e["name"] == "Orbit_State_Vectors")
            osv["elements"] = fn(osv["elements"])
        return _json_edit(md, f"orbit state vectors {what}", edit)

    def one(v, key, value):
        v = json.loads(json.dumps(v))
        next(x for x in v[3]["attributes"] if x["name"] == key)["data"]["elems"] = value
        return v
    out += [vectors(lambda v: v[::-1], "reversed"), vectors(lambda v: [v[1], v[0], *v[2:]], "swapped"),
            vectors(lambda v: [v[0], *v], "first repeated"), vectors(lambda v: v[:1], "one only"),
            vectors(lambda v: one(v, "x_pos", [float("nan")]), "a NaN position"),
            vectors(lambda v: one(v, "time", [0, 0, 0]), "a time of 2000-01-01"),
            vectors(lambda v: one(v, "z_vel", "abc"), "a text velocity")]
    for z in znaps:
        band = next(p.name for p in (t.folder / z).iterdir() if p.name.startswith("i_"))

        def shape(rel, dims):
            def f(d: Path) -> None:
                za = json.loads((d / rel).read_text())
                za["shape"] = dims
                (d / rel).write_text(json.dumps(za))
            return Mutation(f"{rel} shape {dims}", f)
        out += [shape(f"{z}/{band}/.zarray", [1 << 40, 338]), shape(f"{z}/{band}/.zarray", [83, 338]),
                remove(f"{z}/{band}/0.0"), random_truncations(f"{z}/{band}/0.0", 113568, 1, rng)[0],
                random_flips(f"{z}/{band}/0.0", 0, 113568, 1, rng)[0], remove(f"{z}/.zgroup"),
                remove(f"{z}/SNAP/product_metadata.json"), folder_instead(f"{z}/SNAP/product_metadata.json")]
    for key, value in (("subsampling_x", 0.0), ("subsampling_y", float("nan")), ("offset_x", "abc")):
        rel = f"{master}/latitude/.zattrs"

        def attr(d: Path, rel=rel, key=key, value=value) -> None:
            za = json.loads((d / rel).read_text())
            za[key] = value
            (d / rel).write_text(json.dumps(za))
        out.append(Mutation(f"{rel} {key} = {value!r}", attr))
    out += random_truncations(md, (t.folder / md).stat().st_size, 3, rng)
    return out


# ---------------------------------------------------------------------------------------------------- DEM
def _rewrite(rel: str, what: str, *, data=None, expect=None, tags: dict | None = None, unit: str | None = None,
             **profile) -> Mutation:
    """The GeoTIFF rewritten by rasterio with ``profile`` changes (transform, crs, nodata, count, ...), other
    ``data``, band ``unit`` or metadata ``tags``."""
    import rasterio

    def f(d: Path) -> None:
        with rasterio.open(d / rel) as src:
            prof, a = src.profile, src.read()
            keep_tags = src.tags()
        prof.update(profile)
        arr = a if data is None else data(a)
        prof.update(count=arr.shape[0], height=arr.shape[1], width=arr.shape[2], dtype=str(arr.dtype))
        if arr.shape[1] < 256 or arr.shape[2] < 256:
            prof.update(tiled=False)
            prof.pop("blockxsize", None)
            prof.pop("blockysize", None)
        (d / rel).unlink()
        with rasterio.open(d / rel, "w", **prof) as dst:
            dst.write(arr)
            dst.update_tags(**{**keep_tags, **(tags or {})})
            if unit is not None:
                dst.set_band_unit(1, unit)
    return Mutation(f"{rel} {what}", f, expect=expect)


def _tiff_double(rel: str, tag_at: int, k: int, value: float, what: str) -> Mutation:
    return overwrite(rel, tag_at + 8 * k, np.array([value], "<f8").tobytes(), what)


def dem(t: Target, rng: np.random.Generator) -> list[Mutation]:
    """Mutations of a DEM GeoTIFF: geotransform (pixel size, origin) impossible or rotated, CRS and vertical datum
    unknown or missing, units feet (converted: read as stated) or unknown, nodata on real heights (voids: read as
    stated), all nodata, too small, two bands, declared sizes inflated, tile offsets and sizes broken, bytes
    flipped in the tags and in the tiles, truncations."""
    import rasterio
    import tifffile
    from affine import Affine

    rel = t.target
    path = t.folder / rel
    with tifffile.TiffFile(path) as tf:
        tags = {tag.name: tag for tag in tf.pages[0].tags.values()}
    with rasterio.open(path) as src:
        tr, raw = src.transform, src.read(1)
    scale, tie = tags["ModelPixelScaleTag"].valueoffset, tags["ModelTiepointTag"].valueoffset
    out: list[Mutation] = []
    for k, name in ((0, "x pixel size"), (1, "y pixel size")):
        for v in (0.0, float("nan"), float("inf"), 1e20):
            out.append(_tiff_double(rel, scale, k, v, f"{name} = {v}"))
    out.append(_tiff_double(rel, scale, 0, -tr.a, "x pixel size negative"))
    for k, name in ((3, "x origin"), (4, "y origin")):
        for v in (float("nan"), 1e20, -1e20):
            out.append(_tiff_double(rel, tie, k, v, f"{name} = {v}"))
    out.append(_tiff_double(rel, tie, 4, 95.0, "y origin = 95 deg"))

    def feet(read):
        grid, attrs, h = read
        from daskinsar.geometry.geoid import geoid_grid

        r0, c0 = attrs["crop_rows"][0], attrs["crop_cols"][0]
        h_raw = raw[r0:r0 + h.shape[0], c0:c0 + h.shape[1]].astype(np.float32)
        lon = grid[0] + grid[2] * np.arange(h.shape[1])
        lat = grid[1] + grid[3] * np.arange(h.shape[0])
        n = geoid_grid("EGM96").undulation(lon[None, :], lat[:, None])
        return grid, {**attrs, "unit_factor": 0.3048}, ((h_raw * np.float32(0.3048)) + n).astype(np.float32)

    common = int(np.bincount((raw - raw.min()).ravel()).argmax()) + int(raw.min())

    def voids(read):
        grid, attrs, h = read
        r0, c0 = attrs["crop_rows"][0], attrs["crop_cols"][0]
        w = raw[r0:r0 + h.shape[0], c0:c0 + h.shape[1]] == common
        lon = grid[0] + grid[2] * np.arange(h.shape[1])
        lat = grid[1] + grid[3] * np.arange(h.shape[0])
        box = DEM_BOX  # the footprint: the samples whose centres lie in the box
        inside = ((lon >= box[0]) & (lon <= box[1]))[None, :] & ((lat >= box[2]) & (lat <= box[3]))[:, None]
        foot = int(np.count_nonzero(w & inside))
        return grid, {**attrs, "voids_in_footprint": foot}, np.where(w, np.float32(np.nan), h)

    out += [
        _rewrite(rel, "rotated geotransform", transform=tr * Affine.rotation(5.0)),
        _rewrite(rel, "sheared geotransform", transform=Affine(tr.a, tr.a * 0.1, tr.c, 0.0, tr.e, tr.f)),
        _rewrite(rel, "units feet", unit="ft", expect=feet),
        _rewrite(rel, "units furlong", unit="furlong"),
        _rewrite(rel, "UNITS metadata cubit", tags={"UNITS": "cubit"}),
        _rewrite(rel, f"nodata = {common} (a real height)", nodata=common, expect=voids),
        _rewrite(rel, "all nodata", data=lambda a: np.full_like(a, -32768)),
        _rewrite(rel, "1 x 1", data=lambda a: a[:, :1, :1]),
        _rewrite(rel, "1 x 360", data=lambda a: a[:, :1, :]),
        _rewrite(rel, "two bands", data=lambda a: np.concatenate([a, a])),
        _rewrite(rel, "no CRS", crs=None),
        _rewrite(rel, "vertical datum NAVD88", crs="EPSG:4326+5703"),
        _rewrite(rel, "HEIGHT_REFERENCE metadata moon", crs="EPSG:4326", tags={"HEIGHT_REFERENCE": "moon"}),
        _rewrite(rel, "complex heights", data=lambda a: a.astype(np.complex64)),
    ]
    for name, value in (("ImageWidth", 65535), ("ImageLength", 65535)):
        out.append(overwrite(rel, tags[name].valueoffset, np.array([value], "<u2").tobytes(), f"{name} = {value}"))
    offs, counts = tags["TileOffsets"].valueoffset, tags["TileByteCounts"].valueoffset
    out += [overwrite(rel, offs + 4, np.array([0xFFFFFF00], "<u4").tobytes(), "a tile offset beyond the file"),
            overwrite(rel, counts, np.array([0x7FFFFFFF], "<u4").tobytes(), "a tile byte count of 2 GiB"),
            overwrite(rel, counts + 8, np.array([0], "<u4").tobytes(), "a tile byte count of 0")]
    size = path.stat().st_size
    ifd = min(tag.offset for tag in tags.values())
    out += [Mutation(m.name + " (the tags)", m.apply) for m in random_flips(rel, ifd, size, 8, rng)]
    out += random_flips(rel, 500, ifd - 500, 5, rng)  # inside the deflated tiles: a corrupt block when read
    out += random_truncations(rel, size, 6, rng)
    out += [remove(rel), folder_instead(rel), replace(rel, b"II*\x00" + b"\x00" * 100, "a bare TIFF header"),
            replace(rel, b"not a raster\n" * 50, "text")]
    return out


# ---------------------------------------------------------------------------------------------------- orbit files
def doris(t: Target, rng: np.random.Generator) -> list[Mutation]:
    """Mutations of a DORIS orbit file: record values and times impossible, records reordered, repeated
    (exactly: dropped, said aloud; with other values: refused), too few or not covering the scene, header
    values broken, truncations and bit flips."""
    rel = next(str(p.relative_to(t.folder)) for p in (t.folder / "orbit").iterdir())
    data = (t.folder / rel).read_bytes()
    lines = data.decode().splitlines(keepends=True)
    first = next(i for i, ln in enumerate(lines) if ln[:2].isdigit() and "-" in ln[:7])
    head, recs = lines[:first], lines[first:]

    def records(fn, what):
        return Mutation(f"{rel} records {what}",
                        lambda d: (d / rel).write_text("".join(head) + "".join(fn(list(recs)))))

    def token(k, j, value):
        def fn(r):
            tok = r[k].split(" ")
            tok[j] = value
            r[k] = " ".join(tok)
            return r
        return fn
    out = [records(lambda r: r[::-1], "reversed"), records(lambda r: [r[1], r[0], *r[2:]], "swapped"),
           records(lambda r: [r[0], *r], "first repeated"), records(lambda r: r[:1], "one only"),
           records(lambda r: r[:len(r) // 3], "the first third only (not covering the scene)"),
           records(lambda r: [r[0], r[0].replace(r[0].split()[4], "+0000001.000"), *r[1:]],
                   "a repeated time with another position")]
    for _ in range(18):
        k, j = int(rng.integers(len(recs))), int(rng.integers(4, 10))
        value = str(rng.choice(["NaN", "abc", "+1e20", "+0.000", "inf"]))
        out.append(records(token(k, j, value), f"record {k} value {j} = {value}"))
    for k in rng.choice(len(recs), 3, replace=False):
        out.append(records(token(int(k), 0, "31-FOO-2020"), f"record {int(k)} date garbage"))
    for key in ("PRODUCT", "SPH_SIZE"):
        at = data.index(key.encode() + b"=") + len(key) + 1
        for text in (b"abc", b"-000001", b"9999999999"):
            out.append(overwrite(rel, at + (1 if key == "PRODUCT" else 0), text, f"{key} {text!r}"))
    size = len(data)
    body = len("".join(head).encode())
    out += random_truncations(rel, size, 6, rng, lo=body)
    out += random_truncations(rel, body, 2, rng)
    out += [Mutation(m.name + " (records)", m.apply) for m in random_flips(rel, body, size, 8, rng, bits=(5, 6))]
    out += [remove(rel), folder_instead(rel), replace(rel, b"PRODUCT=" + b"x" * 1300, "a broken header")]
    return out


def odr(t: Target, rng: np.random.Generator) -> list[Mutation]:
    """Mutations of a Delft ODR file: header (format id, record count), record times reordered or repeated,
    positions out of range, too few records, truncations."""
    rel = next(str(p.relative_to(t.folder)) for p in (t.folder / "orbit").iterdir())
    data = (t.folder / rel).read_bytes()
    n = (len(data) - 32) // 16
    i4 = lambda v: np.array([v], ">i4").tobytes()  # noqa: E731
    out = [overwrite(rel, 0, b"ABCD", "format id"), overwrite(rel, 4, b"\xff" * 8, "satellite name garbage")]
    for v in (0, 8, n + 1, 2 ** 31 - 1, -1):
        out.append(overwrite(rel, 24, i4(v), f"record count {v}"))

    def recs(fn, what):
        def f(d: Path) -> None:
            raw = bytearray((d / rel).read_bytes())
            r = np.frombuffer(bytes(raw[32:32 + 16 * n]), ">i4").reshape(n, 4).copy()
            r = fn(r)
            raw[24:28] = i4(len(r))
            (d / rel).write_bytes(bytes(raw[:32]) + r.astype(">i4").tobytes())
        return Mutation(f"{rel} records {what}", f)

    def col(k, c, v):
        def fn(r):
            r[k, c] = v
            return r
        return fn
    out += [recs(lambda r: r[::-1], "reversed"), recs(lambda r: r[[1, 0, *range(2, n)]], "swapped"),
            recs(lambda r: np.vstack([r[:5], r[4:5], r[5:]]), "a record repeated"),
            recs(lambda r: r[:12], "the first 12 only (not covering the scene)"), recs(lambda r: r[:9], "9 only")]
    for _ in range(26):
        k, c = int(rng.integers(n)), int(rng.integers(0, 4))
        v = int(rng.choice([2 ** 31 - 1, -(2 ** 31), 0]))
        out.append(recs(col(k, c, v), f"record {k} field {c} = {v}"))
    out += random_truncations(rel, len(data), 8, rng)
    out += [Mutation(m.name + " (header)", m.apply) for m in random_flips(rel, 0, 4, 3, rng)]
    out += [remove(rel), folder_instead(rel), replace(rel, b"@ODR" + b"\x00" * 20, "a short file")]
    return out
