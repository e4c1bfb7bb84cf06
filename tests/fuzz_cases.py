"""The seeded mutations of binary products: CEOS (ALOS, ALOS-2, ERS, RADARSAT-1, RISAT-1) and Envisat-format
files (see :mod:`fuzz_mutations` for the rule they are judged by; other formats in :mod:`fuzz_cases_text`,
:mod:`fuzz_cases_files`, :mod:`fuzz_hdf5`).

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
from fuzz_mutations import (ANY_FIELD, POSITIVE_FIELD, Mutation, bad_value, folder_instead, overwrite, random_flips,
                            random_truncations, remove, replace)
from fuzz_products import Target

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


