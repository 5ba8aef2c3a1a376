"""The small-frame encoder space: the three hand designs are its points, exactly, and every point fits."""

import itertools

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch import nn

from nni_rl_nas.errors import ConfigError
from nni_rl_nas.experiment import parse_class_args
from nni_rl_nas.spaces import SPACE_FAMILIES, SpaceMismatchError, count_architectures, search_choices
from nni_rl_nas.spaces.impala import IMPALA_CNN, ImpalaEncoderSpace
from nni_rl_nas.spaces.stages import HAND_DESIGNS

MINATAR = (4, 10, 10)


def stages_space(shape=MINATAR, **options):
    family = SPACE_FAMILIES["stages"]
    return family.build(gym.spaces.Box(0, 1, shape=shape), None, {**family.defaults, **options})


def minatar_network(in_channels: int) -> nn.Module:
    """kenjyoung/MinAtar examples/dqn.py's network, less its Q-value layer (the agent adds its heads)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 16, 3, stride=1), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 8 * 8, 128), nn.ReLU()
    )


def nature_cnn_10x10(in_channels: int) -> nn.Module:
    """NatureCNN's 32, 64, 64 channels and 512 units, 3x3 kernels padded, strides 1, 2, 1."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, 3, stride=1, padding=1),
        nn.ReLU(),
        nn.Conv2d(32, 64, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(64, 64, 3, stride=1, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(64 * 5 * 5, 512),
        nn.ReLU(),
    )


def impala_cnn(in_channels: int) -> nn.Module:
    space = ImpalaEncoderSpace((in_channels, 10, 10))
    return space.freeze(space.parse_architecture_name(IMPALA_CNN))


@pytest.mark.parametrize(
    "title, reference",
    [("MinAtar network", minatar_network), ("NatureCNN-10x10", nature_cnn_10x10), ("IMPALA-CNN", impala_cnn)],
)
def test_each_hand_design_is_a_point_that_computes_what_the_published_network_does(title, reference):
    space = stages_space()
    name = space.named_architectures()[title]
    point = space.parse_architecture_name(name)
    assert space.architecture_name(point) == name
    ours, theirs = space.freeze(point), reference(MINATAR[0])
    ours_parameters, their_parameters = list(ours.parameters()), list(theirs.parameters())
    assert [p.shape for p in ours_parameters] == [p.shape for p in their_parameters]
    torch.manual_seed(0)
    with torch.no_grad():
        for mine, published in zip(ours_parameters, their_parameters, strict=True):
            mine.copy_(torch.randn_like(mine) * 0.3)
            published.copy_(mine)
    frames = (torch.rand(8, *MINATAR) < 0.2).float()  # MinAtar frames are binary
    torch.testing.assert_close(ours(frames), theirs(frames))


def test_the_hand_designs_are_named_by_the_cli_space_listing():
    assert set(stages_space().named_architectures()) == {"MinAtar network", "NatureCNN-10x10", "IMPALA-CNN"}
    assert stages_space().named_architectures() == HAND_DESIGNS


def test_every_choice_of_a_stage_fits_10x10_frames_three_stages_deep():
    space = stages_space()
    choices = search_choices(space)
    per_stage = ["channels", "kernel", "downsampling", "blocks"]
    rng = np.random.default_rng(0)
    # every combination of the first stage's kernel, padding and downsampling, later stages drawn at random
    for kernel, padding, downsampling in itertools.product(
        choices["stage1_kernel"], choices["stage1_padding"], choices["stage1_downsampling"]
    ):
        point = {label: values[rng.integers(len(values))] for label, values in choices.items()}
        point.update(depth=3, stage1_kernel=kernel, stage1_padding=padding, stage1_downsampling=downsampling)
        for stage in (2, 3):
            point[f"stage{stage}_kernel"], point[f"stage{stage}_downsampling"] = 5, "stride"  # the most shrinking
        network = space.freeze(point)
        assert network(torch.rand(2, *MINATAR)).shape == (2, point["features"]), space.architecture_name(point)
        assert space.parse_architecture_name(space.architecture_name(point)) == point
    assert set(per_stage) <= {label.removeprefix("stage2_") for label in choices}


def test_the_count_covers_every_decision_and_the_searched_stage_count():
    space = stages_space(
        stages=[1, 2], channels=[16], kernels=[3], downsamplings=["none", "pool"], blocks=[0, 2], features=[128, 256]
    )
    first, later = 2 * 2 * 2, 2 * 2  # padding x downsampling x blocks; downsampling x blocks
    assert count_architectures(space) == 2 * (first + first * later)


def test_a_residual_stage_feeds_the_next_convolution_unactivated_and_a_plain_stage_ends_in_relu():
    space = stages_space(stages=2)
    plain = space.freeze(space.parse_architecture_name("c16k3_c16k3_f128"))
    residual = space.freeze(space.parse_architecture_name("c16k3b1_c16k3_f128"))
    # at a fixed stage count, the stages' modules lie flat: convolution, pool, blocks (or ReLU) per stage
    assert isinstance(plain.features[2], nn.ReLU) and isinstance(plain.features[3], nn.Conv2d)
    assert type(residual.features[2][0]).__name__ == "ResidualBlock" and isinstance(residual.features[3], nn.Conv2d)


@pytest.mark.parametrize(
    "name", ["c16k3_f128b", "c16k3_c16k3v_f128", "c16k3b0_f128", "c16k3_c16k3_c16k3_c16k3_f128", "IMPALA-CNN"]
)
def test_names_that_are_not_points_are_refused(name):
    with pytest.raises(ValueError, match="architecture name"):
        stages_space().parse_architecture_name(name)


def test_valid_padding_on_frames_narrower_than_the_kernel_is_refused_naming_the_fix():
    with pytest.raises(SpaceMismatchError, match="space.paddings.*3x3.*drop 'valid'"):
        stages_space(shape=(1, 3, 3))
    assert stages_space(shape=(1, 3, 3), paddings=["same"])(torch.rand(1, 1, 3, 3)) is not None


@pytest.mark.parametrize(
    "options, field",
    [
        ({"kernels": [3, 4]}, "space.kernels"),
        ({"paddings": ["full"]}, "space.paddings"),
        ({"downsamplings": ["avgpool"]}, "space.downsamplings"),
        ({"blocks": [-1]}, "space.blocks"),
        ({"features": []}, "space.features"),
        ({"stages": [0, 1]}, "space.stages"),
    ],
)
def test_bad_options_are_refused_naming_the_field(options, field):
    with pytest.raises(ConfigError, match=field):
        parse_class_args(
            {"space": {"family": "stages", **options}, "task": {"env": "MinAtar/Breakout-v1", "algorithm": "ppo"}}
        )
