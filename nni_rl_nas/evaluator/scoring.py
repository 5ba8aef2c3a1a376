"""Score rules: how a trained agent becomes the number a search strategy learns from.

Seeds: training episodes come from the env seeded with ``task.seed`` (small integers).
Evaluation episode ``i`` of block ``b`` resets with seed ``EVAL_SEED_BASE * (b + 1) + i``, so
evaluation never replays a training start state, and the seed rule's "different seed" block
never replays the solve check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm

EVAL_SEED_BASE = 1_000_000


@dataclass(frozen=True)
class Score:
    value: float
    mean_return: float | None  # None when the rule skipped evaluation (unsolved)
    std_return: float | None
    episodes: int
    solved: bool


def greedy_returns(agent: BaseAlgorithm, env: gym.Env, episodes: int, block: int) -> np.ndarray:
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
    """The seed project's convergence test: some ``window`` consecutive episodes average >= threshold."""
    if len(training_returns) < window:
        return False
    returns = np.asarray(training_returns, dtype=float)
    window_sums = np.convolve(returns, np.ones(window), mode="valid")
    return bool(window_sums.max() / window >= threshold)


def score_agent(agent: BaseAlgorithm, env: gym.Env, task, training_returns: Sequence[float]) -> Score:
    rule = task.score
    if rule.rule == "mean_return":
        returns = greedy_returns(agent, env, rule.episodes, block=0)
        return Score(float(returns.mean()), float(returns.mean()), float(returns.std()), len(returns),
                     solved=bool(returns.mean() >= task.solve_threshold) if task.solve_threshold is not None else False)
    if rule.solved_on == "greedy_eval":
        solved = greedy_returns(agent, env, rule.solve_window, block=0).mean() >= task.solve_threshold
    else:
        solved = solved_in_training(training_returns, rule.solve_window, task.solve_threshold)
    if not solved:
        return Score(rule.unsolved_score, None, None, 0, solved=False)
    returns = greedy_returns(agent, env, rule.episodes, block=1)
    return Score(float(returns.mean()) / rule.scale, float(returns.mean()), float(returns.std()), len(returns), True)
