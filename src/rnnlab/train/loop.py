"""The training loop, top to bottom.

    for each epoch:
        for each minibatch (grouped by length, order drawn from the seed and the epoch):
            loss, grads = model.loss_and_grads(batch)      forward, loss, BPTT
            clip the gradients' global norm; stop if anything is not finite
            Adam step
        evaluate on dev; log a line; keep the best checkpoint; adjust the learning rate;
        stop early when dev has not improved for ``patience`` epochs
    evaluate the best checkpoint on dev and test -> metrics.json; draw curves.png

What a task provides (``rnnlab.train.tasks``): ``name``, ``metric`` and ``higher_is_better``
(the dev metric that picks the best checkpoint), ``meta`` (vocabularies, statistics: JSON),
``build_model(rng)``, ``train_batches(rng)``, ``evaluate(model, split)`` and
``batch_size_in_tokens(batch)``. A model provides ``params`` and
``loss_and_grads(batch, rng, carry) -> (loss, grads, carry)``; ``carry`` is the state handed
from one batch to the next (truncated BPTT in the language model), None elsewhere.

Nothing is lost: ``last`` is saved after every epoch and on Ctrl-C (with the position inside
the epoch, the dropout generator and the carried state, so ``--resume`` continues exactly
as if never stopped); a loss or gradient that is not finite stops training with a message
and leaves the last good checkpoint in place.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from rnnlab.optim import Adam, clip_grad_norm
from rnnlab.train.checkpoint import load_checkpoint, save_checkpoint
from rnnlab.train.config import config_to_dict


class TrainingDiverged(RuntimeError):
    """The loss or a gradient stopped being finite."""


class TrainingInterrupted(RuntimeError):
    """Ctrl-C: the position was saved and the run can be resumed."""


@dataclass
class Progress:
    """Where training stands; saved in every checkpoint's JSON."""

    epoch: int = 0  # the epoch in progress (or next to start)
    batch: int = 0  # batches of that epoch already done
    lr: float = 0.0
    best: float | None = None
    best_epoch: int = -1
    bad_epochs: int = 0
    train_seconds: float = 0.0
    dropout_rng: dict | None = None  # the generator's state when stopped inside an epoch
    done: bool = False


def _epoch_rngs(seed: int, epoch: int):
    """Batch order and dropout draws for one epoch, from the seed alone: a resumed run
    regenerates exactly the batches it would have seen."""
    return np.random.default_rng([seed, epoch, 0]), np.random.default_rng([seed, epoch, 1])


def _improved(task, value: float, best: float | None) -> bool:
    if best is None:
        return True
    return value > best if task.higher_is_better else value < best


def _scheduled_lr(config, progress: Progress) -> float:
    if config.lr_schedule == "cosine":
        return 0.5 * config.lr * (1 + math.cos(math.pi * progress.epoch / config.epochs))
    return progress.lr


def _checkpoint_meta(task, config, progress: Progress) -> dict[str, Any]:
    return {"task": task.name, "config": config_to_dict(config), "meta": task.meta,
            "progress": progress.__dict__.copy()}


def _save(run_dir, name, model, optimizer, task, config, progress, carry=None):
    params = dict(model.params)
    if carry is not None:
        params.update({f"carry/{k}": v for k, v in carry.items()})
    save_checkpoint(run_dir, name, params, optimizer.state_dict(), _checkpoint_meta(task, config, progress))


