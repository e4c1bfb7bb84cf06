"""The notebooks in notebooks/ execute from top to bottom (nbclient), each within a timeout.

Each notebook asserts its own results against truth (the simulator's truth, ISCE2's topo,
the documented coherence of the Sentinel-1 pair), so an executed notebook is a test of
those numbers too. The notebooks are stored without outputs; this test checks that as well.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="needs the test extra: nbformat")
nbclient = pytest.importorskip("nbclient", reason="needs the test extra: nbclient")
pytest.importorskip("ipykernel", reason="needs the test extra: ipykernel")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ("01_quickstart.ipynb", "02_real_data.ipynb", "03_cluster.ipynb")
TIMEOUT_S = {"01_quickstart.ipynb": 240, "02_real_data.ipynb": 180, "03_cluster.ipynb": 300}


def test_notebooks_present_and_stored_without_outputs():
    found = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert set(NAMES) <= set(found), found
    for name in found:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        nbformat.validate(nb)
        dirty = [i for i, c in enumerate(nb.cells)
                 if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)]
        assert not dirty, f"{name}: cells {dirty} have outputs; store notebooks without outputs"


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_executes(name, data_dir, tmp_path, monkeypatch):
    """Run the notebook in a fresh kernel; any exception or failed assertion in a cell fails the test."""
    monkeypatch.setenv("DASKINSAR_TEST_DATA", str(data_dir))
    monkeypatch.setenv("DASKINSAR_NOTEBOOK_DIR", str(tmp_path))
    monkeypatch.delenv("DASKINSAR_SCHEDULER", raising=False)  # notebook 03 starts its own LocalCluster
    monkeypatch.delenv("DASKINSAR_NOTEBOOK_CONFIG", raising=False)
    # the kernel's inline backend draws the figures into the notebook (an inherited Agg would not)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=TIMEOUT_S[name], kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    t0 = time.perf_counter()
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:
        pytest.fail(f"{name}: a cell failed:\n{str(exc)[-3000:]}")
    print(f"{name}: executed in {time.perf_counter() - t0:.1f} s")
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    # the notebooks must have produced their figures
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
                 for o in c.get("outputs", []))
    assert images >= 1, f"{name}: no figure was drawn"
