"""Shared test setup."""

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _raise_on_floating_point_errors():
    """Overflow, division by zero and invalid operations fail the test instead of warning."""
    old = np.seterr(all="raise")
    yield
    np.seterr(**old)
