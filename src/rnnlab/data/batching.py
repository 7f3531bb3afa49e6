"""Batches of similar length, and padding a batch into one array.

Sorting by length before batching means each batch pads to nearly its own longest
sequence instead of the longest in the data set, which for text saves most of the work.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rnnlab._checks import check_positive_int


def length_bucketed_batches(
    lengths: Sequence[int] | np.ndarray,
    batch_size: int,
    rng: np.random.Generator | None = None,
    shuffle: bool = True,
) -> list[np.ndarray]:
    """Split indices 0..N-1 into batches of sequences of similar length.

    Indices are sorted by length (ties broken at random when ``shuffle``, by index
    otherwise), cut into consecutive chunks of ``batch_size`` (the last may be smaller),
    and, when ``shuffle``, the order of the batches is permuted with ``rng``. The same
    seed gives the same batches. Returns a list of int64 index arrays, each (<= batch_size,).

    >>> [b.tolist() for b in length_bucketed_batches([5, 1, 3, 2], 2, shuffle=False)]
    [[1, 3], [2, 0]]
    """
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or (lengths.size and not np.issubdtype(lengths.dtype, np.integer)):
        raise ValueError(f"lengths must be a 1-D array of integers, got shape {lengths.shape} "
                         f"and dtype {lengths.dtype}")
    batch_size = check_positive_int("batch_size", batch_size)
    if shuffle:
        if rng is None:
            raise ValueError("shuffle=True needs rng, a np.random.Generator")
        order = np.lexsort((rng.random(lengths.size), lengths))  # last key sorts first
    else:
        order = np.argsort(lengths, kind="stable")
    batches = [order[i : i + batch_size].astype(np.int64) for i in range(0, order.size, batch_size)]
    if shuffle:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def pad(sequences: Sequence[np.ndarray], pad_value=0) -> tuple[np.ndarray, np.ndarray]:
    """Stack sequences of lengths T_i into one array padded at the end.

    Each sequence is (T_i,) (e.g. token ids) or (T_i, D...) (e.g. float features), all
    with the same trailing shape and T_i >= 1. Returns ``padded`` (N, max T_i, ...) in
    their common dtype, with ``pad_value`` after each sequence's end, and ``lengths`` (N,)
    int64.

    >>> padded, lengths = pad([np.array([4, 5, 6]), np.array([7])])
    >>> padded.tolist(), lengths.tolist()
    ([[4, 5, 6], [7, 0, 0]], [3, 1])
    """
    arrays = [np.asarray(s) for s in sequences]
    if not arrays:
        raise ValueError("pad needs at least one sequence")
    for i, a in enumerate(arrays):
        if a.ndim == 0 or a.shape[0] == 0:
            raise ValueError(f"sequences[{i}] has shape {a.shape}: every sequence needs "
                             f"at least one step")
        if a.shape[1:] != arrays[0].shape[1:]:
            raise ValueError(f"sequences[{i}] has shape {a.shape} but sequences[0] has "
                             f"{arrays[0].shape}: the shapes after the time axis must match")
    lengths = np.array([a.shape[0] for a in arrays], dtype=np.int64)
    dtype = np.result_type(*arrays)
    padded = np.full((len(arrays), int(lengths.max()), *arrays[0].shape[1:]), pad_value, dtype=dtype)
    for i, a in enumerate(arrays):
        padded[i, : a.shape[0]] = a
    return padded, lengths
