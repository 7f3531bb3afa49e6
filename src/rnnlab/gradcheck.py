r"""Finite-difference gradients: the first oracle every hand-written backward is tested against.

Central differences, for every element x_k of an array that the function reads::

    df/dx_k ~= (f(x + eps e_k) - f(x - eps e_k)) / (2 eps)

The truncation error is O(eps^2) and the round-off error O(u / eps) (u the unit round-off),
so in float64 (u ~ 1e-16) with eps = 1e-6 both are around 1e-10 relative to the scale of f:
small enough that a relative error above ~1e-6 means the analytic gradient is wrong. In
float32 (u ~ 6e-8) the round-off alone swamps that, which is why ``numerical_gradient``
accepts float64 arrays only.

A function with an array output ``y`` is checked through a scalar ``sum(y * dy)`` for a
random ``dy``: its gradient is exactly what ``backward(dy, cache)`` returns.

Example::

    >>> import numpy as np
    >>> x = np.array([1.0, -2.0, 3.0])
    >>> dx = numerical_gradient(lambda: float(np.sum(x ** 3)), x)
    >>> relative_error(dx, 3 * x ** 2) < 1e-8
    True
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """The gradient of the scalar ``f()`` with respect to ``x``, by central differences.

    ``f`` takes no arguments and must read ``x`` itself (a closure over a parameter or input
    array); each element of ``x`` is nudged in place by +eps and -eps, ``f`` is called, and the
    element is restored exactly, so ``x`` is unchanged afterwards. Returns an array shaped
    like ``x`` (float64). Costs 2 * x.size calls of ``f``.
    """
    if not isinstance(x, np.ndarray):
        message = f"x must be a NumPy array that f reads, got {type(x).__name__}"
        raise ValueError(message)
    if x.dtype != np.float64:
        raise ValueError(
            f"x must be float64 for finite differences (float32 round-off swamps the "
            f"difference quotient), got dtype {x.dtype}"
        )
    if not x.flags.writeable:
        raise ValueError("x must be writeable: its elements are nudged in place")
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps!r}")
    grad = np.zeros(x.shape, dtype=np.float64)
    for k in np.ndindex(x.shape):
        original = x[k]
        x[k] = original + eps
        f_plus = _scalar(f())
        x[k] = original - eps
        f_minus = _scalar(f())
        x[k] = original  # restore the exact value, not original + eps - eps
        grad[k] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(a, b) -> float:
    """A scale-aware distance between two gradients of the same shape::

        relative_error(a, b) = max_k |a_k - b_k| / max(1e-12, max_k (|a_k| + |b_k|))

    Both maxima run over all elements, so one tiny element (where an elementwise ratio
    would blow up on round-off) cannot dominate, while any element that is wrong by a
    fraction of the gradient's overall scale shows. The 1e-12 floor keeps two all-zero
    gradients at error 0 instead of 0/0. Returns a value in [0, 1].
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    difference = np.max(np.abs(a - b))
    scale = np.max(np.abs(a) + np.abs(b))
    return float(difference / max(1e-12, scale))


def _scalar(value) -> float:
    arr = np.asarray(value)
    if arr.size != 1:
        raise ValueError(
            f"f must return a scalar (sum an array output against a random dy), "
            f"got an array of shape {arr.shape}"
        )
    return float(arr.reshape(()))
