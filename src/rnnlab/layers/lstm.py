r"""The LSTM cell: a cell state c_t on an additive path, guarded by three gates.

Equations (row-vector form; gate blocks in PyTorch's order i, f, g, o)::

    [a_i a_f a_g a_o] = x_t W_x + h_{t-1} W_h + b       W_x (D, 4H), W_h (H, 4H), b (4H)
    i = sigmoid(a_i)   input gate                       (N, H) each
    f = sigmoid(a_f)   forget gate
    g = tanh(a_g)      candidate
    o = sigmoid(a_o)   output gate
    c_t = f * c_{t-1} + i * g                            the additive cell path
    h_t = o * tanh(c_t)

Backward through one step, given dh_t and dc_t arriving from later steps::

    do        = dh_t * tanh(c_t)
    dc_t     += dh_t * o * (1 - tanh(c_t)^2)            back through h = o tanh(c)
    di = dc_t * g ;  dg = dc_t * i ;  df = dc_t * c_{t-1}
    dc_{t-1}  = dc_t * f                                 the path that keeps gradients alive
    da_{i,f,o} = d{i,f,o} * s (1 - s) ;  da_g = dg * (1 - g^2)
    dx_t = da W_x^T ;  dh_{t-1} = da W_h^T ;  dW_x += x_t^T da ;  dW_h += h_{t-1}^T da ;  db += sum da

Shapes: N batch, T time, D input, H hidden. The sequence functions are time-major, ``x``
(T, N, D), rows sorted by length when ``batch_sizes`` is given (see ``packing.py``).

Speed: one GEMM for the input projection of all steps; per step one recurrent GEMM and
elementwise work into preallocated buffers; backward does one GEMM per step (dh_{t-1}) and
dW_x, dW_h, db and dx as GEMMs over all N*T rows after the loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnlab import init
from rnnlab.layers.packing import last_step_of, step_sizes
from rnnlab.layers.stack import CellKernel, RecurrentStack


def sigmoid(a):
    """Logistic function, written through tanh so it never overflows: s = (1 + tanh(a/2)) / 2."""
    return 0.5 * np.tanh(0.5 * a) + 0.5


def _sigmoid_prescale(H, dtype):
    """(4H,) column scale [1/2 (i), 1/2 (f), 1 (g), 1/2 (o)] so that tanh(scaled a) gives
    tanh(a/2) for the sigmoid gates and tanh(a) for the candidate."""
    half = np.full(4 * H, 0.5, dtype=dtype)
    half[2 * H : 3 * H] = 1.0
    return half


# ----------------------------------------------------------------------------------------
# one step
# ----------------------------------------------------------------------------------------


def lstm_step_forward(x_t, h_prev, c_prev, W_x, W_h, b):
    """One step. x_t (N, D), h_prev (N, H), c_prev (N, H) -> h_t, c_t (N, H), cache."""
    H = h_prev.shape[1]
    a = x_t @ W_x + h_prev @ W_h + b  # (N, 4H)
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H : 2 * H])
    g = np.tanh(a[:, 2 * H : 3 * H])
    o = sigmoid(a[:, 3 * H :])
    c_t = f * c_prev + i * g
    tanh_c = np.tanh(c_t)
    h_t = o * tanh_c
    return h_t, c_t, (x_t, h_prev, c_prev, i, f, g, o, tanh_c, W_x, W_h)


def lstm_step_backward(dh_t, dc_t, cache):
    """Back through one step. dh_t, dc_t (N, H) -> dx_t, dh_prev, dc_prev, dW_x, dW_h, db."""
    x_t, h_prev, c_prev, i, f, g, o, tanh_c, W_x, W_h = cache
    do = dh_t * tanh_c  # back through h = o * tanh(c)
    dc = dc_t + dh_t * o * (1 - tanh_c**2)
    di, dg, df = dc * g, dc * i, dc * c_prev  # back through c = f c_prev + i g
    dc_prev = dc * f
    da = np.concatenate(
        [di * i * (1 - i), df * f * (1 - f), dg * (1 - g**2), do * o * (1 - o)], axis=1
    )
    dx_t = da @ W_x.T
    dh_prev = da @ W_h.T
    return dx_t, dh_prev, dc_prev, x_t.T @ da, h_prev.T @ da, da.sum(axis=0)


# ----------------------------------------------------------------------------------------
# a whole sequence
# ----------------------------------------------------------------------------------------


@dataclass
class LSTMCache:
    """What the forward pass computed, stacked over time (time-major, sorted rows).

    gates (T, N, 4H) holds the activations [i f g o] (views: ``i``, ``f``, ``g``, ``o``),
    c (T, N, H) the cell states c_1..c_T, tanh_c (T, N, H), h (T, N, H) = h_1..h_T; all zero
    past each sequence's end. x (T, N, D), h0 and c0 (N, H), the weights as used, and
    batch_sizes (T,) or None.
    """

    x: np.ndarray
    h0: np.ndarray
    c0: np.ndarray
    gates: np.ndarray
    c: np.ndarray
    tanh_c: np.ndarray
    h: np.ndarray
    W_x: np.ndarray
    W_h: np.ndarray
    batch_sizes: np.ndarray | None

    def _gate(self, k):
        H = self.h.shape[2]
        return self.gates[:, :, k * H : (k + 1) * H]

    @property
    def i(self):
        return self._gate(0)

    @property
    def f(self):
        return self._gate(1)

    @property
    def g(self):
        return self._gate(2)

    @property
    def o(self):
        return self._gate(3)


def lstm_forward(x, h0, c0, W_x, W_h, b, batch_sizes=None):
    """Run the cell over a time-major batch.

    x (T, N, D), h0, c0 (N, H) -> h (T, N, H), (h_T, c_T) each row's state at its own last
    step, cache. With ``batch_sizes`` (T,) only the first batch_sizes[t] rows run at step t.
    """
    T, N, _ = x.shape
    H = W_h.shape[0]
    # sigmoid(a) = (1 + tanh(a/2)) / 2. Halving the i, f, o columns of the weights once
    # (exact in floating point) lets a single tanh per step serve all four gates.
    half = _sigmoid_prescale(H, W_h.dtype)
    W_h_half = W_h * half
    # the input projection of every step at once: one GEMM over N*T rows
    gates = (x.reshape(T * N, -1) @ (W_x * half)).reshape(T, N, 4 * H)
    gates += b * half
    c = np.empty((T, N, H), dtype=gates.dtype)
    tanh_c = np.empty_like(c)
    h = np.empty_like(c)
    recurrent = np.empty((N, 4 * H), dtype=gates.dtype)
    ig = np.empty((N, H), dtype=gates.dtype)
    shift = 1 - half  # 1/2 on the i, f, o columns, 0 on g
    sizes = step_sizes(batch_sizes, T, N)
    h_prev, c_prev = h0, c0
    for t in range(T):
        n = sizes[t]
        if n == 0:
            for buffer in (gates, c, tanh_c, h):
                buffer[t:] = 0
            break
        a = gates[t, :n]  # holds (x_t W_x + b) * half; becomes [i f g o] in place
        np.matmul(h_prev[:n], W_h_half, out=recurrent[:n])
        a += recurrent[:n]
        np.tanh(a, out=a)  # g = tanh(a_g); tanh(a/2) for i, f, o
        a *= half  # i, f, o = tanh(a/2) / 2 + 1/2 = sigmoid(a); g unchanged
        a += shift
        i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        c_t = c[t, :n]
        np.multiply(f, c_prev[:n], out=c_t)  # c_t = f * c_{t-1} + i * g
        np.multiply(i, g, out=ig[:n])
        c_t += ig[:n]
        np.tanh(c_t, out=tanh_c[t, :n])
        np.multiply(o, tanh_c[t, :n], out=h[t, :n])  # h_t = o * tanh(c_t)
        if n < N:  # finished sequences output zeros
            for buffer in (gates, c, tanh_c, h):
                buffer[t, n:] = 0
        h_prev, c_prev = h[t], c[t]
    h_T, c_T = last_step_of(h, batch_sizes), last_step_of(c, batch_sizes)
    cache = LSTMCache(x, h0, c0, gates, c, tanh_c, h, W_x, W_h, batch_sizes)
    return h, (h_T, c_T), cache


def lstm_backward(dh, dh_T, dc_T, cache):
    """BPTT. dh (T, N, H) on every output; dh_T, dc_T (N, H) on the final state.

    Returns dx (T, N, D), dh0 (N, H), dc0 (N, H), (dW_x, dW_h, db).
    """
    x, gates, c, tanh_c, h = cache.x, cache.gates, cache.c, cache.tanh_c, cache.h
    T, N, D = x.shape
    H = h.shape[2]
    sizes = step_sizes(cache.batch_sizes, T, N)
    # per-step buffers; local derivatives are computed step by step from the gates, while
    # the step's rows are in cache (cheaper than whole (T, N, 4H) passes beforehand)
    gate_derivative = np.empty((N, 4 * H), dtype=gates.dtype)
    da = np.zeros_like(gates) if cache.batch_sizes is not None else np.empty_like(gates)
    W_h_T = np.ascontiguousarray(cache.W_h.T)
    # running gradients on h_t and c_t; rows not yet started (t >= length) keep dh_T, dc_T
    dh_next = dh_T.astype(h.dtype, copy=True)
    dc_next = dc_T.astype(h.dtype, copy=True)
    scratch = np.empty((N, H), dtype=h.dtype)
    for t in range(T - 1, -1, -1):
        n = sizes[t]
        if n == 0:
            continue
        a = gates[t, :n]
        i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        c_prev = c[t - 1, :n] if t > 0 else cache.c0[:n]
        da_t = da[t, :n]
        di, df, dg, do = da_t[:, :H], da_t[:, H : 2 * H], da_t[:, 2 * H : 3 * H], da_t[:, 3 * H :]
        dh_t = dh_next[:n]
        dh_t += dh[t, :n]  # h_t feeds the output and step t+1
        dc_t = dc_next[:n]
        tanh_c_t, dc_from_h = tanh_c[t, :n], scratch[:n]
        np.multiply(dh_t, tanh_c_t, out=do)  # back through h_t = o * tanh(c_t)
        np.multiply(tanh_c_t, tanh_c_t, out=dc_from_h)
        np.subtract(1, dc_from_h, out=dc_from_h)
        dc_from_h *= o
        dc_from_h *= dh_t  # dh_t * o * (1 - tanh(c_t)^2)
        dc_t += dc_from_h
        np.multiply(dc_t, g, out=di)  # back through c_t = f * c_{t-1} + i * g
        np.multiply(dc_t, i, out=dg)
        np.multiply(dc_t, c_prev, out=df)
        dc_t *= f  # dc_{t-1}
        local = gate_derivative[:n]  # s (1 - s) for i, f, o; 1 - g^2 for g
        np.subtract(1, a, out=local)
        local *= a
        local_g = local[:, 2 * H : 3 * H]
        np.multiply(g, g, out=local_g)
        np.subtract(1, local_g, out=local_g)
        da_t *= local  # back through the sigmoids and the tanh
        np.matmul(da_t, W_h_T, out=dh_t)  # dh_{t-1}, back through h_{t-1} W_h
    da_rows = da.reshape(T * N, 4 * H)
    dx = (da_rows @ cache.W_x.T).reshape(T, N, D)
    dW_x = x.reshape(T * N, D).T @ da_rows
    dW_h = cache.h0.T @ da[0]
    if T > 1:
        dW_h += h[:-1].reshape(-1, H).T @ da[1:].reshape(-1, 4 * H)
    db = da_rows.sum(axis=0)
    return dx, dh_next, dc_next, (dW_x, dW_h, db)


# ----------------------------------------------------------------------------------------
# the layer
# ----------------------------------------------------------------------------------------


def _forward(x, state0, weights, batch_sizes):
    h0, c0 = state0
    h, state_T, cache = lstm_forward(x, h0, c0, *weights, batch_sizes)
    return h, state_T, cache


def _backward(dh, dstate_T, cache):
    dh_T, dc_T = dstate_T
    dx, dh0, dc0, grads = lstm_backward(dh, dh_T, dc_T, cache)
    return dx, (dh0, dc0), grads


KERNEL = CellKernel(
    param_names=("W_x", "W_h", "b"),
    gate_count=4,
    num_states=2,
    forward=_forward,
    backward=_backward,
)


class LSTM(RecurrentStack):
    """LSTM layer, stacked and/or bidirectional, batch-first.

    Parameters per layer and direction: ``W_x_l{k}`` (D_k, 4H), ``W_h_l{k}`` (H, 4H),
    ``b_l{k}`` (4H,), suffix ``_reverse`` for the backward direction (PyTorch's naming).
    D_0 = input_size, D_k = H * num_directions for k > 0. The state is ``(h, c)``, each
    (num_layers * num_directions, N, H).

    Initialisation: W_x Glorot-uniform, W_h orthogonal per gate block, b zero except the
    forget-gate block, which starts at ``forget_bias`` (1.0 by default: a fresh LSTM
    remembers, so gradients pass along the cell path from the first update; set 0.0 to
    match PyTorch's zero-mean initialisation).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        rng: np.random.Generator | None = None,
        dtype=np.float32,
        forget_bias: float = 1.0,
    ):
        self.forget_bias = float(forget_bias)
        super().__init__(KERNEL, input_size, hidden_size, num_layers, bidirectional, rng, dtype)

    def _init_direction(self, rng, input_size, hidden_size):
        H = hidden_size
        b = np.zeros(4 * H)
        b[H : 2 * H] = self.forget_bias
        return {
            "W_x": init.glorot_uniform(rng, (input_size, 4 * H), fan_out=H),
            "W_h": np.concatenate([init.orthogonal(rng, (H, H)) for _ in range(4)], axis=1),
            "b": b,
        }
