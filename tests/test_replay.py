"""`nni-rl-nas play`: a saved trial plays again, from its folder or as the best of an experiment."""

import json
import os
import shutil

import imageio.v2 as imageio
import pytest
import torch
import yaml

from nni_rl_nas.cli import main
from nni_rl_nas.errors import ConfigError
from nni_rl_nas.trial import run_trial
from nni_rl_nas.replay import best_trial, load_agent, play, trial_folders
from tests.conftest import class_args, load_yaml


@pytest.fixture(scope="module")
def experiment_folder(tmp_path_factory):
    """A fake experiment layout holding two real trials of quick_cartpole at a tiny budget."""
    root = tmp_path_factory.mktemp("experiments")
    config = root / "experiment.yml"
    raw = load_yaml("quick_cartpole.yml")
    raw["trialCommand"] = "nni-rl-nas trial experiment.yml"
    class_args(raw)["task"].update(total_timesteps=2000, report_every=1000, eval_episodes=2,
                                   score={"rule": "mean_return", "episodes": 3})
    config.write_text(yaml.safe_dump(raw))
    for trial, architecture in (("aaaaa", "16-relu"), ("bbbbb", "64-tanh")):
        folder = root / "exp1" / "environments" / "local-env" / "trials" / trial
        folder.mkdir(parents=True)
        os.environ["NNI_OUTPUT_DIR"] = str(folder)
        run_trial(config, architecture)
    del os.environ["NNI_OUTPUT_DIR"]
    return root


def test_the_best_trial_of_an_experiment_is_found_by_id_and_played(experiment_folder, capsys):
    folders = trial_folders("exp1", experiment_folder)
    assert len(folders) == 2
    scores = {f.name: json.loads((f / "trial.json").read_text())["result"]["default"] for f in folders}
    assert best_trial(folders).name == max(scores, key=scores.get)
    assert main(["play", "exp1", "--experiments-dir", str(experiment_folder), "--episodes", "2"]) == 0
    assert "mean return" in capsys.readouterr().out


def test_play_returns_match_the_saved_greedy_policy_and_write_a_video(experiment_folder, tmp_path):
    folder = trial_folders("exp1", experiment_folder)[0]
    loaded = load_agent(folder)
    returns = play(loaded, episodes=2, seed=5, video=tmp_path / "run.mp4")
    assert returns == play(load_agent(folder), episodes=2, seed=5), "the same weights play the same episodes"
    frames = imageio.get_reader(tmp_path / "run.mp4").count_frames()
    assert frames == sum(returns), "CartPole gives 1 per step: one frame per step"


def test_weights_are_loaded_without_unpickling_code(experiment_folder, tmp_path):
    folder = tmp_path / "tampered"
    shutil.copytree(trial_folders("exp1", experiment_folder)[0], folder)

    class Payload:
        def __reduce__(self):
            return (print, ("pickled code ran",))

    torch.save({"evil": Payload()}, folder / "model.pt")
    with pytest.raises(Exception, match="Weights only load failed|Unsupported global"):
        load_agent(folder)


def test_a_target_without_trials_names_the_fix(tmp_path):
    with pytest.raises(ConfigError, match="fix: pass a trial folder, an experiment folder"):
        trial_folders("nope", tmp_path)
