"""Oracle 3: self-consistency between paths that must agree.

* the sequence function equals a Python loop over the step function (forward and backward);
* a padded batch equals each sequence run alone;
* float32 agrees with float64;
* running forward twice gives the same result (nothing is kept on the layer between calls);
* the reverse direction of a bidirectional layer reads each sequence backwards within its
  own length.
"""

import numpy as np
import pytest
from recurrent_helpers import LENGTHS, D, H, N, T, as_state, make_layer, random_state, state_parts

from rnnlab.layers.lstm import lstm_backward, lstm_forward, lstm_step_backward, lstm_step_forward
from rnnlab.layers.rnn import rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward

KINDS = ["rnn", "rnn-relu", "rnn-sigmoid", "lstm"]


def _rnn_parts(kind):
    return kind.split("-")[1] if "-" in kind else "tanh"


@pytest.mark.parametrize("kind", KINDS)
def test_sequence_equals_loop_over_step(kind):
    rng = np.random.default_rng(0)
    layer = make_layer(kind)
    weights = layer._weights(0, 0)
    x = rng.standard_normal((T, N, D))  # time-major, as the kernels take it
    h0, c0 = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    dh = rng.standard_normal((T, N, H))
    dh_T, dc_T = rng.standard_normal((N, H)), rng.standard_normal((N, H))

    if kind == "lstm":
        h_seq, (h_T, c_T), cache = lstm_forward(x, h0, c0, *weights)
        dx_seq, dh0_seq, dc0_seq, dW_seq = lstm_backward(dh, dh_T, dc_T, cache)
        hs, caches, h, c = [], [], h0, c0
        for t in range(T):
            h, c, step_cache = lstm_step_forward(x[t], h, c, *weights)
            hs.append(h)
            caches.append(step_cache)
        np.testing.assert_allclose(c_T, c, atol=1e-12)
        dx_loop, dW_loop = np.zeros_like(x), [np.zeros_like(w) for w in weights]
        dh_next, dc_next = dh_T, dc_T
        for t in range(T - 1, -1, -1):
            dx_loop[t], dh_next, dc_next, *dWs = lstm_step_backward(dh[t] + dh_next, dc_next, caches[t])
            for acc, dw in zip(dW_loop, dWs):
                acc += dw
        np.testing.assert_allclose(dc0_seq, dc_next, atol=1e-12)
    else:
        nonlinearity = _rnn_parts(kind)
        h_seq, h_T, cache = rnn_forward(x, h0, *weights, nonlinearity=nonlinearity)
        dx_seq, dh0_seq, dW_seq = rnn_backward(dh, dh_T, cache)
        hs, caches, h = [], [], h0
        for t in range(T):
            h, step_cache = rnn_step_forward(x[t], h, *weights, nonlinearity)
            hs.append(h)
            caches.append(step_cache)
        dx_loop, dW_loop = np.zeros_like(x), [np.zeros_like(w) for w in weights]
        dh_next = dh_T
        for t in range(T - 1, -1, -1):
            dx_loop[t], dh_next, *dWs = rnn_step_backward(dh[t] + dh_next, caches[t])
            for acc, dw in zip(dW_loop, dWs):
                acc += dw

    np.testing.assert_allclose(h_seq, np.stack(hs), atol=1e-12)
    np.testing.assert_allclose(h_T, h, atol=1e-12)
    np.testing.assert_allclose(dx_seq, dx_loop, atol=1e-12)
    np.testing.assert_allclose(dh0_seq, dh_next, atol=1e-12)
    for a, b in zip(dW_seq, dW_loop):
        np.testing.assert_allclose(a, b, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, True)])
