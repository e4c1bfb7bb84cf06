"""Simulation of physically consistent InSAR pairs with their truth.

- :func:`simulate_pair` (``api``): write reference/secondary SLC scenes, truth, DEM and config;
- :class:`SimulationConfig` and :func:`preset` (``presets``: "alos", "cband", "small", "demo");
- ``orbits``, ``terrain``, ``deformation`` (Mogi, Okada 1985), ``slc`` (signal model),
  ``point_targets`` (exact time-domain point-target echoes), ``raw`` (raw echoes of distributed scenes:
  the exact inverse of the project's range-Doppler focusing; ``simulate_pair(level="raw")``).
"""

from .api import SimulationResult, load_config, simulate_pair  # noqa: F401
from .presets import PRESETS, SimulationConfig, preset  # noqa: F401
