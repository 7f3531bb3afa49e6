r"""The LSTM cell: a cell state c_t on an additive path, guarded by three gates.

Equations (row-vector form; gate blocks in PyTorch's order i, f, g, o)::

    a_t = x_t W_x + h_{t-1} W_h + b      pre-activation (N, 4H), blocks [a_i a_f a_g a_o]
    i = sigmoid(a_i)   input gate        (N, H) each; gates = [i f g o] (N, 4H) are the
    f = sigmoid(a_f)   forget gate       activations
    g = tanh(a_g)      candidate
    o = sigmoid(a_o)   output gate
    c_t = f * c_{t-1} + i * g            the additive cell path
    h_t = o * tanh(c_t)                  W_x (D, 4H), W_h (H, 4H), b (4H)

Backward through one step, given dh_t, the whole gradient on h_t (from its own output and
from step t+1), and dc_carry, what step t+1 sent back to c_t (dc_T for the last step)::

    do         = dh_t * tanh(c_t)                           back through h_t = o * tanh(c_t)
    dc_t       = dc_carry + dh_t * o * (1 - tanh(c_t)^2)    c_t feeds c_{t+1} and h_t
    di = dc_t * g ;  dg = dc_t * i ;  df = dc_t * c_{t-1}   back through c_t = f c_{t-1} + i g
    dc_{t-1}   = dc_t * f                  sent back: the path that keeps gradients alive
    da_{i,f,o} = d{i,f,o} * s (1 - s) ;  da_g = dg * (1 - g^2)    s the gate's own sigmoid
    dx_t = da_t W_x^T ;  dh_{t-1} = da_t W_h^T                    da_t = [da_i da_f da_g da_o]
    dW_x += x_t^T da_t ;  dW_h += h_{t-1}^T da_t ;  db += sum_n da_t

In the code a quantity at t-1 is named ``_prev`` (h_prev, c_prev, dh_prev, dc_prev).

Recurrent dropout (``layers/stack.py``): with a mask m (N, H), the same at every step, the
recurrent product reads h_{t-1} * m (the cell path and the state carried on are untouched)::

    a_t = x_t W_x + (h_{t-1} * m) W_h + b
    dh_{t-1} = (da_t W_h^T) * m ;  dW_h += (h_{t-1} * m)^T da_t

m = None (no dropout) is the same as m = 1 and costs nothing.

The central fact of BPTT: W_x, W_h and b are the same at every step, so each one's gradient
is the SUM over time of its per-step gradients, dW_h = sum_t h_{t-1}^T da_t (the ``+=``
above). ``lstm_backward_reference`` adds them up in its loop over ``lstm_step_backward``;
``lstm_backward`` computes the same sum as one GEMM over all N*T rows after its loop, since
stacking the steps' rows, [h_0; ...; h_{T-1}]^T [da_1; ...; da_T] = sum_t h_{t-1}^T da_t.

Shapes: N batch, T time, D input, H hidden. The sequence functions are time-major, ``x``
(T, N, D), rows sorted by length when ``batch_sizes`` is given (see ``packing.py``).

Two implementations, held equal by ``tests/test_recurrent_consistency.py``:
``lstm_forward_reference`` / ``lstm_backward_reference`` are the lecture's loops over the
step functions, full-length batches only; ``lstm_forward`` / ``lstm_backward`` are the fast
kernels the layer runs. Speed: one GEMM for the input projection of all steps; per step one
recurrent GEMM and elementwise work into preallocated buffers; backward does one GEMM per
step (dh_{t-1}) and dW_x, dW_h, db and dx as GEMMs over all N*T rows after the loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnlab import init
from rnnlab.layers.packing import last_step_of, step_sizes
from rnnlab.layers.sigmoid_scale import column_scale, scaled_input_projection
from rnnlab.layers.stack import CellKernel, RecurrentStack


def sigmoid(a):
    """Logistic function, written through tanh so it never overflows: s = (1 + tanh(a/2)) / 2."""
    return 0.5 * np.tanh(0.5 * a) + 0.5


def _gate_blocks(m):
    """The column blocks [i, f, g, o] of an (..., 4H) array, as views (..., H)."""
    H = m.shape[-1] // 4
    return m[..., :H], m[..., H : 2 * H], m[..., 2 * H : 3 * H], m[..., 3 * H :]


# ----------------------------------------------------------------------------------------
# one step
# ----------------------------------------------------------------------------------------


def lstm_step_forward(x_t, h_prev, c_prev, W_x, W_h, b, mask=None):
    """One step. x_t (N, D), h_prev (N, H), c_prev (N, H), mask (N, H) or None -> h_t, c_t
    (N, H), cache."""
    H = h_prev.shape[1]
    h_read = h_prev if mask is None else h_prev * mask  # what the recurrent product reads
    a = x_t @ W_x + h_read @ W_h + b  # (N, 4H)
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H : 2 * H])
    g = np.tanh(a[:, 2 * H : 3 * H])
    o = sigmoid(a[:, 3 * H :])
    c_t = f * c_prev + i * g
    tanh_c = np.tanh(c_t)
    h_t = o * tanh_c
    return h_t, c_t, (x_t, h_prev, c_prev, i, f, g, o, tanh_c, W_x, W_h, mask)


def lstm_step_backward(dh_t, dc_carry, cache):
    """Back through one step. dh_t (N, H) the whole gradient on h_t, dc_carry (N, H) what
    step t+1 sent back to c_t -> dx_t, dh_prev, dc_prev, dW_x, dW_h, db."""
    x_t, h_prev, c_prev, i, f, g, o, tanh_c, W_x, W_h, mask = cache
    h_read = h_prev if mask is None else h_prev * mask
    do = dh_t * tanh_c  # back through h = o * tanh(c)
    dc_t = dc_carry + dh_t * o * (1 - tanh_c**2)  # c_t feeds c_{t+1} and h_t
    di, dg, df = dc_t * g, dc_t * i, dc_t * c_prev  # back through c = f c_prev + i g
    dc_prev = dc_t * f
    da = np.concatenate(
        [di * i * (1 - i), df * f * (1 - f), dg * (1 - g**2), do * o * (1 - o)], axis=1
    )
    dx_t = da @ W_x.T
    dh_prev = da @ W_h.T  # back through (h_{t-1} * m) W_h ...
    if mask is not None:
        dh_prev *= mask  # ... and through h_{t-1} * m
    return dx_t, dh_prev, dc_prev, x_t.T @ da, h_read.T @ da, da.sum(axis=0)


# ----------------------------------------------------------------------------------------
# a whole sequence
# ----------------------------------------------------------------------------------------


@dataclass
class LSTMCache:
    """What the forward pass computed, stacked over time (time-major, sorted rows).

    gates (T, N, 4H) holds the activations [i f g o] (views: ``i``, ``f``, ``g``, ``o``),
    c (T, N, H) the cell states c_1..c_T, tanh_c (T, N, H), h (T, N, H) = h_1..h_T; all zero
    past each sequence's end. x (T, N, D), h0 and c0 (N, H), the weights as used,
    batch_sizes (T,) or None, and the recurrent dropout mask (N, H) or None.
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
    mask: np.ndarray | None = None

    @property
    def i(self):
        return _gate_blocks(self.gates)[0]

    @property
    def f(self):
        return _gate_blocks(self.gates)[1]

    @property
    def g(self):
        return _gate_blocks(self.gates)[2]

    @property
    def o(self):
        return _gate_blocks(self.gates)[3]

    def step(self, t):
        """The cache ``lstm_step_forward`` returned at step t, read back from the record
        (full-length batches: every row ran step t)."""
        h_prev = self.h[t - 1] if t > 0 else self.h0
        c_prev = self.c[t - 1] if t > 0 else self.c0
        i, f, g, o = _gate_blocks(self.gates[t])
        return self.x[t], h_prev, c_prev, i, f, g, o, self.tanh_c[t], self.W_x, self.W_h, self.mask


