"""The contract between tasks, models and what drives them is public, written once, and kept.

* every task and its model meet the Protocols of ``rnnlab.train.tasks.base``;
* a task written outside the package, in one file, trains through ``rnnlab.train.fit``
  and through the command line once registered;
* imports run down the layers: the small modules at the bottom, then data and layers,
  models, train, analysis and tour beside each other, the command line on top; the trainer
  reaches into analysis only through its one figures hook; no import cycles.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from rnnlab.train.tasks import TASKS, register_task, task_class
from rnnlab.train.tasks.base import Model, Task

SRC = Path(__file__).resolve().parents[1] / "src" / "rnnlab"


# ----- the Protocols are met --------------------------------------------------------------


@pytest.mark.parametrize("name", ["tag", "classify", "forecast", "lm", "translate"])
def test_every_task_meets_the_task_protocol(name):
    Task_ = task_class(name)
    task = Task_(Task_.Config())
    assert isinstance(task, Task)


def test_every_model_meets_the_model_protocol():
    from rnnlab.models.charlm import CharLM
    from rnnlab.models.classifier import SequenceClassifier
    from rnnlab.models.forecaster import Forecaster
    from rnnlab.models.seq2seq import Seq2Seq
    from rnnlab.models.tagger import Tagger

    rng = np.random.default_rng(0)
    models = [
        SequenceClassifier(num_classes=2, cell="lstm", hidden=3, layers=1, bidirectional=False, dropout=0.0,
                           input_size=2, rng=rng),
        Forecaster(input_size=2, target_index=0, cell="lstm", hidden=3, layers=1, bidirectional=False,
                   dropout=0.0, rng=rng),
        CharLM(vocab_size=5, embed=2, cell="lstm", hidden=3, layers=1, dropout=0.0, rng=rng),
        Tagger(vocab_size=5, num_chars=4, num_tags=3, embed=2, char_embed=2, char_hidden=2, cell="lstm",
               hidden=3, layers=1, bidirectional=True, dropout=0.0, rng=rng),
        Seq2Seq(src_vocab=5, tgt_vocab=6, embed=2, hidden=4, rng=rng),
    ]
    for model in models:
        assert isinstance(model, Model), type(model).__name__


# ----- a task from outside the package ---------------------------------------------------------


def _bits_file(path: Path, n: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n):
        bits = rng.integers(0, 2, rng.integers(3, 12))
        if 2 * bits.sum() == len(bits):  # no ties
            bits = np.append(bits, 1)
        lines.append("".join(map(str, bits)) + f" {int(2 * bits.sum() > len(bits))}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def majority(tmp_path, monkeypatch):
    """The toy task of tests/toy_majority_task.py, registered for this test only."""
    monkeypatch.setitem(TASKS, "majority", TASKS.get("majority", ""))
    register_task("majority", "toy_majority_task:MajorityTask")
    return _bits_file(tmp_path / "train.txt", 600, 0), _bits_file(tmp_path / "test.txt", 200, 1)


def test_a_task_written_outside_the_package_trains_through_fit(majority, tmp_path):
    from rnnlab.train import RunDirectory, fit
    from rnnlab.train.config import resolve_config

    train, test = majority
    Majority = task_class("majority")
    config = resolve_config(Majority.Config, None, {"train": str(train), "test": str(test), "hidden": 8,
                                                     "epochs": 8, "lr": 0.02, "batch_size": 32})
    task = Majority(config)
    assert isinstance(task, Task)
    task.prepare()
    with RunDirectory.create(tmp_path / "run") as run:
        metrics = fit(task, config, run, progress_bar=False)
    assert metrics["test"]["accuracy"] >= 0.9  # chance is about 0.5


def test_a_registered_task_has_the_whole_command_line(majority, tmp_path, capsys):
    from rnnlab.cli import main

    train, test = majority
    out = tmp_path / "run"
    assert main(["train", "majority", "--train", str(train), "--test", str(test), "--hidden", "8",
                 "--epochs", "8", "--lr", "0.02", "--out", str(out)]) == 0
    (tmp_path / "new.txt").write_text("1110111\n0001000\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["predict", str(out), str(tmp_path / "new.txt")]) == 0
    assert capsys.readouterr().out.split() == ["1", "0"]
    assert main(["inspect", str(out), "--input", "1101", "--out", str(tmp_path / "look")]) == 0
    assert (tmp_path / "look" / "index.html").is_file()


# ----- imports run down the layers -------------------------------------------------------------

BOTTOM = {"errors", "options", "atomic", "faults", "_checks", "init", "memory", "losses", "optim", "gradcheck"}
RANK = {**{name: 0 for name in BOTTOM}, "data": 1, "layers": 1, "models": 2, "train": 3,
        "analysis": 4, "tour": 4, "demo": 4, "cli": 5}
UPWARD_HOOKS = {("rnnlab.train.loop", "rnnlab.analysis.run_figures")}  # the trainer's one figures hook


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, top_level_only: bool = False) -> set[str]:
    """The rnnlab modules a file imports (``from rnnlab import init`` imports rnnlab.init)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.startswith("rnnlab"):
            package = SRC.parent.joinpath(*node.module.split("."))
            for alias in node.names:  # ``from package import submodule`` imports the submodule
                is_module = (package / f"{alias.name}.py").exists() or (package / alias.name).is_dir()
                found.add(f"{node.module}.{alias.name}" if is_module else node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("rnnlab")}
    return found


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in SRC.rglob("*.py")}


def _rank(module: str) -> int | None:
    parts = module.split(".")
    return RANK.get(parts[1]) if len(parts) > 1 else None  # None: the package facade rnnlab/__init__


def test_imports_run_down_the_layers_but_for_the_figures_hook():
    upward = []
    for name, path in _modules().items():
        for target in _imports(path):
            low, high = _rank(name), _rank(target)
            if low is not None and high is not None and high > low and (name, target) not in UPWARD_HOOKS:
                upward.append(f"{name} -> {target}")
    assert not upward


def test_the_trainer_imports_analysis_only_in_its_figures_hook():
    users = {(name, target) for name, path in _modules().items() if name.startswith("rnnlab.train")
             for target in _imports(path) if target.startswith("rnnlab.analysis")}
    assert users == UPWARD_HOOKS
    tree = ast.parse((SRC / "train" / "loop.py").read_text(encoding="utf-8"))
    hook = [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module == "rnnlab.analysis.run_figures"]
    assert len(hook) == 1 and hook[0] not in tree.body  # imported when a run ends, not when train is imported


def test_no_import_cycles_between_modules():
    modules = _modules()
    graph = {name: {t for t in _imports(path, top_level_only=True) if t in modules} for name, path in modules.items()}
    state: dict[str, int] = {}  # 1 on the path, 2 done

    def visit(node, path):
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [node])
