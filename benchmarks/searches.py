"""What the search benchmarks share: a config for a strategy, one real trial in its own folder, and
results kept as units, each written once when it ends, so that a stopped benchmark resumes."""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml

from nni_rl_nas.files import write_json


def write_config(directory: Path, name: str, class_args: dict) -> Path:
    """An experiment YAML for strategy ``name``: what a trial reads its task and space from."""
    config = {
        "trialCommand": "nni-rl-nas trial experiment.yml",
        "trialCodeDirectory": ".",
        "trialConcurrency": 1,
        "searchSpace": {},
        "trainingService": {"platform": "local"},
        "tuner": {"name": name, "classArgs": class_args},
    }
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "experiment.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def one_trial(config: Path, parameters: dict) -> dict:
    """A trial process, as NNI would start it, with its outputs in a folder of its own."""
    import torch

    from nni_rl_nas.trial import run_trial

    torch.set_num_threads(1)
    os.environ["NNI_OUTPUT_DIR"] = tempfile.mkdtemp(prefix="trial-", dir=config.parent)
    return run_trial(config, parameters=parameters)


class Units:
    """Results by unit name (``strategy/variant/seed``), one JSON file each under ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, unit: str) -> Path:
        return self.folder / f"{unit.replace('/', '__')}.json"

    def get(self, unit: str) -> dict | None:
        path = self.path(unit)
        return json.loads(path.read_text()) if path.exists() else None

    def ensure(self, unit: str, compute: Callable[[], dict]) -> dict:
        """The unit's record, computed and written first if it is not there yet."""
        if self.get(unit) is None:
            write_json(self.path(unit), compute())
            print(f"done {unit}", flush=True)
        return self.get(unit)

    def matching(self, pattern: str) -> list[dict]:
        return [json.loads(path.read_text()) for path in sorted(self.folder.glob(f"{pattern}.json"))]


def spread(values: list[float], digits: int = 1) -> str:
    """``mean +- std (n=...)`` of a table cell; ``-`` for no values."""
    if not values:
        return "-"
    return f"{statistics.mean(values):.{digits}f} +- {statistics.pstdev(values):.{digits}f} (n={len(values)})"
