"""Data-parallel training over MPI: ``mpiexec -n K rnnlab train ...`` trains the model one
process would, rank 0 alone writes, a run resumes on another number of ranks, and a rank
that dies stops the job instead of hanging it. Skipped, with the reason, when mpi4py or
mpiexec is missing (``pip install 'rnnlab[mpi]'``; CI installs it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnlab.train.checkpoint import load_checkpoint

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[0].parent / "shared" / "data"
MPIEXEC = shutil.which("mpiexec") or str(Path(sys.executable).parent / "mpiexec")
try:
    import mpi4py  # noqa: F401
    HAVE_MPI = Path(MPIEXEC).exists()
except ImportError:
    HAVE_MPI = False
needs_mpi = pytest.mark.skipif(not HAVE_MPI, reason="mpi4py and mpiexec are not installed (pip install 'rnnlab[mpi]')")
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"the shared datasets are not at {DATA}")

JV = ["--train", str(DATA / "japanese_vowels" / "JapaneseVowels_TRAIN.ts"),
      "--test", str(DATA / "japanese_vowels" / "JapaneseVowels_TEST.ts"),
      "--hidden", "8", "--batch-size", "32", "--dropout", "0.3", "--epochs", "2", "--save-minutes", "0"]


def _env(**extra) -> dict:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", MPLBACKEND="Agg", **extra)
    for name in ("RNNLAB_FAULT", "RNNLAB_FAULT_RANK"):
        if name not in extra:
            env.pop(name, None)
    return env


def _rnnlab(*args, ranks: int = 1, timeout: int = 300, **env):
    command = [sys.executable, "-m", "rnnlab.cli", *map(str, args)]
    if ranks > 1:
        command = [MPIEXEC, "-n", str(ranks), *command]
    return subprocess.run(command, env=_env(**env), capture_output=True, text=True, timeout=timeout)


@needs_mpi
def test_every_task_steps_the_same_on_two_and_three_ranks_as_alone_in_float64(tmp_path):
    """Dropout, word dropout and state resets on; uneven shards; a batch smaller than K."""
    for ranks in (2, 3):
        out = tmp_path / f"eq{ranks}.json"
        result = subprocess.run([MPIEXEC, "-n", str(ranks), sys.executable, str(HERE / "mpi_equivalence.py"),
                                 str(out)], env=_env(), capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        report = json.loads(out.read_text())
        assert report["size"] == ranks
        assert set(report["max_difference"]) == {"classify", "lm", "tag", "forecast", "translate"}
        for task, difference in report["max_difference"].items():
            assert difference < 1e-10, (ranks, task, difference)


@needs_mpi
def test_mpiexec_trains_what_one_process_trains_and_only_rank_0_writes(tmp_path):
    alone, together = tmp_path / "alone", tmp_path / "together"
    assert _rnnlab("train", "classify", *JV, "--out", alone).returncode == 0
    result = _rnnlab("train", "classify", *JV, "--out", together, ranks=2)
    assert result.returncode == 0, result.stderr[-3000:]
    a, b = load_checkpoint(alone, "last"), load_checkpoint(together, "last")
    for name in a.params:  # float32: equal within rounding
        np.testing.assert_allclose(b.params[name], a.params[name], rtol=1e-4, atol=1e-5)
    assert json.loads((together / "config.json").read_text())["world_size"] == 2
    assert b.meta["world_size"] == 2
    assert len((together / "log.jsonl").read_text().splitlines()) == 2  # one writer: one line per epoch
    assert result.stdout.count("wrote ") == 1


@needs_mpi
def test_a_run_stopped_on_two_ranks_resumes_on_one(tmp_path):
    """The language model: its carried state is gathered from both ranks into the checkpoint."""
    text = tmp_path / "t.txt"
    text.write_text((DATA / "tinyshakespeare" / "input.txt").read_text(encoding="utf-8")[:6000], encoding="utf-8")
    lm = ["lm", "--data", text, "--hidden", "8", "--embed", "4", "--seq-len", "12", "--batch-size", "6",
          "--epochs", "2", "--dropout", "0.2", "--state-reset", "0.3", "--save-minutes", "0"]
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert _rnnlab("train", *lm, "--out", whole).returncode == 0
    stopped = _rnnlab("train", *lm, "--out", parts, ranks=2, RNNLAB_FAULT="batch@20:INT")
    assert stopped.returncode == 130, stopped.stderr[-3000:]
    carry = load_checkpoint(parts, "last").carry
    assert carry["h"].shape == (1, 6, 8)  # every stream's state, not one rank's half
    assert _rnnlab("train", "lm", "--resume", parts).returncode == 0
    a, b = load_checkpoint(whole, "last"), load_checkpoint(parts, "last")
    for name in a.params:
        np.testing.assert_allclose(b.params[name], a.params[name], rtol=1e-4, atol=1e-5)


@needs_mpi
def test_a_rank_that_dies_stops_the_whole_job(tmp_path):
    result = _rnnlab("train", "classify", *JV, "--epochs", "50", "--out", tmp_path / "r", ranks=2, timeout=120,
                     RNNLAB_FAULT="batch@5:KILL", RNNLAB_FAULT_RANK="1")
    assert result.returncode != 0  # and it returned: no rank waits forever for the dead one


def test_under_mpiexec_without_mpi4py_the_command_says_how_to_enable_it(monkeypatch, capsys, tmp_path):
    from rnnlab.cli import main

    monkeypatch.setenv("PMI_SIZE", "2")
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    assert main(["train", "classify", *JV, "--out", str(tmp_path / "r")]) == 1
    assert "started by mpiexec as 2 processes, but mpi4py is not installed: pip install 'rnnlab[mpi]'" in \
        capsys.readouterr().err
    assert not (tmp_path / "r").exists()
