"""Checkpoints: weights and optimizer state in ``.npz``, everything else in JSON.

A checkpoint named NAME in a run directory is two files:

    NAME.npz    arrays only: ``param/<name>`` and ``optim/<key>``; read with allow_pickle=False
    NAME.json   config, vocabularies, normalisation statistics, task, rnnlab version, progress

Both are written to a temporary file in the same directory and renamed into place
(``os.replace`` is atomic on POSIX), JSON last, so a reader that finds NAME.json also finds
the complete NAME.npz it describes, and a crash mid-write leaves the previous checkpoint.
Loading never executes code: no pickle anywhere.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from rnnlab import __version__


class CheckpointError(ValueError):
    """A checkpoint that is missing, truncated, corrupted or for another task."""


def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(
    run_dir: Path, name: str, params: dict[str, np.ndarray], optimizer_state: dict[str, Any],
    meta: dict[str, Any],
) -> None:
    """Write NAME.npz then NAME.json atomically into run_dir."""
    run_dir = Path(run_dir)
    arrays = {f"param/{k}": v for k, v in params.items()}
    scalars = {}
    for key, value in optimizer_state.items():
        if isinstance(value, str):  # e.g. the optimizer's type
            scalars[key] = value
        else:  # arrays and numbers (step counts) alike, exactly typed
            arrays[f"optim/{key}"] = np.asarray(value)
    meta = dict(meta, rnnlab_version=__version__, optimizer_scalars=scalars,
                arrays=sorted(arrays))
    _atomic_write(run_dir / f"{name}.npz", lambda fh: np.savez(fh, **arrays))
    text = json.dumps(meta, indent=1, sort_keys=True).encode("utf-8")
    _atomic_write(run_dir / f"{name}.json", lambda fh: fh.write(text))


def load_checkpoint(run_dir: Path, name: str, task: str | None = None):
    """Read NAME.json and NAME.npz; returns (params, optimizer_state, meta).

    Raises CheckpointError naming the file for a missing, truncated or corrupted checkpoint,
    or one written for another task than ``task``.
    """
    run_dir = Path(run_dir)
    json_path, npz_path = run_dir / f"{name}.json", run_dir / f"{name}.npz"
    if not json_path.is_file() or not npz_path.is_file():
        raise CheckpointError(f"{run_dir}: no checkpoint '{name}' here (expected {json_path.name} and {npz_path.name})")
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{json_path}: corrupted checkpoint metadata ({exc})") from None
    if not isinstance(meta, dict) or "task" not in meta or "arrays" not in meta:
        raise CheckpointError(f"{json_path}: not an rnnlab checkpoint (no task or array list)")
    if task is not None and meta["task"] != task:
        raise CheckpointError(f"{json_path}: checkpoint is for task '{meta['task']}', not '{task}'")
    try:
        with np.load(npz_path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise CheckpointError(f"{npz_path}: truncated or corrupted weights file ({exc})") from None
    if sorted(arrays) != meta["arrays"]:
        missing = sorted(set(meta["arrays"]) - set(arrays))
        raise CheckpointError(f"{npz_path}: does not match {json_path.name} (missing {missing[:5]})")
    params = {k[len("param/"):]: v for k, v in arrays.items() if k.startswith("param/")}
    optimizer_state = {k[len("optim/"):]: v for k, v in arrays.items() if k.startswith("optim/")}
    optimizer_state.update(meta.get("optimizer_scalars", {}))
    return params, optimizer_state, meta
