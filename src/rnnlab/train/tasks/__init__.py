"""One module per task: its config, how it reads data, builds its model and measures it."""

from __future__ import annotations


def task_class(name: str):
    """The task class for ``rnnlab train NAME``."""
    if name == "classify":
        from rnnlab.train.tasks.classify import ClassifyTask

        return ClassifyTask
    raise ValueError(f"unknown task {name!r}")


TASKS = ("classify",)
