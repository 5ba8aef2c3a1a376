"""RL-DARTS's cell spaces: image encoders of searched cells, for pixel-based agents.

The wiring is RL-DARTS's (Miao et al., 2022; google/brain_autorl ``rl_darts/policies``):

- a cell reads one input (a 1x1 convolution first, where its channels differ from the cell's);
  each of its ``nodes`` intermediate nodes sums two operations, each applied to the input or to an
  earlier node; the cell's output is all nodes concatenated, then a 1x1 convolution back to the
  cell's channels. All normal cells share one genotype, all reduction cells another (labels
  ``normal/...`` and ``reduce/...``); a reduction cell applies its operations on its input with
  stride 2.
- ``micro`` (RL-DARTS's ``DartsStandardCNN``): ``Conv3x3 -> [reduction cell -> normal cells]``
  per stage.
- ``macro`` (RL-DARTS's ``DartsImpalaCNN``): IMPALA-CNN's stages, ``Conv3x3 -> MaxPool3x3/2 ->
  normal cells``, the cells where IMPALA-CNN has its residual blocks.
- ``flat``: the macro stages without their max-pool, ``Conv3x3 -> normal cells``, for frames as
  small as MinAtar's 10x10, which lose what the agent needs when halved: the best MinAtar
  encoders measured here (NatureCNN-10x10, the MinAtar network) downsample once or not at all,
  while ``macro`` halves 10x10 three times, to 2x2.

Both end in ``flatten -> ReLU -> Linear(features) -> ReLU``: the encoder flattens rather than
pools, since where an object is matters to an agent.

Operations: RL-DARTS's default set (:data:`RL_DARTS_OPS`: a 3x3 convolution, ReLU, tanh, skip,
zero), cheap enough for a supernet to train as long as an agent; supervised DARTS's set
(:data:`SUPERVISED_DARTS_OPS`: separable and dilated convolutions, pools, from NNI's DARTS table)
stays available. As in RL-DARTS, a parameterless operation on a stride-2 edge average-pools
first. ``zero`` is the "no edge" weight that NNI's one-shot DARTS cell gives every edge: it is part
of every relaxation, so a space names it and no sampled cell contains it (discretisation keeps each
node's two strongest non-zero edges, :mod:`nni_rl_nas.oneshot.darts`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import partial
from typing import Any

import torch
from nni.nas.hub.pytorch.nasnet import OPS as NNI_DARTS_OPS
from nni.nas.nn.pytorch import Cell
from torch import nn

from .base import ArchitectureSpace

ZERO = "zero"
RL_DARTS_OPS = ("conv_3x3", "relu", "tanh", "skip_connect", ZERO)
SUPERVISED_DARTS_OPS = (
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    ZERO,
)
OPERATIONS = tuple(dict.fromkeys(RL_DARTS_OPS + SUPERVISED_DARTS_OPS))
# by parameters and intermediate feature maps, most first (the rest have none of either)
OPS_BY_SIZE = (
    "sep_conv_5x5",
    "sep_conv_3x3",
    "dil_conv_5x5",
    "dil_conv_3x3",
    "conv_3x3",
    "avg_pool_3x3",
    "max_pool_3x3",
    "tanh",
    "relu",
    "skip_connect",
)
WIRINGS = ("micro", "macro", "flat")
OPS_PER_NODE = 2  # DARTS: each node keeps two inputs
PREDECESSORS = 1  # RL-DARTS: a cell reads the previous cell only
CELL_PATTERN = re.compile(r"(normal|reduce)\[([^\]]*)\]")
ACTIVATION_OPS = {"relu": nn.ReLU, "tanh": nn.Tanh, "skip_connect": nn.Identity}


def op_label(kind: str, node: int, slot: int) -> str:
    return f"{kind}/op_{node}_{slot}"


def input_label(kind: str, node: int, slot: int) -> str:
    return f"{kind}/input_{node}_{slot}"


def reduced(side: int) -> int:
    """Side of a feature map after a stride-2 cell or pool (padding keeps odd sides valid)."""
    return (side + 1) // 2


def operation(name: str, channels: int, stride: int) -> nn.Module:
    """One candidate operation on ``channels`` maps, RL-DARTS's where it defines one, NNI's DARTS
    table's otherwise."""
    if name == "conv_3x3":
        return nn.Conv2d(channels, channels, 3, stride=stride, padding=1)
    if name in ACTIVATION_OPS:
        activation = ACTIVATION_OPS[name]()
        if stride == 1:
            return activation
        return nn.Sequential(nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False), activation)
    return NNI_DARTS_OPS[name](channels, stride, True)


def cell_operation(node: int, slot: int, state: int | None, *, name: str, channels: int, reduce: bool) -> nn.Module:
    """NNI's cell-op factory: a reduction cell's edges from its input stride by 2 (``state`` is
    None while NNI builds the space, before an input is chosen)."""
    stride = 2 if reduce and (state is None or state < PREDECESSORS) else 1
    return operation(name, channels, stride)


