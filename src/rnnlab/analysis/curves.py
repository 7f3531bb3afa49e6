"""Learning curves from a run's log.jsonl: training loss and the dev metric per epoch."""

from __future__ import annotations

import json
from pathlib import Path

from rnnlab.analysis.plotting import plt
from rnnlab.atomic import atomic_write
from rnnlab.data.errors import data_error


def read_log(log_path: Path) -> list[dict]:
    """The records of a log.jsonl; a line that is not a JSON record is a DataError naming it."""
    records = []
    for number, line in enumerate(Path(log_path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise data_error(log_path, f"not a JSON record ({exc})", number) from None
        if not isinstance(record, dict) or "epoch" not in record:
            raise data_error(log_path, "not an epoch record", number)
        records.append(record)
    return records


def plot_learning_curves(log_path: Path, out_path: Path, metric: str) -> None:
    records = read_log(log_path)
    if not records:
        return
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
    atomic_write(Path(out_path), lambda fh: fig.savefig(fh, format="png", dpi=110), Path(out_path).name)
    plt.close(fig)
