"""keep_freed_memory changes only the allocator's policy, never results.

The policy is process-wide and cannot be read back or restored, so the check runs in a
child process: the tests after this one run with the allocator they started with.
"""

import json
import platform
import subprocess
import sys

import numpy as np

CHILD = """
import json
import numpy as np
from rnnlab import LSTM
from rnnlab.memory import keep_freed_memory

layer = LSTM(3, 4, rng=np.random.default_rng(0))
x = np.random.default_rng(1).standard_normal((2, 5, 3)).astype(np.float32)
before = layer.forward(x)[0]
accepted = keep_freed_memory()
after = layer.forward(x)[0]
print(json.dumps({"accepted": accepted, "before": before.tolist(), "after": after.tolist()}))
"""


def test_keep_freed_memory_is_accepted_on_glibc_and_changes_no_result():
    child = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr[-2000:]
    result = json.loads(child.stdout)
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert result["accepted"] is True
    np.testing.assert_array_equal(np.array(result["after"], dtype=np.float32),
                                  np.array(result["before"], dtype=np.float32))
