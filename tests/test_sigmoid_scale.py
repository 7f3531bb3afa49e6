"""The sigmoid gates' 1/2 scale goes on the weights or on each step's product: the same bits.

``layers/sigmoid_scale.py``: the LSTM and GRU kernels scale the weights once for long
sequences and the products for a step of a few rows (generation, decoding), since copying
the weights then costs more than the step. A power-of-two scale commutes with rounding, so
both sides must give every output, state, cached activation and gradient bit for bit.
"""

import numpy as np
import pytest

from rnnlab.layers import gru, lstm, sigmoid_scale
from rnnlab.layers.sigmoid_scale import column_scale, scale_weights

T, N, D, H = 6, 4, 5, 7
BATCH_SIZES = np.array([4, 4, 3, 3, 1, 1])  # sorted lengths 6, 4, 2, 2 as packing.py gives them


def _run(kind, scaled_side, monkeypatch, dtype, batch_sizes, with_mask):
    monkeypatch.setattr(sigmoid_scale, "scale_weights", lambda *shape: scaled_side == "weights")
    rng = np.random.default_rng(7)
    G = 4 if kind == "lstm" else 3

    def draw(*shape):
        return rng.standard_normal(shape).astype(dtype)

    x, h0, W_x, W_h, b = draw(T, N, D), draw(N, H), draw(D, G * H), draw(H, G * H), draw(G * H)
    mask = (rng.random((N, H)) > 0.3).astype(dtype) / 0.7 if with_mask else None
    dh, dh_T = draw(T, N, H), draw(N, H)
    if kind == "lstm":
        c0, dc_T = draw(N, H), draw(N, H)
        h, (h_T, c_T), cache = lstm.lstm_forward(x, h0, c0, W_x, W_h, b, batch_sizes, mask)
        grads = lstm.lstm_backward(dh, dh_T, dc_T, cache)
        arrays = [h, h_T, c_T, cache.gates, cache.c, cache.tanh_c]
    else:
        b_hn = draw(H)
        h, h_T, cache = gru.gru_forward(x, h0, W_x, W_h, b, b_hn, batch_sizes, mask)
        grads = gru.gru_backward(dh, dh_T, cache)
        arrays = [h, h_T, cache.gates, cache.hn]
    flat = [g for item in grads for g in (item if isinstance(item, tuple) else (item,))]
    return arrays + flat


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("packed", [False, True], ids=["full", "packed"])
@pytest.mark.parametrize("with_mask", [False, True], ids=["", "mask"])
def test_scaling_the_weights_or_the_products_gives_the_same_bits(kind, dtype, packed, with_mask, monkeypatch):
    batch_sizes = BATCH_SIZES if packed else None
    on_weights = _run(kind, "weights", monkeypatch, dtype, batch_sizes, with_mask)
    on_products = _run(kind, "products", monkeypatch, dtype, batch_sizes, with_mask)
    assert len(on_weights) == len(on_products) > 5
    for a, b in zip(on_weights, on_products, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_one_step_of_a_few_rows_scales_the_products_a_training_batch_the_weights():
    assert not scale_weights(T=1, N=5, D=64, H=384)  # generation, beam decoding
    assert scale_weights(T=64, N=32, D=64, H=384)  # the shakespeare recipe's batch


def test_column_scale_halves_the_sigmoid_blocks_and_cannot_be_written():
    scale = column_scale(2, "ssts", np.dtype(np.float32))
    assert scale.dtype == np.float32
    assert scale.tolist() == [0.5, 0.5, 0.5, 0.5, 1.0, 1.0, 0.5, 0.5]
    with pytest.raises(ValueError):
        scale[0] = 1.0
