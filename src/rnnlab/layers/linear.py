r"""The affine layer: every output unit a weighted sum of the inputs plus a bias.

Equations (row-vector form, applied to each of the leading positions independently)::

    y = x W + b                   x (..., D), W (D, M), b (M,) -> y (..., M)

Backward, given dy (..., M); the leading dims are flattened to R rows for the weights::

    dx = dy W^T                   (..., D)
    dW = x^T dy                   (D, M)  = sum over rows r of outer(x_r, dy_r)
    db = sum_r dy_r               (M,)    b is added at every row, so its gradient fans in

Shapes: D input features, M output features; the leading dims are anything, e.g. (N,) for a
batch of vectors or (N, T) for a batch of sequences (an output projection to V logits).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnlab import _checks, init


@dataclass
class LinearCache:
    """What backward needs: the input x (..., D) and the weight W (D, M) as used."""

    x: np.ndarray
    W: np.ndarray


def linear_forward(x, W, b) -> tuple[np.ndarray, LinearCache]:
    """y = x W + b. x (..., D), W (D, M), b (M,) -> y (..., M), cache."""
    W = _checks.as_array("W", W)
    if W.ndim != 2:
        raise ValueError(f"W must have 2 dimensions (D, M), got shape {W.shape}")
    dtype = _checks.check_float_dtype("W.dtype", W.dtype)
    D, M = W.shape
    b = _checks.check_float_array("b", b, ndim=1, dtype=dtype, shape=(M,), shape_legend="(M,)")
    x = _checks.as_array("x", x)
    if x.ndim == 0:
        raise ValueError(f"x must have at least 1 dimension (..., D) with D = {D}, got a scalar")
    x = _checks.check_float_array(
        "x", x, ndim=x.ndim, dtype=dtype, shape=(None,) * (x.ndim - 1) + (D,),
        shape_legend="(..., D)",
    )
    y = x @ W
    y += b
    return y, LinearCache(x, W)


def linear_backward(dy, cache: LinearCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Back through y = x W + b. dy (..., M) -> dx (..., D), dW (D, M), db (M,)."""
    if not isinstance(cache, LinearCache):
        message = (
            f"cache must be the LinearCache returned by linear_forward, "
            f"got {type(cache).__name__}"
        )
        raise ValueError(message)
    x, W = cache.x, cache.W
    D, M = W.shape
    dy = _checks.check_float_array(
        "dy", dy, ndim=x.ndim, dtype=W.dtype, shape=x.shape[:-1] + (M,), shape_legend="(..., M)"
    )
    dx = dy @ W.T  # back through the product x W
    x_rows, dy_rows = x.reshape(-1, D), dy.reshape(-1, M)
    dW = x_rows.T @ dy_rows  # one GEMM over all leading positions
    db = dy_rows.sum(axis=0)  # b fans out to every row; its gradients fan in
    return dx, dW, db


class Linear:
    """y = x W + b over the last axis.

    Parameters: ``W`` (in_features, out_features), Glorot-uniform; ``b`` (out_features,),
    zero. ``forward`` and ``backward`` keep nothing on ``self``.

    >>> layer = Linear(3, 2, rng=np.random.default_rng(0))
    >>> y, cache = layer.forward(np.ones((4, 5, 3), dtype=np.float32))
    >>> y.shape
    (4, 5, 2)
    >>> dx, grads = layer.backward(np.ones_like(y), cache)
    >>> dx.shape, grads["W"].shape, grads["b"].shape
    ((4, 5, 3), (3, 2), (2,))
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        rng: np.random.Generator | None = None,
        dtype=np.float32,
    ):
        self.in_features = _checks.check_positive_int("in_features", in_features)
        self.out_features = _checks.check_positive_int("out_features", out_features)
        self.dtype = _checks.check_float_dtype("dtype", dtype)
        rng = np.random.default_rng() if rng is None else rng
        D, M = self.in_features, self.out_features
        self.params: dict[str, np.ndarray] = {
            "W": init.glorot_uniform(rng, (D, M)).astype(self.dtype),
            "b": np.zeros(M, dtype=self.dtype),
        }

    def forward(self, x) -> tuple[np.ndarray, LinearCache]:
        """x (..., in_features) -> y (..., out_features), cache."""
        return linear_forward(x, self.params["W"], self.params["b"])

    def backward(self, dy, cache: LinearCache) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """dy (..., out_features) -> dx (..., in_features), grads {"W", "b"}."""
        dx, dW, db = linear_backward(dy, cache)
        return dx, {"W": dW, "b": db}
