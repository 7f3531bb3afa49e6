"""Embedding: y = E[ids]; dE sums dy over every position that looked a row up."""

import numpy as np
import pytest

from rnnlab.gradcheck import numerical_gradient, relative_error
from rnnlab.layers.embedding import Embedding, embedding_backward, embedding_forward
from rnnlab.optim import SGD, Adam

N, T, V, D = 3, 5, 11, 7  # all different


def random_ids(rng):
    """(N, T) ids in 0..V-1 with repeats guaranteed: id 4 appears three times."""
    ids = rng.integers(0, V, size=(N, T))
    ids[0, 1] = ids[1, 3] = ids[2, 0] = 4
    return ids


# ----- the parameters ---------------------------------------------------------------------


def test_parameters_are_named_shaped_and_the_padding_row_starts_at_zero():
    emb = Embedding(V, D, padding_idx=2, rng=np.random.default_rng(0))
    assert {k: v.shape for k, v in emb.params.items()} == {"E": (V, D)}
    assert emb.params["E"].dtype == np.float32
    E = emb.params["E"]
    assert np.all(E[2] == 0)
    assert np.all(np.delete(E, 2, axis=0) != 0)  # every other row is random, N(0, 1)
    assert 0.5 < E.std() < 1.5


def test_negative_padding_idx_counts_from_the_end_as_in_pytorch():
    emb = Embedding(V, D, padding_idx=-1, rng=np.random.default_rng(0), dtype=np.float64)
    assert emb.padding_idx == V - 1
    assert np.all(emb.params["E"][V - 1] == 0)
    assert emb.params["E"].dtype == np.float64


# ----- forward ----------------------------------------------------------------------------


def test_forward_looks_up_one_row_per_id_for_any_ids_shape():
    rng = np.random.default_rng(1)
    E = rng.standard_normal((V, D))
    ids = random_ids(rng)
    y, _ = embedding_forward(ids, E)
    assert y.shape == (N, T, D)
    for n in range(N):
        for t in range(T):
            assert np.array_equal(y[n, t], E[ids[n, t]])
    y1, _ = embedding_forward(np.array([3, 0]), E)
    assert np.array_equal(y1, E[[3, 0]])
    y0, _ = embedding_forward(np.int64(5), E)  # a single id
    assert np.array_equal(y0, E[5])


def test_forward_output_is_a_copy_not_a_view_of_the_table():
    E = np.arange(V * D, dtype=np.float64).reshape(V, D)
    y, _ = embedding_forward(np.array([1, 2]), E)
    y0, _ = embedding_forward(np.int64(1), E)  # a single id too, where E[1] would be a view
    E += 100
    assert y[0, 0] == D and y0[0] == D


# ----- backward ---------------------------------------------------------------------------


def test_backward_matches_finite_differences_on_E():
    rng = np.random.default_rng(2)
    E = rng.standard_normal((V, D))
    ids = random_ids(rng)
    dy = rng.standard_normal((N, T, D))
    _, cache = embedding_forward(ids, E)
    dE = embedding_backward(dy, cache)
    numeric = numerical_gradient(lambda: float(np.sum(embedding_forward(ids, E)[0] * dy)), E)
    assert relative_error(numeric, dE) < 1e-6
    unused = np.setdiff1d(np.arange(V), ids)
    assert np.all(dE[unused] == 0)


def test_repeated_ids_accumulate_their_gradients():
    E = np.zeros((V, D))
    ids = np.array([[4, 1, 4], [4, 9, 1]])
    dy = np.arange(1, 2 * 3 * D + 1, dtype=np.float64).reshape(2, 3, D)
    _, cache = embedding_forward(ids, E)
    dE = embedding_backward(dy, cache)
    np.testing.assert_array_equal(dE[4], dy[0, 0] + dy[0, 2] + dy[1, 0])  # three times
    np.testing.assert_array_equal(dE[1], dy[0, 1] + dy[1, 2])
    np.testing.assert_array_equal(dE[9], dy[1, 1])


