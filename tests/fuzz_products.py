"""The valid products the reader fuzz suite mutates: one small folder per reader.

Real files where the project has them (NISAR RSLC and L0B, the ALOS-2 leader, Sentinel-1
annotations, the SNAP pair, the Rome DEM), else a tiny simulated scene (32 x 32) written by
the product writers of :mod:`daskinsar.simulate.formats` with each mission's own radar
parameters. :func:`build` returns a :class:`Target`: the folder, the path inside it that the
reader takes, and the read.
"""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from daskinsar.geometry.ellipsoid import SPEED_OF_LIGHT
from daskinsar.io import ceos
from daskinsar.io.ceos_ers import ERS_CHIRP_BW_HZ, ERS_FS_HZ, ers_prf
from daskinsar.io.readers import read_scene
from daskinsar.scene import Chirp, Poly1D, Scene
from daskinsar.simulate.api import build_pair_model, reference_scene, secondary_scene
from daskinsar.simulate.presets import preset

N = 32  # lines and samples of the simulated products


@dataclass
class Target:
    name: str
    folder: Path
    target: str  # path inside the folder that the reader takes ("" = the folder)
    read: Callable[[str], object]
    pixels: bool = True  # compare the pixels too


def _reader(sensor: str, **options) -> Callable[[str], object]:
    return lambda p: read_scene(p, sensor, **options)


# ------------------------------------------------------------------------------------------------ simulated
def _scenes(**radar) -> tuple[Scene, Scene]:
    cfg = preset("small", n_azimuth=N, n_range=N, point_targets=[], **radar)
    model = build_pair_model(cfg)
    return reference_scene(model, chunks=N), secondary_scene(model, chunks=N)


ERS = dict(wavelength_m=0.0565646, range_sampling_rate_hz=ERS_FS_HZ, chirp_bandwidth_hz=ERS_CHIRP_BW_HZ,
           chirp_duration_s=37.12e-6, antenna_length_m=10.0, altitude_m=785e3, inclination_deg=98.52,
           look_angle_deg=18.5, look_side="right")
ENVISAT = dict(wavelength_m=SPEED_OF_LIGHT / 5.331004e9, prf_hz=1652.4156, range_sampling_rate_hz=19.20768e6,
               chirp_bandwidth_hz=16.0e6, chirp_duration_s=27.1e-6, antenna_length_m=10.0, altitude_m=790e3,
               inclination_deg=98.55, look_angle_deg=19.2, look_side="right")


def simulated(name: str, folder: Path) -> Target:
    """A product of reader ``name`` written from a simulated scene into ``folder``."""
    from daskinsar.io.ceos_radarsat1 import RSAT_SMO_HZ, rsat_chirp_slope
    from daskinsar.simulate.formats import write_csk, write_kompsat5, write_radarsat2, write_terrasarx
    from daskinsar.simulate.formats.ceos_missions import write_radarsat1_ceos, write_risat1_ceos
    from daskinsar.simulate.formats.envisat import write_envisat
    from daskinsar.simulate.formats.ers_ceos import write_ers_ceos
    from sensor_formats import SENSOR_SIMULATION

    folder.mkdir(parents=True)
    if name == "ERS":
        ref, _ = _scenes(prf_hz=ers_prf(2820), **ERS)
        write_ers_ceos(ref, str(folder))
        return Target(name, folder, "", _reader("ERS"))
    if name in ("ENVISAT", "ERS_ENVISAT"):
        ref, _ = _scenes(**ENVISAT) if name == "ENVISAT" else _scenes(prf_hz=ers_prf(2820), **ERS)
        p = write_envisat(ref, str(folder), product="ASA_IMS_1P" if name == "ENVISAT" else "SAR_IMS_1P")
        return Target(name, folder, Path(p).name, _reader(name))
    if name in ("RADARSAT1", "RISAT1"):
        fs = RSAT_SMO_HZ / 7.0
        prf = 1.0 / ((2 + 2100) * 6 * 7.0 / RSAT_SMO_HZ)
        chirp = Chirp(slope_hz_per_s=rsat_chirp_slope(fs), duration_s=42e-6)
        ref, _ = _scenes(wavelength_m=0.0565646, prf_hz=prf, range_sampling_rate_hz=fs,
                         chirp_bandwidth_hz=chirp.bandwidth_hz, chirp_duration_s=42e-6, antenna_length_m=15.0,
                         altitude_m=798e3, inclination_deg=98.6, look_angle_deg=30.0)
        (write_radarsat1_ceos if name == "RADARSAT1" else write_risat1_ceos)(ref, str(folder))
        return Target(name, folder, "", _reader(name))
    key = {"COSMO_SKYMED": "csk", "KOMPSAT5": "kompsat5", "TERRASARX": "terrasarx", "RADARSAT2": "radarsat2"}[name]
    ref, _ = _scenes(**SENSOR_SIMULATION[key])
    writer = {"csk": write_csk, "kompsat5": write_kompsat5, "terrasarx": write_terrasarx,
              "radarsat2": write_radarsat2}[key]
    out = folder / "product.h5" if key in ("csk", "kompsat5") else folder / "product"
    p = Path(writer(ref, str(out)))
    return Target(name, folder, str(p.relative_to(folder)), _reader(name))


