"""Geoid undulation N (m): EGM96 / EGM2008 heights H to WGS84 ellipsoidal heights h = H + N.

Where the grids come from, in this order (``source="auto"``):

1. **PROJ's grids** when installed where PROJ looks for them: ``us_nga_egm96_15.tif`` /
   ``egm96_15.gtx`` (EGM96, 15' nodes) and ``us_nga_egm08_25.tif`` / ``egm08_25.gtx`` (EGM2008,
   2.5' nodes) in ``$PROJ_DATA`` / ``$PROJ_LIB``, pyproj's data and user-data directories, or
   the system PROJ directories (``/usr/share/proj``, e.g. Debian's ``proj-data`` package).
   Read window by window (the 2.5' EGM2008 grid is 150 MB as float32): only the nodes a
   request needs.
2. **The compact grids shipped in the package** (``daskinsar/data/*.geoid``), made by
   ``tools/make_geoid_grids.py`` from PROJ's grids: node values quantised to 1 mm and
   losslessly compressed (lzma on second differences); their header records the grid they
   were made from and the error measured against it.

Interpolation is bilinear between the four surrounding nodes, longitude wrapping around
the globe, as PROJ's ``vgridshift`` does for these grids. Nodes sit at
``lat = lat0 + i*dlat``, ``lon = lon0 + j*dlon`` (deg).

Both models are public domain (NGA).
"""

from __future__ import annotations

import json
import lzma
import os
import struct
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Literal

import numpy as np

from ..errors import DaskInsarError

__all__ = ["GeoidGrid", "GeoidGridError", "geoid_grid", "find_proj_grid", "compact_grid_path",
           "read_compact", "write_compact", "PROJ_GRID_NAMES", "MODELS"]

Model = Literal["EGM96", "EGM2008"]
MODELS: tuple[Model, ...] = ("EGM96", "EGM2008")
#: file names under which PROJ distributes each model's grid (first found wins)
PROJ_GRID_NAMES: dict[str, tuple[str, ...]] = {
    "EGM96": ("us_nga_egm96_15.tif", "egm96_15.gtx"),
    "EGM2008": ("us_nga_egm08_25.tif", "egm08_25.gtx"),
}
#: compact grid shipped in daskinsar/data for each model
COMPACT_NAMES: dict[str, str] = {"EGM96": "egm96_15.geoid", "EGM2008": "egm2008.geoid"}
_MAGIC = b"DSKGEOID"
_SYSTEM_PROJ_DIRS = ("/usr/share/proj", "/usr/local/share/proj")


class GeoidGridError(DaskInsarError):
    """No grid is available for a geoid model whose heights must be converted."""


