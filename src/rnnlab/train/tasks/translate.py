"""``rnnlab train translate``: sentence pairs -> an encoder-decoder LSTM (or GRU, RNN) with attention, BLEU.

Data: one TSV file of sentence pairs, no header (UTF-8, ``.gz`` read too). ``src_col`` and
``tgt_col`` name the 0-based columns: ``eng_fra_tatoeba/fra.txt.gz`` is ``english \\t french``
(English to French: 0 and 1); ``kor_eng_tatoeba/kor.txt`` is ``english \\t korean \\t
attribution`` (Korean to English: 1 and 0). A line without the named columns is an error
naming the file and line.

Preparation, in this order: keep the pairs whose source and target both have at most
``max_words`` whitespace-separated words; shuffle them with ``split_seed`` (not ``seed``, so
runs with different initialisations share one split); the first ``test_size`` pairs are
test, the next ``dev_size`` dev, the rest train. Sentences are lowercased and cut into
words and punctuation marks (``rnnlab.data.text.tokenize``; "J'ai" -> j ' ai), into
characters (``src_tokens`` / ``tgt_tokens = "char"``), or into subword units
(``"subword"``: a SentencePiece unigram model of at most ``src_subwords`` /
``tgt_subwords`` pieces learnt from that side's training sentences, ``rnnlab.data.subwords``;
e.g. "학생이다" -> ▁학생 이다; the model travels in the run's checkpoint). Vocabularies (one per
language, from train only, ``<pad> <unk> <bos> <eos>`` first) keep word and character tokens
seen at least ``min_freq`` times, at most ``max_vocab`` entries, and every subword unit;
anything else reads as ``<unk>``.

The model reads at most ``max_len`` source tokens: a longer sentence is cut to its first
``max_len`` tokens (``rnnlab translate`` says so on stderr). Translations are at most
``1.5 * (longest training target) + 5`` tokens long.

Metrics (dev after every epoch, test at the end): ``bleu``, corpus BLEU of the beam search
translations (width ``beam``, GNMT length normalisation with ``alpha``); ``bleu_greedy``,
the same for greedy decoding; ``loss``, the teacher-forced cross-entropy per target token.
BLEU is sacrebleu's ``corpus_bleu`` with its default 13a tokenisation and ``lowercase=True``
(the model writes lowercase), comparing the *detokenised* output (tokens joined by spaces,
the spaces around apostrophes and hyphens and before . , ! ? ; : ) removed: "j ' ai faim !"
-> "j'ai faim!"; characters joined as they are; subword units joined by SentencePiece) with
the *raw* reference sentence of the file. The end of a run also writes
DIR/bleu_by_length.json and .png: test BLEU per bucket of source length in words
(``rnnlab.analysis.bleu_by_length`` overlays several runs, e.g. with and without attention).

``rnnlab predict DIR FILE`` and ``rnnlab translate DIR [SENTENCE]`` translate one sentence
per line; an empty line gives an empty line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from rnnlab.data.batching import length_bucketed_batches, pad
from rnnlab.data.errors import DataError
from rnnlab.data.subwords import Subwords
from rnnlab.data.text import read_labelled_text, read_text, tokenize
from rnnlab.data.vocab import Vocab
from rnnlab.errors import ConfigError
from rnnlab.models.decoding import beam_search, greedy_decode
from rnnlab.models.seq2seq import ATTENTION, Seq2Seq, Seq2SeqBatch
from rnnlab.train.config import TrainConfig, option
from rnnlab.train.tasks.base import Evaluation, Example

TOKENS = ("word", "char", "subword")
EVAL_BATCH = 200  # sentences decoded together
GLUE = re.compile(r" ?(['’\-]) ?")  # detokenising: "j ' ai" -> "j'ai", "es - tu" -> "es-tu"
GLUE_LEFT = re.compile(r" ([.,!?;:)])")  # "mort ." -> "mort."


@dataclass
class TranslateConfig(TrainConfig):
    data: str = option("", "TSV file of sentence pairs, no header (UTF-8; .gz read too)")
    src_col: int = option(0, "0-based column of the source sentence", at_least=0)
    tgt_col: int = option(1, "0-based column of the target sentence", at_least=0)
    max_words: int = option(10, "keep pairs whose two sentences have at most this many words (0: all)", at_least=0)
    test_size: int = option(2000, "pairs held out as the test split (drawn with split_seed)", at_least=1)
    dev_size: int = option(1000, "pairs held out as the dev split", at_least=1)
    split_seed: int = option(0, "random seed of the train/dev/test split", at_least=0)
    src_tokens: str = option("word", "source tokens: words and punctuation, characters, or subword units "
                             "learnt from train (SentencePiece unigram)", TOKENS)
    tgt_tokens: str = option("word", "target tokens: words and punctuation, characters, or subword units", TOKENS)
    src_subwords: int = option(8000, "at most this many source subword units (with src_tokens = subword)",
                               at_least=8)
    tgt_subwords: int = option(8000, "at most this many target subword units (with tgt_tokens = subword)",
                               at_least=8)
    min_freq: int = option(1, "keep tokens seen at least this often in training (the rest are <unk>)", at_least=1)
    max_vocab: int = option(30000, "at most this many tokens per language, specials included", at_least=4)
    max_len: int = option(60, "the model reads at most this many source tokens (the rest are cut off)", at_least=1)
    embed: int = option(256, "token embedding size E (both languages)", at_least=1)
    attention: str = option("general", "Luong attention score, or none: the plain encoder-decoder", ATTENTION)
    beam: int = option(5, "beam width for the bleu metric and for translating (1: greedy)", at_least=1)
    alpha: float = option(0.6, "beam search length normalisation: log p / ((5 + length) / 6) ** alpha", at_least=0.0)

    def validate(self) -> None:
        super().validate()
        if not self.data:
            raise ConfigError("option data must name a TSV file of sentence pairs")
        if self.src_col == self.tgt_col:
            raise ConfigError(f"options src_col and tgt_col must be two different columns, "
                              f"got {self.src_col} and {self.tgt_col}")
        if self.bidirectional and self.hidden % 2:
            raise ConfigError(f"option hidden must be even with a bidirectional encoder, got {self.hidden}")


@dataclass
class Translations:
    """What translating a split produced: the beam and greedy translations, the raw reference
    sentences and each source's length in words, all in the split's order (what
    ``rnnlab.analysis.bleu_by_length`` buckets)."""

    beam: list[str]
    greedy: list[str]
    refs: list[str]
    src_words: np.ndarray


@dataclass
class Pairs:
    """One encoded split: src[i] (T_i,) and tgt[i] (S_i,) token ids, the raw reference
    sentences, each source's length in words, and the raw source sentences."""

    src: list[np.ndarray]
    tgt: list[np.ndarray]
    refs: list[str]
    src_words: np.ndarray
    sources: list[str]


