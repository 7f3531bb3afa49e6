"""Losses return (mean over counted positions, gradient of that mean)."""

import numpy as np
import pytest

from rnnlab.gradcheck import numerical_gradient, relative_error
from rnnlab.losses import log_softmax, mse, softmax_cross_entropy

N, T, V, D = 3, 5, 7, 9  # odd and all different


def naive_cross_entropy(logits, targets):
    """-log(exp(z_y) / sum exp(z)), written the obvious way (fine for small logits)."""
    p = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    return -np.log(np.take_along_axis(p, targets[..., None], axis=-1)[..., 0])


# ----- log_softmax --------------------------------------------------------------------------


def test_log_softmax_is_normalised_and_shift_invariant():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((N, T, V))
    log_p = log_softmax(z)
    np.testing.assert_allclose(np.exp(log_p).sum(axis=-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(log_softmax(z + 1e4), log_p, atol=1e-9)
    np.testing.assert_allclose(log_softmax(z, axis=0).shape, z.shape)


def test_log_softmax_is_stable_for_huge_and_very_different_logits():
    z = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4]], dtype=np.float32)
    log_p = log_softmax(z)  # np.seterr(all="raise"): no overflow, no underflow error
    np.testing.assert_allclose(log_p[0], [0.0, -1e4, -2e4], rtol=1e-6)
    np.testing.assert_allclose(log_p[1], -np.log(3), rtol=1e-6)


# ----- softmax cross-entropy: values ----------------------------------------------------------


@pytest.mark.parametrize("shape", [(N,), (N, T)])
def test_cross_entropy_is_the_mean_negative_log_probability_of_the_target(shape):
    rng = np.random.default_rng(1)
    logits = rng.standard_normal(shape + (V,))
    targets = rng.integers(0, V, size=shape)
    loss, dlogits = softmax_cross_entropy(logits, targets)
    assert loss == pytest.approx(naive_cross_entropy(logits, targets).mean(), rel=1e-12)
    assert dlogits.shape == logits.shape
    np.testing.assert_allclose(dlogits.sum(axis=-1), 0, atol=1e-15)  # softmax - onehot sums to 0


def test_masked_and_ignored_positions_do_not_count_in_the_mean_and_get_zero_gradient():
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((N, T, V))
    targets = rng.integers(0, V, size=(N, T))
    mask = np.ones((N, T), dtype=bool)
    mask[0, 3:] = False  # padding at the end of sequence 0
    mask[2, 1:] = False
    targets[~mask] = -1  # padding targets may be anything out of range
    targets[1, 2] = 99  # and one ignored position
    loss, dlogits = softmax_cross_entropy(logits, targets, mask=mask, ignore_index=99)
    counted = mask.copy()
    counted[1, 2] = False
    expected = naive_cross_entropy(logits[counted], targets[counted]).mean()
    assert loss == pytest.approx(expected, rel=1e-12)
    assert np.all(dlogits[~counted] == 0)
    # logits at uncounted positions do not matter at all
    logits[~counted] = 1e3 * rng.standard_normal((int((~counted).sum()), V))
    assert softmax_cross_entropy(logits, targets, mask=mask, ignore_index=99)[0] == loss


def test_a_padded_batch_has_the_loss_and_gradient_of_its_sequences_alone():
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((2, T, V))
    targets = rng.integers(0, V, size=(2, T))
    lengths = [T, 2]
    mask = np.arange(T)[None, :] < np.array(lengths)[:, None]
    loss, dlogits = softmax_cross_entropy(logits, targets, mask=mask)
    # the same positions as one flat batch of the counted rows
    flat_loss, flat_dlogits = softmax_cross_entropy(logits[mask], targets[mask])
    assert loss == pytest.approx(flat_loss, rel=1e-12)
    np.testing.assert_allclose(dlogits[mask], flat_dlogits, rtol=1e-12)


def test_mask_accepts_zero_one_numbers():
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((N, T, V))
    targets = rng.integers(0, V, size=(N, T))
    mask = rng.integers(0, 2, size=(N, T))
    mask[0, 0] = 1
    a = softmax_cross_entropy(logits, targets, mask=mask)
    b = softmax_cross_entropy(logits, targets, mask=mask.astype(bool))
    assert a[0] == b[0] and np.array_equal(a[1], b[1])


