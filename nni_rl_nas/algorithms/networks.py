"""How an architecture becomes modules an agent can hold: fresh frozen networks, their output
width, and SB3's features-extractor interface around an encoder architecture."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from ..spaces import ArchitectureSpace


def output_width(network: nn.Module, input_shape: int | Sequence[int]) -> int:
    """Features out of ``network`` for one input of ``input_shape``, measured without training it."""
    shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
    was_training = network.training
    network.eval()  # batch-norm layers keep their statistics
    with torch.no_grad():
        width = network(torch.zeros(1, *shape)).shape[-1]
    network.train(was_training)
    return int(width)


class NetworkBuilder(Protocol):
    """What builds an agent's network (a :class:`NetworkFactory`, or a weight-sharing search's
    supernet factory): the part of the agent it plays, and a fresh module per call."""

    @property
    def part(self) -> str: ...

    def __call__(self, *args: Any, **kwargs: Any) -> nn.Module: ...


@dataclass(frozen=True)
class NetworkFactory:
    """Fresh plain modules of one architecture of ``space``, and the part of an agent they play.

    ``space.part`` is ``dense`` (the layers after SB3's features extractor: DQN's whole
    Q-network, PPO's policy and value MLPs, SAC's and TD3's actor and critic hidden layers) or
    ``encoder`` (SB3's features extractor: an image encoder). Called with ``in_features``, it
    builds the same architecture reading another input width (a critic reads observation and action).
    """

    space: ArchitectureSpace
    architecture: dict[str, Any]

    @property
    def part(self) -> str:
        return self.space.part

    def __call__(self, in_features: int | None = None) -> nn.Module:
        space = self.space if in_features is None else self.space.with_inputs(in_features)
        return space.freeze(self.architecture)


class ArchitectureFeaturesExtractor(BaseFeaturesExtractor):
    """SB3's features extractor = an encoder architecture; its output width is measured on a blank image."""

    def __init__(self, observation_space: spaces.Box, build_network: Callable[[], nn.Module]) -> None:
        encoder = build_network()
        super().__init__(observation_space, output_width(encoder, observation_space.shape))
        self.encoder = encoder

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.encoder(observations)
