"""The training loop, top to bottom.

    for each epoch:
        for each minibatch (grouped by length, order drawn from the seed and the epoch):
            loss, grads = model.loss_and_grads(batch)      forward, loss, BPTT
            clip the gradients' global norm; stop if anything is not finite
            Adam step
        evaluate on dev; keep the best checkpoint; save the last; log a line; adjust the
        learning rate; stop early when dev has not improved for ``patience`` epochs
    evaluate the best checkpoint on dev and test -> metrics.json; draw curves.png

The loop uses only the contract written in ``rnnlab.train.tasks.base`` (``Task``,
``Model``): a task's batches, model and evaluation, a model's ``loss_and_grads``.

A run survives anything, and a resumed run ends bit for bit where the uninterrupted one
would have:

* Everything training depends on is in the ``last`` checkpoint, one file written
  atomically (``checkpoint.py``): weights, Adam's moments, the random generator that draws
  dropout masks, word dropout and state resets, the carried state, the position inside the
  epoch, the partial sums of the epoch's logged loss, and the log itself. Batch order is
  drawn from (seed, epoch) alone, so it is regenerated, not stored.
* The state is saved only between batches, where it is consistent. The first Ctrl-C (or
  SIGTERM, as a scheduler sends) lets the running batch finish, saves ``last`` and exits;
  during the end-of-epoch evaluation, which changes nothing, it stops at once and saves
  the position before it; while a checkpoint is being written it waits for the write. A
  second Ctrl-C stops at once; the checkpoint on disk is then the previous one, intact.
* ``last`` is also saved every ``save_minutes`` inside long epochs; a SIGKILL or power cut
  loses at most the work since the last save, and ``--resume`` redoes it identically. A
  run killed before its first checkpoint resumes from its ``config.json``.
* ``log.jsonl`` is rewritten from the checkpoint on resume, so it never repeats or loses
  an epoch; metrics.json and log.jsonl hold valid JSON (null, never NaN).
* A loss or gradient that is not finite stops training with a message and leaves the last
  good checkpoint in place.
"""

from __future__ import annotations

import json
import math
import signal
import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
from tqdm import tqdm

from rnnlab.atomic import json_safe
from rnnlab.errors import CheckpointError, RnnlabError, RunDirError
from rnnlab.faults import fault_point
from rnnlab.optim import Adam, clip_grad_norm
from rnnlab.train.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from rnnlab.train.config import config_to_dict
from rnnlab.train.parallel import Workers
from rnnlab.train.rundir import RunDirectory
from rnnlab.train.tasks.base import CarriesState


class TrainingDiverged(RnnlabError, RuntimeError):
    """The loss, a gradient or the dev metric stopped being finite."""


class TrainingInterrupted(RnnlabError):
    """Ctrl-C or SIGTERM: the position was saved (or the last checkpoint kept) and the run
    can be resumed. ``signal`` is the signal's number."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.signal = signum


# ----------------------------------------------------------------------------------------
# where training stands
# ----------------------------------------------------------------------------------------


@dataclass
class Progress:
    """Where training stands; saved in every checkpoint's metadata and checked on load."""

    epoch: int = 0  # the epoch in progress (or next to start), 0-based
    batch: int = 0  # batches of that epoch already done
    lr: float = 0.0  # the plateau schedule's current rate
    best: float | None = None
    best_epoch: int = -1
    bad_epochs: int = 0
    train_seconds: float = 0.0
    rng: dict | None = None  # the dropout generator's state inside an epoch (None at its start)
    epoch_loss_sum: float = 0.0  # sum of the batch losses of this epoch so far
    epoch_tokens: int = 0
    epoch_seconds: float = 0.0
    done: bool = False  # stopped early

    @classmethod
    def from_dict(cls, data, source: str, config) -> Progress:
        """Check a saved progress record field by field; an edited one is named, never used."""
        if not isinstance(data, dict):
            raise CheckpointError(f"{source}: progress must be a table, got {type(data).__name__}")
        names = {f.name for f in fields(cls)}
        unknown, missing = sorted(set(data) - names), sorted(names - set(data))
        if unknown or missing:
            raise CheckpointError(f"{source}: progress has unknown keys {unknown} or lacks keys {missing}")
        for f in fields(cls):
            value = data[f.name]
            kinds = {"int": (int,), "float": (int, float), "bool": (bool,), "float | None": (int, float, type(None)),
                     "dict | None": (dict, type(None))}[f.type]
            if not isinstance(value, kinds) or (isinstance(value, bool) and f.type != "bool"):
                raise CheckpointError(f"{source}: progress.{f.name} must be {f.type}, got {value!r}")
            if isinstance(value, float) and not math.isfinite(value):
                raise CheckpointError(f"{source}: progress.{f.name} must be finite, got {value!r}")
        progress = cls(**data)
        if not 0 <= progress.epoch <= config.epochs or progress.batch < 0 or progress.epoch_tokens < 0:
            raise CheckpointError(f"{source}: progress is at epoch {progress.epoch}, batch {progress.batch}, "
                                  f"outside this run's {config.epochs} epochs")
        if progress.rng is not None:
            try:
                np.random.default_rng().bit_generator.state = progress.rng
            except (TypeError, ValueError, KeyError) as exc:
                raise CheckpointError(f"{source}: progress.rng is not a random generator state ({exc})") from None
        return progress


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


