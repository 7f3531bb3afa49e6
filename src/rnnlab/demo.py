"""A short demo: an LSTM learns to remember the first symbol of a sequence.

Many-to-one: ``x`` (N, T, V) one-hot -> LSTM -> h_T -> Linear -> softmax over V symbols
(``SequenceClassifier.reading``), trained with cross-entropy, BPTT, gradient clipping and
Adam on freshly drawn batches (``rnnlab.tour.steps.train_steps``), with a progress bar.
The same run with ``--cell rnn`` shows the tanh RNN struggling to carry the symbol
(``--cell gru``: the GRU, whose update gate keeps it as the LSTM's forget gate does).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields

import numpy as np
from tqdm import tqdm

from rnnlab.data.synthetic import first_symbol_recall
from rnnlab.models.classifier import SequenceBatch, SequenceClassifier
from rnnlab.models.parts import CELLS
from rnnlab.optim import Adam
from rnnlab.options import check_option, option
from rnnlab.tour.steps import train_steps


@dataclass
class DemoConfig:
    cell: str = option("lstm", "recurrent cell", tuple(CELLS))
    length: int = option(30, "symbols per sequence; the first is the one to recall", at_least=1)
    vocab: int = option(8, "number of distinct symbols", at_least=2)
    hidden: int = option(64, "hidden size H", at_least=1)
    steps: int = option(400, "training steps", at_least=1)
    batch_size: int = option(64, "sequences per step", at_least=1)
    lr: float = option(3e-3, "Adam learning rate", above=0.0)
    clip: float = option(1.0, "clip the gradients' global norm to this value", above=0.0)
    seed: int = option(0, "random seed", at_least=0)

    def validate(self) -> None:
        for f in fields(self):
            check_option(f, getattr(self, f.name))


def run_demo(config: DemoConfig, progress: bool = True) -> dict:
    """Train on freshly drawn batches; return the final held-out accuracy and timings."""
    rng = np.random.default_rng(config.seed)
    model = SequenceClassifier.reading(CELLS[config.cell](config.vocab, config.hidden, rng=rng), config.vocab, rng)
    test_x, test_y = first_symbol_recall(np.random.default_rng(config.seed + 1), 1000, config.length, config.vocab)

    def draw() -> SequenceBatch:
        x, y = first_symbol_recall(rng, config.batch_size, config.length, config.vocab)
        return SequenceBatch(x, None, y)

    start = time.perf_counter()
    with tqdm(total=config.steps, desc=f"{config.cell} recall-first T={config.length}", disable=not progress,
              unit="step") as bar:
        def held_out_accuracy() -> float:
            accuracy = model.accuracy(test_x, test_y)
            bar.set_postfix(held_out_acc=f"{accuracy:.2f}")
            return accuracy

        curve = train_steps(model, draw, config.steps, bar.update, optimizer=Adam(lr=config.lr),
                            clip=config.clip, evaluate=held_out_accuracy, every=max(config.steps // 4, 1))
    return {"accuracy": curve.final, "chance": 1 / config.vocab, "train_seconds": time.perf_counter() - start}
