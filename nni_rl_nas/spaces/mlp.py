"""Dense (MLP) architecture space: the Q-network of DQN, the policy and value MLPs of PPO and SAC.

Each hidden layer picks a width and an activation. The defaults are the original
LunarLander space of ``solved_then_eval`` (docs/reference/scores.md): two layers, widths
{64, 128, 256, 1024, 2048}, activations {sigmoid, relu}: (5 x 2)^2 = 100 architectures. With
several depths (``depth: [1, 2, 3]``), the number of layers is a decision too (:mod:`.base`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import nni
import torch
from nni.nas.nn.pytorch import LayerChoice, MutableLinear
from torch import nn

from .base import DEPTH_LABEL, ArchitectureSpace, depths_of, stacked

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
}

DEFAULT_WIDTHS = (64, 128, 256, 1024, 2048)
DEFAULT_ACTIVATIONS = ("sigmoid", "relu")


def width_label(layer: int) -> str:
    return f"layer{layer}_width"


def activation_label(layer: int) -> str:
    return f"layer{layer}_activation"


class MlpSpace(ArchitectureSpace):
    """``in_features -> [Linear(width_i) -> activation_i] * depth -> Linear(out_features)``.

    The output layer has no activation: it emits Q-values. With ``out_features=None`` the space
    ends at the last hidden layer: Stable-Baselines3's actor-critic policies add their own heads
    (action distribution, value, Q(s, a)) on top of these hidden layers.
    Every Linear after a width choice is a ``MutableLinear`` so that NNI's one-shot supermodules
    can entangle the weights of all widths in one matrix (ENAS, DARTS).
    """

    part = "dense"  # what the space is in an agent: the dense layers after SB3's features extractor

    def __init__(
        self,
        in_features: int,
        out_features: int | None,
        depth: int | Sequence[int] = 2,
        widths: Sequence[int] = DEFAULT_WIDTHS,
        activations: Sequence[str] = DEFAULT_ACTIVATIONS,
    ) -> None:
        super().__init__()
        self.depths = depths_of(depth)
        self.options: dict[str, Any] = {
            "out_features": out_features,
            "depth": depth,
            "widths": widths,
            "activations": activations,
        }
        layers: list[list[nn.Module]] = []
        outputs: list[nni.mutable.Categorical] = []
        previous: int | nni.mutable.Categorical = in_features
        for layer in range(1, max(self.depths) + 1):
            width = nni.choice(width_label(layer), list(widths))
            layers.append(
                [
                    MutableLinear(previous, width),
                    LayerChoice({name: ACTIVATIONS[name]() for name in activations}, label=activation_label(layer)),
                ]
            )
            outputs.append(width)
            previous = width
        hidden, last_width = stacked(layers, outputs, self.depths)
        head = [MutableLinear(last_width, out_features)] if out_features is not None else []
        self.layers = nn.Sequential(*hidden, *head)

    def with_inputs(self, in_features: int) -> MlpSpace:
        """The same space reading ``in_features`` inputs (a SAC critic reads observation and action)."""
        return MlpSpace(in_features, **self.options)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)

    def layer_labels(self, layer: int) -> list[str]:
        return [width_label(layer), activation_label(layer)]

    def architecture_name(self, architecture: dict) -> str:
        """Readable name of a sampled architecture, e.g. ``256-relu_256-relu``: its layers in use."""
        return "_".join(
            f"{architecture[width_label(layer)]}-{architecture[activation_label(layer)]}"
            for layer in range(1, self.depth_of(architecture) + 1)
        )

    def parse_architecture_name(self, name: str) -> dict:
        """Inverse of :meth:`architecture_name`: ``256-relu_256-relu`` -> the dict of choices."""
        layers = re.findall(r"(\d+)-([a-z_]+?)(?=_\d|$)", name)
        if len(layers) not in self.depths:
            depths = " or ".join(map(str, self.depths))
            raise ValueError(f"architecture name {name!r} does not describe {depths} layers like '64-relu_256-relu'")
        architecture = {}
        for layer, (width, activation) in enumerate(layers, start=1):
            architecture[width_label(layer)] = int(width)
            architecture[activation_label(layer)] = activation
        return self.with_unused_layers({**architecture, DEPTH_LABEL: len(layers)}) if self.can_grow() else architecture
