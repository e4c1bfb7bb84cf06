"""Command-line habits: --version, shell completion, help text on every option, warnings as one formatted
line, an aligned --list-sensors table."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import typer
from typer.testing import CliRunner

from daskinsar import __version__
from daskinsar.cli import app

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]


def test_version_is_the_package_version():
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and r.output.strip() == f"daskinsar {__version__}"
    assert tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"] == __version__


def test_shell_completion_is_offered():
    out = runner.invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    assert "--install-completion" in out and "--show-completion" in out
    r = subprocess.run([sys.executable, "-m", "daskinsar.cli", "--show-completion", "bash"], capture_output=True,
                       text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    assert r.returncode == 0 and "complete" in r.stdout, r.stderr


def test_every_option_and_argument_has_help():
    group = typer.main.get_command(app)
    missing = [f"{name}:{p.name}" for name, cmd in group.commands.items() for p in cmd.params
               if p.name != "help" and not (getattr(p, "help", None) or "").strip()]
    missing += [f"(global):{p.name}" for p in group.params if p.name != "help" and not (p.help or "").strip()]
    assert not missing, missing


def test_warnings_are_one_formatted_line(tmp_path):
    (tmp_path / "dem.tif").write_bytes(b"")
    xml = tmp_path / "insarApp.xml"
    xml.write_text("""<insarApp><component name="insar">
      <property name="Sensor name">UAVSAR_HDF5_SLC</property>
      <component name="reference"><property name="HDF5">r.h5</property></component>
      <component name="secondary"><property name="HDF5">s.h5</property></component>
      <property name="demFilename">dem.tif</property>
      <property name="do denseoffsets">True</property>
    </component></insarApp>""")
    r = subprocess.run([sys.executable, "-m", "daskinsar.cli", "run", str(xml)], capture_output=True, text=True,
                       timeout=120)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    warn = [ln for ln in lines if "do denseoffsets" in ln]
    assert len(warn) == 1 and warn[0].startswith("warning: ") and warn[0].endswith("(UserWarning)"), r.stderr
    assert not [ln for ln in lines if "warnings.warn" in ln or ln.startswith("  ")], r.stderr
    assert r.returncode != 0 and lines[-1].startswith("error: ")  # the inputs do not exist


def test_list_sensors_is_an_aligned_table():
    lines = [ln for ln in runner.invoke(app, ["ingest", "--list-sensors"]).output.splitlines() if ln.strip()]
    assert lines[0].split()[:4] == ["sensor", "ISCE", "sensor", "names"] and len(lines) > 10
    starts = [m.start() for m in re.finditer(r"(?<=  )\S", lines[0])]  # where the header's columns begin
    assert len(starts) == 4
    for ln in lines[1:]:
        for s in starts:
            assert ln[s - 2: s] == "  " and ln[s] != " ", (ln, s)
