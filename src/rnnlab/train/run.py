"""A run's task and model rebuilt from what it saved: its best checkpoint (for eval, predict,
generate, translate, inspect and the analysis scripts), or its last checkpoint or config
(to resume training). Every saved value is checked as strictly as a command-line option,
and a model too large for this machine is refused before anything is allocated."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from rnnlab import __version__
from rnnlab.errors import CheckpointError, ConfigError, RunDirError
from rnnlab.train.checkpoint import FORMAT, Checkpoint, checkpoint_exists, load_checkpoint
from rnnlab.train.config import config_from_dict
from rnnlab.train.loop import load_params
from rnnlab.train.tasks import TASKS, task_class

FLOAT_BYTES = 4  # float32 weights
TRAINING_COPIES = 4  # weights, gradients and Adam's two moments


def load_run(run_dir: str | Path):
    """(task, model) of the run in run_dir, with the weights of its ``best`` checkpoint."""
    run = Path(run_dir)
    if not run.is_dir():
        raise CheckpointError(f"{run}: no such run directory")
    checkpoint = load_checkpoint(run, "best")
    source = f"{run}/best.npz"
    if checkpoint.meta["task"] not in TASKS:
        raise CheckpointError(f"{source}: unknown task {checkpoint.meta['task']!r}")
    Task = task_class(checkpoint.meta["task"])
    config = config_from_dict(Task.Config, checkpoint.meta.get("config"), source)
    task = _task_with_meta(Task, config, checkpoint.meta.get("meta"), source)
    check_model_fits(task, copies=1, source=source)
    model = task.build_model(np.random.default_rng(0))
    load_params(model, checkpoint.params, source)
    return task, model


def _task_with_meta(Task, config, meta, source: str):
    if not isinstance(meta, dict):
        raise CheckpointError(f"{source}: the checkpoint's vocabularies and statistics are missing")
    try:
        task = Task(config, meta)
        task.parameter_count()  # reads every size the model needs from meta
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # edited, or another version's
        raise CheckpointError(f"{source}: incomplete or damaged checkpoint metadata ({type(exc).__name__}: "
                              f"{exc}); was it written by another version of rnnlab?") from None
    return task


def saved_config(Task, run_dir: Path) -> tuple[object, Checkpoint | None, str]:
    """The config to resume the run in run_dir with, its last checkpoint (None when the run
    was stopped before its first checkpoint: it then restarts from its config.json), and
    the file they came from."""
    run_dir = Path(run_dir)
    if checkpoint_exists(run_dir, "last"):
        source = f"{run_dir}/last.npz"
        checkpoint = load_checkpoint(run_dir, "last", task=Task.name)
        if checkpoint.meta.get("format") != FORMAT:
            raise CheckpointError(f"{source}: written by rnnlab {checkpoint.meta.get('rnnlab_version', '0.1.0')} "
                                  f"in checkpoint format {checkpoint.meta.get('format', 1)}, which rnnlab {__version__} "
                                  f"can evaluate and predict with but not resume; start a new run")
        return config_from_dict(Task.Config, checkpoint.meta.get("config"), source), checkpoint, source
    path = run_dir / "config.json"
    if not path.is_file():
        raise RunDirError(f"{run_dir}: no run to resume here (neither last.npz nor config.json)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: cannot be read as a run's config ({exc})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: not a run's config (expected a JSON object)")
    saved_task = data.pop("task", Task.name)
    data.pop("world_size", None)  # how many processes trained it: not an option
    if saved_task != Task.name:
        raise CheckpointError(f"{path}: the run is for task '{saved_task}', not '{Task.name}'")
    return config_from_dict(Task.Config, data, str(path)), None, str(path)


def memory_limit() -> int | None:
    """Bytes of memory this process may use: physical memory, or a lower cgroup limit."""
    try:
        limit = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
    try:
        text = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if text.isdigit():
            limit = min(limit, int(text))
    except OSError:
        pass
    return limit


def check_model_fits(task, copies: int = TRAINING_COPIES, source: str | None = None) -> None:
    """Refuse a model whose weights (x ``copies``: gradients and Adam's moments when
    training) would not fit in this machine's memory, before anything is allocated."""
    count = task.parameter_count()
    need = count * FLOAT_BYTES * copies
    limit = memory_limit()
    if limit is not None and need > limit:
        what = "weights, gradients and Adam's two moments" if copies == TRAINING_COPIES else "its weights"
        raise ConfigError(f"{source + ': ' if source else ''}the model would have {count:.3g} parameters, {_size(need)} for {what}, "
                          f"more than this machine's {_size(limit)} of memory: choose smaller sizes "
                          f"(--hidden, --embed, --layers)")


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1024 or unit == "PB":
            return f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PB"
