"""A trained classifier (``rnnlab train classify``) as one ONNX graph.

Inputs and outputs (N sequences, T steps, padded; D series dimensions, C classes)::

    x        (N, T) int64 token ids (text)  |  (N, T, D) float32 raw values (a .ts series)
    lengths  (N,) int64, each in 1..T
    probs    (N, C) float32, softmax of the class scores; class k is labels[k]

Inside, as ``SequenceClassifier.logits`` after ``ClassifyTask.encode_inputs``::

    x, lengths = x[:, :max_len], min(lengths, max_len)      the task's cut
    e = E[x]   |   e = float32((float64(x) - mean) / std)    embedding, or the training statistics
    out, state = RNN(e, lengths)                             ONNX LSTM / GRU / RNN per layer
    z = final h of the last layer | mean | max of out over each sequence's own steps
    probs = softmax(z W + b)
"""

from __future__ import annotations

import numpy as np
import onnx

from rnnlab.export.graph import Graph
from rnnlab.export.metadata import props, tokenizer, vocab_rule
from rnnlab.export.recurrent import final_hidden, recurrent


def export_classifier(task, model) -> dict[str, onnx.ModelProto]:
    """{"": the model}: the classifier's one graph."""
    meta, config = task.meta, task.config
    numeric = meta["kind"] == "ts"
    g = Graph("rnnlab_classify")
    if numeric:
        x = g.input("x", np.float32, ["N", "T", meta["input_size"]],
                    "raw series values, zero after each sequence's end (standardised inside)")
    else:
        x = g.input("x", np.int64, ["N", "T"], "token ids (metadata `vocab`), 0 after each sequence's end")
    lengths = g.input("lengths", np.int64, ["N"], "each sequence's number of steps, 1..T")
    x, lengths = g.cut(x, lengths, config.max_len)
    if numeric:
        e = standardised(g, x, meta["standardizer"])
    else:
        e = g.op("Gather", g.weight("embed.E", model.embed.params["E"]), x, hint="embed")
    rnn = recurrent(g, model.rnn, g.time_major(e), "rnn", lengths)
    if model.pool == "last":
        z = final_hidden(g, rnn.top)
    else:
        z = pooled(g, g.batch_first(rnn.y), lengths, model.pool)
    logits = g.linear(z, model.head.params["W"], model.head.params["b"], "head")
    probs = g.op("Softmax", logits, axis=-1, hint="probs")
    labels = meta["labels"]["tokens"]
    g.output(probs, "probs", np.float32, ["N", len(labels)], "class probabilities; class k is labels[k]")

    if numeric:
        rules = {"kind": "series", "input_size": meta["input_size"], "max_len": config.max_len,
                 "rule": "x[n, t] holds step t of series n in its own units, as the .ts file gives it; "
                         "the graph standardises with the training statistics and reads at most max_len steps"}
        extra = {}
    else:
        rules = {"kind": "text", **tokenizer(config.tokens), "max_len": config.max_len,
                 "ids": vocab_rule(), "empty": "a text without any token reads as one <unk>",
                 "cut": "the graph reads at most max_len tokens"}
        extra = {"vocab": meta["vocab"]["tokens"]}
    doc = ("rnnlab classify: x, lengths -> probs (N, C). "
           f"{model.rnn!r}, pool {model.pool}.")
    return {"": g.model(doc, props("classify", "model", labels=labels, preprocessing=rules, **extra))}


def standardised(g: Graph, x: str, stats: dict) -> str:
    """float32((x - mean) / std), computed in float64 as ``Standardizer.transform`` is."""
    mean = g.weight("standardizer.mean", np.asarray(stats["mean"], dtype=np.float64))
    std = g.weight("standardizer.std", np.asarray(stats["std"], dtype=np.float64))
    x64 = g.op("Cast", x, to=onnx.TensorProto.DOUBLE, hint="x64")
    z = g.op("Div", g.op("Sub", x64, mean), std, hint="standardised64")
    return g.op("Cast", z, to=onnx.TensorProto.FLOAT, hint="standardised")


def pooled(g: Graph, out: str, lengths: str, mode: str) -> str:
    """out (N, T, F) -> (N, F): the mean or max over each sequence's own steps (``layers/pooling.py``)."""
    real = g.op("Unsqueeze", g.steps_before(lengths, g.dim(out, 1)), g.ints("axis2", [2]))  # (N, T, 1)
    if mode == "mean":
        total = g.op("ReduceSum", g.op("Where", real, out, g.weight("zero_f", np.float32(0))),
                     g.ints("axis1", [1]), keepdims=0)
        count = g.op("Cast", g.op("Unsqueeze", lengths, g.ints("axis1", [1])), to=onnx.TensorProto.FLOAT)
        return g.op("Div", total, count, hint="pool_mean")
    if mode == "max":
        masked = g.op("Where", real, out, g.weight("minus_inf", np.float32(-np.inf)))
        return g.op("ReduceMax", masked, axes=[1], keepdims=0, hint="pool_max")
    raise ValueError(f"pooling mode must be 'last', 'mean' or 'max', got {mode!r}")
