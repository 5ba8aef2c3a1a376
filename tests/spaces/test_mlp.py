import pytest
import torch
from torch import nn

from nni_rl_nas.spaces import count_architectures, nni_search_space, search_choices
from nni_rl_nas.spaces.mlp import MlpSpace


def test_default_space_is_the_seed_projects_100_architectures():
    space = MlpSpace(8, 4)
    assert count_architectures(space) == 100
    assert search_choices(space) == {
        "layer1_width": [64, 128, 256, 1024, 2048],
        "layer1_activation": ["sigmoid", "relu"],
        "layer2_width": [64, 128, 256, 1024, 2048],
        "layer2_activation": ["sigmoid", "relu"],
    }


def test_depth_widths_and_activations_are_configurable():
    space = MlpSpace(4, 2, depth=3, widths=[16, 32], activations=["tanh"])
    assert count_architectures(space) == 8
    assert list(search_choices(space)) == [f"layer{i}_{kind}" for i in (1, 2, 3) for kind in ("width", "activation")]


def test_frozen_architecture_is_a_plain_module_with_the_chosen_layers():
    space = MlpSpace(8, 4)
    architecture = space.parse_architecture_name("256-relu_1024-sigmoid")
    network = space.freeze(architecture)
    layers = [m for m in network.modules() if not isinstance(m, (MlpSpace, nn.Sequential))]
    assert [type(m) for m in layers] == [nn.Linear, nn.ReLU, nn.Linear, nn.Sigmoid, nn.Linear]
    assert [(m.in_features, m.out_features) for m in layers if isinstance(m, nn.Linear)] == [
        (8, 256),
        (256, 1024),
        (1024, 4),
    ]
    assert network(torch.zeros(5, 8)).shape == (5, 4)
    assert sum(p.numel() for p in network.parameters()) == 8 * 256 + 256 + 256 * 1024 + 1024 + 1024 * 4 + 4


def test_architecture_names_round_trip_including_underscored_activations():
    space = MlpSpace(3, 2, widths=[64, 256], activations=["relu", "leaky_relu"])
    for name in ("64-leaky_relu_256-relu", "256-relu_64-leaky_relu"):
        assert space.architecture_name(space.parse_architecture_name(name)) == name
    with pytest.raises(ValueError, match="does not describe 2 layers"):
        space.parse_architecture_name("64-relu")


def test_nni_search_space_lists_every_decision_as_a_choice():
    space = MlpSpace(4, 2, depth=1, widths=[16, 64], activations=["relu", "tanh"])
    assert nni_search_space(space) == {
        "layer1_width": {"_type": "choice", "_value": [16, 64]},
        "layer1_activation": {"_type": "choice", "_value": ["relu", "tanh"]},
    }


def test_every_family_declares_its_part_and_names_architectures_both_ways():
    import numpy as np

    from nni_rl_nas.spaces import PARTS, SPACE_FAMILIES, ArchitectureSpace

    rng = np.random.default_rng(0)
    for family in SPACE_FAMILIES.values():
        space = family.build(family.example_inputs, 2, family.defaults)
        assert isinstance(space, ArchitectureSpace) and space.part in PARTS
        for _ in range(5):
            architecture = {label: values[rng.integers(len(values))] for label, values in search_choices(space).items()}
            name = space.architecture_name(architecture)
            if space.can_grow():  # the layers past the depth are unused: the name leaves them out
                assert space.architecture_name(space.parse_architecture_name(name)) == name
            else:
                assert space.parse_architecture_name(name) == architecture


def test_a_searched_depth_is_a_decision_and_unused_layers_leave_the_network_alone():
    space = MlpSpace(8, 4, depth=[1, 2, 3], widths=[16, 32], activations=["relu", "tanh"])
    assert search_choices(space)["depth"] == [1, 2, 3]
    assert count_architectures(space) == 4 + 4**2 + 4**3, "distinct networks: unused layers do not count"
    point = space.parse_architecture_name("16-relu_32-tanh")
    assert point["depth"] == 2 and set(point) == set(search_choices(space)), "a name parses to a full point"
    assert space.architecture_name({**point, "layer3_width": 32}) == "16-relu_32-tanh"
    network = space.freeze(point)
    linears = [(m.in_features, m.out_features) for m in network.modules() if isinstance(m, nn.Linear)]
    assert linears == [(8, 16), (16, 32), (32, 4)]
    assert network(torch.zeros(5, 8)).shape == (5, 4)
    assert space.largest_architecture()["depth"] == 3
    with pytest.raises(ValueError, match="does not describe 1 or 2 or 3 layers"):
        space.parse_architecture_name("16-relu_16-relu_16-relu_16-relu")


def test_a_fixed_depth_keeps_the_flat_layout_saved_weights_have():
    space = MlpSpace(8, 4, depth=2, widths=[16, 32])
    weights = space.freeze(space.parse_architecture_name("16-relu_32-sigmoid")).state_dict()
    assert list(weights) == [f"layers.{index}.{kind}" for index in (0, 2, 4) for kind in ("weight", "bias")]
