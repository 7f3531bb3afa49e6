r"""Losses: each returns the mean loss and its gradient with respect to the model's output.

Softmax cross-entropy, for logits z (..., V) and integer targets y (...)::

    log p_v = z_v - logsumexp(z)                   logsumexp(z) = m + log sum_v exp(z_v - m),
                                                   m = max_v z_v  (so exp never overflows)
    loss    = -(1/C) sum_{p counted} log p[p, y_p]
    dz[p]   = (softmax(z[p]) - onehot(y_p)) / C    at counted positions, 0 elsewhere

Mean squared error, for predictions p and targets y of the same shape::

    loss = (1/C) sum_{k counted} (p_k - y_k)^2 ;   dp_k = 2 (p_k - y_k) / C  (0 if not counted)

C is the number of counted positions (elements for ``mse``): a position counts unless the
mask is False there or (cross-entropy) its target equals ``ignore_index``. Averaging over C,
not over every position, keeps the loss of a padded batch equal to the loss of its
sequences, however much padding there is.

Shapes: N batch, T time, V vocabulary (classes).
"""

from __future__ import annotations

import numpy as np

from rnnlab import _checks


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """log softmax(z) = z - logsumexp(z) along ``axis``, stable for any finite z.

    >>> log_softmax(np.array([1e4, 0.0])).round(6).tolist()
    [0.0, -10000.0]
    """
    z = np.asarray(z)
    shifted = z - z.max(axis=axis, keepdims=True)  # the largest entry becomes 0
    with np.errstate(under="ignore"):  # exp of a very negative entry is 0, which is right
        sum_exp = np.exp(shifted).sum(axis=axis, keepdims=True)
    return shifted - np.log(sum_exp)  # sum_exp >= 1: log never sees 0


def softmax_cross_entropy(
    logits, targets, mask=None, ignore_index: int | None = None
) -> tuple[float, np.ndarray]:
    """Mean cross-entropy between softmax(logits) and the target classes.

    logits (N, V) or (N, T, V), float32 or float64; targets (N,) or (N, T) integers in
    0..V-1 at counted positions (anything, e.g. padding, elsewhere); mask (N,) or (N, T)
    boolean, True = counted. Returns (loss, dlogits), dlogits shaped like logits: the
    gradient of the returned mean.

    >>> logits = np.array([[2.0, 0.0], [0.0, 2.0]])
    >>> loss, dlogits = softmax_cross_entropy(logits, np.array([0, 1]))
    >>> round(loss, 6)
    0.126928
    """
    logits = _checks.as_array("logits", logits)
    if logits.ndim not in (2, 3):
        raise ValueError(f"logits must have shape (N, V) or (N, T, V), got shape {logits.shape}")
    _checks.check_float_dtype("logits.dtype", logits.dtype)
    _checks.check_finite("logits", logits)
    lead, V = logits.shape[:-1], logits.shape[-1]
    lead_legend = "(N,)" if len(lead) == 1 else "(N, T)"
    targets = _checks.check_integer_array("targets", targets)
    if targets.shape != lead:
        raise ValueError(
            f"targets must have shape {lead} {lead_legend} to match logits {logits.shape}, "
            f"got {targets.shape}"
        )
    counted = _counted_positions(mask, lead, lead_legend)
    ignore_index = _checks.check_integer("ignore_index", ignore_index, allow_none=True)
    if ignore_index is not None:
        counted &= targets != ignore_index
    C = int(counted.sum())
    if C == 0:
        raise ValueError(
            f"no position is counted: mask and ignore_index exclude all {targets.size} "
            f"target positions, so the mean loss is undefined"
        )
    _checks.check_index_range("targets", targets, V, f"logits have V = {V} classes", counted)

    log_p = log_softmax(logits)  # (..., V)
    idx = np.nonzero(counted)  # index arrays over the leading axes of the counted positions
    y = targets[idx]
    loss = -float(log_p[idx + (y,)].sum()) / C

    # back through the mean and -log p_y: dz = (softmax(z) - onehot(y)) / C, 0 where not counted
    with np.errstate(under="ignore"):  # probabilities below the smallest float are 0
        dlogits = np.exp(log_p)  # softmax(z)
        dlogits[idx + (y,)] -= 1
        dlogits *= (counted / C).astype(logits.dtype)[..., None]
    return loss, dlogits


def mse(pred, target, mask=None) -> tuple[float, np.ndarray]:
    """Mean squared error over counted elements.

    pred, target: the same shape (e.g. (N, T, D)), float32 or float64, target of pred's dtype.
    mask: None, or boolean of a leading part of that shape (e.g. (N, T) or (N, T, D)), True =
    counted, broadcast over the remaining axes. Targets at uncounted elements may be NaN
    (missing values). Returns (loss, dpred), dpred shaped like pred.

    >>> loss, dpred = mse(np.array([1.0, 3.0]), np.array([0.0, 1.0]))
    >>> loss, dpred.tolist()
    (2.5, [1.0, 2.0])
    """
    pred = _checks.as_array("pred", pred)
    dtype = _checks.check_float_dtype("pred.dtype", pred.dtype)
    _checks.check_finite("pred", pred)
    target = _checks.as_array("target", target)
    if target.shape != pred.shape:
        raise ValueError(f"target must have pred's shape {pred.shape}, got {target.shape}")
    if target.dtype != dtype:
        raise ValueError(
            f"target has dtype {target.dtype} but pred is {dtype}; "
            f"convert it with .astype(np.{dtype})"
        )
    if mask is None:
        counted = np.ones(pred.shape, dtype=bool)
    else:
        m = _checks.as_array("mask", mask)
        if m.shape != pred.shape[: m.ndim]:
            raise ValueError(
                f"mask must have a leading part of pred's shape {pred.shape}, "
                f"e.g. {pred.shape[:2]}, got {m.shape}"
            )
        m = _checks.check_mask("mask", m, m.shape)
        counted = np.broadcast_to(m.reshape(m.shape + (1,) * (pred.ndim - m.ndim)), pred.shape)
    C = int(counted.sum())
    if C == 0:
        raise ValueError(
            f"no element is counted: the mask excludes all {pred.size} elements, "
            f"so the mean loss is undefined"
        )
    _checks.check_finite("target (at counted elements)", target[counted])

    diff = np.where(counted, pred - target, 0).astype(dtype, copy=False)  # NaN targets drop out
    with np.errstate(under="ignore"):  # squares below the smallest float are 0
        loss = float(np.sum(diff * diff)) / C
        dpred = diff * dtype.type(2.0 / C)  # back through the mean of squares
    return loss, dpred


def _counted_positions(mask, shape, legend) -> np.ndarray:
    """A fresh boolean (shape) array: True where a position counts toward the mean."""
    if mask is None:
        return np.ones(shape, dtype=bool)
    return _checks.check_mask("mask", mask, shape, legend).copy()