def test_padded_batch_equals_each_sequence_alone(kind, num_layers, bidirectional):
    rng = np.random.default_rng(3)
    layer = make_layer(kind, num_layers, bidirectional)
    x = rng.standard_normal((N, T, D))
    state0 = random_state(layer, rng)
    out, state_T, cache = layer.forward(x, lengths=LENGTHS, state=state0)
    dout = rng.standard_normal(out.shape)
    dstate = [rng.standard_normal(s.shape) for s in state_parts(state_T)]
    dx, dstate0, grads = layer.backward(dout, as_state(dstate), cache)

    total = {name: np.zeros_like(g) for name, g in grads.items()}
    for n, length in enumerate(LENGTHS):
        one_state = as_state(s[:, n : n + 1] for s in state_parts(state0))
        out_n, state_n, cache_n = layer.forward(x[n : n + 1, :length], state=one_state)
        np.testing.assert_allclose(out[n, :length], out_n[0], atol=1e-12)
        for batch_part, alone_part in zip(state_parts(state_T), state_parts(state_n)):
            np.testing.assert_allclose(batch_part[:, n], alone_part[:, 0], atol=1e-12)
        d_one = as_state(s[:, n : n + 1] for s in dstate)
        dx_n, dstate0_n, grads_n = layer.backward(dout[n : n + 1, :length], d_one, cache_n)
        np.testing.assert_allclose(dx[n, :length], dx_n[0], atol=1e-12)
        for batch_part, alone_part in zip(state_parts(dstate0), state_parts(dstate0_n)):
            np.testing.assert_allclose(batch_part[:, n], alone_part[:, 0], atol=1e-12)
        for name in total:
            total[name] += grads_n[name]
    for name in total:  # weight gradients are sums over sequences
        np.testing.assert_allclose(grads[name], total[name], atol=1e-11)


@pytest.mark.parametrize("kind", KINDS)
def test_float32_agrees_with_float64(kind):
    rng = np.random.default_rng(4)
    layer64 = make_layer(kind, 2, True, dtype=np.float64)
    layer32 = make_layer(kind, 2, True, dtype=np.float32)
    layer32.params = {k: v.astype(np.float32) for k, v in layer64.params.items()}
    x = rng.standard_normal((N, T, D))
    out64, _, cache64 = layer64.forward(x, lengths=LENGTHS)
    out32, _, cache32 = layer32.forward(x.astype(np.float32), lengths=LENGTHS)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out64, atol=1e-5)
    dout = rng.standard_normal(out64.shape)
    dx64, _, g64 = layer64.backward(dout, None, cache64)
    dx32, _, g32 = layer32.backward(dout.astype(np.float32), None, cache32)
    assert dx32.dtype == np.float32 and all(g.dtype == np.float32 for g in g32.values())
    np.testing.assert_allclose(dx32, dx64, atol=1e-4)
    for name in g64:
        np.testing.assert_allclose(g32[name], g64[name], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_forward_is_pure(kind):
    """Nothing is kept between calls: two forwards and two backwards give identical results."""
    rng = np.random.default_rng(5)
    layer = make_layer(kind, 2, True)
    x = rng.standard_normal((N, T, D))
    out1, state1, cache1 = layer.forward(x, lengths=LENGTHS)
    x_copy = x.copy()
    out2, _, cache2 = layer.forward(rng.standard_normal((N, T, D)))  # an unrelated call between
    out3, state3, cache3 = layer.forward(x, lengths=LENGTHS)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(out1, out3)
    dout = rng.standard_normal(out1.shape)
    g1 = layer.backward(dout, None, cache1)[2]
    g3 = layer.backward(dout, None, cache3)[2]
    g1_again = layer.backward(dout, None, cache1)[2]
    for name in g1:
        np.testing.assert_array_equal(g1[name], g3[name])
        np.testing.assert_array_equal(g1[name], g1_again[name])


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_truncated_bptt_is_passing_the_state_on(kind):
    """Two halves run one after the other, the state handed over, equal the whole sequence."""
    rng = np.random.default_rng(6)
    layer = make_layer(kind, 2)
    x = rng.standard_normal((N, T, D))
    out, state, _ = layer.forward(x)
    out_a, state_a, _ = layer.forward(x[:, :2])
    out_b, state_b, _ = layer.forward(x[:, 2:], state=state_a)
    np.testing.assert_allclose(np.concatenate([out_a, out_b], axis=1), out, atol=1e-12)
    for whole, halves in zip(state_parts(state), state_parts(state_b)):
        np.testing.assert_allclose(whole, halves, atol=1e-12)


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_reverse_direction_reads_each_sequence_backwards_within_its_length(kind):
    rng = np.random.default_rng(7)
    bi = make_layer(kind, 1, True)
    backward_only = make_layer(kind, 1, False)
    names = list(backward_only.params)
    backward_only.params = {n: bi.params[n + "_reverse"] for n in names}
    x = rng.standard_normal((N, T, D))
    out, _, _ = bi.forward(x, lengths=LENGTHS)
    for n, length in enumerate(LENGTHS):
        reversed_input = x[n : n + 1, :length][:, ::-1]
        out_rev, _, _ = backward_only.forward(np.ascontiguousarray(reversed_input))
        np.testing.assert_allclose(out[n, :length, H:], out_rev[0, ::-1], atol=1e-12)
