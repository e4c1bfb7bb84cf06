"""Write a daskinsar SLC scene as a TerraSAR-X level-1b SSC product (annotation XML + COSAR).

The product folder holds ``<name>.xml`` (the main annotation, laid out like a real TSX-1 SSC
annotation: generalHeader, productComponents, productInfo, productSpecific, processing,
instrument, platform) and ``IMAGEDATA/IMAGE_<pol>_SRA_strip_011.cos``. Values come from the
scene: timing and range grid, orbit state vectors (positions and velocities, timeUTC with
microseconds like the real product), centre frequency, line rate, range sampling, look side,
Doppler centroid (polynomials in two-way range time) and the zero-Doppler FM rate from the
orbit. Pixels are scaled to int16 digital numbers (rms 150 DN by default; the factor is in
the annotation's ``generalHeader/remark`` for tests) and written one row-chunk slab at a time.
COSAR layout: see :mod:`daskinsar.io.terrasarx` (written independently of the reader).
"""

from __future__ import annotations

import os
import struct
from xml.etree import ElementTree as ET

import numpy as np

from ...errors import DaskInsarError
from ...geometry.ellipsoid import SPEED_OF_LIGHT
from ...scene import Scene
from ._common import Grid, corner_points, dn_scale, doppler_poly, fm_rate_poly, grid_of, row_blocks, slc_array, \
    sub, utc, utc_text, xml_tree

__all__ = ["write_terrasarx"]

_FILLER = b"\x7f\x7f\x7f\x7f"


def _poly(parent: ET.Element, tag: str, grid: Grid, ref: float, coeffs: list[float]) -> None:
    p = sub(parent, tag)
    sub(p, "validityRangeMin", grid.tau0_s)
    sub(p, "validityRangeMax", grid.tau0_s + (grid.n_rg - 1) * grid.dtau_s)
    sub(p, "referencePoint", ref)
    sub(p, "polynomialDegree", len(coeffs) - 1)
    for k, c in enumerate(coeffs):
        sub(p, "coefficient", float(c), exponent=k)


def _t(grid: Grid, seconds: float, zone: str = "Z") -> str:
    return utc_text(utc(grid.epoch, seconds), 6, "T", zone)


