"""Figures and one self-contained HTML page for ``rnnlab inspect`` (see ``inspect.py``)."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np

from rnnlab.analysis.inspect import Inspection, LayerView
from rnnlab.analysis.tour_figures import cell_state_limit, plt, save
from rnnlab.errors import ConfigError

MAX_UNITS = 64  # heatmaps show at most this many units (the most active), to stay legible
MAX_LABELS = 80  # label the time axis with the tokens up to this many steps
STRIP_CELLS = 8


def _time_axis(ax, tokens: list[str]) -> None:
    if len(tokens) <= MAX_LABELS:
        shown = ["\u23ce" if t == "\n" else t if t.strip() else "\u2423" for t in tokens]  # visible \n, space
        ax.set_xticks(range(len(tokens)), shown, fontsize=7 if len(tokens) > 40 else 8,
                      rotation=90 if max(map(len, shown)) > 2 else 0)
        ax.set_xlabel("input at each step")
    else:
        ax.set_xlabel("time step t")


def activity_figure(path: Path, view: LayerView) -> None:
    """Units x time heatmaps: i, f, o, c for an LSTM; r, z, h for a GRU; h for an RNN."""
    names = {"lstm": ["i", "f", "o", "c"], "gru": ["r", "z", "h"]}.get(view.cell, ["h"])
    first = view.activity[names[-1]]
    units = np.argsort(-first.std(axis=0), kind="stable")[:MAX_UNITS]
    rows = len(names)
    width = min(16, max(8, 0.14 * len(view.tokens) + 3))
    fig, axes = plt.subplots(rows, 1, figsize=(width, 2.6 * rows + 0.6), squeeze=False)
    titles = {"i": "input gate i", "f": "forget gate f", "o": "output gate o", "c": "cell state c",
              "r": "reset gate r", "z": "update gate z (1 keeps h_{t-1})", "h": "hidden state h"}
    for ax, name in zip(axes[:, 0], names):
        data = view.activity[name][:, units].T
        extend = "neither"
        if name == "c":  # unbounded: a scale robust to one large unit, colours saturate beyond it
            limit, extend = cell_state_limit(data), "both"
        elif name == "h":
            limit = float(np.abs(data).max()) or 1.0
        if name in ("c", "h"):
            image = ax.imshow(data, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
            label = "activation"
        else:
            image = ax.imshow(data, aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
            label = "gate (0 closed, 1 open)"
        fig.colorbar(image, ax=ax, fraction=0.03, pad=0.01, label=label, extend=extend)
        ax.set(title=f"{view.name}: {titles[name]} ({len(units)} most active of {first.shape[1]} units)",
               ylabel="unit")
        ax.grid(False)
        _time_axis(ax, view.tokens)
    save(fig, path)


def jacobian_figure(path: Path, view: LayerView) -> None:
    """G_t = ||dh_T/dh_t||_F / sqrt(H) against t."""
    width = min(16, max(8, 0.14 * len(view.tokens) + 3))
    fig, ax = plt.subplots(figsize=(width, 3.6))
    # h_t is the state after reading token t (index t - 1): plot it at that token
    ax.plot(np.arange(len(view.tokens)), view.jacobian[1:], marker="o", ms=3, color="tab:purple")
    ax.set(title=f"{view.name}: how much h_t still shapes the last state h_T "
                 f"({'exact' if view.exact else 'estimated from 32 directions'})",
           ylabel="||dh_T / dh_t||_F / sqrt(H)", yscale="log")
    _time_axis(ax, view.tokens)
    save(fig, path)


def attention_figure(path: Path, attention: np.ndarray, source: list[str], target: list[str]) -> None:
    fig, ax = plt.subplots(figsize=(min(14, 2 + 0.5 * len(source)), min(12, 1.5 + 0.4 * len(target))))
    image = ax.imshow(attention, cmap="Greys", vmin=0, vmax=1, aspect="auto")
    fig.colorbar(image, ax=ax, fraction=0.04, label="attention weight")
    ax.set_xticks(range(len(source)), source, rotation=60, ha="right")
    ax.set_yticks(range(len(target)), target)
    ax.set(title="Attention: which source words each output word read", xlabel="source token",
           ylabel="output token")
    ax.grid(False)
    save(fig, path)


def _colour(v: float) -> str:
    """tanh-range value -> a background colour: blue for -1, white for 0, red for +1."""
    v = float(np.clip(v, -1, 1))
    if v >= 0:
        return f"rgb(255,{int(255 * (1 - v))},{int(255 * (1 - v))})"
    return f"rgb({int(255 * (1 + v))},{int(255 * (1 + v))},255)"


def cell_strips(inspection: Inspection, chosen: list[int]) -> str:
    """HTML: the text once per cell, each character on its cell's activation colour."""
    view = inspection.views[0]
    values = view.activity["tanh_c" if view.cell == "lstm" else "h"]
    H = values.shape[1]
    bad = [k for k in chosen if not 0 <= k < H]
    if bad:
        raise ConfigError(f"--cell must lie in 0..{H - 1}, got {bad}")
    order = chosen + [int(k) for k in inspection.cell_order if k not in chosen][: STRIP_CELLS]
    parts = []
    for k in order:
        spans = "".join(
            f'<span style="background:{_colour(v)}" title="{v:+.2f}">'
            f'{"<br>" if ch == chr(10) else html.escape(ch)}</span>'
            for ch, v in zip(view.tokens, values[:, k]))
        score = inspection.cell_scores[k]
        parts.append(f'<h3>cell {k} <small>(interpretability {score:.3f}'
                     f'{", chosen" if k in chosen else ""})</small></h3><div class="strip">{spans}</div>')
    return "\n".join(parts)


