"""The frame goals (issue 23: a full frame on a laptop) and their part of the Markdown report.

Read from the sections of a ``run.py`` report: ``frame`` (:mod:`bench_frame`), ``topo`` and ``geocode``
(:mod:`bench_topo`), ``resample`` (its arithmetic floor), ``focus``, ``unwrap`` (with the pipeline's default
tiling and the peers). Nothing here measures; goals are reported, never asserted.
"""

from __future__ import annotations

from _common import fmt as _fmt
from _common import get as _get

#: the simulation time of the 8192^2 pair in the report that issue 23 starts from (s)
SIMULATE_8192_BEFORE_S = 938.0
#: the frame's end-to-end goal: 16384^2 in 8 minutes on 2 cores, at most 3 GiB
FRAME_SIZE = 16384
FRAME_SECONDS = 480.0
FRAME_PEAK_MIB = 3 * 1024.0


def _inputs_read(r) -> str:
    return f"{r['GiB']:.1f} GiB in {r['seconds']:.0f} s ({r['MB_per_s']:.0f} MB/s)" if r else "-"


def default_list_cost(pp: dict | None) -> tuple[float | None, str]:
    """Geocoding the default list (``GeocodeParams().products`` plus the geometry fields) over geocoding one
    float product, from the measured seconds of one tile: one shared lookup, then each product sampled
    (real products bilinear, complex ones nearest), as the geocode stage does."""
    if not pp:
        return None, ""
    from daskinsar.products import GEOMETRY_FIELDS, PRODUCTS, resolve_product_name
    from daskinsar.stages.geocode import GeocodeParams

    names = GeocodeParams().products
    complex_n = sum(PRODUCTS[resolve_product_name(n)].dtype.startswith("complex") for n in names)
    real_n = len(names) - complex_n + len(GEOMETRY_FIELDS)
    lookup = pp["lookup"]["seconds"]
    real_s, cplx_s = pp["further_product_bilinear_float32"]["seconds"], pp["further_product_nearest_complex64"]["seconds"]
    ratio = (lookup + real_n * real_s + complex_n * cplx_s) / (lookup + real_s)
    return ratio, (f"{real_n} real + {complex_n} complex products on one lookup "
                   f"({lookup:.3g} s + {real_n} x {real_s:.3g} s + {complex_n} x {cplx_s:.3g} s) vs one real product")


