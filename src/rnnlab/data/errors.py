"""The one exception every reader raises: a bad file, named with the line where it goes wrong."""

from __future__ import annotations

from pathlib import Path

from rnnlab.errors import RnnlabError


class DataError(RnnlabError, ValueError):
    """A data file that cannot be read as asked: missing, empty, not UTF-8 or malformed.

    The message always names the file, the line number where one is known, and what is
    wrong, so a user can open the file at that line and see the problem.
    """


def data_error(path: str | Path, message: str, line: int | None = None) -> DataError:
    """Build a ``DataError`` whose message reads ``path, line N: message``."""
    where = f"{path}, line {line}" if line is not None else f"{path}"
    return DataError(f"{where}: {message}")
