r"""The gradient on every hidden state, dL/dh_t, read off by replaying backpropagation.

The layers' backward returns the gradients on the inputs, the initial state and the
weights, not on the states in between. This probe walks back through a forward pass's
cache with the library's own one-step backward (``rnn_step_backward``,
``lstm_step_backward``) and records the running gradient at every step::

    RNN:   dh_{t-1} = (dh_t * phi'(a_t)) W_hh^T
    LSTM:  (dh_{t-1}, dc_{t-1}) = lstm_step_backward(dh_t, dc_t)     dc_{t-1} = dc_t^total * f_t

starting from the gradient the loss puts on the final state (dh_T, and dc_T = 0 for the
LSTM) with no loss on the other outputs -- the many-to-one setting in which the lecture
shows gradients vanishing. The walk ends with the gradient on the initial state, which
``tests/test_tour.py`` checks equals what the layer's backward returns as ``dstate0``.
The running gradients are float64 whatever the layer's dtype, so that a gradient that
vanishes to 1e-40 is still a number.

Shapes: T time, N batch, H hidden. Only one layer and direction, with all sequences of
full length (the cache of ``layer.forward(x)`` without ``lengths``).
"""

from __future__ import annotations

import numpy as np

from rnnlab.layers.lstm import LSTMCache, lstm_step_backward
from rnnlab.layers.rnn import RNNCache, rnn_step_backward


def kernel_cache(stack_cache):
    """The one kernel cache (time-major) of a single-layer, one-direction, full-length batch."""
    if len(stack_cache.caches) != 1 or len(stack_cache.caches[0]) != 1:
        raise ValueError("hidden-state gradients are read from a single-layer, one-direction layer")
    cache = stack_cache.caches[0][0]
    if cache.batch_sizes is not None or stack_cache.layout.order is not None:
        raise ValueError("hidden-state gradients need a batch of full-length sequences (no lengths)")
    return cache


def hidden_state_gradients(cache, dh_T: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """dL/dh_t for t = 0..T (index 0 is the initial state) given dL/dh_T (N, H).

    ``cache`` is an ``RNNCache`` or ``LSTMCache`` (see ``kernel_cache``). Returns dh
    (T + 1, N, H) and, for the LSTM, dc (T + 1, N, H), the total gradient on each cell state
    c_t (through c_{t+1} and through h_t); None for the RNN.
    """
    if not isinstance(cache, (RNNCache, LSTMCache)):
        raise ValueError(f"expected an RNNCache or LSTMCache, got {type(cache).__name__}")
    T = cache.h.shape[0]
    dh = np.empty((T + 1,) + cache.h.shape[1:], dtype=np.float64)
    dh[T] = dh_T
    if isinstance(cache, RNNCache):
        W_xh, W_hh = cache.W_xh.astype(np.float64), cache.W_hh.astype(np.float64)  # once, not per step
        for t in range(T, 0, -1):  # step t computed h_t from h_{t-1} (h_t = cache.h[t - 1])
            h_prev = cache.h[t - 2] if t > 1 else cache.h0
            step = (cache.x[t - 1], h_prev, cache.h[t - 1], W_xh, W_hh, cache.nonlinearity)
            dh[t - 1] = rnn_step_backward(dh[t], step)[1]  # back through h_t = phi(... h_{t-1} W_hh)
        return dh, None
    W_x, W_h = cache.W_x.astype(np.float64), cache.W_h.astype(np.float64)
    dc = np.empty_like(dh)
    dc_next = np.zeros_like(dh[T])  # no loss on c_T itself
    for t in range(T, 0, -1):
        c_prev = cache.c[t - 2] if t > 1 else cache.c0
        h_prev = cache.h[t - 2] if t > 1 else cache.h0
        k = t - 1
        i, f, g, o, tanh_c = cache.i[k], cache.f[k], cache.g[k], cache.o[k], cache.tanh_c[k]
        # total gradient on c_t: from c_{t+1} and through h_t = o tanh(c_t)
        dc[t] = dc_next + dh[t] * o * (1 - tanh_c**2)
        step = (cache.x[k], h_prev, c_prev, i, f, g, o, tanh_c, W_x, W_h)
        _, dh[t - 1], dc_next = lstm_step_backward(dh[t], dc_next, step)[:3]
    dc[0] = dc_next  # c_0 reaches the loss only through c_1
    return dh, dc
