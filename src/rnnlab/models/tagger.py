r"""Many-to-many: a tag for every word of a sentence (part-of-speech tagging).

Each word is seen twice: as an entry of the word vocabulary, and as a string of characters.
The character view is what lets a word never seen in training still get a good tag
("blorfing" ends in -ing, "Zyx" is capitalised). It is computed once per *distinct* word
form of the batch (U of them, far fewer than the N*T positions), then looked up::

    characters -> one vector per distinct form (U forms, L characters each, padded)
    c     = C[chars]                                  (U, L, Cc)  character embeddings
    _, s  = charRNN(c, char_lengths)                  bidirectional, one layer
    w     = [h_L(forward), h_1(reverse)]              (U, 2Hc)    final states, concatenated
    positions read their form's vector
    f     = w[form_index]                             (N, T, 2Hc)
    words
    ids'  = ids, each real word replaced by <unk> with probability p_word[ids] (training only)
    e     = E[ids']                                   (N, T, E)
    sentence
    x     = dropout([e, f])                           (N, T, E + 2Hc)
    h, _  = RNN(x, lengths)                           (N, T, H * dirs)
    z     = dropout(h) W + b                          (N, T, K)   K tags
    loss  = mean over real positions (t < length) of cross-entropy(softmax(z), y)

Backward runs the same chain in reverse; two places fan in and sum: ``f = w[form_index]``
(every position of a form adds into that form's row, as an embedding table's gradient
does) and ``x = [e, f]`` splits its gradient back into the two halves. Padded positions
get no gradient: the loss does not count them and the packed RNN never reads them.

Shapes: N sentences, T words (padded), U distinct forms, L characters (padded), E word
embedding, Cc character embedding, Hc character hidden, H hidden, K tags.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnlab.layers.dropout import dropout_backward, dropout_forward
from rnnlab.layers.embedding import Embedding, embedding_backward, embedding_forward
from rnnlab.layers.linear import Linear
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
class TagBatch:
    """One minibatch, all integer arrays; padding is 0 in every id array.

    words (N, T) word ids; lengths (N,); tags (N, T) tag ids (anything when unlabelled);
    form_index (N, T) row of ``chars`` holding each position's form (0 at padding);
    chars (U, L) character ids of the batch's distinct forms; char_lengths (U,).
    """

    words: np.ndarray
    lengths: np.ndarray
    tags: np.ndarray
    form_index: np.ndarray
    chars: np.ndarray
    char_lengths: np.ndarray

    def __len__(self) -> int:
        """The batch's rows (examples)."""
        return len(self.words)

    def rows(self, lo: int, hi: int) -> TagBatch:
        """Sentences lo..hi-1 and only the forms they use (data-parallel shards;
        ``train/parallel.py``); padding kept."""
        lengths, form_index = self.lengths[lo:hi], self.form_index[lo:hi]
        real = real_positions(lengths, form_index.shape[1])
        used, inverse = np.unique(form_index[real], return_inverse=True)
        shard_index = np.zeros_like(form_index)
        shard_index[real] = inverse
        return TagBatch(self.words[lo:hi], lengths, self.tags[lo:hi], shard_index, self.chars[used],
                        self.char_lengths[used])

    def loss_terms(self) -> int:
        """How many terms the loss averages over: the real words."""
        return int(self.lengths.sum())


@dataclass
class TaggerCache:
    """What backward needs from forward, in the order forward made it."""

    char_embed: object  # EmbeddingCache of c = C[chars]
    char_out_shape: tuple  # (U, L, 2Hc): the character RNN's outputs, which only backward's zeros need
    char_state: object  # its final state, from which w was read
    char_rnn: object  # StackCache of the character RNN
    gather: object  # EmbeddingCache of f = w[form_index]
    word_embed: object  # EmbeddingCache of e = E[ids']
    word_width: int  # E, the width of e inside x = [e, f]
    mask_in: np.ndarray | None  # dropout masks on x and h
    rnn: object  # StackCache of the sentence RNN
    mask_out: np.ndarray | None
    head: object  # LinearCache of z = h W + b


def word_dropout(ids: np.ndarray, p, unk_id: int, rng: np.random.Generator | None) -> np.ndarray:
    """ids (N, T) -> ids with each non-padding id replaced by ``unk_id`` with probability p,
    a number or an array shaped like ids (e.g. a per-word table looked up at ids).

    So the <unk> embedding is trained on real contexts and the tagger learns to lean on the
    character features, as it must for words unseen in training. Identity when ``rng`` is
    None (evaluation)."""
    if rng is None:
        return ids
    drop = (rng.random(ids.shape) < p) & (ids != 0)
    return np.where(drop, unk_id, ids)


def real_positions(lengths: np.ndarray, T: int) -> np.ndarray:
    """(N, T) boolean: True at t < lengths[n], the positions that are real words."""
    return np.arange(T)[None, :] < lengths[:, None]


