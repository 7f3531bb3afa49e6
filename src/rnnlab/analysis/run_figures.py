"""The figures at the end of a training run: the one place the trainer reaches into analysis.

``train/loop.py``'s ``finish`` calls ``draw_run_figures`` after the final evaluation:
``curves.png`` from the log for every run, and for a translator, whose test evaluation
carries its translations, ``bleu_by_length.json`` and ``.png`` (test BLEU per bucket of
source length, ``rnnlab.analysis.bleu_by_length``). Nothing else in ``rnnlab.train``
imports ``rnnlab.analysis``.
"""

from __future__ import annotations

import json
from pathlib import Path

from rnnlab.analysis.bleu_by_length import bleu_table, plot_bleu_by_length
from rnnlab.analysis.curves import plot_learning_curves
from rnnlab.atomic import atomic_write, json_safe
from rnnlab.train.tasks.base import Evaluation
from rnnlab.train.tasks.translate import Translations


def draw_run_figures(run_dir: Path, task, test: Evaluation) -> None:
    run_dir = Path(run_dir)
    plot_learning_curves(run_dir / "log.jsonl", run_dir / "curves.png", task.metric)
    if isinstance(test.outputs, Translations):
        table = bleu_table(task, test.outputs, "test")
        text = json.dumps(json_safe(table), indent=1, allow_nan=False)
        atomic_write(run_dir / "bleu_by_length.json", lambda fh: fh.write(text.encode("utf-8")), "bleu_by_length.json")
        plot_bleu_by_length({f"attention: {task.config.attention}": table}, run_dir / "bleu_by_length.png")
