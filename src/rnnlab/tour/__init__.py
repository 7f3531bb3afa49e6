"""The lecture, run: each claim about recurrent networks as an experiment with a figure.

``rnnlab tour`` runs the sections ``s1_order`` ... ``s7_weather`` (each a ``run(rng, quick,
progress, out_dir) -> Section``) under one progress bar (``runner.py``) and gathers them in
one HTML report (``report.py``). Everything trains on data generated on the spot.
"""

from rnnlab.tour.runner import run_tour
from rnnlab.tour.section import Section

__all__ = ["Section", "run_tour"]
