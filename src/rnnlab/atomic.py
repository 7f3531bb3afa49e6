"""Files written whole or not at all.

``atomic_write(path, write)`` writes into a temporary file beside ``path`` (named
``.rnnlab-tmp-...``), flushes it to disk, renames it over ``path`` (``os.replace`` is
atomic on POSIX) and makes the rename durable. A reader therefore sees the old file or the
new one, never a mix, whatever stops the writer; a failure (a full disk, no permission)
removes the temporary file and is one ``RunDirError`` naming ``path``. ``json_safe``
makes a value valid JSON (null, never NaN) before it is written.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

from rnnlab.errors import RunDirError
from rnnlab.faults import fault_point

TEMP_PREFIX = ".rnnlab-tmp-"  # every temporary file rnnlab writes


def atomic_write(path: Path, write, what: str = "file") -> None:
    """Write ``path`` through ``write(fh)`` into a temporary file beside it, fsync, rename.

    A failure (a full disk, no permission) leaves the old file as it was, removes the
    temporary file, and is a ``RunDirError`` naming ``path``."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{path.name}.", dir=path.parent)
    except OSError as exc:
        raise RunDirError(f"{path}: cannot write the {what} ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        fault_point(f"written-{path.name}")
        os.replace(tmp, path)
        _fsync_directory(path.parent)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise RunDirError(f"{path}: cannot write the {what} ({exc.strerror or exc}); "
                          f"the previous version, if any, is intact") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_temporaries(run_dir: Path) -> list[Path]:
    """Delete what an interrupted writer left in run_dir (only rnnlab's own temporaries)."""
    removed = []
    for path in Path(run_dir).glob(f"{TEMP_PREFIX}*"):
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def json_safe(value):
    """``value`` with every non-finite float replaced by None, so it is valid JSON (NaN is not)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
