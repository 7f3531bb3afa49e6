"""Linear: y = x W + b over the last axis, with any leading dims."""

import numpy as np
import pytest

from rnnlab.gradcheck import numerical_gradient, relative_error
from rnnlab.layers.linear import Linear, LinearCache, linear_backward, linear_forward

N, T, D, M = 3, 5, 7, 9  # odd and all different, so a transposed axis cannot pass


def random_weights(rng, dtype=np.float64):
    W = rng.standard_normal((D, M)).astype(dtype)
    b = rng.standard_normal(M).astype(dtype)  # non-zero, so a forgotten bias shows
    return W, b


# ----- the parameters ---------------------------------------------------------------------


def test_parameters_are_named_shaped_and_initialised_as_documented():
    layer = Linear(D, M, rng=np.random.default_rng(0))
    assert {k: v.shape for k, v in layer.params.items()} == {"W": (D, M), "b": (M,)}
    assert all(v.dtype == np.float32 for v in layer.params.values())
    bound = np.sqrt(6.0 / (D + M))  # Glorot-uniform
    assert np.all(np.abs(layer.params["W"]) <= bound)
    assert np.abs(layer.params["W"]).max() > bound / 2  # spread over the range, not tiny
    assert np.all(layer.params["b"] == 0)


def test_same_rng_seed_gives_same_weights_and_dtype_float64_is_kept():
    a = Linear(D, M, rng=np.random.default_rng(7), dtype=np.float64)
    b = Linear(D, M, rng=np.random.default_rng(7), dtype=np.float64)
    assert a.params["W"].dtype == np.float64
    assert np.array_equal(a.params["W"], b.params["W"])


# ----- forward ----------------------------------------------------------------------------


@pytest.mark.parametrize("lead", [(), (N,), (N, T)])
def test_forward_is_x_W_plus_b_at_every_leading_position(lead):
    rng = np.random.default_rng(1)
    W, b = random_weights(rng)
    x = rng.standard_normal(lead + (D,))
    y, _ = linear_forward(x, W, b)
    assert y.shape == lead + (M,)
    rows = x.reshape(-1, D)
    expected = np.stack(
        [[sum(r[d] * W[d, m] for d in range(D)) + b[m] for m in range(M)] for r in rows]
    )
    np.testing.assert_allclose(y.reshape(-1, M), expected, rtol=1e-12)


def test_class_forward_and_backward_call_the_functions_with_its_params():
    rng = np.random.default_rng(2)
    layer = Linear(D, M, rng=rng, dtype=np.float64)
    layer.params["b"][:] = rng.standard_normal(M)
    x = rng.standard_normal((N, T, D))
    dy = rng.standard_normal((N, T, M))
    y, cache = layer.forward(x)
    y_ref, cache_ref = linear_forward(x, layer.params["W"], layer.params["b"])
    assert np.array_equal(y, y_ref)
    dx, grads = layer.backward(dy, cache)
    dx_ref, dW_ref, db_ref = linear_backward(dy, cache_ref)
    assert np.array_equal(dx, dx_ref)
    assert sorted(grads) == ["W", "b"]
    assert np.array_equal(grads["W"], dW_ref) and np.array_equal(grads["b"], db_ref)


def test_float32_layer_computes_in_float32():
    layer = Linear(D, M, rng=np.random.default_rng(3))
    y, cache = layer.forward(np.ones((N, D), dtype=np.float32))
    dx, grads = layer.backward(np.ones_like(y), cache)
    assert y.dtype == dx.dtype == grads["W"].dtype == grads["b"].dtype == np.float32


# ----- backward: finite differences in float64 ----------------------------------------------


@pytest.mark.parametrize("lead", [(N,), (N, T)])
def test_backward_matches_finite_differences_on_x_W_and_b(lead):
    rng = np.random.default_rng(4)
    W, b = random_weights(rng)
    x = rng.standard_normal(lead + (D,))
    dy = rng.standard_normal(lead + (M,))

    def loss():  # sum(y * dy): its gradient is exactly what backward(dy) returns
        return float(np.sum(linear_forward(x, W, b)[0] * dy))

    _, cache = linear_forward(x, W, b)
    dx, dW, db = linear_backward(dy, cache)
    assert dx.shape == x.shape and dW.shape == W.shape and db.shape == b.shape
    for name, value, analytic in (("x", x, dx), ("W", W, dW), ("b", b, db)):
        error = relative_error(numerical_gradient(loss, value), analytic)
        assert error < 1e-6, f"d{name}: relative error {error:.2e}"


# ----- bad input ----------------------------------------------------------------------------


def test_errors_name_the_argument_the_expectation_and_the_value():
    layer = Linear(D, M, rng=np.random.default_rng(6))
    with pytest.raises(
        ValueError, match=r"x must have shape \(\*, 7\) \(\.\.\., D\), got \(3, 6\)"
    ):
        layer.forward(np.ones((N, D - 1), dtype=np.float32))
    with pytest.raises(
        ValueError, match="x has dtype float64 but the layer's parameters are float32"
    ):
        layer.forward(np.ones((N, D)))
    with pytest.raises(ValueError, match="x has dtype int64"):
        layer.forward(np.ones((N, D), dtype=np.int64))
    x = np.ones((N, D), dtype=np.float32)
    x[1, 2] = np.nan
    with pytest.raises(
        ValueError, match=r"x contains 1 non-finite value\(s\), first NaN at index \(1, 2\)"
    ):
        layer.forward(x)
    with pytest.raises(ValueError, match="x must have at least 1 dimension"):
        layer.forward(np.float32(1.0))
    y, cache = layer.forward(np.ones((N, T, D), dtype=np.float32))
    with pytest.raises(
        ValueError, match=r"dy must have shape \(3, 5, 9\) \(\.\.\., M\), got \(3, 5, 8\)"
    ):
        layer.backward(np.ones((N, T, M - 1), dtype=np.float32), cache)
    with pytest.raises(
        ValueError, match="cache must be the LinearCache returned by linear_forward, got tuple"
    ):
        layer.backward(y, (1, 2))
    assert isinstance(cache, LinearCache)


def test_constructor_rejects_bad_sizes_and_dtypes():
    with pytest.raises(ValueError, match="in_features must be a positive integer, got 0"):
        Linear(0, M)
    with pytest.raises(ValueError, match=r"out_features must be a positive integer, got 2\.5"):
        Linear(D, 2.5)
    with pytest.raises(ValueError, match="dtype must be float32 or float64, got int32"):
        Linear(D, M, dtype=np.int32)


def test_functional_form_checks_its_weights():
    rng = np.random.default_rng(8)
    W, b = random_weights(rng)
    x = rng.standard_normal((N, D))
    with pytest.raises(ValueError, match=r"b must have shape \(9,\) \(M,\), got \(3,\)"):
        linear_forward(x, W, b[:3])
    with pytest.raises(ValueError, match=r"W must have 2 dimensions \(D, M\), got shape \(7,\)"):
        linear_forward(x, W[:, 0], b)
