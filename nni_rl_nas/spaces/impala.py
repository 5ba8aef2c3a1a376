"""Macro space over the IMPALA-CNN layout (Espeholt et al., 2018), an image encoder for agents.

``[Conv3x3(channels_i) -> MaxPool3x3/2 -> residual block * blocks_i] per stage -> ReLU ->
flatten -> Linear(features) -> ReLU``; a residual block is ``x + Conv(ReLU(Conv(ReLU(x))))``.
Each stage chooses its channels and its number of residual blocks. IMPALA-CNN itself (channels
16, 32, 32; two blocks per stage) is in the default space: :data:`IMPALA_CNN`. Each stage
halves the image (rounding up), so 10x10 MinAtar frames and 84x84 Atari frames both fit. With
several stage counts (``stages: [1, 2, 3]``), the number of stages is a decision too (:mod:`.base`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import nni
import torch
from nni.nas.nn.pytorch import MutableConv2d, MutableLinear, Repeat
from torch import nn

from .base import DEPTH_LABEL, ArchitectureSpace, depths_of, stacked
from .darts import reduced

DEFAULT_CHANNELS = (16, 32, 64)
DEFAULT_BLOCKS = (0, 1, 2)
IMPALA_CNN = "c16b2_c32b2_c32b2"  # the published network, by name
NAME_PATTERN = re.compile(r"c(\d+)b(\d+)")


def channels_label(stage: int) -> str:
    return f"stage{stage}_channels"


def blocks_label(stage: int) -> str:
    return f"stage{stage}_blocks"


class ResidualBlock(nn.Module):
    def __init__(self, channels) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReLU(),
            MutableConv2d(channels, channels, 3, padding=1),
            nn.ReLU(),
            MutableConv2d(channels, channels, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ImpalaEncoderSpace(ArchitectureSpace):
    """IMPALA-CNN's stages with searched widths and depths, as the features extractor of an SB3 policy."""

    part = "encoder"

    def __init__(
        self,
        image_shape: Sequence[int],
        stages: int | Sequence[int] = 3,
        channels: Sequence[int] = DEFAULT_CHANNELS,
        blocks: Sequence[int] = DEFAULT_BLOCKS,
        features: int = 256,
    ) -> None:
        super().__init__()
        self.depths = depths_of(stages)
        previous, (height, width) = image_shape[0], image_shape[1:]
        layers: list[list[nn.Module]] = []
        flattened = []  # the flattened size after each stage
        for stage in range(1, max(self.depths) + 1):
            width_choice = nni.choice(channels_label(stage), list(channels))
            layers.append(
                [
                    MutableConv2d(previous, width_choice, 3, padding=1),
                    nn.MaxPool2d(3, stride=2, padding=1),
                    Repeat(
                        lambda _, c=width_choice: ResidualBlock(c),
                        nni.choice(blocks_label(stage), list(blocks)),
                        label=f"stage{stage}_residual",
                    ),
                ]
            )
            previous, height, width = width_choice, reduced(height), reduced(width)
            flattened.append(previous * height * width)
        stages_used, flat_size = stacked(layers, flattened, self.depths)
        self.features = nn.Sequential(*stages_used, nn.ReLU(), nn.Flatten())
        self.head = nn.Sequential(MutableLinear(flat_size, features), nn.ReLU())

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))

    def layer_labels(self, layer: int) -> list[str]:
        return [channels_label(layer), blocks_label(layer)]

    def architecture_name(self, architecture: dict) -> str:
        """E.g. ``c16b2_c32b2_c32b2``: channels and residual blocks per stage in use."""
        return "_".join(
            f"c{architecture[channels_label(s)]}b{architecture[blocks_label(s)]}"
            for s in range(1, self.depth_of(architecture) + 1)
        )

    def parse_architecture_name(self, name: str) -> dict:
        stages = NAME_PATTERN.findall(name)
        if len(stages) not in self.depths or "_".join(f"c{c}b{b}" for c, b in stages) != name:
            counts = " or ".join(map(str, self.depths))
            raise ValueError(f"architecture name {name!r} does not describe {counts} stages like {IMPALA_CNN!r}")
        architecture = {}
        for stage, (channels, blocks) in enumerate(stages, start=1):
            architecture[channels_label(stage)] = int(channels)
            architecture[blocks_label(stage)] = int(blocks)
        return self.with_unused_layers({**architecture, DEPTH_LABEL: len(stages)}) if self.can_grow() else architecture
