"""One benchmark command: every stage's throughput against its limit, scaling, peers and
end-to-end runs, measured in the same run on the same cores; writes a Markdown and a JSON report.

    python benchmarks/run.py [--quick] [--large] [--out benchmarks/report] [--only focus,filter,...]
                             [--set unwrap=1024 --set chain=2048 ...]

Profiles (sizes in pixels): the default ("full") takes tens of minutes on 2 cores, ``--quick``
a few minutes, ``--tiny`` seconds (the smoke test; the figures mean nothing at that size).
``--large`` adds the 8192 x 8192 end-to-end pair and the 16x scene of the scaling graph.
``--out PREFIX`` writes PREFIX.md and PREFIX.json.

What is measured (see benchmarks/README.md for the definitions):
* limits, measured here: the FFT floor (pyfftw forward + inverse passes the stage cannot
  avoid, same sizes, one thread) for focus and the Goldstein filter; np.copyto bandwidth of
  the same arrays (warm, reused buffers, one thread) for the memory-bound stages;
* per-stage single-thread throughput (Msamples/s) and its ratio to the limit; topo (rdr2geo)
  and geocode pixels/s;
* scaling: one graph (Zarr in -> resample -> crossmul -> multilook -> Goldstein -> Zarr out) on
  dask's threaded scheduler with 1 vs 2 threads, and at 1x vs 4x (16x with --large) scene
  size; peak RSS sampled with psutil over the process and its children;
* peers: one SNAPHU call vs the tiled unwrapper; dolphin's Goldstein and multilook (from the
  dolphin virtualenv, if present); GDAL's geolocation-array warp (rasterio) vs daskinsar's geocoder;
* end to end: ``daskinsar.demo.run_demo`` and an N x N simulated pair through the pipeline;
* tops: a simulated Sentinel-1 IW subswath pair (9 bursts; ``bench_tops.py``) through the pipeline.
The goals are printed as met / not met; nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import bench_frame  # noqa: E402
import bench_tops  # noqa: E402
from frame_report import frame_goals, frame_markdown  # noqa: E402
from _common import (  # noqa: E402
    DOLPHIN_PYTHON, best, load_average, machine_info, run_spawned, single_thread_env, step_times, timed,
)
from _common import fmt as _fmt  # noqa: E402
from _common import get as _get  # noqa: E402

# sizes per profile; every entry can be overridden with --set key=value (ints, or AxB)
PROFILES = {
    "tiny": dict(copy=512, focus=(512, 256), filter=128, resample=128, crossmul=512, multilook=512, topo=32,
                 geocode=32, unwrap=128, chain=128, chain_chunk=64, repeat=1, demo=None, pair=None, spectra=256,
                 tops=(2, 1024)),
    "quick": dict(copy=2048, focus=(2048, 2048), filter=1024, resample=1024, crossmul=2048, multilook=2048,
                  topo=128, geocode=128, unwrap=512, chain=1024, chain_chunk=512, repeat=2, demo="demo", pair=None,
                  spectra=1024, tops=(9, 2048)),
    "full": dict(copy=4096, focus=(8192, 4096), filter=2048, resample=2048, crossmul=4096, multilook=4096,
                 topo=256, geocode=256, unwrap=2048, chain=2048, chain_chunk=1024, repeat=3, demo="demo",
                 pair=4096, spectra=2048, tops=(9, 21632)),
}
#: the frame sizes of the end-to-end section ("frame"), largest last
FRAME_SIZES = {"tiny": (), "quick": (1024, 2048), "full": (), "large": (4096, 8192),
               "frame": (4096, 8192, 16384)}
SECTIONS = ("copy", "focus", "filter", "resample", "crossmul", "multilook", "topo", "geocode", "spectra", "unwrap",
            "scaling", "e2e", "frame", "tops")
LOOKS = (4, 4)


def _msps(samples: float, seconds: float) -> float:
    return samples / seconds / 1e6 if seconds > 0 else float("nan")


# ------------------------------------------------------------------------------------------
# limits
# ------------------------------------------------------------------------------------------
def copy_bandwidth(n: int, repeat: int) -> dict:
    """np.copyto of an n x n complex64 array into a reused, warm buffer (one thread)."""
    src = (np.random.default_rng(0).standard_normal((n, n), dtype=np.float32) * (1 + 1j)).astype(np.complex64)
    dst = np.empty_like(src)
    _, wall, _ = timed(lambda: np.copyto(dst, src), max(repeat, 3))
    return {"n": n, "seconds": wall, "Msamples_per_s": _msps(n * n, wall),
            "GB_per_s_read_plus_write": 2 * src.nbytes / wall / 1e9}


def _vs_copy(res: dict, copy: dict, samples: int, seconds: float, bytes_per_sample: float) -> dict:
    """Throughput of a memory-bound kernel and its share of the copy bandwidth.

    ``bytes_per_sample``: bytes the stage must read and write per (input) sample; the copy moves
    16 bytes per complex64 sample (8 read + 8 written). ``fraction_of_copy_bandwidth`` compares
    bytes per second; ``samples_ratio_to_copy`` compares samples per second.
    """
    res.update(seconds=seconds, Msamples_per_s=_msps(samples, seconds), bytes_per_sample=bytes_per_sample,
               GB_per_s=samples * bytes_per_sample / seconds / 1e9,
               samples_ratio_to_copy=_msps(samples, seconds) / copy["Msamples_per_s"])
    res["fraction_of_copy_bandwidth"] = res["GB_per_s"] / copy["GB_per_s_read_plus_write"]
    return res


# ------------------------------------------------------------------------------------------
# stages
# ------------------------------------------------------------------------------------------
def bench_focus(shape, repeat: int, full: bool) -> dict:
    import bench_focus

    r = bench_focus.measure(int(shape[0]), int(shape[1]), threads=(1, 2) if full else (1,), repeat=max(1, repeat - 1))
    r["Msamples_per_s_1thread"] = r["focus_Msamples_per_s"]["1"]
    r["ratio_to_fft_floor"] = r["thread_seconds_over_fft_floor"]["1"]
    return r


def bench_filter(n: int, repeat: int, dolphin_python: str) -> dict:
    import bench_filter

    r = bench_filter.measure(n=n, repeat=repeat, dolphin_python=dolphin_python)
    r["Msamples_per_s_1thread"] = r["daskinsar_smooth3"]["Msamples_per_s"]
    r["ratio_to_fft_floor"] = r["ratio_to_fft_floor_cpu"]
    return r


def bench_spectra(n: int, repeat: int) -> dict:
    """Common-band filter and ionosphere step vs their FFT passes (benchmarks/bench_spectra.py)."""
    import bench_spectra

    return bench_spectra.bench_spectra(n, repeat)


def bench_resample(n: int, copy: dict) -> dict:
    import bench_resample

    r = bench_resample.measure(size=n, taps=12, chunk=max(64, n // 2))
    # reads the secondary (8 B) and two float64 offset fields (16 B), writes the result (8 B)
    _vs_copy(r, _copy_for(n, copy), n * n, r["kernel_s"], 32.0)
    return r


_COPY_CACHE: dict[int, dict] = {}


def _copy_for(n: int, copy: dict) -> dict:
    """Copy bandwidth of an n x n complex64 array (the same size as the stage's input)."""
    if copy.get("n") == n:
        return copy
    if n not in _COPY_CACHE:
        _COPY_CACHE[n] = copy_bandwidth(n, 3)
    return _COPY_CACHE[n]


def bench_crossmul(n: int, repeat: int, copy: dict) -> dict:
    from daskinsar.stages.interferogram import crossmul_kernel

    rng = np.random.default_rng(2)
    ref = (rng.standard_normal((n, n), dtype=np.float32) + 1j * rng.standard_normal((n, n), dtype=np.float32))
    sec = (rng.standard_normal((n, n), dtype=np.float32) + 1j * rng.standard_normal((n, n), dtype=np.float32))
    ref, sec = ref.astype(np.complex64), sec.astype(np.complex64)
    phase = rng.uniform(-np.pi, np.pi, (n, n)).astype(np.float32)
    c = _copy_for(n, copy)
    _, t0, _ = timed(lambda: crossmul_kernel(ref, sec), repeat)
    _, t1, _ = timed(lambda: crossmul_kernel(ref, sec, phase), repeat)
    return {"n": n,
            "no_phase": _vs_copy({}, c, n * n, t0, 24.0),  # read 2 x 8 B, write 8 B
            "with_geometric_phase": _vs_copy({}, c, n * n, t1, 28.0)}  # + 4 B float32 phase


def bench_multilook(n: int, repeat: int, copy: dict, dolphin_python: str) -> dict:
    from daskinsar.stages.interferogram import multilook_kernel

    rng = np.random.default_rng(3)
    x = (rng.standard_normal((n, n), dtype=np.float32) + 1j * rng.standard_normal((n, n), dtype=np.float32))
    x = x.astype(np.complex64)
    out, t, _ = timed(lambda: multilook_kernel(x, LOOKS), repeat)
    r = _vs_copy({"n": n, "looks": list(LOOKS)}, _copy_for(n, copy), n * n, t, 8.0 + 8.0 / (LOOKS[0] * LOOKS[1]))
    r["dolphin"] = _dolphin_take_looks(dolphin_python, x, out, repeat)
    if "seconds" in r["dolphin"]:
        r["speedup_vs_dolphin"] = r["dolphin"]["seconds"] / t
    return r


def _dolphin_take_looks(python: str, x: np.ndarray, ours: np.ndarray, repeat: int) -> dict:
    import subprocess

    if not (python and os.path.exists(python)):
        return {"status": "not installed", "detail": f"no dolphin venv at {python}"}
    with tempfile.TemporaryDirectory(prefix="bench-looks-") as tmp:
        src, dst = os.path.join(tmp, "in.npy"), os.path.join(tmp, "out.npy")
        np.save(src, x)
        script = (  # dolphin's real imports: its utils module imports GDAL's bindings (the gdal-wheel package)
            "import json, time, numpy as np\n"
            "from osgeo import gdal\n"
            "import dolphin\n"
            "from dolphin.utils import take_looks\n"
            f"x = np.load({src!r})\n"
            f"out = take_looks(x, {LOOKS[0]}, {LOOKS[1]}, func_type='mean')\n"
            "walls = []\n"
            f"for _ in range({max(1, repeat)}):\n"
            "    t0 = time.perf_counter()\n"
            f"    out = take_looks(x, {LOOKS[0]}, {LOOKS[1]}, func_type='mean')\n"
            "    walls.append(time.perf_counter() - t0)\n"
            f"np.save({dst!r}, np.asarray(out))\n"
            "print(json.dumps({'seconds': min(walls), 'version': dolphin.__version__, 'gdal': gdal.__version__}))\n")
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        res = subprocess.run([python, "-c", script], capture_output=True, text=True, env=env, timeout=900)
        if res.returncode != 0:
            tail = res.stderr.strip().splitlines()[-1] if res.stderr.strip() else "failed"
            return {"status": "not importable", "detail": tail}
        info = json.loads(res.stdout.strip().splitlines()[-1])
        theirs = np.load(dst)
        info["status"] = "measured"
        info["function"] = "dolphin.utils.take_looks(func_type='mean'), real imports (GDAL's Python bindings)"
        info["Msamples_per_s"] = _msps(x.size, info["seconds"])
        if theirs.shape == ours.shape:
            info["max_abs_difference"] = float(np.max(np.abs(theirs.astype(np.complex128) - ours)))
        else:
            info["shape_mismatch"] = [list(theirs.shape), list(ours.shape)]
        return info


@functools.lru_cache(maxsize=2)
def _geometry(n: int):
    """Orbit, DEM and a radar grid of the simulator's demo scene (n x n pixels at its start)."""
    from daskinsar.simulate import preset
    from daskinsar.simulate.slc import build_pair_model

    cfg = preset("demo", n_azimuth=max(n, 64), n_range=max(n, 64))
    m = build_pair_model(cfg)
    g = m.ref_grid
    return cfg, m, g.azimuth_time()[:n], g.slant_range()[:n]


def bench_topo(n: int, repeat: int, geometry=None) -> dict:
    """topo_kernel per thread (with and without the secondary geometry) and the lattice's error against the
    exact per-pixel solvers (bench_topo.measure_topo)."""
    import bench_topo

    return bench_topo.measure_topo(n, max(1, repeat))


def _topo_fields(n: int):
    from daskinsar.stages.topo import topo_kernel

    cfg, m, t, r = _geometry(n)
    return topo_kernel(t, r, orbit=m.ref_orbit, wavelength_m=cfg.wavelength_m, look_side=cfg.look_side, dem=m.dem)


def bench_geocode(n: int, repeat: int) -> dict:
    """daskinsar's backward geocoder (geo2rdr per output pixel) vs GDAL's geolocation-array warp
    (rasterio.warp.reproject with src_geoloc_array = the topo lon/lat of every radar pixel), one
    thread each, same product (the topo height), same output grid; agreement with each other
    and with the truth (the DEM height at each output pixel)."""
    import dask
    from daskinsar.geometry.grid import RadarGrid, map_grid_for
    from daskinsar.stages.geocode import build_lookup, geocode_array

    import bench_topo

    geometry = _geometry(n)
    cfg, m, t, r = geometry
    topo = _topo_fields(n)
    lon, lat, hgt = topo[0], topo[1], topo[2].astype(np.float32)
    posting = float(np.nanmedian(np.abs(np.diff(lat, axis=0))))
    posting = min(posting, float(np.nanmedian(np.abs(np.diff(lon, axis=1)))) * np.cos(np.radians(np.nanmean(lat))))
    grid = map_grid_for(lon, lat, posting)
    radar = RadarGrid.from_coords(t, r)
    kw = dict(dem=m.dem, orbit=m.ref_orbit, wavelength_m=cfg.wavelength_m, tile=512)
    with dask.config.set(scheduler="threads", num_workers=1):
        ours, wall, _ = timed(lambda: geocode_array(hgt, build_lookup(grid, radar, **kw), name="hgt").compute(),
                              max(1, repeat - 1))
    npx = grid.shape[0] * grid.shape[1]
    glon, glat = grid.lonlat(slice(None), slice(None))
    truth = m.dem(glon, glat)
    res = {"radar_shape": [len(t), len(r)], "map_shape": list(grid.shape), "posting_deg": posting,
           "daskinsar": {"seconds": wall, "output_pixels_per_s": npx / wall,
                         "note": "includes the lookup (lattice of exact geo2rdr solutions, interpolated)"},
           "per_product": bench_topo.measure_geocode_lookup(n, repeat)}
    ok = np.isfinite(ours)
    res["daskinsar"]["valid_pixels"] = int(ok.sum())
    res["daskinsar"]["abs_error_vs_dem_m"] = _stats(ours[ok] - truth[ok])
    try:
        import rasterio
        from rasterio.crs import CRS
        from rasterio.transform import from_origin
        from rasterio.warp import Resampling, reproject

        transform = from_origin(grid.x0 - grid.dx / 2, grid.y0 - grid.dy / 2, grid.dx, -grid.dy)
        dst = np.full(grid.shape, np.nan, np.float32)
        geoloc = (np.ascontiguousarray(lon, np.float64), np.ascontiguousarray(lat, np.float64))

        def gdal():
            dst[:] = np.nan
            reproject(hgt, dst, src_crs=CRS.from_epsg(4326), src_geoloc_array=geoloc, dst_transform=transform,
                      dst_crs=CRS.from_epsg(4326), resampling=Resampling.bilinear, src_nodata=np.nan, dst_nodata=np.nan,
                      num_threads=1)
            return dst

        theirs, gwall, _ = timed(gdal, max(1, repeat - 1))
        gok = np.isfinite(theirs)
        both = ok & gok
        res["gdal_geoloc"] = {"seconds": gwall, "output_pixels_per_s": npx / gwall, "valid_pixels": int(gok.sum()),
                              "gdal": rasterio.__gdal_version__,
                              "note": "excludes the topo (rdr2geo) that made its lon/lat lookup",
                              "abs_error_vs_dem_m": _stats(theirs[gok] - truth[gok])}
        res["agreement_m"] = _stats(ours[both] - theirs[both]) | {"common_pixels": int(both.sum())}
        res["speedup_vs_gdal"] = gwall / wall
    except Exception as e:  # noqa: BLE001
        res["gdal_geoloc"] = {"status": "not available", "detail": f"{type(e).__name__}: {e}"}
    return res


def _stats(d: np.ndarray) -> dict:
    d = np.abs(np.asarray(d, np.float64))
    d = d[np.isfinite(d)]
    if d.size == 0:
        return {"n": 0}
    return {"n": int(d.size), "median": float(np.median(d)), "p95": float(np.percentile(d, 95)),
            "max": float(d.max())}


def bench_unwrap(n: int, tile_counts=(2, 4, 8)) -> dict:
    """One SNAPHU call vs daskinsar's tiled unwrapper with 2x2 and 4x4 tiles (2 threads); the
    headline figures are those of the fastest tiling that loses no correctness."""
    import bench_unwrap

    overlap = max(16, min(128, n // 8))
    single = None
    variants = {}
    for k in tile_counts:
        modes = ("single", "tiled") if single is None else ("tiled",)
        r = bench_unwrap.measure(size=n, tiles=k, overlap=overlap, workers=2, nlooks=10, modes=modes)
        single = single or r["single"]
        t = r["tiled"]
        variants[f"{k}x{k}"] = {"tiles": [k, k], **t, "speedup_wall": single["seconds"] / t["seconds"],
                                "speedup_cpu": single["cpu_seconds"] / t["cpu_seconds"],
                                "correct": t["congruent_fraction"] >= single["congruent_fraction"] - 1e-3}
    ok = [v for v in variants.values() if v["correct"]] or list(variants.values())
    best_v = max(ok, key=lambda v: v["speedup_wall"])
    from daskinsar.stages.unwrap import UnwrapParams, choose_ntiles

    up = UnwrapParams()
    extra = bench_unwrap.measure(size=n, workers=2, nlooks=10, modes=("default", "whirlwind"))
    default = dict(extra["default"], tiles=list(choose_ntiles((n, n), up.tile_pixels, up.tile_overlap)),
                   tile_pixels=up.tile_pixels, overlap=up.tile_overlap)
    ww = extra["whirlwind"]
    try:
        from importlib.metadata import version

        ww["version"] = version("whirlwind-insar")
    except Exception:  # noqa: BLE001 - not installed: its error is in the figures
        pass
    return {"default_tiling": default, "whirlwind": ww,
            "size": n, "tiles": best_v["tiles"], "overlap": overlap, "workers": "threaded scheduler, 2 threads",
            "single_snaphu": single, "tiled": best_v, "tiled_variants": variants,
            "speedup_wall": best_v["speedup_wall"], "speedup_cpu": best_v["speedup_cpu"],
            "congruent_fraction": {"single": single["congruent_fraction"], "tiled": best_v["congruent_fraction"]}}


# ------------------------------------------------------------------------------------------
# scaling: one graph on 1 vs 2 threads and at growing scene size (spawned children)
# ------------------------------------------------------------------------------------------
def write_chain_inputs(path: str, n: int, chunk: int) -> None:
    """Reference and secondary complex64 speckle SLCs (n x n) in a Zarr group, ``chunk`` square chunks,
    uncompressed as daskinsar stores complex data (speckle does not compress)."""
    import dask
    import dask.array as da

    rng = da.random.default_rng(5)

    def slc():
        return (rng.standard_normal((n, n), chunks=chunk, dtype=np.float32)
                + 1j * rng.standard_normal((n, n), chunks=chunk, dtype=np.float32)).astype(np.complex64)

    with dask.config.set(scheduler="threads"):
        da.to_zarr(slc(), path, component="reference", overwrite=True, compressors=None)
        da.to_zarr(slc(), path, component="secondary", overwrite=True, compressors=None)


def chain_child(src: str, out: str, n: int, chunk: int, workers: int) -> dict:
    """Zarr in -> resample (12-tap sinc) -> crossmul -> 4x4 multilook -> Goldstein -> Zarr out."""
    single_thread_env()
    import dask
    import dask.array as da
    import psutil

    from daskinsar.stages.filter import goldstein
    from daskinsar.stages.interferogram import crossmul, multilook
    from daskinsar.stages.resample import ResampleParams, resample_slc

    import zarr

    ref = da.from_zarr(src, component="reference")
    # as the pipeline does: resampling tasks read their halo'd windows from the store
    sec = zarr.open_group(src, mode="r")["secondary"]
    i = da.arange(n, chunks=chunk, dtype=np.float64)[:, None]
    j = da.arange(n, chunks=chunk, dtype=np.float64)[None, :]
    az = 0.3 + 2e-5 * i + 1e-5 * j
    rg = -0.4 + 3e-5 * j + 0 * i
    rs = resample_slc(sec, az, rg, doppler_hz=0.0, azimuth_line_interval_s=1 / 2160.0, params=ResampleParams(),
                      max_offset_px=(1.0, 1.0))[0]
    filt = goldstein(multilook(crossmul(ref, rs), LOOKS), alpha=0.5, psize=32)
    # warm up JIT and FFT plans on a corner so compile time is not counted
    with dask.config.set(scheduler="threads", num_workers=workers):
        goldstein(multilook(crossmul(ref[:256, :256], rs[:256, :256]), LOOKS), 0.5, 32).compute()
    base = psutil.Process().memory_info().rss
    c0 = time.process_time()
    t0 = time.perf_counter()
    with dask.config.set(scheduler="threads", num_workers=workers):
        da.to_zarr(filt, out, component="filtered", overwrite=True, compressors=None)
    return {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
            "baseline_rss_MiB": base / 2**20, "tasks": len(filt.__dask_graph__())}


def thread_scaling_limits(repeat: int = 3) -> dict:
    """What 2 threads can gain on this machine at all: a compute-bound loop and a memory-streaming
    loop (128 MB read + write per thread, numba, GIL released), each run twice serially and once
    on two threads at the same time. Bounds the 2-worker speedup of any stage by its mix."""
    import threading

    import numba

    @numba.njit(nogil=True)
    def compute(n):
        s = 0.0
        for i in range(n):
            s += np.sqrt(i * 1.0001)
        return s

    @numba.njit(nogil=True)
    def stream(a, b):
        for _ in range(5):
            for i in range(a.size):
                b[i] = a[i] * 1.5 + b[i]

    a = [np.ones(16_000_000) for _ in range(2)]
    b = [np.ones(16_000_000) for _ in range(2)]
    compute(10)
    stream(a[0][:10], b[0][:10])
    out = {}
    for name, fn in (("compute", lambda k: compute(100_000_000)), ("memory_stream", lambda k: stream(a[k], b[k]))):
        serial = best(lambda: (fn(0), fn(1)), repeat)

        def both():
            th = [threading.Thread(target=fn, args=(k,)) for k in range(2)]
            for t in th:
                t.start()
            for t in th:
                t.join()

        out[name] = serial / best(both, repeat)
    return out


def bench_scaling(n: int, chunk: int, large: bool, tmp: str) -> dict:
    sizes = [n, 2 * n] + ([4 * n] if large else [])
    res = {"graph": "Zarr in -> resample (12-tap sinc) -> crossmul -> multilook 4x4 -> Goldstein (alpha 0.5, "
                    "32 px) -> Zarr out", "chunk": chunk,
           "scheduler": "dask threaded scheduler, 1 vs 2 threads (one FFT/numba thread per task), fresh spawned "
                        "process per run", "runs": []}
    runs = {}
    for size in sizes:
        src = os.path.join(tmp, f"chain-in-{size}.zarr")
        write_chain_inputs(src, size, chunk)
        # at 1x: 1, 2, 1, 2 threads alternating, the faster of each kept (a shared machine's load drifts)
        for workers in ((1, 2, 1, 2) if size in sizes[:2] else (2,)):
            r, peak = run_spawned(chain_child, src=src, out=os.path.join(tmp, f"chain-out-{size}-{workers}.zarr"),
                                  n=size, chunk=chunk, workers=workers)
            r.update(size=size, scene_factor=(size // n) ** 2, workers=workers, peak_rss_MiB=peak,
                     working_set_MiB=peak - r["baseline_rss_MiB"], Msamples_per_s=_msps(size * size, r["seconds"]),
                     cores_used=r["cpu_seconds"] / r["seconds"], load_1min=load_average()[0])
            if (size, workers) not in runs or r["seconds"] < runs[(size, workers)]["seconds"]:
                runs[(size, workers)] = r
    res["runs"] = list(runs.values())
    # 2-thread speedup at 1x (a 2 x 2 grid of chunks) and at 4x (4 x 4 chunks: enough blocks
    # per stage to keep both threads busy); the goal is read at the larger
    res["speedup_2_workers_by_size"] = {str(size): runs[(size, 1)]["seconds"] / runs[(size, 2)]["seconds"]
                                        for size in sizes[:2]}
    res["speedup_2_workers_size"] = sizes[1]
    res["speedup_2_workers"] = res["speedup_2_workers_by_size"][str(sizes[1])]
    res["machine_2_thread_speedup"] = thread_scaling_limits()
    two = runs[(n, 2)]
    for size in sizes[1:]:
        big = runs[(size, 2)]
        f = (size // n) ** 2
        res[f"scene_{f}x"] = {"time_ratio": big["seconds"] / two["seconds"], "ideal_time_ratio": f,
                              "peak_rss_ratio": big["peak_rss_MiB"] / two["peak_rss_MiB"],
                              "working_set_ratio": big["working_set_MiB"] / max(two["working_set_MiB"], 1e-9)}
    return res


# ------------------------------------------------------------------------------------------
# end to end
# ------------------------------------------------------------------------------------------
def demo_child(out: str, preset: str) -> dict:
    single_thread_env()
    from daskinsar.demo import run_demo

    lines: list[str] = []
    t0 = time.perf_counter()
    fig = run_demo(Path(out), echo=lines.append, preset=preset)
    return {"seconds": time.perf_counter() - t0, "figures": fig, "step_seconds": step_times(lines)}


def simulate_child(out: str, n: int) -> dict:
    single_thread_env()
    from daskinsar.simulate import preset, simulate_pair

    t0 = time.perf_counter()
    simulate_pair(preset("demo", n_azimuth=n, n_range=n), out, chunks=1024, scheduler="threads")
    return {"seconds": time.perf_counter() - t0}


def pipeline_child(sim_dir: str, run_dir: str, chunk: int) -> dict:
    single_thread_env()
    import dask

    from daskinsar.config import RunConfig
    from daskinsar.demo import demo_config
    from daskinsar.pipeline import run

    cfg = demo_config(Path(sim_dir), Path(run_dir))
    cfg["processing"] = {"chunk_azimuth": chunk, "chunk_range": chunk}
    lines: list[str] = []
    t0 = time.perf_counter()
    with dask.config.set(scheduler="threads", num_workers=os.cpu_count()):
        status = run(RunConfig.model_validate(cfg), progress=False, reporter=lines.append)
    return {"seconds": time.perf_counter() - t0, "status": status, "step_seconds": step_times(lines)}


def bench_e2e(demo: str | None, pair: int | None, tmp: str) -> dict:
    res: dict = {}
    if demo:
        if os.path.exists(os.path.join(tmp, "demo")):  # a kept work directory: start from scratch
            shutil.rmtree(os.path.join(tmp, "demo"))
        r, peak = run_spawned(demo_child, out=os.path.join(tmp, "demo"), preset=demo)
        r["peak_rss_MiB"] = peak
        res["demo"] = r
    else:
        res["demo"] = {"status": "skipped (--tiny)"}
    if pair:
        sim, run_dir = os.path.join(tmp, f"pair{pair}", "simulated"), os.path.join(tmp, f"pair{pair}", "run")
        done = os.path.join(tmp, f"pair{pair}", "simulated.json")
        if os.path.exists(done):  # a kept work directory (--workdir): simulate once, process again
            s, speak = json.loads(Path(done).read_text())
        else:
            s, speak = run_spawned(simulate_child, out=sim, n=pair)
            Path(done).write_text(json.dumps([s, speak]))
        if os.path.exists(run_dir):
            shutil.rmtree(run_dir)
        p, ppeak = run_spawned(pipeline_child, sim_dir=sim, run_dir=run_dir, chunk=1024)
        res["pair"] = {"size": [pair, pair], "preset": "demo (scaled)", "simulate_seconds": s["seconds"],
                       "simulate_peak_rss_MiB": speak, "process_seconds": p["seconds"], "process_peak_rss_MiB": ppeak,
                       "step_seconds": p["step_seconds"], "status": p["status"],
                       "Msamples_per_s": _msps(pair * pair, p["seconds"])}
    else:
        res["pair"] = {"status": "not run in this profile (full profile: 4096; --large: 8192)"}
    return res


# ------------------------------------------------------------------------------------------
# goals and report
# ------------------------------------------------------------------------------------------
def goals(rep: dict) -> list[dict]:
    s = rep["sections"]
    out = []

    def goal(name, value, target, ok, note=""):
        status = "not measured" if value is None else ("met" if ok(value) else "not met")
        out.append({"goal": name, "value": value, "target": target, "status": status, "note": note})

    goal("focus within 2x of its FFT floor", _get(s, "focus", "ratio_to_fft_floor"), "<= 2", lambda v: v <= 2,
         "thread-seconds of the focus stage / single-thread FFT floor")
    for label, v in (("resample", _get(s, "resample", "fraction_of_copy_bandwidth")),
                     ("crossmul", _get(s, "crossmul", "no_phase", "fraction_of_copy_bandwidth")),
                     ("crossmul with geometric phase", _get(s, "crossmul", "with_geometric_phase",
                                                            "fraction_of_copy_bandwidth")),
                     ("multilook", _get(s, "multilook", "fraction_of_copy_bandwidth"))):
        goal(f"{label} >= 50% of copy bandwidth", v, ">= 0.5", lambda v: v >= 0.5, "bytes/s, one thread")
    goal("Goldstein >= 4x faster than dolphin", _get(s, "filter", "speedup_vs_dolphin_wall"), ">= 4",
         lambda v: v >= 4, "single thread, smooth=1 (dolphin does not smooth its spectrum)")
    un = s.get("unwrap", {})
    size = un.get("size")
    sp = un.get("speedup_wall")
    cong = un.get("congruent_fraction") or {}
    ok_corr = cong and cong.get("tiled", 0) >= cong.get("single", 1) - 1e-3
    goal("unwrapping 2048^2 >= 4x faster than one SNAPHU call, no loss of correctness",
         None if sp is None else round(sp, 3), ">= 4 and tiled congruent fraction >= single's",
         lambda v: v >= 4 and bool(ok_corr),
         (f"measured at {size}^2, best correct tiling {un.get('tiles')}" +
          ("" if size == 2048 else " (the goal is stated at 2048^2)")) if size else "")
    goal("2-worker speedup >= 1.8", _get(s, "scaling", "speedup_2_workers"), ">= 1.8", lambda v: v >= 1.8,
         "threaded scheduler, 1 vs 2 threads, same graph" + (
             f", at {_get(s, 'scaling', 'speedup_2_workers_size')}^2" if _get(s, "scaling", "speedup_2_workers_size")
             else ""))
    sc = s.get("scaling", {})
    fkeys = sorted((k for k in sc if k.startswith("scene_")), key=lambda k: int(k[6:-1]))
    if fkeys:
        k = fkeys[-1]
        goal("peak worker memory within 20% between 1x and 16x scene", sc[k]["peak_rss_ratio"], "<= 1.2",
             lambda v: v <= 1.2, f"measured 1x vs {k[6:]} (peak process RSS; working set ratio "
                                 f"{sc[k]['working_set_ratio']:.2f})")
    else:
        goal("peak worker memory within 20% between 1x and 16x scene", None, "<= 1.2", lambda v: True)
    return out


def markdown(rep: dict) -> str:
    s = rep["sections"]
    m = rep["machine"]
    L = [f"# daskinsar benchmark report ({rep['profile']})", "",
         f"{rep['started']}, {m.get('cpu_count')} cores ({m.get('cpu_model')}), {m.get('memory_GiB')} GiB, "
         f"commit {m.get('git_commit')}; daskinsar {m.get('daskinsar')}, dask {m.get('dask')}, "
         f"numpy {m.get('numpy')}, pyfftw {m.get('pyfftw')}.",
         f"Load average (1/5/15 min) at start {rep['load_start']}, at end {rep['load_end']}: " + (
             "the machine was shared, so wall times are pessimistic; CPU-time figures are less disturbed."
             if rep["load_start"][0] > 0.5 else
             "the machine was otherwise idle (the load is the benchmark's own 1-2 threads)."),
         f"Total time {rep['seconds']:.0f} s.",
         "", "## Goals (not asserted)", "", "| goal | value | target | status | note |", "| --- | --- | --- | --- | --- |"]
    for g in rep["goals"]:
        L.append(f"| {g['goal']} | {_fmt(g['value'])} | {g['target']} | **{g['status']}** | {g['note']} |")
    L += ["", "## Stage throughput vs limits (one thread)", "",
          "| stage | size | Msamples/s | limit | ratio |", "| --- | --- | --- | --- | --- |"]
    c = s.get("copy", {})
    if "seconds" in c:
        L.append(f"| memory copy (np.copyto) | {c['n']}^2 c64 | {_fmt(c['Msamples_per_s'])} | "
                 f"{_fmt(c['GB_per_s_read_plus_write'])} GB/s read+write | 1 |")
    f = s.get("focus", {})
    if "fft_floor_1thread_s" in f:
        L.append(f"| focus (range-Doppler) | {f['shape'][0]} x {f['shape'][1]} | {_fmt(f['Msamples_per_s_1thread'])} "
                 f"| FFT floor {_fmt(f['fft_floor_Msamples_per_s'])} Ms/s | {_fmt(f['ratio_to_fft_floor'])} x floor"
                 + (f"; {_fmt(f['thread_seconds_over_fft_execute_floor']['1'])} x the plan executions alone"
                    if "thread_seconds_over_fft_execute_floor" in f else "") + " |")
    g = s.get("filter", {})
    if "fft_floor" in g:
        L.append(f"| Goldstein filter | {g['n']}^2 | {_fmt(g['Msamples_per_s_1thread'])} | FFT floor "
                 f"{_fmt(g['samples'] / g['fft_floor']['cpu'] / 1e6)} Ms/s (CPU) | {_fmt(g['ratio_to_fft_floor'])} "
                 "x floor (CPU) |")
    def copy_row(label: str, n, d: dict) -> None:  # a memory-bound stage against the copy bandwidth
        if "fraction_of_copy_bandwidth" in d:
            L.append(f"| {label} | {n}^2 | {_fmt(d['Msamples_per_s'])} | copy | "
                     f"{_fmt(d['fraction_of_copy_bandwidth'])} of copy bandwidth |")

    r = s.get("resample", {})
    copy_row("resample (12-tap sinc)", r.get("size"), r)
    x = s.get("crossmul", {})
    for k in ("no_phase", "with_geometric_phase"):
        copy_row(f"crossmul ({k.replace('_', ' ')})", x.get("n"), x.get(k, {}))
    ml = s.get("multilook", {})
    if "looks" in ml:
        copy_row(f"multilook {ml['looks'][0]}x{ml['looks'][1]}", ml["n"], ml)
    t = s.get("topo", {})
    if "pixels_per_s" in t:
        L.append(f"| topo (rdr2geo + LOS, {t['dem_interpolation']} DEM) | {t['shape'][0]} x {t['shape'][1]} | "
                 f"{_fmt(t['Mpixels_per_s'])} | - | {_fmt(t['pixels_per_s'])} pixels/s |")
    gc = s.get("geocode", {})
    if "daskinsar" in gc:
        L.append(f"| geocode (geo2rdr + bilinear) | {gc['map_shape'][0]} x {gc['map_shape'][1]} out | "
                 f"{_fmt(gc['daskinsar']['output_pixels_per_s'] / 1e6)} | - | "
                 f"{_fmt(gc['daskinsar']['output_pixels_per_s'])} output pixels/s |")
    import bench_spectra as _bs

    L += _bs.markdown_rows(s.get("spectra", {}), _fmt)
    L += ["", "## Peers (same inputs, same run)", "", "| comparison | daskinsar | peer | ratio | agreement |",
          "| --- | --- | --- | --- | --- |"]
    if "dolphin" in g:
        d = g["dolphin"]
        if "wall" in d:
            a = g.get("agreement_vs_dolphin_rad", {})
            L.append(f"| Goldstein {g['n']}^2 vs dolphin {d.get('version')} | {_fmt(g['daskinsar_smooth1']['wall'])} s | "
                     f"{_fmt(d['wall'])} s | {_fmt(g['speedup_vs_dolphin_wall'])}x faster | phase diff median "
                     f"{_fmt(a.get('median'))} rad, p95 {_fmt(a.get('p95'))} rad |")
        else:
            L.append(f"| Goldstein vs dolphin | - | {d.get('error', 'not installed')} | - | - |")
    if "dolphin" in ml:
        d = ml["dolphin"]
        if d.get("status") == "measured":
            L.append(f"| multilook {ml['n']}^2 vs dolphin take_looks | {_fmt(ml['seconds'])} s | {_fmt(d['seconds'])} s "
                     f"| {_fmt(ml.get('speedup_vs_dolphin'))}x faster | max abs diff "
                     f"{_fmt(d.get('max_abs_difference'))} |")
        else:
            L.append(f"| multilook vs dolphin | - | {d.get('status')}: {d.get('detail')} | - | - |")
    u = s.get("unwrap", {})
    if "single_snaphu" in u:
        tiles = u.get("tiles") or ["?", "?"]
        variants = u.get("tiled_variants") or {f"{tiles[0]}x{tiles[1]}": dict(
            u["tiled"], speedup_wall=u["speedup_wall"], speedup_cpu=u["speedup_cpu"])}
        for name, v in variants.items():
            L.append(f"| unwrap {u['size']}^2: tiled {name} (2 threads) vs one SNAPHU call | "
                     f"{_fmt(v['seconds'])} s, {_fmt(v['total_peak_MiB'])} MiB | "
                     f"{_fmt(u['single_snaphu']['seconds'])} s, {_fmt(u['single_snaphu']['total_peak_MiB'])} MiB | "
                     f"{_fmt(v['speedup_wall'])}x faster (CPU {_fmt(v['speedup_cpu'])}x) | congruent fraction "
                     f"{_fmt(v['congruent_fraction'], 5)} vs {_fmt(u['single_snaphu']['congruent_fraction'], 5)} |")
    if "gdal_geoloc" in gc:
        gg = gc["gdal_geoloc"]
        if "seconds" in gg:
            L.append(f"| geocode {gc['radar_shape'][0]}^2 radar -> {gc['map_shape'][0]} x {gc['map_shape'][1]} vs GDAL "
                     f"{gg['gdal']} GEOLOC warp | {_fmt(gc['daskinsar']['seconds'])} s | {_fmt(gg['seconds'])} s | "
                     f"{_fmt(gc['speedup_vs_gdal'])}x | median {_fmt(gc['agreement_m'].get('median'))} m, p95 "
                     f"{_fmt(gc['agreement_m'].get('p95'))} m; vs DEM truth: ours median "
                     f"{_fmt(gc['daskinsar']['abs_error_vs_dem_m'].get('median'))} m, GDAL "
                     f"{_fmt(gg['abs_error_vs_dem_m'].get('median'))} m |")
        else:
            L.append(f"| geocode vs GDAL | - | {gg.get('status')}: {gg.get('detail')} | - | - |")
    sc = s.get("scaling", {})
    if "runs" in sc:
        L += ["", "## Scaling", ""] + ([sc["note"], ""] if sc.get("note") else [])  # e.g. how it was re-measured
        L += [f"Graph: {sc['graph']}; chunks {sc['chunk']}^2; {sc['scheduler']}.", "",
              "| scene | factor | threads | seconds | Msamples/s | cores used (CPU s / wall s) | peak RSS MiB | "
              "working set MiB |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r in sc["runs"]:
            L.append(f"| {r['size']}^2 | {r['scene_factor']}x | {r['workers']} | {_fmt(r['seconds'])} | "
                     f"{_fmt(r['Msamples_per_s'])} | {_fmt(r.get('cores_used'), 2)} | {r['peak_rss_MiB']:.0f} | "
                     f"{r['working_set_MiB']:.0f} |")
        L.append("")
        lim = sc.get("machine_2_thread_speedup")
        if lim:
            L.append(f"What two threads gain on this machine at all (numba loops, GIL released): compute-bound "
                     f"{_fmt(lim['compute'])}x, memory-streaming {_fmt(lim['memory_stream'])}x.")
        by_size = sc.get("speedup_2_workers_by_size") or {}
        L.append(f"2-thread speedup: {_fmt(sc['speedup_2_workers'])}" + (
            " (" + ", ".join(f"{k}^2: {_fmt(v)}" for k, v in by_size.items()) + ")" if by_size else "") + ".")
        for k in sc:
            if k.startswith("scene_"):
                v = sc[k]
                L.append(f"Scene {k[6:]} vs 1x (2 threads): time ratio {_fmt(v['time_ratio'])} (ideal "
                         f"{v['ideal_time_ratio']}), peak RSS ratio {_fmt(v['peak_rss_ratio'])}, working set ratio "
                         f"{_fmt(v['working_set_ratio'])}.")
    e = s.get("e2e", {})
    if e:
        L += ["", "## End to end", ""]
        d = e.get("demo", {})
        if "seconds" in d:
            fig = d.get("figures", {})
            L.append(f"- `run_demo` (preset {rep['sizes'].get('demo')!r}, simulate + process + quicklooks + truth check): "
                     f"{d['seconds']:.0f} s (simulate {fig.get('simulate_s')} s, process {fig.get('process_s')} s), "
                     f"peak RSS {d['peak_rss_MiB']:.0f} MiB; LOS displacement rms error vs truth "
                     f"{_fmt((fig.get('rms_error_m') or float('nan')) * 1e3)} mm; steps (s): {d.get('step_seconds')}")
        else:
            L.append(f"- demo: {d.get('status', d.get('error'))}")
        p = e.get("pair", {})
        if "process_seconds" in p:
            L.append(f"- {p['size'][0]} x {p['size'][1]} pair ({p['preset']}): simulate {p['simulate_seconds']:.0f} s "
                     f"(peak {p['simulate_peak_rss_MiB']:.0f} MiB), pipeline {p['process_seconds']:.0f} s, peak RSS "
                     f"{p['process_peak_rss_MiB']:.0f} MiB; steps (s): {p['step_seconds']}")
        else:
            L.append(f"- N x N pair: {p.get('status', p.get('error'))}")
    if "process_seconds" in s.get("tops", {}):
        L += ["", "## Sentinel-1 IW (TOPS)", "", bench_tops.markdown_row(s["tops"])]
    L += frame_markdown(rep)
    errs = {k: v["error"] for k, v in s.items() if isinstance(v, dict) and "error" in v and k not in ("e2e",)}
    if errs:
        L += ["", "## Sections that failed", ""] + [f"- {k}: `{v.splitlines()[0]}`" for k, v in errs.items()]
    if rep.get("notes"):
        L += ["", "## Notes", ""] + [f"- {n}" for n in rep["notes"]]
    L += ["", "Definitions and how to rerun: benchmarks/README.md. Raw figures: the JSON report.", ""]
    return "\n".join(L)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a few minutes)")
    ap.add_argument("--tiny", action="store_true", help="smallest sizes (seconds; smoke test only)")
    ap.add_argument("--large", action="store_true", help="add the 8192 x 8192 pair and the 16x scaling scene")
    ap.add_argument("--frame", action="store_true", help="--large plus the 16384 x 16384 end-to-end frame (4096, 8192 "
                                                        "and 16384 pairs: the issue-23 figures; about an hour)")
    ap.add_argument("--out", default=str(HERE / "report"), help="report path prefix (writes .md and .json)")
    ap.add_argument("--only", default="", help=f"comma-separated sections of {','.join(SECTIONS)}")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a size of the profile")
    ap.add_argument("--dolphin-python", default=DOLPHIN_PYTHON)
    ap.add_argument("--workdir", help="keep inputs here instead of a temporary folder; a simulated end-to-end pair "
                                      "found there is reused (its simulation time as first measured)")
    ap.add_argument("--render", metavar="JSON", help="only rewrite the Markdown report from a JSON report")
    args = ap.parse_args(argv)
    if args.render:
        rep = json.loads(Path(args.render).read_text())
        rep["goals"] = goals(rep)
        rep["frame_goals"] = frame_goals(rep)
        Path(args.render).with_suffix(".md").write_text(markdown(rep))
        return rep
    profile = "tiny" if args.tiny else "quick" if args.quick else "full"
    sizes = dict(PROFILES[profile])
    if args.large or args.frame:
        sizes["pair"] = None  # the frame section runs the large pairs (with per-step figures)
    frame_sizes = FRAME_SIZES["frame" if args.frame else "large" if args.large else profile]
    for kv in args.set:
        k, v = kv.split("=", 1)
        if k not in sizes:
            ap.error(f"--set: unknown key {k!r}; keys: {sorted(sizes)}")
        sizes[k] = None if v.lower() == "none" else (tuple(int(a) for a in v.split("x")) if "x" in v else
                                                      (int(v) if v.isdigit() else v))
    only = [x for x in args.only.split(",") if x] or list(SECTIONS)
    bad = set(only) - set(SECTIONS)
    if bad:
        ap.error(f"--only: unknown sections {sorted(bad)}")
    large = args.large or args.frame
    rep: dict = {"profile": profile + (" + frame" if args.frame else " + large" if args.large else ""), "sizes": sizes,
                 "frame_sizes": list(frame_sizes),
                 "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "load_start": load_average(),
                 "machine": machine_info(), "sections": {}}
    t_start = time.perf_counter()
    rpt, full = sizes["repeat"], profile == "full"
    with contextlib.ExitStack() as stack:
        if args.workdir:
            tmp = args.workdir
            os.makedirs(tmp, exist_ok=True)
        else:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="daskinsar-bench-"))
        copy = copy_bandwidth(sizes["copy"], rpt)
        rep["sections"]["copy"] = copy
        jobs = {
            "focus": lambda: bench_focus(sizes["focus"], rpt, full),
            "filter": lambda: bench_filter(sizes["filter"], rpt, args.dolphin_python),
            "resample": lambda: bench_resample(sizes["resample"], copy),
            "crossmul": lambda: bench_crossmul(sizes["crossmul"], rpt, copy),
            "multilook": lambda: bench_multilook(sizes["multilook"], rpt, copy, args.dolphin_python),
            "topo": lambda: bench_topo(sizes["topo"], rpt),
            "geocode": lambda: bench_geocode(sizes["geocode"], rpt),
            "spectra": lambda: bench_spectra(sizes["spectra"], rpt),
            "unwrap": lambda: bench_unwrap(sizes["unwrap"]),
            "scaling": lambda: bench_scaling(sizes["chain"], sizes["chain_chunk"], large, tmp),
            "e2e": lambda: bench_e2e(sizes["demo"], sizes["pair"], tmp),
            "tops": lambda: bench_tops.bench_tops(*sizes["tops"], tmp),  # a simulated IW subswath pair (bursts, samples)
            "frame": lambda: bench_frame.measure(frame_sizes, os.path.join(tmp, "frame"),
                                                 echo=lambda r: print(f"  {r.get('size')}^2: "
                                                                      f"{_get(r, 'pipeline', 'seconds')} s", flush=True)),
        }
        for name in SECTIONS[1:]:
            if name not in only:
                continue
            t0 = time.perf_counter()
            print(f"[{time.strftime('%H:%M:%S')}] {name} (load {load_average()[0]}) ...", flush=True)
            try:
                rep["sections"][name] = jobs[name]()
            except Exception as e:  # noqa: BLE001 - one failing section must not lose the others
                rep["sections"][name] = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
                print(f"  failed: {type(e).__name__}: {e}", flush=True)
            rep["sections"][name]["section_seconds"] = time.perf_counter() - t0
    rep["load_end"] = load_average()
    rep["seconds"] = time.perf_counter() - t_start
    rep["goals"] = goals(rep)
    rep["frame_goals"] = frame_goals(rep)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(rep, indent=2, default=_json_default))
    md = markdown(rep)
    out.with_suffix(".md").write_text(md)
    print()
    for g in rep["goals"] + rep["frame_goals"]:
        print(f"{g['status']:>12}  {g['goal']}: {_fmt(g['value'])} (target {g['target']})")
    print(f"\nwrote {out.with_suffix('.md')} and {out.with_suffix('.json')}")
    return rep


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (set, tuple)):
        return list(o)
    return str(o)


if __name__ == "__main__":
    main()
