r"""The gradient on every hidden state, dL/dh_t, read off by replaying backpropagation.

The layers' backward returns the gradients on the inputs, the initial state and the
weights, not on the states in between. This probe is the reference BPTT loop of
``layers/rnn.py``, ``layers/lstm.py`` and ``layers/gru.py`` (``rnn_backward_reference``,
``lstm_backward_reference``, ``gru_backward_reference``) run with no loss on the outputs
(dh = 0): it walks back through a forward pass's cache with the same one-step backward
(``rnn_step_backward``, ``lstm_step_backward``, ``gru_step_backward``) on the same per-step
caches (``cache.step(t)``), and records the gradient carried back at every step::

    RNN:   dh_{t-1} = (dh_t * phi'(a_t)) W_hh^T
    LSTM:  dh_{t-1}, dc_{t-1} = lstm_step_backward(dh_t, dc_carry)      dc_{t-1} = dc_t * f_t
    GRU:   dh_{t-1} = dh_t * z_t + da_h W_h^T                           (gru_step_backward)

starting from the gradient the loss puts on the final state (dh_T, and dc_T = 0 for the
LSTM) -- the many-to-one setting in which the lecture shows gradients vanishing. The walk
ends with the gradient on the initial state, the reference backward's dh0 (and dc0);
``tests/test_tour.py`` checks every step against the layer's backward. It keeps its own
three-line loop rather than calling the reference, because the reference returns only the
end of the walk, and recording the steps would put a probe inside the lecture's loop.
The running gradients are float64 whatever the layer's dtype, so that a gradient that
vanishes to 1e-40 is still a number.

Shapes: T time, N batch, H hidden. Only one layer and direction, with all sequences of
full length (the cache of ``layer.forward(x)`` without ``lengths``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from rnnlab.layers.gru import GRUCache, gru_step_backward
from rnnlab.layers.lstm import LSTMCache, lstm_step_backward
from rnnlab.layers.rnn import RNNCache, rnn_step_backward

FULL_LENGTH_ONLY = "hidden-state gradients need a batch of full-length sequences (no lengths)"


def kernel_cache(stack_cache):
    """The one kernel cache (time-major) of a single-layer, one-direction, full-length batch."""
    if len(stack_cache.caches) != 1 or len(stack_cache.caches[0]) != 1:
        raise ValueError("hidden-state gradients are read from a single-layer, one-direction layer")
    cache = stack_cache.caches[0][0]
    if cache.batch_sizes is not None or stack_cache.layout.order is not None:
        raise ValueError(FULL_LENGTH_ONLY)
    return cache


def hidden_state_gradients(cache, dh_T: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """dL/dh_t for t = 0..T (index 0 is the initial state) given dL/dh_T (N, H).

    ``cache`` is an ``RNNCache``, ``LSTMCache`` or ``GRUCache`` (see ``kernel_cache``).
    Returns dh (T + 1, N, H) and, for the LSTM, dc (T + 1, N, H), the total gradient on each
    cell state c_t (through c_{t+1} and through h_t); None for the RNN and the GRU.
    """
    if not isinstance(cache, (RNNCache, LSTMCache, GRUCache)):
        raise ValueError(f"expected an RNNCache, LSTMCache or GRUCache, got {type(cache).__name__}")
    if cache.batch_sizes is not None:
        raise ValueError(FULL_LENGTH_ONLY)
    T = cache.h.shape[0]
    dh = np.empty((T + 1,) + cache.h.shape[1:], dtype=np.float64)
    dh[T] = dh_T
    # Step t (0-based, as in the layers) computes state t + 1 from state t: dh[t + 1] is what
    # it receives (no loss on its output), dh[t] what it sends back.
    if isinstance(cache, RNNCache):
        cache = replace(cache, W_xh=cache.W_xh.astype(np.float64), W_hh=cache.W_hh.astype(np.float64))
        for t in reversed(range(T)):
            dh[t] = rnn_step_backward(dh[t + 1], cache.step(t))[1]
        return dh, None
    if isinstance(cache, GRUCache):
        cache = replace(cache, W_x=cache.W_x.astype(np.float64), W_h=cache.W_h.astype(np.float64))
        for t in reversed(range(T)):
            dh[t] = gru_step_backward(dh[t + 1], cache.step(t))[1]
        return dh, None
    cache = replace(cache, W_x=cache.W_x.astype(np.float64), W_h=cache.W_h.astype(np.float64))
    dc = np.empty_like(dh)
    dc[T] = 0  # no loss on c_T itself
    for t in reversed(range(T)):
        _, dh[t], dc[t] = lstm_step_backward(dh[t + 1], dc[t + 1], cache.step(t))[:3]
    # dc[t] so far is what c_t receives from c_{t+1} (for c_0, all it receives); the whole
    # gradient on c_t, t >= 1, also has the part through h_t = o tanh(c_t), which
    # lstm_step_backward adds inside, and is added here for all steps at once
    dc[1:] += dh[1:] * cache.o * (1 - cache.tanh_c**2)
    return dh, dc
