"""Each space family's options, declared once (:func:`nni_rl_nas.declarations.option`): type,
default and help, which validation fills in, ``nni-rl-nas spaces`` prints and the docs' config
reference lists. The checks of each family's values are beside its registration
(:data:`nni_rl_nas.spaces.SPACE_FAMILIES`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..declarations import default_of, option
from . import stages as small_frames
from .cnn import DEFAULT_FILTER_SIZES, DEFAULT_KERNELS, DEFAULT_STRIDES
from .darts import OPERATIONS, RL_DARTS_OPS, WIRINGS, ZERO
from .impala import DEFAULT_BLOCKS, DEFAULT_CHANNELS
from .mlp import ACTIVATIONS, DEFAULT_ACTIVATIONS, DEFAULT_WIDTHS


def defaults_of(options_class: type) -> dict[str, Any]:
    """The options' defaults as a config writes them."""
    return {option_field.name: default_of(option_field) for option_field in dataclasses.fields(options_class)}


@dataclass(frozen=True)
class MlpSpaceOptions:
    depth: int | list[int] = option(
        2, "hidden layers; a list of distinct depths (e.g. [1, 2, 3]) searches the depth too"
    )
    widths: list[int] = option(DEFAULT_WIDTHS, "the widths each hidden layer chooses from")
    activations: list[str] = option(
        DEFAULT_ACTIVATIONS, f"the activations each hidden layer chooses from: any of {sorted(ACTIVATIONS)}"
    )


@dataclass(frozen=True)
class CnnSpaceOptions:
    depth: int | list[int] = option(3, "convolutions; a list of distinct depths searches the depth too")
    filter_sizes: list[int] = option(DEFAULT_FILTER_SIZES, "the square filter sizes each convolution chooses from")
    strides: list[int] = option(DEFAULT_STRIDES, "the strides each convolution chooses from")
    kernels: list[int] = option(
        DEFAULT_KERNELS, "the numbers of kernels (output channels) each convolution chooses from"
    )


@dataclass(frozen=True)
class DartsSpaceOptions:
    wiring: str = option(
        "micro",
        f"one of {list(WIRINGS)}: micro, a reduction cell and normal cells per stage; macro, IMPALA-CNN's "
        "stages with cells for residual blocks; flat, macro's stages without their max-pool (small frames)",
    )
    channels: list[int] = option((16, 32, 32), "each stage's channels (the number of stages is its length)")
    nodes: int = option(4, "intermediate nodes per cell, each summing two operations on earlier states")
    normal_cells: int = option(1, "normal cells per stage (micro wiring), after its reduction cell")
    ops: list[str] = option(
        RL_DARTS_OPS, f"the operations each edge chooses from (must name {ZERO!r}): any of {list(OPERATIONS)}"
    )
    features: int = option(256, "width of the dense layer after the cells: the encoder's output")


@dataclass(frozen=True)
class ImpalaSpaceOptions:
    stages: int | list[int] = option(3, "IMPALA-CNN stages; a list of distinct counts searches the count too")
    channels: list[int] = option(DEFAULT_CHANNELS, "the channels each stage chooses from")
    blocks: list[int] = option(DEFAULT_BLOCKS, "the numbers of residual blocks each stage chooses from")
    features: int = option(256, "width of the dense layer after the stages: the encoder's output")


@dataclass(frozen=True)
class StagesSpaceOptions:
    stages: int | list[int] = option(
        small_frames.DEFAULT_STAGES, "stages of convolutions; a list of distinct counts searches the count too"
    )
    channels: list[int] = option(small_frames.DEFAULT_CHANNELS, "the channels each stage's convolution chooses from")
    kernels: list[int] = option(
        small_frames.DEFAULT_KERNELS, "the odd square kernels each stage's convolution chooses from"
    )
    paddings: list[str] = option(
        small_frames.PADDINGS,
        f"the first convolution's paddings, of {list(small_frames.PADDINGS)}; later stages pad to keep the size (same)",
    )
    downsamplings: list[str] = option(
        small_frames.DOWNSAMPLINGS,
        f"how each stage may downsample, of {list(small_frames.DOWNSAMPLINGS)}: none, a stride-2 convolution, or a "
        "max-pool 3x3/2 after it",
    )
    blocks: list[int] = option(small_frames.DEFAULT_BLOCKS, "the numbers of residual blocks each stage chooses from")
    features: list[int] = option(
        small_frames.DEFAULT_FEATURES, "the widths the dense layer after the stages (the encoder's output) chooses from"
    )
