"""Shared helpers of the vendor-format tests (COSMO-SkyMed, KOMPSAT-5, TerraSAR-X, RADARSAT-2; ERS, RADARSAT-1,
RISAT-1, ALOS and ALOS-2 CEOS SLCs and UAVSAR RPI pairs / stacks in the end-to-end test).

- :data:`SENSOR_SIMULATION`: the simulator settings of each sensor (its real wavelength, PRF,
  range sampling, chirp, orbit height, look side) applied to the small preset;
- :func:`simulate` / :func:`write_product`: a simulated pair and its scenes written as products;
- :func:`run_config`: THE run configuration of the end-to-end tests (one place to adapt);
- malformed-input machinery: :class:`Case`, :func:`run_cases` and mutation helpers.
"""

from __future__ import annotations

import os
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import dask
import numpy as np

from daskinsar.errors import DaskInsarError, InputFileError
from daskinsar.geometry.ellipsoid import SPEED_OF_LIGHT
from daskinsar.io.ceos_ers import ERS_CHIRP_BW_HZ, ERS_FS_HZ, ers_prf
from daskinsar.io.ceos_radarsat1 import RSAT_SMO_HZ, rsat_chirp_slope
from daskinsar.io.readers import read_scene
from daskinsar.simulate import simulate_pair
from daskinsar.simulate.presets import preset

DATA = Path(__file__).resolve().parent / "data" / "sensors"

