r"""The GRU cell: one update gate z interpolates between keeping h_{t-1} and writing n.

Equations (row-vector form; PyTorch's equations and gate order r, z, n)::

    r   = sigmoid(x_t W_xr + h_{t-1} W_hr + b_r)           reset gate          (N, H) each
    z   = sigmoid(x_t W_xz + h_{t-1} W_hz + b_z)           update gate
    hn  = h_{t-1} W_hn + b_hn                              the recurrent part of n
    n   = tanh(x_t W_xn + b_xn + r * hn)                   candidate
    h_t = (1 - z) * n + z * h_{t-1}                        = n + z * (h_{t-1} - n)

    W_x = [W_xr W_xz W_xn] (D, 3H), W_h = [W_hr W_hz W_hn] (H, 3H), b = [b_r b_z b_xn] (3H),
    b_hn (H). gates = [r z n] (N, 3H) are the activations.

The reset gate multiplies the recurrent product of the n block *after* its bias is added,
so that block needs its own recurrent bias b_hn: PyTorch's bias_hh of the n block, which
cannot be summed into b. For r and z, bias_ih + bias_hh sum into b as in the other cells.

Compared with the LSTM: there is no cell state and no output gate; the state h is carried
on additively through z, which plays the forget and the input gate at once, coupled as
f = z, i = 1 - z.

Backward through one step, given dh_t, the whole gradient on h_t (from its own output and
from step t+1)::

    dn   = dh_t * (1 - z) ;  dz = dh_t * (h_{t-1} - n)      back through h_t = (1-z) n + z h_{t-1}
    da_n = dn * (1 - n^2)                                   back through n = tanh(...)
    dr   = da_n * hn ;  dhn = da_n * r                      back through r * hn
    da_r = dr * r (1 - r) ;  da_z = dz * z (1 - z)          back through the sigmoids
    da_x = [da_r da_z da_n] ;  da_h = [da_r da_z dhn]       the input and recurrent pre-activations
    dx_t     = da_x W_x^T
    dh_{t-1} = dh_t * z + da_h W_h^T                        h_{t-1} feeds h_t directly and via W_h
    dW_x += x_t^T da_x ;  db += sum_n da_x ;  dW_h += h_{t-1}^T da_h ;  db_hn += sum_n dhn

In the code a quantity at t-1 is named ``_prev`` (h_prev, dh_prev).

Recurrent dropout (``layers/stack.py``): with a mask m (N, H), the same at every step, the
recurrent product reads h_{t-1} * m; the direct path z * h_{t-1} carries h_{t-1} itself::

    [a_hr a_hz a_hn] = (h_{t-1} * m) W_h
    dh_{t-1} = dh_t * z + (da_h W_h^T) * m ;  dW_h += (h_{t-1} * m)^T da_h

The central fact of BPTT: the weights are the same at every step, so each one's gradient is
the SUM over time of its per-step gradients (the ``+=`` above). ``gru_backward_reference``
adds them up in its loop over ``gru_step_backward``; ``gru_backward`` computes each sum as
one GEMM over all N*T rows after its loop.

Shapes: N batch, T time, D input, H hidden. The sequence functions are time-major, ``x``
(T, N, D), rows sorted by length when ``batch_sizes`` is given (see ``packing.py``).

Two implementations, held equal by ``tests/test_recurrent_consistency.py``:
``gru_forward_reference`` / ``gru_backward_reference`` are the lecture's loops over the
step functions, full-length batches only; ``gru_forward`` / ``gru_backward`` are the fast
kernels the layer runs. Speed: one GEMM for the input projection of all steps; per step one
recurrent GEMM and elementwise work into preallocated buffers; backward does one GEMM per
step (dh_{t-1}) and dW_x, dW_h, db, db_hn and dx as GEMMs over all N*T rows after the loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnlab import init
from rnnlab.layers.lstm import sigmoid
from rnnlab.layers.packing import last_step_of, step_sizes
from rnnlab.layers.sigmoid_scale import column_scale, scaled_input_projection
from rnnlab.layers.stack import CellKernel, RecurrentStack


def _gate_blocks(m):
    """The column blocks [r, z, n] of an (..., 3H) array, as views (..., H)."""
    H = m.shape[-1] // 3
    return m[..., :H], m[..., H : 2 * H], m[..., 2 * H :]


# ----------------------------------------------------------------------------------------
# one step
# ----------------------------------------------------------------------------------------


def gru_step_forward(x_t, h_prev, W_x, W_h, b, b_hn, mask=None):
    """One step. x_t (N, D), h_prev (N, H), mask (N, H) or None -> h_t (N, H), cache."""
    H = h_prev.shape[1]
    h_read = h_prev if mask is None else h_prev * mask  # what the recurrent product reads
    a_x = x_t @ W_x + b  # (N, 3H) [x W_xr + b_r, x W_xz + b_z, x W_xn + b_xn]
    a_h = h_read @ W_h  # (N, 3H) [h W_hr, h W_hz, h W_hn]
    r = sigmoid(a_x[:, :H] + a_h[:, :H])
    z = sigmoid(a_x[:, H : 2 * H] + a_h[:, H : 2 * H])
    hn = a_h[:, 2 * H :] + b_hn
    n = np.tanh(a_x[:, 2 * H :] + r * hn)
    h_t = (1 - z) * n + z * h_prev
    return h_t, (x_t, h_prev, r, z, n, hn, W_x, W_h, mask)


def gru_step_backward(dh_t, cache):
    """Back through one step. dh_t (N, H) the whole gradient on h_t -> dx_t, dh_prev, dW_x,
    dW_h, db, db_hn."""
    x_t, h_prev, r, z, n, hn, W_x, W_h, mask = cache
    h_read = h_prev if mask is None else h_prev * mask
    dn = dh_t * (1 - z)  # back through h_t = (1 - z) n + z h_{t-1}
    dz = dh_t * (h_prev - n)
    da_n = dn * (1 - n**2)  # back through n = tanh(x W_xn + b_xn + r * hn)
    dr = da_n * hn  # back through r * hn
    dhn = da_n * r
    da_r = dr * r * (1 - r)  # back through the sigmoids
    da_z = dz * z * (1 - z)
    da_x = np.concatenate([da_r, da_z, da_n], axis=1)
    da_h = np.concatenate([da_r, da_z, dhn], axis=1)
    dx_t = da_x @ W_x.T
    dh_recurrent = da_h @ W_h.T  # back through (h_{t-1} * m) W_h ...
    if mask is not None:
        dh_recurrent *= mask  # ... and through h_{t-1} * m
    dh_prev = dh_t * z + dh_recurrent  # h_{t-1} feeds h_t directly and through W_h
    return dx_t, dh_prev, x_t.T @ da_x, h_read.T @ da_h, da_x.sum(axis=0), dhn.sum(axis=0)


# ----------------------------------------------------------------------------------------
# a whole sequence
# ----------------------------------------------------------------------------------------


@dataclass
class GRUCache:
    """What the forward pass computed, stacked over time (time-major, sorted rows).

    gates (T, N, 3H) holds the activations [r z n] (views: ``r``, ``z``, ``n``), hn (T, N, H)
    = h_{t-1} W_hn + b_hn (what r multiplies), h (T, N, H) = h_1..h_T; all zero past each
    sequence's end. x (T, N, D), h0 (N, H), the weights as used, batch_sizes (T,) or None,
    and the recurrent dropout mask (N, H) or None.
    """

    x: np.ndarray
    h0: np.ndarray
    gates: np.ndarray
    hn: np.ndarray
    h: np.ndarray
    W_x: np.ndarray
    W_h: np.ndarray
    batch_sizes: np.ndarray | None
    mask: np.ndarray | None = None

    @property
    def r(self):
        return _gate_blocks(self.gates)[0]

    @property
    def z(self):
        return _gate_blocks(self.gates)[1]

    @property
    def n(self):
        return _gate_blocks(self.gates)[2]

    def step(self, t):
        """The cache ``gru_step_forward`` returned at step t, read back from the record
        (full-length batches: every row ran step t)."""
        h_prev = self.h[t - 1] if t > 0 else self.h0
        r, z, n = _gate_blocks(self.gates[t])
        return self.x[t], h_prev, r, z, n, self.hn[t], self.W_x, self.W_h, self.mask


def gru_forward(x, h0, W_x, W_h, b, b_hn, batch_sizes=None, mask=None):
    """Run the cell over a time-major batch.

    x (T, N, D), h0 (N, H) -> h (T, N, H), h_T (N, H) each row's state at its own last step,
    cache. With ``batch_sizes`` (T,) only the first batch_sizes[t] rows run at step t. With
    ``mask`` (N, H) the recurrent product reads h_{t-1} * mask (recurrent dropout).
    """
    T, N, _ = x.shape
    H = W_h.shape[0]
    # sigmoid(a) = (1 + tanh(a/2)) / 2: halving the r, z columns of the pre-activations (exact
    # in floating point) lets one tanh over 2H columns per step serve both gates; the halving
    # goes on the weights once for long sequences, on each product for a step or two
    # (generation, decoding): the same bits either way (``sigmoid_scale.py``).
    half = column_scale(H, "sst", W_h.dtype)
    # [(x W_xr + b_r)/2, (x W_xz + b_z)/2, x W_xn + b_xn] for every step at once, and what
    # the recurrent product multiplies
    a_x, W_h_read, scale_products = scaled_input_projection(x, W_x, b, W_h, half)
    gates = a_x  # the same memory: step t overwrites its rows with [r z n]
    hn = np.empty((T, N, H), dtype=gates.dtype)
    h = np.empty_like(hn)
    recurrent = np.empty((N, 3 * H), dtype=gates.dtype)
    h_read = None if mask is None else np.empty((N, H), dtype=gates.dtype)  # h_{t-1} * mask
    sizes = step_sizes(batch_sizes, T, N)
    h_prev = h0
    for t in range(T):
        m = sizes[t]  # rows running at step t (``n`` is the candidate here)
        if m == 0:
            for buffer in (gates, hn, h):
                buffer[t:] = 0
            break
        if mask is None:
            np.matmul(h_prev[:m], W_h_read, out=recurrent[:m])
        else:
            np.multiply(h_prev[:m], mask[:m], out=h_read[:m])
            np.matmul(h_read[:m], W_h_read, out=recurrent[:m])
        if scale_products:
            recurrent[:m, : 2 * H] *= 0.5  # the r, z columns; hn stays as it is
        gates_t = gates[t, :m]
        rz = gates_t[:, : 2 * H]
        rz += recurrent[:m, : 2 * H]  # a_r / 2, a_z / 2
        np.tanh(rz, out=rz)  # r, z = tanh(a / 2) / 2 + 1/2 = sigmoid(a), in place
        rz *= 0.5
        rz += 0.5
        r, z, n = gates_t[:, :H], gates_t[:, H : 2 * H], gates_t[:, 2 * H :]
        hn_t = np.add(recurrent[:m, 2 * H :], b_hn, out=hn[t, :m])  # hn = h_{t-1} W_hn + b_hn
        r_hn = np.multiply(r, hn_t, out=recurrent[:m, :H])  # r * hn, in a spent column block
        n += r_hn
        np.tanh(n, out=n)  # n = tanh(x W_xn + b_xn + r * hn)
        h_t = np.subtract(h_prev[:m], n, out=h[t, :m])  # h_t = n + z * (h_{t-1} - n)
        h_t *= z
        h_t += n
        if m < N:  # finished sequences output zeros
            for buffer in (gates, hn, h):
                buffer[t, m:] = 0
        h_prev = h[t]
    h_T = last_step_of(h, batch_sizes)
    return h, h_T, GRUCache(x, h0, gates, hn, h, W_x, W_h, batch_sizes, mask)


def gru_backward(dh, dh_T, cache):
    """BPTT. dh (T, N, H) on every output; dh_T (N, H) on the final state.

    Returns dx (T, N, D), dh0 (N, H), (dW_x, dW_h, db, db_hn).
    """
    x, gates, hn, h, mask = cache.x, cache.gates, cache.hn, cache.h, cache.mask
    T, N, D = x.shape
    H = h.shape[2]
    sizes = step_sizes(cache.batch_sizes, T, N)
    # da_h (T, N, 3H) = [da_r da_z dhn], the gradient on the recurrent pre-activations, and
    # da_n (T, N, H), the n block of the input side's; step t fills its rows
    empty = np.zeros_like if cache.batch_sizes is not None else np.empty_like
    da_h = empty(gates)
    da_n = empty(hn)
    W_h_T = np.ascontiguousarray(cache.W_h.T)
    local_buffer = np.empty((N, H), dtype=h.dtype)  # a node's local derivative, per step
    dh_recurrent_buffer = np.empty((N, H), dtype=h.dtype)
    # The gradient carried back between steps. Before step t it holds what reaches h_t from
    # step t+1 (dh_T for the last step, and for rows that have not started, t >= length);
    # step t then overwrites its rows with what it sends back to h_{t-1}.
    dh_carry = dh_T.astype(h.dtype, copy=True)
    for t in range(T - 1, -1, -1):
        m = sizes[t]  # rows running at step t (``n`` is the candidate here)
        if m == 0:
            continue
        gates_t = gates[t, :m]
        r, z, n = gates_t[:, :H], gates_t[:, H : 2 * H], gates_t[:, 2 * H :]
        h_prev = h[t - 1, :m] if t > 0 else cache.h0[:m]
        da_h_t = da_h[t, :m]
        da_r, da_z, dhn = da_h_t[:, :H], da_h_t[:, H : 2 * H], da_h_t[:, 2 * H :]
        da_n_t = da_n[t, :m]  # dn first; these rows take da_n below
        local = local_buffer[:m]
        dh_next = dh_carry[:m]  # what step t+1 sent back to h_t
        dh_t = np.add(dh_next, dh[t, :m], out=dh_next)  # h_t feeds its output and step t+1
        # back through h_t = (1 - z) n + z h_{t-1}
        np.subtract(h_prev, n, out=da_z)
        da_z *= dh_t  # dz = dh_t * (h_{t-1} - n); times z (1 - z) below
        np.subtract(1, z, out=da_n_t)
        da_n_t *= dh_t  # dn = dh_t * (1 - z)
        np.multiply(n, n, out=local)  # back through n = tanh(...): da_n = dn * (1 - n^2)
        np.subtract(1, local, out=local)
        da_n_t *= local
        np.multiply(da_n_t, hn[t, :m], out=da_r)  # dr = da_n * hn (back through r * hn)
        np.multiply(da_n_t, r, out=dhn)  # dhn = da_n * r
        np.subtract(1, r, out=local)  # back through the sigmoids: da = d * s (1 - s)
        local *= r
        da_r *= local
        np.subtract(1, z, out=local)
        local *= z
        da_z *= local
        dh_recurrent = np.matmul(da_h_t, W_h_T, out=dh_recurrent_buffer[:m])  # back through h_{t-1} W_h
        if mask is not None:
            dh_recurrent *= mask[:m]  # ... read as h_{t-1} * mask
        dh_prev = dh_t  # the carry's rows take what step t sends back to h_{t-1}
        dh_prev *= z  # directly through z * h_{t-1}
        dh_prev += dh_recurrent
    dh0 = dh_carry  # after step 0, what reaches h_0
    # the input side's pre-activations [da_r da_z da_n]
    da_x = np.concatenate([da_h[:, :, : 2 * H], da_n], axis=2)
    da_x_rows = da_x.reshape(T * N, 3 * H)
    dx = (da_x_rows @ cache.W_x.T).reshape(T, N, D)
    # BPTT for shared weights: each GEMM over the stacked N*T rows of all steps IS the sum
    # over time of the per-step gradients. For W_h the step inputs h_{t-1} are h0 for step 0
    # and h[:-1] for the others, times the mask when there is one; rows past a sequence's
    # end have da = 0.
    dW_x = x.reshape(T * N, D).T @ da_x_rows
    dW_h = (cache.h0 if mask is None else cache.h0 * mask).T @ da_h[0]
    if T > 1:
        h_read = h[:-1] if mask is None else h[:-1] * mask
        dW_h += h_read.reshape(-1, H).T @ da_h[1:].reshape(-1, 3 * H)
    db = da_x_rows.sum(axis=0)
    db_hn = da_h[:, :, 2 * H :].sum(axis=(0, 1))
    return dx, dh0, (dW_x, dW_h, db, db_hn)


# ----------------------------------------------------------------------------------------
# the same sequence, as the lecture writes it: a loop over the step
# ----------------------------------------------------------------------------------------


def gru_forward_reference(x, h0, W_x, W_h, b, b_hn, batch_sizes=None, mask=None):
    """``gru_forward`` written plainly: ``gru_step_forward`` at each step, in order.

    Same arguments and returns: x (T, N, D), h0 (N, H) -> h (T, N, H), h_T (N, H), the same
    ``GRUCache``. Full-length batches only: ``batch_sizes`` must be None (ValueError
    otherwise), because rows that stop early would hide the loop behind slicing.
    """
    if batch_sizes is not None:
        raise ValueError(
            "gru_forward_reference takes full-length batches only: batch_sizes must be None "
            "(gru_forward runs packed batches)"
        )
    h_t, hs, gates, hns = h0, [], [], []
    for x_t in x:
        h_t, step = gru_step_forward(x_t, h_t, W_x, W_h, b, b_hn, mask)
        _, _, r, z, n, hn_t, _, _, _ = step  # the record keeps these: see GRUCache.step
        hs.append(h_t)
        gates.append(np.concatenate([r, z, n], axis=1))
        hns.append(hn_t)
    h = np.stack(hs)
    return h, h_t, GRUCache(x, h0, np.stack(gates), np.stack(hns), h, W_x, W_h, None, mask)


def gru_backward_reference(dh, dh_T, cache):
    """``gru_backward`` written plainly: ``gru_step_backward`` from the last step to the first.

    Same arguments and returns: dh (T, N, H), dh_T (N, H), a ``GRUCache`` from either forward
    -> dx (T, N, D), dh0 (N, H), (dW_x, dW_h, db, db_hn). Full-length batches only
    (``cache.batch_sizes`` None, ValueError otherwise).
    """
    if cache.batch_sizes is not None:
        raise ValueError(
            "gru_backward_reference takes full-length batches only: cache.batch_sizes must be "
            "None (gru_backward runs packed batches)"
        )
    dx = np.zeros_like(cache.x)
    dW_x, dW_h = np.zeros_like(cache.W_x), np.zeros_like(cache.W_h)
    db = np.zeros(cache.W_h.shape[1], dtype=cache.W_h.dtype)
    db_hn = np.zeros(cache.W_h.shape[0], dtype=cache.W_h.dtype)
    dh_carry = dh_T  # what reaches h_t from step t+1; for the last step, from the final state
    for t in reversed(range(len(cache.x))):
        dh_t = dh[t] + dh_carry  # h_t feeds its own output and step t+1
        dx[t], dh_prev, dW_x_t, dW_h_t, db_t, db_hn_t = gru_step_backward(dh_t, cache.step(t))
        # The weights are shared by every step, so each one's gradient is the SUM over
        # time of its per-step gradients: the central fact of BPTT.
        dW_x += dW_x_t
        dW_h += dW_h_t
        db += db_t
        db_hn += db_hn_t
        dh_carry = dh_prev  # carried back into step t-1
    return dx, dh_carry, (dW_x, dW_h, db, db_hn)


# ----------------------------------------------------------------------------------------
# the layer
# ----------------------------------------------------------------------------------------


def _forward(x, state0, weights, batch_sizes, mask):
    (h0,) = state0
    h, h_T, cache = gru_forward(x, h0, *weights, batch_sizes, mask)
    return h, (h_T,), cache


def _backward(dh, dstate_T, cache):
    (dh_T,) = dstate_T
    dx, dh0, grads = gru_backward(dh, dh_T, cache)
    return dx, (dh0,), grads


KERNEL = CellKernel(
    param_names=("W_x", "W_h", "b", "b_hn"),
    gate_count=3,
    num_states=1,
    forward=_forward,
    backward=_backward,
)


class GRU(RecurrentStack):
    """GRU layer, stacked and/or bidirectional, batch-first (PyTorch's equations, gates r, z, n).

    Parameters per layer and direction: ``W_x_l{k}`` (D_k, 3H), ``W_h_l{k}`` (H, 3H),
    ``b_l{k}`` (3H,), ``b_hn_l{k}`` (H,), suffix ``_reverse`` for the backward direction.
    D_0 = input_size, D_k = H * num_directions for k > 0. The state is ``h``
    (num_layers * num_directions, N, H). PyTorch's bias_hh is split: its r and z blocks
    sum into b, its n block is b_hn (see the module docstring).

    Initialisation: W_x Glorot-uniform, W_h orthogonal per gate block, b_hn zero, b zero
    except the update-gate block, which starts at ``update_bias`` (0.0 by default, as
    PyTorch's zero-mean initialisation; a positive value makes a fresh GRU keep its state,
    z = sigmoid(update_bias), as the LSTM's forget-gate bias does).

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
        update_bias: float = 0.0,
        recurrent_dropout: float = 0.0,
    ):
        self.update_bias = float(update_bias)
        super().__init__(KERNEL, input_size, hidden_size, num_layers, bidirectional, rng, dtype,
                         recurrent_dropout)

    def _init_direction(self, rng, input_size, hidden_size):
        H = hidden_size
        b = np.zeros(3 * H)
        b[H : 2 * H] = self.update_bias
        return {
            "W_x": init.glorot_uniform(rng, (input_size, 3 * H), fan_out=H),
            "W_h": np.concatenate([init.orthogonal(rng, (H, H)) for _ in range(3)], axis=1),
            "b": b,
            "b_hn": np.zeros(H),
        }
