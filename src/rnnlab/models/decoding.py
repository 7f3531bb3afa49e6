r"""Writing a translation: greedy decoding and beam search, batched over sentences.

Both encode the source once, then step the decoder one token at a time with
``model.step(tokens, state, memory) -> (log p (N, V), state)``: state in, state out. The
first input is ``<bos>``; ``<pad>`` and ``<bos>`` are never produced; a hypothesis ends at
``<eos>`` (not part of the returned ids) or after ``max_len`` tokens.

Greedy: y_t = argmax_v log p(v | y_<t, x), for all N sentences at once.

Beam search keeps the K best partial translations (hypotheses) of every sentence. All N K
of them are rows of one batch (row n K + k is hypothesis k of sentence n), so the
decoder runs once per step for the whole batch. Per step and sentence, each live
hypothesis is extended by every token, and the K best of the K V candidates survive,
ranked by the length-normalised score (GNMT, Wu et al. 2016)::

    score(y) = log p(y | x) / lp(|y|),   lp(n) = ((5 + n) / 6) ** alpha

where |y| counts the tokens produced including ``<eos>``; alpha = 0 ranks by log p alone
(which favours short translations), alpha around 0.6-1 evens that out. A finished
hypothesis stays in its slot, continued by ``<pad>`` at no cost and no length, and
competes with the live ones by its normalised score; search ends when every slot of every
sentence is finished, or at max_len. The answer is the best slot by normalised score.

With K = 1 every step keeps the single best extension: greedy decoding.

Shapes: N sentences, K beam width, V target vocabulary, t tokens produced so far.
"""

from __future__ import annotations

import numpy as np

from rnnlab.models.parts import layer_state, state_parts


def _rows(state, rows: np.ndarray):
    """The decoder state (h, or (h, c)), each (L, N, H), of the given rows: (L, len(rows), H)."""
    return layer_state(s[:, rows] for s in state_parts(state))


def length_penalty(n: np.ndarray, alpha: float) -> np.ndarray:
    """lp(n) = ((5 + n) / 6) ** alpha, GNMT's length normalisation (1 for alpha = 0)."""
    return ((5.0 + n) / 6.0) ** alpha


def _without_banned(logp: np.ndarray, pad_id: int, bos_id: int) -> np.ndarray:
    """A copy of logp (..., V) with <pad> and <bos> at -inf: never produced. logp is left as it is."""
    logp = logp.copy()
    logp[..., pad_id] = -np.inf
    logp[..., bos_id] = -np.inf
    return logp


def greedy_decode(model, src: np.ndarray, src_lengths: np.ndarray, *, bos_id: int, eos_id: int,
                  max_len: int, pad_id: int = 0) -> list[list[int]]:
    """src (N, T) padded ids, src_lengths (N,) -> N lists of target ids (no <bos>/<eos>)."""
    memory, state, _ = model.encode(src, src_lengths)
    N = src.shape[0]
    tokens = np.full(N, bos_id, dtype=np.int64)
    out = np.zeros((N, max_len), dtype=np.int64)
    length = np.full(N, max_len)  # tokens before <eos>
    done = np.zeros(N, dtype=bool)
    for t in range(max_len):
        logp, state = model.step(tokens, state, memory)
        logp = _without_banned(logp, pad_id, bos_id)
        tokens = logp.argmax(axis=1)
        out[:, t] = tokens
        ended = ~done & (tokens == eos_id)
        length[ended] = t
        done |= ended
        if done.all():
            break
    return [out[n, : length[n]].tolist() for n in range(N)]


def beam_search(model, src: np.ndarray, src_lengths: np.ndarray, *, beam: int, bos_id: int, eos_id: int,
                max_len: int, alpha: float = 0.6, pad_id: int = 0) -> list[list[int]]:
    """src (N, T) padded ids, src_lengths (N,) -> N lists of target ids (no <bos>/<eos>)."""
    if beam < 1:
        raise ValueError(f"beam must be at least 1, got {beam}")
    memory, state, _ = model.encode(src, src_lengths)
    N, K = src.shape[0], beam
    # every sentence's K slots start as copies of it; only slot 0 is live at first
    rows = np.repeat(np.arange(N), K)  # (N K,)
    memory = memory.take(rows)
    state = _rows(state, rows)
    scores = np.full((N, K), -np.inf)  # log p of each hypothesis
    scores[:, 0] = 0.0
    length = np.zeros((N, K), dtype=np.int64)  # tokens produced, <eos> included
    finished = np.zeros((N, K), dtype=bool)
    history = np.zeros((N, K, 0), dtype=np.int64)
    tokens = np.full(N * K, bos_id, dtype=np.int64)
    first = np.arange(N)[:, None]
    for t in range(max_len):
        logp, state = model.step(tokens, state, memory)  # (N K, V)
        V = logp.shape[1]
        logp = logp.reshape(N, K, V).astype(np.float64)
        logp = _without_banned(logp, pad_id, bos_id)
        logp[finished] = -np.inf  # a finished hypothesis continues only with <pad>, for free
        logp[finished, pad_id] = 0.0
        total = scores[:, :, None] + logp  # (N, K, V) log p of every candidate
        candidate_length = np.where(finished, length, t + 1)  # (N, K)
        ranked = (total / length_penalty(candidate_length, alpha)[:, :, None]).reshape(N, K * V)
        top = np.argpartition(-ranked, K - 1, axis=1)[:, :K]  # the K best, in no order
        order = np.argsort(-np.take_along_axis(ranked, top, axis=1), axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)  # (N, K) best first
        parent, token = top // V, top % V  # which slot each survivor extends, with which token
        scores = np.take_along_axis(total.reshape(N, K * V), top, axis=1)
        was_finished = finished[first, parent]
        length = np.where(was_finished, length[first, parent], t + 1)
        finished = was_finished | (token == eos_id)
        history = np.concatenate([history[first, parent], token[:, :, None]], axis=2)
        state = _rows(state, (first * K + parent).reshape(-1))  # each survivor's state
        tokens = token.reshape(-1)
        if finished.all():
            break
    best = np.argmax(scores / length_penalty(length, alpha), axis=1)  # (N,)
    results = []
    for n in range(N):
        k = best[n]
        keep = length[n, k] - 1 if finished[n, k] else length[n, k]  # drop the <eos>
        results.append(history[n, k, :keep].tolist())
    return results