# ----------------------------------------------------------------------------------------
# signals: stop only where the state is consistent
# ----------------------------------------------------------------------------------------


class StopSignals:
    """SIGINT and SIGTERM during training, turned into a stop at the next safe point.

    The first signal only sets ``requested``; the loop checks it between batches. Inside
    ``interruptible()`` (evaluation: nothing there changes the training state) the first
    signal raises KeyboardInterrupt at once. A second signal always raises at once."""

    def __init__(self):
        self.requested: int | None = None
        self._immediate = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum, frame) -> None:
        first = self.requested is None
        self.requested = signum if first else self.requested
        if self._immediate or not first:
            raise KeyboardInterrupt

    @contextmanager
    def interruptible(self):
        if self.requested is not None:
            raise KeyboardInterrupt
        self._immediate = True
        try:
            yield
        finally:
            self._immediate = False


# ----------------------------------------------------------------------------------------
# the loop
# ----------------------------------------------------------------------------------------


class _Trainer:
    """The state of one training run and the steps that change it."""

    def __init__(self, task, config, run: RunDirectory, progress_bar: bool, workers: Workers):
        self.task, self.config, self.run, self.workers = task, config, run, workers
        self.progress_bar = progress_bar and workers.is_root
        self.model = task.build_model(np.random.default_rng(config.seed))
        self.optimizer = Adam(lr=config.lr)
        self.progress = Progress(lr=config.lr)
        self.carry: dict[str, np.ndarray] | None = None
        self.log: list[dict] = []
        self.saved = "no checkpoint has been saved yet"  # what ``last`` on disk holds

    # ----- checkpoints ---------------------------------------------------------------------

    def meta(self) -> dict[str, Any]:
        return {"task": self.task.name, "config": config_to_dict(self.config), "meta": self.task.meta,
                "progress": asdict(self.progress), "log": self.log, "world_size": self.workers.size}

    def save(self, name: str) -> None:
        """Write checkpoint ``name`` (rank 0; every rank calls it: the carried state of every
        stream is gathered from the ranks that hold it)."""
        carry = self.workers.gather_carry(self.carry) if name == "last" else None
        if self.workers.is_root:
            save_checkpoint(self.run.path, name, self.model.params, self.optimizer.state_dict(), self.meta(),
                            carry=carry)
        if name == "last":
            p = self.progress
            self.saved = (f"epoch {p.epoch + 1}, after batch {p.batch}" if p.batch else f"the end of epoch {p.epoch}")

    def restore(self, checkpoint: Checkpoint) -> None:
        source = f"{self.run.path}/last.npz"
        load_params(self.model, checkpoint.params, source)
        try:
            self.optimizer.load_state_dict(checkpoint.optimizer_state)
            _check_optimizer_shapes(self.optimizer, self.model.params)
        except ValueError as exc:
            raise CheckpointError(f"{source}: optimizer state does not fit the model ({exc})") from None
        self.progress = Progress.from_dict(checkpoint.meta.get("progress"), source, self.config)
        log = checkpoint.meta.get("log", [])
        if not isinstance(log, list) or not all(isinstance(r, dict) for r in log):
            raise CheckpointError(f"{source}: log must be a list of records")
        self.log = log
        self.carry = checkpoint.carry or None
        if self.carry is not None:
            expected = self.model.carry_shapes(self.config.batch_size) if isinstance(self.model, CarriesState) else {}
            if {k: v.shape for k, v in self.carry.items()} != expected:
                raise CheckpointError(f"{source}: the carried state does not fit the model "
                                      f"(expected {expected or 'none'})")
        self.saved = "the checkpoint it resumed from"

    def share(self) -> None:
        """Every rank takes rank 0's weights, optimizer state, progress, log and its rows of
        the carried state (at the start and on resume)."""
        if self.workers.size == 1:
            return
        params, optimizer_state, progress, log, carry = self.workers.broadcast(
            (self.model.params, self.optimizer.state_dict(), self.progress, self.log, self.carry))
        for name, value in params.items():
            self.model.params[name][...] = value
        self.optimizer.load_state_dict(optimizer_state)
        self.progress, self.log = progress, log
        self.carry = self.workers.scatter_carry(carry, self.config.batch_size)

    # ----- one epoch ---------------------------------------------------------------------------

    def train_epoch(self, signals: StopSignals) -> None:
        """Batches from progress.batch to the end of the epoch; stops between batches when asked."""
        p, config = self.progress, self.config
        self.optimizer.lr = _scheduled_lr(config, p)
        order_rng, dropout_rng = _epoch_rngs(config.seed, p.epoch)
        batches = self.task.train_batches(order_rng)
        if p.batch > len(batches):
            raise CheckpointError(f"{self.run.path}/last.npz: progress is at batch {p.batch} of epoch {p.epoch + 1}, "
                                  f"which has only {len(batches)} batches: did the data change?")
        if p.rng is not None:  # resuming inside this epoch
            dropout_rng.bit_generator.state = p.rng
        else:
            self.carry = None
        bar = tqdm(total=len(batches), initial=p.batch, desc=f"epoch {p.epoch + 1}/{config.epochs}",
                   disable=not self.progress_bar, unit="batch", leave=False, dynamic_ncols=True)
        last_save = time.perf_counter()
        agreed_stop = False  # data-parallel: the ranks stop on the flag their last step agreed on
        try:
            while p.batch < len(batches):
                if signals.requested is not None and (self.workers.size == 1 or agreed_stop):
                    self.stop(signals.requested)
                k = p.batch
                start = time.perf_counter()
                batch = batches[k]
                loss, grads, self.carry, stop = self.workers.loss_and_grads(
                    self.model, batch, dropout_rng, self.carry, signals.requested is not None)
                if stop and signals.requested is None:  # another rank was asked to stop
                    signals.requested = signal.SIGINT
                agreed_stop = stop
                if not np.isfinite(loss):
                    raise TrainingDiverged(f"the loss became {loss} at epoch {p.epoch + 1}, batch {k + 1}")
                try:
                    clip_grad_norm(grads, config.clip)
                except ValueError as exc:  # a non-finite gradient
                    raise TrainingDiverged(f"{exc} at epoch {p.epoch + 1}, batch {k + 1}") from None
                self.optimizer.step(self.model.params, grads)
                self.workers.check_same(self.model.params, k + 1)
                p.batch = k + 1
                p.rng = dropout_rng.bit_generator.state
                p.epoch_loss_sum += float(loss)
                p.epoch_tokens += int(self.task.batch_size_in_tokens(batch))
                seconds = time.perf_counter() - start
                p.epoch_seconds += seconds
                p.train_seconds += seconds
                fault_point("batch")
                bar.update(1)
                if k % 5 == 0 or p.batch == len(batches):
                    bar.set_postfix(loss=f"{p.epoch_loss_sum / p.batch:.4f}", lr=f"{self.optimizer.lr:.2e}",
                                    tok_per_s=f"{p.epoch_tokens / max(p.epoch_seconds, 1e-9):.0f}")
                due = config.save_minutes and time.perf_counter() - last_save >= 60 * config.save_minutes
                if self.workers.broadcast(due):  # rank 0's clock decides for every rank
                    self.save("last")
                    last_save = time.perf_counter()
        finally:
            bar.close()

    def end_epoch(self, signals: StopSignals) -> None:
        """Evaluate on dev, keep the best, save the last, log a line, schedule, maybe stop."""
        p, task, config = self.progress, self.task, self.config
        if self.workers.size == 1:
            try:
                with signals.interruptible():
                    fault_point("evaluating")
                    dev = task.evaluate(self.model, "dev").metrics
            except KeyboardInterrupt:
                self.stop(signals.requested or signal.SIGINT)
        else:  # rank 0 evaluates and tells the others (a stop waits for the next batch)
            dev = self.workers.broadcast(task.evaluate(self.model, "dev").metrics if self.workers.is_root else None)
        value = dev[task.metric]
        if not math.isfinite(value):
            raise TrainingDiverged(f"the dev {task.metric} became {value} at epoch {p.epoch + 1}")
        fault_point("evaluated")
        record = {"epoch": p.epoch + 1, "train_loss": p.epoch_loss_sum / max(p.batch, 1),
                  "lr": self.optimizer.lr, "seconds": p.epoch_seconds,
                  "tokens_per_second": p.epoch_tokens / max(p.epoch_seconds, 1e-9),
                  **{f"dev_{k}": v for k, v in dev.items()}}
        best_now = _improved(task, value, p.best)
        if best_now:
            p.best, p.best_epoch, p.bad_epochs = value, p.epoch + 1, 0
        else:
            p.bad_epochs += 1
            if config.lr_schedule == "plateau":  # halve, down to 1/64 of the starting rate
                p.lr = max(p.lr * 0.5, config.lr / 64)
        p.epoch += 1
        p.batch, p.rng, p.epoch_loss_sum, p.epoch_tokens, p.epoch_seconds = 0, None, 0.0, 0, 0.0
        if config.patience and p.bad_epochs >= config.patience:
            p.done = True
        self.log.append(record)
        self.carry = None
        if best_now:
            self.save("best")
            fault_point("saved-best")
        self.save("last")
        fault_point("saved-last")
        if not self.workers.is_root:
            return
        self.run.append_line("log.jsonl", json.dumps(json_safe(record), allow_nan=False))
        tqdm.write(
            f"epoch {record['epoch']:3d}  train loss {record['train_loss']:.4f}  "
            f"dev {task.metric} {value:.4f}{' *' if best_now else ''}  lr {self.optimizer.lr:.2e}  "
            f"{record['tokens_per_second']:.0f} tok/s  {record['seconds']:.0f} s"
        )
        if p.done:
            tqdm.write(f"early stop: dev {task.metric} has not improved for {config.patience} epochs")

    def stop(self, signum: int) -> None:
        """Save ``last`` at this consistent point and leave with TrainingInterrupted."""
        self.save("last")
        p = self.progress
        where = f"epoch {p.epoch + 1}, after batch {p.batch}" if p.batch else f"the start of epoch {p.epoch + 1}"
        raise TrainingInterrupted(
            f"interrupted ({signal.Signals(signum).name}) at {where}; saved {self.run.path}/last.npz; "
            f"continue with: rnnlab train {self.task.name} --resume {self.run.path}", signum)


