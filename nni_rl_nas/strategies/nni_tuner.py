"""Any of NNI's built-in tuners as a search strategy: ``tuner: {name: RlNasNniTuner, classArgs:
{algorithm: TPE, algorithm_args: {...}, space: ..., task: ...}}``.

The tuner itself is NNI's, built by NNI's own factory from its registry (``builtinName``), with
the classArgs NNI's own validator checks; it sees the space as NNI's search space (the
``searchSpace`` the config mirrors) and is called as NNI's dispatcher calls a tuner:
``generate_parameters`` per trial, ``receive_trial_result`` with the objective (the score less the
``cost`` penalty), ``trial_end`` for every trial. Around it the strategy base keeps what every
strategy has: baselines first, the cost budget, the history the report and resume read.

A point the tuner proposes again once it has a score (NNI's Evolution mutates a decision to the
value it had; TPE and Anneal repeat in small spaces) is not trained again: the trial's seed would
give it the same score. The tuner hears that score as the result of its proposal, and is asked
again. A repeat of a point whose trial is still running is not run either: there is no score
yet to answer with, so the tuner hears that its proposal ended without a result, as a failed
trial (NNI's Evolution then adds a random individual in its place), and is asked again.
``max_draws`` repeats in a row end the search, as a converged tuner.

A resumed search rebuilds the tuner and warm-starts it from the restored history with the tuner's
own ``import_data`` (tuners without one, such as Random, learn nothing to restore).

PBT: NNI's PBT proposes, with each member's hyperparameters, where its trial loads an agent from
and saves it to (``load_checkpoint_dir``, ``save_checkpoint_dir``: under PBT's
``all_checkpoint_dir``, by default NNI's checkpoint folder of the experiment). A trial continues
the saved agent for ``total_timesteps`` more env steps (one generation) and saves it; PBT's exploit
hands a worse member a better one's agent, and its explore perturbs the hyperparameters. The
architecture travels with the agent (:meth:`NniTunerStrategy.with_checkpoints`).

Seeds: ``seed`` goes to the tuners that take one (TPE, Random ...). NNI's Evolution draws its
first population, in ``update_search_space``, from a ``RandomState()`` it makes unseeded, and
mutates with Python's global ``random``; here the first is seeded and every call to the tuner runs
with a ``random`` state of the strategy's own, seeded, so that a search reproduces and leaves the
process's global generator as it was.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import logging
import random
from collections.abc import Iterator
from typing import Any
from unittest import mock

import nni
import numpy as np
from nni.tools.package_utils.tuner_factory import (
    create_builtin_class_instance,
    create_validator_instance,
    get_builtin_module_class_name,
)

from ..errors import ConfigError
from ..options import LOAD_CHECKPOINT_KEY, SAVE_CHECKPOINT_KEY, NniTunerOptions
from ..search_space import Point, plain
from .base import NothingToPropose, SearchStrategy, TrialRecord

logger = logging.getLogger(__name__)


def build_nni_tuner(name: str, args: dict[str, Any], seed: int) -> Any:
    """NNI's tuner ``name`` with ``args``, maximising, seeded where it takes a seed; a refusal names
    the field, for args NNI's validator refuses and for a tuner whose packages are missing."""
    try:
        module_name, class_name = get_builtin_module_class_name("tuners", name)
        accepted = inspect.signature(getattr(importlib.import_module(module_name), class_name).__init__).parameters
        args = {
            **args,
            **{key: value for key, value in (("optimize_mode", "maximize"), ("seed", seed)) if key in accepted},
        }
        validator = create_validator_instance("tuners", name)
        if validator is not None:
            validator.validate_class_args(**args)
    except ModuleNotFoundError as error:
        raise ConfigError(
            f"tuner.classArgs.algorithm: NNI's {name} needs the package {error.name!r}, which is not "
            "installed; fix: another tuner, or install that package"
        ) from None
    except Exception as error:  # NNI's validators raise schema errors of several kinds
        raise ConfigError(
            f"tuner.classArgs.algorithm_args: {name} refuses {args!r}: {error}; fix: the classArgs "
            f"NNI documents for {name}"
        ) from None
    return create_builtin_class_instance(name, args, "tuners")


