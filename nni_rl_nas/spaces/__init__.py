"""Model spaces: NNI ``ModelSpace`` families (each an :class:`ArchitectureSpace`) that a search
strategy samples architectures from.

A family is registered here by name (the ``space.family`` key of an experiment config) with the
options it takes; strategies only ever see a space through :func:`search_choices`, so any
family works with any strategy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import nni
from stable_baselines3.common.preprocessing import get_flattened_obs_dim

from .base import DEPTH_LABEL, PARTS, Architecture, ArchitectureSpace  # noqa: F401 (PARTS: part of the package's interface)
from .cnn import CnnSpace
from .darts import OPERATIONS, RL_DARTS_OPS, WIRINGS, ZERO, DartsEncoderSpace, stage_sides
from .impala import ImpalaEncoderSpace
from .mlp import ACTIVATIONS, MlpSpace
from .options import (
    CnnSpaceOptions,
    DartsSpaceOptions,
    ImpalaSpaceOptions,
    MlpSpaceOptions,
    StagesSpaceOptions,
    defaults_of,
)
from .stages import DOWNSAMPLINGS, PADDINGS, StagesEncoderSpace


class SpaceMismatchError(ValueError):
    """A model space cannot serve an environment's observations or actions."""


@dataclass(frozen=True)
class SpaceFamily:
    """How to build one family of spaces for an environment, and what options it accepts."""

    description: str
    options: type  # the family's options, declared (:mod:`.options`)
    # inputs, outputs (None where the agent adds its heads), options
    build: Callable[[gym.Space, int | None, dict[str, Any]], ArchitectureSpace]
    validate_options: Callable[[dict[str, Any]], list[str]]
    example_inputs: gym.Space  # what `nni-rl-nas spaces` builds the family for
    # the options widened to hold one more architecture (a baseline outside the searched choices);
    # None: the family's baselines must be architectures of the space
    holding: Callable[[dict[str, Any], Architecture], dict[str, Any]] | None = None

    @property
    def defaults(self) -> dict[str, Any]:
        return defaults_of(self.options)


def _build_mlp(observation_space: gym.Space, out_features: int | None, options: dict[str, Any]) -> MlpSpace:
    if not isinstance(
        observation_space, (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary)
    ):
        raise SpaceMismatchError(
            f"space family 'mlp' needs a flat observation (Box/Discrete), got {observation_space}; "
            "fix: wrap the env with gymnasium.wrappers.FlattenObservation or pick an env with vector observations"
        )
    return MlpSpace(get_flattened_obs_dim(observation_space), out_features, **options)


def _image_shape(family: str, observation_space: gym.Space) -> tuple[int, int, int]:
    shape = getattr(observation_space, "shape", None)
    if not isinstance(observation_space, gym.spaces.Box) or shape is None or len(shape) != 3:
        raise SpaceMismatchError(
            f"space family {family!r} needs image inputs shaped (channels, height, width), got {observation_space}; "
            "fix: use space family 'mlp' for vector observations"
        )
    return shape


def _build_cnn(observation_space: gym.Space, out_features: int | None, options: dict[str, Any]) -> CnnSpace:
    shape = _image_shape("cnn", observation_space)
    if out_features is None:
        raise SpaceMismatchError(
            "space family 'cnn' is a whole classifier and needs the dataset's classes; fix: task.dataset"
        )
    return CnnSpace(shape[0], out_features, **options)


def _build_darts(observation_space: gym.Space, out_features: int | None, options: dict[str, Any]) -> DartsEncoderSpace:
    shape = _image_shape("darts", observation_space)
    if options["wiring"] == "flat":  # no stage halves the maps
        return DartsEncoderSpace(shape, **options)
    stages, side = len(options["channels"]), min(shape[1:])
    halved = [side] + stage_sides(side, stages)
    if min(halved[:-1]) <= 1:
        most = next(stage for stage, before in enumerate(halved) if before <= 1)
        raise SpaceMismatchError(
            f"space.channels: {options['channels']} is {stages} stages, each halving the feature maps, but "
            f"{shape[1]}x{shape[2]} frames are down to 1x1 after {most} stages: the feature maps would shrink below "
            "1x1; "
            f"fix: at most {most} stages (entries of space.channels) for these frames"
        )
    return DartsEncoderSpace(shape, **options)


