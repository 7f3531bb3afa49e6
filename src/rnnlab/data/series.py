"""Regularly sampled series from CSV text, windows over them, and scaling.

The pieces of the forecasting pipeline (``rnnlab.train.tasks.forecast`` puts them together)::

    dates, values, names = read_csv_series(path, "date", ["temp_max", "precipitation"])
    scaler = Standardizer.fit(values[:train_end])       # statistics of the training rows only
    X, y = sliding_windows(scaler.transform(values), window=30, horizon=1, target_index=0)

The windows are made over the whole series and each belongs to the part (train, dev,
test) that holds its *target* row, so a dev window may read the last training rows as
inputs, as the model is used: no target it is scored on was seen in training.
``parse_csv_series`` reads lines already in memory (standard input) the same way.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnlab._checks import check_positive_int
from rnnlab.data._files import read_lines
from rnnlab.data.errors import DataError, data_error

FLOAT32_MAX = float(np.finfo(np.float32).max)


def read_csv_series(
    path: str | Path, date_col: str = "date", columns: list[str] | None = None
) -> tuple[list[str], np.ndarray, list[str]]:
    """Read a CSV file with a header row (see ``parse_csv_series``)."""
    return parse_csv_series(read_lines(path), path, date_col, columns)


def parse_csv_series(
    lines: list[str], path: str | Path, date_col: str = "date", columns: list[str] | None = None
) -> tuple[list[str], np.ndarray, list[str]]:
    """Parse CSV lines with a header row: one date column and numeric value columns;
    ``path`` names the input in errors (a file, or ``<stdin>``).

    ``columns`` chooses the value columns by header name, in the order given; ``None``
    takes every column except ``date_col`` (so every one of them must be numeric).
    Rows are kept in file order; dates are returned as written.

    Returns ``dates`` (T,) str, ``values`` (T, C) float32 and ``column_names`` (C,).
    A missing, non-numeric or non-finite cell is a ``DataError`` naming the line and column.
    """
    if not lines:
        raise data_error(path, "is empty (expected CSV lines, the header row first)")
    header = [name.strip() for name in _csv_row(path, lines[0], 1)]
    if date_col not in header:
        raise data_error(path, f"no date column {date_col!r}; available columns: {header}", 1)
    chosen_by_default = columns is None
    if columns is None:
        columns = [name for name in header if name != date_col]
    if not columns:
        raise data_error(path, f"has no value columns besides {date_col!r}", 1)
    unknown = [name for name in columns if name not in header]
    if unknown:
        raise data_error(path, f"no column named {unknown[0]!r}; available columns: {header}", 1)
    date_index = header.index(date_col)
    value_indices = [header.index(name) for name in columns]
    dates: list[str] = []
    rows: list[list[float]] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            raise data_error(path, "blank line (every line after the header must be a row)", number)
        row = _csv_row(path, line, number)
        if len(row) != len(header):
            raise data_error(path, f"expected {len(header)} comma-separated cells (as in the "
                             f"header), found {len(row)}", number)
        date = row[date_index].strip()
        if not date:
            raise data_error(path, f"missing value in column {date_col!r}", number)
        try:
            values = [_parse_cell(path, number, name, row[i])
                      for name, i in zip(columns, value_indices)]
        except DataError as exc:
            if not chosen_by_default:
                raise
            raise DataError(f"{exc}; columns=None takes every column except {date_col!r}: "
                            "pass columns=[...] to choose the numeric ones") from None
        dates.append(date)
        rows.append(values)
    if not rows:
        raise data_error(path, "has a header but no data rows")
    return dates, np.array(rows, dtype=np.float32), list(columns)


def _csv_row(path, line: str, number: int) -> list[str]:
    """One line parsed by the csv module (quotes allowed; a record may not span lines)."""
    try:
        return next(csv.reader([line], strict=True), [])
    except csv.Error as exc:
        raise data_error(path, f"malformed CSV ({exc})", number) from None


def _parse_cell(path, number: int, column: str, cell: str) -> float:
    cell = cell.strip()
    if not cell:
        raise data_error(path, f"missing value in column {column!r}", number)
    try:
        value = float(cell)
    except ValueError:
        raise data_error(path, f"non-numeric value {cell!r} in column {column!r}", number) from None
    if not abs(value) <= FLOAT32_MAX:  # also catches nan
        raise data_error(path, f"value {cell!r} in column {column!r} is not a finite float32",
                         number)
    return value


def sliding_windows(
    values: np.ndarray, window: int, horizon: int = 1, target_index: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Every input window of ``window`` steps and the target ``horizon`` steps after it.

    For values (T, C): ``X[m] = values[m : m + window]`` and
    ``y[m] = values[m + window - 1 + horizon, target_index]``, for m = 0 .. M-1 with
    M = T - window - horizon + 1. Returns X (M, window, C) and y (M,), copies in the
    dtype of ``values``.

    >>> X, y = sliding_windows(np.arange(6.0).reshape(6, 1), window=3, horizon=2)
    >>> X[:, :, 0].tolist(), y.tolist()
    ([[0.0, 1.0, 2.0], [1.0, 2.0, 3.0]], [4.0, 5.0])
    """
    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(f"values must have shape (T, C), got {values.shape}")
    window = check_positive_int("window", window)
    horizon = check_positive_int("horizon", horizon)
    num_steps, num_columns = values.shape
    if not 0 <= target_index < num_columns:
        raise ValueError(f"target_index must lie in 0..{num_columns - 1} (C = {num_columns} "
                         f"columns), got {target_index}")
    count = num_steps - window - horizon + 1
    if count < 1:
        raise ValueError(f"a series of T = {num_steps} steps is too short for window = {window} "
                         f"and horizon = {horizon} (needs T >= {window + horizon})")
    starts = np.arange(count)
    X = values[starts[:, None] + np.arange(window)[None, :]]  # (M, window, C) fancy index copies
    y = values[starts + window - 1 + horizon, target_index].copy()
    return X, y


