"""read_ts: (T_i, D) float32 cases with their labels; malformed cases named by line."""

import numpy as np
import pytest

from rnnlab.data.errors import DataError
from rnnlab.data.ts import read_ts

HEADER = (
    "#A comment\n"
    "#\n"
    "@problemName Toy\n"
    "@timeStamps false\n"
    "@dimensions 2\n"
    "@equalLength false\n"
    "@classLabel true 1 2 3\n"
    "@data\n"
)
CASES = "1.5,2,3:-4,5e-1,6:2\n7,8:9,10:3\n"  # lines 9 and 10


def write(tmp_path, text, name="t.ts"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_cases_are_time_by_dimension(tmp_path):
    series, labels = read_ts(write(tmp_path, HEADER + CASES))
    assert labels == ["2", "3"]
    assert [s.shape for s in series] == [(3, 2), (2, 2)]
    assert all(s.dtype == np.float32 and s.flags.c_contiguous for s in series)
    np.testing.assert_array_equal(series[0], np.array([[1.5, -4], [2, 0.5], [3, 6]], np.float32))
    np.testing.assert_array_equal(series[1], np.array([[7, 9], [8, 10]], np.float32))


def test_lowercase_metadata_and_blank_lines(tmp_path):
    text = HEADER.replace("@classLabel", "@classlabel").replace("@dimensions 2\n", "") + CASES + "\n\n"
    series, labels = read_ts(write(tmp_path, text))
    assert len(series) == 2


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("1,2,3:4,?,6:2", "line 9: missing value '\\?' at dimension 1, position 1"),
        ("1,2,3:4,x,6:2", "line 9: non-numeric value 'x' at dimension 1, position 1"),
        ("1,2,3:4,,6:2", "line 9: non-numeric value '' at dimension 1, position 1"),
        ("1,2,nan:4,5,6:2", "line 9: value 'nan' at dimension 0, position 2 is not a finite float32"),
        ("1,2,1e39:4,5,6:2", "line 9: value '1e39' .* not a finite float32"),
        ("1,2,3:4,5:2", "line 9: dimension 1 has 2 values but dimension 0 has 3"),
        ("1,2,3:4,5,6:7,8,9:2", "line 9: case has 3 dimensions, expected 2"),
        ("1,2,3:4,5,6:", "line 9: empty class label"),
        ("1,2,3:4,5,6:4", "line 9: class label '4' is not among those declared by @classLabel: \\['1', '2', '3'\\]"),
        ("1,2,3", "line 9: expected dimensions separated by ':'"),
    ],
)
def test_malformed_case_is_named(tmp_path, case, message):
    path = write(tmp_path, HEADER + case + "\n7,8:9,10:3\n")
    with pytest.raises(DataError, match=f"t.ts, {message}"):
        read_ts(path)


def test_dimension_count_from_first_case_without_metadata(tmp_path):
    text = HEADER.replace("@dimensions 2\n", "") + "1,2:3,4:1\n5,6:2\n"
    with pytest.raises(DataError, match="line 9: case has 1 dimensions, expected 2"):
        read_ts(write(tmp_path, text))


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (HEADER.replace("@data\n", ""), "line 8: expected a '#' comment .* got '1.5,2,3.*' \\(is the @data line missing\\?\\)"),
        (HEADER.replace("@classLabel true 1 2 3", "@classLabel false"), "expected '@classLabel true <labels>'"),
        (HEADER.replace("@classLabel true 1 2 3\n", ""), "expected '@classLabel true <labels>'"),
        (HEADER.replace("@timeStamps false", "@timeStamps true"), "@timeStamps true, which read_ts does not support"),
        (HEADER.replace("@dimensions 2", "@dimensions two"), "@dimensions must be a positive integer, got 'two'"),
        (HEADER.replace("#A comment", "A stray line"), "line 1: expected a '#' comment or an '@' metadata line"),
    ],
)
def test_bad_header(tmp_path, header, message):
    with pytest.raises(DataError, match=message):
        read_ts(write(tmp_path, header + CASES))


def test_no_data_line(tmp_path):
    with pytest.raises(DataError, match="t.ts: has no @data line"):
        read_ts(write(tmp_path, HEADER.replace("@data\n", "")))


def test_no_cases(tmp_path):
    with pytest.raises(DataError, match="t.ts: has no cases after @data"):
        read_ts(write(tmp_path, HEADER))