def fit(task, config, run: RunDirectory, checkpoint: Checkpoint | None = None, progress_bar: bool = True,
        workers: Workers | None = None) -> dict:
    """Train ``task``'s model in the locked run directory; returns the metrics (also in
    run/metrics.json). With ``checkpoint`` (the run's ``last``), continue from it;
    without, start from the beginning (a new run, or one that never reached its first
    checkpoint). ``workers``: the processes of a data-parallel job (``train/parallel.py``);
    rank 0 writes, and ``run`` is only written through on rank 0."""
    workers = Workers() if workers is None else workers
    trainer = _Trainer(task, config, run, progress_bar, workers)
    if checkpoint is not None:
        trainer.restore(checkpoint)
    elif workers.is_root:
        run.write_json("config.json", {"task": task.name, "world_size": workers.size, **config_to_dict(config)})
    trainer.share()
    if workers.is_root:
        run.write_text("log.jsonl", "".join(json.dumps(json_safe(r), allow_nan=False) + "\n" for r in trainer.log))

    p = trainer.progress
    with StopSignals() as signals:
        try:
            while not p.done and p.epoch < config.epochs:
                trainer.train_epoch(signals)
                trainer.end_epoch(signals)
                if workers.any(signals.requested is not None):  # asked to stop while the epoch ended
                    trainer.stop(signals.requested or signal.SIGINT)
        except TrainingDiverged as exc:
            raise TrainingDiverged(f"{exc}; the last good checkpoint is {run.path}/last.npz ({trainer.saved}). "
                                   f"Try a lower --lr or --clip.") from None
        except KeyboardInterrupt:
            raise TrainingInterrupted(
                f"{signal.Signals(signals.requested or signal.SIGINT).name} twice: stopped at once; "
                f"{run.path}/last.npz holds {trainer.saved}; continue with: "
                f"rnnlab train {task.name} --resume {run.path}", signals.requested or signal.SIGINT) from None
        if not workers.is_root:
            return workers.broadcast(None)
        try:  # a data-parallel job's other ranks wait for the metrics: there it runs to the end
            with signals.interruptible() if workers.size == 1 else nullcontext():
                metrics = finish(task, trainer.model, run, p)
                return workers.broadcast(metrics)
        except KeyboardInterrupt:
            raise TrainingInterrupted(
                f"stopped during the final evaluation; training is complete and saved; write the metrics "
                f"with: rnnlab train {task.name} --resume {run.path}", signals.requested or signal.SIGINT) from None


