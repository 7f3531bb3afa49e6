"""Inverted dropout: zero each unit with probability p while training, scale the rest.

    keep ~ Bernoulli(1 - p)          one draw per element, from the rng passed in
    y    = x * keep / (1 - p)        so E[y] = x and nothing changes at evaluation
    dx   = dy * keep / (1 - p)

Shapes: any. With p = 0 or ``rng`` None (evaluation) it is the identity.
"""

from __future__ import annotations

import numpy as np


def dropout_mask(shape: tuple[int, ...], p: float, rng: np.random.Generator, dtype) -> np.ndarray:
    """The scaled keep mask keep / (1 - p), keep ~ Bernoulli(1 - p), one draw per element."""
    dtype = np.dtype(dtype)
    mask = (rng.random(shape, dtype=np.float32) >= p).astype(dtype)
    mask *= dtype.type(1.0 / (1.0 - p))
    return mask


def dropout_forward(x: np.ndarray, p: float, rng: np.random.Generator | None):
    """x (...) -> y (...), mask (the scaled keep mask, or None when nothing was dropped)."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout probability must lie in [0, 1), got {p}")
    if rng is None or p == 0.0:
        return x, None
    mask = dropout_mask(x.shape, p, rng, x.dtype)
    return x * mask, mask


def dropout_backward(dy: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """dy (...) -> dx (...): the gradient flows only through the units that were kept."""
    return dy if mask is None else dy * mask
