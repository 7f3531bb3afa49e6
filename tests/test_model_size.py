"""Every model says how many weights it will allocate before allocating them, and the
figure is exact: the trainer refuses a model that cannot fit in memory from that figure,
so a wrong formula would let an oversized model through or refuse a good one."""

import itertools

import numpy as np
import pytest

from rnnlab.models.charlm import CharLM
from rnnlab.models.classifier import SequenceClassifier
from rnnlab.models.forecaster import Forecaster
from rnnlab.models.seq2seq import Seq2Seq
from rnnlab.models.tagger import Tagger

CELLS = ("lstm", "rnn", "gru")
SHAPES = list(itertools.product(CELLS, (1, 2), (False, True)))  # cell, layers, bidirectional


def _allocated(model) -> int:
    return sum(p.size for p in model.params.values())


@pytest.mark.parametrize("cell, layers, bidirectional", SHAPES)
def test_classifier_on_tokens_and_on_series(cell, layers, bidirectional):
    common = dict(num_classes=5, cell=cell, hidden=7, layers=layers, bidirectional=bidirectional, dropout=0.0)
    for inputs in (dict(vocab_size=11, embed=4), dict(input_size=3)):
        model = SequenceClassifier(**common, **inputs, rng=np.random.default_rng(0))
        assert SequenceClassifier.parameter_count(**common, **inputs) == _allocated(model)


@pytest.mark.parametrize("cell, layers, bidirectional", SHAPES)
def test_forecaster(cell, layers, bidirectional):
    options = dict(input_size=4, target_index=1, cell=cell, hidden=6, layers=layers, bidirectional=bidirectional,
                   dropout=0.0)
    assert Forecaster.parameter_count(**options) == _allocated(Forecaster(**options, rng=np.random.default_rng(0)))


@pytest.mark.parametrize("cell, layers", [(c, n) for c in CELLS for n in (1, 2)])
def test_character_language_model(cell, layers):
    options = dict(vocab_size=13, embed=5, cell=cell, hidden=8, layers=layers, dropout=0.0)
    assert CharLM.parameter_count(**options) == _allocated(CharLM(**options, rng=np.random.default_rng(0)))


@pytest.mark.parametrize("cell, layers, bidirectional", SHAPES)
def test_tagger(cell, layers, bidirectional):
    options = dict(vocab_size=20, num_chars=9, num_tags=6, embed=5, char_embed=3, char_hidden=4, cell=cell,
                   hidden=7, layers=layers, bidirectional=bidirectional, dropout=0.0)
    assert Tagger.parameter_count(**options) == _allocated(Tagger(**options, rng=np.random.default_rng(0)))


@pytest.mark.parametrize("cell, attention, layers, bidirectional",
                         list(itertools.product(CELLS, ("general", "dot", "none"), (1, 2), (False, True))))
def test_translator(cell, attention, layers, bidirectional):
    options = dict(src_vocab=10, tgt_vocab=12, embed=5, hidden=8, layers=layers, bidirectional=bidirectional,
                   attention=attention, cell=cell)
    assert Seq2Seq.parameter_count(**options) == _allocated(Seq2Seq(**options, rng=np.random.default_rng(0)))
