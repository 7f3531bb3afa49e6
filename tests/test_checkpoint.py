"""A checkpoint is one file, written whole or not at all, read without pickle, and refused
(with the file and the array named) when it is damaged, forged or edited."""

import errno
import io
import json
import zipfile

import numpy as np
import pytest

from rnnlab.errors import RunDirError
from rnnlab.optim import Adam
from rnnlab.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint


def _saved(tmp_path, name="last"):
    params = {"rnn.W_x_l0": np.arange(6, dtype=np.float32).reshape(2, 3), "head.b": np.ones(3, np.float32)}
    adam = Adam(lr=0.1)
    adam.step(params, {k: np.ones_like(v) for k, v in params.items()})
    carry = {"h": np.full((1, 2, 3), 0.5, np.float32)}
    save_checkpoint(tmp_path, name, params, adam.state_dict(), {"task": "tag", "epoch": 3}, carry=carry)
    return params, adam


def _members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rewrite(path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=True)
    return buffer.getvalue()


def test_round_trip_restores_weights_optimizer_carry_and_meta(tmp_path):
    params, adam = _saved(tmp_path)
    checkpoint = load_checkpoint(tmp_path, "last", task="tag")
    assert checkpoint.meta["epoch"] == 3 and checkpoint.meta["task"] == "tag" and "rnnlab_version" in checkpoint.meta
    for k in params:
        np.testing.assert_array_equal(checkpoint.params[k], params[k])
        assert checkpoint.params[k].dtype == params[k].dtype
    np.testing.assert_array_equal(checkpoint.carry["h"], np.full((1, 2, 3), 0.5, np.float32))
    restored = Adam(lr=0.1)
    restored.load_state_dict(checkpoint.optimizer_state)
    a, b = dict(params), {k: v.copy() for k, v in checkpoint.params.items()}
    grads = {k: np.full_like(v, 0.5) for k, v in params.items()}
    adam.step(a, grads)
    restored.step(b, {k: g.copy() for k, g in grads.items()})
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_a_checkpoint_is_one_file_with_its_metadata_inside(tmp_path):
    params, _ = _saved(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.npz"]  # no temporaries, no second file
    meta = json.loads(_members(tmp_path / "last.npz")["meta.json"])
    assert meta["arrays"]["param/head.b"]["shape"] == [3]
    with np.load(tmp_path / "last.npz", allow_pickle=False) as npz:  # still a plain .npz for NumPy
        np.testing.assert_array_equal(npz["param/head.b"], params["head.b"])


def test_a_failed_write_keeps_the_previous_checkpoint_and_leaves_no_temporary(tmp_path, monkeypatch):
    _saved(tmp_path)
    before = (tmp_path / "last.npz").read_bytes()
    real_write, calls = np.lib.format.write_array, {"n": 0}

    def disk_full_on_the_second_array(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", disk_full_on_the_second_array)
    with pytest.raises(RunDirError, match=r"last\.npz: cannot write the checkpoint 'last' \(No space left on device\)"):
        _saved(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.npz"]
    assert (tmp_path / "last.npz").read_bytes() == before


def test_checkpoint_for_another_task_is_refused(tmp_path):
    _saved(tmp_path)
    with pytest.raises(CheckpointError, match=r"last.npz: checkpoint is for task 'tag', not 'lm'"):
        load_checkpoint(tmp_path, "last", task="lm")


def test_truncated_file_is_reported_with_its_name(tmp_path):
    _saved(tmp_path)
    data = (tmp_path / "last.npz").read_bytes()
    (tmp_path / "last.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"last.npz: truncated or corrupted"):
        load_checkpoint(tmp_path, "last")


def test_corrupted_metadata_is_reported(tmp_path):
    _saved(tmp_path)
    members = _members(tmp_path / "last.npz")
    members["meta.json"] = b"{not json"
    _rewrite(tmp_path / "last.npz", members)
    with pytest.raises(CheckpointError, match=r"last.npz:meta.json: corrupted checkpoint metadata"):
        load_checkpoint(tmp_path, "last")


def test_missing_checkpoint_names_the_directory(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint 'best' here"):
        load_checkpoint(tmp_path, "best")


def test_an_array_changed_after_writing_is_detected_by_its_hash(tmp_path):
    _saved(tmp_path)
    members = _members(tmp_path / "last.npz")
    members["param/head.b.npy"] = _npy(np.array([1, 1, 2], np.float32))
    _rewrite(tmp_path / "last.npz", members)
    with pytest.raises(CheckpointError, match=r"array param/head.b does not match its SHA-256"):
        load_checkpoint(tmp_path, "last")


def test_a_listed_array_that_is_missing_is_named(tmp_path):
    _saved(tmp_path)
    members = _members(tmp_path / "last.npz")
    del members["param/head.b.npy"]
    _rewrite(tmp_path / "last.npz", members)
    with pytest.raises(CheckpointError, match=r"do not match the metadata \(missing \['param/head.b'\]"):
        load_checkpoint(tmp_path, "last")


def test_a_header_declaring_a_huge_array_is_refused_before_allocating(tmp_path):
    _saved(tmp_path)
    members = _members(tmp_path / "last.npz")
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (10**11,)})
    members["param/head.b.npy"] = np.lib.format.magic(1, 0) + header.getvalue()[8:] + b"\0" * 12
    _rewrite(tmp_path / "last.npz", members)
    with pytest.raises(CheckpointError, match=r"declares shape \(100000000000,\) \(400000000000 bytes\) but the file stores"):
        load_checkpoint(tmp_path, "last")


@pytest.mark.parametrize("array", [np.array([object()], dtype=object), np.array(["abc"]),
                                   np.array([1 + 2j], dtype=np.complex64)])
def test_only_numbers_are_loaded_never_objects_or_strings(tmp_path, array):
    _saved(tmp_path)
    members = _members(tmp_path / "last.npz")
    members["param/head.b.npy"] = _npy(array)
    _rewrite(tmp_path / "last.npz", members)
    with pytest.raises(CheckpointError, match=r"array param/head.b has dtype .*; a checkpoint holds only numbers"):
        load_checkpoint(tmp_path, "last")


def test_non_finite_weights_are_refused(tmp_path):
    params = {"head.b": np.array([1.0, np.nan], np.float32)}
    save_checkpoint(tmp_path, "best", params, {}, {"task": "tag"})
    with pytest.raises(CheckpointError, match=r"best.npz: array param/head.b holds 1 non-finite value"):
        load_checkpoint(tmp_path, "best")


def test_checkpoints_of_rnnlab_0_1_0_still_load(tmp_path):
    """Format 1: NAME.npz of arrays beside NAME.json of metadata."""
    np.savez(tmp_path / "best.npz", **{"param/head.b": np.ones(3, np.float32)})
    (tmp_path / "best.json").write_text(json.dumps({"task": "tag", "arrays": ["param/head.b"], "config": {}}))
    checkpoint = load_checkpoint(tmp_path, "best", task="tag")
    np.testing.assert_array_equal(checkpoint.params["head.b"], np.ones(3, np.float32))
