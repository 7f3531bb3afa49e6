r"""A trained translator (``rnnlab train translate``) as two ONNX graphs: the encoder, run
once per batch of sentences, and one step of the decoder, looped by the caller (greedy
decoding or beam search, as ``models/decoding.py`` does with ``Seq2Seq.step``).

Encoder (N sentences, T source tokens, padded; L layers, H the decoder's hidden size)::

    x               (N, T) int64 source token ids (metadata `vocab`)
    lengths         (N,) int64, each sentence's number of tokens, 1..T
    memory          (N, T', H) float32 the encoder's outputs, T' = min(T, max_len)
    memory_lengths  (N,) int64, min(lengths, max_len)
    h_out [, c_out] (L, N, H) the decoder's initial state: per layer the encoder's final
                    forward and reverse states side by side (``models.seq2seq.bridge``)

Decoder step (V target tokens)::

    y               (N,) int64 the previous target token: <bos> at the first step
    h_in [, c_in]   (L, N, H) the state: the encoder's h_out [, c_out], then the last step's
    memory, memory_lengths   the encoder's (read by attention; unused without it)
    probs           (N, V) float32 the next token's distribution; log_probs its logarithm
    h_out [, c_out] the state after this step

As ``Seq2Seq.step``: d = E_tgt[y]; h, state = RNN(d, state); z = attention(h, memory,
memory_lengths) (Luong: q = h W_a or h; a = softmax over the source's own steps of q
memory^T; z = tanh([a memory, h] W_c + b_c)), or h without attention; probs = softmax(z W + b).
Greedy decoding never emits <pad> or <bos> and stops at <eos> or after
`preprocessing.max_decode_len` tokens.
"""

from __future__ import annotations

import numpy as np
import onnx

from rnnlab.export.graph import Graph
from rnnlab.export.metadata import props, tokenizer, vocab_rule
from rnnlab.export.recurrent import recurrent, state_inputs, state_outputs

DETOKENIZE = {
    "char": "characters are joined",
    "word": "words are joined by spaces, then the spaces around ' and - and before . , ! ? ; : ) removed",
    "subword": "SentencePiece's decode_pieces with the `subwords` model of side tgt (pieces joined, "
               "U+2581 becomes a space)",
}


def export_translator(task, model) -> dict[str, onnx.ModelProto]:
    """{"encoder": ..., "decoder": ...}: the translator's two graphs."""
    config = task.config
    src, tgt = task.src_vocab, task.tgt_vocab
    rules = {"kind": "text", **tokenizer(config.src_tokens), "max_len": config.max_len, "ids": vocab_rule(),
             "empty": "a sentence without any token reads as one <unk>",
             "cut": "the encoder reads at most max_len tokens",
             "target": {"tokens": config.tgt_tokens, "bos": tgt.bos_id, "eos": tgt.eos_id, "pad": tgt.pad_id,
                        "never": [tgt.pad_id, tgt.bos_id], "max_decode_len": task.decode_len,
                        "detokenize": DETOKENIZE[config.tgt_tokens]}}
    shared = dict(vocab=src.tokens, target_vocab=tgt.tokens, preprocessing=rules)
    if task.subwords:
        shared["subwords"] = {side: pieces.to_json() for side, pieces in task.subwords.items()}
    what = f"encoder {model.encoder!r}, decoder {model.decoder!r}, attention {config.attention}"
    encoder = _encoder(model, config.max_len).model(
        f"rnnlab translate, encoder: x, lengths -> memory, memory_lengths, initial state. {what}.",
        props("translate", "encoder", **shared))
    decoder = _decoder(model, len(tgt)).model(
        f"rnnlab translate, one decoder step: y, state, memory, memory_lengths -> probs, log_probs, state. {what}.",
        props("translate", "decoder", **shared))
    return {"encoder": encoder, "decoder": decoder}


