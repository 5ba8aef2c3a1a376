"""A short ENAS search on CartPole: the supernet and the controller both train, end to end."""

import json

import torch

from nni_rl_nas.config import parse_class_args
from nni_rl_nas.evaluator.agents import build_agent
from nni_rl_nas.evaluator.shared_weights import SearchSettings, activate, run_search, supernet_factory

SPACE = {"family": "mlp", "depth": 2, "widths": [16, 64], "activations": ["relu", "tanh"]}
TASK = {"env": "CartPole-v1", "total_timesteps": 6000, "seed": 0,
        "hyperparameters": {"learning_starts": 500, "train_freq": 4, "gradient_steps": 1, "target_update_interval": 200}}


def test_children_share_one_weight_matrix_per_layer():
    spec = parse_class_args({"space": SPACE, "task": TASK})
    supernet = supernet_factory(spec.build_space)()
    narrow = spec.build_space().parse_architecture_name("16-relu_16-relu")
    observation = torch.randn(3, 4)
    activate([supernet], narrow)
    before = supernet(observation)
    with torch.no_grad():  # change weights only the 64-wide children use
        supernet.layers[0].weight[16:] += 1.0
    assert torch.equal(supernet(observation), before)
    with torch.no_grad():  # change weights every child uses
        supernet.layers[0].weight[:16] += 1.0
    assert not torch.equal(supernet(observation), before)


def test_short_enas_search_trains_the_supernet_and_the_controller(tmp_path):
    spec = parse_class_args({"space": SPACE, "task": TASK})
    space = spec.build_space()
    settings = SearchSettings.from_strategy_options(
        {"seed": 0, "child_steps": 500, "search_eval_episodes": 3, "top_k": 2, "controller": {"samples_per_update": 2}})
    untrained = build_agent(spec.task, supernet_factory(spec.build_space), spec.task.make_env(), "cpu")
    result = run_search(spec.task, space, spec.build_space, settings, tmp_path, "cpu")

    assert result["env_steps"] >= 6000 and result["children"] >= 10
    assert len(result["top_k"]) == 2 and len(set(result["top_k"])) == 2
    for name in result["top_k"]:
        space.parse_architecture_name(name)  # a real architecture of the space
    search = json.loads((tmp_path / "search.json").read_text())
    assert len(search["curve"]) >= 5, "one intermediate result per controller update"
    assert all("controller_entropy" in point and "most_likely" in point for point in search["curve"])
    assert len({child["name"] for child in search["children"]}) >= 3, "the controller explored several children"

    optimizer = torch.load(tmp_path / "controller.pt", weights_only=True)["optimizer"]
    assert all(state["step"] >= 5 for state in optimizer["state"].values()), "one Adam step per controller update"
    assert any(state["exp_avg"].abs().sum() > 0 for state in optimizer["state"].values()), "REINFORCE gave gradients"
    supernet = torch.load(tmp_path / "supernet.pt", weights_only=True)
    initial = untrained.policy.state_dict()  # same seed, so the same initial weights
    assert all(torch.isfinite(value).all() for value in supernet.values())
    assert not torch.equal(supernet["q_net.q_net.layers.0.weight"], initial["q_net.q_net.layers.0.weight"]), \
        "the TD loss trained the shared weights"
