"""``rnnlab inspect`` on tiny runs trained here on generated data, and its instruments
against independent oracles."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab import GRU, LSTM, RNN
from rnnlab.analysis.inspect import _jacobian_norms, cell_interpretability, read_input
from rnnlab.cli import main

WORDS = "the a cat dog sees likes big small red blue".split()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("inspect-data")
    rng = np.random.default_rng(0)
    sentences = [" ".join(rng.choice(WORDS, size=rng.integers(3, 7))) for _ in range(60)]
    (root / "text.txt").write_text("\n".join(sentences) + "\n", encoding="utf-8")
    rows = ["document\tlabel"] + [f"{s}\t{'pos' if 'big' in s else 'neg'}" for s in sentences]
    (root / "docs.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (root / "pairs.tsv").write_text("\n".join(f"{s}\t{' '.join(reversed(s.split()))}" for s in sentences) + "\n",
                                    encoding="utf-8")
    tags = {w: ("DET" if w in ("the", "a") else "NOUN" if w in ("cat", "dog") else
                "VERB" if w in ("sees", "likes") else "ADJ") for w in WORDS}
    blocks = ["\n".join(f"{k + 1}\t{w}\t{w}\t{tags[w]}\t_\t_\t0\tdep\t_\t_" for k, w in enumerate(s.split()))
              for s in sentences]
    (root / "train.conllu").write_text("\n\n".join(blocks[:40]) + "\n\n", encoding="utf-8")
    (root / "test.conllu").write_text("\n\n".join(blocks[40:]) + "\n\n", encoding="utf-8")
    days = np.arange(200)
    temps = 10 + 8 * np.sin(2 * np.pi * days / 365) + rng.normal(0, 1, size=200)
    (root / "weather.csv").write_text("date,temp\n" + "".join(
        f"2020-{1 + d // 28:02d}-{1 + d % 28:02d},{t:.1f}\n" for d, t in zip(days, temps)), encoding="utf-8")
    header = "@problemName Toy\n@dimensions 2\n@equalLength false\n@classLabel true up down\n@data\n"
    cases = []
    for k in range(40):
        steps = rng.integers(5, 12)
        ramp = np.cumsum(rng.normal(1 if k % 2 else -1, 0.5, size=steps))
        noise = rng.normal(0, 1, size=steps)
        cases.append(",".join(f"{v:.2f}" for v in ramp) + ":" + ",".join(f"{v:.2f}" for v in noise)
                     + (":up" if k % 2 else ":down"))
    (root / "series.ts").write_text(header + "\n".join(cases) + "\n", encoding="utf-8")
    return root


TINY = ["--hidden", "6", "--epochs", "1", "--batch-size", "8"]


@pytest.fixture(scope="module")
def runs(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("inspect-runs")
    commands = {
        "lm": ["train", "lm", "--data", str(data / "text.txt"), "--seq-len", "16", "--embed", "4"],
        "lm-gru": ["train", "lm", "--data", str(data / "text.txt"), "--seq-len", "16", "--embed", "4", "--cell", "gru"],
        "tag-gru": ["train", "tag", "--train", str(data / "train.conllu"), "--test", str(data / "test.conllu"),
                    "--embed", "4", "--char-embed", "3", "--char-hidden", "3", "--cell", "gru"],
        "classify": ["train", "classify", "--train", str(data / "docs.tsv"), "--test", str(data / "docs.tsv"),
                     "--embed", "4", "--layers", "2"],
        "tag": ["train", "tag", "--train", str(data / "train.conllu"), "--test", str(data / "test.conllu"),
                "--embed", "4", "--char-embed", "3", "--char-hidden", "3", "--bidirectional"],
        "translate": ["train", "translate", "--data", str(data / "pairs.tsv"), "--test-size", "8",
                      "--dev-size", "8", "--embed", "4", "--beam", "1"],
        "series": ["train", "classify", "--train", str(data / "series.ts"), "--test", str(data / "series.ts")],
        "forecast": ["train", "forecast", "--data", str(data / "weather.csv"), "--target", "temp",
                     "--window", "10", "--test-size", "20", "--dev-size", "20"],
    }
    for name, command in commands.items():
        assert main([*command, "--out", str(out / name), *TINY]) == 0, name
    return out


@pytest.mark.parametrize("task, text, expected", [
    ("lm", "the cat sees a dog\nthe red cat", {"cells.html", "rnn_activity.png", "rnn_gradient.png"}),
    ("lm-gru", "the cat sees a dog\nthe red cat", {"cells.html", "rnn_activity.png", "rnn_gradient.png"}),
    ("tag-gru", "a small dog sees the cat", {"rnn_activity.png", "rnn_gradient.png"}),
    ("classify", "the big dog likes a cat", {"rnn_activity.png", "rnn_gradient.png"}),
    ("tag", "a small dog sees the cat", {"rnn_activity.png", "rnn_gradient.png"}),
    ("translate", "the cat likes a dog", {"encoder_activity.png", "decoder_gradient.png", "attention.png"}),
    ("series", "@problemName Toy\n@dimensions 2\n@equalLength false\n@classLabel true up down\n@data\n"
               "1,2,3,4,5,6:0.5,-1,0,1,2,0:up\n", {"rnn_activity.png", "rnn_gradient.png"}),
    ("forecast", "date,temp\n" + "".join(f"2021-03-{d:02d},{5 + 0.3 * d:.1f}\n" for d in range(1, 13)),
     {"rnn_activity.png", "rnn_gradient.png"}),
])
def test_inspect_writes_a_page_with_its_figures(runs, tmp_path, task, text, expected, capsys):
    out = tmp_path / "out"
    args = ["inspect", str(runs / task), "--input", text, "--out", str(out)]
    if task.startswith("lm"):
        args += ["--cell", "3"]
    assert main(args) == 0
    names = {p.name for p in out.iterdir()}
    assert {"index.html"} | expected <= names
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == len([n for n in names if n.endswith(".png")])
    if task.startswith("lm"):
        cells = (out / "cells.html").read_text(encoding="utf-8")
        assert cells.index("cell 3 ") < cells.index("cell ", cells.index("cell 3 ") + 1)  # the chosen cell first
        assert cells.count("<span") == len(text) * 6  # the chosen cell, then the other 5 of H = 6


def test_inspect_reads_a_file_too(runs, data, tmp_path):
    text = tmp_path / "input.txt"
    text.write_text("the dog sees the cat\n", encoding="utf-8")
    assert read_input(str(text)) == "the dog sees the cat\n"
    assert read_input("no such file, just text") == "no such file, just text"
    assert main(["inspect", str(runs / "lm"), "--input", str(text), "--out", str(tmp_path / "o")]) == 0


def test_inspect_errors_are_one_line(runs, tmp_path, capsys):
    assert main(["inspect", str(runs / "lm"), "--input", "the cat \u2603", "--out", str(tmp_path / "a")]) == 1
    assert "never seen in training" in capsys.readouterr().err
    assert main(["inspect", str(runs / "lm"), "--input", "the cat", "--out", str(tmp_path / "b"),
                 "--cell", "99"]) == 1
    assert "--cell must lie in 0..5" in capsys.readouterr().err
    assert main(["inspect", str(runs / "classify"), "--input", "  \n", "--out", str(tmp_path / "c")]) == 1
    assert "empty" in capsys.readouterr().err
    assert main(["inspect", str(tmp_path / "nothing"), "--input", "x", "--out", str(tmp_path / "d")]) == 1
    assert "no such run directory" in capsys.readouterr().err
    short = "date,temp\n2021-03-01,5.0\n2021-03-02,5.5\n"
    assert main(["inspect", str(runs / "forecast"), "--input", short, "--out", str(tmp_path / "e")]) == 1
    err = capsys.readouterr().err
    assert "<input>: 2 rows, fewer than window = 10" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("make", [lambda rng: RNN(3, 4, num_layers=2, rng=rng, dtype=np.float64),
                                  lambda rng: LSTM(3, 4, rng=rng, dtype=np.float64),
                                  lambda rng: GRU(3, 4, rng=rng, dtype=np.float64, update_bias=0.5)])
def test_jacobian_norms_match_finite_differences(make):
    """G_t = ||dh_T/dh_t||_F / sqrt(H), against the Jacobian of the top layer restarted at h_t."""
    rng = np.random.default_rng(1)
    layer = make(rng)
    T, H = 5, layer.hidden_size
    x = rng.standard_normal((1, T, 3))
    out, _, cache = layer.forward(x)
    norms, exact = _jacobian_norms(layer, cache, rng)
    assert exact and norms.shape == (T + 1,)
    top = layer.num_layers - 1
    top_x = x if top == 0 else cache.caches[top][0].x.swapaxes(0, 1)  # the top layer's own input
    single = make(np.random.default_rng(1)) if top == 0 else RNN(H, H, rng=rng, dtype=np.float64)
    single.params = {k.replace(f"_l{top}", "_l0"): v for k, v in layer.params.items() if k.endswith(f"_l{top}")}
    kernel = cache.caches[top][0]
    for t in range(1, T):
        h_t = kernel.h[t - 1, 0].copy()
        c_t = kernel.c[t - 1, 0].copy() if isinstance(layer, LSTM) else None

        def final(h, t=t, c_t=c_t):
            state = (h[None, None], c_t[None, None]) if c_t is not None else h[None, None]
            return single.forward(top_x[:, t:], state=state)[1]

        J = np.zeros((H, H))
        for k in range(H):
            e = np.zeros(H)
            e[k] = 1e-6
            plus, minus = final(h_t + e), final(h_t - e)
            plus = plus[0] if isinstance(plus, tuple) else plus
            minus = minus[0] if isinstance(minus, tuple) else minus
            J[:, k] = (plus[0, 0] - minus[0, 0]) / 2e-6
        np.testing.assert_allclose(norms[t], np.linalg.norm(J) / np.sqrt(H), rtol=1e-6)


@pytest.mark.parametrize("cell, shown", [("gru", ["r", "z", "h"]), ("lstm", ["i", "f", "o", "c"]), ("rnn", ["h"])])
def test_layer_view_reads_each_cell_s_gates_and_state_and_draws_them(cell, shown, tmp_path, monkeypatch):
    """A GRU is shown by its gates r, z and its state h, as the LSTM by i, f, o, c: each
    read from the top layer's cache, one heatmap each."""
    from rnnlab.analysis import inspect_report
    from rnnlab.analysis.inspect import layer_view
    from rnnlab.models.parts import make_recurrent

    rng = np.random.default_rng(2)
    layer = make_recurrent(cell, 3, 4, 2, False, rng, np.float64)
    x = rng.standard_normal((1, 6, 3))
    _, _, cache = layer.forward(x)
    view = layer_view("rnn", layer, cache, list("abcdef"), rng)
    assert view.cell == cell
    top = cache.caches[-1][0]
    for name in shown:
        np.testing.assert_array_equal(view.activity[name], getattr(top, name)[:, 0])
    drawn = []
    original = inspect_report.plt.Axes.imshow

    def recording_imshow(self, data, **kwargs):
        drawn.append(np.array(data))
        return original(self, data, **kwargs)

    monkeypatch.setattr(inspect_report.plt.Axes, "imshow", recording_imshow)
    inspect_report.activity_figure(tmp_path / "a.png", view)
    assert len(drawn) == len(shown)  # one heatmap per gate or state, in the order shown
    for data, name in zip(drawn, shown):  # units x time, all 4 units (ordered most active first)
        np.testing.assert_array_equal(np.sort(data, axis=0), np.sort(view.activity[name].T, axis=0))


def test_cell_interpretability_prefers_slow_wide_cells():
    t = np.arange(200)
    slow = np.tanh(3 * np.sin(t / 20))  # a state that changes slowly
    fast = np.where(t % 2, 0.9, -0.9)  # flips every character
    small = 0.05 * np.sin(t / 20)
    order, scores = cell_interpretability(np.stack([fast, small, slow], axis=1))
    assert order[0] == 2 and scores[0] == 0 and scores[2] > scores[1] > 0
