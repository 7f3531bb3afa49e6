"""A training run survives anything: real ``rnnlab train`` processes are stopped by SIGINT,
SIGTERM and SIGKILL at chosen moments (``rnnlab.faults``: after a batch, during the
dev evaluation, with a checkpoint's bytes on disk but not yet renamed, between the two
checkpoints of an epoch's end, before the log line), then resumed; every array of both
checkpoints, the log and the metrics must equal the uninterrupted run's, bit for bit. The
tasks draw random numbers while training (dropout, recurrent dropout, the tagger's word
dropout, the language model's state resets), so a resumed run that repeats or skips a draw
is caught.

Also: two writers on one run directory, a disk that fills up mid-run, and checkpoints
that were edited by hand.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rnnlab.atomic import TEMP_PREFIX
from rnnlab.train.checkpoint import load_checkpoint

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"the shared datasets are not at {DATA}")

TIMING = {"seconds", "tokens_per_second"}  # the only fields allowed to differ between runs
KILLED, INTERRUPTED, TERMINATED = -signal.SIGKILL, 128 + signal.SIGINT, 128 + signal.SIGTERM


def rnnlab(*args, fault: str | None = None, check: int | None = None, wait: bool = True):
    """Run the real command line in a fresh process (one BLAS thread: results are exact)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", TQDM_DISABLE="1",
               MPLBACKEND="Agg")
    env.pop("RNNLAB_FAULT", None)
    if fault:
        env["RNNLAB_FAULT"] = fault
    command = [sys.executable, "-m", "rnnlab.cli", *map(str, args)]
    if not wait:
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    if check is not None:
        assert result.returncode == check, result.stderr[-3000:]
    return result


