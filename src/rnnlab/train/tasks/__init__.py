"""The tasks ``rnnlab train`` knows, by name; the contract they meet is ``base.py``.

Each task is one module; this registry maps its name to ``"module:ClassName"`` and imports
it only when asked for, so ``rnnlab --help`` stays fast. A task defined outside the package
joins with ``register_task("name", "package.module:ClassName")``.
"""

from __future__ import annotations

import importlib

TASKS: dict[str, str] = {
    "tag": "rnnlab.train.tasks.tag:TagTask",
    "classify": "rnnlab.train.tasks.classify:ClassifyTask",
    "forecast": "rnnlab.train.tasks.forecast:ForecastTask",
    "lm": "rnnlab.train.tasks.lm:LanguageModelTask",
    "translate": "rnnlab.train.tasks.translate:TranslateTask",
}


def register_task(name: str, target: str) -> None:
    """Make ``rnnlab train NAME`` (and loading its runs) use the class at ``"module:Class"``."""
    module, _, cls = target.partition(":")
    if not module or not cls:
        raise ValueError(f"a task is registered as 'module:ClassName', got {target!r}")
    TASKS[name] = target


def task_class(name: str):
    """The task class registered as ``name``."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; tasks are {', '.join(TASKS)}")
    module, _, cls = TASKS[name].partition(":")
    return getattr(importlib.import_module(module), cls)
