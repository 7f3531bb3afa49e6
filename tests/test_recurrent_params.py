"""The parameter tree is pinned: names, shapes, dtypes and initial values follow the lecture."""

import numpy as np
import pytest

from rnnlab import GRU, LSTM, RNN
from rnnlab.init import chrono_lstm_bias


def test_rnn_parameter_names_and_shapes():
    layer = RNN(input_size=3, hidden_size=5, num_layers=2, bidirectional=True,
                rng=np.random.default_rng(0))
    assert {k: v.shape for k, v in layer.params.items()} == {
        "W_xh_l0": (3, 5), "W_hh_l0": (5, 5), "b_l0": (5,),
        "W_xh_l0_reverse": (3, 5), "W_hh_l0_reverse": (5, 5), "b_l0_reverse": (5,),
        "W_xh_l1": (10, 5), "W_hh_l1": (5, 5), "b_l1": (5,),
        "W_xh_l1_reverse": (10, 5), "W_hh_l1_reverse": (5, 5), "b_l1_reverse": (5,),
    }


def test_lstm_parameter_names_and_shapes():
    layer = LSTM(input_size=3, hidden_size=5, num_layers=2, rng=np.random.default_rng(0))
    assert {k: v.shape for k, v in layer.params.items()} == {
        "W_x_l0": (3, 20), "W_h_l0": (5, 20), "b_l0": (20,),
        "W_x_l1": (5, 20), "W_h_l1": (5, 20), "b_l1": (20,),
    }


def test_gru_parameter_names_and_shapes():
    layer = GRU(input_size=3, hidden_size=5, num_layers=2, bidirectional=True, rng=np.random.default_rng(0))
    assert {k: v.shape for k, v in layer.params.items()} == {
        "W_x_l0": (3, 15), "W_h_l0": (5, 15), "b_l0": (15,), "b_hn_l0": (5,),
        "W_x_l0_reverse": (3, 15), "W_h_l0_reverse": (5, 15), "b_l0_reverse": (15,), "b_hn_l0_reverse": (5,),
        "W_x_l1": (10, 15), "W_h_l1": (5, 15), "b_l1": (15,), "b_hn_l1": (5,),
        "W_x_l1_reverse": (10, 15), "W_h_l1_reverse": (5, 15), "b_l1_reverse": (15,), "b_hn_l1_reverse": (5,),
    }


def test_gru_update_gate_bias_starts_at_zero_and_is_settable():
    H = 4
    layer = GRU(3, H, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(layer.params["b_l0"], 0.0)
    np.testing.assert_array_equal(layer.params["b_hn_l0"], 0.0)
    b = GRU(3, H, rng=np.random.default_rng(0), update_bias=2.0).params["b_l0"]
    np.testing.assert_array_equal(b[H : 2 * H], 2.0)  # gate order r, z, n
    np.testing.assert_array_equal(np.delete(b, np.s_[H : 2 * H]), 0.0)


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_float32_is_the_default_dtype(cls):
    layer = cls(3, 4, rng=np.random.default_rng(0))
    assert all(p.dtype == np.float32 for p in layer.params.values())
    out, _, _ = layer.forward(np.zeros((2, 3, 3), dtype=np.float32))
    assert out.dtype == np.float32


def test_lstm_forget_gate_bias_starts_at_one_and_is_switchable():
    H = 4
    b = LSTM(3, H, rng=np.random.default_rng(0)).params["b_l0"]
    np.testing.assert_array_equal(b[H : 2 * H], 1.0)  # gate order i, f, g, o
    np.testing.assert_array_equal(np.delete(b, np.s_[H : 2 * H]), 0.0)
    b0 = LSTM(3, H, rng=np.random.default_rng(0), forget_bias=0.0).params["b_l0"]
    np.testing.assert_array_equal(b0, 0.0)


def test_chrono_bias_spreads_memory_spans_up_to_max_steps():
    H, max_steps = 400, 50
    b = chrono_lstm_bias(np.random.default_rng(0), H, max_steps)
    b_i, b_f, b_g, b_o = b[:H], b[H : 2 * H], b[2 * H : 3 * H], b[3 * H :]
    span = 1 / (1 - 1 / (1 + np.exp(-b_f)))  # 1 / (1 - f): steps a cell keeps its value
    assert span.min() >= 2 - 1e-9 and span.max() <= max_steps + 1e-9
    assert span.min() < 5 and span.max() > 45  # spread over the whole range
    np.testing.assert_array_equal(b_i, -b_f)  # long-lived units start with their input shut
    np.testing.assert_array_equal(np.concatenate([b_g, b_o]), 0.0)
    with pytest.raises(ValueError, match="max_steps"):
        chrono_lstm_bias(np.random.default_rng(0), H, 2)


def test_recurrent_weights_start_orthogonal():
    W_hh = RNN(3, 6, rng=np.random.default_rng(0), dtype=np.float64).params["W_hh_l0"]
    np.testing.assert_allclose(W_hh.T @ W_hh, np.eye(6), atol=1e-12)
    for cls, gates in ((LSTM, 4), (GRU, 3)):
        W_h = cls(3, 6, rng=np.random.default_rng(0), dtype=np.float64).params["W_h_l0"]
        assert W_h.shape == (6, 6 * gates)
        for k in range(gates):
            block = W_h[:, 6 * k : 6 * (k + 1)]
            np.testing.assert_allclose(block.T @ block, np.eye(6), atol=1e-12)


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_same_rng_seed_gives_same_weights(cls):
    a = cls(3, 4, num_layers=2, rng=np.random.default_rng(7)).params
    b = cls(3, 4, num_layers=2, rng=np.random.default_rng(7)).params
    c = cls(3, 4, num_layers=2, rng=np.random.default_rng(8)).params
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not all(np.array_equal(a[k], c[k]) for k in a)


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_torch_state_dict_round_trip(cls):
    layer = cls(3, 4, num_layers=2, bidirectional=True, rng=np.random.default_rng(0))
    for p in layer.params.values():  # non-zero biases, b_hn included
        p += np.random.default_rng(2).uniform(-0.5, 0.5, p.shape).astype(p.dtype)
    sd = layer.torch_state_dict()
    gates = {LSTM: 4, GRU: 3, RNN: 1}[cls]
    assert sd["weight_ih_l1_reverse"].shape == (gates * 4, 8)
    np.testing.assert_array_equal(sd["bias_ih_l0"], layer.params["b_l0"])
    if cls is GRU:  # bias_hh is zero but for its n block, which is b_hn
        np.testing.assert_array_equal(sd["bias_hh_l0"][:8], 0)
        np.testing.assert_array_equal(sd["bias_hh_l1_reverse"][8:], layer.params["b_hn_l1_reverse"])
    else:
        assert np.all(sd["bias_hh_l0"] == 0)
    other = cls(3, 4, num_layers=2, bidirectional=True, rng=np.random.default_rng(1))
    other.load_torch_state_dict(sd)
    for name in layer.params:
        np.testing.assert_array_equal(layer.params[name], other.params[name])


def test_state_zero_by_default_equals_explicit_zero_state():
    layer = LSTM(3, 4, rng=np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((2, 5, 3)).astype(np.float32)
    zeros = np.zeros((1, 2, 4), dtype=np.float32)
    np.testing.assert_array_equal(layer.forward(x)[0], layer.forward(x, state=(zeros, zeros))[0])
