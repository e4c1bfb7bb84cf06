"""Sentinel-1 product annotation XML (``annotation/s1?-*.xml``) into a typed swath/burst model.

Conventions
-----------
- Azimuth time: float64 s since the swath's ``productFirstLineUtcTime`` (UTC), which is
  also the epoch of the annotation orbit (``generalAnnotation/orbitList``).
- ``slant_range = slantRangeTime * c / 2`` (one-way m; ``slantRangeTime`` is the two-way
  slant range time tau, s).
- Doppler centroid (``dataDcPolynomial``) and azimuth FM rate (``azimuthFmRatePolynomial``)
  are polynomials in ``tau - t0``, each valid around its own ``azimuthTime``; each is kept
  as a :class:`~daskinsar.scene.Poly1D` with ``variable="range_time"`` and
  ``reference=t0``; the scene metadata carries them as :class:`~daskinsar.scene.LUT2D`
  tables over (estimate azimuth time, slant range).
- Bursts (IW/EW SLC): ``swathTiming/burstList``; burst ``k`` occupies lines
  ``k * linesPerBurst ..`` of the measurement TIFF, but its lines are acquired from its
  own ``azimuthTime`` on: the TIFF is not on one time axis.
- Sentinel-1 is right-looking.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import xarray as xr

from ...bursts import TopsBurstParameters, esa_burst_id, relative_orbit_number
from ...errors import InputFileError
from ...geometry.ellipsoid import SPEED_OF_LIGHT
from ...geometry.orbit import Orbit, parse_utc, seconds_between
from ...scene import LUT2D, Burst, Chirp, Poly1D, RadarMetadata
from ._xml import PARSE_ERRORS, floats, fromstring, number, seconds_since, text
from .geolocation import bistatic_reference_range_time, burst_footprint

__all__ = ["S1Estimate", "S1Burst", "S1Swath", "parse_annotation", "read_annotation", "geolocation_grid",
           "grd_slant_range"]


@dataclass(frozen=True)
class S1Estimate:
    """One Doppler centroid or FM-rate estimate: a polynomial in tau - t0 (tau two-way s)."""

    azimuth_time_s: float
    poly: Poly1D

    def __call__(self, tau_s):
        """Value (Hz or Hz/s) at two-way slant range time ``tau_s`` (s)."""
        return self.poly(0.0, np.asarray(tau_s, dtype=np.float64) * SPEED_OF_LIGHT / 2.0)


@dataclass(frozen=True)
class S1Burst:
    """One burst of an IW/EW SLC annotation (times in s since the swath epoch)."""

    index: int
    azimuth_time_s: float  # first line (annotation azimuthTime)
    first_line: int  # its first line in the measurement TIFF
    n_lines: int
    first_valid_sample: list[int]  # per line; -1: no valid sample on that line
    last_valid_sample: list[int]
    sensing_time_s: float | None = None  # first input (raw) line of the burst
    azimuth_anx_time_s: float | None = None  # azimuthTime - ascending node time
    byte_offset: int | None = None
    annotated_burst_id: int | None = None  # burstId (IPF >= 3.40)

    @property
    def valid_lines(self) -> tuple[int, int]:
        """(first, last) line with valid samples, inclusive, within the burst."""
        v = np.flatnonzero(np.asarray(self.first_valid_sample) >= 0)
        if v.size == 0:
            return (0, -1)
        return int(v[0]), int(v[-1])

    def to_burst(self, time_offset_s: float = 0.0) -> Burst:
        return Burst(index=self.index, azimuth_time_s=self.azimuth_time_s + time_offset_s, first_line=self.first_line,
                     n_lines=self.n_lines, first_valid_sample=list(self.first_valid_sample),
                     last_valid_sample=list(self.last_valid_sample))


@dataclass
class S1Swath:
    """Everything daskinsar uses from one Sentinel-1 annotation XML."""

    annotation: str
    measurement: str | None
    mission: str
    product_type: str
    mode: str
    swath: str
    polarization: str
    epoch: str
    pass_direction: str
    heading_deg: float
    projection: str
    azimuth_time_interval_s: float
    slant_range_time_s: float
    range_sampling_rate_hz: float
    radar_frequency_hz: float
    prf_hz: float
    range_pixel_spacing_m: float
    azimuth_pixel_spacing_m: float
    n_samples: int
    n_lines: int
    azimuth_steering_rate_deg_s: float
    orbit: Orbit
    lines_per_burst: int
    bursts: list[S1Burst]
    dc_estimates: list[S1Estimate]
    fm_rates: list[S1Estimate]
    grid: xr.Dataset
    chirp: Chirp | None = None
    range_bandwidth_hz: float | None = None
    azimuth_bandwidth_hz: float | None = None
    incidence_mid_deg: float | None = None
    srgr: list[tuple[float, float, list[float]]] = field(default_factory=list)
    absolute_orbit: int | None = None
    ascending_node_time: str | None = None

    @property
    def wavelength_m(self) -> float:
        return SPEED_OF_LIGHT / self.radar_frequency_hz

    @property
    def near_range_m(self) -> float:
        return self.slant_range_time_s * SPEED_OF_LIGHT / 2.0

    @property
    def range_spacing_m(self) -> float:
        """Slant range spacing (m) of an SLC sample: c / (2 fs)."""
        return SPEED_OF_LIGHT / (2.0 * self.range_sampling_rate_hz)

    @property
    def is_slc(self) -> bool:
        return self.product_type.upper() == "SLC"

    @property
    def is_tops(self) -> bool:
        """An IW/EW SLC with bursts."""
        return self.is_slc and self.mode.upper() in ("IW", "EW") and bool(self.bursts)

    @property
    def relative_orbit(self) -> int | None:
        return None if self.absolute_orbit is None else relative_orbit_number(self.mission, self.absolute_orbit)

    def azimuth_times(self) -> np.ndarray:
        """Azimuth time (s since epoch) of the lines of a stripmap / GRD image (one time axis)."""
        return self.azimuth_time_interval_s * np.arange(self.n_lines, dtype=np.float64)

    def burst_line_times(self, burst: S1Burst | int) -> np.ndarray:
        """Azimuth time (s since epoch) of every line of one burst: its own first line + k intervals."""
        b = self.bursts[int(burst)] if isinstance(burst, (int, np.integer)) else burst
        return b.azimuth_time_s + self.azimuth_time_interval_s * np.arange(b.n_lines, dtype=np.float64)

    # ------------------------------------------------------------------ Doppler / FM rate
    def _lut(self, estimates: list[S1Estimate], time_offset_s: float, n_range: int = 33) -> LUT2D:
        r = self.near_range_m + np.linspace(0.0, (self.n_samples - 1) * self.range_spacing_m, n_range)
        t = [e.azimuth_time_s + time_offset_s for e in estimates]
        vals = [[float(v) for v in e(2.0 * r / SPEED_OF_LIGHT)] for e in estimates]
        return LUT2D(azimuth_time=t, slant_range=[float(x) for x in r], values=vals)

    def doppler_centroid_lut(self, time_offset_s: float = 0.0) -> LUT2D | Poly1D:
        """Data Doppler centroid (Hz) over (azimuth time s, slant range m): LUT2D over the estimates."""
        return self._lut(self.dc_estimates, time_offset_s) if self.dc_estimates else Poly1D()

    def fm_rate_lut(self, time_offset_s: float = 0.0) -> LUT2D | None:
        """Azimuth FM rate (Hz/s) over (azimuth time s, slant range m)."""
        return self._lut(self.fm_rates, time_offset_s) if self.fm_rates else None

    def metadata(self, source_files: Sequence[str] = (), *, epoch: str | None = None) -> RadarMetadata:
        """Radar metadata of the swath; ``epoch`` (default: the swath's) re-bases every time."""
        epoch = epoch or self.epoch
        off = seconds_between(epoch, self.epoch)
        return RadarMetadata(
            sensor="SENTINEL1",
            platform=self.mission,
            mode=self.mode,
            polarization=self.polarization,
            level="slc" if self.is_slc else "product",
            epoch=epoch,
            wavelength_m=self.wavelength_m,
            prf_hz=self.prf_hz,
            range_sampling_rate_hz=self.range_sampling_rate_hz,
            azimuth_line_interval_s=self.azimuth_time_interval_s,
            range_pixel_spacing_m=self.range_spacing_m if self.is_slc else self.range_pixel_spacing_m,
            look_side="right",
            grid="zero_doppler",
            doppler_centroid=self.doppler_centroid_lut(off),
            grid_doppler=Poly1D(),
            azimuth_fm_rate=self.fm_rate_lut(off),
            chirp=self.chirp,
            range_bandwidth_hz=self.range_bandwidth_hz,
            azimuth_bandwidth_hz=self.azimuth_bandwidth_hz,
            bursts=[b.to_burst(off) for b in self.bursts] or None,
            source_files=list(source_files),
            extra={
                "swath": self.swath,
                "product_type": self.product_type,
                "pass": self.pass_direction,
                "heading_deg": self.heading_deg,
                "projection": self.projection,
                "slant_range_time_s": self.slant_range_time_s,
                "azimuth_steering_rate_deg_s": self.azimuth_steering_rate_deg_s,
                "lines_per_burst": self.lines_per_burst,
                "incidence_mid_deg": self.incidence_mid_deg,
                "doppler_variable": "two-way slant range time tau (s); polynomials in tau - t0",
            },
        )

    # ------------------------------------------------------------------ bursts
    def burst_id(self, burst: S1Burst, relative_orbit: int | None = None) -> tuple[int | None, str | None]:
        """(ESA burst ID, "annotation" | "computed") of a burst; (None, None) when it cannot be known.

        The annotation's ``burstId`` when present; else :func:`~daskinsar.bursts.esa_burst_id`
        from the burst's ``sensingTime``, the annotation's ``ascendingNodeTime`` and the
        relative orbit (given, e.g. from the manifest, or from the absolute orbit number).
        """
        if burst.annotated_burst_id is not None:
            return burst.annotated_burst_id, "annotation"
        rel = relative_orbit if relative_orbit is not None else self.relative_orbit
        if rel is None or self.ascending_node_time is None or burst.sensing_time_s is None:
            return None, None
        since_anx = burst.sensing_time_s + seconds_between(self.ascending_node_time, self.epoch)
        return esa_burst_id(self.swath, since_anx, rel), "computed"

    def tops_parameters(self, burst: S1Burst | int, *, orbit: Orbit | None = None,
                        relative_orbit: int | None = None) -> TopsBurstParameters:
        """TOPS parameters of one burst (times in s since the swath epoch).

        FM rate and Doppler centroid: the estimates nearest the burst mid time; platform
        speed at the burst mid time from ``orbit`` (default: the annotation orbit).
        """
        b = self.bursts[int(burst)] if isinstance(burst, (int, np.integer)) else burst
        orbit = orbit or self.orbit
        dt = self.azimuth_time_interval_s
        t_mid = b.azimuth_time_s + dt * b.n_lines / 2.0
        _, v = orbit.interpolate(np.array([t_mid]))
        fm = _nearest(self.fm_rates, t_mid, "azimuthFmRateList")
        dc = _nearest(self.dc_estimates, t_mid, "dcEstimateList")
        bid, source = self.burst_id(b, relative_orbit)
        v0, v1 = b.valid_lines
        rel = relative_orbit if relative_orbit is not None else self.relative_orbit
        return TopsBurstParameters(
            mode=self.mode.upper(), swath=self.swath, polarization=self.polarization, burst_index=b.index,
            burst_id=bid, burst_id_source=source, relative_orbit=rel if bid is not None else None,
            first_line_time_s=b.azimuth_time_s, lines_per_burst=b.n_lines, line_interval_s=dt,
            sensing_time_s=b.sensing_time_s, valid_first_line=v0, valid_last_line=v1,
            range_sampling_rate_hz=self.range_sampling_rate_hz, reference_range_time_s=self.slant_range_time_s,
            wavelength_m=self.wavelength_m, steering_rate_rad_s=float(np.deg2rad(self.azimuth_steering_rate_deg_s)),
            platform_speed_mps=float(np.linalg.norm(v[0])), fm_rate=fm.poly, fm_rate_time_s=fm.azimuth_time_s,
            doppler_centroid=dc.poly, doppler_time_s=dc.azimuth_time_s, measurement_first_line=b.first_line,
            bistatic_reference_range_time_s=self.bistatic_reference_range_time_s())

    def bistatic_reference_range_time_s(self) -> float | None:
        """tau_C (s) of the residual bistatic delay, from ESA's geolocation grid
        (:func:`~daskinsar.io.sentinel1.geolocation.bistatic_reference_range_time`)."""
        return bistatic_reference_range_time(self)

    def burst_footprint(self, burst: S1Burst | int) -> np.ndarray:
        """(lon, lat) deg polygon of a burst's valid lines
        (:func:`~daskinsar.io.sentinel1.geolocation.burst_footprint`)."""
        return burst_footprint(self, self.bursts[int(burst)] if isinstance(burst, (int, np.integer)) else burst)


def _nearest(estimates: list[S1Estimate], t: float, what: str) -> S1Estimate:
    if not estimates:
        raise ValueError(f"no {what} estimates in the annotation")
    return min(estimates, key=lambda e: abs(e.azimuth_time_s - t))


# ---------------------------------------------------------------------------------------- parsing
def _orbit_from_list(root, epoch: str, source: str) -> Orbit:
    osv = root.findall("generalAnnotation/orbitList/orbit")
    if len(osv) < 2:
        raise ValueError(f"generalAnnotation/orbitList has {len(osv)} state vectors, need >= 2")
    times, pos, vel = [], [], []
    for o in osv:
        times.append(text(o, "time", source))
        pos.append([float(text(o, f"position/{c}", source)) for c in "xyz"])
        vel.append([float(text(o, f"velocity/{c}", source)) for c in "xyz"])
    return Orbit(epoch, seconds_since(epoch, times), np.array(pos), np.array(vel), source=source)


def _estimate(node, poly_tag: str, epoch: str, where: str) -> S1Estimate:
    t = float(seconds_since(epoch, [text(node, "azimuthTime", where)])[0])
    t0 = float(text(node, "t0", where))
    if node.find(poly_tag) is not None:
        coeffs = floats(text(node, poly_tag, where))
    else:  # FM rate of IPF < 2.43: c0, c1, c2 elements
        coeffs = [float(text(node, c, where)) for c in ("c0", "c1", "c2")]
    return S1Estimate(t, Poly1D(reference=t0, scale=1.0, coeffs=coeffs, variable="range_time"))


def _estimates(nodes, poly_tag: str, epoch: str, where: str) -> list[S1Estimate]:
    return sorted((_estimate(n, poly_tag, epoch, where) for n in nodes), key=lambda e: e.azimuth_time_s)


_GRID_FIELDS = ("slantRangeTime", "line", "pixel", "latitude", "longitude", "height", "incidenceAngle",
                "elevationAngle")
_GRID_NAMES = {"slantRangeTime": "slant_range_time", "incidenceAngle": "incidence_angle",
               "elevationAngle": "elevation_angle"}
_GRID_UNITS = {"azimuth_time": "s since epoch (UTC)", "slant_range_time": "s (two-way)", "slant_range": "m (one-way)",
               "latitude": "deg", "longitude": "deg", "height": "m (ellipsoid)", "incidence_angle": "deg",
               "elevation_angle": "deg", "line": "image line", "pixel": "image sample"}


def _grid_from_root(root, epoch: str, where: str) -> xr.Dataset:
    pts = root.findall("geolocationGrid/geolocationGridPointList/geolocationGridPoint")
    if not pts:
        raise ValueError("geolocationGrid has no points")
    az = seconds_since(epoch, [text(p, "azimuthTime", where) for p in pts])
    cols = {k: np.array([float(text(p, k, where)) for p in pts]) for k in _GRID_FIELDS}
    _check_grid(az, cols)
    lines = np.unique(cols["line"])
    pixels = np.unique(cols["pixel"])
    data = {"azimuth_time": az, **{_GRID_NAMES.get(k, k): v for k, v in cols.items()}}
    data["slant_range"] = cols["slantRangeTime"] * SPEED_OF_LIGHT / 2.0
    if len(lines) * len(pixels) == len(pts):
        order = np.lexsort((cols["pixel"], cols["line"]))
        shape = (len(lines), len(pixels))
        dims = ("grid_line", "grid_pixel")
        ds = xr.Dataset({k: (dims, v[order].reshape(shape), {"units": _GRID_UNITS[k]}) for k, v in data.items()})
    else:
        ds = xr.Dataset({k: (("point",), v, {"units": _GRID_UNITS[k]}) for k, v in data.items()})
    ds.attrs.update(epoch=epoch, source=where,
                    description="Sentinel-1 annotation geolocationGrid; azimuth_time in s since epoch, "
                                "slant_range = slant_range_time * c / 2")
    return ds


def _check_grid(az: np.ndarray, cols: dict[str, np.ndarray]) -> None:
    """Every geolocation grid point finite (line, pixel, times, heights, angles), at a positive slant range
    time, a latitude and longitude (a damaged point would silently change what the grid is used for)."""
    if not (np.all(np.isfinite(az)) and all(np.all(np.isfinite(v)) for v in cols.values())):
        raise ValueError("geolocationGrid points with non-finite values")
    if np.any(cols["slantRangeTime"] <= 0) or np.any(cols["slantRangeTime"] > 0.4):
        raise ValueError("geolocationGrid slantRangeTime values of 0 .. 0.4 s (two-way, ranges up to 6e7 m)")
    if np.any(np.abs(cols["latitude"]) > 90) or np.any(np.abs(cols["longitude"]) > 360):
        raise ValueError("geolocationGrid latitudes within +-90 and longitudes within +-360 deg")


def _bursts(root, epoch: str, name: str, lpb: int) -> list[S1Burst]:
    declared = root.find("swathTiming/burstList")
    n = len(root.findall("swathTiming/burstList/burst"))
    if declared is not None and declared.get("count") not in (None, str(n)):
        raise ValueError(f"burstList count {declared.get('count')!r} but {n} bursts")
    out = []
    for i, b in enumerate(root.findall("swathTiming/burstList/burst")):
        fvs = [int(x) for x in text(b, "firstValidSample", name).split()]
        lvs = [int(x) for x in text(b, "lastValidSample", name).split()]
        if len(fvs) != lpb or len(lvs) != lpb:
            raise ValueError(f"burst {i}: {len(fvs)} / {len(lvs)} valid-sample entries for {lpb} lines per burst")
        sensing = b.find("sensingTime")
        anx = b.find("azimuthAnxTime")
        off = b.find("byteOffset")
        bid = b.find("burstId")
        out.append(S1Burst(
            index=i, azimuth_time_s=float(seconds_since(epoch, [text(b, "azimuthTime", name)])[0]),
            first_line=i * lpb, n_lines=lpb, first_valid_sample=fvs, last_valid_sample=lvs,
            sensing_time_s=float(seconds_since(epoch, [sensing.text.strip()])[0]) if sensing is not None
            and sensing.text else None,
            azimuth_anx_time_s=float(anx.text) if anx is not None and anx.text else None,
            byte_offset=int(off.text) if off is not None and off.text else None,
            annotated_burst_id=int(bid.text) if bid is not None and bid.text and bid.text.strip() else None))
    t = np.array([b.azimuth_time_s for b in out])
    if len(t) > 1 and not np.all(np.diff(t) > 0):
        # burst k holds lines k * linesPerBurst of the TIFF: bursts out of time order would get another's lines
        raise ValueError(f"bursts in increasing azimuthTime order (got {t.tolist()} s)")
    return out


def _optional_float(root, path: str) -> float | None:
    el = root.find(path)
    return float(el.text) if el is not None and el.text else None


#: Sentinel-1 units (adsHeader/missionId)
S1_MISSIONS = ("S1A", "S1B", "S1C", "S1D")


def parse_annotation(data: bytes, name: str, measurement: str | None = None) -> S1Swath:
    """Parse one product annotation XML (``annotation/s1?-*.xml``) into an :class:`S1Swath`."""
    what = "a Sentinel-1 product annotation XML (<product> with adsHeader, imageAnnotation, orbitList)"
    root = fromstring(data, name, what)
    if root.tag != "product" or root.find("adsHeader") is None:
        raise InputFileError(name, what, f"root element <{root.tag}>")
    try:
        hdr = root.find("adsHeader")
        info = "imageAnnotation/imageInformation"
        epoch = text(root, f"{info}/productFirstLineUtcTime", name)
        parse_utc(epoch)
        pi = "generalAnnotation/productInformation"
        n_lines = int(text(root, f"{info}/numberOfLines", name))
        n_samples = int(text(root, f"{info}/numberOfSamples", name))
        if n_lines <= 0 or n_samples <= 0:
            raise ValueError(f"image size {n_lines} x {n_samples}")
        prf_el = root.find("generalAnnotation/downlinkInformationList/downlinkInformation/prf")
        az_freq = number(root, f"{info}/azimuthFrequency", name)
        prf = float(prf_el.text) if prf_el is not None and prf_el.text else az_freq
        lpb = int(text(root, "swathTiming/linesPerBurst", name, default="0"))
        dl = "generalAnnotation/downlinkInformationList/downlinkInformation/downlinkValues"
        chirp = None
        if root.find(f"{dl}/txPulseRampRate") is not None:
            chirp = Chirp(slope_hz_per_s=number(root, f"{dl}/txPulseRampRate", name),
                          duration_s=number(root, f"{dl}/txPulseLength", name),
                          start_frequency_hz=number(root, f"{dl}/txPulseStartFrequency", name))
        spp = "imageAnnotation/processingInformation/swathProcParamsList/swathProcParams"
        srgr = [(float(seconds_since(epoch, [text(c, "azimuthTime", name)])[0]), float(text(c, "gr0", name)),
                 floats(text(c, "grsrCoefficients", name)))
                for c in root.findall("coordinateConversion/coordinateConversionList/coordinateConversion")]
        abs_orbit = hdr.find("absoluteOrbitNumber")
        anx = root.find(f"{info}/ascendingNodeTime")
        if anx is not None and anx.text:
            parse_utc(anx.text)
        for field, value, known in (("adsHeader/missionId", text(hdr, "missionId", name), S1_MISSIONS),
                                    ("adsHeader/productType", text(hdr, "productType", name), ("SLC", "GRD")),
                                    (f"{pi}/pass", text(root, f"{pi}/pass", name, default="Ascending"),
                                     ("Ascending", "Descending"))):
            if value not in known:
                raise InputFileError(name, f"{field} one of {', '.join(known)}", repr(value))
        return S1Swath(
            annotation=name,
            measurement=measurement,
            mission=text(hdr, "missionId", name),
            product_type=text(hdr, "productType", name),
            mode=text(hdr, "mode", name),
            swath=text(hdr, "swath", name),
            polarization=text(hdr, "polarisation", name),
            epoch=epoch,
            pass_direction=text(root, f"{pi}/pass", name, default="unknown"),
            heading_deg=number(root, f"{pi}/platformHeading", name, default="nan"),
            projection=text(root, f"{pi}/projection", name, default="Slant Range"),
            azimuth_time_interval_s=number(root, f"{info}/azimuthTimeInterval", name),
            slant_range_time_s=number(root, f"{info}/slantRangeTime", name),
            range_sampling_rate_hz=number(root, f"{pi}/rangeSamplingRate", name),
            radar_frequency_hz=number(root, f"{pi}/radarFrequency", name),
            prf_hz=prf,
            range_pixel_spacing_m=number(root, f"{info}/rangePixelSpacing", name),
            azimuth_pixel_spacing_m=number(root, f"{info}/azimuthPixelSpacing", name),
            n_samples=n_samples,
            n_lines=n_lines,
            azimuth_steering_rate_deg_s=number(root, f"{pi}/azimuthSteeringRate", name, default="0"),
            orbit=_orbit_from_list(root, epoch, name),
            lines_per_burst=lpb,
            bursts=_bursts(root, epoch, name, lpb),
            dc_estimates=_estimates(root.findall("dopplerCentroid/dcEstimateList/dcEstimate"), "dataDcPolynomial",
                                    epoch, name),
            fm_rates=_estimates(root.findall("generalAnnotation/azimuthFmRateList/azimuthFmRate"),
                                "azimuthFmRatePolynomial", epoch, name),
            grid=_grid_from_root(root, epoch, name),
            chirp=chirp,
            range_bandwidth_hz=_optional_float(root, f"{spp}/rangeProcessing/processingBandwidth"),
            azimuth_bandwidth_hz=_optional_float(root, f"{spp}/azimuthProcessing/processingBandwidth"),
            incidence_mid_deg=_optional_float(root, f"{info}/incidenceAngleMidSwath"),
            srgr=srgr,
            absolute_orbit=int(abs_orbit.text) if abs_orbit is not None and abs_orbit.text else None,
            ascending_node_time=anx.text.strip() if anx is not None and anx.text else None,
        )
    except InputFileError:
        raise
    except PARSE_ERRORS as exc:
        raise InputFileError(name, what, f"a missing or invalid field: {exc}") from None


def grd_slant_range(swath: S1Swath, azimuth_time_s: float, ground_range_m) -> np.ndarray:
    """Slant range (m) of GRD ground-range positions (m from the first sample) at an azimuth time (s).

    Evaluates the ground-to-slant-range polynomial (``grsrCoefficients`` in
    ``ground_range - gr0``) of the conversion entry nearest in time, as ESA's own
    geolocation grid does (the entries are not smooth in time, so interpolating between
    them is worse than taking the nearest).
    """
    if not swath.srgr:
        raise ValueError(f"{swath.annotation}: no coordinateConversion entries (not a GRD annotation)")
    k = int(np.argmin([abs(t - azimuth_time_s) for t, _, _ in swath.srgr]))
    _, gr0, cs = swath.srgr[k]
    return np.polynomial.polynomial.polyval(np.asarray(ground_range_m, dtype=np.float64) - gr0, cs)


def read_annotation(annotation: str | os.PathLike | bytes) -> S1Swath:
    """Parse an annotation XML given as a path or bytes."""
    if isinstance(annotation, (bytes, bytearray)):
        return parse_annotation(bytes(annotation), "<annotation bytes>")
    path = str(annotation)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise InputFileError(path, "a Sentinel-1 annotation XML", str(exc)) from None
    return parse_annotation(data, path)


def geolocation_grid(annotation: str | os.PathLike | bytes) -> xr.Dataset:
    """ESA's geolocation grid of one annotation XML (SLC or GRD).

    An ``xarray.Dataset`` on dims ``(grid_line, grid_pixel)`` with ``azimuth_time`` (s since
    ``attrs['epoch']``, the swath's first line UTC, also the epoch of the annotation orbit),
    ``slant_range_time`` (two-way s), ``slant_range`` (m), ``line``, ``pixel``,
    ``latitude``/``longitude`` (deg), ``height`` (m, ellipsoidal), ``incidence_angle`` and
    ``elevation_angle`` (deg).
    """
    return read_annotation(annotation).grid
