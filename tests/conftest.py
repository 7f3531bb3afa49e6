"""Shared test setup."""

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _raise_on_floating_point_errors():
    """Overflow, division by zero and invalid operations fail the test instead of warning."""
    old = np.seterr(all="raise")
    yield
    np.seterr(**old)


def pytest_configure(config):
    """Dataset references read the offline mirror, never the network: RNNLAB_DATA points at
    ../shared/data (unless the run sets it); tests that download set their own folder."""
    import os
    from pathlib import Path

    mirror = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if mirror.is_dir():
        os.environ.setdefault("RNNLAB_DATA", str(mirror))
