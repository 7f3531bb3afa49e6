"""Options declared once, with their help text and their allowed values or bounds.

A config dataclass (``rnnlab.train.config``, ``rnnlab.demo``) declares each field with
``option(default, help, choices, at_least=..., above=..., at_most=..., below=...)``; the
command line builds its flags from them, and ``check_option`` checks a value wherever it
comes from: a flag, a TOML file, or a config saved in a run. A float must also be finite.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import field

from rnnlab.errors import ConfigError


def option(default, help: str, choices: tuple | None = None, *, at_least=None, above=None,
           at_most=None, below=None):
    """A config field with its help text, its allowed values or bounds, for the CLI and
    for every check of a value (flag, TOML file, a checkpoint's saved config)."""
    bounds = {"at_least": at_least, "above": above, "at_most": at_most, "below": below}
    return field(default=default, metadata={"help": help, "choices": choices,
                                            **{k: v for k, v in bounds.items() if v is not None}})


class OptionError(ConfigError):
    """One option's value is not allowed. ``option`` names it and ``detail`` says what is
    wrong ("must be at least 1, got 0"), so the caller can name where the value came from:
    ``--window must be ...`` for a flag, ``FILE: option window must be ...`` for a file."""

    def __init__(self, option_name: str, detail: str):
        super().__init__(f"option {option_name} {detail}")
        self.option, self.detail = option_name, detail


def check_option(f: dataclasses.Field, value) -> None:
    """Raise OptionError unless ``value`` is one of the field's choices and within its
    bounds; a float must also be finite (NaN and inf are never a setting)."""
    name, meta = f.name, f.metadata
    choices = meta.get("choices")
    if choices and value not in choices:
        raise OptionError(name, f"must be one of {', '.join(map(str, choices))}, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise OptionError(name, f"must be a finite number, got {value}")
    low = meta.get("at_least", meta.get("above"))
    high = meta.get("at_most", meta.get("below"))
    too_low = low is not None and (value < low if "at_least" in meta else value <= low)
    too_high = high is not None and (value > high if "at_most" in meta else value >= high)
    if too_low or too_high:
        raise OptionError(name, f"must be {_range_text(meta)}, got {value!r}")


def _range_text(meta) -> str:
    low, high = meta.get("at_least", meta.get("above")), meta.get("at_most", meta.get("below"))
    if low is not None and high is not None:
        left, right = "[" if "at_least" in meta else "(", "]" if "at_most" in meta else ")"
        return f"in {left}{low}, {high}{right}"
    if low is not None:
        return f"at least {low}" if "at_least" in meta else f"greater than {low}"
    return f"at most {high}" if "at_most" in meta else f"less than {high}"
