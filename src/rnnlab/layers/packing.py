"""Variable-length batches, laid out the way PyTorch's packed sequences are.

The public layers take batch-first arrays ``x`` (N, T, D) and optional ``lengths`` (N,).
Inside, the recurrent kernels work on a *time-major* array (T, N, D) whose rows are
sorted by length, longest first. Then at step t the sequences still running are exactly
the first ``batch_sizes[t]`` rows, so a step only touches the prefix ``[:n]``:

* a finished sequence is simply not updated, so its state stays at its own last step;
* its output rows are zero, and a zero gradient reaches its padded positions;
* there is no mask arithmetic in the per-step loop.

``PackedLayout`` holds the permutation and the batch sizes and converts between the two
layouts; it knows nothing about any particular cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PackedLayout:
    """Map between the user's (N, T, ...) batch and the kernels' sorted (T, N, ...) layout.

    order:       (N,) int, row k of the internal layout is row ``order[k]`` of the batch;
                 None when the batch is already in that order (no lengths, or sorted).
    lengths:     (N,) int, sequence lengths in internal order (all T when none given).
    batch_sizes: (T,) int, number of sequences still running at step t (non-increasing).
    """

    order: np.ndarray | None
    lengths: np.ndarray
    batch_sizes: np.ndarray

    @property
    def num_steps(self) -> int:
        return len(self.batch_sizes)

    @property
    def is_full(self) -> bool:
        """True when every sequence runs for all T steps (no padding at all)."""
        return bool(self.lengths.min() == self.num_steps)

    @classmethod
    def build(cls, batch_size: int, num_steps: int, lengths: np.ndarray | None) -> PackedLayout:
        """Layout for a batch of ``batch_size`` sequences padded to ``num_steps``.

        ``lengths`` must already be validated: integers in 1..num_steps.
        """
        if lengths is None:
            full = np.full(batch_size, num_steps, dtype=np.int64)
            return cls(order=None, lengths=full, batch_sizes=np.full(num_steps, batch_size))
        lengths = np.asarray(lengths, dtype=np.int64)
        order = np.argsort(-lengths, kind="stable")
        if np.array_equal(order, np.arange(batch_size)):
            order = None
            sorted_lengths = lengths
        else:
            sorted_lengths = lengths[order]
        steps = np.arange(num_steps)
        batch_sizes = (sorted_lengths[None, :] > steps[:, None]).sum(axis=1)
        return cls(order=order, lengths=sorted_lengths, batch_sizes=batch_sizes)

    # ----- batch-first (user) <-> time-major sorted (kernels) ---------------------------

    def to_time_major(self, x: np.ndarray) -> np.ndarray:
        """(N, T, ...) batch-first -> (T, N, ...) time-major, rows sorted; a new array."""
        x_tm = x.swapaxes(0, 1)
        if self.order is not None:
            return x_tm[:, self.order]  # fancy indexing copies
        return np.ascontiguousarray(x_tm)

    def to_batch_first(self, y_tm: np.ndarray) -> np.ndarray:
        """(T, N, ...) time-major sorted -> (N, T, ...) batch-first in the user's order."""
        y = y_tm.swapaxes(0, 1)
        if self.order is not None:
            out = np.empty_like(y)
            out[self.order] = y
            return out
        return np.ascontiguousarray(y)

    def sort_state(self, state: np.ndarray) -> np.ndarray:
        """(L, N, H) in the user's row order -> internal order (a view when unsorted)."""
        return state if self.order is None else state[:, self.order]

    def unsort_state(self, state: np.ndarray) -> np.ndarray:
        """(L, N, H) in internal order -> the user's row order."""
        if self.order is None:
            return state
        out = np.empty_like(state)
        out[:, self.order] = state
        return out

    # ----- the reverse direction of a bidirectional layer ---------------------------------

    def reversal_index(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Index pair that reverses each sequence within its own length.

        ``y[t, k] = x[L_k - 1 - t, k]`` for t < L_k; padded positions stay in place.
        Applying the same index twice gives back the original (it is an involution).
        Returns None when there is no padding (a plain ``x[::-1]`` then does the job).
        """
        if self.is_full:
            return None
        steps = np.arange(self.num_steps)[:, None]
        lengths = self.lengths[None, :]
        time_index = np.where(steps < lengths, lengths - 1 - steps, steps)
        row_index = np.broadcast_to(np.arange(len(self.lengths))[None, :], time_index.shape)
        return time_index, row_index

    def reverse(self, x_tm: np.ndarray, index: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
        """Reverse every sequence of a time-major sorted array within its own length."""
        if index is None:
            return np.ascontiguousarray(x_tm[::-1])
        return x_tm[index]


# ----- helpers for the kernels, which see only batch_sizes -----------------------------------


def step_sizes(batch_sizes: np.ndarray | None, num_steps: int, batch_size: int) -> list[int]:
    """Rows running at each step, as a Python list (cheap to index in the step loop)."""
    return [batch_size] * num_steps if batch_sizes is None else batch_sizes.tolist()


def last_step_of(y_tm: np.ndarray, batch_sizes: np.ndarray | None) -> np.ndarray:
    """(T, N, H) -> (N, H): row k at its own last step, derived from batch_sizes alone."""
    if batch_sizes is None:
        return y_tm[-1].copy()
    N = y_tm.shape[1]
    lengths = (batch_sizes[:, None] > np.arange(N)[None, :]).sum(axis=0)
    return y_tm[lengths - 1, np.arange(N)]
