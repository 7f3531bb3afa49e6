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


def calibrated(fn, min_time: float = 0.2):
    """fn as a timed round: warmed up, repeated often enough to take about ``min_time``;
    calling the result returns the seconds of one call."""
    fn()  # warm up (allocations, BLAS threads)
    start = time.perf_counter()
    fn()
    inner = max(1, int(min_time / max(time.perf_counter() - start, 1e-6)))

    def one_round() -> float:
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        return (time.perf_counter() - start) / inner

    return one_round


def interleaved(fns: dict, repeat: int, pause: float) -> dict[str, list[float]]:
    """Rounds of every function in turn (A B C A B C ...), each after ``pause`` seconds of rest,
    so that neither implementation always runs right after the other, and OpenBLAS's worker
    threads, which spin for a while after NumPy's last call, have stopped before torch runs."""
    rounds = {name: calibrated(fn) for name, fn in fns.items()}
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, one_round in rounds.items():
            time.sleep(pause)
            times[name].append(one_round())
    return times


def summary(times: list[float]) -> str:
    """median [min-max] in ms."""
    ms = 1e3 * np.asarray(times)
    return f"{np.median(ms):8.2f} [{ms.min():.1f}-{ms.max():.1f}]"


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
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--pause", type=float, default=0.3, help="seconds of rest before every timed round")
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
          f", {platform.processor() or platform.machine()}, float32, median [min-max] of {args.repeat} "
          f"interleaved rounds, {args.pause} s pause before each, {allocator}")
    rows = []
    cells = list(CELLS) if args.cell == "all" else [args.cell]
    for cell in cells:
        for T, N, D, H in SHAPES:
            rng = np.random.default_rng(1)
            x = rng.standard_normal((N, T, D)).astype(np.float32)
            dout = rng.standard_normal((N, T, H)).astype(np.float32)
            train, infer = ours(cell, T, N, D, H, x, dout)
            fns = {"train": train, "infer": infer}
            if torch is not None:
                fns["torch_train"], fns["torch_infer"] = torch_fns(torch, cell, T, N, D, H, x, dout)
            if cell == "lstm":
                fns["gemm_floor"] = lstm_gemm_floor(T, N, D, H)
            times = interleaved(fns, args.repeat, args.pause)
            row = {"cell": cell, "shape": [T, N, D, H], **{f"{k}_ms": 1e3 * float(np.median(v)) for k, v in times.items()},
                   **{f"{k}_rounds_ms": [1e3 * t for t in v] for k, v in times.items()}}
            rows.append(row)
            shape = ",".join(map(str, (T, N, D, H)))
            line = f"{cell:5} {shape:>15}  train {summary(times['train'])}"
            if torch is not None:
                line += f"  torch {summary(times['torch_train'])}  ratio {row['train_ms'] / row['torch_train_ms']:5.2f}"
            line += f" | infer {summary(times['infer'])}"
            if torch is not None:
                line += f"  torch {summary(times['torch_infer'])}  ratio {row['infer_ms'] / row['torch_infer_ms']:5.2f}"
            if "gemm_floor" in times:
                line += f" | GEMM floor {summary(times['gemm_floor'])}"
                if torch is not None:
                    line += f"  floor/torch {row['gemm_floor_ms'] / row['torch_train_ms']:5.2f}"
            print(line, flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return rows


if __name__ == "__main__":
    main()