@dataclass(frozen=True, eq=False)
class GeoidGrid:
    """A global geoid undulation grid (m) on lon/lat nodes (deg), bilinear with longitude wrap.

    Either ``values_m`` (in memory) or ``path`` (a raster read window by window) holds the
    nodes. ``source`` names where they come from (for attrs and messages).
    """

    model: str
    lat0_deg: float
    dlat_deg: float
    lon0_deg: float
    dlon_deg: float
    shape: tuple[int, int]
    source: str
    values_m: np.ndarray | None = None
    path: str | None = None
    info: dict = field(default_factory=dict)

    @property
    def wraps(self) -> bool:
        """True when the columns span the full 360 deg (the last node's right neighbour is the first)."""
        return abs(self.shape[1] * abs(self.dlon_deg) - 360.0) < 1e-6

    def _nodes(self, r0: int, r1: int, cols: np.ndarray) -> np.ndarray:
        """Node values for rows r0..r1 (inclusive) and the (wrapped) column indices ``cols``."""
        if self.values_m is not None:
            return self.values_m[r0:r1 + 1][:, cols].astype(np.float64)
        import rasterio
        from rasterio.windows import Window

        c_lo, c_hi = int(cols.min()), int(cols.max())
        with rasterio.open(self.path) as src:
            if c_hi - c_lo + 1 == cols.size:  # contiguous: read just those columns
                a = src.read(1, window=Window(c_lo, r0, c_hi - c_lo + 1, r1 - r0 + 1))
                return a.astype(np.float64)
            a = src.read(1, window=Window(0, r0, self.shape[1], r1 - r0 + 1))
        return a[:, cols].astype(np.float64)

    def undulation(self, lon_deg, lat_deg) -> np.ndarray:
        """N (m) at (lon, lat) in deg (broadcast together); NaN where lon or lat is NaN."""
        lon, lat = np.broadcast_arrays(np.asarray(lon_deg, np.float64), np.asarray(lat_deg, np.float64))
        out = np.full(lon.shape, np.nan)
        ok = np.isfinite(lon) & np.isfinite(lat)
        if not ok.any():
            return out
        ny, nx = self.shape
        row = (lat[ok] - self.lat0_deg) / self.dlat_deg
        col = (lon[ok] - self.lon0_deg) / self.dlon_deg
        if self.wraps:
            col = np.mod(col, nx)
        else:
            col = np.clip(col, 0.0, nx - 1.0)
        row = np.clip(row, 0.0, ny - 1.0)
        r0 = np.minimum(np.floor(row).astype(np.int64), ny - 2)
        c0 = np.floor(col).astype(np.int64)
        c0 = np.minimum(c0, nx - 1 if self.wraps else nx - 2)
        fr, fc = row - r0, col - c0
        c1 = (c0 + 1) % nx if self.wraps else c0 + 1
        ra, rb = int(r0.min()), int(r0.max()) + 1
        ucols, inv = np.unique(np.concatenate([c0, c1]), return_inverse=True)
        nodes = self._nodes(ra, rb, ucols)
        i0, i1 = inv[: c0.size], inv[c0.size:]
        rr = r0 - ra
        v00, v01 = nodes[rr, i0], nodes[rr, i1]
        v10, v11 = nodes[rr + 1, i0], nodes[rr + 1, i1]
        out[ok] = (v00 * (1 - fr) * (1 - fc) + v01 * (1 - fr) * fc + v10 * fr * (1 - fc) + v11 * fr * fc)
        return out

    def describe(self) -> str:
        return f"{self.model} geoid grid {self.shape[0]} x {self.shape[1]} nodes ({self.source})"


# ----------------------------------------------------------------------------- PROJ's grids
def _proj_dirs() -> list[str]:
    dirs: list[str] = []
    for var in ("PROJ_DATA", "PROJ_LIB"):
        dirs += [d for d in os.environ.get(var, "").split(os.pathsep) if d]
    try:
        import pyproj.datadir as pdd

        dirs += [d for d in pdd.get_data_dir().split(os.pathsep) if d]
        dirs.append(pdd.get_user_data_dir())
    except Exception:  # pyproj without a data dir: the other locations still count
        pass
    dirs += list(_SYSTEM_PROJ_DIRS)
    seen: list[str] = []
    for d in dirs:
        if d not in seen:
            seen.append(d)
    return seen


def find_proj_grid(model: str) -> str | None:
    """Path of PROJ's grid for ``model`` ("EGM96" | "EGM2008") where PROJ looks, or None."""
    for d in _proj_dirs():
        for name in PROJ_GRID_NAMES[model]:
            p = os.path.join(d, name)
            if os.path.isfile(p):
                return p
    return None


def _open_proj_grid(model: str, path: str) -> GeoidGrid:
    import rasterio

    with rasterio.open(path) as src:
        t = src.transform
        if t.b != 0 or t.d != 0:
            raise GeoidGridError(f"{path}: expected a north-up geoid grid, found a rotated geotransform")
        # GDAL's geotransform refers to pixel corners for every driver (it shifts PixelIsPoint
        # GeoTIFFs and GTX headers accordingly): the nodes are the pixel centres
        lon0 = t.c + 0.5 * t.a
        lat0 = t.f + 0.5 * t.e
        return GeoidGrid(model, float(lat0), float(t.e), float(lon0), float(t.a), (src.height, src.width),
                         f"PROJ grid {path}", path=path)


