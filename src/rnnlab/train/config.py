"""One config dataclass per task; its fields are the command-line options.

``rnnlab train TASK [--config FILE.toml] [--option value ...]``: options come from the TOML
file, flags override them, and an unknown or mistyped option is an error that names it.
The resolved config is saved as DIR/config.json and inside every checkpoint.

Paths in a config are relative to the directory the command runs in (the repository root
for the configs in ``configs/``).
"""

from __future__ import annotations

import dataclasses
import difflib
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


class ConfigError(ValueError):
    """An option that does not exist, has the wrong type or an invalid value."""


def option(default, help: str, choices: tuple | None = None):
    """A config field with its help text (and allowed values) for the CLI."""
    return field(default=default, metadata={"help": help, "choices": choices})


@dataclass
class TrainConfig:
    """Options every task has."""

    cell: str = option("lstm", "recurrent cell", ("lstm", "rnn"))
    hidden: int = option(128, "hidden size H of each recurrent layer")
    layers: int = option(1, "number of stacked recurrent layers")
    bidirectional: bool = option(False, "also read each sequence backwards")
    dropout: float = option(0.0, "dropout probability on the recurrent layers' inputs and outputs")
    epochs: int = option(10, "maximum number of passes over the training data")
    batch_size: int = option(32, "sequences per minibatch")
    lr: float = option(1e-3, "Adam learning rate")
    lr_schedule: str = option("plateau", "learning-rate schedule: halve when dev stalls, cosine decay, or constant",
                              ("plateau", "cosine", "constant"))
    clip: float = option(5.0, "clip the gradients' global norm to this value")
    patience: int = option(3, "stop after this many epochs without a better dev metric (0: never)")
    seed: int = option(0, "random seed for initialisation, shuffling and dropout")

    def validate(self) -> None:
        for f in fields(self):
            choices = f.metadata.get("choices")
            value = getattr(self, f.name)
            if choices and value not in choices:
                raise ConfigError(f"option {f.name} must be one of {', '.join(map(str, choices))}, got {value!r}")
        for name in ("hidden", "layers", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"option {name} must be at least 1, got {getattr(self, name)}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"option dropout must lie in [0, 1), got {self.dropout}")
        if self.lr <= 0 or self.clip <= 0:
            raise ConfigError(f"options lr and clip must be positive, got lr={self.lr}, clip={self.clip}")


def _coerce(name: str, kind: type, value: Any, source: str):
    """Check (TOML) or convert (command line strings) one option value to the field's type."""
    if isinstance(value, str) and kind is not str:
        try:
            if kind is bool:
                lowered = value.lower()
                if lowered not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                return lowered in ("true", "1", "yes")
            return kind(value)
        except ValueError:
            raise ConfigError(f"{source}: option {name} must be {kind.__name__}, got {value!r}") from None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is bool and not isinstance(value, bool) or kind is not bool and isinstance(value, bool):
        raise ConfigError(f"{source}: option {name} must be {kind.__name__}, got {value!r}")
    if not isinstance(value, kind):
        raise ConfigError(f"{source}: option {name} must be {kind.__name__}, got {value!r}")
    return value


def field_types(config_type) -> dict[str, type]:
    hints = {"int": int, "float": float, "str": str, "bool": bool}
    return {f.name: hints[f.type] if isinstance(f.type, str) else f.type for f in fields(config_type)}


def _apply(values: dict[str, Any], config_type, updates: dict[str, Any], source: str) -> None:
    types = field_types(config_type)
    for key, value in updates.items():
        name = key.replace("-", "_")
        if name not in types:
            close = difflib.get_close_matches(name, types, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"{source}: unknown option '{key}'{hint}")
        values[name] = _coerce(name, types[name], value, source)


def resolve_config(config_type, toml_path: str | Path | None = None, overrides: dict[str, Any] | None = None):
    """Defaults, then the TOML file, then the overrides (e.g. command-line flags)."""
    values: dict[str, Any] = {}
    if toml_path is not None:
        path = Path(toml_path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: config file is not UTF-8 text") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
        _apply(values, config_type, data, str(path))
    _apply(values, config_type, overrides or {}, "command line")
    config = config_type(**values)
    config.validate()
    return config


def config_to_dict(config) -> dict[str, Any]:
    return dataclasses.asdict(config)


def config_from_dict(config_type, data: dict[str, Any], source: str):
    values: dict[str, Any] = {}
    _apply(values, config_type, data, source)
    return config_type(**values)
