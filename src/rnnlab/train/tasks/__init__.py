"""One module per task: its config, how it reads data, builds its model and measures it.

A task class provides: ``name``, ``metric`` and ``higher_is_better`` (the dev metric that
picks the best checkpoint), ``Config`` (its config dataclass), ``__init__(config,
meta=None)``, ``prepare()`` (read train/dev/test, build ``meta``: vocabularies, statistics,
JSON-safe), ``encode_file(path)``, ``build_model(rng)``, ``train_batches(rng)``,
``batch_size_in_tokens(batch)``, ``evaluate(model, split="dev", data=None)``,
``predict_lines(model, lines)`` and ``predict_file(model, path)``.
"""

from __future__ import annotations

import importlib.util  # find_spec lives in the submodule, which `import importlib` may not load

_MODULES = {
    "tag": ("rnnlab.train.tasks.tag", "TagTask"),
    "classify": ("rnnlab.train.tasks.classify", "ClassifyTask"),
    "forecast": ("rnnlab.train.tasks.forecast", "ForecastTask"),
    "lm": ("rnnlab.train.tasks.lm", "LanguageModelTask"),
    "translate": ("rnnlab.train.tasks.translate", "TranslateTask"),
}


def _available() -> tuple[str, ...]:
    names = []
    for name, (module, _) in _MODULES.items():
        if importlib.util.find_spec(module) is not None:
            names.append(name)
    return tuple(names)


TASKS = _available()


def task_class(name: str):
    """The task class for ``rnnlab train NAME``."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; tasks are {', '.join(TASKS)}")
    module, cls = _MODULES[name]
    return getattr(importlib.import_module(module), cls)