def with_orbit_file(name: str, folder: Path) -> Target:
    """An Envisat IMS with a DORIS orbit file (ENVISAT_DORIS) or an ERS CEOS SLC with a Delft ODR file
    (ERS_ODR), the orbit file in the product's folder ``orbit/``: 41 state vectors, 30 s apart, of the pass."""
    from daskinsar.simulate.formats.orbit_files import write_doris, write_odr
    from sensor_formats_b import long_orbit

    envisat = name == "ENVISAT_DORIS"
    t = simulated("ENVISAT" if envisat else "ERS", folder)
    cfg = preset("small", n_azimuth=N, n_range=N, point_targets=[],
                 **(ENVISAT if envisat else dict(prf_hz=ers_prf(2820), **ERS)))
    orbit = long_orbit(cfg, step_s=30.0, span_s=600.0)
    fn = Path((write_doris if envisat else write_odr)(orbit, str(folder / "orbit"))).name
    sensor = "ENVISAT" if envisat else "ERS"

    def read(p: str):
        case = Path(p).parent if envisat else Path(p)
        return read_scene(p, sensor, orbit_file=str(case / "orbit" / fn))
    return Target(name, folder, t.target, read)


def uavsar(name: str, folder: Path) -> Target:
    """A UAVSAR RPI pair or one stack date: simulated L-band pixels on an airborne SCH track (as
    ``tests/test_sensor_uavsar.py`` builds them), native Doppler."""
    from daskinsar.io.uavsar_rpi import RPI_PRF_FACTOR, SchFrame, sch_orbit
    from daskinsar.simulate.formats.uavsar_rpi import write_uavsar_rpi, write_uavsar_stack

    frame, alt, speed, dt, dr, r0 = SchFrame(36.2, -119.4, 12.5), 12495.0, 228.0, 1.0 / 412.0, 1.6655, 14250.0
    doppler = Poly1D(reference=r0, scale=100.0, coeffs=[35.0, -1.5, 0.02])

    def on_track(slc: Scene, epoch: str) -> Scene:
        rc = frame.radius_m
        v_s = speed * rc / (rc + alt)
        n = slc.shape[0]
        orbit = sch_orbit(frame, epoch, -v_s * dt * n / 2, v_s, alt, -1.0, n * dt + 1.0, 0.1)
        assert slc.meta.chirp is not None
        meta = slc.meta.model_copy(update=dict(
            sensor="SIMULATED", wavelength_m=0.2379, prf_hz=RPI_PRF_FACTOR / dt, azimuth_line_interval_s=dt,
            range_sampling_rate_hz=SPEED_OF_LIGHT / (2 * dr), range_pixel_spacing_m=dr, look_side="left",
            epoch=epoch, grid="native_doppler", grid_doppler=doppler, doppler_centroid=doppler,
            chirp=slc.meta.chirp.model_copy(update=dict(slope_hz_per_s=-80e6 / 40e-6, duration_s=40e-6))))
        ds = slc.data.assign_coords(azimuth_time=("azimuth", np.arange(n) * dt),
                                    slant_range=("range", r0 + np.arange(slc.shape[1]) * dr))
        return Scene(ds, meta, orbit)

    a, b = _scenes(wavelength_m=0.2379, range_sampling_rate_hz=SPEED_OF_LIGHT / (2 * dr), chirp_bandwidth_hz=80e6,
                   chirp_duration_s=40e-6)
    ref, sec = on_track(a, "2021-06-01T18:00:00"), on_track(b, "2021-06-09T18:30:05")
    folder.mkdir(parents=True)
    if name == "UAVSAR_RPI":
        ann = write_uavsar_rpi(ref, str(folder), sec)
        return Target(name, folder, Path(ann).name, _reader(name, pass_number=1))
    ann = write_uavsar_stack(ref, str(folder))
    return Target(name, folder, Path(ann).name, _reader(name, segment=1))