def _build_impala(
    observation_space: gym.Space, out_features: int | None, options: dict[str, Any]
) -> ImpalaEncoderSpace:
    return ImpalaEncoderSpace(_image_shape("impala", observation_space), **options)


def _build_stages(
    observation_space: gym.Space, out_features: int | None, options: dict[str, Any]
) -> StagesEncoderSpace:
    shape = _image_shape("stages", observation_space)
    if "valid" in options["paddings"] and min(shape[1:]) < max(options["kernels"]):
        raise SpaceMismatchError(
            f"space.paddings: 'valid' with kernels up to {max(options['kernels'])} needs frames at least that "
            f"wide, got {shape[1]}x{shape[2]}; fix: drop 'valid' from space.paddings or the larger kernels from "
            "space.kernels"
        )
    return StagesEncoderSpace(shape, **options)


def _whole_number_problems(options: dict[str, Any], key: str, example: str) -> list[str]:
    values = options[key]
    if not isinstance(values, list) or not values:
        return [f"space.{key}: got {values!r}; fix: list at least one, e.g. {example}"]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values) or len(set(values)) != len(
        values
    ):
        return [f"space.{key}: got {values!r}; fix: distinct positive whole numbers, e.g. {example}"]
    return []


# Layers, nodes, stages and blocks are built one by one when the space is (even to validate it):
# a count in the millions would hang validation. No space here is meant to be deeper.
MOST_LAYERS = 64


def _positive_problems(options: dict[str, Any], *keys: str, most: int | None = None) -> list[str]:
    """Whole numbers >= 1 (and <= ``most``, for counts of things built one by one)."""
    bound = f" and <= {most}" if most else ""
    return [
        f"space.{key}: got {options[key]!r}; fix: a whole number >= 1{bound}"
        for key in keys
        if not isinstance(options[key], int)
        or isinstance(options[key], bool)
        or options[key] < 1
        or (most and options[key] > most)
    ]


def _depth_problems(options: dict[str, Any], key: str = "depth") -> list[str]:
    """``depth`` (``stages``): a whole number of layers, or a list of them (the depth is then searched too)."""
    depth = options[key]
    if isinstance(depth, list):
        if (
            not depth
            or not all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= MOST_LAYERS for d in depth)
            or len(set(depth)) != len(depth)  # hashed only once every entry is a whole number
        ):
            return [
                f"space.{key}: got {depth!r}; fix: a whole number, or a list of distinct ones from 1 to "
                f"{MOST_LAYERS} to search it too, e.g. [1, 2, 3]"
            ]
        return []
    return _positive_problems(options, key, most=MOST_LAYERS)


def _cnn_option_problems(options: dict[str, Any]) -> list[str]:
    return (
        _depth_problems(options)
        + _whole_number_problems(options, "filter_sizes", "[1, 3, 5, 7]")
        + _whole_number_problems(options, "strides", "[1, 2]")
        + _whole_number_problems(options, "kernels", "[16, 32]")
    )


def _names_problems(options: dict[str, Any], key: str, allowed: tuple[str, ...]) -> list[str]:
    values = options[key]
    if (
        not isinstance(values, list)
        or not values
        or any(v not in allowed for v in values)
        or len(set(map(str, values))) != len(values)
    ):
        return [f"space.{key}: got {values!r}; fix: a list of distinct names from {list(allowed)}"]
    return []


