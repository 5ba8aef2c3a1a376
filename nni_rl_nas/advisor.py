"""NNI's Hyperband and BOHB over this project's search spaces, their budgets in env steps:
``tuner: {name: RlNasHyperband, classArgs: {R: 9, eta: 3, space: ..., task: ...}}``, or
``RlNasBohb`` with ``min_budget``, ``max_budget`` and ``eta``.

NNI runs both as *advisors*: an advisor owns the dispatcher and proposes every trial itself,
drawing configurations from the experiment's ``searchSpace`` (which mirrors ``space`` and
``search_hyperparameters``) and adding ``TRIAL_BUDGET``. Each class below is NNI's own advisor;
:class:`SpaceAdvisor` only reads this project's classArgs (checked as ``nni-rl-nas validate``
checks them), seeds the advisor's draws with ``seed``, and refuses a ``searchSpace`` that
disagrees with the space. Each trial maps its budget b to ``ceil(b / largest budget x
total_timesteps)`` env steps per agent (:meth:`nni_rl_nas.options.AdvisorOptions.env_steps`) and
reports the fraction as its ``fidelity``.

What an advisor promotes to the next round runs as a new trial with the same configuration and a
larger budget. Its parameter id, ``<bracket>_<round>_<number>``, keeps the configuration's bracket
and number across rounds, so each trial is given checkpoint folders as PBT's trials are
(``save_checkpoint_dir``: ``<NNI's checkpoint folder>/configs/<bracket>_<number>/<round>``, and
``load_checkpoint_dir``: the round before's): a promoted configuration continues the agent its
previous round saved, to its new budget, instead of starting over. Outside NNI (no checkpoint
folder) trials start over.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from nni.algorithms.hpo.bohb_advisor.bohb_advisor import BOHB
from nni.algorithms.hpo.hyperband_advisor import Hyperband

from .experiment import check_search_space, parse_class_args
from .options import LOAD_CHECKPOINT_KEY, SAVE_CHECKPOINT_KEY, AdvisorOptions, BohbOptions, HyperbandOptions
from .tuner import StrategyStartError, require_fixes_at_start, start_error

# NNI's advisors by our short name, filled as the subclasses of SpaceAdvisor are defined
ADVISORS: dict[str, type[SpaceAdvisor]] = {}


if TYPE_CHECKING:  # to the type checker, the mixin is the NNI advisor it precedes in each subclass's bases
    from nni.runtime.msg_dispatcher_base import MsgDispatcherBase as NniAdvisor
else:
    NniAdvisor = object


class SpaceAdvisor(NniAdvisor):
    """Reads this project's classArgs for the NNI advisor that follows it in the class's bases."""

    options_class: ClassVar[type[AdvisorOptions]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        ADVISORS[cls.options_class.strategy] = cls

    def __init__(self, **class_args: Any) -> None:
        require_fixes_at_start()
        self.start_error: StrategyStartError | None = None
        try:
            self.spec = parse_class_args(class_args, self.options_class.strategy)
            options = self.spec.options_as(self.options_class)
        except Exception as error:  # raised at the first command, as a tuner's is (tuner.py)
            self.start_error, options = start_error(self.options_class.strategy, error), self.options_class()
        super().__init__(optimize_mode="maximize", **options.advisor_args())
        self.seed = options.seed

    def handle_update_search_space(self, data: dict[str, Any]) -> None:
        if self.start_error is not None:
            raise self.start_error
        try:
            check_search_space(data, self.spec.meta_search_space)
        except ValueError as error:
            raise StrategyStartError.of(error) from None
        # the advisor draws from what it is given: the space itself, also when the config's searchSpace is {}
        super().handle_update_search_space(self.spec.meta_search_space.nni_search_space())
        self.seed_draws()

    def seed_draws(self) -> None:
        """Seed the advisor's random draws with ``seed`` (NNI's are unseeded)."""
        raise NotImplementedError

    def _get_one_trial_job(self) -> dict[str, Any] | None:
        """The advisor's next trial, with its checkpoint folders (module docstring)."""
        job = super()._get_one_trial_job()
        root = os.environ.get("NNI_CHECKPOINT_DIRECTORY")
        if job is None or root is None or not isinstance(job.get("parameters"), dict):
            return job
        bracket, round_, number = str(job["parameter_id"]).split("_")
        configuration = Path(root) / "configs" / f"{bracket}_{number}"
        folders = {
            SAVE_CHECKPOINT_KEY: str(configuration / round_),
            LOAD_CHECKPOINT_KEY: str(configuration / str(max(int(round_) - 1, 0))),
        }
        return {**job, "parameters": {**job["parameters"], **folders}}  # the advisor's own record stays as it was

    def is_created_in_previous_exp(self, param_id: Any) -> bool:
        """NNI 3.0 compares these advisors' string ids ('0_1_3') with an int here and fails at the
        first result (microsoft/nni#5263). Neither restores its brackets on a resume, so neither
        created any of the ids it sees in an earlier run."""
        return False if isinstance(param_id, str) else super().is_created_in_previous_exp(param_id)


class RlNasHyperband(SpaceAdvisor, Hyperband):
    """NNI's Hyperband advisor, reading this project's classArgs (registered as RlNasHyperband)."""

    options_class = HyperbandOptions

    def seed_draws(self) -> None:
        self.random_state = np.random.RandomState(self.seed)


class RlNasBohb(SpaceAdvisor, BOHB):
    """NNI's BOHB advisor, reading this project's classArgs (registered as RlNasBohb)."""

    options_class = BohbOptions

    def seed_draws(self) -> None:
        # BOHB draws its random configurations from ConfigSpace and its model's from numpy's global
        # generator, which is this advisor's alone: NNI runs it in a process of its own
        self.search_space.seed(self.seed)
        np.random.seed(self.seed)
