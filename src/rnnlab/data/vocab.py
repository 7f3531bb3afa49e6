"""Vocabularies: tokens <-> integer ids, with special tokens first.

A token vocabulary starts with ``<pad>`` = 0 and ``<unk>`` = 1 (and ``<bos>`` = 2,
``<eos>`` = 3 when asked for), then the data's tokens from most to least frequent. A label
vocabulary has no specials: label k is class k, and an unseen label is an error, not
``<unk>``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"


class Vocab:
    """An ordered list of distinct tokens; ``tokens[i]`` has id ``i``.

    ``specials`` are the first ``len(specials)`` tokens. If ``<unk>`` is among them,
    unknown tokens encode to its id; otherwise encoding an unknown token is a ValueError.

    >>> v = Vocab.build([["a", "b", "a"], ["c", "a"]])
    >>> v.tokens, v.encode(["a", "z"]).tolist()
    (['<pad>', '<unk>', 'a', 'b', 'c'], [2, 1])
    """

    def __init__(self, tokens: Sequence[str], specials: Sequence[str] = ()):
        self.tokens = list(tokens)
        self.specials = list(specials)
        self._ids = {token: i for i, token in enumerate(self.tokens)}
        if len(self._ids) != len(self.tokens):
            duplicate = next(t for t in self.tokens if self.tokens.count(t) > 1)
            raise ValueError(f"tokens must be distinct, got {duplicate!r} twice")
        if self.tokens[: len(self.specials)] != self.specials:
            raise ValueError(f"specials {self.specials} must be the first tokens, "
                             f"got {self.tokens[: len(self.specials)]}")

    @classmethod
    def build(
        cls,
        sequences: Iterable[Iterable[str]],
        *,
        min_freq: int = 1,
        max_size: int | None = None,
        bos_eos: bool = False,
    ) -> Vocab:
        """Count tokens over ``sequences`` and keep the frequent ones.

        Specials are ``<pad>``, ``<unk>`` (and ``<bos>``, ``<eos>`` if ``bos_eos``). Data
        tokens seen at least ``min_freq`` times follow, most frequent first, ties in
        alphabetical (code point) order so the result does not depend on data order.
        ``max_size`` caps the whole vocabulary, specials included.
        """
        specials = [PAD, UNK] + ([BOS, EOS] if bos_eos else [])
        if min_freq < 1:
            raise ValueError(f"min_freq must be >= 1, got {min_freq}")
        if max_size is not None and max_size < len(specials):
            raise ValueError(f"max_size must be at least {len(specials)} (the specials "
                             f"{specials}), got {max_size}")
        counts = Counter(token for sequence in sequences for token in sequence)
        kept = sorted(
            (token for token, count in counts.items() if count >= min_freq and token not in specials),
            key=lambda token: (-counts[token], token),
        )
        if max_size is not None:
            kept = kept[: max_size - len(specials)]
        return cls(specials + kept, specials)

    @classmethod
    def labels(cls, labels: Iterable[str]) -> Vocab:
        """The distinct labels, no specials; sorted numerically if all are integers.

        >>> Vocab.labels(["10", "9", "1", "9"]).tokens
        ['1', '9', '10']
        """
        distinct = set(labels)
        if not distinct:
            raise ValueError("cannot build a label vocabulary from no labels")
        if all(_is_int(label) for label in distinct):
            return cls(sorted(distinct, key=int))
        return cls(sorted(distinct))

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self._ids

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens, specials={self.specials})"

    def id_of(self, token: str) -> int | None:
        """The id of ``token``, or None if it is not in the vocabulary."""
        return self._ids.get(token)

    @property
    def pad_id(self) -> int | None:
        return self._special_id(PAD)

    @property
    def unk_id(self) -> int | None:
        return self._special_id(UNK)

    @property
    def bos_id(self) -> int | None:
        return self._special_id(BOS)

    @property
    def eos_id(self) -> int | None:
        return self._special_id(EOS)

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """Tokens (T,) -> ids (T,) int64. Unknown tokens -> ``<unk>``, or a ValueError."""
        unk = self.unk_id
        if unk is not None:
            return np.array([self._ids.get(token, unk) for token in tokens], dtype=np.int64)
        tokens = list(tokens)
        try:
            return np.array([self._ids[token] for token in tokens], dtype=np.int64)
        except KeyError as exc:
            known = self.tokens if len(self) <= 20 else self.tokens[:20] + ["..."]
            raise ValueError(f"unknown label {exc.args[0]!r}: this vocabulary has no <unk>; "
                             f"known: {known}") from None

    def decode(self, ids: Iterable[int], *, skip_specials: bool = False) -> list[str]:
        """Ids (T,) -> tokens (T,); ``skip_specials`` drops <pad>, <bos>, ... from the output."""
        ids = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids)
        if ids.size and (not np.issubdtype(ids.dtype, np.integer) or ids.min() < 0
                         or ids.max() >= len(self)):
            raise ValueError(f"ids must be integers in 0..{len(self) - 1}, got {ids.tolist()[:10]}")
        first = len(self.specials) if skip_specials else 0
        return [self.tokens[i] for i in ids.tolist() if i >= first]

    def to_dict(self) -> dict:
        """JSON-safe: {"tokens": [...], "specials": [...]}."""
        return {"tokens": list(self.tokens), "specials": list(self.specials)}

    @classmethod
    def from_dict(cls, data: dict) -> Vocab:
        return cls(data["tokens"], data.get("specials", ()))

    def _special_id(self, token: str) -> int | None:
        return self._ids[token] if token in self.specials else None


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True
