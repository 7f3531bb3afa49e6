"""What the sequence tasks share: batching padded minibatches, splitting off a dev or test
set, and telling the user what was decided for them."""

from __future__ import annotations

import sys

import numpy as np

from rnnlab.data.batching import length_bucketed_batches, pad
from rnnlab.models.classifier import SequenceBatch


def padded_batches(inputs: list[np.ndarray], labels, batch_size: int, rng=None) -> list[SequenceBatch]:
    """Length-grouped minibatches: inputs (N, T, ...) padded, lengths (N,), labels[idx].

    With ``rng`` the grouping and the batch order are shuffled (training); without, the
    order is fixed (evaluation)."""
    lengths = np.array([len(x) for x in inputs], dtype=np.int64)
    groups = length_bucketed_batches(lengths, batch_size, rng, shuffle=rng is not None)
    batches = []
    for idx in groups:
        padded, batch_lengths = pad([inputs[i] for i in idx])
        batches.append(SequenceBatch(padded, batch_lengths, _take(labels, idx)))
    return batches


def _take(targets, idx):
    if isinstance(targets, np.ndarray):
        return targets[idx]
    return [targets[i] for i in idx]


def note(message: str) -> None:
    """Tell the user, on stderr, something the task decided for them (not an error)."""
    print(f"rnnlab: note: {message}", file=sys.stderr)


def split_off(n: int, fraction: float, seed: int, salt: int = 12345) -> tuple[np.ndarray, np.ndarray]:
    """A fixed random split of range(n): (kept indices, held-out indices), sorted; ``salt``
    tells apart two splits drawn from one seed (dev and test)."""
    if not 0 < fraction < 1:
        raise ValueError(f"the held-out fraction must lie in (0, 1), got {fraction}")
    order = np.random.default_rng([seed, salt]).permutation(n)
    held = max(1, int(round(n * fraction)))
    return np.sort(order[held:]), np.sort(order[:held])