def _darts_option_problems(options: dict[str, Any]) -> list[str]:
    problems = (
        _positive_problems(options, "features")
        + _positive_problems(options, "nodes", "normal_cells", most=MOST_LAYERS)
        + _names_problems(options, "ops", OPERATIONS)
    )
    channels = options["channels"]
    if (
        not isinstance(channels, list)
        or not 0 < len(channels) <= MOST_LAYERS
        or not all(isinstance(c, int) and not isinstance(c, bool) and c > 0 for c in channels)
    ):
        problems.append(
            f"space.channels: got {channels!r}; fix: each stage's channels, 1 to {MOST_LAYERS} whole "
            "numbers >= 1, e.g. [16, 32, 32]"
        )
    ops = options["ops"]
    if not problems and (ZERO not in ops or len(ops) < 2):
        problems.append(
            f"space.ops: got {ops!r}; fix: name {ZERO!r} (every DARTS relaxation weighs 'no edge' on "
            f"each edge) and at least one other operation, e.g. {list(RL_DARTS_OPS)}"
        )
    if options["wiring"] not in WIRINGS:
        problems.append(
            f"space.wiring: got {options['wiring']!r}; fix: one of {list(WIRINGS)} (micro: a reduction "
            "cell and normal cells per stage; macro: IMPALA-CNN's stages with cells for residual blocks; flat: "
            "macro's stages without their max-pool)"
        )
    return problems


def _blocks_problems(options: dict[str, Any]) -> list[str]:
    """Residual blocks per stage: distinct counts, 0 (none) allowed."""
    blocks = options["blocks"]
    if (
        not isinstance(blocks, list)
        or not blocks
        or not all(isinstance(b, int) and not isinstance(b, bool) and 0 <= b <= MOST_LAYERS for b in blocks)
        or len(set(blocks)) != len(blocks)
    ):
        return [f"space.blocks: got {blocks!r}; fix: distinct whole numbers from 0 to {MOST_LAYERS}, e.g. [0, 1, 2]"]
    return []


def _impala_option_problems(options: dict[str, Any]) -> list[str]:
    problems = (
        _positive_problems(options, "features")
        + _depth_problems(options, "stages")
        + _whole_number_problems(options, "channels", "[16, 32]")
    )
    return problems + _blocks_problems(options)


def _stages_option_problems(options: dict[str, Any]) -> list[str]:
    problems = (
        _depth_problems(options, "stages")
        + _whole_number_problems(options, "channels", "[16, 32, 64]")
        + _whole_number_problems(options, "features", "[128, 256, 512]")
        + _names_problems(options, "paddings", PADDINGS)
        + _names_problems(options, "downsamplings", DOWNSAMPLINGS)
    )
    kernels = options["kernels"]
    kernel_problems = _whole_number_problems(options, "kernels", "[3, 5]")
    if not kernel_problems and any(kernel % 2 == 0 for kernel in kernels):
        kernel_problems.append(
            f"space.kernels: got {kernels!r}; fix: odd sizes (same padding keeps the size only then)"
        )
    return problems + kernel_problems + _blocks_problems(options)


def _mlp_option_problems(options: dict[str, Any]) -> list[str]:
    problems = _depth_problems(options) + _whole_number_problems(options, "widths", "[64, 256]")
    activations = options["activations"]
    if not isinstance(activations, list) or not activations:
        problems.append(f"space.activations: got {activations!r}; fix: list at least one of {sorted(ACTIVATIONS)}")
    else:
        unknown = [a for a in activations if not isinstance(a, str) or a not in ACTIVATIONS]
        if unknown or len(set(activations)) != len(activations):
            problems.append(f"space.activations: got {activations!r}; fix: distinct names from {sorted(ACTIVATIONS)}")
    return problems


def _mlp_holding(options: dict[str, Any], architecture: Architecture) -> dict[str, Any]:
    """The widths and activations with the architecture's own added (its depth must be the space's)."""
    widths = [value for label, value in architecture.items() if label.endswith("_width")]
    activations = [value for label, value in architecture.items() if label.endswith("_activation")]
    return {
        **options,
        "widths": sorted({*options["widths"], *widths}),
        "activations": options["activations"] + sorted(set(activations) - set(options["activations"])),
    }


