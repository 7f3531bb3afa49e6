"""The trainer and the command line, end to end on a small generated classification set.

A run directory holds config.json, log.jsonl, metrics.json, curves.png and checkpoints;
an interrupted run resumes to exactly the result of an uninterrupted one; bad input ends
with one line on stderr and a non-zero exit code, and leaves no half-written run behind.
"""

import json
import os
import signal

import numpy as np
import pytest

from rnnlab.cli import main
from rnnlab.train.checkpoint import load_checkpoint


def _write_tsv(path, n, seed):
    """Sentences whose label is whether the word 'good' comes before 'bad'."""
    rng = np.random.default_rng(seed)
    filler = ["the", "a", "movie", "was", "and", "plot", "very"]
    lines = ["document\tlabel"]
    for _ in range(n):
        words = list(rng.choice(filler, size=rng.integers(3, 8)))
        first, second = ("good", "bad") if rng.random() < 0.5 else ("bad", "good")
        words.insert(rng.integers(0, len(words)), first)
        words.append(second)
        lines.append(" ".join(words) + "\t" + ("1" if first == "good" else "0"))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def data(tmp_path):
    _write_tsv(tmp_path / "train.tsv", 120, 0)
    _write_tsv(tmp_path / "test.tsv", 40, 1)
    config = tmp_path / "small.toml"
    config.write_text(
        f'train = "{tmp_path / "train.tsv"}"\ntest = "{tmp_path / "test.tsv"}"\n'
        "hidden = 8\nembed = 6\nepochs = 3\nbatch_size = 16\nlr = 0.01\npatience = 0\n"
    )
    return tmp_path, config


def test_a_run_directory_holds_everything(data, capsys):
    tmp_path, config = data
    out = tmp_path / "run"
    assert main(["train", "classify", "--config", str(config), "--out", str(out), "--cell", "rnn"]) == 0
    assert {p.name for p in out.iterdir()} >= {
        "config.json", "log.jsonl", "metrics.json", "curves.png", "best.npz", "last.npz"}
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) >= {"dev", "test", "train_seconds", "epochs"}
    assert 0 <= metrics["test"]["accuracy"] <= 1 and metrics["epochs"] == 3
    assert json.loads((out / "config.json").read_text())["cell"] == "rnn"  # the flag overrode the file
    assert len((out / "log.jsonl").read_text().splitlines()) == 3

    capsys.readouterr()
    assert main(["eval", str(out), "--data", str(tmp_path / "test.tsv"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == pytest.approx(metrics["test"]["accuracy"])


def test_predict_reads_standard_input_and_prints_one_label_per_line(data, capsys, monkeypatch):
    import io

    tmp_path, config = data
    out = tmp_path / "run"
    main(["train", "classify", "--config", str(config), "--out", str(out)])
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO("good movie then bad\nbad plot and good\n\n"))
    assert main(["predict", str(out), "-"]) == 0
    labels = capsys.readouterr().out.splitlines()
    assert len(labels) == 3 and set(labels) <= {"0", "1"}


def test_interrupted_run_resumes_to_the_same_result(data, monkeypatch, capsys):
    tmp_path, config = data
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    randomness = ["--dropout", "0.3", "--recurrent-dropout", "0.3"]  # both drawn from the training rng
    assert main(["train", "classify", "--config", str(config), "--out", str(whole), *randomness]) == 0

    from rnnlab.models.classifier import SequenceClassifier

    original = SequenceClassifier.loss_and_grads
    calls = {"n": 0}

    def interrupt_on_the_tenth_batch(self, batch, rng, carry=None):
        calls["n"] += 1
        if calls["n"] == 10:  # Ctrl-C inside the second epoch (7 batches per epoch)
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, batch, rng, carry)

    monkeypatch.setattr(SequenceClassifier, "loss_and_grads", interrupt_on_the_tenth_batch)
    code = main(["train", "classify", "--config", str(config), "--out", str(parts), *randomness])
    assert code == 130
    assert f"--resume {parts}" in capsys.readouterr().err
    monkeypatch.setattr(SequenceClassifier, "loss_and_grads", original)
    assert main(["train", "classify", "--resume", str(parts)]) == 0

    a, b = load_checkpoint(whole, "last"), load_checkpoint(parts, "last")
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])
    assert json.loads((whole / "metrics.json").read_text())["test"] == json.loads((parts / "metrics.json").read_text())["test"]


