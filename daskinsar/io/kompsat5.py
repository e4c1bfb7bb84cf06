"""Reader for KOMPSAT-5 level-1A SCS products (HDF5).

KOMPSAT-5 products share the COSMO-SkyMed first-generation HDF5 layout (root attributes,
``/S01`` beam group, ``/S01/SBI`` (lines, samples, 2) I/Q dataset, the same attribute names and
units), with root ``Mission ID`` KMPS; they are read by :func:`daskinsar.io.csk.read_csk_family`,
whose docstring lists the layout, the conventions of the returned scene and why sarpy (which
also reads KOMPSAT-5 into a SICD) is not used.

KOMPSAT-5 specific: ISCE2's reader multiplies the centroid polynomial by PRF x Line Time
Interval; this reader accepts only products where that factor is 1 (Line Time Interval = 1/PRF,
within 1e-6) and refuses others rather than guess the units.
"""

from __future__ import annotations

from ..scene import Scene
from .csk import mission_id, read_csk_family
from .readers import ReaderInfo

__all__ = ["read_kompsat5", "sniff_kompsat5"]


def sniff_kompsat5(path: str) -> bool:
    """HDF5 with root attribute Mission ID KMPS. Never raises."""
    return mission_id(path) == "KMPS"


def read_kompsat5(path: str, *, polarization: str | None = None, chunks: tuple[int, int] | int | None = None
                  ) -> Scene:
    """Read a KOMPSAT-5 level-1A SCS HDF5 product into a lazy :class:`Scene`.

    Parameters
    ----------
    path : the ``.h5`` file.
    polarization : e.g. "HH"; default the first beam group's.
    chunks : dask chunks (lines, samples); default 1024 x 1024.
    """
    return read_csk_family(path, ("KMPS",), polarization=polarization, chunks=chunks)


READER = ReaderInfo(
    name="KOMPSAT5",
    description="KOMPSAT-5 level-1A SCS (HDF5, COSMO-SkyMed layout), zero-Doppler SLC",
    sniff=sniff_kompsat5,
    read=read_kompsat5,
    levels=("slc",),
    tested_on_real_data=False,
    aliases=("KOMPSAT-5", "K5", "KMPS"),
)
