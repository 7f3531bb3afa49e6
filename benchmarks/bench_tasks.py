"""Training throughput of three packaged recipes, rnnlab against a PyTorch twin of the same model.

For the char LM ``shakespeare``, the POS tagger ``ud-ewt`` and the translator ``eng-fra`` it
builds the task exactly as ``rnnlab train --recipe NAME`` does (the recipe's options through
``resolve_config``, the task class from the registry, ``task.prepare()``,
``task.build_model(default_rng(seed))``), takes the batches of the trainer's first epoch
(``task.train_batches(default_rng([seed, 0, 0]))``) and times the trainer's step
(``train/loop.py``) made of rnnlab's own public functions, nothing re-implemented::

    loss, grads, carry = model.loss_and_grads(batch, dropout_rng, carry)   forward, loss, BPTT
    clip_grad_norm(grads, clip)                                             global norm
    Adam(lr).step(model.params, grads)                                      fixed lr

``carry`` is the LM's state handed from one batch to the next (stateful truncated BPTT; each
stream restarts from zeros with probability ``state_reset``, drawn inside the step as the
trainer does; it is None at the start of the epoch); the other two tasks carry nothing.

The twin is the same architecture in torch.nn, its weights copied from the rnnlab model
(the LSTMs through their ``torch_state_dict()``; bias_hh stays zero and frozen, so Adam
updates exactly rnnlab's parameters, one bias per gate as rnnlab has):

* LM: nn.Embedding -> dropout -> nn.LSTM from the carried (h, c) (reset per stream with
  probability ``state_reset``) -> dropout -> nn.Linear; mean cross-entropy over every
  character.
* tagger: a character BiLSTM (packed, ``pack_padded_sequence``) over each distinct form of
  the batch, its final states [forward, reverse] gathered per position; word embeddings with
  frequency-based word dropout (p = word_dropout / (word_dropout + count), rnnlab's table);
  dropout([e, f]) -> packed BiLSTM over the sentence -> dropout -> nn.Linear; mean
  cross-entropy over the real words.
* translator: packed BiLSTM encoder (H/2 per direction) -> bridge (per layer, the two
  directions' final h and c side by side) -> packed LSTM decoder from that state, teacher
  forcing -> Luong attention ("general": q = h_dec W_a, masked softmax over each source's own
  steps, tanh([ctx, h_dec] W_c + b_c)) -> dropout -> nn.Linear at the real target positions
  only; mean cross-entropy over them.

with ``torch.optim.Adam`` (rnnlab's lr, betas, eps, weight decay; torch's default for CPU
tensors, which in torch 2.13 is the per-tensor loop, neither foreach nor fused), ``torch.nn.utils.clip_grad_norm_`` with the recipe's ``clip``, and
``nn.Dropout`` with the recipe's probabilities (its masks come from torch's generator, so
they differ from rnnlab's draws; their number and shapes do not). Both read the same batches
in the same order; rnnlab's arrays are turned into tensors once, before anything is timed.

Before timing, the twin is checked: the float32 weights are compared element for element
with rnnlab's, the trainable torch parameters must be exactly the ones mapped from
rnnlab's; then a float64 copy of both models (the same seed) computes the first batch's loss
and every gradient with no dropout (rnnlab with ``rng=None``, torch in ``eval()``; for the LM
also the second batch, from the state the first one left), and they must agree to 1e-6
relative (the loss, and each gradient's largest difference over its largest entry). A task
whose twin disagrees is printed and not timed (exit status 1).

Timing (a shared 2-core machine): for each thread count (``--threads``, default 1 and 2),
NumPy's BLAS is set with ``rnnlab.threads.blas_threads`` (threadpoolctl) and torch with
``torch.set_num_threads``; both models are built afresh from the seed, warmed up with
``--warmup`` steps, then timed in alternating rounds rnnlab, torch, rnnlab, torch, ...
(``--rounds``, default 5), each round ``--steps`` training steps (default 20) on the next
consecutive batches (past the epoch's last batch they wrap round to its first, the LM's
state restarting from zeros) and preceded by ``--pause`` seconds of rest (default 0.3), so
that OpenBLAS's spinning worker threads have stopped before torch runs. Round r of both
sides covers the same batches. Units per second are what ``task.batch_size_in_tokens`` counts,
for both sides: characters/s (LM), words/s (tagger), target tokens/s (translator, the
decoder's steps including <eos>). Printed per task and thread count: rnnlab's median
units/s [min-max] over the rounds, torch's likewise, and the ratio rnnlab / torch as the
MEDIAN OF THE PER-ROUND RATIOS (round r of each side reads the same batches, so each ratio
compares identical work; above 1 rnnlab is faster). ``--json FILE`` writes every round.

    pip install torch==2.13.0                  # the twin; the rnnlab package never imports torch
    python benchmarks/bench_tasks.py           # the three recipes, 1 and 2 threads (several minutes)
    python benchmarks/bench_tasks.py --tasks ud-ewt --threads 2 --rounds 7 --json tasks.json
    python benchmarks/bench_tasks.py --tasks shakespeare --rounds 1 --steps 3 --threads 1   # smoke check

The recipes' datasets are read from the data folder (``$RNNLAB_DATA``, e.g. an offline
mirror, or the user cache; ``rnnlab data get NAME`` fetches one, and a missing one is
fetched as ``rnnlab train --recipe`` would). Every recipe here uses the LSTM; another cell
or ``recurrent_dropout`` > 0 (which nn.LSTM has no counterpart for) is refused.
rnnlab runs on its NumPy kernels, the only ones it has (``bench_backends.py`` says why).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import re
import sys
import time
from types import SimpleNamespace

import numpy as np

from rnnlab import LSTM
from rnnlab.memory import keep_freed_memory
from rnnlab.optim import Adam, clip_grad_norm
from rnnlab.recipes import load as load_recipe
from rnnlab.threads import blas_threads
from rnnlab.train.config import resolve_config
from rnnlab.train.tasks import task_class

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
except ImportError:  # pragma: no cover - the benchmark's one requirement beyond rnnlab
    sys.exit("bench_tasks.py compares rnnlab with a PyTorch twin: pip install torch")

UNITS = {"shakespeare": "chars", "ud-ewt": "words", "eng-fra": "tgt tokens"}
RTOL = 1e-6  # float64 agreement demanded of the twin before it is timed
TORCH_DTYPES = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}


# ----------------------------------------------------------------------------------------
# rnnlab: the task as `rnnlab train --recipe`, the step as the trainer
# ----------------------------------------------------------------------------------------


def recipe_task(name: str):
    """(task, config) built as ``rnnlab train --recipe NAME`` builds them, data prepared."""
    recipe = load_recipe(name)
    Task = task_class(recipe.task)
    config = resolve_config(Task.Config, None, None, base=recipe.options, base_source=f"recipe {name}")
    task = Task(config)
    task.prepare()
    return task, config


def epoch_rngs(seed: int):
    """The trainer's generators of the first epoch (``train/loop.py``: batch order, dropout)."""
    return np.random.default_rng([seed, 0, 0]), np.random.default_rng([seed, 0, 1])


