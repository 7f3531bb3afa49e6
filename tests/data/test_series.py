"""read_csv_series, sliding_windows, Standardizer."""

import json

import numpy as np
import pytest

from rnnlab.data.errors import DataError
from rnnlab.data.series import Standardizer, read_csv_series, sliding_windows

CSV = (
    "date,precipitation,temp_max,weather\n"
    "2012/01/01,0.0,12.8,drizzle\n"
    "2012/01/02,10.9,10.6,rain\n"
    '"2012/01/03",0.8,11.7,"rain, heavy"\n'
)


def write(tmp_path, text, name="w.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_chosen_columns_in_order(tmp_path):
    dates, values, names = read_csv_series(write(tmp_path, CSV), "date", ["temp_max", "precipitation"])
    assert dates == ["2012/01/01", "2012/01/02", "2012/01/03"]
    assert names == ["temp_max", "precipitation"]
    assert values.dtype == np.float32
    np.testing.assert_array_equal(values, np.array([[12.8, 0.0], [10.6, 10.9], [11.7, 0.8]], np.float32))


def test_all_columns_by_default(tmp_path):
    text = "date,temp\n2010/01/01 00:00,39.4\n2010/01/01 01:00,39.2"  # no final newline
    dates, values, names = read_csv_series(write(tmp_path, text))
    assert names == ["temp"] and values.shape == (2, 1) and dates[-1] == "2010/01/01 01:00"


def test_non_numeric_column_by_default_gets_a_hint(tmp_path):
    with pytest.raises(DataError, match="w.csv, line 2: non-numeric value 'drizzle' in column 'weather'; columns=None"):
        read_csv_series(write(tmp_path, CSV))


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("2012/01/02,,10.6,rain", "line 3: missing value in column 'precipitation'"),
        ("2012/01/02,1O.9,10.6,rain", "line 3: non-numeric value '1O.9' in column 'precipitation'"),
        ("2012/01/02,NaN,10.6,rain", "line 3: value 'NaN' in column 'precipitation' is not a finite float32"),
        ("2012/01/02,inf,10.6,rain", "line 3: value 'inf' .* not a finite float32"),
        (",10.9,10.6,rain", "line 3: missing value in column 'date'"),
        ("2012/01/02,10.9,10.6", "line 3: expected 4 comma-separated cells \\(as in the header\\), found 3"),
        ('2012/01/02,"10.9,10.6,rain', "line 3: malformed CSV"),
        ("", "line 3: blank line"),
    ],
)
def test_bad_cell_names_line_and_column(tmp_path, bad_line, message):
    lines = CSV.split("\n")
    lines[2] = bad_line
    with pytest.raises(DataError, match=f"w.csv, {message}"):
        read_csv_series(write(tmp_path, "\n".join(lines)), "date", ["precipitation", "temp_max"])


def test_unknown_columns_list_available(tmp_path):
    available = r"available columns: \['date', 'precipitation', 'temp_max', 'weather'\]"
    with pytest.raises(DataError, match=f"line 1: no column named 'wind'; {available}"):
        read_csv_series(write(tmp_path, CSV), "date", ["temp_max", "wind"])
    with pytest.raises(DataError, match=f"line 1: no date column 'day'; {available}"):
        read_csv_series(write(tmp_path, CSV), "day", ["temp_max"])


def test_header_only(tmp_path):
    with pytest.raises(DataError, match="header but no data rows"):
        read_csv_series(write(tmp_path, "date,temp\n"))


def test_sliding_windows_targets_horizon_after_last_step():
    values = np.arange(20, dtype=np.float32).reshape(10, 2)  # values[t] = [2t, 2t + 1]
    X, y = sliding_windows(values, window=3, horizon=2, target_index=1)
    assert X.shape == (6, 3, 2) and y.shape == (6,) and X.dtype == y.dtype == np.float32
    for m in range(6):
        np.testing.assert_array_equal(X[m], values[m : m + 3])
        assert y[m] == values[m + 3 - 1 + 2, 1]
    X[0, 0, 0] = -1.0  # a copy, not a view of values
    assert values[0, 0] == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window": 4, "horizon": 2}, "too short for window = 4 and horizon = 2 \\(needs T >= 6\\)"),
        ({"window": 0}, "window must be a positive integer"),
        ({"window": 2, "horizon": 0}, "horizon must be a positive integer"),
        ({"window": 2, "target_index": 2}, "target_index must lie in 0..1"),
    ],
)
def test_sliding_windows_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sliding_windows(np.zeros((5, 2)), **kwargs)


def test_standardizer_fits_train_and_round_trips():
    rng = np.random.default_rng(0)
    values = (rng.normal(size=(50, 3)) * [1.0, 10.0, 0.1] + [5.0, -3.0, 0.0]).astype(np.float32)
    values[:, 2] = 7.0  # a constant column maps to 0, not to a division by zero
    scaler = Standardizer.fit(values[:40])
    z = scaler.transform(values)
    assert z.dtype == np.float32
    np.testing.assert_allclose(z[:40, :2].mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(z[:40, :2].std(axis=0), 1.0, atol=1e-5)
    np.testing.assert_array_equal(z[:, 2], 0.0)
    np.testing.assert_allclose(scaler.inverse_column(z[:, 1], 1), values[:, 1], rtol=1e-5)

    restored = Standardizer.from_dict(json.loads(json.dumps(scaler.to_dict())))
    np.testing.assert_array_equal(restored.transform(values), z)


def test_standardizer_from_bad_dict():
    with pytest.raises(ValueError, match="std > 0"):
        Standardizer.from_dict({"mean": [0.0, 1.0], "std": [1.0, 0.0]})
