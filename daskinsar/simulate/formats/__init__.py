"""Writers of simulated scenes in sensor formats, so the real readers can be exercised end to end.

Each ``write_<format>(scene, path) -> str`` writes a :class:`~daskinsar.scene.Scene` (SLC, or raw
echoes for the raw levels) block by block as a product of that format, with real-looking
metadata, and returns the path to give the reader. Values the format cannot represent exactly
(times, sample codes) are rounded to the format's resolution, which each writer documents.
"""
