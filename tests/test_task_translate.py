"""``rnnlab train translate`` end to end on a slice of the English-French pairs, the
``translate`` command, and the error paths (each one line naming the file and line)."""

import io
import json
from pathlib import Path

import numpy as np
import pytest

from rnnlab.cli import main
from rnnlab.data.errors import DataError
from rnnlab.train.config import ConfigError, resolve_config
from rnnlab.train.tasks.translate import TranslateConfig, TranslateTask, detokenize

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
ENG_FRA = DATA / "eng_fra_tatoeba" / "fra.txt.gz"
KOR_ENG = DATA / "kor_eng_tatoeba" / "kor.txt"
SMALL = ["--test-size", "12", "--dev-size", "10", "--hidden", "8", "--embed", "6", "--epochs", "2",
         "--batch-size", "8", "--lr", "0.01", "--beam", "3", "--bidirectional", "--max-len", "12"]


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    if not ENG_FRA.exists():
        pytest.skip(f"the shared datasets are not at {DATA}")
    import gzip

    with gzip.open(ENG_FRA, "rt", encoding="utf-8") as f:
        lines = f.read().splitlines()
    path = tmp_path_factory.mktemp("data") / "pairs.tsv"
    path.write_text("\n".join(lines[20000:140000:1500]) + "\n", encoding="utf-8")  # 80 pairs, 3-10 words
    return path


@pytest.fixture(scope="module")
def run(pairs, tmp_path_factory):
    out = tmp_path_factory.mktemp("translate") / "run"
    assert main(["train", "translate", "--data", str(pairs), "--out", str(out), *SMALL]) == 0
    return out


