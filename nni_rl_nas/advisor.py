"""NNI's Hyperband over this project's search spaces, its budgets in env steps:
``tuner: {name: RlNasHyperband, classArgs: {R: 9, eta: 3, space: ..., task: ...}}``.

NNI runs Hyperband as an *advisor*: it owns the dispatcher and proposes every trial itself,
drawing configurations from the experiment's ``searchSpace`` (which mirrors ``space`` and
``search_hyperparameters``) and adding ``TRIAL_BUDGET``, from 1 to ``R``. The class below is NNI's
own Hyperband; it only reads this project's classArgs (checked as ``nni-rl-nas validate`` checks
them), seeds Hyperband's draws with ``seed``, and refuses a ``searchSpace`` that disagrees with
the space. Each trial maps its budget r to ``ceil(r / R x total_timesteps)`` env steps per agent
(:meth:`nni_rl_nas.options.HyperbandOptions.env_steps`) and reports it as its ``fidelity``, r / R.

What Hyperband promotes to the next round runs as a new trial with the same configuration and a
larger budget, and trains from scratch: NNI's protocol gives that trial no checkpoint folder, and
its parameter id names the configuration only by Hyperband's internal numbering.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from nni.algorithms.hpo.hyperband_advisor import Hyperband

from .experiment import check_search_space, parse_class_args
from .nni_patches import NNIInstallationError, require_nni_fixes
from .options import HyperbandOptions
from .tuner import StrategyStartError

logger = logging.getLogger(__name__)


class RlNasHyperband(Hyperband):
    """NNI's Hyperband advisor, reading this project's classArgs (registered as RlNasHyperband)."""

    def __init__(self, **class_args: Any) -> None:
        try:
            require_nni_fixes()
        except NNIInstallationError as error:  # an unfixed NNI shows only "Tuner did not connect": log why
            logger.error("%s", error)
            raise
        self.start_error: StrategyStartError | None = None
        try:
            self.spec = parse_class_args(class_args, HyperbandOptions.strategy)
            options = self.spec.strategy_options
        except Exception as error:  # reported at the first command, where NNI can show it (as tuner.py does)
            reason = f"{type(error).__name__}: {error}".replace("\n", " ")
            logger.error("%s cannot start: %s", HyperbandOptions.strategy, reason)
            self.start_error, options = StrategyStartError(reason), HyperbandOptions()
        super().__init__(optimize_mode="maximize", R=options.R, eta=options.eta, exec_mode=options.exec_mode)
        self.seed = options.seed

    def handle_update_search_space(self, data: dict[str, Any]) -> None:
        if self.start_error is not None:
            raise self.start_error
        try:
            check_search_space(data, self.spec.meta_search_space)
        except ValueError as error:
            raise StrategyStartError(f"{type(error).__name__}: {error}".replace("\n", " ")) from None
        # Hyperband draws from what it is given: the space itself, also when the config's searchSpace is {}
        super().handle_update_search_space(self.spec.meta_search_space.nni_search_space())
        self.random_state = np.random.RandomState(self.seed)  # NNI's draws an unseeded one


    def is_created_in_previous_exp(self, param_id: Any) -> bool:
        """NNI 3.0 compares Hyperband's string ids ('0_1_3') with an int here and fails at the first
        result (microsoft/nni#5263). Hyperband does not restore its brackets on a resume, so it
        created none of the ids it sees in an earlier run."""
        return False if isinstance(param_id, str) else super().is_created_in_previous_exp(param_id)


ADVISORS = {HyperbandOptions.strategy: RlNasHyperband}
