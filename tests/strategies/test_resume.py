"""A strategy stopped mid-search and resumed the way ``nnictl resume`` does it, through its NNI tuner.

NNI gives the tuner a checkpoint directory (``NNI_CHECKPOINT_DIRECTORY``); on resume it
builds a fresh strategy, calls ``load_checkpoint``, then sends every result it holds through
``import_data``, including the result of a trial that was running at the stop (NNI reruns it).
"""

import json
import sqlite3
import threading

import numpy as np
import pytest
import torch
from nni import NoMoreTrialError

from nni_rl_nas.records import CONTROLLER_PROGRESS_FILE
from nni_rl_nas.strategies import EnasStrategy, GridStrategy, PolicyGradientStrategy, RandomStrategy
from nni_rl_nas.tuner import PREVIOUS_STATE_FILE, STATE_FILE, TUNERS, StrategyStartError

ARGS = {
    "space": {"family": "mlp", "widths": [16, 64, 256], "activations": ["relu", "tanh"]},
    "task": {"env": "CartPole-v1"},
}


def tuner(strategy_class, **class_args):
    """The NNI tuner of ``strategy_class``, as NNI builds it from classArgs."""
    return TUNERS[strategy_class.strategy_name()](**class_args)


def score_of(parameters: dict) -> float:
    return float(parameters.get("layer1_width", 0) + parameters.get("layer2_width", 0)) / 512


def run(strategy, parameter_ids, finish: int, nni_records: list) -> dict:
    """Propose a trial per id; finish the first ``finish`` of them (recording them as NNI does)."""
    running = {}
    for parameter_id in parameter_ids:
        try:
            running[parameter_id] = strategy.generate_parameters(parameter_id)
        except NoMoreTrialError:
            break
    for parameter_id in list(running)[:finish]:
        parameters = running.pop(parameter_id)
        value = {"default": score_of(parameters), "top_k": ["64-relu_64-relu", "16-tanh_256-relu"]}
        strategy.receive_trial_result(parameter_id, parameters, value)
        strategy.trial_end(parameter_id, success=True)
        nni_records.append({"parameter": parameters, "value": value})
    return running


@pytest.mark.parametrize(
    "strategy_class, options",
    [
        (RandomStrategy, {}),
        (GridStrategy, {}),
        (PolicyGradientStrategy, {"controller": {"samples_per_update": 2}}),
    ],
)
def test_a_resumed_strategy_keeps_its_state_and_never_retrains_a_finished_architecture(
    strategy_class, options, tmp_path, monkeypatch
):
    monkeypatch.setenv("NNI_CHECKPOINT_DIRECTORY", str(tmp_path))
    before = tuner(strategy_class, **ARGS, seed=3, **options)
    nni_records = []
    interrupted = run(before, range(8), finish=7, nni_records=nni_records)  # one still running at the stop

    resumed = tuner(strategy_class, **ARGS, seed=3, **options)
    resumed.load_checkpoint()
    assert [r.name for r in resumed.strategy.history] == [r.name for r in before.strategy.history]
    if isinstance(before.strategy, PolicyGradientStrategy):
        for saved, restored in zip(before.strategy.controller.parameters(), resumed.strategy.controller.parameters()):
            assert torch.equal(saved, restored)
        assert resumed.strategy.reinforce.baseline == before.strategy.reinforce.baseline
        progress = json.loads((tmp_path / CONTROLLER_PROGRESS_FILE).read_text())
        assert [update["trials"] for update in progress] == [2, 4, 6], "after each update of 2 scores"
        assert all(len(update["top_probabilities"]) == 5 for update in progress)
        assert resumed.strategy.controller_progress == progress

    [(parameter_id, parameters)] = interrupted.items()  # NNI reruns it; its result arrives with the old records
    resumed.import_data(nni_records + [{"parameter": parameters, "value": {"default": score_of(parameters)}}])
    assert len(resumed.strategy.history) == 8, "the finished results are not received twice; the rerun one is received"
    assert not resumed.strategy.running_names()

    run(resumed, range(100, 140), finish=40, nni_records=nni_records)
    names = [record.name for record in resumed.strategy.history]
    assert len(names) == len(set(names)), "no architecture is trained twice across the resume"


def test_a_resumed_enas_neither_repeats_its_searches_nor_loses_the_derived_queue(tmp_path, monkeypatch):
    monkeypatch.setenv("NNI_CHECKPOINT_DIRECTORY", str(tmp_path))
    before = tuner(EnasStrategy, **ARGS, searches=2, top_k=2)
    nni_records = []
    interrupted = run(before, range(2), finish=1, nni_records=nni_records)  # search 0 done, search 1 running

    resumed = tuner(EnasStrategy, **ARGS, searches=2, top_k=2)
    resumed.load_checkpoint()
    resumed.import_data(nni_records)
    assert [resumed.generate_parameters(i)["architecture"] for i in (10, 11)] == ["64-relu_64-relu", "16-tanh_256-relu"]
    [(parameter_id, parameters)] = interrupted.items()
    resumed.import_data(
        nni_records + [{"parameter": parameters, "value": {"default": 1.0, "top_k": ["16-relu_16-relu"]}}]
    )
    assert resumed.generate_parameters(12)["architecture"] == "16-relu_16-relu"
    with pytest.raises(NoMoreTrialError):
        resumed.generate_parameters(13)


