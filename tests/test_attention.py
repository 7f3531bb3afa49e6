"""Luong attention alone: finite differences on every input and parameter, masking, shapes."""

import numpy as np
import pytest

from rnnlab.gradcheck import numerical_gradient, relative_error
from rnnlab.layers.attention import LuongAttention


def _setup(score, seed=0):
    rng = np.random.default_rng(seed)
    att = LuongAttention(5, score, rng=rng, dtype=np.float64)
    att.params["b_c"][...] = rng.standard_normal(5)  # non-zero, so a wrong db_c shows
    h_dec = rng.standard_normal((3, 4, 5))  # N=3, S=4, H=5
    h_enc = rng.standard_normal((3, 6, 5))  # T=6
    lengths = np.array([6, 2, 4])
    return rng, att, h_dec, h_enc, lengths


@pytest.mark.parametrize("score", ["dot", "general"])
def test_backward_matches_finite_differences(score):
    rng, att, h_dec, h_enc, lengths = _setup(score)
    h_att, cache = att.forward(h_dec, h_enc, lengths)
    dh_att = rng.standard_normal(h_att.shape)
    dh_dec, dh_enc, grads = att.backward(dh_att, cache)
    assert set(grads) == set(att.params)

    def f():
        return np.sum(att.forward(h_dec, h_enc, lengths)[0] * dh_att)

    assert relative_error(dh_dec, numerical_gradient(f, h_dec)) < 1e-7
    assert relative_error(dh_enc, numerical_gradient(f, h_enc)) < 1e-7
    for name, p in att.params.items():
        assert relative_error(grads[name], numerical_gradient(f, p)) < 1e-7, name


@pytest.mark.parametrize("score", ["dot", "general"])
def test_padded_source_steps_get_no_weight_and_no_gradient(score):
    rng, att, h_dec, h_enc, lengths = _setup(score, seed=1)
    h_enc[1, 2:] = 1e3  # padding that would dominate every score if it were read
    h_att, cache = att.forward(h_dec, h_enc, lengths)
    np.testing.assert_allclose(cache.a.sum(axis=-1), 1.0)
    assert np.all(cache.a[1, :, 2:] == 0) and np.all(cache.a[2, :, 4:] == 0)
    _, dh_enc, _ = att.backward(rng.standard_normal(h_att.shape), cache)
    assert np.all(dh_enc[1, 2:] == 0) and np.all(dh_enc[2, 4:] == 0)
    # each sequence attended alone (without padding) gives the same result
    alone, _ = att.forward(h_dec[1:2], h_enc[1:2, :2], np.array([2]))
    np.testing.assert_allclose(h_att[1:2], alone, rtol=1e-12)


def test_parameters_are_pinned_and_bad_input_is_named():
    att = LuongAttention(4, "general", rng=np.random.default_rng(0))
    assert {k: v.shape for k, v in att.params.items()} == {"W_a": (4, 4), "W_c": (8, 4), "b_c": (4,)}
    assert set(LuongAttention(4, "dot").params) == {"W_c", "b_c"}
    with pytest.raises(ValueError, match="score must be one of"):
        LuongAttention(4, "concat")
    h = np.zeros((2, 3, 4), dtype=np.float32)
    with pytest.raises(ValueError, match="h_enc must have shape"):
        att.forward(h, np.zeros((2, 3, 5), dtype=np.float32), np.array([3, 3]))
    with pytest.raises(ValueError, match="lengths must lie in 1..3"):
        att.forward(h, h, np.array([3, 0]))
