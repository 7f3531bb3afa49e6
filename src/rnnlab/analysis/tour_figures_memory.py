"""Figures of the lecture tour, sections 5 and 7: LSTM gates, weather (``tour_figures_seq2seq.py``
draws section 6).

Same conventions as ``tour_figures.py``: one PNG per call, titles, axis labels with units,
about 1000 px wide.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnlab.analysis.tour_figures import COLOURS, cell_state_limit, plt, save


def gate_heatmaps(path: Path, maps: dict, order: np.ndarray, n_memory: int, tokens: list[str],
                  store: int) -> None:
    """Section 5: units x time heatmaps of one sequence; ``maps`` name -> (T, H).

    Units are drawn in ``order`` (memory units first, above the white line); the dashed
    line marks the stored symbol's step.
    """
    fig, axes = plt.subplots(2, 2, figsize=(12, 7.2))
    T = len(tokens)
    for ax, (name, values) in zip(axes.flat, maps.items()):
        data = values[:, order].T  # (H, T), memory units on top
        if name.startswith("cell"):
            limit = cell_state_limit(data)
            image = ax.imshow(data, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit,
                              interpolation="nearest")
        else:
            image = ax.imshow(data, aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
        fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02,
                     extend="both" if name.startswith("cell") else "neither",
                     label="activation (saturates beyond the scale)" if name.startswith("cell")
                     else "gate value (0 = closed, 1 = open)")
        ax.axhline(n_memory - 0.5, color="white", lw=1.5)
        ax.axvline(store, color="black", ls="--", lw=1.2)
        ax.set_xticks(range(T), tokens, fontsize=8, family="monospace")
        ax.set(title=f"{name} (memory units above the white line)", xlabel="input symbol at each step",
               ylabel="hidden unit (sorted)")
        ax.set_yticks([0, n_memory - 1, data.shape[0] - 1])
        ax.grid(False)
    fig.suptitle(f"LSTM gates over one held-out sequence; dashed line: the stored symbol '{tokens[store]}' "
                 f"(step {store})", fontsize=11)
    save(fig, path)


def forget_products(path: Path, survival: np.ndarray, memory: np.ndarray, others: np.ndarray, store: int,
                    steps_after: np.ndarray, aligned: np.ndarray, T: int,
                    latch_aligned: np.ndarray | None = None) -> None:
    """Section 5: prod f along the cell path from the stored symbol's step.

    survival (T, H) of one sequence (NaN before ``store``); aligned (D, N, H) the same for
    every held-out sequence, indexed by steps since storage; latch_aligned (D, N, M) the
    same for the memory units of the LSTM trained from forget-gate bias 1, if given.
    """
    fig, (ax_one, ax_all) = plt.subplots(1, 2, figsize=(11, 3.9))
    t = np.arange(store, T)
    for k, unit in enumerate(memory):
        ax_one.plot(t, survival[store:, unit], color=COLOURS["lstm"], alpha=0.9, lw=1.6,
                    label="memory units (chrono init)" if k == 0 else None)
    rest = survival[store:, others]
    ax_one.plot(t, np.nanmedian(rest, axis=1), color=COLOURS["mlp"], lw=1.6, label="other units (median)")
    ax_one.fill_between(t, np.nanpercentile(rest, 10, axis=1), np.nanpercentile(rest, 90, axis=1),
                        color=COLOURS["mlp"], alpha=0.2, label="other units (10-90%)")
    ax_one.axvline(store, color="black", ls="--", lw=1)
    ax_one.set(title="One sequence: what is left of c at the stored step", xlabel="time step t",
               ylabel=r"$f_{s+1} \cdots f_t$ (fraction of $c_s$ kept)", xlim=(0, T - 1), ylim=(0, 1.05))
    ax_one.legend(loc="lower left")
    lines = [(aligned[:, :, memory], COLOURS["lstm"], "memory units (chrono init)"),
             (aligned[:, :, others], COLOURS["mlp"], "other units")]
    if latch_aligned is not None:
        lines.append((latch_aligned, COLOURS["rnn"], "memory units, LSTM from forget bias 1"))
    for unit_values, colour, label in lines:
        values = unit_values.reshape(len(steps_after), -1)
        ok = np.isfinite(values).sum(axis=1) > 0
        ax_all.plot(steps_after[ok], np.nanmean(values[ok], axis=1), color=colour, lw=1.8, label=f"{label} (mean)")
        ax_all.fill_between(steps_after[ok], np.nanpercentile(values[ok], 10, axis=1),
                            np.nanpercentile(values[ok], 90, axis=1), color=colour, alpha=0.2)
    ax_all.set(title="All held-out sequences (band: 10-90%)", xlabel="steps since the stored symbol, d",
               ylabel=r"$f_{s+1} \cdots f_{s+d}$ (fraction of $c_s$ kept)", ylim=(0, 1.05))
    ax_all.legend(loc="center right", fontsize=8)
    save(fig, path)


def weather(path: Path, actual: np.ndarray, predictions: dict, rmse: dict, days: int) -> None:
    """Section 7: the first ``days`` test days with forecasts; test RMSE of every model."""
    fig, (ax_s, ax_b) = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [1.6, 1]})
    d = np.arange(days)
    ax_s.plot(d, actual[:days], color="black", lw=1.8, label="actual")
    for (name, pred), colour in zip(predictions.items(), (COLOURS["mlp"], COLOURS["rnn"], COLOURS["lstm"])):
        ax_s.plot(d, pred[:days], color=colour, lw=1.2, label=name)
    ax_s.set(title="Forecasts of tomorrow, first test days", xlabel="day of the test period",
             ylabel="temperature (degrees C)")
    ax_s.legend(fontsize=8)
    names = list(rmse)
    colours = ["tab:olive", COLOURS["mlp"], "tab:brown", COLOURS["rnn"], COLOURS["lstm"]]
    bars = ax_b.barh(range(len(names)), [rmse[k] for k in names], color=colours[: len(names)])
    ax_b.bar_label(bars, fmt="%.2f", padding=3, fontsize=9)
    ax_b.set_yticks(range(len(names)), names)
    ax_b.invert_yaxis()
    ax_b.set(title="Test error (lower is better)", xlabel="RMSE (degrees C)",
             xlim=(0, max(rmse.values()) * 1.2))
    save(fig, path)
