"""Writers of simulated scenes as vendor products, so that the real readers are exercised.

Each ``write_<name>(scene, path, ...) -> str`` writes a daskinsar SLC :class:`~daskinsar.scene.Scene`
(e.g. :func:`daskinsar.io.store.open_scene` of ``simulate_pair``'s ``reference.zarr``) block by
block as a product of that format, with the structure, names, units and conventions of real
products and values from the scene, and returns the path a reader takes.
"""

from .terrasarx import write_terrasarx  # noqa: F401
from .radarsat2 import write_radarsat2  # noqa: F401
from .csk import write_csk  # noqa: F401
from .kompsat5 import write_kompsat5  # noqa: F401
from .alos_ceos import write_alos_ceos  # noqa: F401
