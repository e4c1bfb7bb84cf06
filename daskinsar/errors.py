"""Errors that daskinsar raises for bad input.

Every error a user can cause carries a message that names the file (or the
setting) and says what was expected. The CLI prints ``str(err)`` as one line and
exits non-zero; nothing deeper than that reaches the user.
"""

from __future__ import annotations


class DaskInsarError(Exception):
    """Base class of all errors daskinsar raises deliberately."""


class InputFileError(DaskInsarError):
    """An input file is missing, truncated, of the wrong format or wrong sensor."""

    def __init__(self, path, expected: str, found: str | None = None):
        self.path = str(path)
        self.expected = expected
        self.found = found
        msg = f"{self.path}: expected {expected}"
        if found:
            msg += f", found {found}"
        super().__init__(" ".join(msg.splitlines()))  # always one line


class OrbitCoverageError(DaskInsarError):
    """Requested azimuth times fall outside the orbit's state vectors."""


class DemCoverageError(DaskInsarError):
    """The DEM does not cover the area the scene needs."""


class GeometryError(DaskInsarError):
    """A geometry solve (rdr2geo / geo2rdr) did not converge or is ill posed."""


class ConfigError(DaskInsarError):
    """A run configuration is invalid."""


class PairError(DaskInsarError):
    """Reference and secondary scenes do not form a usable pair."""


class OutputPathError(DaskInsarError):
    """An output path holds something daskinsar did not create (never replaced), or is an input."""


class RunLockedError(DaskInsarError):
    """Another daskinsar run is writing the same run folder."""


class UnsupportedSceneError(DaskInsarError):
    """A valid scene that daskinsar cannot process correctly (refused, never processed approximately)."""


class TopsSceneError(DaskInsarError):
    """A TOPS (burst) product was given where a stripmap scene is needed."""
