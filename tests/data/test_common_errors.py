"""Every reader reports a missing, empty, non-UTF-8 or broken gzip file the same way,
and reads a ``.gz`` file exactly as the plain one."""

import dataclasses
import gzip

import numpy as np
import pytest

from rnnlab.data.conllu import Sentence, read_conllu
from rnnlab.data.errors import DataError
from rnnlab.data.series import read_csv_series
from rnnlab.data.text import read_labelled_text, read_text
from rnnlab.data.ts import read_ts

CONLLU = (
    "# text = Dogs bark .\n"
    "1\tDogs\tdog\tNOUN\tNNS\t_\t2\tnsubj\t_\t_\n"
    "2\tbark\tbark\tVERB\tVBP\t_\t0\troot\t_\t_\n"
    "3\t.\t.\tPUNCT\t.\t_\t2\tpunct\t_\t_\n"
    "\n"
)
TSV = "id\tdocument\tlabel\n1\tgood film\t1\n2\tbad film\t0\n"
TS = "@problemName X\n@classLabel true a b\n@data\n1,2,3:4,5,6:a\n7,8:9,10:b\n"
CSV = "date,temp\n2010/01/01,1.5\n2010/01/02,2.5\n"
TEXT = "First Citizen:\nBefore we proceed.\n"

# name -> (reader taking a path, a valid file's text)
READERS = {
    "conllu": (read_conllu, CONLLU),
    "labelled_text": (lambda p: read_labelled_text(p, "document", "label"), TSV),
    "ts": (read_ts, TS),
    "csv_series": (lambda p: read_csv_series(p, "date", ["temp"]), CSV),
    "text": (read_text, TEXT),
}


# name -> what the reader returns for the valid file above
EXPECTED = {
    "conllu": [Sentence(words=["Dogs", "bark", "."], tags=["NOUN", "VERB", "PUNCT"], lines=[2, 3, 4])],
    "labelled_text": (["good film", "bad film"], ["1", "0"]),
    "ts": ([np.array([[1, 4], [2, 5], [3, 6]], dtype=np.float32),
            np.array([[7, 9], [8, 10]], dtype=np.float32)], ["a", "b"]),
    "csv_series": (["2010/01/01", "2010/01/02"], np.array([[1.5], [2.5]], dtype=np.float32), ["temp"]),
    "text": TEXT,
}


@pytest.fixture(params=sorted(READERS))
def reader(request):
    return READERS[request.param]


@pytest.mark.parametrize("name", sorted(READERS))
def test_valid_file_reads(tmp_path, name):
    read, text = READERS[name]
    path = tmp_path / "ok.txt"
    path.write_text(text, encoding="utf-8")
    _assert_identical(read(path), EXPECTED[name])


def test_missing_file(tmp_path, reader):
    read, _ = reader
    path = tmp_path / "nope.txt"
    with pytest.raises(DataError, match="nope.txt: no such file"):
        read(path)


def test_directory(tmp_path, reader):
    read, _ = reader
    with pytest.raises(DataError, match="not a regular file"):
        read(tmp_path)


@pytest.mark.parametrize(("content", "what"), [(b"", "is empty"), (b"\n \n\t\n", "only whitespace")])
def test_empty_file(tmp_path, reader, content, what):
    read, _ = reader
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    with pytest.raises(DataError, match=f"empty.txt: .*{what}"):
        read(path)


def test_not_utf8_names_line_and_column(tmp_path, reader):
    read, text = reader
    lines = text.encode("utf-8").split(b"\n")
    lines[1] = b"ab\xff" + lines[1]  # Latin-1 'ÿ' is not UTF-8
    path = tmp_path / "latin.txt"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(DataError, match=r"latin.txt, line 2: is not valid UTF-8: byte 0xff at column 3"):
        read(path)


def test_gzip_reads_like_plain(tmp_path, reader):
    read, text = reader
    plain, packed = tmp_path / "f.txt", tmp_path / "f.txt.gz"
    plain.write_text(text, encoding="utf-8")
    with gzip.open(packed, "wt", encoding="utf-8") as f:
        f.write(text)
    _assert_same(read(plain), read(packed))


def test_corrupt_gzip(tmp_path, reader):
    read, text = reader
    path = tmp_path / "f.txt.gz"
    path.write_bytes(gzip.compress(text.encode())[:-12])  # truncated stream
    with pytest.raises(DataError, match=r"f.txt.gz: cannot be read"):
        read(path)


def test_gzip_without_suffix_gets_a_hint(tmp_path, reader):
    read, text = reader
    path = tmp_path / "f.txt"
    path.write_bytes(gzip.compress(text.encode()))
    with pytest.raises(DataError, match="looks gzip-compressed"):
        read(path)


@pytest.mark.parametrize("name", [name for name in sorted(READERS) if name != "text"])
def test_crlf_and_bom_are_accepted(tmp_path, name):
    # (read_text is left out: it returns the characters as they are, "\r" included)
    read, text = READERS[name]
    plain, windows = tmp_path / "unix.txt", tmp_path / "windows.txt"
    plain.write_text(text, encoding="utf-8")
    windows.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    _assert_same(read(plain), read(windows))


def test_data_error_is_a_value_error():
    assert issubclass(DataError, ValueError)


def _assert_same(a, b):
    if isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    else:
        assert a == b


def _assert_identical(actual, expected):
    """Same types, dtypes, shapes and values all the way down (Sentence.lines included)."""
    assert type(actual) is type(expected)
    if isinstance(expected, np.ndarray):
        np.testing.assert_array_equal(actual, expected, strict=True)
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected)
        for x, y in zip(actual, expected):
            _assert_identical(x, y)
    elif dataclasses.is_dataclass(expected):
        _assert_identical(dataclasses.astuple(actual), dataclasses.astuple(expected))
    else:
        assert actual == expected


def test_not_utf8_inside_gzip(tmp_path):
    path = tmp_path / "f.csv.gz"
    path.write_bytes(gzip.compress(b"date,temp\n2010/01/01,\xe9\n"))
    with pytest.raises(DataError, match=r"f.csv.gz, line 2: is not valid UTF-8: byte 0xe9 at column 12 \(byte offset 21 of the uncompressed data\)"):
        read_csv_series(path, "date", ["temp"])
