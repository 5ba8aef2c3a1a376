"""The bottom floor: the config error every layer raises, and the checks that word it.

Every message names the field, the bad value and the fix, so a user who mistyped one option
reads what to change rather than a traceback. This module imports nothing from the package.
"""

from __future__ import annotations

import difflib
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
            raise ConfigError(f"{where}: unknown key {key!r}; {did_you_mean(str(key), allowed)}fix: use one of {allowed}")


def parse_section(cls, data: Any, where: str, exclude: tuple[str, ...] = ()):
    """Build dataclass ``cls`` from a config mapping, refusing keys it does not have (or that the
    config may not set: ``exclude``)."""
    allowed = [f.name for f in fields(cls) if f.name not in exclude]
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: got {data!r}; fix: a mapping of {allowed}")
    refuse_unknown_keys(data, allowed, where)
    return cls(**data)


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


def check_positive_number(value: Any, where: str, none_means: str | None = None) -> None:
    """A number > 0; ``None`` too when ``none_means`` says what it stands for."""
    if value is None and none_means:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        alternative = f", or null for {none_means}" if none_means else ""
        raise ConfigError(f"{where}: got {value!r}; fix: a number > 0{alternative}")


def check_non_negative_number(value: Any, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"{where}: got {value!r}; fix: a number >= 0")
