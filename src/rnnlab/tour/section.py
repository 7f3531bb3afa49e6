"""What one section of the tour hands to the report: the claim, what was run, what was measured.

The claim is the lecture's sentence, written in advance. Everything else -- the result
sentence, the check and every number -- is computed from the run that drew the figures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

Progress = Callable[[int], None]
"""``progress(n)``: n more units (training steps) are done; the runner's bar advances."""


@dataclass
class Section:
    """One claim of the lecture as an experiment.

    key      short name, also the figures' file-name prefix ("s1_order")
    title    heading in the report
    claim    the lecture's claim, in words (the only text written in advance)
    setup    what was trained and measured, formatted from the sizes actually used
    result   the outcome, formatted from ``numbers``
    check    the criterion by which the claim counts as seen in this run
    holds    whether ``numbers`` meet ``check``
    numbers  every measured quantity the text cites, name -> value
    figures  PNG files written by this section
    table    optional rows (first row = header) shown under the figures, e.g. examples
    """

    key: str
    title: str
    claim: str
    setup: str
    result: str
    check: str
    holds: bool
    numbers: dict[str, float | int]
    figures: list[Path]
    table: list[list[str]] = field(default_factory=list)
    seconds: float = 0.0
