"""Data-parallel training: measured on this machine, projected to many.

    pip install '.[mpi]'
    python benchmarks/bench_parallel.py                 # runs everything below, ~10 minutes

1. Throughput of the recipes' own training steps (shakespeare's LM, ud-ewt's tagger,
   eng-fra's translator; their real first batches) in one process with 2 BLAS threads,
   against ``mpiexec -n 2`` with one thread each, the same global batch; rounds alternate,
   with a pause before each, and the medians are printed with their spread.
2. For the projection: the time of one step on a shard of B / K rows (one thread), for K =
   1, 2, 4, 8, ..., and the bytes one Allreduce moves per step (every parameter in float32,
   plus the loss and the stop flag). A ring all-reduce over K hosts takes
   2 (K - 1) / K x bytes / bandwidth + 2 (K - 1) x latency, so the speed-up on K hosts is

       S(K) = t(B) / (t(B / K) + allreduce(K))

   printed for K = 2, 8, 32, 128 on 10 Gb/s (20 us latency) and 100 Gb/s (5 us) networks,
   with the K at which each recipe's global batch stops scaling (efficiency S / K < 50 %, or
   fewer than one row per host).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

RECIPES = ("shakespeare", "ud-ewt", "eng-fra")
STEPS = 12
NETWORKS = {"10 Gb/s": (10e9 / 8, 20e-6), "100 Gb/s": (100e9 / 8, 5e-6)}
HOSTS = (2, 8, 32, 128)


def _task(name: str):
    from rnnlab.recipes import load
    from rnnlab.train.config import resolve_config
    from rnnlab.train.tasks import task_class

    recipe = load(name)
    Task = task_class(recipe.task)
    task = Task(resolve_config(Task.Config, None, None, base=recipe.options))
    task.prepare()
    return task


def _steps_per_second(task, workers, steps: int = STEPS, rows: int | None = None) -> float:
    """Training steps per second on the task's first batches (optionally cut to ``rows``
    rows): one over the median step time, so one stalled step does not count."""
    from rnnlab.optim import Adam, clip_grad_norm

    model = task.build_model(np.random.default_rng(0))
    optimizer = Adam(lr=1e-3)
    batches = task.train_batches(np.random.default_rng([0, 0, 0]))[: steps + 2]
    if rows is not None:
        batches = [b.rows(0, min(rows, len(b))) for b in batches]
    rng = np.random.default_rng(1)
    carry = None

    def step(batch):
        nonlocal carry
        _, grads, carry, _ = workers.loss_and_grads(model, batch, rng, carry, False)
        clip_grad_norm(grads, 5.0)
        optimizer.step(model.params, grads)

    for batch in batches[:2]:  # warm-up (allocations, the BLAS pool)
        step(batch)
    times = []
    for batch in batches[2:]:
        start = time.perf_counter()
        step(batch)
        times.append(time.perf_counter() - start)
    return 1.0 / float(np.median(times))


def _worker(name: str, out: str) -> None:
    """Under mpiexec: every rank trains its shards; rank 0 writes steps/s."""
    from rnnlab.train.parallel import make_workers

    workers = make_workers()
    speed = _steps_per_second(_task(name), workers)
    if workers.is_root:
        Path(out).write_text(json.dumps(speed))


def _single(name: str, threads: int, out: str, rows: int | None = None) -> None:
    from threadpoolctl import threadpool_limits

    from rnnlab.train.parallel import Workers

    with threadpool_limits(threads, user_api="blas"):
        task = _task(name)
        Path(out).write_text(json.dumps(_steps_per_second(task, Workers(), rows=rows)))


def _run(args: list[str], ranks: int = 1) -> float:
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench_parallel_{os.getpid()}.json"
    command = [sys.executable, __file__, *args, "--result", str(out)]
    if ranks > 1:
        command = [str(Path(sys.executable).parent / "mpiexec"), "-n", str(ranks), *command]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1" if ranks > 1 else "2")
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pause", type=float, default=3.0, help="seconds of rest before each timed run")
    parser.add_argument("--recipes", nargs="*", default=list(RECIPES))
    parser.add_argument("--mode", choices=("main", "worker", "single"), default="main")
    parser.add_argument("--recipe")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rows", type=int)
    parser.add_argument("--result")
    args = parser.parse_args()
    if args.mode == "worker":
        return _worker(args.recipe, args.result)
    if args.mode == "single":
        return _single(args.recipe, args.threads, args.result, args.rows)

    from rnnlab.recipes import load

    print("1. this machine: one process, 2 BLAS threads, against mpiexec -n 2, 1 thread each "
          f"(steps/s, median of {args.rounds} alternated rounds [min-max])")
    print(f"{'recipe':<12} {'1 x 2 threads':>18} {'2 ranks x 1':>18} {'ratio':>6}")
    measured = {}
    for name in args.recipes:
        one, two = [], []
        for _ in range(args.rounds):
            time.sleep(args.pause)
            one.append(_run(["--mode", "single", "--recipe", name, "--threads", "2"]))
            time.sleep(args.pause)
            two.append(_run(["--mode", "worker", "--recipe", name], ranks=2))
        a, b = np.median(one), np.median(two)
        print(f"{name:<12} {a:7.2f} [{min(one):.2f}-{max(one):.2f}] {b:7.2f} [{min(two):.2f}-{max(two):.2f}] "
              f"{b / a:6.2f}")
        measured[name] = (a, b)

    print("\n2. projection to K hosts (ring all-reduce; compute measured on one thread per shard of B / K rows)")
    for name in args.recipes:
        recipe = load(name)
        task = _task(name)
        params = task.parameter_count()
        nbytes = 4 * params + 8
        batch = recipe.options.get("batch_size", 32)
        compute = {}
        for k in (1, 2, 4, 8, 16, 32):
            if batch // k < 1:
                break
            time.sleep(args.pause)
            compute[k] = 1.0 / _run(["--mode", "single", "--recipe", name, "--threads", "1", "--rows", str(batch // k)])
        print(f"\n{name}: {params:,} parameters, {nbytes / 1e6:.2f} MB all-reduced per step, global batch {batch}; "
              f"compute per step on B/K rows: " + ", ".join(f"K={k} {1e3 * t:.1f} ms" for k, t in compute.items()))
        for net, (bandwidth, latency) in NETWORKS.items():
            cells, stop = [], None
            for k in HOSTS:
                known = [q for q in compute if q <= k]  # beyond the last measured K: compute scaled by 1/K
                if batch // k < 1:
                    cells.append(f"K={k}: (fewer rows than hosts)")
                    stop = stop or k
                    continue
                t_shard = compute[max(known)] * (max(known) / k)
                t_comm = 2 * (k - 1) / k * nbytes / bandwidth + 2 * (k - 1) * latency
                speedup = compute[1] / (t_shard + t_comm)
                cells.append(f"K={k}: {speedup:5.1f}x")
                if stop is None and speedup / k < 0.5:
                    stop = k
            print(f"  {net:<9} " + "  ".join(cells) + (f"   stops scaling at K={stop}" if stop else ""))


if __name__ == "__main__":
    main()
