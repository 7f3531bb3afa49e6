"""What an exported model carries besides its graph: ``metadata_props``, string keys with
JSON values, enough to turn raw text into the graph's inputs and its outputs back into
labels without rnnlab.

Every model has ``task``, ``graph`` ("model", or "encoder" / "decoder" for translate),
``rnnlab_version``, ``preprocessing`` (what the caller does before the graph; what the
graph does itself is said there too) and, as the task needs, ``labels`` (class or tag
names: output k is labels[k]), ``vocab`` (token ids: token i has id i), ``chars`` (the
tagger's character ids), ``target_vocab`` (a translator's output tokens), ``subwords``
(a translator's SentencePiece models, base64, by side "src"/"tgt", where it uses subword units).
"""

from __future__ import annotations

import json

from rnnlab import __version__
from rnnlab.data.text import WHITESPACE_RUN, WORD_PATTERN


def props(task: str, graph: str, **values) -> dict[str, str]:
    """The metadata_props of one graph: every value JSON-encoded (a string stays as it is)."""
    out = {"task": task, "graph": graph, "rnnlab_version": __version__}
    for key, value in values.items():
        out[key] = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return out


def tokenizer(level: str) -> dict:
    """How ``rnnlab.data.text.tokenize`` cuts a text, as rules another program can follow."""
    if level == "subword":
        return {"tokens": "subword", "lowercase": True, "model": "metadata `subwords`",
                "rule": "lowercase the text, strip both ends, then cut it into pieces with SentencePiece "
                        "(the `sentencepiece` package: SentencePieceProcessor(model_proto=base64-decoded "
                        "`subwords` entry of this side), encode(text, out_type=str)); every piece is a token"}
    if level == "word":
        return {"tokens": "word", "lowercase": True, "pattern": WORD_PATTERN.pattern,
                "rule": "lowercase the text, then every match of `pattern` (Python re) is a token"}
    return {"tokens": "char", "lowercase": True, "whitespace": WHITESPACE_RUN.pattern,
            "rule": "lowercase the text, replace every run of `whitespace` by one space, strip both "
                    "ends; every character is a token"}


def vocab_rule(name: str = "vocab") -> str:
    return f"a token's id is its index in `{name}`; a token not in it is <unk> (id 1); id 0 is <pad>, for padding"
