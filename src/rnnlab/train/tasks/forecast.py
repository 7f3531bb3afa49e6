"""``rnnlab train forecast``: the value of one column ``horizon`` steps ahead (many-to-one).

The data is one CSV with a header row: a date column and value columns, one row per time
step, in time order. The pipeline::

    rows 0 .. T-1 = | train ................ | dev (dev_size rows) | test (test_size rows) |
    inputs  = the chosen columns (+ calendar features of each row's date), standardised
              with the mean and std of the TRAIN rows only
    window m: inputs of rows m .. m+window-1  ->  target at row r = m + window - 1 + horizon

A window belongs to the part that holds its target row r. Its inputs may come from the
part before (the first dev windows read the last training days): that is how the model
is used, and no target it is scored on was seen in training, not even as an input.

Columns: ``columns`` names the inputs (comma-separated); left empty, it takes every
column except the date whose cell on the first data row is a number (so a text column
such as a weather label is left out); the target is always an input. A later missing or
non-numeric cell in a chosen column is an error naming file, line and column.
``log_columns`` feeds skewed amounts (precipitation: mostly 0, sometimes 50 mm) as
log(1 + x), so one storm does not sit 8 standard deviations out. ``calendar = "year"`` adds
sin/cos of each row's day of the year (``rnnlab.data.dates``): the season, which a window
of a few days cannot show.

Output: the model predicts the change of the target from its last observed value
(``output = "change"``, the default) or the standardised value itself (``"level"``).
Metrics are in the target's own units: ``mae``, ``rmse`` and the persistence baseline
(the forecast is the last observed value: tomorrow = today) ``baseline_mae`` and
``baseline_rmse``; ``mae_ratio`` = mae / baseline_mae; ``loss`` is the standardised MSE.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

import numpy as np

from rnnlab.data._files import read_lines
from rnnlab.data.dates import CALENDARS, calendar_features, dates_after, parse_dates
from rnnlab.data.errors import DataError, data_error
from rnnlab.data.series import Standardizer, parse_csv_series, sliding_windows
from rnnlab.errors import ConfigError
from rnnlab.models.forecaster import OUTPUTS, RNN_INITS, Forecaster, WindowBatch
from rnnlab.train.config import TrainConfig, option
from rnnlab.train.tasks.base import Evaluation, Example


@dataclass
class ForecastConfig(TrainConfig):
    data: str = option("", "CSV file with a header row: a date column and numeric columns, in time order")
    date_col: str = option("date", "name of the date column")
    columns: str = option("", "input columns, comma-separated (empty: every column except the date whose "
                          "first-row cell is a number)")
    target: str = option("", "the column to forecast (always also an input)")
    window: int = option(14, "input steps per forecast", at_least=1)
    horizon: int = option(1, "steps ahead: 1 forecasts the step right after the window", at_least=1)
    test_size: int = option(365, "the last rows held out as test (e.g. 365 = the last year of daily data)",
                           at_least=1)
    dev_size: int = option(365, "rows before the test part held out as dev (picks the best epoch)", at_least=1)
    log_columns: str = option("", "input columns fed as log(1 + x), comma-separated: for skewed amounts "
                              "such as precipitation (values must be > -1; not the target)")
    calendar: str = option("none", "calendar inputs from the date: sin/cos of the day of the year "
                           "(and of the time of day)", tuple(CALENDARS))
    output: str = option("change", "the network predicts the change from the last observed target value, "
                         "or the target's level", OUTPUTS)
    rnn_init: str = option("uniform", "recurrent weights: small U(-1/sqrt(H), 1/sqrt(H)) as PyTorch, or the "
                           "layer's own (Glorot, orthogonal, forget bias 1)", RNN_INITS)

    def validate(self) -> None:
        super().validate()
        if not self.data or not self.target:
            raise ConfigError("options data (a CSV file) and target (a column name) must be given")
        if self.target in _names(self.log_columns):
            raise ConfigError(f"the target {self.target!r} is forecast in its own units: leave it out of log_columns")


def _names(text: str) -> list[str]:
    """'a, b' -> ['a', 'b']."""
    return [name.strip() for name in text.split(",") if name.strip()]


def _numeric_columns(path: str, date_col: str) -> list[str]:
    """The default inputs: every column except the date whose first-row cell is a number."""
    lines = read_lines(path)
    if len(lines) < 2:
        raise data_error(path, "has a header but no data rows")
    header, first = (next(csv.reader([line]), []) for line in lines[:2])
    chosen = []
    for name, cell in zip((h.strip() for h in header), first):
        try:
            float(cell)
        except ValueError:
            continue
        if name != date_col:
            chosen.append(name)
    return chosen


class ForecastTask:
    name = "forecast"
    metric = "mae"
    higher_is_better = False
    Config = ForecastConfig

    def __init__(self, config: ForecastConfig, meta: dict | None = None):
        self.config = config
        self.meta = meta
        self.splits: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    # ----- data --------------------------------------------------------------------------

    def _input_columns(self) -> list[str]:
        c = self.config
        columns = _names(c.columns)
        if not columns:
            columns = _numeric_columns(c.data, c.date_col)
        return columns if c.target in columns else [*columns, c.target]

    def _read(self, path: str, columns: list[str]):
        """A CSV file's (features (T, F) float64: columns then calendar, datetimes (T,), date format)."""
        return self._parse(read_lines(path), path, columns)

    def _parse(self, lines: list[str], path: str, columns: list[str]):
        """The same from CSV lines in memory; ``path`` names them in errors."""
        dates, values, _ = parse_csv_series(lines, path, self.config.date_col, columns)
        times, fmt = parse_dates(path, dates)
        values = values.astype(np.float64)
        for name in _names(self.config.log_columns):
            if name not in columns:
                raise ConfigError(f"log_columns names {name!r}, which is not an input column {columns}")
            k = columns.index(name)
            bad = np.flatnonzero(values[:, k] <= -1)
            if len(bad):
                raise data_error(path, f"value {values[bad[0], k]:g} in column {name!r} is <= -1: "
                                 "log(1 + x) is undefined (leave it out of log_columns)", int(bad[0]) + 2)
            values[:, k] = np.log1p(values[:, k])
        calendar = calendar_features(times, self.config.calendar)
        return np.concatenate([values, calendar], axis=1), times, fmt

    def prepare(self) -> None:
        """Read the CSV, split it in time, fit the standardiser on the training rows."""
        c = self.config
        columns = self._input_columns()
        features, times, fmt = self._read(c.data, columns)
        T = len(features)
        train_end, test_start = T - c.test_size - c.dev_size, T - c.test_size
        if train_end < c.window + c.horizon:
            raise DataError(f"{c.data}: {T} rows leave {max(train_end, 0)} for training after "
                            f"test_size {c.test_size} and dev_size {c.dev_size}; a training window "
                            f"needs window + horizon = {c.window + c.horizon}")
        stats = Standardizer.fit(features[:train_end])  # the training rows only
        k = columns.index(c.target)
        self.meta = {
            "columns": columns, "inputs": columns + list(CALENDARS[c.calendar]), "target_index": k,
            "standardizer": stats.to_dict(), "date_format": fmt,
            "rows": {"train": [times[0].strftime(fmt), times[train_end - 1].strftime(fmt)],
                     "dev": [times[train_end].strftime(fmt), times[test_start - 1].strftime(fmt)],
                     "test": [times[test_start].strftime(fmt), times[-1].strftime(fmt)]},
        }
        X, y = self._windows(features)
        target_row = np.arange(len(y)) + c.window - 1 + c.horizon
        parts = {"train": target_row < train_end,
                 "dev": (target_row >= train_end) & (target_row < test_start),
                 "test": target_row >= test_start}
        self.splits = {name: (X[keep], y[keep]) for name, keep in parts.items()}

    def _windows(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Standardised windows X (M, window, F) float32 and targets y (M,)."""
        stats = Standardizer.from_dict(self.meta["standardizer"])
        z = stats.transform(features).astype(np.float32)
        return sliding_windows(z, self.config.window, self.config.horizon, self.meta["target_index"])

    def encode_file(self, path: str):
        """Every window of another CSV with the training columns, scaled as in training."""
        features, _, _ = self._read(path, self.meta["columns"])
        needed = self.config.window + self.config.horizon
        if len(features) < needed:
            raise DataError(f"{path}: {len(features)} rows, fewer than window + horizon = {needed}")
        return self._windows(features)

    # ----- model and training ----------------------------------------------------------------

    def model_options(self) -> dict:
        """The model's constructor arguments (all but rng), from the config and the data."""
        c = self.config
        return dict(input_size=len(self.meta["inputs"]), target_index=self.meta["target_index"],
                    cell=c.cell, hidden=c.hidden, layers=c.layers, bidirectional=c.bidirectional,
                    dropout=c.dropout, output=c.output, rnn_init=c.rnn_init,
                    recurrent_dropout=c.recurrent_dropout)

    def parameter_count(self) -> int:
        return Forecaster.parameter_count(**self.model_options())

    def build_model(self, rng, dtype=np.float32) -> Forecaster:
        return Forecaster(**self.model_options(), rng=rng, dtype=dtype)

    def train_batches(self, rng) -> list[WindowBatch]:
        X, y = self.splits["train"]
        order = rng.permutation(len(y))
        size = self.config.batch_size
        return [WindowBatch(X[idx], y[idx]) for idx in (order[i : i + size] for i in range(0, len(y), size))]

    @staticmethod
    def batch_size_in_tokens(batch: WindowBatch) -> int:
        return int(batch.x.shape[0] * batch.x.shape[1])

    @staticmethod
    def _predict(model, X: np.ndarray) -> np.ndarray:
        """(M,) standardised forecasts, in batches of 1024 windows."""
        return np.concatenate([model.predict(X[i : i + 1024]) for i in range(0, len(X), 1024)])

    def _units(self, z: np.ndarray) -> np.ndarray:
        stats = Standardizer.from_dict(self.meta["standardizer"])
        return stats.inverse_column(z.astype(np.float64), self.meta["target_index"])

    def evaluate(self, model, split="dev", data=None) -> Evaluation:
        X, y = data if data is not None else self.splits[split]
        z = self._predict(model, X)
        pred, truth = self._units(z), self._units(y)
        persistence = self._units(X[:, -1, self.meta["target_index"]])
        error, baseline_error = pred - truth, persistence - truth
        mae, baseline_mae = float(np.abs(error).mean()), float(np.abs(baseline_error).mean())
        return Evaluation({"mae": mae, "rmse": float(np.sqrt(np.mean(error**2))),
                           "baseline_mae": baseline_mae, "baseline_rmse": float(np.sqrt(np.mean(baseline_error**2))),
                           "mae_ratio": mae / baseline_mae if baseline_mae > 0 else float("nan"),
                           "loss": float(np.mean((z.astype(np.float64) - y) ** 2))})

    # ----- prediction ------------------------------------------------------------------------

    def predict_file(self, model, path: str) -> list[str]:
        """``date<TAB>value`` for every window of ``path``: the date forecast and the forecast.

        The last ``horizon`` forecasts lie beyond the file; their dates continue the file's
        last time step."""
        return self._forecasts(model, read_lines(path), path)

    def predict_lines(self, model, lines: list[str]) -> list[str]:
        """Forecasts for CSV text (header row first), e.g. from standard input."""
        return self._forecasts(model, lines, "<stdin>")

    def _forecasts(self, model, lines: list[str], path: str) -> list[str]:
        features, times, fmt = self._parse(lines, path, self.meta["columns"])
        W, h = self.config.window, self.config.horizon
        if len(features) < W:
            raise DataError(f"{path}: {len(features)} rows, fewer than window = {W}")
        stats = Standardizer.from_dict(self.meta["standardizer"])
        z = stats.transform(features).astype(np.float32)
        X = z[np.arange(len(z) - W + 1)[:, None] + np.arange(W)[None, :]]  # (M, W, F)
        rows = np.arange(len(X)) + W - 1 + h  # the row each forecast is for
        future = dates_after(path, times, int(rows[-1]) - len(times) + 1)
        when = [times[r] if r < len(times) else future[r - len(times)] for r in rows]
        values = self._units(self._predict(model, X))
        return [f"{t.strftime(fmt)}\t{v:.2f}" for t, v in zip(when, values)]

    def encode_text(self, text: str) -> Example:
        """CSV rows with the training columns (header row first) -> their most recent window,
        scaled as in training, its steps labelled by date."""
        features, times, fmt = self._parse(text.splitlines(), "<input>", self.meta["columns"])
        W = self.config.window
        if len(features) < W:
            raise DataError(f"<input>: {len(features)} rows, fewer than window = {W}")
        z = Standardizer.from_dict(self.meta["standardizer"]).transform(features[-W:]).astype(np.float32)
        return Example(WindowBatch(z[None], None), {"rnn": [t.strftime(fmt) for t in times[-W:]]})
