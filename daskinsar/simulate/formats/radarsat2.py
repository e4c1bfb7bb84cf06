"""Write a daskinsar SLC scene as a RADARSAT-2 SLC product (``product.xml`` + ``imagery_<pol>.tif``).

``product.xml`` follows the layout of a real RS2 SLC (default namespace
``http://www.rsi.ca/rs2/prod/xml/schemas``; sourceAttributes with radar parameters and orbit
state vectors, imageGenerationParameters with zero-Doppler first/last line times, near-edge slant
range, Doppler centroid and Doppler rate polynomials in two-way range time, imageAttributes with
the raster description, a small geolocation grid and the image file names). Values come from
the scene; the Doppler rate is the zero-Doppler FM rate from the orbit. The GeoTIFF holds int16
I and Q as two bands, written one row-chunk slab at a time, stored far-to-near
(``pixelTimeOrdering`` Decreasing, as in the real sample) unless told otherwise. The
digital-number scale factor is in the ``productId`` comment element ``_simulationScale``.
"""

from __future__ import annotations

import os
from xml.etree import ElementTree as ET

import numpy as np

from ...errors import DaskInsarError
from ...geometry.ellipsoid import SPEED_OF_LIGHT
from ...scene import Scene
from ._common import corner_points, dn_scale, doppler_poly, fm_rate_poly, geo_grid, grid_of, row_blocks, \
    slc_array, sub, utc, utc_text, xml_tree

__all__ = ["write_radarsat2"]

NAMESPACE = "http://www.rsi.ca/rs2/prod/xml/schemas"


def _e(v: float) -> str:
    return f"{float(v):.15e}"


def _text(parent: ET.Element, tag: str, value: float, units: str | None = None, **attrs) -> ET.Element:
    el = sub(parent, tag, **({"units": units} if units else {}), **attrs)
    el.text = _e(value)
    return el


