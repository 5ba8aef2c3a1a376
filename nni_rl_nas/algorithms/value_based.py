"""DQN and QR-DQN policies whose Q-network is a frozen architecture, and the double-DQN target.

SB3 builds DQN's online and target Q-networks through ``DQNPolicy.make_q_net`` and
sb3-contrib builds QR-DQN's through ``QRDQNPolicy.make_quantile_net``; the policies here
override only that hook, so each call gives a fresh instance of the architecture (SB3 then
copies the online weights into the target). A factory rather than the model space itself, so
the space never becomes a submodule whose unused weights reach the optimizer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import torch
from sb3_contrib.qrdqn.policies import QRDQNPolicy, QuantileNetwork
from stable_baselines3 import DQN
from stable_baselines3.dqn.policies import DQNPolicy, QNetwork
from torch import nn

ValueNetworkT = TypeVar("ValueNetworkT", QNetwork, QuantileNetwork)


def architecture_value_network(
    policy: ArchitectureDQNPolicy | ArchitectureQRDQNPolicy, network_class: type[ValueNetworkT], mlp: str
) -> ValueNetworkT:
    """SB3's value network of ``network_class`` (features extractor + the MLP named ``mlp``) built
    with no hidden layers, its MLP then replaced by a fresh instance of the policy's architecture."""
    net_args = policy._update_features_extractor(policy.net_args, features_extractor=None)
    network = network_class(**{**net_args, "net_arch": []})
    setattr(network, mlp, policy.build_network())
    return network.to(policy.device)


class ArchitectureDQNPolicy(DQNPolicy):
    """DQN policy whose Q-networks come from ``build_network`` (a frozen architecture)."""

    def __init__(self, *args: Any, build_network: Callable[[], nn.Module], **kwargs: Any) -> None:
        self.build_network = build_network
        super().__init__(*args, **kwargs)

    def make_q_net(self) -> QNetwork:
        return architecture_value_network(self, QNetwork, "q_net")


class ArchitectureQRDQNPolicy(QRDQNPolicy):
    """QR-DQN policy whose quantile networks come from ``build_network``: the architecture's outputs
    are the ``n_quantiles`` quantiles of every action's return."""

    def __init__(self, *args: Any, build_network: Callable[[], nn.Module], **kwargs: Any) -> None:
        self.build_network = build_network
        super().__init__(*args, **kwargs)

    def make_quantile_net(self) -> QuantileNetwork:
        return architecture_value_network(self, QuantileNetwork, "quantile_net")


class _DoubleQTarget:
    """Stands in for ``DQN.q_net_target`` inside SB3's ``train()`` to give the double-DQN target.

    SB3 computes ``max_a Q_target(s', a)``. This proxy returns ``Q_target(s', a*)`` at
    ``a* = argmax_a Q_online(s', a)`` and ``-inf`` elsewhere, so that same ``max`` yields
    van Hasselt et al.'s target. Every other use (Polyak updates, state dicts) reaches the real
    target network through attribute delegation.
    """

    def __init__(self, target: nn.Module, online: nn.Module) -> None:
        self.target = target
        self.online = online

    def __call__(self, observations: torch.Tensor) -> torch.Tensor:
        target_q = self.target(observations)
        best_actions = self.online(observations).argmax(dim=1, keepdim=True)
        selected = torch.full_like(target_q, float("-inf"))
        return selected.scatter_(1, best_actions, target_q.gather(1, best_actions))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.target, name)


class DoubleDQN(DQN):
    """SB3 DQN with the double-DQN target; everything else is SB3's."""

    def _create_aliases(self) -> None:
        super()._create_aliases()
        # SB3 declares a QNetwork here; its train() only calls it, and the proxy delegates the rest
        self.q_net_target = _DoubleQTarget(self.policy.q_net_target, self.policy.q_net)  # type: ignore[assignment]
