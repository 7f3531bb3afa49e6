"""Stacked and bidirectional recurrent layers, built by composing one cell kernel.

A ``CellKernel`` is the functional core of a cell (``rnn.py``, ``lstm.py``, ``gru.py``): a
sequence forward ``(x, state0, weights, batch_sizes, mask) -> (h, state_T, cache)`` and its
backward ``(dh, dstate_T, cache) -> (dx, dstate0, grads)``, all time-major. ``RecurrentStack``
holds sizes and parameters, converts the user's batch-first input to the kernels' layout
(``packing.py``), draws the recurrent dropout masks, and wires layers and directions:

    layer 0 reads x; layer k reads layer k-1's output, [h_fwd, h_rev] when bidirectional.
    The reverse direction reads each sequence backwards within its own length and its
    outputs are put back in forward time, so out[:, t] is about step t in both halves.

State layout follows PyTorch: index k = layer * num_directions + direction.

Recurrent (variational) dropout, ``recurrent_dropout = p`` (Gal & Ghahramani 2016; Keras's
``recurrent_dropout``): while training (``forward(..., rng=rng)``) each layer and direction
draws ONE mask m (N, H) per sequence, keep ~ Bernoulli(1 - p), m = keep / (1 - p), and
every step of that sequence uses it on the state going into the recurrent product only::

    h_{t-1} W_h   becomes   (h_{t-1} * m) W_h          the state carried on is h_{t-1} itself

so dh_{t-1} receives m times the gradient through that product and dW_h sums
(h_{t-1} * m)^T da_t. The masks are drawn in the state's layout (L * dirs, N, H) and kept in
the cache; without ``rng`` (evaluation) or with p = 0 nothing is drawn and m is None.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnlab import _checks
from rnnlab.layers.dropout import dropout_mask
from rnnlab.layers.packing import PackedLayout


@dataclass(frozen=True)
class CellKernel:
    """The functional core of one cell kind, and how its parameters are named.

    param_names: our names of (input weight (D, G*H), recurrent weight (H, G*H), bias (G*H,)),
    which map to PyTorch's weight_ih, weight_hh, bias_ih + bias_hh; and, for a cell that
    multiplies the recurrent product of its last gate block by a gate before adding that
    block's recurrent bias (the GRU's n = tanh(... + r * (h W_hn + b_hn))), a fourth name:
    that bias (H,), PyTorch's bias_hh of the last block, which then cannot be summed into b.
    gate_count: G, the number of H-wide blocks in the weights (1 RNN, 3 GRU, 4 LSTM).
    num_states: 1 (h) or 2 (h, c).
    forward: (x, state0, weights, batch_sizes, mask) -> (h, state_T, cache); weights in
    ``param_names`` order, mask (N, H) the recurrent dropout mask or None.
    backward: (dh, dstate_T, cache) -> (dx, dstate0, grads), grads in ``param_names`` order.
    """

    param_names: tuple[str, ...]
    gate_count: int
    num_states: int
    forward: Callable
    backward: Callable

    @property
    def keeps_recurrent_bias(self) -> bool:
        """True when the last gate block's recurrent bias is a parameter of its own (GRU)."""
        return len(self.param_names) == 4


@dataclass
class StackCache:
    """What ``RecurrentStack.forward`` needs to go back: the layout and one kernel cache
    per layer and direction (``caches[layer][direction]``), readable by analysis tools."""

    layout: PackedLayout
    reversal: Any
    caches: list[list[Any]]
    input_shape: tuple[int, int, int]
    masks: np.ndarray | None = None  # (L * dirs, N, H) recurrent dropout masks, internal row order


