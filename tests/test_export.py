"""``rnnlab export`` of classify, tag and forecast runs: onnxruntime, fed the run's own test
data the way a program without rnnlab would prepare it (from the models' metadata_props
only), gives the predictions of ``rnnlab predict`` and the test scores of ``task.evaluate``
to 1e-5, and padding never changes a real position's result. The command's errors are one
line naming the option or file; without onnx it says how to install it.
(Language models and translators: ``test_export_generation.py``.)"""

import subprocess
import sys

import numpy as np
import pytest
from export_helpers import (
    DATA,
    encode_text,
    export,
    garbage_padding,
    need,
    onnxruntime,
    predicted,
    train,
)

from rnnlab.cli import main
from rnnlab.data.batching import pad
from rnnlab.data.conllu import read_conllu
from rnnlab.data.dates import calendar_features, parse_dates
from rnnlab.data.series import Standardizer, parse_csv_series
from rnnlab.data.ts import read_ts
from rnnlab.train.run import load_run

JV = DATA / "japanese_vowels"
AMAZON = DATA / "sentiment_labelled_sentences" / "amazon_cells_labelled.txt"
EWT = DATA / "ud_english_ewt" / "en_ewt-ud-dev.conllu"
SEATTLE = DATA / "weather" / "seattle-weather.csv"


# ----- classify ------------------------------------------------------------------------------

CLASSIFIERS = {  # a GRU (2 layers, bidirectional), an LSTM pooling the mean, a tanh RNN pooling the max
    "series-gru": ("ts", ["--cell", "gru", "--layers", "2", "--bidirectional", "--hidden", "6", "--max-len", "20"]),
    "series-lstm-mean": ("ts", ["--cell", "lstm", "--pool", "mean", "--hidden", "5"]),
    "text-rnn-max": ("text", ["--cell", "rnn", "--pool", "max", "--bidirectional", "--hidden", "6", "--embed", "5",
                              "--max-len", "8"]),
}


@pytest.fixture(scope="module", params=list(CLASSIFIERS))
def classifier(request, tmp_path_factory):
    kind, options = CLASSIFIERS[request.param]
    root = tmp_path_factory.mktemp(request.param)
    if kind == "ts":
        need(JV)
        files = {"train": JV / "JapaneseVowels_TRAIN.ts", "test": JV / "JapaneseVowels_TEST.ts"}
    else:
        need(AMAZON)
        lines = AMAZON.read_text(encoding="utf-8").splitlines()
        files = {"train": root / "train.tsv", "test": root / "test.tsv"}
        files["train"].write_text("\n".join(lines[:240]) + "\n", encoding="utf-8")
        files["test"].write_text("\n".join(lines[240:300]) + "\n", encoding="utf-8")
    run = train("classify", root / "run", "--train", str(files["train"]), "--test", str(files["test"]),
                "--batch-size", "16", *options)
    return kind, run, files["test"], "--max-len" in options


