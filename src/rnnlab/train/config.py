"""One config dataclass per task; its fields are the command-line options.

``rnnlab train TASK [--recipe NAME] [--config FILE.toml] [--option value ...]``: options
come from a packaged recipe, then the TOML file, then the flags, and an unknown or
mistyped option is an error that names it. The resolved config is saved as
DIR/config.json and inside every checkpoint.

A file option is a path (relative to the directory the command runs in) or a dataset
reference ``dataset:NAME/FILE`` (``rnnlab.data.datasets``), told apart by that prefix.
"""

from __future__ import annotations

import dataclasses
import difflib
import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from rnnlab.errors import ConfigError
from rnnlab.options import OptionError, check_option, option  # noqa: F401 - part of this module's API

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


@dataclass
class TrainConfig:
    """Options every task has."""

    cell: str = option("lstm", "recurrent cell", ("lstm", "rnn", "gru"))
    hidden: int = option(128, "hidden size H of each recurrent layer", at_least=1)
    layers: int = option(1, "number of stacked recurrent layers", at_least=1)
    bidirectional: bool = option(False, "also read each sequence backwards")
    dropout: float = option(0.0, "dropout probability on the recurrent layers' inputs and outputs",
                            at_least=0.0, below=1.0)
    recurrent_dropout: float = option(0.0, "variational dropout probability on h_{t-1} in each recurrent layer's "
                                      "recurrent product: one mask per sequence, the same at every step",
                                      at_least=0.0, below=1.0)
    epochs: int = option(10, "maximum number of passes over the training data", at_least=1)
    batch_size: int = option(32, "sequences per minibatch", at_least=1)
    lr: float = option(1e-3, "Adam learning rate", above=0.0)
    lr_schedule: str = option("plateau", "learning-rate schedule: halve when dev stalls, cosine decay, or constant",
                              ("plateau", "cosine", "constant"))
    clip: float = option(5.0, "clip the gradients' global norm to this value", above=0.0)
    patience: int = option(3, "stop after this many epochs without a better dev metric (0: never)", at_least=0)
    seed: int = option(0, "random seed for initialisation, shuffling and dropout", at_least=0)
    threads: int = option(0, "BLAS threads (0: the cores other processes leave free, see rnnlab.threads)",
                          at_least=0)
    save_minutes: float = option(10.0, "inside an epoch, also save the last checkpoint every this many minutes "
                                 "(0: only at the end of each epoch); a killed run loses at most that much",
                                 at_least=0.0)

    def validate(self) -> None:
        """Every option against its declared choices and bounds; subclasses add the checks
        that involve several options."""
        for f in fields(self):
            check_option(f, getattr(self, f.name))


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


def _apply(values: dict[str, Any], config_type, updates: dict[str, Any], source: str,
           sources: dict[str, str] | None = None) -> None:
    types = field_types(config_type)
    if not isinstance(updates, dict):
        raise ConfigError(f"{source}: expected a table of options, got {type(updates).__name__}")
    for key, value in updates.items():
        name = str(key).replace("-", "_")
        if name not in types:
            close = difflib.get_close_matches(name, types, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"{source}: unknown option '{key}'{hint}")
        values[name] = _coerce(name, types[name], value, source)
        if sources is not None:
            sources[name] = source


def _validated(config, sources: dict[str, str], default_source: str):
    """``config`` after ``config.validate()``; a bad value is named with where it came from."""
    try:
        config.validate()
    except OptionError as exc:
        where = sources.get(exc.option, default_source)
        if where == "command line":
            raise ConfigError(f"--{exc.option.replace('_', '-')} {exc.detail}") from None
        raise ConfigError(f"{where}: {exc}") from None
    return config


def resolve_config(config_type, toml_path: str | Path | None = None, overrides: dict[str, Any] | None = None,
                   base: dict[str, Any] | None = None, base_source: str = "recipe"):
    """Defaults, then ``base`` (a recipe's options), then the TOML file, then the overrides
    (e.g. command-line flags); every value checked, and a bad one named with its flag or file."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    if base:
        _apply(values, config_type, base, base_source, sources)
    if toml_path is not None:
        path = Path(toml_path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: config file is not UTF-8 text") from None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the config file ({exc.strerror or exc})") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
        _apply(values, config_type, data, str(path), sources)
    _apply(values, config_type, overrides or {}, "command line", sources)
    return _validated(config_type(**values), sources, "defaults")


def config_to_dict(config) -> dict[str, Any]:
    return dataclasses.asdict(config)


def config_from_dict(config_type, data: dict[str, Any], source: str):
    """A config saved in a run (config.json, a checkpoint), checked as strictly as the
    command line: an edited or forged value is an error naming ``source``."""
    values: dict[str, Any] = {}
    _apply(values, config_type, data, source)
    try:
        return _validated(config_type(**values), {}, source)
    except ConfigError as exc:
        message = str(exc)
        raise ConfigError(message if message.startswith(source) else f"{source}: {message}") from None
