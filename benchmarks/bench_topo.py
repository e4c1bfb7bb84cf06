"""topo and the geocoding lookup: speed per thread, and the error the lattice interpolation accepts,
against the exact per-pixel solvers on the same pixels. Not a test.

    python benchmarks/bench_topo.py [--size 512]

topo: :func:`daskinsar.stages.topo.topo_kernel` (the lattice method of
:mod:`daskinsar.geometry.rdr2geo_grid`), without and with the secondary geometry the pipeline computes,
against rdr2geo + LOS + geo2rdr solved exactly for every pixel (the solver the lattice nodes use).
geocode: the lattice lookup of :mod:`daskinsar.geometry.map_lookup` against geo2rdr of every output pixel,
and the sampling of one more product from a computed lookup (what each product after the first costs).
One thread each, the simulator's demo geometry (C band, a volcano-like cone and relief: 1500 m).
"""

from __future__ import annotations

import argparse
import functools
import json
import time

import numpy as np


@functools.lru_cache(maxsize=2)
def geometry(n: int):
    """(config, pair model, azimuth times, slant ranges) of an n x n block of the demo scene."""
    from daskinsar.simulate import preset
    from daskinsar.simulate.slc import build_pair_model

    cfg = preset("demo", n_azimuth=max(n, 64), n_range=max(n, 64))
    m = build_pair_model(cfg)
    return cfg, m, m.ref_grid.azimuth_time()[:n], m.ref_grid.slant_range()[:n]


def _best(fn, repeat: int):
    fn()
    t_min, out = float("inf"), None
    for _ in range(max(1, repeat)):
        t0 = time.thread_time()
        out = fn()
        t_min = min(t_min, time.thread_time() - t0)
    return t_min, out


def exact_topo(t, r, *, orbit, wavelength_m, look_side, dem, secondary=None):
    """Every pixel solved exactly (rdr2geo_ecef, los_angles, geo2rdr): the fields of topo_kernel."""
    from daskinsar.geometry.geo2rdr import geo2rdr
    from daskinsar.geometry.los import los_angles
    from daskinsar.geometry.rdr2geo import rdr2geo_ecef

    T, R = np.meshgrid(t, r, indexing="ij")
    xyz, lon, lat, hgt, pos, _ = rdr2geo_ecef(T, R, orbit, wavelength_m=wavelength_m, look_side=look_side, dem=dem)
    inc, hdg = los_angles(xyz, pos)
    fields = [lon, lat, hgt, inc, hdg]
    if secondary is not None:
        t2, r2 = geo2rdr(xyz, secondary.orbit, wavelength_m=wavelength_m, t_guess_s=secondary.first_azimuth_time_s,
                         check_coverage=False)
        fields += [(t2 - secondary.first_azimuth_time_s) / secondary.azimuth_line_interval_s - np.arange(len(t))[:, None],
                   (r2 - secondary.first_slant_range_m) / secondary.range_spacing_m - np.arange(len(r))[None, :],
                   -4.0 * np.pi / wavelength_m * (R - r2)]
    return np.stack(fields)


def measure_topo(n: int = 512, repeat: int = 3) -> dict:
    from daskinsar.stages.topo import COREG_FIELDS, TOPO_FIELDS, SecondaryGeometry, topo_kernel

    cfg, m, t, r = geometry(n)
    sg = m.sec_grid
    sec = SecondaryGeometry(m.sec_orbit, float(sg.azimuth_time()[0]), sg.dt_s, float(sg.slant_range()[0]), sg.dr_m)
    kw = dict(orbit=m.ref_orbit, wavelength_m=cfg.wavelength_m, look_side=cfg.look_side, dem=m.dem)
    res: dict = {"shape": [len(t), len(r)], "dem_interpolation": m.dem.method,
                 "dem_relief_m": float(np.ptp(m.dem.heights_m))}
    s_plain, _ = _best(lambda: topo_kernel(t, r, **kw), repeat)
    s_sec, ours = _best(lambda: topo_kernel(t, r, secondary=sec, **kw), repeat)
    s_exact, exact = _best(lambda: exact_topo(t, r, secondary=sec, **kw), max(1, repeat - 2))
    # the same offsets convention as topo_grid (the row/column index subtracted)
    ours = ours.copy()
    ours[5] -= np.arange(len(t))[:, None]
    ours[6] -= np.arange(len(r))[None, :]
    npx = len(t) * len(r)
    res.update(seconds=s_plain, pixels_per_s=npx / s_plain, Mpixels_per_s=npx / s_plain / 1e6,
               with_secondary={"seconds": s_sec, "Mpixels_per_s": npx / s_sec / 1e6},
               exact_per_pixel={"seconds": s_exact, "Mpixels_per_s": npx / s_exact / 1e6},
               speedup_vs_exact=s_exact / s_sec)
    units = {"lon": "deg", "lat": "deg", "hgt": "m", "incidence": "deg", "heading": "deg", "azimuth_offset": "pixel",
             "range_offset": "pixel", "geometric_phase": "rad"}
    err = {}
    for k, name in enumerate(TOPO_FIELDS + COREG_FIELDS):
        d = np.abs(ours[k] - exact[k])
        if name == "heading":
            d = np.abs((ours[k] - exact[k] + 180.0) % 360.0 - 180.0)
        d = d[np.isfinite(d)]
        err[name] = {"max": float(d.max()), "mean": float(d.mean()), "units": units[name]}
    res["error_vs_exact"] = err
    return res


