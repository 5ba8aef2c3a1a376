"""PPO, SAC and TD3 policies whose dense layers are a frozen architecture from a model space.

Stable-Baselines3 builds the dense part of an actor-critic policy in one hook per policy; these
classes override only that hook and keep SB3's heads: PPO's action distribution and value
layers on top of ``mlp_extractor`` (:meth:`ActorCriticPolicy._build_mlp_extractor`), SAC's
squashed-Gaussian head on top of the actor's ``latent_pi`` and TD3's deterministic ``tanh``
head on top of the architecture in the actor's ``mu`` (``make_actor``), and the ``Q(s, a)``
output layer of each critic (``make_critic``, shared by SAC and TD3). Policy and value (actor
and critics) get separate instances of the architecture, as SB3 does for its default MLPs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.policies import ActorCriticPolicy, ContinuousCritic
from stable_baselines3.common.preprocessing import get_action_dim
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.sac.policies import Actor as SACActor
from stable_baselines3.sac.policies import SACPolicy
from stable_baselines3.td3.policies import Actor as TD3Actor
from stable_baselines3.td3.policies import TD3Policy
from torch import nn

from .networks import output_width


class ArchitectureMlpExtractor(nn.Module):
    """SB3's ``MlpExtractor`` interface with separate policy and value networks of one architecture."""

    def __init__(self, policy_net: nn.Module, value_net: nn.Module, features_dim: int) -> None:
        super().__init__()
        self.policy_net, self.value_net = policy_net, value_net
        self.latent_dim_pi = output_width(policy_net, features_dim)
        self.latent_dim_vf = output_width(value_net, features_dim)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward_actor(features), self.forward_critic(features)

    def forward_actor(self, features: torch.Tensor) -> torch.Tensor:
        return self.policy_net(features)

    def forward_critic(self, features: torch.Tensor) -> torch.Tensor:
        return self.value_net(features)


class ArchitectureActorCriticPolicy(ActorCriticPolicy):
    """PPO's policy: policy and value MLPs from ``build_network``, SB3's heads on them."""

    def __init__(self, *args: Any, build_network: Callable[..., nn.Module], **kwargs: Any) -> None:
        self.build_network = build_network
        super().__init__(*args, **kwargs)

    def _build_mlp_extractor(self) -> None:
        # SB3 declares its MlpExtractor here; the policy reads only its interface, which this one has
        self.mlp_extractor = ArchitectureMlpExtractor(  # type: ignore[assignment]
            self.build_network(), self.build_network(), self.features_dim
        )


def architecture_critic(
    policy: SACPolicy | TD3Policy,
    build_network: Callable[..., nn.Module],
    features_extractor: BaseFeaturesExtractor | None,
) -> ContinuousCritic:
    """SB3's ``ContinuousCritic`` whose Q-networks are the architecture built for observation +
    action inputs, each under SB3's ``Q(s, a)`` output layer."""
    kwargs = policy._update_features_extractor(policy.critic_kwargs, features_extractor)
    critic = ContinuousCritic(**{**kwargs, "net_arch": []})
    inputs = kwargs["features_dim"] + spaces.flatdim(policy.action_space)
    for index in range(len(critic.q_networks)):
        hidden = build_network(in_features=inputs)
        q_network = nn.Sequential(hidden, nn.Linear(output_width(hidden, inputs), 1))
        critic.add_module(f"qf{index}", q_network)  # replaces SB3's registered module of that name
        critic.q_networks[index] = q_network
    return critic.to(policy.device)


class ArchitectureSACPolicy(SACPolicy):
    """SAC's policy: the actor's and each critic's hidden layers from ``build_network``."""

    def __init__(self, *args: Any, build_network: Callable[..., nn.Module], **kwargs: Any) -> None:
        self.build_network = build_network
        super().__init__(*args, **kwargs)

    def make_actor(self, features_extractor: BaseFeaturesExtractor | None = None) -> SACActor:
        kwargs = self._update_features_extractor(self.actor_kwargs, features_extractor)
        hidden = self.build_network()
        # With no hidden layers of its own, SB3's Actor puts its heads right on its `features_dim`
        # inputs: built for the architecture's output width, they sit on top of the architecture.
        actor = SACActor(**{**kwargs, "net_arch": [], "features_dim": output_width(hidden, kwargs["features_dim"])})
        actor.latent_pi = hidden  # type: ignore[assignment]  # SB3 declares its own Sequential; any module runs
        actor.features_dim = kwargs["features_dim"]
        return actor.to(self.device)

    def make_critic(self, features_extractor: BaseFeaturesExtractor | None = None) -> ContinuousCritic:
        return architecture_critic(self, self.build_network, features_extractor)


class ArchitectureTD3Policy(TD3Policy):
    """TD3's policy: the actor's ``mu`` is the architecture under SB3's ``Linear -> tanh`` head;
    each critic's hidden layers come from ``build_network``, as for SAC."""

    def __init__(self, *args: Any, build_network: Callable[..., nn.Module], **kwargs: Any) -> None:
        self.build_network = build_network
        super().__init__(*args, **kwargs)

    def make_actor(self, features_extractor: BaseFeaturesExtractor | None = None) -> TD3Actor:
        actor = TD3Actor(**{**self._update_features_extractor(self.actor_kwargs, features_extractor), "net_arch": []})
        hidden = self.build_network()
        width = output_width(hidden, actor.features_dim)
        actor.mu = nn.Sequential(hidden, nn.Linear(width, get_action_dim(self.action_space)), nn.Tanh())
        return actor.to(self.device)

    def make_critic(self, features_extractor: BaseFeaturesExtractor | None = None) -> ContinuousCritic:
        return architecture_critic(self, self.build_network, features_extractor)
