"""length_bucketed_batches and pad."""

import numpy as np
import pytest

from rnnlab.data.batching import length_bucketed_batches, pad


def test_batches_cover_every_index_once_with_similar_lengths():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 50, size=103)
    batches = length_bucketed_batches(lengths, 10, np.random.default_rng(1))
    assert [len(b) for b in batches].count(10) == 10 and sum(map(len, batches)) == 103
    assert all(b.dtype == np.int64 for b in batches)
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(103))
    # Sorted then chunked: the batches' length ranges do not overlap.
    ranges = sorted((lengths[b].min(), lengths[b].max()) for b in batches)
    assert all(hi <= next_lo for (_, hi), (next_lo, _) in zip(ranges, ranges[1:]))


def test_same_seed_same_batches_other_seed_other_order():
    lengths = np.repeat([3, 5, 7, 9], 8)

    def run(seed):
        return [b.tolist() for b in length_bucketed_batches(lengths, 4, np.random.default_rng(seed))]

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_ties_are_broken_at_random():
    lengths = np.full(12, 5)
    members = {
        tuple(sorted(length_bucketed_batches(lengths, 4, np.random.default_rng(seed))[0].tolist()))
        for seed in range(5)
    }
    assert len(members) > 1


def test_no_shuffle_is_sorted_and_needs_no_rng():
    batches = length_bucketed_batches([4, 2, 9, 2, 1], 2, shuffle=False)
    assert [b.tolist() for b in batches] == [[4, 1], [3, 0], [2]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([1, 2], 0, np.random.default_rng(0)), "batch_size must be a positive integer"),
        (([1.5, 2], 1, np.random.default_rng(0)), "lengths must be a 1-D array of integers"),
        (([1, 2], 1, None), "shuffle=True needs rng"),
    ],
)
def test_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        length_bucketed_batches(*args)


def test_pad_ids():
    padded, lengths = pad([np.array([3, 4, 5], np.int64), np.array([6], np.int64), [7, 8]])
    assert padded.dtype == np.int64 and lengths.dtype == np.int64
    np.testing.assert_array_equal(padded, [[3, 4, 5], [6, 0, 0], [7, 8, 0]])
    np.testing.assert_array_equal(lengths, [3, 1, 2])
    padded, _ = pad([np.array([1]), np.array([1, 2])], pad_value=-1)
    np.testing.assert_array_equal(padded, [[1, -1], [1, 2]])


def test_pad_float_features():
    rng = np.random.default_rng(0)
    seqs = [rng.normal(size=(t, 3)).astype(np.float32) for t in (4, 2, 5)]
    padded, lengths = pad(seqs)
    assert padded.shape == (3, 5, 3) and padded.dtype == np.float32
    for i, s in enumerate(seqs):
        np.testing.assert_array_equal(padded[i, : len(s)], s)
        np.testing.assert_array_equal(padded[i, len(s) :], 0.0)


@pytest.mark.parametrize(
    ("seqs", "message"),
    [
        ([], "at least one sequence"),
        ([np.array([1]), np.array([], np.int64)], "sequences\\[1\\] has shape \\(0,\\)"),
        ([np.zeros((2, 3)), np.zeros((2, 4))], "sequences\\[1\\] has shape \\(2, 4\\) but sequences\\[0\\] has \\(2, 3\\)"),
    ],
)
def test_pad_bad_input(seqs, message):
    with pytest.raises(ValueError, match=message):
        pad(seqs)
