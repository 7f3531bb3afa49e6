"""Would an accelerated backend win on this machine? The two candidates of issue 15, measured.

rnnlab's LSTM step is one recurrent GEMM, h_{t-1} W_h (N, H) x (H, 4H), then elementwise
work over the (N, 4H) pre-activations (``layers/lstm.py``). Issue 15 allows an optional
backend from a well-kept numerical library where it measurably beats the NumPy kernels.
This script measures the two candidates on the recipes' own shapes, each against what the
NumPy kernels do today, alternated in one run with a pause before every round (so that
neither library's idle worker threads hold a core while the other runs):

1. The recurrent GEMM: NumPy's ``np.matmul`` (OpenBLAS) against Intel oneMKL's packed GEMM
   (``cblas_sgemm_pack`` once per sequence, then ``cblas_sgemm_compute`` at every step, the
   trick oneDNN's LSTM uses) and plain ``cblas_sgemm``, from the ``mkl`` wheel through
   ctypes; 1 and 2 threads, each library's threads set to the count (threadpoolctl for
   OpenBLAS, ``MKL_Set_Num_Threads`` for MKL).
2. The elementwise step: the NumPy passes of ``lstm_forward``'s loop (a += h W_h, one tanh
   for all four gates, c_t = f c_{t-1} + i g, h_t = o tanh(c_t)) against the same step
   fused in one numba loop with exact tanh (numba's ``np.tanh``, the C library's), 1 thread.

Needs ``pip install mkl numba`` (neither is a dependency of rnnlab); a missing one is
skipped with a line saying so. Prints median microseconds per call [min-max] of --rounds
rounds and the ratio candidate / NumPy (below 1: the candidate wins).

    python benchmarks/bench_backends.py
    python benchmarks/bench_backends.py --rounds 9 --pause 0.5
"""

from __future__ import annotations

import argparse
import ctypes
import platform
import time
from functools import partial
from importlib import metadata

import numpy as np
from threadpoolctl import threadpool_limits

# (N, H) of the recurrent products in the recipes: shakespeare's LSTM, ud-ewt's sentence
# BiLSTM (one direction), eng-fra's decoder and encoder directions, nsmc's, and a batch of one
RECIPE_SHAPES = {
    "shakespeare": (32, 384),
    "ud-ewt": (32, 256),
    "eng-fra decoder": (64, 256),
    "eng-fra encoder": (64, 128),
    "generation": (1, 384),
}
ROW_MAJOR, NO_TRANS, PACKED, B_MATRIX = 101, 111, 151, 162


def load_mkl():
    """oneMKL's runtime library from the ``mkl`` wheel, or None when it is not installed."""
    try:
        files = metadata.files("mkl") or []
    except metadata.PackageNotFoundError:
        return None
    paths = [f.locate() for f in files if f.name.startswith("libmkl_rt.so")]
    if not paths:
        return None
    mkl = ctypes.CDLL(str(paths[0]))
    mkl.MKL_Set_Interface_Layer(0)  # LP64: MKL_INT is a C int
    c_int, c_float, ptr = ctypes.c_int, ctypes.c_float, ctypes.c_void_p
    mkl.MKL_Set_Num_Threads.argtypes = [c_int]
    mkl.cblas_sgemm_pack_get_size.restype = ctypes.c_size_t
    mkl.cblas_sgemm_pack_get_size.argtypes = [c_int] * 4
    mkl.cblas_sgemm_pack.argtypes = [c_int] * 6 + [c_float, ptr, c_int, ptr]
    mkl.cblas_sgemm_compute.argtypes = [c_int] * 6 + [ptr, c_int, ptr, c_int, c_float, ptr, c_int]
    mkl.cblas_sgemm.argtypes = [c_int] * 6 + [c_float, ptr, c_int, ptr, c_int, c_float, ptr, c_int]
    return mkl


def rounds(candidates: dict, n_rounds: int, pause: float, calls: int) -> dict:
    """Each candidate timed ``n_rounds`` times, alternating; seconds per call per round."""
    times = {name: [] for name in candidates}
    for _ in range(n_rounds):
        for name, (setup, fn) in candidates.items():
            setup()
            fn()  # warm: first call after the pause wakes the threads
            time.sleep(pause)
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            times[name].append((time.perf_counter() - start) / calls)
    return times


def summary(times: list) -> str:
    us = np.array(times) * 1e6
    return f"{np.median(us):8.1f} [{us.min():.0f}-{us.max():.0f}]"


def gemm_rounds(mkl, N: int, H: int, threads: int, args) -> tuple[dict, float]:
    """Seconds per call of each candidate for (N, H) x (H, 4H), and the packed product's error."""
    rng = np.random.default_rng(0)
    K, M = H, 4 * H
    W = rng.standard_normal((K, M)).astype(np.float32)
    A = rng.standard_normal((N, K)).astype(np.float32)
    C = np.empty((N, M), np.float32)
    packed = np.empty(mkl.cblas_sgemm_pack_get_size(B_MATRIX, N, M, K), np.uint8)
    a, w, c, p = A.ctypes.data, W.ctypes.data, C.ctypes.data, packed.ctypes.data

    def use_mkl():  # MKL's thread count, and W packed with it (as the docs ask)
        mkl.MKL_Set_Num_Threads(threads)
        mkl.cblas_sgemm_pack(ROW_MAJOR, B_MATRIX, NO_TRANS, N, M, K, 1.0, w, M, p)

    def packed_product():
        mkl.cblas_sgemm_compute(ROW_MAJOR, NO_TRANS, PACKED, N, M, K, a, K, p, M, 0.0, c, M)

    candidates = {
        "numpy": (lambda: None, lambda: np.matmul(A, W, out=C)),
        "mkl packed": (use_mkl, packed_product),
        "mkl sgemm": (use_mkl, lambda: mkl.cblas_sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, N, M, K, 1.0, a, K, w, M, 0.0, c, M)),
    }
    with threadpool_limits(limits=threads, user_api="blas"):  # OpenBLAS's threads (and MKL's)
        use_mkl()
        packed_product()
        reference = A @ W
        error = float(np.abs(C - reference).max() / np.abs(reference).max())
        return rounds(candidates, args.rounds, args.pause, args.calls), error


