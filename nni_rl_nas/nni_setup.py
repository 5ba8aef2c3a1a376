"""``nni-rl-nas setup``: fix the installed NNI 3.0 (:mod:`nni_rl_nas.nni_patches`) and register our
tuners and advisors (Hyperband, BOHB), each with its validator, under their short names for
``tuner: {name: ...}`` in this Python environment (NNI 3.0 has no entry-point discovery, so
registration is per environment)."""

from __future__ import annotations

from nni.tools.package_utils import register_algo_meta
from nni.tools.package_utils.common import AlgoMeta

from .advisor import ADVISORS
from .nni_patches import NNI_FIXES, SourcePatch
from .options import TUNER_MODULE
from .tuner import TUNERS
from .validator import validator_name


def apply_fixes() -> list[tuple[SourcePatch, bool]]:
    """Each fix, and whether this call applied it (False: it was already in)."""
    return [(fix, fix.apply()) for fix in NNI_FIXES]


def registered_classes() -> dict[str, str]:
    """Each strategy's short name and the class NNI builds for it: our tuner, or our advisor."""
    return {
        **{name: f"{TUNER_MODULE}.{name}" for name in TUNERS},
        **{name: f"{advisor.__module__}.{advisor.__name__}" for name, advisor in ADVISORS.items()},
    }


def register_strategies() -> list[str]:
    """Register every strategy's tuner (or advisor) and validator under the strategy's short name."""
    classes = registered_classes()
    for name, class_name in classes.items():
        register_algo_meta(
            AlgoMeta(
                name=name,
                alias=None,
                class_name=class_name,
                accept_class_args=True,
                class_args=None,
                validator_class_name=f"nni_rl_nas.validator.{validator_name(name)}",
                algo_type="tuner",
                is_advisor=name in ADVISORS,
                is_builtin=False,
                nni_version="3.0",
            )
        )
    return list(classes)
