"""How a config option is declared, once: a dataclass field with its type, its default and its help.

Every section of ``tuner.classArgs`` (the strategies' options, ``task``, ``task.score``,
``task.preprocess``, each space family's) declares its options with :func:`option`, so that parsing, validation,
``nni-rl-nas strategies`` and the docs' generated config reference (:mod:`nni_rl_nas.reference`)
all read the same declaration: adding an option is adding one field. Bottom floor: plain
dataclasses only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import MISSING, field, fields
from typing import Any

HELP, NOT_CONFIG = "help", "not_config"


def option(default: Any = MISSING, help: str = "") -> Any:
    """One option: its default (a value; a dataclass, ``dict`` or ``list`` for a section or a fresh
    empty container; none: the config must give it) and the help the reference prints."""
    if dataclasses.is_dataclass(default) or default in (dict, list):
        return field(default_factory=default, metadata={HELP: help})
    return field(default=default, metadata={HELP: help})


def set_by_the_parser(factory: Any) -> Any:
    """A field the parser fills, which no config gives (left out of the reference)."""
    return field(default_factory=factory, metadata={NOT_CONFIG: True})


def is_section(option_field: dataclasses.Field) -> bool:
    return dataclasses.is_dataclass(option_field.default_factory)


def declared_options(section: Any, prefix: str = "") -> Iterator[tuple[str, dataclasses.Field]]:
    """Each option of ``section`` as (dotted name, field), nested sections expanded after their own row."""
    for option_field in fields(section):
        if option_field.metadata.get(NOT_CONFIG):
            continue
        name = f"{prefix}{option_field.name}"
        yield name, option_field
        if is_section(option_field):
            yield from declared_options(option_field.default_factory, f"{name}.")


def default_of(option_field: dataclasses.Field) -> Any:
    """The option's default as a config writes it (MISSING: required): a list where the declaration
    keeps a tuple (a frozen default)."""
    if option_field.default is not MISSING:
        return list(option_field.default) if isinstance(option_field.default, tuple) else option_field.default
    if option_field.default_factory is not MISSING and not is_section(option_field):
        return option_field.default_factory()
    return MISSING


def describe_options(section: type, prefix: str = "") -> list[str]:
    """One line per option of ``section`` (nested sections expanded): name, default, help."""
    lines = []
    for name, option_field in declared_options(section, prefix):
        help_text, default = option_field.metadata.get(HELP, ""), default_of(option_field)
        if is_section(option_field):
            lines.append(f"{name}: {help_text}")
        elif default is MISSING:
            lines.append(f"{name} (required): {help_text}")
        else:
            lines.append(f"{name} (default {default!r}): {help_text}")
    return lines
