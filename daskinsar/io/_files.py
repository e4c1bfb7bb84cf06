"""Opening input files, and describing what went wrong in one line naming the right cause.

Every reader checks its inputs through :func:`input_file` / :func:`input_folder` before
parsing them, so that the message says what is really there: no such file, a folder where a
file is expected (or the reverse), permission denied, an empty file. (``os.path.exists`` and
friends answer False for a file behind a folder one may not enter, which would read as "no such
file".) :func:`describe` turns any exception (a pydantic ``ValidationError`` included) into
one line for an :class:`~daskinsar.errors.InputFileError`.
"""

from __future__ import annotations

import errno
import os
import stat

from ..errors import InputFileError

__all__ = ["input_file", "input_folder", "describe", "check_declared_size", "h5_values", "h5_check_image",
           "H5_MAX_RATIO", "open_raster"]


def _stat(path: str, expected: str, noun: str) -> os.stat_result:
    try:
        return os.stat(path)
    except FileNotFoundError:
        raise InputFileError(path, expected, f"no such {noun}") from None
    except PermissionError:
        raise InputFileError(path, expected, "permission denied (cannot look it up)") from None
    except OSError as exc:
        raise InputFileError(path, expected, describe(exc)) from None


def input_file(path, expected: str, *, allow_empty: bool = False) -> int:
    """Size (bytes) of an input file that exists, is a regular file and can be opened for reading;
    otherwise :class:`InputFileError` with the right cause."""
    path = str(path)
    st = _stat(path, expected, "file")
    if stat.S_ISDIR(st.st_mode):
        raise InputFileError(path, expected, "a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise InputFileError(path, expected, "not a regular file")
    try:
        fd = os.open(path, os.O_RDONLY)
    except PermissionError:
        raise InputFileError(path, expected, "permission denied (the file cannot be read)") from None
    except OSError as exc:
        raise InputFileError(path, expected, describe(exc)) from None
    os.close(fd)
    if st.st_size == 0 and not allow_empty:
        raise InputFileError(path, expected, "an empty file")
    return int(st.st_size)


def input_folder(path, expected: str) -> None:
    """Raise :class:`InputFileError` unless ``path`` is a folder whose entries can be listed."""
    path = str(path)
    st = _stat(path, expected, "folder")
    if not stat.S_ISDIR(st.st_mode):
        raise InputFileError(path, expected, "a file, not a folder")
    try:
        os.listdir(path)
    except PermissionError:
        raise InputFileError(path, expected, "permission denied (the folder cannot be listed)") from None


def open_raster(path: str, expected: str):
    """An open rasterio dataset of ``path`` (a file GDAL reads; the caller closes it), or
    :class:`InputFileError` with GDAL's first line of complaint. A missing georeference is left for
    the caller to judge (no warning)."""
    import warnings

    import rasterio

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            return rasterio.open(path)
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputFileError(path, expected, msg) from None


def describe(exc: BaseException) -> str:
    """One line saying what ``exc`` is about (pydantic validation errors: each field and its problem)."""
    errors = getattr(exc, "errors", None)
    if callable(errors) and type(exc).__name__ == "ValidationError":
        try:
            items = errors()
            return "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ())) or 'value'}: {e.get('msg', '')} "
                             f"(got {e.get('input')!r})" for e in items)[:400]
        except Exception:  # pragma: no cover - a pydantic version without errors()
            pass
    if isinstance(exc, OSError) and exc.errno == errno.EACCES:
        return "permission denied"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:400] if text else type(exc).__name__


def check_declared_size(path: str, what: str, n_bytes: int, available: int) -> None:
    """Refuse a declared size (``n_bytes`` of ``what``) that cannot fit in the ``available`` bytes,
    before anything of that size is allocated."""
    if n_bytes > available:
        raise InputFileError(path, f"{what} within the file", f"{n_bytes} bytes declared, the file holds only "
                                                              f"{available}")


#: a filtered (compressed) HDF5 dataset is believed up to this many times its stored size (deflate's limit
#: is about 1032:1); an unfiltered one up to the file's size
H5_MAX_RATIO = 1100
_MIB = 1 << 20


def _h5_stored(dset) -> tuple[int, int, bool]:
    """(declared bytes, stored bytes, filtered) of an h5py dataset."""
    declared = int(dset.size) * int(dset.dtype.itemsize)
    stored = int(dset.id.get_storage_size())
    filtered = dset.id.get_create_plist().get_nfilters() > 0
    return declared, stored, filtered


def h5_values(dset, path: str, file_size: int):
    """``dset[()]`` of a metadata dataset, after checking that its declared size is one the file can hold (a
    dataset declared 2**40 elements long is refused before anything is allocated)."""
    declared, stored, filtered = _h5_stored(dset)
    limit = (H5_MAX_RATIO * stored if filtered else file_size) + _MIB
    if declared > limit:
        raise InputFileError(path, f"dataset {dset.name} of a size the file can hold",
                             f"shape {dset.shape} declared ({declared} bytes), {stored} bytes stored")
    return dset[()]


def h5_check_image(dset, path: str, file_size: int) -> None:
    """Refuse an image dataset whose declared size the file does not hold: unfiltered, every byte stored
    (within the file); filtered, something stored and at most :data:`H5_MAX_RATIO` times that declared."""
    declared, stored, filtered = _h5_stored(dset)
    if filtered:
        ok = stored > 0 and declared <= H5_MAX_RATIO * stored
    else:
        offset = dset.id.get_offset()
        ok = stored >= declared and (offset is None or offset + declared <= file_size)
    if not ok:
        raise InputFileError(path, f"the {declared} bytes of {dset.name} (shape {dset.shape}) stored in the file",
                             f"{stored} bytes stored in a {file_size}-byte file (truncated, unwritten or inflated)")
