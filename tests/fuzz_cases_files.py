"""Seeded mutations of the SNAP pair (.znap metadata and bands), DEM GeoTIFFs and DORIS / Delft ODR orbit
files (see :mod:`fuzz_mutations` for the rule each outcome is judged by)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fuzz_cases import _pick
from fuzz_mutations import (ANY_FIELD, POSITIVE_FIELD, Mutation, bad_value, folder_instead, overwrite, random_flips,
                            random_truncations, remove, replace)
from fuzz_products import DEM_BOX, Target


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
