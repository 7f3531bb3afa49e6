"""The encoder-decoder's whole backward chain against finite differences, and its decoders:
beam width 1 is greedy, a batch decodes as each sentence alone, teacher forcing agrees with
stepping one token at a time."""

import functools
from contextlib import contextmanager

import numpy as np
import pytest

from rnnlab.gradcheck import numerical_gradient, relative_error
from rnnlab.models.decoding import (
    beam_search,
    best_tokens,
    every_token,
    greedy_decode,
    length_penalty,
)
from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqBatch, bridge, bridge_backward
from rnnlab.optim import Adam

BOS, EOS = 2, 3


def _model(attention, bidirectional, seed=0, layers=2, hidden=6, embed=3, vocab=(7, 9), scale=2.5, cell="lstm",
           recurrent_dropout=0.0):
    rng = np.random.default_rng(seed)
    model = Seq2Seq(src_vocab=vocab[0], tgt_vocab=vocab[1], embed=embed, hidden=hidden, layers=layers,
                    bidirectional=bidirectional, attention=attention, rng=rng, cell=cell,
                    recurrent_dropout=recurrent_dropout, dtype=np.float64)
    for name, p in model.params.items():
        if not name.endswith(".E"):
            p += 0.3 * rng.standard_normal(p.shape)  # non-zero biases everywhere
            p *= scale  # weights large enough that no gradient is lost in round-off
    return model


def _batch():
    """Variable source (5, 2, 3) and target (3, 4, 1 tokens + <eos>) lengths, padded with 0."""
    src = np.array([[4, 5, 6, 2, 3], [3, 2, 0, 0, 0], [6, 6, 5, 0, 0]])
    tgt_in = np.array([[BOS, 4, 5, 0], [BOS, 6, 7, 8], [BOS, 0, 0, 0]])
    tgt_out = np.array([[4, 5, EOS, 0], [6, 7, 8, EOS], [EOS, 0, 0, 0]])
    return Seq2SeqBatch(src, np.array([5, 2, 3]), tgt_in, tgt_out, np.array([3, 4, 1]))


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize(("attention", "bidirectional", "layers"), [
    ("none", False, 1), ("none", True, 1), ("dot", False, 1), ("dot", True, 1), ("general", False, 1),
    ("general", True, 2)])
def test_whole_model_gradient_matches_finite_differences(attention, bidirectional, layers, cell):
    """Every cell: with a GRU or RNN the bridge carries h alone, and without attention the
    encoder is reached only through it."""
    model, batch = _model(attention, bidirectional, layers=layers, hidden=4, embed=2, cell=cell), _batch()
    _, grads, carry = model.loss_and_grads(batch)
    assert carry is None and list(grads) == list(model.params)

    def f():
        return model.loss(batch)[0]  # the same loss, forward only

    for name, p in model.params.items():
        if name.endswith(".E"):  # the padding row gets no gradient, the others must match
            assert np.all(grads[name][0] == 0)
        assert relative_error(grads[name], numerical_gradient(f, p)) < 1e-6, name


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_whole_model_gradient_with_recurrent_dropout(cell):
    """The training loss with the same recurrent dropout masks on every call (one generator,
    seeded the same) against finite differences."""
    model, batch = _model("general", True, hidden=4, embed=2, cell=cell, recurrent_dropout=0.4), _batch()

    def f():
        return model.loss_and_grads(batch, np.random.default_rng(5))[0]

    _, grads, _ = model.loss_and_grads(batch, np.random.default_rng(5))
    assert f() != model.loss(batch)[0]  # the masks changed the loss: something was dropped
    for name, p in model.params.items():
        assert relative_error(grads[name], numerical_gradient(f, p)) < 1e-6, name


