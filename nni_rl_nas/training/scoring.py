"""Score rules: how a trained agent becomes the number a search strategy learns from.

Seeds: training episodes come from the env seeded with ``task.seed`` (small integers).
Evaluation episode ``i`` of block ``b`` resets with seed ``EVAL_SEED_BASE * (b + 1) + i``, so no
evaluation replays a training start state. The blocks split into validation and test episodes:

- validation, what a decision reads: block 0 the solve check (which stops a solved agent and
  picks the weights the seed rule scores), block 2 the periodic evaluations of the learning
  curve (which assessors read to stop trials, and ENAS's controller learns from);
- test, block 1: the trial's reported score, under either rule, and nothing else.

So a score never reuses the episodes that judged its agent solved: a seed stopped on solving
reports its return on fresh episodes, not the >= threshold that stopped it.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from stable_baselines3.common.policies import BasePolicy

EVAL_SEED_BASE = 1_000_000
SOLVE_CHECK_BLOCK, TEST_BLOCK, CURVE_BLOCK = 0, 1, 2  # validation, test, validation


@dataclass(frozen=True)
class Score:
    value: float
    mean_return: float | None  # None when the rule skipped evaluation (unsolved)
    std_return: float | None
    episodes: int
    solved: bool
    solved_at: int | None  # env steps at which the agent was first judged solved


class Agent(Protocol):
    """What scoring reads of an agent: an SB3 algorithm, or one agent of the batched engine
    (:class:`~nni_rl_nas.training.batched_dqn.BatchedAgent`)."""

    @property
    def num_timesteps(self) -> int: ...

    @property
    def policy(self) -> BasePolicy: ...

    def predict(
        self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = False
    ) -> tuple[Any, Any]: ...


def greedy_returns(agent: Agent, env: gym.Env, episodes: int, block: int) -> np.ndarray:
    """Undiscounted returns of the deterministic policy over ``episodes`` seeded episodes."""
    returns = np.empty(episodes)
    for episode in range(episodes):
        observation, _ = env.reset(seed=EVAL_SEED_BASE * (block + 1) + episode)
        total, done = 0.0, False
        while not done:
            action, _ = agent.predict(observation, deterministic=True)
            observation, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns[episode] = total
    return returns


def solved_in_training(training_returns: Sequence[float], window: int, threshold: float) -> bool:
    """Gym's "solved" test for LunarLander: some ``window`` consecutive episodes average >= threshold."""
    if len(training_returns) < window:
        return False
    returns = np.asarray(training_returns, dtype=float)
    window_sums = np.convolve(returns, np.ones(window), mode="valid")
    return bool(window_sums.max() / window >= threshold)


class SolveTracker:
    """Decides when an agent first counts as solved, and keeps its weights from that moment.

    ``solved_on: greedy_eval``: a periodic greedy evaluation whose mean reaches the threshold
    triggers the full check, ``solve_window`` greedy validation episodes (block 0). ``training_episodes``:
    that test on the training returns, as ``solved_then_eval`` was first defined. The weights at
    the first success are the ones the rule scores: DQN can collapse later in training (measured on LunarLander:
    greedy mean 220 at 200k steps, -1067 at 500k, same run), and "did it reach the threshold"
    is the question the rule asks.
    """

    def __init__(self, task, eval_env: gym.Env) -> None:
        self.task = task
        self.eval_env = eval_env
        self.solved_at: int | None = None
        self.solved_weights: dict[str, Any] | None = None

    def update(self, agent: Agent, training_returns: Sequence[float], periodic_mean: float | None) -> bool:
        """Check at a report point; True once solved."""
        if (
            self.solved_at is None
            and self.task.solve_threshold is not None
            and self._passes(agent, training_returns, periodic_mean)
        ):
            self.solved_at = int(agent.num_timesteps)
            self.solved_weights = copy.deepcopy(agent.policy.state_dict())
        return self.solved_at is not None

    def _passes(self, agent: Agent, training_returns: Sequence[float], periodic_mean: float | None) -> bool:
        rule, threshold = self.task.score, self.task.solve_threshold
        if rule.solved_on == "training_episodes":
            return solved_in_training(training_returns, rule.solve_window, threshold)
        if periodic_mean is not None and periodic_mean < threshold:
            return False
        return greedy_returns(agent, self.eval_env, rule.solve_window, SOLVE_CHECK_BLOCK).mean() >= threshold


def score_agent(agent: Agent, tracker: SolveTracker) -> Score:
    """Score the trained agent by the task's rule; the tracker has seen every report point, the last included."""
    rule, env = tracker.task.score, tracker.eval_env
    if rule.rule == "mean_return":
        returns = greedy_returns(agent, env, rule.episodes, TEST_BLOCK)
        return Score(
            float(returns.mean()),
            float(returns.mean()),
            float(returns.std()),
            len(returns),
            tracker.solved_at is not None,
            tracker.solved_at,
        )
    if tracker.solved_at is None or tracker.solved_weights is None:
        return Score(rule.unsolved_score, None, None, 0, solved=False, solved_at=None)
    agent.policy.load_state_dict(tracker.solved_weights)
    returns = greedy_returns(agent, env, rule.episodes, TEST_BLOCK)
    return Score(
        float(returns.mean()) / rule.scale,
        float(returns.mean()),
        float(returns.std()),
        len(returns),
        True,
        tracker.solved_at,
    )
