"""Section 5: the LSTM's gates at work, read from the layer's cache.

Task: a stream of random symbols; somewhere in the first half a marker ``*`` appears, and
the symbol right after it must be named at the end. Before the marker nothing needs
remembering; from the stored symbol to the end, one symbol must survive the noise.

After training, one held-out batch runs forward and the ``LSTMCache`` gives i, f, o
(activations in 0..1) and c at every step. The memory units are the ones whose final
cell state c_T best tells the stored symbol apart (the share of c_T's variance explained
by the symbol). Along the cell path c_t = f_t * c_{t-1} + i_t * g_t, the part of c_s
that survives to step t is the product of the forget gates f_{s+1} ... f_t. The LSTM
starts from the library's initialisation (forget-gate bias 1: f = 0.73 everywhere), so
whatever differs between "before the marker" and "while the symbol is held" was learned.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnlab.analysis import tour_figures_memory
from rnnlab.analysis.gradients import kernel_cache
from rnnlab.data.synthetic import one_hot
from rnnlab.layers.lstm import LSTM
from rnnlab.optim import Adam
from rnnlab.tour.fit import fit
from rnnlab.tour.nets import RecurrentReader
from rnnlab.tour.section import Progress, Section

SYMBOLS = "abcdef"
MARKER = len(SYMBOLS)  # id of "*"
LENGTH, MARK_FIRST, MARK_LAST = 30, 2, 12
HIDDEN, BATCH, HELD_OUT, LR, MEMORY_UNITS = 32, 64, 500, 3e-3, 4


def steps(quick: bool) -> int:
    return 500 if quick else 800


def cost(quick: bool) -> int:
    return steps(quick)


def marker_task(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ids (n, LENGTH), targets (n,) and the stored symbol's step (n,) (the marker is one before)."""
    ids = rng.integers(0, len(SYMBOLS), size=(n, LENGTH))
    mark = rng.integers(MARK_FIRST, MARK_LAST + 1, size=n)
    rows = np.arange(n)
    ids[rows, mark] = MARKER
    return ids, ids[rows, mark + 1].copy(), mark + 1


def text(ids: np.ndarray) -> list[str]:
    return [(SYMBOLS + "*")[i] for i in ids]