def lstm_forward(x, h0, c0, W_x, W_h, b, batch_sizes=None, mask=None):
    """Run the cell over a time-major batch.

    x (T, N, D), h0, c0 (N, H) -> h (T, N, H), (h_T, c_T) each row's state at its own last
    step, cache. With ``batch_sizes`` (T,) only the first batch_sizes[t] rows run at step t.
    With ``mask`` (N, H) the recurrent product reads h_{t-1} * mask (recurrent dropout).
    """
    T, N, _ = x.shape
    H = W_h.shape[0]
    # sigmoid(a) = (1 + tanh(a/2)) / 2. Halving the i, f, o columns of the pre-activation
    # (exact in floating point) lets a single tanh per step serve all four gates; the halving
    # goes on the weights once for long sequences, on each product for a step or two
    # (generation, decoding): the same bits either way (``sigmoid_scale.py``).
    half = column_scale(H, "ssts", W_h.dtype)
    # (x_t W_x + b) * half for every step at once, and what the recurrent product multiplies
    a_half, W_h_read, scale_products = scaled_input_projection(x, W_x, b, W_h, half)
    gates = a_half  # the same memory: step t overwrites its rows with [i f g o]
    c = np.empty((T, N, H), dtype=gates.dtype)
    tanh_c = np.empty_like(c)
    h = np.empty_like(c)
    recurrent = np.empty((N, 4 * H), dtype=gates.dtype)
    ig = np.empty((N, H), dtype=gates.dtype)
    h_read = None if mask is None else np.empty((N, H), dtype=gates.dtype)  # h_{t-1} * mask
    shift = 1 - half  # 1/2 on the i, f, o columns, 0 on g
    sizes = step_sizes(batch_sizes, T, N)
    h_prev, c_prev = h0, c0
    for t in range(T):
        n = sizes[t]
        if n == 0:
            for buffer in (gates, c, tanh_c, h):
                buffer[t:] = 0
            break
        a_half_t = a_half[t, :n]
        if mask is None:
            np.matmul(h_prev[:n], W_h_read, out=recurrent[:n])
        else:
            np.multiply(h_prev[:n], mask[:n], out=h_read[:n])
            np.matmul(h_read[:n], W_h_read, out=recurrent[:n])
        if scale_products:
            recurrent[:n] *= half
        a_half_t += recurrent[:n]  # a_t * half: a/2 on the i, f, o columns, a_g as it is
        # [i f g o], built in a_half_t's memory: g = tanh(a_g), and on the i, f, o columns
        # tanh(a/2) / 2 + 1/2 = sigmoid(a)
        gates_t = np.tanh(a_half_t, out=a_half_t)
        gates_t *= half
        gates_t += shift
        i, f = gates_t[:, :H], gates_t[:, H : 2 * H]
        g, o = gates_t[:, 2 * H : 3 * H], gates_t[:, 3 * H :]
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
    cache = LSTMCache(x, h0, c0, gates, c, tanh_c, h, W_x, W_h, batch_sizes, mask)
    return h, (h_T, c_T), cache


