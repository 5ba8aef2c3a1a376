"""The CNN space of the Zoph & Le replication, at a fixed or a searched depth."""

import gymnasium as gym
import pytest
import torch

from nni_rl_nas.errors import ConfigError
from nni_rl_nas.experiment import parse_class_args
from nni_rl_nas.spaces import SPACE_FAMILIES, count_architectures, search_choices

DIGITS = {"dataset": "digits"}


def cnn_space(**options):
    return parse_class_args({"space": {"family": "cnn", **options}, "task": DIGITS}).build_space()


def test_each_layer_chooses_kernels_filter_size_and_stride():
    space = cnn_space(depth=2, filter_sizes=[3, 5], strides=[1, 2], kernels=[8, 16])
    assert search_choices(space) == {
        "conv1_kernels": [8, 16],
        "conv1_filter": [3, 5],
        "conv1_stride": [1, 2],
        "conv2_kernels": [8, 16],
        "conv2_filter": [3, 5],
        "conv2_stride": [1, 2],
    }
    assert count_architectures(space) == 64


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 64, 64)])
def test_every_frozen_architecture_fits_small_and_large_images(shape):
    space = SPACE_FAMILIES["cnn"].build(gym.spaces.Box(0, 1, shape=shape), 10, SPACE_FAMILIES["cnn"].defaults)
    smallest = {label: values[0] for label, values in search_choices(space).items()}
    largest = {label: values[-1] for label, values in search_choices(space).items()}  # filter 7, stride 2 everywhere
    for architecture in (smallest, largest):
        assert space.freeze(architecture)(torch.rand(2, *shape)).shape == (2, 10)


def test_the_frozen_network_has_exactly_the_parameters_its_name_says():
    space = cnn_space(depth=2)
    architecture = space.parse_architecture_name("c32k5s1_c64k3s2")
    model = space.freeze(architecture)
    expected = (1 * 32 * 5 * 5 + 32) + (32 * 64 * 3 * 3 + 64) + (64 * 10 + 10)
    assert sum(p.numel() for p in model.parameters()) == expected
    assert space.architecture_name(architecture) == "c32k5s1_c64k3s2"
    with pytest.raises(ValueError, match="does not describe 2 layers"):
        space.parse_architecture_name("c32k5s1")


def test_a_cnn_on_vector_observations_and_bad_options_are_refused():
    with pytest.raises(ConfigError, match=r"space \(family 'cnn'\) vs task.env 'CartPole-v1': .*needs image inputs"):
        parse_class_args({"space": {"family": "cnn"}, "task": {"env": "CartPole-v1"}})
    with pytest.raises(ConfigError, match=r"space.strides: got \[0, 2\]; fix: distinct positive whole numbers"):
        cnn_space(strides=[0, 2])
    with pytest.raises(ConfigError, match=r"task.dataset: got 'cifar'; fix: one of \['digits', 'fashion_mnist'\]"):
        parse_class_args({"space": {"family": "cnn"}, "task": {"dataset": "cifar"}})
    with pytest.raises(ConfigError, match="task: has both env and dataset"):
        parse_class_args({"space": {"family": "cnn"}, "task": {"dataset": "digits", "env": "CartPole-v1"}})


def test_a_searched_depth_grows_the_convolutions_and_the_classifier_reads_the_last_used_one():
    space = cnn_space(depth=[1, 2], filter_sizes=[3], strides=[1, 2], kernels=[8, 16])
    assert count_architectures(space) == 4 + 4**2
    for name, channels in (("c8k3s2", 8), ("c8k3s1_c16k3s2", 16)):
        point = space.parse_architecture_name(name)
        assert space.architecture_name(point) == name
        network = space.freeze(point)
        assert network.classifier.in_features == channels
        assert network(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