def test_parameters_are_pinned():
    model = _model("general", True, layers=1)
    shapes = {k: v.shape for k, v in model.params.items()}
    assert shapes == {
        "src_embed.E": (7, 3), "encoder.W_x_l0": (3, 12), "encoder.W_h_l0": (3, 12), "encoder.b_l0": (12,),
        "encoder.W_x_l0_reverse": (3, 12), "encoder.W_h_l0_reverse": (3, 12), "encoder.b_l0_reverse": (12,),
        "tgt_embed.E": (9, 3), "decoder.W_x_l0": (3, 24), "decoder.W_h_l0": (6, 24), "decoder.b_l0": (24,),
        "attention.W_a": (6, 6), "attention.W_c": (12, 6), "attention.b_c": (6,), "head.W": (6, 9), "head.b": (9,),
    }
    with pytest.raises(ValueError, match="hidden must be even"):
        Seq2Seq(src_vocab=5, tgt_vocab=5, embed=2, hidden=5, bidirectional=True, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="attention must be one of"):
        Seq2Seq(src_vocab=5, tgt_vocab=5, embed=2, hidden=4, attention="concat", rng=np.random.default_rng(0))


def test_bridge_puts_the_directions_side_by_side_per_layer():
    s = np.arange(4 * 2 * 3).reshape(4, 2, 3)  # (L * dirs, N, H / 2) with L = 2
    joined = bridge(s, 2)
    np.testing.assert_array_equal(joined[1], np.concatenate([s[2], s[3]], axis=1))
    np.testing.assert_array_equal(bridge_backward(joined, 2), s)


@pytest.mark.parametrize("attention", ["none", "general"])
def test_teacher_forcing_equals_stepping_one_token_at_a_time(attention):
    model, batch = _model(attention, True, scale=1.0), _batch()
    memory, state0, _ = model.encode(batch.src, batch.src_lengths)
    z, _, _ = model.decode(batch.tgt_in, batch.tgt_lengths, state0, memory)
    logits, _ = model.head.forward(z)
    state = state0
    for t in range(batch.tgt_in.shape[1]):
        logp, state = model.step(batch.tgt_in[:, t], state, memory)
        real = t < batch.tgt_lengths
        expected = logits[:, t] - np.log(np.exp(logits[:, t]).sum(1, keepdims=True))
        np.testing.assert_allclose(logp[real], expected[real], rtol=1e-10)


def _reversal_batch(rng, n=16):
    """A toy translation: the target is the source reversed (tokens 4..9, lengths 1..5)."""
    lengths = rng.integers(1, 6, size=n)
    src = np.zeros((n, lengths.max()), dtype=np.int64)
    tgt_in, tgt_out = np.zeros((n, lengths.max() + 1), dtype=np.int64), np.zeros((n, lengths.max() + 1), dtype=np.int64)
    for i, length in enumerate(lengths):
        src[i, :length] = rng.integers(4, 10, size=length)
        tgt_in[i, 0], tgt_in[i, 1 : length + 1] = BOS, src[i, :length][::-1]
        tgt_out[i, :length], tgt_out[i, length] = src[i, :length][::-1], EOS
    return Seq2SeqBatch(src, lengths, tgt_in, tgt_out, lengths + 1)


@functools.cache
def _trained(attention, steps=60, cell="lstm"):
    """A small model half-trained on reversal (well under a second): its translations vary
    with the source and greedy decoding still makes mistakes that a beam can fix."""
    rng = np.random.default_rng(0)
    model = Seq2Seq(src_vocab=10, tgt_vocab=10, embed=8, hidden=16, bidirectional=True, attention=attention,
                    rng=rng, cell=cell, dtype=np.float64)
    optimizer = Adam(lr=0.02)
    for _ in range(steps):
        _, grads, _ = model.loss_and_grads(_reversal_batch(rng))
        optimizer.step(model.params, grads)
    return model


@pytest.mark.parametrize(("attention", "cell"), [("none", "lstm"), ("dot", "lstm"), ("general", "lstm"),
                                                  ("none", "gru"), ("general", "gru")])