def lstm_backward(dh, dh_T, dc_T, cache):
    """BPTT. dh (T, N, H) on every output; dh_T, dc_T (N, H) on the final state.

    Returns dx (T, N, D), dh0 (N, H), dc0 (N, H), (dW_x, dW_h, db).
    """
    x, gates, c, tanh_c, h = cache.x, cache.gates, cache.c, cache.tanh_c, cache.h
    T, N, D = x.shape
    H = h.shape[2]
    sizes = step_sizes(cache.batch_sizes, T, N)
    # da (T, N, 4H), the gradient on the pre-activations: step t fills its rows, first with
    # d[i f g o] (the gradient on the activations), then, in place, with da_t
    da = np.zeros_like(gates) if cache.batch_sizes is not None else np.empty_like(gates)
    W_h_T = np.ascontiguousarray(cache.W_h.T)
    # per-step buffers; the local derivatives d[i f g o]/da_t are computed step by step from
    # the gates while the step's rows are in cache (cheaper than (T, N, 4H) passes beforehand)
    gate_derivative = np.empty((N, 4 * H), dtype=gates.dtype)
    dc_from_h_buffer = np.empty((N, H), dtype=h.dtype)
    # The gradients carried back between steps. Before step t they hold what reaches h_t and
    # c_t from step t+1 (dh_T, dc_T for the last step, and for rows that have not started,
    # t >= length); step t then overwrites its rows with what it sends back to h_{t-1}, c_{t-1}.
    # Below, each result is named for what it is and written over an input not read again.
    dh_carry = dh_T.astype(h.dtype, copy=True)
    dc_carry = dc_T.astype(h.dtype, copy=True)
    for t in range(T - 1, -1, -1):
        n = sizes[t]
        if n == 0:
            continue
        gates_t = gates[t, :n]  # the activations [i f g o]
        i, f = gates_t[:, :H], gates_t[:, H : 2 * H]
        g, o = gates_t[:, 2 * H : 3 * H], gates_t[:, 3 * H :]
        c_prev = c[t - 1, :n] if t > 0 else cache.c0[:n]
        tanh_c_t, dc_from_h = tanh_c[t, :n], dc_from_h_buffer[:n]
        dgates_t = da[t, :n]  # d[i f g o] first; these rows of da take da_t below
        di, df = dgates_t[:, :H], dgates_t[:, H : 2 * H]
        dg, do = dgates_t[:, 2 * H : 3 * H], dgates_t[:, 3 * H :]
        dh_next = dh_carry[:n]  # what step t+1 sent back to h_t
        dh_t = np.add(dh_next, dh[t, :n], out=dh_next)  # h_t feeds its output and step t+1
        np.multiply(dh_t, tanh_c_t, out=do)  # back through h_t = o * tanh(c_t)
        # back through h_t = o * tanh(c_t) to c_t: dc_from_h = dh_t * o * (1 - tanh(c_t)^2)
        np.multiply(tanh_c_t, tanh_c_t, out=dc_from_h)  # built in place, right to left
        np.subtract(1, dc_from_h, out=dc_from_h)
        dc_from_h *= o
        dc_from_h *= dh_t
        dc_next = dc_carry[:n]  # what step t+1 sent back to c_t
        dc_t = np.add(dc_next, dc_from_h, out=dc_next)  # c_t feeds c_{t+1} and h_t
        np.multiply(dc_t, g, out=di)  # back through c_t = f * c_{t-1} + i * g
        np.multiply(dc_t, i, out=dg)
        np.multiply(dc_t, c_prev, out=df)
        dc_prev = dc_t  # the carry's rows take what step t sends back to c_{t-1}
        np.multiply(dc_t, f, out=dc_prev)
        local = gate_derivative[:n]  # built in place: s (1 - s) for i, f, o; 1 - g^2 for g
        np.subtract(1, gates_t, out=local)
        local *= gates_t
        local_g = local[:, 2 * H : 3 * H]
        np.multiply(g, g, out=local_g)
        np.subtract(1, local_g, out=local_g)
        da_t = np.multiply(dgates_t, local, out=dgates_t)  # back through the sigmoids, tanh
        dh_prev = dh_t  # the carry's rows take what step t sends back to h_{t-1}
        np.matmul(da_t, W_h_T, out=dh_prev)  # back through h_{t-1} W_h
        if cache.mask is not None:
            dh_prev *= cache.mask[:n]  # ... read as h_{t-1} * mask
    dh0, dc0 = dh_carry, dc_carry  # after step 0, what reaches h_0 and c_0
    da_rows = da.reshape(T * N, 4 * H)
    dx = (da_rows @ cache.W_x.T).reshape(T, N, D)
    # BPTT for shared weights: the gradient of W_x, W_h, b is the SUM over time of the
    # per-step gradients x_t^T da_t, h_{t-1}^T da_t, sum_n da_t. Each GEMM over the stacked
    # N*T rows of all steps IS that sum: x^T da over (T*N, D) x (T*N, 4H) adds x_t^T da_t for
    # every t. For W_h the step inputs h_{t-1} are h0 for step 0 and h[:-1] (the outputs
    # shifted by one step) for the others, times the mask when there is one; rows past a
    # sequence's end have da = 0.
    dW_x = x.reshape(T * N, D).T @ da_rows
    mask = cache.mask
    dW_h = (cache.h0 if mask is None else cache.h0 * mask).T @ da[0]
    if T > 1:
        h_read = h[:-1] if mask is None else h[:-1] * mask
        dW_h += h_read.reshape(-1, H).T @ da[1:].reshape(-1, 4 * H)
    db = da_rows.sum(axis=0)
    return dx, dh0, dc0, (dW_x, dW_h, db)


