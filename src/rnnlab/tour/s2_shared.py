"""Section 2: one cell, shared weights -- the model's size does not depend on the length.

The same ``W_xh``, ``W_hh``, ``b`` run at every step, so an RNN has as many parameters for
a sequence of 5 steps as for one of 500, while a perceptron over the whole window needs
one input weight per step. And because each step is the same function, a model trained
on short sequences runs unchanged on longer ones.

Task: does the bigram "x y" occur anywhere in the sequence? Half the sequences contain it
(placed at a random step), half do not, at every length, so chance is 0.5 throughout.
Training lengths are drawn from 4..20 (a padded batch with ``lengths``: each sequence's
final state is read at its own last step); testing goes to 40.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnlab.analysis import tour_figures
from rnnlab.data.synthetic import one_hot
from rnnlab.layers.rnn import RNN
from rnnlab.models.classifier import SequenceBatch, SequenceClassifier
from rnnlab.optim import Adam
from rnnlab.tour.nets import MLP
from rnnlab.tour.section import Progress, Section
from rnnlab.tour.steps import train_steps

SYMBOLS = ["x", "y", "a", "b", "c"]  # x = 0, y = 1
HIDDEN, BATCH, HELD_OUT = 32, 64, 1000
TRAIN_LENGTHS = (4, 20)
TEST_LENGTHS = np.arange(5, 61, 5)
# the check: accuracy at least MIN_ACCURACY at the length CHECKED_LENGTH, twice the longest trained
CHECKED_LENGTH, MIN_ACCURACY = 40, 0.9


def steps(quick: bool) -> int:
    return 800  # quick or not: 300 steps left some seeds short of MIN_ACCURACY


def cost(quick: bool) -> int:
    return steps(quick)


def bigram_task(rng: np.random.Generator, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ids (n, max length) and labels (n,): 1 if "x y" occurs within each row's length.

    Every row is first cleared of the bigram (a y after an x becomes a, b or c, which
    cannot start a new one); then half the rows get "x y" at a random place.
    """
    n, T = len(lengths), int(lengths.max())
    ids = rng.integers(0, len(SYMBOLS), size=(n, T))
    for t in range(1, T):
        hit = (ids[:, t - 1] == 0) & (ids[:, t] == 1)
        ids[hit, t] = rng.integers(2, len(SYMBOLS), size=int(hit.sum()))
    y = (rng.random(n) < 0.5).astype(np.int64)
    rows = np.flatnonzero(y)
    start = (rng.random(len(rows)) * (lengths[rows] - 1)).astype(np.int64)  # 0..length-2
    ids[rows, start], ids[rows, start + 1] = 0, 1
    return ids, y


def run(rng: np.random.Generator, quick: bool, progress: Progress, out_dir: Path) -> Section:
    reader = SequenceClassifier.reading(RNN(len(SYMBOLS), HIDDEN, rng=rng), 2, rng)

    def batch():
        lengths = rng.integers(TRAIN_LENGTHS[0], TRAIN_LENGTHS[1] + 1, size=BATCH)
        ids, y = bigram_task(rng, lengths)
        return SequenceBatch(one_hot(ids, len(SYMBOLS)), lengths, y)

    n = steps(quick)
    train_steps(reader, batch, n, progress, optimizer=Adam(3e-3), every=n)
    accuracy = []
    for T in TEST_LENGTHS:
        ids, y = bigram_task(rng, np.full(HELD_OUT, T))
        accuracy.append(reader.accuracy(one_hot(ids, len(SYMBOLS)), y))
    accuracy = np.array(accuracy)

    # the parameters each model needs for sequences of length T
    window = np.arange(5, 101, 5)
    rnn_count = sum(p.size for p in reader.params.values())
    mlp_counts = np.array([sum(p.size for p in MLP(T * len(SYMBOLS), HIDDEN, 2, "softmax", rng).params.values())
                           for T in window])
    figure = out_dir / "s2_shared.png"
    tour_figures.shared_weights(figure, window, np.full(len(window), rnn_count), mlp_counts,
                                TEST_LENGTHS, accuracy, TRAIN_LENGTHS)

    seen = TEST_LENGTHS <= TRAIN_LENGTHS[1]
    mlp_long = int(mlp_counts[window == CHECKED_LENGTH][0])
    accuracy_long = float(accuracy[TEST_LENGTHS == CHECKED_LENGTH][0])
    numbers = {"rnn_parameters": int(rnn_count), "mlp_parameters_T20": int(mlp_counts[window == 20][0]),
               f"mlp_parameters_T{CHECKED_LENGTH}": mlp_long,
               "accuracy_seen_lengths": float(accuracy[seen].mean()),
               f"accuracy_T{CHECKED_LENGTH}": accuracy_long, "train_steps": n}
    return Section(
        key="s2_shared", title="2. One cell, shared weights",
        claim="The parameter count of an RNN does not grow with the sequence length; a model "
              "trained on sequences of length at most 20 still works at length 40.",
        setup=f"Symbols {', '.join(SYMBOLS)}; does the bigram \"x y\" occur? tanh RNN (H={HIDDEN}) "
              f"trained for {n} Adam steps on {BATCH} sequences of random length "
              f"{TRAIN_LENGTHS[0]}-{TRAIN_LENGTHS[1]}; {HELD_OUT} held-out sequences per test length. "
              f"The MLP counts are for a {HIDDEN}-unit perceptron over the one-hot window of T steps.",
        result=f"The RNN has {rnn_count} parameters at every length; the MLP needs "
               f"{numbers['mlp_parameters_T20']} for T = 20 and {mlp_long} for "
               f"T = {CHECKED_LENGTH} (and cannot read a longer sequence than it was built for at all). Held-out "
               f"accuracy: {numbers['accuracy_seen_lengths']:.3f} on average over the lengths seen "
               f"in training (T <= {TRAIN_LENGTHS[1]}), {accuracy_long:.3f} at T = {CHECKED_LENGTH}.",
        check=f"accuracy at T = {CHECKED_LENGTH} at least {MIN_ACCURACY:g}",
        holds=accuracy_long >= MIN_ACCURACY,
        numbers=numbers, figures=[figure],
        table=[["test length T"] + [str(T) for T in TEST_LENGTHS],
               ["accuracy"] + [f"{a:.3f}" for a in accuracy]],
    )
