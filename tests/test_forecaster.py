"""The forecaster's whole loss_and_grads against finite differences, and its output modes."""

import numpy as np
import pytest

from rnnlab.gradcheck import numerical_gradient, relative_error
from rnnlab.models.forecaster import Forecaster, WindowBatch

N, T, C, H = 3, 5, 4, 6  # all different, so a swapped axis shows


def _model(cell="lstm", layers=1, bidirectional=False, dropout=0.0, output="change", seed=0, recurrent_dropout=0.0):
    rng = np.random.default_rng(seed)
    model = Forecaster(input_size=C, target_index=2, cell=cell, hidden=H, layers=layers,
                       bidirectional=bidirectional, dropout=dropout, rng=rng, output=output,
                       recurrent_dropout=recurrent_dropout, dtype=np.float64)
    for p in model.params.values():  # random non-zero biases and head: nothing can hide at 0
        p += rng.normal(0, 0.1, p.shape)
    return model


def _batch(seed=1):
    rng = np.random.default_rng(seed)
    return WindowBatch(rng.normal(size=(N, T, C)), rng.normal(size=N))


@pytest.mark.parametrize(("cell", "layers", "bidirectional", "dropout", "output"), [
    ("lstm", 1, False, 0.0, "change"),
    ("lstm", 2, False, 0.3, "change"),
    ("lstm", 1, True, 0.0, "level"),
    ("rnn", 2, False, 0.0, "level"),
    ("rnn", 1, True, 0.3, "level"),
    ("gru", 2, True, 0.3, "change"),
])
def test_loss_and_grads_match_finite_differences(cell, layers, bidirectional, dropout, output):
    model = _model(cell, layers, bidirectional, dropout, output, recurrent_dropout=dropout)
    batch = _batch()

    def loss():  # the same dropout masks on every call
        return model.loss_and_grads(batch, np.random.default_rng(7))[0]

    _, grads, carry = model.loss_and_grads(batch, np.random.default_rng(7))
    assert carry is None
    assert set(grads) == set(model.params)
    for name, p in model.params.items():
        assert grads[name].shape == p.shape
        error = relative_error(numerical_gradient(loss, p), grads[name])
        assert error < 1e-6, f"{name}: relative error {error:.2e}"


def test_change_output_adds_the_last_target_value():
    model = _model(output="change")
    x = _batch().x
    level = _model(output="level")
    # same seeds -> same weights: the two outputs differ exactly by x[:, -1, k]
    np.testing.assert_allclose(model.predict(x) - level.predict(x), x[:, -1, 2], atol=1e-12)


def test_zero_head_starts_as_persistence():
    model = _model(output="change")
    model.params["head.W"][...] = 0
    model.params["head.b"][...] = 0
    x = _batch().x
    np.testing.assert_array_equal(model.predict(x), x[:, -1, 2])


def test_parameter_names_and_shapes():
    model = _model()
    shapes = {name: p.shape for name, p in model.params.items()}
    assert shapes == {"rnn.W_x_l0": (C, 4 * H), "rnn.W_h_l0": (H, 4 * H), "rnn.b_l0": (4 * H,),
                      "head.W": (H, 1), "head.b": (1,)}


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="output"):
        _model(output="delta")
    with pytest.raises(ValueError, match="target_index"):
        Forecaster(input_size=2, target_index=2, cell="lstm", hidden=3, layers=1, bidirectional=False,
                   dropout=0.0, rng=np.random.default_rng(0))


def test_rnn_init_uniform_redraws_the_recurrent_weights_small():
    rng = np.random.default_rng(3)
    kwargs = dict(input_size=C, target_index=0, cell="lstm", hidden=H, layers=2, bidirectional=False,
                  dropout=0.0, rng=rng)
    uniform = Forecaster(**kwargs, rnn_init="uniform")
    layer = Forecaster(**kwargs, rnn_init="layer")
    for name, p in uniform.rnn.params.items():
        assert np.abs(p).max() <= 1 / np.sqrt(H)
        assert np.unique(p).size == p.size, name  # drawn, not a constant (the forget bias is not 1)
    assert np.all(layer.rnn.params["b_l0"][H : 2 * H] == 1.0)  # the layer's own forget bias kept
    with pytest.raises(ValueError, match="rnn_init"):
        Forecaster(**kwargs, rnn_init="zeros")
