"""Small pieces every model uses: building a recurrent layer from options, counting its
weights, naming the parameters of composed layers, reading the last layer's final hidden
state (and going back through that read), and the trace a model returns for the
instruments."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rnnlab.layers.lstm import LSTM
from rnnlab.layers.rnn import RNN


def make_recurrent(cell: str, input_size: int, hidden: int, layers: int, bidirectional: bool, rng,
                   dtype=np.float32):
    """An LSTM or RNN stack; ``dtype`` float64 is for finite-difference gradient checks."""
    if cell == "lstm":
        return LSTM(input_size, hidden, num_layers=layers, bidirectional=bidirectional, rng=rng, dtype=dtype)
    if cell == "rnn":
        return RNN(input_size, hidden, num_layers=layers, bidirectional=bidirectional, rng=rng, dtype=dtype)
    raise ValueError(f"cell must be 'lstm' or 'rnn', got {cell!r}")


GATES = {"lstm": 4, "rnn": 1}


def recurrent_parameter_count(cell: str, input_size: int, hidden: int, layers: int, bidirectional: bool) -> int:
    """The number of weights ``make_recurrent`` allocates, computed without allocating:
    per layer and direction G H (D_k + H + 1), with D_0 = input_size, D_k = H * dirs."""
    G, dirs = GATES[cell], 2 if bidirectional else 1
    return sum(dirs * G * hidden * ((input_size if k == 0 else hidden * dirs) + hidden + 1) for k in range(layers))


def linear_parameter_count(in_features: int, out_features: int) -> int:
    """``Linear``'s W (in, out) and b (out,)."""
    return in_features * out_features + out_features


def flat_params(**layers) -> dict[str, np.ndarray]:
    """{"embed.E": ..., "rnn.W_x_l0": ...}: the layers' own arrays (updated in place)."""
    return {f"{prefix}.{name}": p for prefix, layer in layers.items() for name, p in layer.params.items()}


def prefixed(prefix: str, grads: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {f"{prefix}.{name}": g for name, g in grads.items()}


@dataclass
class LayerTrace:
    """One recurrent layer's run: the layer and the cache its forward returned (gates,
    states and inputs of every step, per layer and direction; see ``layers/stack.py``)."""

    layer: object  # RNN or LSTM
    cache: object  # StackCache


@dataclass
class Trace:
    """What ``model.trace(batch)`` returns: every recurrent layer's run by name (``rnn``;
    the tagger's ``char_rnn``; a translator's ``encoder`` and ``decoder``), and a
    translator's attention weights (N, S, T) when it has attention."""

    layers: dict[str, LayerTrace] = field(default_factory=dict)
    attention: np.ndarray | None = None


def final_hidden(recurrent, state) -> np.ndarray:
    """(N, H * dirs): the last layer's final h, forward direction first.

    For the reverse direction the final state is the one after reading the sequence
    backwards, i.e. at its first step: together they summarise the whole sequence."""
    h = state[0] if isinstance(state, tuple) else state
    dirs = recurrent.num_directions
    return np.concatenate(list(h[-dirs:]), axis=1)


def final_hidden_backward(recurrent, state, dfeature: np.ndarray):
    """The dstate that ``recurrent.backward`` takes, given the gradient on final_hidden."""
    h = state[0] if isinstance(state, tuple) else state
    dh = np.zeros_like(h)
    dirs, H = recurrent.num_directions, recurrent.hidden_size
    for d in range(dirs):
        dh[h.shape[0] - dirs + d] = dfeature[:, d * H : (d + 1) * H]
    return (dh, np.zeros_like(dh)) if isinstance(state, tuple) else dh


def backward_from_final_hidden(recurrent, out_shape: tuple, state, cache, dfeature: np.ndarray):
    """Many-to-one backward: the loss read only the last layer's final h (``final_hidden``),
    so the outputs get zero gradient and the final state carries ``dfeature``.
    Returns what ``recurrent.backward`` does: (dx, dstate0, grads)."""
    dout = np.zeros(out_shape, dtype=dfeature.dtype)
    return recurrent.backward(dout, final_hidden_backward(recurrent, state, dfeature), cache)
