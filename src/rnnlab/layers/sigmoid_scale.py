r"""One tanh for sigmoid gates and candidates alike: the column scale of the pre-activations.

The LSTM and GRU kernels compute every gate of a step with one ``np.tanh`` over the whole
pre-activation row, since

    sigmoid(a) = (1 + tanh(a / 2)) / 2

so the sigmoid gates' columns of a = x W_x + h W_h + b are scaled by 1/2 first and the
candidate's by 1 (``column_scale``). A power-of-two scale is exact in floating point and
commutes with the rounding of sums, so it may go on either side of a product::

    x (W_x * s) + b * s  ==  (x W_x + b) * s        bit for bit (barring subnormals)

``scaled_input_projection`` chooses the cheaper side (``scale_weights``): scaling W_x and W_h costs
(D + H) * G*H multiplies once per call, scaling the products costs G*H per row, T*N rows.
Training runs long sequences (the weights); generation and decoding run one step of a few
rows per call, where copying the weights would cost more than the step itself.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=64)
def column_scale(H: int, blocks: str, dtype) -> np.ndarray:
    """(len(blocks) * H,) read-only: 1/2 on each block marked "s" (sigmoid), 1 on "t" (tanh).

    LSTM [i f g o] is ``column_scale(H, "ssts", dtype)``, GRU [r z n] ``"sst"``."""
    scale = np.repeat(np.array([0.5 if block == "s" else 1.0 for block in blocks], dtype=dtype), H)
    scale.flags.writeable = False
    return scale


def scale_weights(T: int, N: int, D: int, H: int) -> bool:
    """True when scaling the weights (D + H rows) is cheaper than scaling T*N product rows."""
    return T * N >= D + H


def scaled_input_projection(x, W_x, b, W_h, scale):
    """The input side of every step at once, scaled: (x W_x + b) * scale, (T, N, G*H), one
    GEMM over T*N rows; the W_h the steps multiply by; and whether each step's product
    h W_h must still be multiplied by ``scale`` (when the weights were left as they are).

    x (T, N, D), W_x (D, G*H), b (G*H,), W_h (H, G*H), scale (G*H,) from ``column_scale``."""
    T, N, D = x.shape
    rows = x.reshape(T * N, D)
    if scale_weights(T, N, D, W_h.shape[0]):
        a = rows @ (W_x * scale)
        a += b * scale
        return a.reshape(T, N, -1), W_h * scale, False
    a = rows @ W_x
    a += b
    a *= scale
    return a.reshape(T, N, -1), W_h, True
