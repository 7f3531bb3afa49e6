"""BLEU against every translation the corpus holds: how much of a low score is the metric's.

Tatoeba often translates one sentence several times ("You're late." -> "Tu es en retard.",
"Vous êtes en retard.", "Vous êtes en retard !"). A test pair keeps one of them as its
reference, and BLEU counts a valid alternative as wrong. Taking as references, for each test
source, every target the data file pairs with the same source sentence (case and the spaces
at both ends ignored), the split's own reference first, measures how much of a score is that
ambiguity::

    python -m rnnlab.analysis.all_references runs/en-fr     # test BLEU, one reference and all

The extra references usually come from training pairs. That is the point — they are
translations the model was taught are right — but it makes this score not a held-out one to
compare with other systems: report it beside the one-reference BLEU, never instead.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from rnnlab.train.tasks.translate import corpus_bleu


def _key(sentence: str) -> str:
    return sentence.strip().lower()


def every_reference(sources: list[str], references: list[str],
                    corpus: tuple[list[str], list[str]]) -> list[list[str]]:
    """Per pair, its own reference first, then every other distinct target (by lowercased
    text) that ``corpus`` = (sources, targets) pairs with the same source sentence."""
    table: dict[str, list[str]] = {}
    for source, target in zip(*corpus):
        table.setdefault(_key(source), []).append(target)
    out = []
    for source, own in zip(sources, references):
        seen, refs = {_key(own)}, [own]
        for target in table.get(_key(source), []):
            if _key(target) not in seen:
                seen.add(_key(target))
                refs.append(target)
        out.append(refs)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rnnlab.analysis.all_references",
        description="Test BLEU of a translate run against its one reference and against every "
                    "translation its data file gives for the same source sentence.")
    parser.add_argument("run", metavar="DIR", help="run directory of rnnlab train translate")
    args = parser.parse_args(argv)
    from rnnlab.train.run import load_run

    task, model = load_run(args.run)
    task.prepare()
    test = task.splits["test"]
    translations = task.evaluate(model, "test").outputs
    references = every_reference(test.sources, test.refs, task.read_pairs())
    counts = np.array([len(refs) for refs in references])
    print(f"{args.run}: {len(counts)} test pairs; references per source: mean {counts.mean():.2f}, "
          f"{(counts > 1).mean():.1%} have more than one")
    for name, hypotheses in (("beam", translations.beam), ("greedy", translations.greedy)):
        print(f"  {name:6s} BLEU {corpus_bleu(hypotheses, test.refs):6.2f} against the one reference, "
              f"{corpus_bleu(hypotheses, references):6.2f} against all of the corpus's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
