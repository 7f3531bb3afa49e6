"""Recipes ship inside the package and name their data by dataset; the command line lists
recipes and datasets, trains a recipe, and reads a user's plain two-column file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rnnlab import recipes
from rnnlab.cli import main
from rnnlab.data import datasets
from rnnlab.train.tasks import task_class

README = Path(__file__).resolve().parents[1] / "README.md"
MIRROR = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_mirror = pytest.mark.skipif(not MIRROR.is_dir(), reason=f"the shared datasets are not at {MIRROR}")


def test_every_recipe_is_a_valid_config_whose_files_are_registered_datasets():
    from rnnlab.train.config import resolve_config

    assert recipes.names() == ["en-fr", "eng-fra", "japanese-vowels", "kor-eng", "nsmc", "seattle", "shakespeare",
                               "ud-ewt"]
    for name in recipes.names():
        recipe = recipes.load(name)
        config = resolve_config(task_class(recipe.task).Config, None, None, base=recipe.options)
        files = [v for v in vars(config).values() if isinstance(v, str) and v.startswith(datasets.PREFIX)]
        assert files, name
        for ref in files:
            dataset, _ = datasets.parse_ref(ref)
            assert dataset.name == recipe.dataset


def test_every_recipe_command_in_the_readme_names_a_recipe():
    named = set(re.findall(r"rnnlab train --recipe ([\w-]+)", README.read_text(encoding="utf-8"))) - {"NAME"}
    assert named == set(recipes.names())


def test_recipes_lists_each_with_its_task_dataset_and_result(capsys):
    assert main(["recipes"]) == 0
    out = capsys.readouterr().out
    for name in recipes.names():
        recipe = recipes.load(name)
        assert re.search(rf"^{re.escape(name)}\s+{recipe.task}\s+{recipe.dataset}\s+{re.escape(recipe.result)}", out, re.M)


def test_an_unknown_recipe_or_the_wrong_task_is_one_line(capsys, tmp_path):
    assert main(["train", "classify", "--recipe", "nope", "--out", str(tmp_path / "r")]) == 1
    assert "no recipe named 'nope'; recipes are en-fr, eng-fra," in capsys.readouterr().err
    assert main(["train", "tag", "--recipe", "nsmc", "--out", str(tmp_path / "r")]) == 1
    assert "recipe nsmc trains a 'classify' model: rnnlab train --recipe nsmc --out DIR" in capsys.readouterr().err


def test_the_recipe_option_may_come_anywhere_among_the_options():
    from rnnlab.cli import _recipe_names_its_task

    for argv in (["train", "--recipe", "nsmc", "--out", "r"], ["train", "--threads", "2", "--recipe", "nsmc"],
                 ["train", "--out", "r", "--recipe=nsmc"]):
        assert _recipe_names_its_task(argv) == ["train", "classify", *argv[1:]]
    for argv in (["train", "tag", "--recipe", "nsmc"], ["eval", "--recipe", "nsmc"]):
        assert _recipe_names_its_task(argv) == argv  # a task given, another command


def test_an_unknown_recipe_without_a_task_is_one_line_listing_the_recipes(capsys):
    assert main(["train", "--threads", "1", "--recipe", "nope", "--out", "r"]) == 1
    err = capsys.readouterr().err
    assert err == f"rnnlab: error: no recipe named 'nope'; recipes are {', '.join(recipes.names())} (rnnlab recipes)\n"


@needs_mirror
def test_a_recipe_trains_from_its_dataset_name_with_flags_on_top(tmp_path, capsys):
    out = tmp_path / "jv"
    assert main(["train", "--recipe", "japanese-vowels", "--epochs", "2", "--hidden", "16", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["train"] == "dataset:japanese_vowels/JapaneseVowels_TRAIN.ts"  # the name, not a machine's path
    assert config["epochs"] == 2 and config["bidirectional"] is True  # the flag over the recipe, the recipe kept
    assert json.loads((out / "metrics.json").read_text())["test"]["accuracy"] > 0.5


@needs_mirror
def test_data_list_shows_every_dataset_and_whether_it_is_here(capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    for name, dataset in datasets.DATASETS.items():
        line = next(line for line in out.splitlines() if line.startswith(name + " "))
        assert dataset.licence in line
        assert ("missing" if name == "nsmc" else "cached") in line


@needs_mirror
def test_data_get_puts_a_dataset_in_the_folder_asked_for(tmp_path, capsys, monkeypatch):
    """From the mirror (RNNLAB_DATA) nothing is downloaded; --dir is another data folder, so
    there the files must come from the network: with none, one line names the URL."""
    assert main(["data", "get", "weather"]) == 0
    assert capsys.readouterr().out.split() == [str(MIRROR / "weather" / "seattle-weather.csv"),
                                               str(MIRROR / "weather" / "seattle-temps.csv")]
    from rnnlab.data import fetch

    monkeypatch.setattr(fetch, "RETRIES", 0)
    monkeypatch.setattr(datasets, "VEGA", "http://127.0.0.1:9/vega.whl")
    weather = datasets.DATASETS["weather"]
    local = datasets.Dataset(weather.name, weather.task, weather.description, weather.licence, weather.citation,
                             weather.origin, tuple(datasets.DataFile(f.name, f.sha256, datasets.Source(
                                 "http://127.0.0.1:9/vega.whl", f.source.sha256, f.source.member)) for f in weather.files))
    monkeypatch.setitem(datasets.DATASETS, "weather", local)
    assert main(["data", "get", "weather", "--dir", str(tmp_path / "d")]) == 1
    err = capsys.readouterr().err
    assert "cannot download http://127.0.0.1:9/vega.whl" in err and "save it as" in err
    assert not (tmp_path / "d" / "weather").exists()


# ----- your own data ---------------------------------------------------------------------------


def _two_columns(path: Path, n: int, seed: int = 0) -> Path:
    import numpy as np

    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n):
        good = rng.random() < 0.5
        words = rng.choice(["the", "food", "was", "service", "place"], size=4).tolist()
        words.insert(rng.integers(0, 5), "great" if good else "awful")
        lines.append(" ".join(words) + f"\t{int(good)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_two_column_file_without_header_and_without_a_test_file_just_trains(tmp_path, capsys):
    """The UCI sentiment layout, text<TAB>label and no header: no flags needed; a seeded
    tenth is held out as test, and the user is told both."""
    data = _two_columns(tmp_path / "mine.txt", 300)
    out = tmp_path / "run"
    assert main(["train", "classify", "--train", str(data), "--epochs", "4", "--hidden", "16", "--lr", "0.01",
                 "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"{data} has no header row: reading column 0 as the text and column 1 as the label" in err
    assert f"no --test file: holding out 30 of the 300 examples of {data} as test" in err
    assert json.loads((out / "metrics.json").read_text())["test"]["accuracy"] >= 0.9


def test_a_header_with_other_names_is_not_taken_for_data(tmp_path, capsys):
    data = tmp_path / "named.tsv"
    data.write_text("review\tstars\n" + "".join(f"fine food {k}\t{k % 2}\n" for k in range(40)), encoding="utf-8")
    assert main(["train", "classify", "--train", str(data), "--out", str(tmp_path / "r")]) == 1
    assert "no column named 'document' in the header; available columns: ['review', 'stars']" in capsys.readouterr().err
