"""Every layer and loss besides the recurrent cells computes what PyTorch computes, forward
and backward, to 1e-10 in float64.

The reference values are fixtures written by ``scripts/make_torch_layer_fixtures.py`` (its
docstring says how to regenerate them and what each case holds); torch is not needed to run
these tests. Row-vector form: our W is torch's ``weight`` transposed.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from rnnlab.layers.attention import attention_backward, attention_forward
from rnnlab.layers.embedding import embedding_backward, embedding_forward
from rnnlab.layers.linear import linear_backward, linear_forward
from rnnlab.layers.pooling import pool_backward, pool_forward
from rnnlab.losses import mse, softmax_cross_entropy

FIXTURES = Path(__file__).parent / "fixtures" / "torch" / "layers"
ATOL = 1e-10


@functools.cache
def load(name: str) -> dict[str, np.ndarray]:
    with np.load(FIXTURES / f"{name}.npz", allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def close(ours, theirs, what: str) -> None:
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=ATOL, err_msg=what)


def test_linear_matches_torch_nn_linear():
    case = load("linear")
    y, cache = linear_forward(case["x"], case["weight"].T, case["bias"])
    dx, dW, db = linear_backward(case["dout"], cache)
    close(y, case["y"], "y")
    close(dx, case["dx"], "dx")
    close(dW, case["grad.weight"].T, "dW = grad.weight^T")
    close(db, case["grad.bias"], "db")


def test_embedding_matches_torch_with_repeats_and_padding():
    case = load("embedding")
    y, cache = embedding_forward(case["ids"], case["weight"])
    dE = embedding_backward(case["dout"], cache, padding_idx=0)
    close(y, case["y"], "y")
    close(dE, case["grad.weight"], "dE (repeated ids summed, padding row zero)")
    assert np.all(dE[0] == 0)


@pytest.mark.parametrize("name", ["cross_entropy_2d", "cross_entropy_3d"])
def test_softmax_cross_entropy_matches_torch(name):
    case = load(name)
    loss, dlogits = softmax_cross_entropy(case["logits"], case["targets"], ignore_index=-100)
    close(loss, case["loss"], "loss")
    close(dlogits, case["dlogits"], "dlogits")


def test_cross_entropy_mask_equals_torch_ignore_index():
    case = load("cross_entropy_3d")
    counted = case["targets"] != -100
    loss, dlogits = softmax_cross_entropy(case["logits"], np.where(counted, case["targets"], 0), mask=counted)
    close(loss, case["loss"], "loss")
    close(dlogits, case["dlogits"], "dlogits")


def test_masked_mse_matches_torch():
    case = load("mse_mask")
    loss, dpred = mse(case["pred"], case["target"], mask=case["mask"])
    close(loss, case["loss"], "loss")
    close(dpred, case["dpred"], "dpred")


@pytest.mark.parametrize("name", ["attention_dot", "attention_general"])
def test_luong_attention_matches_torch_autograd(name):
    case = load(name)
    W_a = case.get("W_a")
    h_att, cache = attention_forward(case["h_dec"], case["h_enc"], case["src_lengths"], W_a, case["W_c"],
                                     case["b_c"])
    dh_dec, dh_enc, grads = attention_backward(case["dout"], cache)
    close(h_att, case["h_att"], "h_att")
    close(cache.a, case["a"], "attention weights a (zero past each source's length)")
    close(dh_dec, case["dh_dec"], "dh_dec")
    close(dh_enc, case["dh_enc"], "dh_enc (zero at padded source steps)")
    assert set(grads) == {k.removeprefix("grad.") for k in case if k.startswith("grad.")}
    for key, grad in grads.items():
        close(grad, case[f"grad.{key}"], key)


@pytest.mark.parametrize("mode", ["mean", "max"])
def test_pooling_over_each_sequence_s_own_steps_matches_torch(mode):
    case = load(f"pool_{mode}")
    z, cache = pool_forward(case["out"], case["lengths"], mode)
    dout = pool_backward(case["dz"], cache)
    close(z, case["z"], "z")
    close(dout, case["dout"], "dout (zero at padded steps)")