def test_a_classifier_predicts_and_scores_as_rnnlab(classifier, tmp_path, capsys):
    kind, run, test_file, cut = classifier
    session, meta = export(run, capsys)
    labels = meta["labels"]
    if kind == "ts":
        series, truth = read_ts(test_file)
        x, lengths = pad([s.astype(np.float32) for s in series])
        x = garbage_padding(x, lengths, 1e3)
        printed = predicted(run, test_file, capsys)
    else:
        rows = [line.rsplit("\t", 1) for line in test_file.read_text(encoding="utf-8").splitlines()]
        texts, truth = [r[0] for r in rows], [r[1] for r in rows]
        x, lengths = pad([np.array(encode_text(t, meta["preprocessing"], meta["vocab"])) for t in texts])
        x = garbage_padding(x, lengths, 5)  # a real word's id, past each text's end
        (tmp_path / "texts.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
        printed = predicted(run, tmp_path / "texts.txt", capsys)
    assert not cut or lengths.max() > meta["preprocessing"]["max_len"]  # the graph cuts the longer ones
    (probs,) = session.run(["probs"], {"x": x, "lengths": lengths})
    assert [labels[k] for k in probs.argmax(axis=1)] == printed

    task, model = load_run(run)
    task.prepare()
    scores = task.evaluate(model, "test").metrics
    y = np.array([labels.index(t) for t in truth])
    assert float((probs.argmax(axis=1) == y).mean()) == pytest.approx(scores["accuracy"], abs=1e-12)
    loss = -np.log(probs[np.arange(len(y)), y].astype(np.float64)).mean()
    assert loss == pytest.approx(scores["loss"], abs=1e-5)


# ----- tag -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tagger(tmp_path_factory):
    """An LSTM tagger (bidirectional, a character BiLSTM) on 60 / 20 / 20 sentences of EWT;
    max_word_chars 7 (odd: the first 3 and the last 4 characters of a longer word), so many words are read by their two ends."""
    need(EWT)
    root = tmp_path_factory.mktemp("tag")
    blocks = [b for b in EWT.read_text(encoding="utf-8").split("\n\n") if b.strip()]
    for name, part in (("train", blocks[:60]), ("dev", blocks[60:80]), ("test", blocks[80:100])):
        (root / f"{name}.conllu").write_text("\n\n".join(part) + "\n\n", encoding="utf-8")
    run = train("tag", root / "run", *(f"--{s}={root / s}.conllu" for s in ("train", "dev", "test")),
                 "--hidden", "8", "--embed", "6", "--char-embed", "4", "--char-hidden", "5",
                 "--max-word-chars", "7", "--batch-size", "16")
    return run, root / "test.conllu"


def test_a_tagger_with_its_character_rnn_predicts_and_scores_as_rnnlab(tagger, capsys):
    run, test_file = tagger
    session, meta = export(run, capsys)
    rules, sentences = meta["preprocessing"], read_conllu(test_file)
    words = {w: i for i, w in enumerate(meta["vocab"])}
    chars = {c: i for i, c in enumerate(meta["chars"])}
    assert any(len(w) > rules["max_word_chars"] for s in sentences for w in s.words)
    x, lengths = pad([np.array([words.get(w.lower() if rules["lowercase"] else w, 1) for w in s.words])
                      for s in sentences])
    spellings = [[np.array([chars.get(c, 1) for c in w]) for w in s.words] for s in sentences]
    L = max(len(c) for s in spellings for c in s)
    char_ids = np.zeros((*x.shape, L), dtype=np.int64)
    for n, s in enumerate(spellings):
        for t, c in enumerate(s):
            char_ids[n, t, : len(c)] = c
    (probs,) = session.run(["probs"], {"x": garbage_padding(x, lengths, 7), "lengths": lengths,
                                       "chars": garbage_padding(char_ids, lengths, 3)})
    best = probs.argmax(axis=2)
    tags = [" ".join(meta["labels"][k] for k in best[n, : lengths[n]]) for n in range(len(sentences))]
    assert tags == predicted(run, test_file, capsys)

    task, model = load_run(run)
    task.prepare()
    scores = task.evaluate(model, "test").metrics
    truth = [np.array([meta["labels"].index(t) for t in s.tags]) for s in sentences]
    p_true = np.concatenate([probs[n, np.arange(len(y)), y] for n, y in enumerate(truth)])
    hits = np.concatenate([best[n, : len(y)] == y for n, y in enumerate(truth)])
    assert float(hits.mean()) == pytest.approx(scores["accuracy"], abs=1e-12)
    assert -np.log(p_true.astype(np.float64)).mean() == pytest.approx(scores["loss"], abs=1e-5)


# ----- forecast ------------------------------------------------------------------------------

ROWS, WINDOW, TEST, DEV = 90, 5, 15, 12
FORECASTERS = {  # a tanh RNN of 2 layers predicting the change, a bidirectional LSTM the level
    "rnn-change": ["--cell", "rnn", "--layers", "2", "--output", "change"],
    "lstm-level": ["--cell", "lstm", "--bidirectional", "--output", "level"],
}


@pytest.fixture(scope="module", params=list(FORECASTERS))
def forecaster(request, tmp_path_factory):
    need(SEATTLE)
    root = tmp_path_factory.mktemp(request.param)
    data = root / "seattle.csv"
    data.write_text("\n".join(SEATTLE.read_text(encoding="utf-8").splitlines()[: ROWS + 1]) + "\n", encoding="utf-8")
    run = train("forecast", root / "run", "--data", str(data), "--target", "temp_max", "--window", str(WINDOW),
                 "--test-size", str(TEST), "--dev-size", str(DEV), "--log-columns", "precipitation",
                 "--calendar", "year", "--hidden", "6", "--batch-size", "16", *FORECASTERS[request.param])
    return run, data


def test_a_forecaster_forecasts_and_scores_as_rnnlab(forecaster, capsys):
    run, data = forecaster
    session, meta = export(run, capsys)
    rules = meta["preprocessing"]
    # the rows as the CSV gives them, and the calendar features of their dates
    dates, values, _ = parse_csv_series(data.read_text(encoding="utf-8").splitlines(), str(data), "date",
                                        rules["columns"])
    times, _ = parse_dates(str(data), dates)
    rows = np.concatenate([values, calendar_features(times, "year")], axis=1).astype(np.float32)
    windows = rows[np.arange(len(rows) - WINDOW + 1)[:, None] + np.arange(WINDOW)[None, :]]
    lengths = np.full(len(windows), WINDOW)
    (forecast,) = session.run(["forecast"], {"x": windows, "lengths": lengths})
    printed = [float(line.split("\t")[1]) for line in predicted(run, data, capsys)]
    np.testing.assert_allclose(forecast, printed, atol=0.005 + 1e-5)  # predict prints 2 decimals

    task, model = load_run(run)
    task.prepare()
    scores = task.evaluate(model, "test").metrics
    target = np.arange(len(windows)) + WINDOW - 1 + 1  # horizon 1: the row after each window
    test = (target >= ROWS - TEST) & (target < ROWS)
    error = forecast[test].astype(np.float64) - values[target[test], rules["columns"].index("temp_max")]
    assert np.abs(error).mean() == pytest.approx(scores["mae"], abs=1e-5)
    assert np.sqrt((error**2).mean()) == pytest.approx(scores["rmse"], abs=1e-5)

    # shorter windows, padded: each forecast reads only its own steps, and the last observed
    # value at its own last step, as our model does on the window cut to that length
    short = np.array([5, 2, 4, 1, 3])
    (padded,) = session.run(["forecast"], {"x": garbage_padding(windows[:5], short, 50.0), "lengths": short})
    stats, k = Standardizer.from_dict(task.meta["standardizer"]), rules["columns"].index("temp_max")
    features = rows.astype(np.float64)
    features[:, 0] = np.log1p(features[:, 0])  # precipitation
    z = stats.transform(features).astype(np.float32)
    for n, T in enumerate(short):
        ours = stats.inverse_column(model.predict(z[None, n : n + T]).astype(np.float64), k)
        assert padded[n] == pytest.approx(ours[0], abs=1e-5)


# ----- the command ---------------------------------------------------------------------------


def test_without_onnx_the_command_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now fails, as when not installed
    assert main(["export", str(tmp_path), "--out", str(tmp_path / "m.onnx")]) == 1
    assert capsys.readouterr().err == "rnnlab: error: rnnlab export needs the onnx package: pip install 'rnnlab[onnx]'\n"


def test_rnnlab_imports_onnx_only_to_export():
    code = ("import sys, rnnlab, rnnlab.cli, rnnlab.export; rnnlab.cli.build_parser(); "
            "assert not {'onnx', 'onnxruntime'} & set(sys.modules), 'onnx imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_errors_are_one_line_naming_the_option_or_file(tagger, tmp_path, capsys):
    onnxruntime()
    run, _ = tagger
    for argv, message in [
        ([str(run), "--out", str(tmp_path / "model.bin")], f"--out must name a .onnx file, got '{tmp_path / 'model.bin'}'"),
        ([str(tmp_path / "nope"), "--out", str(tmp_path / "m.onnx")], f"{tmp_path / 'nope'}: no such run directory"),
        ([str(run), "--out", str(tmp_path / "no" / "m.onnx")],
         f"{tmp_path / 'no' / 'm.onnx'}: cannot write the ONNX model (No such file or directory)"),
    ]:
        capsys.readouterr()
        assert main(["export", *argv]) == 1
        assert capsys.readouterr().err == f"rnnlab: error: {message}\n"
    assert not list(tmp_path.iterdir())
