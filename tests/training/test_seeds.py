"""Multi-seed scoring: a trial's score is the mean over its seeds, each seed trained as it would be alone."""

import numpy as np
import pytest
import torch

from nni_rl_nas.experiment import load_experiment
from nni_rl_nas.training import seeds as seeds_module
from nni_rl_nas.trial import run_trial
from tests.conftest import class_args


def tiny_cartpole(seed: int, count: int):
    def edit(raw):
        class_args(raw)["task"].update(
            seed=seed,
            seeds=count,
            total_timesteps=1500,
            report_every=500,
            score={"rule": "mean_return", "episodes": 3},
            hyperparameters={"learning_starts": 0, "train_freq": 4, "gradient_steps": 1},
        )

    return edit


def test_the_score_is_the_mean_over_seeds_and_each_seed_trains_as_it_would_alone(
    write_experiment, tmp_path, monkeypatch
):
    published = []
    monkeypatch.setattr(seeds_module.nni, "report_intermediate_result", published.append)
    monkeypatch.setenv("NNI_OUTPUT_DIR", str(tmp_path / "pair"))
    pair = run_trial(write_experiment(tiny_cartpole(seed=4, count=2)), "16-relu")
    pair_curve = list(published)
    alone = []
    for seed in (4, 5):
        monkeypatch.setenv("NNI_OUTPUT_DIR", str(tmp_path / f"alone{seed}"))
        alone.append(run_trial(write_experiment(tiny_cartpole(seed=seed, count=1), name=f"alone{seed}.yml"), "16-relu"))

    assert pair["seeds"] == 2 and pair["seed_scores"] == [result["default"] for result in alone]
    assert pair["default"] == pytest.approx(np.mean(pair["seed_scores"]))
    assert pair["score_std"] == pytest.approx(np.std(pair["seed_scores"]))
    assert pair["env_steps"] == sum(result["env_steps"] for result in alone), "the cost counts every seed"
    assert pair["saved_seed"] == 4 + int(np.argmax(pair["seed_scores"]))
    saved = torch.load(tmp_path / "pair" / "model.pt", weights_only=True)
    trained_alone = torch.load(tmp_path / f"alone{pair['saved_seed']}" / "model.pt", weights_only=True)
    assert all(torch.equal(saved[key], trained_alone[key]) for key in saved), "same weights as when trained alone"

    # NNI's curve is the mean curve, one point per report interval
    assert [point["env_steps"] for point in pair_curve] == [500, 1000, 1500]
    for point in pair_curve:
        assert len(point["seed_defaults"]) == 2 and point["default"] == pytest.approx(np.mean(point["seed_defaults"]))


def test_lunar_lander_defaults_to_three_seeds_and_seeds_must_be_positive(write_experiment):
    lunar = load_experiment(write_experiment(lambda raw: class_args(raw)["task"].update(env="LunarLander-v3")))
    assert lunar.spec.task.seed_count == 3
    assert load_experiment(write_experiment()).spec.task.seed_count == 1  # CartPole: one seed unless asked
    from nni_rl_nas.errors import ConfigError

    with pytest.raises(ConfigError, match="task.seeds: got 0"):
        load_experiment(write_experiment(lambda raw: class_args(raw)["task"].update(seeds=0)))
