"""Measurements the sections share, read from a many-to-one classifier's forward pass
(``SequenceClassifier.reading``: a recurrent layer whose final state a linear head reads).

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
from rnnlab.models.classifier import SequenceBatch, SequenceClassifier


def state_norms(reader: SequenceClassifier, x: np.ndarray) -> np.ndarray:
    """(T,) mean over the batch of ||h_t||, t = 1..T."""
    out = reader.rnn.forward(x)[0]
    return np.linalg.norm(out.astype(np.float64), axis=2).mean(axis=0)


def last_step_gradient_norms(reader: SequenceClassifier, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(T + 1,) mean over the batch of ||dL_n/dh_t||, t = 0..T (0 is the initial state)."""
    trace = reader.trace(SequenceBatch(x, None, y))
    _, dz = softmax_cross_entropy(reader.logits(x), y)
    dh_T = (dz * len(y)) @ reader.head.params["W"].T  # back through z = h_T W + b, per-sequence losses
    dh, _ = hidden_state_gradients(kernel_cache(trace.layers["rnn"].cache), dh_T)
    return np.linalg.norm(dh, axis=2).mean(axis=1)
