"""Bad input stops with a ValueError naming the argument, what was expected and what was given."""

import numpy as np
import pytest

from rnnlab import GRU, LSTM, RNN


@pytest.fixture(params=[RNN, LSTM, GRU], ids=["rnn", "lstm", "gru"])
def layer(request):
    return request.param(3, 4, num_layers=2, rng=np.random.default_rng(0))


def x_ok(n=2, t=5, d=3):
    return np.ones((n, t, d), dtype=np.float32)


def test_wrong_rank(layer):
    with pytest.raises(ValueError, match=r"x must have 3 dimensions \(N, T, D\), got shape \(5, 3\)"):
        layer.forward(np.ones((5, 3), dtype=np.float32))


def test_wrong_width(layer):
    with pytest.raises(ValueError, match=r"x must have shape \(\*, \*, 3\).*got \(2, 5, 7\).*axis 2 is 7"):
        layer.forward(np.ones((2, 5, 7), dtype=np.float32))


def test_empty_batch(layer):
    with pytest.raises(ValueError, match="at least one sequence"):
        layer.forward(np.ones((0, 5, 3), dtype=np.float32))


@pytest.mark.parametrize("bad", [0, 6, -1])
def test_lengths_outside_one_to_T(layer, bad):
    with pytest.raises(ValueError, match=rf"lengths must lie in 1..5.*lengths\[1\] = {bad}"):
        layer.forward(x_ok(), lengths=[5, bad])


def test_lengths_of_wrong_count_or_type(layer):
    with pytest.raises(ValueError, match=r"lengths must have shape \(2,\)"):
        layer.forward(x_ok(), lengths=[5, 4, 3])
    with pytest.raises(ValueError, match="lengths must be integers"):
        layer.forward(x_ok(), lengths=[2.5, 3])


@pytest.mark.parametrize("value,kind", [(np.nan, "NaN"), (np.inf, "inf")])
def test_non_finite_input(layer, value, kind):
    x = x_ok()
    x[1, 2, 0] = value
    with pytest.raises(ValueError, match=rf"x contains 1 non-finite value\(s\), first {kind} at index \(1, 2, 0\)"):
        layer.forward(x)


def test_mixed_dtypes(layer):
    with pytest.raises(ValueError, match="x has dtype float64 but the layer's parameters are float32"):
        layer.forward(np.ones((2, 5, 3)))


def test_state_of_wrong_shape():
    rnn = RNN(3, 4, num_layers=2, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"state must have shape \(2, 2, 4\).*got \(1, 2, 4\)"):
        rnn.forward(x_ok(), state=np.zeros((1, 2, 4), dtype=np.float32))
    lstm = LSTM(3, 4, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"state must be a tuple \(h, c\)"):
        lstm.forward(x_ok(), state=np.zeros((1, 2, 4), dtype=np.float32))
    with pytest.raises(ValueError, match=r"state\[1\] \(c\) must have shape \(1, 2, 4\)"):
        lstm.forward(x_ok(), state=(np.zeros((1, 2, 4), np.float32), np.zeros((1, 3, 4), np.float32)))


def test_dout_of_wrong_shape(layer):
    out, _, cache = layer.forward(x_ok())
    with pytest.raises(ValueError, match=r"dout must have shape \(2, 5, 4\).*got \(2, 4, 4\)"):
        layer.backward(np.ones((2, 4, 4), dtype=np.float32), None, cache)


def test_backward_needs_the_forward_cache(layer):
    with pytest.raises(ValueError, match="cache must be the cache returned by forward"):
        layer.backward(np.ones((2, 5, 4), dtype=np.float32), None, {"not": "a cache"})


def test_torch_state_dict_missing_or_misshaped(layer):
    sd = layer.torch_state_dict()
    missing = dict(sd)
    del missing["weight_hh_l1"]
    with pytest.raises(ValueError, match=r"state dict is missing \['weight_hh_l1'\]"):
        layer.load_torch_state_dict(missing)
    gates = {LSTM: 4, GRU: 3, RNN: 1}[type(layer)]
    bad = dict(sd, weight_ih_l0=np.zeros((gates * 4, 2), np.float32))
    with pytest.raises(ValueError, match=rf"weight_ih_l0'\] must have shape \({gates * 4}, 3\), got \({gates * 4}, 2\)"):
        layer.load_torch_state_dict(bad)
    extra = dict(sd, weight_ih_l2=np.zeros(3))
    with pytest.raises(ValueError, match=r"unexpected tensors \['weight_ih_l2'\]"):
        layer.load_torch_state_dict(extra)
    before = {k: v.copy() for k, v in layer.params.items()}
    nan = dict(sd, bias_hh_l1=np.full(gates * 4, np.nan, np.float32))
    with pytest.raises(ValueError, match="bias_hh_l1'\\] contains"):
        layer.load_torch_state_dict(nan)
    assert all(np.array_equal(before[k], layer.params[k]) for k in before), "nothing changed"


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="hidden_size must be a positive integer, got 0"):
        LSTM(3, 0)
    with pytest.raises(ValueError, match="nonlinearity must be one of"):
        RNN(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        LSTM(3, 4, dtype=np.int32)
    with pytest.raises(ValueError, match="num_layers must be a positive integer, got 0"):
        GRU(3, 4, num_layers=0)
    with pytest.raises(ValueError, match=r"recurrent_dropout must be a probability in \[0, 1\), got 1.0"):
        RNN(3, 4, recurrent_dropout=1.0)
