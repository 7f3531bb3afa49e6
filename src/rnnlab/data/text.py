"""Labelled sentences from TSV files, plain text for a character LM, and tokenization.

TSV here means: one record per line, cells separated by tabs, **no quoting** (a ``"`` is
an ordinary character, as in the UCI sentiment files, whose sentences contain quotes).
Columns are named by header when the file has one (NSMC: ``id \\t document \\t label``)
or by 0-based position when it has none (UCI: ``sentence \\t label``).
"""

from __future__ import annotations

import re
from pathlib import Path

from rnnlab._checks import check_choice
from rnnlab.data._files import read_lines, read_text_checked
from rnnlab.data.errors import data_error

WORD_PATTERN = re.compile(r"\w+|[^\w\s]")
WHITESPACE_RUN = re.compile(r"\s+")


def read_labelled_text(
    path: str | Path, text_col: str | int, label_col: str | int, *, header: bool | None = None
) -> tuple[list[str], list[str]]:
    """Read (text, label) pairs, one per line, from a tab-separated file.

    Columns are both header names (``str``; the first line must be a header) or both
    0-based indices (``int``; no header unless ``header=True``, in which case the first
    line is skipped). Every line must have as many cells as the first line; text and
    label cells must be non-empty. Cells are stripped of surrounding whitespace.

    Returns ``texts`` (N,) and ``labels`` (N,) as lists of str, in file order.
    """
    by_name = _column_kind(text_col, label_col)
    if by_name and header is False:
        raise ValueError("text_col and label_col are header names, so header cannot be False")
    has_header = by_name or bool(header)
    lines = read_lines(path)
    first = lines[0].split("\t")
    if by_name:
        text_index = _header_index(path, first, text_col)
        label_index = _header_index(path, first, label_col)
    else:
        text_index, label_index = int(text_col), int(label_col)
    width = len(first)
    for name, index in (("text_col", text_index), ("label_col", label_index)):
        if not 0 <= index < width:
            raise data_error(path, f"{name} = {index} is out of range: lines have {width} "
                             f"tab-separated columns (0..{width - 1})", 1)
    texts: list[str] = []
    labels: list[str] = []
    for number, line in enumerate(lines[1:] if has_header else lines, start=2 if has_header else 1):
        cells = line.split("\t")
        if not line.strip():
            raise data_error(path, "blank line (every line must be one record)", number)
        if len(cells) != width:
            raise data_error(path, f"expected {width} tab-separated columns (as on line 1), "
                             f"found {len(cells)}", number)
        text, label = cells[text_index].strip(), cells[label_index].strip()
        for what, index, value in (("text", text_index, text), ("label", label_index, label)):
            if not value:
                raise data_error(path, f"empty {what} cell (column {_describe(first, index, has_header)})", number)
        texts.append(text)
        labels.append(label)
    if not texts:
        raise data_error(path, "has a header but no data lines")
    return texts, labels


def looks_headerless(lines: list[str], names: tuple[str, ...]) -> bool:
    """True when TSV lines read best as ``text \t label`` with no header: two columns, the
    first line does not hold the header ``names``, and its second cell is a label that other
    lines also carry (a header's name would appear once)."""
    if not lines or lines[0].count("\t") != 1 or set(names) & {c.strip() for c in lines[0].split("\t")}:
        return False
    first_label = lines[0].split("\t")[1].strip()
    return any(line.rsplit("\t", 1)[-1].strip() == first_label for line in lines[1:])


def tokenize(text: str, level: str = "word", *, lowercase: bool = True) -> list[str]:
    """Split ``text`` into tokens.

    ``level="word"``: runs of letters/digits (any script, so Korean works) and single
    punctuation marks, ``"Don't!" -> ["don", "'", "t", "!"]``. ``level="char"``: one
    token per character, every run of whitespace becoming one space and the ends trimmed.
    ``lowercase`` applies to both levels.

    >>> tokenize("Hello, world!")
    ['hello', ',', 'world', '!']
    >>> tokenize("재미  있다", level="char")
    ['재', '미', ' ', '있', '다']
    """
    check_choice("level", level, ("word", "char"))
    if lowercase:
        text = text.lower()
    if level == "word":
        return WORD_PATTERN.findall(text)
    return list(WHITESPACE_RUN.sub(" ", text).strip())


def read_text(path: str | Path) -> str:
    """The whole file as one string (UTF-8, ``.gz`` read transparently), e.g. for a char LM.

    Nothing is normalised: line endings and whitespace are kept, so ``len`` is the number
    of characters in the file.
    """
    return read_text_checked(path)


def _column_kind(text_col, label_col) -> bool:
    """True when columns are header names, False when 0-based indices; mixing is an error."""
    kinds = {type(c) for c in (text_col, label_col)}
    if kinds == {str}:
        return True
    if all(isinstance(c, int) and not isinstance(c, bool) for c in (text_col, label_col)):
        return False
    raise ValueError(
        "text_col and label_col must both be header names (str) or both 0-based column "
        f"indices (int), got {text_col!r} and {label_col!r}"
    )


def _header_index(path, header: list[str], name: str) -> int:
    names = [cell.strip() for cell in header]
    if name not in names:
        raise data_error(path, f"no column named {name!r} in the header; available columns: "
                         f"{names}", 1)
    return names.index(name)


def _describe(header: list[str], index: int, has_header: bool) -> str:
    return f"{index}, {header[index].strip()!r}" if has_header else str(index)