def test_a_run_directory_holds_everything_and_eval_agrees(run, pairs, capsys):
    assert {p.name for p in run.iterdir()} >= {
        "config.json", "log.jsonl", "metrics.json", "curves.png", "best.npz", "last.npz",
        "bleu_by_length.json", "bleu_by_length.png"}
    metrics = json.loads((run / "metrics.json").read_text())
    for split in ("dev", "test"):
        assert set(metrics[split]) == {"bleu", "bleu_greedy", "loss"}
        assert 0 <= metrics[split]["bleu"] <= 100 and metrics[split]["loss"] > 0
    table = json.loads((run / "bleu_by_length.json").read_text())
    assert table["attention"] == "general" and sum(row["pairs"] for row in table["buckets"]) == 12
    assert len((run / "log.jsonl").read_text().splitlines()) == 2
    capsys.readouterr()
    assert main(["eval", str(run), "--data", str(pairs), "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"bleu", "bleu_greedy", "loss"}
    # overlaying runs (here one run twice) with the analysis script
    from rnnlab.analysis.bleu_by_length import main as overlay

    assert overlay([str(run), f"{run}=again", "--out", str(run.parent / "overlay.png")]) == 0
    assert (run.parent / "overlay.png").stat().st_size > 0
    longer = run.parent / "longer.tsv"  # pairs beyond the test split's lengths add buckets
    longer.write_text("The quick brown fox jumps over the lazy dog near the river bank today.\tLe renard.\n"
                      "A b c d e f g h i j k l m n o p q.\tUn.\n", encoding="utf-8")
    capsys.readouterr()
    assert overlay([str(run), "--longer", str(longer), "--out", str(run.parent / "overlay2.png")]) == 0
    printed = capsys.readouterr().out
    assert "11-15 words      1 pairs" in printed and "16+ words      1 pairs" in printed


def test_translate_a_sentence_or_standard_input_and_predict_a_file(run, tmp_path, capsys, monkeypatch):
    assert main(["translate", str(run), "I am a student."]) == 0
    one = capsys.readouterr().out.splitlines()
    assert len(one) == 1 and one[0].strip()
    lines = "I am a student.\n\nZyxxqk blorfed the unheard-of wug!\n"  # words never seen -> <unk>
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    assert main(["translate", str(run), "--beam", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and out[1] == "" and out[2].strip()
    (tmp_path / "in.txt").write_text(lines, encoding="utf-8")
    assert main(["predict", str(run), str(tmp_path / "in.txt")]) == 0
    predicted = capsys.readouterr().out.splitlines()
    assert predicted[0] == one[0] and predicted[1] == ""  # predict uses the run's beam, as translate
    assert main(["translate", str(run), "--beam", "1", "I am a student."]) == 0  # the option before the sentence
    assert capsys.readouterr().out.splitlines() == [out[0]]


def test_a_long_sentence_is_cut_with_a_note_and_an_empty_one_is_refused(run, capsys):
    long = " ".join(["the cat sat on the mat ."] * 5)  # 35 tokens, max_len 12
    assert main(["translate", str(run), long]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() and "line 1 has 35 tokens; the model reads only the first 12" in captured.err
    assert main(["translate", str(run), "   "]) == 1
    assert "the sentence to translate is empty" in capsys.readouterr().err
    assert main(["translate", str(run), "x", "--beam", "0"]) == 1
    assert "--beam must be at least 1" in capsys.readouterr().err


def test_unseen_words_and_characters_read_as_unk(run):
    from rnnlab.train.run import load_run

    task, _ = load_run(str(run))
    ids = task.encode_sources(["zyxxqk 🙂 blorf"])[0]
    assert ids.tolist() == [task.src_vocab.unk_id] * 3


def test_a_line_without_the_named_columns_names_file_and_line(tmp_path, capsys):
    bad = tmp_path / "bad.tsv"
    bad.write_text("Go.\tVa !\nHi.\tSalut !\nRun!\n" + "I see.\tJe vois.\n" * 30, encoding="utf-8")
    assert main(["train", "translate", "--data", str(bad), "--out", str(tmp_path / "r"), *SMALL]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{bad}, line 3" in err and "expected 2 tab-separated columns" in err
    with pytest.raises(DataError, match=r"line 1: label_col = 5 is out of range"):
        TranslateTask(resolve_config(TranslateConfig, None, {"data": str(bad), "tgt_col": 5})).prepare()
    assert not (tmp_path / "r").exists()


def test_bad_options_and_too_little_data_are_named(pairs):
    with pytest.raises(ConfigError, match="src_col and tgt_col must be two different columns"):
        resolve_config(TranslateConfig, None, {"data": "x.tsv", "src_col": 1, "tgt_col": 1})
    with pytest.raises(ConfigError, match="hidden must be even"):
        resolve_config(TranslateConfig, None, {"data": "x.tsv", "bidirectional": True, "hidden": 7})
    with pytest.raises(ConfigError, match="cell must be one of lstm, rnn, gru, got 'elman'"):
        resolve_config(TranslateConfig, None, {"data": "x.tsv", "cell": "elman"})
    task = TranslateTask(resolve_config(TranslateConfig, None, {"data": str(pairs), "test_size": 70}))
    with pytest.raises(ConfigError, match="too few for test_size 70"):
        task.prepare()


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_the_cell_option_builds_encoder_and_decoder_of_that_cell(pairs, cell):
    config = resolve_config(TranslateConfig, None, {"data": str(pairs), "cell": cell, "hidden": 8, "embed": 4,
                                                    "test_size": 10, "dev_size": 10, "recurrent_dropout": 0.2})
    task = TranslateTask(config)
    task.prepare()
    model = task.build_model(np.random.default_rng(0))
    for layer in (model.encoder, model.decoder):
        assert type(layer).__name__ == cell.upper() and layer.recurrent_dropout == 0.2
    assert task.parameter_count() == sum(p.size for p in model.params.values())


def test_detokenize_glues_apostrophes_and_hyphens():
    assert detokenize(["j", "'", "ai", "faim", ",", "tom", "!"], "word") == "j'ai faim, tom!"
    assert detokenize(["est", "-", "ce", "que", "tu", "viens", "?"], "word") == "est-ce que tu viens?"
    assert detokenize(["i", "don", "'", "t", "know", "."], "word") == "i don't know."
    assert detokenize(list("나는 학생"), "char") == "나는 학생"


def test_korean_to_english_reads_the_second_column_as_characters():
    if not KOR_ENG.exists():
        pytest.skip(f"the shared datasets are not at {DATA}")
    config = resolve_config(TranslateConfig, None, {
        "data": str(KOR_ENG), "src_col": 1, "tgt_col": 0, "src_tokens": "char", "test_size": 300,
        "dev_size": 200, "max_words": 6})
    task = TranslateTask(config)
    task.prepare()
    assert "학" in task.src_vocab and "student" in task.tgt_vocab
    assert sum(task.meta["pairs"].values()) == len(task.splits["train"].src) + 500
    assert all(len(s.split()) <= 6 for s in task.splits["test"].refs)
    ids = task.encode_sources(["나는 학생이다"])[0]
    assert len(ids) == 7 and task.src_vocab.unk_id not in ids.tolist()
    assert np.all(task.splits["test"].src_words <= 6)


def test_subword_units_are_learnt_from_train_and_travel_with_the_run(pairs, tmp_path, capsys):
    out = tmp_path / "subword"
    options = ["--src-tokens", "subword", "--src-subwords", "120", "--tgt-tokens", "subword", "--tgt-subwords", "150",
               "--min-freq", "3"]  # min_freq applies to word and character tokens only
    assert main(["train", "translate", "--data", str(pairs), "--out", str(out), *SMALL, *options]) == 0
    from rnnlab.train.run import load_run

    task, model = load_run(str(out))
    assert set(task.subwords) == {"src", "tgt"}
    pieces = task.subwords["src"].pieces("I am a student.")
    assert task.source_tokens("I am a student.") == pieces and pieces[0].startswith("\u2581")
    # a fresh preparation learns the same pieces; every training sentence is spelt without <unk>
    fresh = TranslateTask(task.config)
    fresh.prepare()
    assert fresh.src_vocab.tokens == task.src_vocab.tokens and fresh.tgt_vocab.tokens == task.tgt_vocab.tokens
    train = fresh.splits["train"]
    assert all(task.src_vocab.unk_id not in ids.tolist() for ids in train.src)
    assert all(task.tgt_vocab.unk_id not in ids.tolist() for ids in train.tgt)
    # the loaded run (its subword models from the checkpoint) scores the test split as training did
    metrics = json.loads((out / "metrics.json").read_text())
    assert task.evaluate(model, data=fresh.splits["test"]).metrics == pytest.approx(metrics["test"])
    # translating joins target pieces into text: no "▁" shows
    capsys.readouterr()
    assert main(["translate", str(out), "--beam", "1", "I am a student."]) == 0
    text = capsys.readouterr().out.strip()
    assert text and "\u2581" not in text


def test_all_references_scores_the_test_split_against_every_translation_of_its_sources(run, capsys):
    from rnnlab.analysis.all_references import main as all_references

    metrics = json.loads((run / "metrics.json").read_text())["test"]
    capsys.readouterr()
    assert all_references([str(run)]) == 0
    out = capsys.readouterr().out
    assert "12 test pairs; references per source: mean 1.00" in out  # this slice repeats no source
    assert f"beam   BLEU {metrics['bleu']:6.2f} against the one reference, {metrics['bleu']:6.2f}" in out
