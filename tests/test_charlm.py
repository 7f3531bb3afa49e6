"""The character language model: finite differences on every parameter, truncated BPTT
(a batch run in two halves with the carry equals one run), streams, stateful evaluation
and sampling."""

import numpy as np
import pytest

from rnnlab.gradcheck import numerical_gradient, relative_error
from rnnlab.models.charlm import CharLM, StreamBatch, reset_streams
from rnnlab.train.tasks.lm import sample, stream_batches, stream_loss

V, E, H, N, T = 7, 3, 4, 2, 5  # all different, so a transpose or a swapped axis cannot hide


def _model(cell="lstm", layers=2, dropout=0.0, dtype=np.float64, seed=0, state_reset=0.0, recurrent_dropout=0.0):
    return CharLM(vocab_size=V, embed=E, cell=cell, hidden=H, layers=layers, dropout=dropout,
                  state_reset=state_reset, recurrent_dropout=recurrent_dropout, rng=np.random.default_rng(seed),
                  dtype=dtype)


def _randomize(model, seed=1):
    """Non-zero biases and weights everywhere (fresh biases are zero, which can hide a bug)."""
    rng = np.random.default_rng(seed)
    for p in model.params.values():
        p[...] = rng.normal(0, 0.5, p.shape)


def _carry(cell, layers, seed=2):
    rng = np.random.default_rng(seed)
    carry = {"h": rng.normal(0, 0.5, (layers, N, H))}
    if cell == "lstm":
        carry["c"] = rng.normal(0, 0.5, (layers, N, H))
    return carry


@pytest.mark.parametrize("cell, layers, dropout, reset, recurrent_dropout", [
    ("lstm", 2, 0.0, 0.0, 0.0), ("lstm", 1, 0.4, 0.5, 0.3), ("rnn", 2, 0.3, 0.0, 0.0), ("gru", 2, 0.0, 0.0, 0.0),
    ("gru", 2, 0.2, 0.5, 0.4)])
def test_gradients_of_every_parameter_match_finite_differences(cell, layers, dropout, reset, recurrent_dropout):
    model = _model(cell, layers, dropout, state_reset=reset, recurrent_dropout=recurrent_dropout)
    _randomize(model)
    data = np.random.default_rng(3)
    batch = StreamBatch(data.integers(0, V, (N, T)), data.integers(0, V, (N, T)))
    carry = _carry(cell, layers)

    def loss():  # the same dropout masks (recurrent ones too) and state resets on every call
        return model.loss_and_grads(batch, np.random.default_rng(4), carry)[0]

    _, grads, _ = model.loss_and_grads(batch, np.random.default_rng(4), carry)
    assert set(grads) == set(model.params)
    for name, p in model.params.items():
        error = relative_error(grads[name], numerical_gradient(loss, p))
        assert error < 1e-6, f"{name}: relative error {error:.2e}"


def test_parameter_names_and_shapes_are_pinned():
    shapes = {k: v.shape for k, v in _model(layers=2).params.items()}
    assert shapes == {
        "embed.E": (V, E),
        "rnn.W_x_l0": (E, 4 * H), "rnn.W_h_l0": (H, 4 * H), "rnn.b_l0": (4 * H,),
        "rnn.W_x_l1": (H, 4 * H), "rnn.W_h_l1": (H, 4 * H), "rnn.b_l1": (4 * H,),
        "head.W": (H, V), "head.b": (V,),
    }


@pytest.mark.parametrize("cell", ["lstm", "rnn", "gru"])
def test_two_batches_with_the_carry_equal_one_long_batch(cell):
    model = _model(cell)
    _randomize(model)
    x = np.random.default_rng(5).integers(0, V, (N, 2 * T))
    whole, state = model.logits(x)
    first, carry = model.logits(x[:, :T])
    second, carry = model.logits(x[:, T:], carry)
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, rtol=1e-12, atol=1e-12)
    for k in state:
        np.testing.assert_allclose(carry[k], state[k], rtol=1e-12, atol=1e-12)

    # training returns the same carry, the state after the batch, as a dict of (L, N, H) arrays
    _, _, train_carry = model.loss_and_grads(StreamBatch(x[:, :T], x[:, 1 : T + 1]), None, None)
    assert set(train_carry) == ({"h", "c"} if cell == "lstm" else {"h"})
    np.testing.assert_allclose(train_carry["h"], model.logits(x[:, :T])[1]["h"], rtol=1e-12, atol=1e-12)
    assert train_carry["h"].shape == (2, N, H)