class RecurrentStack:
    """Sizes, parameters and wiring shared by ``RNN``, ``LSTM`` and ``GRU``; the maths is the kernel's."""

    def __init__(self, kernel, input_size, hidden_size, num_layers, bidirectional, rng, dtype,
                 recurrent_dropout=0.0):
        self.kernel = kernel
        if not isinstance(recurrent_dropout, (int, float, np.floating)) or isinstance(recurrent_dropout, bool) \
                or not 0.0 <= recurrent_dropout < 1.0:
            raise ValueError(f"recurrent_dropout must be a probability in [0, 1), got {recurrent_dropout!r}")
        self.recurrent_dropout = float(recurrent_dropout)
        self.input_size = _checks.check_positive_int("input_size", input_size)
        self.hidden_size = _checks.check_positive_int("hidden_size", hidden_size)
        self.num_layers = _checks.check_positive_int("num_layers", num_layers)
        if not isinstance(bidirectional, (bool, np.bool_)):
            raise ValueError(f"bidirectional must be True or False, got {bidirectional!r}")
        self.bidirectional = bool(bidirectional)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype}")
        rng = np.random.default_rng() if rng is None else rng
        self.params: dict[str, np.ndarray] = {}
        for layer, direction in self._cells():
            fresh = self._init_direction(rng, self._layer_input_size(layer), self.hidden_size)
            for name in kernel.param_names:
                self.params[self._name(name, layer, direction)] = fresh[name].astype(self.dtype)

    # ----- sizes and names ------------------------------------------------------------

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def output_size(self) -> int:
        return self.hidden_size * self.num_directions

    def _layer_input_size(self, layer: int) -> int:
        return self.input_size if layer == 0 else self.output_size

    def _cells(self):
        return [(lay, d) for lay in range(self.num_layers) for d in range(self.num_directions)]

    @staticmethod
    def _name(name: str, layer: int, direction: int) -> str:
        return f"{name}_l{layer}" + ("_reverse" if direction else "")

    def _weights(self, layer: int, direction: int) -> tuple[np.ndarray, ...]:
        return tuple(self.params[self._name(n, layer, direction)] for n in self.kernel.param_names)

    def _init_direction(self, rng, input_size, hidden_size):  # pragma: no cover - abstract
        raise NotImplementedError

    # ----- forward / backward ---------------------------------------------------------------

    def forward(self, x, lengths=None, state=None, rng=None):
        """x (N, T, D) -> out (N, T, H * num_directions), final state, cache.

        lengths (N,) in 1..T: steps past a sequence's length leave its state unchanged and
        output zeros, and the final state is the one at its own last step (PyTorch's packed
        sequence semantics). state: the initial state (zeros when None) in the layout of
        ``state`` returned here; h for RNN and GRU, (h, c) for LSTM, each (L * dirs, N, H).
        rng: a ``np.random.Generator`` while training, from which the recurrent dropout
        masks are drawn (nothing is drawn when ``recurrent_dropout`` is 0); None evaluates.
        """
        x = _checks.check_float_array(
            "x", x, ndim=3, dtype=self.dtype, shape=(None, None, self.input_size),
            shape_legend="(N, T, D)",
        )
        N, T, _ = x.shape
        if N == 0 or T == 0:
            raise ValueError(f"x must hold at least one sequence of at least one step, got shape {x.shape}")
        lengths = _checks.check_lengths(lengths, N, T)
        layout = PackedLayout.build(N, T, lengths)
        batch_sizes = None if layout.is_full else layout.batch_sizes
        states0 = [layout.sort_state(s) for s in self._check_state("state", state, N)]
        reversal = layout.reversal_index() if self.bidirectional else None
        masks = None
        if rng is not None and self.recurrent_dropout > 0:
            # drawn sequence-major, (N, L * dirs, H), so a sequence's masks are its own rows of the
            # draw (a data-parallel shard draws the whole batch and keeps its rows: train/parallel.py)
            shape = (N, self.num_layers * self.num_directions, self.hidden_size)
            drawn = dropout_mask(shape, self.recurrent_dropout, rng, self.dtype).transpose(1, 0, 2)
            masks = layout.sort_state(np.ascontiguousarray(drawn))

        layer_input = layout.to_time_major(x)
        finals = [np.empty_like(states0[0]) for _ in states0]
        caches = []
        for layer in range(self.num_layers):
            outputs, layer_caches = [], []
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                cell_input = layer_input if direction == 0 else layout.reverse(layer_input, reversal)
                h, state_T, cache = self.kernel.forward(
                    cell_input, tuple(s[k] for s in states0), self._weights(layer, direction),
                    batch_sizes, None if masks is None else masks[k],
                )
                outputs.append(h if direction == 0 else layout.reverse(h, reversal))
                layer_caches.append(cache)
                for final, s in zip(finals, state_T):
                    final[k] = s
            caches.append(layer_caches)
            layer_input = outputs[0] if len(outputs) == 1 else np.concatenate(outputs, axis=2)

        out = layout.to_batch_first(layer_input)
        finals = [layout.unsort_state(s) for s in finals]
        state_out = finals[0] if self.kernel.num_states == 1 else tuple(finals)
        return out, state_out, StackCache(layout, reversal, caches, x.shape, masks)

    def backward(self, dout, dstate, cache: StackCache):
        """Gradients of the loss given dout (N, T, H * dirs) and dstate on the final state
        (None = zero; same layout as the state). Returns dx (N, T, D), dstate0 (gradient on
        the initial state, same layout) and grads (a dict with the keys of ``params``)."""
        if not isinstance(cache, StackCache):
            raise ValueError(f"cache must be the cache returned by forward, got {type(cache).__name__}")
        N, T, _ = cache.input_shape
        dout = _checks.check_float_array(
            "dout", dout, ndim=3, dtype=self.dtype, shape=(N, T, self.output_size),
            shape_legend="(N, T, H * num_directions)",
        )
        layout, reversal = cache.layout, cache.reversal
        dstates = [layout.sort_state(s) for s in self._check_state("dstate", dstate, N)]
        H = self.hidden_size
        grads: dict[str, np.ndarray] = {}
        dstates0 = [np.empty_like(s) for s in dstates]
        dlayer_out = layout.to_time_major(dout)
        for layer in range(self.num_layers - 1, -1, -1):
            dlayer_in = None
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                dh = dlayer_out[:, :, direction * H : (direction + 1) * H]
                if direction == 1:
                    dh = layout.reverse(dh, reversal)
                dx, dstate0, dweights = self.kernel.backward(
                    dh, tuple(s[k] for s in dstates), cache.caches[layer][direction]
                )
                if direction == 1:
                    dx = layout.reverse(dx, reversal)
                dlayer_in = dx if dlayer_in is None else dlayer_in + dx
                for total, s in zip(dstates0, dstate0):
                    total[k] = s
                for name, g in zip(self.kernel.param_names, dweights):
                    grads[self._name(name, layer, direction)] = g
            dlayer_out = dlayer_in
        dx = layout.to_batch_first(dlayer_out)
        dstates0 = [layout.unsort_state(s) for s in dstates0]
        dstate0 = dstates0[0] if self.kernel.num_states == 1 else tuple(dstates0)
        return dx, dstate0, {name: grads[name] for name in self.params}

    def _check_state(self, name, state, N) -> list[np.ndarray]:
        """The state as a list of (L * dirs, N, H) arrays; zeros for None."""
        shape = (self.num_layers * self.num_directions, N, self.hidden_size)
        legend = "(num_layers * num_directions, N, H)"
        count = self.kernel.num_states
        if state is None:
            return [np.zeros(shape, dtype=self.dtype) for _ in range(count)]
        if count == 1:
            parts, part_names = [state], [name]
        else:
            if not isinstance(state, (tuple, list)) or len(state) != count:
                raise ValueError(f"{name} must be a tuple (h, c) of arrays {legend}, got {type(state).__name__}")
            parts, part_names = list(state), [f"{name}[0] (h)", f"{name}[1] (c)"]
        return [
            np.zeros(shape, dtype=self.dtype) if part is None else
            _checks.check_float_array(pname, part, ndim=3, dtype=self.dtype, shape=shape, shape_legend=legend)
            for part, pname in zip(parts, part_names)
        ]

    # ----- PyTorch interop ------------------------------------------------------------------

    def torch_state_dict(self) -> dict[str, np.ndarray]:
        """Our parameters named and shaped as torch.nn.RNN / nn.LSTM / nn.GRU's state_dict.

        weight_ih = W_x^T, weight_hh = W_h^T, bias_ih = b, bias_hh = 0, except that a kept
        recurrent bias (GRU's b_hn) is bias_hh's last block: torch computes exactly our sums.
        """
        sd = {}
        H = self.hidden_size
        for layer, direction in self._cells():
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            W_in, W_rec, b, *kept = self._weights(layer, direction)
            sd["weight_ih" + suffix] = W_in.T.copy()
            sd["weight_hh" + suffix] = W_rec.T.copy()
            sd["bias_ih" + suffix] = b.copy()
            bias_hh = np.zeros_like(b)
            if kept:
                bias_hh[-H:] = kept[0]
            sd["bias_hh" + suffix] = bias_hh
        return sd

    def load_torch_state_dict(self, sd) -> None:
        """Load torch.nn.RNN / nn.LSTM / nn.GRU weights (a dict of arrays); b = bias_ih +
        bias_hh, except for a kept recurrent bias (GRU's b_hn), which is bias_hh's last block
        (and that block of b is bias_ih's alone).

        Every tensor is checked (present, shape, finite) before anything is changed.
        """
        GH = self.kernel.gate_count * self.hidden_size
        expected = {}
        for layer, direction in self._cells():
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            expected["weight_ih" + suffix] = (GH, self._layer_input_size(layer))
            expected["weight_hh" + suffix] = (GH, self.hidden_size)
            expected["bias_ih" + suffix] = (GH,)
            expected["bias_hh" + suffix] = (GH,)
        missing = [k for k in expected if k not in sd]
        if missing:
            raise ValueError(f"state dict is missing {missing} (has {sorted(sd)})")
        unexpected = sorted(set(sd) - set(expected))
        if unexpected:
            raise ValueError(f"state dict has unexpected tensors {unexpected} for this layer")
        arrays = {}
        for key, shape in expected.items():
            arr = _checks.as_array(f"state dict['{key}']", sd[key])
            if arr.shape != shape:
                raise ValueError(f"state dict['{key}'] must have shape {shape}, got {arr.shape}")
            if not np.issubdtype(arr.dtype, np.floating):
                raise ValueError(f"state dict['{key}'] must be floating point, got {arr.dtype}")
            _checks.check_finite(f"state dict['{key}']", arr)
            arrays[key] = arr.astype(self.dtype)
        H = self.hidden_size
        for layer, direction in self._cells():
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            n_in, n_rec, n_b, *n_kept = (self._name(n, layer, direction) for n in self.kernel.param_names)
            self.params[n_in] = np.ascontiguousarray(arrays["weight_ih" + suffix].T)
            self.params[n_rec] = np.ascontiguousarray(arrays["weight_hh" + suffix].T)
            bias_hh = arrays["bias_hh" + suffix].copy()
            if n_kept:  # the last block's recurrent bias stays apart; the others sum into b
                self.params[n_kept[0]] = bias_hh[-H:].copy()
                bias_hh[-H:] = 0
            self.params[n_b] = arrays["bias_ih" + suffix] + bias_hh

    def __repr__(self) -> str:
        dropout = f", recurrent_dropout={self.recurrent_dropout:g}" if self.recurrent_dropout else ""
        return (
            f"{type(self).__name__}(input_size={self.input_size}, hidden_size={self.hidden_size}, "
            f"num_layers={self.num_layers}, bidirectional={self.bidirectional}{dropout}, dtype={self.dtype})"
        )