# ----------------------------------------------------------------------------------------
# the same sequence, as the lecture writes it: a loop over the step
# ----------------------------------------------------------------------------------------


def lstm_forward_reference(x, h0, c0, W_x, W_h, b, batch_sizes=None, mask=None):
    """``lstm_forward`` written plainly: ``lstm_step_forward`` at each step, in order.

    Same arguments and returns: x (T, N, D), h0, c0 (N, H) -> h (T, N, H), (h_T, c_T), the
    same ``LSTMCache``. Full-length batches only: ``batch_sizes`` must be None (ValueError
    otherwise), because rows that stop early would hide the loop behind slicing.
    """
    if batch_sizes is not None:
        raise ValueError(
            "lstm_forward_reference takes full-length batches only: batch_sizes must be None "
            "(lstm_forward runs packed batches)"
        )
    h_t, c_t, hs, cs, gates, tanh_cs = h0, c0, [], [], [], []
    for x_t in x:
        h_t, c_t, step = lstm_step_forward(x_t, h_t, c_t, W_x, W_h, b, mask)
        _, _, _, i, f, g, o, tanh_c_t, _, _, _ = step  # the record keeps these: see LSTMCache.step
        hs.append(h_t)
        cs.append(c_t)
        gates.append(np.concatenate([i, f, g, o], axis=1))
        tanh_cs.append(tanh_c_t)
    h, c, tanh_c = np.stack(hs), np.stack(cs), np.stack(tanh_cs)
    return h, (h_t, c_t), LSTMCache(x, h0, c0, np.stack(gates), c, tanh_c, h, W_x, W_h, None, mask)


