r"""Instruments for a trained run: what each recurrent layer did on one input.

For every recurrent layer a model runs (the classifier's, tagger's, language model's or
forecaster's ``rnn``; a translator's ``encoder`` and ``decoder``) this reads, from the
layer's own cache (no hooks), over the input's T steps:

* the top layer's gates i, f, o and cell state c (LSTM) or its state h (RNN), (T, H);
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
from rnnlab.data.errors import DataError, text_as_file

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
    cell = "lstm" if hasattr(top, "gates") else "rnn"
    if cell == "lstm":
        activity = {k: np.asarray(getattr(top, k)[:, 0], dtype=np.float64) for k in ("i", "f", "o", "c", "tanh_c")}
    else:
        activity = {"h": np.asarray(top.h[:, 0], dtype=np.float64)}
    jacobian, exact = _jacobian_norms(layer, stack_cache, rng)
    return LayerView(name, cell, tokens, activity, jacobian, exact)


def _jacobian_norms(layer, stack_cache, rng) -> tuple[np.ndarray, bool]:
    H = layer.hidden_size
    exact = H <= PROBES
    K = H if exact else PROBES
    x = stack_cache.caches[0][0].x.swapaxes(0, 1)  # (1, T, D) the layer's input, batch-first
    states = [np.stack([c.h0 for layer_caches in stack_cache.caches for c in layer_caches])]
    if hasattr(stack_cache.caches[0][0], "c0"):
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
# one adapter per task: the input encoded as the task does, then the model's own forward
# ----------------------------------------------------------------------------------------


def inspect_run(task, model, text: str, rng: np.random.Generator | None = None) -> Inspection:
    """``text``: the input as the task reads it (a sentence, a document; CSV rows for a
    forecaster, whose most recent window is inspected; .ts text for a series classifier,
    whose first series is)."""
    rng = np.random.default_rng(0) if rng is None else rng
    text = text.strip("\n") if task.name != "lm" else text
    if not text.strip():
        raise DataError("the input to inspect is empty")
    adapter = _ADAPTERS.get(task.name)
    if adapter is None:
        raise DataError(f"inspect reads classify, tag, lm, forecast and translate runs; this run is a "
                        f"'{task.name}' run")
    return adapter(task, model, text, rng)


def _classify(task, model, text, rng):
    from rnnlab.data.text import tokenize

    if task.meta["kind"] == "ts":
        return _classify_series(task, model, text, rng)
    tokens = tokenize(text.splitlines()[0], task.config.tokens)[: task.config.max_len] or ["<unk>"]
    (ids,) = task.encode_inputs([tokens])
    x, _ = model.embed.forward(ids[None])
    _, _, cache = model.rnn.forward(x)
    return Inspection("classify", [layer_view("rnn", model.rnn, cache, tokens, rng)])


def _classify_series(task, model, text, rng):
    """A classifier trained on a .ts file reads .ts text; the first series is inspected."""
    from rnnlab.data.ts import read_ts

    with text_as_file(text + "\n", ".ts", "<input>") as path:
        series, _ = read_ts(path)
    (x,) = task.encode_inputs([series[0][: task.config.max_len]])
    _, _, cache = model.rnn.forward(x[None])
    steps = [str(t) for t in range(1, len(x) + 1)]
    return Inspection("classify", [layer_view("rnn", model.rnn, cache, steps, rng)])


def _tag(task, model, text, rng):
    words = text.splitlines()[0].split()
    data = task._encode([words], None, "<input>")
    ((batch, _),) = task._batches(data, 1)
    _, cache = model._forward(batch, None)
    return Inspection("tag", [layer_view("rnn", model.rnn, cache.rnn, words, rng)])


def _lm(task, model, text, rng):
    ids = task._encode(text, "<input>")
    e, _ = model.embed.forward(ids[None])
    _, _, cache = model.rnn.forward(e)
    view = layer_view("rnn", model.rnn, cache, list(text), rng)
    values = view.activity["tanh_c" if view.cell == "lstm" else "h"]
    order, scores = cell_interpretability(values)
    return Inspection("lm", [view], cell_order=order, cell_scores=scores)


def _translate(task, model, text, rng):
    from rnnlab.models.decoding import greedy_decode

    sentence = text.splitlines()[0]
    (src,) = task._encode_sources([sentence])
    source = task.src_vocab.decode(src)
    lengths = np.array([len(src)])
    memory, state0, (_, _, encoder_cache) = model.encode(src[None], lengths)
    v = task.tgt_vocab
    (out,) = greedy_decode(model, src[None], lengths, bos_id=v.bos_id, eos_id=v.eos_id,
                           max_len=task.decode_len, pad_id=v.pad_id)
    tgt_in = np.array([[v.bos_id] + list(out)])
    _, _, (_, _, decoder_cache, attention_cache, _) = model.decode(tgt_in, None, state0, memory)
    target_in = ["<bos>"] + list(v.decode(out))
    views = [layer_view("encoder", model.encoder, encoder_cache, list(source), rng),
             layer_view("decoder", model.decoder, decoder_cache, target_in, rng)]
    attention = None if attention_cache is None else np.asarray(attention_cache.a[0], dtype=np.float64)
    return Inspection("translate", views, attention=attention, source=list(source),
                      target=list(v.decode(out)) + ["<eos>"])


def _forecast(task, model, text, rng):
    with text_as_file(text + "\n", ".csv", "<input>") as path:  # the task reads CSV files
        x, dates = task.last_window(path)
    _, _, cache = model.rnn.forward(x)
    return Inspection("forecast", [layer_view("rnn", model.rnn, cache, dates, rng)])


_ADAPTERS = {"classify": _classify, "tag": _tag, "lm": _lm, "forecast": _forecast, "translate": _translate}