def memory_units(c_T: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Units ordered by the share of the variance of c_T (N, H) explained by the class y."""
    total = c_T.var(axis=0) + 1e-12
    means = np.stack([c_T[y == k].mean(axis=0) for k in np.unique(y)])
    weights = np.array([(y == k).mean() for k in np.unique(y)])
    between = (weights[:, None] * (means - c_T.mean(axis=0)) ** 2).sum(axis=0)
    return np.argsort(-between / total)


def run(rng: np.random.Generator, quick: bool, progress: Progress, out_dir: Path) -> Section:
    V = len(SYMBOLS) + 1
    reader = RecurrentReader(LSTM(V, HIDDEN, rng=rng), len(SYMBOLS), rng)
    test_ids, test_y, test_store = marker_task(rng, HELD_OUT)
    test_x = one_hot(test_ids, V)

    def batch():
        ids, y, _ = marker_task(rng, BATCH)
        return one_hot(ids, V), None, y

    f_init = np.asarray(kernel_cache(reader.forward(test_x)[1][2]).f, dtype=np.float64)
    n = steps(quick)
    curve = fit(reader, batch, n, progress, optimizer=Adam(LR), every=50,
                evaluate=lambda: reader.accuracy(test_x, test_y))

    # read the gates of the held-out batch from the layer's cache (time-major: (T, N, H))
    _, (_, _, stack_cache, _) = reader.forward(test_x)
    cache = kernel_cache(stack_cache)
    f, i, o, c = (np.asarray(a, dtype=np.float64) for a in (cache.f, cache.i, cache.o, cache.c))
    order = memory_units(c[-1], test_y)
    memory, others = order[:MEMORY_UNITS], order[MEMORY_UNITS:]

    T, N = LENGTH, HELD_OUT
    survival = _survival(f, test_store)
    final = survival[-1]  # (N, H) what is left of c_s at the last step
    steps_after = np.arange(T - MARK_FIRST - 1)
    aligned = np.stack([_at_offset(survival, test_store, d) for d in steps_after])  # (D, N, H)

    example = int(np.argmax(test_store))  # the longest wait in the batch
    heatmaps_png, survival_png = out_dir / "s5_gates.png", out_dir / "s5_forget_product.png"
    tour_figures_memory.gate_heatmaps(
        heatmaps_png, {"forget gate f": f[:, example], "input gate i": i[:, example],
                       "output gate o": o[:, example], "cell state c": c[:, example]},
        order, MEMORY_UNITS, text(test_ids[example]), int(test_store[example]))
    tour_figures_memory.forget_products(survival_png, survival[:, example], memory, others,
                                        int(test_store[example]), steps_after, aligned, LENGTH)

    rows = np.arange(N)
    before = np.mean([f[: test_store[r] - 1, r][:, memory].mean() for r in rows])
    waiting = np.mean([f[test_store[r] + 1:, r][:, memory].mean() for r in rows])
    numbers = {
        "accuracy": curve.final, "chance": 1 / len(SYMBOLS),
        "forget_product_memory_units": float(np.mean(final[:, memory])),
        "forget_product_other_units": float(np.mean(final[:, others])),
        "forget_product_memory_units_at_init": float(np.mean(_survival(f_init, test_store)[-1][:, memory])),
        "forget_gate_memory_units_before_marker": float(before),
        "forget_gate_memory_units_at_marker": float(np.mean(f[test_store - 1, rows][:, memory])),
        "forget_gate_memory_units_waiting": float(waiting),
        "input_gate_memory_units_at_store": float(np.mean(i[test_store, rows][:, memory])),
        "input_gate_memory_units_waiting": float(np.mean([i[test_store[r] + 1:, r][:, memory].mean()
                                                          for r in rows])),
        "input_gate_all_units_at_store": float(np.mean(i[test_store, rows])),
        "input_gate_all_units_waiting": float(np.mean([i[test_store[r] + 1:, r].mean() for r in rows])),
        "train_steps": n,
    }
    return Section(
        key="s5_gates", title="5. The LSTM's gates at work",
        claim="In a trained LSTM the gates do what their names say: where a value must be kept, the "
              "forget gates of the units holding it stay near 1, so the product of forget gates "
              "along the cell path stays near 1; elsewhere they let go.",
        setup=f"Name the symbol after the marker * in a stream of {LENGTH} symbols from '{SYMBOLS}' "
              f"(marker at steps {MARK_FIRST}-{MARK_LAST}); LSTM H = {HIDDEN}, {n} Adam steps of "
              f"{BATCH} (library initialisation, forget-gate bias 1); gates read from the LSTM's cache on {HELD_OUT} held-out sequences. Memory "
              f"units: the {MEMORY_UNITS} units whose c_T best separates the stored symbol.",
        result=f"Held-out accuracy {numbers['accuracy']:.3f} (chance {1 / len(SYMBOLS):.3f}). From "
               f"the stored symbol to the end, the product of forget gates averages "
               f"{numbers['forget_product_memory_units']:.3f} on the memory units (units "
               f"{', '.join(str(int(u)) for u in memory)}) against "
               f"{numbers['forget_product_other_units']:.3f} on the other {HIDDEN - MEMORY_UNITS} (the "
               f"same units before training: {numbers['forget_product_memory_units_at_init']:.3f}). "
               f"The memory units' forget gate averages "
               f"{numbers['forget_gate_memory_units_before_marker']:.3f} before the marker, "
               f"{numbers['forget_gate_memory_units_at_marker']:.3f} at it and "
               f"{numbers['forget_gate_memory_units_waiting']:.3f} while the symbol is held; their input "
               f"gate is {numbers['input_gate_memory_units_at_store']:.3f} at the stored symbol and "
               f"{numbers['input_gate_memory_units_waiting']:.3f} on average afterwards (all units: "
               f"{numbers['input_gate_all_units_at_store']:.3f} and "
               f"{numbers['input_gate_all_units_waiting']:.3f}).",
        check="accuracy at least 0.9; the memory units' forget gates are higher (by 0.05 or more) "
              "while the symbol is held than before the marker, and their product over the wait "
              "stays near 1 (at least 0.5)",
        holds=bool(numbers["accuracy"] >= 0.9
                   and numbers["forget_gate_memory_units_waiting"]
                   >= numbers["forget_gate_memory_units_before_marker"] + 0.05
                   and numbers["forget_product_memory_units"] >= 0.5),
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
