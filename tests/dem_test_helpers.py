"""A tile server on 127.0.0.1 for DEM download tests: static files with HTTP Range support (GDAL's
/vsicurl reads COG windows by byte ranges), stopped by the context manager. Never the internet."""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import threading


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass

    def send_head(self):
        path = self.translate_path(self.path)
        if not os.path.isfile(path):
            self.send_error(404, "File not found")
            return None
        size = os.path.getsize(path)
        m = re.match(r"bytes=(\d+)-(\d*)$", self.headers.get("Range", ""))
        f = open(path, "rb")
        if m:
            start = int(m.group(1))
            end = min(int(m.group(2)) if m.group(2) else size - 1, size - 1)
            if start >= size:
                f.close()
                self.send_error(416, "Range not satisfiable")
                return None
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.send_header("Content-Length", str(end - start + 1))
            f.seek(start)
            self._remaining = end - start + 1
        else:
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self._remaining = size
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        return f

    def copyfile(self, source, outputfile):
        n = self._remaining
        while n > 0:
            buf = source.read(min(n, 1 << 16))
            if not buf:
                break
            outputfile.write(buf)
            n -= len(buf)


@contextlib.contextmanager
def serve(directory: str):
    """Serve ``directory`` on 127.0.0.1 (free port); yields the base URL."""
    handler = lambda *a, **k: _RangeHandler(*a, directory=directory, **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        t.join(5)


def synthetic_geoid_n(lon, lat):
    """The undulation (m) of the synthetic test geoid: linear in lon and lat, so bilinear
    interpolation between its 1-degree nodes reproduces it exactly (away from the antimeridian)."""
    return 20.0 + 0.5 * lat + 0.1 * lon


def write_synthetic_geoid(path: str) -> str:
    """A global 1-degree grid laid out as PROJ's geoid GeoTIFFs (nodes at whole degrees,
    -180..179 lon, 90..-90 lat, GDAL corner geotransform), values :func:`synthetic_geoid_n`."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    lon = -180.0 + np.arange(360)
    lat = 90.0 - np.arange(181)
    n = synthetic_geoid_n(lon[None, :], lat[:, None]).astype(np.float32)
    with rasterio.open(path, "w", driver="GTiff", width=360, height=181, count=1, dtype="float32",
                       crs="EPSG:4326", transform=from_origin(-180.5, 90.5, 1.0, 1.0)) as dst:
        dst.write(n, 1)
    return path


def copernicus_tiles(root, heights, lats=(41, 42), lon=12, n=360):
    """Tiles laid out as the Copernicus GLO-30 bucket (one folder per tile), 1/n deg samples (sample
    centres on whole multiples, ``AREA_OR_POINT=Point``) of ``heights(lon, lat)`` (m)."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    d = 1.0 / n
    for lat in lats:
        name = f"Copernicus_DSM_COG_10_N{lat:02d}_00_E{lon:03d}_00_DEM"
        os.makedirs(os.path.join(root, name), exist_ok=True)
        i, j = np.mgrid[0:n, 0:n]
        lo, la = lon + j * d, lat + 1 - i * d
        t = from_origin(lon - d / 2, lat + 1 + d / 2, d, d)
        with rasterio.open(os.path.join(root, name, name + ".tif"), "w", driver="GTiff", width=n, height=n,
                           count=1, dtype="float32", crs="EPSG:4326", transform=t,
                           tiled=True, blockxsize=256, blockysize=256, compress="deflate") as dst:
            dst.write(heights(lo, la).astype(np.float32), 1)
            dst.update_tags(AREA_OR_POINT="Point")
