"""Stable-Baselines3 agents whose network is a frozen architecture from a model space.

SB3 stays the training engine; this module only swaps the network in. ``DQN`` builds its online
and target Q-networks through ``DQNPolicy.make_q_net``; :class:`ArchitectureDQNPolicy` overrides
that one hook so both are fresh instances of the frozen architecture.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

import torch
from gymnasium import spaces
from nni.nas.nn.pytorch import ModelSpace
from stable_baselines3 import DQN
from stable_baselines3.common.logger import Logger
from stable_baselines3.dqn.policies import DQNPolicy, QNetwork
from torch import nn

# Constructor arguments the evaluator sets itself; a config may not override them.
RESERVED_ARGUMENTS = {"self", "policy", "env", "seed", "policy_kwargs", "device", "verbose", "_init_setup_model"}


def check_hyperparameters(algorithm: str, hyperparameters: dict[str, Any]) -> None:
    from ..config import ConfigError

    allowed = sorted(set(inspect.signature(ALGORITHM_CLASSES[algorithm].__init__).parameters) - RESERVED_ARGUMENTS)
    for key in hyperparameters:
        if key not in allowed:
            raise ConfigError(f"task.hyperparameters: unknown {algorithm} option {key!r}; fix: use one of {allowed}")


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


ALGORITHM_CLASSES = {"dqn": DQN}


def build_agent(task, build_network: Callable[[], nn.Module], env, device: str) -> DQN:
    """The SB3 agent for ``task`` whose network comes from ``build_network``.

    A trial passes the frozen architecture (:func:`frozen_network`); a weight-sharing search
    passes a supernet factory.
    """
    if not isinstance(env.action_space, spaces.Discrete):
        raise ValueError(f"DQN needs discrete actions, env has {env.action_space}")
    agent_class = DoubleDQN if task.double_q else DQN
    agent = agent_class(
        ArchitectureDQNPolicy,
        env,
        seed=task.seed,
        device=device,
        policy_kwargs={"build_network": build_network},
        verbose=0,
        **task.algorithm_hyperparameters,
    )
    # SB3's default logger makes an empty /tmp/SB3-<time> folder at every learn(); trials report
    # through NNI instead, so the agent's logger keeps its values in memory and writes nothing.
    agent.set_logger(Logger(folder=None, output_formats=[]))
    return agent


def frozen_network(space: ModelSpace, architecture: dict[str, Any]) -> Callable[[], nn.Module]:
    """A factory of fresh plain modules of one architecture of ``space``."""
    return functools.partial(space.freeze, architecture)
