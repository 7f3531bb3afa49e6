"""Time rnnlab's LSTM, GRU and RNN layers against torch.nn.LSTM / nn.GRU / nn.RNN on the same data.

For each shape (T, N, D, H) it times, in float32:
  * train: forward + backward of every gradient (input, initial state, all parameters)
  * infer: forward only (torch under no_grad)
and prints the median time per call and the ratio ours / torch. torch is optional: without
it only our times are printed. torch runs with 2 threads, its default CPU backend.

For the LSTM it also times the GEMM floor: only the matrix products our kernels perform for
one training step (the input projection of all steps, T recurrent products forward, T
dh products backward, then dx, dW_x and dW_h over all N*T rows), on the same BLAS, with no
elementwise work at all. No implementation built on these NumPy products can train faster
than that, so floor / torch is the best ratio within reach of this BLAS on this machine.

    python benchmarks/bench_layers.py                 # all shapes, LSTM, GRU and RNN
    python benchmarks/bench_layers.py --cell gru --repeat 5 --json out.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

from rnnlab import GRU, LSTM, RNN
from rnnlab.memory import keep_freed_memory

SHAPES = [(50, 32, 64, 128), (100, 64, 256, 256), (35, 20, 650, 650), (200, 1, 32, 64), (20, 256, 128, 512)]
CELLS = {"lstm": LSTM, "gru": GRU, "rnn": RNN}


def median_seconds(fn, repeat: int, min_time: float = 0.2) -> float:
    """Median wall time of fn() over `repeat` rounds, each round long enough to time."""
    fn()  # warm up (allocations, BLAS threads)
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    inner = max(1, int(min_time / max(once, 1e-6)))
    rounds = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        rounds.append((time.perf_counter() - start) / inner)
    return float(np.median(rounds))


def ours(cell: str, T, N, D, H, x, dout):
    layer = CELLS[cell](D, H, rng=np.random.default_rng(0))

    def train():
        out, _, cache = layer.forward(x)
        layer.backward(dout, None, cache)

    def infer():
        layer.forward(x)

    return train, infer


def lstm_gemm_floor(T, N, D, H):
    """The matrix products of one LSTM training step, exactly as the kernels issue them."""
    rng = np.random.default_rng(2)
    f32 = np.float32
    x = rng.standard_normal((T * N, D)).astype(f32)
    W_x, W_h = rng.standard_normal((D, 4 * H)).astype(f32), rng.standard_normal((H, 4 * H)).astype(f32)
    W_h_T = np.ascontiguousarray(W_h.T)
    h = rng.standard_normal((T, N, H)).astype(f32)
    da = rng.standard_normal((T, N, 4 * H)).astype(f32)
    recurrent, dh = np.empty((N, 4 * H), f32), np.empty((N, H), f32)

    def products():
        x @ W_x  # input projection, all steps
        for t in range(T):
            np.matmul(h[t], W_h, out=recurrent)  # h_{t-1} W_h
        for t in range(T):
            np.matmul(da[t], W_h_T, out=dh)  # dh_{t-1} = da_t W_h^T
        rows = da.reshape(T * N, 4 * H)
        rows @ W_x.T  # dx
        x.T @ rows  # dW_x
        h[:-1].reshape(-1, H).T @ da[1:].reshape(-1, 4 * H)  # dW_h
        h[0].T @ da[0]

    return products


def torch_fns(torch, cell: str, T, N, D, H, x, dout):
    module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell](D, H, batch_first=True)
    xt = torch.from_numpy(x).requires_grad_(True)
    doutt = torch.from_numpy(dout)

    def train():
        module.zero_grad(set_to_none=True)
        xt.grad = None
        out, _ = module(xt)
        out.backward(doutt)

    def infer():
        with torch.no_grad():
            module(xt)

    return train, infer


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cell", choices=[*CELLS, "all"], default="all")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    # the same allocator setting for both implementations: freed blocks are reused warm
    allocator = "glibc heap, no trim" if keep_freed_memory() else "default allocator"
    try:
        import torch

        torch.set_num_threads(2)
    except ImportError:
        torch = None
        print("torch not installed: printing rnnlab's times only")

    print(f"numpy {np.__version__}" + (f", torch {torch.__version__}" if torch else "") +
          f", {platform.processor() or platform.machine()}, float32, median of {args.repeat}, {allocator}")
    header = (f"{'cell':5} {'T,N,D,H':>18} {'train ms':>9} {'torch':>9} {'ratio':>6}   {'infer ms':>9} "
              f"{'torch':>9} {'ratio':>6}   {'GEMM floor ms':>13} {'floor/torch':>11}")
    print(header)
    print("-" * len(header))
    rows = []
    cells = list(CELLS) if args.cell == "all" else [args.cell]
    for cell in cells:
        for T, N, D, H in SHAPES:
            rng = np.random.default_rng(1)
            x = rng.standard_normal((N, T, D)).astype(np.float32)
            dout = rng.standard_normal((N, T, H)).astype(np.float32)
            train, infer = ours(cell, T, N, D, H, x, dout)
            row = {"cell": cell, "shape": [T, N, D, H],
                   "train_ms": 1e3 * median_seconds(train, args.repeat),
                   "infer_ms": 1e3 * median_seconds(infer, args.repeat)}
            if cell == "lstm":
                row["gemm_floor_ms"] = 1e3 * median_seconds(lstm_gemm_floor(T, N, D, H), args.repeat)
            if torch is not None:
                t_train, t_infer = torch_fns(torch, cell, T, N, D, H, x, dout)
                row["torch_train_ms"] = 1e3 * median_seconds(t_train, args.repeat)
                row["torch_infer_ms"] = 1e3 * median_seconds(t_infer, args.repeat)
            rows.append(row)
            shape = ",".join(map(str, (T, N, D, H)))
            line = f"{cell:5} {shape:>18} {row['train_ms']:9.2f}"
            if torch is not None:
                line += f" {row['torch_train_ms']:9.2f} {row['train_ms'] / row['torch_train_ms']:6.2f}"
            else:
                line += f" {'-':>9} {'-':>6}"
            line += f"   {row['infer_ms']:9.2f}"
            if torch is not None:
                line += f" {row['torch_infer_ms']:9.2f} {row['infer_ms'] / row['torch_infer_ms']:6.2f}"
            if "gemm_floor_ms" in row:
                line += f"   {row['gemm_floor_ms']:13.2f}"
                if torch is not None:
                    line += f" {row['gemm_floor_ms'] / row['torch_train_ms']:11.2f}"
            print(line, flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return rows


if __name__ == "__main__":
    main()
