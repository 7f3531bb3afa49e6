"""Optimizers reproduce torch.optim step for step; their state survives a save and load.

The reference values come from tests/fixtures/optim/optim_steps.npz, written by
scripts/make_optim_fixtures.py with PyTorch; running these tests needs no torch.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from rnnlab import optim
from rnnlab.optim import SGD, Adam, clip_grad_norm

FIXTURE = Path(__file__).parent / "fixtures" / "optim" / "optim_steps.npz"
NAMES = ("W", "b")


@pytest.fixture(scope="module")
def reference():
    with np.load(FIXTURE, allow_pickle=False) as f:
        arrays = {key: f[key] for key in f.files}
    config = json.loads(str(arrays["config"]))
    return config, arrays


def make_optimizer(spec):
    kwargs = dict(spec["kwargs"])
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    return getattr(optim, spec["optimizer"])(**kwargs)


def fixture_params(arrays, dtype):
    return {n: arrays[f"param0.{n}"].astype(dtype) for n in NAMES}


def fixture_grads(arrays, k, dtype):
    return {n: arrays[f"grad.{k}.{n}"].astype(dtype) for n in NAMES}


# ----- against PyTorch --------------------------------------------------------------------


def test_fixture_covers_momentum_nesterov_weight_decay_and_adam(reference):
    config, _ = reference
    specs = config["cases"].values()
    assert any(s["optimizer"] == "SGD" and s["kwargs"].get("nesterov") for s in specs)
    assert any(
        s["optimizer"] == "SGD"
        and s["kwargs"].get("momentum")
        and s["kwargs"].get("weight_decay")
        and not s["kwargs"].get("nesterov")
        for s in specs
    )
    assert any(s["optimizer"] == "Adam" and s["kwargs"].get("weight_decay") for s in specs)
    assert config["steps"] >= 5


@pytest.mark.parametrize(
    "case",
    [
        "sgd",
        "sgd_momentum",
        "sgd_momentum_wd",
        "sgd_nesterov_wd",
        "adam",
        "adam_wd",
        "adam_wd_float32",
    ],
)
def test_every_step_matches_torch(reference, case):
    config, arrays = reference
    spec = config["cases"][case]
    dtype = np.dtype(spec["dtype"])
    opt = make_optimizer(spec)
    params = fixture_params(arrays, dtype)
    tolerance = (
        {"rtol": 1e-12, "atol": 1e-14} if dtype == np.float64 else {"rtol": 2e-6, "atol": 1e-7}
    )
    for k in range(config["steps"]):
        opt.step(params, fixture_grads(arrays, k, dtype))
        for n in NAMES:
            assert params[n].dtype == dtype
            np.testing.assert_allclose(
                params[n],
                arrays[f"{case}.after.{k}.{n}"],
                **tolerance,
                err_msg=f"{case}: parameter {n} after step {k}",
            )


def test_clip_grad_norm_matches_torch(reference):
    _, arrays = reference
    grads = {n: arrays[f"clip.grad.{n}"].copy() for n in NAMES}
    total_norm = clip_grad_norm(grads, float(arrays["clip.max_norm"]))
    assert total_norm == pytest.approx(float(arrays["clip.total_norm"]), rel=1e-12)
    for n in NAMES:
        np.testing.assert_allclose(grads[n], arrays[f"clip.clipped.{n}"], rtol=1e-12)


# ----- clipping ---------------------------------------------------------------------------


def test_clip_grad_norm_returns_the_joint_norm_before_clipping_and_scales_to_max_norm():
    rng = np.random.default_rng(0)
    grads = {"W": rng.standard_normal((3, 5)), "b": rng.standard_normal(5)}
    before = {n: g.copy() for n, g in grads.items()}
    expected = np.sqrt(sum(np.sum(g**2) for g in before.values()))
    total_norm = clip_grad_norm(grads, max_norm=0.5)
    assert total_norm == pytest.approx(expected, rel=1e-12)
    new_norm = np.sqrt(sum(np.sum(g**2) for g in grads.values()))
    assert new_norm == pytest.approx(0.5, rel=1e-5)
    for n, g in grads.items():  # same direction: every grad scaled by one common factor
        np.testing.assert_allclose(g, before[n] * (new_norm / expected), rtol=1e-12)


def test_clip_grad_norm_leaves_grads_below_the_threshold_untouched():
    rng = np.random.default_rng(1)
    grads = {"W": rng.standard_normal((3, 5)).astype(np.float32)}
    before = grads["W"].copy()
    array = grads["W"]
    total_norm = clip_grad_norm(grads, max_norm=100.0)
    assert total_norm == pytest.approx(float(np.linalg.norm(before)), rel=1e-6)
    assert grads["W"] is array and np.array_equal(array, before)


def test_clip_grad_norm_refuses_non_finite_grads_and_bad_max_norm():
    with pytest.raises(
        ValueError, match=r"grads\['b'\] contains 1 non-finite value\(s\), first NaN"
    ):
        clip_grad_norm({"W": np.ones(2), "b": np.array([np.nan])}, 1.0)
    with pytest.raises(ValueError, match="max_norm must be a positive number, got 0"):
        clip_grad_norm({"W": np.ones(2)}, 0)


# ----- state ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        lambda: Adam(lr=0.01, weight_decay=0.1),
    ],
    ids=["sgd", "adam"],
)
def test_state_dict_saved_to_npz_and_loaded_continues_identically(reference, make, tmp_path):
    config, arrays = reference
    steps = config["steps"]
    straight = make()
    params_straight = fixture_params(arrays, np.float64)
    for k in range(steps):
        straight.step(params_straight, fixture_grads(arrays, k, np.float64))

    first = make()
    params = fixture_params(arrays, np.float64)
    for k in range(3):
        first.step(params, fixture_grads(arrays, k, np.float64))
    np.savez(tmp_path / "optimizer.npz", **first.state_dict())
    resumed_params = {n: p.copy() for n, p in params.items()}  # the checkpointed model

    resumed = make()
    with np.load(tmp_path / "optimizer.npz", allow_pickle=False) as f:
        resumed.load_state_dict(dict(f))
    for k in range(3, steps):
        resumed.step(resumed_params, fixture_grads(arrays, k, np.float64))
    for n in NAMES:
        assert np.array_equal(resumed_params[n], params_straight[n])


def test_state_dict_holds_copies_with_documented_keys():
    opt = Adam(lr=0.1)
    params = {"W": np.ones((2, 3)), "b": np.zeros(3)}
    opt.step(params, {"W": np.ones((2, 3)), "b": np.ones(3)})
    state = opt.state_dict()
    assert sorted(state) == ["m.W", "m.b", "step.W", "step.b", "type", "v.W", "v.b"]
    assert state["type"] == "Adam" and state["step.W"] == 1
    saved = state["m.W"].copy()
    opt.step(params, {"W": np.ones((2, 3)), "b": np.ones(3)})
    assert np.array_equal(state["m.W"], saved)
    sgd = SGD(lr=0.1, momentum=0.5)
    sgd.step(params, {"W": np.ones((2, 3)), "b": np.ones(3)})
    assert sorted(sgd.state_dict()) == ["type", "velocity.W", "velocity.b"]


def test_load_state_dict_rejects_state_of_another_optimizer_or_model():
    params = {"W": np.ones((2, 3))}
    sgd = SGD(lr=0.1, momentum=0.9)
    sgd.step(params, {"W": np.ones((2, 3))})
    with pytest.raises(ValueError, match="state is for optimizer 'SGD', not 'Adam'"):
        Adam().load_state_dict(sgd.state_dict())
    with pytest.raises(
        ValueError,
        match="state has unexpected key 'm.W'; SGD keys are 'type' and 'velocity.<param name>'",
    ):
        SGD(lr=0.1).load_state_dict({"type": "SGD", "m.W": np.zeros(3)})
    other = SGD(lr=0.1, momentum=0.9)
    other.load_state_dict(sgd.state_dict())
    with pytest.raises(
        ValueError,
        match=r"optimizer state 'velocity.W' is \(2, 3\) float64 but params\['W'\] is \(3, 2\) float64",
    ):
        other.step({"W": np.ones((3, 2))}, {"W": np.ones((3, 2))})


# ----- bad input ----------------------------------------------------------------------------


def test_step_checks_grads_against_params():
    opt = SGD(lr=0.1)
    params = {"W": np.ones((2, 3)), "b": np.zeros(3)}
    with pytest.raises(
        ValueError, match=r"grads must have the keys of params; missing \['b'\], unexpected \['c'\]"
    ):
        opt.step(params, {"W": np.ones((2, 3)), "c": np.ones(3)})
    with pytest.raises(
        ValueError,
        match=r"grads\['b'\] must match params\['b'\] \(3,\) float64, got \(3,\) float32",
    ):
        opt.step(params, {"W": np.ones((2, 3)), "b": np.ones(3, dtype=np.float32)})
    with pytest.raises(
        ValueError,
        match=r"grads\['W'\] contains 1 non-finite value\(s\), first inf at index \(0, 1\)",
    ):
        opt.step(params, {"W": np.array([[1, np.inf, 1], [1, 1, 1]]), "b": np.ones(3)})


def test_constructors_check_hyperparameters():
    with pytest.raises(ValueError, match="lr must be a non-negative number, got -0.1"):
        SGD(lr=-0.1)
    with pytest.raises(ValueError, match="nesterov=True needs momentum > 0"):
        SGD(lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match=r"betas\[1\] must lie in \[0, 1\), got 1.0"):
        Adam(betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="weight_decay must be a non-negative number, got '0.1'"):
        Adam(weight_decay="0.1")
