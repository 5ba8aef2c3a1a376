"""The bottom floor: the config error every layer raises, and the checks that word it.

Every message names the field, the bad value and the fix, so a user who mistyped one option
reads what to change rather than a traceback. This module imports nothing from the package.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import fields
from typing import Any


class ConfigError(ValueError):
    """A bad experiment option. The message names the field, the bad value and the fix."""


def did_you_mean(word: str, known: list[str]) -> str:
    """``"did you mean 'x'? "`` when ``word`` looks like a typo of a known one, else ``""``."""
    close = difflib.get_close_matches(word, known, n=1)
    return f"did you mean {close[0]!r}? " if close else ""


def refuse_unknown_keys(given: dict[str, Any], allowed: list[str], where: str) -> None:
    for key in given:
        if key not in allowed:
            raise ConfigError(
                f"{where}: unknown key {key!r}; {did_you_mean(str(key), allowed)}fix: use one of {allowed}"
            )


def parse_section(cls, data: Any, where: str, exclude: tuple[str, ...] = ()):
    """Build dataclass ``cls`` from a config mapping, refusing keys it does not have (or that the
    config may not set: ``exclude``)."""
    allowed = [f.name for f in fields(cls) if f.name not in exclude]
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: got {data!r}; fix: a mapping of {allowed}")
    refuse_unknown_keys(data, allowed, where)
    return cls(**data)


def lookup(table: dict[str, Any], name: Any, where: str) -> Any:
    """The entry ``name`` of ``table``; anything else (a typo, a number, a list) is refused with the names."""
    if not isinstance(name, str) or name not in table:
        raise ConfigError(f"{where}: got {name!r}; {did_you_mean(str(name), list(table))}fix: one of {list(table)}")
    return table[name]


def check_choice(value: Any, allowed: tuple[str, ...], where: str) -> None:
    if value not in allowed:
        raise ConfigError(f"{where}: got {value!r}; fix: one of {list(allowed)}")


def check_positive_int(value: Any, where: str, none_means: str | None = None) -> None:
    """A whole number >= 1; ``None`` too when ``none_means`` says what it stands for."""
    if value is None and none_means:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        alternative = f", or null for {none_means}" if none_means else ""
        raise ConfigError(f"{where}: got {value!r}; fix: a whole number >= 1{alternative}")


def check_non_negative_int(value: Any, where: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"{where}: got {value!r}; fix: a whole number >= 0")


def is_number(value: Any) -> bool:
    """A finite int or float (YAML's .nan and .inf are floats, and no option means them)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_positive_number(value: Any, where: str, none_means: str | None = None) -> None:
    """A finite number > 0; ``None`` too when ``none_means`` says what it stands for."""
    if value is None and none_means:
        return
    if not is_number(value) or value <= 0:
        alternative = f", or null for {none_means}" if none_means else ""
        raise ConfigError(f"{where}: got {value!r}; fix: a number > 0{alternative}")


def check_non_negative_number(value: Any, where: str) -> None:
    if not is_number(value) or value < 0:
        raise ConfigError(f"{where}: got {value!r}; fix: a number >= 0")


def check_fraction(value: Any, where: str, zero_allowed: bool = True) -> None:
    """A number in [0, 1], or in (0, 1] when zero is not allowed (a discount, a soft-update rate)."""
    if not is_number(value) or value > 1 or value < 0 or (value == 0 and not zero_allowed):
        interval = "[0, 1]" if zero_allowed else "(0, 1]"
        raise ConfigError(f"{where}: got {value!r}; fix: a number in {interval}")


def check_bool(value: Any, where: str) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: got {value!r}; fix: true or false")


def check_device(value: Any, where: str) -> None:
    if not (isinstance(value, str) and re.fullmatch(r"auto|cpu|cuda(:\d+)?", value)):
        raise ConfigError(
            f"{where}: got {value!r}; fix: auto (cuda when NNI assigns the trial a GPU, else cpu), cpu, cuda or cuda:N"
        )
