"""Every file the tools read back is untrusted: corrupted (truncated, wrong types, NaN, huge numbers,
markup, a key missing or too many, bytes that are no JSON), it gives a one-line error naming the
file and the fix, a warning and a skip, or a recovery from the previous copy; never a traceback,
a write outside the experiment's folder, or code run from the file.

Each property runs a few dozen draws in the default suite and many more under ``-m slow``.
(``trial.json`` has its own property test in tests/test_replay.py; ``darts_search.json`` is read
back by no tool, only by the benchmark whose run wrote it.)
"""

from __future__ import annotations

import json
import pickle
import sqlite3
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from nni import NoMoreTrialError

from nni_rl_nas.errors import ConfigError
from nni_rl_nas.files import append_json_lines, write_json
from nni_rl_nas.landscape import LANDSCAPE_FILE, RECORDS_FILE, LandscapeTrials, load_landscape
from nni_rl_nas.records import CONTROLLER_PROGRESS_FILE, RACE_FILE, controller_progress_of, race_of
from nni_rl_nas.report import experiment_summary, read_database, render_html, write_report
from nni_rl_nas.tuner import PREVIOUS_STATE_FILE, STATE_FILE, TUNERS, StrategyStartError
from tests.mutations import corrupted_json

DRAWS = [pytest.param(25, id="25 draws"), pytest.param(200, id="200 draws", marks=pytest.mark.slow)]
# drawing the report's plots takes a second or two: the default suite renders the page alone
PLOTTED = [pytest.param(False, id="page"), pytest.param(True, id="page and plots", marks=pytest.mark.slow)]
ARGS = {
    "space": {"family": "mlp", "depth": 1, "widths": [16, 64], "activations": ["relu", "tanh"]},
    "task": {"env": "CartPole-v1", "seeds": 1},
}


def draws(count: int):
    return settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def files_outside(root: Path, *inside: Path) -> set[Path]:
    return {path for path in root.rglob("*") if not any(path.is_relative_to(folder) for folder in inside)}


def one_line(error: Exception, *names: str) -> None:
    text = str(error)
    assert "\n" not in text.strip() and all(name in text for name in names) and "fix:" in text, text


# -- what the report reads ------------------------------------------------------------------------

RESULT = {
    "default": 150.0,
    "seed_scores": [150.0],
    "train_seeds": [0],
    "parameters": 1000,
    "env_steps": 1000,
    "solved_seeds": 0,
}
PROGRESS = [{"trials": 3, "top_probabilities": {"16-relu": 0.4, "64-tanh": 0.3}}]
RACE = {"answer": "16-relu", "answer_seeds": 3, "aggregate": "mean", "architectures": {"16-relu": {"seeds": [0]}}}


def nni_database(path: Path, events: list[tuple], metrics: list[tuple]) -> None:
    connection = sqlite3.connect(path)
    connection.execute(
        "create table TrialJobEvent (timestamp integer, trialJobId text, event text, data text, "
        "logPath text, sequenceId integer, message text, environmentId text)"
    )
    connection.execute(
        "create table MetricData (timestamp integer, trialJobId text, parameterId text, type text, "
        "sequence integer, data text)"
    )
    connection.executemany("insert into TrialJobEvent values (?, ?, ?, ?, '', ?, '', '')", events)
    connection.executemany("insert into MetricData values (?, ?, '0', ?, ?, ?)", metrics)
    connection.commit()
    connection.close()


def experiment(root: Path, parameters: bytes, result: bytes, point: bytes) -> Path:
    """An experiment folder whose database holds two trials: one as NNI records them, one whose
    parameters, final result and curve point are the given (possibly corrupted) texts."""
    folder = root / "experiment"
    (folder / "db").mkdir(parents=True)
    good = json.dumps({"parameter_id": 0, "parameters": {"architecture": "64-tanh", "train_seeds": [0]}})
    nni_database(
        folder / "db" / "nni.sqlite",
        [(0, "t0", "SUCCEEDED", good, 0), (1, "t1", "SUCCEEDED", parameters.decode(errors="replace"), 1)],
        [
            (2, "t0", "FINAL", 0, json.dumps(json.dumps({**RESULT, "default": 120.0}))),
            (3, "t1", "PERIODICAL", 0, point.decode(errors="replace")),
            (4, "t1", "FINAL", 0, result.decode(errors="replace")),
        ],
    )
    return folder


