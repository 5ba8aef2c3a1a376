"""Run a shipped config through the real nnictl, isolated: HOME and experimentWorkingDirectory
point into a temporary directory and the web UI gets a free port, so nothing touches the machine's
~/nni-experiments. Every experiment is stopped by its id."""

import contextlib
import json
import os
import re
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from nni_rl_nas.records import ENDED_WITHOUT_SCORE
from tests.conftest import CONFIGS

TIMEOUT_S = 900
ENDED = ("SUCCEEDED", *ENDED_WITHOUT_SCORE)  # not ADD_RESUMED, WAITING, RUNNING ...
CREATE_ATTEMPTS = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rest(port: int, path: str):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/nni/{path}", timeout=10) as response:
        return json.loads(response.read())


@contextlib.contextmanager
def start_experiment(tmp_path, config_name: str, edit=None, env: dict[str, str] | None = None):
    """Start a shipped config (copied into tmp_path, changed by ``edit(raw)``) with ``env`` added to
    the environment NNI and its trials inherit; yield (id, port, working dir); stop it by id."""
    raw = yaml.safe_load((CONFIGS / config_name).read_text())
    raw["experimentWorkingDirectory"] = str(tmp_path / "experiments")
    if edit:
        edit(raw)
    config = tmp_path / config_name
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    env = {**os.environ, **(env or {}), "HOME": str(tmp_path)}
    for _attempt in range(CREATE_ATTEMPTS):
        port = free_port()
        created = subprocess.run(
            ["nnictl", "create", "--config", str(config), "--port", str(port)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        match = re.search(r"Experiment ID: (\w+)", re.sub(r"\x1b\[[0-9;]*m", "", created.stdout))
        if created.returncode == 0 and match and "Create experiment failed" not in created.stdout:
            break
        # nnictl gives NNI's manager ~3 s to start; on a busy machine it can be slower
        if match:
            subprocess.run(["nnictl", "stop", match.group(1)], capture_output=True, env=env, timeout=120)
    else:
        pytest.fail(f"nnictl create failed {CREATE_ATTEMPTS} times:\n{created.stdout}\n{created.stderr}")
    experiment_id = match.group(1)
    try:
        yield experiment_id, port, tmp_path / "experiments" / experiment_id
    finally:
        subprocess.run(["nnictl", "stop", experiment_id], capture_output=True, env=env, timeout=120)


def finished(status: str, port: int, waits_between_rounds: bool = False) -> bool:
    """NNI says DONE only once maxTrialNumber trials ran. A strategy that proposes fewer (ENAS, when
    searches derive the same architecture) leaves it at TUNER_NO_MORE_TRIAL with every trial ended;
    NNI's Hyperband says the same between its rounds, and a progressive search between its levels
    (``waits_between_rounds``), then goes on."""
    if status == "TUNER_NO_MORE_TRIAL" and not waits_between_rounds:
        return all(trial["status"] in ENDED for trial in rest(port, "trial-jobs"))
    return status in ("DONE", "ERROR", "STOPPED")


def finished_trials(
    experiment_id: str, port: int, timeout_s: float = TIMEOUT_S, waits_between_rounds: bool = False
) -> tuple[list[dict], list[dict]]:
    """Wait until the experiment is DONE; return its trials and metric records from the REST API."""
    deadline = time.monotonic() + timeout_s
    while not finished(status := rest(port, "check-status")["status"], port, waits_between_rounds):
        assert time.monotonic() < deadline, f"experiment {experiment_id} still {status} after {timeout_s}s"
        time.sleep(3)
    assert status in ("DONE", "TUNER_NO_MORE_TRIAL"), rest(port, "check-status")
    return rest(port, "trial-jobs"), rest(port, "metric-data")


def settled_status(port: int, expected: str, timeout_s: float = 60.0) -> str:
    """The experiment's status once it reads ``expected``, or the last one read after ``timeout_s``:
    a strategy that ends the experiment leaves it at TUNER_NO_MORE_TRIAL, every trial ended, for the
    moment NNI takes to turn it DONE."""
    deadline = time.monotonic() + timeout_s
    while (status := rest(port, "check-status")["status"]) != expected and time.monotonic() < deadline:
        time.sleep(1)
    return status


def trial_folder(root: Path, trial_id: str) -> Path:
    """Where a trial of the experiment folder ``root`` wrote its outputs (any training service)."""
    (folder,) = root.glob(f"environments/*/trials/{trial_id}")
    return folder


def check_trial(trial: dict, metrics: list[dict], root: Path, min_curve_points: int = 5) -> dict:
    """The trial SUCCEEDED, reported a curve, and NNI shows the architecture (and the searched
    hyperparameters) its own process trained."""
    assert trial["status"] == "SUCCEEDED", trial
    parameters = json.loads(trial["hyperParameters"][0])["parameters"]
    final = json.loads(json.loads(trial["finalMetricData"][0]["data"]))
    curve = [m for m in metrics if m["trialJobId"] == trial["trialJobId"] and m["type"] == "PERIODICAL"]
    assert len(curve) >= min_curve_points, "the learning curve reaches NNI as intermediate results"
    if parameters.get("phase") == "search":
        assert final["top_k"], "a search derives architectures"
        return final
    record = json.loads(trial_folder(root, trial["trialJobId"]).joinpath("trial.json").read_text())
    assert record["trial_id"] == trial["trialJobId"]
    # the web UI's columns are the architecture's choices and the searched hyperparameters
    shown = {
        k: v
        for k, v in parameters.items()
        if k
        not in (
            "architecture",
            "baseline",
            "proposal",
            "TRIAL_BUDGET",
            "load_checkpoint_dir",
            "save_checkpoint_dir",
            "train_seeds",
            "verdict",
        )
    }
    assert shown == {**record["architecture"], **record.get("hyperparameters", {})}
    assert (
        parameters.get("train_seeds", final["train_seeds"]) == final["train_seeds"] == record["result"]["train_seeds"]
    ), "the trial trained the seeds NNI shows for it"
    if record.get("hyperparameters"):  # searched ones (a classifier's task has none)
        assert record["task"]["hyperparameters"].items() >= record["hyperparameters"].items(), "the agent took them"
    assert final["baseline"] == bool(parameters.get("baseline")), "a baseline trial is marked as one in its result"
    # NNI's Hyperband names no architecture in its parameters; the trial names what it trained
    assert (
        parameters.get("architecture", final["architecture"])
        == final["architecture"]
        == record["result"]["architecture"]
    )
    assert final["default"] == record["result"]["default"]
    assert final.items() >= parameters.get("proposal", {}).items(), "the result repeats what the strategy expected"
    return final
