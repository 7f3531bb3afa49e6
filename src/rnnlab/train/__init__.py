"""Training: configs, the loop, checkpoints, run directories and metrics. Reads files; the
layers never do.

The public entry points, imported on first use (so ``import rnnlab.train.config`` stays
light)::

    from rnnlab.train import RunDirectory, fit, register_task, task_class

    task = task_class("classify")(config); task.prepare()
    with RunDirectory.create("runs/x") as run:
        metrics = fit(task, config, run)
"""

from __future__ import annotations

_EXPORTS = {
    "fit": "rnnlab.train.loop",
    "RunDirectory": "rnnlab.train.rundir",
    "register_task": "rnnlab.train.tasks",
    "task_class": "rnnlab.train.tasks",
    "load_run": "rnnlab.train.run",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'rnnlab.train' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)
