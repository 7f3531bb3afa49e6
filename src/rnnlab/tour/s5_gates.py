"""Section 5: the LSTM's gates at work, read from the layer's cache.

Task: a stream of random symbols; somewhere in the first half a marker ``*`` appears, and
the symbol right after it must be named at the end. Before the marker nothing needs
remembering; from the stored symbol to the end, one symbol must survive the noise.

After training, one held-out batch runs forward and the ``LSTMCache`` gives i, f, o
(activations in 0..1) and c at every step. The memory units are the ones the symbol was
written into: those whose cell state right after it, c_s, best tells the stored symbol
apart (the share of c_s's variance explained by the symbol). Along the cell path
c_t = f_t * c_{t-1} + i_t * g_t, the part of c_s that survives to step t is the product of
the forget gates f_{s+1} ... f_t.

Two LSTMs learn the task, differing only in the initial bias. The one on the page starts
from the chrono initialisation (``init.chrono_lstm_bias``: memory spans spread from 2 to
``CHRONO_MAX_STEPS`` steps, long-lived units with their input gate shut), which offers the
cell path; the other from the library's default (forget-gate bias 1: f = 0.73, a span of
about 4 steps). Both solve the task, but they hold the symbol differently: the first keeps
it on the cell path (forget gates near 1, input gate open only at the symbol), the second
re-writes it at every step through i * g (a latch), which the numbers of both show.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnlab.analysis import tour_figures_memory
from rnnlab.analysis.gradients import kernel_cache
from rnnlab.data.synthetic import one_hot
from rnnlab.init import chrono_lstm_bias
from rnnlab.layers.lstm import LSTM
from rnnlab.models.classifier import SequenceBatch, SequenceClassifier
from rnnlab.optim import Adam
from rnnlab.tour.section import Progress, Section
from rnnlab.tour.steps import train_steps

SYMBOLS = "abcdef"
MARKER = len(SYMBOLS)  # id of "*"
LENGTH, MARK_FIRST, MARK_LAST = 30, 2, 12
HIDDEN, BATCH, HELD_OUT, LR, MEMORY_UNITS = 32, 64, 500, 3e-3, 4
CHRONO_MAX_STEPS = 100
# the check: accuracy, the memory units' forget-gate product over the wait, and how much more
# open their input gate is at the stored symbol than at the other steps, each at least this
MIN_ACCURACY, MIN_FORGET_PRODUCT, MIN_INPUT_GATE_RISE = 0.9, 0.5, 0.2


def steps(quick: bool) -> int:
    return 500 if quick else 800


def cost(quick: bool) -> int:
    return 2 * steps(quick)  # two LSTMs


def marker_task(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ids (n, LENGTH), targets (n,) and the stored symbol's step (n,) (the marker is one before)."""
    ids = rng.integers(0, len(SYMBOLS), size=(n, LENGTH))
    mark = rng.integers(MARK_FIRST, MARK_LAST + 1, size=n)
    rows = np.arange(n)
    ids[rows, mark] = MARKER
    return ids, ids[rows, mark + 1].copy(), mark + 1


def text(ids: np.ndarray) -> list[str]:
    return [(SYMBOLS + "*")[i] for i in ids]


