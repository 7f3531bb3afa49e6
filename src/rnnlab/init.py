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


def chrono_lstm_bias(rng: np.random.Generator, hidden_size: int, max_steps: float) -> np.ndarray:
    """Chrono initialisation of an LSTM's bias (Tallec & Ollivier, 2018), gate order i, f, g, o::

        b_f = log(u),  u ~ U(1, max_steps - 1)      so f = sigmoid(b_f) = u / (1 + u)
        b_i = -b_f,    b_g = b_o = 0

    With the input ignored, a unit's cell keeps a fraction f per step, i.e. it forgets over
    about 1 / (1 - f) = 1 + u steps: the units start with memory spans spread evenly from 2
    to ``max_steps`` steps, and the long-lived ones start with their input gate nearly shut,
    so what they hold is not overwritten. Returns the (4H,) bias, float64.
    """
    if not max_steps > 2:
        raise ValueError(f"max_steps must be greater than 2, got {max_steps!r}")
    H = hidden_size
    b_f = np.log(rng.uniform(1.0, max_steps - 1.0, size=H))
    b = np.zeros(4 * H)
    b[:H], b[H : 2 * H] = -b_f, b_f
    return b