# ----- softmax cross-entropy: gradient --------------------------------------------------------


@pytest.mark.parametrize("shape", [(N,), (N, T)])
def test_cross_entropy_gradient_matches_finite_differences_with_mask_and_ignore_index(shape):
    rng = np.random.default_rng(5)
    logits = 3 * rng.standard_normal(shape + (V,))
    targets = rng.integers(0, V, size=shape)
    mask = rng.random(shape) < 0.7
    mask.flat[0] = True
    targets.flat[1] = -100  # ignored
    _, dlogits = softmax_cross_entropy(logits, targets, mask=mask, ignore_index=-100)

    def loss():
        return softmax_cross_entropy(logits, targets, mask=mask, ignore_index=-100)[0]

    assert relative_error(numerical_gradient(loss, logits), dlogits) < 1e-6


def test_cross_entropy_is_stable_for_logits_of_order_1e4():
    rng = np.random.default_rng(6)
    for dtype in (np.float32, np.float64):
        base = rng.standard_normal((N, T, V))
        logits = (1e4 * base).astype(dtype)
        targets = np.argsort(base, axis=-1)[..., 0]  # the least likely class: loss ~ 1e4
        loss, dlogits = softmax_cross_entropy(logits, targets)
        assert np.isfinite(loss) and np.all(np.isfinite(dlogits))
        assert dlogits.dtype == dtype
        expected = np.mean(
            logits.max(axis=-1).astype(np.float64)
            - np.take_along_axis(logits.astype(np.float64), targets[..., None], axis=-1)[..., 0]
        )
        assert loss == pytest.approx(expected, rel=1e-5)
        shifted_loss, shifted_dlogits = softmax_cross_entropy(
            (1e4 + base).astype(dtype), targets
        )  # a huge common offset changes nothing
        plain_loss, plain_dlogits = softmax_cross_entropy(base.astype(dtype), targets)
        assert shifted_loss == pytest.approx(plain_loss, rel=1e-2 if dtype == np.float32 else 1e-9)
        np.testing.assert_allclose(
            shifted_dlogits, plain_dlogits, atol=1e-2 if dtype == np.float32 else 1e-9
        )


# ----- softmax cross-entropy: bad input --------------------------------------------------------


def test_cross_entropy_errors_name_the_problem():
    rng = np.random.default_rng(7)
    logits = rng.standard_normal((N, T, V))
    targets = rng.integers(0, V, size=(N, T))
    bad = targets.copy()
    bad[1, 2] = V
    with pytest.raises(
        ValueError,
        match=r"targets must lie in 0\.\.6 \(logits have V = 7 classes\), got targets\[1, 2\] = 7",
    ):
        softmax_cross_entropy(logits, bad)
    with pytest.raises(ValueError, match="targets must be an array of integers, got dtype float64"):
        softmax_cross_entropy(logits, targets.astype(float))
    with pytest.raises(
        ValueError,
        match=r"targets must have shape \(3, 5\) \(N, T\) to match logits \(3, 5, 7\), got \(5, 3\)",
    ):
        softmax_cross_entropy(logits, targets.T)
    with pytest.raises(
        ValueError, match=r"logits must have shape \(N, V\) or \(N, T, V\), got shape \(7,\)"
    ):
        softmax_cross_entropy(logits[0, 0], targets[0, 0])
    nan_logits = logits.copy()
    nan_logits[2, 0, 1] = np.nan
    with pytest.raises(
        ValueError, match=r"logits contains 1 non-finite value\(s\), first NaN at index \(2, 0, 1\)"
    ):
        softmax_cross_entropy(nan_logits, targets)
    with pytest.raises(ValueError, match="logits.dtype must be float32 or float64, got int64"):
        softmax_cross_entropy(targets[..., None].repeat(V, axis=-1), targets)
    with pytest.raises(ValueError, match=r"mask must have shape \(3, 5\) \(N, T\), got \(3,\)"):
        softmax_cross_entropy(logits, targets, mask=np.ones(N, dtype=bool))
    with pytest.raises(ValueError, match="mask must be boolean"):
        softmax_cross_entropy(logits, targets, mask=np.full((N, T), 0.5))
    with pytest.raises(ValueError, match="ignore_index must be an integer or None, got True"):
        softmax_cross_entropy(logits, targets, ignore_index=True)


