"""``rnnlab train classify``: one label per sequence (many-to-one).

Two kinds of input:
* text: a TSV file with a text column and a label column (by header name, or by 0-based
  index when the file has no header), tokenised into words or characters (Korean too);
* numbers: multivariate series in the UEA/sktime ``.ts`` format, variable length,
  standardised per dimension with statistics of the training part.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnlab.data._files import read_lines
from rnnlab.data.errors import DataError
from rnnlab.data.series import Standardizer
from rnnlab.data.text import looks_headerless, read_labelled_text, read_text, tokenize
from rnnlab.data.ts import parse_ts, read_ts
from rnnlab.data.vocab import Vocab
from rnnlab.errors import ConfigError
from rnnlab.losses import softmax_cross_entropy
from rnnlab.models.classifier import SequenceBatch, SequenceClassifier
from rnnlab.train.config import TrainConfig, option
from rnnlab.train.tasks.base import Evaluation, Example
from rnnlab.train.tasks.common import note, padded_batches, split_off


@dataclass
class ClassifyConfig(TrainConfig):
    train: str = option("", "training file: TSV (text and label columns) or UEA/sktime .ts")
    dev: str = option("", "dev file (empty: hold out dev_fraction of the training file)")
    test: str = option("", "test file (empty: hold out test_fraction of the training file)")
    test_fraction: float = option(0.1, "share of the training file held out as test when no test file is given",
                                  above=0.0, below=1.0)
    dev_fraction: float = option(0.1, "share of the training file held out as dev when no dev file is given",
                                 above=0.0, below=1.0)
    text_col: str = option("document", "text column: header name, or 0-based index for a file without header "
                           "(a two-column file without header, text then label, is recognised)")
    label_col: str = option("label", "label column: header name, or 0-based index")
    tokens: str = option("word", "tokens of a text: words or characters", ("word", "char"))
    min_freq: int = option(1, "keep tokens seen at least this often in training", at_least=1)
    max_vocab: int = option(30000, "at most this many tokens (the rest are <unk>), <pad> and <unk> included",
                            at_least=2)
    max_len: int = option(200, "tokens (or steps) after this many are cut off", at_least=1)
    embed: int = option(64, "token embedding size E (text only)", at_least=1)
    pool: str = option("last", "what the head reads: the final state (the lecture's many-to-one), "
                       "or the mean or max of the outputs over time", ("last", "mean", "max"))

    def validate(self) -> None:
        super().validate()
        if not self.train:
            raise ConfigError("option train must name a file")


DEFAULT_TEXT_COL, DEFAULT_LABEL_COL = "document", "label"


def _column(value: str):
    return int(value) if value.isdigit() else value


class ClassifyTask:
    name = "classify"
    metric = "accuracy"
    higher_is_better = True
    Config = ClassifyConfig

    def __init__(self, config: ClassifyConfig, meta: dict | None = None):
        self.config = config
        self.meta = meta
        self.splits: dict[str, tuple[list[np.ndarray], np.ndarray]] = {}

    # ----- data --------------------------------------------------------------------------

    @property
    def numeric(self) -> bool:
        return Path(self.config.train).suffix.lower() == ".ts"

    def _read(self, path: str, labelled: bool = True):
        """(sequences, labels as str): token lists for text, (T, D) arrays for .ts."""
        if self.numeric:
            series, labels = read_ts(path)
            return [s[: self.config.max_len] for s in series], labels
        text_col, label_col = _column(self.config.text_col), _column(self.config.label_col)
        if (text_col, label_col) == (DEFAULT_TEXT_COL, DEFAULT_LABEL_COL) and looks_headerless(
                read_lines(path), (DEFAULT_TEXT_COL, DEFAULT_LABEL_COL)):
            text_col, label_col = 0, 1
            note(f"{path} has no header row: reading column 0 as the text and column 1 as the label "
                 f"(--text-col and --label-col choose others)")
        texts, labels = read_labelled_text(path, text_col, label_col)
        tokens = [tokenize(text, self.config.tokens)[: self.config.max_len] for text in texts]
        # a text with no token (only spaces or symbols) still gets one step
        return [t if t else ["<unk>"] for t in tokens], labels

    def prepare(self) -> None:
        """Read train/dev/test, build the vocabularies (or statistics) from train only."""
        c = self.config
        train_x, train_y = self._read(c.train)
        if c.test:
            test = self._read(c.test)
        else:  # no test file: hold out a seeded share of the training file
            keep, held = split_off(len(train_x), c.test_fraction, c.seed, salt=54321)
            test = [train_x[i] for i in held], [train_y[i] for i in held]
            train_x, train_y = [train_x[i] for i in keep], [train_y[i] for i in keep]
            note(f"no --test file: holding out {len(held)} of the {len(held) + len(keep)} examples of {c.train} "
                 f"as test (test_fraction {c.test_fraction}, seed {c.seed})")
        if c.dev:
            dev_x, dev_y = self._read(c.dev)
        else:
            keep, held = split_off(len(train_x), c.dev_fraction, c.seed)
            dev_x, dev_y = [train_x[i] for i in held], [train_y[i] for i in held]
            train_x, train_y = [train_x[i] for i in keep], [train_y[i] for i in keep]
        labels = Vocab.labels(train_y)
        if self.numeric:
            stats = Standardizer.fit(np.concatenate(train_x))
            self.meta = {"kind": "ts", "labels": labels.to_dict(), "standardizer": stats.to_dict(),
                         "input_size": int(train_x[0].shape[1])}
        else:
            vocab = Vocab.build(train_x, min_freq=c.min_freq, max_size=c.max_vocab)
            self.meta = {"kind": "text", "labels": labels.to_dict(), "vocab": vocab.to_dict()}
        self.splits["train"] = self._encode(train_x, train_y, c.train)
        self.splits["dev"] = self._encode(dev_x, dev_y, c.dev or c.train)
        self.splits["test"] = self._encode(*test, c.test or c.train)

    def _encode(self, sequences, labels, path):
        label_vocab = Vocab.from_dict(self.meta["labels"])
        try:
            y = label_vocab.encode(labels)
        except ValueError as exc:
            raise DataError(f"{path}: {exc} (labels seen in training: {label_vocab.tokens})") from None
        return self.encode_inputs(sequences), y

    def encode_inputs(self, sequences) -> list[np.ndarray]:
        if self.meta["kind"] == "ts":
            stats = Standardizer.from_dict(self.meta["standardizer"])
            return [stats.transform(s).astype(np.float32) for s in sequences]
        vocab = Vocab.from_dict(self.meta["vocab"])
        return [vocab.encode(tokens) for tokens in sequences]

    def encode_file(self, path: str):
        return self._encode(*self._read(path), path)

    # ----- model and training ----------------------------------------------------------------

    def model_options(self) -> dict:
        """The model's constructor arguments (all but rng), from the config and the data."""
        c, m = self.config, self.meta
        common = dict(num_classes=len(m["labels"]["tokens"]), cell=c.cell, hidden=c.hidden, layers=c.layers,
                      bidirectional=c.bidirectional, dropout=c.dropout, pool=c.pool,
                      recurrent_dropout=c.recurrent_dropout)
        if m["kind"] == "ts":
            return dict(input_size=m["input_size"], **common)
        return dict(vocab_size=len(m["vocab"]["tokens"]), embed=c.embed, **common)

    def parameter_count(self) -> int:
        return SequenceClassifier.parameter_count(**self.model_options())

    def build_model(self, rng, dtype=np.float32) -> SequenceClassifier:
        return SequenceClassifier(**self.model_options(), rng=rng, dtype=dtype)

    def train_batches(self, rng):
        return padded_batches(*self.splits["train"], self.config.batch_size, rng)

    @staticmethod
    def batch_size_in_tokens(batch: SequenceBatch) -> int:
        return int(batch.lengths.sum())

    def evaluate(self, model, split="dev", data=None) -> Evaluation:
        inputs, labels = data if data is not None else self.splits[split]
        correct, total, loss_sum = 0, 0, 0.0
        for batch in padded_batches(inputs, labels, 256):
            logits = model.logits(batch.inputs, batch.lengths)
            loss, _ = softmax_cross_entropy(logits, batch.labels)
            loss_sum += loss * len(batch.labels)
            correct += int((logits.argmax(axis=1) == batch.labels).sum())
            total += len(batch.labels)
        return Evaluation({"accuracy": correct / total, "loss": loss_sum / total})

    # ----- one input, and prediction -------------------------------------------------------

    def _sequences_of_lines(self, lines: list[str], source: str) -> tuple[list, list[str]]:
        """The sequences in text lines as the model reads them, and the labels of their
        steps: one token list per line (text), or the cases of .ts text."""
        if self.meta["kind"] == "ts":
            series, _ = parse_ts(lines, source)
            series = [s[: self.config.max_len] for s in series]
            return series, [str(t) for t in range(1, len(series[0]) + 1)]
        tokens = [tokenize(line, self.config.tokens)[: self.config.max_len] or ["<unk>"] for line in lines]
        return tokens, tokens[0] if tokens else []

    def encode_text(self, text: str) -> Example:
        """The first line of text (a document), or the first case of .ts text."""
        lines = text.splitlines() if self.meta["kind"] == "ts" else text.splitlines()[:1]
        sequences, steps = self._sequences_of_lines(lines, "<input>")
        (x,) = self.encode_inputs(sequences[:1])
        return Example(SequenceBatch(x[None], np.array([len(x)]), np.zeros(1, dtype=np.int64)), {"rnn": steps})

    def predict_lines(self, model, lines: list[str]) -> list[str]:
        """One label per line of text, or per case of .ts text (standard input)."""
        return self._predict(model, self._sequences_of_lines(lines, "<stdin>")[0])

    def predict_file(self, model, path: str) -> list[str]:
        """One label per case of a .ts file, or per line of a text file."""
        if self.meta["kind"] == "ts":
            series, _ = read_ts(path)
            return self._predict(model, [s[: self.config.max_len] for s in series])
        return self.predict_lines(model, read_text(path).splitlines())

    def _predict(self, model, sequences) -> list[str]:
        labels = Vocab.from_dict(self.meta["labels"])
        inputs = self.encode_inputs(sequences)
        out = [""] * len(inputs)
        for batch in padded_batches(inputs, np.arange(len(inputs)), 256):  # labels: each input's index
            for i, k in zip(batch.labels, model.logits(batch.inputs, batch.lengths).argmax(axis=1)):
                out[i] = labels.tokens[k]
        return out
