"""Tasks generated on the fly, so a demo or a test needs no download.

Each generator takes an explicit ``rng`` and returns float32 one-hot inputs ``x`` (N, T, V)
and integer targets.
"""

from __future__ import annotations

import numpy as np


def one_hot(ids: np.ndarray, vocab_size: int, dtype=np.float32) -> np.ndarray:
    """(...) integer ids -> (..., vocab_size) one-hot."""
    return np.eye(vocab_size, dtype=dtype)[ids]


def first_symbol_recall(
    rng: np.random.Generator, batch_size: int, length: int, vocab_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Many-to-one memory task: read ``length`` random symbols, then name the first one.

    Every symbol after the first is noise, so the model must carry one symbol across
    ``length - 1`` steps: the lecture's vanishing-gradient problem in its plainest form.
    Chance accuracy is 1 / vocab_size. Returns x (N, T, V) one-hot float32, y (N,) int.
    """
    if length < 1 or vocab_size < 2 or batch_size < 1:
        raise ValueError(
            f"need batch_size >= 1, length >= 1 and vocab_size >= 2, "
            f"got {batch_size}, {length}, {vocab_size}"
        )
    ids = rng.integers(0, vocab_size, size=(batch_size, length))
    return one_hot(ids, vocab_size), ids[:, 0].copy()
