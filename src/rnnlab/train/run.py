"""Rebuild a finished run's task and model from its best checkpoint (for eval, predict,
generate, translate, inspect and the analysis scripts)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnlab.train.checkpoint import CheckpointError, load_checkpoint
from rnnlab.train.config import config_from_dict
from rnnlab.train.loop import load_params
from rnnlab.train.tasks import TASKS, task_class


def load_run(run_dir: str | Path):
    """(task, model) of the run in run_dir, with the weights of its ``best`` checkpoint."""
    run = Path(run_dir)
    if not run.is_dir():
        raise CheckpointError(f"{run}: no such run directory")
    params, _, meta = load_checkpoint(run, "best")
    if meta["task"] not in TASKS:
        raise CheckpointError(f"{run}/best.json: unknown task {meta['task']!r}")
    Task = task_class(meta["task"])
    try:
        config = config_from_dict(Task.Config, meta["config"], f"{run}/best.json")
        task = Task(config, meta["meta"])
        model = task.build_model(np.random.default_rng(0))
    except (KeyError, TypeError) as exc:  # metadata from another rnnlab version, or edited
        raise CheckpointError(f"{run}/best.json: incomplete checkpoint metadata (no {exc}); "
                              f"was it written by another version of rnnlab?") from None
    load_params(model, params)
    return task, model
