"""Figures of the lecture tour, section 6: one output per input against the encoder-decoder.

Same conventions as ``tour_figures.py``: one PNG per call, titles, axis labels with units,
about 1000 px wide. Korean labels are drawn with the Hangul font ``plotting.py`` registers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnlab.analysis.tour_figures import COLOURS, plt, save

KINDS = ("copula", "adjective", "object-verb")


def curves(path: Path, curves: dict, by_kind: dict) -> None:
    """Dev exact match against training step, one line per model (``curves`` label -> Curve);
    test exact match by kind of sentence (``by_kind`` "aligned" / "seq2seq" -> kind -> value)."""
    fig, (ax_c, ax_k) = plt.subplots(1, 2, figsize=(11, 3.9))
    for (label, curve), colour in zip(curves.items(), (COLOURS["rnn"], COLOURS["lstm"])):
        ax_c.plot(curve.eval_steps, curve.scores, marker="o", ms=3, color=colour, label=label)
    ax_c.set(title="Korean -> English, while training", xlabel="training step (batches of 64)",
             ylabel="dev exact match (whole sentence)", ylim=(-0.02, 1.02))
    ax_c.legend(loc="center right")
    width, x = 0.4, np.arange(len(KINDS))
    for k, (name, colour, label) in enumerate((("aligned", COLOURS["rnn"], "one output per input"),
                                                ("seq2seq", COLOURS["lstm"], "Seq2Seq"))):
        bars = ax_k.bar(x + (k - 0.5) * width, [by_kind[name][kind] for kind in KINDS], width, color=colour,
                        label=label)
        ax_k.bar_label(bars, fmt="%.2f", padding=2, fontsize=8)
    ax_k.set_xticks(x, ["copula\n그는 선생님이다", "adjective\n그녀는 행복하다", "object-verb\n나는 사과를 먹는다"])
    ax_k.set(title="After training, by kind of sentence", ylabel="test exact match", ylim=(0, 1.25))
    ax_k.legend(loc="upper center", ncol=2, fontsize=8)
    save(fig, path)


def _probabilities(ax, columns: list[str], top: list[list[tuple[str, float]]], title: str, xlabel: str) -> None:
    """A words x steps heatmap of the top words' probabilities at each step; the written
    (most probable) word of each step framed."""
    words = list(dict.fromkeys(w for step in top for w, _ in step))
    grid = np.full((len(words), len(columns)), np.nan)
    for t, step in enumerate(top):
        for w, p in step:
            grid[words.index(w), t] = p
    ax.imshow(np.nan_to_num(grid), cmap="Purples", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    for t, step in enumerate(top):
        for w, p in step:
            ax.text(t, words.index(w), f"{p:.2f}", ha="center", va="center", fontsize=9,
                    color="white" if p > 0.6 else "black")
        best = words.index(step[0][0])
        ax.add_patch(plt.Rectangle((t - 0.5, best - 0.5), 1, 1, fill=False, edgecolor=COLOURS["rnn"], lw=2))
    ax.set_xticks(range(len(columns)), columns)
    ax.set_yticks(range(len(words)), words)
    ax.set(title=title, xlabel=xlabel, ylabel="next word (its top 3 at each step)")
    ax.grid(False)


def lecture_sentence(path: Path, tokens: list[str], aligned_p: np.ndarray, vocabulary: list[str],
                     decoder: list[tuple[str, list[tuple[str, float]]]], top: int = 3) -> None:
    """The lecture's sentence through both models: the aligned LSTM's output distribution at
    each input token (aligned_p (T, V) over ``vocabulary``), and the decoder's steps
    (``decoder``: per step the word read and the top words with their probabilities)."""
    fig, (ax_a, ax_d) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1, 1.7]})
    aligned_top = [[(vocabulary[k], float(p[k])) for k in np.argsort(-p)[:top]] for p in aligned_p]
    written = [step[0][0] for step in aligned_top]
    _probabilities(ax_a, tokens, aligned_top,
                   f"One output per input: {len(tokens)} tokens in, writes '{' '.join(written)}'",
                   "input token (output t is read at input t)")
    _probabilities(ax_d, [read for read, _ in decoder], [best for _, best in decoder],
                   "Encoder-decoder: writes '" + " ".join(b[0][0] for _, b in decoder if b[0][0] != "<eos>") + "'",
                   "decoder step: the word it reads (it starts from the encoder's final state)")
    fig.suptitle(f"'{''.join(t + ' ' for t in tokens).strip()}' (held out of training): each step's most "
                 f"probable next words", fontsize=11)
    save(fig, path)