def memory_units(c_s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Units ordered by the share of the variance of c_s (N, H) explained by the class y."""
    total = c_s.var(axis=0) + 1e-12
    means = np.stack([c_s[y == k].mean(axis=0) for k in np.unique(y)])
    weights = np.array([(y == k).mean() for k in np.unique(y)])
    between = (weights[:, None] * (means - c_s.mean(axis=0)) ** 2).sum(axis=0)
    return np.argsort(-between / total)


def _gate_reading(reader, x: np.ndarray) -> dict[str, np.ndarray]:
    """Run ``x`` (N, T, V) forward and read f, i, o, c (T, N, H), float64, from the cache."""
    cache = kernel_cache(reader.trace(SequenceBatch(x, None, np.zeros(len(x), dtype=np.int64))).layers["rnn"].cache)
    return {name: np.asarray(getattr(cache, name), dtype=np.float64) for name in ("f", "i", "o", "c")}


def _train(rng, chrono: bool, n_steps: int, progress: Progress, test_x, test_y):
    """One LSTM reader trained on the marker task; returns it, its curve and f at initialisation."""
    V = len(SYMBOLS) + 1
    lstm = LSTM(V, HIDDEN, rng=rng)
    if chrono:
        lstm.params["b_l0"][...] = chrono_lstm_bias(rng, HIDDEN, CHRONO_MAX_STEPS)
    reader = SequenceClassifier.reading(lstm, len(SYMBOLS), rng)
    f_init = _gate_reading(reader, test_x)["f"]

    def batch():
        ids, y, _ = marker_task(rng, BATCH)
        return SequenceBatch(one_hot(ids, V), None, y)

    curve = train_steps(reader, batch, n_steps, progress, optimizer=Adam(LR), every=50,
                evaluate=lambda: reader.accuracy(test_x, test_y))
    return reader, curve, f_init


def _memory_numbers(gates: dict, f_init: np.ndarray, test_y, test_store):
    """What the memory units do. Returns the numbers, the units ordered by how well c_s
    separates the symbol, and the forget-gate products (T, N, H) (see ``_survival``)."""
    f, i = gates["f"], gates["i"]
    rows = np.arange(len(test_y))
    order = memory_units(gates["c"][test_store, rows], test_y)
    memory, others = order[:MEMORY_UNITS], order[MEMORY_UNITS:]
    survival = _survival(f, test_store)
    final = survival[-1]  # (N, H) what is left of c_s at the last step
    numbers = {
        "forget_product_memory_units": float(np.mean(final[:, memory])),
        "forget_product_other_units": float(np.mean(final[:, others])),
        "forget_product_memory_units_at_init": float(np.mean(_survival(f_init, test_store)[-1][:, memory])),
        "forget_gate_memory_units_waiting": float(np.mean([f[s + 1:, r][:, memory].mean()
                                                           for r, s in zip(rows, test_store)])),
        "input_gate_memory_units_at_store": float(np.mean(i[test_store, rows][:, memory])),
        "input_gate_memory_units_elsewhere": float(np.mean([np.delete(i[:, r], s, axis=0)[:, memory].mean()
                                                            for r, s in zip(rows, test_store)])),
        "memory_units": [int(u) for u in memory],
    }
    return numbers, order, survival


def run(rng: np.random.Generator, quick: bool, progress: Progress, out_dir: Path) -> Section:
    V = len(SYMBOLS) + 1
    test_ids, test_y, test_store = marker_task(rng, HELD_OUT)
    test_x = one_hot(test_ids, V)
    n = steps(quick)
    reader, curve, f_init = _train(rng, True, n, progress, test_x, test_y)
    latch_reader, latch_curve, latch_f_init = _train(rng, False, n, progress, test_x, test_y)

    gates = _gate_reading(reader, test_x)
    chrono, order, survival = _memory_numbers(gates, f_init, test_y, test_store)
    latch, latch_order, latch_survival = _memory_numbers(_gate_reading(latch_reader, test_x), latch_f_init,
                                                         test_y, test_store)
    memory, others = order[:MEMORY_UNITS], order[MEMORY_UNITS:]

    T = LENGTH
    steps_after = np.arange(T - MARK_FIRST - 1)
    aligned = np.stack([_at_offset(survival, test_store, d) for d in steps_after])  # (D, N, H)
    latch_aligned = np.stack([_at_offset(latch_survival, test_store, d)
                              for d in steps_after])[:, :, latch_order[:MEMORY_UNITS]]

    example = int(np.argmax(test_store))  # the longest wait in the batch
    heatmaps_png, survival_png = out_dir / "s5_gates.png", out_dir / "s5_forget_product.png"
    tour_figures_memory.gate_heatmaps(
        heatmaps_png, {"forget gate f": gates["f"][:, example], "input gate i": gates["i"][:, example],
                       "output gate o": gates["o"][:, example], "cell state c": gates["c"][:, example]},
        order, MEMORY_UNITS, text(test_ids[example]), int(test_store[example]))
    tour_figures_memory.forget_products(survival_png, survival[:, example], memory, others,
                                        int(test_store[example]), steps_after, aligned, LENGTH,
                                        latch_aligned)
    numbers = {"accuracy": curve.final, "chance": 1 / len(SYMBOLS), **chrono,
               "latch_accuracy": latch_curve.final, **{f"latch_{k}": v for k, v in latch.items()},
               "train_steps": n, "chrono_max_steps": CHRONO_MAX_STEPS}
    units = ", ".join(str(u) for u in chrono["memory_units"])
    return Section(
        key="s5_gates", title="5. The LSTM's gates at work",
        claim="In a trained LSTM the gates do what their names say: the input gate opens to write "
              "a value that must be kept, and the forget gates of the units holding it stay near 1, "
              "so the product of forget gates along the cell path stays near 1 while it is needed.",
        setup=f"Name the symbol after the marker * in a stream of {LENGTH} symbols from '{SYMBOLS}' "
              f"(marker at steps {MARK_FIRST}-{MARK_LAST}); LSTM H = {HIDDEN}, {n} Adam steps of "
              f"{BATCH}; gates read from the LSTM's cache on {HELD_OUT} held-out sequences. Memory "
              f"units: the {MEMORY_UNITS} units whose cell state right after the symbol best separates it "
              f"(the units it was written into). The LSTM "
              f"shown starts from the chrono initialisation (Tallec & Ollivier, 2018: forget-gate "
              f"bias log U(1, {CHRONO_MAX_STEPS - 1}), input-gate bias its negative, so units start "
              f"with memory spans from 2 to {CHRONO_MAX_STEPS} steps); a second LSTM starts from "
              f"rnnlab's default (forget-gate bias 1, f = 0.73) for comparison.",
        result=f"Held-out accuracy {numbers['accuracy']:.3f} (chance {1 / len(SYMBOLS):.3f}). From "
               f"the stored symbol to the end, the product of forget gates averages "
               f"{chrono['forget_product_memory_units']:.3f} on the memory units (units {units}) "
               f"against {chrono['forget_product_other_units']:.3f} on the other "
               f"{HIDDEN - MEMORY_UNITS}; their input gate is "
               f"{chrono['input_gate_memory_units_at_store']:.3f} at the stored symbol and "
               f"{chrono['input_gate_memory_units_elsewhere']:.3f} at the other steps (the same "
               f"units' product at initialisation: {chrono['forget_product_memory_units_at_init']:.3f}). "
               f"The LSTM started from "
               f"forget-gate bias 1 also reaches {latch_curve.final:.3f}, but holds the symbol as a "
               f"latch: its memory units' forget gates average "
               f"{latch['forget_gate_memory_units_waiting']:.3f} while waiting (product "
               f"{latch['forget_product_memory_units']:.3f}) and their input gate stays open "
               f"({latch['input_gate_memory_units_at_store']:.3f} at the symbol, "
               f"{latch['input_gate_memory_units_elsewhere']:.3f} elsewhere), re-writing the "
               f"symbol through i * g at every step, a path a gradient must cross through W_h.",
        check=f"accuracy at least {MIN_ACCURACY:g}; the memory units' forget-gate product over the "
              f"wait stays near 1 (at least {MIN_FORGET_PRODUCT:g}) and their input gate is open at the "
              f"stored symbol (at least {MIN_INPUT_GATE_RISE:g} more than at the other steps)",
        holds=bool(numbers["accuracy"] >= MIN_ACCURACY
                   and chrono["forget_product_memory_units"] >= MIN_FORGET_PRODUCT
                   and chrono["input_gate_memory_units_at_store"]
                   >= chrono["input_gate_memory_units_elsewhere"] + MIN_INPUT_GATE_RISE),
        numbers=numbers, figures=[heatmaps_png, survival_png],
    )


def _survival(f: np.ndarray, store: np.ndarray) -> np.ndarray:
    """(T, N, H): f_{s+1} ... f_t, the part of c_s kept at step t (s = each row's stored step;
    NaN before it). f (T, N, H) forget-gate activations."""
    survival = np.full(f.shape, np.nan)
    for row, s in enumerate(store):
        survival[s:, row] = np.cumprod(np.concatenate([np.ones((1, f.shape[2])), f[s + 1:, row]]), axis=0)
    return survival


def _at_offset(survival: np.ndarray, start: np.ndarray, d: int) -> np.ndarray:
    """(N, H): survival d steps after each row's own start, NaN past the end."""
    t = start + d
    out = np.full(survival.shape[1:], np.nan)
    inside = t < survival.shape[0]
    out[inside] = survival[t[inside], np.flatnonzero(inside)]
    return out