#: simulator overrides per sensor: real radar parameters, orbit and look geometry of each mission
SENSOR_SIMULATION: dict[str, dict] = {
    # COSMO-SkyMed HIMAGE: 9.6 GHz, 620 km, right-looking
    "csk": dict(wavelength_m=0.031228381, prf_hz=3100.0, range_sampling_rate_hz=112.5e6, chirp_bandwidth_hz=90e6,
                chirp_duration_s=40e-6, antenna_length_m=5.7, altitude_m=619.6e3, inclination_deg=97.86,
                look_angle_deg=30.0, look_side="right"),
    # KOMPSAT-5 standard mode: 9.66 GHz, 550 km, right-looking
    "kompsat5": dict(wavelength_m=0.031034, prf_hz=3300.0, range_sampling_rate_hz=88.0e6, chirp_bandwidth_hz=74e6,
                     chirp_duration_s=30e-6, antenna_length_m=4.5, altitude_m=550e3, inclination_deg=97.6,
                     look_angle_deg=35.0, look_side="right"),
    # TerraSAR-X stripmap: 9.65 GHz, 515 km, right-looking (the real sample's PRF and RSF)
    "terrasarx": dict(wavelength_m=0.031066588, prf_hz=3832.524, range_sampling_rate_hz=109.886128e6,
                      chirp_bandwidth_hz=100e6, chirp_duration_s=45e-6, antenna_length_m=4.8, altitude_m=514.8e3,
                      inclination_deg=97.44, look_angle_deg=33.8, look_side="right"),
    # RADARSAT-2 fine: 5.405 GHz, 798 km, right-looking
    "radarsat2": dict(wavelength_m=0.055465763, prf_hz=1500.0, range_sampling_rate_hz=31.67e6,
                      chirp_bandwidth_hz=30e6, chirp_duration_s=21e-6, antenna_length_m=15.0, altitude_m=798e3,
                      inclination_deg=98.58, look_angle_deg=27.0, look_side="right"),
    # ERS-2 SAR (as ``sensor_formats_b.ers_config``): 5.3 GHz, 785 km, PRF of PRI code 2820 (1679.9 Hz),
    # 18.96 MHz sampling, 15.5 MHz chirp of 37.12 us, right-looking
    "ers": dict(wavelength_m=0.0565646, prf_hz=ers_prf(2820), range_sampling_rate_hz=ERS_FS_HZ,
                chirp_bandwidth_hz=ERS_CHIRP_BW_HZ, chirp_duration_s=37.12e-6, antenna_length_m=10.0, altitude_m=785e3,
                inclination_deg=98.52, look_angle_deg=18.5, look_side="right"),
    # RADARSAT-1 standard beam (as ``test_sensor_radarsat1.rsat_config``): 5.3 GHz, 798 km, ADC code 1
    # (18.47 MHz), PRF code 2100 (1464.2 Hz), 17.5 MHz chirp of 42 us, right-looking
    "radarsat1": dict(wavelength_m=0.0565646, prf_hz=1.0 / ((2 + 2100) * 6 * 7.0 / RSAT_SMO_HZ),
                      range_sampling_rate_hz=RSAT_SMO_HZ / 7.0,
                      chirp_bandwidth_hz=abs(rsat_chirp_slope(RSAT_SMO_HZ / 7.0)) * 42e-6,
                      chirp_duration_s=42e-6, antenna_length_m=15.0, altitude_m=798e3, inclination_deg=98.6,
                      look_angle_deg=30.0, look_side="right"),
    # RISAT-1 fine resolution stripmap: 5.35 GHz, 536 km, right-looking (FRS-1-like: 75 MHz chirp of 20 us
    # sampled at 83.33 MHz, PRF 3000 Hz, 6 m antenna)
    "risat1": dict(wavelength_m=SPEED_OF_LIGHT / 5.35e9, prf_hz=3000.0, range_sampling_rate_hz=83.33e6,
                   chirp_bandwidth_hz=75e6, chirp_duration_s=20e-6, antenna_length_m=6.0, altitude_m=536e3,
                   inclination_deg=97.55, look_angle_deg=30.0, look_side="right"),
    # ALOS PALSAR fine beam single polarisation (FBS): 1270 MHz, 691.65 km, 28 MHz chirp of 27 us sampled at
    # 32 MHz, PRF 2159.8 Hz, 8.9 m antenna, 34.3 deg off nadir, right-looking
    "alos": dict(wavelength_m=0.236057, prf_hz=2159.827, range_sampling_rate_hz=32e6, chirp_bandwidth_hz=28e6,
                 chirp_duration_s=27e-6, antenna_length_m=8.9, altitude_m=691.65e3, inclination_deg=98.16,
                 look_angle_deg=34.3, look_side="right"),
    # ALOS-2 PALSAR-2 stripmap, 28 MHz mode: 1257.5 MHz, 628 km, sampling 34.93 MHz, PRF 2122.3 Hz and a
    # 30.84 us pulse (the real leader's of the shared test data), 9.9 m antenna, right-looking
    "alos2": dict(wavelength_m=SPEED_OF_LIGHT / 1257.5e6, prf_hz=2122.318448518, range_sampling_rate_hz=34.9305319e6,
                  chirp_bandwidth_hz=28e6, chirp_duration_s=30.842168e-6, antenna_length_m=9.9, altitude_m=628e3,
                  inclination_deg=97.92, look_angle_deg=32.5, look_side="right"),
    # UAVSAR (L-band airborne, JPL): 1.2575 GHz (23.79 cm), 80 MHz chirp of 40 us, 1.6655 m range spacing, lines
    # 0.6 m apart at 228 m/s, 12.5 km above the peg sphere, left-looking, 1.5 m antenna; an SCH reference track
    # shared by both passes (zero baseline), the passes 8 days apart on whole seconds
    "uavsar": dict(platform="airborne_sch", wavelength_m=0.2379, prf_hz=380.0,
                   range_sampling_rate_hz=SPEED_OF_LIGHT / (2 * 1.6655), chirp_bandwidth_hz=80e6,
                   chirp_duration_s=40e-6, antenna_length_m=1.5, altitude_m=12495.0, airborne_speed_mps=228.0,
                   airborne_heading_deg=12.5, look_angle_deg=45.0, look_side="left", centre_lon_deg=-119.4,
                   centre_lat_deg=36.2, perpendicular_baseline_m=0.0, secondary_azimuth_shift_lines=0.0,
                   secondary_range_shift_pixels=0.0, reference_epoch="2021-06-01T18:00:00",
                   temporal_baseline_days=8.0),
}

#: the reader name and ISCE sensor name of each format
READER_NAME = {"csk": "COSMO_SKYMED", "kompsat5": "KOMPSAT5", "terrasarx": "TERRASARX", "radarsat2": "RADARSAT2",
               "ers": "ERS", "radarsat1": "RADARSAT1", "risat1": "RISAT1", "alos": "ALOS", "alos2": "ALOS2"}
