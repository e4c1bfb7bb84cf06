"""Reader for RADARSAT-2 SLC products (``product.xml`` + one GeoTIFF per polarisation).

Why not sarpy
-------------
sarpy's ``radarsat`` reader converts ``product.xml`` into a SICD: the state vectors become a
fitted ``ARPPoly`` (the five-vector RS2 orbits are refitted, velocities dropped), the Doppler
centroid and Doppler rate become 2-D SICD polynomials about a scene centre point, and the
zero-Doppler line times survive only through ``TimeCOAPoly``. The product's own values are what
the zero-Doppler scene model needs, so this module parses ``product.xml`` (``defusedxml``) and
reads the GeoTIFFs lazily with rasterio. (RCM, which sarpy also reads, is not handled here.)

Layout read (namespace ``http://www.rsi.ca/rs2/prod/xml/schemas``, stripped; element names as
in the RADARSAT-2 product format definition RN-RP-51-2713 and a real 2008 FQ9 SLC)::

    product/sourceAttributes/{satellite (RADARSAT-2), beamModeMnemonic}
    product/sourceAttributes/radarParameters/{polarizations, radarCenterFrequency (Hz),
        pulseRepetitionFrequency (Hz), pulseLength (s), pulseBandwidth (Hz), antennaPointing,
        adcSamplingRate (Hz)}
    product/sourceAttributes/orbitAndAttitude/orbitInformation/{passDirection,
        stateVector/{timeStamp, xPosition.. (m), xVelocity.. (m/s)}}                  ECEF
    product/imageGenerationParameters/generalProcessingInformation/productType        SLC
    product/imageGenerationParameters/sarProcessingInformation/{zeroDopplerTimeFirstLine,
        zeroDopplerTimeLastLine, slantRangeNearEdge (m), numberOfAzimuthLooks, numberOfRangeLooks,
        totalProcessedRangeBandwidth, totalProcessedAzimuthBandwidth (Hz)}
    product/imageGenerationParameters/dopplerCentroid/{timeOfDopplerCentroidEstimate,
        dopplerCentroidReferenceTime (s), dopplerCentroidCoefficients (Hz, Hz/s, ...)}
    product/imageGenerationParameters/dopplerRateValues/{dopplerRateReferenceTime (s),
        dopplerRateValuesCoefficients (Hz/s, Hz/s^2, ...)}
    product/imageAttributes/rasterAttributes/{dataType Complex, bitsPerSample, numberOfLines,
        numberOfSamplesPerLine, sampledPixelSpacing (m), lineTimeOrdering, pixelTimeOrdering}
    product/imageAttributes/fullResolutionImageData[@pole]                            file names

Polynomials are ``sum_k c_k (tau - referenceTime)**k`` in two-way slant-range time ``tau`` (s).
The GeoTIFF holds int16 I and Q as two bands (or one complex band).

Conventions of the returned scene: epoch = the earlier of ``zeroDopplerTimeFirstLine`` and
``zeroDopplerTimeLastLine``; the line interval is their difference over ``numberOfLines - 1``
(RS2 states no line interval; for multi-channel modes it is a multiple of 1/PRF, kept in
``extra``); slant range ``slantRangeNearEdge + j * sampledPixelSpacing`` (m). Products stored with
``lineTimeOrdering`` or ``pixelTimeOrdering`` Decreasing are mirrored lazily so lines run early to
late and samples near to far. The grid is zero Doppler. ``prf_hz`` is the line rate; the radar
PRF is in ``extra``. Chirp: slope = pulseBandwidth / pulseLength (the sign is not annotated; up-chirp
assumed, stated in ``extra``). SLC phase convention as the product (the same as daskinsar's).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import xarray as xr

from ..errors import InputFileError
from ..geometry.ellipsoid import SPEED_OF_LIGHT
from ..geometry.orbit import Orbit
from ..scene import Chirp, RadarMetadata, Scene, radar_grid_coords
from ._files import input_file
from ._products import BlockWindow, Xml, error_line, iso, lazy_image, look_side, range_poly_doppler
from .readers import ReaderInfo

__all__ = ["read_radarsat2", "sniff_radarsat2", "parse_product", "Rs2Product"]

_EXPECTED = "a RADARSAT-2 product.xml (<product> of satellite RADARSAT-2)"


def _product_xml(path: str) -> str:
    path = os.path.abspath(str(path))
    if os.path.isdir(path) and path.lower().endswith(".xml"):
        raise InputFileError(path, _EXPECTED, "a folder, not a file")
    return os.path.join(path, "product.xml") if os.path.isdir(path) else path


def sniff_radarsat2(path: str) -> bool:
    """``product.xml`` (or a folder holding it) of satellite RADARSAT-2. Never raises."""
    try:
        p = _product_xml(path)
        if not (os.path.isfile(p) and p.lower().endswith(".xml")):
            return False
        with open(p, "rb") as fh:
            head = fh.read(8192)
        return b"<product" in head and b"RADARSAT-2" in head
    except Exception:
        return False


class Rs2Product:
    """The values of ``product.xml`` the reader uses (parsed and checked; units in names)."""

    def __init__(self, path: str, polarization: str | None = None):
        x = Xml.load(_product_xml(path), _EXPECTED, root_tag="product")
        self.path = x.source
        sat = x.text("sourceAttributes/satellite", default="")
        if sat != "RADARSAT-2":
            raise InputFileError(self.path, "sourceAttributes/satellite RADARSAT-2", repr(sat) if sat else "none")
        ptype = x.text("imageGenerationParameters/generalProcessingInformation/productType")
        dtype = x.text("imageAttributes/rasterAttributes/dataType")
        if ptype != "SLC" or dtype != "Complex":
            raise InputFileError(self.path, "an SLC product (productType SLC, dataType Complex)", f"{ptype} / {dtype}")
        rp = "sourceAttributes/radarParameters"
        self.look_side = look_side(x.text(f"{rp}/antennaPointing"), self.path, f"{rp}/antennaPointing")
        self.center_frequency_hz = x.number(f"{rp}/radarCenterFrequency", positive=True)
        prfs = x.nodes(f"{rp}/pulseRepetitionFrequency")
        if len(prfs) != 1:
            raise InputFileError(self.path, f"one {rp}/pulseRepetitionFrequency (a single-beam product)",
                                 f"{len(prfs)}")
        self.prf_hz = x.number(f"{rp}/pulseRepetitionFrequency", positive=True)
        self.sampling_rate_hz = x.number(f"{rp}/adcSamplingRate", positive=True)
        pulse_s = x.number(f"{rp}/pulseLength", positive=True)
        bw_hz = x.number(f"{rp}/pulseBandwidth", positive=True)
        self.chirp = Chirp(slope_hz_per_s=bw_hz / pulse_s, duration_s=pulse_s)
        self.mode = x.text("sourceAttributes/beamModeMnemonic", default="")
        ra = "imageAttributes/rasterAttributes"
        self.n_lines = x.integer(f"{ra}/numberOfLines")
        self.n_samples = x.integer(f"{ra}/numberOfSamplesPerLine")
        bits = {el.get("dataStream", ""): el.text for el in x.nodes(f"{ra}/bitsPerSample")}
        if not bits or any((v or "").strip() not in ("16", "32") for v in bits.values()):
            raise InputFileError(self.path, f"{ra}/bitsPerSample 16 or 32", repr(bits))
        self.spacing_m = x.number(f"{ra}/sampledPixelSpacing", positive=True)
        if abs(self.spacing_m * 2 * self.sampling_rate_hz / SPEED_OF_LIGHT - 1) > 1e-3:
            raise InputFileError(self.path, f"{ra}/sampledPixelSpacing = c / (2 adcSamplingRate) for an SLC",
                                 f"{self.spacing_m} m vs {SPEED_OF_LIGHT / (2 * self.sampling_rate_hz):.6f} m")
        orders = []
        for what in ("lineTimeOrdering", "pixelTimeOrdering"):
            v = x.text(f"{ra}/{what}", default="Increasing")
            if v not in ("Increasing", "Decreasing"):
                raise InputFileError(self.path, f"{ra}/{what} Increasing or Decreasing", repr(v))
            orders.append(v == "Decreasing")
        self.flip_rows, self.flip_cols = orders
        sp = "imageGenerationParameters/sarProcessingInformation"
        t_first, t_last = x.utc(f"{sp}/zeroDopplerTimeFirstLine"), x.utc(f"{sp}/zeroDopplerTimeLastLine")
        if (t_last > t_first) == self.flip_rows or t_last == t_first:
            order = "Decreasing" if self.flip_rows else "Increasing"
            raise InputFileError(self.path, f"zeroDopplerTimeLastLine {'before' if self.flip_rows else 'after'} "
                                 f"zeroDopplerTimeFirstLine (lineTimeOrdering {order})",
                                 f"{iso(t_first)} and {iso(t_last)}")
        t0 = min(t_first, t_last)
        self.epoch = iso(t0)
        if self.n_lines < 2:
            raise InputFileError(self.path, f"{ra}/numberOfLines of at least 2", str(self.n_lines))
        self.line_interval_s = abs((t_last - t_first) / np.timedelta64(1, "ns")) * 1e-9 / (self.n_lines - 1)
        az_looks = x.number(f"{sp}/numberOfAzimuthLooks", default=1.0)
        rg_looks = x.number(f"{sp}/numberOfRangeLooks", default=1.0)
        if az_looks != 1 or rg_looks != 1:
            raise InputFileError(self.path, "a single-look product (numberOfAzimuthLooks = numberOfRangeLooks = 1)",
                                 f"{az_looks:g} x {rg_looks:g} looks")
        self.near_range_m = x.number(f"{sp}/slantRangeNearEdge", positive=True)
        self.range_bandwidth_hz = x.number(f"{sp}/totalProcessedRangeBandwidth", default=0.0) or None
        self.azimuth_bandwidth_hz = x.number(f"{sp}/totalProcessedAzimuthBandwidth", default=0.0) or None
        self.extra: dict[str, Any] = {
            "format": "RS2_SLC", "product_id": x.text("productId", default=""), "beam_mode": self.mode,
            "pass": x.text("sourceAttributes/orbitAndAttitude/orbitInformation/passDirection", default=""),
            "acquisition_prf_hz": self.prf_hz, "line_interval_over_pri": self.line_interval_s * self.prf_hz,
            "line_time_ordering": "Decreasing" if self.flip_rows else "Increasing",
            "pixel_time_ordering": "Decreasing" if self.flip_cols else "Increasing",
            "chirp_note": "slope = pulseBandwidth / pulseLength; the annotation states no chirp direction",
            "doppler_source": "imageGenerationParameters/dopplerCentroid: Hz, polynomial in two-way range time "
                              "tau (s) about dopplerCentroidReferenceTime",
            "fm_rate_source": "imageGenerationParameters/dopplerRateValues: Hz/s, polynomial in two-way range "
                              "time about dopplerRateReferenceTime, as annotated"}
        self._images(x, polarization)
        self._orbit(x, t0)
        self._doppler(x, t0)

    def _images(self, x: Xml, polarization: str | None) -> None:
        files = {}
        for el in x.nodes("imageAttributes/fullResolutionImageData"):
            pole = (el.get("pole") or "").upper()
            if not pole or not (el.text or "").strip():
                raise InputFileError(self.path, "fullResolutionImageData elements with a pole and a file name",
                                     repr((pole, el.text)))
            files[pole] = os.path.join(os.path.dirname(self.path), el.text.strip())
        if not files:
            raise InputFileError(self.path, "imageAttributes/fullResolutionImageData entries", "none")
        self.polarizations = list(files)
        pol = (polarization or self.polarizations[0]).upper()
        if pol not in files:
            raise InputFileError(self.path, f"a fullResolutionImageData of pole {pol}", f"only {self.polarizations}")
        self.polarization, self.image_path = pol, files[pol]

    def _orbit(self, x: Xml, t0: np.datetime64) -> None:
        svs = x.nodes("sourceAttributes/orbitAndAttitude/orbitInformation/stateVector")
        if len(svs) < 2:
            raise InputFileError(self.path, "at least 2 orbitInformation/stateVector entries", str(len(svs)))
        t = np.array([(x.utc("timeStamp", base=s) - t0) / np.timedelta64(1, "ns") * 1e-9 for s in svs])
        if np.any(np.diff(t) <= 0):
            i = int(np.argmax(np.diff(t) <= 0))
            raise InputFileError(self.path, "state vectors in increasing time order",
                                 f"stateVector {i + 2} at {t[i + 1]:.6f} s after {t[i]:.6f} s")
        p = [[x.number(f"{a}Position", base=s) for a in "xyz"] for s in svs]
        v = [[x.number(f"{a}Velocity", base=s) for a in "xyz"] for s in svs]
        self.orbit = Orbit(self.epoch, t, np.asarray(p), np.asarray(v), source=f"{self.path}:orbitInformation")

    def _doppler(self, x: Xml, t0: np.datetime64) -> None:
        far = self.near_range_m + self.spacing_m * (self.n_samples - 1)
        est = []
        for el in x.nodes("imageGenerationParameters/dopplerCentroid"):
            t = (x.utc("timeOfDopplerCentroidEstimate", base=el) - t0) / np.timedelta64(1, "ns") * 1e-9
            est.append((float(t), x.number("dopplerCentroidReferenceTime", base=el, positive=True),
                        list(x.numbers("dopplerCentroidCoefficients", base=el))))
        self.doppler = range_poly_doppler(est, self.near_range_m, far, source=self.path)
        rates = [(0.0, x.number("dopplerRateReferenceTime", base=el, positive=True),
                  list(x.numbers("dopplerRateValuesCoefficients", base=el)))
                 for el in x.nodes("imageGenerationParameters/dopplerRateValues")]
        self.fm_rate = (range_poly_doppler(rates[:1], self.near_range_m, far, source=self.path,
                                           what="Doppler rate estimates") if rates else None)

    def metadata(self) -> RadarMetadata:
        t_mid = 0.5 * (self.n_lines - 1) * self.line_interval_s
        speed = float(np.linalg.norm(self.orbit.interpolate(np.array([t_mid]), check=False)[1][0]))
        return RadarMetadata(
            sensor="RADARSAT2", platform="RADARSAT-2", mode=self.mode, polarization=self.polarization, level="slc",
            epoch=self.epoch, wavelength_m=SPEED_OF_LIGHT / self.center_frequency_hz,
            prf_hz=1.0 / self.line_interval_s, range_sampling_rate_hz=self.sampling_rate_hz,
            azimuth_line_interval_s=self.line_interval_s, range_pixel_spacing_m=self.spacing_m,
            look_side=self.look_side, grid="zero_doppler", doppler_centroid=self.doppler,
            azimuth_fm_rate=self.fm_rate, chirp=self.chirp, range_bandwidth_hz=self.range_bandwidth_hz,
            azimuth_bandwidth_hz=self.azimuth_bandwidth_hz, platform_velocity_mps=speed,
            source_files=[self.path, self.image_path], extra={**self.extra, "polarizations": self.polarizations})


def parse_product(path: str, polarization: str | None = None) -> Rs2Product:
    """Parse and check ``product.xml`` (no image access)."""
    return Rs2Product(path, polarization)


class TiffWindow(BlockWindow):
    """Lazy window on an RS2 GeoTIFF: two int16 bands (I, Q) or one complex band."""

    def read_block(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        import rasterio
        from rasterio.windows import Window

        try:
            with rasterio.open(self.path) as ds:
                a = ds.read(window=Window(c0, r0, c1 - c0, r1 - r0))
        except Exception as exc:
            raise InputFileError(self.path, f"readable GeoTIFF lines {r0} .. {r1 - 1}", error_line(exc)) from None
        if a.shape[0] == 2:
            return a[0].astype(np.float32) + 1j * a[1].astype(np.float32)
        return a[0].astype(np.complex64)


def _check_tiff(prod: Rs2Product) -> None:
    import rasterio

    path = prod.image_path
    input_file(path, f"the image {os.path.basename(path)} of {prod.path} (fullResolutionImageData)")
    try:
        with rasterio.open(path) as ds:
            shape, count, dtypes, compress = (ds.height, ds.width), ds.count, set(ds.dtypes), ds.compression
    except Exception as exc:
        raise InputFileError(path, "a readable GeoTIFF", error_line(exc)) from None
    if shape != (prod.n_lines, prod.n_samples):
        raise InputFileError(path, f"{prod.n_lines} lines x {prod.n_samples} samples (as in product.xml)",
                             f"{shape[0]} x {shape[1]}")
    ok = (count == 2 and dtypes <= {"int16", "int32", "float32"}) or (count == 1 and dtypes <= {"complex_int16",
                                                                                                  "complex64"})
    if not ok:
        raise InputFileError(path, "I and Q as two int16 bands (or one complex band)", f"{count} bands of {dtypes}")
    size = os.path.getsize(path)
    if compress is None and size < prod.n_lines * prod.n_samples * 4:
        raise InputFileError(path, f"an uncompressed GeoTIFF of at least {prod.n_lines * prod.n_samples * 4} bytes",
                             f"{size} bytes (truncated)")
    import tifffile

    try:  # every strip / tile of the image inside the file (a truncated TIFF can still open)
        with tifffile.TiffFile(path) as tf:
            page = tf.pages[0]
            end = max((o + n for o, n in zip(page.dataoffsets, page.databytecounts)), default=0)
    except Exception as exc:
        raise InputFileError(path, "a readable GeoTIFF", error_line(exc)) from None
    if end > size:
        raise InputFileError(path, f"image data up to byte {end} within the file", f"{size} bytes (truncated)")


def read_radarsat2(path: str, *, polarization: str | None = None, chunks: tuple[int, int] | int | None = None
                   ) -> Scene:
    """Read a RADARSAT-2 SLC product into a lazy :class:`Scene`.

    Parameters
    ----------
    path : ``product.xml`` or the product folder.
    polarization : e.g. "HH"; default the first fullResolutionImageData.
    chunks : dask chunks (lines, samples); default 1024 x 1024.
    """
    prod = parse_product(path, polarization)
    _check_tiff(prod)
    meta = prod.metadata()
    window = TiffWindow(prod.image_path, (prod.n_lines, prod.n_samples), flip_rows=prod.flip_rows,
                        flip_cols=prod.flip_cols)
    slc = lazy_image(window, chunks, "read-radarsat2-tiff")
    coords = radar_grid_coords(0.0, prod.line_interval_s, prod.n_lines, prod.near_range_m, prod.spacing_m,
                               prod.n_samples)
    ds = xr.Dataset({"slc": (("azimuth", "range"), slc, {"units": "1", "description":
                             f"{prod.polarization} SLC digital numbers (I + jQ)"})}, coords=coords)
    ds["azimuth_time"].attrs.update(units="s", description=f"zero-Doppler time after {meta.epoch} UTC")
    ds["slant_range"].attrs.update(units="m")
    return Scene(ds, meta, prod.orbit, {"source_format": "RS2_SLC"})


READER = ReaderInfo(
    name="RADARSAT2",
    description="RADARSAT-2 SLC (product.xml + GeoTIFF), zero-Doppler SLC",
    sniff=sniff_radarsat2,
    read=read_radarsat2,
    levels=("slc",),
    tested_on_real_data=True,
    aliases=("RS2", "RADARSAT-2"),
)
