"""Drive a strategy without NNI, the way NNI's dispatcher does: for benchmarks, tests and notebooks.

NNI asks the strategy for parameters whenever a trial slot is free, sends each final result to the
strategy and then every trial's end (:mod:`nni_rl_nas.tuner`). :func:`drive` does the same through
the strategy's own ``ask``, ``tell`` and ``tell_end``, with an executor: ``concurrency`` trials at a
time, each ``run(parameters)`` returning the trial's final result (or raising, which is a failed
trial). It stops when the strategy has no more to propose or ``keep_proposing`` says no, after the
running trials finish.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass
from typing import Any

from .base import NothingToPropose, SearchStrategy


@dataclass(frozen=True)
class FinishedTrial:
    parameter_id: int
    parameters: dict[str, Any]
    result: dict[str, Any] | None  # None: the trial failed
    error: str | None


def drive(
    strategy: SearchStrategy,
    run: Callable[[dict[str, Any]], dict[str, Any]],
    executor: Executor,
    concurrency: int = 1,
    keep_proposing: Callable[[], bool] = lambda: True,
    on_finish: Callable[[FinishedTrial], None] = lambda trial: None,
) -> list[FinishedTrial]:
    running: dict[Future, tuple[int, dict[str, Any]]] = {}
    finished: list[FinishedTrial] = []
    next_id, exhausted = 0, False
    while True:
        while not exhausted and len(running) < concurrency and keep_proposing():
            try:
                parameters = strategy.ask(next_id)
            except NothingToPropose:
                exhausted = not running  # a strategy may propose again once a running trial reports (ENAS)
                break
            running[executor.submit(run, parameters)] = (next_id, parameters)
            next_id += 1
        if not running:
            return finished
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in done:
            parameter_id, parameters = running.pop(future)
            try:
                result = future.result()
            except Exception as error:  # a failed trial is the strategy's to learn of, as under NNI
                trial = FinishedTrial(parameter_id, parameters, None, repr(error))
            else:
                strategy.tell(parameter_id, parameters, result)
                trial = FinishedTrial(parameter_id, parameters, result, None)
            strategy.tell_end(parameter_id, success=trial.result is not None)
            finished.append(trial)
            on_finish(trial)