def detokenize(tokens: list[str], level: str) -> str:
    """Tokens back to text: characters joined; words joined by spaces, except around ' and -
    and before . , ! ? ; : ) (French puts a space before ! and ?; 13a splits them off either way)."""
    if level == "char":
        return "".join(tokens)
    return GLUE_LEFT.sub(r"\1", GLUE.sub(r"\1", " ".join(tokens)))


def corpus_bleu(hypotheses: list[str], references: list[str] | list[list[str]]) -> float:
    """sacrebleu corpus BLEU (13a tokenisation, case-insensitive), 0..100.

    ``references``: one sentence per hypothesis, or a list of them per hypothesis (any
    number, at least one each): sacrebleu takes equally long reference streams, so shorter
    lists are padded with their first sentence, which changes neither the clipped n-gram
    counts (a maximum over the references) nor the closest reference length.
    """
    import sacrebleu

    if not references or isinstance(references[0], str):
        return float(sacrebleu.corpus_bleu(hypotheses, [references], lowercase=True).score)
    width = max(len(refs) for refs in references)
    streams = [[refs[k] if k < len(refs) else refs[0] for refs in references] for k in range(width)]
    return float(sacrebleu.corpus_bleu(hypotheses, streams, lowercase=True).score)


class TranslateTask:
    """translate sentences with an encoder-decoder LSTM, GRU or RNN (attention, beam search), from TSV pairs"""

    name = "translate"
    metric = "bleu"
    higher_is_better = True
    Config = TranslateConfig

    def __init__(self, config: TranslateConfig, meta: dict | None = None):
        self.config = config
        self.meta = meta
        self.splits: dict[str, Pairs] = {}
        self.subwords: dict[str, Subwords] = {}  # by side, where the tokens are subword units
        if meta is not None:
            self._vocabs()

    def _vocabs(self) -> None:
        self.src_vocab = Vocab.from_dict(self.meta["src_vocab"])
        self.tgt_vocab = Vocab.from_dict(self.meta["tgt_vocab"])
        self.subwords = {side: Subwords.from_json(self.meta["subwords"][side])
                         for side in self.meta.get("subwords", {})}

    # ----- data --------------------------------------------------------------------------

    def _level(self, side: str) -> str:
        return self.config.src_tokens if side == "src" else self.config.tgt_tokens

    def _cut(self, sentence: str, side: str) -> list[str]:
        """A sentence of side "src" or "tgt" as that side's tokens."""
        level = self._level(side)
        if level == "subword":
            return self.subwords[side].pieces(sentence)
        return tokenize(sentence, level)

    def _join(self, tokens: list[str]) -> str:
        """Target tokens back to a sentence."""
        if self.config.tgt_tokens == "subword":
            return self.subwords["tgt"].join(tokens)
        return detokenize(tokens, self.config.tgt_tokens)

    def source_tokens(self, sentence: str) -> list[str]:
        """All tokens of a source sentence (before the max_len cut)."""
        return self._cut(sentence, "src")

    def read_pairs(self, path: str | None = None) -> tuple[list[str], list[str]]:
        """The raw (sources, targets) of a TSV file in the run's columns (default: its data),
        every line, no length filter."""
        return read_labelled_text(path or self.config.data, self.config.src_col, self.config.tgt_col)

    def prepare(self) -> None:
        """Read the pairs, filter by length, split, build the vocabularies from train only."""
        c = self.config
        sources, targets = self.read_pairs(c.data)
        if c.max_words:
            keep = [i for i, (s, t) in enumerate(zip(sources, targets))
                    if len(s.split()) <= c.max_words and len(t.split()) <= c.max_words]
            sources, targets = [sources[i] for i in keep], [targets[i] for i in keep]
        held = c.test_size + c.dev_size
        if held >= len(sources):
            raise ConfigError(f"{c.data}: {len(sources)} pairs of at most {c.max_words or 'any'} words, "
                              f"too few for test_size {c.test_size} + dev_size {c.dev_size} and a training part")
        order = np.random.default_rng([c.split_seed, 4]).permutation(len(sources))
        parts = {"test": order[: c.test_size], "dev": order[c.test_size : held], "train": order[held:]}
        texts = {name: ([sources[i] for i in idx], [targets[i] for i in idx]) for name, idx in parts.items()}
        sizes = {"src": c.src_subwords, "tgt": c.tgt_subwords}
        self.subwords = {side: Subwords.learn(texts["train"][k], sizes[side], what=f"{c.data} ({side})")
                         for k, side in enumerate(("src", "tgt")) if self._level(side) == "subword"}
        train_src = [self._cut(s, "src")[: c.max_len] for s in texts["train"][0]]
        train_tgt = [self._cut(t, "tgt") for t in texts["train"][1]]
        self.meta = {
            "src_vocab": self._vocab(train_src, "src").to_dict(),
            "tgt_vocab": self._vocab(train_tgt, "tgt").to_dict(),
            "max_target_len": max(len(t) for t in train_tgt),
            "pairs": {name: len(idx) for name, idx in parts.items()},
            "subwords": {side: pieces.to_json() for side, pieces in self.subwords.items()},
        }
        self._vocabs()
        self.splits = {name: self._encode(*texts[name]) for name in ("train", "dev", "test")}

    def _vocab(self, sentences: list[list[str]], side: str) -> Vocab:
        """A side's vocabulary from its training tokens; subword units are all kept (the
        segmentation already chose them by frequency; ``min_freq`` and ``max_vocab`` apply
        to words and characters)."""
        c = self.config
        if self._level(side) == "subword":
            return Vocab.build(sentences, min_freq=1, max_size=None, bos_eos=True)
        return Vocab.build(sentences, min_freq=c.min_freq, max_size=c.max_vocab, bos_eos=True)

    def encode_sources(self, sentences: list[str]) -> list[np.ndarray]:
        """Source ids of each sentence, cut to the first ``max_len`` tokens."""
        return [self.src_vocab.encode(self.source_tokens(s)[: self.config.max_len] or ["<unk>"])
                for s in sentences]

    def _encode(self, sources: list[str], targets: list[str]) -> Pairs:
        tgt = [self.tgt_vocab.encode(self._cut(t, "tgt")) for t in targets]
        words = np.array([len(s.split()) for s in sources], dtype=np.int64)
        return Pairs(self.encode_sources(sources), tgt, list(targets), words, list(sources))

    def encode_file(self, path: str) -> Pairs:
        """Every pair of a TSV file in the training data's columns (no length filter)."""
        return self._encode(*self.read_pairs(path))

    # ----- model and training ------------------------------------------------------------------

    def model_options(self) -> dict:
        """The model's constructor arguments (all but rng), from the config and the data."""
        c = self.config
        return dict(src_vocab=len(self.src_vocab), tgt_vocab=len(self.tgt_vocab), embed=c.embed,
                    hidden=c.hidden, layers=c.layers, bidirectional=c.bidirectional,
                    attention=c.attention, dropout=c.dropout, cell=c.cell,
                    recurrent_dropout=c.recurrent_dropout)

    def parameter_count(self) -> int:
        return Seq2Seq.parameter_count(**self.model_options())

    def build_model(self, rng, dtype=np.float32) -> Seq2Seq:
        return Seq2Seq(**self.model_options(), rng=rng, dtype=dtype)

    def _batch(self, data: Pairs, idx) -> Seq2SeqBatch:
        src, src_lengths = pad([data.src[i] for i in idx])
        bos, eos = self.tgt_vocab.bos_id, self.tgt_vocab.eos_id
        tgt_in, tgt_lengths = pad([np.concatenate([[bos], data.tgt[i]]) for i in idx])
        tgt_out, _ = pad([np.concatenate([data.tgt[i], [eos]]) for i in idx])
        return Seq2SeqBatch(src, src_lengths, tgt_in, tgt_out, tgt_lengths)

    def _groups(self, data: Pairs, batch_size: int, rng=None):
        """Index batches of pairs of similar source and target length (shuffled with rng)."""
        key = np.array([len(s) * 1000 + len(t) for s, t in zip(data.src, data.tgt)], dtype=np.int64)
        return length_bucketed_batches(key, batch_size, rng, shuffle=rng is not None)

    def train_batches(self, rng):
        data = self.splits["train"]
        return [self._batch(data, idx) for idx in self._groups(data, self.config.batch_size, rng)]

    @staticmethod
    def batch_size_in_tokens(batch: Seq2SeqBatch) -> int:
        return int(batch.tgt_lengths.sum())

    # ----- translating and measuring -----------------------------------------------------------

    @property
    def decode_len(self) -> int:
        return int(1.5 * self.meta["max_target_len"]) + 5

    def _translate_ids(self, model, sources: list[np.ndarray], beam: int) -> list[str]:
        """Translate encoded sources (batched by length) -> detokenised sentences, in order."""
        out = [""] * len(sources)
        lengths = np.array([len(s) for s in sources], dtype=np.int64)
        v = self.tgt_vocab
        for idx in length_bucketed_batches(lengths, EVAL_BATCH, shuffle=False):
            src, src_lengths = pad([sources[i] for i in idx])
            common = dict(bos_id=v.bos_id, eos_id=v.eos_id, max_len=self.decode_len, pad_id=v.pad_id)
            if beam == 1:
                ids = greedy_decode(model, src, src_lengths, **common)
            else:
                ids = beam_search(model, src, src_lengths, beam=beam, alpha=self.config.alpha, **common)
            for i, y in zip(idx, ids):
                out[i] = self._join(v.decode(y))
        return out

    def evaluate(self, model, split="dev", data=None) -> Evaluation:
        """BLEU of the beam and greedy translations, the teacher-forced loss; the
        translations themselves as the evaluation's outputs."""
        data = data if data is not None else self.splits[split]
        loss_sum, count = 0.0, 0
        for idx in self._groups(data, EVAL_BATCH):
            loss, n = model.loss(self._batch(data, idx))
            loss_sum += loss * n
            count += n
        greedy = self._translate_ids(model, data.src, 1)
        beamed = self._translate_ids(model, data.src, self.config.beam) if self.config.beam > 1 else greedy
        metrics = {"bleu": corpus_bleu(beamed, data.refs), "bleu_greedy": corpus_bleu(greedy, data.refs),
                   "loss": loss_sum / count}
        return Evaluation(metrics, Translations(beamed, greedy, data.refs, data.src_words))

    # ----- one input -------------------------------------------------------------------------

    def encode_text(self, text: str) -> Example:
        """The first line as a source sentence; the decoder's input is only ``<bos>`` until
        ``decoded_example`` fills in a translation."""
        sentence = text.splitlines()[0] if text.strip() else ""
        if not sentence.strip():
            raise DataError("<input>: no sentence to translate")
        (src,) = self.encode_sources([sentence])
        v = self.tgt_vocab
        batch = Seq2SeqBatch(src[None], np.array([len(src)]), np.array([[v.bos_id]]), None, np.array([1]))
        return Example(batch, {"encoder": list(self.src_vocab.decode(src)), "decoder": ["<bos>"]})

    def decoded_example(self, model, example: Example) -> Example:
        """``example`` with the model's greedy translation as the decoder's input (teacher
        forcing replays exactly what decoding did)."""
        b, v = example.batch, self.tgt_vocab
        (out,) = greedy_decode(model, b.src, b.src_lengths, bos_id=v.bos_id, eos_id=v.eos_id,
                               max_len=self.decode_len, pad_id=v.pad_id)
        tgt_in = np.array([[v.bos_id, *out]])
        batch = Seq2SeqBatch(b.src, b.src_lengths, tgt_in, None, np.array([tgt_in.shape[1]]))
        return Example(batch, {**example.steps, "decoder": ["<bos>", *v.decode(out)]})

    def translate_lines(self, model, lines: list[str], beam: int | None = None) -> list[str]:
        """One translation per line (beam width ``beam``, default the config's); "" for an empty line."""
        beam = self.config.beam if beam is None else beam
        if beam < 1:
            raise ValueError(f"beam must be at least 1, got {beam}")
        real = [i for i, line in enumerate(lines) if line.strip()]
        out = [""] * len(lines)
        if real:
            translated = self._translate_ids(model, self.encode_sources([lines[i] for i in real]), beam)
            for i, text in zip(real, translated):
                out[i] = text
        return out

    def truncation_notes(self, lines: list[str]) -> list[str]:
        """A note for every line longer than the model reads (it is cut to max_len tokens)."""
        notes = []
        for number, line in enumerate(lines, start=1):
            n = len(self.source_tokens(line))
            if n > self.config.max_len:
                notes.append(f"line {number} has {n} tokens; the model reads only the first {self.config.max_len}")
        return notes

    def predict_lines(self, model, lines: list[str]) -> list[str]:
        return self.translate_lines(model, lines)

    def predict_file(self, model, path: str) -> list[str]:
        """Translate a text file, one sentence per line."""
        return self.translate_lines(model, read_text(path).splitlines())
