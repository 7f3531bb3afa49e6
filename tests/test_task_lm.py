"""``rnnlab train lm`` end to end on a slice of Tiny Shakespeare, and its error paths.

A run directory holds metrics with loss and bpc; eval, predict and generate work on it;
an interrupted run resumes (with the carried state) to the result of an uninterrupted
one; bad input ends with one line that names the file (and line) or the character.
"""

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnlab.cli import main
from rnnlab.train.config import ConfigError, resolve_config
from rnnlab.train.tasks.lm import LanguageModelTask, LMConfig

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SHAKESPEARE = DATA / "tinyshakespeare" / "input.txt"
SMALL = ["--hidden", "12", "--embed", "5", "--seq-len", "16", "--batch-size", "4", "--epochs", "2",
         "--lr", "0.01", "--patience", "0"]


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    if not SHAKESPEARE.exists():
        pytest.skip(f"the shared datasets are not at {DATA}")
    path = tmp_path_factory.mktemp("data") / "slice.txt"
    path.write_text(SHAKESPEARE.read_text(encoding="utf-8")[:4000], encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def run(text, tmp_path_factory):
    """One small trained run that the eval, predict and generate tests share."""
    out = tmp_path_factory.mktemp("lm") / "run"
    assert main(["train", "lm", "--data", str(text), "--out", str(out), *SMALL]) == 0
    return out


def test_a_run_directory_holds_everything_and_eval_agrees(run, text, tmp_path, capsys):
    assert {p.name for p in run.iterdir()} >= {
        "config.json", "log.jsonl", "metrics.json", "curves.png", "best.npz", "last.npz"}
    metrics = json.loads((run / "metrics.json").read_text())
    for split in ("dev", "test"):
        assert set(metrics[split]) == {"loss", "bpc"}
        assert metrics[split]["bpc"] == pytest.approx(metrics[split]["loss"] / np.log(2))
        assert 0 < metrics[split]["loss"] < np.log(65)  # learned something: better than uniform
    assert json.loads((run / "config.json").read_text())["seq_len"] == 16
    assert len((run / "log.jsonl").read_text().splitlines()) == 2

    # eval on the file that holds exactly the test part reproduces the test metrics
    test_part = text.read_text(encoding="utf-8")[-200:]  # 5 % of 4000 characters
    (tmp_path / "test_part.txt").write_text(test_part, encoding="utf-8")
    capsys.readouterr()
    assert main(["eval", str(run), "--data", str(tmp_path / "test_part.txt"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["loss"] == pytest.approx(metrics["test"]["loss"], rel=1e-6)


def test_predict_scores_each_line_from_a_file_or_standard_input(run, tmp_path, capsys, monkeypatch):
    lines = "First Citizen:\nBefore we proceed any further, hear me speak.\n\n"
    (tmp_path / "lines.txt").write_text(lines, encoding="utf-8")
    assert main(["predict", str(run), str(tmp_path / "lines.txt")]) == 0
    from_file = capsys.readouterr().out.splitlines()
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    assert main(["predict", str(run), "-"]) == 0
    assert capsys.readouterr().out.splitlines() == from_file
    assert len(from_file) == 3 and all(float(s) > 0 for s in from_file)


def test_a_line_scored_alone_equals_its_part_of_a_batch(run):
    from rnnlab.train.run import load_run

    task, model = load_run(str(run))
    lines = ["Speak, speak.", "", "You are all resolved rather to die than to famish?"]
    batch = [float(s) for s in task.predict_lines(model, lines)]
    alone = [float(task.predict_lines(model, [line])[0]) for line in lines]
    assert batch == pytest.approx(alone, abs=2e-4)  # printed to 4 decimals


def test_generate_is_reproducible_and_starts_with_the_prime(run, capsys):
    args = ["generate", str(run), "--prime", "ROMEO:", "--length", "80", "--temperature", "0.8"]
    assert main([*args, "--seed", "1"]) == 0
    first = capsys.readouterr().out
    assert main([*args, "--seed", "1"]) == 0
    assert capsys.readouterr().out == first
    assert main([*args, "--seed", "2"]) == 0
    assert capsys.readouterr().out != first
    assert first.startswith("ROMEO:") and len(first) == len("ROMEO:") + 80 + 1  # + print's newline


def test_interrupted_run_resumes_with_its_carry_to_the_same_result(text, tmp_path, monkeypatch, capsys):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    options = ["--data", str(text), *SMALL, "--dropout", "0.2"]
    assert main(["train", "lm", "--out", str(whole), *options]) == 0

    from rnnlab.models.charlm import CharLM

    original, calls = CharLM.loss_and_grads, {"n": 0}

    def interrupt_inside_the_second_epoch(self, batch, rng, carry=None):
        calls["n"] += 1
        if calls["n"] == 70:  # 56 batches per epoch: Ctrl-C during batch 14 of epoch 2
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, batch, rng, carry)

    monkeypatch.setattr(CharLM, "loss_and_grads", interrupt_inside_the_second_epoch)
    assert main(["train", "lm", "--out", str(parts), *options]) == 130
    from rnnlab.train.checkpoint import load_checkpoint

    carry = load_checkpoint(parts, "last", task="lm").carry
    assert carry["h"].shape == carry["c"].shape == (1, 4, 12)  # the state was saved
    monkeypatch.setattr(CharLM, "loss_and_grads", original)
    assert main(["train", "lm", "--resume", str(parts)]) == 0
    a, b = (json.loads((d / "metrics.json").read_text()) for d in (whole, parts))
    assert a["dev"]["loss"] == b["dev"]["loss"]


# ----- bad input ------------------------------------------------------------------------


def _error(capsys, argv) -> str:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("rnnlab: error: ")  # one line, no traceback
    return err


def test_an_empty_or_too_short_file_is_named(tmp_path, capsys):
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "short.txt").write_text("To be, or not to be.\n" * 3)
    err = _error(capsys, ["train", "lm", "--data", str(tmp_path / "empty.txt"), "--out", str(tmp_path / "a")])
    assert "empty.txt: is empty" in err
    err = _error(capsys, ["train", "lm", "--data", str(tmp_path / "short.txt"), "--out", str(tmp_path / "b")])
    assert "short.txt" in err and "too few" in err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_character_only_in_the_held_out_part_is_in_the_vocabulary(tmp_path):
    lines = ["abc abc cab"] * 200 + ["abc Zq"] + ["abc"] * 30
    (tmp_path / "t.txt").write_text("\n".join(lines) + "\n")
    config = resolve_config(LMConfig, None, {"data": str(tmp_path / "t.txt"), "seq_len": 10, "batch_size": 4})
    task = LanguageModelTask(config)
    task.prepare()
    assert task.meta["chars"] == ["\n", " ", "Z", "a", "b", "c", "q"]
    assert "Z" not in "".join(task.meta["chars"][k] for k in task.splits["train"])
    assert task.meta["characters"] == {"train": 2275, "dev": 126, "test": 126}


def test_unseen_characters_in_eval_predict_and_prime_are_named(run, tmp_path, capsys, monkeypatch):
    (tmp_path / "odd.txt").write_text("First Citizen:\nSpeak \u00e9 speak~\n")
    err = _error(capsys, ["eval", str(run), "--data", str(tmp_path / "odd.txt")])
    assert "odd.txt, line 2: characters never seen in training: '~', '\u00e9'" in err
    err = _error(capsys, ["predict", str(run), str(tmp_path / "odd.txt")])
    assert "odd.txt, line 2: characters never seen in training" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("fine\n\u00e9\n"))
    assert "input, line 2: characters never seen in training: '\u00e9'" in _error(capsys, ["predict", str(run)])
    err = _error(capsys, ["generate", str(run), "--prime", "\u00e9ROMEO"])
    assert "the prime: characters never seen in training: '\u00e9'" in err
    assert "at least one character" in _error(capsys, ["generate", str(run), "--prime", ""])
    (tmp_path / "one.txt").write_text("a")
    assert "one.txt: a language model needs at least 2 characters" in _error(
        capsys, ["eval", str(run), "--data", str(tmp_path / "one.txt")])


@pytest.mark.parametrize("option, message", [
    ({"bidirectional": True}, "bidirectional must be false"),
    ({"seq_len": 0}, "--seq-len must be at least 1, got 0"),
    ({"dev_fraction": 0.0}, r"--dev-fraction must be in \(0.0, 1.0\), got 0.0"),
    ({"test_fraction": 0.6, "dev_fraction": 0.5}, "dev_fraction and test_fraction"),
    ({"data": ""}, "data must name a text file"),
])
def test_bad_options_are_refused(option, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config(LMConfig, None, {"data": "x.txt", **option})


def test_the_task_registry_imports_in_a_fresh_interpreter():
    """Regression: tasks/__init__.py used importlib.util after only ``import importlib``."""
    code = "import rnnlab.train.tasks as t; assert 'lm' in t.TASKS"
    subprocess.run([sys.executable, "-c", code], check=True)