def parameters_json(parameters: dict) -> dict:
    return {"parameter_id": 1, "parameters": parameters}


def report(rows, folder: Path, plotted: bool) -> str:
    """The report's page (with its plots, or the page alone), as ``nni-rl-nas report`` writes it."""
    if plotted:
        return write_report(
            rows, "report", folder / "report", controller_progress=controller_progress_of(folder), race=race_of(folder)
        ).read_text()
    return render_html("report", rows, {}, experiment_summary(rows, race_of(folder)))


@pytest.mark.parametrize("count", DRAWS)
@pytest.mark.parametrize("plotted", PLOTTED)
def test_a_corrupted_experiment_database_still_reports_what_it_can(tmp_path_factory, count, plotted):
    good_parameters = parameters_json({"architecture": "16-relu", "train_seeds": [0], "baseline": False})
    point = {"default": 10.0, "env_steps": 500, "seed_defaults": [10.0]}

    @draws(count)
    @given(
        which=__import__("hypothesis").strategies.sampled_from(["parameters", "result", "point"]),
        parameters=corrupted_json(good_parameters),
        result=corrupted_json(RESULT),
        curve=corrupted_json(point),
    )
    def reported(which, parameters, result, curve):
        root = tmp_path_factory.mktemp("database")
        texts = {
            "parameters": json.dumps(good_parameters).encode(),
            "result": json.dumps(json.dumps(RESULT)).encode(),
            "point": json.dumps(json.dumps(point)).encode(),
        }
        texts[which] = {"parameters": parameters, "result": result, "point": curve}[which]
        folder = experiment(root, texts["parameters"], texts["result"], texts["point"])
        rows = read_database(folder / "db" / "nni.sqlite")
        assert "64-tanh" in {row.architecture for row in rows}, "the intact trial is always read"
        page = report(rows, folder, plotted)
        assert "64-tanh" in page and "<script>" not in page
        assert not files_outside(root, folder), "nothing written outside the experiment's folder"

    reported()


@pytest.mark.parametrize("count", DRAWS)
@pytest.mark.parametrize("plotted", PLOTTED)
@pytest.mark.parametrize(
    "name, original, read",
    [
        (CONTROLLER_PROGRESS_FILE, PROGRESS, controller_progress_of),
        (RACE_FILE, RACE, race_of),
    ],
    ids=["controller_progress.json", "race.json"],
)
def test_a_corrupted_strategy_file_for_the_report_is_skipped(tmp_path_factory, count, plotted, name, original, read):
    @draws(count)
    @given(content=corrupted_json(original))
    def skipped(content):
        folder = tmp_path_factory.mktemp("experiment")
        (folder / "checkpoint").mkdir()
        (folder / "checkpoint" / name).write_bytes(content)
        value = read(folder)
        assert isinstance(value, list if name == CONTROLLER_PROGRESS_FILE else dict)
        rows = read_database(
            experiment(
                folder,
                json.dumps(parameters_json({"architecture": "16-relu"})).encode(),
                json.dumps(json.dumps(RESULT)).encode(),
                b"{}",
            )
            / "db"
            / "nni.sqlite"
        )
        summary = experiment_summary(rows, race_of(folder))
        assert summary["answer"] in ("16-relu", "64-tanh")
        report(rows, folder, plotted)

    skipped()


# -- a landscape ----------------------------------------------------------------------------------

HEADER = {
    "env": "CartPole-v1",
    "algorithm": "dqn",
    "space": ARGS["space"],
    "seeds": [0, 1],
    "budget": 1000,
    "rules": {"mean_return": {"rule": "mean_return"}},
}
RECORD = {
    "architecture": "16-relu",
    "seed": 0,
    "budget": 1000,
    "parameters": 98,
    "solved_at": {},
    "scores": {"mean_return": {"value": 10.0}},
    "wall_clock_s": 1.0,
    "curve": [{"env_steps": 1000, "greedy_return": 10.0, "wall_clock_s": 1.0}],
}


