"""Reader for TerraSAR-X / TanDEM-X / PAZ level-1b SSC products (main annotation XML + COSAR image).

Why not sarpy
-------------
sarpy's ``tsx`` reader turns the annotation into a SICD: the state vectors become a fitted
``ARPPoly``, the Doppler estimates a 2-D ``DopCentroidPoly`` about a scene centre point and the
timing ``TimeCOAPoly``/grid polynomials. The per-line zero-Doppler times, the state vectors with
their velocities and the product's own Doppler / Doppler-rate polynomials are then gone, so
this module parses the annotation itself (``defusedxml``) and reads COSAR with numpy.

Layout read (element names as in the level-1b product specification TX-GS-DD-3302 and a real
2008 TSX-1 SSC annotation)::

    level1Product/
      generalHeader/mission                         TSX-1 | TDX-1 | PAZ-1
      productComponents/imageData[polLayer]/file/location/{path,filename}   the COSAR file(s)
      productInfo/missionInfo/{mission, orbitDirection, absOrbit}
      productInfo/acquisitionInfo/{imagingMode, lookDirection, polarisationList/polLayer}
      productInfo/productVariantInfo/{productVariant (SSC), projection (SLANTRANGE)}
      productInfo/imageDataInfo/{imageDataType COMPLEX, imageDataFormat COSAR}
      productInfo/imageDataInfo/imageRaster/{numberOfRows (lines), numberOfColumns (samples),
                     rowSpacing (s: two-way range time between samples), columnSpacing (s: between lines)}
      productInfo/sceneInfo/{start/timeUTC, stop/timeUTC, rangeTime/{firstPixel, lastPixel} (s, two-way)}
      productSpecific/complexImageInfo/{commonPRF, imageCoordinateType, imageDataStartWith}
      processing/doppler/dopplerCentroid[polLayer]/dopplerEstimate/{timeUTC, combinedDoppler}
      processing/geometry/dopplerRate/{timeUTC, dopplerRatePolynomial}
      processing/processingParameter/{totalProcessedRangeBandwidth, totalProcessedAzimuthBandwidth}
      instrument/radarParameters/centerFrequency (Hz); instrument/settings/{RSF, rxBandwidth}
      platform/orbit/stateVec/{timeUTC, posX, posY, posZ (m), velX, velY, velZ (m/s)}  ECEF (WGS84)

Polynomials (``combinedDoppler`` Hz, ``dopplerRatePolynomial`` Hz/s) are
``sum_k coefficient[exponent=k] * (tau - referencePoint)**k`` in two-way range time ``tau`` (s).

COSAR (TX-GS-DD-3307): big-endian; every range line is ``RTNB = 4 * (RS + 2)`` bytes: two
int32 (first and last valid sample, 1-based) then ``RS`` samples of int16 I, int16 Q. A burst
starts with 4 annotation lines (the first holds BIB, RSRI, RS, AS, BI, RTNB, TNL as int32 and the
magic ``CSAR``) followed by ``AS`` image lines. Samples outside a line's valid window are
returned as 0; values are the product's digital numbers as complex64 (not calibrated).

Conventions of the returned scene: epoch = ``sceneInfo/start/timeUTC`` (first line, zero
Doppler); line ``i`` at ``i * columnSpacing``; slant range ``c/2 * (firstPixel + j * rowSpacing)``
(m). ``prf_hz`` is the line rate ``1/columnSpacing`` (``commonPRF`` in ``extra``). Products stored
late-to-early or far-to-near (``imageDataStartWith``) are mirrored so lines run early to late
and samples near to far. ``imageCoordinateType`` ZERODOPPLER gives ``grid="zero_doppler"``; RAW
gives ``grid="native_doppler"`` with ``grid_doppler`` = the Doppler centroid. The annotation
gives no transmitted pulse length (its reference chirp has no stated units), so ``chirp`` is
None; ``range_bandwidth_hz`` is the processed range bandwidth. SLC phase convention as the
product (``exp(-4 pi j R / wavelength)``, the same as daskinsar's).
"""

from __future__ import annotations

import glob
import os
from typing import Any

import numpy as np
import xarray as xr

