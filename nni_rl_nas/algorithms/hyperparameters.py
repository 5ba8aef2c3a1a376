"""The values a config may give an agent's constructor arguments (``task.hyperparameters``).

SB3 checks few of them and only when the agent is built, inside a trial: a ``batch_size`` of
"64" or 0 passed validation, then failed every trial with a traceback. Each argument a config
may set has its rule here, checked at validation with the field, the value and the fix. The
arguments that take Python objects (buffer classes, a TensorBoard folder) cannot come from a
YAML file and are refused. A test checks that every argument of every registered algorithm has
a rule, so a new algorithm cannot bring an unchecked one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..errors import (
    ConfigError,
    check_fraction,
    check_non_negative_int,
    check_non_negative_number,
    check_positive_int,
    check_positive_number,
    is_number,
)

Rule = Callable[[Any, str], None]


def _boolean(value: Any, where: str) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: got {value!r}; fix: true or false")


def _optional(rule: Rule) -> Rule:
    """``rule``, or null (SB3's default for the argument: off)."""

    def check(value: Any, where: str) -> None:
        if value is not None:
            rule(value, where)

    return check


def _train_freq(value: Any, where: str) -> None:
    """SB3's ``train_freq``: every N steps, or [N, "step"|"episode"]."""
    if isinstance(value, list) and len(value) == 2 and value[1] in ("step", "episode"):
        value = value[0]
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{where}: got {value!r}; fix: a whole number >= 1, or [N, step] / [N, episode]")


def _positive_or_minus_one(value: Any, where: str) -> None:
    """A whole number >= 1, or SB3's -1 (``gradient_steps``: as many as env steps were collected;
    ``sde_sample_freq``: new gSDE noise only at the start of a rollout)."""
    if value != -1:
        check_positive_int(value, where)


def _entropy(value: Any, where: str) -> None:
    """A fixed coefficient >= 0, or SAC's learned one: "auto" or "auto_<initial value>"."""
    if isinstance(value, str) and (value == "auto" or (value.startswith("auto_") and _is_positive(value[5:]))):
        return
    if not is_number(value) or value < 0:
        raise ConfigError(f"{where}: got {value!r}; fix: a number >= 0, or auto (SAC: auto_0.1 to start at 0.1)")


def _is_positive(text: str) -> bool:
    try:
        return float(text) > 0
    except ValueError:
        return False


def _target_entropy(value: Any, where: str) -> None:
    if value != "auto" and not is_number(value):
        raise ConfigError(f"{where}: got {value!r}; fix: auto, or a number (SAC's entropy target)")


def _not_from_yaml(value: Any, where: str) -> None:
    raise ConfigError(f"{where}: takes a Python object, which a YAML config cannot give; fix: remove it")


RULES: dict[str, Rule] = {
    "learning_rate": check_positive_number,
    "batch_size": check_positive_int,
    "buffer_size": check_positive_int,
    "learning_starts": check_non_negative_int,
    "gamma": lambda value, where: check_fraction(value, where, zero_allowed=False),
    "tau": lambda value, where: check_fraction(value, where, zero_allowed=False),
    "train_freq": _train_freq,
    "gradient_steps": _positive_or_minus_one,
    "target_update_interval": check_positive_int,
    "exploration_fraction": check_fraction,
    "exploration_initial_eps": check_fraction,
    "exploration_final_eps": check_fraction,
    "max_grad_norm": _optional(check_positive_number),
    "n_steps": check_positive_int,
    "n_epochs": check_positive_int,
    "gae_lambda": check_fraction,
    "clip_range": check_positive_number,
    "clip_range_vf": _optional(check_positive_number),
    "ent_coef": _entropy,
    "vf_coef": check_non_negative_number,
    "target_kl": _optional(check_positive_number),
    "normalize_advantage": _boolean,
    "optimize_memory_usage": _boolean,
    "use_sde": _boolean,
    "use_sde_at_warmup": _boolean,
    "sde_sample_freq": _positive_or_minus_one,
    "policy_delay": check_positive_int,
    "target_policy_noise": check_non_negative_number,
    "target_noise_clip": check_non_negative_number,
    "target_entropy": _target_entropy,
    "stats_window_size": check_positive_int,
    "action_noise": _optional(check_non_negative_number),  # the std of Gaussian action noise (agents.py)
    "n_quantiles": check_positive_int,
    "replay_buffer_class": _not_from_yaml,
    "replay_buffer_kwargs": _not_from_yaml,
    "rollout_buffer_class": _not_from_yaml,
    "rollout_buffer_kwargs": _not_from_yaml,
    "tensorboard_log": _not_from_yaml,
}


def check_value(name: str, value: Any) -> None:
    """Refuse a value of ``task.hyperparameters.<name>`` that the agent cannot take."""
    RULES[name](value, f"task.hyperparameters.{name}")


def agent_value(name: str, value: Any) -> Any:
    """``value`` as the agent takes it: NNI's ``quniform`` and ``qloguniform`` give floats (64.0),
    which an argument that takes whole numbers (``batch_size``) gets as the whole number."""
    if isinstance(value, float) and value.is_integer():
        try:
            check_value(name, value)
        except ConfigError:
            return int(value)
    return value


# NNI's search space types a searched hyperparameter may take: the bounded ones, whose every value
# can be checked against what the algorithm accepts (NNI's normal types have no bounds)
SEARCHED_TYPES = ("choice", "randint", "uniform", "quniform", "loguniform", "qloguniform")


def values_to_check(spec: dict[str, Any]) -> list[Any]:
    """Values that NNI's ``spec`` (already in NNI's format) gives and that stand for all it can give:
    every choice; a range's two ends; a q-range's first two grid points; and one value inside a
    continuous range, which is not a whole number (what a tuner proposes there)."""
    kind, args = spec["_type"], spec["_value"]
    if kind == "choice":
        return list(args)
    if kind == "randint":
        return [args[0], args[1] - 1]
    low, high = args[0], args[1]
    if kind.startswith("q"):
        first = min(max(round(low / args[2]) * args[2], low), high)
        return [low, first, min(first + args[2], high), high]
    inside = (
        math.exp(math.log(low) + 0.382 * (math.log(high) - math.log(low)))
        if kind == "loguniform"
        else low + 0.382 * (high - low)
    )
    return [low, inside, high]


def check_searched_value(name: str, spec: dict[str, Any], where: str) -> None:
    """Refuse a searched range of ``name`` that gives a value the agent cannot take."""
    for value in values_to_check(spec):
        try:
            check_value(name, agent_value(name, value))
        except ConfigError as error:
            whole = ", e.g. randint, quniform with a whole q, or choice" if _takes_whole(name, value) else ""
            raise ConfigError(
                f"{where}: {spec['_type']} {spec['_value']} gives {value!r}, which {name} does not "
                f"take ({error}); fix: a range of values {name} takes{whole}"
            ) from None


def _takes_whole(name: str, value: Any) -> bool:
    """Whether ``name`` refuses the fraction ``value`` for being one: it takes the whole numbers on both sides."""
    if not isinstance(value, float):
        return False
    try:
        check_value(name, math.floor(value))
        check_value(name, math.ceil(value))
    except ConfigError:
        return False
    return True