class NniTunerStrategy(SearchStrategy):
    options_class = NniTunerOptions
    options: NniTunerOptions

    def __init__(self, space=None, task=None, **options) -> None:
        super().__init__(space, task, **options)
        self._random_state = random.Random(self.options.seed).getstate()
        self.tuner = self.start_tuner()
        self._tuner_trials: set[int] = set()  # trials this tuner proposed (a resumed tuner is a new one)
        self._saved_architectures: dict[str, Point] = {}  # PBT: checkpoint folder -> the architecture saved there

    @contextlib.contextmanager
    def own_random_state(self) -> Iterator[None]:
        """Python's global ``random`` holds the strategy's own state for the duration of a tuner call."""
        outside = random.getstate()
        random.setstate(self._random_state)
        try:
            yield
        finally:
            self._random_state = random.getstate()
            random.setstate(outside)

    def start_tuner(self) -> Any:
        tuner = build_nni_tuner(self.options.algorithm, self.options.algorithm_args or {}, self.options.seed)
        with (
            self.own_random_state(),
            mock.patch.object(np.random, "RandomState", functools.partial(np.random.RandomState, self.options.seed)),
        ):
            tuner.update_search_space(self.search_space.nni_search_space())
        return tuner

    def propose(self, trial_id: int) -> Point | None:
        if self.generation_running():
            raise NothingToPropose(
                "NNI's PBT: every member of this generation is running; the next generation starts when they end"
            )
        for _ in range(self.options.max_draws):
            try:
                with self.own_random_state():
                    proposal = self.tuner.generate_parameters(trial_id)
            except nni.NoMoreTrialError as error:
                raise NothingToPropose(f"NNI's {self.options.algorithm}: {error or 'no more trials'}") from None
            point = {label: plain(proposal[label]) for label in self.search_space.labels}
            continues_an_agent = SAVE_CHECKPOINT_KEY in proposal  # PBT: a point again, on another agent
            if not continues_an_agent and self.name_of(point) in self.running_names():
                with self.own_random_state():  # not run: to the tuner, a proposal that ended without a result
                    self.tuner.trial_end(trial_id, False)
                continue
            known = None if continues_an_agent else self.known_objective(point)
            if known is None:
                self._tuner_trials.add(trial_id)
                return self.with_checkpoints(point, proposal) if continues_an_agent else point
            logger.info(
                "NNI's %s proposed %s again: answered with its known objective %.4f",
                self.options.algorithm,
                self.name_of(point),
                known,
            )
            with self.own_random_state():
                self.tuner.receive_trial_result(trial_id, point, known)
                self.tuner.trial_end(trial_id, True)
        raise NothingToPropose(
            f"NNI's {self.options.algorithm} converged: {self.options.max_draws} proposals in a "
            "row were points that already have a score or a running trial "
            "(tuner.classArgs.max_draws)"
        )

    def generation_running(self) -> bool:
        """PBT has handed out its whole generation. Asked again, NNI's PBT would keep the request and
        answer it later through a callback of NNI's dispatcher, which a strategy does not have; the
        request is refused, and the tuner adapter fills it once PBT starts the next generation
        (:mod:`nni_rl_nas.tuner`, refused requests)."""
        return self.options.algorithm == "PBT" and self.tuner.pos == self.tuner.population_size - 1

    def with_checkpoints(self, point: Point, proposal: dict[str, Any]) -> Point:
        """A PBT proposal: where the trial loads its agent from and saves it to, and the architecture of
        the agent it loads. PBT's explore perturbs every label, the architecture's too, but saved
        weights fit only the architecture that trained them, so that one rides along with them."""
        trained = self._saved_architectures.get(proposal[LOAD_CHECKPOINT_KEY])
        point = {**point, **(trained or {})}
        self._saved_architectures[proposal[SAVE_CHECKPOINT_KEY]] = {
            label: point[label] for label in self.search_space.architecture_choices
        }
        return {
            **point,
            LOAD_CHECKPOINT_KEY: proposal[LOAD_CHECKPOINT_KEY],
            SAVE_CHECKPOINT_KEY: proposal[SAVE_CHECKPOINT_KEY],
        }

    def observe(self, record: TrialRecord) -> None:
        with self.own_random_state():
            if record.parameter_id in self._tuner_trials:
                self.tuner.receive_trial_result(record.parameter_id, record.architecture, self.objective(record))
            elif hasattr(self.tuner, "import_data"):  # proposed before a resume, by the tuner this one replaced
                self.tuner.import_data([self.as_imported(record)])

    def as_imported(self, record: TrialRecord) -> dict[str, Any]:
        """A finished trial as NNI's ``import_data`` takes it."""
        return {"parameter": record.architecture, "value": self.objective(record)}

    def tell_end(self, trial_id: int, success: bool) -> None:
        super().tell_end(trial_id, success)
        if trial_id in self._tuner_trials:
            self._tuner_trials.discard(trial_id)
            with self.own_random_state():
                self.tuner.trial_end(trial_id, success)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "saved_architectures": self._saved_architectures}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._saved_architectures = dict(state.get("saved_architectures", {}))
        self._random_state = random.Random(self.options.seed).getstate()
        self.tuner, self._tuner_trials = self.start_tuner(), set()
        learned = [
            self.as_imported(record) for record in self.history if record.score is not None and not record.baseline
        ]
        if learned and hasattr(self.tuner, "import_data"):
            with self.own_random_state():
                self.tuner.import_data(learned)
