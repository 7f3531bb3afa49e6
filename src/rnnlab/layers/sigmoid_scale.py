r"""One tanh for sigmoid gates and candidates alike: the column scale of the pre-activations.

The LSTM and GRU kernels compute every gate of a step with one ``np.tanh`` over the whole
pre-activation row, since

    sigmoid(a) = (1 + tanh(a / 2)) / 2

so the sigmoid gates' columns of a = x W_x + h W_h + b are scaled by 1/2 first and the
candidate's by 1 (``column_scale``). A power-of-two scale is exact in floating point and
commutes with the rounding of sums, so it may go on either side of a product::

    x (W_x * s) + b * s  ==  (x W_x + b) * s        bit for bit (barring subnormals)

The kernels choose the cheaper side (``scale_weights``): scaling W_x and W_h costs
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