def measure_geocode_lookup(n: int = 512, repeat: int = 3) -> dict:
    """Lattice lookup vs geo2rdr of every output pixel, and the sampling cost of a further product."""
    from daskinsar.geometry.grid import RadarGrid, map_grid_for
    from daskinsar.geometry.map_lookup import levels_for
    from daskinsar.stages.geocode import lattice_lookup_tile_kernel, lookup_tile_kernel, sample_tile_kernel
    from daskinsar.stages.topo import topo_kernel

    cfg, m, t, r = geometry(n)
    topo = topo_kernel(t, r, orbit=m.ref_orbit, wavelength_m=cfg.wavelength_m, look_side=cfg.look_side, dem=m.dem)
    lon, lat = topo[0], topo[1]
    posting = float(np.nanmedian(np.abs(np.diff(lat, axis=0))))
    posting = min(posting, float(np.nanmedian(np.abs(np.diff(lon, axis=1)))) * np.cos(np.radians(np.nanmean(lat))))
    grid = map_grid_for(lon, lat, posting)
    radar = RadarGrid.from_coords(t, r)
    kw = dict(dem=m.dem, orbit=m.ref_orbit, wavelength_m=cfg.wavelength_m, t_guess_s=float(t[len(t) // 2]))
    rows, cols = slice(0, grid.shape[0]), slice(0, grid.shape[1])
    glon, glat = grid.lonlat(rows, cols)
    levels = levels_for(m.dem)
    s_lat, (row, col) = _best(lambda: lattice_lookup_tile_kernel(radar, grid, rows, cols, levels=levels, **kw), repeat)
    s_ex, (row_x, col_x) = _best(lambda: lookup_tile_kernel(radar, glon, glat, **kw), max(1, repeat - 2))
    product = topo[2].astype(np.float32)
    s_smp, _ = _best(lambda: sample_tile_kernel(product, (0, 0), row, col), repeat)
    cplx = (product * np.exp(1j * topo[2] / 100.0)).astype(np.complex64)
    s_cpx, _ = _best(lambda: sample_tile_kernel(cplx, (0, 0), row, col), repeat)
    npx = grid.shape[0] * grid.shape[1]
    both = np.isfinite(row) & np.isfinite(row_x)
    return {"radar_shape": [len(t), len(r)], "map_shape": list(grid.shape),
            "lookup": {"seconds": s_lat, "Mpixels_per_s": npx / s_lat / 1e6},
            "lookup_exact_per_pixel": {"seconds": s_ex, "Mpixels_per_s": npx / s_ex / 1e6},
            "further_product_bilinear_float32": {"seconds": s_smp, "Mpixels_per_s": npx / s_smp / 1e6},
            "further_product_nearest_complex64": {"seconds": s_cpx, "Mpixels_per_s": npx / s_cpx / 1e6},
            "first_product_Mpixels_per_s": npx / (s_lat + s_smp) / 1e6,
            "error_vs_exact_px": {"row_max": float(np.abs(row - row_x)[both].max()),
                                  "col_max": float(np.abs(col - col_x)[both].max()),
                                  "valid_lattice": int(np.isfinite(row).sum()), "valid_exact": int(np.isfinite(row_x).sum())}}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=512)
    a = ap.parse_args(argv)
    print(json.dumps({"topo": measure_topo(a.size), "geocode": measure_geocode_lookup(a.size)}, indent=1))


if __name__ == "__main__":
    main()
