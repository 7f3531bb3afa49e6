"""The POS tagger's whole backward chain against finite differences, its parameter names,
and self-consistency: a padded batch tags each sentence as it would alone."""

import numpy as np
import pytest

from rnnlab.gradcheck import numerical_gradient, relative_error
from rnnlab.models.tagger import TagBatch, Tagger, word_dropout
from rnnlab.train.config import resolve_config
from rnnlab.train.tasks.tag import TagConfig, TagData, TagTask

SIZES = dict(vocab_size=7, num_chars=9, num_tags=6, embed=2, char_embed=2, char_hidden=2)  # D = 2 + 2 * 2


def _batch(rng) -> TagBatch:
    """N = 3 sentences of lengths 5, 2, 3 (T = 5), U = 6 distinct forms of 1..4 characters (L = 4)."""
    lengths = np.array([5, 2, 3])
    real = np.arange(5)[None, :] < lengths[:, None]
    words = np.where(real, rng.integers(1, 7, size=(3, 5)), 0)
    tags = np.where(real, rng.integers(0, 6, size=(3, 5)), 0)
    form_index = np.where(real, np.array([[0, 1, 2, 3, 5], [4, 0, 0, 0, 0], [1, 3, 5, 0, 0]]), 0)
    char_lengths = np.array([3, 1, 4, 2, 3, 2])
    chars = np.where(np.arange(4)[None, :] < char_lengths[:, None], rng.integers(1, 9, size=(6, 4)), 0)
    return TagBatch(words, lengths, tags, form_index, chars, char_lengths)


@pytest.mark.parametrize(("cell", "layers", "bidirectional", "dropout", "recurrent_dropout"),
                         [("lstm", 1, True, 0.3, 0.0), ("rnn", 2, False, 0.0, 0.0), ("gru", 2, True, 0.3, 0.4)])
def test_whole_model_gradient_matches_finite_differences(cell, layers, bidirectional, dropout, recurrent_dropout):
    rng = np.random.default_rng(3)
    model = Tagger(**SIZES, cell=cell, hidden=4, layers=layers, bidirectional=bidirectional,
                   dropout=dropout, word_dropout=np.linspace(0, 0.6, 7), recurrent_dropout=recurrent_dropout,
                   rng=rng, dtype=np.float64)
    batch = _batch(rng)

    def f():  # the same dropout and word-dropout draws on every call
        return model.loss_and_grads(batch, np.random.default_rng(7))[0]

    _, grads, carry = model.loss_and_grads(batch, np.random.default_rng(7))
    assert carry is None and set(grads) == set(model.params)
    for name, p in model.params.items():
        if name.endswith("embed.E"):  # padding rows never learn
            assert np.all(grads[name][0] == 0), name
        assert relative_error(grads[name], numerical_gradient(f, p)) < 1e-6, name


def test_parameter_names_and_shapes_are_pinned():
    model = Tagger(**SIZES, cell="lstm", hidden=5, layers=1, bidirectional=True, dropout=0.0,
                   rng=np.random.default_rng(0))
    shapes = {name: p.shape for name, p in model.params.items()}
    assert shapes == {
        "word_embed.E": (7, 2), "char_embed.E": (9, 2),
        "char_rnn.W_x_l0": (2, 8), "char_rnn.W_h_l0": (2, 8), "char_rnn.b_l0": (8,),
        "char_rnn.W_x_l0_reverse": (2, 8), "char_rnn.W_h_l0_reverse": (2, 8), "char_rnn.b_l0_reverse": (8,),
        "rnn.W_x_l0": (6, 20), "rnn.W_h_l0": (5, 20), "rnn.b_l0": (20,),
        "rnn.W_x_l0_reverse": (6, 20), "rnn.W_h_l0_reverse": (5, 20), "rnn.b_l0_reverse": (20,),
        "head.W": (10, 6), "head.b": (6,),
    }
    assert all(p.dtype == np.float32 for p in model.params.values())


def test_word_dropout_touches_only_real_words_and_only_when_training():
    ids = np.array([[5, 6, 7, 0], [8, 0, 0, 0]])
    assert word_dropout(ids, 0.5, 1, None) is ids
    many = np.tile(ids, (400, 1))
    dropped = word_dropout(many, 0.5, 1, np.random.default_rng(0))
    assert np.all(dropped[many == 0] == 0)
    assert 0.45 < (dropped == 1).sum() / (many != 0).sum() < 0.55
    table = np.array([0.0, 0.0, 0, 0, 0, 0.9, 0.0, 0.0, 0.1])  # a probability per word id
    dropped = word_dropout(many, table[many], 1, np.random.default_rng(0))
    assert np.all(dropped[many == 6] == 6) and np.all(dropped[many == 7] == 7)
    assert 0.85 < np.mean(dropped[many == 5] == 1) < 0.95 and 0.05 < np.mean(dropped[many == 8] == 1) < 0.15


def _task(**options) -> TagTask:
    config = resolve_config(TagConfig, None, {"train": "x.conllu", "test": "y.conllu", **options})
    task = TagTask(config, meta={"words": {"tokens": ["<pad>", "<unk>", "the", "dog"], "specials": ["<pad>", "<unk>"]},
                                 "chars": {"tokens": ["<pad>", "<unk>", *"adeghot"], "specials": ["<pad>", "<unk>"]},
                                 "tags": {"tokens": ["DET", "NOUN", "VERB"], "specials": []},
                                 "word_counts": [0, 0, 5, 2]})
    return task


def test_a_padded_batch_tags_each_sentence_as_it_would_alone():
    task = _task(max_word_chars=4, hidden=6, embed=4, char_embed=3, char_hidden=2)
    model = task.build_model(np.random.default_rng(0))
    sentences = [["The", "dog", "goes"], ["dog"], ["the", "hotdog", "ate", "the", "Dog"]]
    data = task._encode(sentences, None, "<test>")
    assert isinstance(data, TagData)
    (batch, idx), = task._batches(data, 8)
    together = model.logits(batch)
    for row, i in enumerate(idx):
        (alone, _), = task._batches(task._encode([sentences[i]], None, "<test>"), 8)
        n = len(sentences[i])
        np.testing.assert_allclose(together[row, :n], model.logits(alone)[0, :n], rtol=1e-5, atol=1e-6)
    # each distinct form is spelled once; "hotdog" is cut to its two ends, "ho" + "og"
    assert batch.chars.shape[0] == len({w for s in sentences for w in s})
    assert task._spelling("hotdog") == "hoog"


def test_word_dropout_is_highest_for_rare_words_and_never_for_specials():
    task = _task(word_dropout=0.25, hidden=4, embed=3, char_embed=2, char_hidden=2)
    p_word = task.build_model(np.random.default_rng(0)).p_word
    np.testing.assert_allclose(p_word, [0, 0, 0.25 / 5.25, 0.25 / 2.25])  # <pad> <unk> the(5) dog(2)