class RnnlabTrainer:
    """The trainer's step (``_Trainer.train_epoch``) with rnnlab's public pieces."""

    def __init__(self, task, config):
        self.model = task.build_model(np.random.default_rng(config.seed))
        self.optimizer = Adam(lr=config.lr)  # lr fixed: the schedule changes it once per epoch
        self.clip = config.clip
        self.rng = epoch_rngs(config.seed)[1]
        self.carry = None

    def step(self, batch) -> float:
        loss, grads, self.carry = self.model.loss_and_grads(batch, self.rng, self.carry)
        if not np.isfinite(loss):
            raise RuntimeError(f"rnnlab's loss became {loss}")
        clip_grad_norm(grads, self.clip)
        self.optimizer.step(self.model.params, grads)
        return float(loss)


# ----------------------------------------------------------------------------------------
# the torch twin
# ----------------------------------------------------------------------------------------


def twin_lstm(layer, dtype) -> nn.LSTM:
    """nn.LSTM with rnnlab's weights (``torch_state_dict``: weight_ih = W_x^T, weight_hh =
    W_h^T, bias_ih = b, bias_hh = 0); bias_hh is frozen, so b is learnt once, as in rnnlab."""
    if not isinstance(layer, LSTM):
        raise SystemExit(f"the torch twin is written for the LSTM, got {type(layer).__name__}")
    if layer.recurrent_dropout:
        raise SystemExit("recurrent_dropout > 0 has no nn.LSTM counterpart; the twin refuses it")
    module = nn.LSTM(layer.input_size, layer.hidden_size, num_layers=layer.num_layers,
                     bidirectional=layer.bidirectional, batch_first=True, dtype=dtype)
    module.load_state_dict({k: torch.from_numpy(v) for k, v in layer.torch_state_dict().items()})
    for name, p in module.named_parameters():
        if name.startswith("bias_hh"):
            p.requires_grad_(False)
    return module


