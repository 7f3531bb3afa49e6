r"""Character language model: predict every next character, carrying the state across batches.

Forward, for ids x (N, T) and targets y (N, T) (y[:, t] = the character after x[:, t])::

    e       = E[x]                                  (N, T, Em)  character embeddings
    u       = dropout(e)
    h, s_T  = RNN(u, state=s_0)                     (N, T, H);  s = (h, c) for the LSTM, h for the
                                                    RNN and GRU, each (L, N, H); recurrent dropout
                                                    masks drawn from the training rng
    z       = dropout(h)
    logits  = z W + b                               (N, T, V)
    loss    = -(1/(N T)) sum_{n,t} log softmax(logits[n, t])[y[n, t]]      nats per character

Truncated BPTT: s_0 is the carry, the final state s_T of the previous batch (zeros at the
start of an epoch), and the new carry is s_T. The carry is a constant to this batch: no
gradient flows back into the batch that produced it, so each batch is an ordinary T-step
BPTT whose recurrence merely starts from a remembered state.

State reset (training only): each stream's carry is zeroed with probability ``state_reset``,

    s_0[:, n] = keep_n * carry[:, n],     keep_n ~ Bernoulli(1 - state_reset), one draw per stream

Evaluation, line scoring and sampling all start from the zero state; a model trained only on
carried states (zeros once per epoch) has hardly seen it and reads its first characters
badly. The reset makes the zero state a start it knows.

Backward runs the chain in reverse::

    dlogits = (softmax(logits) - onehot(y)) / (N T)             back through the mean cross-entropy
    dz, dW, db = head.backward(dlogits)                         back through z W + b
    dh      = dropout_backward(dz)
    du, _, dRNN = rnn.backward(dh, dstate_T = 0)                BPTT inside the batch; ds_0 dropped
    de      = dropout_backward(du)
    dE      = embed.backward(de)                                rows of E gather their positions' de

Shapes: N batch (parallel streams), T time (seq_len), Em embedding size, H hidden, L layers,
V vocabulary (distinct characters).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnlab.layers.dropout import dropout_backward, dropout_forward
from rnnlab.layers.embedding import Embedding
from rnnlab.layers.linear import Linear
from rnnlab.losses import softmax_cross_entropy
from rnnlab.models.parts import (
    LayerTrace,
    Trace,
    flat_params,
    layer_state,
    linear_parameter_count,
    make_recurrent,
    prefixed,
    recurrent_parameter_count,
    state_parts,
)


@dataclass(frozen=True)
class StreamBatch:
    """One batch of the streams: x (N, T) character ids, y (N, T) the characters one step
    later (None when only the model's run is wanted)."""

    x: np.ndarray
    y: np.ndarray | None

    def __len__(self) -> int:
        """The batch's rows (examples)."""
        return len(self.x)

    def rows(self, lo: int, hi: int) -> StreamBatch:
        """Streams lo..hi-1 (data-parallel shards; ``train/parallel.py``)."""
        return StreamBatch(self.x[lo:hi], None if self.y is None else self.y[lo:hi])

    def loss_terms(self) -> int:
        """How many terms the loss averages over: every character of every stream."""
        return int(self.x.size)


class CharLM:
    """Embedding -> stacked LSTM (or tanh RNN, GRU) -> linear -> softmax over the next character.

    ``loss_and_grads(batch, rng, carry)`` trains on one batch (x, y), both (N, T) int; ``carry``
    is None or {"h": (L, N, H)[, "c": (L, N, H)]} and the returned carry has that form.
    ``logits(x, state)`` is the deterministic forward used to evaluate and to sample.

    Parameter names: ``embed.E`` (V, Em), ``rnn.W_x_l{k}``/``rnn.W_h_l{k}``/``rnn.b_l{k}``
    (LSTM, GRU, which also has ``rnn.b_hn_l{k}``; ``W_xh``, ``W_hh`` for the RNN), ``head.W``
    (H, V), ``head.b`` (V,).
    """

    def __init__(self, *, vocab_size: int, embed: int, cell: str, hidden: int, layers: int,
                 dropout: float, rng: np.random.Generator, state_reset: float = 0.0,
                 recurrent_dropout: float = 0.0, dtype=np.float32):
        if not 0.0 <= state_reset <= 1.0:
            raise ValueError(f"state_reset must lie in [0, 1], got {state_reset}")
        self.cell = cell
        self.dropout = dropout
        self.state_reset = state_reset
        self.embed = Embedding(vocab_size, embed, rng=rng, dtype=dtype)
        self.rnn = make_recurrent(cell, embed, hidden, layers, False, rng, dtype=dtype,
                                  recurrent_dropout=recurrent_dropout)
        self.head = Linear(hidden, vocab_size, rng=rng, dtype=dtype)
        self.params = flat_params(embed=self.embed, rnn=self.rnn, head=self.head)

    @staticmethod
    def parameter_count(*, vocab_size, embed, cell, hidden, layers, **_) -> int:
        """The number of weights ``__init__`` allocates with these options (nothing allocated)."""
        return (vocab_size * embed + recurrent_parameter_count(cell, embed, hidden, layers, False)
                + linear_parameter_count(hidden, vocab_size))

    def carry_shapes(self, batch_size: int) -> dict[str, tuple[int, ...]]:
        """The shapes of the state carried from one training batch to the next."""
        shape = (self.rnn.num_layers, batch_size, self.rnn.hidden_size)
        return {name: shape for name in self._state_names()}

    # ----- the carried state: the layer's h or (h, c) <-> a dict of named arrays ------------

    def _state_names(self) -> tuple[str, ...]:
        return ("h", "c")[: self.rnn.kernel.num_states]

    def _state(self, carry: dict | None):
        if carry is None:
            return None
        return layer_state(carry[name] for name in self._state_names())

    def _carry(self, state) -> dict[str, np.ndarray]:
        return dict(zip(self._state_names(), state_parts(state), strict=True))

    # ----- forward / backward --------------------------------------------------------------

    def loss_and_grads(self, batch, rng, carry=None):
        """Mean cross-entropy (nats/char) of one batch, its gradients and the next carry.

        ``rng`` draws the dropout masks (recurrent ones too) and the state resets; None (or
        p = 0) draws nothing."""
        x, y = batch.x, batch.y
        carry = reset_streams(carry, self.state_reset, rng)
        e, embed_cache = self.embed.forward(x)  # (N, T, Em)
        u, mask_in = dropout_forward(e, self.dropout, rng)
        h, state_T, rnn_cache = self.rnn.forward(u, state=self._state(carry), rng=rng)  # (N, T, H)
        z, mask_out = dropout_forward(h, self.dropout, rng)
        logits, head_cache = self.head.forward(z)  # (N, T, V)
        loss, dlogits = softmax_cross_entropy(logits, y)

        dz, head_grads = self.head.backward(dlogits, head_cache)  # back through z W + b
        dh = dropout_backward(dz, mask_out)
        du, _, rnn_grads = self.rnn.backward(dh, None, rnn_cache)  # BPTT; nothing flows into the carry
        de = dropout_backward(du, mask_in)
        embed_grads = self.embed.backward(de, embed_cache)
        grads = {**prefixed("embed", embed_grads), **prefixed("rnn", rnn_grads), **prefixed("head", head_grads)}
        return loss, grads, self._carry(state_T)

    def logits(self, x: np.ndarray, carry: dict | None = None,
               lengths: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """No dropout, no gradient: ids x (N, T) -> logits (N, T, V) and the carry after x
        (after each row's own length when ``lengths`` (N,) is given for a padded batch)."""
        e, _ = self.embed.forward(x)
        h, state_T, _ = self.rnn.forward(e, lengths=lengths, state=self._state(carry))
        logits, _ = self.head.forward(h)
        return logits, self._carry(state_T)

    def trace(self, batch: StreamBatch) -> Trace:
        """The recurrent layer's run over x from the zero state, without dropout."""
        e, _ = self.embed.forward(batch.x)
        _, _, cache = self.rnn.forward(e)
        return Trace({"rnn": LayerTrace(self.rnn, cache)})


def reset_streams(carry: dict | None, p: float, rng: np.random.Generator | None) -> dict | None:
    """Zero each stream's state (row n of every (L, N, H) array) with probability p."""
    if carry is None or rng is None or p == 0.0:
        return carry
    N = next(iter(carry.values())).shape[1]
    keep = rng.random(N) >= p  # (N,) one draw per stream
    return {k: v * keep[None, :, None].astype(v.dtype) for k, v in carry.items()}
