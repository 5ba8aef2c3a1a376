"""One agent's learning curve: report points every ``task.report_every`` env steps.

:class:`LearningCurve` is fed by whichever engine trains the agent: Stable-Baselines3 through
:class:`LearningCurveCallback`, or the batched trainer (:mod:`.batched_dqn`) directly. The trial
publishes the curve to NNI: over several seeds, their mean (:mod:`.seeds`).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger

from .scoring import CURVE_BLOCK, SolveTracker, greedy_returns
from .tensorboard import log_point, seed_logger

logger = logging.getLogger(__name__)


class TrainingDiverged(RuntimeError):
    """The network's weights became NaN/inf: the trial cannot produce a meaningful score."""


def check_finite_weights(policy: torch.nn.Module, env_steps: int) -> None:
    """Fail with the reason when training has driven any weight to NaN/inf."""
    for name, parameter in policy.named_parameters():
        if not torch.isfinite(parameter).all():
            raise TrainingDiverged(
                f"non-finite weights in {name} after {env_steps} env steps "
                "(loss became NaN/inf); fix: lower task.hyperparameters.learning_rate"
            )


def over_time(started: float, limit_seconds: float | None) -> bool:
    return limit_seconds is not None and time.monotonic() - started >= limit_seconds


class LearningCurve:
    """Every ``task.report_every`` env steps, one point of the learning curve.

    A point holds the mean return of the last 100 training episodes and, when
    ``task.eval_episodes`` > 0, the mean greedy return on fixed evaluation seeds; ``default``
    (what NNI plots and assessors read) is the greedy one when measured, since training
    returns carry exploration noise. Each point carries its ``env_steps``.
    At each point the solve tracker may judge the agent solved, and with
    ``score.stop_on_solve`` training ends there. Weights are checked for NaN/inf, so a
    diverged trial fails with that reason instead of training on garbage. Past
    ``task.max_trial_seconds`` training ends with a last report point and ``capped`` is set:
    the trial is scored as it stands, so a costly architecture cannot hold a slot for hours.

    Each point also goes to ``run_logger`` (an SB3 logger: TensorBoard, or memory only).

    ``agent`` below is anything with SB3's ``predict``, ``policy`` and ``num_timesteps``.
    """

    def __init__(self, task, run_logger: Logger | None = None, recent_episodes: int = 100) -> None:
        self.task = task
        self.run_logger = run_logger or seed_logger(None, task.seed)
        self.tracker = SolveTracker(task, eval_env=task.make_env())
        self.recent_episodes = recent_episodes
        self.episode_returns: list[float] = []
        self.points: list[dict[str, Any]] = []
        self.next_report = task.report_every
        self._started = time.monotonic()
        self.capped = False
        self.stopped = False  # solved with stop_on_solve, or capped: no more training

    def after_step(self, agent) -> bool:
        """Report when a report point is due; False when training must end here."""
        if agent.num_timesteps >= self.next_report:
            self.next_report += self.task.report_every
            if self.report(agent) and self.task.score.stop_on_solve:
                self.stopped = True
                return False
        if over_time(self._started, self.task.max_trial_seconds):
            self.capped = self.stopped = True
            logger.warning(
                "trial ran past task.max_trial_seconds=%s at %d env steps; scoring it as it stands",
                self.task.max_trial_seconds,
                agent.num_timesteps,
            )
            return False
        return True

    def finish(self, agent) -> None:
        """The final weights are a report point too, unless the last point already has them."""
        if not self.points or self.points[-1]["env_steps"] != agent.num_timesteps:
            self.report(agent)

    def report(self, agent) -> bool:
        """Report one point; True when the agent counts as solved."""
        check_finite_weights(agent.policy, agent.num_timesteps)
        recent = self.episode_returns[-self.recent_episodes :]
        training_mean = float(np.mean(recent)) if recent else None
        greedy_mean = None
        if self.task.eval_episodes:
            greedy_mean = float(
                greedy_returns(agent, self.tracker.eval_env, self.task.eval_episodes, CURVE_BLOCK).mean()
            )
        solved = self.tracker.update(agent, self.episode_returns, greedy_mean)
        point = {
            "default": greedy_mean if greedy_mean is not None else training_mean,
            "greedy_return": greedy_mean,
            "training_return": training_mean,
            "env_steps": int(agent.num_timesteps),
            "episodes": len(self.episode_returns),
            "solved": solved,
            "wall_clock_s": round(time.monotonic() - self._started, 2),
        }
        self.points.append(point)
        log_point(self.run_logger, point)
        logger.info(
            "seed %d, env steps %d: greedy %s, training %s, solved %s",
            self.task.seed,
            point["env_steps"],
            greedy_mean,
            training_mean,
            solved,
        )
        return solved


class LearningCurveCallback(BaseCallback):
    """Feeds a :class:`LearningCurve` from inside Stable-Baselines3's training loop.

    Training may come in several ``learn`` calls (the seeds of a trial take turns between
    report points); the exploration and learning-rate schedules still span ``task.budget``.
    """

    def __init__(self, curve: LearningCurve) -> None:
        super().__init__()
        self.curve = curve

    def _on_training_start(self) -> None:
        self.model._total_timesteps = self.curve.task.budget  # SB3 set it to this learn call's end

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            if "episode" in info:
                self.curve.episode_returns.append(float(info["episode"]["r"]))
        return self.curve.after_step(self.model)
