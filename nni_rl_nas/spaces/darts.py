"""DARTS micro space: an image encoder of searched cells, for pixel-based agents (RL-DARTS).

``stem -> cells -> flatten -> Linear(features) -> ReLU``. Each cell is NNI's DARTS cell (the
``CellBuilder`` of NNI's DARTS model space): two inputs (the two previous cells' outputs),
``nodes`` intermediate nodes, each summing two operations applied to two earlier states, and
the concatenation of the intermediate nodes as output. All normal cells share one genotype, all
reduction cells another (labels ``normal/...`` and ``reduce/...``); a reduction cell applies its
operations on the cell inputs with stride 2 and doubles the channels.

Operations: separable and dilated convolutions 3x3 and 5x5, max and average pooling 3x3, skip.
DARTS's ``none`` (zero) operation is not a candidate of the space, as in NNI: in the one-shot
supernet every edge carries an extra architecture weight for "no edge", and discretisation keeps
each node's two strongest non-zero edges (:mod:`nni_rl_nas.oneshot.darts`).

The encoder flattens rather than pools, since where an object is matters to an agent. Every
choice keeps the feature-map shapes, so the flattened width is known from the image size alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import torch
from nni.nas.hub.pytorch.nasnet import CellBuilder
from torch import nn

from .base import ArchitectureSpace

DARTS_OPS = ("sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5", "max_pool_3x3", "avg_pool_3x3",
             "skip_connect")
# by parameters and intermediate feature maps, most first (pooling and skip have none of either)
OPS_BY_SIZE = ("sep_conv_5x5", "sep_conv_3x3", "dil_conv_5x5", "dil_conv_3x3", "avg_pool_3x3", "max_pool_3x3",
               "skip_connect")
CELL_KINDS = ("normal", "reduce")
OPS_PER_NODE = 2  # DARTS: each node keeps two inputs
CELL_PATTERN = re.compile(r"(normal|reduce)\[([^\]]*)\]")


def op_label(kind: str, node: int, slot: int) -> str:
    return f"{kind}/op_{node}_{slot}"


def input_label(kind: str, node: int, slot: int) -> str:
    return f"{kind}/input_{node}_{slot}"


def reduced(side: int) -> int:
    """Side of a feature map after a stride-2 cell (padding keeps odd sides valid)."""
    return (side + 1) // 2


class DartsEncoderSpace(ArchitectureSpace):
    """Cells searched by DARTS, as the features extractor of an SB3 policy."""

    part = "encoder"

    def __init__(
        self,
        image_shape: Sequence[int],
        channels: int = 16,
        nodes: int = 4,
        cells: Sequence[str] = ("normal", "reduce"),
        ops: Sequence[str] = DARTS_OPS,
        stem_stride: int = 1,
        features: int = 256,
    ) -> None:
        super().__init__()
        in_channels, height, width = image_shape
        self.nodes = nodes
        self.kinds = sorted(set(cells), key=CELL_KINDS.index)
        stem_channels = 3 * channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, stem_channels, 3, stride=stem_stride, padding=1, bias=False),
                                  nn.BatchNorm2d(stem_channels))
        height, width = (height - 1) // stem_stride + 1, (width - 1) // stem_stride + 1
        previous_previous, previous, cell_channels, last_reduce = stem_channels, stem_channels, channels, False
        built = []
        for kind in cells:
            reduce = kind == "reduce"
            if reduce:
                cell_channels *= 2
                height, width = reduced(height), reduced(width)
            builder = CellBuilder(list(ops), previous_previous, previous, cell_channels, nodes, "all",
                                  first_cell_reduce=reduce, last_cell_reduce=last_reduce, drop_path_prob=0.0)
            built.append(builder(0))
            previous_previous, previous, last_reduce = builder.C_prev_in, builder.C_in, reduce
        self.cells = nn.ModuleList(built)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(previous * height * width, features), nn.ReLU())

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        stem = self.stem(images)
        states = [stem, stem]
        for cell in self.cells:
            states = cell(states)  # [previous cell's output, this cell's output]
        return self.head(states[-1])

    def largest_value(self, label: str, values: list) -> Any:
        """Every node's largest operation; which states it reads changes no size."""
        return min(values, key=OPS_BY_SIZE.index) if "/op_" in label else values[0]

    def architecture_name(self, architecture: dict) -> str:
        """The genotype, e.g. ``normal[sep_conv_3x3@0,skip_connect@1|...]reduce[...]``: per node, its two
        operations with the state each reads (0, 1: the cell inputs; 2 on: earlier nodes)."""
        return "".join(
            f"{kind}[" + "|".join(
                ",".join(f"{architecture[op_label(kind, node, slot)]}@{architecture[input_label(kind, node, slot)][0]}"
                         for slot in range(OPS_PER_NODE))
                for node in range(2, self.nodes + 2)) + "]"
            for kind in self.kinds)

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
                for node, text in enumerate(node_texts, start=2):
                    edges = [edge.split("@") for edge in text.split(",")]
                    if len(edges) != OPS_PER_NODE:
                        raise ValueError
                    for slot, (op, state) in enumerate(edges):
                        architecture[op_label(kind, node, slot)] = op
                        architecture[input_label(kind, node, slot)] = [int(state)]
        except (KeyError, ValueError):
            raise ValueError(f"architecture name {name!r} is not a genotype of {self.kinds} cells with {self.nodes} "
                             "nodes like 'normal[sep_conv_3x3@0,skip_connect@1|...]'") from None
        return architecture
