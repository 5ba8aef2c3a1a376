"""Broken trials through the real nnictl: each fails alone, the search goes on, nothing is lost.

Four of six trials meet one injected fault each (see :mod:`tests.fault_envs`): an exception, NaN
weights, SIGKILL, and a hang past ``maxTrialDuration``.
"""

import json
import os

import pytest
import torch

from nni_rl_nas.cli import main
from nni_rl_nas.failures import STATUS_REASONS
from nni_rl_nas.replay import load_agent
from nni_rl_nas.strategies.base import STATE_FILE
from tests.conftest import REPO
from tests.experiments import check_trial, finished_trials, start_experiment
from tests.fault_envs import FAULTS

TRIAL_LIMIT_S = 60
EXPECTED = {  # fault: (NNI status, the report's reason)
    "raise": ("FAILED", "raised RuntimeError: injected fault: the simulator crashed"),
    "nan": ("FAILED", "raised nni_rl_nas.evaluator.reporting.TrainingDiverged: non-finite weights in q_net"),
    "kill": ("FAILED", STATUS_REASONS["FAILED"]),
    "hang": ("EARLY_STOPPED", "stopped by NNI for running past maxTrialDuration"),
}


def faulty_quick_cartpole(raw: dict) -> None:
    """quick_cartpole.yml on the faulty CartPole, with six architectures for six trials."""
    raw["maxTrialNumber"] = 6
    raw["maxTrialDuration"] = f"{TRIAL_LIMIT_S}s"
    raw["searchSpace"]["layer1_width"]["_value"] = [16, 32, 64]
    space, task = raw["tuner"]["classArgs"]["space"], raw["tuner"]["classArgs"]["task"]
    space["widths"] = [16, 32, 64]
    task.update(env="tests.fault_envs:FaultyCartPole-v0", total_timesteps=6000, report_every=2000)


@pytest.fixture
def faulty_experiment(tmp_path):
    faults = tmp_path / "faults"
    faults.mkdir()
    for fault in FAULTS:
        (faults / fault).touch()
    env = {"FAULTS_DIR": str(faults), "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    with start_experiment(tmp_path, "quick_cartpole.yml", faulty_quick_cartpole, env) as experiment:
        yield experiment


def test_each_broken_trial_fails_alone_and_the_search_goes_on(faulty_experiment, tmp_path):
    experiment_id, port, root = faulty_experiment
    trials, metrics = finished_trials(experiment_id, port)
    fault_of = {claimed.suffix[1:]: claimed.stem for claimed in (tmp_path / "faults").iterdir()}
    assert sorted(fault_of.values()) == sorted(FAULTS), "each fault hit one trial"
    status = {trial["trialJobId"]: trial["status"] for trial in trials}
    assert {fault: status[trial] for trial, fault in fault_of.items()} == {f: s for f, (s, _) in EXPECTED.items()}

    # the search went on: the other trials trained and scored their architectures
    succeeded = [trial for trial in trials if trial["trialJobId"] not in fault_of]
    finals = [check_trial(trial, metrics, root, min_curve_points=3) for trial in succeeded]
    assert len(trials) == 6 and len(finals) == 2

    # the strategy learnt of every failure, and its saved state is whole
    history = torch.load(root / "checkpoint" / STATE_FILE, weights_only=True)["history"]
    assert len(history) == 6 and sum(record["score"] is None for record in history) == 4
    architecture_of = {t["trialJobId"]: json.loads(t["hyperParameters"][0])["parameters"]["architecture"] for t in trials}
    assert {r["name"] for r in history if r["score"] is None} == {architecture_of[trial] for trial in fault_of}

    # nothing already written was lost, and the report says why each broken trial has no score
    for trial in succeeded:
        assert load_agent(root / "environments" / "local-env" / "trials" / trial["trialJobId"]).name in architecture_of.values()
    out = tmp_path / "report"
    assert main(["report", experiment_id, "--experiments-dir", str(root.parent), "--out", str(out)]) == 0
    page = (out / "report.html").read_text()
    for trial, fault in fault_of.items():
        expected_status, reason = EXPECTED[fault]
        row = f"<tr><td>{trial}</td><td>{architecture_of[trial]}</td><td>{expected_status}</td>"
        assert row in page and reason in page[page.index(row):].split("</tr>")[0], (fault, page[page.index(row):][:400])
