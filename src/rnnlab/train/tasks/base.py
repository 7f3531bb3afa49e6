"""The contract between a task, its model and everything that drives them, written once.

A *task* reads files into batches, builds its model, and turns the model's outputs into
metrics and predictions. A *model* turns a batch into a loss and gradients, and can show
what its recurrent layers did. The trainer (``train/loop.py``), the command line
(``cli.py``) and the instruments (``analysis/inspect.py``) use only what is written here;
what only some tasks can do is an optional capability, a Protocol of its own, checked with
``isinstance`` (``Generates``, ``Translates``).

Adding a task is one module that defines a class meeting ``Task`` (and a model meeting
``Model``) and one line in ``TASKS`` (``train/tasks/__init__.py``), or, from outside the
package, ``register_task(name, "package.module:ClassName")``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from rnnlab.models.parts import Trace


@dataclass
class Evaluation:
    """What ``Task.evaluate`` returns: the metrics (the task's ``metric`` among them) and
    whatever the task produced on the way that a figure may want (translate: its
    translations; None elsewhere). ``evaluate`` keeps nothing on the task."""

    metrics: dict[str, float]
    outputs: Any = None


@dataclass
class Example:
    """One input as the model reads it, for the instruments: a batch of one, and for each
    recurrent layer that reads it (by the names ``Model.trace`` uses) the label of every
    step (a word, a character, a date)."""

    batch: Any
    steps: dict[str, list[str]]


@runtime_checkable
class Batch(Protocol):
    """What the trainer needs of a batch: its rows (examples) ``len(batch)``, the shard of
    rows lo..hi-1 (``rows``, padding kept, for data-parallel training), and how many terms
    the model's loss averages over (``loss_terms``: sequences, words, target tokens), which
    weights each shard's gradient."""

    def __len__(self) -> int: ...

    def rows(self, lo: int, hi: int) -> Batch: ...

    def loss_terms(self) -> int: ...


@runtime_checkable
class Model(Protocol):
    """What the trainer and the instruments need of a model.

    ``params`` maps names to the arrays the optimizer updates in place.
    ``loss_and_grads(batch, rng, carry)`` is one forward, loss and BPTT: ``rng`` draws the
    training-time randomness (dropout; None at evaluation), ``carry`` is the state handed from
    one batch to the next (a language model's (h, c); None elsewhere); returns (loss, grads
    with the keys of ``params``, the next carry).
    ``trace(batch)`` runs the model without dropout and returns the cache of every
    recurrent layer by name (what inspect and the gradient probes read)."""

    params: dict[str, np.ndarray]

    def loss_and_grads(self, batch, rng: np.random.Generator | None, carry: dict | None
                       ) -> tuple[float, dict[str, np.ndarray], dict | None]: ...

    def trace(self, batch) -> Trace: ...


@runtime_checkable
class Task(Protocol):
    """What a task provides to the trainer, the command line and the instruments.

    ``name`` is the command (``rnnlab train NAME``); ``metric`` the dev metric that picks
    the best checkpoint, better when higher if ``higher_is_better``; ``Config`` its config
    dataclass (``rnnlab.train.config.TrainConfig`` and its own options), whose fields are
    the command-line options. ``meta`` holds what ``prepare`` learned from the training
    data (vocabularies, statistics), JSON-safe: it is saved in every checkpoint and given
    back to ``__init__`` when a run is loaded, so a loaded task never reads training data."""

    name: ClassVar[str]
    metric: ClassVar[str]
    higher_is_better: ClassVar[bool]
    Config: ClassVar[type]
    config: Any
    meta: dict | None

    def __init__(self, config, meta: dict | None = None) -> None: ...

    def prepare(self) -> None:
        """Read train/dev/test, build ``meta`` from train only; raise DataError naming the file."""

    def model_options(self) -> dict:
        """The model's constructor arguments, all but ``rng``."""

    def parameter_count(self) -> int:
        """How many weights ``build_model`` will allocate (computed without allocating)."""

    def build_model(self, rng: np.random.Generator, dtype=np.float32) -> Model:
        """The model, its weights drawn from ``rng`` (float64 for gradient and equivalence checks)."""

    def train_batches(self, rng: np.random.Generator) -> list[Batch]:
        """One epoch's batches, their order drawn from ``rng`` alone."""

    def batch_size_in_tokens(self, batch) -> int:
        """What one batch counts for the throughput shown while training."""

    def evaluate(self, model: Model, split: str = "dev", data=None) -> Evaluation:
        """Metrics on a prepared split, or on ``data`` from ``encode_file``."""

    def encode_file(self, path: str):
        """A labelled file in the training data's format, for ``evaluate(data=...)``."""

    def encode_text(self, text: str) -> Example:
        """One input, as ``rnnlab predict`` reads it, for ``Model.trace``."""

    def predict_lines(self, model: Model, lines: list[str]) -> list[str]:
        """One result per line of input text."""

    def predict_file(self, model: Model, path: str) -> list[str]: ...


@runtime_checkable
class Generates(Protocol):
    """A task that samples text (the character language model)."""

    def generate(self, model: Model, prime: str, length: int, temperature: float,
                 rng: np.random.Generator) -> str: ...


@runtime_checkable
class Translates(Protocol):
    """A task that translates sentences (the encoder-decoder)."""

    def translate_lines(self, model: Model, lines: list[str], beam: int | None = None) -> list[str]: ...

    def truncation_notes(self, lines: list[str]) -> list[str]: ...

    def decoded_example(self, model: Model, example: Example) -> Example:
        """``example`` with the model's own greedy translation as the decoder's input."""


@runtime_checkable
class CarriesState(Protocol):
    """A model that hands its state from one training batch to the next (truncated BPTT)."""

    def carry_shapes(self, batch_size: int) -> dict[str, tuple[int, ...]]: ...
