"""Small pieces every model uses: building a recurrent layer from options, counting its
weights, naming the parameters of composed layers, reading the last layer's final hidden
state (and going back through that read), and the trace a model returns for the
instruments."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rnnlab.layers.gru import GRU
from rnnlab.layers.lstm import LSTM
from rnnlab.layers.rnn import RNN

CELLS = {"lstm": LSTM, "rnn": RNN, "gru": GRU}


def make_recurrent(cell: str, input_size: int, hidden: int, layers: int, bidirectional: bool, rng,
                   dtype=np.float32, recurrent_dropout: float = 0.0):
    """An LSTM, tanh RNN or GRU stack; ``dtype`` float64 is for finite-difference gradient
    checks. ``recurrent_dropout`` is drawn when the model passes its training rng to forward."""
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {cell!r}")
    return CELLS[cell](input_size, hidden, num_layers=layers, bidirectional=bidirectional, rng=rng, dtype=dtype,
                       recurrent_dropout=recurrent_dropout)


GATES = {"lstm": 4, "rnn": 1, "gru": 3}
KEPT_RECURRENT_BIASES = {"lstm": 0, "rnn": 0, "gru": 1}  # the GRU's b_hn (H,)


def recurrent_parameter_count(cell: str, input_size: int, hidden: int, layers: int, bidirectional: bool) -> int:
    """The number of weights ``make_recurrent`` allocates, computed without allocating:
    per layer and direction G H (D_k + H + 1) + K H, with D_0 = input_size, D_k = H * dirs,
    G gate blocks and K recurrent biases kept apart from b (the GRU's b_hn)."""
    G, K, dirs = GATES[cell], KEPT_RECURRENT_BIASES[cell], 2 if bidirectional else 1
    return sum(dirs * hidden * (G * ((input_size if k == 0 else hidden * dirs) + hidden + 1) + K)
               for k in range(layers))


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

    layer: object  # RNN, LSTM or GRU
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


def state_parts(state) -> tuple[np.ndarray, ...]:
    """A layer's state as a tuple of parts: (h,) for the RNN and GRU, (h, c) for the LSTM."""
    return tuple(state) if isinstance(state, tuple) else (state,)


def layer_state(parts):
    """The inverse of ``state_parts``: the state in the layer's own form (h, or (h, c))."""
    parts = tuple(parts)
    return parts if len(parts) == 2 else parts[0]


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
