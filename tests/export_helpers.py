"""What the export tests share: training a small run, exporting it through the command, and
preparing inputs the way a program without rnnlab would, from the metadata alone."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from rnnlab.cli import main

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def onnxruntime():
    """The onnxruntime module; the test is skipped, with the reason, without onnx or onnxruntime."""
    pytest.importorskip("onnx", reason="onnx is not installed (pip install 'rnnlab[onnx]')")
    return pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install 'rnnlab[onnx]')")


def need(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"the shared datasets are not at {DATA}")


def train(task: str, out: Path, *options: str) -> Path:
    """A run of 2 epochs (the caller gives the tiny sizes), for a test that exports it: skipped
    before training without onnx or onnxruntime."""
    onnxruntime()
    assert main(["train", task, "--out", str(out), "--epochs", "2", "--lr", "0.01", *options]) == 0
    return out


def export(run: Path, capsys) -> tuple[object, dict]:
    """(an onnxruntime session of ``rnnlab export RUN --out RUN/model.onnx``, its metadata
    with the JSON values decoded)."""
    ort = onnxruntime()
    capsys.readouterr()
    assert main(["export", str(run), "--out", str(run / "model.onnx")]) == 0
    assert capsys.readouterr().out == f"wrote {run / 'model.onnx'}\n"
    session = ort.InferenceSession(str(run / "model.onnx"), providers=["CPUExecutionProvider"])
    return session, decoded(session)


def decoded(session) -> dict:
    """A session's metadata_props, JSON values decoded."""
    props = session.get_modelmeta().custom_metadata_map
    return {k: v if k in ("task", "graph", "rnnlab_version") else json.loads(v) for k, v in props.items()}


def outputs(session, feeds: dict) -> dict:
    """A session's outputs by name."""
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))


def predicted(run: Path, path: Path, capsys) -> list[str]:
    """What ``rnnlab predict RUN PATH`` prints, line by line."""
    capsys.readouterr()
    assert main(["predict", str(run), str(path)]) == 0
    return capsys.readouterr().out.splitlines()


def sentencepiece_model(encoded: str):
    """A SentencePiece processor from a base64 entry of the metadata's ``subwords``."""
    import base64

    import sentencepiece

    return sentencepiece.SentencePieceProcessor(model_proto=base64.b64decode(encoded))


def encode_text(text: str, rules: dict, vocab: list[str], subwords: str | None = None) -> list[int]:
    """A text's token ids by the metadata's rules (``preprocessing``, ``vocab``, and for
    subword units the side's ``subwords`` entry) alone."""
    text = text.lower()
    if rules["tokens"] == "word":
        tokens = re.findall(rules["pattern"], text)
    elif rules["tokens"] == "subword":
        tokens = sentencepiece_model(subwords).encode(text.strip(), out_type=str)
    else:
        tokens = list(re.sub(rules["whitespace"], " ", text).strip())
    ids = {token: i for i, token in enumerate(vocab)}
    return [ids.get(t, 1) for t in tokens] or [1]


def garbage_padding(x: np.ndarray, lengths: np.ndarray, value) -> np.ndarray:
    """x with every position past a sequence's end set to ``value``: never read, so harmless."""
    x = x.copy()
    x[np.arange(x.shape[1])[None, :] >= lengths[:, None]] = value
    return x
