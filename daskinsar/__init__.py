"""daskinsar: InSAR processing, from raw echoes to geocoded displacement, on Dask + Zarr."""

__version__ = "0.1.0"

from .errors import DaskInsarError  # noqa: F401
from .geometry.orbit import Orbit  # noqa: F401
from .scene import RadarMetadata, Scene  # noqa: F401


def open_scene(url, chunks="auto-store"):
    """Open a scene store lazily. See :func:`daskinsar.io.store.open_scene`."""
    from .io.store import open_scene as _open

    return _open(url, chunks=chunks)
