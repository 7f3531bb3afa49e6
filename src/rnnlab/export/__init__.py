"""Export a trained run to ONNX (``rnnlab export DIR --out model.onnx``), for onnxruntime or
any other ONNX runtime.

The graphs are built with the ``onnx`` package's own builders and use ONNX's LSTM, GRU and
RNN operators (``recurrent.py`` says how our weights map onto theirs). Every graph has the
same contract: it takes the inputs as ``rnnlab predict`` reads them, with the arithmetic
part of the preprocessing inside the graph, and says in its ``metadata_props``
(``metadata.py``) what the caller must do before:

    task       inputs                                         outputs
    classify   x (N, T) int64 token ids | (N, T, D) float32    probs (N, C)
               raw series values; lengths (N,) int64
    tag        x (N, T) int64 word ids; chars (N, T, L) int64   probs (N, T, K)
               each word's character ids; lengths (N,)
    forecast   x (N, T, F) float32 raw column values and        forecast (N,) float32, in the
               calendar features; lengths (N,)                  target's own units
    lm         x (N, T) int64 character ids; lengths (N,);      probs, log_probs (N, T, V);
               h_in [, c_in] (L, N, H) the state                h_out [, c_out] (L, N, H)
    translate  encoder: x (N, T) int64 source ids; lengths      memory (N, T, H), memory_lengths (N,),
                                                                h_out [, c_out] (L, N, H)
               decoder: y (N,) int64 the previous target        probs, log_probs (N, V);
               token; h_in [, c_in]; memory; memory_lengths     h_out [, c_out]

Padded batches: positions past a sequence's length are never read (the recurrent operators
take ``sequence_lens``), so they do not change any real position's result.

``onnx`` (and ``onnxruntime``, to run the result) are the optional extra ``rnnlab[onnx]``;
nothing else in rnnlab needs them, and they are imported only when exporting.
"""

from __future__ import annotations

from pathlib import Path

from rnnlab.errors import CommandError, RnnlabError

INSTALL = "pip install 'rnnlab[onnx]'"


class OnnxMissing(RnnlabError):
    """The optional ``onnx`` package is not installed."""


def require_onnx() -> None:
    """Import ``onnx`` or say in one line how to install it."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise OnnxMissing(f"rnnlab export needs the onnx package: {INSTALL}") from None


def export_model(task, model) -> dict:
    """The ONNX model(s) of a loaded run: {"": model}, or {"encoder": ..., "decoder": ...}
    for a translator. Each is checked with ``onnx.checker`` (full check)."""
    require_onnx()
    if task.name == "classify":
        from rnnlab.export.classify import export_classifier as build
    elif task.name == "tag":
        from rnnlab.export.tag import export_tagger as build
    elif task.name == "forecast":
        from rnnlab.export.forecast import export_forecaster as build
    elif task.name == "lm":
        from rnnlab.export.lm import export_language_model as build
    elif task.name == "translate":
        from rnnlab.export.translate import export_translator as build
    else:
        raise CommandError(f"rnnlab export knows the tasks classify, tag, forecast, lm and translate, "
                           f"not '{task.name}'")
    return build(task, model)


def output_paths(out: str | Path, parts) -> dict[str, Path]:
    """Where each part is written: ``out`` itself for a single graph; ``stem.encoder.onnx``
    and ``stem.decoder.onnx`` beside it for a translator."""
    out = Path(out)
    if out.suffix != ".onnx":
        raise CommandError(f"--out must name a .onnx file, got {str(out)!r}")
    return {part: out if not part else out.with_name(f"{out.stem}.{part}.onnx") for part in parts}


def export_run(run_dir: str | Path, out: str | Path) -> list[Path]:
    """Export the best checkpoint of ``run_dir`` to ``out`` (see ``output_paths``); returns the
    files written. Each is written whole or not at all."""
    from rnnlab.atomic import atomic_write
    from rnnlab.train.run import load_run

    require_onnx()
    output_paths(out, [""])  # a bad --out is refused before the run is read
    task, model = load_run(run_dir)
    models = export_model(task, model)
    paths = output_paths(out, models)
    for part, m in models.items():
        data = m.SerializeToString()
        atomic_write(paths[part], lambda fh, data=data: fh.write(data), what="ONNX model")
    return list(paths.values())
