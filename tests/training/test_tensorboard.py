"""Trials' TensorBoard logs land where NNI's web UI TensorBoard button reads them."""

import re
from pathlib import Path

import nni_node
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from nni_rl_nas.training.tensorboard import TENSORBOARD_FOLDER
from nni_rl_nas.trial import run_trial
from tests.test_trial import small_task


def test_nni_web_ui_reads_the_folder_trials_write():
    manager = Path(nni_node.__file__).parent / "extensions" / "nniTensorboardManager.js"
    joined = re.findall(
        r"path_1\.default\.join\(await this\.nniManager\.getTrialOutputLocalPath\(trialJobId\), '(\w+)'\)",
        manager.read_text(),
    )
    assert joined == [TENSORBOARD_FOLDER]


def scalars(run: Path) -> dict[str, list[int]]:
    events = EventAccumulator(str(run))
    events.Reload()
    return {tag: [event.step for event in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


@pytest.mark.parametrize("engine", ["sb3", "batched"])
def test_each_seed_writes_its_run_with_the_curve_and_sb3_values(write_experiment, tmp_path, monkeypatch, engine):
    monkeypatch.setenv("NNI_OUTPUT_DIR", str(tmp_path / "out"))
    config = write_experiment(lambda raw: small_task(raw, seeds=2, engine=engine))  # DQN on CartPole
    run_trial(config, "16-relu")
    runs = sorted(path.name for path in (tmp_path / "out" / TENSORBOARD_FOLDER).iterdir())
    assert runs == ["seed_0", "seed_1"]
    for run in runs:
        logged = scalars(tmp_path / "out" / TENSORBOARD_FOLDER / run)
        assert logged["curve/greedy_return"] == [500, 1000]
        assert logged["curve/default"] == [500, 1000]
        if engine == "sb3":  # SB3's own values, through its logger
            assert {"train/loss", "rollout/exploration_rate"} <= set(logged), sorted(logged)