def write_inspection(out_dir: Path, inspection: Inspection, chosen_cells: list[int] | None = None) -> Path:
    """Figures as PNG plus ``index.html`` (self-contained); returns the page's path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = []
    for view in inspection.views:
        for kind, draw in (("activity", activity_figure), ("gradient", jacobian_figure)):
            path = out_dir / f"{view.name}_{kind}.png"
            draw(path, view)
            figures.append(path)
    if inspection.attention is not None:
        path = out_dir / "attention.png"
        attention_figure(path, inspection.attention, inspection.source, inspection.target)
        figures.append(path)
    body = [f"<h1>rnnlab inspect: a {html.escape(inspection.task)} run</h1>"]
    if inspection.task == "translate":
        body.append(f"<p>Source: <code>{html.escape(' '.join(inspection.source))}</code><br>"
                    f"Output: <code>{html.escape(' '.join(inspection.target))}</code></p>")
    if inspection.cell_order is not None:
        strips = cell_strips(inspection, list(chosen_cells or []))
        (out_dir / "cells.html").write_text(_page("cells", strips), encoding="utf-8")
        body.append("<h2>Cells, most interpretable first</h2><p>Each character on the colour of the "
                    "cell's tanh(c) (red +1, white 0, blue -1); hover for the value. Order: "
                    "std x lag-1 autocorrelation of the activation (slow, wide swings first).</p>" + strips)
    for path in figures:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        body.append(f'<figure><img src="data:image/png;base64,{data}" alt="{path.name}">'
                    f"<figcaption>{path.name}</figcaption></figure>")
    page = out_dir / "index.html"
    page.write_text(_page(f"rnnlab inspect ({inspection.task})", "\n".join(body)), encoding="utf-8")
    return page


def _page(title: str, body: str) -> str:
    style = ("body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
             "img{max-width:100%;height:auto}figcaption{color:#666;font-size:.85em}"
             ".strip{font-family:ui-monospace,'DejaVu Sans Mono',monospace;line-height:1.6;white-space:pre-wrap;"
             "border:1px solid #ddd;padding:.4em}h3{margin:1em 0 .2em}")
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{style}</style></head><body>{body}</body></html>")