class Tagger:
    """Word embedding + character BiRNN features -> (bi)RNN over the sentence -> softmax per word."""

    def __init__(self, *, vocab_size: int, num_chars: int, num_tags: int, embed: int, char_embed: int,
                 char_hidden: int, cell: str, hidden: int, layers: int, bidirectional: bool,
                 dropout: float, rng: np.random.Generator, word_dropout: float | np.ndarray = 0.0,
                 unk_id: int = 1, recurrent_dropout: float = 0.0, dtype=np.float32):
        """``word_dropout``: one probability for every word, or a table (V,) of one per word id."""
        self.dropout = dropout
        self.p_word = word_dropout
        self.unk_id = unk_id
        self.word_embed = Embedding(vocab_size, embed, padding_idx=0, rng=rng, dtype=dtype)
        self.char_embed = Embedding(num_chars, char_embed, padding_idx=0, rng=rng, dtype=dtype)
        # the character RNN reads each distinct form of the batch once, so it has no dropout of
        # its own (a mask per form would be shared by every sentence that uses the word)
        self.char_rnn = make_recurrent(cell, char_embed, char_hidden, 1, True, rng, dtype)
        self.rnn = make_recurrent(cell, embed + self.char_rnn.output_size, hidden, layers, bidirectional,
                                  rng, dtype, recurrent_dropout)
        self.head = Linear(self.rnn.output_size, num_tags, rng=rng, dtype=dtype)
        self.params = flat_params(word_embed=self.word_embed, char_embed=self.char_embed,
                                  char_rnn=self.char_rnn, rnn=self.rnn, head=self.head)

    @staticmethod
    def parameter_count(*, vocab_size, num_chars, num_tags, embed, char_embed, char_hidden, cell, hidden,
                        layers, bidirectional, **_) -> int:
        """The number of weights ``__init__`` allocates with these options (nothing allocated)."""
        dirs = 2 if bidirectional else 1
        return (vocab_size * embed + num_chars * char_embed
                + recurrent_parameter_count(cell, char_embed, char_hidden, 1, True)
                + recurrent_parameter_count(cell, embed + 2 * char_hidden, hidden, layers, bidirectional)
                + linear_parameter_count(hidden * dirs, num_tags))

    def _forward(self, batch: TagBatch, rng):
        # characters -> one vector per distinct form of the batch
        c, char_embed_cache = self.char_embed.forward(batch.chars)  # (U, L, Cc)
        char_out, char_state, char_rnn_cache = self.char_rnn.forward(c, lengths=batch.char_lengths, rng=rng)
        w = final_hidden(self.char_rnn, char_state)  # (U, 2Hc)
        # every position reads its form's vector: a lookup in a table of U rows
        f, gather_cache = embedding_forward(batch.form_index, w)  # (N, T, 2Hc)
        # words
        p_word = self.p_word if np.ndim(self.p_word) == 0 else self.p_word[batch.words]
        ids = word_dropout(batch.words, p_word, self.unk_id, rng)
        e, word_embed_cache = self.word_embed.forward(ids)  # (N, T, E)
        # sentence
        x, mask_in = dropout_forward(np.concatenate([e, f], axis=2), self.dropout, rng)
        h, _, rnn_cache = self.rnn.forward(x, lengths=batch.lengths, rng=rng)  # (N, T, H * dirs)
        h, mask_out = dropout_forward(h, self.dropout, rng)
        logits, head_cache = self.head.forward(h)  # (N, T, K)
        return logits, TaggerCache(char_embed_cache, char_out.shape, char_state, char_rnn_cache, gather_cache,
                                   word_embed_cache, e.shape[2], mask_in, rnn_cache, mask_out, head_cache)

    def loss_and_grads(self, batch: TagBatch, rng: np.random.Generator | None = None, carry=None):
        """Mean cross-entropy over the batch's real words and its gradient for every parameter."""
        logits, cache = self._forward(batch, rng)
        counted = real_positions(batch.lengths, logits.shape[1])
        loss, dlogits = softmax_cross_entropy(logits, batch.tags, mask=counted)
        # sentence, in reverse
        dh, grads = self.head.backward(dlogits, cache.head)  # back through z = h W + b
        grads = prefixed("head", grads)
        dh = dropout_backward(dh, cache.mask_out)
        dx, _, rnn_grads = self.rnn.backward(dh, None, cache.rnn)  # BPTT over the sentence
        grads.update(prefixed("rnn", rnn_grads))
        dx = dropout_backward(dx, cache.mask_in)
        de, df = dx[:, :, : cache.word_width], dx[:, :, cache.word_width :]  # back through x = [e, f]
        # words
        grads.update(prefixed("word_embed", self.word_embed.backward(de, cache.word_embed)))
        # positions -> forms: each form's row sums the gradients of all its positions
        dw = embedding_backward(np.ascontiguousarray(df), cache.gather)  # (U, 2Hc)
        # forms -> characters
        dc, _, char_rnn_grads = backward_from_final_hidden(  # only the final states were read
            self.char_rnn, cache.char_out_shape, cache.char_state, cache.char_rnn, dw)
        grads.update(prefixed("char_rnn", char_rnn_grads))
        grads.update(prefixed("char_embed", self.char_embed.backward(dc, cache.char_embed)))
        return loss, grads, None

    def logits(self, batch: TagBatch) -> np.ndarray:
        """(N, T, K) tag scores, no dropout; rows past a sentence's length are meaningless."""
        return self._forward(batch, None)[0]

    def trace(self, batch: TagBatch) -> Trace:
        """Both recurrent layers' runs, without dropout: ``char_rnn`` over the batch's distinct
        forms, ``rnn`` over the sentences."""
        _, cache = self._forward(batch, None)
        return Trace({"char_rnn": LayerTrace(self.char_rnn, cache.char_rnn), "rnn": LayerTrace(self.rnn, cache.rnn)})
