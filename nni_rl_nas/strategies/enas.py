"""ENAS with real weight sharing, in two phases that the NNI web UI shows as trials
(:mod:`.two_phase`).

A search trial trains one supernet and one controller
(:mod:`nni_rl_nas.evaluator.shared_weights`); its intermediate results are the controller's
progress: mean sampled-child return, controller entropy. It ranks ``top_k x searches``
architectures, most likely first, so that stand-ins exist when searches overlap and NNI reaches
``maxTrialNumber``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..config import ConfigError
from ..evaluator.shared_weights import SEARCH_NAME, SearchSettings, run_search
from .two_phase import TwoPhaseStrategy

logger = logging.getLogger(__name__)


class ENAS(TwoPhaseStrategy):
    nni_name = "RlNasEnas"
    search_name = SEARCH_NAME

    def __init__(self, space=None, task=None, seed: int = 0, controller: dict | None = None,
                 child_steps: int = SearchSettings.child_steps, search_eval_episodes: int = SearchSettings.search_eval_episodes,
                 top_k: int = SearchSettings.top_k, search_timesteps: int | None = None,
                 search_max_seconds: float | None = None, searches: int = 1, budget: dict | None = None) -> None:
        super().__init__(space, task, seed, searches, top_k, budget)
        if self.spec.task.algorithm != "dqn" or self.space.part != "dense":
            raise ConfigError(f"tuner.name: RlNasEnas shares the weights of DQN Q-networks of the mlp space, got "
                              f"{self.spec.task.algorithm!r} with space family {self.spec.space.family!r}; fix: "
                              "RlNasDarts for image encoders, RlNasRandom/RlNasGrid/RlNasPolicyGradient otherwise")
        self.settings = SearchSettings.from_strategy_options({
            "seed": seed, "controller": controller, "child_steps": child_steps,
            "search_eval_episodes": search_eval_episodes, "top_k": top_k, "search_timesteps": search_timesteps,
            "search_max_seconds": search_max_seconds, "searches": searches})

    @classmethod
    def run_search_trial(cls, experiment, space, search_seed: int, output_dir: Path, device: str) -> dict:
        settings = SearchSettings.from_strategy_options({**experiment.spec.strategy_options, "seed": search_seed})
        return run_search(experiment.spec.task, space, experiment.spec.build_space, settings, output_dir, device)
