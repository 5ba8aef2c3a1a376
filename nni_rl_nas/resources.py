"""The memory one trial needs, estimated before anything runs, against what the machine has.

A config can be right in every type and still ask for more memory than exists: a layer width of
10,000,000 passes every other check, and its trial took 9.2 GB before it had trained 2000 steps.
Validation therefore estimates, without allocating anything, the two things that grow with a
config's numbers, for one agent:

- **Networks.** The space's largest architecture (:meth:`ArchitectureSpace.largest_architecture`),
  built on PyTorch's meta device (shapes, no memory). Its parameters are counted
  ``PARAMETER_COPIES`` times for each copy an agent trains (``Algorithm.networks``); a space whose
  candidates are all built at once (a DARTS supernet) is counted whole where that is larger. Add
  the feature maps of one training batch, kept for the backward pass, twice (values and gradients).
- **Buffers.** SB3's replay buffer (``buffer_size`` transitions: observation, next observation,
  action, reward, done, timeout) or PPO's rollout buffer (``n_steps x n_envs`` steps, float32).

Plus what any agent and any trial process take whatever the network. A trial holds one agent per
seed (both engines keep every seed's agent), and on a local training service ``trialConcurrency``
trials run at once. ``benchmarks/memory_estimate.py`` measured the constants below and compares the
estimate with the memory agents take. More than the machine's available memory is refused with the
estimate and the fix, before any trial starts. On other training services the trials run on machines
this one cannot see: nothing is checked.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import psutil
import torch
from stable_baselines3.common.preprocessing import get_flattened_obs_dim

from .algorithms import algorithm
from .algorithms.hyperparameters import agent_value, values_to_check
from .errors import ConfigError, is_number
from .specs import ExperimentSpec, TaskSpec

# Weights, a target copy, gradients, Adam's two moments, and the temporaries of PyTorch's
# multi-tensor Adam step and gradient clipping: a 2048x2 DQN Q-network took 10.3 times its weights.
PARAMETER_COPIES = 11
# an agent's env, SB3 objects and allocator slack: 12-13 MB measured with 16-unit layers
AGENT_BYTES = 16 * 2**20
# a trial process with torch, NNI, SB3 and gymnasium imported and its space built: 471 MiB measured
PROCESS_BYTES = 500 * 2**20
FLOAT_BYTES = 4
GB = 1024**3


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes one trial needs: ``agents`` agents, each with its networks and its buffer."""

    largest: str  # the architecture the network figure is for
    parameters: int  # of one copy of it
    network_bytes: int  # per agent: every copy's parameters and state, one batch's feature maps
    buffer_bytes: int  # per agent
    buffer: str  # what the buffer is, for the message
    agents: int

    @property
    def agent_bytes(self) -> int:
        return AGENT_BYTES + self.network_bytes + self.buffer_bytes

    @property
    def trial_bytes(self) -> int:
        return PROCESS_BYTES + self.agents * self.agent_bytes

    def describe(self) -> str:
        agents = f"{self.agents} agents, one per task.seeds" if self.agents > 1 else "one agent"
        return (
            f"largest architecture {self.largest!r}: {self.parameters:,} parameters, {gigabytes(self.network_bytes)} "
            f"with training state and one batch; {self.buffer}: {gigabytes(self.buffer_bytes)}; one trial: "
            f"{gigabytes(self.trial_bytes)} (its process and {agents})"
        )


def gigabytes(amount: int) -> str:
    return f"{amount / GB:,.2f} GB"


def available_memory() -> int:
    """Bytes this machine can give new processes now without swapping (the kernel's MemAvailable),
    the figure SB3 checks its replay buffer against."""
    return psutil.virtual_memory().available


def _feature_map_elements(network: torch.nn.Module, batch: torch.Tensor) -> int:
    """Elements of every leaf module's output in one forward pass (on the meta device: no memory)."""
    counted = []
    hooks = [
        module.register_forward_hook(
            lambda _, __, output: counted.append(output.numel() if isinstance(output, torch.Tensor) else 0)
        )
        for module in network.modules()
        if next(module.children(), None) is None
    ]
    try:
        network(batch)
    finally:
        for hook in hooks:
            hook.remove()
    return sum(counted)


