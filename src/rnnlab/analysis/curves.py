"""Learning curves from a run's log.jsonl: training loss and the dev metric per epoch."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_learning_curves(log_path: Path, out_path: Path, metric: str) -> None:
    records = [json.loads(line) for line in Path(log_path).read_text().splitlines() if line.strip()]
    epochs = [r["epoch"] for r in records]
    fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(10, 3.8))
    ax_loss.plot(epochs, [r["train_loss"] for r in records], marker="o", label="train")
    if "dev_loss" in records[0]:
        ax_loss.plot(epochs, [r["dev_loss"] for r in records], marker="o", label="dev")
    ax_loss.set(title="Loss", xlabel="epoch", ylabel="loss (mean per prediction)")
    ax_loss.legend()
    ax_metric.plot(epochs, [r[f"dev_{metric}"] for r in records], marker="o", color="tab:green")
    ax_metric.set(title=f"Dev {metric}", xlabel="epoch", ylabel=metric)
    for ax in (ax_loss, ax_metric):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_path, dpi=110)
    plt.close(fig)
