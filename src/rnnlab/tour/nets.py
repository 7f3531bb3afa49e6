r"""The small models of the tour that are not the library's: a perceptron, and the aligned
tagger that emits one output per input. The recurrent reader the sections compare with
them is the library's many-to-one classifier around a given layer,
``rnnlab.models.classifier.SequenceClassifier.reading(layer, C, rng)``.

MLP, a fixed-size vector in (a bag of words, a window of numbers)::

    u = tanh(x W_1 + b_1)           x (N, D), u (N, M)
    z = u W_2 + b_2                 z (N, C)  logits, or (N, 1) a number
    loss = cross-entropy(softmax(z), y)     or     mean (z - y)^2

AlignedTagger, one output per input (the many-to-many RNN before Seq2Seq)::

    x = E[ids]                      ids (N, T), x (N, T, E)
    out, _ = LSTM(x)                out (N, T, H)
    z_t = out_t W + b               z (N, T, C), a prediction at every input step
    loss = mean over counted steps of cross-entropy(softmax(z_t), y_t)

Backward runs each chain in reverse; the tagger's loss reaches the recurrent layer through
every output.
"""

from __future__ import annotations

import numpy as np

from rnnlab.layers.embedding import Embedding
from rnnlab.layers.linear import Linear
from rnnlab.layers.lstm import LSTM
from rnnlab.losses import mse, softmax_cross_entropy
from rnnlab.models.parts import flat_params, prefixed


class MLP:
    """One tanh hidden layer; ``objective`` "softmax" (integer classes) or "mse" (numbers)."""

    def __init__(self, in_features: int, hidden: int, out_features: int, objective: str,
                 rng: np.random.Generator, dtype=np.float32):
        if objective not in ("softmax", "mse"):
            raise ValueError(f"objective must be 'softmax' or 'mse', got {objective!r}")
        self.objective = objective
        self.layer1 = Linear(in_features, hidden, rng=rng, dtype=dtype)
        self.layer2 = Linear(hidden, out_features, rng=rng, dtype=dtype)
        self.params = flat_params(layer1=self.layer1, layer2=self.layer2)

    def forward(self, x: np.ndarray):
        """x (N, D) -> z (N, C), cache."""
        a, cache1 = self.layer1.forward(x)
        u = np.tanh(a)
        z, cache2 = self.layer2.forward(u)
        return z, (cache1, u, cache2)

    def loss_and_grads(self, batch, rng=None, carry=None):
        """batch = (x (N, D), y (N,)). Returns (loss, grads, None)."""
        x, y = batch
        z, (cache1, u, cache2) = self.forward(x)
        if self.objective == "softmax":
            loss, dz = softmax_cross_entropy(z, y)
        else:
            loss, dz_flat = mse(z[:, 0], y)
            dz = dz_flat[:, None]
        du, grads2 = self.layer2.backward(dz, cache2)  # back through z = u W_2 + b_2
        da = du * (1 - u * u)  # back through u = tanh(a)
        _, grads1 = self.layer1.backward(da, cache1)  # back through a = x W_1 + b_1
        return loss, {**prefixed("layer1", grads1), **prefixed("layer2", grads2)}, None


class AlignedTagger:
    """Embedding -> LSTM -> a softmax at every input step: output t is read at input t."""

    def __init__(self, vocab_size: int, embed: int, hidden: int, num_classes: int,
                 rng: np.random.Generator, dtype=np.float32):
        self.embed = Embedding(vocab_size, embed, padding_idx=0, rng=rng, dtype=dtype)
        self.rnn = LSTM(embed, hidden, rng=rng, dtype=dtype)
        self.head = Linear(hidden, num_classes, rng=rng, dtype=dtype)
        self.params = flat_params(embed=self.embed, rnn=self.rnn, head=self.head)

    def forward(self, ids: np.ndarray, lengths: np.ndarray | None = None):
        """ids (N, T) -> logits (N, T, C), cache."""
        x, embed_cache = self.embed.forward(ids)
        out, _, rnn_cache = self.rnn.forward(x, lengths=lengths)
        z, head_cache = self.head.forward(out)
        return z, (embed_cache, rnn_cache, head_cache)

    def loss_and_grads(self, batch, rng=None, carry=None):
        """batch = (ids (N, T), lengths (N,), y (N, T), mask (N, T) True = counted)."""
        ids, lengths, y, mask = batch
        z, (embed_cache, rnn_cache, head_cache) = self.forward(ids, lengths)
        loss, dz = softmax_cross_entropy(z, y, mask=mask)
        dout, head_grads = self.head.backward(dz, head_cache)  # back through z_t = out_t W + b
        dx, _, rnn_grads = self.rnn.backward(dout, None, rnn_cache)  # BPTT from every output
        embed_grads = self.embed.backward(dx, embed_cache)
        grads = {**prefixed("embed", embed_grads), **prefixed("rnn", rnn_grads), **prefixed("head", head_grads)}
        return loss, grads, None
