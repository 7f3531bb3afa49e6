r"""Luong attention: every decoder step looks back at all encoder outputs of its own source.

The lecture's encoder-decoder hands the decoder one fixed-size summary (the encoder's final
state). Attention lets each decoder step s read a weighted mix of all encoder outputs
h_enc[t], with weights it computes from its own state (Luong, Pham & Manning, 2015, "global"
attention, without input feeding), for all S decoder steps at once::

    q      = h_dec W_a            (N, S, H)   "general" score;  q = h_dec for "dot"
    e      = q h_enc^T            (N, S, T)   e[n, s, t] = q[n, s] . h_enc[n, t]
    a      = softmax_t(e)         (N, S, T)   over the source's own steps t < L_n only
                                              (a = 0 at padded source steps)
    ctx    = a h_enc              (N, S, H)   the context: a weighted mean of encoder outputs
    u      = [ctx, h_dec] W_c + b_c           W_c (2H, H), b_c (H,)
    h_att  = tanh(u)              (N, S, H)   the attentional state the output layer reads

Backward, given dh_att (N, S, H), in reverse::

    du          = dh_att * (1 - h_att^2)                  back through tanh
    d[ctx, h_dec] = du W_c^T ;  dW_c = [ctx, h_dec]^T du ;  db_c = sum du
    da          = dctx h_enc^T           dh_enc  = a^T dctx          back through ctx = a h_enc
    de          = a * (da - sum_t(a * da))                            back through the softmax
                                                                      (0 where a = 0: padding)
    dq          = de h_enc               dh_enc += de^T q             back through e = q h_enc^T
    general:    dh_dec += dq W_a^T ;  dW_a = h_dec^T dq               back through q = h_dec W_a
    dot:        dh_dec += dq

Shapes: N batch, S decoder (target) steps, T source steps, H hidden (decoder and encoder
outputs share it: the dot score needs that, and it keeps the two variants comparable).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnlab import _checks, init

SCORES = ("dot", "general")


@dataclass
class AttentionCache:
    """What backward needs: the inputs, the weights a (N, S, T), the context and h_att."""

    h_dec: np.ndarray
    h_enc: np.ndarray
    q: np.ndarray
    a: np.ndarray
    ctx: np.ndarray
    h_att: np.ndarray
    W_a: np.ndarray | None
    W_c: np.ndarray


def source_mask(src_lengths: np.ndarray, T: int) -> np.ndarray:
    """(N, 1, T) boolean: True at the source steps t < L_n that attention may look at."""
    return (np.arange(T)[None, :] < np.asarray(src_lengths)[:, None])[:, None, :]


def masked_softmax(e: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """softmax over the last axis of e (N, S, T), counting only mask (N, 1, T); 0 elsewhere."""
    e = np.where(mask, e, -np.inf)
    e -= e.max(axis=-1, keepdims=True)  # the largest allowed score becomes 0: no overflow
    with np.errstate(under="ignore"):  # weights below the smallest float are 0, which is right
        a = np.exp(e)
    a /= a.sum(axis=-1, keepdims=True)
    return a


def attention_forward(h_dec, h_enc, src_lengths, W_a, W_c, b_c):
    """h_dec (N, S, H), h_enc (N, T, H), src_lengths (N,) in 1..T; W_a (H, H) for the
    general score or None for dot; W_c (2H, H), b_c (H,). Returns h_att (N, S, H), cache."""
    H = h_dec.shape[2]
    q = h_dec if W_a is None else h_dec @ W_a  # (N, S, H)
    e = q @ h_enc.transpose(0, 2, 1)  # (N, S, T)
    a = masked_softmax(e, source_mask(src_lengths, h_enc.shape[1]))
    ctx = a @ h_enc  # (N, S, H)
    u = ctx @ W_c[:H]  # [ctx, h_dec] W_c, without building the concatenation
    u += h_dec @ W_c[H:]
    u += b_c
    h_att = np.tanh(u)
    return h_att, AttentionCache(h_dec, h_enc, q, a, ctx, h_att, W_a, W_c)


def attention_backward(dh_att, cache: AttentionCache):
    """dh_att (N, S, H) -> dh_dec (N, S, H), dh_enc (N, T, H), grads {"W_a"?, "W_c", "b_c"}."""
    h_dec, h_enc, q, a, ctx, W_c = cache.h_dec, cache.h_enc, cache.q, cache.a, cache.ctx, cache.W_c
    H = h_dec.shape[2]
    du = dh_att * (1 - cache.h_att**2)  # back through h_att = tanh(u)
    du_rows = du.reshape(-1, H)
    dW_c = np.concatenate([ctx.reshape(-1, H).T @ du_rows, h_dec.reshape(-1, H).T @ du_rows])
    db_c = du_rows.sum(axis=0)
    dctx = du @ W_c[:H].T  # back through u = [ctx, h_dec] W_c + b_c
    dh_dec = du @ W_c[H:].T
    da = dctx @ h_enc.transpose(0, 2, 1)  # (N, S, T), back through ctx = a h_enc
    dh_enc = a.transpose(0, 2, 1) @ dctx  # (N, T, H)
    de = a * (da - (a * da).sum(axis=-1, keepdims=True))  # back through the softmax
    dq = de @ h_enc  # back through e = q h_enc^T
    dh_enc += de.transpose(0, 2, 1) @ q
    grads = {"W_c": dW_c, "b_c": db_c}
    if cache.W_a is None:  # dot: q = h_dec
        dh_dec += dq
    else:  # general: q = h_dec W_a
        dh_dec += dq @ cache.W_a.T
        grads = {"W_a": h_dec.reshape(-1, H).T @ dq.reshape(-1, H), **grads}
    return dh_dec, dh_enc, grads


class LuongAttention:
    """Global attention with the "dot" or "general" score, then h_att = tanh([ctx, h] W_c + b_c).

    Parameters: ``W_a`` (H, H) (general only), ``W_c`` (2H, H), ``b_c`` (H,); Glorot-uniform
    weights, zero bias. ``forward`` and ``backward`` keep nothing on ``self``.

    >>> att = LuongAttention(4, "general", rng=np.random.default_rng(0))
    >>> h_dec = np.ones((2, 3, 4), dtype=np.float32); h_enc = np.ones((2, 5, 4), dtype=np.float32)
    >>> h_att, cache = att.forward(h_dec, h_enc, np.array([5, 2]))
    >>> h_att.shape, cache.a[1, 0].tolist()
    ((2, 3, 4), [0.5, 0.5, 0.0, 0.0, 0.0])
    """

    def __init__(self, hidden: int, score: str = "general", rng: np.random.Generator | None = None,
                 dtype=np.float32):
        self.hidden = _checks.check_positive_int("hidden", hidden)
        if score not in SCORES:
            raise ValueError(f"score must be one of {', '.join(SCORES)}, got {score!r}")
        self.score = score
        self.dtype = _checks.check_float_dtype("dtype", dtype)
        rng = np.random.default_rng() if rng is None else rng
        H = self.hidden
        self.params: dict[str, np.ndarray] = {}
        if score == "general":
            self.params["W_a"] = init.glorot_uniform(rng, (H, H)).astype(self.dtype)
        self.params["W_c"] = init.glorot_uniform(rng, (2 * H, H)).astype(self.dtype)
        self.params["b_c"] = np.zeros(H, dtype=self.dtype)

    def forward(self, h_dec, h_enc, src_lengths) -> tuple[np.ndarray, AttentionCache]:
        """h_dec (N, S, H), h_enc (N, T, H), src_lengths (N,) in 1..T -> h_att (N, S, H), cache."""
        H = self.hidden
        h_dec = _checks.check_float_array("h_dec", h_dec, ndim=3, dtype=self.dtype, shape=(None, None, H),
                                          shape_legend="(N, S, H)")
        h_enc = _checks.check_float_array("h_enc", h_enc, ndim=3, dtype=self.dtype,
                                          shape=(h_dec.shape[0], None, H), shape_legend="(N, T, H)")
        src_lengths = _checks.check_lengths(src_lengths, h_enc.shape[0], h_enc.shape[1])
        if src_lengths is None:
            src_lengths = np.full(h_enc.shape[0], h_enc.shape[1])
        return attention_forward(h_dec, h_enc, src_lengths, self.params.get("W_a"), self.params["W_c"],
                                 self.params["b_c"])

    def backward(self, dh_att, cache: AttentionCache):
        """dh_att (N, S, H) -> dh_dec (N, S, H), dh_enc (N, T, H), grads (keys of ``params``)."""
        if not isinstance(cache, AttentionCache):
            raise ValueError(f"cache must be the AttentionCache returned by forward, got {type(cache).__name__}")
        dh_att = _checks.check_float_array("dh_att", dh_att, ndim=3, dtype=self.dtype,
                                           shape=cache.h_att.shape, shape_legend="(N, S, H)")
        return attention_backward(dh_att, cache)
