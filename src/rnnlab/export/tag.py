r"""A trained tagger (``rnnlab train tag``) as one ONNX graph, its character BiRNN included.

Inputs and outputs (N sentences, T words, L characters, all padded with 0; K tags)::

    x        (N, T) int64 word ids (metadata `vocab`, of the lowercased word when `lowercase`)
    chars    (N, T, L) int64 the character ids (metadata `chars`) of each word's spelling as
             it is written, left-aligned, 0 after its last character; a word with no
             character (it cannot come from whitespace-split text) is one <unk> (id 1)
    lengths  (N,) int64, each sentence's number of words, 1..T
    probs    (N, T, K) float32, the tag probabilities of every word; tag k is labels[k];
             rows past a sentence's length mean nothing

Our model runs its character BiRNN once per distinct form of a batch; the graph runs it
once per position (N T spellings), which gives every position the same vector::

    m       = number of non-zero ids of chars[n, t]                  the spelling's length
    chars'  = the first k/2 and last k - k/2 characters when m > k   (k = max_word_chars,
              as ``TagTask._spelling``), min(m, k) characters in all
    w       = [h_L(forward), h_1(reverse)] of charRNN(C[chars'])      (N, T, 2 Hc)
    h       = RNN([E[x], w], lengths)                                 (N, T, H dirs)
    probs   = softmax(h W + b)
"""

from __future__ import annotations

import numpy as np
import onnx

from rnnlab.export.graph import Graph
from rnnlab.export.metadata import props, vocab_rule
from rnnlab.export.recurrent import final_hidden, recurrent


def export_tagger(task, model) -> dict[str, onnx.ModelProto]:
    """{"": the model}: the tagger's one graph."""
    meta, config = task.meta, task.config
    g = Graph("rnnlab_tag")
    x = g.input("x", np.int64, ["N", "T"], "word ids (metadata `vocab`), 0 after each sentence's end")
    chars = g.input("chars", np.int64, ["N", "T", "L"],
                    "character ids (metadata `chars`) of each word's spelling, left-aligned, 0-padded")
    lengths = g.input("lengths", np.int64, ["N"], "each sentence's number of words, 1..T")
    w = spelling_vectors(g, model, chars, x, config.max_word_chars)
    e = g.op("Gather", g.weight("word_embed.E", model.word_embed.params["E"]), x, hint="word_embed")
    both = g.op("Concat", e, w, axis=2, hint="words_and_spellings")
    rnn = recurrent(g, model.rnn, g.time_major(both), "rnn", lengths)
    logits = g.linear(g.batch_first(rnn.y), model.head.params["W"], model.head.params["b"], "head")
    probs = g.op("Softmax", logits, axis=-1, hint="probs")
    labels = meta["tags"]["tokens"]
    g.output(probs, "probs", np.float32, ["N", "T", len(labels)], "tag probabilities per word; tag k is labels[k]")

    rules = {"kind": "tokens", "sentence": "whitespace-separated tokens, one sentence per line",
             "lowercase": config.lowercase, "ids": vocab_rule(),
             "word": "a word's id in `vocab` is that of the word lowercased when `lowercase` is true",
             "chars": "each character of the word as written (case kept) is looked up in `chars`, "
                      "unknown ones as <unk> (id 1)",
             "max_word_chars": config.max_word_chars,
             "spelling": "the graph keeps the first max_word_chars // 2 and the last max_word_chars - "
                         "max_word_chars // 2 characters of a longer word"}
    doc = f"rnnlab tag: x, chars, lengths -> probs (N, T, K). {model.rnn!r}; characters: {model.char_rnn!r}."
    return {"": g.model(doc, props("tag", "model", labels=labels, vocab=meta["words"]["tokens"],
                                   chars=meta["chars"]["tokens"], preprocessing=rules))}


def spelling_vectors(g: Graph, model, chars: str, x: str, k: int) -> str:
    """chars (N, T, L) -> (N, T, 2 Hc): every position's character BiRNN summary."""
    i64 = onnx.TensorProto.INT64
    m = g.op("ReduceSum", g.op("Cast", g.op("Greater", chars, g.ints("zero", 0)), to=i64),
             g.ints("axis2", [2]), keepdims=0, hint="spelling_length")  # (N, T)
    # which character fills column j of the kept spelling: j, or m - k + j in the last part
    j = g.ints("columns", np.arange(k))  # (k,)
    m_ = g.op("Unsqueeze", m, g.ints("axis2", [2]))  # (N, T, 1)
    front = g.op("Or", g.op("Less", j, g.ints("half", k // 2)), g.op("LessOrEqual", m_, g.ints("k", k)))
    source = g.op("Where", front, j, g.op("Add", g.op("Sub", m_, g.ints("k", k)), j), hint="kept_columns")
    width = g.op("Min", g.dim(chars, 2), g.ints("k1", [k]), hint="kept_width")  # min(L, k)
    source = g.op("Slice", source, g.ints("zero1", [0]), width, g.ints("axis2", [2]))  # (N, T, min(L, k))
    padded = g.op("Pad", chars, g.ints("pads", [0, 0, 0, 0, 0, k]), hint="chars_padded")  # >= k columns
    kept = g.op("GatherElements", padded, source, axis=2, hint="kept_chars")
    # one row per position; a padded position reads as one character (it is never looked at)
    rows = g.op("Reshape", kept, g.op("Concat", g.ints("minus1", [-1]), width, axis=0), hint="spellings")
    row_lengths = g.op("Reshape", g.op("Max", g.op("Min", m, g.ints("k", k)), g.ints("one", 1)),
                       g.ints("minus1", [-1]), hint="spelling_lengths")
    c = g.op("Gather", g.weight("char_embed.E", model.char_embed.params["E"]), rows, hint="char_embed")
    char_rnn = recurrent(g, model.char_rnn, g.time_major(c), "char_rnn", row_lengths)
    w = final_hidden(g, char_rnn.top)  # (N T, 2 Hc)
    shape = g.op("Concat", g.op("Shape", x), g.ints("minus1", [-1]), axis=0)  # (N, T, -1)
    return g.op("Reshape", w, shape, hint="spelling_vectors")
