"""Sentinel-1 SAFE products (folder or ``.zip``): container, annotation, measurement TIFF, orbit
files and the reader (``SENTINEL1``).

- :mod:`.container`: the SAFE folder / zip / manifest, which swaths and polarisations it holds;
- :mod:`.annotation`: annotation XML into :class:`S1Swath` / :class:`S1Burst` (timing, orbit,
  bursts, Doppler and FM-rate estimates, geolocation grid, burst IDs, TOPS parameters);
- :mod:`.measurement`: the measurement TIFF as a lazy dask array, strip/tile aligned;
- :mod:`.orbit_file`: precise / restituted orbit files (``.EOF``);
- :mod:`.reader`: :func:`read_sentinel1` (IW SLC -> :class:`~daskinsar.bursts.TopsScene`,
  stripmap SLC / GRD -> :class:`~daskinsar.scene.Scene`), sniffing, ``READER``.
"""

from .annotation import S1Burst, S1Estimate, S1Swath, geolocation_grid, grd_slant_range, parse_annotation, \
    read_annotation
from .container import SafeProduct, SafeSource, open_safe
from .measurement import measurement_array
from .orbit_file import orbit_covering, read_eof
from .reader import READER, MeasurementRaster, measurement_raster, read_sentinel1, sniff_sentinel1, tops_metadata

__all__ = ["S1Burst", "S1Estimate", "S1Swath", "geolocation_grid", "grd_slant_range", "parse_annotation",
           "read_annotation", "SafeProduct", "SafeSource", "open_safe", "measurement_array", "orbit_covering",
           "read_eof", "READER", "MeasurementRaster", "measurement_raster", "read_sentinel1", "sniff_sentinel1",
           "tops_metadata"]
