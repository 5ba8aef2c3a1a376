"""The NNI edge of a strategy: an NNI ``Tuner`` that drives one NNI-free search strategy.

NNI's names (``generate_parameters``, ``receive_trial_result``, ``trial_end``) stay here; inside,
the strategy's own ``ask``, ``tell`` and ``tell_end`` (:mod:`nni_rl_nas.strategies.base`) do the
work. This adapter owns what only NNI needs:

- **The NNI fixes.** It refuses to start unless ``nni-rl-nas setup`` has fixed NNI
  (:mod:`nni_rl_nas.nni_patches`): without the dispatch fix, trials could train each other's
  architectures. An unfixed NNI cannot show why, only "Tuner did not connect"; the dispatcher
  log (``<experiment>/log/dispatcher.log``) says to run ``nni-rl-nas setup``.
- **Errors at start.** NNI builds the tuner before it connects to the NNI manager, where an
  exception would only say "Tuner did not connect". A bad config therefore does not fail the
  constructor: the error is raised at the first command (``update_search_space``), which the
  fixed dispatcher reports, and the experiment ends in ERROR with the reason.
- **Checkpoints.** After every event the strategy's whole state is written atomically into NNI's
  checkpoint directory (tensors and plain data only), the state before it kept beside it. A
  resume whose state file cannot be read (damaged on disk) restores the one before, with a
  warning naming the file; when neither can be read, the experiment ends in ERROR naming the file
  and the fix. NNI's dispatcher runs trial ends on a thread of their own (its assessor queue),
  beside the thread that asks and receives; a lock lets one event at a time change the strategy
  and write its state. A resumed NNI restores it
  (``load_checkpoint``), then sends every result it holds (``import_data``): results the state
  already has are skipped; the rest (trials that were still running at the stop, which NNI
  reruns with their old parameters) are received as usual. So a resumed search neither retrains
  finished architectures nor forgets what it learnt.
- **Refused requests.** NNI asks for one trial per trial that ends. A strategy may have nothing to
  propose at the time and more later (a progressive search between levels, a weight-sharing
  search before its retrains), and NNI does not ask again for a request refused. The ids of
  refused requests are kept, and once the strategy proposes again (after a result or a trial's
  end) their trials are sent through the callback NNI's dispatcher gives for that purpose, as
  NNI's Evolution tuner does, so every trial slot stays busy.
- **Lost proposals.** NNI queues the strategy's proposals until a trial slot frees, and does not
  keep that queue across a stop. On resume, the proposals that NNI's database shows it never
  submitted are handed to NNI again, first, under the new parameter ids NNI asks with; their
  results and ends are then booked under the original ids, so the strategy sees the trial it
  proposed.

One tuner class per strategy, named as the strategy's short name (``nni_rl_nas.tuner.RlNasRandom``),
is what ``nni-rl-nas setup`` registers and what a ``className:`` config names.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from pathlib import Path
from typing import Any, ClassVar

import torch
from nni import NoMoreTrialError
from nni.tuner import Tuner

from .experiment import check_search_space
from .files import write_atomically, write_json
from .nni_patches import NniInstallationError, require_nni_fixes
from .options import STRATEGY_OPTIONS
from .records import CONTROLLER_PROGRESS_FILE, RACE_FILE, database_of_checkpoint, submitted_parameter_ids
from .strategies import STRATEGIES, NothingToPropose, SearchStrategy

logger = logging.getLogger(__name__)

STATE_FILE = "strategy_state.pt"
PREVIOUS_STATE_FILE = "strategy_state.previous.pt"  # the state before the last event: a fallback on resume


class StrategyStartError(RuntimeError):
    """The strategy could not be built from the experiment's config; the message says why, on one line."""

    @classmethod
    def of(cls, error: Exception) -> StrategyStartError:
        return cls(f"{type(error).__name__}: {error}".replace("\n", " "))


def require_fixes_at_start() -> None:
    """Refuse to start on an NNI that ``nni-rl-nas setup`` has not fixed, saying why in the
    dispatcher log: NNI itself would show only "Tuner did not connect"."""
    try:
        require_nni_fixes()
    except NniInstallationError as error:
        logger.error("%s", error)
        raise


def start_error(strategy: str, error: Exception) -> StrategyStartError:
    """A strategy that could not be built, logged now and raised at the first command, where NNI
    can show it (see the module docstring)."""
    failure = StrategyStartError.of(error)
    logger.error("%s cannot start: %s", strategy, failure)
    return failure


