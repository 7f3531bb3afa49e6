r"""Optimizers: small objects that update a dict of parameters in place from a dict of grads.

Each keeps only its running state (one entry per parameter name); hyperparameters are
constructor arguments. The update formulas are PyTorch's, term for term, so a run can be
checked against ``torch.optim`` (tests/test_optim.py; fixtures from
scripts/make_optim_fixtures.py). With g the gradient and p the parameter:

SGD(lr, momentum=mu, nesterov, weight_decay=wd)::

    g  = g + wd p                         L2 weight decay, added to the gradient
    v  = g                    at the first step        (v: the velocity, one per parameter)
    v  = mu v + g             afterwards
    g  = g + mu v             if nesterov, else  g = v          (only when mu > 0)
    p -= lr g

Adam(lr, betas=(b1, b2), eps, weight_decay=wd), t = 1, 2, ... counted per parameter::

    g  = g + wd p                         L2 weight decay (Adam's, not AdamW's decoupled decay)
    m  = b1 m + (1 - b1) g                running mean of g, m starts at 0
    v  = b2 v + (1 - b2) g^2              running mean of g^2, v starts at 0
    p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)

The bias corrections 1 - b^t undo the pull of the zero start; eps is added after sqrt(v) is
corrected, as in PyTorch.

``state_dict()`` is a flat dict of NumPy arrays and scalars, keys ``"<slot>.<param name>"``
(e.g. ``"m.W"``, ``"step.W"``) plus ``"type"``, so a trainer can ``np.savez`` it and
``np.load(..., allow_pickle=False)`` it back.

Gradient clipping is a separate trainer step: ``clip_grad_norm``.
"""

from __future__ import annotations

import numpy as np

from rnnlab import _checks


def clip_grad_norm(grads: dict[str, np.ndarray], max_norm: float) -> float:
    """Scale all grads in place so their joint 2-norm is at most ``max_norm``.

    total_norm = sqrt(sum over every element of every grad of g^2); if it exceeds max_norm,
    every grad is multiplied by max_norm / (total_norm + 1e-6) (PyTorch's
    ``clip_grad_norm_``, whose 1e-6 keeps the division finite). Returns total_norm before
    clipping, the number worth logging. A non-finite gradient is an error.

    >>> grads = {"W": np.array([3.0, 4.0])}
    >>> clip_grad_norm(grads, 1.0), grads["W"].round(6).tolist()
    (5.0, [0.6, 0.8])
    """
    is_number = isinstance(max_norm, (int, float, np.number)) and not isinstance(max_norm, bool)
    if not (is_number and max_norm > 0):
        raise ValueError(f"max_norm must be a positive number, got {max_norm!r}")
    _check_grads_dict(grads)
    squares = 0.0
    for g in grads.values():
        g64 = g.astype(np.float64, copy=False).ravel()
        squares += float(g64 @ g64)  # float64: float32 squares would overflow sooner
    if not np.isfinite(squares):  # a NaN or inf somewhere (float32 squares cannot overflow float64)
        for name, g in grads.items():
            _checks.check_finite(f"grads['{name}']", g)
    total_norm = float(np.sqrt(squares))
    coefficient = max_norm / (total_norm + 1e-6)
    if coefficient < 1.0:  # below the threshold PyTorch multiplies by 1.0: nothing to do
        with np.errstate(under="ignore"):  # a tiny gradient may scale to 0
            for g in grads.values():
                g *= g.dtype.type(coefficient)
    return total_norm


