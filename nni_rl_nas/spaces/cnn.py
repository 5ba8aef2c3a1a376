"""CNN space of the Zoph & Le replication: per layer, filter size, stride, kernels.

``depth`` convolutions (with several depths, as many as the ``depth`` decision says), each
choosing its number of kernels (output channels), its square filter size and its stride, each
followed by ReLU; then global average pooling and a linear classifier.
"Same" padding (filter // 2) keeps every choice valid on small images: an 8x8 digit survives
three stride-2 layers (8 -> 4 -> 2 -> 1). Built from ``MutableConv2d`` and ``MutableLinear``,
so NNI's one-shot supermodules apply to it as to the MLP space.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import nni
import torch
from nni.nas.nn.pytorch import MutableConv2d, MutableLinear
from torch import nn

from .base import DEPTH_LABEL, ArchitectureSpace, depths_of, stacked

DEFAULT_FILTER_SIZES = (1, 3, 5, 7)
DEFAULT_STRIDES = (1, 2)
DEFAULT_KERNELS = (8, 16, 32, 64)
NAME_PATTERN = re.compile(r"c(\d+)k(\d+)s(\d+)")


def kernels_label(layer: int) -> str:
    return f"conv{layer}_kernels"


def filter_label(layer: int) -> str:
    return f"conv{layer}_filter"


def stride_label(layer: int) -> str:
    return f"conv{layer}_stride"


class CnnSpace(ArchitectureSpace):
    """``image -> [Conv2d(kernels_i, filter_i, stride_i) -> ReLU] * depth -> average pool -> Linear(classes)``."""

    part = "classifier"  # a whole supervised child; agents' image encoders are the darts and impala families

    def __init__(
        self,
        in_channels: int,
        classes: int,
        depth: int | Sequence[int] = 3,
        filter_sizes: Sequence[int] = DEFAULT_FILTER_SIZES,
        strides: Sequence[int] = DEFAULT_STRIDES,
        kernels: Sequence[int] = DEFAULT_KERNELS,
    ) -> None:
        super().__init__()
        self.depths = depths_of(depth)
        layers: list[list[nn.Module]] = []
        outputs: list[nni.mutable.Categorical] = []
        previous: int | nni.mutable.Categorical = in_channels
        for layer in range(1, max(self.depths) + 1):
            out_channels = nni.choice(kernels_label(layer), list(kernels))
            filter_size = nni.choice(filter_label(layer), list(filter_sizes))
            stride = nni.choice(stride_label(layer), list(strides))
            layers.append(
                [MutableConv2d(previous, out_channels, filter_size, stride=stride, padding=filter_size // 2), nn.ReLU()]
            )
            outputs.append(out_channels)
            previous = out_channels
        convolutions, last_channels = stacked(layers, outputs, self.depths)
        self.features = nn.Sequential(*convolutions)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = MutableLinear(last_channels, classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(images)).flatten(1))

    def largest_value(self, label: str, values: list) -> int:
        """The smallest stride keeps the largest feature maps; otherwise the most kernels, the widest filter."""
        return min(values) if label.endswith("_stride") else max(values)

    def layer_labels(self, layer: int) -> list[str]:
        return [kernels_label(layer), filter_label(layer), stride_label(layer)]

    def architecture_name(self, architecture: dict) -> str:
        """Readable name, e.g. ``c32k5s1_c64k3s2_c16k3s1`` (kernels, filter size, stride per layer in use)."""
        return "_".join(
            f"c{architecture[kernels_label(layer)]}k{architecture[filter_label(layer)]}s{architecture[stride_label(layer)]}"
            for layer in range(1, self.depth_of(architecture) + 1)
        )

    def parse_architecture_name(self, name: str) -> dict:
        layers = NAME_PATTERN.findall(name)
        if len(layers) not in self.depths or "_".join(f"c{c}k{k}s{s}" for c, k, s in layers) != name:
            depths = " or ".join(map(str, self.depths))
            raise ValueError(f"architecture name {name!r} does not describe {depths} layers like 'c32k5s1_c64k3s2'")
        architecture = {}
        for layer, (kernels, filter_size, stride) in enumerate(layers, start=1):
            architecture[kernels_label(layer)] = int(kernels)
            architecture[filter_label(layer)] = int(filter_size)
            architecture[stride_label(layer)] = int(stride)
        return self.with_unused_layers({**architecture, DEPTH_LABEL: len(layers)}) if self.can_grow() else architecture
