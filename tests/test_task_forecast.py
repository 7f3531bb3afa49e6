"""``rnnlab train forecast`` end to end on a slice of the Seattle weather, and its error paths.

A run directory holds dev/test metrics in °C beside the persistence baseline; eval on the
rows of the test part reproduces the test metrics; predict prints one dated forecast per
window; the split is in time, with statistics of the training rows only; bad input ends
with one line that names the file (and line).
"""

import io
import json
from pathlib import Path

import numpy as np
import pytest

from rnnlab.cli import main
from rnnlab.data.dates import calendar_features, dates_after, parse_dates
from rnnlab.data.errors import DataError
from rnnlab.train.checkpoint import load_checkpoint
from rnnlab.train.config import ConfigError, resolve_config
from rnnlab.train.tasks.forecast import ForecastConfig, ForecastTask

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SEATTLE = DATA / "weather" / "seattle-weather.csv"
ROWS, WINDOW, TEST, DEV = 90, 5, 15, 12
SMALL = ["--target", "temp_max", "--window", str(WINDOW), "--test-size", str(TEST), "--dev-size", str(DEV),
         "--log-columns", "precipitation", "--calendar", "year", "--hidden", "6", "--batch-size", "16",
         "--epochs", "2", "--lr", "0.01", "--patience", "0"]


@pytest.fixture(scope="module")
def csv_slice(tmp_path_factory):
    if not SEATTLE.exists():
        pytest.skip(f"the shared datasets are not at {DATA}")
    path = tmp_path_factory.mktemp("data") / "seattle.csv"
    lines = SEATTLE.read_text(encoding="utf-8").splitlines()[: ROWS + 1]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def run(csv_slice, tmp_path_factory):
    """One small trained run that the eval and predict tests share."""
    out = tmp_path_factory.mktemp("forecast") / "run"
    assert main(["train", "forecast", "--data", str(csv_slice), "--out", str(out), *SMALL]) == 0
    return out


