"""Oracle 3: self-consistency between paths that must agree.

* the fast sequence kernels equal the library's reference loops over the step functions
  (``rnn_forward_reference`` ... ``gru_backward_reference``): outputs, final states, every
  gradient, in float64 and in float32;
* a padded batch equals each sequence run alone;
* float32 agrees with float64;
* running forward twice gives the same result (nothing is kept on the layer between calls);
* the reverse direction of a bidirectional layer reads each sequence backwards within its
  own length.
"""

from dataclasses import fields

import numpy as np
import pytest
from recurrent_helpers import LENGTHS, D, H, N, T, as_state, make_layer, random_state, state_parts

from rnnlab.analysis.gradients import hidden_state_gradients
from rnnlab.layers.gru import (
    gru_backward,
    gru_backward_reference,
    gru_forward,
    gru_forward_reference,
)
from rnnlab.layers.lstm import (
    lstm_backward,
    lstm_backward_reference,
    lstm_forward,
    lstm_forward_reference,
)
from rnnlab.layers.packing import PackedLayout
from rnnlab.layers.rnn import (
    rnn_backward,
    rnn_backward_reference,
    rnn_forward,
    rnn_forward_reference,
)

KINDS = ["rnn", "rnn-relu", "rnn-sigmoid", "lstm", "gru"]
CELLS = ["rnn", "lstm", "gru"]
FAST = {"rnn": (rnn_forward, rnn_backward), "lstm": (lstm_forward, lstm_backward),
        "gru": (gru_forward, gru_backward)}
REFERENCE = {
    "rnn": (rnn_forward_reference, rnn_backward_reference),
    "lstm": (lstm_forward_reference, lstm_backward_reference),
    "gru": (gru_forward_reference, gru_backward_reference),
}
STATES = {"rnn": ["h"], "lstm": ["h", "c"], "gru": ["h"]}
DWEIGHTS = {"rnn": ["dW_xh", "dW_hh", "db"], "lstm": ["dW_x", "dW_h", "db"], "gru": ["dW_x", "dW_h", "db", "db_hn"]}


def _cell(kind):
    return kind.split("-")[0]


def _rnn_parts(kind):
    return kind.split("-")[1] if "-" in kind else "tanh"


def _problem(kind, dtype, seed=0):
    """A layer's weights; random non-zero x, initial states and incoming dh, dh_T (dc_T),
    time-major as the kernels take them; and a recurrent dropout mask (N, H) of 0 and
    1 / (1 - p), p = 0.3, for the tests that pass one."""
    rng = np.random.default_rng(seed)

    def random(*shape):
        return rng.standard_normal(shape).astype(dtype)

    num_states = len(STATES[_cell(kind)])
    return {
        "weights": [w.astype(dtype) for w in make_layer(kind)._weights(0, 0)],
        "x": random(T, N, D),
        "state0": [random(N, H) for _ in range(num_states)],
        "dh": random(T, N, H),
        "dstate_T": [random(N, H) for _ in range(num_states)],
        "mask": ((rng.random((N, H)) >= 0.3) / 0.7).astype(dtype),
    }


def _forward(kind, forward, problem, mask=None):
    """The outputs by name (h, h_T, c_T) and the cache."""
    extra = {"nonlinearity": _rnn_parts(kind)} if _cell(kind) == "rnn" else {}
    if mask is not None:
        extra["mask"] = mask
    h, state_T, cache = forward(problem["x"], *problem["state0"], *problem["weights"], **extra)
    state_T = state_T if kind == "lstm" else (state_T,)
    return {"h": h} | {f"{s}_T": v for s, v in zip(STATES[_cell(kind)], state_T)}, cache


def _backward(kind, backward, problem, cache):
    """Every gradient by name: dx, dh0 (dc0), the weights'."""
    dx, *dstate0, dweights = backward(problem["dh"], *problem["dstate_T"], cache)
    cell = _cell(kind)
    grads = {"dx": dx} | {f"d{s}0": v for s, v in zip(STATES[cell], dstate0)}
    return grads | dict(zip(DWEIGHTS[cell], dweights))


def _assert_close(actual: dict, desired: dict, atol):
    assert actual.keys() == desired.keys()
    for name in desired:
        np.testing.assert_allclose(actual[name], desired[name], rtol=0, atol=atol, err_msg=name)


