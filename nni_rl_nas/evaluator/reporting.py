"""The trial's learning curve, reported to NNI from inside Stable-Baselines3's training loop."""

from __future__ import annotations

import logging
import math
import time

import nni
import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback

logger = logging.getLogger(__name__)


class TrainingDiverged(RuntimeError):
    """The network's weights became NaN/inf: the trial cannot produce a meaningful score."""


class NNIReportCallback(BaseCallback):
    """Every ``report_every`` env steps, report the mean return of the recent training episodes.

    NNI plots intermediate results against their order, so each report also carries
    ``env_steps``; assessors (early stopping) read ``default``. All training-episode returns
    are kept for score rules that judge convergence on training episodes. The weights are
    checked for NaN/inf at each report so a diverged trial fails with that reason instead of
    training on garbage.
    """

    def __init__(self, report_every: int, recent_episodes: int = 100) -> None:
        super().__init__()
        self.report_every = report_every
        self.recent_episodes = recent_episodes
        self.episode_returns: list[float] = []
        self.curve: list[dict[str, float]] = []
        self._next_report = report_every
        self._started = time.monotonic()

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            if "episode" in info:
                self.episode_returns.append(float(info["episode"]["r"]))
        if self.num_timesteps >= self._next_report:
            self._next_report += self.report_every
            self.report()
        return True

    def report(self) -> None:
        self._check_finite()
        recent = self.episode_returns[-self.recent_episodes:]
        point = {
            "default": float(np.mean(recent)) if recent else math.nan,
            "env_steps": int(self.num_timesteps),
            "episodes": len(self.episode_returns),
            "wall_clock_s": round(time.monotonic() - self._started, 2),
        }
        if recent:  # NNI's web UI cannot plot NaN; an episode-less report is logged only
            nni.report_intermediate_result(point)
        self.curve.append(point)
        logger.info("env steps %d: mean return of last %d episodes %.2f", point["env_steps"], len(recent),
                    point["default"])

    def _check_finite(self) -> None:
        for name, parameter in self.model.policy.named_parameters():
            if not torch.isfinite(parameter).all():
                raise TrainingDiverged(f"non-finite weights in {name} after {self.num_timesteps} env steps "
                                       "(loss became NaN/inf); fix: lower task.hyperparameters.learning_rate")