ISCE_NAME = {"csk": "COSMO_SKYMED_SLC", "kompsat5": "KOMPSAT5", "terrasarx": "TERRASARX", "radarsat2": "RADARSAT2",
             "ers": "ERS", "radarsat1": "RADARSAT1", "risat1": "RISAT1", "alos": "ALOS", "alos2": "ALOS2"}


#: the CEOS SLC formats state the first line's time to 1 ms only (ERS data set summary, RADARSAT-1 / RISAT-1
#: processed data records, ALOS signal data records as the ALOS reader takes them): up to 0.5 ms, i.e. 0.7 to 1.5
#: lines at their PRFs, more than geometric coregistration can absorb. Their runs (product and store alike) refine
#: the geometric offsets with dense offsets fitted by a constant; the test checks the fitted residual against the
#: products' own rounding. ALOS-2 states the time to 1 us (and the first slant range, like ALOS, to 1 m: 0.1 pixel
#: at most): no dense offsets.
DENSE_OFFSETS = {"method": "geometric+dense", "window_azimuth": 32, "window_range": 32, "search_azimuth": 8,
                 "search_range": 8, "skip_azimuth": 16, "skip_range": 16, "fit_order": 0}
RUN_OFFSETS: dict[str, dict] = {"ers": DENSE_OFFSETS, "radarsat1": DENSE_OFFSETS, "risat1": DENSE_OFFSETS,
                                "alos": DENSE_OFFSETS}


def simulate(sensor: str, out: Path, n: int = 128, **overrides):
    """A simulated pair with the sensor's parameters (``n`` x ``n`` pixels) in ``out``."""
    cfg = preset("small", n_azimuth=n, n_range=n, **{**SENSOR_SIMULATION[sensor], **overrides})
    return simulate_pair(cfg, out, chunks=64)


def write_product(sensor: str, scene, out: Path, **options) -> str:
    """``scene`` written as a ``sensor`` product under ``out``; returns the path a reader takes."""
    from daskinsar.simulate.formats import write_alos_ceos, write_csk, write_kompsat5, write_radarsat2, write_terrasarx
    from daskinsar.simulate.formats.ceos_missions import write_radarsat1_ceos, write_risat1_ceos
    from daskinsar.simulate.formats.ers_ceos import write_ers_ceos

    out = Path(out)
    if sensor == "csk":
        return write_csk(scene, str(out.with_suffix(".h5")), **options)
    if sensor == "kompsat5":
        return write_kompsat5(scene, str(out.with_suffix(".h5")), **options)
    if sensor == "terrasarx":
        return write_terrasarx(scene, str(out), **options)
    if sensor == "radarsat2":
        return write_radarsat2(scene, str(out), **options)
    if sensor == "ers":
        return write_ers_ceos(scene, str(out), **options)
    if sensor == "radarsat1":
        return write_radarsat1_ceos(scene, str(out), **options)
    if sensor == "risat1":
        return write_risat1_ceos(scene, str(out), **options)
    if sensor in ("alos", "alos2"):
        return write_alos_ceos(scene, str(out), mission=sensor.upper(), **options)
    raise ValueError(sensor)


def run_config(reference: str, secondary: str, dem: str, out: Path, sensor: str | None = None,
               offsets: dict | None = None, reference_options: dict | None = None,
               secondary_options: dict | None = None) -> dict:
    """The run configuration of the end-to-end tests: the same for product and store inputs (``*_options``:
    reader options of that input, e.g. an RPI pair's ``pass_number``)."""
    def inp(p, options):
        return {"path": str(p), **({"sensor": sensor} if sensor else {}), **({"options": options} if options else {})}

    return {
        **({"offsets": dict(offsets)} if offsets else {}),
        "reference": inp(reference, reference_options),
        "secondary": inp(secondary, secondary_options),
        "dem": {"path": str(dem)},
        "output": str(out),
        "interferogram": {"azimuth_looks": 2, "range_looks": 2},
        "filter": {"strength": 0.5, "patch_size": 16},
        "unwrap": {"enabled": True, "cost": "defo"},
        "geocode": {"products": ["filt_topophase.unw", "topophase.cor", "los_displacement"]},
        "processing": {"chunk_azimuth": 128, "chunk_range": 128},
    }