def _encoder(model, max_len: int) -> Graph:
    g = Graph("rnnlab_translate_encoder")
    x = g.input("x", np.int64, ["N", "T"], "source token ids (metadata `vocab`), 0 after each sentence's end")
    lengths = g.input("lengths", np.int64, ["N"], "each sentence's number of tokens, 1..T")
    x, lengths = g.cut(x, lengths, max_len)
    e = g.op("Gather", g.weight("src_embed.E", model.src_embed.params["E"]), x, hint="src_embed")
    rnn = recurrent(g, model.encoder, g.time_major(e), "encoder", lengths)
    H = model.decoder.hidden_size
    g.output(g.batch_first(rnn.y), "memory", np.float32, ["N", "T", H], "the encoder's outputs, for attention")
    g.output(lengths, "memory_lengths", np.int64, ["N"], "the source lengths the encoder read")
    state = tuple(bridge(g, s, model.encoder) for s in rnn.states)
    state_outputs(g, model.decoder, state, "the decoder's initial state")
    return g


def bridge(g: Graph, s: str, encoder) -> str:
    """(L dirs, N, H / dirs) -> (L, N, H): per layer, the directions side by side."""
    L, dirs, Hd = encoder.num_layers, encoder.num_directions, encoder.hidden_size
    if dirs == 1:
        return s
    split = g.op("Reshape", s, g.ints("shape", [L, dirs, -1, Hd]), hint="by_layer")  # (L, dirs, N, Hd)
    joined = g.op("Transpose", split, perm=[0, 2, 1, 3])  # (L, N, dirs, Hd)
    return g.op("Reshape", joined, g.ints("shape", [0, 0, -1]), hint="bridged")


def _decoder(model, V: int) -> Graph:
    g = Graph("rnnlab_translate_decoder")
    H = model.decoder.hidden_size
    y = g.input("y", np.int64, ["N"], "the previous target token (<bos> first)")
    state = state_inputs(g, model.decoder, "the decoder's state: the encoder's h_out (c_out) at the first step")
    memory = g.input("memory", np.float32, ["N", "T", H], "the encoder's memory")
    memory_lengths = g.input("memory_lengths", np.int64, ["N"], "the encoder's memory_lengths")
    d = g.op("Gather", g.weight("tgt_embed.E", model.tgt_embed.params["E"]), y, hint="tgt_embed")  # (N, E)
    rnn = recurrent(g, model.decoder, g.op("Unsqueeze", d, g.ints("axis0", [0])), "decoder", None, state)
    h = g.batch_first(rnn.y)  # (N, 1, H)
    z = h if model.attention is None else attention(g, model.attention.params, h, memory, memory_lengths)
    logits = g.linear(g.op("Squeeze", z, g.ints("axis1", [1])), model.head.params["W"], model.head.params["b"],
                      "head")  # (N, V)
    g.output(g.op("Softmax", logits, axis=-1), "probs", np.float32, ["N", V], "the next token's distribution")
    g.output(g.op("LogSoftmax", logits, axis=-1), "log_probs", np.float32, ["N", V], "log of probs")
    state_outputs(g, model.decoder, rnn.states, "the state after this step")
    return g


def attention(g: Graph, params: dict, h: str, memory: str, memory_lengths: str) -> str:
    """Luong attention (``layers/attention.py``) of one step: h (N, 1, H) -> h_att (N, 1, H)."""
    H = params["W_c"].shape[1]
    q = g.op("MatMul", h, g.weight("attention.W_a", params["W_a"])) if "W_a" in params else h
    scores = g.op("MatMul", q, g.op("Transpose", memory, perm=[0, 2, 1]), hint="scores")  # (N, 1, T)
    real = g.op("Unsqueeze", g.steps_before(memory_lengths, g.dim(memory, 1)), g.ints("axis1", [1]))  # (N, 1, T)
    scores = g.op("Where", real, scores, g.weight("minus_inf", np.float32(-np.inf)), hint="source_scores")
    a = g.op("Softmax", scores, axis=-1, hint="attention_weights")
    context = g.op("MatMul", a, memory, hint="context")  # (N, 1, H)
    u = g.op("Add", g.op("MatMul", context, g.weight("attention.W_c_context", params["W_c"][:H])),
             g.op("MatMul", h, g.weight("attention.W_c_h", params["W_c"][H:])))
    return g.op("Tanh", g.op("Add", u, g.weight("attention.b_c", params["b_c"])), hint="h_att")
