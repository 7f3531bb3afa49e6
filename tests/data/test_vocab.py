"""Vocab: specials first, frequency order with deterministic ties, <unk>, labels, JSON."""

import json

import numpy as np
import pytest

from rnnlab.data.vocab import Vocab

SEQUENCES = [["b", "a", "c", "a"], ["d", "b", "a", "e"], ["c", "x"]]  # a:3, b:2, c:2, d e x:1


def test_build_orders_by_count_then_alphabet():
    v = Vocab.build(SEQUENCES)
    assert v.tokens == ["<pad>", "<unk>", "a", "b", "c", "d", "e", "x"]
    assert (v.pad_id, v.unk_id, v.bos_id, v.eos_id) == (0, 1, None, None)
    assert len(v) == 8


def test_build_does_not_depend_on_data_order():
    reordered = [list(reversed(s)) for s in reversed(SEQUENCES)]
    assert Vocab.build(reordered).tokens == Vocab.build(SEQUENCES).tokens


def test_min_freq_max_size_and_bos_eos():
    assert Vocab.build(SEQUENCES, min_freq=2).tokens == ["<pad>", "<unk>", "a", "b", "c"]
    v = Vocab.build(SEQUENCES, max_size=5, bos_eos=True)
    assert v.tokens == ["<pad>", "<unk>", "<bos>", "<eos>", "a"]
    assert (v.bos_id, v.eos_id) == (2, 3)


def test_special_strings_in_the_data_are_not_added_twice():
    v = Vocab.build([["<pad>", "a", "<unk>"]])
    assert v.tokens == ["<pad>", "<unk>", "a"]


@pytest.mark.parametrize(("kwargs", "message"), [({"min_freq": 0}, "min_freq"), ({"max_size": 1}, "max_size must be at least 2")])
def test_build_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Vocab.build(SEQUENCES, **kwargs)


def test_encode_unknown_to_unk_and_decode():
    v = Vocab.build(SEQUENCES)
    ids = v.encode(["a", "zzz", "x"])
    assert ids.dtype == np.int64 and ids.tolist() == [2, 1, 7]
    assert v.decode(ids) == ["a", "<unk>", "x"]
    assert v.decode(np.array([0, 2, 0])) == ["<pad>", "a", "<pad>"]
    assert v.decode([0, 2, 1], skip_specials=True) == ["a"]
    assert v.encode([]).shape == (0,)
    assert v.encode("ab").tolist() == [2, 3]  # a string is a sequence of characters


@pytest.mark.parametrize("ids", [[8], [-1], np.array([0.5])])
def test_decode_out_of_range(ids):
    with pytest.raises(ValueError, match="ids must be integers in 0..7"):
        Vocab.build(SEQUENCES).decode(ids)


def test_labels_have_no_specials_and_unknown_label_is_an_error():
    v = Vocab.labels(["pos", "neg", "pos"])
    assert v.tokens == ["neg", "pos"] and v.specials == [] and v.unk_id is None and v.pad_id is None
    assert v.encode(["pos", "neg"]).tolist() == [1, 0]
    with pytest.raises(ValueError, match="unknown label 'neutral': this vocabulary has no <unk>; known: \\['neg', 'pos'\\]"):
        v.encode(["pos", "neutral"])


def test_integer_labels_sort_numerically():
    assert Vocab.labels(["10", "9", "1", "2"]).tokens == ["1", "2", "9", "10"]
    assert Vocab.labels(["1", "b", "10"]).tokens == ["1", "10", "b"]


def test_empty_labels():
    with pytest.raises(ValueError, match="no labels"):
        Vocab.labels([])


@pytest.mark.parametrize("vocab", [Vocab.build(SEQUENCES, bos_eos=True), Vocab.labels(["x", "y"])])
def test_json_round_trip(vocab):
    restored = Vocab.from_dict(json.loads(json.dumps(vocab.to_dict())))
    assert restored.tokens == vocab.tokens and restored.specials == vocab.specials
    assert restored.unk_id == vocab.unk_id


def test_constructor_checks():
    with pytest.raises(ValueError, match="distinct, got 'a' twice"):
        Vocab(["a", "b", "a"])
    with pytest.raises(ValueError, match="must be the first tokens"):
        Vocab(["a", "<pad>"], ["<pad>"])