from ..errors import InputFileError
from ..geometry.ellipsoid import SPEED_OF_LIGHT
from ..geometry.orbit import Orbit
from ..scene import Poly1D, RadarMetadata, Scene, radar_grid_coords
from ._products import BlockWindow, Xml, iso, lazy_image, look_side, range_poly_doppler, require_file
from .readers import ReaderInfo
from .validate import check_range

__all__ = ["read_terrasarx", "sniff_terrasarx", "parse_annotation", "find_annotation", "read_cosar_header",
           "TsxAnnotation"]

MISSIONS = {"TSX-1": "TERRASARX", "TDX-1": "TANDEMX", "PAZ-1": "PAZ"}
_EXPECTED = "a TerraSAR-X / TanDEM-X / PAZ level-1b annotation (<level1Product>)"
_FLIPS = {"EARLYAZNEARRG": (False, False), "EARLYAZFARRG": (False, True), "LATEAZNEARRG": (True, False),
          "LATEAZFARRG": (True, True)}
COSAR_MAGIC = b"CSAR"


# ----------------------------------------------------------------------------------------- finding files
def _is_annotation(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return b"<level1Product" in head


def find_annotation(path: str) -> str:
    """The main annotation XML of a product: ``path`` itself or the one inside a product folder."""
    path = os.path.abspath(str(path))
    if os.path.isdir(path) and path.lower().endswith(".xml"):
        raise InputFileError(path, _EXPECTED, "a folder, not a file")
    if os.path.isdir(path):
        cands = sorted(p for p in glob.glob(os.path.join(path, "*.xml")) if _is_annotation(p))
        if not cands:
            raise InputFileError(path, "a TerraSAR-X product folder with its main annotation XML (<level1Product>)",
                                 "no such XML in the folder")
        return cands[0]
    return path


def sniff_terrasarx(path: str) -> bool:
    """A ``<level1Product>`` annotation (or a folder holding one). Never raises."""
    try:
        p = find_annotation(path)
        return os.path.isfile(p) and p.lower().endswith(".xml") and _is_annotation(p)
    except Exception:
        return False


# ----------------------------------------------------------------------------------------- annotation
def _poly(x: Xml, el) -> tuple[float, list[float]]:
    """(referencePoint, coefficients by exponent) of a TSX polynomial element."""
    ref = x.number("referencePoint", base=el)
    deg = x.integer("polynomialDegree", base=el, minimum=0, maximum=20)
    coeffs = [0.0] * (deg + 1)
    found = set()
    for c in x.nodes("coefficient", base=el):
        try:
            k = int(c.get("exponent", ""))
            v = float((c.text or "").strip())
        except ValueError:
            raise InputFileError(x.source, f"numeric coefficients with an exponent attribute in {el.tag}",
                                 repr((c.get("exponent"), c.text))) from None
        if not 0 <= k <= deg or not np.isfinite(v):
            raise InputFileError(x.source, f"coefficients of exponent 0 .. {deg} in {el.tag}", f"exponent {k}, {v}")
        coeffs[k] = v
        found.add(k)
    if len(found) != deg + 1:
        raise InputFileError(x.source, f"{deg + 1} coefficients in {el.tag} (polynomialDegree {deg})",
                             f"{len(found)}")
    return ref, coeffs


class TsxAnnotation:
    """The values of a level-1b annotation the reader uses (parsed and checked; units in names)."""

    def __init__(self, path: str, polarization: str | None = None):
        x = Xml.load(path, _EXPECTED, root_tag="level1Product")
        self.path = x.source
        self.mission = x.text("productInfo/missionInfo/mission", default=x.text("generalHeader/mission", default=""))
        if self.mission not in MISSIONS:
            raise InputFileError(self.path, f"mission {', '.join(MISSIONS)} in productInfo/missionInfo/mission",
                                 repr(self.mission) if self.mission else "none")
        info = "productInfo"
        variant = x.text(f"{info}/productVariantInfo/productVariant")
        projection = x.text(f"{info}/productVariantInfo/projection", default="")
        dtype = x.text(f"{info}/imageDataInfo/imageDataType")
        fmt = x.text(f"{info}/imageDataInfo/imageDataFormat")
        if variant != "SSC" or dtype != "COMPLEX" or fmt != "COSAR" or projection not in ("", "SLANTRANGE"):
            raise InputFileError(self.path, "a single-look slant-range complex product (productVariant SSC, "
                                 "imageDataType COMPLEX, imageDataFormat COSAR)",
                                 f"{variant} / {dtype} / {fmt} / {projection}")
        self.look_side = look_side(x.text(f"{info}/acquisitionInfo/lookDirection"), self.path,
                                   "acquisitionInfo/lookDirection")
        self.mode = x.text(f"{info}/acquisitionInfo/imagingMode", default="")
        raster = f"{info}/imageDataInfo/imageRaster"
        self.n_lines = x.integer(f"{raster}/numberOfRows")
        self.n_samples = x.integer(f"{raster}/numberOfColumns")
        self.range_time_step_s = x.number(f"{raster}/rowSpacing", positive=True)
        self.line_interval_s = x.number(f"{raster}/columnSpacing", positive=True)
        scene = f"{info}/sceneInfo"
        t_start = x.utc(f"{scene}/start/timeUTC")
        t_stop = x.utc(f"{scene}/stop/timeUTC")
        self.epoch = iso(t_start)
        duration = (t_stop - t_start) / np.timedelta64(1, "ns") * 1e-9
        expect = (self.n_lines - 1) * self.line_interval_s
        if abs(duration - expect) > max(0.5 * self.line_interval_s, 1e-6):
            raise InputFileError(self.path, f"sceneInfo start/stop {duration:.9f} s apart = (numberOfRows - 1) x "
                                 "columnSpacing", f"{expect:.9f} s")
        self.first_range_time_s = x.number(f"{scene}/rangeTime/firstPixel", positive=True)
        last = x.number(f"{scene}/rangeTime/lastPixel", positive=True)
        expect = (self.n_samples - 1) * self.range_time_step_s
        if abs(last - self.first_range_time_s - expect) > 0.5 * self.range_time_step_s:
            raise InputFileError(self.path, "rangeTime lastPixel - firstPixel = (numberOfColumns - 1) x rowSpacing",
                                 f"{last - self.first_range_time_s:.6e} s vs {expect:.6e} s")
        spec = "productSpecific/complexImageInfo"
        self.coordinate_type = x.text(f"{spec}/imageCoordinateType", default="ZERODOPPLER")
        if self.coordinate_type not in ("ZERODOPPLER", "RAW"):
            raise InputFileError(self.path, f"{spec}/imageCoordinateType ZERODOPPLER or RAW",
                                 repr(self.coordinate_type))
        start_with = x.text(f"{spec}/imageDataStartWith", default="EARLYAZNEARRG")
        if start_with not in _FLIPS:
            raise InputFileError(self.path, f"{spec}/imageDataStartWith one of {', '.join(_FLIPS)}", repr(start_with))
        self.flip_rows, self.flip_cols = _FLIPS[start_with]
        self.common_prf_hz = x.number(f"{spec}/commonPRF", default=1.0 / self.line_interval_s, positive=True)
        self.center_frequency_hz = x.number("instrument/radarParameters/centerFrequency", positive=True)
        self.rsf_hz = x.number("instrument/settings/RSF", default=1.0 / self.range_time_step_s, positive=True)
        if abs(self.rsf_hz * self.range_time_step_s - 1.0) > 1e-4:
            raise InputFileError(self.path, "instrument/settings/RSF = 1 / imageRaster/rowSpacing",
                                 f"RSF {self.rsf_hz:.9g} Hz, 1/rowSpacing {1 / self.range_time_step_s:.9g} Hz")
        proc = "processing/processingParameter"
        self.range_bandwidth_hz = x.number(f"{proc}/totalProcessedRangeBandwidth", default=0.0) or None
        self.azimuth_bandwidth_hz = x.number(f"{proc}/totalProcessedAzimuthBandwidth", default=0.0) or None
        self.extra: dict[str, Any] = {"format": "TSX_L1B_SSC", "mission": self.mission,
                                      "orbit_direction": x.text(f"{info}/missionInfo/orbitDirection", default=""),
                                      "absolute_orbit": x.text(f"{info}/missionInfo/absOrbit", default=""),
                                      "image_coordinate_type": self.coordinate_type,
                                      "image_data_start_with": start_with, "acquisition_prf_hz": self.common_prf_hz,
                                      "range_sampling_rate_hz_instrument": self.rsf_hz}
        chirp = x.node(f"{proc}/rangeCompression/chirps/referenceChirp", required=False)
        if chirp is not None:
            self.extra["reference_chirp"] = {k: x.text(k, base=chirp, default="") for k in
                                             ("pulseLength", "pulseBandwidth", "chirpSlope")}
            self.extra["reference_chirp"]["note"] = "as annotated; units not stated, not used"
        self._layers(x, polarization)
        self._orbit(x)
        self._doppler(x)

    # -- image layers
    def _layers(self, x: Xml, polarization: str | None) -> None:
        layers = {}
        base = os.path.dirname(self.path)
        for el in x.nodes("productComponents/imageData"):
            pol = x.text("polLayer", base=el).upper()
            sub = x.text("file/location/path", base=el, default=".")
            name = x.text("file/location/filename", base=el)
            layers[pol] = os.path.normpath(os.path.join(base, sub, name))
        if not layers:
            raise InputFileError(self.path, "productComponents/imageData entries (the COSAR files)", "none")
        self.polarizations = list(layers)
        pol = (polarization or self.polarizations[0]).upper()
        if pol not in layers:
            raise InputFileError(self.path, f"an imageData layer of polarisation {pol}", f"only {self.polarizations}")
        self.polarization, self.image_path = pol, layers[pol]

    def _orbit(self, x: Xml) -> None:
        svs = x.nodes("platform/orbit/stateVec")
        declared = x.text("platform/orbit/orbitHeader/numStateVectors", default="")
        if declared and declared != str(len(svs)):
            raise InputFileError(self.path, f"{declared} state vectors (orbitHeader/numStateVectors)", f"{len(svs)}")
        if len(svs) < 2:
            raise InputFileError(self.path, "at least 2 platform/orbit/stateVec entries", str(len(svs)))
        t0 = np.datetime64(self.epoch, "ns")
        t = [(x.utc("timeUTC", base=s) - t0) / np.timedelta64(1, "ns") * 1e-9 for s in svs]
        p = [[x.number(k, base=s) for k in ("posX", "posY", "posZ")] for s in svs]
        v = [[x.number(k, base=s) for k in ("velX", "velY", "velZ")] for s in svs]
        tt = np.asarray(t)
        if np.any(np.diff(tt) <= 0):
            i = int(np.argmax(np.diff(tt) <= 0))
            raise InputFileError(self.path, "state vectors in increasing time order", f"stateVec {i + 2} at "
                                 f"{tt[i + 1]:.6f} s after {tt[i]:.6f} s")
        self.orbit = Orbit(self.epoch, tt, np.asarray(p), np.asarray(v), source=f"{self.path}:platform/orbit")

    def _seconds(self, x: Xml, el) -> float:
        return float((x.utc("timeUTC", base=el) - np.datetime64(self.epoch, "ns")) / np.timedelta64(1, "ns") * 1e-9)

    def _doppler(self, x: Xml) -> None:
        near = 0.5 * SPEED_OF_LIGHT * self.first_range_time_s
        far = near + 0.5 * SPEED_OF_LIGHT * self.range_time_step_s * (self.n_samples - 1)
        dc = None
        for el in x.nodes("processing/doppler/dopplerCentroid"):
            if x.text("polLayer", base=el, default=self.polarization).upper() == self.polarization or dc is None:
                dc = el
        if dc is None:
            raise InputFileError(self.path, "processing/doppler/dopplerCentroid (the Doppler centroid estimates)",
                                 "none")
        est = []
        for e in x.nodes("dopplerEstimate", base=dc):
            poly = x.node("combinedDoppler", base=e)
            est.append((self._seconds(x, e), *_poly(x, poly)))
        declared = x.text("numberOfDopplerRecords", base=dc, default="")
        if not est or (declared and declared != str(len(est))):
            raise InputFileError(self.path, f"{declared or 'at least 1'} dopplerEstimate entries in "
                                            "dopplerCentroid (numberOfDopplerRecords)", f"{len(est)}")
        self.doppler = range_poly_doppler(est, near, far, source=self.path, what="dopplerEstimate entries")
        rates = [(self._seconds(x, e), *_poly(x, x.node("dopplerRatePolynomial", base=e)))
                 for e in x.nodes("processing/geometry/dopplerRate")]
        self.fm_rate = (range_poly_doppler(rates, near, far, source=self.path, what="dopplerRate entries")
                        if rates else None)
        self.extra["doppler_source"] = ("processing/doppler/dopplerCentroid/dopplerEstimate/combinedDoppler: Hz, "
                                        "polynomial in two-way range time tau (s) about referencePoint")
        self.extra["fm_rate_source"] = "processing/geometry/dopplerRate/dopplerRatePolynomial: Hz/s, as annotated"

    def metadata(self) -> RadarMetadata:
        t_mid = 0.5 * (self.n_lines - 1) * self.line_interval_s
        speed = float(np.linalg.norm(self.orbit.interpolate(np.array([t_mid]), check=False)[1][0]))
        native = self.coordinate_type == "RAW"
        return RadarMetadata(
            sensor=MISSIONS[self.mission], platform=self.mission, mode=self.mode, polarization=self.polarization,
            level="slc", epoch=self.epoch, wavelength_m=SPEED_OF_LIGHT / self.center_frequency_hz,
            prf_hz=1.0 / self.line_interval_s, range_sampling_rate_hz=1.0 / self.range_time_step_s,
            azimuth_line_interval_s=self.line_interval_s,
            range_pixel_spacing_m=0.5 * SPEED_OF_LIGHT * self.range_time_step_s, look_side=self.look_side,
            grid="native_doppler" if native else "zero_doppler", doppler_centroid=self.doppler,
            grid_doppler=self.doppler if native else Poly1D(), azimuth_fm_rate=self.fm_rate,
            range_bandwidth_hz=self.range_bandwidth_hz, azimuth_bandwidth_hz=self.azimuth_bandwidth_hz,
            platform_velocity_mps=speed, source_files=[self.path, self.image_path],
            extra={**self.extra, "polarizations": self.polarizations})


def parse_annotation(path: str, polarization: str | None = None) -> TsxAnnotation:
    """Parse and check a level-1b annotation (no image access)."""
    return TsxAnnotation(find_annotation(path), polarization)


# ----------------------------------------------------------------------------------------- COSAR
def read_cosar_header(path: str) -> dict[str, int]:
    """The first annotation line of a COSAR file: BIB, RSRI, RS, AS, BI, RTNB, TNL (int32, big-endian)."""
    require_file(path, "a COSAR image file")
    with open(path, "rb") as fh:
        head = fh.read(36)
    if len(head) < 36:
        raise InputFileError(path, "a COSAR image file (header of at least 36 bytes)", f"{len(head)} bytes")
    if head[28:32] != COSAR_MAGIC:
        raise InputFileError(path, "a COSAR image file (magic 'CSAR' at byte 28)", repr(head[28:32]))
    vals = np.frombuffer(head[:28], ">i4")
    return dict(zip(("BIB", "RSRI", "RS", "AS", "BI", "RTNB", "TNL"), (int(v) for v in vals)))


class CosarWindow(BlockWindow):
    """Lazy window on the image lines of a single-burst COSAR file."""

    def __init__(self, path: str, shape: tuple[int, int], rtnb: int, **flips):
        super().__init__(path, shape, **flips)
        self.rtnb = int(rtnb)

    def read_block(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        try:
            mm = np.memmap(self.path, dtype=np.uint8, mode="r", offset=(4 + r0) * self.rtnb,
                           shape=((r1 - r0) * self.rtnb,))
            rows = mm.reshape(r1 - r0, self.rtnb)
            valid = np.array(rows[:, :8]).view(">i4")
            iq = np.array(rows[:, 8 + 4 * c0: 8 + 4 * c1]).view(">i2").astype(np.float32)
            del rows, mm
        except (OSError, ValueError) as exc:
            raise InputFileError(self.path, f"COSAR lines {r0} .. {r1 - 1}", f"a read error ({exc})") from None
        first, last = valid[:, 0].astype(np.int64), valid[:, 1].astype(np.int64)
        n = self.shape[1]
        empty = (first == 0) & (last == 0)
        bad = ~empty & ((first < 1) | (last > n) | (last < first))
        if bad.any():
            i = int(np.argmax(bad))
            raise InputFileError(self.path, f"valid-sample limits 1 <= first <= last <= {n} on every COSAR line",
                                 f"{int(first[i])}, {int(last[i])} on image line {r0 + i}")
        out = iq[:, 0::2] + 1j * iq[:, 1::2]
        j = np.arange(c0, c1)
        mask = (j[None, :] >= first[:, None] - 1) & (j[None, :] <= last[:, None] - 1) & ~empty[:, None]
        return np.where(mask, out, 0).astype(np.complex64)


def _check_cosar(path: str, ann: TsxAnnotation) -> dict[str, int]:
    if not os.path.exists(path):
        raise InputFileError(ann.path, f"its COSAR image {path} (productComponents/imageData)", "no such file")
    h = read_cosar_header(path)
    size = os.path.getsize(path)
    want = {"RS": ann.n_samples, "AS": ann.n_lines, "RTNB": 4 * (ann.n_samples + 2)}
    for k, v in want.items():
        if h[k] != v:
            raise InputFileError(path, f"COSAR {k} = {v} (from the annotation {os.path.basename(ann.path)})",
                                 f"{h[k]}")
    expect = (ann.n_lines + 4) * h["RTNB"]
    if size != expect:
        raise InputFileError(path, f"a single-burst COSAR file of (AS + 4) x RTNB = {expect} bytes",
                             f"{size} bytes" + (" (truncated)" if size < expect else ""))
    return h


def read_terrasarx(path: str, *, polarization: str | None = None, chunks: tuple[int, int] | int | None = None
                   ) -> Scene:
    """Read a TerraSAR-X / TanDEM-X / PAZ SSC product into a lazy :class:`Scene`.

    Parameters
    ----------
    path : the main annotation XML or the product folder.
    polarization : e.g. "HH"; default the first imageData layer.
    chunks : dask chunks (lines, samples); default 1024 x 1024.
    """
    ann = parse_annotation(path, polarization)
    check_range(ann.path, "radar centre frequency", ann.center_frequency_hz, (1e8, 1e11), "Hz")
    h = _check_cosar(ann.image_path, ann)
    meta = ann.metadata()
    window = CosarWindow(ann.image_path, (ann.n_lines, ann.n_samples), h["RTNB"], flip_rows=ann.flip_rows,
                         flip_cols=ann.flip_cols)
    slc = lazy_image(window, chunks, "read-terrasarx-cosar")
    coords = radar_grid_coords(0.0, ann.line_interval_s, ann.n_lines, 0.5 * SPEED_OF_LIGHT * ann.first_range_time_s,
                               0.5 * SPEED_OF_LIGHT * ann.range_time_step_s, ann.n_samples)
    ds = xr.Dataset({"slc": (("azimuth", "range"), slc, {"units": "1", "description":
                             f"{ann.polarization} SSC digital numbers (I + jQ)"})}, coords=coords)
    ds["azimuth_time"].attrs.update(units="s", description=f"zero-Doppler time after {meta.epoch} UTC")
    ds["slant_range"].attrs.update(units="m")
    return Scene(ds, meta, ann.orbit, {"source_format": "TSX_L1B_SSC"})


READER = ReaderInfo(
    name="TERRASARX",
    description="TerraSAR-X / TanDEM-X / PAZ level-1b SSC (annotation XML + COSAR), zero-Doppler SLC",
    sniff=sniff_terrasarx,
    read=read_terrasarx,
    levels=("slc",),
    tested_on_real_data=True,
    aliases=("TSX", "TANDEMX", "TDX", "PAZ", "TERRASAR-X"),
)