def lstm_backward_reference(dh, dh_T, dc_T, cache):
    """``lstm_backward`` written plainly: ``lstm_step_backward`` from the last step to the first.

    Same arguments and returns: dh (T, N, H), dh_T, dc_T (N, H), an ``LSTMCache`` from either
    forward -> dx (T, N, D), dh0, dc0 (N, H), (dW_x, dW_h, db). Full-length batches only
    (``cache.batch_sizes`` None, ValueError otherwise).
    """
    if cache.batch_sizes is not None:
        raise ValueError(
            "lstm_backward_reference takes full-length batches only: cache.batch_sizes must be "
            "None (lstm_backward runs packed batches)"
        )
    dx = np.zeros_like(cache.x)
    dW_x, dW_h = np.zeros_like(cache.W_x), np.zeros_like(cache.W_h)
    db = np.zeros(cache.W_h.shape[1], dtype=cache.W_h.dtype)
    dh_carry, dc_carry = dh_T, dc_T  # what reaches h_t, c_t from step t+1 (or the final state)
    for t in reversed(range(len(cache.x))):
        dh_t = dh[t] + dh_carry  # h_t feeds its own output and step t+1
        step = cache.step(t)
        dx[t], dh_prev, dc_prev, dW_x_t, dW_h_t, db_t = lstm_step_backward(dh_t, dc_carry, step)
        # The weights are shared by every step, so each one's gradient is the SUM over
        # time of its per-step gradients: the central fact of BPTT.
        dW_x += dW_x_t
        dW_h += dW_h_t
        db += db_t
        dh_carry, dc_carry = dh_prev, dc_prev  # carried back into step t-1
    return dx, dh_carry, dc_carry, (dW_x, dW_h, db)


# ----------------------------------------------------------------------------------------
# the layer
# ----------------------------------------------------------------------------------------


def _forward(x, state0, weights, batch_sizes, mask):
    h0, c0 = state0
    h, state_T, cache = lstm_forward(x, h0, c0, *weights, batch_sizes, mask)
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

    ``recurrent_dropout`` p: while training (``forward(..., rng=rng)``) one mask per sequence,
    layer and direction on h_{t-1} in the recurrent product (see ``layers/stack.py``).
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
        recurrent_dropout: float = 0.0,
    ):
        self.forget_bias = float(forget_bias)
        super().__init__(KERNEL, input_size, hidden_size, num_layers, bidirectional, rng, dtype,
                         recurrent_dropout)

    def _init_direction(self, rng, input_size, hidden_size):
        H = hidden_size
        b = np.zeros(4 * H)
        b[H : 2 * H] = self.forget_bias
        return {
            "W_x": init.glorot_uniform(rng, (input_size, 4 * H), fan_out=H),
            "W_h": np.concatenate([init.orthogonal(rng, (H, H)) for _ in range(4)], axis=1),
            "b": b,
        }
