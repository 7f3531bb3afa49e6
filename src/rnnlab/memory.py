"""Keep freed memory in the process instead of handing it back to the OS after every call.

A training step allocates a few arrays of (T, N, 4H) floats and frees them again. glibc's
malloc serves blocks above 32 MB (and, by default, above 128 KB) with a fresh ``mmap`` and
unmaps them on ``free``, so the next step touches brand-new pages and pays a page fault for
every 4 KB: at (T, N, H) = (20, 256, 512) that is about 4 ms per array, a tenth of the
step. ``keep_freed_memory()`` asks glibc to serve every block from the heap and never trim
it, so a freed block is reused warm. It is a process-wide setting, so the library never
calls it on import; the ``rnnlab`` command and the benchmarks call it at start-up (for
rnnlab and PyTorch alike). The same effect from the shell: ``MALLOC_MMAP_MAX_=0
MALLOC_TRIM_THRESHOLD_=-1``. Elsewhere than glibc it does nothing and returns False.
"""

from __future__ import annotations

import ctypes
import ctypes.util

_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4


def keep_freed_memory() -> bool:
    """Serve all allocations from the heap and never trim it; True if glibc accepted."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok_mmap = mallopt(_M_MMAP_MAX, 0)
    ok_trim = mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)
    return bool(ok_mmap and ok_trim)