def _annotation(scene: Scene, grid: Grid, name: str, image_rel: str, pol: str, mission: str,
                scale: float) -> ET.Element:
    m = scene.meta
    t_first, t_last = grid.t0_s, grid.time(grid.n_az - 1)
    root = ET.Element("level1Product")
    gh = sub(root, "generalHeader", fileName=f"{name}.xml", fileVersion="1.0", status="OPERATIONAL")
    sub(gh, "itemName", "Level 1B Product")
    sub(gh, "mission", mission)
    sub(gh, "generationSystem", "daskinsar simulator", version="1.0")
    sub(gh, "remark", f"simulated; digital numbers = {scale:.17E} x scene SLC")
    pc = sub(root, "productComponents")
    ann = sub(pc, "annotation")
    sub(ann, "type", "MAIN")
    loc = sub(sub(ann, "file"), "location")
    sub(loc, "host", ".")
    sub(loc, "path", ".")
    sub(loc, "filename", f"{name}.xml")
    img = sub(pc, "imageData", layerIndex=1)
    sub(img, "polLayer", pol)
    f = sub(img, "file")
    loc = sub(f, "location")
    sub(loc, "host", ".")
    sub(loc, "path", os.path.dirname(image_rel))
    sub(loc, "filename", os.path.basename(image_rel))
    sub(f, "size", (grid.n_az + 4) * 4 * (grid.n_rg + 2))

    pi = sub(root, "productInfo")
    mi = sub(pi, "missionInfo")
    sub(mi, "mission", mission)
    sub(mi, "absOrbit", 0)
    sub(mi, "orbitDirection", "ASCENDING" if scene.orbit.interpolate(np.array([t_first]))[1][0][2] > 0
        else "DESCENDING")
    ai = sub(pi, "acquisitionInfo")
    sub(ai, "sensor", "SAR")
    sub(ai, "imagingMode", "SM")
    sub(ai, "lookDirection", m.look_side.upper())
    sub(ai, "polarisationMode", "SINGLE")
    sub(sub(ai, "polarisationList"), "polLayer", pol)
    sub(ai, "elevationBeamConfiguration", "strip_011")
    pv = sub(pi, "productVariantInfo")
    sub(pv, "productType", "SSC____SM_S")
    sub(pv, "productVariant", "SSC")
    sub(pv, "projection", "SLANTRANGE")
    sub(pv, "radiometricCorrection", "CALIBRATED")
    di = sub(pi, "imageDataInfo")
    sub(di, "pixelValueID", "RADAR BRIGHTNESS")
    sub(di, "imageDataType", "COMPLEX")
    sub(di, "imageDataFormat", "COSAR")
    sub(di, "numberOfLayers", 1)
    sub(di, "imageDataDepth", 32)
    sub(di, "imageStorageOrder", "ROWBYROW")
    sub(di, "rowContent", "RANGELINES")
    sub(di, "columnContent", "AZIMUTHLINES")
    ir = sub(di, "imageRaster")
    sub(ir, "numberOfRows", grid.n_az)
    sub(ir, "numberOfColumns", grid.n_rg)
    sub(ir, "rowSpacing", grid.dtau_s, units="s")
    sub(ir, "columnSpacing", grid.dt_s, units="s")
    si = sub(pi, "sceneInfo")
    sub(si, "sceneID", f"simulated_{_t(grid, t_first)}")
    sub(sub(si, "start"), "timeUTC", _t(grid, t_first))
    sub(sub(si, "stop"), "timeUTC", _t(grid, t_last))
    rt = sub(si, "rangeTime")
    sub(rt, "firstPixel", grid.tau0_s)
    sub(rt, "lastPixel", grid.tau0_s + (grid.n_rg - 1) * grid.dtau_s)
    corners = corner_points(scene, grid)
    c = corners["mid_mid"]
    cc = sub(si, "sceneCenterCoord")
    sub(cc, "refRow", grid.n_az // 2 + 1)
    sub(cc, "refColumn", grid.n_rg // 2 + 1)
    sub(cc, "lat", c[0])
    sub(cc, "lon", c[1])
    sub(cc, "azimuthTimeUTC", _t(grid, grid.time((grid.n_az - 1) / 2)))
    sub(cc, "rangeTime", 2 * grid.range((grid.n_rg - 1) / 2) / SPEED_OF_LIGHT)
    sub(cc, "incidenceAngle", c[3])
    sub(si, "sceneAverageHeight", 0.0)
    for key, row, col in (("first_near", 1, 1), ("first_far", 1, grid.n_rg), ("last_near", grid.n_az, 1),
                          ("last_far", grid.n_az, grid.n_rg)):
        lat, lon, _, inc = corners[key]
        e = sub(si, "sceneCornerCoord")
        sub(e, "refRow", row)
        sub(e, "refColumn", col)
        sub(e, "lat", lat)
        sub(e, "lon", lon)
        sub(e, "azimuthTimeUTC", _t(grid, grid.time(row - 1)))
        sub(e, "rangeTime", 2 * grid.range(col - 1) / SPEED_OF_LIGHT)
        sub(e, "incidenceAngle", inc)

    ps = sub(sub(root, "productSpecific"), "complexImageInfo", beamID="strip_011")
    sub(ps, "commonPRF", 1.0 / grid.dt_s)
    sub(ps, "commonRSF", 1.0 / grid.dtau_s)
    sub(ps, "imageCoordinateType", "ZERODOPPLER")
    sub(ps, "imageDataStartWith", "EARLYAZNEARRG")

    proc = sub(root, "processing")
    geo = sub(proc, "geometry")
    sub(geo, "geometryCoordinateType", "ZERODOPPLER")
    times = [grid.time(x) for x in np.linspace(0, grid.n_az - 1, 3)]
    for t in times:
        dr = sub(geo, "dopplerRate")
        sub(dr, "timeUTC", _t(grid, t))
        _poly(dr, "dopplerRatePolynomial", grid, *fm_rate_poly(scene, grid, t))
    dop = sub(proc, "doppler")
    sub(dop, "dopplerCentroidCoordinateType", "ZERODOPPLER")
    dc = sub(dop, "dopplerCentroid", layerIndex=1)
    sub(dc, "polLayer", pol)
    sub(dc, "numberOfDopplerRecords", len(times))
    for t in times:
        e = sub(dc, "dopplerEstimate")
        sub(e, "timeUTC", _t(grid, t))
        ref, coeffs = doppler_poly(scene, grid, t)
        sub(e, "dopplerAtMidRange", coeffs[0])
        _poly(e, "combinedDoppler", grid, ref, coeffs)
    pp = sub(proc, "processingParameter")
    sub(pp, "beamID", "strip_011")
    sub(pp, "rangeLooks", 1.0)
    sub(pp, "azimuthLooks", 1.0)
    if m.range_bandwidth_hz:
        sub(pp, "totalProcessedRangeBandwidth", float(m.range_bandwidth_hz))
    if m.azimuth_bandwidth_hz:
        sub(pp, "totalProcessedAzimuthBandwidth", float(m.azimuth_bandwidth_hz))

    ins = sub(root, "instrument")
    sub(sub(ins, "radarParameters"), "centerFrequency", SPEED_OF_LIGHT / m.wavelength_m)
    st = sub(ins, "settings")
    sub(st, "polLayer", pol)
    sub(st, "beamID", "strip_011")
    if m.chirp is not None:
        sub(st, "rxBandwidth", float(m.chirp.bandwidth_hz), code=1)
    sub(st, "RSF", 1.0 / grid.dtau_s, code=3)
    sr = sub(st, "settingRecord")
    sub(sr, "PRF", m.prf_hz, code=0)

    orb = sub(sub(root, "platform"), "orbit")
    o = scene.orbit.shift_epoch(grid.epoch) if scene.orbit.epoch != grid.epoch else scene.orbit
    oh = sub(orb, "orbitHeader")
    sub(oh, "sensor", "GPSD")
    sub(oh, "accuracy", "SCIE")
    sub(oh, "stateVectorRefFrame", "WGS84")
    sub(oh, "stateVecFormat", "pos(m),vel(m/s)")
    sub(oh, "numStateVectors", len(o.time))
    for i, t in enumerate(o.time):
        sv = sub(orb, "stateVec", maneuver="NO", num=i + 1, qualInd=1)
        sub(sv, "timeUTC", _t(grid, float(t), zone=""))
        for k, ax in enumerate("XYZ"):
            sub(sv, f"pos{ax}", float(o.position[i, k]))
        for k, ax in enumerate("XYZ"):
            sub(sv, f"vel{ax}", float(o.velocity[i, k]))
    return root


def write_terrasarx(scene: Scene, path: str, *, mission: str = "TSX-1", rms_dn: float = 150.0) -> str:
    """Write ``scene`` as a TSX level-1b SSC product in folder ``path``; returns the annotation XML path.

    ``mission``: "TSX-1", "TDX-1" or "PAZ-1". ``rms_dn``: rms of the int16 digital numbers.
    """
    if mission not in ("TSX-1", "TDX-1", "PAZ-1"):
        raise DaskInsarError(f"write_terrasarx: unknown mission {mission!r}")
    grid = grid_of(scene, "TerraSAR-X SSC")
    pol = (scene.meta.polarization or "HH").upper()
    os.makedirs(os.path.join(path, "IMAGEDATA"), exist_ok=True)
    stamp = utc_text(utc(grid.epoch, grid.t0_s), 0, "T").replace("-", "").replace(":", "")
    stamp2 = utc_text(utc(grid.epoch, grid.time(grid.n_az - 1)), 0, "T").replace("-", "").replace(":", "")
    prefix = {"TSX-1": "TSX1", "TDX-1": "TDX1", "PAZ-1": "PAZ1"}[mission]
    name = f"{prefix}_SAR__SSC______SM_S_SRA_{stamp}_{stamp2}"
    image_rel = os.path.join("IMAGEDATA", f"IMAGE_{pol}_SRA_strip_011.cos")
    slc = slc_array(scene)
    scale = dn_scale(slc, rms_dn)
    rs, az = grid.n_rg, grid.n_az
    rtnb = 4 * (rs + 2)
    with open(os.path.join(path, image_rel), "wb") as fh:
        head = struct.pack(">7i", (az + 4) * rtnb, 1, rs, az, 1, rtnb, az + 4) + b"CSAR" + b"\x00\x00\x00\x01"
        fh.write(head + _FILLER * ((rtnb - len(head)) // 4))
        for values in (np.ones(rs), np.ones(rs), np.full(rs, az)):  # ASRI, ASFV, ASLV per range sample
            fh.write(_FILLER * 2 + values.astype(">i4").tobytes())
        for _, _, block in row_blocks(slc):
            z = block.astype(np.complex128) * scale  # float64 product, rounded half to even
            iq = np.empty((block.shape[0], 4 + 2 * rs), ">i2")
            lim = np.array([1, rs], ">i4").view(">i2")
            iq[:, :4] = lim
            iq[:, 4::2] = np.clip(np.round(z.real), -32767, 32767)
            iq[:, 5::2] = np.clip(np.round(z.imag), -32767, 32767)
            fh.write(iq.tobytes())
    xml_path = os.path.join(path, f"{name}.xml")
    xml_tree(_annotation(scene, grid, name, image_rel, pol, mission, scale), xml_path)
    return xml_path
