"""Image encoders for small frames (MinAtar's 10x10) as stages of convolutions, so that the hand
designs people use are three of its architectures and a search starts from where they stand.

Each stage: ``Conv(channels, kernel, padding, stride) -> [MaxPool 3x3/2] -> residual blocks``,
where a stage without residual blocks ends in ReLU; after the last stage, ``ReLU -> flatten ->
Linear(features) -> ReLU``. A residual block is IMPALA-CNN's ``x + Conv(ReLU(Conv(ReLU(x))))``.
A stage chooses its channels, its kernel, how it downsamples (``none``; ``stride``: the
convolution has stride 2; ``pool``: IMPALA-CNN's max-pool after it) and its residual blocks; the
first stage also chooses its padding (``valid``, none, as the MinAtar network has; ``same``,
``kernel // 2``, which keeps the frame's size). Later stages pad ``same``, so no choice can
shrink a feature map below 1x1 whatever the frame. The dense layer's width and, with several
stage counts, the number of stages are decisions too.

Why the stage without blocks ends in ReLU and the one with blocks does not: NatureCNN and the
MinAtar network activate every convolution, while IMPALA-CNN feeds each stage's residual sum to
the next stage's convolution as it is (its blocks activate their own inputs). So all three hand
designs are points of the space exactly (:data:`HAND_DESIGNS`), not approximations:

- the MinAtar network (Young & Tian, 2019, ``examples/dqn.py``): one 3x3 convolution of 16
  channels, stride 1, no padding, then a 128-unit ReLU layer: ``c16k3v_f128``;
- NatureCNN adapted to 10x10 frames: 32, 64, 64 channels of 3x3 convolutions padded to keep the
  size, strides 1, 2, 1, then 512 units: ``c32k3_c64k3s2_c64k3_f512``;
- IMPALA-CNN (Espeholt et al., 2018): 16, 32, 32 channels, each stage pooled and followed by two
  residual blocks, then 256 units: ``c16k3mb2_c32k3mb2_c32k3mb2_f256``.

A stage's name is ``c{channels}k{kernel}``, then ``v`` for valid padding, ``s2`` for a stride-2
convolution or ``m`` for the max-pool, then ``b{blocks}`` when it has residual blocks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import nni
import torch
from nni.mutable import MutableExpression
from nni.nas.nn.pytorch import LayerChoice, MutableConv2d, MutableLinear
from torch import nn

from .base import DEPTH_LABEL, Architecture, ArchitectureSpace, depths_of, stacked
from .impala import ResidualBlock

DOWNSAMPLINGS = ("none", "stride", "pool")
PADDINGS = ("same", "valid")
DEFAULT_STAGES = (1, 2, 3)
DEFAULT_CHANNELS = (16, 32, 64)
DEFAULT_KERNELS = (3, 5)
DEFAULT_BLOCKS = (0, 1, 2)
DEFAULT_FEATURES = (128, 256, 512)
FEATURES_LABEL = "features"
PADDING_LABEL = "stage1_padding"
HAND_DESIGNS = {
    "MinAtar network": "c16k3v_f128",
    "NatureCNN-10x10": "c32k3_c64k3s2_c64k3_f512",
    "IMPALA-CNN": "c16k3mb2_c32k3mb2_c32k3mb2_f256",
}
STAGE_PATTERN = re.compile(r"c(\d+)k(\d+)(v?)(s2|m)?(?:b(\d+))?")
NAME_PATTERN = re.compile(r"(.+)_f(\d+)")
DOWNSAMPLING_TOKENS = {"none": "", "stride": "s2", "pool": "m"}


def channels_label(stage: int) -> str:
    return f"stage{stage}_channels"


def kernel_label(stage: int) -> str:
    return f"stage{stage}_kernel"


def downsampling_label(stage: int) -> str:
    return f"stage{stage}_downsampling"


def blocks_label(stage: int) -> str:
    return f"stage{stage}_blocks"


def stride_of(downsampling: Any) -> Any:
    return MutableExpression.switch_case(downsampling, {"none": 1, "stride": 2, "pool": 1})


def stage_side(side: Any, kernel: Any, padding: Any, downsampling: Any) -> Any:
    """A feature map's side after a stage: its convolution, then the max-pool's halving (rounding up)."""
    convolved = (side + 2 * padding - kernel) // stride_of(downsampling) + 1
    return MutableExpression.switch_case(
        downsampling, {"none": convolved, "stride": convolved, "pool": (convolved + 1) // 2}
    )


class StagesEncoderSpace(ArchitectureSpace):
    """Stages of convolutions for small frames, holding the MinAtar network, NatureCNN-10x10 and
    IMPALA-CNN, as the features extractor of an SB3 policy."""

    part = "encoder"

    def __init__(
        self,
        image_shape: Sequence[int],
        stages: int | Sequence[int] = DEFAULT_STAGES,
        channels: Sequence[int] = DEFAULT_CHANNELS,
        kernels: Sequence[int] = DEFAULT_KERNELS,
        paddings: Sequence[str] = PADDINGS,
        downsamplings: Sequence[str] = DOWNSAMPLINGS,
        blocks: Sequence[int] = DEFAULT_BLOCKS,
        features: Sequence[int] = DEFAULT_FEATURES,
    ) -> None:
        super().__init__()
        self.depths = depths_of(stages)
        previous: Any = image_shape[0]
        height: Any
        width: Any
        height, width = image_shape[1:]
        layers: list[list[nn.Module]] = []
        flattened = []  # the flattened size after each stage
        for stage in range(1, max(self.depths) + 1):
            out_channels = nni.choice(channels_label(stage), list(channels))
            kernel = nni.choice(kernel_label(stage), list(kernels))
            downsampling = nni.choice(downsampling_label(stage), list(downsamplings))
            padding: Any = kernel // 2
            if stage == 1:
                padding = MutableExpression.switch_case(
                    nni.choice(PADDING_LABEL, list(paddings)), {"same": kernel // 2, "valid": 0}
                )
            pools = {
                name: nn.MaxPool2d(3, stride=2, padding=1) if name == "pool" else nn.Identity()
                for name in downsamplings
            }
            residual = {
                str(count): nn.Sequential(*(ResidualBlock(out_channels) for _ in range(count))) if count else nn.ReLU()
                for count in blocks
            }
            layers.append(
                [
                    MutableConv2d(previous, out_channels, kernel, stride=stride_of(downsampling), padding=padding),
                    LayerChoice(pools, label=downsampling_label(stage)),
                    LayerChoice(residual, label=blocks_label(stage)),
                ]
            )
            previous = out_channels
            height, width = (stage_side(side, kernel, padding, downsampling) for side in (height, width))
            flattened.append(previous * height * width)
        stages_used, flat_size = stacked(layers, flattened, self.depths)
        self.features = nn.Sequential(*stages_used, nn.ReLU(), nn.Flatten())
        self.head = nn.Sequential(MutableLinear(flat_size, nni.choice(FEATURES_LABEL, list(features))), nn.ReLU())

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))

    def layer_labels(self, layer: int) -> list[str]:
        labels = [channels_label(layer), kernel_label(layer), downsampling_label(layer), blocks_label(layer)]
        return [PADDING_LABEL, *labels] if layer == 1 else labels

    def largest_value(self, label: str, values: list) -> Any:
        """No downsampling and same padding keep the largest maps; the most residual blocks the most activations."""
        if label.endswith("_downsampling"):
            return "none" if "none" in values else values[0]
        if label == PADDING_LABEL:
            return "same" if "same" in values else values[0]
        if label.endswith("_blocks"):
            return max(values, key=int)
        return super().largest_value(label, values)

    def named_architectures(self) -> dict[str, str]:
        return dict(HAND_DESIGNS)

    def architecture_name(self, architecture: Architecture) -> str:
        """E.g. ``c16k3mb2_c32k3mb2_c32k3mb2_f256`` (IMPALA-CNN); see the module's docstring."""
        names = []
        for stage in range(1, self.depth_of(architecture) + 1):
            valid = "v" if stage == 1 and architecture[PADDING_LABEL] == "valid" else ""
            blocks = int(architecture[blocks_label(stage)])
            names.append(
                f"c{architecture[channels_label(stage)]}k{architecture[kernel_label(stage)]}{valid}"
                f"{DOWNSAMPLING_TOKENS[architecture[downsampling_label(stage)]]}{f'b{blocks}' if blocks else ''}"
            )
        return "_".join(names) + f"_f{architecture[FEATURES_LABEL]}"

    def parse_architecture_name(self, name: str) -> Architecture:
        whole = NAME_PATTERN.fullmatch(name)
        stages = STAGE_PATTERN.findall(whole.group(1)) if whole else []
        counts = " or ".join(map(str, self.depths))
        if not whole or len(stages) not in self.depths or any(valid for _, _, valid, _, _ in stages[1:]):
            raise ValueError(
                f"architecture name {name!r} does not describe {counts} stages and a dense width like "
                f"{HAND_DESIGNS['IMPALA-CNN']!r} (only the first stage can be valid-padded, 'v')"
            )
        tokens = {token: downsampling for downsampling, token in DOWNSAMPLING_TOKENS.items()}
        architecture: Architecture = {FEATURES_LABEL: int(whole.group(2))}
        for stage, (channels, kernel, valid, downsampling, blocks) in enumerate(stages, start=1):
            architecture[channels_label(stage)] = int(channels)
            architecture[kernel_label(stage)] = int(kernel)
            architecture[downsampling_label(stage)] = tokens[downsampling]
            architecture[blocks_label(stage)] = blocks or "0"
            if stage == 1:
                architecture[PADDING_LABEL] = "valid" if valid else "same"
        canonical = self.architecture_name({**architecture, DEPTH_LABEL: len(stages)})
        if canonical != name:
            raise ValueError(f"architecture name {name!r} is not written as names are; fix: {canonical!r}")
        return self.with_unused_layers({**architecture, DEPTH_LABEL: len(stages)}) if self.can_grow() else architecture