def one_event_at_a_time(method):
    """Run ``method`` under the tuner's lock: NNI calls ``trial_end`` from another thread (module docstring)."""

    @functools.wraps(method)
    def locked(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return locked


class StrategyTuner(Tuner):
    strategy_class: ClassVar[type[SearchStrategy]]

    def __init__(self, **class_args: Any) -> None:
        require_fixes_at_start()
        self._lock = threading.RLock()  # re-entrant: a replayed result (import_data) is received as usual
        self.strategy: SearchStrategy | None = None
        self.start_error: StrategyStartError | None = None
        try:
            self.strategy = self.strategy_class(**class_args)
        except Exception as error:  # a bad config: see the module docstring
            self.start_error = start_error(self.strategy_class.strategy_name(), error)
        self._issued: dict[int, dict[str, Any]] = {}  # parameters handed to NNI, by id, until the trial ends
        self._lost: list[tuple[int, dict[str, Any]]] = []  # handed out, never submitted by NNI before a stop
        self._aliases: dict[int, int] = {}  # parameter id NNI asked with -> the lost one it carries
        self._refused: list[int] = []  # ids of requests answered "no more trials", to fill later
        self._send_trial = None  # NNI's dispatcher callback that sends a trial outside a request

    @property
    def finished(self) -> bool:
        """Read by NNI's dispatcher (fixed by ``nni-rl-nas setup``) when the strategy has nothing to
        propose: a finished one ends the experiment DONE once its trials end."""
        return self.strategy is not None and self.strategy.finished()

    def started(self) -> SearchStrategy:
        if self.start_error is not None:
            raise self.start_error
        if self.strategy is None:  # __init__ sets one of the two
            raise RuntimeError("the strategy neither started nor failed to")
        return self.strategy

    def update_search_space(self, search_space: Any) -> None:
        """NNI's ``searchSpace`` only mirrors ``classArgs.space`` and ``search_hyperparameters`` (for the
        web UI); refuse a mismatch."""
        try:
            check_search_space(search_space, self.started().search_space)
        except ValueError as error:
            raise StrategyStartError.of(error) from None

    @one_event_at_a_time
    def generate_parameters(self, parameter_id: int, **kwargs: Any) -> dict[str, Any]:
        strategy = self.started()
        if self._lost and not strategy.budget_spent():
            original, parameters = self._lost.pop(0)
            self._aliases[parameter_id] = original
            logger.info(
                "resume: trial %d carries proposal %d, which NNI had not submitted before the stop",
                parameter_id,
                original,
            )
        else:
            try:
                parameters = strategy.ask(parameter_id)
            except NothingToPropose as reason:
                raise NoMoreTrialError(str(reason)) from None
            self._issued[parameter_id] = parameters
        self.save_checkpoint()
        return parameters

    def generate_multiple_parameters(self, parameter_id_list: list[int], **kwargs: Any) -> list[dict[str, Any]]:
        """NNI's request for trials: proposals for the first ids, until the strategy has none now;
        the other ids are filled later (module docstring)."""
        self._send_trial = kwargs.get("st_callback", self._send_trial)
        proposals = []
        for index, parameter_id in enumerate(parameter_id_list):
            try:
                proposals.append(self.generate_parameters(parameter_id))
            except NoMoreTrialError:
                self._refused.extend(parameter_id_list[index:])  # NNI pairs proposals with the first ids
                break
        return proposals

    @one_event_at_a_time
    def receive_trial_result(
        self, parameter_id: int | None, parameters: dict[str, Any], value: Any, **kwargs: Any
    ) -> None:
        if parameter_id is not None:
            parameter_id = self._aliases.get(parameter_id, parameter_id)
        self.started().tell(parameter_id, parameters, value if isinstance(value, dict) else {"default": value})
        self.save_checkpoint()
        self.fill_refused_requests()

    @one_event_at_a_time
    def trial_end(self, parameter_id: int, success: bool, **kwargs: Any) -> None:
        parameter_id = self._aliases.pop(parameter_id, parameter_id)
        self._issued.pop(parameter_id, None)
        self.started().tell_end(parameter_id, success)
        self.save_checkpoint()
        self.fill_refused_requests()

    def fill_refused_requests(self) -> None:
        """Send a trial for each refused request, while the strategy proposes."""
        while self._refused and self._send_trial is not None:
            try:
                parameters = self.generate_parameters(self._refused[0])
            except NoMoreTrialError:
                return
            self._send_trial(self._refused.pop(0), parameters)

    @one_event_at_a_time
    def import_data(self, data: list[dict[str, Any]]) -> None:
        """Results NNI holds from before a resume: receive those the restored state lacks."""
        strategy = self.started()
        for entry in data:
            parameters = entry["parameter"]
            if strategy.has_result(parameters):
                continue
            logger.info("resume: result of %s arrived from NNI's records", parameters.get("architecture"))
            self.receive_trial_result(strategy.running_trial_of(parameters), parameters, entry["value"])

    def checkpoint_file(self) -> Path | None:
        directory = self.get_checkpoint_path()  # NNI's per-experiment checkpoint directory, when run by NNI
        return Path(directory) / STATE_FILE if directory else None

    @one_event_at_a_time
    def save_checkpoint(self) -> None:
        path = self.checkpoint_file()
        if path is not None and self.strategy is not None:
            state = {**self.strategy.state_dict(), "issued": self._issued, "aliases": self._aliases}
            if path.exists():
                os.replace(path, path.with_name(PREVIOUS_STATE_FILE))
            write_atomically(path, lambda target: torch.save(state, target))
            if self.strategy.controller_progress:  # plain JSON, for the report (which loads no torch)
                write_json(path.with_name(CONTROLLER_PROGRESS_FILE), self.strategy.controller_progress)
            write_json(path.with_name(RACE_FILE), self.strategy.race_summary())

    @one_event_at_a_time
    def load_checkpoint(self) -> None:
        strategy = self.started()
        path = self.checkpoint_file()
        saved = (
            [candidate for candidate in (path, path.with_name(PREVIOUS_STATE_FILE)) if candidate.exists()]
            if path is not None
            else []
        )
        if path is None or not saved:
            logger.warning("resume: no saved strategy state; starting afresh from NNI's records")
            return
        unreadable = []
        for candidate in saved:
            try:
                state = torch.load(candidate, weights_only=True)
                strategy.load_state_dict(state)
                self._issued, self._aliases = dict(state["issued"]), dict(state["aliases"])
            except Exception as error:  # any damage to the file: the next candidate, else a clear refusal below
                unreadable.append(f"{candidate} ({type(error).__name__}: {str(error)[:120]})")
                logger.warning("resume: cannot read the strategy state %s: %r", candidate, error)
                continue
            if candidate != path:
                logger.warning("resume: %s was unreadable; restored the state before it, %s", path, candidate)
            break
        else:
            raise StrategyStartError(
                f"resume: no readable strategy state: {'; '.join(unreadable)}; fix: delete "
                f"{path.parent}/strategy_state*.pt to resume from NNI's records alone (finished "
                "results are received again, learned state restarts), or create a new experiment"
            )
        logger.info(
            "resume: restored %s with %d finished trials from %s",
            type(strategy).__name__,
            len(strategy.history),
            candidate,
        )
        database = database_of_checkpoint(path.parent)
        if database.exists():
            self.find_lost_proposals(submitted_parameter_ids(database))

    def find_lost_proposals(self, submitted: set[int]) -> None:
        """Queue again the proposals NNI never submitted (by itself or by a trial carrying it)."""
        self._aliases = {alias: original for alias, original in self._aliases.items() if alias in submitted}
        carried = set(self._aliases.values())
        self._lost = [
            (parameter_id, parameters)
            for parameter_id, parameters in self._issued.items()
            if parameter_id not in submitted and parameter_id not in carried
        ]
        if self._lost:
            logger.warning(
                "resume: NNI had not submitted proposals %s before the stop; proposing them again",
                [parameter_id for parameter_id, _ in self._lost],
            )


def tuner_class(strategy: type[SearchStrategy]) -> type[StrategyTuner]:
    name = strategy.strategy_name()
    return type(
        name,
        (StrategyTuner,),
        {
            "strategy_class": strategy,
            "__module__": __name__,
            "__doc__": f"NNI tuner of {strategy.__name__} (registered as {name}).",
        },
    )


TUNERS: dict[str, type[StrategyTuner]] = {
    name: tuner_class(STRATEGIES[name]) for name in STRATEGY_OPTIONS if name in STRATEGIES
}
globals().update(TUNERS)  # nni_rl_nas.tuner.<short name>, the class NNI's registry and className: configs name
