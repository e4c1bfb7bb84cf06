#!/usr/bin/env bash
# The benchmark report's peers, which the project itself does not depend on (benchmarks/README.md, "Peers"):
# whirlwind-insar in this Python environment, dolphin with GDAL's bindings in its own Python 3.12 virtualenv
# (PyPI's gdal-wheel has CPython 3.12 and 3.13 wheels only). Run once on a fresh machine before
# `python benchmarks/run.py --frame`; DOLPHIN_VENV overrides the venv folder (then pass --dolphin-python),
# DOLPHIN_BASE_PYTHON the CPython 3.12/3.13 it is made from (default: python3.12, python3.13, or pyenv's).
set -euo pipefail
venv="${DOLPHIN_VENV:-/tmp/dolphin-venv}"
base="${DOLPHIN_BASE_PYTHON:-}"
for c in python3.12 python3.13; do
  if [ -z "$base" ] && "$c" -c "" 2>/dev/null; then base="$c"; fi
done
if [ -z "$base" ] && command -v pyenv >/dev/null; then
  v="$(pyenv versions --bare | grep -E '^3\.1[23]\.[0-9]+$' | head -1 || true)"
  if [ -n "$v" ]; then base="$(pyenv root)/versions/$v/bin/python"; fi
fi
if [ -z "$base" ]; then
  echo "no CPython 3.12 or 3.13 found for the dolphin venv (set DOLPHIN_BASE_PYTHON)" >&2
  exit 1
fi
python -m pip install --quiet --disable-pip-version-check whirlwind-insar
python -c "import whirlwind" || { echo "whirlwind-insar did not install into $(command -v python)" >&2; exit 1; }
if [ ! -x "$venv/bin/python" ]; then
  "$base" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check gdal-wheel dolphin
"$venv/bin/python" -c "import dolphin.goldstein, dolphin.utils; from osgeo import gdal" \
  || { echo "dolphin or GDAL did not import in $venv" >&2; exit 1; }
echo "peers ready: whirlwind-insar in $(command -v python), dolphin in $venv/bin/python"