def frame_goals(rep: dict) -> list[dict]:
    s = rep["sections"]
    out: list[dict] = []

    def goal(name, value, target, ok, note=""):
        status = "not measured" if value is None else ("met" if ok(value) else "not met")
        out.append({"goal": name, "value": value, "target": target, "status": status, "note": note})

    runs = _get(s, "frame", "runs") or {}
    big = runs.get(str(FRAME_SIZE), {})
    p = big.get("pipeline", {})
    goal(f"end to end {FRAME_SIZE}^2 in <= {FRAME_SECONDS:.0f} s on 2 cores", p.get("seconds"),
         f"<= {FRAME_SECONDS:.0f} s", lambda v: v <= FRAME_SECONDS, "SLCs to geocoded unwrapped products, wall")
    goal(f"end to end {FRAME_SIZE}^2 peak memory <= 3 GiB", p.get("vmhwm_MiB"), "<= 3072 MiB",
         lambda v: v <= FRAME_PEAK_MIB and (p.get("sampled_peak_with_children_MiB") or 0) <= FRAME_PEAK_MIB,
         "VmHWM of the pipeline process; with SNAPHU children (sampled): "
         f"{_fmt(p.get('sampled_peak_with_children_MiB'))} MiB")
    goal("end to end keeps both cores busy (CPU s / wall s >= 1.8)", p.get("cores_used"), ">= 1.8",
         lambda v: v >= 1.8, f"whole {FRAME_SIZE}^2 run; per step in the frame table")
    g = _get(s, "frame", "growth")
    goal("end to end time linear in size (s per Mpixel, largest / smallest <= 1.15)",
         None if not g else g["s_per_Mpixel_ratio"], "<= 1.15", lambda v: v <= 1.15,
         "" if not g else f"{g['from']}^2 -> {g['to']}^2")
    goal("topo >= 2 Mpixel/s per thread", _get(s, "topo", "Mpixels_per_s"), ">= 2", lambda v: v >= 2,
         "topo_kernel, one thread; with the secondary geometry: "
         f"{_fmt(_get(s, 'topo', 'with_secondary', 'Mpixels_per_s'))} Mpixel/s")
    goal("geocode >= 3 Mpixel/s per thread per product after the first",
         _get(s, "geocode", "per_product", "further_product_bilinear_float32", "Mpixels_per_s"), ">= 3",
         lambda v: v >= 3, "bilinear float32 from a computed lookup; the first product (lookup + sampling): "
                           f"{_fmt(_get(s, 'geocode', 'per_product', 'first_product_Mpixels_per_s'))} Mpixel/s")
    ratio, detail = default_list_cost(_get(s, "geocode", "per_product"))
    goal("geocoding the default product list <= 1.5x one product (issue 16)", ratio, "<= 1.5", lambda v: v <= 1.5,
         detail)
    goal("resample >= 50% of its arithmetic floor", _get(s, "resample", "fraction_of_arithmetic_floor"), ">= 0.5",
         lambda v: v >= 0.5, f"floor {_fmt(_get(s, 'resample', 'arithmetic_floor_msamples_per_s'))} Ms/s = FMA rate "
                             f"{_fmt((_get(s, 'resample', 'fma_per_s_1thread') or 0) / 1e9)} G/s / "
                             f"{_get(s, 'resample', 'fma_per_output_sample')} FMA per sample")
    goal("focus within 2x of its FFT floor", _get(s, "focus", "ratio_to_fft_floor"), "<= 2", lambda v: v <= 2)
    un = s.get("unwrap", {})
    d = _get(un, "default_tiling")
    single = _get(un, "single_snaphu")
    sp = None if not (d and single and "seconds" in d) else single["seconds"] / d["seconds"]
    ok_c = bool(d and single and d.get("congruent_fraction", 0) >= single["congruent_fraction"] - 1e-3)
    goal(f"unwrap: the default tiling at {un.get('size')}^2 >= 4x faster than one SNAPHU call, equal correctness", sp,
         ">= 4", lambda v: v >= 4 and ok_c, "" if not d else f"default tiles {d.get('tiles')}")
    sim = _get(runs.get("8192", {}), "simulate", "seconds")
    goal("simulate the 8192^2 pair >= 3x faster (938 s before)", None if sim is None else SIMULATE_8192_BEFORE_S / sim,
         ">= 3", lambda v: v >= 3, "" if sim is None else f"{sim:.0f} s")
    return out


