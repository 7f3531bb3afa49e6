"""Training for an experiment: fresh batches, one optimizer step each, a curve of what happened.

Read top to bottom: draw a batch, loss and gradients, (optionally) clip, step. Every
``every`` steps ``evaluate()`` measures the model on held-out data. A run may be allowed to
diverge (the ReLU RNN of section 3 is expected to): its curve then ends at the step where
a loss, an activation or a gradient stopped being finite.

Why not ``rnnlab.train.fit``: that one trains a task's model on a dataset, in epochs, with
a dev set, checkpoints and resume; the tour's experiments and ``rnnlab demo`` draw every
batch fresh from a generator, run a fixed number of steps in seconds, want the whole curve
back, and may be meant to blow up. ``train_steps`` is that loop and nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from rnnlab.optim import Adam, clip_grad_norm
from rnnlab.tour.section import Progress


@dataclass
class Curve:
    """Per-step training loss and gradient norm; held-out scores at ``eval_steps``."""

    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    diverged_at: int | None = None

    @property
    def final(self) -> float:
        return self.scores[-1] if self.scores else float("nan")


def _grad_norm(grads: dict[str, np.ndarray]) -> float:
    return float(np.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads.values())))


def train_steps(model, draw_batch: Callable[[], object], steps: int, progress: Progress, *,
        optimizer=None, clip: float | None = 1.0, evaluate: Callable[[], float] | None = None,
        every: int = 50, allow_divergence: bool = False, stop_at: float | None = None) -> Curve:
    """Train ``model`` (``params`` and ``loss_and_grads(batch, rng, carry)``) for ``steps`` steps.

    With ``stop_at``, training ends early once ``evaluate()`` reaches it (a task that is
    solved needs no more steps). ``progress`` is told about every step, also the ones a
    diverged or finished run skips, so the runner's bar always reaches its total.
    """
    optimizer = Adam(lr=3e-3) if optimizer is None else optimizer
    curve = Curve()

    def score(step: int) -> None:
        if evaluate is not None:
            curve.eval_steps.append(step)
            curve.scores.append(float(evaluate()))

    score(0)
    for step in range(1, steps + 1):
        try:
            loss, grads, _ = model.loss_and_grads(draw_batch(), None, None)
            norm = clip_grad_norm(grads, clip) if clip else _grad_norm(grads)
            if not (np.isfinite(loss) and np.isfinite(norm)):
                raise FloatingPointError(f"loss {loss}, gradient norm {norm}")
            optimizer.step(model.params, grads)
        except (FloatingPointError, ValueError) as exc:
            if not allow_divergence or not (isinstance(exc, FloatingPointError) or "non-finite" in str(exc)):
                raise
            curve.diverged_at = step
            progress(steps - step + 1)
            return curve
        curve.loss.append(float(loss))
        curve.grad_norm.append(norm)
        progress(1)
        if step % every == 0 or step == steps:
            score(step)
            if stop_at is not None and curve.scores[-1] >= stop_at and step < steps:
                progress(steps - step)
                break
    return curve
