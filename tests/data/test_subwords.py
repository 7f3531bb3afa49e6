"""Subword units (``rnnlab.data.subwords``): learnt from the sentences given, deterministic,
lossless, and carried as data (base64 of SentencePiece's model), never as code."""

import base64

import pytest

from rnnlab.data.subwords import Subwords
from rnnlab.errors import CheckpointError, ConfigError

SENTENCES = ["나는 학생이다.", "저는 학생입니다.", "그는 선생님이다.", "나는 사과를 먹는다.",
             "우리는 학생이다.", "그녀는 의사입니다.", "너는 사과를 좋아한다."] * 20


def test_pieces_spell_the_lowercased_text_back():
    subwords = Subwords.learn(SENTENCES + ["Tom is a Student."] * 5, 60)
    for text in ("나는 학생이다.", "Tom is a student.", "그녀는 사과를 먹는다."):
        pieces = subwords.pieces(text)
        assert pieces[0].startswith("\u2581") and len(pieces) > 1
        assert subwords.join(pieces) == text.lower()


def test_frequent_words_are_cut_into_shared_pieces():
    subwords = Subwords.learn(SENTENCES, 40)
    # 학생 occurs with three endings; the segmentation shares its stem instead of three words
    assert all(len(subwords.pieces(w)) >= 2 for w in ("학생이다.", "학생입니다."))


def test_the_same_sentences_give_the_same_model_and_it_survives_json():
    a, b = Subwords.learn(SENTENCES, 50), Subwords.learn(SENTENCES, 50)
    assert a.model_proto == b.model_proto
    again = Subwords.from_json(a.to_json())
    assert again.model_proto == a.model_proto and again.pieces("나는 학생이다.") == a.pieces("나는 학생이다.")


def test_the_size_is_an_upper_bound_and_nothing_to_learn_is_named():
    small = Subwords.learn(SENTENCES, 8000)  # far more than these sentences hold: fewer pieces, no error
    assert len(small) < 8000
    with pytest.raises(ConfigError, match="pairs.tsv \\(src\\): no training text"):
        Subwords.learn(["  ", ""], 100, what="pairs.tsv (src)")


def test_a_damaged_model_is_a_one_line_error():
    good = Subwords.learn(SENTENCES, 50).to_json()
    with pytest.raises(CheckpointError, match="damaged subword model"):
        Subwords.from_json(good[:-7] + "!")
    with pytest.raises(CheckpointError, match="damaged subword model"):
        Subwords.from_json(base64.b64encode(b"not a model").decode())
