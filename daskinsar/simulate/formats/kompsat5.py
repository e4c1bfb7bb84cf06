"""Write a daskinsar SLC scene as a KOMPSAT-5 level-1A SCS HDF5 product (COSMO-SkyMed layout,
Mission ID KMPS, ``/S01/SBI``); see :func:`daskinsar.simulate.formats.csk.write_csk_family`."""

from __future__ import annotations

from ...scene import Scene
from .csk import write_csk_family

__all__ = ["write_kompsat5"]


def write_kompsat5(scene: Scene, path: str, *, dtype: str = "float32", rms_dn: float = 150.0) -> str:
    """Write ``scene`` as a KOMPSAT-5 SCS_B product at ``path`` (``.h5``). Returns ``path``."""
    return write_csk_family(scene, path, mission="KMPS", satellite="KMPS5", product_type="SCS_B",
                            mode="STANDARD", beam="ST-04", dtype=dtype, rms_dn=rms_dn)