def test_cross_entropy_refuses_to_average_over_nothing():
    rng = np.random.default_rng(8)
    logits = rng.standard_normal((N, T, V))
    targets = rng.integers(0, V, size=(N, T))
    with pytest.raises(
        ValueError, match="no position is counted: mask and ignore_index exclude all 15"
    ):
        softmax_cross_entropy(logits, targets, mask=np.zeros((N, T), dtype=bool))
    mask = np.zeros((N, T), dtype=bool)
    mask[0, 0] = True
    targets[0, 0] = -100
    with pytest.raises(ValueError, match="no position is counted"):
        softmax_cross_entropy(logits, targets, mask=mask, ignore_index=-100)


# ----- mean squared error -----------------------------------------------------------------------


def test_mse_is_the_mean_square_over_counted_elements():
    rng = np.random.default_rng(9)
    pred, target = rng.standard_normal((2, N, T, D))
    loss, dpred = mse(pred, target)
    assert loss == pytest.approx(np.mean((pred - target) ** 2), rel=1e-12)
    np.testing.assert_allclose(dpred, 2 * (pred - target) / pred.size, rtol=1e-12)
    mask = np.arange(T)[None, :] < np.array([T, 2, 4])[:, None]  # (N, T), broadcast over D
    loss, dpred = mse(pred, target, mask=mask)
    assert loss == pytest.approx(np.mean((pred[mask] - target[mask]) ** 2), rel=1e-12)
    assert np.all(dpred[~mask] == 0)


@pytest.mark.parametrize("mask_shape", [None, (N, T), (N, T, D)])
def test_mse_gradient_matches_finite_differences(mask_shape):
    rng = np.random.default_rng(10)
    pred, target = rng.standard_normal((2, N, T, D))
    mask = None if mask_shape is None else rng.random(mask_shape) < 0.6
    if mask is not None:
        mask.flat[0] = True
    _, dpred = mse(pred, target, mask=mask)
    assert (
        relative_error(numerical_gradient(lambda: mse(pred, target, mask=mask)[0], pred), dpred)
        < 1e-6
    )


def test_mse_allows_missing_targets_where_masked_but_not_where_counted():
    pred = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    target = np.array([[0.0, np.nan], [1.0, 1.0]], dtype=np.float32)
    mask = np.array([[True, False], [True, True]])
    loss, dpred = mse(pred, target, mask=mask)
    assert loss == pytest.approx((1 + 4 + 9) / 3)
    assert dpred.dtype == np.float32 and dpred[0, 1] == 0
    with pytest.raises(
        ValueError,
        match=r"target \(at counted elements\) contains 1 non-finite value\(s\), first NaN",
    ):
        mse(pred, target)


def test_mse_errors_name_the_problem():
    pred = np.zeros((N, T, D))
    with pytest.raises(
        ValueError, match=r"target must have pred's shape \(3, 5, 9\), got \(3, 5\)"
    ):
        mse(pred, np.zeros((N, T)))
    with pytest.raises(ValueError, match="target has dtype float32 but pred is float64"):
        mse(pred, np.zeros((N, T, D), dtype=np.float32))
    with pytest.raises(
        ValueError, match=r"mask must have a leading part of pred's shape \(3, 5, 9\).*got \(5,\)"
    ):
        mse(pred, pred, mask=np.ones(T, dtype=bool))
    with pytest.raises(
        ValueError, match="no element is counted: the mask excludes all 135 elements"
    ):
        mse(pred, pred, mask=np.zeros((N, T), dtype=bool))
    with pytest.raises(ValueError, match=r"pred contains 1 non-finite value\(s\), first inf"):
        mse(np.array([np.inf, 0.0]), np.zeros(2))
