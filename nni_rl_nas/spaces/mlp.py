"""Dense (MLP) architecture space: the Q-network of DQN, the policy and value MLPs of PPO and SAC.

Each hidden layer picks a width and an activation. The defaults reproduce the seed project's
LunarLander space exactly: two layers, widths {64, 128, 256, 1024, 2048}, activations
{sigmoid, relu}: (5 x 2)^2 = 100 architectures.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import nni
import torch
from nni.nas.nn.pytorch import LayerChoice, MutableLinear
from torch import nn

from .base import ArchitectureSpace

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


class MLPSpace(ArchitectureSpace):
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
        depth: int = 2,
        widths: Sequence[int] = DEFAULT_WIDTHS,
        activations: Sequence[str] = DEFAULT_ACTIVATIONS,
    ) -> None:
        super().__init__()
        self.depth = depth
        self.options = {"out_features": out_features, "depth": depth, "widths": widths, "activations": activations}
        layers: list[nn.Module] = []
        previous: int | nni.mutable.Categorical = in_features
        for layer in range(1, depth + 1):
            width = nni.choice(width_label(layer), list(widths))
            layers.append(MutableLinear(previous, width))
            layers.append(
                LayerChoice({name: ACTIVATIONS[name]() for name in activations}, label=activation_label(layer))
            )
            previous = width
        if out_features is not None:
            layers.append(MutableLinear(previous, out_features))
        self.layers = nn.Sequential(*layers)

    def with_inputs(self, in_features: int) -> MLPSpace:
        """The same space reading ``in_features`` inputs (a SAC critic reads observation and action)."""
        return MLPSpace(in_features, **self.options)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)

    def architecture_name(self, architecture: dict) -> str:
        """Readable name of a sampled architecture, e.g. ``256-relu_256-relu``."""
        return "_".join(
            f"{architecture[width_label(layer)]}-{architecture[activation_label(layer)]}"
            for layer in range(1, self.depth + 1)
        )

    def parse_architecture_name(self, name: str) -> dict:
        """Inverse of :meth:`architecture_name`: ``256-relu_256-relu`` -> the dict of choices."""
        layers = re.findall(r"(\d+)-([a-z_]+?)(?=_\d|$)", name)
        if len(layers) != self.depth:
            raise ValueError(f"architecture name {name!r} does not describe {self.depth} layers like '64-relu_256-relu'")
        architecture = {}
        for layer, (width, activation) in enumerate(layers, start=1):
            architecture[width_label(layer)] = int(width)
            architecture[activation_label(layer)] = activation
        return architecture
