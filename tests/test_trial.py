import json
import math

import pytest
import torch

from nni_rl_nas.algorithms import NetworkFactory, build_agent
from nni_rl_nas.experiment import load_experiment
from nni_rl_nas.training.curve import TrainingDiverged
from nni_rl_nas.trial import check_architecture, pick_device, run_trial
from tests.conftest import class_args


def small_task(raw, **task):
    class_args(raw)["task"].update(
        total_timesteps=1000,
        report_every=500,
        score={"rule": "mean_return", "episodes": 3},
        hyperparameters={"learning_starts": 0, "train_freq": 4, "gradient_steps": 1},
        **task,
    )


def test_trial_saves_an_agent_that_reloads_without_pickled_code(write_experiment, tmp_path, monkeypatch):
    monkeypatch.setenv("NNI_OUTPUT_DIR", str(tmp_path / "out"))
    config = write_experiment(small_task)
    result = run_trial(config, "64-tanh")
    assert result["architecture"] == "64-tanh" and result["env_steps"] >= 1000
    assert result["device"] == ("cuda" if torch.cuda.is_available() else "cpu")
    assert result["parameters"] == 4 * 64 + 64 + 64 * 2 + 2
    record = json.loads((tmp_path / "out" / "trial.json").read_text())
    assert record["architecture"] == {"layer1_width": 64, "layer1_activation": "tanh"}
    assert record["result"] == json.loads(json.dumps(result))
    assert [point["env_steps"] for point in record["curve"]] == [500, 1000]
    assert all(point["greedy_return"] is not None for point in record["curve"])

    state = torch.load(tmp_path / "out" / "model.pt", weights_only=True)
    spec = load_experiment(config).spec
    space = spec.build_space()
    rebuilt = build_agent(spec.task, NetworkFactory(space, record["architecture"]), "cpu")
    rebuilt.policy.load_state_dict(state)
    observation = torch.randn(7, 4)
    assert rebuilt.policy.q_net(observation).shape == (7, 2)


def test_a_nan_loss_fails_the_trial_with_a_readable_reason(write_experiment, tmp_path, monkeypatch):
    monkeypatch.setenv("NNI_OUTPUT_DIR", str(tmp_path / "out"))
    config = write_experiment(
        lambda raw: small_task(raw) or class_args(raw)["task"]["hyperparameters"].update(learning_rate=1e30)
    )
    with pytest.raises(TrainingDiverged, match="non-finite weights .* fix: lower task.hyperparameters.learning_rate"):
        run_trial(config, "16-relu")
    assert not (tmp_path / "out" / "model.pt").exists()


def test_a_trial_past_its_time_cap_stops_and_is_scored_as_capped(write_experiment, tmp_path, monkeypatch):
    monkeypatch.setenv("NNI_OUTPUT_DIR", str(tmp_path / "out"))
    config = write_experiment(
        lambda raw: small_task(raw, max_trial_seconds=0.5) or class_args(raw)["task"].update(total_timesteps=1_000_000)
    )
    result = run_trial(config, "16-relu")
    assert result["capped"] is True
    assert 0 < result["env_steps"] < 1_000_000
    assert result["training_s"] < 30
    assert result["eval_episodes"] == 3, "a capped trial is still scored"


def test_parameters_outside_the_space_are_refused(write_experiment):
    space = load_experiment(write_experiment()).spec.build_space()
    with pytest.raises(ValueError, match=r"layer1_width=32 is not in the space's choices \[16, 64\]"):
        check_architecture(space, {"layer1_width": 32, "layer1_activation": "relu"})
    with pytest.raises(ValueError, match="lack the decisions"):
        check_architecture(space, {"layer1_width": 16})


def test_dqn_learns_cartpole_with_the_shipped_defaults(write_experiment, tmp_path, monkeypatch):
    """A real learning run: zoo CartPole settings, 50k steps, seed 0. Untrained policies score ~10."""
    monkeypatch.setenv("NNI_OUTPUT_DIR", str(tmp_path / "out"))
    config = write_experiment(
        lambda raw: (
            class_args(raw).update(
                space={"family": "mlp", "depth": 2, "widths": [64], "activations": ["relu"]},
                task={
                    "env": "CartPole-v1",
                    "seed": 0,
                    "report_every": 10000,
                    "score": {"rule": "mean_return", "episodes": 20},
                },
            )
            or raw.update(searchSpace={})
        )
    )
    result = run_trial(config, "64-relu_64-relu")
    assert result["env_steps"] >= 50000
    assert result["mean_return"] >= 400, result


def test_device_auto_follows_the_gpus_nni_shows_the_trial_and_cuda_without_one_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device("auto") == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert pick_device("auto") == "cpu" and pick_device("cpu") == "cpu"
    with pytest.raises(
        RuntimeError, match=r"task.device is 'cuda:1' but this trial sees no GPU .*fix: .*trialGpuNumber: 1"
    ):
        pick_device("cuda:1")


def test_with_a_cost_penalty_the_result_carries_the_objective_the_report_ranks_by(
    write_experiment, tmp_path, monkeypatch
):
    monkeypatch.setenv("NNI_OUTPUT_DIR", str(tmp_path / "out"))
    config = write_experiment(lambda raw: small_task(raw) or class_args(raw).update(cost={"per_tenfold": 10.0}))
    result = run_trial(config, "64-tanh")
    assert result["objective"] == pytest.approx(result["default"] - 10.0 * math.log10(result["parameters"]))


def test_a_trial_trains_the_seeds_its_parameters_list_and_says_so(write_experiment, tmp_path, monkeypatch):
    monkeypatch.setenv("NNI_OUTPUT_DIR", str(tmp_path / "out"))
    config = write_experiment(small_task)
    result = run_trial(
        config,
        parameters={
            "layer1_width": 16,
            "layer1_activation": "relu",
            "architecture": "16-relu",
            "train_seeds": [1000, 1001],
            "verdict": True,
        },
    )
    assert result["train_seeds"] == [1000, 1001] and result["verdict"] is True
    assert len(result["seed_scores"]) == 2 and result["env_steps"] >= 2000
    with pytest.raises(ValueError, match=r"parameter train_seeds=\[-1\]: a non-empty list of whole numbers >= 0"):
        run_trial(config, parameters={"layer1_width": 16, "layer1_activation": "relu", "train_seeds": [-1]})


def test_a_baseline_outside_the_searched_choices_trains_in_a_space_that_holds_it(
    write_experiment, tmp_path, monkeypatch
):
    monkeypatch.setenv("NNI_OUTPUT_DIR", str(tmp_path / "out"))
    config = write_experiment(lambda raw: small_task(raw) or class_args(raw).update(baselines=["128-tanh"]))
    result = run_trial(
        config,
        parameters={
            "layer1_width": 128,
            "layer1_activation": "tanh",
            "architecture": "128-tanh",
            "baseline": True,
            "train_seeds": [0],
        },
    )
    assert result["baseline"] is True and result["parameters"] == 4 * 128 + 128 + 128 * 2 + 2
    record = json.loads((tmp_path / "out" / "trial.json").read_text())
    assert 128 in record["space"]["options"]["widths"] and "tanh" in record["space"]["options"]["activations"]
    with pytest.raises(ValueError, match="layer1_width=128 is not in the space's choices"):
        run_trial(config, parameters={"layer1_width": 128, "layer1_activation": "tanh", "train_seeds": [0]})
