"""A short ENAS search on CartPole: the supernet and the controller both train, end to end."""

import json
import math

import pytest
import torch

from nni_rl_nas.experiment import parse_class_args
from nni_rl_nas.oneshot.enas import (
    SharedWeights,
    initial_supernet,
    run_enas_search,
    supernet_factory,
)
from nni_rl_nas.options import EnasOptions

SPACE = {"family": "mlp", "depth": 2, "widths": [16, 64], "activations": ["relu", "tanh"]}
TASK = {
    "env": "CartPole-v1",
    "total_timesteps": 6000,
    "seed": 0,
    "hyperparameters": {"learning_starts": 500, "train_freq": 4, "gradient_steps": 1, "target_update_interval": 200},
}


def test_children_share_one_weight_matrix_per_layer():
    spec = parse_class_args({"space": SPACE, "task": TASK})
    space = spec.build_space()
    shared = SharedWeights(supernet_factory(spec.build_space)(), "slices")
    supernet = shared.supernet
    narrow = shared.load(space.freeze(space.parse_architecture_name("16-relu_16-relu")))
    before = supernet.layers[0].weight.detach().clone()
    with torch.no_grad():  # train the narrow child a little
        narrow.layers[0].weight.add_(1.0)
    shared.store(narrow)
    after = supernet.layers[0].weight.detach()
    assert torch.equal(after[:16, :], before[:16, :] + 1.0), "the narrow child's slice was written back"
    assert torch.equal(after[16:, :], before[16:, :]), "weights outside its slice are untouched"
    wide = shared.load(space.freeze(space.parse_architecture_name("64-tanh_64-relu")))
    assert torch.equal(wide.layers[0].weight[:16], narrow.layers[0].weight), "a wider child starts from it"


@pytest.mark.parametrize("mode", ["slices", "per_shape"])
def test_a_wide_childs_training_reaches_a_narrow_child_only_when_weights_are_slices(mode):
    spec = parse_class_args({"space": SPACE, "task": TASK})
    space = spec.build_space()
    shared = SharedWeights(supernet_factory(spec.build_space)(), mode)
    first, second = (shared.supernet.layers[i].weight.detach().clone() for i in (0, 2))
    wide = shared.load(space.freeze(space.parse_architecture_name("64-relu_16-relu")))
    assert torch.equal(wide.layers[0].weight, first[:64]), "every child starts from its slice of the supernet"
    with torch.no_grad():  # train the wide child a little, both layers
        wide.layers[0].weight.add_(1.0)
        wide.layers[2].weight.add_(1.0)
    shared.store(wide)
    narrow = shared.load(space.freeze(space.parse_architecture_name("16-tanh_16-relu")))
    same_pair = shared.load(space.freeze(space.parse_architecture_name("64-tanh_16-tanh")))
    other_pair = shared.load(space.freeze(space.parse_architecture_name("64-relu_64-relu")))
    moved = 1.0 if mode == "slices" else 0.0
    assert torch.equal(narrow.layers[0].weight, first[:16] + moved), "a narrower first layer"
    assert torch.equal(same_pair.layers[0].weight, first[:64] + 1.0), "the same first-layer shape: shared"
    assert torch.equal(same_pair.layers[2].weight, second[:16, :64] + 1.0), "the same width pair: shared"
    assert torch.equal(other_pair.layers[2].weight[:16], second[:16, :64] + moved), "another width pair"
    if mode == "per_shape":
        assert torch.equal(shared.supernet.layers[0].weight, first), "the supernet itself stays as it started"


def test_per_activation_children_share_slices_only_with_children_of_their_activations():
    spec = parse_class_args({"space": SPACE, "task": TASK})
    space = spec.build_space()
    shared = SharedWeights(supernet_factory(spec.build_space)(), "per_activation")
    first = shared.supernet.layers[0].weight.detach().clone()
    wide = shared.load(space.freeze(space.parse_architecture_name("64-relu_64-tanh")))
    assert torch.equal(wide.layers[0].weight, first[:64]), "every child starts from its slice of the supernet"
    with torch.no_grad():
        wide.layers[0].weight.add_(1.0)
    shared.store(wide)
    same = shared.load(space.freeze(space.parse_architecture_name("16-relu_16-tanh")))
    other = shared.load(space.freeze(space.parse_architecture_name("16-tanh_16-tanh")))
    assert torch.equal(same.layers[0].weight, first[:16] + 1.0), "relu then tanh: the same supernet's slice"
    assert torch.equal(other.layers[0].weight, first[:16]), "tanh then tanh: a supernet of its own"
    assert len(shared.by_activations) == 2
    assert shared.parameter_count() == 3 * sum(p.numel() for p in shared.supernet.parameters())


def test_short_enas_search_trains_the_supernet_and_the_controller(tmp_path):
    spec = parse_class_args({"space": SPACE, "task": TASK})
    space = spec.build_space()
    settings = EnasOptions.parse(
        {"seed": 0, "child_steps": 500, "search_eval_episodes": 3, "top_k": 2, "controller": {"samples_per_update": 2}}
    )
    untrained = initial_supernet(supernet_factory(spec.build_space), seed=0).state_dict()
    result = run_enas_search(spec.task, space, spec.build_space, settings, tmp_path, "cpu")

    assert result["env_steps"] >= 6000 and result["children"] >= 10
    assert len(result["top_k"]) == 2 and len(set(result["top_k"])) == 2
    for name in result["top_k"]:
        space.parse_architecture_name(name)  # a real architecture of the space
    search = json.loads((tmp_path / "search.json").read_text())
    assert len(search["curve"]) >= 5, "one intermediate result per controller update"
    assert all("controller_entropy" in point and "most_likely" in point for point in search["curve"])
    assert all(len(point["top_probabilities"]) == 5 for point in search["curve"]), "the top 5 at each update"
    assert len({child["name"] for child in search["children"]}) >= 3, "the controller explored several children"

    optimizer = torch.load(tmp_path / "controller.pt", weights_only=True)["optimizer"]
    assert all(state["step"] >= 5 for state in optimizer["state"].values()), "one Adam step per controller update"
    assert any(state["exp_avg"].abs().sum() > 0 for state in optimizer["state"].values()), "REINFORCE gave gradients"
    supernet = torch.load(tmp_path / "supernet.pt", weights_only=True)
    assert all(torch.isfinite(value).all() for value in supernet.values())
    assert supernet.keys() == untrained.keys()
    assert not torch.equal(supernet["layers.0.weight"], untrained["layers.0.weight"]), (
        "the TD loss trained the shared weights"
    )


def test_with_a_cost_penalty_the_controller_learns_from_each_childs_return_less_its_size(tmp_path):
    spec = parse_class_args({"space": SPACE, "task": {**TASK, "total_timesteps": 3000}})
    space = spec.build_space()
    settings = EnasOptions.parse(
        {
            "seed": 0,
            "child_steps": 500,
            "search_eval_episodes": 2,
            "top_k": 1,
            "cost": {"per_tenfold": 10.0},
            "controller": {"samples_per_update": 2},
        }
    )
    run_enas_search(spec.task, space, spec.build_space, settings, tmp_path, "cpu")
    search = json.loads((tmp_path / "search.json").read_text())
    for child in search["children"]:
        architecture = space.parse_architecture_name(child["name"])
        first, second = architecture["layer1_width"], architecture["layer2_width"]
        weights = (4 + 1) * first + (first + 1) * second + (second + 1) * 2  # CartPole: 4 inputs, 2 actions
        assert child["objective"] == pytest.approx(child["score"] - 10.0 * math.log10(weights))
    assert all("objective" in point for point in search["curve"])
