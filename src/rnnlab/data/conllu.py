"""CoNLL-U treebanks (Universal Dependencies) as (words, tags) sentences for POS tagging.

A CoNLL-U file is blocks of token lines separated by blank lines; ``#`` lines are comments.
Each token line has 10 tab-separated columns::

    ID  FORM  LEMMA  UPOS  XPOS  FEATS  HEAD  DEPREL  DEPS  MISC

Only syntactic words are kept: multiword-token lines (ID ``3-4``, e.g. "don't" above
"do" + "n't") and empty nodes (ID ``8.1``) carry no tag of their own and are skipped.

Each line is split on tabs here, so a malformed line is reported with its line number;
the columns are then parsed by the ``conllu`` package's own field parsers (ID ranges and
decimals, features, heads, enhanced dependencies), so we accept exactly what it accepts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from conllu.exceptions import ParseException
from conllu.parser import DEFAULT_FIELD_PARSERS, DEFAULT_FIELDS

from rnnlab._checks import check_choice
from rnnlab.data._files import read_lines
from rnnlab.data.errors import data_error

TAG_COLUMNS = ("upos", "xpos")


@dataclass
class Sentence:
    """One sentence: ``words[t]`` is tagged ``tags[t]`` on line ``lines[t]`` of its file."""

    words: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list, compare=False)  # where, not what

    def __len__(self) -> int:
        return len(self.words)


def read_conllu(path: str | Path, column: str = "upos", require_tags: bool = True) -> list[Sentence]:
    """Read a ``.conllu`` (or ``.conllu.gz``) file into sentences of (FORM, tag) pairs.

    ``column`` chooses the tag: ``"upos"`` (17 universal tags) or ``"xpos"`` (the
    treebank's own tags, Penn tags for English). Word IDs must run 1, 2, 3, ... in each
    sentence and every word must have a tag (not ``_``) unless ``require_tags`` is False
    (text still to be tagged; a missing tag is then None). Raises ``DataError`` naming the
    file and line for anything else.
    """
    check_choice("column", column, TAG_COLUMNS)
    tag_index = DEFAULT_FIELDS.index(column)
    lines = read_lines(path)
    sentences: list[Sentence] = []
    current = Sentence()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            if current.words:
                sentences.append(current)
                current = Sentence()
            continue
        if line.startswith("#"):
            continue
        token = _parse_token_line(path, number, line)
        if not isinstance(token["id"], int):
            continue  # a multiword token (3, "-", 4) or an empty node (8, ".", 1)
        expected_id = len(current.words) + 1
        if token["id"] != expected_id:
            raise data_error(
                path,
                f"word ID {token['id']} out of order: expected {expected_id} "
                f"(is a blank line missing between two sentences?)",
                number,
            )
        tag = token[column]
        if tag == "_":
            tag = None
        if tag is None and require_tags:
            raise data_error(path, f"word {token['form']!r} has no {column.upper()} tag "
                             f"(column {tag_index + 1} is '_')", number)
        current.words.append(token["form"])
        current.tags.append(tag)
        current.lines.append(number)
    if current.words:
        sentences.append(current)
    if not sentences:
        raise data_error(path, "contains no sentences (only comments and blank lines)")
    return sentences


def _parse_token_line(path: str | Path, number: int, line: str) -> dict:
    """One token line -> {"id": ..., "form": ..., ...} as the ``conllu`` package parses it."""
    fields = line.split("\t")
    if len(fields) != len(DEFAULT_FIELDS):
        raise data_error(
            path,
            f"expected {len(DEFAULT_FIELDS)} tab-separated columns "
            f"({' '.join(name.upper() for name in DEFAULT_FIELDS)}), found {len(fields)}",
            number,
        )
    token = {}
    for index, name in enumerate(DEFAULT_FIELDS):
        parser = DEFAULT_FIELD_PARSERS.get(name)
        try:
            token[name] = parser(fields, index) if parser else fields[index]
        except (ParseException, ValueError) as exc:
            raise data_error(
                path, f"column {index + 1} ({name.upper()}) = {fields[index]!r}: {exc}", number
            ) from None
    return token
