"""Our RNN, LSTM and GRU compute what torch.nn.RNN, nn.LSTM and nn.GRU compute, to 1e-10 in float64.

The reference values are fixtures written by ``scripts/make_torch_fixtures.py`` (see its
docstring for how to regenerate them); torch is not needed to run these tests. Every case
has random non-zero weights, both biases, initial states and upstream gradients, and sizes
N=3, T=5, D=2, H=4, so a swapped gate block, a transpose, a dropped bias or a wrongly
routed direction changes the numbers. Cases: tanh RNN, relu RNN, LSTM and GRU, each as a
single layer, with variable lengths (torch's packed sequences), 2 layers, bidirectional, and
2 bidirectional layers with variable lengths.

Name mapping checked here: weight_ih = W_xh.T / W_x.T, weight_hh = W_hh.T / W_h.T, and
our b = bias_ih + bias_hh, so dL/db equals both dL/dbias_ih and dL/dbias_hh; except the
GRU's n block, whose bias_hh is our b_hn (the reset gate multiplies it), so there
dL/dbias_hh = [db_r, db_z, db_hn].
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest

from rnnlab import GRU, LSTM, RNN

FIXTURES = Path(__file__).parent / "fixtures" / "torch"
CELLS = ("rnn_tanh", "rnn_relu", "lstm", "gru")
SHAPES = ("single", "lengths", "2layers", "bidir", "2layers_bidir_lengths")
CASES = [f"{cell}_{shape}" for cell in CELLS for shape in SHAPES]
ATOL = 1e-10

# torch's (weight_ih, weight_hh, bias) -> our (input weight, recurrent weight, bias)
OUR_NAMES = {"RNN": ("W_xh", "W_hh", "b"), "LSTM": ("W_x", "W_h", "b"), "GRU": ("W_x", "W_h", "b")}

cases = pytest.mark.parametrize("name", CASES)


# ----- loading a case and running our layer on it ---------------------------------------


@functools.cache
def load_case(name: str) -> dict[str, np.ndarray]:
    """All arrays of one fixture (see scripts/make_torch_fixtures.py for the keys)."""
    with np.load(FIXTURES / f"{name}.npz", allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def config(case) -> dict:
    return json.loads(str(case["config"]))


def torch_state_dict(case) -> dict[str, np.ndarray]:
    """The weights torch ran with, under torch's names (weight_ih_l0, ...)."""
    prefix = "state_dict."
    return {key[len(prefix):]: value for key, value in case.items() if key.startswith(prefix)}


def our_name(cell: str, torch_name: str) -> str:
    """weight_ih_l1_reverse -> W_x_l1_reverse (LSTM); bias_hh_l0 -> b_l0; ... (for the GRU's
    bias_hh see ``our_bias_hh_gradient``)."""
    kind, _, layer_and_direction = torch_name.partition("_l")
    W_in, W_rec, b = OUR_NAMES[cell]
    ours = {"weight_ih": W_in, "weight_hh": W_rec, "bias_ih": b, "bias_hh": b}[kind]
    return f"{ours}_l{layer_and_direction}"


def our_bias_hh_gradient(cell: str, grads, torch_name: str) -> np.ndarray:
    """Our gradient on torch's bias_hh: db, or for the GRU [db_r, db_z, db_hn] (b_hn is
    bias_hh's n block; the r and z blocks sum into b)."""
    db = grads[our_name(cell, torch_name)]
    if cell != "GRU":
        return db
    H = len(db) // 3
    db_hn = grads["b_hn_l" + torch_name.partition("_l")[2]]
    return np.concatenate([db[: 2 * H], db_hn])


def build_layer(case):
    """Our layer with the fixture's sizes, in float64, holding torch's weights."""
    cfg = config(case)
    sizes = {
        "input_size": case["x"].shape[2],
        "hidden_size": case["h0"].shape[2],
        "num_layers": cfg["num_layers"],
        "bidirectional": cfg["bidirectional"],
        "rng": np.random.default_rng(0),
        "dtype": np.float64,
    }
    if cfg["cell"] == "LSTM":
        layer = LSTM(**sizes)
    elif cfg["cell"] == "GRU":
        layer = GRU(**sizes)
    else:
        layer = RNN(nonlinearity=cfg["nonlinearity"], **sizes)
    layer.load_torch_state_dict(torch_state_dict(case))
    return layer


@functools.cache
def run_ours(name: str):
    """Forward and backward of our layer on the fixture's inputs and upstream gradients.

    Returns out, final state, dx, dstate0, grads; states as tuples (h,) or (h, c).
    """
    case = load_case(name)
    layer = build_layer(case)
    is_lstm = config(case)["cell"] == "LSTM"
    state0 = (case["h0"], case["c0"]) if is_lstm else case["h0"]
    dstate = (case["dh_n"], case["dc_n"]) if is_lstm else case["dh_n"]
    out, state, cache = layer.forward(case["x"], lengths=case.get("lengths"), state=state0)
    dx, dstate0, grads = layer.backward(case["dout"], dstate, cache)
    as_tuple = (lambda s: tuple(s)) if is_lstm else (lambda s: (s,))
    return out, as_tuple(state), dx, as_tuple(dstate0), grads


def state_keys(case, names: tuple[str, str]) -> tuple[str, ...]:
    """The fixture keys of a state's parts: (h,) for the RNN, (h, c) for the LSTM."""
    return names if config(case)["cell"] == "LSTM" else names[:1]


