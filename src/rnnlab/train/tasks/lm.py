"""``rnnlab train lm``: a character-level language model, trained by stateful truncated BPTT.

Data: one text file (``data``). Its end is held out: the last ``dev_fraction +
test_fraction`` of its characters, dev first and test after it (defaults 5 % + 5 %: the
conventional last 10 % of Tiny Shakespeare, halved). The vocabulary is the set of
characters of the whole file (as in char-rnn), so a character that happens to occur only
in the held-out part is still scored; a character outside it in an eval file, a predicted
line or a prime is an error that names it.

Training (char-rnn style): the training text, from a random offset below ``seq_len`` drawn
each epoch (so chunk boundaries move), is cut into ``batch_size`` contiguous streams; batch k
holds characters [k T, (k + 1) T) of every stream (T = ``seq_len``) and starts from the
state in which batch k - 1 ended (the trainer's ``carry``; zeros at the start of an epoch),
except that a stream restarts from zeros with probability ``state_reset``, so the model
also learns to read from the zero state in which evaluation, scoring and sampling begin.

Metrics: ``loss`` is the mean cross-entropy in nats per character, ``bpc`` = loss / ln 2
bits per character. Dev, test and ``rnnlab eval DIR --data FILE`` read their text as one
stream (zero state before its first character, which is not scored), in chunks that carry
the state, so the number does not depend on how the text is cut.

``rnnlab predict DIR [FILE]``: one number per line of the input, the model's loss in
nats/char on that line read on its own: from a zero state fed a newline, it predicts each
character of the line and the newline that ends it (so an empty line scores one
prediction). ``rnnlab eval DIR --data FILE`` gives the loss of a whole file instead.

``rnnlab generate DIR --prime TEXT``: the model reads the prime, then samples characters
one at a time from softmax(logits / temperature); the output is the prime followed by them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rnnlab.data.batching import pad
from rnnlab.data.errors import DataError
from rnnlab.data.text import read_text
from rnnlab.data.vocab import Vocab
from rnnlab.errors import ConfigError
from rnnlab.losses import log_softmax
from rnnlab.models.charlm import CharLM, StreamBatch
from rnnlab.train.config import TrainConfig, option
from rnnlab.train.tasks.base import Evaluation, Example

EVAL_CHUNK = 2000  # characters per forward pass when evaluating a long text (state carried)
PREDICT_BATCH = 256  # lines scored together by predict


@dataclass
class LMConfig(TrainConfig):
    data: str = option("", "text file (UTF-8, .gz read too); its last characters are held out as dev, then test")
    dev_fraction: float = option(0.05, "share of the characters held out as dev (just before the test part)",
                                 above=0.0, below=1.0)
    test_fraction: float = option(0.05, "share of the characters held out as test (the end of the text)",
                                  above=0.0, below=1.0)
    seq_len: int = option(100, "characters per stream in one batch: the length T of truncated BPTT", at_least=1)
    embed: int = option(64, "character embedding size", at_least=1)
    state_reset: float = option(0.05, "chance that a stream starts a training batch from the zero state "
                                "(where evaluation, scoring and sampling start) instead of its carried state",
                               at_least=0.0, at_most=1.0)
    batch_size: int = option(32, "parallel streams the training text is cut into (rows of a batch)", at_least=1)

    def validate(self) -> None:
        super().validate()
        if not self.data:
            raise ConfigError("option data must name a text file")
        if self.bidirectional:
            raise ConfigError("option bidirectional must be false: a language model reads left to right")
        if self.dev_fraction + self.test_fraction >= 1:
            raise ConfigError(f"options dev_fraction and test_fraction must have a sum below 1, "
                              f"got {self.dev_fraction} and {self.test_fraction}")


def stream_batches(ids: np.ndarray, batch_size: int, seq_len: int, offset: int = 0) -> list[StreamBatch]:
    """Cut ids[offset:] into ``batch_size`` contiguous streams and those into (x, y) batches.

    Stream r is ids[offset + r S : offset + (r + 1) S + 1] with S = (len - offset - 1) // N;
    batch k is x = streams[:, k T : (k + 1) T], y = the characters one step later, each (N, T).
    The tail that does not fill a whole batch is dropped.

    >>> [(b.x.tolist(), b.y.tolist()) for b in stream_batches(np.arange(9), 2, 2)]
    [([[0, 1], [4, 5]], [[1, 2], [5, 6]]), ([[2, 3], [6, 7]], [[3, 4], [7, 8]])]
    """
    data = ids[offset:]
    S = (len(data) - 1) // batch_size
    x = data[: batch_size * S].reshape(batch_size, S)
    y = data[1 : batch_size * S + 1].reshape(batch_size, S)
    return [StreamBatch(x[:, k : k + seq_len], y[:, k : k + seq_len]) for k in range(0, S - seq_len + 1, seq_len)]


class LanguageModelTask:
    """Character language model: next-character prediction, sampling, text scoring."""

    name = "lm"
    metric = "loss"
    higher_is_better = False
    Config = LMConfig

    def __init__(self, config: LMConfig, meta: dict | None = None):
        self.config = config
        self.meta = meta
        self.splits: dict[str, np.ndarray] = {}

    # ----- data --------------------------------------------------------------------------

    def prepare(self) -> None:
        """Read the text, build the vocabulary, cut off dev and test at its end."""
        c = self.config
        text = read_text(c.data)
        n = len(text)
        n_test = round(n * c.test_fraction)
        n_dev = round(n * c.dev_fraction)
        n_train = n - n_dev - n_test
        need = c.batch_size * c.seq_len + 1
        if n_train < need or min(n_dev, n_test) < 2:
            raise DataError(f"{c.data}: {n} characters are too few: the training part ({n_train}) needs at least "
                            f"batch_size * seq_len + 1 = {need}, dev ({n_dev}) and test ({n_test}) at least 2 each")
        parts = {"train": text[:n_train], "dev": text[n_train : n - n_test], "test": text[n - n_test :]}
        self.meta = {"chars": sorted(set(text)), "characters": {k: len(v) for k, v in parts.items()}}
        self.splits = {split: self._encode(part, c.data) for split, part in parts.items()}

    def _vocab(self) -> Vocab:
        return Vocab(self.meta["chars"])

    def _encode(self, text: str, where: str, name_line: bool = True) -> np.ndarray:
        """Characters -> ids (T,) int64. A character outside the vocabulary is a DataError that
        names ``where``, the line of the first such character (if ``name_line``) and them all."""
        vocab = self._vocab()
        unseen = sorted(set(text) - set(vocab.tokens))
        if unseen:
            if name_line:
                first = min(text.index(ch) for ch in unseen)
                line = text.count("\n", 0, first) + 1
                where = f"{where}, line {line}"
            shown = ", ".join(repr(ch) for ch in unseen[:10]) + (", ..." if len(unseen) > 10 else "")
            raise DataError(f"{where}: characters never seen in training: {shown}")
        return vocab.encode(text)

    def encode_file(self, path: str) -> np.ndarray:
        """A whole text file as ids (T,) for ``evaluate(model, data=...)``."""
        ids = self._encode(read_text(path), str(path))
        if len(ids) < 2:
            raise DataError(f"{path}: a language model needs at least 2 characters to score, got {len(ids)}")
        return ids

    # ----- model and training ----------------------------------------------------------------

    def model_options(self) -> dict:
        """The model's constructor arguments (all but rng), from the config and the data."""
        c = self.config
        return dict(vocab_size=len(self.meta["chars"]), embed=c.embed, cell=c.cell, hidden=c.hidden,
                    layers=c.layers, dropout=c.dropout, state_reset=c.state_reset,
                    recurrent_dropout=c.recurrent_dropout)

    def parameter_count(self) -> int:
        return CharLM.parameter_count(**self.model_options())

    def build_model(self, rng, dtype=np.float32) -> CharLM:
        return CharLM(**self.model_options(), rng=rng, dtype=dtype)

    def train_batches(self, rng) -> list[StreamBatch]:
        """One epoch's batches in stream order (they must not be shuffled: each continues the
        last); a random offset below seq_len moves the chunk boundaries every epoch."""
        c = self.config
        ids = self.splits["train"]
        max_offset = min(c.seq_len - 1, len(ids) - 1 - c.batch_size * c.seq_len)
        offset = int(rng.integers(0, max_offset + 1))
        return stream_batches(ids, c.batch_size, c.seq_len, offset)

    @staticmethod
    def batch_size_in_tokens(batch: StreamBatch) -> int:
        return int(batch.y.size)

    def evaluate(self, model, split="dev", data=None) -> Evaluation:
        """{"loss": nats/char, "bpc": bits/char} of a whole text read as one stream."""
        ids = data if data is not None else self.splits[split]
        loss = stream_loss(model, ids)
        return Evaluation({"loss": loss, "bpc": loss / math.log(2)})

    def encode_text(self, text: str) -> Example:
        """The text's characters, read from the zero state; each step labelled by its character."""
        ids = self._encode(text, "<input>")
        return Example(StreamBatch(ids[None], None), {"rnn": list(text)})

    def predict_lines(self, model, lines: list[str]) -> list[str]:
        """Per line: the loss (nats/char) of the line and its newline, read after a newline."""
        return self._score_lines(model, lines, "input")

    def predict_file(self, model, path: str) -> list[str]:
        return self._score_lines(model, read_text(path).splitlines(), str(path))

    def _score_lines(self, model, lines: list[str], where: str) -> list[str]:
        texts = [self._encode("\n" + line + "\n", f"{where}, line {k + 1}", name_line=False)
                 for k, line in enumerate(lines)]
        scores = np.zeros(len(texts))
        for start in range(0, len(texts), PREDICT_BATCH):
            chunk = texts[start : start + PREDICT_BATCH]
            x, lengths = pad([t[:-1] for t in chunk])
            y, _ = pad([t[1:] for t in chunk])
            logits, _ = model.logits(x, lengths=lengths)
            log_p = np.take_along_axis(log_softmax(logits.astype(np.float64)), y[..., None], axis=2)[..., 0]
            counted = np.arange(x.shape[1])[None, :] < lengths[:, None]
            scores[start : start + len(chunk)] = -(log_p * counted).sum(axis=1) / lengths
        return [f"{s:.4f}" for s in scores]

    # ----- sampling --------------------------------------------------------------------------

    def generate(self, model, prime: str, length: int, temperature: float, rng) -> str:
        """The prime followed by ``length`` sampled characters (same rng state, same text)."""
        if not prime:
            raise ConfigError("--prime must hold at least one character")
        ids = self._encode(prime, "the prime", name_line=False)
        chars = self.meta["chars"]
        logits, carry = model.logits(ids[None, :])  # warm the state on the prime
        out = []
        for _ in range(length):
            k = sample(logits[0, -1], temperature, rng)
            out.append(chars[k])
            logits, carry = model.logits(np.array([[k]]), carry)  # one step, state in, state out
        return prime + "".join(out)


def stream_loss(model, ids: np.ndarray, chunk: int = EVAL_CHUNK) -> float:
    """Mean -log p(ids[t+1] | ids[:t+1]) over t, read as one stream in chunks (state carried)."""
    total, carry = 0.0, None
    for start in range(0, len(ids) - 1, chunk):
        x = ids[start : start + chunk]
        y = ids[start + 1 : start + chunk + 1]
        x = x[: len(y)]
        logits, carry = model.logits(x[None, :], carry)
        log_p = log_softmax(logits[0].astype(np.float64))
        total -= float(log_p[np.arange(len(y)), y].sum())
    return total / (len(ids) - 1)


def sample(logits: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """One id drawn from softmax(logits / temperature); logits (V,)."""
    with np.errstate(under="ignore"):  # a vanishing probability is 0
        p = np.exp(log_softmax(logits.astype(np.float64) / temperature))
    return int(rng.choice(len(p), p=p / p.sum()))
