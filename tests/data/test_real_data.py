"""The readers on the project's real datasets (../shared/data beside the repository).

Counts are those measured on the files and, where the data README states them, equal to
it. The whole module is skipped when the data folder is absent (e.g. a fresh clone).
"""

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from rnnlab.data.conllu import read_conllu
from rnnlab.data.series import read_csv_series
from rnnlab.data.text import read_labelled_text, read_text, tokenize
from rnnlab.data.ts import read_ts
from rnnlab.data.vocab import Vocab

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA = REPO_ROOT.parent / "shared" / "data"

pytestmark = pytest.mark.skipif(
    not (DATA / "README.md").is_file(), reason=f"real datasets not found at {DATA}"
)


def test_data_folder_is_beside_the_repository():
    assert (REPO_ROOT / "pyproject.toml").is_file()


def test_ud_ewt_dev_upos():
    sentences = read_conllu(DATA / "ud_english_ewt" / "en_ewt-ud-dev.conllu")
    # README: 2,001 sentences, 25,147 word lines (multiword tokens and empty nodes excluded).
    assert len(sentences) == 2001
    assert sum(len(s) for s in sentences) == 25147
    assert all(len(s.words) == len(s.tags) >= 1 for s in sentences)
    assert len({t for s in sentences for t in s.tags}) == 17
    assert sentences[0].words == ["From", "the", "AP", "comes", "this", "story", ":"]
    assert sentences[0].tags == ["ADP", "DET", "PROPN", "VERB", "DET", "NOUN", "PUNCT"]


def test_ud_ewt_test_xpos():
    sentences = read_conllu(DATA / "ud_english_ewt" / "en_ewt-ud-test.conllu", column="xpos")
    assert len(sentences) == 2077
    assert sum(len(s) for s in sentences) == 25094
    assert {"NN", "VBZ", "-LRB-", "``"} <= {t for s in sentences for t in s.tags}


def test_japanese_vowels_train():
    series, labels = read_ts(DATA / "japanese_vowels" / "JapaneseVowels_TRAIN.ts")
    assert len(series) == 270
    assert {s.shape[1] for s in series} == {12}
    lengths = [len(s) for s in series]
    assert (min(lengths), max(lengths)) == (7, 26)  # the test file reaches 29
    assert Counter(labels) == {str(k): 30 for k in range(1, 10)}
    assert Vocab.labels(labels).tokens == [str(k) for k in range(1, 10)]
    assert all(s.dtype == np.float32 and np.isfinite(s).all() for s in series)


def test_nsmc_sample_test():
    texts, labels = read_labelled_text(DATA / "nsmc_sample" / "nsmc_sample_test.tsv", "document", "label")
    assert len(texts) == 2000
    assert Counter(labels) == {"0": 1000, "1": 1000}
    assert tokenize(texts[0]) == ["내", "인생에", "짙은", "감동과", "내", "경험에", "지침서가", "되었다", "."]


def test_uci_yelp():
    texts, labels = read_labelled_text(
        DATA / "sentiment_labelled_sentences" / "yelp_labelled.txt", 0, 1
    )
    assert len(texts) == 1000
    assert Counter(labels) == {"0": 500, "1": 500}
    assert texts[0] == "Wow... Loved this place."


def test_uci_amazon_quotes_survive():
    texts, labels = read_labelled_text(
        DATA / "sentiment_labelled_sentences" / "amazon_cells_labelled.txt", 0, 1
    )
    assert len(texts) == 1000 and Counter(labels) == {"0": 500, "1": 500}
    assert sum('"' in t for t in texts) == 11  # quoting is disabled, so quotes are text


def test_seattle_weather():
    columns = ["precipitation", "temp_max", "temp_min", "wind"]
    dates, values, names = read_csv_series(DATA / "weather" / "seattle-weather.csv", "date", columns)
    assert len(dates) == 1461 and values.shape == (1461, 4) and names == columns
    assert (dates[0], dates[-1]) == ("2012/01/01", "2015/12/31")
    np.testing.assert_allclose(values[0], [0.0, 12.8, 5.0, 4.7], rtol=1e-6)


def test_tinyshakespeare():
    text = read_text(DATA / "tinyshakespeare" / "input.txt")
    assert len(text) == 1_115_394
    assert len(set(text)) == 65
    assert text.startswith("First Citizen:\n")
