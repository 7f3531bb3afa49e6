"""A run directory, held by one process at a time.

``rnnlab train --out DIR`` and ``--resume DIR`` take an OS file lock on ``DIR/.rnnlab.lock``
(``filelock``: ``flock`` on POSIX) for as long as they run. The kernel releases it when the
process ends, however it ends (a crash or SIGKILL included), so a lock is never stale. A
second writer gets a one-line error naming the holder's PID, which the holder writes to
``DIR/.rnnlab.owner`` right after taking the lock.

Every file rnnlab writes into a run goes through ``write_text`` (or the checkpoint writer):
into a temporary file beside it, then renamed into place, so a reader never sees half a
file. A failure (a full disk, no permission) is a ``RunDirError`` naming the file.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

from filelock import FileLock, Timeout

from rnnlab.atomic import TEMP_PREFIX, atomic_write, json_safe, remove_temporaries
from rnnlab.errors import RunDirError

LOCK_FILE = ".rnnlab.lock"
OWNER_FILE = ".rnnlab.owner"
_BOOKKEEPING = (LOCK_FILE, OWNER_FILE)


class RunDirectory:
    """The directory of one training run, locked while this object holds it.

    ``RunDirectory.create(path)`` for a new run (the directory must be new or empty),
    ``RunDirectory.open(path)`` to resume one; both are context managers that release the
    lock on exit. ``create`` removes the directory again if the block fails before anything
    of the run was written into it."""

    def __init__(self, path: Path, lock: FileLock, created: list[Path]):
        self.path = path
        self._lock = lock
        self._created = created  # directories this object made (deepest last)

    def __fspath__(self) -> str:
        return str(self.path)

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    # ----- taking and giving back ------------------------------------------------------------

    @classmethod
    def create(cls, path: str | Path) -> RunDirectory:
        """Lock a new (or empty) run directory, making it and its parents if needed."""
        path = _as_the_kernel_reads_it(path)
        if path.exists() and not path.is_dir():
            raise RunDirError(f"{path} is a file, not a directory: choose another --out")
        created = [p for p in (path, *path.parents) if not p.exists()][::-1]
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunDirError(f"{path}: cannot create the run directory ({exc.strerror or exc})") from None
        run = cls(path, _acquire(path), created)
        try:
            remove_temporaries(path)
            held = run.contents()
            if held:
                hint = (f"continue it with --resume {path}" if {"config.json", "last.npz"} & set(held)
                        else "choose another --out")
                raise RunDirError(f"{path} already holds files ({', '.join(sorted(held)[:4])}"
                                  f"{', ...' if len(held) > 4 else ''}): {hint}")
        except BaseException:
            run._discard_if_empty()
            run.release()
            raise
        return run

    @classmethod
    def open(cls, path: str | Path) -> RunDirectory:
        """Lock an existing run directory to continue the run in it."""
        path = _as_the_kernel_reads_it(path)
        if not path.is_dir():
            raise RunDirError(f"{path}: no such run directory")
        run = cls(path, _acquire(path), [])
        remove_temporaries(path)
        return run

    def release(self) -> None:
        if self._lock.is_locked:
            (self.path / OWNER_FILE).unlink(missing_ok=True)
            self._lock.release()

    def __enter__(self) -> RunDirectory:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is not None:
            self._discard_if_empty()
        self.release()

    def contents(self) -> list[str]:
        """The names in the directory that belong to the run (not the lock's bookkeeping)."""
        return [p.name for p in self.path.iterdir() if p.name not in _BOOKKEEPING
                and not p.name.startswith(TEMP_PREFIX)]

    def _discard_if_empty(self) -> None:
        """Remove the directories this object created, if nothing of the run is in them."""
        if not self._created or self.contents():
            return
        self.release()
        shutil.rmtree(self._created[0], ignore_errors=True)

    # ----- files -------------------------------------------------------------------------------

    def write_text(self, name: str, text: str) -> Path:
        path = self.path / name
        atomic_write(path, lambda fh: fh.write(text.encode("utf-8")), name)
        return path

    def write_json(self, name: str, value) -> Path:
        return self.write_text(name, json.dumps(json_safe(value), indent=1, allow_nan=False) + "\n")

    def append_line(self, name: str, line: str) -> None:
        """Append one line (a log record); a torn last line from a crash is repaired on
        resume, when the log is rewritten from the checkpoint."""
        path = self.path / name
        try:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
                fh.flush()
        except OSError as exc:
            raise RunDirError(f"{path}: cannot write ({exc.strerror or exc})") from None


def _as_the_kernel_reads_it(path: str | Path) -> Path:
    """``path``, with symbolic links resolved when it holds '..': the kernel reads LINK/..
    as the parent of LINK's target, but Python's path functions (tempfile's among them)
    drop 'LINK/..' as text, and would write somewhere else."""
    path = Path(path)
    return Path(os.path.realpath(path)) if ".." in path.parts else path


def _acquire(path: Path) -> FileLock:
    lock = FileLock(path / LOCK_FILE, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise RunDirError(f"{path} is in use by another rnnlab process ({_holder(path)}); wait for it "
                          f"to finish or stop it first") from None
    except OSError as exc:
        raise RunDirError(f"{path}: cannot lock the run directory ({exc.strerror or exc})") from None
    owner = {"pid": os.getpid(), "started": time.strftime("%Y-%m-%d %H:%M:%S"), "command": " ".join(sys.argv)}
    try:
        (path / OWNER_FILE).write_text(json.dumps(owner), encoding="utf-8")
    except OSError:
        pass  # the lock holds without it; only the message naming the holder is poorer
    return lock


def _holder(path: Path) -> str:
    try:
        owner = json.loads((path / OWNER_FILE).read_text(encoding="utf-8"))
        return f"PID {owner['pid']}, started {owner['started']}: {owner['command']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "its PID is not known yet"
