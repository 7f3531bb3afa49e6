"""Many-to-one: a sequence in, one label out.

    x     = E[ids]            (N, T, E) word or character embeddings   (or numeric features (N, T, D))
    out, state = RNN(dropout(x), lengths)
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

import numpy as np

from rnnlab.layers.dropout import dropout_backward, dropout_forward
from rnnlab.layers.embedding import Embedding
from rnnlab.layers.linear import Linear
from rnnlab.layers.pooling import pool_backward, pool_forward
from rnnlab.losses import softmax_cross_entropy
from rnnlab.models.parts import (
    final_hidden,
    final_hidden_backward,
    flat_params,
    linear_parameter_count,
    make_recurrent,
    prefixed,
    recurrent_parameter_count,
)


class SequenceClassifier:
    """Embedding (for token ids) or raw features -> RNN/LSTM -> final state -> softmax."""

    def __init__(self, *, num_classes: int, cell: str, hidden: int, layers: int, bidirectional: bool,
                 dropout: float, rng: np.random.Generator, vocab_size: int | None = None,
                 embed: int = 0, input_size: int | None = None, pool: str = "last", dtype=np.float32):
        if pool not in ("last", "mean", "max"):
            raise ValueError(f"pool must be 'last', 'mean' or 'max', got {pool!r}")
        self.dropout, self.pool = dropout, pool
        self.embed = Embedding(vocab_size, embed, padding_idx=0, rng=rng, dtype=dtype) if vocab_size else None
        width = embed if self.embed else input_size
        self.rnn = make_recurrent(cell, width, hidden, layers, bidirectional, rng, dtype)
        self.head = Linear(self.rnn.output_size, num_classes, rng=rng, dtype=dtype)
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

    def _forward(self, inputs, lengths, rng):
        if self.embed:
            x, embed_cache = self.embed.forward(inputs)
        else:
            x, embed_cache = inputs, None
        x, mask_in = dropout_forward(x, self.dropout, rng)
        out, state, rnn_cache = self.rnn.forward(x, lengths=lengths)
        if self.pool == "last":
            z, pool_cache = final_hidden(self.rnn, state), None
        else:
            z, pool_cache = pool_forward(out, lengths, self.pool)
        z, mask_out = dropout_forward(z, self.dropout, rng)
        logits, head_cache = self.head.forward(z)
        return logits, (embed_cache, mask_in, out.shape, state, rnn_cache, pool_cache, mask_out, head_cache)

    def loss_and_grads(self, batch, rng, carry=None):
        inputs, lengths, labels = batch
        logits, (embed_cache, mask_in, out_shape, state, rnn_cache, pool_cache, mask_out, head_cache) = \
            self._forward(inputs, lengths, rng)
        loss, dlogits = softmax_cross_entropy(logits, labels)
        dz, grads = self.head.backward(dlogits, head_cache)
        grads = prefixed("head", grads)
        dz = dropout_backward(dz, mask_out)
        if self.pool == "last":
            dout, dstate = np.zeros(out_shape, dtype=dz.dtype), final_hidden_backward(self.rnn, state, dz)
        else:
            dout, dstate = pool_backward(dz, pool_cache), None
        dx, _, rnn_grads = self.rnn.backward(dout, dstate, rnn_cache)
        grads.update(prefixed("rnn", rnn_grads))
        if self.embed:
            grads.update(prefixed("embed", self.embed.backward(dropout_backward(dx, mask_in), embed_cache)))
        return loss, grads, None

    def logits(self, inputs, lengths) -> np.ndarray:
        return self._forward(inputs, lengths, None)[0]
