"""read_labelled_text (header names or indices), tokenize, read_text."""

import pytest

from rnnlab.data.errors import DataError
from rnnlab.data.text import read_labelled_text, read_text, tokenize

WITH_HEADER = 'id\tdocument\tlabel\n7\tA "great" film\t1\n8\t 별로예요 \t0\n'
NO_HEADER = 'Wow... Loved this place.\t1\n"Crust" is not good.\t0\n'


def write(tmp_path, text, name="t.tsv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_columns_by_header_name(tmp_path):
    texts, labels = read_labelled_text(write(tmp_path, WITH_HEADER), "document", "label")
    assert texts == ['A "great" film', "별로예요"]  # quotes kept, cells stripped
    assert labels == ["1", "0"]


def test_columns_by_index_without_header(tmp_path):
    texts, labels = read_labelled_text(write(tmp_path, NO_HEADER), 0, 1)
    assert texts == ["Wow... Loved this place.", '"Crust" is not good.']
    assert labels == ["1", "0"]


def test_columns_by_index_with_header(tmp_path):
    texts, labels = read_labelled_text(write(tmp_path, WITH_HEADER), 1, 2, header=True)
    assert labels == ["1", "0"]
    assert len(texts) == 2


def test_header_read_as_data_when_not_declared(tmp_path):
    # Indices without header=True: the header line is data, as asked.
    texts, labels = read_labelled_text(write(tmp_path, WITH_HEADER), 1, 2)
    assert (texts[0], labels[0]) == ("document", "label")


def test_unknown_column_lists_available(tmp_path):
    with pytest.raises(DataError, match=r"t.tsv, line 1: no column named 'text' in the header; available columns: \['id', 'document', 'label'\]"):
        read_labelled_text(write(tmp_path, WITH_HEADER), "text", "label")


def test_index_out_of_range(tmp_path):
    with pytest.raises(DataError, match=r"label_col = 2 is out of range: lines have 2 tab-separated columns \(0..1\)"):
        read_labelled_text(write(tmp_path, NO_HEADER), 0, 2)


@pytest.mark.parametrize(("text_col", "label_col"), [("document", 2), (0.0, 1), (True, 1)])
def test_mixed_or_wrong_column_types(tmp_path, text_col, label_col):
    with pytest.raises(ValueError, match="both be header names .* or both 0-based column indices"):
        read_labelled_text(write(tmp_path, WITH_HEADER), text_col, label_col)


def test_names_with_header_false(tmp_path):
    with pytest.raises(ValueError, match="header cannot be False"):
        read_labelled_text(write(tmp_path, WITH_HEADER), "document", "label", header=False)


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("9\tno label here", "line 3: expected 3 tab-separated columns \\(as on line 1\\), found 2"),
        ("9\ttoo\tmany\t1", "line 3: expected 3 .* found 4"),
        ("9\tfilm\t ", "line 3: empty label cell \\(column 2, 'label'\\)"),
        ("9\t\t1", "line 3: empty text cell \\(column 1, 'document'\\)"),
        ("", "line 3: blank line"),
    ],
)
def test_malformed_line_is_named(tmp_path, bad_line, message):
    lines = WITH_HEADER.split("\n")
    lines[2] = bad_line
    path = write(tmp_path, "\n".join(lines))
    with pytest.raises(DataError, match=f"t.tsv, {message}"):
        read_labelled_text(path, "document", "label")


def test_header_only(tmp_path):
    with pytest.raises(DataError, match="header but no data lines"):
        read_labelled_text(write(tmp_path, "id\tdocument\tlabel\n"), "document", "label")


def test_tokenize_words():
    assert tokenize("Don't STOP, 2nd time!") == ["don", "'", "t", "stop", ",", "2nd", "time", "!"]
    assert tokenize("Don't", lowercase=False) == ["Don", "'", "t"]
    assert tokenize("진짜 재밌다ㅋㅋ!!") == ["진짜", "재밌다ㅋㅋ", "!", "!"]
    assert tokenize("  ") == []


def test_tokenize_chars():
    assert tokenize(" Hi\t\n there ", level="char") == ["h", "i", " ", "t", "h", "e", "r", "e"]
    assert tokenize("Hi", level="char", lowercase=False) == ["H", "i"]


def test_tokenize_bad_level():
    with pytest.raises(ValueError, match="level must be one of \\('word', 'char'\\), got 'bpe'"):
        tokenize("x", level="bpe")


def test_read_text_keeps_everything(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes("ROMEO:\r\nO  wé\n\n".encode())
    assert read_text(path) == "ROMEO:\r\nO  wé\n\n"
