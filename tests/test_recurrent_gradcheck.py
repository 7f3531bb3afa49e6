"""Oracle 1: every gradient of RNN, LSTM and GRU agrees with finite differences in float64.

The loss is L = sum(out * dout) + sum(state_T * dstate) for random dout and dstate, so its
gradient is exactly what ``backward(dout, dstate, cache)`` returns. Checked on every
parameter, the input and the initial state, with variable lengths, stacked and
bidirectional, random non-zero everything and N != T != D != H; and with recurrent dropout,
whose masks are fixed by drawing them from a generator seeded the same for every forward.
"""

import numpy as np
import pytest
from recurrent_helpers import LENGTHS, D, N, T, as_state, make_layer, random_state, state_parts

from rnnlab.gradcheck import numerical_gradient, relative_error

CONFIGS = [
    # kind, num_layers, bidirectional, lengths
    ("rnn", 1, False, None),
    ("rnn", 1, False, LENGTHS),
    ("rnn-relu", 1, False, LENGTHS),
    ("rnn-sigmoid", 1, False, LENGTHS),
    ("rnn", 2, True, LENGTHS),
    ("lstm", 1, False, None),
    ("lstm", 1, False, LENGTHS),
    ("lstm", 2, False, LENGTHS),
    ("lstm", 1, True, LENGTHS),
    ("lstm", 2, True, LENGTHS),
    ("gru", 1, False, None),
    ("gru", 1, False, LENGTHS),
    ("gru", 2, False, LENGTHS),
    ("gru", 1, True, LENGTHS),
    ("gru", 2, True, LENGTHS),
]


def _id(config):
    kind, layers, bi, lengths = config
    return f"{kind}-L{layers}{'-bi' if bi else ''}{'-lengths' if lengths is not None else ''}"


@pytest.mark.parametrize("config", CONFIGS, ids=[_id(c) for c in CONFIGS])
def test_backward_matches_finite_differences(config):
    kind, num_layers, bidirectional, lengths = config
    rng = np.random.default_rng(42)
    layer = make_layer(kind, num_layers, bidirectional)
    x = rng.standard_normal((N, T, D))
    state0 = random_state(layer, rng)
    out, state_T, cache = layer.forward(x, lengths=lengths, state=state0)
    dout = rng.standard_normal(out.shape)
    dstate = as_state(rng.standard_normal(s.shape) for s in state_parts(state_T))

    def loss():
        o, s, _ = layer.forward(x, lengths=lengths, state=state0)
        return np.sum(o * dout) + sum(np.sum(a * b) for a, b in zip(state_parts(s), state_parts(dstate)))

    dx, dstate0, grads = layer.backward(dout, dstate, cache)

    assert relative_error(dx, numerical_gradient(loss, x)) < 1e-6
    for name, param in layer.params.items():
        assert relative_error(grads[name], numerical_gradient(loss, param)) < 1e-6, name
    for k, (analytic, s0) in enumerate(zip(state_parts(dstate0), state_parts(state0))):
        assert relative_error(analytic, numerical_gradient(loss, s0)) < 1e-6, f"state part {k}"


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("num_layers, bidirectional, lengths", [(1, False, None), (2, True, LENGTHS)],
                         ids=["L1", "L2-bi-lengths"])
def test_backward_with_recurrent_dropout_matches_finite_differences(kind, num_layers, bidirectional, lengths):
    """A fixed mask on h_{t-1} in the recurrent product: dh_{t-1} gets the mask times the
    recurrent gradient, dW_h reads the masked h, and the initial state is masked too."""
    rng = np.random.default_rng(43)
    layer = make_layer(kind, num_layers, bidirectional, recurrent_dropout=0.4)
    x = rng.standard_normal((N, T, D))
    state0 = random_state(layer, rng)

    def run():  # the same masks on every call: a generator seeded the same
        return layer.forward(x, lengths=lengths, state=state0, rng=np.random.default_rng(9))

    out, state_T, cache = run()
    assert cache.masks is not None and 0 < np.mean(cache.masks == 0) < 1  # some units dropped, not all
    dout = rng.standard_normal(out.shape)
    dstate = as_state(rng.standard_normal(s.shape) for s in state_parts(state_T))

    def loss():
        o, s, _ = run()
        return np.sum(o * dout) + sum(np.sum(a * b) for a, b in zip(state_parts(s), state_parts(dstate)))

    dx, dstate0, grads = layer.backward(dout, dstate, cache)
    assert relative_error(dx, numerical_gradient(loss, x)) < 1e-6
    for name, param in layer.params.items():
        assert relative_error(grads[name], numerical_gradient(loss, param)) < 1e-6, name
    for k, (analytic, s0) in enumerate(zip(state_parts(dstate0), state_parts(state0))):
        assert relative_error(analytic, numerical_gradient(loss, s0)) < 1e-6, f"state part {k}"


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_padded_positions_get_exactly_zero_gradient(kind):
    rng = np.random.default_rng(1)
    layer = make_layer(kind, num_layers=2, bidirectional=True)
    x = rng.standard_normal((N, T, D))
    out, _, cache = layer.forward(x, lengths=LENGTHS)
    dx, _, _ = layer.backward(rng.standard_normal(out.shape), None, cache)
    for n, length in enumerate(LENGTHS):
        assert np.all(out[n, length:] == 0), "outputs past the length are zero"
        assert np.all(dx[n, length:] == 0), "no gradient reaches padded inputs"
        assert np.all(dx[n, :length] != 0)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_gradient_sent_to_padded_outputs_is_ignored(kind):
    """Outputs past a sequence's end are constant zeros, so dout there changes nothing."""
    rng = np.random.default_rng(2)
    layer = make_layer(kind)
    x = rng.standard_normal((N, T, D))
    out, _, cache = layer.forward(x, lengths=LENGTHS)
    dout = rng.standard_normal(out.shape)
    noisy = dout.copy()
    for n, length in enumerate(LENGTHS):
        noisy[n, length:] = 1e3
    clean_grads = layer.backward(dout, None, cache)[2]
    noisy_grads = layer.backward(noisy, None, cache)[2]
    for name in clean_grads:
        np.testing.assert_array_equal(clean_grads[name], noisy_grads[name])
