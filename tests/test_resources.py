"""Validation estimates a trial's memory without allocating it, and refuses what the machine cannot
hold (benchmarks/memory_estimate.py compares the estimate with the memory agents take)."""

import pytest
import torch
import yaml

from nni_rl_nas.errors import ConfigError
from nni_rl_nas.experiment import load_experiment, parse_class_args, trials_on_this_machine
from nni_rl_nas.resources import check_memory, estimate_trial_memory
from tests.conftest import CONFIGS, class_args


def widen(width: int):
    def edit(raw):
        class_args(raw)["space"]["widths"] = [16, width]
        raw["searchSpace"]["layer1_width"]["_value"] = [16, width]

    return edit


def test_a_network_no_machine_holds_is_refused_at_validation_with_the_estimate_and_the_fix(write_experiment):
    path = write_experiment(widen(10**13))
    with pytest.raises(
        ConfigError,
        match=r"resources: largest architecture '10000000000000-relu': 70,000,000,000,002 "
        r"parameters, .* GB .*this machine has .* GB available; fix: smaller choices "
        r"in space \(its widths or channels\)",
    ):
        load_experiment(path)


def test_a_replay_buffer_no_machine_holds_names_buffer_size(write_experiment):
    path = write_experiment(lambda raw: class_args(raw)["task"].update(hyperparameters={"buffer_size": 10**11}))
    with pytest.raises(
        ConfigError,
        match=r"replay buffer of 100,000,000,000 transitions .* fix: a smaller "
        r"task.hyperparameters.buffer_size",
    ):
        load_experiment(path)


def test_trials_at_once_multiply_what_one_trial_needs():
    spec = parse_class_args({"space": {"family": "mlp", "widths": [512]}, "task": {"env": "CartPole-v1", "seeds": 2}})
    needed = estimate_trial_memory(spec).trial_bytes
    assert check_memory(spec, trials_at_once=1, available=int(1.5 * needed)) is not None
    with pytest.raises(
        ConfigError,
        match=r"one trial: .* GB \(its process and 2 agents, one per task.seeds\); "
        r"2 trials at once \(trialConcurrency\)",
    ):
        check_memory(spec, trials_at_once=2, available=int(1.5 * needed))


def test_trials_on_other_machines_are_not_checked_against_this_one(monkeypatch):
    monkeypatch.setenv("NNI_RL_NAS_WEB_HOST", "0.0.0.0")  # its workers report to another address than loopback
    raw = yaml.safe_load((CONFIGS / "remote_quick_cartpole.yml").read_text())
    assert trials_on_this_machine(raw) == 0
    assert load_experiment(CONFIGS / "remote_quick_cartpole.yml").memory is None
    assert trials_on_this_machine(yaml.safe_load((CONFIGS / "quick_cartpole.yml").read_text())) == 2


@pytest.mark.parametrize(
    "space, task, largest",
    [
        (
            {"family": "mlp", "widths": [64, 256, 128], "activations": ["tanh", "relu"]},
            {"env": "CartPole-v1"},
            "256-tanh_256-tanh",
        ),
        (
            {"family": "cnn", "depth": 2, "kernels": [8, 32], "filter_sizes": [3, 5], "strides": [2, 1]},
            {"dataset": "digits"},
            "c32k5s1_c32k5s1",
        ),
        (
            {"family": "impala", "stages": 2, "channels": [16, 32], "blocks": [0, 2]},
            {"env": "MinAtar/Breakout-v1"},
            "c32b2_c32b2",
        ),
        (
            {
                "family": "darts",
                "wiring": "macro",
                "nodes": 2,
                "ops": ["skip_connect", "sep_conv_3x3", "sep_conv_5x5", "zero"],
            },
            {"env": "MinAtar/Breakout-v1"},
            "normal[sep_conv_5x5@0,sep_conv_5x5@0|sep_conv_5x5@0,sep_conv_5x5@0]",
        ),
        (
            {"family": "darts", "nodes": 2},
            {"env": "MinAtar/Breakout-v1"},
            "reduce[conv_3x3@0,conv_3x3@0|conv_3x3@0,conv_3x3@0]normal[conv_3x3@0,conv_3x3@0|conv_3x3@0,conv_3x3@0]",
        ),
    ],
)
def test_the_estimate_counts_the_largest_architecture_as_the_real_network_has_it(space, task, largest):
    spec = parse_class_args({"space": space, "task": task})
    estimate = estimate_trial_memory(spec)
    assert estimate.largest == largest
    real = spec.build_space()
    network = real.freeze(real.parse_architecture_name(largest))
    assert estimate.parameters == sum(parameter.numel() for parameter in network.parameters())
    assert all(parameter.device == torch.device("cpu") for parameter in network.parameters())


def test_validate_builds_no_tensor_of_a_huge_space(write_experiment):
    """The space is built on the meta device: a width of 10**13 would need 280 TB as real weights."""
    with pytest.raises(ConfigError, match="resources:"):
        load_experiment(write_experiment(widen(10**13)))
    spec = parse_class_args(
        {"space": {"family": "mlp", "depth": 1, "widths": [10**13]}, "task": {"env": "CartPole-v1"}}
    )
    assert {parameter.device.type for parameter in spec.meta_space.parameters()} == {"meta"}
