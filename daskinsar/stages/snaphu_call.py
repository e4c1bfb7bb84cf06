"""One call of the SNAPHU executable that ships with the snaphu-py package, with every option daskinsar uses.

``snaphu.unwrap`` (snaphu-py) writes SNAPHU's configuration itself and has no initialise-only mode and
no ``DEFOMAX_CYCLE``; ISCE's two unwrappers need both:

- ISCE ``snaphu``: statistical cost DEFO, MST initialisation, ``DEFOMAX_CYCLE 4``, full optimisation;
- ISCE ``snaphu_mcf``: statistical cost SMOOTH, MCF initialisation, ``DEFOMAX_CYCLE 2``, initialisation
  only (SNAPHU's ``-i``: the MCF solution is the result, no statistical-cost optimisation).

SNAPHU grows no connected components in initialise-only mode, so they are grown afterwards from the
result with ``snaphu.grow_conncomps`` (the same statistical segmentation, the phase left as it is).

Inputs and outputs are the raw binary files SNAPHU reads and writes (complex64 interferogram, float32
coherence and unwrapped phase in rad, uint32 labels, uint8 mask: 1 valid), in a private scratch folder the
caller makes and removes. SNAPHU's messages go to a log that is read back only when it fails.
"""

from __future__ import annotations

import importlib.resources
import os
import subprocess

import numpy as np
import snaphu

__all__ = ["snaphu_unwrap"]


def snaphu_unwrap(igram: np.ndarray, corr: np.ndarray, mask: np.ndarray | None, *, nlooks: float, cost: str,
                  init: str, init_only: bool, defo_max_cycles: float, min_conncomp_frac: float,
                  scratch: str) -> tuple[np.ndarray, np.ndarray]:
    """Unwrapped phase (float32, rad) and connected-component labels (uint32, 0: none) of one array.

    ``igram`` complex64 (rows, cols), invalid pixels 0; ``corr`` float32 coherence 0..1; ``mask`` uint8
    (1: valid) or None; ``nlooks`` SNAPHU's NCORRLOOKS; ``cost`` "defo" | "smooth"; ``init`` "mcf" |
    "mst"; ``init_only`` stop after the initialisation; ``defo_max_cycles`` SNAPHU's DEFOMAX_CYCLE (largest
    phase discontinuity, cycles, the defo cost allows); ``scratch`` an existing private folder.
    """
    rows, cols = igram.shape
    files = {k: os.path.join(scratch, k) for k in ("igram.c8", "corr.f4", "mask.u1", "unw.f4", "conncomp.u4",
                                                   "snaphu.conf", "snaphu.log")}
    np.ascontiguousarray(igram, dtype=np.complex64).tofile(files["igram.c8"])
    np.ascontiguousarray(corr, dtype=np.float32).tofile(files["corr.f4"])
    lines = [f"INFILE {files['igram.c8']}", "INFILEFORMAT COMPLEX_DATA", f"CORRFILE {files['corr.f4']}",
             "CORRFILEFORMAT FLOAT_DATA", f"OUTFILE {files['unw.f4']}", "OUTFILEFORMAT FLOAT_DATA",
             f"LINELENGTH {cols}", f"NCORRLOOKS {float(nlooks)!r}", f"STATCOSTMODE {cost.upper()}",
             f"INITMETHOD {init.upper()}", f"DEFOMAX_CYCLE {float(defo_max_cycles)!r}",
             f"MINCONNCOMPFRAC {float(min_conncomp_frac)!r}"]
    if mask is not None:
        np.ascontiguousarray(mask, dtype=np.uint8).tofile(files["mask.u1"])
        lines.append(f"BYTEMASKFILE {files['mask.u1']}")
    if init_only:
        lines.append("INITONLY TRUE")
    else:
        lines += [f"CONNCOMPFILE {files['conncomp.u4']}", "CONNCOMPOUTTYPE UINT"]
    with open(files["snaphu.conf"], "w") as f:
        f.write("\n".join(lines) + "\n")
    with importlib.resources.as_file(importlib.resources.files("snaphu") / "snaphu") as exe, \
            open(files["snaphu.log"], "w") as log:
        done = subprocess.run([os.fspath(exe), "-f", files["snaphu.conf"]], stdout=log, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        with open(files["snaphu.log"]) as f:
            tail = " ".join(f.read().split()[-40:])
        raise RuntimeError(f"SNAPHU exited with status {done.returncode}: {tail}")
    unw = np.fromfile(files["unw.f4"], dtype=np.float32).reshape(rows, cols)
    if init_only:
        conncomp = snaphu.grow_conncomps(unw, corr, nlooks=float(nlooks), cost=cost, mag=np.abs(igram),
                                         mask=None if mask is None else mask.astype(bool),
                                         min_conncomp_frac=float(min_conncomp_frac), scratchdir=scratch)
        return unw, np.asarray(conncomp, dtype=np.uint32)
    return unw, np.fromfile(files["conncomp.u4"], dtype=np.uint32).reshape(rows, cols)
