"""`nni-rl-nas play`: a saved trial plays again, from its folder or as the best of an experiment."""

import importlib
import json
import os
import shutil

import imageio.v2 as imageio
import pytest
import torch
import yaml

from nni_rl_nas.cli import main
from nni_rl_nas.errors import ConfigError
from nni_rl_nas.replay import best_trial, load_agent, play, trial_folders
from nni_rl_nas.trial import run_trial
from tests.conftest import class_args, load_yaml


@pytest.fixture(scope="module")
def experiment_folder(tmp_path_factory):
    """A fake experiment layout holding two real trials of quick_cartpole at a tiny budget."""
    root = tmp_path_factory.mktemp("experiments")
    config = root / "experiment.yml"
    raw = load_yaml("quick_cartpole.yml")
    raw["trialCommand"] = "nni-rl-nas trial experiment.yml"
    class_args(raw)["task"].update(
        total_timesteps=2000, report_every=1000, eval_episodes=2, score={"rule": "mean_return", "episodes": 3}
    )
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


def tampered_copy(experiment_folder, tmp_path):
    folder = tmp_path / "tampered"
    shutil.copytree(trial_folders("exp1", experiment_folder)[0], folder)
    return folder


class Payload:
    def __reduce__(self):
        return (print, ("pickled code ran",))


def test_weights_are_loaded_without_unpickling_code_and_refused_in_one_line(experiment_folder, tmp_path, capsys):
    folder = tampered_copy(experiment_folder, tmp_path)
    torch.save({"evil": Payload()}, folder / "model.pt")
    with pytest.raises(ConfigError, match=r"model.pt is not the plain tensors .* never unpickled; fix: ") as refused:
        load_agent(folder)
    assert "weights_only=False" not in str(refused.value), "never torch's advice to disable the safe load"
    assert main(["play", str(folder), "--episodes", "1"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: play: ") and error.count("\n") == 1 and "pickled code ran" not in error


def test_play_never_imports_a_module_that_a_trial_record_names(experiment_folder, tmp_path, monkeypatch):
    folder = tampered_copy(experiment_folder, tmp_path)
    record = json.loads((folder / "trial.json").read_text())
    record["task"]["env"] = "tests.fault_envs:FaultyCartPole-v0"  # importing a module runs its code
    (folder / "trial.json").write_text(json.dumps(record))
    imported, import_module = [], importlib.import_module
    monkeypatch.setattr(importlib, "import_module", lambda name, *args: imported.append(name) or import_module(name))
    with pytest.raises(
        ConfigError,
        match=r"names env 'tests.fault_envs:FaultyCartPole-v0', which needs module "
        r"'tests.fault_envs' imported; .* fix: --env-module tests.fault_envs",
    ):
        load_agent(folder)
    assert "tests.fault_envs" not in imported
    load_agent(folder, env_modules=["tests.fault_envs"])  # the user's explicit choice
    assert "tests.fault_envs" in imported


def test_a_damaged_trial_record_is_refused_naming_the_file(experiment_folder, tmp_path):
    folder = tampered_copy(experiment_folder, tmp_path)
    (folder / "trial.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"trial.json is not a trial record written by nni-rl-nas"):
        load_agent(folder)


def test_a_target_without_trials_names_the_fix(tmp_path):
    with pytest.raises(ConfigError, match="fix: pass a trial folder, an experiment folder"):
        trial_folders("nope", tmp_path)


def test_any_field_of_a_trial_record_changed_is_refused_in_one_line_or_played(experiment_folder, tmp_path):
    """A downloaded trial folder is untrusted input: whatever its trial.json says (hypothesis changes one
    field to a bad value), play refuses it with a ConfigError, or loads an agent; no other exception."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tests.mutations import BAD_VALUES, changed, fields_of

    folder = tampered_copy(experiment_folder, tmp_path)
    original = json.loads((folder / "trial.json").read_text())

    @settings(
        max_examples=40,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(path=st.sampled_from(list(fields_of(original))), value=BAD_VALUES)
    def refused_or_loaded(path, value):
        (folder / "trial.json").write_text(json.dumps(changed(original, path, value)))
        try:
            load_agent(folder)
        except ConfigError as error:
            assert str(error).startswith("play: ") and "\n" not in str(error).strip(), error

    refused_or_loaded()
