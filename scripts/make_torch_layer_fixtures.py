"""Write PyTorch reference values for ``tests/test_torch_parity_layers.py``: every layer and
loss that is not a recurrent cell (those are in ``make_torch_fixtures.py``).

Regenerate with::

    pip install torch==2.13.0 && python scripts/make_torch_layer_fixtures.py

Each case computes, in float64 with torch, the forward result and, by autograd, the
gradients of ``sum(output * dout)`` (or of the scalar loss) with respect to every input and
parameter, and saves ``tests/fixtures/torch/layers/<case>.npz`` (``allow_pickle=False``):

    linear             torch.nn.Linear on x (N, T, D): weight (M, D), bias, x, dout -> y, dx,
                       grad.weight, grad.bias
    embedding          torch.nn.Embedding(V, E, padding_idx=0) on ids (N, T) with repeated ids
                       and padding: weight, ids, dout -> y, grad.weight (row 0 is zero)
    cross_entropy_2d   F.cross_entropy(logits (N, V), targets) -> loss, dlogits
    cross_entropy_3d   logits (N, T, V) with targets -100 at ignored positions, torch's
                       ignore_index: mean over the counted positions -> loss, dlogits
    mse_mask           mean of (pred - target)^2 over the positions where mask (N, T) is true,
                       broadcast over D; NaN targets at masked-out positions -> loss, dpred
    attention_dot      Luong attention written with torch ops (masked softmax over each
    attention_general  source's own steps, ctx = a h_enc, h_att = tanh([ctx, h_dec] W_c + b_c)),
                       src_lengths (N,): h_dec, h_enc, W_a (general), W_c, b_c, dout -> h_att,
                       a, dh_dec, dh_enc, grad.W_a, grad.W_c, grad.b_c
    pool_mean          mean / max of out (N, T, H) over each sequence's own steps (lengths),
    pool_max           torch masked_fill + mean / amax -> z, dout (gradient on out)

The attention and pooling references are our equations written in torch, so what they
check is our hand-written backward against torch's autograd, and the masking. Everything
random comes from a NumPy generator seeded per case; files are byte-for-byte reproducible.
Sizes all differ (N=3, T=4, D=5, M=2, V=7, E=6, S=2, H=3) so a transposed axis shows.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from make_torch_fixtures import save_npz

OUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "torch" / "layers"
N, T, D, M, V, E, S, H = 3, 4, 5, 2, 7, 6, 2, 3
LENGTHS = [2, 4, 1]  # unsorted, one full, one of length 1


def _t(array: np.ndarray, grad: bool = False) -> torch.Tensor:
    return torch.tensor(array, dtype=torch.float64, requires_grad=grad)


def linear(rng) -> dict:
    layer = torch.nn.Linear(D, M).double()
    with torch.no_grad():
        layer.weight.copy_(_t(rng.standard_normal((M, D))))
        layer.bias.copy_(_t(rng.standard_normal(M)))
    x, dout = _t(rng.standard_normal((N, T, D)), True), rng.standard_normal((N, T, M))
    y = layer(x)
    y.backward(_t(dout))
    return {"weight": layer.weight, "bias": layer.bias, "x": x, "dout": dout, "y": y, "dx": x.grad,
            "grad.weight": layer.weight.grad, "grad.bias": layer.bias.grad}


def embedding(rng) -> dict:
    layer = torch.nn.Embedding(V, E, padding_idx=0).double()
    with torch.no_grad():
        layer.weight.copy_(_t(rng.standard_normal((V, E))))
        layer.weight[0] = 0
    ids = np.array([[3, 1, 3, 0], [6, 6, 6, 2], [1, 0, 0, 0]])  # repeats fan in; 0 is padding
    dout = rng.standard_normal((N, T, E))
    y = layer(torch.tensor(ids))
    y.backward(_t(dout))
    return {"weight": layer.weight, "ids": ids, "dout": dout, "y": y, "grad.weight": layer.weight.grad}


def cross_entropy_2d(rng) -> dict:
    logits, targets = _t(3 * rng.standard_normal((N, V)), True), rng.integers(0, V, size=N)
    loss = F.cross_entropy(logits, torch.tensor(targets))
    loss.backward()
    return {"logits": logits, "targets": targets, "loss": loss, "dlogits": logits.grad}


def cross_entropy_3d(rng) -> dict:
    logits = _t(3 * rng.standard_normal((N, T, V)), True)
    targets = rng.integers(0, V, size=(N, T))
    targets[np.arange(T)[None, :] >= np.array(LENGTHS)[:, None]] = -100  # padding: ignored
    loss = F.cross_entropy(logits.reshape(-1, V), torch.tensor(targets.reshape(-1)), ignore_index=-100)
    loss.backward()
    return {"logits": logits, "targets": targets, "loss": loss, "dlogits": logits.grad}


def mse_mask(rng) -> dict:
    pred, target = _t(rng.standard_normal((N, T, D)), True), rng.standard_normal((N, T, D))
    mask = np.arange(T)[None, :] < np.array(LENGTHS)[:, None]  # (N, T)
    target[~mask] = np.nan  # missing values where nothing is counted
    counted = torch.tensor(np.broadcast_to(mask[:, :, None], (N, T, D)).copy())
    diff = torch.where(counted, pred - torch.nan_to_num(_t(target)), torch.zeros(()))
    loss = (diff**2).sum() / counted.sum()
    loss.backward()
    return {"pred": pred, "target": target, "mask": mask, "loss": loss, "dpred": pred.grad}


def attention(rng, score: str) -> dict:
    h_dec, h_enc = _t(rng.standard_normal((N, S, H)), True), _t(rng.standard_normal((N, T, H)), True)
    W_a = _t(rng.standard_normal((H, H)), True) if score == "general" else None
    W_c, b_c = _t(rng.standard_normal((2 * H, H)), True), _t(rng.standard_normal(H), True)
    dout = rng.standard_normal((N, S, H))
    q = h_dec if W_a is None else h_dec @ W_a
    e = q @ h_enc.transpose(1, 2)  # (N, S, T)
    allowed = torch.tensor(np.arange(T)[None, None, :] < np.array(LENGTHS)[:, None, None])
    a = torch.softmax(e.masked_fill(~allowed, float("-inf")), dim=-1)
    ctx = a @ h_enc
    h_att = torch.tanh(torch.cat([ctx, h_dec], dim=-1) @ W_c + b_c)
    h_att.backward(_t(dout))
    case = {"h_dec": h_dec, "h_enc": h_enc, "src_lengths": np.array(LENGTHS), "W_c": W_c, "b_c": b_c,
            "dout": dout, "h_att": h_att, "a": a, "dh_dec": h_dec.grad, "dh_enc": h_enc.grad,
            "grad.W_c": W_c.grad, "grad.b_c": b_c.grad}
    if W_a is not None:
        case.update({"W_a": W_a, "grad.W_a": W_a.grad})
    return case


def pool(rng, mode: str) -> dict:
    out, dz = _t(rng.standard_normal((N, T, H)), True), rng.standard_normal((N, H))
    valid = torch.tensor(np.arange(T)[None, :, None] < np.array(LENGTHS)[:, None, None])
    if mode == "mean":
        z = torch.where(valid, out, torch.zeros(())).sum(dim=1) / valid.sum(dim=1)
    else:
        z = out.masked_fill(~valid, float("-inf")).amax(dim=1)
    z.backward(_t(dz))
    return {"out": out, "lengths": np.array(LENGTHS), "dz": dz, "z": z, "dout": out.grad}


CASES = {
    "linear": linear, "embedding": embedding, "cross_entropy_2d": cross_entropy_2d,
    "cross_entropy_3d": cross_entropy_3d, "mse_mask": mse_mask,
    "attention_dot": lambda rng: attention(rng, "dot"),
    "attention_general": lambda rng: attention(rng, "general"),
    "pool_mean": lambda rng: pool(rng, "mean"), "pool_max": lambda rng: pool(rng, "max"),
}


def _numpy(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().numpy()
    return np.array(value)  # an owned copy; 0-d stays 0-d


def main() -> None:
    torch.use_deterministic_algorithms(True)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    total = 0
    for name, make in CASES.items():
        seed = zlib.crc32(name.encode())  # stable per case, independent of order
        case = {key: _numpy(value) for key, value in make(np.random.default_rng(seed)).items()}
        case["config"] = np.array(json.dumps({"case": name, "seed": seed}))
        case["torch_version"] = np.array(torch.__version__)
        path = OUT_DIR / f"{name}.npz"
        save_npz(path, case)
        total += path.stat().st_size
        print(f"wrote {path.relative_to(OUT_DIR.parents[3])}  ({len(case)} arrays)")
    print(f"torch {torch.__version__}: {len(CASES)} fixtures, {total / 1024:.1f} KB in total")


if __name__ == "__main__":
    main()
