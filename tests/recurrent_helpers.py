"""Builders shared by the recurrent-layer tests: random non-zero everything, N != T != D != H."""

from __future__ import annotations

import numpy as np

from rnnlab import GRU, LSTM, RNN

N, T, D, H = 3, 5, 4, 6
LENGTHS = np.array([4, 5, 2])  # unsorted, one full-length sequence, one short


def make_layer(kind: str, num_layers=1, bidirectional=False, dtype=np.float64, seed=0,
               recurrent_dropout=0.0):
    rng = np.random.default_rng(seed)
    sizes = dict(num_layers=num_layers, bidirectional=bidirectional, rng=rng, dtype=dtype,
                 recurrent_dropout=recurrent_dropout)
    if kind == "lstm":
        layer = LSTM(D, H, **sizes)
    elif kind == "gru":
        layer = GRU(D, H, **sizes)
    else:
        layer = RNN(D, H, nonlinearity=kind.split("-")[1] if "-" in kind else "tanh", **sizes)
    for p in layer.params.values():  # non-zero biases, weights large enough to matter
        p += rng.uniform(-0.3, 0.3, size=p.shape).astype(dtype)
    return layer


def random_state(layer, rng, n=N, dtype=np.float64):
    shape = (layer.num_layers * layer.num_directions, n, layer.hidden_size)
    h = rng.standard_normal(shape).astype(dtype) * 0.5
    if isinstance(layer, LSTM):
        return h, rng.standard_normal(shape).astype(dtype) * 0.5
    return h


def state_parts(state):
    return list(state) if isinstance(state, tuple) else [state]


def as_state(parts):
    """The inverse of ``state_parts``: (h, c) for two parts (LSTM), h for one (RNN, GRU)."""
    parts = list(parts)
    return tuple(parts) if len(parts) == 2 else parts[0]
