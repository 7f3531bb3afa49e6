"""Run the whole tour: every section in turn under one progress bar, then the report.

Each section draws its randomness from its own child of ``np.random.SeedSequence(seed)``,
so a section's numbers do not depend on which sections ran before it. BLAS runs on one
thread meanwhile (``blas.py``: the matrices are small).
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from rnnlab import __version__
from rnnlab.threads import blas_threads
from rnnlab.tour import (
    s1_order,
    s2_shared,
    s3_tanh,
    s4_vanishing,
    s5_gates,
    s6_seq2seq,
    s7_weather,
)
from rnnlab.tour.report import write_report
from rnnlab.tour.section import Section

SECTIONS = (s1_order, s2_shared, s3_tanh, s4_vanishing, s5_gates, s6_seq2seq, s7_weather)


def run_tour(out_dir: Path, quick: bool = False, seed: int = 0, progress: bool = True) -> list[Section]:
    """Run every section, write ``out_dir``/report.html, numbers.json and the PNGs."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    total = sum(module.cost(quick) for module in SECTIONS)
    seeds = np.random.SeedSequence(seed).spawn(len(SECTIONS))
    sections = []
    start = time.perf_counter()
    with blas_threads(1), tqdm(total=total, unit="step", disable=not progress, mininterval=1.0,
                               bar_format="{desc} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} steps "
                                          "[{elapsed}<{remaining}]") as bar:
        for module, child in zip(SECTIONS, seeds):
            bar.set_description(f"tour {module.__name__.rsplit('.', 1)[-1]:<12}")
            began = time.perf_counter()
            section = module.run(np.random.default_rng(child), quick, bar.update, out_dir)
            section.seconds = time.perf_counter() - began
            sections.append(section)
        bar.set_description("tour done        ")
    meta = {"rnnlab": __version__, "mode": "quick" if quick else "full", "seed": seed,
            "total time (s)": round(time.perf_counter() - start, 1), "numpy": np.__version__,
            "python": platform.python_version(), "CPUs": os.cpu_count() or 0,
            "date": time.strftime("%Y-%m-%d %H:%M")}
    write_report(out_dir, sections, meta)
    return sections
