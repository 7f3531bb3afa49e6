"""Inference speed of an exported model under onnxruntime beside rnnlab's, on the same model.

Two cases, each a model built with random weights through its task (as ``load_run``
builds a trained one; speed does not depend on the weights), exported with
``rnnlab.export.export_model`` and run both ways on the same inputs:

  * classify: a word-level text classifier (embedding 64, one LSTM layer of 128, or
    ``--cell``), a padded batch of 64 texts of 10-50 tokens -> class probabilities,
    ``model.logits`` + softmax against the ONNX graph;
  * lm step: a character language model (2 LSTM layers of 256, 65 characters), one
    character of generation with the state handed back, ``model.logits(x, carry)`` against
    one ``session.run`` of the step graph.

The two are timed in alternating rounds (rnnlab first in odd rounds, onnxruntime first in
even ones) with a pause between rounds, so a burst of load from other jobs on a shared
machine falls on both; each round times enough calls to last about ``--round-time``
seconds. Printed: the median time per call over the rounds with its spread, the
interquartile range of the rounds (the lowest and highest rounds are in ``--json``), the
ratio of the medians, and the largest difference between the two outputs. onnxruntime uses its default intra-op threads (the physical cores); NumPy's BLAS
its own default.

    python benchmarks/bench_export.py                       # both cases, 11 rounds
    python benchmarks/bench_export.py --cell gru --rounds 21 --json out.json
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import time

import numpy as np

from rnnlab.data.vocab import Vocab
from rnnlab.export import export_model
from rnnlab.losses import log_softmax
from rnnlab.memory import keep_freed_memory
from rnnlab.train.config import resolve_config
from rnnlab.train.tasks.classify import ClassifyConfig, ClassifyTask
from rnnlab.train.tasks.lm import LanguageModelTask, LMConfig


def per_call(fn, round_time: float) -> float:
    """Seconds per call of fn, over enough calls to last about round_time."""
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-6)
    calls = max(1, int(round_time / once))
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def alternate(ours, theirs, rounds: int, round_time: float, pause: float) -> tuple[list[float], list[float]]:
    """Per-call seconds of each, round by round, the order switching every round."""
    ours(), theirs()  # warm up
    a, b = [], []
    for r in range(rounds):
        if r % 2 == 0:
            a.append(per_call(ours, round_time))
            b.append(per_call(theirs, round_time))
        else:
            b.append(per_call(theirs, round_time))
            a.append(per_call(ours, round_time))
        time.sleep(pause)
    return a, b


def classify_case(cell: str, rng: np.random.Generator):
    V, N = 5000, 64
    config = resolve_config(ClassifyConfig, None, {"train": "synthetic.tsv", "cell": cell, "hidden": 128,
                                                   "embed": 64})
    words = Vocab(["<pad>", "<unk>", *(f"w{i}" for i in range(V - 2))], ["<pad>", "<unk>"])
    meta = {"kind": "text", "labels": Vocab(["neg", "pos"]).to_dict(), "vocab": words.to_dict()}
    task = ClassifyTask(config, meta)
    model = task.build_model(rng)
    lengths = rng.integers(10, 51, size=N)
    x = rng.integers(2, V, size=(N, int(lengths.max())))
    x[np.arange(x.shape[1])[None, :] >= lengths[:, None]] = 0

    def ours():
        return np.exp(log_softmax(model.logits(x, lengths)))

    return f"classify, {cell.upper()} E=64 H=128, N={N}, T=10-50", task, model, ours, {"x": x, "lengths": lengths}


def lm_case(cell: str, rng: np.random.Generator):
    V, L, H = 65, 2, 256
    config = resolve_config(LMConfig, None, {"data": "synthetic.txt", "cell": cell, "hidden": H, "layers": L})
    task = LanguageModelTask(config, {"chars": [chr(32 + i) for i in range(V)]})
    model = task.build_model(rng)
    x, lengths = np.array([[7]]), np.array([1])
    carry = {k: rng.standard_normal(s).astype(np.float32) for k, s in model.carry_shapes(1).items()}
    feeds = {"x": x, "lengths": lengths, **{f"{k}_in": v for k, v in carry.items()}}

    def ours():
        logits, _ = model.logits(x, carry)
        return np.exp(log_softmax(logits))

    return f"lm step, {cell.upper()} {L}x{H}, V={V}, N=1", task, model, ours, feeds


def _spread(ms: list[float]) -> str:
    """median [first quartile - third quartile]"""
    return f"{np.median(ms):7.2f} [{np.percentile(ms, 25):.2f}-{np.percentile(ms, 75):.2f}]"


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cell", choices=["lstm", "gru", "rnn"], default="lstm")
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--round-time", type=float, default=0.5, help="seconds of calls per round (default 0.5)")
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between rounds (default 0.5)")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    import onnxruntime as ort

    keep_freed_memory()  # as the rnnlab command does
    options = ort.SessionOptions()
    print(f"numpy {np.__version__}, onnxruntime {ort.__version__} (intra-op threads: default), "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, float32, "
          f"{args.rounds} alternating rounds of ~{args.round_time} s, {args.pause} s pauses")
    header = f"{'case':42} {'rnnlab ms [IQR]':>22} {'onnxruntime ms [IQR]':>22} {'ratio':>6} {'max |diff|':>10}"
    print(header)
    print("-" * len(header))
    rows = []
    for make in (classify_case, lm_case):
        name, task, model, ours, feeds = make(args.cell, np.random.default_rng(0))
        (graph,) = export_model(task, model).values()
        session = ort.InferenceSession(graph.SerializeToString(), options, providers=["CPUExecutionProvider"])
        theirs = functools.partial(session.run, ["probs"], feeds)
        diff = float(np.abs(ours() - theirs()[0]).max())
        a, b = alternate(ours, theirs, args.rounds, args.round_time, args.pause)
        row = {"case": name, "rnnlab_ms": [1e3 * t for t in a], "onnxruntime_ms": [1e3 * t for t in b],
               "max_abs_diff": diff}
        rows.append(row)
        ma, mb = np.median(row["rnnlab_ms"]), np.median(row["onnxruntime_ms"])
        print(f"{name:42} {_spread(row['rnnlab_ms']):>22} {_spread(row['onnxruntime_ms']):>22} "
              f"{ma / mb:6.2f} {diff:10.1e}", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=2)
    return rows


if __name__ == "__main__":
    main()
