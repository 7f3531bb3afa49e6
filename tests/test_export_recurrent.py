"""Our recurrent layers as ONNX LSTM / GRU / RNN operators (``rnnlab.export.recurrent``):
onnxruntime gives our outputs and final states on padded batches (the reverse direction
read backwards within each sequence's own length, the final state at its own last step),
with random non-zero weights, biases and initial states, stacked and bidirectional."""

import numpy as np
import pytest

pytest.importorskip("onnx", reason="onnx is not installed (pip install 'rnnlab[onnx]')")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install 'rnnlab[onnx]')")

from rnnlab.export.graph import Graph  # noqa: E402
from rnnlab.export.recurrent import (  # noqa: E402
    final_hidden,
    onnx_weights,
    recurrent,
    state_inputs,
    state_outputs,
)
from rnnlab.layers.gru import GRU  # noqa: E402
from rnnlab.layers.lstm import LSTM  # noqa: E402
from rnnlab.layers.rnn import RNN  # noqa: E402

N, T, D, H = 5, 7, 3, 4
LAYERS = {
    "lstm": lambda **kw: LSTM(D, H, **kw),
    "gru": lambda **kw: GRU(D, H, **kw),
    "rnn_tanh": lambda **kw: RNN(D, H, nonlinearity="tanh", **kw),
    "rnn_relu": lambda **kw: RNN(D, H, nonlinearity="relu", **kw),
    "rnn_sigmoid": lambda **kw: RNN(D, H, nonlinearity="sigmoid", **kw),
}


def _layer(kind: str, layers: int, bidirectional: bool):
    """A layer with every weight and bias drawn non-zero (a swapped block or bias shows)."""
    rng = np.random.default_rng(7)
    layer = LAYERS[kind](num_layers=layers, bidirectional=bidirectional, rng=rng)
    for p in layer.params.values():
        p[...] = rng.uniform(-0.8, 0.8, p.shape)
    return layer


def _session(layer, with_state: bool):
    g = Graph("recurrent")
    x = g.input("x", np.float32, ["N", "T", D], "inputs")
    lengths = g.input("lengths", np.int64, ["N"], "lengths")
    state = state_inputs(g, layer, "initial state") if with_state else None
    values = recurrent(g, layer, g.time_major(x), "rnn", lengths, state)
    g.output(g.batch_first(values.y), "out", np.float32, ["N", "T", layer.output_size], "outputs")
    g.output(final_hidden(g, values.top), "top", np.float32, ["N", layer.output_size], "last layer's final h")
    state_outputs(g, layer, values.states, "final state")
    model = g.model("test", {})
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("layers, bidirectional", [(1, False), (1, True), (2, False), (2, True)])
@pytest.mark.parametrize("kind", list(LAYERS))
def test_onnx_operators_give_our_outputs_and_final_states(kind, layers, bidirectional):
    layer = _layer(kind, layers, bidirectional)
    rng = np.random.default_rng(3)
    lengths = np.array([7, 3, 1, 5, 7])  # unsorted, with a one-step sequence
    x = rng.standard_normal((N, T, D)).astype(np.float32)
    x[np.arange(T)[None, :] >= lengths[:, None]] = 1e3  # padding that would change everything if read
    parts = 2 if kind == "lstm" else 1
    state0 = tuple(rng.standard_normal((layers * layer.num_directions, N, H)).astype(np.float32)
                   for _ in range(parts))
    out, state, _ = layer.forward(x, lengths=lengths, state=state0 if parts == 2 else state0[0])
    session = _session(layer, with_state=True)
    feeds = {"x": x, "lengths": lengths, **{f"{s}_in": v for s, v in zip("hc", state0)}}
    got = dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))
    real = (np.arange(T)[None, :] < lengths[:, None])[:, :, None]
    np.testing.assert_allclose(np.where(real, got["out"], 0), out, atol=2e-6)
    for s, ours in zip("hc", state if parts == 2 else (state,)):
        np.testing.assert_allclose(got[f"{s}_out"], ours, atol=2e-6)
    h = state[0] if parts == 2 else state
    np.testing.assert_allclose(got["top"], np.concatenate(list(h[-layer.num_directions:]), axis=1), atol=2e-6)


def test_without_a_state_the_operators_start_from_zeros():
    layer = _layer("gru", 2, True)
    x = np.random.default_rng(4).standard_normal((N, T, D)).astype(np.float32)
    lengths = np.array([2, 7, 4, 1, 6])
    out, _, _ = layer.forward(x, lengths=lengths)
    (got, *_rest) = _session(layer, with_state=False).run(None, {"x": x, "lengths": lengths})
    real = (np.arange(T)[None, :] < lengths[:, None])[:, :, None]
    np.testing.assert_allclose(np.where(real, got, 0), out, atol=2e-6)


def test_the_weight_layout_is_onnx_s():
    """LSTM blocks i o f c, GRU z r h, W and R transposed, B = [Wb, Rb], GRU's b_hn in Rb's h."""
    lstm = _layer("lstm", 1, False)
    W, R, B = onnx_weights(lstm, 0, 0)
    W_x, W_h, b = (lstm.params[n] for n in ("W_x_l0", "W_h_l0", "b_l0"))
    i, f, g, o = (slice(k * H, (k + 1) * H) for k in range(4))
    assert W.shape == (4 * H, D) and R.shape == (4 * H, H) and B.shape == (8 * H,)
    np.testing.assert_array_equal(W[H : 2 * H], W_x[:, o].T)  # ONNX's second block is o
    np.testing.assert_array_equal(R[3 * H :], W_h[:, g].T)  # its last block is the candidate
    np.testing.assert_array_equal(B[2 * H : 3 * H], b[f])
    assert not B[4 * H :].any()
    gru = _layer("gru", 1, False)
    W, R, B = onnx_weights(gru, 0, 0)
    np.testing.assert_array_equal(W[:H], gru.params["W_x_l0"][:, H : 2 * H].T)  # z first
    np.testing.assert_array_equal(B[5 * H :], gru.params["b_hn_l0"])  # Rbh
    assert not B[3 * H : 5 * H].any()