def test_the_padding_row_gets_no_gradient_and_the_others_are_unchanged():
    rng = np.random.default_rng(3)
    emb = Embedding(V, D, padding_idx=4, rng=rng, dtype=np.float64)
    ids = random_ids(rng)  # looks up the padding id 4 three times
    dy = rng.standard_normal((N, T, D))
    y, cache = emb.forward(ids)
    assert np.all(y[ids == 4] == 0)
    grads = emb.backward(dy, cache)
    assert sorted(grads) == ["E"]
    assert np.all(grads["E"][4] == 0)
    without_padding = embedding_backward(dy, cache)  # the plain gradient, padding row included
    assert np.any(without_padding[4] != 0)
    keep = np.arange(V) != 4
    assert np.array_equal(grads["E"][keep], without_padding[keep])


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda: SGD(lr=0.1, momentum=0.9, weight_decay=0.01),
        lambda: Adam(lr=0.1, weight_decay=0.01),
    ],
    ids=["sgd", "adam"],
)
def test_the_padding_row_stays_zero_through_training_steps(make_optimizer):
    rng = np.random.default_rng(4)
    emb = Embedding(V, D, padding_idx=0, rng=rng)
    opt = make_optimizer()
    ids = random_ids(rng)
    ids[:, -1] = 0
    for _ in range(3):
        y, cache = emb.forward(ids)
        opt.step(emb.params, emb.backward(rng.standard_normal(y.shape).astype(np.float32), cache))
    assert np.all(emb.params["E"][0] == 0)


# ----- bad input ----------------------------------------------------------------------------


def test_ids_must_be_integers():
    emb = Embedding(V, D, rng=np.random.default_rng(5))
    with pytest.raises(ValueError, match="ids must be an array of integers, got dtype float64"):
        emb.forward(np.array([[1.0, 2.0]]))
    with pytest.raises(ValueError, match="ids must be an array of integers, got dtype bool"):
        emb.forward(np.array([True, False]))


def test_out_of_range_ids_name_the_value_its_position_and_the_vocabulary_size():
    emb = Embedding(V, D, rng=np.random.default_rng(6))
    ids = np.zeros((N, T), dtype=np.int64)
    ids[1, 2] = V
    with pytest.raises(
        ValueError,
        match=r"ids must lie in 0\.\.10 \(the vocabulary has V = 11 entries\), got ids\[1, 2\] = 11",
    ):
        emb.forward(ids)
    ids[1, 2] = -1  # NumPy would silently read the last row
    with pytest.raises(ValueError, match=r"got ids\[1, 2\] = -1 \(1 out of range\)"):
        emb.forward(ids)


def test_other_arguments_are_checked():
    with pytest.raises(
        ValueError,
        match=r"padding_idx must lie in -11\.\.10 \(the vocabulary has V = 11 entries\), got 11",
    ):
        Embedding(V, D, padding_idx=V)
    with pytest.raises(ValueError, match="padding_idx must be an integer or None, got 1.0"):
        Embedding(V, D, padding_idx=1.0)
    with pytest.raises(ValueError, match="num_embeddings must be a positive integer, got 0"):
        Embedding(0, D)
    emb = Embedding(V, D, rng=np.random.default_rng(7))
    y, cache = emb.forward(np.array([[1, 2, 3]]))
    with pytest.raises(
        ValueError, match=r"dy must have shape \(1, 3, 7\) \(\.\.\., D\), got \(1, 2, 7\)"
    ):
        emb.backward(y[:, :2], cache)
    with pytest.raises(
        ValueError, match="dy has dtype float64 but the layer's parameters are float32"
    ):
        emb.backward(y.astype(np.float64), cache)
    with pytest.raises(ValueError, match=r"E must have 2 dimensions \(V, D\), got shape \(11,\)"):
        embedding_forward(np.array([1]), np.zeros(V))