def num_cells(case) -> int:
    """Layers times directions: each has one weight_ih, weight_hh, bias_ih and bias_hh."""
    cfg = config(case)
    return cfg["num_layers"] * (2 if cfg["bidirectional"] else 1)


def assert_matches(ours: np.ndarray, theirs: np.ndarray, what: str) -> None:
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=ATOL, strict=True, err_msg=what)


# ----- the fixtures themselves ------------------------------------------------------------


def test_every_case_has_a_fixture_and_nothing_else():
    """A missing or stray fixture file is an error, not a silently skipped case."""
    assert sorted(p.stem for p in FIXTURES.glob("*.npz")) == sorted(CASES)


@cases
def test_fixture_is_float64_and_records_its_torch_version(name):
    """Reference values were computed in float64, by a recorded version of torch."""
    case = load_case(name)
    assert str(case["torch_version"]).startswith("2.")
    for key, value in case.items():
        if key not in ("config", "torch_version", "lengths"):
            assert value.dtype == np.float64, key


# ----- forward ------------------------------------------------------------------------------


@cases
def test_outputs_match_torch(name):
    """out (N, T, H * dirs) equals torch's, including the zeros at padded steps."""
    case = load_case(name)
    out, *_ = run_ours(name)
    assert_matches(out, case["out"], "out")


@cases
def test_final_state_matches_torch(name):
    """h_n (and c_n) equal torch's: each sequence's state at its own last step."""
    case = load_case(name)
    _, state, *_ = run_ours(name)
    for ours, key in zip(state, state_keys(case, ("h_n", "c_n")), strict=True):
        assert_matches(ours, case[key], key)


# ----- backward -----------------------------------------------------------------------------


@cases
def test_input_gradient_matches_torch(name):
    """dx (N, T, D) equals torch's x.grad (zero at padded steps)."""
    case = load_case(name)
    _, _, dx, *_ = run_ours(name)
    assert_matches(dx, case["dx"], "dx")


@cases
def test_initial_state_gradient_matches_torch(name):
    """dstate0 equals torch's h0.grad (and c0.grad)."""
    case = load_case(name)
    _, _, _, dstate0, _ = run_ours(name)
    for ours, key in zip(dstate0, state_keys(case, ("dh0", "dc0")), strict=True):
        assert_matches(ours, case[key], key)


@cases
def test_weight_gradients_match_torch(name):
    """grads[W] is the transpose of torch's weight_ih.grad / weight_hh.grad, for every layer
    and direction."""
    case = load_case(name)
    cell = config(case)["cell"]
    *_, grads = run_ours(name)
    weights = [key for key in torch_state_dict(case) if key.startswith("weight_")]
    assert len(weights) == 2 * num_cells(case)
    for key in weights:
        assert_matches(grads[our_name(cell, key)], case[f"grad.{key}"].T, f"grad.{key}")


@cases
def test_bias_gradient_equals_both_torch_bias_gradients(name):
    """b = bias_ih + bias_hh, so dL/db equals torch's bias_ih.grad and bias_hh.grad alike
    (GRU: bias_hh.grad = [db_r, db_z, db_hn])."""
    case = load_case(name)
    cell = config(case)["cell"]
    *_, grads = run_ours(name)
    biases = [key for key in torch_state_dict(case) if key.startswith("bias_")]
    assert len(biases) == 2 * num_cells(case)
    for key in biases:
        ours = grads[our_name(cell, key)]
        if key.startswith("bias_hh"):
            ours = our_bias_hh_gradient(cell, grads, key)
        assert_matches(ours, case[f"grad.{key}"], f"grad.{key}")


@cases
def test_every_parameter_has_a_torch_gradient(name):
    """Our gradient keys are exactly the torch parameters mapped to our names."""
    case = load_case(name)
    cell = config(case)["cell"]
    *_, grads = run_ours(name)
    expected = {our_name(cell, key) for key in torch_state_dict(case)}
    if cell == "GRU":  # and b_hn, bias_hh's n block, per layer and direction
        expected |= {"b_hn_l" + key.partition("_l")[2] for key in torch_state_dict(case) if key.startswith("bias_hh")}
    assert set(grads) == expected


# ----- state_dict interop -------------------------------------------------------------------


@cases
def test_torch_state_dict_round_trip(name):
    """Loading torch's weights and exporting them again gives the same weight_ih, weight_hh
    and the same bias_ih + bias_hh (the split between the two biases is not kept), and for
    the GRU the n blocks of bias_ih and bias_hh exactly as they were (b_xn and b_hn, which
    the reset gate keeps apart)."""
    case = load_case(name)
    theirs = torch_state_dict(case)
    exported = build_layer(case).torch_state_dict()
    assert set(exported) == set(theirs)
    for key in theirs:
        assert exported[key].shape == theirs[key].shape, key
        if key.startswith("weight_"):
            np.testing.assert_array_equal(exported[key], theirs[key], err_msg=key)
        elif key.startswith("bias_ih"):
            bias_hh = key.replace("bias_ih", "bias_hh")
            assert_matches(
                exported[key] + exported[bias_hh], theirs[key] + theirs[bias_hh], f"{key} + bias_hh"
            )
            if config(case)["cell"] == "GRU":
                H = len(theirs[key]) // 3
                for k in (key, bias_hh):
                    np.testing.assert_array_equal(exported[k][2 * H :], theirs[k][2 * H :], err_msg=k)
