r"""Our recurrent stacks as ONNX ``LSTM``, ``GRU`` and ``RNN`` operators, one per layer.

Both compute the same equations; only the layout of the weights differs::

    ours (row vectors)               ONNX (column vectors, per direction)
    W_x (D, G H)  blocks [i f g o]   W (dirs, G H, D)  blocks [i o f c]   LSTM
                  blocks [r z n]                       blocks [z r h]     GRU
    W_h (H, G H)                     R (dirs, G H, H)  same block order, transposed
    b (G H)                          B (dirs, 2 G H) = [Wb, Rb]: our b in Wb, Rb = 0,
    b_hn (H) (GRU only)                                except the GRU's h block of Rb = b_hn

The GRU's reset gate multiplies its recurrent product *with* b_hn, ``n = tanh(x W_xn + b_xn +
r * (h W_hn + b_hn))``: ONNX's ``linear_before_reset = 1``. The tanh, ReLU or sigmoid RNN
names its nonlinearity in ``activations`` (one per direction).

Padding: ``sequence_lens`` makes each sequence stop at its own length: its final state Y_h
is the one at its own last step and the reverse direction reads it backwards from that step
(as ``layers/packing.py`` does; ``tests/test_export.py`` holds the two equal on padded,
bidirectional, stacked batches). onnxruntime runs only ``layout = 0`` (time-major), so the
graphs keep recurrent values time-major: x (T, N, D) in, Y (T, dirs, N, H) out, which
becomes (T, N, dirs H), [forward, reverse] per step like ours, for the next layer.

State layout as ours: (L dirs, N, H), row k = layer * dirs + direction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from onnx import TensorProto

from rnnlab.export.graph import Graph
from rnnlab.layers.gru import GRU
from rnnlab.layers.lstm import LSTM
from rnnlab.layers.rnn import RNN

# ONNX's gate blocks, each given by the index of our block that fills it
ONNX_BLOCKS = {"lstm": (0, 3, 1, 2),  # ours i f g o -> ONNX i o f c
               "gru": (1, 0, 2),  # ours r z n -> ONNX z r h
               "rnn": (0,)}
STATE_NAMES = ("h", "c")  # a state's parts, in the order of ``models.parts.state_parts``
OPERATORS = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}
ACTIVATIONS = {"tanh": "Tanh", "relu": "Relu", "sigmoid": "Sigmoid"}


def cell_of(layer) -> str:
    """"lstm", "gru" or "rnn": which ONNX operator runs ``layer``."""
    for cell, kind in (("lstm", LSTM), ("gru", GRU), ("rnn", RNN)):
        if isinstance(layer, kind):
            return cell
    raise TypeError(f"cannot export a recurrent layer of type {type(layer).__name__}")


def reorder(m: np.ndarray, blocks: tuple[int, ...], H: int) -> np.ndarray:
    """The H-wide column blocks of m (..., G H) in the given order."""
    return np.concatenate([m[..., k * H : (k + 1) * H] for k in blocks], axis=-1)


def onnx_weights(layer, k: int, direction: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """W (G H, D_k), R (G H, H), B (2 G H) of layer k and one direction, float32."""
    cell, H = cell_of(layer), layer.hidden_size
    blocks = ONNX_BLOCKS[cell]
    W_in, W_rec, b, *kept = layer._weights(k, direction)
    recurrent_bias = np.zeros_like(b)
    if kept:  # the GRU's b_hn: the recurrent bias of the n block, inside r * (...)
        recurrent_bias[2 * H :] = kept[0]
    W = reorder(W_in, blocks, H).T
    R = reorder(W_rec, blocks, H).T
    B = np.concatenate([reorder(b, blocks, H), reorder(recurrent_bias, blocks, H)])
    return tuple(np.ascontiguousarray(a, dtype=np.float32) for a in (W, R, B))


@dataclass
class RecurrentValues:
    """What ``recurrent`` added: y (T, N, dirs H) the last layer's outputs, time-major;
    top (dirs, N, H) the last layer's final h; states, one name per state part (h, or h
    and c), each (L dirs, N, H)."""

    y: str
    top: str
    states: tuple[str, ...]


def recurrent(g: Graph, layer, x: str, hint: str, lengths: str | None = None,
              state: tuple[str, ...] | None = None) -> RecurrentValues:
    """``layer.forward`` as ONNX operators: x (T, N, D) time-major float32; lengths (N,)
    int64 or None (every sequence has T steps); state the initial state's parts, each
    (L dirs, N, H), or None (zeros)."""
    cell, H, dirs = cell_of(layer), layer.hidden_size, layer.num_directions
    sequence_lens = "" if lengths is None else g.op("Cast", lengths, to=TensorProto.INT32, hint=f"{hint}.lengths")
    attrs = {"hidden_size": H, "direction": "bidirectional" if dirs == 2 else "forward", "layout": 0}
    if cell == "gru":
        attrs["linear_before_reset"] = 1
    if cell == "rnn":
        attrs["activations"] = [ACTIVATIONS[layer.nonlinearity]] * dirs
    parts = 2 if cell == "lstm" else 1
    finals: list[list[str]] = [[] for _ in range(parts)]
    for k in range(layer.num_layers):
        name = f"{hint}.l{k}"
        W, R, B = zip(*(onnx_weights(layer, k, d) for d in range(dirs)))
        inputs = [x, g.weight(f"{name}.W", np.stack(W)), g.weight(f"{name}.R", np.stack(R)),
                  g.weight(f"{name}.B", np.stack(B)), sequence_lens]
        if state is not None:  # this layer's rows k dirs .. (k + 1) dirs - 1 of each part
            rows = (g.ints("start", [k * dirs]), g.ints("end", [(k + 1) * dirs]), g.ints("axis0", [0]))
            inputs += [g.op("Slice", s, *rows, hint=f"{name}.state0") for s in state]
        Y, *final = g.op(OPERATORS[cell], *inputs, outputs=1 + parts, hint=name, **attrs)
        for collected, s in zip(finals, final):
            collected.append(s)
        # (T, dirs, N, H) -> (T, N, dirs, H) -> (T, N, dirs H): the next layer's input
        x = g.op("Reshape", g.op("Transpose", Y, perm=[0, 2, 1, 3]), g.ints("shape", [0, 0, -1]),
                 hint=f"{name}.y")
    states = tuple(s[0] if len(s) == 1 else g.op("Concat", *s, axis=0, hint=f"{hint}.state")
                   for s in finals)
    return RecurrentValues(x, finals[0][-1], states)


def final_hidden(g: Graph, top: str) -> str:
    """(dirs, N, H) -> (N, dirs H): the last layer's final h, forward first (``models.parts.final_hidden``)."""
    return g.op("Reshape", g.op("Transpose", top, perm=[1, 0, 2]), g.ints("shape", [0, -1]), hint="final_hidden")


def state_inputs(g: Graph, layer, what: str) -> tuple[str, ...]:
    """h_in (and c_in for an LSTM), each (L dirs, N, H), the layout of ``layer``'s state."""
    L, H = layer.num_layers * layer.num_directions, layer.hidden_size
    names = STATE_NAMES[: layer.kernel.num_states]
    return tuple(g.input(f"{s}_in", np.float32, [L, "N", H], f"{what} ({'cell state' if s == 'c' else 'h'})")
                 for s in names)


def state_outputs(g: Graph, layer, states: tuple[str, ...], what: str) -> None:
    """h_out (and c_out), each (L dirs, N, H), the layout of ``layer``'s state."""
    L, H = layer.num_layers * layer.num_directions, layer.hidden_size
    for s, value in zip(STATE_NAMES, states):
        g.output(value, f"{s}_out", np.float32, [L, "N", H], what)
