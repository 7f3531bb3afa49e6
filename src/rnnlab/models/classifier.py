"""Many-to-one: a sequence in, one label out.

    x     = E[ids]            (N, T, E) word or character embeddings   (or numeric features (N, T, D))
    out, state = RNN(dropout(x), lengths)                              (recurrent dropout inside)
    z     = [h_T(forward), h_1(reverse)] of the last layer             (N, H * dirs)
            (pool="last", the lecture's many-to-one; or the mean or max of out over each
            sequence's own steps, pool="mean" / "max")
    logits = dropout(z) W + b                                          (N, C)
    loss  = cross-entropy(softmax(logits), y)

Backward runs the same chain in reverse: with pool="last" the loss reaches the RNN only
through its final state, so ``dout`` is zero and ``dstate`` carries the gradient; with
pooling it arrives through ``dout`` and ``dstate`` is None.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnlab.layers.dropout import dropout_backward, dropout_forward
from rnnlab.layers.embedding import Embedding
from rnnlab.layers.linear import Linear
from rnnlab.layers.pooling import pool_backward, pool_forward
from rnnlab.losses import softmax_cross_entropy
from rnnlab.models.parts import (
    LayerTrace,
    Trace,
    backward_from_final_hidden,
    final_hidden,
    flat_params,
    linear_parameter_count,
    make_recurrent,
    prefixed,
    recurrent_parameter_count,
)


@dataclass(frozen=True)
class SequenceBatch:
    """One minibatch: inputs (N, T) token ids (0 = padding) or (N, T, D) features, zero past
    each sequence's end; lengths (N,) in 1..T, or None when every sequence has all T steps;
    labels (N,) class ids (anything when unlabelled)."""

    inputs: np.ndarray
    lengths: np.ndarray | None
    labels: np.ndarray

    def __len__(self) -> int:
        """The batch's rows (examples)."""
        return len(self.labels)

    def rows(self, lo: int, hi: int) -> SequenceBatch:
        """Sequences lo..hi-1, padding kept (data-parallel shards; ``train/parallel.py``)."""
        return SequenceBatch(self.inputs[lo:hi], None if self.lengths is None else self.lengths[lo:hi],
                             self.labels[lo:hi])

    def loss_terms(self) -> int:
        """How many terms the loss averages over: one per sequence."""
        return len(self.labels)


@dataclass
class ClassifierCache:
    """What backward needs from forward, in the order forward made it."""

    embed: object | None  # EmbeddingCache of x = E[ids], None for features
    mask_in: np.ndarray | None  # dropout mask on x
    out_shape: tuple  # (N, T, H * dirs): the RNN's outputs (pool="last" gives them zero gradient)
    state: object  # the RNN's final state, read by pool="last"
    rnn: object  # StackCache
    pool: object | None  # PoolCache of pool="mean"/"max"
    mask_out: np.ndarray | None  # dropout mask on z
    head: object  # LinearCache of logits = z W + b


