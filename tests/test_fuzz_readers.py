"""Reader fuzz suite: every registered reader (and the SNAP pair reader, DEM GeoTIFFs, DORIS and Delft ODR
orbit files) given at least 50 seeded mutations of a valid product must end each read in one clear error
naming the file, or in a read equal to the unmutated one (the mutation hit a field the reader does not use;
a bit flip in the image samples may change those samples only). Never a traceback, never a silently different product.

The valid products are small (see :mod:`fuzz_products`), the mutations generated, not stored
(:mod:`fuzz_cases`, :mod:`fuzz_cases_text`, :mod:`fuzz_cases_files`, :mod:`fuzz_hdf5`; the rule in
:mod:`fuzz_mutations`). Each test prints its figures: mutations, clear errors,
reads unchanged, reads with the flipped pixel.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import dask
import numpy as np
import pytest

import fuzz_products as fp
from daskinsar.errors import DaskInsarError
from daskinsar.geometry.ellipsoid import SPEED_OF_LIGHT
from daskinsar.io import ceos
from daskinsar.io.ceos_common import processed_record_table
from fuzz_cases import ceos as ceos_cases
from fuzz_cases import envisat
from fuzz_cases_files import dem, doris, odr, snap
from fuzz_cases_text import roipac, sentinel1, uavsar, xml_product
from fuzz_hdf5 import hdf5
from fuzz_mutations import Mutation, file_permissions_apply, fingerprint, run_fuzz

SEED = 20240517


def _target(name: str, data_dir: Path, folder: Path) -> fp.Target:
    if name in ("ALOS", "ALOS2"):
        return fp.jaxa(name, data_dir, folder)
    if name in ("NISAR_RSLC", "NISAR_L0B", "SENTINEL1", "SNAP", "DEM"):
        return fp.copied(name, data_dir, folder)
    if name == "ROI_PAC":
        return fp.roipac(folder)
    if name in ("ENVISAT_DORIS", "ERS_ODR"):
        return fp.with_orbit_file(name, folder)
    if name.startswith("UAVSAR"):
        return fp.uavsar(name, folder)
    return fp.simulated(name, folder)


_CEOS_POSITIVE = ("prf_mhz", "range_sampling_rate_mhz", "wavelength_m", "pulse_length_us")
_RSAT_RECORD = {k: processed_record_table()[0][k] for k in ("prf", "slant_range_first_m", "year", "day_of_year",
                                                           "ms_of_day")}
_RISAT_RECORD = {k: processed_record_table("R4", "R4")[0][k] for k in ("prf", "slant_range_first_m", "ms_of_day")}
_JAXA_RECORD = {k: ceos.SIGNAL_DATA_RECORD[k] for k in ("slant_range_first_sample_m", "year", "day_of_year",
                                                        "ms_of_day", "us_of_day")}


def _cases(name: str, t: fp.Target, rng: np.random.Generator) -> list[Mutation]:
    if name in ("ERS", "RADARSAT1", "RISAT1", "ALOS", "ALOS2"):
        fields = {"RADARSAT1": _RSAT_RECORD, "RISAT1": _RISAT_RECORD, "ALOS": _JAXA_RECORD, "ALOS2": _JAXA_RECORD}
        bw = {"bandwidth_azimuth_hz": {"azimuth_bandwidth_hz": None}}
        optional = {"ALOS": {**bw, "bandwidth_range_khz": {"range_bandwidth_hz": None}},
                    "ALOS2": {**bw, "bandwidth_range_khz": {"range_bandwidth_hz": None}},
                    "ERS": bw, "RADARSAT1": {"pulse_length_us": {"chirp": None}}}.get(name)
        return ceos_cases(t, rng, positive_dss=_CEOS_POSITIVE, record_fields=fields.get(name), optional=optional)
    if name in ("ENVISAT", "ERS_ENVISAT"):
        return envisat(t, rng)
    if name in ("COSMO_SKYMED", "KOMPSAT5"):
        img = "/S01/SBI"
        return hdf5(t, rng, image=img, required=("Reference UTC", "PRF", "Radar Frequency", "Line Time Interval"),
                    labels={"Acquisition Mode": lambda v: {"mode": v}, "Satellite ID": lambda v: {"platform": v or
                            ("CSK" if name == "COSMO_SKYMED" else "KMPS")}},
                    optional={"Range Focusing Bandwidth": {"range_bandwidth_hz": None},
                              "Azimuth Focusing Bandwidth": {"azimuth_bandwidth_hz": None}},
                    positive=("PRF", "Radar Frequency", "Radar Wavelength", "Line Time Interval", "Column Time Interval",
                              "Sampling Rate", "Range Chirp Length", "Zero Doppler Range First Time",
                              "Column Spacing", "Range Focusing Bandwidth", "Azimuth Focusing Bandwidth"))
    if name == "NISAR_RSLC":
        import h5py

        with h5py.File(t.folder / t.target, "r") as h:  # without the spacings the reader takes the axes' steps
            dt = float(np.median(np.diff(h["/science/LSAR/SLC/swaths/zeroDopplerTime"][()])))
            dr = float(np.median(np.diff(h["/science/LSAR/SLC/swaths/frequencyA/slantRange"][()])))
        spacing = {"zeroDopplerTimeSpacing": {"azimuth_line_interval_s": dt, "prf_hz": 1.0 / dt},
                   "slantRangeSpacing": {"range_pixel_spacing_m": dr, "range_sampling_rate_hz": SPEED_OF_LIGHT / (2 * dr)}}
        return hdf5(t, rng, image="/science/LSAR/SLC/swaths/frequencyA/HH", n_random=44, deleted=spacing,
                    required=("zeroDopplerTime", "slantRange", "processedCenterFrequency", "lookDirection"),
                    positive=("processedCenterFrequency", "zeroDopplerTimeSpacing", "slantRangeSpacing",
                              "processedRangeBandwidth", "processedAzimuthBandwidth", "nominalAcquisitionPRF"))
    if name == "NISAR_L0B":
        import h5py

        with h5py.File(t.folder / t.target, "r") as h:
            img = next(o.name for o in _datasets(h) if o.ndim == 2 and o.shape[0] > 100)
        return hdf5(t, rng, image=img, n_random=44, required=("UTCtime", "BFPQLUT", "chirpSlope", "quaternions"),
                    positive=("chirpDuration", "centerFrequency", "nominalAcquisitionPRF", "rangeBandwidth"))
    if name == "TERRASARX":
        xml = t.target
        cos = str(next(t.folder.rglob("*.cos")).relative_to(t.folder))
        return xml_product(t, rng, xml=xml, image=cos, blocks=("stateVec", "dopplerEstimate"),
                           counted=("stateVec", "dopplerEstimate"),
                           optional={"totalProcessedRangeBandwidth": {"range_bandwidth_hz": None},
                                     "totalProcessedAzimuthBandwidth": {"azimuth_bandwidth_hz": None}},
                           positive=("numberOfRows", "numberOfColumns", "rowSpacing", "columnSpacing", "firstPixel",
                                     "lastPixel", "centerFrequency", "commonPRF", "RSF",
                                     "totalProcessedRangeBandwidth"))
    if name == "RADARSAT2":
        return xml_product(t, rng, xml=t.target, image=str(Path(t.target).parent / "imagery_HH.tif"),
                           blocks=("stateVector",),
                           optional={"totalProcessedRangeBandwidth": {"range_bandwidth_hz": None},
                                     "totalProcessedAzimuthBandwidth": {"azimuth_bandwidth_hz": None}},
                           positive=("radarCenterFrequency", "pulseRepetitionFrequency", "adcSamplingRate",
                                     "pulseLength", "numberOfLines", "numberOfSamplesPerLine", "sampledPixelSpacing",
                                     "slantRangeNearEdge", "totalProcessedRangeBandwidth"))
    if name == "ROI_PAC":
        return roipac(t, rng)
    if name.startswith("UAVSAR"):
        return uavsar(t, rng)
    if name == "SENTINEL1":
        return sentinel1(t, rng)
    if name == "SNAP":
        return snap(t, rng)
    if name == "DEM":
        return dem(t, rng)
    if name == "ENVISAT_DORIS":
        return doris(t, rng)
    if name == "ERS_ODR":
        return odr(t, rng)
    raise ValueError(name)


def _datasets(h):
    import h5py

    out = []
    h.visititems(lambda n, o: out.append(o) if isinstance(o, h5py.Dataset) else None)
    return out


READERS = ["ALOS", "ALOS2", "COSMO_SKYMED", "ENVISAT", "ERS", "ERS_ENVISAT", "KOMPSAT5", "NISAR_L0B", "NISAR_RSLC",
           "RADARSAT1", "RADARSAT2", "RISAT1", "ROI_PAC", "SENTINEL1", "TERRASARX", "UAVSAR_RPI", "UAVSAR_STACK",
           "SNAP", "DEM", "ENVISAT_DORIS", "ERS_ODR"]


FINGERPRINTS = {"SNAP": fp.snap_fingerprint, "DEM": fp.dem_fingerprint}


@pytest.fixture(scope="module")
def products(data_dir, tmp_path_factory):
    """The valid products, each built once for the module (every test mutates copies only)."""
    root = tmp_path_factory.mktemp("pristine")
    cache: dict[str, fp.Target] = {}

    def get(name: str) -> fp.Target:
        if name not in cache:
            cache[name] = _target(name, data_dir, root / name)
        return cache[name]
    return get


@pytest.mark.parametrize("name", READERS)
def test_reader_fuzz(name, products, tmp_path):
    t = products(name)
    rng = np.random.default_rng([SEED, READERS.index(name)])
    mutations = _cases(name, t, rng)
    tally = run_fuzz(name, t.folder, t.target, t.read, mutations, tmp_path / "cases", pixels=t.pixels,
                     fingerprint=FINGERPRINTS.get(name, fingerprint))
    print(tally.line())
    print(f"  read unchanged: {tally.same}")
    assert len(mutations) >= 50
    assert not tally.failures, "\n".join(tally.failures)


#: the file of each product whose absence, unreadability or replacement by a folder is checked
_MAIN = {"ALOS": "LED-TEST", "ALOS2": "IMG-HH-TEST", "ERS": "LEA_01.001", "RADARSAT1": "DAT_01.001",
         "RISAT1": "LEA_01.001", "SNAP": "20230319-coreg.znap/SNAP/product_metadata.json",
         "SENTINEL1": "S1B_IW_SLC__1SDV_20210401T052622_20210401T052650_026269_032297_EFA4.SAFE/manifest.safe"}


def test_open_errors_name_the_cause(products, tmp_path):
    """Every reader's input file missing, unreadable (permission denied, also when the suite runs as root)
    or a folder in its place: one clear error that says which (never "not HDF5" for permission denied,
    never "no such file" for a folder)."""
    failures, n = [], 0
    for name in READERS:
        t = products(name)
        main = _MAIN.get(name, t.target)
        if name in ("ENVISAT_DORIS", "ERS_ODR"):
            main = str(next((t.folder / "orbit").iterdir()).relative_to(t.folder))
        for kind, want in (("missing", r"\bno\b"), ("unreadable", r"permission denied"),
                           ("folder", r"folder|directory")):
            d = tmp_path / name / kind
            shutil.copytree(t.folder, d)
            f = d / main
            if kind == "unreadable":
                f.chmod(0)
            else:
                f.unlink()
                if kind == "folder":
                    f.mkdir()
            n += 1
            try:
                with file_permissions_apply(), dask.config.set(scheduler="sync"):
                    t.read(str(d / t.target) if t.target else str(d))
                failures.append(f"{name} {kind}: read without error")
            except DaskInsarError as exc:
                msg = str(exc)
                found = getattr(exc, "found", None) or msg  # what was found: the cause, not what was expected
                if not re.search(want, found, re.I) or str(d) not in msg or "\n" in msg:
                    failures.append(f"{name} {kind}: {msg}")
            except Exception as exc:
                failures.append(f"{name} {kind}: {type(exc).__name__}: {exc}")
            finally:
                f.chmod(0o755) if f.is_dir() else f.chmod(0o644) if f.exists() else None
    print(f"open errors: {n} cases, {n - len(failures)} naming the cause")
    assert not failures, "\n".join(failures)


def _bfpq(op):
    def f(d: Path) -> None:
        import h5py

        with h5py.File(d / "l0b.h5", "r+") as h:
            g = h["science/LSAR/RRSD/swaths/frequencyA/txH/rxH"]
            lut = g["BFPQLUT"][()]
            del g["BFPQLUT"]
            g["BFPQLUT"] = lut[:4096] if op == "short" else np.where(np.arange(lut.size) == 17, np.nan, lut)
    return f


def _attitude_nan(d: Path) -> None:
    import h5py

    with h5py.File(d / "l0b.h5", "r+") as h:
        q = h["science/LSAR/RRSD/lowRateTelemetry/attitude/quaternions"]
        v = q[()]
        v[3, 2] = np.nan
        q[...] = v


def _h5_inflate(rel: str, obj: str):
    from fuzz_hdf5 import h5_mutation

    return h5_mutation(rel, obj, None, "inflated").apply


#: (reader, what, change of the valid product, what the one-line error must say)
NAMED_CASES = [
    ("NISAR_L0B", "BFPQ table with a NaN", _bfpq("nan"), r"finite BFPQLUT"),
    ("NISAR_L0B", "BFPQ table shorter than the codes", _bfpq("short"), r"BFPQLUT of 65536 values"),
    ("NISAR_L0B", "a NaN attitude quaternion", _attitude_nan, r"unit attitude quaternions"),
    ("NISAR_L0B", "orbit time axis declared 2**40 long", _h5_inflate("l0b.h5", "/science/LSAR/RRSD/lowRateTelemetry/orbit/time"),
     r"of a size the file can hold"),
    ("NISAR_RSLC", "zeroDopplerTime declared 2**40 long", _h5_inflate("winnipeg.h5", "/science/LSAR/SLC/swaths/zeroDopplerTime"),
     r"shape \(len\(zeroDopplerTime\), len\(slantRange\)\)"),
    ("NISAR_RSLC", "Doppler LUT axis declared 2**40 long",
     _h5_inflate("winnipeg.h5", "/science/LSAR/SLC/metadata/processingInformation/parameters/slantRange"),
     r"shape \(len\(zeroDopplerTime\), len\(slantRange\)\)"),
    ("ALOS2", "absurd prefix bytes", lambda d: _ceos_field(d, "IMG-HH-TEST", "prefix_bytes", b"9999"),
     r"record length of 12 \+ prefix 9999"),
    ("ALOS2", "record length 0", lambda d: _ceos_field(d, "IMG-HH-TEST", "record_length", b"     0"),
     r"positive record length"),
    ("ALOS2", "a line of 99999999 samples (more than the file)",
     lambda d: _ceos_field(d, "IMG-HH-TEST", "n_pixels", b"99999999"), r"record length of 12 \+ prefix"),
    ("ERS", "a line of 99999999 samples (more than the file)",
     lambda d: _ceos_field(d, "DAT_01.001", "n_pixels", b"99999999"), r"record length of 12 \+ prefix"),
    ("ERS", "999999 records (lines) declared",
     lambda d: [_ceos_field(d, "DAT_01.001", k, b"999999") for k in ("n_records", "n_lines")],
     r"999999 image records .* \(truncated\)"),
    ("ALOS2", "unknown product level", lambda d: _dss_field(d, "LED-TEST", "product_level", b"4.7"),
     r"JAXA product level \(1\.0, 1\.1, 1\.5, 2\.1, 3\.1\).*'4\.7'"),
    ("ALOS", "an ALOS-2 product read as ALOS", lambda d: _dss_field(d, "LED-TEST", "mission", b"ALOS2"),
     r"ALOS product .*mission 'ALOS2'"),
    ("ALOS2", "clock angle 7 deg", lambda d: _dss_field(d, "LED-TEST", "clock_angle_deg", b"7.0"),
     r"clock angle of \+90 .*7\.0"),
    ("SENTINEL1", "pass Sideways", None, r"pass one of Ascending, Descending, found 'Sideways'"),
    ("SENTINEL1", "missionId S1X", None, r"missionId one of S1A, S1B, S1C, S1D, found 'S1X'"),
    ("ROI_PAC", "ANTENNA_SIDE 7", None, r"ANTENNA_SIDE must be -1 \(right\) or 1 \(left\), got '7'"),
    ("ROI_PAC", "FILE_LENGTH 39 (< file)", None, r"more than FILE_LENGTH x WIDTH describes"),
    ("ROI_PAC", "FILE_LENGTH 41 (> file)", None, r"\(truncated\)"),
    ("ROI_PAC", "rows swapped", None, r"times must increase strictly"),
    ("ROI_PAC", "a repeated time with another position", None, r"with another position or velocity"),
    ("DEM", "rotated geotransform", None, r"north-up DEM grid"),
    ("DEM", "units furlong", None, r"metres or feet"),
]


def _ceos_field(d: Path, rel: str, name: str, text: bytes) -> None:
    from daskinsar.io.ceos_records import IMAGE_FILE_DESCRIPTOR

    off, n, _ = IMAGE_FILE_DESCRIPTOR[name]
    b = bytearray((d / rel).read_bytes())
    b[off:off + n] = text.rjust(n)
    (d / rel).write_bytes(bytes(b))


def _dss_field(d: Path, rel: str, name: str, text: bytes) -> None:
    from daskinsar.io.ceos_records import DATA_SET_SUMMARY

    off, n, _ = DATA_SET_SUMMARY[name]
    b = bytearray((d / rel).read_bytes())
    b[720 + off:720 + off + n] = text.rjust(n) if name.endswith("deg") else text.ljust(n)
    (d / rel).write_bytes(bytes(b))


@pytest.mark.parametrize("name, what, change, message", NAMED_CASES, ids=[f"{c[0]}-{c[1]}" for c in NAMED_CASES])
def test_named_impossible_inputs_are_refused(name, what, change, message, products, tmp_path):
    """The issue's own examples, each refused with one line naming the file and what is wrong with it (a
    declared size before anything of it is allocated)."""
    t = products(name)
    if change is None:  # one of the fuzz suite's own mutations, by name
        change = next(m.apply for m in _cases(name, t, np.random.default_rng([SEED, READERS.index(name)]))
                      if m.name.endswith(what))
    case = tmp_path / "case"
    shutil.copytree(t.folder, case)
    change(case)
    with pytest.raises(DaskInsarError) as err, dask.config.set(scheduler="sync"):
        fingerprint(t.read(str(case / t.target) if t.target else str(case)), str(case), True) \
            if name not in ("DEM",) else t.read(str(case / t.target))
    msg = str(err.value)
    assert str(case) in msg and "\n" not in msg and "MemoryError" not in msg, msg
    assert re.search(message, msg), msg


def test_orbit_times_are_never_reordered():
    """Orbit refuses state vectors out of time order or a repeated time with another vector; an exact repeat
    is dropped, said aloud (never a silent sort)."""
    from daskinsar.geometry.orbit import Orbit

    t = np.arange(5) * 10.0
    p = np.stack([7e6 + 75e3 * t, np.zeros(5), np.zeros(5)], 1)
    v = np.tile([7.5e3, 0.0, 0.0], (5, 1))
    with pytest.raises(ValueError, match=r"increase strictly: vector 2 at 10\.0 s follows 20\.0 s"):
        Orbit("2020-01-01T00:00:00", t[[0, 2, 1, 3, 4]], p[[0, 2, 1, 3, 4]], v[[0, 2, 1, 3, 4]])
    with pytest.raises(ValueError, match="with another position or velocity"):
        Orbit("2020-01-01T00:00:00", t[[0, 1, 1, 2]], p[[0, 1, 2, 2]], v[[0, 1, 1, 2]])
    with pytest.warns(UserWarning, match="1 repeated orbit state vectors dropped"):
        o = Orbit("2020-01-01T00:00:00", t[[0, 1, 1, 2, 3]], p[[0, 1, 1, 2, 3]], v[[0, 1, 1, 2, 3]])
    assert np.array_equal(o.time, t[:4]) and np.array_equal(o.position, p[:4])


def test_dem_reads_only_its_footprint(products, tmp_path):
    """A DEM is read lazily, chunk by chunk: a damaged tile outside the scene footprint costs nothing
    (the footprint's heights equal the undamaged file's, float32), one inside it is one clear error."""
    import tifffile

    from daskinsar.io.dem import open_dem
    from daskinsar.io.dem_prepare import prepare_dem

    t = products("DEM")
    path = tmp_path / "dem.tif"
    shutil.copy(t.folder / t.target, path)
    with tifffile.TiffFile(path) as tf:
        tags = tf.pages[0].tags
        off, cnt = tags["TileOffsets"].value[3], tags["TileByteCounts"].value[3]  # tile (1, 1): rows, cols 256..359
    raw = bytearray(path.read_bytes())
    raw[off + 10: off + cnt] = bytes(cnt - 10)  # its deflate stream destroyed
    path.write_bytes(bytes(raw))
    dem = open_dem(path, chunks=256)  # one dask chunk per 256 x 256 file tile
    lon = dem.lon0_deg + dem.dlon_deg * np.array([10, 200])
    lat = dem.lat0_deg + dem.dlat_deg * np.array([200, 10])  # rows and columns 10 .. 200: tile (0, 0)
    box = (lon[0], lon[1], lat[0], lat[1])
    with dask.config.set(scheduler="sync"):
        got = prepare_dem(dem, *box, tmp_path / "inside.zarr", margin=2, chunks=128)
        want = prepare_dem(open_dem(t.folder / t.target), *box, tmp_path / "want.zarr", margin=2, chunks=128)
        assert got.heights_m.dtype == np.float32
        assert np.array_equal(np.asarray(got.heights_m[:, :]), np.asarray(want.heights_m[:, :]))
        far = dem.lon0_deg + dem.dlon_deg * 300, dem.lat0_deg + dem.dlat_deg * 300
        with pytest.raises(DaskInsarError, match="unreadable data in rows"):
            prepare_dem(dem, lon[0], far[0], far[1], lat[1], tmp_path / "across.zarr", margin=2, chunks=128)
