"""Every command works with HOME unwritable and the installed package read-only (numba's kernel cache
then goes to a private folder in the system's temporary directory)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import daskinsar

SCRIPT = """
import sys, numpy as np
import daskinsar
from daskinsar.cli import app
from daskinsar.geometry.orbit import Orbit
assert daskinsar.__file__.startswith(sys.argv[1]), daskinsar.__file__
t = np.arange(10.0) * 10
orbit = Orbit("2020-01-01T00:00:00", t, np.c_[7e6 + 0 * t, 7.5e3 * t, 0 * t], np.tile([0.0, 7.5e3, 0.0], (10, 1)))
print(orbit.interpolate(np.array([42.0]))[0])  # a compiled (cached) kernel
try:
    app(["--help"])
except SystemExit as e:
    assert e.code == 0, e.code
"""


def test_commands_work_with_unwritable_home_and_read_only_package(tmp_path):
    # the package copied with every __pycache__ a file (so no cache folder can be made there, even as root)
    # and HOME under /proc (nothing can be created there)
    copy = tmp_path / "site"
    shutil.copytree(Path(daskinsar.__file__).parent, copy / "daskinsar", ignore=shutil.ignore_patterns("__pycache__"))
    for d, _, _ in os.walk(copy / "daskinsar"):
        (Path(d) / "__pycache__").write_text("not a folder")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME")}
    env.update(HOME="/proc/no-such-home", PYTHONPATH=str(copy), TMPDIR=str(tmpdir), PYTHONDONTWRITEBYTECODE="1")
    res = subprocess.run([sys.executable, "-c", SCRIPT, str(copy)], env=env, capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)  # not the checkout: python -c puts the cwd first
    assert res.returncode == 0, res.stderr[-2000:]
    assert "Usage" in res.stdout
    cache = list(tmpdir.glob("daskinsar-numba-cache-*"))
    assert cache and any(p.suffix in (".nbi", ".nbc") for p in cache[0].rglob("*"))
