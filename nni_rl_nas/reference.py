"""The docs' references, generated from the code's declarations so that they cannot drift from it:
every option of ``tuner.classArgs`` with its type, default and help (:mod:`nni_rl_nas.declarations`),
and every key of the messages a trial reports (:mod:`nni_rl_nas.messages`). The docs build
(``docs/hooks/reference.py``) writes them into ``docs/reference/config.md`` and
``docs/reference/trial-results.md``; ``tests/test_docs.py`` checks that the built pages hold
every declared option and key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from .declarations import HELP, declared_options, default_of, is_section
from .messages import MESSAGES, declared_keys
from .options import STRATEGY_OPTIONS, StrategyOptions
from .spaces import SPACE_FAMILIES
from .specs import ClassificationTaskSpec, TaskSpec


def every_declared_option() -> Iterator[tuple[str, str]]:
    """(section title, dotted option name) for each option the reference must hold."""
    common = {option_field.name for option_field in dataclasses.fields(StrategyOptions)}
    for name, _ in declared_options(StrategyOptions):
        yield "every strategy", name
    for strategy, options in STRATEGY_OPTIONS.items():
        for name, _ in _own_options(options, common):
            yield strategy, name
    for title, section in TASK_SECTIONS.items():
        for name, _ in declared_options(section, "task."):
            yield title, name
    for family, entry in SPACE_FAMILIES.items():
        for name, _ in declared_options(entry.options, "space."):
            yield f"space family {family}", name


TASK_SECTIONS = {"task (an RL agent)": TaskSpec, "task (an image classifier)": ClassificationTaskSpec}


def _own_options(options: type, common: set[str]) -> Iterator[tuple[str, dataclasses.Field]]:
    own = [option_field.name for option_field in dataclasses.fields(options) if option_field.name not in common]
    for name, option_field in declared_options(options):
        if name.split(".")[0] in own:
            yield name, option_field


def _rows(options: Iterator[tuple[str, dataclasses.Field]]) -> list[str]:
    rows = ["| option | type | default | what it does |", "| --- | --- | --- | --- |"]
    for name, option_field in options:
        default = default_of(option_field)
        shown = "section" if is_section(option_field) else "required" if default is dataclasses.MISSING else default
        what = " ".join(option_field.metadata.get(HELP, "").split()).replace("|", "\\|")
        kind = str(option_field.type).replace("|", "\\|")
        rows.append(f"| `{name}` | `{kind}` | {_yaml(shown)} | {what} |")
    return rows


def _yaml(value: Any) -> str:
    if value in ("section", "required"):
        return value
    if value is None:
        return "`null`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple):
        value = list(value)
    return f"`{value}`"


def markdown() -> str:
    """The reference's generated part: one table per section."""
    common = {option_field.name for option_field in dataclasses.fields(StrategyOptions)}
    lines = [
        "## Options every strategy takes (`tuner.classArgs`)",
        "",
        *_rows(declared_options(StrategyOptions)),
        "",
        "## Each strategy's own options (`tuner.classArgs`)",
        "",
    ]
    for strategy, options in STRATEGY_OPTIONS.items():
        own = list(_own_options(options, common))
        lines += [f"### {strategy}", "", (options.__doc__ or "").split("\n\n")[0].strip(), ""]
        lines += [*_rows(iter(own)), ""] if own else ["No options of its own.", ""]
    for title, section in TASK_SECTIONS.items():
        lines += [
            f"## {title.capitalize()} (`tuner.classArgs.task`)",
            "",
            *_rows(declared_options(section, "task.")),
            "",
        ]
    lines += [
        "## Space families (`tuner.classArgs.space`)",
        "",
        "`space.family` names one; the other keys are that family's options "
        "(`nni-rl-nas spaces` prints each family's architectures).",
        "",
    ]
    for family, entry in SPACE_FAMILIES.items():
        lines += [f"### `{family}`", "", " ".join(entry.description.split()), ""]
        lines += [*_rows(declared_options(entry.options, "space.")), ""]
    return "\n".join(lines) + "\n"


def messages_markdown() -> str:
    """One table per message a trial sends: its keys, their types and what they mean."""
    lines = []
    for message in MESSAGES:
        lines += [f"### `{message.__name__}`", "", " ".join((message.__doc__ or "").split()), ""]
        lines += ["| key | type | what it is |", "| --- | --- | --- |"]
        for key, (kind, what) in declared_keys(message).items():
            lines.append(f"| `{key}` | `{_type_name(kind)}` | {what} |")
        lines.append("")
    return "\n".join(lines)


def _type_name(kind: Any) -> str:
    name = kind.__name__ if isinstance(kind, type) else str(kind).replace("typing.", "")
    return name.replace("|", "\\|")
