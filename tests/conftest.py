import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _data_dir() -> Path:
    return Path(os.environ.get("DASKINSAR_TEST_DATA", REPO.parent / "shared" / "data")).resolve()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real SAR test data (../shared/data or $DASKINSAR_TEST_DATA).

    Tests skip only when the folder is absent; in CI it is present (and .ci/run
    refuses to run without it)."""
    d = _data_dir()
    if not d.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"real test data folder {d} is absent in CI")
        pytest.skip(f"real test data folder {d} is absent")
    return d


@pytest.fixture(autouse=True)
def _single_threaded_dask_by_default():
    import dask

    with dask.config.set(scheduler="threads"):
        yield


@pytest.fixture
def egm2008_grid(tmp_path, monkeypatch):
    """A (synthetic) EGM2008 grid where PROJ's grids are looked for (none ships offline)."""
    from dem_test_helpers import write_synthetic_geoid

    from daskinsar.geometry import geoid as G

    d = tmp_path / "proj"
    d.mkdir()
    write_synthetic_geoid(str(d / "us_nga_egm08_25.tif"))
    dirs = G._proj_dirs()
    monkeypatch.setattr(G, "_proj_dirs", lambda: [str(d)] + dirs)
    G.geoid_grid.cache_clear()
    yield
    G.geoid_grid.cache_clear()