SOD0 = 12 * 3600 + 34 * 60 + 56.125  # ROI_PAC first line 12:34:56.125


def roipac(folder: Path) -> Target:
    """A ROI_PAC SLC (40 x 30 complex64) with its .rsc and a circular-orbit hdr_data_points file."""
    from daskinsar.io.roipac import write_rsc

    folder.mkdir(parents=True)
    rng = np.random.default_rng(3)
    n_lines, width = 40, 30
    data = (rng.standard_normal((n_lines, width)) + 1j * rng.standard_normal((n_lines, width))).astype("<c8")
    (folder / "scene.slc").write_bytes(data.tobytes())
    write_rsc(str(folder / "scene.slc.rsc"), {
        "WIDTH": width, "FILE_LENGTH": n_lines, "WAVELENGTH": 0.0562356, "PRF": 1679.9, "RANGE_PIXEL_SIZE": 7.9048,
        "STARTING_RANGE": 830123.25, "FIRST_LINE_UTC": SOD0, "FIRST_LINE_YEAR": 2003, "FIRST_LINE_MONTH_OF_YEAR": 5,
        "FIRST_LINE_DAY_OF_MONTH": 17, "PLATFORM": "ERS2", "ANTENNA_SIDE": -1, "DOPPLER_RANGE0": 0.1,
        "DOPPLER_RANGE1": 1e-5, "PULSE_LENGTH": 3.71e-5, "CHIRP_SLOPE": 4.189e11})
    rad, w = 7.07e6, 7.5e3 / 7.07e6
    t = SOD0 - 40.0 + 10.0 * np.arange(12)
    a = w * (t - SOD0)
    pts = np.column_stack([t, rad * np.cos(a), rad * np.sin(a), np.zeros(12), -rad * w * np.sin(a),
                           rad * w * np.cos(a), np.zeros(12)])
    np.savetxt(folder / "hdr_data_points_030517.rsc", pts)
    return Target("ROI_PAC", folder, "scene.slc", _reader("ROI_PAC"))


