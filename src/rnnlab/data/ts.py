"""Multivariate time-series classification files in the sktime / aeon ``.ts`` format.

Layout (JapaneseVowels)::

    # comment lines
    @problemName JapaneseVowels
    @dimensions 12
    @equalLength false
    @classLabel true 1 2 3 4 5 6 7 8 9
    @data
    1.86,1.89,...:-0.21,-0.19,...: ... :1      <- one case per line

A case is D dimensions separated by ``:``, each a comma-separated series, and the class
label as the last ``:`` field. Within a case all dimensions have the same length T_i;
T_i varies between cases. Missing values (``?``) and time stamps are not supported.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnlab.data._files import read_lines
from rnnlab.data.errors import data_error

FLOAT32_MAX = float(np.finfo(np.float32).max)


def read_ts(path: str | Path) -> tuple[list[np.ndarray], list[str]]:
    """Read a labelled ``.ts`` file (see ``parse_ts``)."""
    return parse_ts(read_lines(path), path)


def parse_ts(lines: list[str], path: str | Path) -> tuple[list[np.ndarray], list[str]]:
    """Parse the lines of a labelled ``.ts`` file; ``path`` names it in errors (a file, or
    ``<stdin>``).

    Returns ``series``, a list of N float32 arrays of shape (T_i, D) (time along axis 0,
    so ``series[i][t]`` is the D-vector at step t), and ``labels`` (N,) as str.
    Every case must have the same D (``@dimensions`` if given, else the first case's);
    labels must be among those declared by ``@classLabel true ...``.
    Raises ``DataError`` naming the file and line for anything else.
    """
    metadata, first_data_line = _read_header(path, lines)
    declared = metadata.get("classlabel", "")
    class_words = declared.split()
    if not class_words or class_words[0].lower() != "true":
        raise data_error(path, f"read_ts reads classification files: expected "
                         f"'@classLabel true <labels>' before @data, got {declared!r}")
    class_labels = set(class_words[1:])
    if metadata.get("timestamps", "false").lower() == "true":
        raise data_error(path, "has @timeStamps true, which read_ts does not support")
    num_dims = _declared_dimensions(path, metadata)

    series: list[np.ndarray] = []
    labels: list[str] = []
    for number, line in enumerate(lines[first_data_line:], start=first_data_line + 1):
        if not line.strip():
            continue
        case, label = _parse_case(path, number, line)
        if num_dims is None:
            num_dims = case.shape[1]
        if case.shape[1] != num_dims:
            raise data_error(path, f"case has {case.shape[1]} dimensions, expected {num_dims} "
                             f"(as declared by @dimensions or found in the first case)", number)
        if class_labels and label not in class_labels:
            raise data_error(path, f"class label {label!r} is not among those declared by "
                             f"@classLabel: {sorted(class_labels)}", number)
        series.append(case)
        labels.append(label)
    if not series:
        raise data_error(path, "has no cases after @data")
    return series, labels


def _read_header(path, lines: list[str]) -> tuple[dict[str, str], int]:
    """``@key value`` lines up to ``@data`` -> ({key lowercased: value}, index after @data)."""
    metadata: dict[str, str] = {}
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not stripped.startswith("@"):
            raise data_error(path, "expected a '#' comment or an '@' metadata line before "
                             f"@data, got {stripped[:40]!r} (is the @data line missing?)", index + 1)
        key, _, value = stripped[1:].partition(" ")
        if key.lower() == "data":
            return metadata, index + 1
        metadata[key.lower()] = value.strip()
    raise data_error(path, "has no @data line")


def _declared_dimensions(path, metadata: dict[str, str]) -> int | None:
    value = metadata.get("dimensions")
    if value is None:
        return None
    if not value.isdigit() or int(value) < 1:
        raise data_error(path, f"@dimensions must be a positive integer, got {value!r}")
    return int(value)


def _parse_case(path, number: int, line: str) -> tuple[np.ndarray, str]:
    """``d0:d1:...:label`` -> ((T, D) float32, label)."""
    fields = line.split(":")
    if len(fields) < 2:
        raise data_error(path, "expected dimensions separated by ':' and the class label as "
                         "the last field, found no ':'", number)
    label = fields[-1].strip()
    if not label:
        raise data_error(path, "empty class label (the last ':' field)", number)
    dims = [_parse_dimension(path, number, d, text) for d, text in enumerate(fields[:-1])]
    for d, values in enumerate(dims):
        if len(values) != len(dims[0]):
            raise data_error(path, f"dimension {d} has {len(values)} values but dimension 0 "
                             f"has {len(dims[0])}: all dimensions of a case must have the "
                             f"same length", number)
    return np.ascontiguousarray(np.array(dims, dtype=np.float32).T), label


def _parse_dimension(path, number: int, d: int, text: str) -> list[float]:
    """One comma-separated series -> its values, each a finite float32-sized number."""
    values = []
    for t, cell in enumerate(text.split(",")):
        cell = cell.strip()
        where = f"dimension {d}, position {t}"
        if cell == "?":
            raise data_error(path, f"missing value '?' at {where}: read_ts does not impute "
                             "missing values", number)
        try:
            value = float(cell)
        except ValueError:
            raise data_error(path, f"non-numeric value {cell!r} at {where}", number) from None
        if not abs(value) <= FLOAT32_MAX:  # also catches nan
            raise data_error(path, f"value {cell!r} at {where} is not a finite float32", number)
        values.append(value)
    return values
