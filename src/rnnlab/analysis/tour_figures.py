"""Figures of the lecture tour, sections 1-4 (``tour_figures_memory.py`` draws 5-7).

Each function takes what a section measured and writes one PNG: a title, labelled axes
with units, sized to be read at a normal page width (about 1000 px wide).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np  # noqa: E402

from rnnlab.analysis.plotting import plt

DPI = 110
COLOURS = {"tanh": "tab:blue", "relu": "tab:red", "sigmoid": "tab:green",
           "rnn": "tab:orange", "lstm": "tab:purple", "gru": "tab:cyan", "mlp": "tab:gray"}
plt.rcParams.update({"font.size": 10, "axes.titlesize": 11, "legend.fontsize": 9,
                     "axes.grid": True, "grid.alpha": 0.3})


def save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def cell_state_limit(values: np.ndarray) -> float:
    """Colour-scale limit for cell states: the 95th percentile of |c|, so that one unit that
    counts up to large values does not wash out all the others (beyond it colours saturate)."""
    return float(np.percentile(np.abs(values), 95)) or 1.0


def order_curves(path: Path, curves: dict, chance: float) -> None:
    """Section 1: held-out accuracy against training step, one line per model."""
    fig, ax = plt.subplots(figsize=(8, 3.6))
    for (label, curve), colour in zip(curves.items(), (COLOURS["mlp"], COLOURS["tanh"])):
        ax.plot(curve.eval_steps, curve.scores, marker="o", ms=3, label=label, color=colour)
    ax.axhline(chance, color="black", ls="--", lw=1, label=f"chance ({chance:g})")
    ax.set(title="Same words, different order: is x before y?", xlabel="training step (batches of 64)",
           ylabel="held-out accuracy", ylim=(0.3, 1.02))
    ax.legend(loc="center right")
    save(fig, path)


def shared_weights(path: Path, lengths: np.ndarray, rnn_params: np.ndarray, mlp_params: np.ndarray,
                   eval_lengths: np.ndarray, accuracy: np.ndarray, train_lengths: tuple[int, int]) -> None:
    """Section 2: parameter count against length; accuracy against test length."""
    fig, (ax_p, ax_a) = plt.subplots(1, 2, figsize=(10, 3.8))
    ax_p.plot(lengths, mlp_params, marker="o", ms=3, color=COLOURS["mlp"], label="MLP over the whole window")
    ax_p.plot(lengths, rnn_params, marker="o", ms=3, color=COLOURS["tanh"], label="RNN (one cell, shared)")
    ax_p.set(title="Parameters against sequence length", xlabel="sequence length T (steps)",
             ylabel="number of parameters")
    ax_p.legend()
    ax_a.axvspan(*train_lengths, color="tab:blue", alpha=0.08, label="lengths seen in training")
    ax_a.plot(eval_lengths, accuracy, marker="o", color=COLOURS["tanh"], label="tanh RNN")
    ax_a.axhline(0.5, color="black", ls="--", lw=1, label="chance (0.5)")
    ax_a.set(title=f"Trained on T = {train_lengths[0]}-{train_lengths[1]}, tested on longer", xlabel="test sequence length T (steps)",
             ylabel="held-out accuracy", ylim=(0.3, 1.02))
    ax_a.legend(loc="lower left")
    save(fig, path)


def nonlinearities(path: Path, state_norms: dict, grad_norms: dict, curves: dict, steps: int,
                   gain: float) -> None:
    """Section 3: ||h_t|| and ||dL/dh_t|| over time at initialisation (keys (name, gain);
    ``gain`` solid, 1 dashed); training loss of each nonlinearity at ``gain``."""
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    for (name, g), norms in state_norms.items():
        axes[0].plot(np.arange(1, len(norms) + 1), norms, color=COLOURS[name], ls="-" if g == gain else "--",
                     label=f"{name}, gain {g:g}")
    axes[0].set(title="Hidden state at initialisation", xlabel="time step t",
                ylabel="||h_t|| (mean over 256 sequences)", yscale="log")
    for (name, g), norms in grad_norms.items():
        axes[1].plot(np.arange(len(norms)), norms, color=COLOURS[name], ls="-" if g == gain else "--",
                     label=f"{name}, gain {g:g}")
    axes[1].set(title="Gradient sent back from the last step", xlabel="time step t",
                ylabel="||dL/dh_t|| (mean over 256 sequences)", yscale="log")
    for name, curve in curves.items():
        loss = np.asarray(curve.loss)
        axes[2].plot(np.arange(1, len(loss) + 1), loss, color=COLOURS[name], lw=1, label=name)
        if curve.diverged_at is not None:
            last = loss[-1] if len(loss) else 1.0
            axes[2].plot([curve.diverged_at], [last], marker="X", ms=11, color=COLOURS[name], ls="none",
                         label=f"{name}: not finite at step {curve.diverged_at}")
    axes[2].set(title=f"Training at gain {gain:g} (Adam, no clipping)", xlabel="training step",
                ylabel="training loss (nats)", yscale="log", xlim=(0, steps))
    axes[0].legend(fontsize=8, ncol=2)
    axes[1].legend(fontsize=8, ncol=2)
    axes[2].legend()
    save(fig, path)


def vanishing(path: Path, grad_norms: dict, k: int) -> None:
    """Section 4a: ||dL/dh_t|| / ||dL/dh_T|| against t, RNN vs LSTM (and GRU), at initialisation
    and trained; ``grad_norms`` (cell, when) -> (T + 1,)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    cells = list(dict.fromkeys(cell for cell, _ in grad_norms))
    for ax, when in zip(axes, ("at initialisation", "after training")):
        for cell in cells:
            norms = grad_norms[(cell, when)]
            ax.plot(np.arange(len(norms)), norms, color=COLOURS[cell], label=cell.upper())
        ax.set(title=f"Gradient on h_t, {when} (k = {k})", xlabel="time step t (loss at the last step)",
               ylabel="||dL/dh_t|| / ||dL/dh_T||", yscale="log")
        ax.legend()
    save(fig, path)


def distance_accuracy(path: Path, distances: np.ndarray, accuracy: dict, chance: float) -> None:
    """Section 4b: accuracy of recalling the first symbol against dependency distance k;
    ``accuracy`` cell -> (distances, runs): the line is the mean, the dots single runs."""
    fig, ax = plt.subplots(figsize=(8, 3.6))
    offsets = np.linspace(-0.4, 0.4, len(accuracy))  # the runs' dots of each cell side by side
    for offset, (cell, acc) in zip(offsets, accuracy.items()):
        ax.plot(distances, acc.mean(axis=1), color=COLOURS[cell], lw=1.8, label=f"{cell.upper()} (mean)")
        runs = acc.shape[1]
        ax.plot(np.repeat(distances + offset, runs), acc.ravel(), ls="none", marker="o", ms=5,
                color=COLOURS[cell], alpha=0.6, label=f"{cell.upper()}, each of {runs} run(s)")
    ax.axhline(chance, color="black", ls="--", lw=1, label=f"chance ({chance:.3f})")
    ax.set(title="Recall the first symbol after k steps (models trained per k)",
           xlabel="dependency distance k (steps)", ylabel="held-out accuracy", ylim=(0, 1.02))
    ax.legend(fontsize=8, loc="lower left")
    save(fig, path)