class SGD:
    """Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay."""

    def __init__(
        self, lr: float, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0
    ):
        self.lr = _check_nonnegative("lr", lr)
        self.momentum = _check_nonnegative("momentum", momentum)
        if not isinstance(nesterov, (bool, np.bool_)):
            message = f"nesterov must be True or False, got {nesterov!r}"
            raise ValueError(message)
        if nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0, got momentum=0.0")
        self.nesterov = bool(nesterov)
        self.weight_decay = _check_nonnegative("weight_decay", weight_decay)
        self.velocity: dict[str, np.ndarray] = {}

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """Update every parameter in place from its gradient (grads has params' keys)."""
        _check_params_and_grads(params, grads)
        for name, p in params.items():
            g = grads[name]
            if self.weight_decay != 0:
                g = g + p.dtype.type(self.weight_decay) * p  # g = g + wd p
            if self.momentum != 0:
                mu = p.dtype.type(self.momentum)
                v = self.velocity.get(name)
                if v is None:  # the first step starts the velocity at g
                    v = self.velocity[name] = g.copy()
                else:
                    _check_slot("velocity", name, v, p)
                    v *= mu  # v = mu v + g
                    v += g
                g = g + mu * v if self.nesterov else v
            p -= p.dtype.type(self.lr) * g

    def state_dict(self) -> dict[str, object]:
        """{"type": "SGD", "velocity.<name>": (shape of param), ...}; copies."""
        state: dict[str, object] = {"type": "SGD"}
        state.update({f"velocity.{name}": v.copy() for name, v in self.velocity.items()})
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` returned (arrays are copied)."""
        slots = _unflatten(state, "SGD", ("velocity",))
        self.velocity = slots["velocity"]


class Adam:
    """Adam (Kingma & Ba, 2015) with bias correction and optional L2 weight decay."""

    def __init__(
        self,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        self.lr = _check_nonnegative("lr", lr)
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
            raise ValueError(f"betas must be a pair (b1, b2), got {betas!r}")
        for i, beta in enumerate(betas):
            if not isinstance(beta, (int, float, np.number)) or not 0 <= beta < 1:
                raise ValueError(f"betas[{i}] must lie in [0, 1), got {beta!r}")
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = _check_nonnegative("eps", eps)
        self.weight_decay = _check_nonnegative("weight_decay", weight_decay)
        self.step_count: dict[str, int] = {}
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}
        self._scratch: dict[np.dtype, np.ndarray] = {}  # one work buffer per dtype, not state

    def _work(self, p: np.ndarray) -> np.ndarray:
        """A scratch array of p's shape and dtype (a view of one buffer shared by all
        parameters, so a step allocates nothing)."""
        buffer = self._scratch.get(p.dtype)
        if buffer is None or buffer.size < p.size:
            buffer = self._scratch[p.dtype] = np.empty(p.size, dtype=p.dtype)
        return buffer[: p.size].reshape(p.shape)

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """Update every parameter in place from its gradient (grads has params' keys).

        Each line below computes what the docstring's formula says in the same order of
        operations, into ``work`` instead of fresh temporaries (the results are identical
        to the bit; tests/test_optim.py holds them to PyTorch's)."""
        _check_params_and_grads(params, grads)
        b1, b2 = self.betas
        for name, p in params.items():
            g = grads[name]
            cast = p.dtype.type
            if self.weight_decay != 0:
                g = g + cast(self.weight_decay) * p  # g = g + wd p
            if name not in self.m:  # m and v start at zero
                self.m[name], self.v[name] = np.zeros_like(p), np.zeros_like(p)
                self.step_count[name] = 0
            m, v = self.m[name], self.v[name]
            _check_slot("m", name, m, p)
            _check_slot("v", name, v, p)
            t = self.step_count[name] = self.step_count[name] + 1
            work = self._work(p)
            with np.errstate(under="ignore"):  # tiny running averages may decay to 0
                m *= cast(b1)  # m = b1 m + (1 - b1) g
                m += np.multiply(cast(1 - b1), g, out=work)
                v *= cast(b2)  # v = b2 v + (1 - b2) g^2
                np.multiply(g, g, out=work)
                work *= cast(1 - b2)
                v += work
                step_size = self.lr / (1 - b1**t)  # bias corrections in float64, as PyTorch
                denominator = np.sqrt(v, out=work)  # sqrt(v) / sqrt(1 - b2^t) + eps
                denominator /= cast((1 - b2**t) ** 0.5)
                denominator += cast(self.eps)
                update = np.divide(m, denominator, out=work)  # lr / (1 - b1^t) * m / denominator
                update *= cast(step_size)
                p -= update

    def state_dict(self) -> dict[str, object]:
        """{"type": "Adam", "step.<name>": int, "m.<name>": array, "v.<name>": array}; copies."""
        state: dict[str, object] = {"type": "Adam"}
        for name in self.m:
            state[f"step.{name}"] = self.step_count[name]
            state[f"m.{name}"] = self.m[name].copy()
            state[f"v.{name}"] = self.v[name].copy()
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` returned (arrays are copied)."""
        slots = _unflatten(state, "Adam", ("step", "m", "v"))
        names = set(slots["m"])
        if set(slots["v"]) != names or set(slots["step"]) != names:
            raise ValueError(
                f"state must hold step, m and v for the same parameters, got step for "
                f"{sorted(slots['step'])}, m for {sorted(slots['m'])}, v for {sorted(slots['v'])}"
            )
        for name in names:
            step = slots["step"][name]
            if step.shape != () or not np.issubdtype(step.dtype, np.integer) or step < 1:
                raise ValueError(f"state['step.{name}'] must be a positive integer, got {step!r}")
        self.step_count = {name: int(t) for name, t in slots["step"].items()}
        self.m, self.v = slots["m"], slots["v"]


# ----------------------------------------------------------------------------------------
# checks
# ----------------------------------------------------------------------------------------


def _check_nonnegative(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or value < 0:
        raise ValueError(f"{name} must be a non-negative number, got {value!r}")
    return float(value)


def _check_grads_dict(grads) -> None:
    if not isinstance(grads, dict):
        message = f"grads must be a dict of arrays, got {type(grads).__name__}"
        raise ValueError(message)
    for name, g in grads.items():
        if not isinstance(g, np.ndarray) or not np.issubdtype(g.dtype, np.floating):
            raise ValueError(f"grads['{name}'] must be a float array, got {type(g).__name__}")


def _check_params_and_grads(params, grads) -> None:
    """Same keys; each grad finite and of its parameter's shape and dtype."""
    if not isinstance(params, dict):
        message = f"params must be a dict of arrays, got {type(params).__name__}"
        raise ValueError(message)
    _check_grads_dict(grads)
    missing, unexpected = sorted(set(params) - set(grads)), sorted(set(grads) - set(params))
    if missing or unexpected:
        raise ValueError(
            f"grads must have the keys of params; missing {missing}, unexpected {unexpected}"
        )
    for name, p in params.items():
        g = grads[name]
        if not isinstance(p, np.ndarray) or not np.issubdtype(p.dtype, np.floating):
            raise ValueError(f"params['{name}'] must be a float array (updated in place)")
        if g.shape != p.shape or g.dtype != p.dtype:
            raise ValueError(
                f"grads['{name}'] must match params['{name}'] {p.shape} {p.dtype}, "
                f"got {g.shape} {g.dtype}"
            )
        _checks.check_finite(f"grads['{name}']", g)


