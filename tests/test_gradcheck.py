"""The finite-difference oracle: it must itself be right before it can judge anything."""

import numpy as np
import pytest

from rnnlab.gradcheck import numerical_gradient, relative_error


def test_numerical_gradient_matches_a_known_derivative_on_every_element():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5))
    w = rng.standard_normal(x.shape)
    dx = numerical_gradient(lambda: float(np.sum(w * x**3)), x)  # df/dx = 3 w x^2
    assert relative_error(dx, 3 * w * x**2) < 1e-8


def test_numerical_gradient_restores_x_exactly_and_works_on_views():
    rng = np.random.default_rng(1)
    base = rng.standard_normal((4, 6))
    before = base.copy()
    view = base[:, ::2]  # non-contiguous
    dx = numerical_gradient(lambda: float(np.sum(view**2)), view)
    assert np.array_equal(base, before)
    assert relative_error(dx, 2 * view) < 1e-8


def test_numerical_gradient_rejects_float32_and_non_scalar_outputs():
    with pytest.raises(ValueError, match="x must be float64.*got dtype float32"):
        numerical_gradient(lambda: 0.0, np.zeros(3, dtype=np.float32))
    x = np.zeros(3)
    with pytest.raises(ValueError, match=r"f must return a scalar.*shape \(3,\)"):
        numerical_gradient(lambda: x * 2, x)


def test_relative_error_formula():
    a = np.array([1.0, -2.0, 0.0])
    b = np.array([1.0, -1.0, 1e-3])
    # max|a - b| = 1, max(|a| + |b|) = 3
    assert relative_error(a, b) == pytest.approx(1 / 3)
    assert relative_error(np.zeros(4), np.zeros(4)) == 0.0
    with pytest.raises(ValueError, match=r"same shape, got \(2,\) and \(3,\)"):
        relative_error(np.zeros(2), np.zeros(3))