def test_beam_of_width_one_is_greedy(attention, cell):
    """Also for a GRU, whose decoder state is h alone: the beam reorders it row by row too."""
    model, batch = _trained(attention, cell=cell), _reversal_batch(np.random.default_rng(1), n=12)
    src, lengths = batch.src, batch.src_lengths
    common = dict(bos_id=BOS, eos_id=EOS, max_len=8)
    greedy = greedy_decode(model, src, lengths, **common)
    assert beam_search(model, src, lengths, beam=1, **common) == greedy
    assert beam_search(model, src, lengths, beam=1, alpha=0.0, **common) == greedy
    assert all(0 not in y and BOS not in y and EOS not in y for y in greedy)
    assert len({len(y) for y in greedy}) >= 3  # translations of several lengths, ended by <eos>
    short = dict(common, max_len=2)  # or ended at max_len
    assert beam_search(model, src, lengths, beam=1, **short) == greedy_decode(model, src, lengths, **short) \
        == [y[:2] for y in greedy]


@pytest.mark.parametrize(("beam", "cell"), [(3, "lstm"), (5, "lstm"), (3, "gru")])
def test_beam_search_of_a_batch_equals_each_sentence_alone(beam, cell):
    model, batch = _trained("general", cell=cell), _reversal_batch(np.random.default_rng(2), n=9)
    src, lengths = batch.src, batch.src_lengths
    common = dict(beam=beam, bos_id=BOS, eos_id=EOS, max_len=9, alpha=0.7)
    together = beam_search(model, src, lengths, **common)
    assert together == _each_alone(beam_search, model, batch, **common)
    assert len({tuple(y) for y in together}) > 5


@pytest.mark.parametrize(("beam", "alpha", "cell", "trained"), [
    (2, 0.6, "lstm", True), (4, 0.0, "lstm", True), (6, 1.0, "gru", True), (3, 0.6, "lstm", False),
    (5, 0.7, "gru", False)])
def test_the_fast_beam_finds_what_the_reference_does(beam, alpha, cell, trained):
    """The fast beam (each hypothesis's K best tokens, finished sentences out of the batch)
    against the reference (all K V extensions, every row stepped to the end): the same
    translations, trained or not (an untrained model runs hypotheses to max_len and
    finishes others at different steps)."""
    model = _trained("general", cell=cell) if trained else _model("general", True, seed=5, cell=cell, scale=1.0,
                                                                  vocab=(10, 10), layers=1)
    batch = _reversal_batch(np.random.default_rng(6), n=16)
    common = dict(beam=beam, bos_id=BOS, eos_id=EOS, max_len=10, alpha=alpha)
    fast = beam_search(model, batch.src, batch.src_lengths, **common)
    reference = beam_search(model, batch.src, batch.src_lengths, candidates=every_token, drop_finished=False,
                            **common)
    assert fast == reference
    for candidates, drop_finished in [(every_token, True), (best_tokens, False)]:  # each change alone
        assert beam_search(model, batch.src, batch.src_lengths, candidates=candidates, drop_finished=drop_finished,
                           **common) == reference
    assert len({tuple(y) for y in fast}) > 4 and {len(y) for y in fast} != {10}


@contextmanager
def _rows_stepped(model):
    """The number of rows of every ``model.step`` call within the block; afterwards the
    (cached, shared) model steps as before."""
    counts = []
    step = model.step

    def counting_step(tokens, state, memory):
        counts.append(len(tokens))
        return step(tokens, state, memory)

    model.step = counting_step
    try:
        yield counts
    finally:
        del model.step  # the instance attribute goes; the class's method is back


def _each_alone(decode, model, batch, **common):
    """``decode`` run on each sentence of ``batch`` by itself, cut to its own length."""
    return [decode(model, batch.src[i : i + 1, : batch.src_lengths[i]], batch.src_lengths[i : i + 1], **common)[0]
            for i in range(len(batch.src))]