def _check_slot(slot: str, name: str, buffer: np.ndarray, p: np.ndarray) -> None:
    """A loaded state buffer must fit the parameter it updates."""
    if buffer.shape != p.shape or buffer.dtype != p.dtype:
        raise ValueError(
            f"optimizer state '{slot}.{name}' is {buffer.shape} {buffer.dtype} but "
            f"params['{name}'] is {p.shape} {p.dtype}; was the state saved for another model?"
        )


def _unflatten(state, kind: str, slots: tuple[str, ...]) -> dict[str, dict[str, np.ndarray]]:
    """{"type": kind, "<slot>.<name>": value} -> {slot: {name: array copy}}."""
    if not isinstance(state, dict) and not hasattr(state, "keys"):
        raise ValueError(f"state must be a dict (or a loaded .npz), got {type(state).__name__}")
    saved_type = str(np.asarray(state["type"])) if "type" in state else None
    if saved_type != kind:
        raise ValueError(f"state is for optimizer {saved_type!r}, not {kind!r}")
    out: dict[str, dict[str, np.ndarray]] = {slot: {} for slot in slots}
    for key in state:
        if key == "type":
            continue
        slot, dot, name = key.partition(".")
        if not dot or slot not in slots:
            raise ValueError(
                f"state has unexpected key {key!r}; {kind} keys are 'type' and "
                f"{', '.join(repr(s + '.<param name>') for s in slots)}"
            )
        out[slot][name] = np.array(state[key])  # a copy, detached from the saved state
    return out
