"""``rnnlab demo``: an LSTM learns to recall the first symbol, through the library's
many-to-one classifier and the experiments' training loop."""

import re

from rnnlab.cli import main


def test_the_demo_lstm_learns_to_recall_the_first_symbol(capsys):
    assert main(["demo", "--steps", "100", "--length", "10", "--hidden", "32"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    accuracy, chance = map(float, re.search(r"accuracy ([0-9.]+) \(chance ([0-9.]+)\)", line).groups())
    assert chance == 0.125 and accuracy >= 0.8