@dataclass
class Standardizer:
    """Per-column scaling ``z = (x - mean) / std`` with statistics of the training part.

    ``mean`` and ``std`` have shape (C,). Build it with ``Standardizer.fit(train_values)``;
    a constant column gets std 1 so it maps to 0 instead of dividing by zero.
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray) -> Standardizer:
        """Mean and standard deviation of each column of values (T, C), computed in float64."""
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or values.shape[0] < 1:
            raise ValueError(f"values must have shape (T, C) with T >= 1, got {values.shape}")
        std = values.std(axis=0)
        return cls(mean=values.mean(axis=0), std=np.where(std > 0, std, 1.0))

    def transform(self, values: np.ndarray) -> np.ndarray:
        """(..., C) -> (..., C) standardized, in the dtype of ``values``."""
        values = np.asarray(values)
        return ((values - self.mean) / self.std).astype(values.dtype, copy=False)

    def inverse_column(self, values: np.ndarray, column: int) -> np.ndarray:
        """Undo the scaling of one column, e.g. predictions y (M,) of ``target_index``."""
        values = np.asarray(values)
        return (values * self.std[column] + self.mean[column]).astype(values.dtype, copy=False)

    def to_dict(self) -> dict:
        """JSON-safe: {"mean": [C floats], "std": [C floats]}."""
        return {"mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std]}

    @classmethod
    def from_dict(cls, data: dict) -> Standardizer:
        mean = np.asarray(data["mean"], dtype=np.float64)
        std = np.asarray(data["std"], dtype=np.float64)
        if mean.ndim != 1 or mean.shape != std.shape or not (std > 0).all():
            raise ValueError(f"a Standardizer needs mean and std of equal shape (C,) with std > 0, "
                             f"got shapes {mean.shape} and {std.shape}")
        return cls(mean=mean, std=std)
