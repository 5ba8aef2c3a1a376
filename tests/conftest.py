"""Shared helpers: experiment YAMLs written into a temporary directory, never into the repo."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "experiment_configs"


def load_yaml(name: str) -> dict:
    return yaml.safe_load((CONFIGS / name).read_text())


@pytest.fixture
def write_experiment(tmp_path):
    """Write a copy of a shipped config, changed by ``edit(raw)``, as ``tmp_path/<name>``; return its path."""

    def write(edit=None, base: str = "quick_cartpole.yml", name: str = "experiment.yml") -> Path:
        raw = copy.deepcopy(load_yaml(base))
        raw["trialCommand"] = f"nni-rl-nas trial {name}"
        if edit:
            edit(raw)
        path = tmp_path / name
        path.write_text(yaml.safe_dump(raw, sort_keys=False))
        return path

    return write


def class_args(raw: dict) -> dict:
    return raw["tuner"]["classArgs"]