def _buffer(spec: ExperimentSpec) -> tuple[int, str]:
    """Bytes and a description of one agent's replay or rollout buffer."""
    task, actions = spec.rl_task, spec.action_space
    entry, settings = algorithm(task.algorithm), task.algorithm_hyperparameters
    observation = math.prod(spec.inputs.shape or (1,)) * np.dtype(spec.inputs.dtype or np.float32).itemsize
    action = math.prod(actions.shape or (1,)) * np.dtype(actions.dtype).itemsize
    buffer_size = entry.setting(settings, "buffer_size")
    if buffer_size is not None:
        return (
            int(buffer_size) * (2 * observation + action + 3 * FLOAT_BYTES),
            f"replay buffer of {int(buffer_size):,} transitions (task.hyperparameters.buffer_size)",
        )
    steps = int(entry.setting(settings, "n_steps") or 0) * task.env_count
    observation_floats = math.prod(spec.inputs.shape or (1,)) * FLOAT_BYTES
    return (
        steps * (observation_floats + action + 6 * FLOAT_BYTES),
        f"rollout buffer of {steps:,} steps (task.hyperparameters.n_steps x task.n_envs)",
    )


def with_largest_hyperparameters(spec: ExperimentSpec) -> ExperimentSpec:
    """``spec`` whose task takes each numeric searched hyperparameter at its largest: the trial
    with the largest buffer and batch."""
    largest = {}
    for name, entry in spec.searched_hyperparameters.items():
        numbers = [value for value in values_to_check(entry) if is_number(value)]
        if numbers:
            largest[name] = agent_value(name, max(numbers))
    return dataclasses.replace(spec, task=spec.rl_task.with_hyperparameters(largest)) if largest else spec


def estimate_trial_memory(spec: ExperimentSpec) -> MemoryEstimate:
    """What one trial of ``spec`` needs at most, in bytes (see the module docstring)."""
    spec = with_largest_hyperparameters(spec)
    space = spec.meta_space
    largest = space.largest_architecture()
    name = space.architecture_name(largest)
    try:
        with torch.device("meta"):
            network = space.freeze(largest)
    except (RuntimeError, OverflowError) as error:  # on the meta device only a size can fail
        raise ConfigError(
            f"space: its largest architecture {name!r} has layers too large for any tensor ({error}); "
            "fix: smaller widths, channels, kernels, filter sizes or features"
        ) from None
    parameters = sum(parameter.numel() for parameter in network.parameters())
    supernet = sum(parameter.numel() for parameter in space.parameters())
    task = spec.task
    if isinstance(task, TaskSpec):
        entry = algorithm(task.algorithm)
        copies = entry.networks if space.part == "dense" else 1
        batch_size, batch_field = (
            int(entry.setting(task.algorithm_hyperparameters, "batch_size") or 1),
            "task.hyperparameters.batch_size",
        )
        buffer_bytes, buffer = _buffer(spec)
        options = spec.strategy_options
        agents = options.trial_seeds_at_most(task.seed_count) if options else task.seed_count
    else:
        copies, batch_size, batch_field, buffer_bytes, buffer, agents = (
            1,
            task.batch_size,
            "task.batch_size",
            0,
            "no buffer",
            1,
        )
    shape = (get_flattened_obs_dim(spec.inputs),) if space.part == "dense" else (spec.inputs.shape or ())
    try:
        feature_maps = _feature_map_elements(network, torch.empty((batch_size, *shape), device="meta"))
    except (RuntimeError, OverflowError) as error:
        raise ConfigError(
            f"{batch_field}: one batch of {batch_size:,} through {name!r} is too large for any tensor "
            f"({error}); fix: a smaller {batch_field}"
        ) from None
    network_bytes = FLOAT_BYTES * (PARAMETER_COPIES * copies * max(parameters, supernet) + 2 * copies * feature_maps)
    return MemoryEstimate(name, parameters, network_bytes, buffer_bytes, buffer, agents)


def check_memory(spec: ExperimentSpec, trials_at_once: int, available: int | None = None) -> MemoryEstimate | None:
    """Refuse an experiment whose trials, ``trials_at_once`` of them, need more memory than ``available``
    (this machine's available memory); the message gives the estimate and the fix. None: nothing to check."""
    if trials_at_once == 0:
        return None
    estimate = estimate_trial_memory(spec)
    available = available_memory() if available is None else available
    needed = estimate.trial_bytes * trials_at_once
    if needed > available:
        at_once = (
            f"; {trials_at_once} trials at once (trialConcurrency): {gigabytes(needed)}" if trials_at_once > 1 else ""
        )
        network_heavier = estimate.network_bytes >= estimate.buffer_bytes
        fix = (
            "smaller choices in space (its widths or channels)"
            if network_heavier
            else "a smaller task.hyperparameters.buffer_size or n_steps"
        )
        raise ConfigError(
            f"resources: {estimate.describe()}{at_once}; this machine has {gigabytes(available)} available; "
            f"fix: {fix}, fewer task.seeds (or racing.max_seeds, verdict.test_seeds), or a lower trialConcurrency"
        )
    return estimate
