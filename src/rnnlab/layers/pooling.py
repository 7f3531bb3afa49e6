"""Pooling the outputs of a recurrent layer over time, counting only each sequence's steps.

For out (N, T, H) and lengths L (N,)::

    mean:  z_n = (1 / L_n) sum_{t < L_n} out[n, t]          dout[n, t] = dz_n / L_n   (t < L_n)
    max:   z_n = max_{t < L_n} out[n, t]   (per unit)        dout[n, t*] = dz_n at the arg max t*

Padded steps never win the max and never count in the mean; they get zero gradient.
"""

from __future__ import annotations

import numpy as np


def _valid(out: np.ndarray, lengths: np.ndarray | None) -> np.ndarray:
    """(N, T, 1) boolean: True at each sequence's own steps."""
    N, T = out.shape[:2]
    if lengths is None:
        return np.ones((N, T, 1), dtype=bool)
    return (np.arange(T)[None, :] < np.asarray(lengths)[:, None])[:, :, None]


def pool_forward(out: np.ndarray, lengths: np.ndarray | None, mode: str):
    """out (N, T, H) -> z (N, H), cache. mode "mean" or "max"."""
    valid = _valid(out, lengths)
    if mode == "mean":
        counts = valid.sum(axis=1).astype(out.dtype)  # (N, 1)
        return (out * valid).sum(axis=1) / counts, (mode, valid, counts, None, out.shape)
    if mode == "max":
        masked = np.where(valid, out, -np.inf)
        winner = masked.argmax(axis=1)  # (N, H): the step that holds each unit's maximum
        z = np.take_along_axis(out, winner[:, None, :], axis=1)[:, 0]
        return z, (mode, valid, None, winner, out.shape)
    raise ValueError(f"pooling mode must be 'mean' or 'max', got {mode!r}")


def pool_backward(dz: np.ndarray, cache) -> np.ndarray:
    """dz (N, H) -> dout (N, T, H)."""
    mode, valid, counts, winner, shape = cache
    if mode == "mean":
        return np.broadcast_to((dz / counts)[:, None, :], shape) * valid
    dout = np.zeros(shape, dtype=dz.dtype)
    np.put_along_axis(dout, winner[:, None, :], dz[:, None, :], axis=1)
    return dout
