"""The agent of a task: its algorithm's SB3 class, with the architecture where the registry puts it.

SB3 stays the training engine; the registry's policies only swap the network in, through the
hooks SB3 builds its networks with.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.noise import NormalActionNoise

from ..specs import TaskSpec
from .networks import NetworkBuilder
from .registry import algorithm


def gaussian_action_noise(std: float, action_space: gym.Space) -> NormalActionNoise:
    """``action_noise: <std>`` in a config: zero-mean Gaussian noise of that std on every action
    dimension, as rl-baselines3-zoo's ``noise_type: normal``."""
    shape = action_space.shape or ()  # validation gives action noise to Box actions only
    return NormalActionNoise(mean=np.zeros(shape), sigma=float(std) * np.ones(shape))


def build_agent(task: TaskSpec, network: NetworkBuilder, device: str) -> BaseAlgorithm:
    """The SB3 agent for ``task`` whose network comes from ``network`` (a :class:`NetworkFactory`,
    or for a weight-sharing search anything with its ``part`` and call)."""
    entry = algorithm(task.algorithm)
    env = make_vec_env(task.make_env, n_envs=task.env_count, seed=task.seed)
    arguments, policy_options = entry.split_hyperparameters(task.algorithm_hyperparameters)
    if isinstance(arguments.get("action_noise"), (int, float)):
        arguments["action_noise"] = gaussian_action_noise(arguments["action_noise"], env.action_space)
    policy, policy_kwargs = entry.policy_and_kwargs(network, network.part, policy_options)
    agent = entry.agent_class_for(task.double_q)(
        policy, env, seed=task.seed, device=device, policy_kwargs=policy_kwargs, verbose=0, **arguments
    )
    # SB3's default logger makes an empty /tmp/SB3-<time> folder at every learn(); trials report
    # through NNI instead, so the agent's logger keeps its values in memory and writes nothing.
    agent.set_logger(Logger(folder=None, output_formats=[]))
    return agent


def trained_parameters(agent: Any) -> int:
    """Weights the agent's optimizers train (an SB3 algorithm's, or a batched engine agent's): the
    networks' size, target copies left out."""
    optimizers = [agent.policy.optimizer] if hasattr(agent.policy, "optimizer") else []
    optimizers += [getattr(agent, name).optimizer for name in ("actor", "critic") if hasattr(agent, name)]
    return sum(p.numel() for optimizer in optimizers for group in optimizer.param_groups for p in group["params"])