# ------------------------------------------------------------------------------------------------ real files
def jaxa(name: str, data_dir: Path, folder: Path) -> Target:
    """A JAXA CEOS product on the real ALOS-2 leader (descriptor, data set summary, platform position) with
    16 generated image lines of 24 samples: ALOS2 level 1.1 SLC, or ALOS level 1.0 raw (mission ALOS)."""
    folder.mkdir(parents=True)
    real_zip = next((data_dir / "alos2_ceos_metadata").glob("*.zip"))
    with zipfile.ZipFile(real_zip) as zf:
        led = zf.read(next(n for n in zf.namelist() if "LED-" in n))
    recs = ceos.read_records(led, "LED")
    summ = bytearray(recs[1].data)
    raw = name == "ALOS"
    for key, text in (("product_level", "1.0" if raw else "1.1"), ("mission", "ALOS" if raw else "ALOS2")):
        off, n, _ = ceos.DATA_SET_SUMMARY[key]
        summ[off:off + n] = text.ljust(n).encode()
    (folder / "LED-TEST").write_bytes(recs[0].data + bytes(summ) + recs[3].data)
    n_lines, n_pix = 16, 24
    bits, spg, bpg = (8, 2, 2) if raw else (32, 2, 8)
    prefix = 412 if raw else 544
    reclen = prefix + n_pix * bpg
    desc = ceos.build_record(ceos.IMAGE_FILE_DESCRIPTOR, {
        "ascii_flag": "A", "format_document": "CEOS-SAR", "n_records": n_lines, "record_length": reclen,
        "bits_per_sample": bits, "samples_per_group": spg, "bytes_per_group": bpg, "n_channels": 1,
        "n_lines": n_lines, "left_border": 0, "n_pixels": n_pix, "right_border": 0, "interleaving": "BSQ",
        "records_per_line": 1, "prefix_bytes": prefix, "data_bytes": n_pix * bpg, "suffix_bytes": 0,
        "format_code": "CU1" if raw else "C*8"}, sequence=1, codes=(50, 192, 18, 18), length=720)
    rng = np.random.default_rng(1)
    sod0, prf_mhz = 4 * 3600 + 33 * 60 + 42.25, 2122318
    lines = []
    for i in range(n_lines):
        us = int(round((sod0 + i / (prf_mhz * 1e-3)) * 1e6))
        head = ceos.build_record(ceos.SIGNAL_DATA_RECORD, {
            "line_number": i + 1, "record_index": 1, "n_pixels": n_pix, "year": 2014, "day_of_year": 252,
            "ms_of_day": us // 1000, "us_of_day": us, "prf_mhz": prf_mhz, "slant_range_first_sample_m": 850123},
            sequence=i + 2, codes=(50, 10 if raw else 11, 18, 20), length=prefix)
        if raw:
            body = rng.integers(0, 32, 2 * n_pix).astype(np.uint8).tobytes()
        else:
            body = rng.standard_normal(2 * n_pix).astype(">f4").tobytes()
        rec = bytearray(head + body)
        rec[8:12] = np.array([reclen], ">i4").tobytes()
        lines.append(bytes(rec))
    (folder / "IMG-HH-TEST").write_bytes(desc + b"".join(lines))
    return Target(name, folder, "", _reader(name))


def copied(name: str, data_dir: Path, folder: Path) -> Target:
    """A copy of a real product of the shared test data."""
    folder.mkdir(parents=True)
    if name == "NISAR_RSLC":
        shutil.copy(data_dir / "uavsar_winnipeg" / "winnipeg.h5", folder / "winnipeg.h5")
        return Target(name, folder, "winnipeg.h5", _reader(name))
    if name == "NISAR_L0B":
        src = next((data_dir / "alos1_raw_l0b").glob("*.h5"))
        _first_pulses(src, folder / "l0b.h5", 200)
        return Target(name, folder, "l0b.h5", _reader(name))
    if name == "SENTINEL1":
        safe = next((data_dir / "sentinel1_safe").glob("*SLC*.SAFE"))
        out = folder / safe.name
        (out / "annotation").mkdir(parents=True)
        (out / "measurement").mkdir()
        shutil.copy(safe / "manifest.safe", out / "manifest.safe")
        for sub in ("annotation", "measurement"):
            for f in (safe / sub).glob("s1b-iw1-slc-vv*"):
                shutil.copy(f, out / sub / f.name)
        # the first and last of the 9 bursts (each burst read costs; the annotation is parsed whole anyway)
        return Target(name, folder, safe.name, _reader(name, swath="IW1", polarization="VV", bursts="IW1-b0,IW1-b8"),
                      pixels=False)
    if name == "DEM":
        shutil.copy(data_dir / "dem" / "Rome-30m-DEM.tif", folder / "dem.tif")
        (folder / "dem.tif").chmod(0o644)
        return Target(name, folder, "dem.tif", dem_read)
    if name == "SNAP":
        # the real pair, its metadata trimmed to what SNAP's readers use (Abstracted / Slave_Metadata)
        import json

        src = data_dir / "sentinel1_pair_amsterdam"
        for z in sorted(src.glob("*.znap")):
            shutil.copytree(z, folder / z.name, ignore=shutil.ignore_patterns("vector_data"))
            md = folder / z.name / "SNAP" / "product_metadata.json"
            tree = [e for e in json.loads(md.read_text()) if e.get("name") in ("Abstracted_Metadata", "Slave_Metadata")]
            md.write_text(json.dumps(tree))
            for p in (folder / z.name).rglob("*"):
                p.chmod(0o755 if p.is_dir() else 0o644)
        (folder).chmod(0o755)
        return Target(name, folder, "", snap_pair)
    raise ValueError(name)


def _first_pulses(src: Path, dst: Path, n: int) -> None:
    """A copy of the real L0B file with its first ``n`` pulses only: every per-pulse dataset (first axis as
    long as the pulse times) cut to ``n``, storage settings (chunks, gzip) and attributes kept."""
    import h5py

    with h5py.File(src, "r") as f, h5py.File(dst, "w") as g:
        n_pulses = f["science/LSAR/RRSD/swaths/frequencyA/txH/UTCtime"].shape[0]
        for k, v in f.attrs.items():
            g.attrs[k] = v

        def copy(name, obj):
            if isinstance(obj, h5py.Group):
                grp = g.require_group(name)
                for k, v in obj.attrs.items():
                    grp.attrs[k] = v
                return
            data = obj[()]
            if obj.ndim and obj.shape[0] == n_pulses:
                data = data[:n]
            kw = {}
            if obj.chunks is not None:
                kw = dict(chunks=tuple(min(c, s) for c, s in zip(obj.chunks, data.shape)),
                          compression=obj.compression, compression_opts=obj.compression_opts)
            ds = g.create_dataset(name, data=data, **kw)
            for k, v in obj.attrs.items():
                ds.attrs[k] = v
        f.visititems(copy)


def snap_pair(path: str):
    from daskinsar.io.snap_zarr import open_snap_pair

    return open_snap_pair(path, chunks=(64, 128))


def snap_fingerprint(read, root: str, pixels: bool) -> tuple[list[str], list[np.ndarray]]:
    """(the pair's grids, attributes, metadata and orbit as text; its SLCs and geometry bands)."""
    ref, sec, geo = read
    texts = [repr(sorted(v.attrs.items())) for v in (ref, sec)] + [repr(sorted(geo.attrs.items()))]
    texts += [ref.azimuth_time.values.tobytes().hex(), ref.slant_range.values.tobytes().hex(), repr(list(geo))]
    images = [np.asarray(ref.values), np.asarray(sec.values)] + [np.asarray(geo[k].values) for k in sorted(geo.data_vars)]
    return [t.replace(root, "<ROOT>") for t in texts], images


#: the footprint (lon min, lon max, lat min, lat max; deg) of the DEM reads: inside the Rome DEM
DEM_BOX = (12.47, 12.53, 41.97, 42.03)


def dem_read(path: str):
    """A DEM file as a run takes it: opened lazily (float32 heights, a dask array), then the footprint
    prepared into a store beside it; (grid, the store's provenance, its heights)."""
    import dask.array as da

    from daskinsar.io.dem import open_dem
    from daskinsar.io.dem_prepare import prepare_dem

    dem = open_dem(path)
    assert isinstance(dem.heights_m, da.Array) and dem.heights_m.dtype == np.float32, dem.heights_m
    out = prepare_dem(dem, *DEM_BOX, path + ".zarr", margin=2, chunks=128)
    keep = ("vertical_datum", "unit_factor", "height_reference", "voids_in_footprint", "crop_rows", "crop_cols")
    return ((out.lon0_deg, out.lat0_deg, out.dlon_deg, out.dlat_deg), {k: out.attrs.get(k) for k in keep},
            np.asarray(out.heights_m[:, :]))


def dem_fingerprint(read, root: str, pixels: bool) -> tuple[list[str], list[np.ndarray]]:
    grid, attrs, heights = read
    return [repr(grid), repr(sorted(attrs.items())).replace(root, "<ROOT>")], [heights]
