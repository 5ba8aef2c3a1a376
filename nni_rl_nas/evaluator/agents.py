"""Stable-Baselines3 agents (DQN, PPO, SAC) whose network is a frozen architecture from a model space.

SB3 stays the training engine; this module only swaps the network in, through the hooks SB3
builds its networks with. A ``dense`` space is the part after SB3's features extractor:
``DQN`` builds its online and target Q-networks through ``DQNPolicy.make_q_net``, which
:class:`ArchitectureDQNPolicy` overrides so both are fresh instances of the architecture; the
PPO and SAC policies of :mod:`.actor_critic` do the same for their MLPs. An ``encoder`` space is
SB3's features extractor (:class:`ArchitectureFeaturesExtractor`), for every algorithm.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

import torch
from gymnasium import spaces
from nni.nas.nn.pytorch import ModelSpace
from stable_baselines3 import DQN, PPO, SAC
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.dqn.policies import DQNPolicy, QNetwork
from stable_baselines3.sac.policies import SACPolicy
from torch import nn

from .actor_critic import ArchitectureActorCriticPolicy, ArchitectureSACPolicy, output_width

# Constructor arguments the evaluator sets itself; a config may not override them.
RESERVED_ARGUMENTS = {"self", "policy", "env", "seed", "policy_kwargs", "device", "verbose", "_init_setup_model"}


def check_hyperparameters(algorithm: str, hyperparameters: dict[str, Any]) -> None:
    from ..config import ConfigError

    allowed = sorted(set(inspect.signature(ALGORITHM_CLASSES[algorithm].__init__).parameters) - RESERVED_ARGUMENTS)
    for key in hyperparameters:
        if key not in allowed:
            raise ConfigError(f"task.hyperparameters: unknown {algorithm} option {key!r}; fix: use one of {allowed}")


ALGORITHM_CLASSES: dict[str, type[BaseAlgorithm]] = {"dqn": DQN, "ppo": PPO, "sac": SAC}


class ArchitectureFeaturesExtractor(BaseFeaturesExtractor):
    """SB3's features extractor = an encoder architecture; its output width is measured on a blank image."""

    def __init__(self, observation_space: spaces.Box, build_network: Callable[[], nn.Module]) -> None:
        encoder = build_network()
        super().__init__(observation_space, output_width(encoder, observation_space.shape))
        self.encoder = encoder

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.encoder(observations)


class ArchitectureQNetwork(QNetwork):
    """SB3's ``QNetwork`` (features extractor + ``q_net``) with ``q_net`` = the frozen architecture."""

    def __init__(self, *args: Any, architecture_module: nn.Module, **kwargs: Any) -> None:
        super().__init__(*args, net_arch=[], **kwargs)
        self.q_net = architecture_module


class ArchitectureDQNPolicy(DQNPolicy):
    """DQN policy whose Q-networks come from ``build_network`` (a frozen architecture).

    Called twice, it gives independent online and target networks of the same shape (SB3 then
    copies the online weights into the target). A factory rather than the model space itself,
    so the space never becomes a submodule whose unused weights reach the optimizer.
    """

    def __init__(self, *args: Any, build_network: Callable[[], nn.Module], **kwargs: Any) -> None:
        self.build_network = build_network
        super().__init__(*args, **kwargs)

    def make_q_net(self) -> QNetwork:
        net_args = self._update_features_extractor(self.net_args, features_extractor=None)
        net_args.pop("net_arch")
        return ArchitectureQNetwork(**net_args, architecture_module=self.build_network()).to(self.device)


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
        self.q_net_target = _DoubleQTarget(self.policy.q_net_target, self.policy.q_net)


@dataclass(frozen=True)
class NetworkFactory:
    """Fresh plain modules of one architecture of ``space``, and the part of an agent they play.

    ``space.part`` is ``dense`` (the layers after SB3's features extractor: DQN's whole
    Q-network, PPO's policy and value MLPs, SAC's actor and critic hidden layers) or ``encoder``
    (SB3's features extractor: an image encoder). Called with ``in_features``, it builds the
    same architecture reading another input width (a SAC critic reads observation and action).
    """

    space: ModelSpace
    architecture: dict[str, Any]

    @property
    def part(self) -> str:
        return self.space.part

    def __call__(self, in_features: int | None = None) -> nn.Module:
        space = self.space if in_features is None else self.space.with_inputs(in_features)
        return space.freeze(self.architecture)


def frozen_network(space: ModelSpace, architecture: dict[str, Any]) -> NetworkFactory:
    return NetworkFactory(space, architecture)


def policy_and_kwargs(algorithm: str, network: NetworkFactory) -> tuple[type, dict[str, Any]]:
    """The SB3 policy class and ``policy_kwargs`` that put ``network`` into an ``algorithm`` agent."""
    if network.part == "encoder":
        policy = {"dqn": DQNPolicy, "ppo": ActorCriticPolicy, "sac": SACPolicy}[algorithm]
        kwargs: dict[str, Any] = {"features_extractor_class": ArchitectureFeaturesExtractor,
                                  "features_extractor_kwargs": {"build_network": network},
                                  "normalize_images": False}  # observations arrive in [0, 1] (envs.py)
        if algorithm in ("dqn", "ppo"):
            kwargs["net_arch"] = []  # linear heads on the encoder's features, as SB3 puts them on NatureCNN's
        return policy, kwargs
    policy = {"dqn": ArchitectureDQNPolicy, "ppo": ArchitectureActorCriticPolicy, "sac": ArchitectureSACPolicy}
    return policy[algorithm], {"build_network": network}


def build_agent(task, network: Callable[..., nn.Module], device: str) -> BaseAlgorithm:
    """The SB3 agent for ``task`` whose network comes from ``network`` (a :class:`NetworkFactory`,
    or for a weight-sharing search anything with its ``part`` and call)."""
    env = make_vec_env(task.make_env, n_envs=task.env_count, seed=task.seed)
    policy, policy_kwargs = policy_and_kwargs(task.algorithm, network)
    agent_class = DoubleDQN if task.algorithm == "dqn" and task.double_q else ALGORITHM_CLASSES[task.algorithm]
    agent = agent_class(policy, env, seed=task.seed, device=device, policy_kwargs=policy_kwargs, verbose=0,
                        **task.algorithm_hyperparameters)
    # SB3's default logger makes an empty /tmp/SB3-<time> folder at every learn(); trials report
    # through NNI instead, so the agent's logger keeps its values in memory and writes nothing.
    agent.set_logger(Logger(folder=None, output_formats=[]))
    return agent


def trained_parameters(agent: BaseAlgorithm) -> int:
    """Weights the agent's optimizers train: the networks' size, target copies left out."""
    optimizers = [agent.policy.optimizer] if hasattr(agent.policy, "optimizer") else []
    optimizers += [getattr(agent, name).optimizer for name in ("actor", "critic") if hasattr(agent, name)]
    return sum(p.numel() for optimizer in optimizers for group in optimizer.param_groups for p in group["params"])
