"""Checkpoints: one file per checkpoint, written whole or not at all, read without pickle.

A checkpoint named NAME in a run directory is the single file ``NAME.npz``, a zip archive
(NumPy's ``.npz`` layout) holding

    param/<name>.npy     the model's weights
    optim/<key>.npy      the optimizer's state (Adam's moments and step counts)
    carry/<name>.npy     the state carried from batch to batch (a language model's h, c)
    meta.json            task, config, vocabularies and statistics, training progress, the
                         log so far, the rnnlab version, and for every array its dtype,
                         shape and SHA-256

Weights, optimizer state and progress therefore commit together: the archive is written to
a temporary file in the same directory, flushed to disk, and renamed over NAME.npz
(``os.replace`` is atomic on POSIX), so a crash or a full disk at any moment leaves either
the previous checkpoint or the new one, never a mix. ``unzip -p NAME.npz meta.json`` shows
the metadata.

Reading checks before it trusts: every array's header must declare a plain numeric dtype
and exactly as many bytes as the archive stores (a forged header cannot make the reader
allocate more than the file holds), its bytes must hash to the SHA-256 in meta.json, and
the arrays must be finite. Anything else is a ``CheckpointError`` naming the file and the
array. Checkpoints of rnnlab 0.1.0 (``NAME.npz`` beside ``NAME.json``) are still read.
"""

from __future__ import annotations

import hashlib
import json
import math
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rnnlab import __version__
from rnnlab.atomic import atomic_write, json_safe
from rnnlab.errors import CheckpointError
from rnnlab.faults import fault_point

FORMAT = 2  # 1: rnnlab 0.1.0's NAME.npz + NAME.json pair; 2: one archive with meta.json inside
META_MEMBER = "meta.json"
GROUPS = ("param", "optim", "carry")


@dataclass
class Checkpoint:
    """What one checkpoint holds: arrays by group, plus the JSON metadata."""

    params: dict[str, np.ndarray]
    optimizer_state: dict[str, Any]
    meta: dict[str, Any]
    carry: dict[str, np.ndarray] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------------------------


def _c_order(array: np.ndarray) -> np.ndarray:
    """The array in C order, 0-d kept 0-d (``np.ascontiguousarray`` would make it 1-d)."""
    return array if array.flags.c_contiguous else array.copy(order="C")


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(_c_order(array).tobytes()).hexdigest()


def save_checkpoint(run_dir: Path, name: str, params: dict[str, np.ndarray], optimizer_state: dict[str, Any],
                    meta: dict[str, Any], carry: dict[str, np.ndarray] | None = None) -> None:
    """Write run_dir/NAME.npz in one atomic step (see the module docstring)."""
    arrays: dict[str, np.ndarray] = {f"param/{k}": np.asarray(v) for k, v in params.items()}
    scalars = {}
    for key, value in optimizer_state.items():
        if isinstance(value, str):  # e.g. the optimizer's type
            scalars[key] = value
        else:  # arrays and numbers (step counts) alike, exactly typed
            arrays[f"optim/{key}"] = np.asarray(value)
    arrays.update({f"carry/{k}": np.asarray(v) for k, v in (carry or {}).items()})
    listing = {key: {"dtype": a.dtype.str, "shape": list(a.shape), "sha256": _digest(a)} for key, a in arrays.items()}
    meta = json_safe(dict(meta, format=FORMAT, rnnlab_version=__version__, optimizer_scalars=scalars,
                          arrays=listing))
    text = json.dumps(meta, indent=1, sort_keys=True, allow_nan=False).encode("utf-8")

    def write(fh):
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
            for key, array in arrays.items():
                with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, _c_order(array), allow_pickle=False)
            fh.flush()
            fault_point(f"half-written-{name}.npz")  # the arrays on disk, the metadata not yet
            archive.writestr(META_MEMBER, text)

    atomic_write(Path(run_dir) / f"{name}.npz", write, f"checkpoint '{name}'")


# ----------------------------------------------------------------------------------------
# reading
# ----------------------------------------------------------------------------------------


def checkpoint_exists(run_dir: Path, name: str) -> bool:
    return (Path(run_dir) / f"{name}.npz").is_file()


