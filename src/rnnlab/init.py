"""Weight initialisers. Each takes an explicit ``rng: np.random.Generator`` and returns float64;
the layer casts to its own dtype."""

from __future__ import annotations

import numpy as np


def uniform(rng: np.random.Generator, shape: tuple[int, ...], bound: float) -> np.ndarray:
    """U(-bound, bound), PyTorch's default for recurrent layers with bound = 1/sqrt(H)."""
    return rng.uniform(-bound, bound, size=shape)


def glorot_uniform(
    rng: np.random.Generator, shape: tuple[int, int], fan_out: int | None = None
) -> np.ndarray:
    """Glorot/Xavier uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)).

    ``fan_out`` defaults to shape[1]; a gate-stacked matrix (D, 4H) passes fan_out=H so each
    gate block is scaled as the (D, H) matrix it really is.
    """
    fan_in = shape[0]
    fan_out = shape[1] if fan_out is None else fan_out
    return uniform(rng, shape, np.sqrt(6.0 / (fan_in + fan_out)))


def orthogonal(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """A random (semi-)orthogonal matrix: singular values all 1, so repeated application
    neither grows nor shrinks a vector at the start of training (Saxe et al., 2014)."""
    rows, cols = shape
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))  # make the distribution uniform (Haar)
    return q if rows >= cols else q.T
