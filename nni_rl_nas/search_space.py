"""What a search chooses: the model space's decisions and, where a config adds them
(``tuner.classArgs.search_hyperparameters``), the agent's hyperparameters beside them.

A *point* is one trial's choices: a dict of every label, the architecture's and the searched
hyperparameters'. Strategies propose points, trials train them, and NNI's web UI shows each label
as a column. A point's name is its architecture's name, then the searched hyperparameters it sets,

    256-relu_256-relu | exploration_fraction=0.12, learning_rate=0.00031

which :meth:`SearchSpace.parse_name` reads back to the same point: strategies know trials by it.
A baseline names no hyperparameter; its trial takes ``task.hyperparameters`` (or the algorithm's
defaults), the values a user would have picked by hand.
"""

from __future__ import annotations

import ast
import math
from typing import Any

from .spaces import Architecture, count_architectures, nni_search_space, search_choices

HYPERPARAMETERS_AFTER = " | "  # between a point's architecture name and its hyperparameters
Point = dict[str, Any]


def plain(value: Any) -> Any:
    """A tuner's value as plain Python (NNI's tuners may give numpy scalars), as JSON carries it."""
    return value.item() if hasattr(value, "item") else value


def within(spec: dict[str, Any], value: Any) -> bool:
    """Whether NNI's search space entry ``spec`` can give ``value``."""
    kind, args = spec["_type"], spec["_value"]
    if kind == "choice":
        return value in args
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if kind == "randint":
        return isinstance(value, int) and args[0] <= value < args[1]
    return args[0] <= value <= args[1]


def count_values(spec: dict[str, Any]) -> float:
    """How many values NNI's entry ``spec`` gives: infinitely many for a continuous range."""
    kind, args = spec["_type"], spec["_value"]
    if kind == "choice":
        return len(args)
    if kind == "randint":
        return args[1] - args[0]
    return math.inf


class SearchSpace:
    """A model space with the hyperparameters searched beside it (NNI's search space entries)."""

    def __init__(self, space, hyperparameters: dict[str, dict[str, Any]]) -> None:
        self.space = space
        self.hyperparameters = dict(hyperparameters)
        self.architecture_choices = search_choices(space)

    @property
    def choices(self) -> dict[str, list]:
        """The labels that take one of a list of values, in order: the architecture's, then the
        hyperparameters searched as a ``choice`` (what this project's own strategies search)."""
        return {
            **self.architecture_choices,
            **{name: list(spec["_value"]) for name, spec in self.hyperparameters.items() if spec["_type"] == "choice"},
        }

    @property
    def labels(self) -> list[str]:
        return [*self.architecture_choices, *self.hyperparameters]

    @property
    def size(self) -> float:
        """How many points there are; infinitely many with a continuous hyperparameter."""
        return count_architectures(self.space) * math.prod(count_values(spec) for spec in self.hyperparameters.values())

    def nni_search_space(self) -> dict[str, dict[str, Any]]:
        """The search space as NNI's tuners and web UI take it (a config's ``searchSpace`` mirrors it)."""
        return {**nni_search_space(self.space), **self.hyperparameters}

    def split(self, point: Point) -> tuple[Architecture, dict[str, Any]]:
        """(the architecture's choices, the searched hyperparameters ``point`` sets); a baseline's
        point may set none of them."""
        return (
            {label: plain(point[label]) for label in self.architecture_choices},
            {name: plain(point[name]) for name in self.hyperparameters if name in point},
        )

    def name(self, point: Point) -> str:
        architecture, hyperparameters = self.split(point)
        name = self.space.architecture_name(architecture)
        if not hyperparameters:
            return name
        return name + HYPERPARAMETERS_AFTER + ", ".join(f"{key}={value!r}" for key, value in hyperparameters.items())

    def parse_name(self, name: str) -> Point:
        """The point ``name`` names; ValueError, saying why, for a name that is none of this space's."""
        architecture_name, _, settings = name.partition(HYPERPARAMETERS_AFTER)
        point = self.space.parse_architecture_name(architecture_name)
        for setting in filter(None, settings.split(", ")):
            key, _, text = setting.partition("=")
            if key not in self.hyperparameters:
                raise ValueError(f"{key!r} is not a searched hyperparameter (searched: {list(self.hyperparameters)})")
            try:
                point[key] = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                raise ValueError(f"{setting!r}: the value is not a number, string or boolean") from None
        return point

    def check_hyperparameters(self, point: Point) -> dict[str, Any]:
        """The searched hyperparameters of ``point``, each one its entry can give; ValueError otherwise."""
        _, hyperparameters = self.split(point)
        for name, value in hyperparameters.items():
            if not within(self.hyperparameters[name], value):
                raise ValueError(
                    f"parameter {name}={value!r} is not one the search gives ({self.hyperparameters[name]})"
                )
        return hyperparameters