def test_sentences_whose_slots_have_all_finished_leave_the_decoders_batch():
    """Their rows are not stepped again, and every translation stays that of the sentence
    decoded alone and of the batch that keeps every row."""
    model, batch = _trained("general"), _reversal_batch(np.random.default_rng(7), n=12)
    common = dict(beam=3, bos_id=BOS, eos_id=EOS, max_len=9)
    with _rows_stepped(model) as rows_stepped:
        together = beam_search(model, batch.src, batch.src_lengths, **common)
    assert rows_stepped[0] == 12 * 3 and rows_stepped[-1] < rows_stepped[0]
    assert rows_stepped == sorted(rows_stepped, reverse=True) and all(n % 3 == 0 for n in rows_stepped)
    lengths = sorted({len(y) for y in together})
    assert len(lengths) >= 3  # sentences finish at different steps
    assert together == _each_alone(beam_search, model, batch, **common)
    assert together == beam_search(model, batch.src, batch.src_lengths, drop_finished=False, **common)


def test_greedy_sentences_that_said_eos_leave_the_batch():
    model, batch = _trained("general", cell="gru"), _reversal_batch(np.random.default_rng(8), n=12)
    common = dict(bos_id=BOS, eos_id=EOS, max_len=9)
    with _rows_stepped(model) as rows_stepped:
        together = greedy_decode(model, batch.src, batch.src_lengths, **common)
    assert rows_stepped[0] == 12 and rows_stepped[-1] < 12 and rows_stepped == sorted(rows_stepped, reverse=True)
    assert len({len(y) for y in together}) >= 3
    assert together == _each_alone(greedy_decode, model, batch, **common)
    with _rows_stepped(model) as rows_stepped:
        assert greedy_decode(model, batch.src, batch.src_lengths, drop_finished=False, **common) == together
    assert set(rows_stepped) == {12}


def test_best_tokens_are_each_rows_best_first():
    logp = np.log(np.array([[0.1, 0.5, 0.2, 0.2], [0.7, 0.1, 0.1, 0.1]]))
    tokens, values = best_tokens(logp, 3)
    assert tokens.tolist() == [[1, 2, 3], [0, 1, 2]]  # ties: the lower id first
    np.testing.assert_array_equal(values, np.take_along_axis(logp, tokens, axis=1))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_beam_search_finds_translations_at_least_as_likely_as_greedy(cell):
    """Scored one token at a time apart from the search: a beam that handed a hypothesis
    another's state (h, or (h, c)) would not find these."""
    model, batch = _trained("none", cell=cell), _reversal_batch(np.random.default_rng(3), n=24)
    src, lengths = batch.src, batch.src_lengths

    def log_p(n, y):  # log p(y <eos> | x), one token at a time
        memory, state, _ = model.encode(src[n : n + 1], lengths[n : n + 1])
        total = 0.0
        for prev, nxt in zip([BOS, *y], [*y, EOS]):
            logp, state = model.step(np.array([prev]), state, memory)
            total += logp[0, nxt]
        return total

    common = dict(bos_id=BOS, eos_id=EOS, max_len=12)
    greedy = greedy_decode(model, src, lengths, **common)
    beamed = beam_search(model, src, lengths, beam=6, alpha=0.0, **common)
    assert beamed != greedy
    for n in range(len(src)):
        assert log_p(n, beamed[n]) >= log_p(n, greedy[n]) - 1e-9
    assert length_penalty(np.array([1, 7]), 0.0).tolist() == [1.0, 1.0]
    assert length_penalty(np.array([1]), 1.0).tolist() == [1.0]


def test_decoders_leave_the_models_log_probabilities_as_they_were():
    """<pad> and <bos> are banned in the decoder's own copy, not in the array ``step`` returned."""
    model, batch = _trained("general"), _reversal_batch(np.random.default_rng(4), n=5)
    returned = []  # (what step returned, a copy taken at once)
    step = model.step

    def recording_step(tokens, state, memory):
        logp, state = step(tokens, state, memory)
        returned.append((logp, logp.copy()))
        return logp, state

    model.step = recording_step
    common = dict(bos_id=BOS, eos_id=EOS, max_len=6)
    greedy_decode(model, batch.src, batch.src_lengths, **common)
    beam_search(model, batch.src, batch.src_lengths, beam=3, **common)
    assert len(returned) > 2
    for logp, as_returned in returned:
        np.testing.assert_array_equal(logp, as_returned)