def _check_optimizer_shapes(optimizer, params) -> None:
    for key, value in optimizer.state_dict().items():
        for prefix in ("m.", "v."):
            if key.startswith(prefix):
                name = key[len(prefix):]
                if name not in params or np.shape(value) != params[name].shape:
                    raise ValueError(f"{key} has shape {np.shape(value)}, the model's {name} "
                                     f"{params[name].shape if name in params else 'does not exist'}")


def load_params(model, params: dict[str, np.ndarray], source: str) -> None:
    """Copy checkpoint weights into the model; any mismatch is a CheckpointError naming ``source``."""
    if set(params) != set(model.params):
        missing = sorted(set(model.params) - set(params))
        extra = sorted(set(params) - set(model.params))
        raise CheckpointError(f"{source}: the weights do not fit the model built from its config: "
                              f"missing {missing[:5]}, unexpected {extra[:5]}")
    for name, value in params.items():
        if value.shape != model.params[name].shape:
            raise CheckpointError(f"{source}: tensor {name} has shape {value.shape}, the model built from its "
                                  f"config expects {model.params[name].shape}")
        if value.dtype.kind != "f":
            raise CheckpointError(f"{source}: tensor {name} has dtype {value.dtype}, not a float type")
        model.params[name][...] = value


def finish(task, model, run: RunDirectory, progress: Progress) -> dict:
    """Evaluate the best checkpoint on dev and test; write metrics.json and the figures."""
    checkpoint = load_checkpoint(run.path, "best", task=task.name)
    load_params(model, checkpoint.params, f"{run.path}/best.npz")
    dev, test = task.evaluate(model, "dev"), task.evaluate(model, "test")
    metrics = {"dev": dev.metrics, "test": test.metrics, "train_seconds": round(progress.train_seconds, 2),
               "epochs": progress.epoch, "best_epoch": progress.best_epoch}
    run.write_json("metrics.json", metrics)
    from rnnlab.analysis.run_figures import draw_run_figures  # the trainer's one hook into analysis

    try:
        draw_run_figures(run.path, task, test)
    except OSError as exc:
        raise RunDirError(f"{run.path}: cannot write the figures ({exc.strerror or exc}); "
                          f"metrics.json is written") from None
    return metrics