# ----------------------------------------------------------------------------- compact grids
def compact_grid_path(model: str) -> str | None:
    """Path of the compact grid shipped in ``daskinsar/data`` for ``model``, or None."""
    p = resources.files("daskinsar") / "data" / COMPACT_NAMES[model]
    return str(p) if p.is_file() else None


def write_compact(path: str, values_m: np.ndarray, header: dict, quantum_m: float = 1e-3) -> int:
    """Write a compact grid: node values quantised to ``quantum_m``, second differences, lzma.
    Returns the file size (bytes)."""
    q = np.rint(np.asarray(values_m, np.float64) / quantum_m).astype(np.int64)
    d2 = np.diff(np.diff(q, axis=1, prepend=0), axis=0, prepend=0)
    if np.abs(d2).max() >= 2**31:
        raise ValueError("grid too rough for int32 second differences at this quantum")
    header = {**header, "shape": list(q.shape), "quantum_m": quantum_m}
    hb = json.dumps(header, sort_keys=True).encode()
    payload = lzma.compress(d2.astype("<i4").tobytes(), preset=9 | lzma.PRESET_EXTREME)
    with open(path, "wb") as f:
        f.write(_MAGIC + struct.pack("<I", len(hb)) + hb + payload)
    return os.path.getsize(path)


def read_compact(path: str) -> GeoidGrid:
    """Read a compact grid written by :func:`write_compact`."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:8] != _MAGIC:
        raise GeoidGridError(f"{path}: not a daskinsar compact geoid grid")
    (n,) = struct.unpack("<I", raw[8:12])
    h = json.loads(raw[12:12 + n])
    ny, nx = h["shape"]
    d2 = np.frombuffer(lzma.decompress(raw[12 + n:]), dtype="<i4").reshape(ny, nx).astype(np.int64)
    values = (np.cumsum(np.cumsum(d2, axis=0), axis=1) * h["quantum_m"]).astype(np.float32)
    return GeoidGrid(h["model"], h["lat0_deg"], h["dlat_deg"], h["lon0_deg"], h["dlon_deg"], (ny, nx),
                     f"daskinsar compact grid {os.path.basename(path)} (from {h.get('made_from', '?')})",
                     values_m=values, info=h)


# ----------------------------------------------------------------------------- choosing a grid
@lru_cache(maxsize=8)
def geoid_grid(model: str, source: Literal["auto", "proj", "compact"] = "auto") -> GeoidGrid:
    """The grid used for ``model`` ("EGM96" | "EGM2008"); see the module docstring for the order.

    Raises :class:`GeoidGridError` (saying how to install one) when none is available.
    """
    model = model.upper()
    if model not in MODELS:
        raise ValueError(f"geoid model must be one of {MODELS}, not {model!r}")
    if source in ("auto", "proj"):
        p = find_proj_grid(model)
        if p is not None:
            return _open_proj_grid(model, p)
        if source == "proj":
            raise GeoidGridError(f"PROJ's {model} grid ({' or '.join(PROJ_GRID_NAMES[model])}) is not installed "
                                 f"in any of {_proj_dirs()}")
    c = compact_grid_path(model)
    if c is not None:
        return read_compact(c)
    import pyproj.datadir as pdd

    raise GeoidGridError(
        f"converting {model} heights to ellipsoidal heights needs the {model} geoid grid, which is not installed: "
        f"put PROJ's {PROJ_GRID_NAMES[model][0]} in {pdd.get_user_data_dir()} (or a directory on $PROJ_DATA), "
        f"or build daskinsar's compact grid with tools/make_geoid_grids.py; or, if the heights are already "
        f"ellipsoidal, say so with vertical_datum: ellipsoid")
