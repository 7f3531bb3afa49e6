r"""A trained forecaster (``rnnlab train forecast``) as one ONNX graph.

Inputs and outputs (N windows, T steps, F = the input columns then the calendar features)::

    x         (N, T, F) float32: per step, the input columns in the CSV's own units (metadata
              `preprocessing.columns`, the target among them) followed by the calendar
              features of the step's date (`preprocessing.calendar`), zero after a window's end
    lengths   (N,) int64, each window's number of steps (the run was trained on `window`)
    forecast  (N,) float32, the target `horizon` steps after each window's last step, in the
              target's own units

Inside, as ``ForecastTask._forecasts`` and ``Forecaster.predict``::

    v     = log(1 + x) on the log columns, x elsewhere            in float64
    z     = float32((v - mean) / std)                             the training rows' statistics
    u     = (final h of RNN(z, lengths)) W + b
    y     = z[n, lengths[n] - 1, target] + u   (output "change") | u   (output "level")
    forecast = y std[target] + mean[target]
"""

from __future__ import annotations

import numpy as np
import onnx

from rnnlab.data.dates import CALENDARS
from rnnlab.export.graph import Graph
from rnnlab.export.metadata import props
from rnnlab.export.recurrent import final_hidden, recurrent


def export_forecaster(task, model) -> dict[str, onnx.ModelProto]:
    """{"": the model}: the forecaster's one graph."""
    meta, config = task.meta, task.config
    F, k = len(meta["inputs"]), meta["target_index"]
    g = Graph("rnnlab_forecast")
    x = g.input("x", np.float32, ["N", "T", F], "raw input columns then calendar features, per step")
    lengths = g.input("lengths", np.int64, ["N"], "each window's number of steps, 1..T")
    v = g.op("Cast", x, to=onnx.TensorProto.DOUBLE, hint="x64")
    log_columns = [name.strip() for name in config.log_columns.split(",") if name.strip()]
    logged = [meta["columns"].index(name) for name in log_columns]
    if logged:
        which = np.zeros(F, dtype=bool)
        which[logged] = True
        log1p = g.op("Log", g.op("Add", v, g.weight("one_f64", np.float64(1))), hint="log1p")
        v = g.op("Where", g.weight("log_columns", which), log1p, v, hint="logged")
    mean = np.asarray(meta["standardizer"]["mean"], dtype=np.float64)
    std = np.asarray(meta["standardizer"]["std"], dtype=np.float64)
    z = g.op("Div", g.op("Sub", v, g.weight("standardizer.mean", mean)), g.weight("standardizer.std", std))
    z = g.op("Cast", z, to=onnx.TensorProto.FLOAT, hint="standardised")
    rnn = recurrent(g, model.rnn, g.time_major(z), "rnn", lengths)
    u = g.linear(final_hidden(g, rnn.top), model.head.params["W"], model.head.params["b"], "head")
    y = g.op("Squeeze", u, g.ints("axis1", [1]), hint="change")  # (N,)
    if model.output == "change":  # the target's last observed value, at each window's own last step
        target = g.op("Gather", z, g.ints("target_index", k), axis=2, hint="target_steps")  # (N, T)
        last = g.op("Unsqueeze", g.op("Sub", lengths, g.ints("one", 1)), g.ints("axis1", [1]))
        base = g.op("Squeeze", g.op("GatherElements", target, last, axis=1), g.ints("axis1", [1]), hint="base")
        y = g.op("Add", base, y, hint="level")
    units = g.op("Add", g.op("Mul", g.op("Cast", y, to=onnx.TensorProto.DOUBLE), g.weight("target_std", std[k])),
                 g.weight("target_mean", mean[k]))
    forecast = g.op("Cast", units, to=onnx.TensorProto.FLOAT, hint="forecast")
    g.output(forecast, "forecast", np.float32, ["N"], f"{config.target} {config.horizon} step(s) after each window")

    rules = {"kind": "series", "columns": meta["columns"], "target": config.target,
             "calendar": list(CALENDARS[config.calendar]), "inputs": meta["inputs"],
             "log_columns": log_columns, "window": config.window, "horizon": config.horizon,
             "date_format": meta["date_format"],
             "rule": "x[n, t] = the values of `columns` on one row of the CSV (in time order), then the "
                     "calendar features of its date: year_sin, year_cos = sin, cos(2 pi d / Y) with d the "
                     "days since 1 January (fractional) and Y the days of that year; day_sin, day_cos = "
                     "sin, cos(2 pi s / 86400) with s the seconds since midnight. The graph takes "
                     "log(1 + x) of `log_columns` and standardises with the training statistics."}
    doc = f"rnnlab forecast: x, lengths -> forecast (N,) of {config.target}. {model.rnn!r}, output {model.output}."
    return {"": g.model(doc, props("forecast", "model", preprocessing=rules))}
