"""BLEU by source length: does the decoder suffer from reading one fixed-size summary?

The plain encoder-decoder passes the whole source through the encoder's final state; with
attention the decoder reads every encoder output. Plotting test BLEU per bucket of source
length, for runs with and without attention, measures the lecture's fixed-summary
limitation. Each run writes its own table (DIR/bleu_by_length.json) and figure at the end
of training; to overlay several runs::

    python -m rnnlab.analysis.bleu_by_length runs/eng-fra runs/eng-fra-plain --out figure.png

(``DIR=LABEL`` names a run's line; by default the label is its attention setting.)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_bleu_by_length(tables: dict[str, dict], out_path: Path) -> None:
    """tables: label -> the dict of bleu_by_length.json; one line per run (beam BLEU), with
    greedy BLEU dashed, and the number of test pairs per bucket as bars below."""
    fig, (ax, ax_count) = plt.subplots(2, 1, figsize=(7, 5.2), sharex=True, height_ratios=(3, 1))
    buckets: list[str] = []
    for table in tables.values():
        for row in table["buckets"]:
            if row["words"] not in buckets:
                buckets.append(row["words"])
    x = {name: i for i, name in enumerate(buckets)}
    for k, (label, table) in enumerate(tables.items()):
        rows = table["buckets"]
        xs = [x[r["words"]] for r in rows]
        color = f"C{k}"
        ax.plot(xs, [r["bleu"] for r in rows], marker="o", color=color, label=f"{label} (beam {table['beam']})")
        ax.plot(xs, [r["bleu_greedy"] for r in rows], marker=".", ls="--", color=color, alpha=0.6,
                label=f"{label} (greedy)")
    first = next(iter(tables.values()))["buckets"]
    ax_count.bar([x[r["words"]] for r in first], [r["pairs"] for r in first], color="0.6")
    ax.set(title="Test BLEU by source length", ylabel="BLEU")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax_count.set(xlabel="source length (words)", ylabel="test pairs")
    ax_count.set_xticks(range(len(buckets)), buckets)
    fig.tight_layout()
    fig.savefig(out_path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rnnlab.analysis.bleu_by_length",
                                     description="Overlay the BLEU-by-source-length tables of translate runs.")
    parser.add_argument("runs", nargs="+", metavar="DIR[=LABEL]", help="run directories of rnnlab train translate")
    parser.add_argument("--out", required=True, help="the PNG file to write")
    args = parser.parse_args(argv)
    tables = {}
    for spec in args.runs:
        run, _, label = spec.partition("=")
        path = Path(run) / "bleu_by_length.json"
        if not path.is_file():
            print(f"error: {path} does not exist (is {run} a finished translate run?)", file=sys.stderr)
            return 1
        table = json.loads(path.read_text())
        tables[label or f"attention: {table['attention']}"] = table
    plot_bleu_by_length(tables, Path(args.out))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
