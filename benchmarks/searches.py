"""What the search benchmarks share: a config for a strategy, one real trial in its own folder, and
results kept as units, each written once (atomically) when it ends, so that a stopped benchmark
resumes where it stopped and a later session adds to it; and a pool that runs units as they become
ready."""

from __future__ import annotations

import json
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

import yaml

from nni_rl_nas.files import write_atomically, write_json


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
        folder.mkdir(parents=True, exist_ok=True)

    def path(self, unit: str) -> Path:
        return self.folder / f"{unit.replace('/', '__')}.json"

    def get(self, unit: str) -> dict | None:
        path = self.path(unit)
        return json.loads(path.read_text()) if path.exists() else None

    def ensure(self, unit: str, compute: Callable[[], dict]) -> dict:
        """The unit's record, computed and written first if it is not there yet."""
        if self.get(unit) is None:
            self.put(unit, compute())
        return self.get(unit)

    def put(self, unit: str, record: dict) -> None:
        write_json(self.path(unit), record)
        print(f"{time.strftime('%H:%M:%S')} done {unit}", flush=True)

    def matching(self, pattern: str) -> list[dict]:
        return [json.loads(path.read_text()) for path in sorted(self.folder.glob(f"{pattern}.json"))]


# unit name -> (a module-level function, its arguments): the units ready to run
Ready = dict[str, tuple[Callable[..., dict], tuple]]


def _run_one(unit: str, function: Callable[..., dict], arguments: tuple) -> tuple[str, dict]:
    import torch

    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING)
    return unit, function(*arguments)


def run_units(units: Units, ready: Callable[[], Ready], workers: int) -> None:
    """Run what ``ready`` offers, in its order, ``workers`` processes at a time (one torch thread
    each), until it offers nothing new; it is asked again after each unit ends, so units whose
    inputs another unit makes become ready then."""
    running: dict = {}
    with ProcessPoolExecutor(workers) as pool:
        while True:
            for unit, (function, arguments) in ready().items():
                if unit not in running and len(running) < workers:
                    running[unit] = pool.submit(_run_one, unit, function, arguments)
            if not running:
                return
            done, _ = wait(running.values(), return_when=FIRST_COMPLETED)
            for future in done:
                unit, record = future.result()
                units.put(unit, record)
                del running[unit]


def spread(values: list[float], digits: int = 1) -> str:
    """``mean +- std (n=...)`` of a table cell; ``-`` for no values."""
    if not values:
        return "-"
    return f"{statistics.mean(values):.{digits}f} +- {statistics.pstdev(values):.{digits}f} (n={len(values)})"


def write_results(out: Path, summary: dict, report: str) -> None:
    """A benchmark's ``summary.json`` and ``report.md`` under ``out``, each written atomically, and
    the report printed."""
    write_json(out / "summary.json", summary)
    write_atomically(out / "report.md", lambda target: Path(target).write_text(report + "\n"))
    print(report)