def bench_gemm(mkl, args) -> None:
    print("1. the recurrent GEMM (N, H) x (H, 4H), float32, microseconds per call")
    for label, (N, H) in RECIPE_SHAPES.items():
        for threads in args.threads:
            times, error = gemm_rounds(mkl, N, H, threads, args)
            base = np.median(times["numpy"])
            line = "  ".join(f"{name} {summary(t)} ({np.median(t) / base:.2f}x)" for name, t in times.items())
            print(f"  {label:16s} N={N:3d} H={H:3d}  {threads} thr  {line}  packed rel. error {error:.1e}", flush=True)


def bench_elementwise(args) -> None:
    from numba import njit

    @njit(error_model="numpy", boundscheck=False)
    def fused_step(a_half, recurrent, c_prev, c, tanh_c, h):  # pragma: no cover - jitted
        n, H = c.shape
        for r in range(n):
            for j in range(H):
                i = np.tanh(a_half[r, j] + recurrent[r, j]) * 0.5 + 0.5
                f = np.tanh(a_half[r, H + j] + recurrent[r, H + j]) * 0.5 + 0.5
                g = np.tanh(a_half[r, 2 * H + j] + recurrent[r, 2 * H + j])
                o = np.tanh(a_half[r, 3 * H + j] + recurrent[r, 3 * H + j]) * 0.5 + 0.5
                a_half[r, j], a_half[r, H + j], a_half[r, 2 * H + j], a_half[r, 3 * H + j] = i, f, g, o
                c[r, j] = f * c_prev[r, j] + i * g
                tanh_c[r, j] = np.tanh(c[r, j])
                h[r, j] = o * tanh_c[r, j]

    def numpy_step(a_half, recurrent, c_prev, c, tanh_c, h, half, shift, ig):  # lstm_forward's loop
        H = c.shape[1]
        a_half += recurrent
        gates = np.tanh(a_half, out=a_half)
        gates *= half
        gates += shift
        i, f, g, o = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H : 3 * H], gates[:, 3 * H :]
        np.multiply(f, c_prev, out=c)
        np.multiply(i, g, out=ig)
        c += ig
        np.tanh(c, out=tanh_c)
        np.multiply(o, tanh_c, out=h)

    print("2. the LSTM step's elementwise work after the GEMM, float32, 1 thread, microseconds per call")
    rng = np.random.default_rng(0)
    for label, (N, H) in RECIPE_SHAPES.items():
        half = np.full(4 * H, 0.5, np.float32)
        half[2 * H : 3 * H] = 1
        shift = 1 - half
        a0 = (rng.standard_normal((N, 4 * H)) * half).astype(np.float32)
        recurrent = (rng.standard_normal((N, 4 * H)) * half).astype(np.float32)
        c_prev = rng.standard_normal((N, H)).astype(np.float32)
        a_half = a0.copy()
        out = [np.empty((N, H), np.float32) for _ in range(4)]
        out_numba = [np.empty((N, H), np.float32) for _ in range(3)]
        a_numba = a0.copy()
        numpy_step(a_half, recurrent, c_prev, *out[:3], half, shift, out[3])
        fused_step(a_numba, recurrent, c_prev, *out_numba)
        error = float(np.abs(out_numba[2] - out[2]).max())
        candidates = {
            "numpy": (partial(np.copyto, a_half, a0),
                      partial(numpy_step, a_half, recurrent, c_prev, *out[:3], half, shift, out[3])),
            "numba fused": (partial(np.copyto, a_numba, a0), partial(fused_step, a_numba, recurrent, c_prev, *out_numba)),
        }
        with threadpool_limits(limits=1, user_api="blas"):
            times = rounds(candidates, args.rounds, args.pause, args.calls)
        base = np.median(times["numpy"])
        line = "  ".join(f"{name} {summary(t)} ({np.median(t) / base:.2f}x)" for name, t in times.items())
        print(f"  {label:16s} N={N:3d} H={H:3d}  {line}  h max abs diff {error:.1e}", flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2], metavar="N")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200, help="calls per timed round (default: 200)")
    parser.add_argument("--pause", type=float, default=0.3, help="seconds of rest before every round")
    args = parser.parse_args(argv)
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
    print(f"numpy {np.__version__}, {platform.machine()} ({cpu}); median [min-max] of {args.rounds} alternating rounds of {args.calls} calls, {args.pause} s pause before each")
    mkl = load_mkl()
    if mkl is None:
        print("1. skipped: the mkl wheel is not installed (pip install mkl)")
    else:
        print(f"   oneMKL from the mkl {metadata.version('mkl')} wheel")
        bench_gemm(mkl, args)
    try:
        import numba
    except ImportError:
        print("2. skipped: numba is not installed (pip install numba)")
    else:
        print(f"   numba {numba.__version__}")
        bench_elementwise(args)


if __name__ == "__main__":
    main()
