r"""Writing a translation: greedy decoding and beam search, batched over sentences.

Both encode the source once, then step the decoder one token at a time with
``model.step(tokens, state, memory) -> (log p (N, V), state)``: state in, state out. The
first input is ``<bos>``; ``<pad>`` and ``<bos>`` are never produced; a hypothesis ends at
``<eos>`` (not part of the returned ids) or after ``max_len`` tokens.

Greedy: y_t = argmax_v log p(v | y_<t, x), for all N sentences at once; a sentence that
has said ``<eos>`` leaves the batch.

Beam search keeps the K best partial translations (hypotheses) of every sentence. All N K
of them are rows of one batch (row n K + k is hypothesis k of sentence n), so the
decoder runs once per step for the whole batch. Per step and sentence, each live
hypothesis is extended by every token, and the K best of the K V candidates survive,
ranked by the length-normalised score (GNMT, Wu et al. 2016)::

    score(y) = log p(y | x) / lp(|y|),   lp(n) = ((5 + n) / 6) ** alpha

where |y| counts the tokens produced including ``<eos>``; alpha = 0 ranks by log p alone
(which favours short translations), alpha around 0.6-1 evens that out. A finished
hypothesis stays in its slot, continued by ``<pad>`` at no cost and no length, and
competes with the live ones by its normalised score, so a sentence whose K slots have all
finished keeps them from then on; search ends when every slot of every sentence is
finished, or at max_len. The answer is the best slot by normalised score.

With K = 1 every step keeps the single best extension: greedy decoding.

Two things make it fast without changing what it finds (tests/test_seq2seq.py holds
them to the reference, ``candidates=every_token, drop_finished=False``): only each
hypothesis's K most likely next tokens are ranked (``best_tokens``; the other extensions
of a hypothesis share its score and length with K better ones, so they cannot be among
the sentence's K best), and a sentence whose slots have all finished leaves the batch.
Speed against the reference: ``benchmarks/bench_decoding.py``.

Shapes: N sentences, K beam width, V target vocabulary, t tokens produced so far.
"""

from __future__ import annotations

import numpy as np

from rnnlab.models.parts import layer_state, state_parts


def _rows(state, rows: np.ndarray):
    """The decoder state (h, or (h, c)), each (L, N, H), of the given rows: (L, len(rows), H)."""
    return layer_state(s[:, rows] for s in state_parts(state))


def _keep_rows(rows: np.ndarray, state, memory, tokens: np.ndarray):
    """The decoder's batch cut to ``rows`` (sentences that are done leave it): state, memory
    and the next step's input tokens of those rows, in that order."""
    return _rows(state, rows), memory.take(rows), tokens[rows]


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
                  max_len: int, pad_id: int = 0, drop_finished: bool = True) -> list[list[int]]:
    """src (N, T) padded ids, src_lengths (N,) -> N lists of target ids (no <bos>/<eos>).

    ``drop_finished``: a sentence that has said ``<eos>`` leaves the decoder's batch (False
    steps every row until all are done; the same translations)."""
    memory, state, _ = model.encode(src, src_lengths)
    N = src.shape[0]
    out = np.zeros((N, max_len), dtype=np.int64)
    length = np.full(N, max_len)  # tokens before <eos>
    done = np.zeros(N, dtype=bool)
    work = np.arange(N)  # the rows in the decoder's batch
    tokens = np.full(N, bos_id, dtype=np.int64)
    for t in range(max_len):
        logp, state = model.step(tokens, state, memory)
        tokens = _without_banned(logp, pad_id, bos_id).argmax(axis=1)
        out[work, t] = tokens
        ended = ~done[work] & (tokens == eos_id)
        length[work[ended]] = t
        done[work[ended]] = True
        going = np.flatnonzero(~done[work])
        if len(going) == 0:
            break
        if drop_finished and len(going) < len(work):
            work = work[going]
            state, memory, tokens = _keep_rows(going, state, memory, tokens)
    return [out[n, : length[n]].tolist() for n in range(N)]


def every_token(logp: np.ndarray, beam: int) -> tuple[np.ndarray, np.ndarray]:
    """All V tokens as each hypothesis's candidates: tokens (R, V), their log p (R, V).

    The reference: beam search then ranks all K V extensions of each sentence."""
    return np.broadcast_to(np.arange(logp.shape[1]), logp.shape), logp