def absolute_times(scene) -> np.ndarray:
    """Azimuth times (s) counted from 2000-01-01 (to compare scenes of different epochs)."""
    shift = (np.datetime64(scene.meta.epoch, "ns") - np.datetime64("2000-01-01", "ns")) / np.timedelta64(1, "ns")
    return scene.azimuth_time + shift * 1e-9


# ----------------------------------------------------------------------------------------- malformed inputs
@dataclass
class Case:
    """One malformed input: ``make(workdir)`` breaks a fresh copy of the product and returns the path to read."""

    name: str
    make: Callable[[Path], str]
    options: dict | None = None


def copy_product(src: str, dst_dir: Path) -> str:
    """Copy a product (a file, or the folder holding an annotation) into ``dst_dir``; the copied path."""
    src_p = Path(src)
    if src_p.suffix == ".h5":
        dst = dst_dir / src_p.name
        shutil.copy2(src_p, dst)
        return str(dst)
    folder = dst_dir / src_p.parent.name
    shutil.copytree(src_p.parent, folder)
    return str(folder / src_p.name)


def _fingerprint(scene) -> tuple:
    pix = np.asarray(scene.data[scene.main_variable].values)
    return (scene.meta.to_json(), scene.azimuth_time.tobytes(), scene.slant_range.tobytes(),
            scene.orbit.position.tobytes(), scene.orbit.time.tobytes(), pix.tobytes())


def run_cases(cases: list[Case], pristine: str, tmp: Path, sensor: str | None = None) -> Counter:
    """Run every case; each must be refused with a :class:`DaskInsarError` naming a file of its
    folder, or (for harmless corruptions) read back identical to the pristine product. Any other
    exception, or a different scene, fails. Returns the outcome counts."""
    with dask.config.set(scheduler="sync"):
        reference = _fingerprint(read_scene(pristine, sensor))
    counts: Counter = Counter()
    for i, case in enumerate(cases):
        work = tmp / f"case{i:02d}"
        work.mkdir()
        path = case.make(work)
        try:
            with dask.config.set(scheduler="sync"):
                scene = read_scene(path, sensor, **(case.options or {}))
                fp = _fingerprint(scene)
        except DaskInsarError as exc:
            msg = str(exc)
            assert str(work) in msg, f"{case.name}: the message does not name the file: {msg}"
            assert "\n" not in msg, f"{case.name}: not one line: {msg}"
            counts["InputFileError" if isinstance(exc, InputFileError) else type(exc).__name__] += 1
            continue
        except Exception as exc:  # pragma: no cover - the failure the test exists to catch
            raise AssertionError(f"{case.name}: {type(exc).__name__} instead of an InputFileError: {exc}") from exc
        assert fp == reference, f"{case.name}: read without error but the scene differs from the pristine product"
        counts["accepted unchanged"] += 1
    return counts


def set_text(path: str, tag: str, value: str, occurrence: int = 0) -> str:
    """Replace the text of the ``occurrence``-th ``<tag ...>text</tag>`` of an XML file."""
    text = Path(path).read_text()
    matches = list(re.finditer(rf"(<{tag}(\s[^>]*)?>)([^<]*)(</{tag}>)", text))
    m = matches[occurrence]
    Path(path).write_text(text[:m.start(3)] + value + text[m.end(3):])
    return path


def remove_element(path: str, tag: str, occurrence: int = 0) -> str:
    text = Path(path).read_text()
    m = list(re.finditer(rf"<{tag}(\s[^>]*)?>.*?</{tag}>", text, flags=re.S))[occurrence]
    Path(path).write_text(text[:m.start()] + text[m.end():])
    return path


def swap_texts(path: str, tag: str, i: int, j: int) -> str:
    text = Path(path).read_text()
    ms = list(re.finditer(rf"(<{tag}(\s[^>]*)?>)([^<]*)(</{tag}>)", text))
    a, b = ms[i], ms[j]
    ta, tb = a.group(3), b.group(3)
    out = text[:a.start(3)] + tb + text[a.end(3):b.start(3)] + ta + text[b.end(3):]
    Path(path).write_text(out)
    return path


