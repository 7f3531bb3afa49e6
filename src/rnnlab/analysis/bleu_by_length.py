"""BLEU by source length: does the decoder suffer from reading one fixed-size summary?

The plain encoder-decoder passes the whole source through the encoder's final state; with
attention the decoder reads every encoder output. Plotting test BLEU per bucket of source
length, for runs with and without attention, measures the lecture's fixed-summary
limitation. Each run writes its own table (DIR/bleu_by_length.json) and figure at the end
of training; to overlay several runs::

    python -m rnnlab.analysis.bleu_by_length runs/eng-fra runs/eng-fra-plain --out figure.png

(``DIR=LABEL`` names a run's line; by default the label is its attention setting.)

The test split holds only pairs of at most ``max_words`` words, like the training data.
``--longer FILE.tsv`` also translates the pairs of FILE (same columns as the training file;
e.g. the pairs of the same corpus that the length filter left out, so never seen in
training) with every run and adds the buckets the test split does not have::

    python -m rnnlab.analysis.bleu_by_length runs/eng-fra runs/eng-fra-plain \\
        --longer long-pairs.tsv --out figure.png
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from rnnlab.analysis.plotting import plt
from rnnlab.atomic import atomic_write
from rnnlab.train.tasks.translate import Translations, corpus_bleu

LENGTH_BUCKETS = ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 15), (16, 10**9))  # source words


def bleu_by_length(translations: Translations, buckets=LENGTH_BUCKETS) -> list[dict]:
    """BLEU of the beam and the greedy translations per bucket of source length in words:
    one row {"words", "pairs", "bleu", "bleu_greedy"} per bucket that holds any pair."""
    rows = []
    for lo, hi in buckets:
        idx = np.nonzero((translations.src_words >= lo) & (translations.src_words <= hi))[0]
        if idx.size:
            refs = [translations.refs[i] for i in idx]
            rows.append({"words": f"{lo}-{hi}" if hi < 10**9 else f"{lo}+", "pairs": int(idx.size),
                         "bleu": corpus_bleu([translations.beam[i] for i in idx], refs),
                         "bleu_greedy": corpus_bleu([translations.greedy[i] for i in idx], refs)})
    return rows


def bleu_table(task, translations: Translations, split: str) -> dict:
    """What DIR/bleu_by_length.json holds: the run's settings and the buckets of ``split``."""
    return {"split": split, "attention": task.config.attention, "beam": task.config.beam,
            "buckets": bleu_by_length(translations)}


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
    longer = [x[r["words"]] for r in first if "from" in r]
    if longer:  # where the test split ends and the longer pairs begin
        for a in (ax, ax_count):
            a.axvline(min(longer) - 0.5, color="0.4", ls=":")
        source = next(r["from"] for r in first if "from" in r)
        ax.text(min(longer) - 0.45, 0.97, f"longer pairs\n({source})", transform=ax.get_xaxis_transform(),
                va="top", fontsize=8, color="0.3")
    ax.set(title="BLEU by source length (beam: solid, greedy: dashed)", ylabel="BLEU")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax_count.set(xlabel="source length (words)", ylabel="pairs")
    ax_count.set_xticks(range(len(buckets)), buckets)
    fig.tight_layout()
    atomic_write(Path(out_path), lambda fh: fig.savefig(fh, format="png", dpi=110), Path(out_path).name)
    plt.close(fig)


def add_longer_pairs(run: str, table: dict, path: str) -> dict:
    """table with the buckets of FILE's pairs that it lacks, translated by the run's model."""
    from rnnlab.train.run import load_run

    task, model = load_run(run)
    longer = task.evaluate(model, data=task.encode_file(path)).outputs
    known = {row["words"] for row in table["buckets"]}
    extra = [{**row, "from": Path(path).name} for row in bleu_by_length(longer) if row["words"] not in known]
    return {**table, "buckets": table["buckets"] + extra}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rnnlab.analysis.bleu_by_length",
                                     description="Overlay the BLEU-by-source-length tables of translate runs.")
    parser.add_argument("runs", nargs="+", metavar="DIR[=LABEL]", help="run directories of rnnlab train translate")
    parser.add_argument("--out", required=True, help="the PNG file to write")
    parser.add_argument("--longer", metavar="FILE", help="TSV pairs longer than the test split's, "
                        "translated by every run for the buckets the test split lacks")
    args = parser.parse_args(argv)
    tables = {}
    for spec in args.runs:
        run, _, label = spec.partition("=")
        path = Path(run) / "bleu_by_length.json"
        if not path.is_file():
            print(f"error: {path} does not exist (is {run} a finished translate run?)", file=sys.stderr)
            return 1
        table = json.loads(path.read_text())
        if args.longer:
            table = add_longer_pairs(run, table, args.longer)
            for row in table["buckets"]:
                print(f"{run}  {row['words']:>6} words  {row['pairs']:5d} pairs  BLEU {row['bleu']:6.2f} "
                      f"(greedy {row['bleu_greedy']:6.2f})")
        tables[label or f"attention: {table['attention']}"] = table
    plot_bleu_by_length(tables, Path(args.out))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