@pytest.mark.parametrize("with_mask", [False, True], ids=["no-mask", "mask"])
@pytest.mark.parametrize("kind", KINDS)
def test_sequence_equals_loop_over_step(kind, with_mask):
    """The fast kernels equal the library's reference loops over the step functions, in float64:
    outputs, final states, the cache, every gradient; with a recurrent dropout mask too."""
    problem = _problem(kind, np.float64)
    mask = problem["mask"] if with_mask else None
    fast_forward, fast_backward = FAST[_cell(kind)]
    reference_forward, reference_backward = REFERENCE[_cell(kind)]
    fast, fast_cache = _forward(kind, fast_forward, problem, mask)
    reference, reference_cache = _forward(kind, reference_forward, problem, mask)
    _assert_close(fast, reference, atol=1e-12)
    for field in fields(fast_cache):  # the same record of what each step computed
        value = getattr(fast_cache, field.name)
        if isinstance(value, np.ndarray):
            np.testing.assert_allclose(value, getattr(reference_cache, field.name), rtol=0,
                                       atol=1e-12, err_msg=field.name)
    fast_grads = _backward(kind, fast_backward, problem, fast_cache)
    reference_grads = _backward(kind, reference_backward, problem, reference_cache)
    _assert_close(fast_grads, reference_grads, atol=1e-12)
    # the reference backward reads the fast forward's cache as well (the analysis relies on it)
    _assert_close(fast_grads, _backward(kind, reference_backward, problem, fast_cache), atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_reference_equals_fast_kernel_in_float32(kind):
    """In float32 both stay float32 and differ by float32 rounding only: a few eps of each
    array's scale (the fast kernel sums in another order and pre-scales the gates)."""
    eps = np.finfo(np.float32).eps
    problem = _problem(kind, np.float32)
    results = []
    for forward, backward in (FAST[_cell(kind)], REFERENCE[_cell(kind)]):
        outputs, cache = _forward(kind, forward, problem)
        results.append(outputs | _backward(kind, backward, problem, cache))
    fast, reference = results
    assert fast.keys() == reference.keys()
    for name in reference:
        assert fast[name].dtype == reference[name].dtype == np.float32, name
        scale = max(1.0, float(np.abs(reference[name]).max()))
        np.testing.assert_allclose(fast[name], reference[name], rtol=0, atol=32 * eps * scale,
                                   err_msg=name)


@pytest.mark.parametrize("cell", CELLS)
def test_references_refuse_packed_batches(cell):
    problem = _problem(cell, np.float64)
    x, state0, weights = problem["x"], problem["state0"], problem["weights"]
    batch_sizes = PackedLayout.build(N, T, LENGTHS).batch_sizes
    with pytest.raises(ValueError, match="batch_sizes"):
        REFERENCE[cell][0](x, *state0, *weights, batch_sizes)
    _, _, packed_cache = FAST[cell][0](x, *state0, *weights, batch_sizes)
    with pytest.raises(ValueError, match="batch_sizes"):
        REFERENCE[cell][1](problem["dh"], *problem["dstate_T"], packed_cache)


@pytest.mark.parametrize("kind", KINDS)
def test_hidden_state_gradients_end_where_the_reference_backward_does(kind):
    """The analysis walk is the reference loop with no loss on the outputs: its last step
    gives the reference's dh0 (and dc0, with dc_T = 0)."""
    problem = _problem(kind, np.float64)
    forward, backward = REFERENCE[_cell(kind)]
    _, cache = _forward(kind, forward, problem)
    dh_T = problem["dstate_T"][0]
    dstate_T = [dh_T, np.zeros((N, H))][: len(STATES[_cell(kind)])]  # and dc_T = 0
    problem |= {"dh": np.zeros((T, N, H)), "dstate_T": dstate_T}
    grads = _backward(kind, backward, problem, cache)
    dh, dc = hidden_state_gradients(cache, dh_T)
    np.testing.assert_allclose(dh[0], grads["dh0"], rtol=0, atol=1e-12)
    if kind == "lstm":
        np.testing.assert_allclose(dc[0], grads["dc0"], rtol=0, atol=1e-12)


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


@pytest.mark.parametrize("kind", CELLS)
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


@pytest.mark.parametrize("kind", CELLS)
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


@pytest.mark.parametrize("kind", CELLS)
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
