"""Run under ``mpiexec -n K python tests/mpi_equivalence.py OUT.json`` (tests/test_parallel.py).

For every task, on small real data with its randomness on (dropout, word dropout, state
resets), float64 models take the same steps twice: data-parallel over the K ranks
(``MPIWorkers``), and on each rank alone over the whole batches (``Workers``). Rank 0
writes, per task, the largest difference between the two sets of weights after the steps.
Batch sizes are chosen so that shards are uneven, and one task has a batch smaller than K;
recurrent dropout is on in two of them (one with a GRU).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

from rnnlab.optim import Adam, clip_grad_norm
from rnnlab.train.config import resolve_config
from rnnlab.train.parallel import MPIWorkers, Workers
from rnnlab.train.tasks import task_class

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
STEPS = 6


def _tasks(tmp: Path) -> dict:
    text = tmp / "shakespeare.txt"
    text.write_text((DATA / "tinyshakespeare" / "input.txt").read_text(encoding="utf-8")[:6000], encoding="utf-8")
    blocks = [b for b in (DATA / "ud_english_ewt" / "en_ewt-ud-dev.conllu").read_text(encoding="utf-8").split("\n\n")
              if b.strip()]
    for name, part in (("train", blocks[:60]), ("dev", blocks[60:80]), ("test", blocks[80:100])):
        (tmp / f"{name}.conllu").write_text("\n\n".join(part) + "\n\n", encoding="utf-8")
    pairs = (DATA / "kor_eng_tatoeba" / "kor.txt").read_text(encoding="utf-8").splitlines()[:400]
    (tmp / "pairs.tsv").write_text("\n".join(pairs) + "\n", encoding="utf-8")
    jv = DATA / "japanese_vowels"
    return {
        "classify": {"train": str(jv / "JapaneseVowels_TRAIN.ts"), "test": str(jv / "JapaneseVowels_TEST.ts"),
                     "hidden": 6, "batch_size": 7, "dropout": 0.3},
        "lm": {"data": str(text), "hidden": 8, "embed": 5, "seq_len": 12, "batch_size": 5, "dropout": 0.2,
               "state_reset": 0.3, "recurrent_dropout": 0.2, "cell": "gru"},
        "tag": {"train": str(tmp / "train.conllu"), "dev": str(tmp / "dev.conllu"), "test": str(tmp / "test.conllu"),
                "hidden": 6, "embed": 5, "char_embed": 3, "char_hidden": 3, "batch_size": 9, "dropout": 0.2,
                "word_dropout": 0.5, "recurrent_dropout": 0.3},
        "forecast": {"data": str(DATA / "weather" / "seattle-weather.csv"), "target": "temp_max", "window": 5,
                     "hidden": 6, "batch_size": 1, "dropout": 0.2},  # one row: fewer rows than ranks
        "translate": {"data": str(tmp / "pairs.tsv"), "src_col": 1, "tgt_col": 0, "src_tokens": "char",
                      "test_size": 40, "dev_size": 20, "embed": 6, "hidden": 8, "batch_size": 11, "dropout": 0.3},
    }


def _float64(batch):
    """The batch with its float32 features (series, windows) in float64, as the model."""
    changes = {f.name: getattr(batch, f.name).astype(np.float64) for f in dataclasses.fields(batch)
               if isinstance(getattr(batch, f.name), np.ndarray) and getattr(batch, f.name).dtype == np.float32}
    return dataclasses.replace(batch, **changes)


def _train(task, workers, steps: int) -> dict[str, np.ndarray]:
    model = task.build_model(np.random.default_rng(0), dtype=np.float64)
    optimizer = Adam(lr=0.01)
    batches = task.train_batches(np.random.default_rng([0, 0, 0]))
    rng = np.random.default_rng([0, 0, 1])
    carry = None
    for batch in batches[:steps]:
        _, grads, carry, _ = workers.loss_and_grads(model, _float64(batch), rng, carry, False)
        clip_grad_norm(grads, 1.0)
        optimizer.step(model.params, grads)
    return model.params


def main(out: str) -> None:
    import tempfile

    parallel = MPIWorkers()
    with tempfile.TemporaryDirectory() as tmp:
        options = _tasks(Path(tmp))
        differences = {}
        for name, opts in options.items():
            Task = task_class(name)
            task = Task(resolve_config(Task.Config, None, {**opts, "epochs": 1}))
            task.prepare()
            together = _train(task, parallel, STEPS)
            alone = _train(task, Workers(), STEPS)
            differences[name] = max(float(np.abs(together[k] - alone[k]).max()) for k in alone)
    if parallel.rank == 0:
        Path(out).write_text(json.dumps({"size": parallel.size, "max_difference": differences}))


if __name__ == "__main__":
    main(sys.argv[1])
