"""Dates of a series: parsing the date column, calendar features, dates after the last row.

A date column is read in one of the formats in ``DATE_FORMATS``, chosen by the first row
and then required of every row; the dates must increase strictly (a series in time order).

Calendar features give the model the season (and the hour) that a window of a few days
cannot show by itself::

    year:  sin(2 pi d / Y), cos(2 pi d / Y)   d = days since 1 January (fractional), Y = 365 or 366
    day:   sin(2 pi s / 86400), cos(2 pi s / 86400)   s = seconds since midnight

The sine/cosine pair puts 31 December next to 1 January instead of a year away.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from rnnlab.data.errors import data_error

DATE_FORMATS = (
    "%Y/%m/%d", "%Y-%m-%d",
    "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
)
CALENDARS = {"none": (), "year": ("year_sin", "year_cos"), "year+day": ("year_sin", "year_cos", "day_sin", "day_cos")}


def parse_dates(path: str | Path, dates: list[str], first_line: int = 2) -> tuple[list[datetime], str]:
    """Datetimes of ``dates`` (row k is on line first_line + k of ``path``) and their format.

    A date in another format than the first row's, or not later than the row before, is a
    ``DataError`` naming the file and line.
    """
    fmt = next((f for f in DATE_FORMATS if _parses(dates[0], f)), None)
    if fmt is None:
        raise data_error(path, f"date {dates[0]!r} is not in a known format "
                         f"({', '.join(DATE_FORMATS)})", first_line)
    times: list[datetime] = []
    for k, text in enumerate(dates):
        try:
            t = datetime.strptime(text, fmt)
        except ValueError:
            raise data_error(path, f"date {text!r} does not match the format {fmt!r} of the first row",
                             first_line + k) from None
        if times and t <= times[-1]:
            raise data_error(path, f"date {text!r} is not later than the row before "
                             "(the rows must be in time order)", first_line + k)
        times.append(t)
    return times, fmt


def _parses(text: str, fmt: str) -> bool:
    try:
        datetime.strptime(text, fmt)
    except ValueError:
        return False
    return True


def calendar_features(times: list[datetime], kind: str) -> np.ndarray:
    """(T, F) float64 features of ``kind`` (a key of CALENDARS, F = len(CALENDARS[kind]))."""
    if kind not in CALENDARS:
        raise ValueError(f"calendar must be one of {', '.join(CALENDARS)}, got {kind!r}")
    columns = []
    if kind in ("year", "year+day"):
        phase = [2 * math.pi * _year_fraction(t) for t in times]
        columns += [np.sin(phase), np.cos(phase)]
    if kind == "year+day":
        phase = [2 * math.pi * (t.hour * 3600 + t.minute * 60 + t.second) / 86400 for t in times]
        columns += [np.sin(phase), np.cos(phase)]
    if not columns:
        return np.zeros((len(times), 0))
    return np.stack(columns, axis=1)


def _year_fraction(t: datetime) -> float:
    start = datetime(t.year, 1, 1)
    length = (datetime(t.year + 1, 1, 1) - start).total_seconds()
    return (t - start).total_seconds() / length


def dates_after(path: str | Path, times: list[datetime], count: int) -> list[datetime]:
    """The ``count`` dates after the last one, spaced by the last step of the series."""
    if count <= 0:
        return []
    if len(times) < 2:
        raise data_error(path, "needs at least two rows to know the time step of dates beyond its end")
    step: timedelta = times[-1] - times[-2]
    return [times[-1] + step * (k + 1) for k in range(count)]
