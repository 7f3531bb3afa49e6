"""Subword units: a SentencePiece unigram model learnt from the training split.

A word vocabulary of a few thousand sentences is mostly singletons (Korean words carry
their particles and endings: 학생이다, 학생입니다, 학생은 ...), and a 6,000-word French vocabulary
leaves one test sentence in four with an <unk>. Subword units cut rare words into
frequent pieces (학생 + 이다), so every training word is spelt by known pieces and no
output is <unk>. The segmentation is SentencePiece's unigram language model (Kudo 2018),
learnt by the ``sentencepiece`` library on the lowercased *training* sentences only;
rnnlab writes no tokenizer of its own.

The learnt model is a serialized protocol buffer (data, no code). It travels inside the run's
checkpoint metadata, base64-encoded (``Subwords.to_json``), so a trained run translates
without the training data and an exported ONNX model carries it in its metadata.

Pieces mark a word's start with "▁" (U+2581): "je suis étudiant." -> ▁je ▁suis ▁étudiant . ;
joining the pieces and turning "▁" back into spaces restores the text (``join``).
"""

from __future__ import annotations

import base64
import binascii
import io

import sentencepiece

from rnnlab.errors import CheckpointError, ConfigError


class Subwords:
    """A learnt SentencePiece model: ``pieces(text)`` cuts, ``join(pieces)`` restores."""

    def __init__(self, model_proto: bytes):
        self.model_proto = model_proto
        self._processor = sentencepiece.SentencePieceProcessor(model_proto=model_proto)

    @classmethod
    def learn(cls, sentences: list[str], size: int, *, what: str = "subwords") -> Subwords:
        """A unigram model of at most ``size`` pieces learnt from ``sentences`` (lowercased).

        ``size`` is an upper bound: a small corpus that cannot fill it gets fewer pieces
        (``hard_vocab_limit=False``). Every character of the training text is kept
        (``character_coverage=1``), so no training sentence has an unknown piece.
        One thread: the same sentences give the same model (tests/data/test_subwords.py).
        """
        text = [s.lower().strip() for s in sentences if s.strip()]
        if not text:
            raise ConfigError(f"{what}: no training text to learn subword units from")
        model = io.BytesIO()
        try:
            sentencepiece.SentencePieceTrainer.train(
                sentence_iterator=iter(text), model_writer=model, model_type="unigram",
                vocab_size=size, hard_vocab_limit=False, character_coverage=1.0,
                num_threads=1, minloglevel=2,
                # ids are rnnlab's Vocab's; SentencePiece's own specials are not used
                unk_id=0, bos_id=-1, eos_id=-1, pad_id=-1)
        except RuntimeError as error:  # sentencepiece reports bad sizes etc. this way
            raise ConfigError(f"{what}: SentencePiece could not learn {size} subword units: "
                              f"{str(error).splitlines()[-1]}") from None
        return cls(model.getvalue())

    def __len__(self) -> int:
        """The number of pieces the model has (at most the size it was learnt with)."""
        return self._processor.get_piece_size()

    def pieces(self, text: str) -> list[str]:
        """The pieces of a text, lowercased: "Je suis." -> ['▁je', '▁suis', '.']."""
        return self._processor.encode(text.lower().strip(), out_type=str)

    def join(self, pieces: list[str]) -> str:
        """The text the pieces spell (SentencePiece's decoding: "▁" becomes a space)."""
        return self._processor.decode_pieces(list(pieces))

    def to_json(self) -> str:
        return base64.b64encode(self.model_proto).decode("ascii")

    @classmethod
    def from_json(cls, value: str) -> Subwords:
        """The model ``to_json`` wrote (a run's checkpoint metadata)."""
        try:
            return cls(base64.b64decode(value.encode("ascii"), validate=True))
        except (ValueError, RuntimeError, binascii.Error) as error:  # bad base64, bad protocol buffer
            raise CheckpointError(f"damaged subword model in the run's metadata: {str(error).splitlines()[0]}") from None