def error_line(result) -> str:
    """The one line an expected failure prints (never a traceback)."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("rnnlab: "), result.stderr
    return lines[-1]


def assert_same_run(expected: Path, got: Path) -> None:
    for name in ("best", "last"):
        a, b = load_checkpoint(expected, name), load_checkpoint(got, name)
        for group in ("params", "carry", "optimizer_state"):
            x, y = getattr(a, group), getattr(b, group)
            assert x.keys() == y.keys(), (name, group)
            for key in x:
                np.testing.assert_array_equal(np.asarray(y[key]), np.asarray(x[key]), err_msg=f"{name} {group} {key}")
        pa, pb = a.meta["progress"], b.meta["progress"]
        for key in pa.keys() - {"train_seconds", "epoch_seconds"}:
            assert pa[key] == pb[key], (name, key)
    logs = [[json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()] for run in (expected, got)]
    assert [{k: v for k, v in r.items() if k not in TIMING} for r in logs[0]] == \
           [{k: v for k, v in r.items() if k not in TIMING} for r in logs[1]]
    metrics = [json.loads((run / "metrics.json").read_text()) for run in (expected, got)]
    assert (metrics[0]["dev"], metrics[0]["test"]) == (metrics[1]["dev"], metrics[1]["test"])
    assert not list(got.glob(f"{TEMP_PREFIX}*"))


# ----- three tasks that draw random numbers while training --------------------------------


@pytest.fixture(scope="module")
def tasks(tmp_path_factory):
    """(task, options) of small runs on real data, with their randomness on."""
    root = tmp_path_factory.mktemp("data")
    text = root / "shakespeare.txt"
    text.write_text((DATA / "tinyshakespeare" / "input.txt").read_text(encoding="utf-8")[:6000], encoding="utf-8")
    blocks = [b for b in (DATA / "ud_english_ewt" / "en_ewt-ud-dev.conllu").read_text(encoding="utf-8")
              .split("\n\n") if b.strip()]
    for name, part in (("train", blocks[:60]), ("dev", blocks[60:80]), ("test", blocks[80:100])):
        (root / f"{name}.conllu").write_text("\n\n".join(part) + "\n\n", encoding="utf-8")
    jv = DATA / "japanese_vowels"
    common = ["--epochs", "3", "--patience", "0", "--lr", "0.01", "--save-minutes", "0"]
    return {
        "classify": ["classify", "--train", jv / "JapaneseVowels_TRAIN.ts", "--test", jv / "JapaneseVowels_TEST.ts",
                     "--hidden", "8", "--batch-size", "32", "--dropout", "0.3", *common],
        "lm": ["lm", "--data", text, "--hidden", "12", "--embed", "5", "--seq-len", "16", "--batch-size", "8",
               "--dropout", "0.2", "--state-reset", "0.3", "--cell", "gru", "--recurrent-dropout", "0.2", *common],
        "tag": ["tag", "--train", root / "train.conllu", "--dev", root / "dev.conllu", "--test", root / "test.conllu",
                "--hidden", "8", "--embed", "6", "--char-embed", "4", "--char-hidden", "4", "--batch-size", "16",
                "--dropout", "0.2", "--word-dropout", "0.5", "--recurrent-dropout", "0.2", *common],
    }


@pytest.fixture(scope="module")
def reference(tasks, tmp_path_factory):
    """The uninterrupted run of each task."""
    root = tmp_path_factory.mktemp("reference")
    for name, options in tasks.items():
        rnnlab("train", *options, "--out", root / name, check=0)
    return root


# (fault, exit code of the stopped process): every place a stop can land
FAULTS = {
    "Ctrl-C inside an epoch": ("batch@5:INT", INTERRUPTED),
    "SIGTERM inside an epoch": ("batch@4:TERM", TERMINATED),
    "Ctrl-C during the dev evaluation": ("evaluating@2:INT", INTERRUPTED),
    "Ctrl-C while a checkpoint is written": ("written-last.npz@2:INT", INTERRUPTED),
    "killed before the first checkpoint": ("batch@2:KILL", KILLED),
    "killed inside an epoch": ("batch@9:KILL", KILLED),
    "killed halfway through writing a checkpoint": ("half-written-last.npz@2:KILL", KILLED),
    "killed with a checkpoint written but not renamed": ("written-last.npz@2:KILL", KILLED),
    "killed between the best and the last checkpoint": ("saved-best@2:KILL", KILLED),
    "killed before the log line": ("saved-last@1:KILL", KILLED),
}
CASES = [(task, fault) for task in ("classify", "lm", "tag") for fault in FAULTS
         if task == "classify" or fault in ("Ctrl-C inside an epoch", "killed inside an epoch",
                                            "killed halfway through writing a checkpoint")]


@pytest.mark.parametrize("task, fault", CASES, ids=[f"{t}: {f}" for t, f in CASES])
def test_a_stopped_run_resumes_to_exactly_the_uninterrupted_result(tasks, reference, tmp_path, task, fault):
    spec, code = FAULTS[fault]
    out = tmp_path / "run"
    stopped = rnnlab("train", *tasks[task], "--out", out, fault=spec, check=code)
    if code != KILLED:
        line = error_line(stopped)
        assert f"continue with: rnnlab train {task} --resume {out}" in line
        if "evaluation" in fault:  # stopped at once, before the evaluation, not after it
            assert "at epoch 2, after batch" in line
    rnnlab("train", task, "--resume", out, check=0)
    assert_same_run(reference / task, out)


def test_a_run_stopped_twice_and_resumed_twice_still_matches(tasks, reference, tmp_path):
    out = tmp_path / "run"
    rnnlab("train", *tasks["lm"], "--out", out, fault="batch@3:INT", check=INTERRUPTED)
    rnnlab("train", "lm", "--resume", out, fault="batch@4:KILL", check=KILLED)
    rnnlab("train", "lm", "--resume", out, check=0)
    assert_same_run(reference / "lm", out)


def test_resuming_a_finished_run_changes_nothing(tasks, reference, tmp_path):
    out = tmp_path / "run"
    rnnlab("train", *tasks["classify"], "--out", out, check=0)
    rnnlab("train", "classify", "--resume", out, check=0)
    assert_same_run(reference / "classify", out)


# ----- one writer ------------------------------------------------------------------------------


def test_a_second_writer_is_refused_with_the_holders_pid(tasks, tmp_path):
    out = tmp_path / "run"
    first = rnnlab("train", *tasks["classify"], "--out", out, fault="batch@3:STOP", wait=False)
    try:
        deadline = time.time() + 60
        while not (out / "log.jsonl").exists() or _state(first.pid) != "T":  # frozen, holding the lock
            assert first.poll() is None and time.time() < deadline, first.communicate()
            time.sleep(0.05)
        for args in (["train", *tasks["classify"], "--out", out], ["train", "classify", "--resume", out]):
            line = error_line(rnnlab(*args, check=1))
            assert f"{out} is in use by another rnnlab process (PID {first.pid}" in line
    finally:
        os.kill(first.pid, signal.SIGCONT)
    assert first.wait(timeout=120) == 0
    assert len((out / "log.jsonl").read_text().splitlines()) == 3  # one writer, one line per epoch


def _state(pid: int) -> str:
    """The process state letter from /proc (T: stopped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "?"


def test_a_new_run_in_a_directory_that_holds_a_run_is_refused(tasks, reference):
    line = error_line(rnnlab("train", *tasks["classify"], "--out", reference / "classify", check=1))
    assert "already holds files" in line and f"--resume {reference / 'classify'}" in line


# ----- a full disk ---------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB tmpfs (needs root, as in CI)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill up needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("this machine does not allow mounting a tmpfs")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_one_line_keeps_the_last_checkpoint_and_resumes_exactly(tasks, reference, small_disk):
    size = (reference / "classify" / "last.npz").stat().st_size
    filler = small_disk / "filler"
    # room for config.json, the log and two checkpoints (best, last) but not for a third
    free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
    filler.write_bytes(b"\0" * (free - int(2.6 * size) - 16384))
    out = small_disk / "run"
    line = error_line(rnnlab("train", *tasks["classify"], "--out", out, check=1))
    assert "No space left on device" in line and str(out) in line and ".npz" in line
    assert not list(out.glob(f"{TEMP_PREFIX}*"))
    assert load_checkpoint(out, "last").meta["progress"]["epoch"] == 1  # the end of epoch 1, intact
    filler.unlink()
    rnnlab("train", "classify", "--resume", out, check=0)
    assert_same_run(reference / "classify", out)


# ----- checkpoints edited by hand ------------------------------------------------------------------


def _edit_meta(path: Path, change) -> None:
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    meta = json.loads(members["meta.json"])
    change(meta)
    members["meta.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


EDITS = {
    "an unknown key in progress": (lambda m: m["progress"].update(surprise=1), "progress has unknown keys ['surprise']"),
    "progress missing": (lambda m: m.pop("progress"), "progress must be a table, got NoneType"),
    "the epoch as a string": (lambda m: m["progress"].update(epoch="2"), "progress.epoch must be int, got '2'"),
    "the random state as a string": (lambda m: m["progress"].update(rng="x"), "progress.rng must be dict | None"),
    "a broken random state": (lambda m: m["progress"].update(rng={"bit_generator": "PCG64"}),
                              "progress.rng is not a random generator state"),
    "an epoch beyond the run": (lambda m: m["progress"].update(epoch=99), "progress is at epoch 99"),
    "a batch beyond the epoch": (lambda m: m["progress"].update(batch=999),
                                 "progress is at batch 999 of epoch 2, which has only"),
    "a learning rate of NaN": (lambda m: m["config"].update(lr=float("nan")), "option lr must be a finite number"),
    "a negative learning rate": (lambda m: m["config"].update(lr=-1.0), "option lr must be greater than 0.0"),
    "a huge hidden size": (lambda m: m["config"].update(hidden=10**7), "the model would have"),
    "another hidden size": (lambda m: m["config"].update(hidden=9), "has shape"),
    "the log not a list": (lambda m: m.update(log=3), "log must be a list of records"),
}


@pytest.fixture(scope="module")
def stopped_run(tasks, tmp_path_factory):
    """A classify run stopped after epoch 1's last checkpoint (progress at epoch 1, batch 0)."""
    out = tmp_path_factory.mktemp("stopped") / "run"
    rnnlab("train", *tasks["classify"], "--out", out, fault="saved-last@1:KILL", check=KILLED)
    return out


@pytest.mark.parametrize("edit", EDITS)
def test_an_edited_last_checkpoint_is_named_and_never_trained_on(stopped_run, tmp_path, edit):
    change, message = EDITS[edit]
    out = tmp_path / "run"
    out.mkdir()
    for path in stopped_run.iterdir():
        (out / path.name).write_bytes(path.read_bytes())
    _edit_meta(out / "last.npz", change)
    line = error_line(rnnlab("train", "classify", "--resume", out, check=1))
    assert f"{out}/last.npz" in line and message in line


def test_a_checkpoint_of_rnnlab_0_1_0_is_not_resumed_and_says_why(stopped_run, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_bytes((stopped_run / "config.json").read_bytes())
    checkpoint = load_checkpoint(stopped_run, "last")
    np.savez(out / "last.npz", **{f"param/{k}": v for k, v in checkpoint.params.items()})
    (out / "last.json").write_text(json.dumps({"task": "classify", "rnnlab_version": "0.1.0", "config":
                                               checkpoint.meta["config"], "arrays": sorted(
                                                   f"param/{k}" for k in checkpoint.params)}))
    line = error_line(rnnlab("train", "classify", "--resume", out, check=1))
    assert "written by rnnlab 0.1.0 in checkpoint format 1" in line and "not resume" in line


def test_a_run_saved_every_batch_and_killed_resumes_from_inside_the_epoch(tasks, reference, tmp_path):
    """--save-minutes: the language model's last checkpoint inside an epoch, its carried state included."""
    out = tmp_path / "run"
    rnnlab("train", *tasks["lm"], "--save-minutes", "1e-9", "--out", out, fault="batch@40:KILL", check=KILLED)
    progress = load_checkpoint(out, "last").meta["progress"]
    assert progress["batch"] > 0 and load_checkpoint(out, "last").carry  # saved inside the epoch, with the state
    rnnlab("train", "lm", "--resume", out, check=0)
    assert_same_run(reference / "lm", out)
