"""Write PyTorch reference values for ``tests/test_optim.py``.

Regenerate with::

    pip install torch==2.13.0 && python scripts/make_optim_fixtures.py

Each case runs ``torch.optim.SGD`` or ``torch.optim.Adam`` for STEPS steps on two parameters
and writes everything to one ``tests/fixtures/optim/optim_steps.npz`` (loadable with
``allow_pickle=False``):

    param0.W (3, 5), param0.b (5,)        the parameters before the first step (float64)
    grad.<k>.W, grad.<k>.b                the gradient fed at step k = 0..STEPS-1 (float64)
    <case>.after.<k>.W, <case>.after.<k>.b   torch's parameters after step k (case's dtype)
    clip.max_norm, clip.total_norm        torch.nn.utils.clip_grad_norm_ on grad.0 scaled by 10:
    clip.grad.W, clip.grad.b              its input, its returned norm and the grads after
    clip.clipped.W, clip.clipped.b
    config                                JSON: {"steps", "cases": {case: {"optimizer",
                                          "kwargs", "dtype"}}}
    torch_version                         torch.__version__ of the run that wrote the file

The gradients are fixed arrays (not functions of the parameters), so the test can feed the
same ones; weight decay still brings the parameters in. The gradient of b is ~1e-3, the
scale of one case's eps, so putting eps inside or outside the bias-corrected square root
changes the result far beyond the test's tolerance. The file is written byte for byte the
same on every run (fixed zip timestamps).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import torch

STEPS = 6
ROOT = Path(__file__).resolve().parent.parent
OUT_PATH = ROOT / "tests" / "fixtures" / "optim" / "optim_steps.npz"

CASES = {
    "sgd": ("SGD", {"lr": 0.1}, "float64"),
    "sgd_momentum": ("SGD", {"lr": 0.1, "momentum": 0.9}, "float64"),
    "sgd_momentum_wd": ("SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}, "float64"),
    "sgd_nesterov_wd": (
        "SGD",
        {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1},
        "float64",
    ),
    "adam": ("Adam", {"lr": 0.01}, "float64"),
    "adam_wd": (
        "Adam",
        {"lr": 0.02, "betas": [0.8, 0.95], "eps": 1e-3, "weight_decay": 0.1},
        "float64",
    ),
    "adam_wd_float32": ("Adam", {"lr": 0.01, "weight_decay": 0.05}, "float32"),
}


def run_case(optimizer: str, kwargs: dict, dtype: str, params0, grads) -> dict[str, np.ndarray]:
    """Run torch's optimizer; return {"after.<k>.<name>": params after step k}."""
    tdtype = getattr(torch, dtype)
    params = {n: torch.tensor(p, dtype=tdtype, requires_grad=True) for n, p in params0.items()}
    options = dict(kwargs)
    if "betas" in options:
        options["betas"] = tuple(options["betas"])
    opt = getattr(torch.optim, optimizer)(list(params.values()), **options)
    out = {}
    for k, grad in enumerate(grads):
        for name, p in params.items():
            p.grad = torch.tensor(grad[name], dtype=tdtype)
        opt.step()
        for name, p in params.items():
            out[f"after.{k}.{name}"] = p.detach().numpy().copy()
    return out


def run_clip(grads: dict[str, np.ndarray], max_norm: float) -> dict[str, np.ndarray]:
    """torch.nn.utils.clip_grad_norm_ on float64 grads: the returned norm and clipped grads."""
    tensors = {
        n: torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for n, g in grads.items()
    }
    for name, t in tensors.items():
        t.grad = torch.tensor(grads[name])
    total_norm = torch.nn.utils.clip_grad_norm_(list(tensors.values()), max_norm)
    out = {"clip.max_norm": np.array(max_norm), "clip.total_norm": total_norm.detach().numpy()}
    out.update({f"clip.grad.{n}": g for n, g in grads.items()})
    out.update({f"clip.clipped.{n}": t.grad.numpy().copy() for n, t in tensors.items()})
    return out


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like ``np.savez_compressed``, but with a fixed timestamp on every member, so the same
    arrays always give the same bytes."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
            member = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            member.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(member, buffer.getvalue(), compresslevel=9)


def main() -> None:
    rng = np.random.default_rng(20240607)
    params0 = {"W": rng.standard_normal((3, 5)), "b": rng.standard_normal(5)}
    grads = [
        {"W": rng.standard_normal((3, 5)), "b": 1e-3 * rng.standard_normal(5)} for _ in range(STEPS)
    ]
    arrays: dict[str, np.ndarray] = {}
    arrays.update({f"param0.{n}": p for n, p in params0.items()})
    for k, grad in enumerate(grads):
        arrays.update({f"grad.{k}.{n}": g for n, g in grad.items()})
    for case, (optimizer, kwargs, dtype) in CASES.items():
        result = run_case(optimizer, kwargs, dtype, params0, grads)
        arrays.update({f"{case}.{key}": value for key, value in result.items()})
    arrays.update(run_clip({n: 10 * g for n, g in grads[0].items()}, max_norm=2.5))
    config = {
        "steps": STEPS,
        "cases": {
            case: {"optimizer": optimizer, "kwargs": kwargs, "dtype": dtype}
            for case, (optimizer, kwargs, dtype) in CASES.items()
        },
    }
    arrays["config"] = np.array(json.dumps(config, sort_keys=True))
    arrays["torch_version"] = np.array(torch.__version__)
    OUT_PATH.parent.mkdir(parents=True, exist_ok=True)
    save_npz(OUT_PATH, arrays)
    print(f"wrote {OUT_PATH} ({OUT_PATH.stat().st_size} bytes, {len(CASES)} cases)")


if __name__ == "__main__":
    main()
