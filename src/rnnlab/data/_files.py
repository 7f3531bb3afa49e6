"""Open a data file as text: gzip by suffix, strict UTF-8, problems reported as ``DataError``.

Every reader starts here, so "file missing", "empty file" and "not UTF-8 at line N" read
the same for every format, and every reader takes a dataset reference
(``dataset:NAME/FILE``, ``rnnlab.data.datasets``) wherever it takes a path.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from rnnlab.data.errors import data_error
from rnnlab.data.fetch import is_ref, local_path

GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(path: str | Path) -> bytes:
    """The file's bytes, gunzipped when the name ends in ``.gz``. A dataset reference
    ``dataset:NAME/FILE`` reads the dataset's file (downloaded first if missing)."""
    if is_ref(path):
        path = local_path(path)
    path = Path(path)
    if not path.exists():
        raise data_error(path, "no such file")
    if not path.is_file():
        raise data_error(path, "is not a regular file")
    try:
        if path.suffix.lower() == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise data_error(path, f"cannot be read ({type(exc).__name__}: {exc})") from exc


def read_text_checked(path: str | Path) -> str:
    """The whole file decoded as UTF-8 (a leading byte-order mark is dropped).

    A file with no content other than whitespace is an error; a byte sequence that is not
    UTF-8 is reported with its line, column and byte offset.
    """
    data = read_bytes(path)
    if not data.strip():
        raise data_error(path, "is empty" if not data else "contains only whitespace")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, data, exc) from None
    return text.removeprefix("\ufeff")


def read_lines(path: str | Path) -> list[str]:
    """The file's lines without their line endings (``\\n`` or ``\\r\\n``).

    Lines are split on ``\\n`` only (not on the other separators ``str.splitlines`` knows),
    so line ``k`` of the list is line ``k + 1`` in an editor. A final newline does not
    make an extra empty line.
    """
    text = read_text_checked(path)
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def _not_utf8(path: str | Path, data: bytes, exc: UnicodeDecodeError):
    offset = exc.start
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    gzipped = Path(path).suffix.lower() == ".gz"
    where = "of the uncompressed data" if gzipped else "in the file"
    message = (
        f"is not valid UTF-8: byte 0x{data[offset]:02x} at column {column} "
        f"(byte offset {offset} {where}) ({exc.reason})"
    )
    if data.startswith(GZIP_MAGIC) and not gzipped:
        message += "; the file looks gzip-compressed: give it a .gz suffix"
    return data_error(path, message, line)
