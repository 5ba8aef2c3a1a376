"""NNI's PBT through RlNasNniTuner: trials save their agents, the next generation continues them."""

import json

import numpy as np
import pytest
import torch

from nni_rl_nas.algorithms import NetworkFactory
from nni_rl_nas.experiment import load_experiment
from nni_rl_nas.strategies import NniTunerStrategy, NothingToPropose
from nni_rl_nas.training.checkpoints import restore_run, save_runs
from nni_rl_nas.training.seeds import SeedRun
from nni_rl_nas.trial import run_trial
from tests.conftest import class_args

SEARCHED = {
    "learning_rate": {"_type": "loguniform", "_value": [0.0005, 0.005]},
    "exploration_fraction": {"_type": "uniform", "_value": [0.05, 0.3]},
}


def pbt(checkpoints):
    def edit(raw):
        raw["tuner"]["name"] = "RlNasNniTuner"
        class_args(raw).update(
            algorithm="PBT",
            search_hyperparameters=SEARCHED,
            seed=0,
            algorithm_args={"population_size": 2, "all_checkpoint_dir": str(checkpoints)},
        )
        class_args(raw)["task"].update(
            total_timesteps=1024, report_every=512, score={"rule": "mean_return", "episodes": 2}
        )
        raw["searchSpace"] = {}

    return edit


def test_a_saved_agent_continues_with_its_weights_optimizer_buffer_and_curve(write_experiment, tmp_path):
    task = load_experiment(write_experiment(pbt(tmp_path))).spec.task
    space = load_experiment(write_experiment(pbt(tmp_path))).spec.build_space()
    factory = NetworkFactory(space, {"layer1_width": 16, "layer1_activation": "relu"})
    trained = SeedRun(task, factory, "cpu", None)
    while not trained.done:
        trained.advance()
    save_runs([trained], tmp_path / "saved")
    continued = SeedRun(task, factory, "cpu", None)
    restore_run(continued, tmp_path / "saved")
    for name, tensor in trained.agent.policy.state_dict().items():
        assert torch.equal(tensor, continued.agent.policy.state_dict()[name]), name
    assert (
        continued.agent.policy.optimizer.state_dict()["state"].keys()
        == trained.agent.policy.optimizer.state_dict()["state"].keys()
        != set()
    )
    assert np.array_equal(continued.agent.replay_buffer.observations, trained.agent.replay_buffer.observations)
    assert continued.agent.replay_buffer.pos == trained.agent.replay_buffer.pos
    assert continued.agent.num_timesteps == trained.agent.num_timesteps >= 1024
    assert continued.curve.points == trained.curve.points and continued.curve.next_report > 1024


def test_pbt_generations_continue_the_agents_they_exploit_with_their_architectures(
    write_experiment, tmp_path, monkeypatch
):
    config = write_experiment(pbt(tmp_path / "checkpoints"))
    strategy = NniTunerStrategy(**class_args(load_experiment(config).raw))
    finished = []
    for generation in range(2):  # of two members each
        members = {trial_id: strategy.ask(trial_id) for trial_id in (2 * generation, 2 * generation + 1)}
        with pytest.raises(NothingToPropose, match="every member of this generation is running"):
            strategy.ask(99)
        for trial_id, parameters in members.items():
            monkeypatch.setenv("NNI_OUTPUT_DIR", str(tmp_path / str(trial_id)))
            result = run_trial(config, parameters=parameters)
            strategy.tell(trial_id, parameters, result)
            strategy.tell_end(trial_id, True)
            finished.append((parameters, result))
    saved = {parameters["save_checkpoint_dir"]: parameters for parameters, _ in finished[:2]}
    for parameters, result in finished[2:]:
        assert result["generation"] == 1 and result["env_steps"] >= 1024
        assert result["agent_env_steps"] >= 2048, "the second generation continues an agent of the first"
        parent = saved[parameters["load_checkpoint_dir"]]
        assert (parameters["layer1_width"], parameters["layer1_activation"]) == (
            parent["layer1_width"],
            parent["layer1_activation"],
        ), "the architecture travels with its weights"
        record = json.loads((tmp_path / str(finished.index((parameters, result))) / "trial.json").read_text())
        assert [point["env_steps"] for point in record["curve"]][:2] == [512, 1024], (
            "the curve goes on from its parent's"
        )
