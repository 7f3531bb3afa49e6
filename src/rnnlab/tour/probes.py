"""Measurements the sections share, read from a ``RecurrentReader``'s forward pass.

``state_norms``: the mean over the batch of ||h_t||, t = 1..T, from the layer's output.
``last_step_gradient_norms``: the mean over the batch of ||dL_n/dh_t||, t = 0..T, where
L_n is sequence n's own cross-entropy at the last step (the batch mean's gradient times N),
so each curve is what one sequence sends back through time. The per-step gradients come
from ``rnnlab.analysis.gradients.hidden_state_gradients``, which replays the layer's
backward through the forward pass's cache.
"""

from __future__ import annotations

import numpy as np

from rnnlab.analysis.gradients import hidden_state_gradients, kernel_cache
from rnnlab.losses import softmax_cross_entropy
from rnnlab.tour.nets import RecurrentReader


def state_norms(reader: RecurrentReader, x: np.ndarray) -> np.ndarray:
    """(T,) mean over the batch of ||h_t||, t = 1..T."""
    out = reader.rnn.forward(x)[0]
    return np.linalg.norm(out.astype(np.float64), axis=2).mean(axis=0)


def last_step_gradient_norms(reader: RecurrentReader, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(T + 1,) mean over the batch of ||dL_n/dh_t||, t = 0..T (0 is the initial state)."""
    z, (_, _, rnn_cache, head_cache) = reader.forward(x)
    _, dz = softmax_cross_entropy(z, y)
    dh_T, _ = reader.head.backward(dz * len(y), head_cache)  # per-sequence losses, not their mean
    dh, _ = hidden_state_gradients(kernel_cache(rnn_cache), dh_T)
    return np.linalg.norm(dh, axis=2).mean(axis=1)
