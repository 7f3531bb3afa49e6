"""The sequence classifier's whole backward chain, and time pooling, against finite differences."""

import numpy as np
import pytest

from rnnlab.gradcheck import numerical_gradient, relative_error
from rnnlab.layers.pooling import pool_backward, pool_forward
from rnnlab.models.classifier import SequenceBatch, SequenceClassifier


@pytest.mark.parametrize("mode", ["mean", "max"])
def test_pooling_counts_only_each_sequences_own_steps(mode):
    rng = np.random.default_rng(0)
    out = rng.standard_normal((3, 5, 4))
    lengths = np.array([5, 2, 3])
    out[1, 2:] = 100.0  # padding that must never win the max nor count in the mean
    z, cache = pool_forward(out, lengths, mode)
    for n, length in enumerate(lengths):
        expected = out[n, :length].mean(0) if mode == "mean" else out[n, :length].max(0)
        np.testing.assert_allclose(z[n], expected)
    dz = rng.standard_normal(z.shape)
    dout = pool_backward(dz, cache)
    assert np.all(dout[1, 2:] == 0) and np.all(dout[2, 3:] == 0)
    numeric = numerical_gradient(lambda: np.sum(pool_forward(out, lengths, mode)[0] * dz), out)
    assert relative_error(dout, numeric) < 1e-6


@pytest.mark.parametrize("pool", ["last", "mean", "max"])
@pytest.mark.parametrize("inputs", ["tokens", "features"])
@pytest.mark.parametrize("cell", ["lstm", "rnn", "gru"])
def test_whole_model_gradient_matches_finite_differences(pool, inputs, cell):
    rng = np.random.default_rng(1)
    common = dict(num_classes=3, cell=cell, hidden=4, layers=2, bidirectional=True, dropout=0.0,
                  rng=rng, pool=pool, dtype=np.float64)
    if inputs == "tokens":
        model = SequenceClassifier(vocab_size=7, embed=3, **common)
        x = rng.integers(1, 7, size=(3, 5))
        x[1, 3:] = 0
    else:
        model = SequenceClassifier(input_size=2, **common)
        x = rng.standard_normal((3, 5, 2))
    lengths = np.array([5, 3, 4])
    y = np.array([0, 2, 1])
    loss, grads, _ = model.loss_and_grads(SequenceBatch(x, lengths, y), None)
    assert set(grads) == set(model.params)

    def f():
        return model.loss_and_grads(SequenceBatch(x, lengths, y), None)[0]

    for name, p in model.params.items():
        if name == "embed.E":  # the padding row gets no gradient, the others must match
            assert np.all(grads[name][0] == 0)
        assert relative_error(grads[name], numerical_gradient(f, p)) < 1e-6, name