def packed(x, lengths):
    return pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)


class LMTwin(nn.Module):
    """rnnlab.models.charlm.CharLM in torch."""

    def __init__(self, model, dtype):
        super().__init__()
        self.embed = nn.Embedding(*model.params["embed.E"].shape, dtype=dtype)
        self.rnn = twin_lstm(model.rnn, dtype)
        self.head = nn.Linear(*model.params["head.W"].shape, dtype=dtype)
        self.drop = nn.Dropout(model.dropout)
        self.state_reset = model.state_reset

    @staticmethod
    def tensors(batch):
        return SimpleNamespace(x=torch.from_numpy(np.ascontiguousarray(batch.x)),
                               y=torch.from_numpy(np.ascontiguousarray(batch.y)))

    def forward(self, b, carry):
        if carry is not None and self.training and self.state_reset > 0:
            keep = (torch.rand(b.x.shape[0]) >= self.state_reset).to(carry[0].dtype)[None, :, None]
            carry = (carry[0] * keep, carry[1] * keep)
        h, (h_T, c_T) = self.rnn(self.drop(self.embed(b.x)), carry)
        logits = self.head(self.drop(h))
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), b.y.reshape(-1))
        return loss, (h_T.detach(), c_T.detach())  # truncated BPTT: the carry is a constant


class TagTwin(nn.Module):
    """rnnlab.models.tagger.Tagger in torch."""

    def __init__(self, model, dtype):
        super().__init__()
        self.word_embed = nn.Embedding(*model.params["word_embed.E"].shape, padding_idx=0, dtype=dtype)
        self.char_embed = nn.Embedding(*model.params["char_embed.E"].shape, padding_idx=0, dtype=dtype)
        self.char_rnn = twin_lstm(model.char_rnn, dtype)
        self.rnn = twin_lstm(model.rnn, dtype)
        self.head = nn.Linear(*model.params["head.W"].shape, dtype=dtype)
        self.drop = nn.Dropout(model.dropout)
        self.register_buffer("p_word", torch.as_tensor(np.asarray(model.p_word, dtype=np.float64)))
        self.unk_id = model.unk_id

    @staticmethod
    def tensors(batch):
        real = np.arange(batch.words.shape[1])[None, :] < batch.lengths[:, None]
        return SimpleNamespace(**{k: torch.from_numpy(np.ascontiguousarray(getattr(batch, k))) for k in
                                  ("words", "lengths", "tags", "form_index", "chars", "char_lengths")},
                               real=torch.from_numpy(real))

    def forward(self, b, carry=None):
        # characters -> one vector per distinct form: the final states [forward, reverse]
        _, (h_n, _) = self.char_rnn(packed(self.char_embed(b.chars), b.char_lengths))
        w = torch.cat([h_n[-2], h_n[-1]], dim=1)  # (U, 2Hc)
        f = w[b.form_index]  # (N, T, 2Hc)
        ids = b.words
        if self.training and bool((self.p_word > 0).any()):
            p = self.p_word[ids] if self.p_word.ndim else self.p_word
            drop = (torch.rand(ids.shape, dtype=torch.float64) < p) & (ids != 0)
            ids = torch.where(drop, torch.full_like(ids, self.unk_id), ids)
        x = self.drop(torch.cat([self.word_embed(ids), f], dim=2))
        out, _ = self.rnn(packed(x, b.lengths))
        h, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        logits = self.head(self.drop(h))  # (N, T, K), as rnnlab: every position, then the real ones
        return F.cross_entropy(logits[b.real], b.tags[b.real]), None


class TwinAttention(nn.Module):
    """rnnlab.layers.attention.LuongAttention in torch."""

    def __init__(self, attention, dtype):
        super().__init__()
        H = attention.hidden
        self.W_a = nn.Linear(H, H, bias=False, dtype=dtype) if attention.score == "general" else None
        self.W_c = nn.Linear(2 * H, H, dtype=dtype)

    def forward(self, h_dec, h_enc, allowed):
        q = h_dec if self.W_a is None else self.W_a(h_dec)
        e = q @ h_enc.transpose(1, 2)  # (N, S, T)
        a = torch.softmax(e.masked_fill(~allowed, float("-inf")), dim=-1)
        return torch.tanh(self.W_c(torch.cat([a @ h_enc, h_dec], dim=-1)))


