"""Broken and hopeless trials through the real nnictl, on the faulty CartPole of :mod:`tests.fault_envs`.

Broken trials (an exception, NaN weights, SIGKILL, a hang past ``maxTrialDuration``) each fail
alone, the search goes on and nothing is lost; a hopeless one is stopped by NNI's assessor.
"""

import contextlib
import json
import os

import torch

from nni_rl_nas.cli import main
from nni_rl_nas.records import STATUS_REASONS
from nni_rl_nas.replay import load_agent
from nni_rl_nas.tuner import STATE_FILE
from tests.conftest import REPO
from tests.experiments import check_trial, finished_trials, start_experiment, trial_folder

TRIAL_LIMIT_S = 25  # the hanging trial holds a slot this long; a healthy one ends in about 7 s alone
EXPECTED = {  # fault: (NNI status, the report's reason)
    "raise": ("FAILED", "raised RuntimeError: injected fault: the simulator crashed"),
    "nan": ("FAILED", "raised nni_rl_nas.training.curve.TrainingDiverged: non-finite weights in q_net"),
    "kill": ("FAILED", STATUS_REASONS["FAILED"]),
    "hang": ("EARLY_STOPPED", "stopped by NNI for running past maxTrialDuration"),
}


FAULTY_CARTPOLE = "tests.fault_envs:FaultyCartPole-v0"


def broken_trials(raw: dict) -> None:
    """quick_cartpole.yml on the faulty CartPole, with six architectures for six trials."""
    raw["maxTrialNumber"] = 6
    raw["maxTrialDuration"] = f"{TRIAL_LIMIT_S}s"
    raw["searchSpace"]["layer1_width"]["_value"] = [16, 32, 64]
    space, task = raw["tuner"]["classArgs"]["space"], raw["tuner"]["classArgs"]["task"]
    space["widths"] = [16, 32, 64]
    task.update(env=FAULTY_CARTPOLE, total_timesteps=4000, report_every=1000)


@contextlib.contextmanager
def faulty_experiment(tmp_path, faults: dict[str, str], edit):
    """``edit``ed quick_cartpole.yml with fault files {name: content} for its trials to claim."""
    directory = tmp_path / "faults"
    directory.mkdir()
    for fault, content in faults.items():
        (directory / fault).write_text(content)
    env = {
        "FAULTS_DIR": str(directory),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    with start_experiment(tmp_path, "quick_cartpole.yml", edit, env) as experiment:
        yield experiment


def claimed_faults(tmp_path) -> dict[str, str]:
    """{trial id: the fault it claimed}."""
    return {claimed.suffix[1:]: claimed.stem for claimed in (tmp_path / "faults").iterdir() if claimed.suffix}


def architectures(trials: list[dict]) -> dict[str, str]:
    return {t["trialJobId"]: json.loads(t["hyperParameters"][0])["parameters"]["architecture"] for t in trials}


def report_page(experiment_id: str, root, out) -> str:
    assert main(["report", experiment_id, "--experiments-dir", str(root.parent), "--out", str(out)]) == 0
    return (out / "report.html").read_text()


def reason_in_report(page: str, trial_id: str, architecture: str, status: str) -> str:
    """The reason cell of the report's row for a trial without a score."""
    row = f"<tr><td>{trial_id}</td><td>{architecture}</td><td>{status}</td>"
    assert row in page, (row, page[-2000:])
    return page[page.index(row) :].split("</tr>")[0]


def test_each_broken_trial_fails_alone_and_the_search_goes_on(tmp_path):
    with faulty_experiment(tmp_path, {fault: "" for fault in EXPECTED}, broken_trials) as (experiment_id, port, root):
        trials, metrics = finished_trials(experiment_id, port)
    fault_of = claimed_faults(tmp_path)
    assert sorted(fault_of.values()) == sorted(EXPECTED), "each fault hit one trial"
    status = {trial["trialJobId"]: trial["status"] for trial in trials}
    assert {fault: status[trial] for trial, fault in fault_of.items()} == {f: s for f, (s, _) in EXPECTED.items()}

    # the search went on: the other trials trained and scored their architectures
    succeeded = [trial for trial in trials if trial["trialJobId"] not in fault_of]
    finals = [check_trial(trial, metrics, root, min_curve_points=3) for trial in succeeded]
    assert len(trials) == 6 and len(finals) == 2

    # the strategy learnt of every failure, and its saved state is whole
    history = torch.load(root / "checkpoint" / STATE_FILE, weights_only=True)["history"]
    assert len(history) == 6 and sum(record["score"] is None for record in history) == 4
    architecture_of = architectures(trials)
    assert {r["name"] for r in history if r["score"] is None} == {architecture_of[trial] for trial in fault_of}

    # nothing already written was lost, and the report says why each broken trial has no score
    for trial in succeeded:
        loaded = load_agent(trial_folder(root, trial["trialJobId"]), env_modules=[FAULTY_CARTPOLE.partition(":")[0]])
        assert loaded.name in architecture_of.values()
    page = report_page(experiment_id, root, tmp_path / "report")
    for trial, fault in fault_of.items():
        expected_status, reason = EXPECTED[fault]
        assert reason in reason_in_report(page, trial, architecture_of[trial], expected_status), fault


def hopeless_third_trial(raw: dict) -> None:
    """quick_cartpole.yml one trial at a time under NNI's Medianstop assessor; 6 curve points a
    trial; the third trial is the lame one, judged against the median of the first two."""
    raw["trialConcurrency"] = 1
    raw["maxTrialNumber"] = 3
    raw["assessor"] = {"name": "Medianstop", "classArgs": {"optimize_mode": "maximize", "start_step": 2}}
    raw["tuner"]["classArgs"]["task"].update(env=FAULTY_CARTPOLE, total_timesteps=6000, report_every=1000)


def test_medianstop_stops_a_hopeless_trial_from_its_learning_curve(tmp_path):
    with faulty_experiment(tmp_path, {"lame": "2"}, hopeless_third_trial) as (experiment_id, port, root):
        trials, metrics = finished_trials(experiment_id, port)
    ((lame, _),) = claimed_faults(tmp_path).items()
    status = {trial["trialJobId"]: trial["status"] for trial in trials}
    assert status.pop(lame) == "EARLY_STOPPED"
    assert set(status.values()) <= {"SUCCEEDED", "EARLY_STOPPED"} and "SUCCEEDED" in status.values()
    curve = [
        json.loads(json.loads(m["data"]))["default"]
        for m in metrics
        if m["trialJobId"] == lame and m["type"] == "PERIODICAL"
    ]
    assert 2 <= len(curve) < 6 and set(curve) == {0.0}, "stopped at the assessor's first look, not at the end"
    assert "Assessor error" not in (root / "log" / "dispatcher.log").read_text()
    page = report_page(experiment_id, root, tmp_path / "report")
    assert "stopped by NNI as hopeless" in reason_in_report(page, lame, architectures(trials)[lame], "EARLY_STOPPED")