class SequenceClassifier:
    """Embedding (for token ids) or raw features -> RNN/LSTM/GRU -> final state -> softmax."""

    def __init__(self, *, num_classes: int, cell: str, hidden: int, layers: int, bidirectional: bool,
                 dropout: float, rng: np.random.Generator, vocab_size: int | None = None,
                 embed: int = 0, input_size: int | None = None, pool: str = "last",
                 recurrent_dropout: float = 0.0, dtype=np.float32):
        if pool not in ("last", "mean", "max"):
            raise ValueError(f"pool must be 'last', 'mean' or 'max', got {pool!r}")
        embedding = Embedding(vocab_size, embed, padding_idx=0, rng=rng, dtype=dtype) if vocab_size else None
        width = embed if embedding else input_size
        recurrent = make_recurrent(cell, width, hidden, layers, bidirectional, rng, dtype, recurrent_dropout)
        self._assemble(embedding, recurrent, num_classes, dropout, pool, rng)

    @classmethod
    def reading(cls, layer, num_classes: int, rng: np.random.Generator) -> SequenceClassifier:
        """The lecture's many-to-one around a recurrent layer built elsewhere (a ReLU or
        sigmoid RNN, an LSTM with a chrono bias): features in, the final state read, no
        dropout. The tour and the demo use it."""
        model = cls.__new__(cls)
        model._assemble(None, layer, num_classes, 0.0, "last", rng)
        return model

    def _assemble(self, embedding, rnn, num_classes: int, dropout: float, pool: str, rng) -> None:
        self.dropout, self.pool, self.embed, self.rnn = dropout, pool, embedding, rnn
        self.head = Linear(rnn.output_size, num_classes, rng=rng, dtype=rnn.dtype)
        parts = {"rnn": self.rnn, "head": self.head}
        if self.embed:
            parts = {"embed": self.embed, **parts}
        self.params = flat_params(**parts)

    @staticmethod
    def parameter_count(*, num_classes, cell, hidden, layers, bidirectional, vocab_size=None, embed=0,
                        input_size=None, **_) -> int:
        """The number of weights ``__init__`` allocates with these options (nothing allocated)."""
        width = embed if vocab_size else input_size
        dirs = 2 if bidirectional else 1
        return ((vocab_size * embed if vocab_size else 0)
                + recurrent_parameter_count(cell, width, hidden, layers, bidirectional)
                + linear_parameter_count(hidden * dirs, num_classes))

    def _forward(self, inputs, lengths, rng) -> tuple[np.ndarray, ClassifierCache]:
        if self.embed:
            x, embed_cache = self.embed.forward(inputs)
        else:
            x, embed_cache = inputs, None
        x, mask_in = dropout_forward(x, self.dropout, rng)
        out, state, rnn_cache = self.rnn.forward(x, lengths=lengths, rng=rng)
        if self.pool == "last":
            z, pool_cache = final_hidden(self.rnn, state), None
        else:
            z, pool_cache = pool_forward(out, lengths, self.pool)
        z, mask_out = dropout_forward(z, self.dropout, rng)
        logits, head_cache = self.head.forward(z)
        return logits, ClassifierCache(embed_cache, mask_in, out.shape, state, rnn_cache, pool_cache, mask_out,
                                       head_cache)

    def loss_and_grads(self, batch: SequenceBatch, rng, carry=None):
        logits, cache = self._forward(batch.inputs, batch.lengths, rng)
        loss, dlogits = softmax_cross_entropy(logits, batch.labels)
        dz, grads = self.head.backward(dlogits, cache.head)  # back through logits = z W + b
        grads = prefixed("head", grads)
        dz = dropout_backward(dz, cache.mask_out)
        if self.pool == "last":  # the loss reached the RNN only through its final state
            dx, _, rnn_grads = backward_from_final_hidden(self.rnn, cache.out_shape, cache.state, cache.rnn, dz)
        else:
            dx, _, rnn_grads = self.rnn.backward(pool_backward(dz, cache.pool), None, cache.rnn)
        grads.update(prefixed("rnn", rnn_grads))
        if self.embed:
            grads.update(prefixed("embed", self.embed.backward(dropout_backward(dx, cache.mask_in), cache.embed)))
        return loss, grads, None

    def logits(self, inputs, lengths=None) -> np.ndarray:
        """(N, C) class scores, no dropout."""
        return self._forward(inputs, lengths, None)[0]

    def accuracy(self, inputs, labels, lengths=None) -> float:
        """The share of sequences whose highest score is their label."""
        return float((self.logits(inputs, lengths).argmax(axis=1) == labels).mean())

    def trace(self, batch: SequenceBatch) -> Trace:
        """The recurrent layer's run over the batch, without dropout."""
        _, cache = self._forward(batch.inputs, batch.lengths, None)
        return Trace({"rnn": LayerTrace(self.rnn, cache.rnn)})