def _rows(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_a_run_directory_holds_everything_and_eval_agrees(run, csv_slice, tmp_path, capsys):
    assert {p.name for p in run.iterdir()} >= {
        "config.json", "log.jsonl", "metrics.json", "curves.png", "best.npz", "last.npz"}
    metrics = json.loads((run / "metrics.json").read_text())
    for split in ("dev", "test"):
        assert {"mae", "rmse", "baseline_mae", "baseline_rmse", "loss"} <= set(metrics[split])
        assert metrics[split]["mae_ratio"] == pytest.approx(metrics[split]["mae"] / metrics[split]["baseline_mae"])
        assert 0 < metrics[split]["baseline_mae"] < 10  # °C, not standardised units
    assert json.loads((run / "config.json").read_text())["window"] == WINDOW
    meta = load_checkpoint(run, "best").meta["meta"]
    assert meta["columns"] == ["precipitation", "temp_max", "temp_min", "wind"]  # `weather` is text

    # the header and the rows that the test windows read: exactly the test part's windows
    rows = _rows(csv_slice)
    test_file = tmp_path / "test_part.csv"
    test_file.write_text("\n".join([rows[0], *rows[-(TEST + WINDOW):]]) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["eval", str(run), "--data", str(test_file), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == pytest.approx(metrics["test"], rel=1e-5)


def test_predict_prints_a_dated_forecast_for_every_window(run, csv_slice, capsys, monkeypatch):
    capsys.readouterr()
    assert main(["predict", str(run), str(csv_slice)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == ROWS - WINDOW + 1
    first_date = _rows(csv_slice)[1 + WINDOW].split(",")[0]  # the day after the first window
    assert lines[0].split("\t")[0] == first_date
    assert lines[-1].split("\t")[0] == "2012/03/31"  # the day after the file's last row (2012/03/30)
    assert all(np.isfinite(float(line.split("\t")[1])) for line in lines)

    # standard input: the same CSV text, header first, gives the same forecasts
    monkeypatch.setattr("sys.stdin", io.StringIO(csv_slice.read_text(encoding="utf-8")))
    assert main(["predict", str(run)]) == 0
    assert capsys.readouterr().out.splitlines() == lines

    # a problem in standard input is named as <stdin>, not as a temporary file
    short = "\n".join(_rows(csv_slice)[:3]) + "\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(short))
    assert main(["predict", str(run)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("rnnlab: error: <stdin>: 2 rows, fewer than window") and "tmp" not in err


def _task(path, **options) -> ForecastTask:
    config = resolve_config(ForecastConfig, None, {"data": str(path), "target": "y", **options})
    task = ForecastTask(config)
    task.prepare()
    return task


def _write(path: Path, values, header="date,x,y", start=1) -> Path:
    rows = [header] + [f"2020/01/{start + k:02d},{x},{y}" for k, (x, y) in enumerate(values)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_split_is_in_time_and_statistics_come_from_training_rows(tmp_path):
    # training rows are small, the last rows huge: a leak would move the mean
    values = [(k, k) for k in range(10)] + [(1000 + k, 1000 + k) for k in range(8)]
    task = _task(_write(tmp_path / "s.csv", values), window=3, horizon=2, test_size=5, dev_size=3)
    assert task.meta["standardizer"]["mean"] == pytest.approx([4.5, 4.5])  # rows 0..9 only
    X, y = task.splits["train"]
    # targets at rows 4..9 (row r = m + window - 1 + horizon), dev rows 10..12, test 13..17
    assert [len(task.splits[s][1]) for s in ("train", "dev", "test")] == [6, 3, 5]
    std = task.meta["standardizer"]["std"][1]
    np.testing.assert_allclose(y * std + 4.5, np.arange(4, 10), atol=1e-4)
    np.testing.assert_allclose(task.splits["test"][1] * std + 4.5, 1000 + np.arange(3, 8), atol=1e-2)


def test_an_untrained_change_model_is_the_persistence_baseline(tmp_path):
    task = _task(_write(tmp_path / "s.csv", [(k % 3, (k * 7) % 5) for k in range(20)]),
                 window=2, test_size=5, dev_size=5, hidden=4)
    model = task.build_model(np.random.default_rng(0))
    model.params["head.W"][...] = 0
    model.params["head.b"][...] = 0
    metrics = task.evaluate(model, "test").metrics
    assert metrics["mae"] == pytest.approx(metrics["baseline_mae"])
    assert metrics["rmse"] == pytest.approx(metrics["baseline_rmse"])


def test_dates_calendar_and_the_step_beyond_the_end():
    times, fmt = parse_dates("f.csv", ["2012-12-31 18:00", "2013-01-01 00:00"])
    assert fmt == "%Y-%m-%d %H:%M"
    features = calendar_features(times, "year+day")
    assert features.shape == (2, 4)
    np.testing.assert_allclose(features[1], [0.0, 1.0, 0.0, 1.0], atol=1e-12)  # 1 January, midnight
    assert [t.strftime(fmt) for t in dates_after("f.csv", times, 2)] == ["2013-01-01 06:00", "2013-01-01 12:00"]
    assert calendar_features(times, "none").shape == (2, 0)


@pytest.mark.parametrize(("rows", "message"), [
    (["date,x,y", "2020/01/01,1,2", "2020/01/02,,3"], r"bad\.csv, line 3: missing value in column 'x'"),
    (["date,x,y", "2020/01/01,1,2", "2020/01/02,1,warm"], r"bad\.csv, line 3: non-numeric value 'warm' in column 'y'"),
    (["date,x,y", "2020/01/01,1,2", "01.02.2020,1,3"], r"bad\.csv, line 3: date '01\.02\.2020' does not match"),
    (["date,x,y", "2020/01/02,1,2", "2020/01/01,1,3"], r"bad\.csv, line 3: date .* not later"),
    (["date,x,y"], r"bad\.csv.*no data rows"),
    (["when,x,y", "2020/01/01,1,2"], r"bad\.csv, line 1: no date column 'date'"),
    (["date,x,z", "2020/01/01,1,2"], r"bad\.csv, line 1: no column named 'y'"),
])
def test_bad_files_name_the_file_and_line(tmp_path, rows, message):
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=message):
        _task(path, window=1, test_size=1, dev_size=1)


def test_bad_options_and_short_or_empty_files(tmp_path, capsys):
    path = _write(tmp_path / "s.csv", [(k, k) for k in range(10)])
    with pytest.raises(DataError, match=r"s\.csv: 10 rows leave 2 for training"):
        _task(path, window=3, test_size=4, dev_size=4)
    with pytest.raises(ConfigError, match="target 'y' .* log_columns"):
        _task(path, log_columns="y")
    with pytest.raises(ConfigError, match="--window must be at least 1, got 0"):
        _task(path, window=0)
    negative = _write(tmp_path / "n.csv", [(-3, k) for k in range(10)])
    with pytest.raises(DataError, match=r"n\.csv, line 2: value -3 in column 'x' is <= -1"):
        _task(negative, log_columns="x", window=2, test_size=2, dev_size=2)
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    assert main(["train", "forecast", "--data", str(empty), "--target", "y", "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "empty.csv" in err and "empty" in err


def test_eval_and_predict_name_a_bad_file(run, tmp_path, capsys):
    short = tmp_path / "short.csv"
    short.write_text("date,precipitation,temp_max,temp_min,wind\n2012/01/01,0,1,0,2\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["eval", str(run), "--data", str(short)]) == 1
    assert "short.csv: 1 rows, fewer than window + horizon = 6" in capsys.readouterr().err
    missing = tmp_path / "missing.csv"
    missing.write_text("date,temp_max\n2012/01/01,1\n", encoding="utf-8")
    assert main(["predict", str(run), str(missing)]) == 1
    assert "missing.csv, line 1: no column named 'precipitation'" in capsys.readouterr().err