def write_radarsat2(scene: Scene, path: str, *, pixel_time_ordering: str = "Decreasing",
                    line_time_ordering: str = "Increasing", rms_dn: float = 150.0) -> str:
    """Write ``scene`` as an RS2 SLC product in folder ``path``; returns the ``product.xml`` path."""
    import rasterio
    from rasterio.control import GroundControlPoint
    from rasterio.windows import Window

    for v in (pixel_time_ordering, line_time_ordering):
        if v not in ("Increasing", "Decreasing"):
            raise DaskInsarError(f"write_radarsat2: time ordering must be Increasing or Decreasing, got {v!r}")
    g = grid_of(scene, "RADARSAT-2 SLC")
    m = scene.meta
    if m.chirp is None:
        raise DaskInsarError("write_radarsat2: the scene has no chirp (pulse length and bandwidth are needed)")
    pol = (m.polarization or "HH").upper()
    os.makedirs(path, exist_ok=True)
    flip_rows, flip_cols = line_time_ordering == "Decreasing", pixel_time_ordering == "Decreasing"
    slc = slc_array(scene)
    scale = dn_scale(slc, rms_dn)
    tif = os.path.join(path, f"imagery_{pol}.tif")
    corners = corner_points(scene, g)
    gcps = [GroundControlPoint(row=(g.n_az - 1 - line) if flip_rows else line,
                               col=(g.n_rg - 1 - pix) if flip_cols else pix, x=corners[k][1], y=corners[k][0],
                               z=corners[k][2])
            for k, line, pix in (("first_near", 0, 0), ("first_far", 0, g.n_rg - 1), ("last_near", g.n_az - 1, 0),
                                 ("last_far", g.n_az - 1, g.n_rg - 1))]
    profile = dict(driver="GTiff", height=g.n_az, width=g.n_rg, count=2, dtype="int16", tiled=False,
                   interleave="pixel", gcps=gcps, crs="EPSG:4326")
    with rasterio.open(tif, "w", **profile) as ds:
        for r0, r1, block in row_blocks(slc):
            z = block.astype(np.complex128) * scale  # float64 product, rounded half to even
            if flip_rows:
                z = z[::-1]
                r0, r1 = g.n_az - r1, g.n_az - r0
            if flip_cols:
                z = z[:, ::-1]
            iq = np.stack([np.clip(np.round(z.real), -32767, 32767), np.clip(np.round(z.imag), -32767, 32767)])
            ds.write(iq.astype(np.int16), window=Window(0, r0, g.n_rg, r1 - r0))

    t_first, t_last = g.t0_s, g.time(g.n_az - 1)
    stamp = {True: t_last, False: t_first}
    root = ET.Element("product", xmlns=NAMESPACE, copyright="simulated by daskinsar")
    sub(root, "productId", "PDS_SIMULATED")
    sub(root, "_simulationScale", f"{scale:.17E}")
    sa = sub(root, "sourceAttributes")
    sub(sa, "satellite", "RADARSAT-2")
    sub(sa, "sensor", "SAR")
    sub(sa, "inputDatasetId", "0")
    sub(sa, "imageId", "0")
    sub(sa, "inputDatasetFacilityId", "SIM")
    sub(sa, "beamModeId", "0")
    sub(sa, "beamModeMnemonic", "F1")
    sub(sa, "rawDataStartTime", utc_text(utc(g.epoch, t_first), 6, "T", "Z"))
    rp = sub(sa, "radarParameters")
    sub(rp, "acquisitionType", "Fine")
    sub(rp, "beams", "F1")
    sub(rp, "polarizations", pol)
    _text(rp, "radarCenterFrequency", SPEED_OF_LIGHT / m.wavelength_m, "Hz")
    _text(rp, "pulseRepetitionFrequency", m.prf_hz, "Hz", beam="F1")
    _text(rp, "pulseLength", m.chirp.duration_s, "s", pulse="1")
    _text(rp, "pulseBandwidth", m.chirp.bandwidth_hz, "Hz", pulse="1")
    sub(rp, "antennaPointing", m.look_side.capitalize())
    _text(rp, "adcSamplingRate", SPEED_OF_LIGHT / (2 * g.dr_m), "Hz", pulse="1")
    oi = sub(sub(sa, "orbitAndAttitude"), "orbitInformation")
    o = scene.orbit.shift_epoch(g.epoch) if scene.orbit.epoch != g.epoch else scene.orbit
    sub(oi, "passDirection", "Ascending" if o.interpolate(np.array([t_first]))[1][0][2] > 0 else "Descending")
    sub(oi, "orbitDataSource", "Downlinked")
    for i, t in enumerate(o.time):
        sv = sub(oi, "stateVector")
        sub(sv, "timeStamp", utc_text(utc(g.epoch, float(t)), 6, "T", "Z"))
        for k, a in enumerate("xyz"):
            _text(sv, f"{a}Position", o.position[i, k], "m")
        for k, a in enumerate("xyz"):
            _text(sv, f"{a}Velocity", o.velocity[i, k], "m/s")

    ig = sub(root, "imageGenerationParameters")
    gp = sub(ig, "generalProcessingInformation")
    sub(gp, "productType", "SLC")
    sub(gp, "processingFacility", "SIM")
    sp = sub(ig, "sarProcessingInformation")
    sub(sp, "zeroDopplerTimeFirstLine", utc_text(utc(g.epoch, stamp[flip_rows]), 6, "T", "Z"))
    sub(sp, "zeroDopplerTimeLastLine", utc_text(utc(g.epoch, stamp[not flip_rows]), 6, "T", "Z"))
    sub(sp, "numberOfRangeLooks", 1)
    if m.range_bandwidth_hz:
        _text(sp, "totalProcessedRangeBandwidth", m.range_bandwidth_hz, "Hz")
    sub(sp, "numberOfAzimuthLooks", 1)
    if m.azimuth_bandwidth_hz:
        _text(sp, "totalProcessedAzimuthBandwidth", m.azimuth_bandwidth_hz, "Hz")
    _text(sp, "incidenceAngleNearRange", corners["first_near"][3], "deg")
    _text(sp, "incidenceAngleFarRange", corners["first_far"][3], "deg")
    _text(sp, "slantRangeNearEdge", g.r0_m, "m")
    t_mid = g.time((g.n_az - 1) / 2)
    dc = sub(ig, "dopplerCentroid")
    sub(dc, "timeOfDopplerCentroidEstimate", utc_text(utc(g.epoch, t_mid), 6, "T", "Z"))
    ref, coeffs = doppler_poly(scene, g, t_mid)
    _text(dc, "dopplerCentroidReferenceTime", ref, "s")
    sub(dc, "dopplerCentroidCoefficients", " ".join(_e(c) for c in coeffs))
    dr = sub(ig, "dopplerRateValues")
    ref, coeffs = fm_rate_poly(scene, g, t_mid, degree=2)
    _text(dr, "dopplerRateReferenceTime", ref, "s")
    sub(dr, "dopplerRateValuesCoefficients", " ".join(_e(c) for c in coeffs))

    ia = sub(root, "imageAttributes")
    sub(ia, "productFormat", "GeoTIFF")
    sub(ia, "outputMediaInterleaving", "BSQ")
    ra = sub(ia, "rasterAttributes")
    sub(ra, "dataType", "Complex")
    sub(ra, "bitsPerSample", 16, dataStream="Real")
    sub(ra, "bitsPerSample", 16, dataStream="Imaginary")
    sub(ra, "numberOfSamplesPerLine", g.n_rg)
    sub(ra, "numberOfLines", g.n_az)
    _text(ra, "sampledPixelSpacing", g.dr_m, "m")
    speed = float(np.linalg.norm(o.interpolate(np.array([t_mid]))[1][0]))
    _text(ra, "sampledLineSpacing", speed * g.dt_s * 0.88, "m")  # about the ground speed x line interval
    sub(ra, "lineTimeOrdering", line_time_ordering)
    sub(ra, "pixelTimeOrdering", pixel_time_ordering)
    grid_el = sub(sub(ia, "geographicInformation"), "geolocationGrid")
    file_lines = np.linspace(0, g.n_az - 1, 5)  # tie points on a regular grid in file (line, pixel) order
    file_pix = np.linspace(0, g.n_rg - 1, 5)
    lat, lon = geo_grid(scene, g, g.n_az - 1 - file_lines if flip_rows else file_lines,
                        g.n_rg - 1 - file_pix if flip_cols else file_pix)
    for i, line in enumerate(file_lines):
        for j, pix in enumerate(file_pix):
            tp = sub(grid_el, "imageTiePoint")
            ic = sub(tp, "imageCoordinate")
            _text(ic, "line", line)
            _text(ic, "pixel", pix)
            gc = sub(tp, "geodeticCoordinate")
            _text(gc, "latitude", lat[i, j], "deg")
            _text(gc, "longitude", lon[i, j], "deg")
            _text(gc, "height", 0.0, "m")
    sub(ia, "fullResolutionImageData", os.path.basename(tif), pole=pol)
    xml_path = os.path.join(path, "product.xml")
    xml_tree(root, xml_path)
    return xml_path