SPACE_FAMILIES: dict[str, SpaceFamily] = {
    "mlp": SpaceFamily(
        description="dense hidden layers, each choosing a width and an activation (DQN Q-network, PPO/SAC MLPs); the "
        "depth fixed or searched",
        options=MlpSpaceOptions,
        build=_build_mlp,
        validate_options=_mlp_option_problems,
        example_inputs=gym.spaces.Box(-1.0, 1.0, shape=(4,)),
        holding=_mlp_holding,
    ),
    "cnn": SpaceFamily(
        description="convolutions, each choosing kernels, filter size and stride (image classifiers); the depth fixed "
        "or searched",
        options=CnnSpaceOptions,
        build=_build_cnn,
        validate_options=_cnn_option_problems,
        example_inputs=gym.spaces.Box(0.0, 1.0, shape=(1, 8, 8)),
    ),
    "darts": SpaceFamily(
        description="image encoder of RL-DARTS cells, each node choosing two operations and their inputs",
        options=DartsSpaceOptions,
        build=_build_darts,
        validate_options=_darts_option_problems,
        example_inputs=gym.spaces.Box(0.0, 1.0, shape=(4, 10, 10)),
    ),
    "impala": SpaceFamily(
        description="image encoder of IMPALA-CNN stages, each choosing its channels and residual blocks; the number "
        "of stages fixed or searched",
        options=ImpalaSpaceOptions,
        build=_build_impala,
        validate_options=_impala_option_problems,
        example_inputs=gym.spaces.Box(0.0, 1.0, shape=(4, 10, 10)),
    ),
    "stages": SpaceFamily(
        description="image encoder for small frames: stages of a convolution (channels, kernel, padding, stride or "
        "max-pool or neither) and residual blocks, then a dense layer; holds the MinAtar network, NatureCNN-10x10 and "
        "IMPALA-CNN",
        options=StagesSpaceOptions,
        build=_build_stages,
        validate_options=_stages_option_problems,
        example_inputs=gym.spaces.Box(0.0, 1.0, shape=(4, 10, 10)),
    ),
}


def search_choices(space: ArchitectureSpace) -> dict[str, list[Any]]:
    """The decisions a strategy makes: label -> candidate values, in the space's own order.

    A choice of one input of a DARTS cell node is NNI's ``CategoricalMultiple`` whose value is a
    one-element list; its candidates are listed as such lists (``[[0], [1]]``).
    """
    choices = {}
    for label, mutable in space.simplify().items():
        if isinstance(mutable, nni.mutable.CategoricalMultiple):
            if mutable.n_chosen != 1:
                raise ValueError(f"decision {label!r} picks {mutable.n_chosen} values; strategies pick one")
            choices[str(label)] = [[value] for value in mutable.values]
        else:
            choices[str(label)] = list(mutable.values)
    return choices


def nni_search_space(space: ArchitectureSpace) -> dict[str, dict[str, Any]]:
    """The space's decisions in NNI's search-space format, for the experiment YAML's ``searchSpace``.

    NNI requires that field; with it, the web UI shows one column per decision and plots
    decisions against scores. ``tuner.classArgs.space`` stays the source of truth.
    """
    return {label: {"_type": "choice", "_value": values} for label, values in search_choices(space).items()}


def count_architectures(space: ArchitectureSpace) -> int:
    """How many distinct networks the space holds: at a searched depth, the layers past it do not count."""
    choices = search_choices(space)
    if not space.can_grow():
        return math.prod(len(values) for values in choices.values())
    layer_labels = [space.layer_labels(layer) for layer in range(1, max(space.depths) + 1)]
    per_layer = [math.prod(len(choices[label]) for label in labels) for labels in layer_labels]
    in_layers = {DEPTH_LABEL, *(label for labels in layer_labels for label in labels)}
    outside_layers = math.prod(len(values) for label, values in choices.items() if label not in in_layers)
    return outside_layers * sum(math.prod(per_layer[:depth]) for depth in space.depths)
