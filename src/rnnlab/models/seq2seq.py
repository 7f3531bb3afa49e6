r"""Sequence to sequence: an encoder LSTM reads the source, a decoder LSTM writes the target.

(Any cell of ``models/parts.py`` works, ``cell="lstm"`` by default: with a GRU or tanh RNN
the state is h alone instead of (h, c), and the bridge joins just h.)

A single LSTM emits one output per input, so "나는 학생이다" (2 words) cannot become "I am a
student" (4). The lecture's answer: one LSTM *encodes* the source into its final state,
a second one, started from that state, *decodes* the target word by word. Luong attention
(``layers/attention.py``) then lets every decoder step also look at all encoder outputs,
so the decoder is not limited to one fixed-size summary.

Training with teacher forcing: the decoder reads the reference target shifted right
(``<bos> y_1 .. y_m``) and predicts it shifted left (``y_1 .. y_m <eos>``); with no input
feeding, its LSTM runs over the whole target in one call::

    encoder
    x      = dropout(E_src[src])                        (N, T, E)
    h_enc, (h_T, c_T) = LSTM_enc(x, src_lengths)        (N, T, H), each (L * dirs, N, H / dirs)
    bridge
    (h_0, c_0) = join(h_T), join(c_T)                   (L, N, H)   join: per layer, the
                 forward and reverse final states side by side (the identity when
                 unidirectional; a bidirectional encoder uses H / 2 per direction, so its
                 outputs and joined states are H wide as the decoder's: no parameters);
                 applied to each part of the state, h alone for a GRU or RNN
    decoder
    y      = dropout(E_tgt[tgt_in])                     (N, S, E)
    h_dec, _ = LSTM_dec(y, tgt_lengths, (h_0, c_0))     (N, S, H)   the lecture's design:
                                                                    starts from the encoder
    z      = attention(h_dec, h_enc, src_lengths)       (N, S, H)   h_att (Luong: dot / general)
           | h_dec                                                  (attention "none")
    logits = dropout(z)[real] W + b                     (M, V)      only at the M real target
                 positions (tgt_out != <pad>): padding is never scored, so never computed
    loss   = mean over the M positions of cross-entropy(softmax(logits), tgt_out[real])

Backward runs the same chain in reverse: head -> scattered back to (N, S, H), zero at padding
-> attention (which splits the gradient into dh_dec and dh_enc) -> decoder BPTT, whose
gradient on its *initial* state goes back through the bridge onto the encoder's final state
-> encoder BPTT (with dh_enc on its outputs) -> both embeddings. Without attention the
encoder is reached only through that state.

Decoding (``models/decoding.py``) steps the decoder one token at a time with ``step``:
the same layers, state in, state out.

Shapes: N batch, T source steps, S target steps, E embedding, H hidden, L layers,
V target vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from rnnlab.layers.attention import LuongAttention
from rnnlab.layers.dropout import dropout_backward, dropout_forward
from rnnlab.layers.embedding import Embedding
from rnnlab.layers.linear import Linear
from rnnlab.losses import log_softmax, softmax_cross_entropy
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

ATTENTION = ("none", "dot", "general")


@dataclass(frozen=True)
class Seq2SeqBatch:
    """One minibatch of integer arrays, padded with 0 (``<pad>``).

    src (N, T) source ids; src_lengths (N,); tgt_in (N, S) ``<bos> y_1 .. y_m``;
    tgt_out (N, S) ``y_1 .. y_m <eos>`` (None when only the model's run is wanted);
    tgt_lengths (N,) = m + 1.
    """

    src: np.ndarray
    src_lengths: np.ndarray
    tgt_in: np.ndarray
    tgt_out: np.ndarray | None
    tgt_lengths: np.ndarray

    def __len__(self) -> int:
        """The batch's rows (examples)."""
        return len(self.src)

    def rows(self, lo: int, hi: int) -> Seq2SeqBatch:
        """Pairs lo..hi-1, padding kept (data-parallel shards; ``train/parallel.py``)."""
        return Seq2SeqBatch(self.src[lo:hi], self.src_lengths[lo:hi], self.tgt_in[lo:hi],
                            None if self.tgt_out is None else self.tgt_out[lo:hi], self.tgt_lengths[lo:hi])

    def loss_terms(self) -> int:
        """How many terms the loss averages over: the real (not padding) target tokens."""
        return int(np.count_nonzero(self.tgt_out))


@dataclass
class EncoderCache:
    """What the encoder's backward needs: the source embedding's cache, the dropout mask on
    x and the encoder's StackCache."""

    embed: object
    mask: np.ndarray | None
    encoder: object


@dataclass
class DecoderCache:
    """What the decoder's backward needs: the target embedding's cache, the dropout mask on
    y, the decoder's StackCache, the attention's cache (None without attention) and the
    dropout mask on z."""

    embed: object
    mask: np.ndarray | None
    decoder: object
    attention: object | None
    mask_z: np.ndarray | None


class Memory(NamedTuple):
    """What the decoder reads from the encoder at every step: h_enc (N, T, H), src_lengths (N,)."""

    h_enc: np.ndarray
    src_lengths: np.ndarray

    def take(self, rows: np.ndarray) -> Memory:
        """The memory of the given rows (beam search repeats and reorders sentences)."""
        return Memory(self.h_enc[rows], self.src_lengths[rows])


def bridge(s: np.ndarray, dirs: int) -> np.ndarray:
    """(L * dirs, N, H / dirs) encoder final h or c -> (L, N, H): per layer, the directions side by side."""
    LD, N, Hd = s.shape
    return s.reshape(LD // dirs, dirs, N, Hd).transpose(0, 2, 1, 3).reshape(LD // dirs, N, dirs * Hd)


def bridge_backward(ds: np.ndarray, dirs: int) -> np.ndarray:
    """(L, N, H) gradient on the decoder's initial h or c -> (L * dirs, N, H / dirs): split it back."""
    L, N, H = ds.shape
    return ds.reshape(L, N, dirs, H // dirs).transpose(0, 2, 1, 3).reshape(L * dirs, N, H // dirs)


def bridge_state(state, dirs: int):
    """The encoder's final state -> the decoder's initial state: ``bridge`` on each part
    (h, or h and c), in the layer's own form."""
    return layer_state(bridge(s, dirs) for s in state_parts(state))


def bridge_state_backward(dstate, dirs: int):
    """The gradient on the decoder's initial state -> on the encoder's final state."""
    return layer_state(bridge_backward(ds, dirs) for ds in state_parts(dstate))


class Seq2Seq:
    """Embedding + (bi)LSTM encoder -> bridge -> embedding + LSTM decoder -> [attention] -> softmax
    (``cell`` "lstm", "gru" or "rnn" for both recurrent layers)."""

    def __init__(self, *, src_vocab: int, tgt_vocab: int, embed: int, hidden: int, layers: int = 1,
                 bidirectional: bool = False, attention: str = "general", dropout: float = 0.0,
                 rng: np.random.Generator, cell: str = "lstm", recurrent_dropout: float = 0.0,
                 dtype=np.float32):
        if attention not in ATTENTION:
            raise ValueError(f"attention must be one of {', '.join(ATTENTION)}, got {attention!r}")
        self.dirs = 2 if bidirectional else 1
        if hidden % self.dirs:
            raise ValueError(f"hidden must be even with a bidirectional encoder (H / 2 per direction), got {hidden}")
        self.dropout = dropout
        self.src_embed = Embedding(src_vocab, embed, padding_idx=0, rng=rng, dtype=dtype)
        self.encoder = make_recurrent(cell, embed, hidden // self.dirs, layers, bidirectional, rng, dtype,
                                      recurrent_dropout)
        self.tgt_embed = Embedding(tgt_vocab, embed, padding_idx=0, rng=rng, dtype=dtype)
        self.decoder = make_recurrent(cell, embed, hidden, layers, False, rng, dtype, recurrent_dropout)
        self.attention = None if attention == "none" else LuongAttention(hidden, attention, rng=rng, dtype=dtype)
        self.head = Linear(hidden, tgt_vocab, rng=rng, dtype=dtype)
        parts = {"src_embed": self.src_embed, "encoder": self.encoder, "tgt_embed": self.tgt_embed,
                 "decoder": self.decoder}
        if self.attention is not None:
            parts["attention"] = self.attention
        self.params = flat_params(**parts, head=self.head)

    @staticmethod
    def parameter_count(*, src_vocab, tgt_vocab, embed, hidden, layers=1, bidirectional=False,
                        attention="general", cell="lstm", **_) -> int:
        """The number of weights ``__init__`` allocates with these options (nothing allocated)."""
        dirs = 2 if bidirectional else 1
        attention_count = {"none": 0, "dot": 0, "general": hidden * hidden}[attention]
        if attention != "none":
            attention_count += linear_parameter_count(2 * hidden, hidden)
        return ((src_vocab + tgt_vocab) * embed
                + recurrent_parameter_count(cell, embed, hidden // dirs, layers, bidirectional)
                + recurrent_parameter_count(cell, embed, hidden, layers, False)
                + attention_count + linear_parameter_count(hidden, tgt_vocab))

    # ----- forward ------------------------------------------------------------------------

    def encode(self, src, src_lengths, rng=None):
        """src (N, T), src_lengths (N,) -> Memory, the decoder's initial state ((h_0, c_0), or
        h_0 for a GRU or RNN), cache."""
        x, embed_cache = self.src_embed.forward(src)
        x, mask_x = dropout_forward(x, self.dropout, rng)
        h_enc, state_T, encoder_cache = self.encoder.forward(x, lengths=src_lengths, rng=rng)
        state0 = bridge_state(state_T, self.dirs)
        return Memory(h_enc, np.asarray(src_lengths)), state0, EncoderCache(embed_cache, mask_x, encoder_cache)

    def decode(self, tgt_in, tgt_lengths, state0, memory: Memory, rng=None):
        """Teacher forcing (or one step): tgt_in (N, S) -> z (N, S, H) (what the head reads),
        the decoder's final state, cache."""
        y, embed_cache = self.tgt_embed.forward(tgt_in)
        y, mask_y = dropout_forward(y, self.dropout, rng)
        h_dec, state, decoder_cache = self.decoder.forward(y, lengths=tgt_lengths, state=state0, rng=rng)
        if self.attention is None:
            z, attention_cache = h_dec, None
        else:
            z, attention_cache = self.attention.forward(h_dec, memory.h_enc, memory.src_lengths)
        z, mask_z = dropout_forward(z, self.dropout, rng)
        return z, state, DecoderCache(embed_cache, mask_y, decoder_cache, attention_cache, mask_z)

    def step(self, tokens: np.ndarray, state, memory: Memory):
        """One decoder step for generation: tokens (N,) -> log-probabilities (N, V), next state."""
        z, state, _ = self.decode(tokens[:, None], None, state, memory)
        logits, _ = self.head.forward(z[:, 0])
        return log_softmax(logits), state

    # ----- loss and backward ------------------------------------------------------------------

    def loss(self, batch: Seq2SeqBatch) -> tuple[float, int]:
        """(mean cross-entropy over the real target tokens, their count), no dropout."""
        memory, state0, _ = self.encode(batch.src, batch.src_lengths)
        z, _, _ = self.decode(batch.tgt_in, batch.tgt_lengths, state0, memory)
        real = np.nonzero(batch.tgt_out)
        logits, _ = self.head.forward(z[real])
        loss, _ = softmax_cross_entropy(logits, batch.tgt_out[real])
        return loss, len(real[0])

    def loss_and_grads(self, batch: Seq2SeqBatch, rng: np.random.Generator | None = None, carry=None):
        """Mean cross-entropy over the batch's real target tokens and its gradient for every parameter."""
        memory, state0, enc = self.encode(batch.src, batch.src_lengths, rng)
        z, _, dec = self.decode(batch.tgt_in, batch.tgt_lengths, state0, memory, rng)
        real = np.nonzero(batch.tgt_out)  # the M positions that predict a token (not <pad>)
        logits, head_cache = self.head.forward(z[real])  # (M, V)
        loss, dlogits = softmax_cross_entropy(logits, batch.tgt_out[real])
        # head
        dz_real, grads = self.head.backward(dlogits, head_cache)  # back through logits = z W + b
        grads = prefixed("head", grads)
        dz = np.zeros_like(z)  # back through the gather: padded positions get nothing
        dz[real] = dz_real
        dz = dropout_backward(dz, dec.mask_z)
        # attention: the gradient splits into the decoder's outputs and the encoder's
        if self.attention is None:
            dh_dec, dh_enc = dz, np.zeros_like(memory.h_enc)
        else:
            dh_dec, dh_enc, attention_grads = self.attention.backward(dz, dec.attention)
            grads.update(prefixed("attention", attention_grads))
        # decoder: BPTT over the target; its final state was not used
        dy, dstate0, decoder_grads = self.decoder.backward(dh_dec, None, dec.decoder)
        grads.update(prefixed("decoder", decoder_grads))
        grads.update(prefixed("tgt_embed", self.tgt_embed.backward(dropout_backward(dy, dec.mask), dec.embed)))
        # bridge: the decoder's initial state is the encoder's final state
        dstate_T = bridge_state_backward(dstate0, self.dirs)
        # encoder: BPTT over the source, from its outputs (attention) and its final state
        dx, _, encoder_grads = self.encoder.backward(dh_enc, dstate_T, enc.encoder)
        grads.update(prefixed("encoder", encoder_grads))
        grads.update(prefixed("src_embed", self.src_embed.backward(dropout_backward(dx, enc.mask), enc.embed)))
        return loss, {name: grads[name] for name in self.params}, None

    def trace(self, batch: Seq2SeqBatch) -> Trace:
        """The encoder's run over the source and the decoder's over ``tgt_in`` (teacher
        forcing, no dropout), and the attention weights (N, S, T) when there is attention."""
        memory, state0, enc = self.encode(batch.src, batch.src_lengths)
        _, _, dec = self.decode(batch.tgt_in, batch.tgt_lengths, state0, memory)
        attention = None if dec.attention is None else np.asarray(dec.attention.a, dtype=np.float64)
        return Trace({"encoder": LayerTrace(self.encoder, enc.encoder), "decoder": LayerTrace(self.decoder, dec.decoder)},
                     attention=attention)
