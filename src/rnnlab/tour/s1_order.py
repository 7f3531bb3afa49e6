"""Section 1: a multilayer perceptron over the words cannot see their order; an RNN can.

Every sequence holds the marker words ``x`` and ``y`` once each, at random places, among
filler words; its class is whether ``x`` comes before ``y``. Swapping the two markers
turns a sequence of one class into one of the other with exactly the same words, so the
bag of words (the count of each word, all an MLP over the words receives) carries no
information about the class: the MLP must stay at chance, 0.5. The RNN reads the words
in order and only has to remember whether it has passed an ``x``.
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

WORDS = ["x", "y", "a", "b", "c", "d", "e", "f", "g", "h"]  # ids 0 and 1 are the markers
LENGTH, HIDDEN, BATCH, HELD_OUT = 10, 32, 64, 2000
CHANCE = 0.5  # two classes, equally likely
# the check: the MLP stays this close to chance, the RNN reaches this accuracy
MAX_MLP_FROM_CHANCE, MIN_RNN_ACCURACY = 0.05, 0.9


def steps(quick: bool) -> int:
    return 150 if quick else 400


def cost(quick: bool) -> int:
    return 2 * steps(quick)


def order_task(rng: np.random.Generator, n: int, length: int = LENGTH) -> tuple[np.ndarray, np.ndarray]:
    """ids (n, length) over WORDS and labels (n,): 1 if x (id 0) comes before y (id 1)."""
    ids = rng.integers(2, len(WORDS), size=(n, length))
    positions = np.argsort(rng.random((n, length)), axis=1)[:, :2]  # two distinct places
    rows = np.arange(n)
    ids[rows, positions[:, 0]] = 0
    ids[rows, positions[:, 1]] = 1
    return ids, (positions[:, 0] < positions[:, 1]).astype(np.int64)


def bag_of_words(ids: np.ndarray) -> np.ndarray:
    """(n, T) ids -> (n, V) word counts: everything but the order."""
    return one_hot(ids, len(WORDS)).sum(axis=1)


def run(rng: np.random.Generator, quick: bool, progress: Progress, out_dir: Path) -> Section:
    test_ids, test_y = order_task(rng, HELD_OUT)
    test_x, test_bag = one_hot(test_ids, len(WORDS)), bag_of_words(test_ids)

    mlp = MLP(len(WORDS), HIDDEN, 2, "softmax", rng)
    rnn = SequenceClassifier.reading(RNN(len(WORDS), HIDDEN, rng=rng), 2, rng)

    def mlp_batch():
        ids, y = order_task(rng, BATCH)
        return bag_of_words(ids), y

    def rnn_batch():
        ids, y = order_task(rng, BATCH)
        return SequenceBatch(one_hot(ids, len(WORDS)), None, y)

    def mlp_accuracy():
        return float((mlp.forward(test_bag)[0].argmax(axis=1) == test_y).mean())

    n = steps(quick)
    mlp_curve = train_steps(mlp, mlp_batch, n, progress, optimizer=Adam(3e-3), evaluate=mlp_accuracy, every=25)
    rnn_curve = train_steps(rnn, rnn_batch, n, progress, optimizer=Adam(3e-3),
                    evaluate=lambda: rnn.accuracy(test_x, test_y), every=25)

    # a pair with the same words: the first held-out sequence and its markers swapped
    swapped = test_ids[0].copy()
    swapped[test_ids[0] == 0], swapped[test_ids[0] == 1] = 1, 0
    pair = np.stack([test_ids[0], swapped])
    pair_mlp = _softmax(mlp.forward(bag_of_words(pair))[0])[:, 1]
    pair_rnn = _softmax(rnn.logits(one_hot(pair, len(WORDS))))[:, 1]
    table = [["sequence", "x before y?", "MLP: P(x before y)", "RNN: P(x before y)"]]
    for k in range(2):
        table.append([" ".join(WORDS[i] for i in pair[k]), "yes" if _x_first(pair[k]) else "no",
                      f"{pair_mlp[k]:.3f}", f"{pair_rnn[k]:.3f}"])

    figure = out_dir / "s1_order.png"
    tour_figures.order_curves(figure, {"MLP over the bag of words": mlp_curve,
                                       "tanh RNN over the sequence": rnn_curve}, chance=CHANCE)
    numbers = {"mlp_accuracy": mlp_curve.final, "rnn_accuracy": rnn_curve.final, "chance": CHANCE,
               "train_steps": n, "held_out": HELD_OUT}
    return Section(
        key="s1_order", title="1. An MLP cannot see order",
        claim="Two classes made of the same words in a different order: a perceptron over the "
              "words (their counts) stays at chance, a recurrent network that reads them in "
              "order learns the difference.",
        setup=f"{len(WORDS)} words, sequences of {LENGTH}; class = does x come before y. MLP "
              f"({len(WORDS)}-{HIDDEN}-2, tanh) on word counts vs tanh RNN (H={HIDDEN}) on the "
              f"one-hot sequence; {n} Adam steps of {BATCH} fresh sequences each; accuracy on "
              f"{HELD_OUT} held-out sequences.",
        result=f"Held-out accuracy: MLP {numbers['mlp_accuracy']:.3f}, RNN "
               f"{numbers['rnn_accuracy']:.3f} (chance {CHANCE:g}). On a pair with the same words, the "
               f"MLP gives P(x before y) = {pair_mlp[0]:.3f} and {pair_mlp[1]:.3f} (one bag of words, "
               f"so one answer), the RNN {pair_rnn[0]:.3f} and {pair_rnn[1]:.3f}.",
        check=f"MLP accuracy within {MAX_MLP_FROM_CHANCE:g} of chance and RNN accuracy at least "
              f"{MIN_RNN_ACCURACY:g}",
        holds=bool(abs(numbers["mlp_accuracy"] - CHANCE) <= MAX_MLP_FROM_CHANCE
                   and numbers["rnn_accuracy"] >= MIN_RNN_ACCURACY),
        numbers=numbers, figures=[figure], table=table,
    )


def _x_first(ids: np.ndarray) -> bool:
    return int(np.argmax(ids == 0)) < int(np.argmax(ids == 1))


def _softmax(z: np.ndarray) -> np.ndarray:
    with np.errstate(under="ignore"):  # a probability below the smallest float is 0
        e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