class MatchChannels(nn.Module):
    """A cell's preprocessor: a 1x1 convolution where the input's channels differ from the cell's."""

    def __init__(self, in_channels: int, channels: int) -> None:
        super().__init__()
        self.project = nn.Identity() if in_channels == channels else nn.Conv2d(in_channels, channels, 1)

    def forward(self, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
        return [self.project(inputs[0])]


class ConcatConv(nn.Module):
    """A cell's postprocessor: its nodes, concatenated, back to the cell's channels (RL-DARTS's
    ``CONCAT_CONV`` output)."""

    def __init__(self, nodes: int, channels: int) -> None:
        super().__init__()
        self.project = nn.Conv2d(nodes * channels, channels, 1)

    def forward(self, nodes: torch.Tensor, inputs: list[torch.Tensor]) -> torch.Tensor:
        return self.project(nodes)


def darts_cell(kind: str, ops: Sequence[str], in_channels: int, channels: int, nodes: int) -> Cell:
    factories = {
        name: partial(cell_operation, name=name, channels=channels, reduce=kind == "reduce")
        for name in ops
        if name != ZERO
    }
    return Cell(
        factories,
        nodes,
        OPS_PER_NODE,
        PREDECESSORS,
        "all",
        preprocessor=MatchChannels(in_channels, channels),
        postprocessor=ConcatConv(nodes, channels),
        label=kind,
    )


def stage_sides(side: int, stages: int) -> list[int]:
    """The feature-map side after each stage, every stage halving it once."""
    sides = []
    for _ in range(stages):
        side = reduced(side)
        sides.append(side)
    return sides


class DartsEncoderSpace(ArchitectureSpace):
    """RL-DARTS's cells, wired ``micro``, ``macro`` or ``flat``, as the features extractor of an SB3 policy."""

    part = "encoder"

    def __init__(
        self,
        image_shape: Sequence[int],
        wiring: str = "micro",
        channels: Sequence[int] = (16, 32, 32),
        nodes: int = 4,
        normal_cells: int = 1,
        ops: Sequence[str] = RL_DARTS_OPS,
        features: int = 256,
    ) -> None:
        super().__init__()
        in_channels, height, width = image_shape
        self.nodes = nodes
        self.kinds = ["reduce", "normal"] if wiring == "micro" else ["normal"]
        layers: list[nn.Module] = []
        previous = in_channels
        if wiring == "micro":
            layers.append(nn.Conv2d(in_channels, channels[0], 3, padding=1))
            previous = channels[0]
        for stage_channels in channels:
            if wiring == "micro":
                layers.append(darts_cell("reduce", ops, previous, stage_channels, nodes))
            else:
                layers.append(nn.Conv2d(previous, stage_channels, 3, padding=1))
                if wiring == "macro":
                    layers.append(nn.MaxPool2d(3, stride=2, padding=1))
            layers += [darts_cell("normal", ops, stage_channels, stage_channels, nodes) for _ in range(normal_cells)]
            previous = stage_channels
        self.cells = nn.Sequential(*layers)
        if wiring != "flat":
            height, width = stage_sides(height, len(channels))[-1], stage_sides(width, len(channels))[-1]
        self.head = nn.Sequential(nn.Flatten(), nn.ReLU(), nn.Linear(previous * height * width, features), nn.ReLU())

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.cells(images))

    def largest_value(self, label: str, values: list) -> Any:
        """Every node's largest operation; which states it reads changes no size."""
        return min(values, key=OPS_BY_SIZE.index) if "/op_" in label else values[0]

    def node_indices(self) -> range:
        return range(PREDECESSORS, self.nodes + PREDECESSORS)

    def architecture_name(self, architecture: dict) -> str:
        """The genotype, e.g. ``reduce[conv_3x3@0,relu@0|...]normal[...]``: per node, its two
        operations with the state each reads (0: the cell's input; 1 on: earlier nodes)."""
        return "".join(
            f"{kind}["
            + "|".join(
                ",".join(
                    f"{architecture[op_label(kind, node, slot)]}@{architecture[input_label(kind, node, slot)][0]}"
                    for slot in range(OPS_PER_NODE)
                )
                for node in self.node_indices()
            )
            + "]"
            for kind in self.kinds
        )

    def parse_architecture_name(self, name: str) -> dict:
        cells = dict(CELL_PATTERN.findall(name))
        architecture = {}
        try:
            if "".join(f"{kind}[{cells[kind]}]" for kind in self.kinds) != name:
                raise ValueError
            for kind in self.kinds:
                node_texts = cells[kind].split("|")
                if len(node_texts) != self.nodes:
                    raise ValueError
                for node, text in zip(self.node_indices(), node_texts):
                    edges = [edge.split("@") for edge in text.split(",")]
                    if len(edges) != OPS_PER_NODE:
                        raise ValueError
                    for slot, (op, state) in enumerate(edges):
                        architecture[op_label(kind, node, slot)] = op
                        architecture[input_label(kind, node, slot)] = [int(state)]
        except (KeyError, ValueError):
            example = "".join(f"{kind}[conv_3x3@0,relu@0|...]" for kind in self.kinds)
            raise ValueError(
                f"architecture name {name!r} is not a genotype of {self.kinds} cells with {self.nodes} "
                f"nodes like {example!r}"
            ) from None
        return architecture
