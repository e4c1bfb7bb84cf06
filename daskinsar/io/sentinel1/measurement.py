"""The measurement TIFF of a Sentinel-1 swath, read lazily per block.

Why our own strip/tile-aligned reader rather than tifffile's whole-page reads or
rasterio/GDAL windows: a block task seeks to the strips it needs and reads exactly
those bytes (one contiguous read for uncompressed strips spanning the width, as
Sentinel-1 SLC TIFFs are: one row per strip), from a folder or straight from a zip
member, with nothing but the file handle in the task (no GDAL dataset shared between
threads, no /vsizip/ paths); damaged files surface as one clear error naming the TIFF.
tifffile is used once, to parse the layout (offsets, sample format, compression).

SLC samples (CInt16, or complex float) become complex64 as stored (Sentinel-1's phase
convention is the project's: a target at range R has phase -4 pi R / lambda); GRD DN
become float32.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import dask.array as da
import numcodecs
import numpy as np
import tifffile
from dask.base import tokenize

from ...errors import InputFileError
from ._xml import PARSE_ERRORS
from .container import SafeSource

__all__ = ["measurement_array", "tiff_layout"]


@dataclass(frozen=True)
class _TiffLayout:
    shape: tuple[int, int]
    byteorder: str
    sampleformat: int
    bits: int
    compression: int
    rows_per_strip: int  # rows per strip, or tile length
    tile_width: int  # 0 for strips
    offsets: tuple[int, ...]
    counts: tuple[int, ...]

    @property
    def file_dtype(self) -> np.dtype:
        bo = self.byteorder
        if self.sampleformat == 5 and self.bits == 32:
            return np.dtype(f"{bo}i2")  # CInt16: pairs of int16
        if self.sampleformat == 5 and self.bits == 64:
            return np.dtype(f"{bo}i4")
        if self.sampleformat == 6 and self.bits == 64:
            return np.dtype(f"{bo}c8")
        if self.sampleformat == 1 and self.bits in (8, 16, 32):
            return np.dtype(f"{bo}u{self.bits // 8}")
        if self.sampleformat == 2 and self.bits in (8, 16, 32):
            return np.dtype(f"{bo}i{self.bits // 8}")
        if self.sampleformat == 3 and self.bits in (32, 64):
            return np.dtype(f"{bo}f{self.bits // 8}")
        raise ValueError(f"unsupported TIFF sample format {self.sampleformat} with {self.bits} bits")

    @property
    def is_complex(self) -> bool:
        return self.sampleformat in (5, 6)

    @property
    def out_dtype(self) -> np.dtype:
        return np.dtype(np.complex64) if self.is_complex else np.dtype(np.float32)

    @property
    def bytes_per_pixel(self) -> int:
        return self.bits // 8


def tiff_layout(fh, name: str) -> _TiffLayout:
    """The strip/tile layout of a one-band TIFF (file object ``fh``, named ``name`` in errors)."""
    what = "a Sentinel-1 measurement GeoTIFF (one band, CInt16 or uint16)"
    try:
        with tifffile.TiffFile(fh) as tf:
            page: Any = tf.pages.first if hasattr(tf.pages, "first") else tf.pages[0]
            if page.samplesperpixel != 1 or len(page.shape) != 2:
                raise InputFileError(name, what, f"{page.samplesperpixel} samples per pixel, shape {page.shape}")
            bits: Any = page.bitspersample if np.isscalar(page.bitspersample) else page.bitspersample[0]
            sfmt: Any = page.sampleformat if np.isscalar(page.sampleformat) else page.sampleformat[0]
            lay = _TiffLayout(
                shape=(int(page.shape[0]), int(page.shape[1])),
                byteorder=tf.byteorder,
                sampleformat=int(sfmt),
                bits=int(bits),
                compression=int(page.compression),
                rows_per_strip=int(page.tilelength if page.is_tiled else page.rowsperstrip),
                tile_width=int(page.tilewidth if page.is_tiled else 0),
                offsets=tuple(int(o) for o in page.dataoffsets),
                counts=tuple(int(c) for c in page.databytecounts),
            )
            if int(getattr(page, "predictor", 1) or 1) != 1:
                raise InputFileError(name, what, "a TIFF predictor (not supported)")
    except InputFileError:
        raise
    except Exception as exc:  # tifffile raises many kinds on damaged files
        raise InputFileError(name, what, f"an unreadable TIFF ({type(exc).__name__}: {exc})") from None
    lay.file_dtype  # validates the sample format
    if lay.compression not in (1, 8, 32946, 50000):
        raise InputFileError(name, what, f"TIFF compression {lay.compression} (supported: none, deflate, zstd)")
    if lay.rows_per_strip <= 0:
        raise InputFileError(name, what, "no strip layout")
    return lay


def _decode_segment(buf: bytes, compression: int) -> bytes:
    if compression == 1:
        return buf
    if compression in (8, 32946):
        return zlib.decompress(buf)
    if compression == 50000:
        return bytes(numcodecs.Zstd().decode(buf))
    raise ValueError(f"TIFF compression {compression}")


def _to_output(raw: np.ndarray, lay: _TiffLayout) -> np.ndarray:
    if lay.sampleformat == 5:
        # interleaved (re, im) integers -> interleaved float32 -> complex64, one pass
        return np.ascontiguousarray(raw, dtype=np.float32).view(np.complex64)
    return raw.astype(lay.out_dtype)


def _read_tiff_block(src: SafeSource, member: str, lay: _TiffLayout, r0: int, r1: int, c0: int, c1: int,
                     display: str) -> np.ndarray:
    """Read rows [r0, r1) and samples [c0, c1) of the measurement TIFF (a dask task; opens the file itself)."""
    ny, nx = lay.shape
    fdt = lay.file_dtype
    per_px = 2 if lay.sampleformat == 5 else 1  # values per pixel in the file dtype
    out = np.zeros((r1 - r0, c1 - c0), lay.out_dtype)
    rps = lay.rows_per_strip
    try:
        with src.open(member) as fh:
            s_first, s_last = r0 // rps, (r1 - 1) // rps
            contiguous = all(lay.offsets[k + 1] == lay.offsets[k] + lay.counts[k] for k in range(s_first, s_last))
            if lay.tile_width == 0 and lay.compression == 1 and contiguous and c0 == 0 and c1 == nx:
                # uncompressed, contiguous strips, whole rows: one read
                fh.seek(lay.offsets[s_first] + (r0 - s_first * rps) * nx * lay.bytes_per_pixel)
                n = (r1 - r0) * nx * lay.bytes_per_pixel
                buf = fh.read(n)
                if len(buf) != n:
                    raise EOFError(f"strips {s_first}..{s_last} end early")
                out[:] = _to_output(np.frombuffer(buf, fdt).reshape(r1 - r0, nx * per_px), lay)
            elif lay.tile_width == 0:
                for s in range(s_first, s_last + 1):
                    s_r0 = s * rps
                    s_rows = min(rps, ny - s_r0)
                    if lay.compression == 1:
                        # uncompressed: read only the needed rows / columns
                        rows = range(max(r0, s_r0), min(r1, s_r0 + s_rows))
                        for r in rows:
                            fh.seek(lay.offsets[s] + ((r - s_r0) * nx + c0) * lay.bytes_per_pixel)
                            n = (c1 - c0) * lay.bytes_per_pixel
                            buf = fh.read(n)
                            if len(buf) != n:
                                raise EOFError(f"strip {s} ends early")
                            raw = np.frombuffer(buf, fdt).reshape(1, (c1 - c0) * per_px)
                            out[r - r0] = _to_output(raw, lay)[0]
                        continue
                    fh.seek(lay.offsets[s])
                    buf = fh.read(lay.counts[s])
                    if len(buf) != lay.counts[s]:
                        raise EOFError(f"strip {s} ends early")
                    dec = _decode_segment(buf, lay.compression)
                    raw = np.frombuffer(dec, fdt)[: s_rows * nx * per_px].reshape(s_rows, nx * per_px)
                    a = max(r0, s_r0) - s_r0
                    b = min(r1, s_r0 + s_rows) - s_r0
                    out[s_r0 + a - r0: s_r0 + b - r0] = _to_output(raw[a:b, c0 * per_px: c1 * per_px], lay)
            else:
                th, tw = lay.rows_per_strip, lay.tile_width
                ntx = -(-nx // tw)
                for ty in range(r0 // th, (r1 - 1) // th + 1):
                    for tx in range(c0 // tw, (c1 - 1) // tw + 1):
                        k = ty * ntx + tx
                        fh.seek(lay.offsets[k])
                        buf = fh.read(lay.counts[k])
                        if len(buf) != lay.counts[k]:
                            raise EOFError(f"tile {k} ends early")
                        dec = _decode_segment(buf, lay.compression)
                        tile = _to_output(np.frombuffer(dec, fdt)[: th * tw * per_px].reshape(th, tw * per_px), lay)
                        y0, x0 = ty * th, tx * tw
                        ya, yb = max(r0, y0), min(r1, y0 + th)
                        xa, xb = max(c0, x0), min(c1, x0 + tw)
                        out[ya - r0: yb - r0, xa - c0: xb - c0] = tile[ya - y0: yb - y0, xa - x0: xb - x0]
    except InputFileError:
        raise
    except PARSE_ERRORS as exc:
        raise InputFileError(display, "a complete Sentinel-1 measurement TIFF",
                             f"{type(exc).__name__}: {exc}") from None
    return out


def _aligned_chunks(n: int, want: int, unit: int) -> tuple[int, ...]:
    size = max(unit, (max(want, 1) // unit) * unit)
    full, rest = divmod(n, size)
    return (size,) * full + ((rest,) if rest else ())


def measurement_array(src: SafeSource, member: str, *, chunks: tuple[int, int] | None = None,
                      expected_shape: tuple[int, int] | None = None, rows: tuple[int, int] | None = None,
                      name: str = "read-sentinel1-tiff") -> da.Array:
    """Lines ``rows`` = [r0, r1) (default all) of the measurement TIFF as a lazy dask array
    (complex64 for SLC, float32 for GRD).

    Azimuth chunks start at ``r0`` and are multiples of the TIFF's rows per strip (or tile
    length) when ``r0`` is aligned; range chunks are multiples of the tile width (tiled)
    or, for compressed strips, the full width (a compressed strip is decoded whole). Task
    names start with ``name``.
    """
    display = src.display(member)
    with src.open(member) as fh:
        lay = tiff_layout(fh, display)
    if expected_shape is not None and tuple(expected_shape) != lay.shape:
        raise InputFileError(display, f"a measurement of {expected_shape[0]} lines x {expected_shape[1]} samples "
                                      "(as the annotation says)", f"{lay.shape[0]} x {lay.shape[1]}")
    ny, nx = lay.shape
    r0, r1 = rows or (0, ny)
    if not 0 <= r0 < r1 <= ny:
        raise InputFileError(display, f"lines {r0} .. {r1 - 1} (as the annotation says)", f"{ny} lines")
    # default: whole rows (strips span the width), ~256 lines (about 44 MB of complex64 for IW)
    want_az, want_rg = chunks or (256, nx)
    az_chunks = _aligned_chunks(r1 - r0, want_az, lay.rows_per_strip)
    if lay.tile_width:
        rg_chunks = _aligned_chunks(nx, want_rg, lay.tile_width)
    elif lay.compression == 1:
        rg_chunks = _aligned_chunks(nx, want_rg, 1)
    else:
        rg_chunks = (nx,)
    key = f"{name}-" + tokenize(src.root, member, lay, r0, az_chunks, rg_chunks)
    graph = {}
    a = r0
    for i, h in enumerate(az_chunks):
        c0 = 0
        for j, w in enumerate(rg_chunks):
            graph[(key, i, j)] = (_read_tiff_block, src, member, lay, a, a + h, c0, c0 + w, display)
            c0 += w
        a += h
    return da.Array(graph, key, (az_chunks, rg_chunks), dtype=lay.out_dtype)
