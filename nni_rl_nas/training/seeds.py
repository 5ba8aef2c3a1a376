"""One architecture trained and scored over several seeds: the score a strategy learns from.

RL scores are noisy: one seed of a network can solve LunarLander while another of the same network
does not. A trial therefore trains one agent per seed it is given (by default ``task.seed_count`` of
them, ``task.seed``, ``task.seed + 1`` ...) and reports their aggregate: the score is the mean of
the per-seed scores, with their spread beside it, and the learning curve NNI plots (and assessors
read) is the mean curve, which grows while the trial runs; an agent that stops early (solved with
``stop_on_solve``) keeps its last point in the mean.

``task.engine`` picks how the agents train. ``sb3`` (the default): one Stable-Baselines3 agent
per seed, taking turns between report points; each keeps its own state of the global random
generators that SB3 draws from (exploration, replay sampling), so an agent trains exactly as it
would alone with its seed. ``batched``: all seeds in lockstep as one batched computation
(:mod:`.batched_dqn`), several times the env steps per second for small networks.
``task.max_trial_seconds`` caps the whole trial. The cost fields count every seed's env steps.
Given a ``log_dir``, each seed writes its TensorBoard run there (:mod:`.tensorboard`).
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from pathlib import Path
from typing import Any

import nni
import numpy as np
import torch

from ..algorithms import NetworkBuilder, build_agent, trained_parameters
from ..messages import CurvePoint, checked
from .batched_dqn import BatchedAgent, BatchedDQN
from .checkpoints import restore_run, save_runs
from .curve import LearningCurve, LearningCurveCallback
from .scoring import Score, score_agent
from .tensorboard import seed_logger

logger = logging.getLogger(__name__)


def global_rng_state() -> tuple:
    return random.getstate(), np.random.get_state(), torch.get_rng_state()


def set_global_rng_state(state: tuple) -> None:
    random.setstate(state[0])
    np.random.set_state(state[1])
    torch.set_rng_state(state[2])


class SeedRun:
    """One seed's Stable-Baselines3 agent, trained one report interval at a time."""

    def __init__(self, task, build_network: NetworkBuilder, device: str, log_dir: Path | None) -> None:
        self.task = task
        self.agent = build_agent(task, build_network, device)  # SB3 seeds the global generators
        self.agent.set_logger(seed_logger(log_dir, task.seed))  # SB3's values and the curve's, one run
        self.rng_state = global_rng_state()
        self.curve = LearningCurve(task, self.agent.logger)

    @property
    def done(self) -> bool:
        return self.curve.stopped or self.agent.num_timesteps >= self.task.budget

    def advance(self) -> None:
        """Train to the next report point (or the end of the budget); end with a point if training ended."""
        set_global_rng_state(self.rng_state)
        target = min(self.curve.next_report, self.task.budget)
        self.agent.learn(
            total_timesteps=target - self.agent.num_timesteps,
            reset_num_timesteps=False,
            callback=LearningCurveCallback(self.curve),
        )
        if self.done:
            self.curve.finish(self.agent)
        self.rng_state = global_rng_state()

    def score(self) -> Score:
        return score_agent(self.agent, self.curve.tracker)


class SequentialSeedRuns:
    """``task.engine: sb3``: one SB3 agent per seed; they take turns between report points."""

    def __init__(self, tasks: list, build_network: NetworkBuilder, device: str, log_dir: Path | None) -> None:
        self.runs = [SeedRun(task, build_network, device, log_dir) for task in tasks]

    def advance(self) -> None:
        for run in self.runs:
            if not run.done:
                run.advance()


class BatchedSeedRun:
    """One seed's agent inside a :class:`BatchedDQN`."""

    def __init__(self, task, trainer: BatchedDQN, agent: int, log_dir: Path | None) -> None:
        self.task = task
        self.agent = BatchedAgent(trainer, agent)
        self.curve = LearningCurve(task, seed_logger(log_dir, task.seed))

    @property
    def done(self) -> bool:
        return self.agent.stopped

    def score(self) -> Score:
        return score_agent(self.agent, self.curve.tracker)


class BatchedSeedRuns:
    """``task.engine: batched``: the seeds' agents train in lockstep as one batched computation."""

    def __init__(self, tasks: list, build_network: NetworkBuilder, device: str, log_dir: Path | None) -> None:
        self.trainer = BatchedDQN(tasks[0], [build_network] * len(tasks), [task.seed for task in tasks], device)
        self.runs = [BatchedSeedRun(task, self.trainer, agent, log_dir) for agent, task in enumerate(tasks)]

    def advance(self) -> None:
        """Step every agent until some curve gains a point or every agent is done."""
        points = [len(run.curve.points) for run in self.runs]
        while not all(run.done for run in self.runs) and points == [len(run.curve.points) for run in self.runs]:
            for agent, episode_return in self.trainer.step():
                if not self.runs[agent].done:  # a stopped agent's env steps on with the others
                    self.runs[agent].curve.episode_returns.append(episode_return)
            for run in self.runs:
                if not run.done and (not run.curve.after_step(run.agent) or run.agent.num_timesteps >= run.task.budget):
                    run.curve.finish(run.agent)
                    run.agent.stop()


