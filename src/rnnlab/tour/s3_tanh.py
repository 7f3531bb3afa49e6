"""Section 3: why tanh -- the same RNN with tanh, ReLU and sigmoid.

All three start from the same weights. The recurrent matrix is ``gain`` times an
orthogonal one, so every direction of h is stretched by exactly ``gain`` before the
nonlinearity: with gain 2 (the main runs) tanh and sigmoid still squash the state back
into a bounded box, ReLU does not, and h_t and dL/dh_t grow like 2^t / sqrt(2)^t. The
default initialisation (gain 1, dashed) is shown beside it. Sigmoid is bounded but not
zero-centred and its slope is at most 1/4, so gradients shrink at every step.

Training: recall the first of ``LENGTH`` symbols with Adam and no gradient clipping, so
nothing hides an explosion; a run whose loss, activations or gradients stop being finite
would end there (marked with an X).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnlab.analysis import tour_figures
from rnnlab.data.synthetic import first_symbol_recall
from rnnlab.layers.rnn import NONLINEARITIES, RNN
from rnnlab.models.classifier import SequenceBatch, SequenceClassifier
from rnnlab.optim import Adam
from rnnlab.tour.probes import last_step_gradient_norms, state_norms
from rnnlab.tour.section import Progress, Section
from rnnlab.tour.steps import train_steps

VOCAB, HIDDEN, LENGTH, PROBE_LENGTH, BATCH, HELD_OUT = 4, 32, 30, 60, 64, 1000
GAIN, LR = 2.0, 3e-3
# the check: a training loss above EXPLODED_LOSS nats counts as exploded; tanh must reach MIN_TANH_ACCURACY
EXPLODED_LOSS, MIN_TANH_ACCURACY = 100, 0.9


def steps(quick: bool) -> int:
    return 800  # quick or not: fewer steps leave tanh short of MIN_TANH_ACCURACY for some seeds


def cost(quick: bool) -> int:
    return len(NONLINEARITIES) * steps(quick)


def _readers(seed: int, gain: float) -> dict[str, SequenceClassifier]:
    """One reader per nonlinearity, all with the same initial weights."""
    readers = {}
    for name in NONLINEARITIES:
        init = np.random.default_rng(seed)
        reader = SequenceClassifier.reading(RNN(VOCAB, HIDDEN, nonlinearity=name, rng=init), VOCAB, init)
        reader.rnn.params["W_hh_l0"] *= gain
        readers[name] = reader
    return readers


def run(rng: np.random.Generator, quick: bool, progress: Progress, out_dir: Path) -> Section:
    probe_x, probe_y = first_symbol_recall(rng, 256, PROBE_LENGTH, VOCAB)
    test_x, test_y = first_symbol_recall(rng, HELD_OUT, LENGTH, VOCAB)
    seed = int(rng.integers(2**31))  # one set of initial weights for everything below
    states, grads = {}, {}
    with np.errstate(over="ignore", invalid="ignore"):  # ReLU at gain 2 is meant to blow up
        for gain in (GAIN, 1.0):
            for name, reader in _readers(seed, gain).items():
                states[(name, gain)] = state_norms(reader, probe_x)
                grads[(name, gain)] = last_step_gradient_norms(reader, probe_x, probe_y)

        n = steps(quick)
        curves = {}
        for name, reader in _readers(seed, GAIN).items():
            def batch():
                x, y = first_symbol_recall(rng, BATCH, LENGTH, VOCAB)
                return SequenceBatch(x, None, y)

            curves[name] = train_steps(reader, batch, n, progress, optimizer=Adam(LR), clip=None,
                               evaluate=lambda r=reader: r.accuracy(test_x, test_y), every=25,
                               allow_divergence=True)

    figure = out_dir / "s3_tanh.png"
    tour_figures.nonlinearities(figure, states, grads, curves, n, GAIN)
    numbers = {}
    for name in NONLINEARITIES:
        numbers[f"{name}_state_norm_t{PROBE_LENGTH}"] = float(states[(name, GAIN)][-1])
        numbers[f"{name}_grad_ratio_t0_over_T"] = float(grads[(name, GAIN)][0] / grads[(name, GAIN)][-1])
        numbers[f"{name}_accuracy"] = curves[name].final if curves[name].diverged_at is None else float("nan")
        numbers[f"{name}_diverged_at_step"] = curves[name].diverged_at or 0
        numbers[f"{name}_peak_loss"] = max(curves[name].loss, default=float("nan"))
    relu = curves["relu"]
    relu_text = (f"ReLU's loss stopped being finite at step {relu.diverged_at}"
                 if relu.diverged_at else f"ReLU stayed finite (accuracy {relu.final:.3f})")
    peak = {name: numbers[f"{name}_peak_loss"] for name in NONLINEARITIES}
    exploded = bool(relu.diverged_at) or peak["relu"] > EXPLODED_LOSS
    relu_failed = not relu.diverged_at and relu.final <= (1 / VOCAB + curves["tanh"].final) / 2
    bound = np.sqrt(HIDDEN)
    return Section(
        key="s3_tanh", title="3. Why tanh",
        claim="With the same weights, a tanh RNN keeps its hidden state bounded and trains; a ReLU "
              "RNN's state and gradients can grow without bound (it explodes); a sigmoid RNN is "
              "bounded but its gradients fade.",
        setup=f"One-hot input over {VOCAB} symbols, H = {HIDDEN}; W_hh = gain x orthogonal (gain "
              f"{GAIN:g} solid, the default 1 dashed), the same initial weights for all three. Norms "
              f"over {PROBE_LENGTH} steps on 256 sequences; training: recall the first of {LENGTH} "
              f"symbols, Adam lr {LR:g}, no clipping, {n} steps of {BATCH}.",
        result=f"At initialisation (gain {GAIN:g}), ||h_{PROBE_LENGTH}|| is "
               + ", ".join(f"{k} {numbers[f'{k}_state_norm_t{PROBE_LENGTH}']:.3g}" for k in NONLINEARITIES)
               + f" (a bounded unit gives at most sqrt(H) = {bound:.2f}); ||dL/dh_0|| / ||dL/dh_T|| is "
               + ", ".join(f"{k} {numbers[f'{k}_grad_ratio_t0_over_T']:.3g}" for k in NONLINEARITIES)
               + f". Training: tanh reached accuracy {curves['tanh'].final:.3f}, sigmoid "
               f"{curves['sigmoid'].final:.3f} (chance {1 / VOCAB:.2f}); {relu_text}. Largest training "
               f"loss (nats; chance is ln {VOCAB} = {np.log(VOCAB):.2f}): " + ", ".join(f"{k} {peak[k]:.3g}" for k in NONLINEARITIES) + ".",
        check="ReLU's state norm exceeds sqrt(H), and its training explodes (not finite, or a "
              f"training loss above {EXPLODED_LOSS:g} nats) or fails (accuracy at most halfway from "
              "chance to tanh's: with some initial weights Adam keeps the loss finite but learns "
              f"nothing); tanh stays below sqrt(H) and reaches accuracy {MIN_TANH_ACCURACY:g}",
        holds=bool(numbers[f"relu_state_norm_t{PROBE_LENGTH}"] > bound and (exploded or relu_failed)
                   and numbers[f"tanh_state_norm_t{PROBE_LENGTH}"] <= bound
                   and curves["tanh"].final >= MIN_TANH_ACCURACY),
        numbers=numbers, figures=[figure],
    )
