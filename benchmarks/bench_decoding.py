"""Generation and decoding speed: what ``rnnlab generate`` and ``rnnlab translate`` feel like.

Two recipes' models, built as ``rnnlab train --recipe NAME`` builds them (seeded weights,
untrained: speed does not depend on what the weights say, only on how many steps run):

* ``shakespeare``: ``task.generate`` (``rnnlab generate``), one character per step at batch 1
  -- against a PyTorch twin of the same model (weights copied, ``bench_tasks.make_twin``)
  sampling the same number of characters the same way (softmax in float64, one draw per
  step) -- microseconds per character.
* ``eng-fra``: ``task.translate_lines`` (``rnnlab translate``) over the dev split's source
  sentences, greedy and beam 5 -- sentences per second. An untrained model rarely says
  <eos>, so most translations run to the decoding limit: a worst case.

Each is timed twice in rnnlab: as it is, and as 0.2.0 ran it -- the LSTM kernel scaling
the sigmoid gates' weights on every call (``layers/sigmoid_scale.py``) and beam search as
the reference (``candidates=every_token, drop_finished=False``: all K V extensions of each
sentence ranked, every row stepped until all are finished), greedy decoding stepping every
row too (``drop_finished=False``) -- so the gains are measured in the same run.
Alternating rounds, a pause before each, median [min-max].

    python benchmarks/bench_decoding.py
    python benchmarks/bench_decoding.py --threads 1 --rounds 3
"""

from __future__ import annotations

import argparse
import time
from contextlib import contextmanager
from functools import partial

import numpy as np
import torch
from bench_tasks import make_twin, recipe_task

from rnnlab.layers import sigmoid_scale
from rnnlab.models import decoding
from rnnlab.threads import blas_threads
from rnnlab.train.tasks import translate


@contextmanager
def as_in_0_2_0():
    """The kernels and decoders as 0.2.0 ran them: the sigmoid scale always on the weights,
    every token of every hypothesis ranked, every row stepped to the end."""
    saved = sigmoid_scale.scale_weights, translate.beam_search, translate.greedy_decode
    sigmoid_scale.scale_weights = lambda *shape: True
    translate.beam_search = partial(decoding.beam_search, candidates=decoding.every_token, drop_finished=False)
    translate.greedy_decode = partial(decoding.greedy_decode, drop_finished=False)
    try:
        yield
    finally:
        sigmoid_scale.scale_weights, translate.beam_search, translate.greedy_decode = saved


def torch_generate(twin, prime_ids: np.ndarray, length: int, generator: torch.Generator) -> None:
    """The twin's ``task.generate``: warm on the prime, then one sampled character per step."""
    with torch.no_grad():
        h, state = twin.rnn(twin.embed(torch.from_numpy(prime_ids)[None]))
        for _ in range(length):
            p = torch.softmax(twin.head(h[0, -1]).double(), 0)
            k = torch.multinomial(p, 1, generator=generator)
            h, state = twin.rnn(twin.embed(k[None]), state)


def timed_rounds(sides: dict, rounds: int, pause: float) -> dict:
    times = {name: [] for name in sides}
    for _ in range(rounds):
        for name, fn in sides.items():
            time.sleep(pause)
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def show(label: str, times: dict, per: float, unit: str, invert: bool = False) -> None:
    """Median [min-max] of each side, per ``per`` units; ratios against the first side."""
    values = {name: (per / np.array(t)) if invert else (np.array(t) / per * 1e6) for name, t in times.items()}
    first = np.median(values[next(iter(values))])
    parts = [f"{name} {np.median(v):8.1f} [{v.min():.1f}-{v.max():.1f}] ({np.median(v) / first:.2f}x)"
             for name, v in values.items()]
    print(f"  {label:22s} {unit:14s} " + "  ".join(parts), flush=True)


def bench_generation(args, threads: int) -> None:
    task, config = recipe_task("shakespeare")
    model = task.build_model(np.random.default_rng(config.seed))
    twin = make_twin(task, model).eval()
    prime = "ROMEO:"
    prime_ids = np.array([task.meta["chars"].index(ch) for ch in prime])
    n = args.chars

    def rnnlab_now():
        task.generate(model, prime, n, 1.0, np.random.default_rng(0))

    def rnnlab_old():
        with as_in_0_2_0():
            task.generate(model, prime, n, 1.0, np.random.default_rng(0))

    sides = {"rnnlab": rnnlab_now, "as in 0.2.0": rnnlab_old,
             "torch": lambda: torch_generate(twin, prime_ids, n, torch.Generator().manual_seed(0))}
    for fn in sides.values():
        fn()  # warm up
    show(f"shakespeare, {threads} thr", timed_rounds(sides, args.rounds, args.pause), n, "us/char")


def bench_translation(args, threads: int) -> None:
    task, config = recipe_task("eng-fra")
    model = task.build_model(np.random.default_rng(config.seed))
    lines = task.splits["dev"].sources[: args.sentences]
    for beam in (1, config.beam):
        def now(beam=beam):
            task.translate_lines(model, lines, beam)

        def old(beam=beam):
            with as_in_0_2_0():
                task.translate_lines(model, lines, beam)

        sides = {"rnnlab": now, "as in 0.2.0": old}
        show(f"eng-fra beam {beam}, {threads} thr", timed_rounds(sides, args.rounds, args.pause),
             len(lines), "sentences/s", invert=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2], metavar="N")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pause", type=float, default=0.3)
    parser.add_argument("--chars", type=int, default=500, help="characters generated per round (default: 500)")
    parser.add_argument("--sentences", type=int, default=400, help="dev sentences translated per round (default: 400)")
    args = parser.parse_args(argv)
    print(f"numpy {np.__version__}, torch {torch.__version__}; median [min-max] of {args.rounds} alternating rounds, "
          f"{args.pause} s pause before each; ratios against the first column")
    for threads in args.threads:
        torch.set_num_threads(threads)
        with blas_threads(threads):
            bench_generation(args, threads)
            bench_translation(args, threads)


if __name__ == "__main__":
    main()
