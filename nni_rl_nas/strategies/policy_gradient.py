"""Policy-gradient search: a REINFORCE-trained controller proposes, each proposal is a full trial.

The multi-trial way of Zoph & Le and of the ENAS-on-LunarLander project: every sampled
architecture trains from scratch in its own NNI trial, and its score trains the controller.
NNI asks for a new proposal whenever a trial slot frees up, so ``trialConcurrency`` trials stay
busy, and scores are learnt from in whatever order trials finish.

An architecture that already has a score is not trained again. When the controller samples one,
its known score (over every seed it has run, :meth:`~.base.SearchStrategy.known_objective`)
goes to the controller as a sample and another is drawn. The search ends when
``max_draws`` draws in a row find only known architectures: the controller has converged.
"""

from __future__ import annotations

import logging

import torch

from ..controller import TOP_SHOWN, Reinforce, architecture_of, build_controller, decisions_of, most_likely
from ..options import PolicyGradientOptions
from ..search_space import Point
from .base import SearchStrategy, TrialRecord

logger = logging.getLogger(__name__)


class PolicyGradientStrategy(SearchStrategy):
    options_class = PolicyGradientOptions
    options: PolicyGradientOptions

    def __init__(self, space=None, task=None, **options) -> None:
        super().__init__(space, task, **options)
        settings = self.options.controller
        torch.manual_seed(self.options.seed)
        self.generator = torch.Generator().manual_seed(self.options.seed)
        self.controller = build_controller([len(values) for values in self.choices.values()], settings)
        self.reinforce = Reinforce(self.controller, settings)
        self.failure_score = self.options.failure_score
        self.max_draws = self.options.max_draws
        self.failed_scores: dict[str, float] = {}  # failure_score, for architectures whose trial failed

    def propose(self, trial_id: int) -> Point | None:
        for _ in range(self.max_draws):
            decisions = self.controller.sample(self.generator)
            architecture = architecture_of(self.choices, decisions)
            name = self.name_of(architecture)
            known = self.known_objective(architecture)
            known = self.failed_scores.get(name) if known is None else known
            if known is not None:
                self.reinforce.observe(decisions, known)
                continue
            if name in self.running_names():
                continue
            return architecture
        logger.info("controller converged: %d draws in a row found only known architectures", self.max_draws)
        return None

    def observe(self, record: TrialRecord) -> None:
        if self.reinforce.observe(decisions_of(self.choices, record.architecture), self.objective(record)):
            logger.info("controller updated; baseline %.4f", self.reinforce.baseline or 0.0)
            self.record_progress()

    def record_progress(self) -> None:
        """The probabilities of the controller's top architectures now, against the trials finished."""
        top = most_likely(self.controller, self.choices, TOP_SHOWN, torch.Generator().manual_seed(0))
        self.controller_progress.append(
            {"trials": len(self.history), "top_probabilities": {self.name_of(a): p for a, p in top}}
        )

    def observe_failure(self, record: TrialRecord) -> None:
        if self.failure_score is not None:
            self.failed_scores[record.name] = self.failure_score
            self.reinforce.observe(decisions_of(self.choices, record.architecture), self.failure_score)

    def state_dict(self) -> dict:
        return {
            **super().state_dict(),
            "reinforce": self.reinforce.state_dict(),
            "failed_scores": self.failed_scores,
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.reinforce.load_state_dict(state["reinforce"])
        self.failed_scores = dict(state["failed_scores"])
        self.generator.set_state(state["generator"])