def test_a_second_ctrl_c_stops_at_once_and_keeps_the_previous_checkpoint(data, monkeypatch, capsys):
    tmp_path, config = data
    out = tmp_path / "run"
    from rnnlab.models.classifier import SequenceClassifier

    original, calls = SequenceClassifier.loss_and_grads, {"n": 0}

    def ctrl_c_twice_in_the_second_epoch(self, batch, rng, carry=None):
        calls["n"] += 1
        if calls["n"] == 10:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, batch, rng, carry)

    monkeypatch.setattr(SequenceClassifier, "loss_and_grads", ctrl_c_twice_in_the_second_epoch)
    assert main(["train", "classify", "--config", str(config), "--out", str(out)]) == 130
    assert "SIGINT twice: stopped at once" in capsys.readouterr().err
    assert load_checkpoint(out, "last").meta["progress"]["epoch"] == 1  # the end of epoch 1, not a half batch
    monkeypatch.setattr(SequenceClassifier, "loss_and_grads", original)
    assert main(["train", "classify", "--resume", str(out)]) == 0


def test_a_dev_metric_that_is_not_finite_stops_the_run(data, monkeypatch, capsys):
    tmp_path, config = data
    from rnnlab.train.tasks.base import Evaluation
    from rnnlab.train.tasks.classify import ClassifyTask

    monkeypatch.setattr(ClassifyTask, "evaluate",
                        lambda self, model, split="dev", data=None: Evaluation({"accuracy": float("nan")}))
    assert main(["train", "classify", "--config", str(config), "--out", str(tmp_path / "run")]) == 1
    assert "training diverged: the dev accuracy became nan at epoch 1" in capsys.readouterr().err