def fit(task, config, run_dir: Path, resume: bool = False, progress_bar: bool = True) -> dict:
    """Train ``task``'s model into run_dir; returns metrics (also in run_dir/metrics.json)."""
    run_dir = Path(run_dir)
    model = task.build_model(np.random.default_rng(config.seed))
    optimizer = Adam(lr=config.lr)
    progress = Progress(lr=config.lr)
    carry = None
    if resume:
        params, optim_state, meta = load_checkpoint(run_dir, "last", task=task.name)
        carry = {k[len("carry/"):]: v for k, v in params.items() if k.startswith("carry/")} or None
        load_params(model, {k: v for k, v in params.items() if not k.startswith("carry/")})
        optimizer.load_state_dict(optim_state)
        progress = Progress(**meta["progress"])
    else:
        (run_dir / "config.json").write_text(json.dumps(config_to_dict(config), indent=1))
        (run_dir / "log.jsonl").write_text("")

    while not progress.done and progress.epoch < config.epochs:
        optimizer.lr = _scheduled_lr(config, progress)
        order_rng, dropout_rng = _epoch_rngs(config.seed, progress.epoch)
        batches = task.train_batches(order_rng)
        if progress.dropout_rng is not None:  # resuming inside this epoch
            dropout_rng.bit_generator.state = progress.dropout_rng
        else:
            carry = None
        start, losses, tokens = time.perf_counter(), [], 0
        bar = tqdm(range(progress.batch, len(batches)), initial=progress.batch, total=len(batches),
                   desc=f"epoch {progress.epoch + 1}/{config.epochs}", disable=not progress_bar,
                   unit="batch", leave=False, dynamic_ncols=True)
        try:
            for k in bar:
                batch = batches[k]
                loss, grads, carry = model.loss_and_grads(batch, dropout_rng, carry)
                if not np.isfinite(loss):
                    raise TrainingDiverged(f"the loss became {loss} at epoch {progress.epoch + 1}, batch {k + 1}")
                _clip(grads, config.clip, progress, k)
                optimizer.step(model.params, grads)
                progress.batch = k + 1
                losses.append(loss)
                tokens += task.batch_size_in_tokens(batch)
                if k % 5 == 0 or k == len(batches) - 1:
                    elapsed = time.perf_counter() - start
                    bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}", lr=f"{optimizer.lr:.2e}",
                                    tok_per_s=f"{tokens / max(elapsed, 1e-9):.0f}")
        except TrainingDiverged as exc:
            bar.close()
            kept = (f"the last good checkpoint is {run_dir}/last (end of epoch {progress.epoch})"
                    if progress.epoch else "no epoch had finished, so there is no checkpoint")
            raise TrainingDiverged(f"{exc}; {kept}. Try a lower --lr or --clip.") from None
        except KeyboardInterrupt:
            bar.close()
            progress.train_seconds += time.perf_counter() - start
            progress.dropout_rng = dropout_rng.bit_generator.state
            _save(run_dir, "last", model, optimizer, task, config, progress, carry)
            raise TrainingInterrupted(
                f"interrupted at epoch {progress.epoch + 1}, batch {progress.batch}; saved {run_dir}/last; "
                f"continue with: rnnlab train {task.name} --resume {run_dir}"
            ) from None
        bar.close()
        epoch_seconds = time.perf_counter() - start
        progress.train_seconds += epoch_seconds

        dev = task.evaluate(model, "dev")
        value = dev[task.metric]
        record = {"epoch": progress.epoch + 1, "train_loss": float(np.mean(losses)) if losses else None,
                  "lr": optimizer.lr, "seconds": epoch_seconds,
                  "tokens_per_second": tokens / max(epoch_seconds, 1e-9),
                  **{f"dev_{k}": v for k, v in dev.items()}}
        with open(run_dir / "log.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
        if _improved(task, value, progress.best):
            progress.best, progress.best_epoch, progress.bad_epochs = value, progress.epoch + 1, 0
            best_now = True
        else:
            progress.bad_epochs += 1
            best_now = False
            if config.lr_schedule == "plateau":  # halve, down to 1/64 of the starting rate
                progress.lr = max(progress.lr * 0.5, config.lr / 64)
        tqdm.write(
            f"epoch {progress.epoch + 1:3d}  train loss {record['train_loss']:.4f}  "
            f"dev {task.metric} {value:.4f}{' *' if best_now else ''}  lr {optimizer.lr:.2e}  "
            f"{record['tokens_per_second']:.0f} tok/s  {epoch_seconds:.0f} s"
        )
        progress.epoch += 1
        progress.batch, progress.dropout_rng = 0, None
        if config.patience and progress.bad_epochs >= config.patience:
            tqdm.write(f"early stop: dev {task.metric} has not improved for {config.patience} epochs")
            progress.done = True
        if best_now:
            _save(run_dir, "best", model, optimizer, task, config, progress)
        _save(run_dir, "last", model, optimizer, task, config, progress)

    return finish(task, model, run_dir, progress)


def _clip(grads, max_norm, progress, k):
    try:
        return clip_grad_norm(grads, max_norm)
    except ValueError as exc:  # a non-finite gradient
        raise TrainingDiverged(f"{exc} at epoch {progress.epoch + 1}, batch {k + 1}") from None


def load_params(model, params: dict[str, np.ndarray]) -> None:
    if set(params) != set(model.params):
        missing = sorted(set(model.params) - set(params))
        extra = sorted(set(params) - set(model.params))
        raise ValueError(f"checkpoint does not fit the model: missing {missing[:5]}, unexpected {extra[:5]}")
    for name, value in params.items():
        if value.shape != model.params[name].shape:
            raise ValueError(f"checkpoint tensor {name} has shape {value.shape}, the model expects {model.params[name].shape}")
        model.params[name][...] = value


def finish(task, model, run_dir: Path, progress: Progress) -> dict:
    """Evaluate the best checkpoint on dev and test; write metrics.json and curves.png."""
    params, _, _ = load_checkpoint(run_dir, "best", task=task.name)
    load_params(model, params)
    metrics = {"dev": task.evaluate(model, "dev"), "test": task.evaluate(model, "test"),
               "train_seconds": round(progress.train_seconds, 2), "epochs": progress.epoch,
               "best_epoch": progress.best_epoch}
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=1))
    try:
        from rnnlab.analysis.curves import plot_learning_curves

        plot_learning_curves(run_dir / "log.jsonl", run_dir / "curves.png", task.metric)
    except ImportError:  # matplotlib missing: the numbers are all in log.jsonl
        tqdm.write("matplotlib is not installed: skipped curves.png")
    if hasattr(task, "write_figures"):  # a task's own figures of its final evaluation (translate)
        task.write_figures(run_dir)
    return metrics
