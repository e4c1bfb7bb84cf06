"""The base of every parameter model: a stage's settings, a run configuration section.

Strict (an unknown key is an error; NaN and infinities are refused) and frozen (a stage never
changes its settings). Values convert only without loss: ``"1e-4"`` (which YAML 1.1 reads as text)
is the number 1e-4, ``50.0`` an integer 50, ``"yes"`` true; ``3.7`` for an integer is an error.
Each stage defines its own model next to its code (``stages/<stage>.py``); the run
configuration (:class:`daskinsar.config.RunConfig`) composes those same classes, so a
setting has one name, one default and one description, with its unit.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Params"]


class Params(BaseModel):
    """Strict, immutable settings (units in the field names or descriptions)."""

    # no setting is ever NaN or infinite: refused, whatever its bounds
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
