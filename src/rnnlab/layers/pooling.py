"""Pooling the outputs of a recurrent layer over time, counting only each sequence's steps.

For out (N, T, H) and lengths L (N,)::

    mean:  z_n = (1 / L_n) sum_{t < L_n} out[n, t]          dout[n, t] = dz_n / L_n   (t < L_n)
    max:   z_n = max_{t < L_n} out[n, t]   (per unit)        dout[n, t*] = dz_n at the arg max t*

Padded steps never win the max and never count in the mean; they get zero gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class PoolCache:
    """mode, valid (N, T, 1) the counted steps, counts (N, 1) for "mean", winner (N, H) the
    arg-max step of each unit for "max", and the shape (N, T, H) of the pooled outputs."""

    mode: str
    valid: np.ndarray
    counts: np.ndarray | None
    winner: np.ndarray | None
    shape: tuple


def _valid(out: np.ndarray, lengths: np.ndarray | None) -> np.ndarray:
    """(N, T, 1) boolean: True at each sequence's own steps."""
    N, T = out.shape[:2]
    if lengths is None:
        return np.ones((N, T, 1), dtype=bool)
    return (np.arange(T)[None, :] < np.asarray(lengths)[:, None])[:, :, None]


def pool_forward(out: np.ndarray, lengths: np.ndarray | None, mode: str) -> tuple[np.ndarray, PoolCache]:
    """out (N, T, H) -> z (N, H), cache. mode "mean" or "max"."""
    valid = _valid(out, lengths)
    if mode == "mean":
        counts = valid.sum(axis=1).astype(out.dtype)  # (N, 1)
        return (out * valid).sum(axis=1) / counts, PoolCache(mode, valid, counts, None, out.shape)
    if mode == "max":
        masked = np.where(valid, out, -np.inf)
        winner = masked.argmax(axis=1)  # (N, H): the step that holds each unit's maximum
        z = np.take_along_axis(out, winner[:, None, :], axis=1)[:, 0]
        return z, PoolCache(mode, valid, None, winner, out.shape)
    raise ValueError(f"pooling mode must be 'mean' or 'max', got {mode!r}")


def pool_backward(dz: np.ndarray, cache: PoolCache) -> np.ndarray:
    """dz (N, H) -> dout (N, T, H)."""
    if cache.mode == "mean":
        return np.broadcast_to((dz / cache.counts)[:, None, :], cache.shape) * cache.valid
    dout = np.zeros(cache.shape, dtype=dz.dtype)
    np.put_along_axis(dout, cache.winner[:, None, :], dz[:, None, :], axis=1)
    return dout
