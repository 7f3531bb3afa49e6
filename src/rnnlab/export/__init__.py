"""Export a trained run to ONNX, for onnxruntime or any other ONNX runtime.

The graphs are built with the ``onnx`` package's own builders (``graph.py``) and use ONNX's
LSTM, GRU and RNN operators (``recurrent.py`` says how our weights map onto theirs).
``onnx`` (and ``onnxruntime``, to run the result) are the optional extra ``rnnlab[onnx]``;
nothing else in rnnlab needs them.
"""
