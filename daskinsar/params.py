"""The base of every parameter model: a stage's settings, a run configuration section.

Strict (an unknown key is an error) and frozen (a stage never changes its settings).
Each stage defines its own model next to its code (``stages/<stage>.py``); the run
configuration (:class:`daskinsar.config.RunConfig`) composes those same classes, so a
setting has one name, one default and one description, with its unit.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Params"]


class Params(BaseModel):
    """Strict, immutable settings (units in the field names or descriptions)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