def frame_markdown(rep: dict) -> list[str]:
    """The frame goals table, the end-to-end runs by size and the per-step table of the largest run."""
    s = rep["sections"]
    L = ["", "## Frame goals (issue 23; not asserted)", "", "| goal | value | target | status | note |",
         "| --- | --- | --- | --- | --- |"]
    for g in rep.get("frame_goals") or frame_goals(rep):
        L.append(f"| {g['goal']} | {_fmt(g['value'])} | {g['target']} | **{g['status']}** | {g['note']} |")
    fr = s.get("frame", {})
    runs = fr.get("runs") or {}
    if runs:
        L += ["", "## End to end at frame size", "",
              "Simulated pairs (the demo preset scaled), SLCs to geocoded unwrapped products with the demo "
              "configuration (4 x 4 looks, Goldstein 0.5, SNAPHU defo, five geocoded products and their GeoTIFFs; "
              "every other setting at its default, chunks 1024^2), threaded scheduler on 2 threads; simulation and "
              "pipeline each in a fresh spawned process. Before each run its inputs (the two SLC stores and the DEM) "
              "are read once, so every size starts with them in the page cache; that read (from disk when they were "
              "not cached) is the last column, not part of the pipeline time.", "",
              "| size | simulate s (cores used) | pipeline s | CPU s | cores used | Mpixel per core-s | VmHWM MiB | "
              "peak with children MiB | load at start | inputs read before |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for k, r in runs.items():
            if "pipeline" not in r:
                L.append(f"| {k}^2 | {r.get('error')} | | | | | | | | |")
                continue
            p, sm = r["pipeline"], r["simulate"]
            L.append(f"| {k}^2 | {sm['seconds']:.0f} ({_fmt(sm.get('cores_used'), 2)}) | {p['seconds']:.0f} | "
                     f"{p['cpu_seconds']:.0f} | {_fmt(p['cores_used'], 2)} | {_fmt(r['pipeline_Mpixel_per_core_s'])} | "
                     f"{_fmt(p.get('vmhwm_MiB'), 4)} | {_fmt(p.get('sampled_peak_with_children_MiB'), 4)} | "
                     f"{p.get('load_start')} | {_inputs_read(p.get('inputs_read'))} |")
        g = fr.get("growth")
        if g:
            L.append("")
            L.append(f"From {g['from']}^2 to {g['to']}^2 ({g['pixel_ratio']:.0f}x the pixels): time x"
                     f"{_fmt(g['time_ratio'])}, seconds per Mpixel x{_fmt(g['s_per_Mpixel_ratio'])}, peak memory "
                     f"x{_fmt(g['peak_ratio'])}.")
        done = [k for k, r in runs.items() if "pipeline" in r]
        if done:
            k = max(done, key=int)
            steps = runs[k]["pipeline"]["steps"]
            L += ["", f"Per step, {k}^2:", "", "| step | wall s | CPU s | cores used | share of the run |",
                  "| --- | --- | --- | --- | --- |"]
            total = runs[k]["pipeline"]["seconds"]
            for name, st in steps.items():
                L.append(f"| {name} | {st['seconds']:.1f} | {st['cpu_seconds']:.1f} | {_fmt(st['cores_used'], 2)} | "
                         f"{100 * st['wall_since_last_s'] / total:.0f}% |")
    t = s.get("topo", {})
    if "error_vs_exact" in t:
        L += ["", "## Accepted error of the lattice geometry (against the exact per-pixel solvers)", "",
              f"topo, {t['shape'][0]} x {t['shape'][1]} pixels of the demo scene ({t['dem_interpolation']} DEM, "
              f"{t['dem_relief_m']:.0f} m of relief): lattice {_fmt(_get(t, 'with_secondary', 'Mpixels_per_s'))} "
              f"Mpixel/s with the secondary geometry vs exact {_fmt(_get(t, 'exact_per_pixel', 'Mpixels_per_s'))} "
              "Mpixel/s (one thread).", "", "| field | max error | mean error | units |", "| --- | --- | --- | --- |"]
        for name, e in t["error_vs_exact"].items():
            L.append(f"| {name} | {_fmt(e['max'])} | {_fmt(e['mean'])} | {e['units']} |")
    pp = _get(s, "geocode", "per_product")
    if pp:
        e = pp["error_vs_exact_px"]
        L += ["", f"geocode lookup, {pp['map_shape'][0]} x {pp['map_shape'][1]} output pixels: lattice "
                  f"{_fmt(pp['lookup']['Mpixels_per_s'])} Mpixel/s vs geo2rdr of every pixel "
                  f"{_fmt(pp['lookup_exact_per_pixel']['Mpixels_per_s'])} Mpixel/s; max |d row| {_fmt(e['row_max'])}, "
                  f"max |d col| {_fmt(e['col_max'])} radar pixels; each further product: bilinear float32 "
                  f"{_fmt(pp['further_product_bilinear_float32']['Mpixels_per_s'])} Mpixel/s, nearest complex64 "
                  f"{_fmt(pp['further_product_nearest_complex64']['Mpixels_per_s'])} Mpixel/s."]
    un = s.get("unwrap", {})
    peers = [(k, un[k]) for k in ("default_tiling", "whirlwind") if isinstance(un.get(k), dict)]
    if peers and "single_snaphu" in un:
        sn = un["single_snaphu"]
        L += ["", f"## Unwrapping peers, {un['size']}^2, same interferogram", "",
              "| unwrapper | seconds | CPU s | peak MiB (with children) | congruent fraction |",
              "| --- | --- | --- | --- | --- |",
              f"| one SNAPHU call | {_fmt(sn['seconds'])} | {_fmt(sn['cpu_seconds'])} | {_fmt(sn['total_peak_MiB'])} | "
              f"{_fmt(sn['congruent_fraction'], 5)} |"]
        for name, v in [("daskinsar tiled " + k, x) for k, x in (un.get("tiled_variants") or {}).items()] + peers:
            if "seconds" in v:
                label = {"default_tiling": f"daskinsar, default tiling {v.get('tiles')}",
                         "whirlwind": f"whirlwind-insar {v.get('version', '')}"}.get(name, name)
                L.append(f"| {label} | {_fmt(v['seconds'])} | {_fmt(v['cpu_seconds'])} | {_fmt(v['total_peak_MiB'])} "
                         f"| {_fmt(v['congruent_fraction'], 5)} |")
            else:
                L.append(f"| {name} | {v.get('error', '-')} | | | |")
    return L