def test_diverging_training_stops_and_keeps_the_last_good_checkpoint(data, monkeypatch, capsys):
    tmp_path, config = data
    out = tmp_path / "run"
    from rnnlab.models.classifier import SequenceClassifier

    original = SequenceClassifier.loss_and_grads
    calls = {"n": 0}

    def nan_in_the_second_epoch(self, batch, rng, carry=None):
        calls["n"] += 1
        loss, grads, carry = original(self, batch, rng, carry)
        return (float("nan") if calls["n"] == 12 else loss), grads, carry

    monkeypatch.setattr(SequenceClassifier, "loss_and_grads", nan_in_the_second_epoch)
    assert main(["train", "classify", "--config", str(config), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "training diverged: the loss became nan at epoch 2, batch 5" in err  # 7 batches per epoch
    assert f"the last good checkpoint is {out}/last.npz (the end of epoch 1)" in err
    assert load_checkpoint(out, "last").meta["progress"]["epoch"] == 1  # the end of the first epoch, intact


@pytest.mark.parametrize("args,message", [
    (["--hiden", "3"], "unrecognized arguments: --hiden"),
    (["--cell", "elman"], "invalid choice: 'elman'"),
])
def test_mistyped_options_are_errors_that_name_them(data, capsys, args, message):
    tmp_path, config = data
    with pytest.raises(SystemExit) as exc:
        main(["train", "classify", "--config", str(config), "--out", str(tmp_path / "r"), *args])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_unknown_option_in_the_config_file_is_named(data, capsys):
    tmp_path, config = data
    config.write_text(config.read_text() + "hiden = 3\n")
    assert main(["train", "classify", "--config", str(config), "--out", str(tmp_path / "r")]) == 1
    assert "unknown option 'hiden' (did you mean 'hidden'?)" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_bad_data_names_the_file_and_leaves_nothing_behind(data, capsys):
    tmp_path, config = data
    (tmp_path / "test.tsv").write_bytes(b"document\tlabel\ngood\t1\n\xff\xfe bad\t0\n")
    assert main(["train", "classify", "--config", str(config), "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("rnnlab: error: ") and "test.tsv" in err and "UTF-8" in err
    assert "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_label_never_seen_in_training_is_named(data, capsys):
    tmp_path, config = data
    out = tmp_path / "run"
    main(["train", "classify", "--config", str(config), "--out", str(out)])
    (tmp_path / "odd.tsv").write_text("document\tlabel\ngood movie\t7\n")
    capsys.readouterr()
    assert main(["eval", str(out), "--data", str(tmp_path / "odd.tsv")]) == 1
    err = capsys.readouterr().err
    assert "odd.tsv" in err and "'7'" in err


def test_damaged_checkpoints_and_empty_directories_are_reported(data, capsys):
    tmp_path, config = data
    out = tmp_path / "run"
    main(["train", "classify", "--config", str(config), "--out", str(out)])
    blob = (out / "best.npz").read_bytes()
    (out / "best.npz").write_bytes(blob[:100])
    capsys.readouterr()
    assert main(["predict", str(out), str(tmp_path / "test.tsv")]) == 1
    assert "best.npz: truncated or corrupted" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["train", "classify", "--resume", str(tmp_path / "empty")]) == 1
    assert "no run to resume here (neither last.npz nor config.json)" in capsys.readouterr().err


def test_an_existing_run_is_never_overwritten(data, capsys):
    tmp_path, config = data
    out = tmp_path / "run"
    main(["train", "classify", "--config", str(config), "--out", str(out)])
    capsys.readouterr()
    assert main(["train", "classify", "--config", str(config), "--out", str(out)]) == 1
    assert "already holds files" in capsys.readouterr().err


# ----- every failure is one line that names what to fix ---------------------------------------


@pytest.mark.parametrize("args, message", [
    (["--lr", "nan"], "--lr must be a finite number, got nan"),
    (["--lr", "inf"], "--lr must be a finite number, got inf"),
    (["--lr", "-0.1"], "--lr must be greater than 0.0, got -0.1"),
    (["--clip", "nan"], "--clip must be a finite number, got nan"),
    (["--seed", "-1"], "--seed must be at least 0, got -1"),
    (["--max-len", "0"], "--max-len must be at least 1, got 0"),
    (["--patience", "-1"], "--patience must be at least 0, got -1"),
    (["--dropout", "1"], r"--dropout must be in [0.0, 1.0), got 1.0"),
    (["--recurrent-dropout", "1"], r"--recurrent-dropout must be in [0.0, 1.0), got 1.0"),
    (["--recurrent-dropout", "-0.5"], r"--recurrent-dropout must be in [0.0, 1.0), got -0.5"),
    (["--hidden", "1000000"], "the model would have 4e+12 parameters, 58.2 TB for weights, gradients and Adam's"),
    (["--embed", "1000000000"], "the model would have 4.3e+10 parameters"),
])
def test_bad_numbers_are_refused_up_front_and_leave_nothing_behind(data, capsys, args, message):
    tmp_path, config = data
    out = tmp_path / "r"
    assert main(["train", "classify", "--config", str(config), "--out", str(out), *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("rnnlab: error: ") and message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_a_nan_in_the_config_file_is_named_with_the_file(data, capsys):
    tmp_path, config = data
    config.write_text(config.read_text().replace("lr = 0.01", "lr = nan"))
    assert main(["train", "classify", "--config", str(config), "--out", str(tmp_path / "r")]) == 1
    assert f"{config}: option lr must be a finite number, got nan" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["generate", "RUN", "--temperature", "nan"], "--temperature must be a finite number > 0, got nan"),
    (["generate", "RUN", "--temperature", "inf"], "--temperature must be a finite number > 0, got inf"),
    (["demo", "--steps", "-1"], "--steps must be at least 1, got -1"),
    (["demo", "--lr", "nan"], "--lr must be a finite number, got nan"),
    (["tour", "--seed", "-1"], "--seed must be at least 0, got -1"),
])
def test_other_commands_check_their_numbers_first(data, capsys, argv, message):
    tmp_path, config = data
    run = tmp_path / "run"
    if "RUN" in argv:
        main(["train", "lm", "--data", str(_text(tmp_path)), "--hidden", "4", "--embed", "3", "--seq-len", "8",
              "--batch-size", "2", "--epochs", "1", "--out", str(run)])
        capsys.readouterr()
    assert main([str(run) if a == "RUN" else a for a in argv]) == 1
    assert message in capsys.readouterr().err


def _text(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text("the quick brown fox jumps over the lazy dog\n" * 20, encoding="utf-8")
    return path


def test_a_forged_array_header_is_refused_before_allocating(data, capsys):
    import io
    import zipfile

    tmp_path, config = data
    out = tmp_path / "run"
    main(["train", "classify", "--config", str(config), "--out", str(out)])
    with zipfile.ZipFile(out / "best.npz") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (10**11,)})
    members["param/head.b.npy"] = np.lib.format.magic(1, 0) + header.getvalue()[8:] + b"\0" * 8
    with zipfile.ZipFile(out / "best.npz", "w") as archive:
        for name, blob in members.items():
            archive.writestr(name, blob)
    capsys.readouterr()
    assert main(["predict", str(out), str(tmp_path / "test.tsv")]) == 1
    err = capsys.readouterr().err
    assert f"{out}/best.npz: array param/head.b declares shape (100000000000,)" in err and len(err.splitlines()) == 1


def test_metrics_stay_valid_json_when_a_ratio_is_undefined(tmp_path, capsys):
    """A constant target makes the persistence baseline's error 0 and mae_ratio undefined: null, not NaN."""
    rows = ["date,x,y"] + [f"2020/01/{k + 1:02d},{k % 7},5.0" for k in range(30)]
    (tmp_path / "c.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    with np.errstate(all="ignore"):
        assert main(["train", "forecast", "--data", str(tmp_path / "c.csv"), "--target", "y", "--window", "3",
                     "--test-size", "5", "--dev-size", "5", "--epochs", "2", "--hidden", "4",
                     "--out", str(tmp_path / "run")]) == 0

    def no_constants(name):
        raise AssertionError(f"{name} in JSON")

    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text(), parse_constant=no_constants)
    assert metrics["test"]["mae_ratio"] is None
    for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines():
        assert json.loads(line, parse_constant=no_constants)["dev_mae_ratio"] is None
    json.loads(capsys.readouterr().out.splitlines()[-2], parse_constant=no_constants)


def test_only_rnnlabs_own_errors_are_one_liners_and_rnnlab_debug_shows_the_traceback(data, capsys, monkeypatch):
    tmp_path, config = data
    from rnnlab.models.classifier import SequenceClassifier

    def a_genuine_bug(self, batch, rng, carry=None):
        raise ValueError("operands could not be broadcast together")

    monkeypatch.setattr(SequenceClassifier, "loss_and_grads", a_genuine_bug)
    with pytest.raises(ValueError, match="could not be broadcast"):  # not disguised as bad input
        main(["train", "classify", "--config", str(config), "--out", str(tmp_path / "a")])
    monkeypatch.setenv("RNNLAB_DEBUG", "1")
    from rnnlab.errors import ConfigError

    with pytest.raises(ConfigError, match="--lr must be a finite number"):
        main(["train", "classify", "--config", str(config), "--out", str(tmp_path / "b"), "--lr", "nan"])


def test_the_command_itself_chooses_blas_threads_from_the_load(data):
    """``rnnlab train`` run as the command (no argv passed to main) picks its BLAS threads:
    with another process keeping a core busy (load average faked at 1.0 on 2+ cores) it says
    so on stderr. Called in a process with an argv (tests) it leaves them alone."""
    import subprocess
    import sys

    tmp_path, config = data
    script = (
        "import os, sys\n"
        "os.getloadavg = lambda: (1.0, 1.0, 1.0)\n"
        "import rnnlab.threads\n"
        "rnnlab.threads.available_cores = lambda: 2\n"
        "from rnnlab.cli import main\n"
        f"sys.argv = ['rnnlab', 'train', 'classify', '--config', {str(config)!r}, '--out', {str(tmp_path / 'cmd')!r}]\n"
        "sys.exit(main())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "rnnlab: note: BLAS threads: 1 of 2 cores: other processes keep 1 busy (load 1.0)" in done.stderr
