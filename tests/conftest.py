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