def test_state_reset_zeroes_whole_streams_only_when_training():
    carry = _carry("lstm", 2)
    kept = reset_streams(carry, 0.5, np.random.default_rng(0))
    zeroed = [n for n in range(N) if not kept["h"][:, n].any()]
    for n in range(N):  # a stream is either all zeros (h and c, every layer) or untouched
        for k in carry:
            np.testing.assert_array_equal(kept[k][:, n], 0 if n in zeroed else carry[k][:, n])
    assert reset_streams(carry, 0.5, None) is carry and reset_streams(carry, 0.0, np.random.default_rng()) is carry

    model = _model(state_reset=1.0)
    batch = StreamBatch(*np.random.default_rng(8).integers(0, V, (2, N, T)))
    always_reset, _, _ = model.loss_and_grads(batch, np.random.default_rng(0), carry)
    assert always_reset == model.loss_and_grads(batch, None, None)[0]  # = a fresh start
    assert model.loss_and_grads(batch, None, carry)[0] != always_reset  # rng None: no reset


def test_the_loss_is_the_mean_cross_entropy_in_nats():
    model = _model()
    x, y = np.random.default_rng(6).integers(0, V, (2, N, T))
    loss, _, _ = model.loss_and_grads(StreamBatch(x, y), None, None)
    logits, _ = model.logits(x)
    z = logits - logits.max(axis=2, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=2, keepdims=True))
    assert loss == pytest.approx(-np.take_along_axis(log_p, y[..., None], 2).mean(), rel=1e-12)


def test_streams_are_contiguous_and_batches_continue_each_other():
    ids = np.arange(1000)
    batches = stream_batches(ids, batch_size=4, seq_len=10, offset=3)
    S = (1000 - 3 - 1) // 4
    assert len(batches) == S // 10
    for batch, after in zip(batches, batches[1:]):
        assert batch.x.shape == batch.y.shape == (4, 10)
        np.testing.assert_array_equal(batch.y, batch.x + 1)  # y is the next character
        np.testing.assert_array_equal(after.x[:, 0], batch.x[:, -1] + 1)  # each row goes on where it stopped
    np.testing.assert_array_equal(batches[0].x[:, 0], 3 + S * np.arange(4))  # row r starts at offset + r S


def test_stateful_evaluation_does_not_depend_on_the_chunk_size():
    model = _model()
    _randomize(model)
    ids = np.random.default_rng(7).integers(0, V, 50)
    one_pass = stream_loss(model, ids, chunk=1000)
    assert stream_loss(model, ids, chunk=7) == pytest.approx(one_pass, rel=1e-12)
    assert stream_loss(model, ids, chunk=1) == pytest.approx(one_pass, rel=1e-12)
    logits, _ = model.logits(ids[None, :-1])  # and it is the plain mean over all 49 predictions
    z = logits[0] - logits[0].max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    assert one_pass == pytest.approx(-log_p[np.arange(49), ids[1:]].mean(), rel=1e-12)


def test_sampling_follows_the_temperature():
    logits = np.array([2.0, 1.0, 0.0, -50.0])
    draws = [sample(logits, 1.0, np.random.default_rng(s)) for s in range(2000)]
    p = np.exp(logits) / np.exp(logits).sum()
    np.testing.assert_allclose(np.bincount(draws, minlength=4) / 2000, p, atol=0.04)
    assert {sample(logits, 0.01, np.random.default_rng(s)) for s in range(50)} == {0}  # cold: argmax
    assert sample(logits, 0.8, np.random.default_rng(9)) == sample(logits, 0.8, np.random.default_rng(9))
