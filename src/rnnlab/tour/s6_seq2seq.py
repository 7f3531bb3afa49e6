"""Section 6: one output per input, then Seq2Seq.

Task: the letters of the input in reverse order, without the blanks: "ab_c_d" -> "dcba".
The output is always shorter than the input, and its first letter is the input's last.

An RNN that emits one output per input (``AlignedTagger``: output t is read at input t,
and after the answer it must emit <eos> and then "nothing" tokens) has to name the last
letter at step 1, before reading it: it cannot solve the task, whatever its size.

The encoder-decoder of the lecture (``rnnlab.models.seq2seq.Seq2Seq`` without attention):
an encoder LSTM reads the whole input; its final state (h_T, c_T) is the decoder's initial
state; the decoder LSTM writes the answer one letter at a time (teacher forcing in
training, greedy decoding after), as long as it needs, ending with <eos>.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnlab.analysis import tour_figures_memory
from rnnlab.models.decoding import greedy_decode
from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqBatch
from rnnlab.optim import Adam
from rnnlab.tour.nets import AlignedTagger
from rnnlab.tour.section import Progress, Section
from rnnlab.tour.steps import train_steps

LETTERS = "abcdef"
SRC = "_" + LETTERS  # source ids 1.. (0 = padding)
PAD, BOS, EOS, NOTHING = 0, 1, 2, 3  # target ids; letters follow
TGT_LETTER0 = 4
MIN_LEN, MAX_LEN, BLANK_P = 4, 10, 0.35
EMBED, HIDDEN, BATCH, HELD_OUT, LR = 16, 64, 64, 1000, 3e-3
# the check: Seq2Seq's exact match is at least MIN_EXACT_MATCH, and at least MIN_LEAD above
# the one-output-per-input model's
MIN_EXACT_MATCH, MIN_LEAD = 0.8, 0.4


def steps(quick: bool) -> int:
    return 400 if quick else 1000


def cost(quick: bool) -> int:
    return 2 * steps(quick)


def reverse_task(rng: np.random.Generator, n: int):
    """src (n, T) padded ids, src lengths (n,), and the answers as lists of letter indices."""
    lengths = rng.integers(MIN_LEN, MAX_LEN + 1, size=n)
    src = np.zeros((n, MAX_LEN), dtype=np.int64)
    answers = []
    for row, length in enumerate(lengths):
        blank = rng.random(length) < BLANK_P
        blank[rng.integers(length)] = True  # at least one blank: the answer is shorter
        keep = rng.integers(length)
        while blank.all():  # and at least one letter
            blank[keep] = False
        letters = rng.integers(len(LETTERS), size=length)
        src[row, :length] = np.where(blank, 1, 2 + letters)
        answers.append(letters[~blank][::-1].tolist())
    return src[:, : lengths.max()], lengths, answers


def seq2seq_batch(src, lengths, answers) -> Seq2SeqBatch:
    S = max(len(a) for a in answers) + 1
    tgt_in = np.zeros((len(answers), S), dtype=np.int64)
    tgt_out = np.zeros_like(tgt_in)
    for row, answer in enumerate(answers):
        ids = [TGT_LETTER0 + k for k in answer]
        tgt_in[row, : len(ids) + 1] = [BOS] + ids
        tgt_out[row, : len(ids) + 1] = ids + [EOS]
    return Seq2SeqBatch(src, lengths, tgt_in, tgt_out, np.array([len(a) + 1 for a in answers]))


def aligned_targets(src, lengths, answers):
    """Output t at input t: the answer, <eos>, then NOTHING up to the input's length."""
    y = np.zeros_like(src)
    for row, (length, answer) in enumerate(zip(lengths, answers)):
        ids = [TGT_LETTER0 + k for k in answer] + [EOS]
        y[row, :length] = ids + [NOTHING] * (length - len(ids))
    return y, src != 0


def aligned_answers(logits: np.ndarray, lengths) -> list[list[int]]:
    """Read the tagger's outputs up to its first <eos> (or NOTHING) as letter indices."""
    out = []
    for row, length in enumerate(lengths):
        ids = logits[row, :length].argmax(axis=1).tolist()
        answer = []
        for i in ids:
            if i < TGT_LETTER0:
                break
            answer.append(i - TGT_LETTER0)
        out.append(answer)
    return out


