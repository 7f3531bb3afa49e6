"""The reference recipes: one TOML file per trained result in the README, shipped inside the
package, naming its data by dataset (``dataset:NAME/FILE``) rather than by path.

``rnnlab train --recipe NAME --out DIR`` trains one (fetching its dataset when missing);
``rnnlab recipes`` lists them. A recipe file is the options of its task, then a
``[recipe]`` table: the ``task``, the ``dataset``, and the ``result`` and ``wall_time`` it
reached, which ``rnnlab recipes`` shows.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import resources

from rnnlab.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


@dataclass(frozen=True)
class Recipe:
    name: str
    task: str
    dataset: str
    result: str
    wall_time: str
    options: dict


def names() -> list[str]:
    return sorted(p.name[: -len(".toml")] for p in resources.files(__name__).iterdir() if p.name.endswith(".toml"))


def load(name: str) -> Recipe:
    """The recipe NAME; a ConfigError lists the recipes when there is none by that name."""
    if name not in names():
        raise ConfigError(f"no recipe named {name!r}; recipes are {', '.join(names())} (rnnlab recipes)")
    data = tomllib.loads(resources.files(__name__).joinpath(f"{name}.toml").read_text(encoding="utf-8"))
    info = data.pop("recipe")
    return Recipe(name, info["task"], info["dataset"], info["result"], info["wall_time"], data)