def load_checkpoint(run_dir: Path, name: str, task: str | None = None) -> Checkpoint:
    """Read and verify run_dir/NAME.npz (see the module docstring).

    Raises CheckpointError naming the file for a missing, truncated, corrupted or forged
    checkpoint, or one written for another task than ``task``."""
    run_dir = Path(run_dir)
    path = run_dir / f"{name}.npz"
    if not path.is_file():
        raise CheckpointError(f"{run_dir}: no checkpoint '{name}' here (expected {path.name})")
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: info for info in archive.infolist()}
            if META_MEMBER in members:
                meta = _parse_meta(archive.read(META_MEMBER), f"{path}:{META_MEMBER}")
                source = path
            else:  # rnnlab 0.1.0: the metadata in NAME.json beside the archive
                source = run_dir / f"{name}.json"
                meta = _legacy_meta(source)
            arrays = _read_arrays(archive, members, meta, path)
    except (OSError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise CheckpointError(f"{path}: truncated or corrupted checkpoint ({exc})") from None
    if task is not None and meta["task"] != task:
        raise CheckpointError(f"{source}: checkpoint is for task '{meta['task']}', not '{task}'")
    groups: dict[str, dict[str, np.ndarray]] = {group: {} for group in GROUPS}
    for key, array in arrays.items():
        group, _, rest = key.partition("/")
        if group not in groups or not rest:
            raise CheckpointError(f"{path}: unexpected array {key!r}")
        groups[group][rest] = array
    optimizer_state: dict[str, Any] = dict(groups["optim"])
    scalars = meta.get("optimizer_scalars", {})
    if not isinstance(scalars, dict) or not all(isinstance(v, str) for v in scalars.values()):
        raise CheckpointError(f"{source}: optimizer_scalars must map names to strings")
    optimizer_state.update(scalars)
    return Checkpoint(groups["param"], optimizer_state, meta, groups["carry"])


def _parse_meta(data: bytes, source) -> dict:
    try:
        meta = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{source}: corrupted checkpoint metadata ({exc})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("task"), str) or "arrays" not in meta:
        raise CheckpointError(f"{source}: not an rnnlab checkpoint (no task or array list)")
    arrays = meta["arrays"]
    if not isinstance(arrays, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("sha256"), str) for v in arrays.values()):
        raise CheckpointError(f"{source}: the array list must map each array to its dtype, shape and sha256")
    return meta


def _legacy_meta(json_path: Path) -> dict:
    if not json_path.is_file():
        raise CheckpointError(f"{json_path.with_suffix('.npz')}: no metadata in the archive and no {json_path.name} "
                              f"beside it; not an rnnlab checkpoint")
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{json_path}: corrupted checkpoint metadata ({exc})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("task"), str) or not isinstance(meta.get("arrays"), list):
        raise CheckpointError(f"{json_path}: not an rnnlab checkpoint (no task or array list)")
    meta["arrays"] = {key: None for key in meta["arrays"]}  # format 1 kept no hashes
    return meta


def _read_arrays(archive: zipfile.ZipFile, members: dict, meta: dict, path: Path) -> dict[str, np.ndarray]:
    listed = meta["arrays"]
    stored = {name[: -len(".npy")] for name in members if name.endswith(".npy")}
    if stored != set(listed):
        missing, extra = sorted(set(listed) - stored), sorted(stored - set(listed))
        raise CheckpointError(f"{path}: the arrays do not match the metadata (missing {missing[:5]}, "
                              f"unlisted {extra[:5]})")
    arrays = {}
    for key in sorted(listed):
        info = members[f"{key}.npy"]
        with archive.open(info) as member:
            array = _read_member(member, info.file_size, key, path)
        expected = listed[key]
        if expected is not None:
            if [int(n) for n in array.shape] != expected.get("shape") or array.dtype.str != expected.get("dtype"):
                raise CheckpointError(f"{path}: array {key} is {array.dtype.str} {list(array.shape)}, the metadata "
                                      f"says {expected.get('dtype')} {expected.get('shape')}")
            if _digest(array) != expected["sha256"]:
                raise CheckpointError(f"{path}: array {key} does not match its SHA-256 in the metadata "
                                      f"(the file was changed after it was written)")
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise CheckpointError(f"{path}: array {key} holds {int((~np.isfinite(array)).sum())} "
                                  f"non-finite value(s)")
        arrays[key] = array
    return arrays


def _read_member(member, stored_bytes: int, key: str, path: Path) -> np.ndarray:
    """One .npy member, its header checked before anything is allocated."""
    try:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise ValueError(f"unknown .npy version {version}")
    except ValueError as exc:
        raise CheckpointError(f"{path}: array {key} has a damaged header ({exc})") from None
    if dtype.hasobject or dtype.kind not in "biuf" or dtype.fields is not None:
        raise CheckpointError(f"{path}: array {key} has dtype {dtype}; a checkpoint holds only numbers")
    header_bytes = member.tell()
    declared = math.prod(shape) * dtype.itemsize
    if declared != stored_bytes - header_bytes:
        raise CheckpointError(f"{path}: array {key} declares shape {shape} ({declared} bytes) but the file "
                              f"stores {stored_bytes - header_bytes} bytes")
    data = member.read(declared)
    if len(data) != declared:
        raise CheckpointError(f"{path}: array {key} is truncated")
    array = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    return array.copy()  # writeable, owned
