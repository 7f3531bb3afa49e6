"""keep_freed_memory changes only the allocator's policy, never results."""

import platform

import numpy as np

from rnnlab import LSTM
from rnnlab.memory import keep_freed_memory


def test_keep_freed_memory_is_accepted_on_glibc_and_changes_no_result():
    layer = LSTM(3, 4, rng=np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((2, 5, 3)).astype(np.float32)
    before = layer.forward(x)[0]
    accepted = keep_freed_memory()
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert accepted
    np.testing.assert_array_equal(layer.forward(x)[0], before)
