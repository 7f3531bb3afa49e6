"""Checkpoints are written atomically, load without pickle, and refuse anything damaged."""

import json

import numpy as np
import pytest

from rnnlab.optim import Adam
from rnnlab.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint


def _saved(tmp_path):
    params = {"rnn.W_x_l0": np.arange(6, dtype=np.float32).reshape(2, 3), "head.b": np.ones(3, np.float32)}
    adam = Adam(lr=0.1)
    adam.step(params, {k: np.ones_like(v) for k, v in params.items()})
    save_checkpoint(tmp_path, "last", params, adam.state_dict(), {"task": "tag", "epoch": 3})
    return params, adam


def test_round_trip_restores_weights_optimizer_and_meta(tmp_path):
    params, adam = _saved(tmp_path)
    loaded, optim_state, meta = load_checkpoint(tmp_path, "last", task="tag")
    assert meta["epoch"] == 3 and meta["task"] == "tag" and "rnnlab_version" in meta
    for k in params:
        np.testing.assert_array_equal(loaded[k], params[k])
        assert loaded[k].dtype == params[k].dtype
    restored = Adam(lr=0.1)
    restored.load_state_dict(optim_state)
    a, b = dict(params), {k: v.copy() for k, v in loaded.items()}
    grads = {k: np.full_like(v, 0.5) for k, v in params.items()}
    adam.step(a, grads)
    restored.step(b, {k: g.copy() for k, g in grads.items()})
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_no_temporary_files_are_left_behind(tmp_path):
    _saved(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.json", "last.npz"]


def test_checkpoint_for_another_task_is_refused(tmp_path):
    _saved(tmp_path)
    with pytest.raises(CheckpointError, match=r"last.json: checkpoint is for task 'tag', not 'lm'"):
        load_checkpoint(tmp_path, "last", task="lm")


def test_truncated_weights_are_reported_with_the_file_name(tmp_path):
    _saved(tmp_path)
    data = (tmp_path / "last.npz").read_bytes()
    (tmp_path / "last.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"last.npz: truncated or corrupted"):
        load_checkpoint(tmp_path, "last")


def test_corrupted_metadata_is_reported(tmp_path):
    _saved(tmp_path)
    (tmp_path / "last.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"last.json: corrupted checkpoint metadata"):
        load_checkpoint(tmp_path, "last")


def test_missing_checkpoint_names_the_directory(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint 'best' here"):
        load_checkpoint(tmp_path, "best")


def test_weights_that_do_not_match_the_metadata_are_refused(tmp_path):
    _saved(tmp_path)
    meta = json.loads((tmp_path / "last.json").read_text())
    meta["arrays"].append("param/extra")
    (tmp_path / "last.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="does not match last.json"):
        load_checkpoint(tmp_path, "last")


def test_pickled_objects_are_never_loaded(tmp_path):
    _saved(tmp_path)
    np.savez(tmp_path / "last.npz", **{"param/rnn.W_x_l0": np.array([object()], dtype=object)})
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        load_checkpoint(tmp_path, "last")
