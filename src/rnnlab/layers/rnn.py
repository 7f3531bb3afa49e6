r"""The Elman RNN cell: one set of weights reused at every step.

Equations (row-vector form, the lecture's symbols)::

    a_t = x_t W_xh + h_{t-1} W_hh + b          pre-activation      (N, H)
    h_t = tanh(a_t)                            (or relu, sigmoid)  (N, H)
    h_0 = 0 unless given

Backward through one step, given dh_t, the whole gradient on h_t (from its own output and
from step t+1: ``dh[t] + dh_carry``, where ``dh_carry`` is what step t+1 sent back)::

    da_t      = dh_t * (1 - h_t**2)            tanh'(a) = 1 - tanh(a)^2
                                               (relu: [h_t > 0]; sigmoid: h_t (1 - h_t))
    dx_t      = da_t W_xh^T
    dh_{t-1}  = da_t W_hh^T                    sent back: step t-1's dh_carry
    dW_xh    += x_t^T da_t ;  dW_hh += h_{t-1}^T da_t ;  db += sum_n da_t

In the code a quantity at t-1 is named ``_prev`` (h_prev, dh_prev).

Recurrent dropout (``layers/stack.py``): with a mask m (N, H), the same at every step, the
recurrent product reads h_{t-1} * m instead of h_{t-1}::

    a_t       = x_t W_xh + (h_{t-1} * m) W_hh + b
    dh_{t-1}  = (da_t W_hh^T) * m ;  dW_hh += (h_{t-1} * m)^T da_t

m = None (no dropout) is the same as m = 1 and costs nothing.

The central fact of BPTT: W_xh, W_hh and b are the same at every step, so each one's
gradient is the SUM over time of its per-step gradients, dW_hh = sum_t h_{t-1}^T da_t (the
``+=`` above). ``rnn_backward_reference`` adds them up in its loop over ``rnn_step_backward``;
``rnn_backward`` computes the same sum as one GEMM over all N*T rows after its loop, since
stacking the steps' rows, [h_0; ...; h_{T-1}]^T [da_1; ...; da_T] = sum_t h_{t-1}^T da_t.

Shapes: N batch, T time, D input, H hidden. The sequence functions are time-major,
``x`` (T, N, D), with rows sorted by length when ``batch_sizes`` is given (see
``packing.py``): at step t only the first ``batch_sizes[t]`` rows run.

Two implementations, held equal by ``tests/test_recurrent_consistency.py``:
``rnn_forward_reference`` / ``rnn_backward_reference`` are the lecture's loops over the step
functions, full-length batches only; ``rnn_forward`` / ``rnn_backward`` are the fast kernels
the layer runs. Speed: the input projection of all steps is one GEMM before the loop; each
step does the recurrent GEMM and an in-place nonlinearity into a preallocated buffer;
backward does one GEMM per step (for dh_{t-1}) and computes dW_xh, dW_hh, db and dx as GEMMs
over all N*T rows after the loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnlab import init
from rnnlab.layers.packing import last_step_of, step_sizes
from rnnlab.layers.stack import CellKernel, RecurrentStack

NONLINEARITIES = ("tanh", "relu", "sigmoid")


# ----------------------------------------------------------------------------------------
# one step
# ----------------------------------------------------------------------------------------


def rnn_step_forward(x_t, h_prev, W_xh, W_hh, b, nonlinearity="tanh", mask=None):
    """One step. x_t (N, D), h_prev (N, H), mask (N, H) or None -> h_t (N, H), cache."""
    h_read = h_prev if mask is None else h_prev * mask  # what the recurrent product reads
    a_t = x_t @ W_xh + h_read @ W_hh + b
    h_t = _activate(a_t, nonlinearity)
    return h_t, (x_t, h_prev, h_t, W_xh, W_hh, nonlinearity, mask)


def rnn_step_backward(dh_t, cache):
    """Back through one step. dh_t (N, H) -> dx_t, dh_prev, dW_xh, dW_hh, db."""
    x_t, h_prev, h_t, W_xh, W_hh, nonlinearity, mask = cache
    h_read = h_prev if mask is None else h_prev * mask
    da_t = dh_t * _activation_derivative(h_t, nonlinearity)  # back through h = tanh(a)
    dx_t = da_t @ W_xh.T  # back through x_t W_xh
    dh_prev = da_t @ W_hh.T  # back through (h_{t-1} * m) W_hh ...
    if mask is not None:
        dh_prev *= mask  # ... and through h_{t-1} * m
    return dx_t, dh_prev, x_t.T @ da_t, h_read.T @ da_t, da_t.sum(axis=0)


def _activate(a, nonlinearity, out=None):
    """h = phi(a), in place when out is a."""
    if nonlinearity == "tanh":
        return np.tanh(a, out=out)
    if nonlinearity == "relu":
        return np.maximum(a, 0, out=out)
    # sigmoid(a) = (1 + tanh(a/2)) / 2, which cannot overflow
    h = np.multiply(a, 0.5, out=out)
    np.tanh(h, out=h)
    h *= 0.5
    h += 0.5
    return h


def _activation_derivative(h, nonlinearity):
    """d h / d a expressed through the output h (so a need not be stored)."""
    if nonlinearity == "tanh":
        return 1 - h * h
    if nonlinearity == "relu":
        return (h > 0).astype(h.dtype)
    return h * (1 - h)


# ----------------------------------------------------------------------------------------
# a whole sequence
# ----------------------------------------------------------------------------------------


@dataclass
class RNNCache:
    """What the forward pass computed, stacked over time (time-major, sorted rows).

    x (T, N, D), h0 (N, H), h (T, N, H) = h_1..h_T (zero past each sequence's end),
    weights as used, batch_sizes (T,) or None (all rows run every step), the recurrent
    dropout mask (N, H) or None.
    """

    x: np.ndarray
    h0: np.ndarray
    h: np.ndarray
    W_xh: np.ndarray
    W_hh: np.ndarray
    nonlinearity: str
    batch_sizes: np.ndarray | None
    mask: np.ndarray | None = None

    def step(self, t):
        """The cache ``rnn_step_forward`` returned at step t, read back from the record
        (full-length batches: every row ran step t)."""
        h_prev = self.h[t - 1] if t > 0 else self.h0
        return self.x[t], h_prev, self.h[t], self.W_xh, self.W_hh, self.nonlinearity, self.mask


def rnn_forward(x, h0, W_xh, W_hh, b, batch_sizes=None, nonlinearity="tanh", mask=None):
    """Run the cell over a time-major batch.

    x (T, N, D), h0 (N, H) -> h (T, N, H), h_T (N, H) each row's state at its last step,
    cache. With ``batch_sizes`` (T,) only the first batch_sizes[t] rows run at step t. With
    ``mask`` (N, H) the recurrent product reads h_{t-1} * mask (recurrent dropout).
    """
    T, N, _ = x.shape
    H = W_hh.shape[0]
    # the input projection of every step at once: one GEMM over N*T rows
    a = (x.reshape(T * N, -1) @ W_xh).reshape(T, N, H)
    a += b  # x_t W_xh + b, every step
    h = a  # the same memory: step t overwrites its rows of a with h_t
    sizes = step_sizes(batch_sizes, T, N)
    recurrent = np.empty((N, H), dtype=h.dtype)
    h_read = None if mask is None else np.empty((N, H), dtype=h.dtype)  # h_{t-1} * mask
    h_prev = h0
    for t in range(T):
        n = sizes[t]
        if n == 0:
            h[t:] = 0
            break
        a_t = a[t, :n]
        if mask is None:
            np.matmul(h_prev[:n], W_hh, out=recurrent[:n])
        else:
            np.multiply(h_prev[:n], mask[:n], out=h_read[:n])
            np.matmul(h_read[:n], W_hh, out=recurrent[:n])
        a_t += recurrent[:n]  # a_t = x_t W_xh + h_{t-1} W_hh + b
        h_t = _activate(a_t, nonlinearity, out=a_t)  # h_t = tanh(a_t), in a_t's memory
        if n < N:
            h[t, n:] = 0  # finished sequences output zeros
        h_prev = h_t  # the next step runs at most these n rows
    h_T = last_step_of(h, batch_sizes)
    return h, h_T, RNNCache(x, h0, h, W_xh, W_hh, nonlinearity, batch_sizes, mask)


def rnn_backward(dh, dh_T, cache):
    """BPTT. dh (T, N, H) gradient on every output, dh_T (N, H) on the final state.

    Returns dx (T, N, D), dh0 (N, H), (dW_xh, dW_hh, db).
    """
    x, h = cache.x, cache.h
    T, N, D = x.shape
    H = h.shape[2]
    sizes = step_sizes(cache.batch_sizes, T, N)
    da = np.zeros_like(h) if cache.batch_sizes is not None else np.empty_like(h)
    derivative = _activation_derivative(h, cache.nonlinearity)  # dh_t/da_t, all steps at once
    W_hh_T = np.ascontiguousarray(cache.W_hh.T)
    # The gradient carried back between steps. Before step t it holds what reaches h_t from
    # step t+1 (dh_T for the last step, and for rows that have not started, t >= length);
    # step t then overwrites its rows with what it sends back to h_{t-1}. Below, each result
    # is named for what it is and written over an input that is not read again.
    dh_carry = dh_T.astype(h.dtype, copy=True)
    for t in range(T - 1, -1, -1):
        n = sizes[t]
        if n == 0:
            continue
        dh_next = dh_carry[:n]  # what step t+1 sent back to h_t
        dh_t = np.add(dh[t, :n], dh_next, out=da[t, :n])  # h_t feeds its output and step t+1
        da_t = np.multiply(dh_t, derivative[t, :n], out=dh_t)  # back through h_t = tanh(a_t)
        dh_prev = dh_next  # the carry's rows take what step t sends back to h_{t-1}
        np.matmul(da_t, W_hh_T, out=dh_prev)  # back through h_{t-1} W_hh
        if cache.mask is not None:
            dh_prev *= cache.mask[:n]  # ... read as h_{t-1} * mask
    dh0 = dh_carry  # after step 0, what reaches h_0
    da_rows = da.reshape(T * N, H)
    dx = (da_rows @ cache.W_xh.T).reshape(T, N, D)
    # BPTT for shared weights: the gradient of W_xh, W_hh, b is the SUM over time of the
    # per-step gradients x_t^T da_t, h_{t-1}^T da_t, sum_n da_t. Each GEMM over the stacked
    # N*T rows of all steps IS that sum: x^T da over (T*N, D) x (T*N, H) adds x_t^T da_t for
    # every t. For W_hh the step inputs h_{t-1} are h0 for step 0 and h[:-1] (the outputs
    # shifted by one step) for the others, times the mask when there is one; rows past a
    # sequence's end have da = 0.
    dW_xh = x.reshape(T * N, D).T @ da_rows
    mask = cache.mask
    dW_hh = (cache.h0 if mask is None else cache.h0 * mask).T @ da[0]
    if T > 1:
        h_read = h[:-1] if mask is None else h[:-1] * mask
        dW_hh += h_read.reshape(-1, H).T @ da[1:].reshape(-1, H)
    db = da_rows.sum(axis=0)
    return dx, dh0, (dW_xh, dW_hh, db)


# ----------------------------------------------------------------------------------------
# the same sequence, as the lecture writes it: a loop over the step
# ----------------------------------------------------------------------------------------


def rnn_forward_reference(x, h0, W_xh, W_hh, b, batch_sizes=None, nonlinearity="tanh", mask=None):
    """``rnn_forward`` written plainly: ``rnn_step_forward`` at each step, in order.

    Same arguments and returns: x (T, N, D), h0 (N, H) -> h (T, N, H), h_T (N, H), the same
    ``RNNCache``. Full-length batches only: ``batch_sizes`` must be None (ValueError
    otherwise), because rows that stop early would hide the loop behind slicing.
    """
    if batch_sizes is not None:
        raise ValueError(
            "rnn_forward_reference takes full-length batches only: batch_sizes must be None "
            "(rnn_forward runs packed batches)"
        )
    h_t, hs = h0, []
    for x_t in x:
        h_t, _ = rnn_step_forward(x_t, h_t, W_xh, W_hh, b, nonlinearity, mask)
        hs.append(h_t)
    h = np.stack(hs)  # the record keeps all that a step's cache held: see RNNCache.step
    return h, h_t, RNNCache(x, h0, h, W_xh, W_hh, nonlinearity, None, mask)


def rnn_backward_reference(dh, dh_T, cache):
    """``rnn_backward`` written plainly: ``rnn_step_backward`` from the last step to the first.

    Same arguments and returns: dh (T, N, H), dh_T (N, H), an ``RNNCache`` from either
    forward -> dx (T, N, D), dh0 (N, H), (dW_xh, dW_hh, db). Full-length batches only
    (``cache.batch_sizes`` None, ValueError otherwise).
    """
    if cache.batch_sizes is not None:
        raise ValueError(
            "rnn_backward_reference takes full-length batches only: cache.batch_sizes must be "
            "None (rnn_backward runs packed batches)"
        )
    dx = np.zeros_like(cache.x)
    dW_xh, dW_hh = np.zeros_like(cache.W_xh), np.zeros_like(cache.W_hh)
    db = np.zeros(cache.W_hh.shape[1], dtype=cache.W_hh.dtype)
    dh_carry = dh_T  # what reaches h_t from step t+1; for the last step, from the final state
    for t in reversed(range(len(cache.x))):
        dh_t = dh[t] + dh_carry  # h_t feeds its own output and step t+1
        dx[t], dh_prev, dW_xh_t, dW_hh_t, db_t = rnn_step_backward(dh_t, cache.step(t))
        # The weights are shared by every step, so each one's gradient is the SUM over
        # time of its per-step gradients: the central fact of BPTT.
        dW_xh += dW_xh_t
        dW_hh += dW_hh_t
        db += db_t
        dh_carry = dh_prev  # carried back into step t-1
    return dx, dh_carry, (dW_xh, dW_hh, db)


# ----------------------------------------------------------------------------------------
# the layer
# ----------------------------------------------------------------------------------------


def _kernel(nonlinearity: str) -> CellKernel:
    def forward(x, state0, weights, batch_sizes, mask):
        (h0,) = state0
        h, h_T, cache = rnn_forward(x, h0, *weights, batch_sizes, nonlinearity, mask)
        return h, (h_T,), cache

    def backward(dh, dstate_T, cache):
        (dh_T,) = dstate_T
        dx, dh0, grads = rnn_backward(dh, dh_T, cache)
        return dx, (dh0,), grads

    return CellKernel(
        param_names=("W_xh", "W_hh", "b"),
        gate_count=1,
        num_states=1,
        forward=forward,
        backward=backward,
    )


class RNN(RecurrentStack):
    """Elman RNN, ``h_t = tanh(x_t W_xh + h_{t-1} W_hh + b)``, stacked and/or bidirectional.

    ``nonlinearity`` is "tanh" (the lecture's choice: bounded states), "relu" (unbounded:
    the lecture's explosion demo) or "sigmoid" (bounded but not zero-centred).

    Parameters per layer and direction: ``W_xh_l{k}`` (D_k, H), ``W_hh_l{k}`` (H, H),
    ``b_l{k}`` (H,), with suffix ``_reverse`` for the backward direction (PyTorch's naming).
    D_0 = input_size, D_k = H * num_directions for k > 0. The state is ``h``
    (num_layers * num_directions, N, H).

    Initialisation: W_xh Glorot-uniform, W_hh orthogonal, b zero.

    ``recurrent_dropout`` p: while training (``forward(..., rng=rng)``) one mask per sequence,
    layer and direction on h_{t-1} in the recurrent product (see ``layers/stack.py``).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        nonlinearity: str = "tanh",
        rng: np.random.Generator | None = None,
        dtype=np.float32,
        recurrent_dropout: float = 0.0,
    ):
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(
                f"nonlinearity must be one of {NONLINEARITIES}, got {nonlinearity!r}"
            )
        self.nonlinearity = nonlinearity
        super().__init__(
            _kernel(nonlinearity), input_size, hidden_size, num_layers, bidirectional, rng, dtype,
            recurrent_dropout,
        )

    def _init_direction(self, rng, input_size, hidden_size):
        return {
            "W_xh": init.glorot_uniform(rng, (input_size, hidden_size)),
            "W_hh": init.orthogonal(rng, (hidden_size, hidden_size)),
            "b": np.zeros(hidden_size),
        }
