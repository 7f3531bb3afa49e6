"""Run NumPy's BLAS on one thread while the tour trains.

The tour's matrices are tiny (a batch of 64 by a hidden size of 32 to 64): a second BLAS
thread costs more in hand-over than it saves, and on a machine whose cores are shared it
makes each step several times slower. NumPy's wheels bundle OpenBLAS; its
``openblas_set_num_threads`` is called through ctypes (the same thing ``threadpoolctl``
does). Where no such library is found the context does nothing.
"""

from __future__ import annotations

import ctypes
import glob
import os
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

# (setter, getter) names: NumPy >= 2 wheels (scipy-openblas, 64-bit ints), then plain OpenBLAS
_SYMBOLS = (
    ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
    ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
    ("openblas_set_num_threads", "openblas_get_num_threads"),
)


def _openblas():
    """(set_num_threads, get_num_threads) of the OpenBLAS NumPy loaded, or None."""
    numpy_dir = os.path.dirname(np.__file__)
    candidates = glob.glob(os.path.join(numpy_dir + ".libs", "*openblas*")) + glob.glob(
        os.path.join(os.path.dirname(numpy_dir), "scipy_openblas*", "lib", "*openblas*")
    )
    for path in candidates:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for setter, getter in _SYMBOLS:
            if hasattr(lib, setter) and hasattr(lib, getter):
                return getattr(lib, setter), getattr(lib, getter)
    return None


@contextmanager
def blas_threads(n: int) -> Iterator[bool]:
    """Within the block BLAS uses ``n`` threads; yields whether that could be set."""
    functions = _openblas()
    if functions is None:
        yield False
        return
    set_threads, get_threads = functions
    before = int(get_threads())
    set_threads(n)
    try:
        yield True
    finally:
        set_threads(before)
