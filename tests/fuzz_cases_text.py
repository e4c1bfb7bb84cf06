"""Seeded mutations of text-annotated products: annotation XML (TerraSAR-X, RADARSAT-2, Sentinel-1) and
keyword files (ROI_PAC .rsc and orbit, UAVSAR .ann) (see :mod:`fuzz_mutations` for the rule)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from fuzz_mutations import (ANY_FIELD, POSITIVE_FIELD, Mutation, folder_instead, kv_mutation, random_flips,
                            random_truncations, remove, replace, set_text, xml_blocks, xml_mutations, xml_tag_flips)
from fuzz_products import Target


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



def roipac(t: Target, rng: np.random.Generator) -> list[Mutation]:
    rsc = "scene.slc.rsc"
    pos = POSITIVE_FIELD
    keys = {k: pos for k in ("WIDTH", "FILE_LENGTH", "WAVELENGTH", "PRF", "RANGE_PIXEL_SIZE", "STARTING_RANGE",
                             "PULSE_LENGTH")}
    keys.update({k: ANY_FIELD + ("zero",) for k in ("FIRST_LINE_UTC", "FIRST_LINE_YEAR", "FIRST_LINE_MONTH_OF_YEAR",
                                                  "FIRST_LINE_DAY_OF_MONTH", "CHIRP_SLOPE")})
    keys.update({k: ANY_FIELD for k in ("DOPPLER_RANGE0", "DOPPLER_RANGE1", "ANTENNA_SIDE")})
    out = keyword_file(t, rng, rel=rsc, keys=keys)
    out += [set_text(rsc, "ANTENNA_SIDE", "ANTENNA_SIDE 7 #", "ANTENNA_SIDE 7"),
            set_text(rsc, "ANTENNA_SIDE", "ANTENNA_SIDE 0 #", "ANTENNA_SIDE 0"),
            set_text(rsc, "FILE_LENGTH                              40", "FILE_LENGTH 39", "FILE_LENGTH 39 (< file)"),
            set_text(rsc, "FILE_LENGTH                              40", "FILE_LENGTH 41", "FILE_LENGTH 41 (> file)"),
            set_text(rsc, "WIDTH                                    30", "WIDTH 29", "WIDTH 29 (lines misread)"),
            set_text(rsc, "WIDTH                                    30", "WIDTH 1099511627776", "WIDTH 2**40"),
            Mutation("scene.slc.rsc PLATFORM removed: the platform is unknown",
                     set_text(rsc, "PLATFORM", "PLATFORM_X", "").apply, expect={"sensor": "ROI_PAC", "platform": None})]
    orb = "hdr_data_points_030517.rsc"

    def rows(fn, what):
        def f(d: Path) -> None:
            a = np.loadtxt(d / orb)
            np.savetxt(d / orb, fn(a))
        return Mutation(f"{orb} {what}", f)

    def one(a, v, col):
        a = a.copy()
        a[3, col] = v
        return a
    out += [rows(lambda a: a[::-1], "rows reversed"), rows(lambda a: a[[1, 0, *range(2, len(a))]], "rows swapped"),
            rows(lambda a: np.vstack([a[:4], a[3:4] + [0, 5e3, 0, 0, 0, 0, 0], a[4:]]),
                 "a repeated time with another position"),
            rows(lambda a: np.vstack([a[:4], a[3:4], a[4:]]), "a row repeated exactly (dropped, said aloud)"),
            rows(lambda a: a[:1], "one row only"), rows(lambda a: a[5:7], "rows not covering the scene"),
            rows(lambda a: one(a, np.nan, 2), "a NaN position"),
            rows(lambda a: one(one(one(a, 0.0, 4), 0.0, 5), 0.0, 6), "a zero velocity"),
            rows(lambda a: one(a, 1e20, 1), "a 1e20 position"), rows(lambda a: a * [1, 0, 0, 0, 0, 0, 0],
                                                                      "all positions and velocities zero")]

    def append(n: int):
        return Mutation(f"scene.slc + {n} bytes (longer than FILE_LENGTH x WIDTH)",
                        lambda d: (d / "scene.slc").write_bytes((d / "scene.slc").read_bytes() + b"\0" * n))
    size = (t.folder / "scene.slc").stat().st_size
    out += [append(240), append(7)]
    out += random_truncations("scene.slc", size, 3, rng) + random_flips("scene.slc", 0, size, 3, rng)
    out += random_truncations(rsc, (t.folder / rsc).stat().st_size, 3, rng)
    out += [remove(rsc), remove(orb), remove("scene.slc"), folder_instead("scene.slc"), folder_instead(rsc)]
    return out


_ANN = r"^(?P<k>{key})\s+\([^)]*\)(?P<sep>\s+=\s+)(?P<v>\S.*?)\s*$"


def uavsar(t: Target, rng: np.random.Generator) -> list[Mutation]:
    ann = t.target
    text = (t.folder / ann).read_text()
    keys = [m.group(1).strip() for m in re.finditer(r"^([^;\n(]+?)\s+\([^)]*\)\s+=", text, re.M)]
    positive = ("Center Wavelength", "Average Pulse Repetition Interval", "Pulse Length", "Bandwidth",
                "Global Average Altitude", "Single Look Complex Data Azimuth Lines",
                "Single Look Complex Data Range Samples", "Single Look Complex Data at Near Range",
                "Single Look Complex Data Range Spacing", "Single Look Complex Data Azimuth Spacing",
                "Image Starting Slant Range", "1x1 SLC Range Pixel Spacing", "1x1 SLC Azimuth Pixel Spacing",
                "Average Along Track Velocity")
    ops = {}
    for k in keys:
        v = re.search(_ANN.format(key=re.escape(k)), text, re.M).group("v")  # type: ignore[union-attr]
        try:
            float(v.split()[0].rstrip(","))
            ops[k] = POSITIVE_FIELD if k in positive else ANY_FIELD
        except ValueError:
            ops[k] = ("unknown", "blank")
    out = keyword_file(t, rng, rel=ann, keys=ops, pattern=_ANN, optional={"Polarization": {"polarization": None}})
    slcs = sorted(p.name for p in t.folder.iterdir() if p.suffix == ".slc")
    size = (t.folder / slcs[0]).stat().st_size
    out += random_truncations(slcs[0], size, 3, rng) + random_flips(slcs[0], 0, size, 2, rng)
    out += random_truncations(ann, len(text), 3, rng)
    out += [remove(slcs[0]), folder_instead(slcs[0]), folder_instead(ann)]
    return out


def sentinel1(t: Target, rng: np.random.Generator) -> list[Mutation]:
    safe = t.folder / t.target
    ann = str(next((safe / "annotation").glob("*.xml")).relative_to(t.folder))
    tiff = str(next((safe / "measurement").glob("*.tiff")).relative_to(t.folder))
    positive = ("rangeSamplingRate", "radarFrequency", "azimuthTimeInterval", "numberOfSamples", "numberOfLines",
                "linesPerBurst", "samplesPerBurst", "slantRangeTime", "rangePixelSpacing", "azimuthSteeringRate",
                "prf", "txPulseLength", "azimuthFrequency")
    out = xml_product(t, rng, xml=ann, image=None, positive=positive, blocks=("orbit", "burst", "dcEstimate"),
                      counted=("burst",), n_random=20)
    out += [set_text(ann, "<pass>Descending</pass>", "<pass>Sideways</pass>", "pass Sideways"),
            set_text(ann, "<missionId>S1B</missionId>", "<missionId>S1X</missionId>", "missionId S1X"),
            set_text(ann, "<missionId>S1B</missionId>", "<missionId>ERS2</missionId>", "missionId ERS2"),
            set_text(ann, "<productType>SLC</productType>", "<productType>RAW</productType>", "productType RAW"),
            remove(ann), remove(tiff), folder_instead(ann), remove(str(Path(t.target) / "manifest.safe"))]
    return out


