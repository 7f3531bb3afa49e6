r"""Instruments for a trained run: what each recurrent layer did on one input.

For every recurrent layer a model runs (the classifier's, tagger's, language model's or
forecaster's ``rnn``; a translator's ``encoder`` and ``decoder``) this reads, from the
layer's own cache (no hooks), over the input's T steps:

* the top layer's gates i, f, o and cell state c (LSTM), its gates r, z and state h (GRU),
  or its state h (RNN), (T, H);
* how much each earlier state still shapes the last one: the Jacobian norm

      G_t = ||dh_T / dh_t||_F / sqrt(H),   t = 0..T,

  through the top layer's own recurrence (its input x_t held fixed; the forward direction
  of a bidirectional layer). It is exact for H <= 32 (the backward replayed from the H unit
  vectors dL/dh_T = e_k, ``rnnlab.analysis.gradients``) and otherwise estimated from 32
  random directions u ~ N(0, I): E ||J^T u||^2 = ||J||_F^2;
* for a character language model, the cells' activations tanh(c_t) (or h_t) per character,
  the cells ordered most interpretable first: score = std_t(v) x max(0, autocorr_1(v)),
  cells that swing widely but slowly, i.e. that track a state of the text (inside a word,
  a quote, a line) rather than the current character;
* for a translator with attention, the attention weights a (S target x T source steps).

Shapes: T steps, H hidden, S target steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnnlab.analysis.gradients import hidden_state_gradients
from rnnlab.data.errors import DataError
from rnnlab.layers.gru import GRUCache
from rnnlab.layers.lstm import LSTMCache
from rnnlab.train.tasks.base import Generates, Translates

PROBES = 32


@dataclass
class LayerView:
    """One recurrent layer run over the input: ``activity`` name -> (T, H), ``jacobian`` (T + 1,)."""

    name: str
    cell: str
    tokens: list[str]
    activity: dict[str, np.ndarray]
    jacobian: np.ndarray
    exact: bool


@dataclass
class Inspection:
    task: str
    views: list[LayerView]
    attention: np.ndarray | None = None  # (S, T)
    source: list[str] = field(default_factory=list)
    target: list[str] = field(default_factory=list)
    cell_order: np.ndarray | None = None  # language model: cells, most interpretable first
    cell_scores: np.ndarray | None = None


def read_input(text_or_file: str) -> str:
    """The text of a file when ``text_or_file`` names one, else the argument itself."""
    path = Path(text_or_file)
    try:
        if path.is_file():
            return path.read_text(encoding="utf-8")
    except (OSError, ValueError):
        pass
    return text_or_file


def layer_view(name: str, layer, stack_cache, tokens: list[str], rng: np.random.Generator) -> LayerView:
    """Read a ``RecurrentStack.forward`` cache of ONE full-length sequence (N = 1)."""
    top = stack_cache.caches[-1][0]  # last layer, forward direction; time-major (T, 1, H)
    cell = "lstm" if isinstance(top, LSTMCache) else "gru" if isinstance(top, GRUCache) else "rnn"
    read = {"lstm": ("i", "f", "o", "c", "tanh_c"), "gru": ("r", "z", "h"), "rnn": ("h",)}[cell]
    activity = {k: np.asarray(getattr(top, k)[:, 0], dtype=np.float64) for k in read}
    jacobian, exact = _jacobian_norms(layer, stack_cache, rng)
    return LayerView(name, cell, tokens, activity, jacobian, exact)


def _jacobian_norms(layer, stack_cache, rng) -> tuple[np.ndarray, bool]:
    H = layer.hidden_size
    exact = H <= PROBES
    K = H if exact else PROBES
    x = stack_cache.caches[0][0].x.swapaxes(0, 1)  # (1, T, D) the layer's input, batch-first
    states = [np.stack([c.h0 for layer_caches in stack_cache.caches for c in layer_caches])]
    if isinstance(stack_cache.caches[0][0], LSTMCache):
        states.append(np.stack([c.c0 for layer_caches in stack_cache.caches for c in layer_caches]))
    states = [np.repeat(s, K, axis=1) for s in states]  # (L * dirs, K, H)
    state0 = states[0] if len(states) == 1 else tuple(states)
    _, _, cache = layer.forward(np.repeat(x, K, axis=0), state=state0)
    dh_T = np.eye(H) if exact else rng.standard_normal((K, H))
    dh, _ = hidden_state_gradients(cache.caches[-1][0], dh_T)  # (T + 1, K, H)
    squared = np.sum(dh**2, axis=(1, 2)) / (1 if exact else K)
    return np.sqrt(squared / H), exact


def cell_interpretability(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """values (T, H) -> (order, scores): cells by std x positive lag-1 autocorrelation."""
    v = values - values.mean(axis=0)
    std = v.std(axis=0)
    if len(v) < 3:
        scores = std
    else:
        denom = np.sqrt((v[:-1] ** 2).sum(axis=0) * (v[1:] ** 2).sum(axis=0))
        auto = np.divide((v[:-1] * v[1:]).sum(axis=0), denom, out=np.zeros_like(std), where=denom > 0)
        scores = std * np.clip(auto, 0, None)
    return np.argsort(-scores, kind="stable"), scores


# ----------------------------------------------------------------------------------------
# a run, on one input, through its public contract
# ----------------------------------------------------------------------------------------


def inspect_run(task, model, text: str, rng: np.random.Generator | None = None) -> Inspection:
    """``text``: the input as the task reads it (a sentence, a document; CSV rows for a
    forecaster, whose most recent window is inspected; .ts text for a series classifier,
    whose first series is). The task encodes it (``encode_text``), the model runs it
    (``trace``); a translator first translates it, so the decoder is seen writing its own
    translation."""
    rng = np.random.default_rng(0) if rng is None else rng
    text = text if isinstance(task, Generates) else text.strip("\n")  # a language model reads every newline
    if not text.strip():
        raise DataError("the input to inspect is empty")
    example = task.encode_text(text)
    if isinstance(task, Translates):
        example = task.decoded_example(model, example)
    trace = model.trace(example.batch)
    views = [layer_view(name, run.layer, run.cache, example.steps[name], rng)
             for name, run in trace.layers.items() if name in example.steps]
    inspection = Inspection(task.name, views)
    if trace.attention is not None:  # rows: what each decoder step wrote; columns: the source
        inspection.attention = trace.attention[0]
        inspection.source = example.steps["encoder"]
        inspection.target = example.steps["decoder"][1:] + ["<eos>"]
    if isinstance(task, Generates):  # a character model: which cells track a state of the text
        view = views[0]
        inspection.cell_order, inspection.cell_scores = cell_interpretability(
            view.activity["tanh_c" if view.cell == "lstm" else "h"])
    return inspection
