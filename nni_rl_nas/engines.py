"""The ways a trial can train its seeds (``task.engine``), and what each can train.

Declared apart from the engines themselves (:mod:`nni_rl_nas.training`), so that validation,
and with it the tuner side, knows them without importing a training engine.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stable_baselines3 import DQN

from .errors import ConfigError, is_number
from .specs import TaskSpec

# DQN options the batched trainer implements as SB3 does; any other option must keep SB3's default.
IMPLEMENTED_OPTIONS = (
    "learning_rate",
    "buffer_size",
    "learning_starts",
    "batch_size",
    "tau",
    "gamma",
    "train_freq",
    "gradient_steps",
    "target_update_interval",
    "exploration_fraction",
    "exploration_initial_eps",
    "exploration_final_eps",
    "max_grad_norm",
    "stats_window_size",
)
SB3_DQN_DEFAULTS = {
    name: parameter.default
    for name, parameter in inspect.signature(DQN.__init__).parameters.items()
    if parameter.default is not inspect.Parameter.empty
}


def batched_options(hyperparameters: dict[str, Any]) -> dict[str, Any]:
    """SB3's DQN defaults overridden by ``hyperparameters``; a ConfigError names any the batched trainer lacks."""
    for name, value in hyperparameters.items():
        if name not in IMPLEMENTED_OPTIONS and value != SB3_DQN_DEFAULTS.get(name):
            raise ConfigError(
                f"task.hyperparameters.{name}: the batched engine does not implement {name}={value!r}; "
                "fix: remove it, or train with task.engine: sb3"
            )
    options = {**SB3_DQN_DEFAULTS, **hyperparameters}
    for name in ("learning_rate", "train_freq"):
        if not is_number(options[name]):
            raise ConfigError(
                f"task.hyperparameters.{name}: the batched engine takes a number, got {options[name]!r}; "
                "fix: a number, or train with task.engine: sb3"
            )
    return options


def check_batched_task(task: TaskSpec, space_part: str) -> None:
    """What the batched trainer implements: one env per seed, a dense network, SB3's DQN options."""
    if task.env_count != 1:
        raise ConfigError(
            f"task.engine: batched trains one env per seed, got n_envs {task.env_count}; fix: engine: sb3"
        )
    if space_part != "dense":
        raise ConfigError(
            f"task.engine: batched stacks dense layers, the space is an image {space_part}; fix: engine: sb3"
        )
    batched_options(task.algorithm_hyperparameters)


@dataclass(frozen=True)
class Engine:
    """A way to train a trial's seeds and the tasks it can train."""

    summary: str
    algorithms: tuple[str, ...] | None = None  # None: every algorithm
    check_task: Callable[[TaskSpec, str], None] = lambda task, space_part: None

    def check(self, name: str, task: TaskSpec, space_part: str) -> None:
        if self.algorithms is not None and task.algorithm not in self.algorithms:
            raise ConfigError(
                f"task.engine: {name} trains {list(self.algorithms)}, got algorithm {task.algorithm!r}; "
                "fix: engine: sb3"
            )
        self.check_task(task, space_part)


ENGINES = {
    "sb3": Engine("one Stable-Baselines3 agent per seed, taking turns between report points"),
    "batched": Engine("every seed's DQN agent in lockstep as one batched computation", ("dqn",), check_batched_task),
}