def test_without_a_saved_state_the_results_are_replayed(tmp_path, monkeypatch):
    monkeypatch.setenv("NNI_CHECKPOINT_DIRECTORY", str(tmp_path))
    resumed = tuner(PolicyGradientStrategy, **ARGS, controller={"samples_per_update": 1})
    resumed.load_checkpoint()  # nothing saved: an experiment from before the state existed
    records = [
        {
            "parameter": {
                "layer1_width": w,
                "layer1_activation": "relu",
                "layer2_width": 16,
                "layer2_activation": "tanh",
                "architecture": f"{w}-relu_16-tanh",
            },
            "value": {"default": float(w)},
        }
        for w in (16, 64)
    ]
    resumed.import_data(records)
    known = {
        name: resumed.strategy.known_objective(resumed.strategy.search_space.parse_name(name))
        for name in ("16-relu_16-tanh", "64-relu_16-tanh")
    }
    assert known == {"16-relu_16-tanh": 16.0, "64-relu_16-tanh": 64.0}
    assert len(resumed.strategy.reinforce.advantages) == 2
    assert np.isfinite(resumed.strategy.reinforce.baseline)


def nni_database(experiment, submitted: list[dict]) -> None:
    """NNI's database as it stands after a stop: a WAITING event per trial it submitted."""
    (experiment / "db").mkdir()
    connection = sqlite3.connect(experiment / "db" / "nni.sqlite")
    connection.execute(
        "create table TrialJobEvent (timestamp integer, trialJobId text, event text, data text, "
        "logPath text, sequenceId integer, message text, environmentId text)"
    )
    for sequence, parameters in enumerate(submitted):
        connection.execute(
            "insert into TrialJobEvent values (?, ?, 'WAITING', ?, '', ?, '', '')",
            (sequence, f"trial{sequence}", json.dumps(parameters), sequence),
        )
    connection.execute("insert into TrialJobEvent values (99, '', 'IMPORT_DATA', '[{\"value\": 1}]', '', 0, '', '')")
    connection.commit()
    connection.close()


@pytest.mark.parametrize("strategy_class, options", [(RandomStrategy, {}), (EnasStrategy, {"searches": 3, "top_k": 1})])
def test_proposals_nni_had_not_submitted_at_the_stop_are_proposed_again_and_booked_as_themselves(
    strategy_class, options, tmp_path, monkeypatch
):
    checkpoint = tmp_path / "checkpoint"
    checkpoint.mkdir()
    monkeypatch.setenv("NNI_CHECKPOINT_DIRECTORY", str(checkpoint))
    before = tuner(strategy_class, **ARGS, **options)
    proposed = {parameter_id: before.generate_parameters(parameter_id) for parameter_id in range(3)}
    # NNI submitted trials 0 and 1; proposal 2 waited in NNI's queue for a free slot when it stopped
    nni_database(
        tmp_path,
        [
            {"parameter_id": i, "parameter_source": "algorithm", "parameters": proposed[i], "parameter_index": 0}
            for i in (0, 1)
        ],
    )

    resumed = tuner(strategy_class, **ARGS, **options)
    resumed.load_checkpoint()
    assert resumed.generate_parameters(7) == proposed[2], "the lost proposal comes first, unchanged"
    value = {"default": 1.0, "top_k": ["64-relu_64-relu"], "ranked": ["64-relu_64-relu"]}
    resumed.receive_trial_result(7, proposed[2], value)
    resumed.trial_end(7, success=True)
    if isinstance(resumed.strategy, EnasStrategy):
        assert 2 not in resumed.strategy._searches_running and len(resumed.strategy._searches_finished) == 1
    else:
        assert resumed.strategy.history[-1].parameter_id == 2 and resumed.strategy.history[-1].score == 1.0
        assert 2 not in resumed.strategy._running
    assert resumed.generate_parameters(8) not in proposed.values(), "then new proposals"


def damage(path) -> None:
    path.write_bytes(path.read_bytes()[:40])  # truncated, as a disk or a killed copy leaves it


def test_a_damaged_state_resumes_from_the_state_before_it_with_a_warning(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("NNI_CHECKPOINT_DIRECTORY", str(tmp_path))
    before = tuner(RandomStrategy, **ARGS, seed=3)
    run(before, range(3), finish=3, nni_records=[])
    damage(tmp_path / STATE_FILE)
    resumed = tuner(RandomStrategy, **ARGS, seed=3)
    resumed.load_checkpoint()
    assert len(resumed.strategy.history) == 3
    assert 2 in resumed._issued, "the state before the last event, trial 2's end"
    assert f"{tmp_path / STATE_FILE} was unreadable" in caplog.text


def test_when_no_state_is_readable_the_resume_fails_naming_the_file_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("NNI_CHECKPOINT_DIRECTORY", str(tmp_path))
    run(tuner(RandomStrategy, **ARGS, seed=3), range(3), finish=3, nni_records=[])
    damage(tmp_path / STATE_FILE)
    damage(tmp_path / PREVIOUS_STATE_FILE)
    with pytest.raises(
        StrategyStartError,
        match=rf"resume: no readable strategy state: {tmp_path / STATE_FILE} .* "
        r"fix: delete .*strategy_state\*.pt to resume from NNI's records",
    ):
        tuner(RandomStrategy, **ARGS, seed=3).load_checkpoint()


def test_events_from_nni_s_two_dispatcher_threads_never_race_the_saved_state(tmp_path, monkeypatch):
    """NNI runs trial ends on its assessor thread, beside the thread that asks and receives."""
    monkeypatch.setenv("NNI_CHECKPOINT_DIRECTORY", str(tmp_path))
    shared = tuner(RandomStrategy, **ARGS, seed=3)
    shared.generate_parameters(0)
    errors = []

    def save_repeatedly():
        try:
            for _ in range(300):
                shared.save_checkpoint()
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=save_repeatedly) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    resumed = tuner(RandomStrategy, **ARGS, seed=3)
    resumed.load_checkpoint()
    assert 0 in resumed._issued
