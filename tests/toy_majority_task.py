"""A task defined outside rnnlab, in one file: is a bit string mostly ones?

It meets ``rnnlab.train.tasks.base.Task`` with rnnlab's own classifier as its model, reads
one bit string per line ("0110100 1": bits, a space, the label), and joins the command
line with ``register_task("majority", "toy_majority_task:MajorityTask")``. The README's
"Adding a task" section shows this file; ``tests/test_contract.py`` trains it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnlab.data.errors import data_error
from rnnlab.data.text import read_text
from rnnlab.models.classifier import SequenceClassifier
from rnnlab.train.config import TrainConfig, option
from rnnlab.train.tasks.base import Evaluation, Example
from rnnlab.train.tasks.common import padded_batches


@dataclass
class MajorityConfig(TrainConfig):
    train: str = option("", "training file: one 'BITS LABEL' per line")
    test: str = option("", "test file, same format")


class MajorityTask:
    """say whether a bit string holds more ones than zeros"""

    name, metric, higher_is_better, Config = "majority", "accuracy", True, MajorityConfig

    def __init__(self, config: MajorityConfig, meta: dict | None = None):
        self.config, self.meta, self.splits = config, meta, {}

    def _parse(self, lines: list[str], path: str, labelled: bool = True):
        inputs, labels = [], []
        for number, line in enumerate(lines, start=1):
            bits, _, label = line.strip().partition(" ")
            if not bits or set(bits) - {"0", "1"} or (labelled and label not in ("0", "1")):
                raise data_error(path, f"expected 'BITS LABEL' such as '0110 1', got {line!r}", number)
            inputs.append(np.array([[float(b)] for b in bits], dtype=np.float32))  # (T, 1)
            labels.append(int(label) if labelled else 0)
        return inputs, np.array(labels, dtype=np.int64)

    def prepare(self) -> None:
        data = self.encode_file(self.config.train)
        cut = max(1, len(data[1]) // 10)
        self.splits = {"dev": (data[0][:cut], data[1][:cut]), "train": (data[0][cut:], data[1][cut:]),
                       "test": self.encode_file(self.config.test)}
        self.meta = {"classes": 2}

    def encode_file(self, path: str):
        return self._parse(read_text(path).splitlines(), path)

    def model_options(self) -> dict:
        c = self.config
        return dict(num_classes=2, input_size=1, cell=c.cell, hidden=c.hidden, layers=c.layers,
                    bidirectional=c.bidirectional, dropout=c.dropout)

    def parameter_count(self) -> int:
        return SequenceClassifier.parameter_count(**self.model_options())

    def build_model(self, rng) -> SequenceClassifier:
        return SequenceClassifier(**self.model_options(), rng=rng)

    def train_batches(self, rng):
        return padded_batches(*self.splits["train"], self.config.batch_size, rng)

    def batch_size_in_tokens(self, batch) -> int:
        return int(batch.lengths.sum())

    def evaluate(self, model, split="dev", data=None) -> Evaluation:
        inputs, labels = data if data is not None else self.splits[split]
        batches = padded_batches(inputs, labels, 256)
        correct = sum(int((model.logits(b.inputs, b.lengths).argmax(axis=1) == b.labels).sum()) for b in batches)
        return Evaluation({"accuracy": correct / len(labels)})

    def encode_text(self, text: str) -> Example:
        (x,), _ = self._parse(text.splitlines()[:1], "<input>", labelled=False)
        batch = padded_batches([x], np.zeros(1, dtype=np.int64), 1)[0]
        return Example(batch, {"rnn": list(text.split()[0])})

    def predict_lines(self, model, lines: list[str]) -> list[str]:
        inputs, _ = self._parse(lines, "<stdin>", labelled=False)
        out = [""] * len(inputs)
        for b in padded_batches(inputs, np.arange(len(inputs)), 256):
            for i, k in zip(b.labels, model.logits(b.inputs, b.lengths).argmax(axis=1)):
                out[i] = str(k)
        return out

    def predict_file(self, model, path: str) -> list[str]:
        return self.predict_lines(model, read_text(path).splitlines())