def run(rng: np.random.Generator, quick: bool, progress: Progress, out_dir: Path) -> Section:
    n = steps(quick)
    test_src, test_len, test_answers = reverse_task(rng, HELD_OUT)
    tgt_vocab = TGT_LETTER0 + len(LETTERS)
    model = Seq2Seq(src_vocab=len(SRC) + 1, tgt_vocab=tgt_vocab, embed=EMBED, hidden=HIDDEN,
                    attention="none", rng=rng)
    tagger = AlignedTagger(len(SRC) + 1, EMBED, HIDDEN, tgt_vocab, rng)

    def seq2seq_answers(src, lengths):
        decoded = greedy_decode(model, src, lengths, bos_id=BOS, eos_id=EOS, max_len=MAX_LEN + 1)
        return [[i - TGT_LETTER0 for i in ids] for ids in decoded]

    def exact(predicted):
        return float(np.mean([p == a for p, a in zip(predicted, test_answers)]))

    def tagger_batch():
        src, lengths, answers = reverse_task(rng, BATCH)
        return (src, lengths, *aligned_targets(src, lengths, answers))

    tagger_curve = train_steps(tagger, tagger_batch, n, progress, optimizer=Adam(LR), every=max(n // 8, 1),
                       evaluate=lambda: exact(aligned_answers(tagger.forward(test_src, test_len)[0], test_len)))
    seq2seq_curve = train_steps(model, lambda: seq2seq_batch(*reverse_task(rng, BATCH)), n, progress,
                        optimizer=Adam(LR), every=max(n // 8, 1),
                        evaluate=lambda: exact(seq2seq_answers(test_src, test_len)))

    predicted = seq2seq_answers(test_src, test_len)
    aligned = aligned_answers(tagger.forward(test_src, test_len)[0], test_len)
    by_length = {}
    for answer, p, q in zip(test_answers, predicted, aligned):
        by_length.setdefault(len(answer), []).append((p == answer, q == answer))
    answer_lengths = np.array(sorted(by_length))
    exact_by_length = {name: np.array([np.mean([pair[k] for pair in by_length[m]]) for m in answer_lengths])
                       for k, name in enumerate(("seq2seq", "aligned"))}

    curves_png = out_dir / "s6_seq2seq.png"
    tour_figures_memory.seq2seq_curves(curves_png, {"one output per input (LSTM)": tagger_curve,
                                                    "encoder-decoder (Seq2Seq)": seq2seq_curve},
                                       answer_lengths, exact_by_length)

    def show(ids, lengths, row):
        return "".join(SRC[i - 1] for i in ids[row, : lengths[row]])

    table = [["input", "answer", "Seq2Seq", "one output per input"]]
    for row in range(6):
        table.append([show(test_src, test_len, row), "".join(LETTERS[k] for k in test_answers[row]),
                      "".join(LETTERS[k] for k in predicted[row]), "".join(LETTERS[k] for k in aligned[row])])
    by_len = {f"seq2seq_exact_match_answer_len{m}": float(a)
              for m, a in zip(answer_lengths, exact_by_length["seq2seq"])}
    numbers = {"seq2seq_exact_match": seq2seq_curve.final, "aligned_exact_match": tagger_curve.final, **by_len,
               "train_steps": n, "held_out": HELD_OUT,
               "mean_input_length": float(test_len.mean()),
               "mean_answer_length": float(np.mean([len(a) for a in test_answers]))}
    return Section(
        key="s6_seq2seq", title="6. One output per input, then Seq2Seq",
        claim="An RNN that emits one output per input cannot map an input to an output of a "
              "different length and order; an encoder reads the whole input into its final "
              "state, and a decoder started from that state writes an output of any length.",
        setup=f"Reverse the letters and drop the blanks ('{LETTERS}' and '_', inputs of "
              f"{MIN_LEN}-{MAX_LEN}; mean input length {numbers['mean_input_length']:.1f}, mean answer "
              f"length {numbers['mean_answer_length']:.1f}). Both models: embeddings {EMBED}, LSTM "
              f"H = {HIDDEN}, {n} Adam steps of {BATCH}. Seq2Seq: rnnlab.models.seq2seq without "
              f"attention, greedy decoding. Exact match on {HELD_OUT} held-out inputs.",
        result=f"Whole answers right: Seq2Seq {numbers['seq2seq_exact_match']:.3f}, one output per input "
               f"{numbers['aligned_exact_match']:.3f}. Seq2Seq by answer length (letters: exact match): "
               + ", ".join(f"{m}: {a:.2f}" for m, a in zip(answer_lengths, exact_by_length["seq2seq"]))
               + " (the whole input must pass through one fixed-size state).",
        check=f"Seq2Seq exact match at least {MIN_EXACT_MATCH:g} and at least {MIN_LEAD:g} above the "
              "one-output-per-input model's",
        holds=bool(numbers["seq2seq_exact_match"] >= MIN_EXACT_MATCH
                   and numbers["seq2seq_exact_match"] >= numbers["aligned_exact_match"] + MIN_LEAD),
        numbers=numbers, figures=[curves_png], table=table,
    )