# task.engine picks one (engines.py)
SEED_RUNS: dict[str, type[SequentialSeedRuns | BatchedSeedRuns]] = {
    "sb3": SequentialSeedRuns,
    "batched": BatchedSeedRuns,
}


def _mean(values: list) -> float | None:
    present = [value for value in values if value is not None]
    return float(np.mean(present)) if present else None


def mean_point(points: list[dict], started: float) -> dict:
    """One point of each seed's curve, averaged; per-seed values kept beside the mean."""
    return {
        "default": _mean([p["default"] for p in points]),
        "seed_defaults": [p["default"] for p in points],
        "greedy_return": _mean([p["greedy_return"] for p in points]),
        "training_return": _mean([p["training_return"] for p in points]),
        "env_steps": max(p["env_steps"] for p in points),
        "episodes": sum(p["episodes"] for p in points),
        "solved": all(p["solved"] for p in points),
        "solved_seeds": sum(bool(p["solved"]) for p in points),
        "wall_clock_s": round(time.monotonic() - started, 2),
    }


def train_over_seeds(
    task,
    build_network: NetworkBuilder,
    device: str,
    log_dir: Path | None = None,
    continue_from: Path | None = None,
    save_to: Path | None = None,
    seeds: list[int] | None = None,
) -> tuple[dict, list[dict], dict]:
    """Train and score one agent of one network per seed of ``seeds`` (None: ``task.seed_count``
    seeds from ``task.seed``); returns result fields, mean curve, best weights.

    With ``continue_from``, each seed's agent continues from its checkpoint there, earlier curve
    points included, to ``task.budget`` env steps in all; with ``save_to``, the agents are saved
    there at the end (:mod:`.checkpoints`; the ``sb3`` engine)."""
    started, curve = time.monotonic(), list[dict[str, Any]]()
    seeds = list(range(task.seed, task.seed + task.seed_count)) if seeds is None else seeds
    tasks = [dataclasses.replace(task, seed=seed) for seed in seeds]
    seed_runs = SEED_RUNS[task.engine](tasks, build_network, device, log_dir)
    runs = seed_runs.runs
    if continue_from is not None:
        for run in runs:
            if not isinstance(run, SeedRun):
                raise TypeError(f"the {task.engine} engine cannot continue an agent (PBT needs engine: sb3)")
            restore_run(run, continue_from)
    inherited_steps = sum(int(run.agent.num_timesteps) for run in runs)  # trained by earlier trials
    while not all(run.done for run in runs):
        seed_runs.advance()
        for index in range(len(curve), max(len(run.curve.points) for run in runs)):
            # a seed that stopped early contributes its last point
            point = mean_point([run.curve.points[min(index, len(run.curve.points) - 1)] for run in runs], started)
            if point["default"] is not None:  # nothing to plot before the first episode ends
                nni.report_intermediate_result(checked(CurvePoint, point))
            curve.append(point)
    training_seconds = time.monotonic() - started
    for run in runs:
        run.curve.run_logger.close()  # flushes the TensorBoard run

    scores = [run.score() for run in runs]
    values = [score.value for score in scores]
    best = int(np.argmax(values))
    agent_steps = sum(int(run.agent.num_timesteps) for run in runs)
    fields = {
        "default": float(np.mean(values)),
        "score_std": float(np.std(values)),
        "seed_scores": values,
        "seeds": len(runs),
        "mean_return": _mean([score.mean_return for score in scores]),
        "std_return": _mean([score.std_return for score in scores]),
        "eval_episodes": sum(score.episodes for score in scores),
        "solved": all(score.solved for score in scores),
        "solved_seeds": sum(score.solved for score in scores),
        "solved_at": max(score.solved_at for score in scores if score.solved_at is not None)
        if all(score.solved for score in scores)
        else None,
        "score_rule": task.score.rule,
        "env_steps": agent_steps - inherited_steps,  # this trial's cost
        "capped": any(run.curve.capped for run in runs),
        "training_episodes": sum(len(run.curve.episode_returns) for run in runs),
        "wall_clock_s": round(time.monotonic() - started, 2),
        "training_s": round(training_seconds, 2),
        "parameters": trained_parameters(runs[0].agent),
        "saved_seed": runs[best].task.seed,
    }
    logger.info("scores over seeds %s: %s", [run.task.seed for run in runs], values)
    if continue_from is not None:
        fields["agent_env_steps"] = agent_steps  # with the earlier trials'
    if save_to is not None:
        save_runs(runs, save_to)
    return fields, curve, runs[best].agent.policy.state_dict()
