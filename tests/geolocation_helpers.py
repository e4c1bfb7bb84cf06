"""Geolocation measured on a run's own geocoding, without a peak estimator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from daskinsar.config import RunConfig
from daskinsar.scene import radar_attrs
from daskinsar.stages import geocode
from daskinsar.steps import RunContext


def geocoded_position_error_px(run_dir: Path, target) -> np.ndarray:
    """(rows, columns) of output pixels between where the run's geocoding puts the target and its
    true longitude/latitude.

    The run's geocode stage, with the run's settings, DEM and reference metadata, geocodes the
    multilooked grid's own row and column numbers (bilinear interpolation reproduces a linear ramp
    exactly, so no peak estimator is involved). At the target's true longitude/latitude they must
    read the multilooked pixel the target was simulated in; the difference is converted to output
    pixels with the local derivatives of the geocoded ramps."""
    cfg = RunConfig.model_validate_json((run_dir / "config.json").read_text())
    ctx = RunContext(cfg, run_dir, progress=False)
    ifg, geo, ref = ctx.open("interferogram"), ctx.open("geocode"), ctx.scene("reference")
    la, lr = ifg.attrs["looks"]
    rows, cols = np.meshgrid(np.arange(ifg.sizes["azimuth"], dtype=np.float32),
                             np.arange(ifg.sizes["range"], dtype=np.float32), indexing="ij")
    inputs = xr.Dataset({"lon": ifg["lon"], "lat": ifg["lat"], "row": (("azimuth", "range"), rows),
                         "col": (("azimuth", "range"), cols)},
                        coords={"azimuth_time": ifg["azimuth_time"], "slant_range": ifg["slant_range"]},
                        attrs=radar_attrs(ref.meta, ref.orbit, "reference"))
    out = geocode.run(inputs.assign(dem=ctx.dem()), cfg.geocode.model_copy(update={"posting": geo.attrs["posting"]}))
    np.testing.assert_array_equal(out["x"].values, geo["x"].values)  # the run's own output grid
    x, y = out["x"].values, out["y"].values
    fy, fx = (target.lat_deg - y[0]) / (y[1] - y[0]), (target.lon_deg - x[0]) / (x[1] - x[0])
    i, j = int(fy), int(fx)
    ramps = np.stack([out["row"].values[i:i + 2, j:j + 2], out["col"].values[i:i + 2, j:j + 2]]).astype(float)
    wy, wx = fy - i, fx - j
    seen = (ramps[:, 0, 0] * (1 - wy) * (1 - wx) + ramps[:, 0, 1] * (1 - wy) * wx
            + ramps[:, 1, 0] * wy * (1 - wx) + ramps[:, 1, 1] * wy * wx)
    truth = np.array([(target.reference_row - (la - 1) / 2) / la, (target.reference_col - (lr - 1) / 2) / lr])
    jac = np.array([[ramps[0, 1, 0] - ramps[0, 0, 0], ramps[0, 0, 1] - ramps[0, 0, 0]],
                    [ramps[1, 1, 0] - ramps[1, 0, 0], ramps[1, 0, 1] - ramps[1, 0, 0]]])  # d(radar)/d(output px)
    return np.linalg.solve(jac, truth - seen)
