"""daskinsar: InSAR processing, from raw echoes to geocoded displacement, on Dask + Zarr.

The public API::

    import daskinsar as di
    scene = di.read_scene("S1B_IW_SLC__...SAFE")     # any supported sensor, lazily
    di.open_scene("ref.zarr")                         # a daskinsar scene store
    cfg = di.load_config("insarApp.xml")              # or a YAML run configuration
    status = di.run(cfg)                              # the pipeline, on the active dask scheduler
    di.simulate_pair("demo", "sim")                   # a simulated pair with its truth

Each stage (``daskinsar.stages.<name>``) exposes ``run(inputs: xr.Dataset, params) -> xr.Dataset``
with its parameter model (``FocusParams``, ``TopoParams``, ...), the same class the run
configuration's section is.
"""

__version__ = "0.1.0"

import os as _os
import sys as _sys
import tempfile as _tempfile


def _writable(folder: str) -> bool:
    try:
        _os.makedirs(folder, exist_ok=True)
        _tempfile.TemporaryFile(dir=folder).close()
        return True
    except OSError:
        return False


def _ensure_numba_cache() -> None:
    """numba caches compiled kernels next to the sources or in the user's cache folder; where neither is
    writable (a read-only install, an unwritable HOME) it would refuse to compile at all. Then the cache
    goes to a private folder in the system's temporary directory (NUMBA_CACHE_DIR)."""
    if _os.environ.get("NUMBA_CACHE_DIR"):
        return
    user = _os.path.join(_os.environ.get("XDG_CACHE_HOME") or _os.path.join(_os.path.expanduser("~"), ".cache"), "numba")
    if _writable(_os.path.join(_os.path.dirname(__file__), "__pycache__")) or _writable(user):
        return
    folder = _os.path.join(_tempfile.gettempdir(), f"daskinsar-numba-cache-{_os.getuid()}")
    if not _writable(folder):
        folder = _tempfile.mkdtemp(prefix="daskinsar-numba-cache-")
    _os.environ["NUMBA_CACHE_DIR"] = folder
    if "numba" in _sys.modules:  # numba read its configuration already
        _sys.modules["numba"].config.CACHE_DIR = folder


_ensure_numba_cache()

from .config import RunConfig, load_config  # noqa: E402
from .errors import DaskInsarError  # noqa: E402
from .geometry.orbit import Orbit  # noqa: E402
from .io.readers import SceneReader, read_scene  # noqa: E402
from .io.store import open_scene  # noqa: E402
from .pipeline import run  # noqa: E402
from .scene import RadarMetadata, Scene  # noqa: E402
from .simulate import simulate_pair  # noqa: E402
from .stages import coherence, filter, focus, geocode, interferogram, offsets, resample, topo, unwrap  # noqa: E402

__all__ = [
    "__version__", "DaskInsarError", "Orbit", "RadarMetadata", "Scene", "SceneReader", "RunConfig",
    "open_scene", "read_scene", "load_config", "run", "simulate_pair",
    "coherence", "filter", "focus", "geocode", "interferogram", "offsets", "resample", "topo", "unwrap",
]
