"""Property-based tests of validation: any field of any shipped config, changed to a wrong type or
an out-of-range value, is either accepted or refused with a ConfigError that names the field.
Nothing else may escape: ``nni-rl-nas validate`` and ``nnictl create`` would show it as a traceback.

Hypothesis picks a field (sections, values and list items, NNI's fields as well as ours) and a bad
value for it: null, a boolean, a number from far below zero to 10**18, NaN or infinity, text, a
list or a mapping. The default suite draws a fixed sample of each config's fields, derandomized so
CI is repeatable; the slow test changes every field of every config to each of a fixed set of bad
values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nni_rl_nas.errors import ConfigError
from nni_rl_nas.experiment import load_experiment
from tests.conftest import CONFIGS
from tests.mutations import BAD_VALUES, Path_, changed, fields_of

SHIPPED = sorted(path.name for path in CONFIGS.glob("*.yml"))
FIXED_BAD_VALUES = [None, True, "x", -1, 0, 10**18, 1.5, float("nan"), [], {}, [1], [{}]]


def names_for(path: Path_) -> set[str]:
    """What a refusal may name: the innermost key (searchSpace's ``_type``/``_value`` name their
    decision); for a change to ``classArgs.space``, also ``searchSpace``, its mirror, which no
    longer matches it."""
    names = {[key for key in path if isinstance(key, str) and not key.startswith("_")][-1]}
    return names | {"searchSpace"} if path[:3] == ("tuner", "classArgs", "space") else names


def check_refused_or_accepted(config: str, path: Path_, value: Any, folder: Path) -> None:
    raw = yaml.safe_load((CONFIGS / config).read_text())
    raw["trialCommand"] = f"nni-rl-nas trial {config}"  # the copy re-reads itself, as the shipped one does
    file = folder / config
    file.write_text(yaml.safe_dump(changed(raw, path, value), sort_keys=False))
    try:
        load_experiment(file)
    except ConfigError as error:
        assert any(name in str(error) for name in names_for(path)), f"{path} = {value!r}: no field named: {error}"


@pytest.fixture(autouse=True)
def web_host_for_remote_workers(monkeypatch):
    """remote_quick_cartpole.yml's workers report to another address than loopback."""
    monkeypatch.setenv("NNI_RL_NAS_WEB_HOST", "0.0.0.0")


@pytest.mark.parametrize("config", SHIPPED)
def test_a_field_changed_to_a_bad_value_is_refused_naming_it(config, tmp_path_factory):
    folder = tmp_path_factory.mktemp("configs")
    paths = list(fields_of(yaml.safe_load((CONFIGS / config).read_text())))

    @settings(
        max_examples=12,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(path=st.sampled_from(paths), value=BAD_VALUES)
    def refused_or_accepted(path, value):
        check_refused_or_accepted(config, path, value, folder)

    refused_or_accepted()


@pytest.mark.slow
@pytest.mark.parametrize("config", SHIPPED)
def test_every_field_changed_to_each_bad_value_is_refused_naming_it(config, tmp_path):
    for path in fields_of(yaml.safe_load((CONFIGS / config).read_text())):
        for value in FIXED_BAD_VALUES:
            check_refused_or_accepted(config, path, value, tmp_path)
