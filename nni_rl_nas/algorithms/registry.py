"""The algorithm registry: one entry per RL algorithm, the only place that knows it.

An entry says which Stable-Baselines3 (or sb3-contrib) class trains the agent, how an
architecture becomes its networks (the policy class for a ``dense`` space, and the keyword
arguments that put an ``encoder`` space in as SB3's features extractor), what the network must
output, which action spaces the algorithm can act in, and where its single features extractor
sits (what RL-DARTS trains through). Its per-env defaults are its section of ``defaults.yml``.
Adding an algorithm is adding one entry here and one section there.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import gymnasium as gym
import yaml
from sb3_contrib import QRDQN
from sb3_contrib.qrdqn.policies import QRDQNPolicy
from stable_baselines3 import DQN, PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy
from stable_baselines3.dqn.policies import DQNPolicy
from stable_baselines3.sac.policies import SACPolicy
from stable_baselines3.td3.policies import TD3Policy
from torch import nn

from ..envs import registry_id
from ..errors import ConfigError, did_you_mean, lookup
from ..specs import AlgorithmDefaults
from .actor_critic import ArchitectureActorCriticPolicy, ArchitectureSACPolicy, ArchitectureTD3Policy
from .hyperparameters import check_searched_value, check_value
from .networks import ArchitectureFeaturesExtractor
from .value_based import ArchitectureDQNPolicy, ArchitectureQRDQNPolicy, DoubleDQN

DEFAULTS_FILE = Path(__file__).with_name("defaults.yml")
# Constructor arguments the evaluator sets itself; a config may not override them.
RESERVED_ARGUMENTS = {"self", "policy", "env", "seed", "policy_kwargs", "device", "verbose", "_init_setup_model"}


def _discrete_actions(action_space: gym.Space, policy_options: dict[str, Any]) -> int:
    if not isinstance(action_space, gym.spaces.Discrete):  # validation offers these algorithms nothing else
        raise TypeError(f"a Q-network needs discrete actions, got {action_space}")
    return int(action_space.n)


def _quantiles_of_actions(action_space: gym.Space, policy_options: dict[str, Any]) -> int:
    return _discrete_actions(action_space, policy_options) * policy_options["n_quantiles"]


# SB3 types an agent's policy as BasePolicy; each algorithm's is its own policy class
def _q_network_extractor(agent: BaseAlgorithm) -> nn.Module:
    return cast(DQNPolicy, agent.policy).q_net.features_extractor


def _quantile_network_extractor(agent: BaseAlgorithm) -> nn.Module:
    return cast(QRDQNPolicy, agent.policy).quantile_net.features_extractor


def _actor_critic_extractor(agent: BaseAlgorithm) -> nn.Module:
    return cast(ActorCriticPolicy, agent.policy).features_extractor


def _policy_default(policy: type[BasePolicy], name: str) -> Any:
    return inspect.signature(policy.__init__).parameters[name].default


@dataclass(frozen=True)
class Algorithm:
    name: str
    agent_class: type[BaseAlgorithm]
    dense_policy: type[BasePolicy]  # takes ``build_network``: the architecture is its dense layers
    encoder_policy: type[BasePolicy]  # SB3's own policy, the architecture being its features extractor
    action_spaces: tuple[type[gym.Space], ...]
    outputs: Callable[[gym.Space, dict[str, Any]], int] | None = None  # dense network's outputs; None: SB3 adds heads
    policy_options: dict[str, Any] = field(default_factory=dict)  # policy arguments a config may set, with defaults
    encoder_heads: list[int] | None = None  # net_arch on an encoder's features; None: SB3's default MLP
    features_extractor: Callable[[BaseAlgorithm], nn.Module] | None = None  # the one extractor, if one
    double_q_class: type[BaseAlgorithm] | None = None  # the agent class for ``task.double_q``
    example_env: str = "CartPole-v1"  # an env it can act in, named in error messages
    networks: int = 1  # copies of a dense architecture one agent trains (PPO: policy, value; SAC/TD3: actor, 2 critics)

    def encoder(self, agent: BaseAlgorithm) -> nn.Module:
        """The architecture inside the agent's one features extractor (an encoder search's supernet)."""
        extractor = self.features_extractor(agent) if self.features_extractor else None
        if not isinstance(extractor, ArchitectureFeaturesExtractor):
            raise TypeError(f"{self.name}'s agent has no architecture encoder as its one features extractor")
        return extractor.encoder

    def agent_class_for(self, double_q: bool) -> type[BaseAlgorithm]:
        if not double_q:
            return self.agent_class
        if self.double_q_class is None:  # validation refuses task.double_q for it
            raise ValueError(f"{self.name} has no double-Q variant")
        return self.double_q_class

    def hyperparameter_names(self) -> list[str]:
        """What a config may set in ``task.hyperparameters``: the agent's constructor arguments,
        and the policy options the entry declares (e.g. QR-DQN's ``n_quantiles``)."""
        arguments = set(inspect.signature(self.agent_class.__init__).parameters) - RESERVED_ARGUMENTS
        return sorted(arguments | set(self.policy_options))

    def setting(self, hyperparameters: dict[str, Any], name: str) -> Any:
        """An agent constructor argument as the agent will see it: the task's value, else SB3's
        default (None where the agent has no such argument, e.g. PPO's ``buffer_size``)."""
        parameter = inspect.signature(self.agent_class.__init__).parameters.get(name)
        return hyperparameters.get(name, parameter.default if parameter is not None else None)

    def split_hyperparameters(self, hyperparameters: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """(the agent's constructor arguments, the policy's options with their defaults filled in)."""
        policy = {**self.policy_options, **{k: v for k, v in hyperparameters.items() if k in self.policy_options}}
        return {k: v for k, v in hyperparameters.items() if k not in self.policy_options}, policy

    def output_size(self, action_space: gym.Space, hyperparameters: dict[str, Any]) -> int | None:
        return (
            None if self.outputs is None else self.outputs(action_space, self.split_hyperparameters(hyperparameters)[1])
        )

    def check_actions(self, action_space: gym.Space, env_id: str) -> None:
        if not isinstance(action_space, self.action_spaces):
            kinds = ", ".join(kind.__name__ for kind in self.action_spaces)
            able = [name for name, entry in ALGORITHMS.items() if isinstance(action_space, entry.action_spaces)]
            raise ConfigError(
                f"task.algorithm: {self.name!r} acts in {kinds} action spaces but {env_id!r} has "
                f"{action_space}; fix: algorithm one of {able}, or an env such as {self.example_env!r}"
            )

    def check_hyperparameters(self, hyperparameters: dict[str, Any]) -> None:
        allowed = self.hyperparameter_names()
        for key, value in hyperparameters.items():
            if key not in allowed:
                raise ConfigError(
                    f"task.hyperparameters: unknown {self.name} option {key!r}; "
                    f"{did_you_mean(str(key), allowed)}fix: use one of {allowed}"
                )
            check_value(key, value)

    def check_searched_hyperparameters(self, searched: dict[str, dict[str, Any]], where: str) -> None:
        """``searched`` (name -> NNI search space entry): each an argument the agent has, whose every
        value it takes, and none that sizes the network (the model space fixes that per trial)."""
        allowed = self.hyperparameter_names()
        for name, spec in searched.items():
            if name not in allowed:
                raise ConfigError(
                    f"{where}: {self.name} has no option {name!r}; {did_you_mean(str(name), allowed)}"
                    f"fix: search one of {allowed}"
                )
            if name in self.policy_options:
                raise ConfigError(
                    f"{where}.{name}: sizes the network's output, which every trial's architecture "
                    f"fixes; fix: set it in task.hyperparameters, not in the search"
                )
            check_searched_value(name, spec, f"{where}.{name}")

    def defaults_for(self, env_id: str) -> AlgorithmDefaults:
        """The shipped defaults for ``env_id``: its own entry, else its namespace's, else ``default``."""
        table, name = _shipped_defaults().get(self.name), registry_id(env_id)
        if table is None or "default" not in table:
            raise ConfigError(
                f"task.algorithm: {self.name!r} has no section with a default entry in {DEFAULTS_FILE}; "
                "fix: add one (total_timesteps and hyperparameters)"
            )
        entry = table.get(name) or (table.get(name.partition("/")[0]) if "/" in name else None) or table["default"]
        return AlgorithmDefaults(**entry)

    def policy_and_kwargs(
        self, network: Callable[..., nn.Module], part: str, policy_options: dict[str, Any]
    ) -> tuple[type[BasePolicy], dict[str, Any]]:
        """The SB3 policy class and ``policy_kwargs`` that put ``network`` into an agent."""
        if part == "encoder":
            kwargs: dict[str, Any] = {
                "features_extractor_class": ArchitectureFeaturesExtractor,
                "features_extractor_kwargs": {"build_network": network},
                "normalize_images": False,
                **policy_options,
            }  # observations in [0, 1] (envs.py)
            if self.encoder_heads is not None:
                kwargs["net_arch"] = list(self.encoder_heads)
            return self.encoder_policy, kwargs
        return self.dense_policy, {"build_network": network, **policy_options}


BOX, DISCRETE = (gym.spaces.Box,), (gym.spaces.Discrete,)
ALGORITHMS: dict[str, Algorithm] = {
    entry.name: entry
    for entry in (
        Algorithm(
            "dqn",
            DQN,
            ArchitectureDQNPolicy,
            DQNPolicy,
            DISCRETE,
            outputs=_discrete_actions,
            encoder_heads=[],
            features_extractor=_q_network_extractor,
            double_q_class=DoubleDQN,
        ),
        Algorithm(
            "qrdqn",
            QRDQN,
            ArchitectureQRDQNPolicy,
            QRDQNPolicy,
            DISCRETE,
            encoder_heads=[],
            outputs=_quantiles_of_actions,
            policy_options={"n_quantiles": _policy_default(QRDQNPolicy, "n_quantiles")},
            features_extractor=_quantile_network_extractor,
        ),
        Algorithm(
            "ppo",
            PPO,
            ArchitectureActorCriticPolicy,
            ActorCriticPolicy,
            (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary),
            encoder_heads=[],
            features_extractor=_actor_critic_extractor,
            networks=2,
        ),
        Algorithm("sac", SAC, ArchitectureSACPolicy, SACPolicy, BOX, example_env="Pendulum-v1", networks=3),
        Algorithm("td3", TD3, ArchitectureTD3Policy, TD3Policy, BOX, example_env="Pendulum-v1", networks=3),
    )
}


def algorithm(name: str) -> Algorithm:
    return lookup(ALGORITHMS, name, "task.algorithm")


@functools.cache
def _shipped_defaults() -> dict[str, Any]:
    return yaml.safe_load(DEFAULTS_FILE.read_text())
