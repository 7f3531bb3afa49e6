"""A short demo: an LSTM learns to remember the first symbol of a sequence.

Many-to-one: ``x`` (N, T, V) one-hot -> LSTM -> h_T -> Linear -> softmax over V symbols,
trained with cross-entropy, BPTT, gradient clipping and Adam, with a progress bar.
The same run with ``--cell rnn`` shows the tanh RNN struggling to carry the symbol.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields

import numpy as np
from tqdm import tqdm

from rnnlab.data.synthetic import first_symbol_recall
from rnnlab.layers.linear import Linear
from rnnlab.layers.lstm import LSTM
from rnnlab.layers.rnn import RNN
from rnnlab.losses import softmax_cross_entropy
from rnnlab.optim import Adam, clip_grad_norm
from rnnlab.options import check_option, option


@dataclass
class DemoConfig:
    cell: str = option("lstm", "recurrent cell", ("lstm", "rnn"))
    length: int = option(30, "symbols per sequence; the first is the one to recall", at_least=1)
    vocab: int = option(8, "number of distinct symbols", at_least=2)
    hidden: int = option(64, "hidden size H", at_least=1)
    steps: int = option(400, "training steps", at_least=1)
    batch_size: int = option(64, "sequences per step", at_least=1)
    lr: float = option(3e-3, "Adam learning rate", above=0.0)
    clip: float = option(1.0, "clip the gradients' global norm to this value", above=0.0)
    seed: int = option(0, "random seed", at_least=0)

    def validate(self) -> None:
        for f in fields(self):
            check_option(f, getattr(self, f.name))


def run_demo(config: DemoConfig, progress: bool = True) -> dict:
    """Train on freshly drawn batches; return the final held-out accuracy and timings."""
    rng = np.random.default_rng(config.seed)
    Cell = LSTM if config.cell == "lstm" else RNN
    recurrent = Cell(config.vocab, config.hidden, rng=rng)
    head = Linear(config.hidden, config.vocab, rng=rng)
    params = {f"rnn.{k}": v for k, v in recurrent.params.items()}
    params.update({f"head.{k}": v for k, v in head.params.items()})
    optimizer = Adam(lr=config.lr)

    def logits_of(x):
        out, state, rnn_cache = recurrent.forward(x)
        h_T = out[:, -1]  # many-to-one: read the last output
        logits, head_cache = head.forward(h_T)
        return logits, (out.shape, rnn_cache, head_cache)

    start = time.perf_counter()
    bar = tqdm(range(config.steps), desc=f"{config.cell} recall-first T={config.length}",
               disable=not progress, unit="step")
    for step in bar:
        x, y = first_symbol_recall(rng, config.batch_size, config.length, config.vocab)
        logits, (out_shape, rnn_cache, head_cache) = logits_of(x)
        loss, dlogits = softmax_cross_entropy(logits, y)
        dh_T, head_grads = head.backward(dlogits, head_cache)
        dout = np.zeros(out_shape, dtype=dh_T.dtype)
        dout[:, -1] = dh_T  # only the last step's output feeds the loss
        _, _, rnn_grads = recurrent.backward(dout, None, rnn_cache)
        grads = {f"rnn.{k}": g for k, g in rnn_grads.items()}
        grads.update({f"head.{k}": g for k, g in head_grads.items()})
        clip_grad_norm(grads, config.clip)
        optimizer.step(params, grads)
        if step % 10 == 0 or step == config.steps - 1:
            accuracy = float((logits.argmax(axis=1) == y).mean())
            elapsed = time.perf_counter() - start
            bar.set_postfix(loss=f"{loss:.3f}", acc=f"{accuracy:.2f}",
                            seq_per_s=f"{(step + 1) * config.batch_size / elapsed:.0f}")
    train_seconds = time.perf_counter() - start

    x, y = first_symbol_recall(np.random.default_rng(config.seed + 1), 1000, config.length, config.vocab)
    logits, _ = logits_of(x)
    accuracy = float((logits.argmax(axis=1) == y).mean())
    return {"accuracy": accuracy, "chance": 1 / config.vocab, "train_seconds": train_seconds}