@pytest.mark.parametrize("count", DRAWS)
@pytest.mark.parametrize("target", ["header", "record"])
def test_a_corrupted_landscape_is_refused_in_one_line_naming_the_file(tmp_path_factory, count, target):
    original = HEADER if target == "header" else RECORD

    @draws(count)
    @given(content=corrupted_json(original))
    def refused_or_replayed(content):
        folder = tmp_path_factory.mktemp("landscape")
        write_json(folder / LANDSCAPE_FILE, HEADER)
        append_json_lines(folder / RECORDS_FILE, [RECORD, {**RECORD, "seed": 1}])
        if target == "header":
            (folder / LANDSCAPE_FILE).write_bytes(content)
        else:
            (folder / RECORDS_FILE).write_bytes((folder / RECORDS_FILE).read_bytes() + content + b"\n")
        try:
            landscape = load_landscape(folder)
        except ConfigError as error:
            one_line(error, str(folder))  # the header, or a record that no longer fits it
            return
        result = LandscapeTrials(landscape, "mean_return")({"architecture": "16-relu", "train_seeds": [0]})
        assert isinstance(result["default"], float)

    refused_or_replayed()


# -- the strategy's saved state -------------------------------------------------------------------


def saved_state(checkpoint: Path, monkeypatch) -> dict:
    """A random search's state after two finished trials and one running, saved as NNI's tuner saves it."""
    monkeypatch.setenv("NNI_CHECKPOINT_DIRECTORY", str(checkpoint))
    tuner = TUNERS["RlNasRandom"](**ARGS)
    for parameter_id in (0, 1):
        parameters = tuner.generate_parameters(parameter_id)
        tuner.receive_trial_result(parameter_id, parameters, {**RESULT, "train_seeds": parameters["train_seeds"]})
        tuner.trial_end(parameter_id, True)
    tuner.generate_parameters(2)
    return torch.load(checkpoint / STATE_FILE, weights_only=True)


class WritesAFile:
    """A pickle that would create a file if unpickled."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (Path.touch, (self.target,))


def resumed(checkpoint: Path):
    """A new tuner resuming from ``checkpoint``: its strategy asked for trials until it has none."""
    tuner = TUNERS["RlNasRandom"](**ARGS)
    tuner.load_checkpoint()
    for parameter_id in range(10, 16):
        try:
            tuner.generate_parameters(parameter_id)
        except NoMoreTrialError:
            break
    return tuner


@pytest.mark.parametrize("count", DRAWS)
def test_a_corrupted_strategy_state_falls_back_to_the_previous_copy_or_is_refused_naming_it(
    tmp_path_factory, monkeypatch, count
):
    from hypothesis import strategies as st

    checkpoint = tmp_path_factory.mktemp("checkpoint")
    state = saved_state(checkpoint, monkeypatch)
    good = (checkpoint / STATE_FILE).read_bytes()
    marker = checkpoint.parent / f"{checkpoint.name}-code-ran"
    payloads = st.one_of(
        st.integers(0, len(good) - 1).map(lambda length: good[:length]),
        st.binary(max_size=256),
        st.just(pickle.dumps(WritesAFile(marker))),
        st.sampled_from(sorted(state)).map(lambda key: ("missing", key)),
        st.tuples(
            st.sampled_from(sorted(state)),
            st.one_of(st.none(), st.text(max_size=3), st.integers(), st.just(float("nan"))),
        ).map(lambda change: ("changed", *change)),
    )

    @draws(count)
    @given(previous_intact=st.booleans(), payload=payloads)
    def recovered_or_refused(previous_intact, payload):
        if isinstance(payload, tuple):
            broken = {key: value for key, value in state.items() if key != payload[1]}
            if payload[0] == "changed":
                broken[payload[1]] = payload[2]
            torch.save(broken, checkpoint / STATE_FILE)
        else:
            (checkpoint / STATE_FILE).write_bytes(payload)
        (checkpoint / PREVIOUS_STATE_FILE).write_bytes(good if previous_intact else b"\x00 not a state")
        try:
            tuner = resumed(checkpoint)
        except StrategyStartError as error:
            one_line(error, str(checkpoint / STATE_FILE))
            assert not previous_intact, "an intact previous copy is restored"
        else:  # restored: the damaged file itself where it still holds a state, else the previous copy
            if isinstance(payload, bytes) and payload != good:
                assert previous_intact and len(tuner.strategy.history) == 2
        assert not marker.exists(), "no code from the file ran"

    recovered_or_refused()
