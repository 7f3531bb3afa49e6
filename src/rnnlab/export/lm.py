r"""A trained character language model (``rnnlab train lm``) as one ONNX graph that reads any
number of steps from a given state and returns the state after them: with T = 1 it is one
step of generation, looped by the caller; with the whole prime it warms the state at once.

Inputs and outputs (N streams, T steps, L layers, H hidden, V characters)::

    x          (N, T) int64 character ids (metadata `vocab`: character i has id i)
    lengths    (N,) int64, each row's number of steps, 1..T
    h_in       (L, N, H) float32 the state to start from (zeros at the start of a text)
    c_in       (L, N, H) float32 the LSTM's cell state (LSTM only)
    probs      (N, T, V) float32 the distribution of the character after each step
    log_probs  (N, T, V) float32 its logarithm (for scoring text)
    h_out, c_out  (L, N, H) the state after each row's own last step: the next call's h_in, c_in

As ``CharLM.logits(x, carry, lengths)``: e = E[x]; h, state = RNN(e, lengths, state);
probs = softmax(h W + b).
"""

from __future__ import annotations

import numpy as np
import onnx

from rnnlab.export.graph import Graph
from rnnlab.export.metadata import props
from rnnlab.export.recurrent import recurrent, state_inputs, state_outputs


def export_language_model(task, model) -> dict[str, onnx.ModelProto]:
    """{"": the model}: the language model's step graph."""
    g = Graph("rnnlab_lm")
    x = g.input("x", np.int64, ["N", "T"], "character ids (metadata `vocab`)")
    lengths = g.input("lengths", np.int64, ["N"], "each row's number of steps, 1..T")
    state = state_inputs(g, model.rnn, "the state to start from; zeros at the start of a text")
    e = g.op("Gather", g.weight("embed.E", model.embed.params["E"]), x, hint="embed")
    rnn = recurrent(g, model.rnn, g.time_major(e), "rnn", lengths, state)
    logits = g.linear(g.batch_first(rnn.y), model.head.params["W"], model.head.params["b"], "head")
    V = len(task.meta["chars"])
    g.output(g.op("Softmax", logits, axis=-1), "probs", np.float32, ["N", "T", V],
             "the distribution of the next character after each step")
    g.output(g.op("LogSoftmax", logits, axis=-1), "log_probs", np.float32, ["N", "T", V],
             "log of probs, for scoring text")
    state_outputs(g, model.rnn, rnn.states, "the state after each row's own last step (feed it back as *_in)")

    rules = {"kind": "characters", "ids": "character i of `vocab` has id i; there is no <unk>: a text "
                                          "may hold only these characters",
             "state": "start from zeros; feed h_out (and c_out) back as h_in (and c_in) to continue",
             "scoring": "rnnlab predict scores a line as the mean -log p of its characters and the "
                        "newline after it, read from the zero state after a newline"}
    doc = f"rnnlab lm: x, lengths, state -> probs, log_probs (N, T, V), state. {model.rnn!r}."
    return {"": g.model(doc, props("lm", "model", vocab=task.meta["chars"], preprocessing=rules))}