def truncate(path: str, keep: int) -> str:
    with open(path, "r+b") as fh:
        fh.truncate(max(keep, 0))
    return path


def flip_bit(path: str, offset: int, bit: int = 1) -> str:
    with open(path, "r+b") as fh:
        fh.seek(offset)
        b = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([b[0] ^ bit]))
    return path


def xml_tag_flips(path: str, n: int, seed: int) -> list[tuple[int, int]]:
    """``n`` seeded (byte offset, bit) positions inside opening tag names of an XML file (each flip
    leaves the document with a mismatched or unknown element)."""
    raw = Path(path).read_bytes()
    spans = [(m.start(1), m.end(1)) for m in re.finditer(rb"<([A-Za-z][A-Za-z0-9_]*)[ >]", raw)]
    rng = np.random.default_rng(seed)
    out = []
    for k in rng.choice(len(spans), size=n, replace=False):
        a, b = spans[int(k)]
        out.append((int(rng.integers(a, b)), int(1 << int(rng.integers(0, 5)))))
    return out


def h5_name_flips(path: str, names: list[str], n: int, seed: int) -> list[tuple[int, int]]:
    """``n`` seeded (byte offset, bit) positions inside the stored names of required HDF5 attributes."""
    raw = Path(path).read_bytes()
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(names), size=n, replace=False)
    out = []
    for k in picks:
        name = names[int(k)].encode()
        at = raw.find(name + b"\x00")
        assert at >= 0, names[int(k)]
        out.append((at + int(rng.integers(0, len(name))), int(1 << int(rng.integers(0, 5)))))
    return out


def h5_set(path: str, obj: str, name: str, value) -> str:
    import h5py

    with h5py.File(path, "r+") as f:
        if value is None:
            del f[obj].attrs[name]
        else:
            f[obj].attrs[name] = value
    return path


def file_named(work: Path, pattern: str) -> str:
    hits = sorted(work.rglob(pattern))
    assert hits, pattern
    return str(hits[0])


def size_of(path: str) -> int:
    return os.path.getsize(path)


# ----------------------------------------------------------------------------------------- CSK-family cases
#: attributes the COSMO-SkyMed / KOMPSAT-5 reader cannot do without (name bit flips must be refused)
CSK_REQUIRED = ["Mission ID", "Product Type", "Reference UTC", "Zero Doppler Azimuth First Time", "Line Time Interval",
                "Zero Doppler Range First Time", "Column Time Interval", "Radar Frequency", "Look Side", "PRF",
                "Range Chirp Rate", "Range Chirp Length", "State Vectors Times", "ECEF Satellite Position",
                "ECEF Satellite Velocity", "Range Polynomial Reference Time", "Zero Doppler Azimuth Last Time",
                "Zero Doppler Range Last Time"]


