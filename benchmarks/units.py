"""Resumable benchmark work: each unit of work (an agent's training, a search, a timing) is done
once, in one of ``workers`` processes (one torch thread each), and kept in its own JSON file,
written atomically, so that an interrupted run resumes where it stopped and a later session adds
to it."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

import torch

# name -> (a module-level function, its arguments): the units ready to run
Ready = dict[str, tuple[Callable[..., dict], tuple]]


class Units:
    """The benchmark's units of work under ``folder``/units, by name (``/`` becomes ``__``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder / "units"
        self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        return self.folder / (name.replace("/", "__") + ".json")

    def get(self, name: str) -> dict | None:
        path = self.path(name)
        return json.loads(path.read_text()) if path.exists() else None

    def put(self, name: str, result: dict) -> None:
        from nni_rl_nas.files import write_json

        write_json(self.path(name), result)


def _run_one(name: str, function: Callable[..., dict], arguments: tuple) -> tuple[str, dict]:
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING)
    return name, function(*arguments)


def run_units(units: Units, ready: Callable[[], Ready], workers: int) -> None:
    """Run what ``ready`` offers, in its order, until it offers nothing new; it is asked again after
    each unit ends, so units whose inputs another unit makes become ready then."""
    running: dict = {}
    with ProcessPoolExecutor(workers) as pool:
        while True:
            for name, (function, arguments) in ready().items():
                if name not in running and len(running) < workers:
                    running[name] = pool.submit(_run_one, name, function, arguments)
            if not running:
                return
            done, _ = wait(running.values(), return_when=FIRST_COMPLETED)
            for future in done:
                name, result = future.result()
                units.put(name, result)
                del running[name]
                print(f"{time.strftime('%H:%M:%S')} done {name}", flush=True)
