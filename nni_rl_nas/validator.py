"""NNI ``ClassArgsValidator``s for our tuners, so that ``nnictl create`` refuses a bad config.

``nni-rl-nas setup`` registers one per strategy and fixes NNI 3.0 to call it at ``nnictl create``
(:mod:`nni_rl_nas.nni_patches`) with the config file, before any process starts: the same
complete validation as ``nni-rl-nas validate`` (:func:`nni_rl_nas.experiment.load_experiment`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

from nni import ClassArgsValidator

from .experiment import load_experiment, parse_class_args
from .options import STRATEGY_OPTIONS

logger = logging.getLogger(__name__)


class ExperimentValidator(ClassArgsValidator):
    strategy: ClassVar[str]

    def validate_class_args(self, **class_args: Any) -> None:
        parse_class_args(class_args, self.strategy)

    def validate_experiment_file(self, path: str | Path) -> None:
        for warning in load_experiment(path).warnings:  # nnictl prints them before the experiment starts
            logger.warning("%s: %s", path, warning)


def validator_name(strategy: str) -> str:
    return f"{strategy}Validator"


# One validator class per strategy, named <strategy>Validator, as NNI's registry names a class.
globals().update(
    {
        validator_name(name): type(
            validator_name(name), (ExperimentValidator,), {"strategy": name, "__module__": __name__}
        )
        for name in STRATEGY_OPTIONS
    }
)
