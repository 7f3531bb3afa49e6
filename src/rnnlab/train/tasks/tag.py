"""``rnnlab train tag``: a part-of-speech tag for every word (many-to-many), from CoNLL-U.

Input is the FORM column of a treebank (``.conllu`` or ``.conllu.gz``), the target its UPOS
(17 universal tags, default) or XPOS column (``--column xpos``). The model sees each word
through a word embedding and through a character BiRNN over its spelling, so words never
seen in training still get a good guess (see ``rnnlab.models.tagger``).

Prediction takes sentences already split into tokens: one sentence per line, tokens
separated by whitespace, and prints one line of tags per line (an empty line gives an empty
line); or a ``.conllu`` file, printing one line of tags per sentence.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from rnnlab.data.batching import pad
from rnnlab.data.conllu import TAG_COLUMNS, read_conllu
from rnnlab.data.errors import DataError, data_error
from rnnlab.data.text import read_text
from rnnlab.data.vocab import Vocab
from rnnlab.errors import ConfigError
from rnnlab.losses import softmax_cross_entropy
from rnnlab.models.tagger import TagBatch, Tagger, real_positions
from rnnlab.train.config import TrainConfig, option
from rnnlab.train.tasks.base import Evaluation, Example
from rnnlab.train.tasks.common import padded_batches, split_off

EVAL_BATCH = 128  # sentences per batch when evaluating or predicting


@dataclass
class TagConfig(TrainConfig):
    train: str = option("", "training treebank (.conllu or .conllu.gz)")
    dev: str = option("", "dev treebank (empty: hold out dev_fraction of the training sentences)")
    test: str = option("", "test treebank")
    dev_fraction: float = option(0.1, "share of the training sentences held out as dev when no dev file is given",
                                 above=0.0, below=1.0)
    column: str = option("upos", "the tag to predict: universal (UPOS) or treebank-specific (XPOS)", TAG_COLUMNS)
    bidirectional: bool = option(True, "also read each sentence backwards")
    embed: int = option(100, "word embedding size E", at_least=1)
    char_embed: int = option(32, "character embedding size", at_least=1)
    char_hidden: int = option(64, "hidden size of each direction of the character BiRNN", at_least=1)
    max_word_chars: int = option(20, "a longer word keeps its first and last max_word_chars/2 characters",
                                 at_least=1)
    min_freq: int = option(1, "keep words seen at least this often in training (the rest are <unk>)", at_least=1)
    max_vocab: int = option(50000, "at most this many words (the rest are <unk>), <pad> and <unk> included",
                            at_least=2)
    lowercase: bool = option(True, "lowercase words for the word vocabulary (characters keep their case)")
    word_dropout: float = option(0.25, "a training word seen c times becomes <unk> with probability "
                                       "word_dropout / (word_dropout + c): rare words most often (0: never)", at_least=0.0)

    def validate(self) -> None:
        super().validate()
        if not self.train or not self.test:
            raise ConfigError("options train and test must name files")


@dataclass
class TagData:
    """One encoded split. ``columns[i]`` (T_i, 3) holds sentence i's word ids, form ids and
    tag ids (0 when unlabelled); form id k is the split's k-th distinct form, whose
    character ids are ``form_chars[k]`` (L_k,)."""

    columns: list[np.ndarray]
    form_chars: list[np.ndarray]


class TagTask:
    """tag every word of a sentence (part of speech), from CoNLL-U treebanks"""

    name = "tag"
    metric = "accuracy"
    higher_is_better = True
    Config = TagConfig

    def __init__(self, config: TagConfig, meta: dict | None = None):
        self.config = config
        self.meta = meta
        self.splits: dict[str, TagData] = {}
        self._eval_batches: dict[str, list[TagBatch]] = {}

    # ----- data --------------------------------------------------------------------------

    def _word_key(self, form: str) -> str:
        return form.lower() if self.config.lowercase else form

    def _spelling(self, form: str) -> str:
        """The characters the character RNN reads: long words keep their two ends."""
        k = self.config.max_word_chars
        return form if len(form) <= k else form[: k // 2] + form[len(form) - (k - k // 2):]

    def prepare(self) -> None:
        """Read train/dev/test, build the vocabularies from train only."""
        c = self.config
        train = read_conllu(c.train, c.column)
        if c.dev:
            dev = read_conllu(c.dev, c.column)
        else:
            keep, held = split_off(len(train), c.dev_fraction, c.seed)
            train, dev = [train[i] for i in keep], [train[i] for i in held]
        keys = [[self._word_key(w) for w in s.words] for s in train]
        words = Vocab.build(keys, min_freq=c.min_freq, max_size=c.max_vocab)
        counts = Counter(k for sentence in keys for k in sentence)
        chars = Vocab.build([self._spelling(w) for s in train for w in s.words])
        tags = Vocab.labels(t for s in train for t in s.tags)
        self.meta = {"words": words.to_dict(), "chars": chars.to_dict(), "tags": tags.to_dict(),
                     "word_counts": [0 if w in words.specials else counts[w] for w in words.tokens]}
        self.splits["train"] = self._encode([s.words for s in train], [s.tags for s in train], c.train)
        self.splits["dev"] = self._encode([s.words for s in dev], [s.tags for s in dev], c.dev or c.train,
                                          [s.lines for s in dev])
        self.splits["test"] = self.encode_file(c.test)

    def encode_file(self, path: str) -> TagData:
        """A labelled treebank, encoded with the training vocabularies (for ``rnnlab eval``)."""
        sentences = read_conllu(path, self.config.column)
        return self._encode([s.words for s in sentences], [s.tags for s in sentences], path,
                            [s.lines for s in sentences])

    def _encode(self, sentences: list[list[str]], tags: list[list[str]] | None, path: str,
                lines: list[list[int]] | None = None) -> TagData:
        """Ids of every sentence; ``lines[k][t]``, the file line of word t of sentence k,
        names where an unseen tag is."""
        words = Vocab.from_dict(self.meta["words"])
        chars = Vocab.from_dict(self.meta["chars"])
        tag_vocab = Vocab.from_dict(self.meta["tags"])
        form_ids: dict[str, int] = {}
        form_chars: list[np.ndarray] = []
        columns = []
        for k, sentence in enumerate(sentences):
            for form in sentence:
                if form not in form_ids:
                    form_ids[form] = len(form_chars)
                    spelling = self._spelling(form)  # an empty form reads as one <unk> character
                    form_chars.append(chars.encode(spelling) if spelling else np.array([chars.unk_id]))
            word_col = words.encode(self._word_key(w) for w in sentence)
            form_col = np.array([form_ids[w] for w in sentence], dtype=np.int64)
            tag_col = np.zeros(len(sentence), dtype=np.int64) if tags is None else self._tag_ids(
                tag_vocab, tags[k], path, lines[k] if lines else None)
            columns.append(np.stack([word_col, form_col, tag_col], axis=1))
        return TagData(columns, form_chars)

    def _tag_ids(self, tag_vocab: Vocab, tags: list[str], path: str, lines: list[int] | None) -> np.ndarray:
        ids = [tag_vocab.id_of(t) for t in tags]
        if None in ids:
            t = ids.index(None)
            raise data_error(path, f"the {self.config.column.upper()} tag {tags[t]!r} was never seen in training "
                             f"(known tags: {' '.join(tag_vocab.tokens)})", lines[t] if lines else None)
        return np.array(ids, dtype=np.int64)

    def _batches(self, data: TagData, batch_size: int, rng=None) -> list[tuple[TagBatch, np.ndarray]]:
        """Length-grouped (batch, indices of its sentences in ``data``); shuffled with ``rng``.

        Each batch spells its distinct forms once, for the character RNN, and ``form_index``
        points every position at its form's row."""
        batches = []
        for padded in padded_batches(data.columns, np.arange(len(data.columns)), batch_size, rng):
            columns, lengths, idx = padded.inputs, padded.lengths, padded.labels  # labels: sentence indices
            forms = columns[:, :, 1]
            real = real_positions(lengths, forms.shape[1])
            distinct, inverse = np.unique(forms[real], return_inverse=True)
            form_index = np.zeros_like(forms)
            form_index[real] = inverse
            chars, char_lengths = pad([data.form_chars[f] for f in distinct])
            batches.append((TagBatch(columns[:, :, 0], lengths, columns[:, :, 2], form_index, chars, char_lengths),
                            idx))
        return batches

    # ----- model and training ----------------------------------------------------------------

    def model_options(self) -> dict:
        """The model's constructor arguments (all but rng and the word dropout table)."""
        c, m = self.config, self.meta
        return dict(vocab_size=len(m["words"]["tokens"]), num_chars=len(m["chars"]["tokens"]),
                    num_tags=len(m["tags"]["tokens"]), embed=c.embed, char_embed=c.char_embed,
                    char_hidden=c.char_hidden, cell=c.cell, hidden=c.hidden, layers=c.layers,
                    bidirectional=c.bidirectional, dropout=c.dropout,
                    recurrent_dropout=c.recurrent_dropout)

    def parameter_count(self) -> int:
        return Tagger.parameter_count(**self.model_options())

    def build_model(self, rng: np.random.Generator, dtype=np.float32) -> Tagger:
        c, m = self.config, self.meta
        # word dropout by frequency (Kiperwasser & Goldberg 2016): alpha / (alpha + count),
        # so words seen once or twice stand in for the unseen words of test time
        counts = np.array(m["word_counts"], dtype=np.float64)
        p_word = np.divide(c.word_dropout, c.word_dropout + counts, out=np.zeros_like(counts), where=counts > 0)
        return Tagger(**self.model_options(), word_dropout=p_word, rng=rng, dtype=dtype)

    def train_batches(self, rng: np.random.Generator) -> list[TagBatch]:
        return [batch for batch, _ in self._batches(self.splits["train"], self.config.batch_size, rng)]

    @staticmethod
    def batch_size_in_tokens(batch: TagBatch) -> int:
        return int(batch.lengths.sum())

    def evaluate(self, model: Tagger, split: str = "dev", data: TagData | None = None) -> Evaluation:
        """Token accuracy and mean cross-entropy over every real word of the split (or ``data``)."""
        if data is not None:
            batches = [b for b, _ in self._batches(data, EVAL_BATCH)]
        else:
            if split not in self._eval_batches:
                self._eval_batches[split] = [b for b, _ in self._batches(self.splits[split], EVAL_BATCH)]
            batches = self._eval_batches[split]
        correct, total, loss_sum = 0, 0, 0.0
        for batch in batches:
            logits = model.logits(batch)
            real = real_positions(batch.lengths, logits.shape[1])
            loss, _ = softmax_cross_entropy(logits, batch.tags, mask=real)
            count = int(real.sum())
            loss_sum += loss * count
            correct += int(((logits.argmax(axis=2) == batch.tags) & real).sum())
            total += count
        return Evaluation({"accuracy": correct / total, "loss": loss_sum / total})

    def encode_text(self, text: str) -> Example:
        """The first line's whitespace-separated tokens, as one sentence."""
        words = text.splitlines()[0].split() if text.strip() else []
        if not words:
            raise DataError("<input>: no words to tag")
        ((batch, _),) = self._batches(self._encode([words], None, "<input>"), 1)
        return Example(batch, {"rnn": words})

    def predict_lines(self, model: Tagger, lines: list[str]) -> list[str]:
        """One line of space-separated tags per line of whitespace-separated tokens."""
        return self._predict(model, [line.split() for line in lines])

    def predict_file(self, model: Tagger, path: str) -> list[str]:
        """Tags for a ``.conllu`` file, tagged or not (one line per sentence), or a text file
        of whitespace-separated tokens (one line per line)."""
        if path.lower().endswith((".conllu", ".conllu.gz")):
            sentences = read_conllu(path, self.config.column, require_tags=False)
            return self._predict(model, [s.words for s in sentences])
        return self.predict_lines(model, read_text(path).splitlines())

    def _predict(self, model: Tagger, sentences: list[list[str]]) -> list[str]:
        tags = Vocab.from_dict(self.meta["tags"])
        out = [""] * len(sentences)
        todo = [k for k, s in enumerate(sentences) if s]
        if not todo:
            return out
        data = self._encode([sentences[k] for k in todo], None, "<input>")
        for batch, idx in self._batches(data, EVAL_BATCH):
            best = model.logits(batch).argmax(axis=2)
            for row, i in enumerate(idx):
                out[todo[i]] = " ".join(tags.decode(best[row, : batch.lengths[row]]))
        return out
