#!/usr/bin/env python
"""Build daskinsar's compact geoid grids (daskinsar/data/*.geoid) from PROJ's full grids.

Dev tool, not run by the package. The full grids come from PROJ's data (Debian:
``apt-get install -y proj-data`` gives ``/usr/share/proj/egm96_15.gtx``; PROJ's CDN names
are ``us_nga_egm96_15.tif`` and ``us_nga_egm08_25.tif``). EGM96 and EGM2008 are public
domain (NGA).

For each model found: the node values are quantised to ``--quantum`` m (default 1 mm),
optionally decimated (``--stride`` nodes, for the 2.5' EGM2008 grid to fit ~1.5 MiB), and
written with :func:`daskinsar.geometry.geoid.write_compact`. The error of bilinear
interpolation on the compact grid against bilinear interpolation on the full grid is then
measured at random points uniform on the sphere (globe) and at those of them on land
(``global-land-mask`` package, if installed), and recorded in the file's header::

    python tools/make_geoid_grids.py                 # every model whose full grid is found
    python tools/make_geoid_grids.py --model EGM2008 --grid /path/us_nga_egm08_25.tif --stride 4
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from daskinsar.geometry.geoid import (COMPACT_NAMES, _open_proj_grid, find_proj_grid, read_compact,
                                      write_compact)

DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "daskinsar", "data")
BUDGET_BYTES = int(1.5 * 2**20)


def _land(lat: np.ndarray, lon: np.ndarray) -> np.ndarray | None:
    try:
        from global_land_mask import globe
    except ImportError:
        return None
    return globe.is_land(lat, lon)


def measure(compact, full, n: int = 2_000_000, seed: int = 0) -> dict:
    """max / rms of (compact - full) bilinear undulations (m) over the globe and over land."""
    rng = np.random.default_rng(seed)
    lat = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n)))  # uniform on the sphere
    lon = rng.uniform(-180.0, 180.0, n)
    d = compact.undulation(lon, lat) - full.undulation(lon, lat)
    out = {"points": n, "globe_max_m": float(np.abs(d).max()), "globe_rms_m": float(np.sqrt(np.mean(d**2)))}
    land = _land(lat, np.where(lon >= 180.0, lon - 360.0, lon))
    if land is not None:
        dl = d[land]
        out.update(land_points=int(land.sum()), land_max_m=float(np.abs(dl).max()),
                   land_rms_m=float(np.sqrt(np.mean(dl**2))))
    return out


def build(model: str, grid_path: str, stride: int, quantum_m: float, out_dir: str, points: int = 2_000_000) -> dict:
    full = _open_proj_grid(model, grid_path)
    import rasterio

    with rasterio.open(grid_path) as src:
        values = src.read(1).astype(np.float64)
        nodata = src.nodata
    if nodata is not None and np.any(values == nodata):
        raise SystemExit(f"{grid_path}: nodata nodes in a global geoid grid")
    values = values[::stride, ::stride]
    header = {"model": model, "lat0_deg": full.lat0_deg, "dlat_deg": full.dlat_deg * stride,
              "lon0_deg": full.lon0_deg, "dlon_deg": full.dlon_deg * stride,
              "made_from": os.path.basename(grid_path), "stride": stride}
    if stride > 1 and (full.shape[0] - 1) % stride:
        raise SystemExit(f"stride {stride} does not keep the last latitude row of {full.shape[0]}")
    out = os.path.join(out_dir, COMPACT_NAMES[model])
    write_compact(out, values, header, quantum_m)
    stats = measure(read_compact(out), full, n=points)
    header["error_vs_source"] = stats
    size = write_compact(out, values, header, quantum_m)
    stats["bytes"] = size
    if size > BUDGET_BYTES:
        print(f"warning: {out} is {size / 2**20:.2f} MiB (> 1.5 MiB): use a larger --stride or --quantum",
              file=sys.stderr)
    return {"file": out, **stats}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=("EGM96", "EGM2008"), action="append")
    ap.add_argument("--grid", help="the full grid (default: found where PROJ looks)")
    ap.add_argument("--stride", type=int, help="keep every n-th node (default 1 for EGM96, 4 for EGM2008)")
    ap.add_argument("--quantum", type=float, default=1e-3, help="quantisation of node values (m)")
    ap.add_argument("--out-dir", default=DATA_DIR)
    a = ap.parse_args(argv)
    models = a.model or ["EGM96", "EGM2008"]
    done = 0
    for model in models:
        path = a.grid or find_proj_grid(model)
        if path is None:
            print(f"{model}: no full grid found (PROJ's names: us_nga_egm96_15.tif / egm96_15.gtx, "
                  "us_nga_egm08_25.tif / egm08_25.gtx); skipped", file=sys.stderr)
            continue
        stride = a.stride or (1 if model == "EGM96" else 4)
        print(json.dumps({model: build(model, path, stride, a.quantum, a.out_dir)}, indent=1))
        done += 1
    return 0 if done else 1


if __name__ == "__main__":
    raise SystemExit(main())
