"""``rnnlab train tag`` end to end on a slice of UD English EWT, then eval and predict;
bad input ends in one line that names the file."""

import json
from pathlib import Path

import pytest

from rnnlab.cli import main
from rnnlab.train.checkpoint import load_checkpoint

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
EWT = DATA / "ud_english_ewt"

pytestmark = pytest.mark.skipif(not (EWT / "en_ewt-ud-dev.conllu").is_file(),
                                reason=f"UD English EWT not found at {EWT}")


def _sentences(path: Path) -> list[str]:
    """The CoNLL-U blocks of a file, one string per sentence (comments kept)."""
    return [b for b in path.read_text(encoding="utf-8").split("\n\n") if b.strip()]


@pytest.fixture(scope="module")
def slices(tmp_path_factory):
    """train / dev / test: 60 / 20 / 20 sentences of the real dev file."""
    root = tmp_path_factory.mktemp("ewt")
    blocks = _sentences(EWT / "en_ewt-ud-dev.conllu")
    for name, part in (("train", blocks[:60]), ("dev", blocks[60:80]), ("test", blocks[80:100])):
        (root / f"{name}.conllu").write_text("\n\n".join(part) + "\n\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def run(slices):
    out = slices / "run"
    code = main(["train", "tag", "--train", str(slices / "train.conllu"), "--dev", str(slices / "dev.conllu"),
                 "--test", str(slices / "test.conllu"), "--out", str(out), "--hidden", "8", "--embed", "6",
                 "--char-embed", "4", "--char-hidden", "4", "--epochs", "2", "--batch-size", "16",
                 "--lr", "0.01", "--dropout", "0.2"])
    assert code == 0
    return out


def test_a_run_directory_holds_everything(run):
    assert {p.name for p in run.iterdir()} >= {
        "config.json", "log.jsonl", "metrics.json", "curves.png", "best.npz"}
    metrics = json.loads((run / "metrics.json").read_text())
    for split in ("dev", "test"):
        assert set(metrics[split]) == {"accuracy", "loss"} and 0 <= metrics[split]["accuracy"] <= 1
    config = json.loads((run / "config.json").read_text())
    assert config["bidirectional"] is True and config["column"] == "upos"  # the task's defaults
    assert len((run / "log.jsonl").read_text().splitlines()) == 2


def test_eval_on_a_treebank_gives_the_test_metrics(run, slices, capsys):
    metrics = json.loads((run / "metrics.json").read_text())
    capsys.readouterr()
    assert main(["eval", str(run), "--data", str(slices / "test.conllu"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == pytest.approx(metrics["test"]["accuracy"])


def test_predict_prints_one_tag_per_token_and_one_line_per_line(run, slices, capsys):
    text = slices / "input.txt"
    text.write_text("The dog barks .\n\nblorfing   Zyx 42\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["predict", str(run), str(text)]) == 0
    lines = capsys.readouterr().out.split("\n")[:-1]
    assert [len(line.split()) for line in lines] == [4, 0, 3]
    known = set(load_checkpoint(run, "best").meta["meta"]["tags"]["tokens"])
    assert {tag for line in lines for tag in line.split()} <= known

    assert main(["predict", str(run), str(slices / "test.conllu")]) == 0
    lines = capsys.readouterr().out.splitlines()
    blocks = _sentences(slices / "test.conllu")
    assert len(lines) == len(blocks) == 20
    words = [sum(1 for row in b.splitlines() if row.split("\t")[0].isdigit()) for b in blocks]
    assert [len(line.split()) for line in lines] == words

    # a CoNLL-U file still to be tagged (UPOS and XPOS are '_') gets the same tags
    untagged = slices / "untagged.conllu"
    rows = [r.split("\t") for r in (slices / "test.conllu").read_text(encoding="utf-8").split("\n")]
    untagged.write_text("\n".join("\t".join(r[:3] + ["_", "_"] + r[5:]) if len(r) == 10 else r[0] for r in rows),
                        encoding="utf-8")
    assert main(["predict", str(run), str(untagged)]) == 0
    assert capsys.readouterr().out.splitlines() == lines


def test_a_tag_never_seen_in_training_names_the_file_and_the_tag(run, slices, capsys):
    bad = slices / "bad.conllu"
    rows = ["1\tHello\thello\tGREETING\tUH\t_\t0\troot\t_\t_", "2\t!\t!\tPUNCT\t.\t_\t1\tpunct\t_\t_"]
    bad.write_text("\n".join(rows) + "\n\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["eval", str(run), "--data", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("rnnlab: error: ") and str(bad) in err and "'GREETING'" in err
    assert len(err.strip().splitlines()) == 1

    # the same check when the test file of a new run has the unseen tag: nothing is written
    out = slices / "never"
    assert main(["train", "tag", "--train", str(slices / "train.conllu"), "--test", str(bad),
                 "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "'GREETING'" in err and not out.exists()


@pytest.mark.parametrize(("content", "message"), [
    ("", "is empty"),
    ("# only a comment\n\n", "contains no sentences"),
    ("1\tHello\thello\tINTJ\n", "expected 10 tab-separated columns"),
])
def test_a_bad_training_file_is_one_line_naming_it(slices, tmp_path, capsys, content, message):
    bad = tmp_path / "bad.conllu"
    bad.write_text(content, encoding="utf-8")
    assert main(["train", "tag", "--train", str(bad), "--test", str(slices / "test.conllu"),
                 "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and message in err and len(err.strip().splitlines()) == 1


def test_bad_options_are_named(slices, capsys):
    assert main(["train", "tag", "--train", str(slices / "train.conllu"), "--test", str(slices / "test.conllu"),
                 "--out", str(slices / "x"), "--word-dropout", "-1"]) == 1
    assert "--word-dropout must be at least 0.0, got -1.0" in capsys.readouterr().err


def test_a_tag_never_seen_in_training_is_named_by_its_line_in_the_file(slices, tmp_path, capsys):
    """Also when dev is split off the training file: the line is the file's, not the split's."""
    from rnnlab.train.tasks.common import split_off

    blocks = _sentences(slices / "train.conllu")[:40]
    _, held = split_off(len(blocks), 0.25, 0)  # the sentences the tagger holds out as dev
    rows = blocks[held[1]].split("\n")
    k = next(i for i, row in enumerate(rows) if row.split("\t")[0] == "2")
    cells = rows[k].split("\t")
    cells[3] = "RARE"
    rows[k] = "\t".join(cells)
    blocks[held[1]] = "\n".join(rows)
    text = "\n\n".join(blocks) + "\n\n"
    line = text[: text.index("\tRARE\t")].count("\n") + 1
    (tmp_path / "train.conllu").write_text(text, encoding="utf-8")
    assert main(["train", "tag", "--train", str(tmp_path / "train.conllu"), "--test", str(slices / "test.conllu"),
                 "--dev-fraction", "0.25", "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert f"train.conllu, line {line}: the UPOS tag 'RARE' was never seen in training" in err
    assert not (tmp_path / "run").exists()