class TranslateTwin(nn.Module):
    """rnnlab.models.seq2seq.Seq2Seq in torch."""

    def __init__(self, model, dtype):
        super().__init__()
        self.dirs = model.dirs
        self.src_embed = nn.Embedding(*model.params["src_embed.E"].shape, padding_idx=0, dtype=dtype)
        self.encoder = twin_lstm(model.encoder, dtype)
        self.tgt_embed = nn.Embedding(*model.params["tgt_embed.E"].shape, padding_idx=0, dtype=dtype)
        self.decoder = twin_lstm(model.decoder, dtype)
        self.attention = None if model.attention is None else TwinAttention(model.attention, dtype)
        self.head = nn.Linear(*model.params["head.W"].shape, dtype=dtype)
        self.drop = nn.Dropout(model.dropout)

    @staticmethod
    def tensors(batch):
        allowed = (np.arange(batch.src.shape[1])[None, :] < batch.src_lengths[:, None])[:, None, :]
        return SimpleNamespace(**{k: torch.from_numpy(np.ascontiguousarray(getattr(batch, k))) for k in
                                  ("src", "src_lengths", "tgt_in", "tgt_out", "tgt_lengths")},
                               allowed=torch.from_numpy(allowed), real=torch.from_numpy(batch.tgt_out != 0))

    def bridge(self, s):
        """(L * dirs, N, H / dirs) -> (L, N, H): per layer, the directions side by side."""
        LD, N, Hd = s.shape
        return s.view(LD // self.dirs, self.dirs, N, Hd).permute(0, 2, 1, 3).reshape(LD // self.dirs, N, -1)

    def forward(self, b, carry=None):
        enc_out, (h_T, c_T) = self.encoder(packed(self.drop(self.src_embed(b.src)), b.src_lengths))
        h_enc, _ = pad_packed_sequence(enc_out, batch_first=True, total_length=b.src.shape[1])
        state0 = (self.bridge(h_T), self.bridge(c_T))
        dec_out, _ = self.decoder(packed(self.drop(self.tgt_embed(b.tgt_in)), b.tgt_lengths), state0)
        h_dec, _ = pad_packed_sequence(dec_out, batch_first=True, total_length=b.tgt_in.shape[1])
        z = h_dec if self.attention is None else self.attention(h_dec, h_enc, b.allowed)
        logits = self.head(self.drop(z)[b.real])  # (M, V): only the real target positions, as rnnlab
        return F.cross_entropy(logits, b.tgt_out[b.real]), None


TWINS = {"lm": LMTwin, "tag": TagTwin, "translate": TranslateTwin}
LSTM_NAMES = {"W_x": ("weight_ih", True), "W_h": ("weight_hh", True), "b": ("bias_ih", False)}


def torch_param(twin: nn.Module, name: str):
    """(the torch parameter holding rnnlab's parameter ``name``, whether it is stored transposed)."""
    prefix, _, leaf = name.partition(".")
    module = getattr(twin, prefix)
    if isinstance(module, nn.LSTM):
        match = re.fullmatch(r"(W_x|W_h|b)(_l\d+(?:_reverse)?)", leaf)
        torch_name, transposed = LSTM_NAMES[match.group(1)]
        return getattr(module, torch_name + match.group(2)), transposed
    if isinstance(module, nn.Embedding) and leaf == "E":
        return module.weight, False
    if isinstance(module, nn.Linear):
        return {"W": (module.weight, True), "b": (module.bias, False)}[leaf]
    if isinstance(module, TwinAttention):
        return {"W_a": (module.W_a.weight, True) if module.W_a is not None else None,
                "W_c": (module.W_c.weight, True), "b_c": (module.W_c.bias, False)}[leaf]
    raise KeyError(f"no torch parameter for rnnlab's {name}")


def make_twin(task, model) -> nn.Module:
    """The torch twin of ``model`` in its dtype, every weight copied and checked."""
    dtype = TORCH_DTYPES[next(iter(model.params.values())).dtype]
    twin = TWINS[task.name](model, dtype)
    mapped = set()
    with torch.no_grad():
        for name, value in model.params.items():
            p, transposed = torch_param(twin, name)
            if id(p) in mapped:
                raise RuntimeError(f"{name}: mapped twice")
            p.copy_(torch.from_numpy(value.T if transposed else value))
            mapped.add(id(p))
    for name, value in model.params.items():  # the copy is exact, and nothing else is learnt
        p, transposed = torch_param(twin, name)
        if not np.array_equal(p.detach().numpy(), value.T if transposed else value):
            raise RuntimeError(f"the twin's {name} differs from rnnlab's")
    trainable = {id(p) for p in twin.parameters() if p.requires_grad}
    frozen = [p for p in twin.parameters() if not p.requires_grad]
    if trainable != mapped or any(bool(p.any()) for p in frozen):
        raise RuntimeError("the twin's trainable parameters are not exactly rnnlab's")
    return twin


class TorchTrainer:
    """The same step in torch: loss, backward, clip_grad_norm_, Adam."""

    def __init__(self, twin: nn.Module, optimizer: Adam, clip: float):
        self.twin = twin.train()
        self.params = [p for p in twin.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(self.params, lr=optimizer.lr, betas=optimizer.betas, eps=optimizer.eps,
                                          weight_decay=optimizer.weight_decay)
        self.clip = clip
        self.carry = None

    def step(self, b) -> float:
        self.optimizer.zero_grad(set_to_none=True)
        loss, self.carry = self.twin(b, self.carry)
        loss.backward()
        value = loss.item()
        if not math.isfinite(value):
            raise RuntimeError(f"torch's loss became {value}")
        torch.nn.utils.clip_grad_norm_(self.params, self.clip)
        self.optimizer.step()
        return value


# ----------------------------------------------------------------------------------------
# the check and the timing
# ----------------------------------------------------------------------------------------


def check_twin(task, config, batches, tensors) -> dict:
    """First batch, float64, no dropout: the loss and every gradient of rnnlab and the twin
    (and, for a model that carries its state, the second batch too, from the first's carry)."""
    model = task.build_model(np.random.default_rng(config.seed), dtype=np.float64)
    twin = make_twin(task, model).eval()
    carry = torch_carry = None
    result = {"loss_rnnlab": [], "loss_torch": [], "loss_rel_diff": 0.0, "grad_rel_diff": 0.0, "grad_worst": ""}
    for batch, b in zip(batches[:2], tensors[:2]):
        loss, grads, carry = model.loss_and_grads(batch, None, carry)
        twin.zero_grad(set_to_none=True)
        torch_loss, torch_carry = twin(b, torch_carry)
        torch_loss.backward()
        result["loss_rnnlab"].append(loss)
        result["loss_torch"].append(torch_loss.item())
        result["loss_rel_diff"] = max(result["loss_rel_diff"], abs(torch_loss.item() - loss) / abs(loss))
        for name, g in grads.items():
            p, transposed = torch_param(twin, name)
            tg = np.zeros_like(g) if p.grad is None else p.grad.numpy()
            tg = tg.T if transposed else tg
            scale = max(float(np.abs(g).max()), float(np.abs(tg).max()), 1e-300)
            diff = float(np.abs(g - tg).max()) / scale
            if diff >= result["grad_rel_diff"]:
                result["grad_rel_diff"], result["grad_worst"] = diff, name
        if carry is None:
            break
    result["tensors"] = len(model.params)
    result["agree"] = result["loss_rel_diff"] <= RTOL and result["grad_rel_diff"] <= RTOL
    return result


def measure(task, config, batches, tensors, threads: int, args) -> dict[str, list[float]]:
    """Units/s of every round of both sides at ``threads`` threads (models built afresh)."""
    units = [int(task.batch_size_in_tokens(b)) for b in batches]
    ours = RnnlabTrainer(task, config)
    theirs = TorchTrainer(make_twin(task, ours.model), ours.optimizer, config.clip)
    sides = {"rnnlab": (ours, batches), "torch": (theirs, tensors)}
    position = {name: 0 for name in sides}

    def run(name: str, steps: int) -> float:
        trainer, data = sides[name]
        first = position[name]
        start = time.perf_counter()
        for k in range(first, first + steps):
            k %= len(data)
            if k == 0:  # a new epoch starts from the zero state, as in the trainer
                trainer.carry = None
            trainer.step(data[k])
        seconds = time.perf_counter() - start
        position[name] = first + steps
        return sum(units[k % len(units)] for k in range(first, first + steps)) / seconds

    rates: dict[str, list[float]] = {name: [] for name in sides}
    with blas_threads(threads):
        torch.set_num_threads(threads)
        for name in sides:
            time.sleep(args.pause)
            run(name, args.warmup)
        for _ in range(args.rounds):
            for name in sides:
                time.sleep(args.pause)
                rates[name].append(run(name, args.steps))
    return rates


def numbers(values: list[float]) -> str:
    return " ".join(f"{v:.12g}" for v in values)


def summary(rates: list[float]) -> str:
    """median [min-max] units/s."""
    r = np.asarray(rates)
    return f"{np.median(r):9.0f} [{r.min():.0f}-{r.max():.0f}]"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", choices=list(UNITS), default=list(UNITS), metavar="RECIPE",
                        help=f"recipes to time (default: all of {', '.join(UNITS)})")
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2], metavar="N",
                        help="thread counts, for NumPy's BLAS and for torch alike (default: 1 2)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds of each side (default: 5)")
    parser.add_argument("--steps", type=int, default=20, help="training steps per round (default: 20)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps of each side first (default: 3)")
    parser.add_argument("--pause", type=float, default=0.3, help="seconds of rest before every round (default: 0.3)")
    parser.add_argument("--json", metavar="FILE", help="also write every round's numbers to this JSON file")
    args = parser.parse_args(argv)
    if min(args.threads) < 1 or args.rounds < 1 or args.steps < 1 or args.warmup < 0 or args.pause < 0:
        parser.error("--threads, --rounds and --steps must be at least 1, --warmup and --pause at least 0")
    # warm reuse of freed blocks, as the rnnlab command has it, for both implementations
    allocator = "glibc heap, no trim" if keep_freed_memory() else "default allocator"
    print(f"rnnlab (numpy {np.__version__}), torch {torch.__version__}, "
          f"{platform.processor() or platform.machine()}, float32; units/s median [min-max] of {args.rounds} "
          f"alternating rounds of {args.steps} steps after {args.warmup} warm-up steps, {args.pause} s pause "
          f"before each; ratio = median of per-round rnnlab/torch; {allocator}", flush=True)
    rows, failed = [], False
    for name in args.tasks:
        start = time.perf_counter()
        task, config = recipe_task(name)
        batches = task.train_batches(epoch_rngs(config.seed)[0])
        tensors = [TWINS[task.name].tensors(b) for b in batches]
        check = check_twin(task, config, batches, tensors)
        which = "first batch" if len(check["loss_rnnlab"]) == 1 else "first two batches (state carried)"
        print(f"{name}: {len(batches)} batches/epoch (prepared in {time.perf_counter() - start:.0f} s); {which}, "
              f"float64, no dropout: loss rnnlab {numbers(check['loss_rnnlab'])} torch {numbers(check['loss_torch'])} "
              f"(rel. diff {check['loss_rel_diff']:.1e}), gradients of {check['tensors']} tensors: largest rel. diff "
              f"{check['grad_rel_diff']:.1e} ({check['grad_worst']})", flush=True)
        row = {"task": name, "unit": UNITS[name], "batches": len(batches), "check": check, "threads": {}}
        rows.append(row)
        if not check["agree"]:
            print(f"{name}: the twin does not compute rnnlab's loss and gradients (tolerance {RTOL:g}): not timed")
            failed = True
            continue
        for threads in args.threads:
            rates = measure(task, config, batches, tensors, threads, args)
            ratios = [a / b for a, b in zip(rates["rnnlab"], rates["torch"])]
            ratio = float(np.median(ratios))
            row["threads"][str(threads)] = {
                "rnnlab_median": float(np.median(rates["rnnlab"])), "torch_median": float(np.median(rates["torch"])),
                "ratio": ratio, "rnnlab_rounds": rates["rnnlab"], "torch_rounds": rates["torch"],
                "round_ratios": ratios}
            print(f"{name:12} {threads} thread{'s' if threads > 1 else ' '}  rnnlab {summary(rates['rnnlab'])}  "
                  f"torch {summary(rates['torch'])} {UNITS[name]}/s  ratio {ratio:5.2f}", flush=True)
    if args.json:
        meta = {"numpy": np.__version__, "torch": torch.__version__, "machine": platform.machine(),
                "rounds": args.rounds, "steps": args.steps, "warmup": args.warmup,
                "pause": args.pause, "allocator": allocator, "ratio": "median of per-round rnnlab/torch"}
        with open(args.json, "w") as fh:
            json.dump({"settings": meta, "tasks": rows}, fh, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
