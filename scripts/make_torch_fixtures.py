"""Write PyTorch reference values for ``tests/test_torch_parity.py``.

Regenerate with::

    pip install torch==2.13.0 && python scripts/make_torch_fixtures.py

Each case runs ``torch.nn.RNN`` (tanh or relu), ``torch.nn.LSTM`` or ``torch.nn.GRU`` in
float64, batch-first,
and saves one ``tests/fixtures/torch/<case>.npz`` (loadable with ``allow_pickle=False``):

    x (N, T, D), lengths (N,) [variable-length cases only], h0 [, c0] (L*dirs, N, H)
    state_dict.<torch name>              the weights torch ran with
    dout (N, T, H*dirs), dh_n [, dc_n]   the upstream gradients fed to backward
    out (N, T, H*dirs), h_n [, c_n]      torch's outputs (padded steps are zero)
    dx, dh0 [, dc0], grad.<torch name>   torch's gradients of sum(out*dout) + sum(h_n*dh_n)
                                         [+ sum(c_n*dc_n)]
    config                               JSON: cell, nonlinearity, num_layers, bidirectional, seed
    torch_version                        torch.__version__ of the run that wrote the file

Variable-length cases go through ``pack_padded_sequence(enforce_sorted=False)`` and
``pad_packed_sequence(total_length=T)``. Everything random (inputs, initial states, weights,
both biases, upstream gradients) comes from a NumPy generator seeded per case, so the
fixtures depend on torch only through what torch computes, and the files are written
byte for byte the same on every run (no zip timestamps), so regenerating with the same torch
leaves git clean. Sizes are all different (N=3, T=5, D=2, H=4) so a transposed or misrouted
axis cannot go unnoticed, yet small enough that the 20 files stay far below 250 KB; both
bias_ih and bias_hh are non-zero, which tests that ours is their sum (and, for the GRU,
that bias_hh's n block is b_hn, kept apart).

Adding a cell only adds cases: every case's seed comes from its own name, so the existing
files come out byte for byte the same.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from pathlib import Path

import numpy as np
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

N, T, D, H = 3, 5, 2, 4
OUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "torch"

# name -> (num_layers, bidirectional, lengths or None). Both lengths are unsorted, and
# sorting them longest-first is a 3-cycle (order [1, 2, 0]), not a swap, so mixing up the
# permutation and its inverse shows. The last case also has no sequence of full length T
# (its final step is padding for every row) and a sequence of length 1.
SHAPES = {
    "single": (1, False, None),
    "lengths": (1, False, [2, 5, 3]),
    "2layers": (2, False, None),
    "bidir": (1, True, None),
    "2layers_bidir_lengths": (2, True, [1, 4, 3]),
}
CELLS = {"rnn_tanh": ("RNN", "tanh"), "rnn_relu": ("RNN", "relu"), "lstm": ("LSTM", ""), "gru": ("GRU", "")}


def make_case(cell: str, nonlinearity: str, num_layers: int, bidirectional: bool, lengths,
              seed: int) -> dict[str, np.ndarray]:
    """Run one torch layer forward and backward; return everything the test needs."""
    rng = np.random.default_rng(seed)
    dirs = 2 if bidirectional else 1
    is_lstm = cell == "LSTM"
    if is_lstm:
        module = torch.nn.LSTM(D, H, num_layers, batch_first=True, bidirectional=bidirectional)
    elif cell == "GRU":
        module = torch.nn.GRU(D, H, num_layers, batch_first=True, bidirectional=bidirectional)
    else:
        module = torch.nn.RNN(D, H, num_layers, nonlinearity=nonlinearity, batch_first=True,
                              bidirectional=bidirectional)
    module = module.double()
    # random weights and non-zero biases, drawn by NumPy (torch's own init is not used)
    state_dict = {
        name: rng.uniform(-0.7, 0.7, size=tuple(p.shape)) for name, p in module.state_dict().items()
    }
    module.load_state_dict({k: torch.from_numpy(v) for k, v in state_dict.items()})

    state_shape = (num_layers * dirs, N, H)
    x = torch.tensor(rng.normal(size=(N, T, D)), requires_grad=True)
    h0 = torch.tensor(rng.normal(scale=0.5, size=state_shape), requires_grad=True)
    c0 = torch.tensor(rng.normal(scale=0.5, size=state_shape), requires_grad=True)
    state0 = (h0, c0) if is_lstm else h0

    if lengths is None:
        out, state_n = module(x, state0)
    else:
        packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=True,
                                      enforce_sorted=False)
        packed_out, state_n = module(packed, state0)
        out, _ = pad_packed_sequence(packed_out, batch_first=True, total_length=T)
    h_n, c_n = state_n if is_lstm else (state_n, None)

    # upstream gradients, non-zero everywhere (padded positions of dout must be ignored)
    dout = rng.normal(size=tuple(out.shape))
    dh_n = rng.normal(size=state_shape)
    dc_n = rng.normal(size=state_shape)
    outputs, upstream = [out, h_n], [dout, dh_n]
    if is_lstm:
        outputs.append(c_n)
        upstream.append(dc_n)
    torch.autograd.backward(outputs, [torch.from_numpy(g) for g in upstream])

    config = {"cell": cell, "nonlinearity": nonlinearity or None, "num_layers": num_layers,
              "bidirectional": bidirectional, "seed": seed}
    case = {
        "config": np.array(json.dumps(config)),
        "torch_version": np.array(torch.__version__),
        "x": x.detach().numpy(),
        "h0": h0.detach().numpy(),
        "dout": dout,
        "dh_n": dh_n,
        "out": out.detach().numpy(),
        "h_n": h_n.detach().numpy(),
        "dx": x.grad.numpy(),
        "dh0": h0.grad.numpy(),
    }
    if lengths is not None:
        case["lengths"] = np.array(lengths, dtype=np.int64)
    if is_lstm:
        case.update(c0=c0.detach().numpy(), dc_n=dc_n, c_n=c_n.detach().numpy(),
                    dc0=c0.grad.numpy())
    for name, p in module.named_parameters():
        case[f"state_dict.{name}"] = state_dict[name]
        case[f"grad.{name}"] = p.grad.numpy()
    return {key: np.array(value) for key, value in case.items()}  # owned copies, 0-d kept 0-d


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like ``np.savez_compressed``, but with a fixed timestamp on every member, so the same
    arrays always give the same bytes."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, array, allow_pickle=False)
            member = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            member.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(member, buffer.getvalue(), compresslevel=9)


def main() -> None:
    torch.use_deterministic_algorithms(True)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    total = 0
    for cell_name, (cell, nonlinearity) in CELLS.items():
        for shape_name, (num_layers, bidirectional, lengths) in SHAPES.items():
            name = f"{cell_name}_{shape_name}"
            seed = zlib.crc32(name.encode())  # stable per case, independent of order
            case = make_case(cell, nonlinearity, num_layers, bidirectional, lengths, seed)
            path = OUT_DIR / f"{name}.npz"
            save_npz(path, case)
            size = path.stat().st_size
            total += size
            print(f"wrote {path.relative_to(OUT_DIR.parents[2])}  ({len(case)} arrays, "
                  f"{size / 1024:.1f} KB)")
    print(f"torch {torch.__version__}: {len(CELLS) * len(SHAPES)} fixtures, "
          f"{total / 1024:.1f} KB in total")


if __name__ == "__main__":
    main()
