"""Model spaces: NNI ``ModelSpace`` families that a search strategy samples architectures from.

A family is registered here by name (the ``space.family`` key of an experiment config) with the
options it takes; strategies only ever see a space through :func:`search_choices`, so any
family works with any strategy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import gymnasium as gym
from nni.nas.nn.pytorch import ModelSpace
from stable_baselines3.common.preprocessing import get_flattened_obs_dim

from .cnn import DEFAULT_FILTER_SIZES, DEFAULT_KERNELS, DEFAULT_STRIDES, CNNSpace
from .mlp import ACTIVATIONS, DEFAULT_ACTIVATIONS, DEFAULT_WIDTHS, MLPSpace

Architecture = dict[str, Any]


class SpaceMismatchError(ValueError):
    """A model space cannot serve an environment's observations or actions."""


@dataclass(frozen=True)
class SpaceFamily:
    """How to build one family of spaces for an environment, and what options it accepts."""

    description: str
    defaults: dict[str, Any]
    build: Callable[[gym.Space, int, dict[str, Any]], ModelSpace]
    validate_options: Callable[[dict[str, Any]], list[str]]
    example_inputs: gym.Space  # what `nni-rl-nas spaces` builds the family for


def _build_mlp(observation_space: gym.Space, out_features: int, options: dict[str, Any]) -> MLPSpace:
    if not isinstance(observation_space, (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete,
                                          gym.spaces.MultiBinary)):
        raise SpaceMismatchError(
            f"space family 'mlp' needs a flat observation (Box/Discrete), got {observation_space}; "
            "fix: wrap the env with gymnasium.wrappers.FlattenObservation or pick an env with vector observations"
        )
    return MLPSpace(get_flattened_obs_dim(observation_space), out_features, **options)


def _build_cnn(observation_space: gym.Space, out_features: int, options: dict[str, Any]) -> CNNSpace:
    shape = getattr(observation_space, "shape", None)
    if not isinstance(observation_space, gym.spaces.Box) or shape is None or len(shape) != 3:
        raise SpaceMismatchError(
            f"space family 'cnn' needs image inputs shaped (channels, height, width), got {observation_space}; "
            "fix: use space family 'mlp' for vector observations"
        )
    return CNNSpace(shape[0], out_features, **options)


def _whole_number_problems(options: dict[str, Any], key: str, example: str) -> list[str]:
    values = options[key]
    if not isinstance(values, list) or not values:
        return [f"space.{key}: got {values!r}; fix: list at least one, e.g. {example}"]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values) or len(set(values)) != len(values):
        return [f"space.{key}: got {values!r}; fix: distinct positive whole numbers, e.g. {example}"]
    return []


def _depth_problems(options: dict[str, Any]) -> list[str]:
    depth = options["depth"]
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
        return [f"space.depth: got {depth!r}; fix: a whole number >= 1"]
    return []


def _cnn_option_problems(options: dict[str, Any]) -> list[str]:
    return (_depth_problems(options) + _whole_number_problems(options, "filter_sizes", "[1, 3, 5, 7]")
            + _whole_number_problems(options, "strides", "[1, 2]") + _whole_number_problems(options, "kernels", "[16, 32]"))


def _mlp_option_problems(options: dict[str, Any]) -> list[str]:
    problems = _depth_problems(options) + _whole_number_problems(options, "widths", "[64, 256]")
    activations = options["activations"]
    if not isinstance(activations, list) or not activations:
        problems.append(f"space.activations: got {activations!r}; fix: list at least one of {sorted(ACTIVATIONS)}")
    else:
        unknown = [a for a in activations if a not in ACTIVATIONS]
        if unknown or len(set(activations)) != len(activations):
            problems.append(
                f"space.activations: got {activations!r}; fix: distinct names from {sorted(ACTIVATIONS)}"
            )
    return problems


SPACE_FAMILIES: dict[str, SpaceFamily] = {
    "mlp": SpaceFamily(
        description="dense hidden layers, each choosing a width and an activation (DQN Q-network)",
        defaults={"depth": 2, "widths": list(DEFAULT_WIDTHS), "activations": list(DEFAULT_ACTIVATIONS)},
        build=_build_mlp,
        validate_options=_mlp_option_problems,
        example_inputs=gym.spaces.Box(-1.0, 1.0, shape=(4,)),
    ),
    "cnn": SpaceFamily(
        description="fixed-depth convolutions, each choosing kernels, filter size and stride (image classifiers)",
        defaults={"depth": 3, "filter_sizes": list(DEFAULT_FILTER_SIZES), "strides": list(DEFAULT_STRIDES),
                  "kernels": list(DEFAULT_KERNELS)},
        build=_build_cnn,
        validate_options=_cnn_option_problems,
        example_inputs=gym.spaces.Box(0.0, 1.0, shape=(1, 8, 8)),
    ),
}


def search_choices(space: ModelSpace) -> dict[str, list[Any]]:
    """The decisions a strategy makes: label -> candidate values, in the space's own order."""
    return {str(label): list(mutable.values) for label, mutable in space.simplify().items()}


def nni_search_space(space: ModelSpace) -> dict[str, dict[str, Any]]:
    """The space's decisions in NNI's search-space format, for the experiment YAML's ``searchSpace``.

    NNI requires that field; with it, the web UI shows one column per decision and plots
    decisions against scores. ``tuner.classArgs.space`` stays the source of truth.
    """
    return {label: {"_type": "choice", "_value": values} for label, values in search_choices(space).items()}


def count_architectures(space: ModelSpace) -> int:
    return math.prod(len(values) for values in search_choices(space).values())
