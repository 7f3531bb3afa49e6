"""Fault injection for the tests that prove a run survives anything.

The trainer and the checkpoint writer call ``fault_point(name)`` at the moments where a
crash would hurt most: right after a batch, after a checkpoint's bytes are on disk but
before it is renamed into place, between the two checkpoints of an epoch's end, before the
log line is written. Normally this does nothing. With the environment variable

    RNNLAB_FAULT="NAME[@K][:SIGNAL]"      e.g.  RNNLAB_FAULT="written-last.npz@2:KILL"

the process sends itself SIGNAL (KILL, INT, TERM or STOP; KILL by default) the K-th time
(default: the first) it reaches the point NAME, so a test can stop a real ``rnnlab train``
at exactly that moment, every time, instead of hoping a timer lands there (STOP freezes
it there, holding its run directory, until the test sends SIGCONT).

The points: ``batch`` (after each optimizer step), ``evaluating`` (before the dev
evaluation), ``evaluated``, ``saved-best`` (between the two checkpoints of an epoch's
end), ``saved-last`` (before the log line), ``half-written-NAME.npz`` (a checkpoint's
arrays are on disk under a temporary name, its metadata not yet) and ``written-FILE`` (a
file's bytes are all on disk under a temporary name, not yet renamed to FILE).
"""

from __future__ import annotations

import os
import signal

ENV = "RNNLAB_FAULT"
RANK_ENV = "RNNLAB_FAULT_RANK"
_SIGNALS = {"KILL": signal.SIGKILL, "INT": signal.SIGINT, "TERM": signal.SIGTERM, "STOP": signal.SIGSTOP}
_reached: dict[str, int] = {}


def parse_fault(spec: str) -> tuple[str, int, int]:
    """'NAME[@K][:SIGNAL]' -> (NAME, K, signal number)."""
    point, _, sig = spec.partition(":")
    point, _, count = point.partition("@")
    return point, int(count) if count else 1, _SIGNALS[sig.upper() or "KILL"]


def fault_point(name: str) -> None:
    """Send the configured signal to this process if ``name`` is the armed point (and, with
    ``RNNLAB_FAULT_RANK=R`` under mpiexec, only in rank R of a data-parallel job)."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    rank = os.environ.get(RANK_ENV)
    if rank is not None and rank != os.environ.get("PMI_RANK", os.environ.get("OMPI_COMM_WORLD_RANK", "0")):
        return
    point, count, sig = parse_fault(spec)
    if point != name:
        return
    _reached[name] = _reached.get(name, 0) + 1
    if _reached[name] == count:
        os.kill(os.getpid(), sig)
