"""How many threads NumPy's BLAS uses: chosen, and set with ``threadpoolctl``.

NumPy's BLAS (OpenBLAS in its wheels) starts one thread per core. On an idle machine that
is fastest for large matrices; for small ones (the tour, one input to inspect) a second
thread costs more in hand-over than it saves; and when other processes keep the cores
busy, BLAS threads that spin waiting for a core make every step several times slower.

``choose_threads(requested)``: ``requested`` when it is given (``--threads N``), else the
cores this process may run on less the ones other processes keep busy (the 1-minute load
average, rounded), at least one. ``blas_threads(n)`` sets it for a block.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def choose_threads(requested: int = 0, cores: int | None = None, load: float | None = None) -> tuple[int, str]:
    """(threads, why): ``requested`` if > 0, else the free cores (see the module docstring)."""
    if requested > 0:
        return requested, f"{requested} as asked (--threads)"
    cores = available_cores() if cores is None else cores
    load = os.getloadavg()[0] if load is None else load
    busy = min(cores - 1, max(0, round(load)))
    threads = cores - busy
    if busy:
        return threads, f"{threads} of {cores} cores: other processes keep {busy} busy (load {load:.1f}); --threads N chooses"
    return threads, f"{threads}: every core is free"


@contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """Within the block BLAS uses ``n`` threads; the previous setting comes back after it."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n, user_api="blas"):
        yield


def current_blas_threads() -> int | None:
    """The BLAS thread count now (None when no BLAS library reports one)."""
    from threadpoolctl import threadpool_info

    counts = [info["num_threads"] for info in threadpool_info() if info.get("user_api") == "blas"]
    return counts[0] if counts else None