def csk_family_cases(path: str, other_mission: str) -> list[Case]:
    """Malformed variants of a CSK / CSG / KOMPSAT-5 HDF5 product (image dataset found from the file)."""
    import h5py

    with h5py.File(path, "r") as f:
        dset = next(f["S01"][k].name for k in ("SBI", "IMG") if k in f["S01"])
        n_l, n_s = f[dset].shape[:2]
        attrs = {k: f[dset].attrs[k] for k in f[dset].attrs}
        root = {k: f.attrs[k] for k in f.attrs}

    def c(fn):
        def make(w):
            p = copy_product(path, w)
            fn(p)
            return p
        return make

    def root_attr(name, value):
        return c(lambda p: h5_set(p, "/", name, value))

    def img_attr(name, value):
        return c(lambda p: h5_set(p, dset, name, value))

    def replace_dataset(shape, dtype):
        def fn(p):
            with h5py.File(p, "r+") as f:
                keep = dict(f[dset].attrs)
                del f[dset]
                ds = f.create_dataset(dset, shape=shape, dtype=dtype)
                for k, v in keep.items():
                    ds.attrs[k] = v
        return c(fn)

    def delete(name):
        def fn(p):
            with h5py.File(p, "r+") as f:
                del f[name]
        return c(fn)

    nan = np.float64("nan")
    st = np.asarray(root.get("State Vectors Times", np.zeros(3)), np.float64)
    pos = np.asarray(root.get("ECEF Satellite Position", np.zeros((3, 3))), np.float64)
    cases = [
        Case("no file", lambda w: str(w / "missing.h5")),
        Case("empty file", c(lambda p: truncate(p, 0))),
        Case("text file", c(lambda p: Path(p).write_text("not HDF5"))),
        Case("truncated 100 B", c(lambda p: truncate(p, 100))),
        Case("truncated half", c(lambda p: truncate(p, size_of(p) // 2))),
        Case("truncated -100 B", c(lambda p: truncate(p, size_of(p) - 100))),
        Case("signature bit flip", c(lambda p: flip_bit(p, 1, 2))),
        Case("another mission", root_attr("Mission ID", np.bytes_(other_mission))),
        Case("unknown mission", root_attr("Mission ID", np.bytes_("ERS"))),
        Case("raw product", root_attr("Product Type", np.bytes_("RAW_B"))),
        Case("detected product", root_attr("Product Type", np.bytes_("DGM_B"))),
        Case("ground-range projection", root_attr("Projection ID", np.bytes_("GROUND RANGE/AZIMUTH"))),
        Case("no Reference UTC", root_attr("Reference UTC", None)),
        Case("bad Reference UTC", root_attr("Reference UTC", np.bytes_("2020-02-30 25:00:00.0"))),
        Case("zero line interval", img_attr("Line Time Interval", 0.0)),
        Case("NaN line interval", img_attr("Line Time Interval", nan)),
        Case("negative line interval", img_attr("Line Time Interval", -float(attrs["Line Time Interval"]))),
        Case("zero frequency", root_attr("Radar Frequency", 0.0)),
        Case("NaN frequency", root_attr("Radar Frequency", nan)),
        Case("wavelength against frequency", root_attr("Radar Wavelength", 0.056)),
        Case("look side", root_attr("Look Side", np.bytes_("UP"))),
        Case("image not (lines, samples, 2)", replace_dataset((n_l, n_s), np.complex64)),
        Case("image of int8", replace_dataset((n_l, n_s, 2), np.int8)),
        Case("image too short for its times", replace_dataset((n_l // 2, n_s, 2), np.float32)),
        Case("no image dataset", delete(dset)),
        Case("state vector times out of order", root_attr("State Vectors Times", st[[1, 0, *range(2, len(st))]])),
        Case("state vector lengths", root_attr("ECEF Satellite Position", pos[:-1])),
        Case("positions inside the Earth", root_attr("ECEF Satellite Position", pos * 1e-3)),
        Case("NaN state vector time", root_attr("State Vectors Times", np.where(np.arange(len(st)) == 2, nan, st))),
        Case("column interval against spacing", img_attr("Column Time Interval",
                                                         1.1 * float(attrs["Column Time Interval"]))),
        Case("last line time", img_attr("Zero Doppler Azimuth Last Time",
                                        float(attrs["Zero Doppler Azimuth Last Time"]) + 1.0)),
        Case("lines order", root_attr("Lines Order", np.bytes_("SIDEWAYS"))),
        Case("missing polarisation", c(lambda p: p), options={"polarization": "VV"}),
        Case("negative chirp length", c(lambda p: h5_set(p, "/S01", "Range Chirp Length", -1e-5))),
        Case("NaN first range time", img_attr("Zero Doppler Range First Time", nan)),
        Case("zero column spacing", img_attr("Column Spacing", 0.0)),
        Case("zero PRF", c(lambda p: h5_set(p, "/S01", "PRF", 0.0))),
        Case("range first/last times", img_attr("Zero Doppler Range Last Time",
                                                2 * float(attrs["Zero Doppler Range Last Time"]))),
    ]
    for k, (off, bit) in enumerate(h5_name_flips(path, CSK_REQUIRED, 8, seed=21)):
        cases.append(Case(f"attribute name bit flip {k}", c(lambda p, off=off, bit=bit: flip_bit(p, off, bit))))
    return cases