def best_tokens(logp: np.ndarray, beam: int) -> tuple[np.ndarray, np.ndarray]:
    """Each hypothesis's ``beam`` most likely tokens, best first: tokens (R, K), log p (R, K).

    Every extension of one hypothesis has the same score so far and the same length, so an
    extension outside its hypothesis's K best has K better ones beside it and cannot be among
    the sentence's K best: ranking these K K candidates selects what ranking all K V would.
    K rounds of argmax (first index on ties), 15x faster than ``np.argpartition`` over V."""
    rest = logp.copy()
    rows = np.arange(logp.shape[0])
    tokens = np.empty((logp.shape[0], beam), dtype=np.int64)
    for k in range(beam):
        tokens[:, k] = rest.argmax(axis=1)
        rest[rows, tokens[:, k]] = -np.inf
    return tokens, np.take_along_axis(logp, tokens, axis=1)


def beam_search(model, src: np.ndarray, src_lengths: np.ndarray, *, beam: int, bos_id: int, eos_id: int,
                max_len: int, alpha: float = 0.6, pad_id: int = 0, candidates=best_tokens,
                drop_finished: bool = True) -> list[list[int]]:
    """src (N, T) padded ids, src_lengths (N,) -> N lists of target ids (no <bos>/<eos>).

    ``candidates(logp (N K, V), K) -> tokens, log p (N K, C)``: the extensions of each
    hypothesis that are ranked, ``best_tokens`` (C = K) or ``every_token``.
    ``drop_finished``: a sentence whose slots have all finished leaves the decoder's batch.
    The reference, the search as written above, is ``candidates=every_token,
    drop_finished=False``; the defaults find the same translations faster."""
    if beam < 1:
        raise ValueError(f"beam must be at least 1, got {beam}")
    memory, state, _ = model.encode(src, src_lengths)
    N, K = src.shape[0], beam
    scores = np.full((N, K), -np.inf)  # log p of each hypothesis
    scores[:, 0] = 0.0  # every sentence's K slots start as copies of it; only slot 0 is live
    length = np.zeros((N, K), dtype=np.int64)  # tokens produced, <eos> included
    finished = np.zeros((N, K), dtype=bool)
    history = np.full((N, K, max_len), pad_id, dtype=np.int64)
    # The decoder runs on the sentences still searching (``work``), K rows each (row w K + k
    # is slot k of sentence work[w]); a sentence whose K slots have all finished keeps its
    # hypotheses as they are, so its rows may leave the batch (``drop_finished``).
    work = np.arange(N)
    rows = np.repeat(work, K)
    memory = memory.take(rows)
    state = _rows(state, rows)
    tokens = np.full(N * K, bos_id, dtype=np.int64)
    for t in range(max_len):
        M = len(work)
        logp, state = model.step(tokens, state, memory)  # (M K, V)
        token_of, logp = candidates(_without_banned(logp, pad_id, bos_id), K)  # (M K, C) each
        C = logp.shape[1]
        logp = logp.reshape(M, K, C).astype(np.float64)
        was_done = finished[work]  # (M, K)
        # a finished hypothesis continues only with <pad>, for free: its first candidate
        # stands for that (its token is set below), the others are out
        logp[was_done] = -np.inf
        logp[was_done, 0] = 0.0
        total = scores[work][:, :, None] + logp  # (M, K, C) log p of every candidate
        candidate_length = np.where(was_done, length[work], t + 1)  # (M, K)
        ranked = (total / length_penalty(candidate_length, alpha)[:, :, None]).reshape(M, K * C)
        top = np.argpartition(-ranked, K - 1, axis=1)[:, :K]  # the K best, in no order
        order = np.argsort(-np.take_along_axis(ranked, top, axis=1), axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)  # (M, K) best first
        parent = top // C  # which slot each survivor extends, with which token
        first = np.arange(M)[:, None]
        was_finished = was_done[first, parent]
        token = np.where(was_finished, pad_id, token_of.reshape(M * K, C)[first * K + parent, top % C])
        scores[work] = np.take_along_axis(total.reshape(M, K * C), top, axis=1)
        length[work] = np.where(was_finished, length[work][first, parent], t + 1)
        finished[work] = was_finished | (token == eos_id)
        history[work] = history[work][first, parent]
        history[work, :, t] = token
        state = _rows(state, (first * K + parent).reshape(-1))  # each survivor's state
        tokens = token.reshape(-1)
        searching = ~finished[work].all(axis=1)  # (M,)
        if not searching.any():
            break
        if drop_finished and not searching.all():
            kept = (np.flatnonzero(searching)[:, None] * K + np.arange(K)).reshape(-1)
            work = work[searching]
            state, memory, tokens = _keep_rows(kept, state, memory, tokens)
    best = np.argmax(scores / length_penalty(length, alpha), axis=1)  # (N,)
    results = []
    for n in range(N):
        k = best[n]
        keep = length[n, k] - 1 if finished[n, k] else length[n, k]  # drop the <eos>
        results.append(history[n, k, :keep].tolist())
    return results
