"""DARTS (RL-DARTS) over an image-encoder space, in two phases that the NNI web UI shows as
trials (:mod:`.two_phase`).

A search trial trains an agent whose encoder is the DARTS supernet with the agent's own RL loss,
the architecture weights and the network weights updated in turns, then discretises it
(:mod:`nni_rl_nas.evaluator.darts_search`); its intermediate results are the supernet agent's
return and the architecture weights' entropy. Each search derives one genotype; retrain trials
train each derived genotype from scratch over the task's seeds (3 by default for the shipped
configs). Compare with ``RlNasRandom`` over the same space at equal env steps.
"""

from __future__ import annotations

from pathlib import Path

from ..config import ConfigError
from ..evaluator.darts_search import DARTS_SEARCH_NAME, SEARCHED_ENCODER, DartsSettings, run_darts_search
from .two_phase import TwoPhaseStrategy


class DartsStrategy(TwoPhaseStrategy):
    nni_name = "RlNasDarts"
    search_name = DARTS_SEARCH_NAME

    def __init__(self, space=None, task=None, seed: int = 0, searches: int = 1,
                 arch_learning_rate: float = DartsSettings.arch_learning_rate,
                 arch_weight_decay: float = DartsSettings.arch_weight_decay, search_timesteps: int | None = None,
                 search_max_seconds: float | None = None,
                 search_eval_episodes: int = DartsSettings.search_eval_episodes, budget: dict | None = None) -> None:
        super().__init__(space, task, seed, searches, 1, budget)
        if self.spec.space.family != "darts":
            raise ConfigError(f"space.family: RlNasDarts searches DARTS cells, got {self.spec.space.family!r}; fix: "
                              "family darts, or RlNasRandom / RlNasGrid / RlNasPolicyGradient for this space")
        if self.spec.task.algorithm not in SEARCHED_ENCODER:
            raise ConfigError(f"task.algorithm: RlNasDarts trains the supernet with {sorted(SEARCHED_ENCODER)}, got "
                              f"{self.spec.task.algorithm!r}; fix: algorithm ppo or dqn for the search")
        self.settings = DartsSettings.from_strategy_options({
            "seed": seed, "searches": searches, "arch_learning_rate": arch_learning_rate,
            "arch_weight_decay": arch_weight_decay, "search_timesteps": search_timesteps,
            "search_max_seconds": search_max_seconds, "search_eval_episodes": search_eval_episodes})

    @classmethod
    def run_search_trial(cls, experiment, space, search_seed: int, output_dir: Path, device: str) -> dict:
        settings = DartsSettings.from_strategy_options({**experiment.spec.strategy_options, "seed": search_seed})
        return run_darts_search(experiment.spec.task, space, experiment.spec.build_space, settings, output_dir, device)
