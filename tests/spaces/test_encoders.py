"""The image-encoder spaces (DARTS cells, IMPALA-CNN layout) and their one-shot DARTS supernet."""

import gymnasium as gym
import pytest
import torch

from nni_rl_nas.errors import ConfigError
from nni_rl_nas.experiment import parse_class_args
from nni_rl_nas.oneshot.darts import SupernetFactory, architecture_weights, discretise
from nni_rl_nas.spaces import SPACE_FAMILIES, search_choices
from nni_rl_nas.spaces.darts import OPERATIONS, RL_DARTS_OPS, ZERO, DartsEncoderSpace, operation
from nni_rl_nas.spaces.impala import IMPALA_CNN, ImpalaEncoderSpace

MINATAR = (4, 10, 10)


def parameter_count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize(
    "family, options, shape",
    [
        ("darts", {}, MINATAR),
        ("darts", {"wiring": "macro"}, MINATAR),
        ("darts", {"normal_cells": 2, "nodes": 2}, (4, 64, 64)),
        ("darts", {"wiring": "macro", "channels": [8, 16, 16, 32]}, (4, 84, 84)),
        ("darts", {"wiring": "flat"}, MINATAR),
        ("darts", {"wiring": "flat", "channels": [8, 8, 8, 8, 8, 8]}, MINATAR),  # more stages than 10x10 halves
        ("impala", {}, MINATAR),
        ("impala", {}, (4, 64, 64)),
        ("impala", {}, (1, 84, 84)),
        ("impala", {"stages": [1, 2, 3]}, MINATAR),  # the number of stages searched: 1 (first values) or 3 (last)
    ],
)
def test_encoders_fit_small_frames_and_full_images(family, options, shape):
    space = SPACE_FAMILIES[family].build(
        gym.spaces.Box(0, 1, shape=shape), None, {**SPACE_FAMILIES[family].defaults, **options}
    )
    for pick in (0, -1):
        architecture = {label: values[pick] for label, values in search_choices(space).items()}
        features = space.freeze(architecture)(torch.rand(2, *shape))
        assert features.shape == (2, 256)
        assert space.parse_architecture_name(space.architecture_name(architecture)) == architecture


def test_the_flat_wiring_keeps_small_frames_at_their_size():
    space = DartsEncoderSpace(MINATAR, wiring="flat", channels=[8, 16], nodes=2, normal_cells=1)
    encoder = space.freeze({label: values[0] for label, values in search_choices(space).items()})
    assert not any(isinstance(module, torch.nn.MaxPool2d) for module in encoder.modules())
    assert encoder.head[2].in_features == 16 * 10 * 10, "two stages, no halving"


@pytest.mark.parametrize(
    "wiring, kinds", [("micro", ("reduce", "normal")), ("macro", ("normal",)), ("flat", ("normal",))]
)
def test_the_supernet_runs_forward_and_backward_through_every_operation(wiring, kinds):
    supernet = SupernetFactory(lambda: DartsEncoderSpace(MINATAR, wiring=wiring, channels=[4, 8], nodes=2))()
    supernet(torch.rand(3, *MINATAR)).sum().backward()
    alphas = architecture_weights(supernet)
    assert len(alphas) == len(kinds) * (1 + 2), "one weight vector per edge of each cell kind, shared across stages"
    assert all(alpha.shape == (len(RL_DARTS_OPS),) for alpha in alphas), "every op, 'zero' as NNI's 'no edge'"
    assert all(alpha.grad is not None and alpha.grad.abs().sum() > 0 for alpha in alphas)
    for name, parameter in supernet.named_parameters():
        if parameter.requires_grad and "_arch_alpha" not in name:
            assert parameter.grad is not None, f"{name} got no gradient"


@pytest.mark.parametrize("op", [op for op in OPERATIONS if op != ZERO])
def test_each_operation_alone_makes_a_working_encoder(op):
    space = DartsEncoderSpace(MINATAR, channels=[4, 4], nodes=2, ops=[op, ZERO])
    encoder = space.freeze({label: values[0] for label, values in search_choices(space).items()})
    encoder(torch.rand(2, *MINATAR)).sum().backward()


def test_rl_darts_operations_are_one_convolution_and_parameterless_ops_that_pool_on_stride_two():
    assert parameter_count(operation("conv_3x3", 8, 2)) == 8 * 8 * 9 + 8
    for op in ("relu", "tanh", "skip_connect"):
        assert parameter_count(operation(op, 8, 1)) == 0
        assert operation(op, 8, 2)(torch.rand(1, 8, 10, 10)).shape == (1, 8, 5, 5)
    assert torch.all(operation("relu", 8, 1)(-torch.ones(1, 8, 3, 3)) == 0)
    pooled = operation("skip_connect", 1, 2)(torch.arange(9.0).reshape(1, 1, 3, 3))
    assert pooled[0, 0, 0, 0] == pytest.approx((0 + 1 + 3 + 4) / 4), "padding is not averaged in"


def edge_weights(strongest: dict, zero_heavy: set) -> dict[str, dict[str, float]]:
    """Operation weights of a 2-node cell of each kind: a chosen op strongest on some edges, the
    'no edge' weight strongest on ``zero_heavy`` edges."""
    weights = {}
    for kind in ("reduce", "normal"):
        for node, states in ((1, [0]), (2, [0, 1])):
            for state in states:
                edge = f"{kind}/{node}_{state}"
                probabilities = dict.fromkeys(RL_DARTS_OPS, 0.1)
                for rank, op in enumerate(strongest.get(edge, [])):
                    probabilities[op] = 0.3 - 0.05 * rank - 0.01 * state
                if edge in zero_heavy:
                    probabilities = {**dict.fromkeys(RL_DARTS_OPS, 0.04), "conv_3x3": 0.2, ZERO: 0.64}
                weights[edge] = probabilities
    return weights


def test_discretisation_keeps_each_nodes_two_strongest_edges_by_weight_and_never_zero():
    weights = edge_weights(
        {
            "reduce/1_0": ["tanh", "conv_3x3"],
            "reduce/2_0": ["relu"],
            "reduce/2_1": ["conv_3x3"],
            "normal/1_0": ["skip_connect"],
            "normal/2_0": ["conv_3x3"],
            "normal/2_1": ["relu"],
        },
        zero_heavy={"normal/2_0"},
    )
    architecture = discretise(weights)
    space = DartsEncoderSpace(MINATAR, channels=[4], nodes=2)
    # a node reading one state keeps that edge's two strongest ops; "normal/2_0" lost its conv to "no edge"
    # (0.2 < relu's 0.29 on edge 2_1), so it is kept second, with that conv
    assert space.architecture_name(architecture) == (
        "reduce[tanh@0,conv_3x3@0|relu@0,conv_3x3@1]normal[skip_connect@0,conv_3x3@0|relu@1,conv_3x3@0]"
    )
    frozen = space.freeze(architecture)
    frozen(torch.rand(2, *MINATAR))
    convolutions = 4  # each a 4-channel 3x3 convolution with bias
    frame = parameter_count(
        space.freeze(
            space.parse_architecture_name("reduce[relu@0,relu@0|relu@1,relu@0]normal[relu@0,relu@0|relu@1,relu@0]")
        )
    )
    assert parameter_count(frozen) == frame + convolutions * (4 * 4 * 9 + 4)


def test_feature_maps_that_would_shrink_below_1x1_are_refused_naming_the_stages():
    with pytest.raises(ConfigError, match=r"space.channels: .* below 1x1; fix: at most 4 stages"):
        parse_class_args(
            {"space": {"family": "darts", "channels": [8, 8, 8, 8, 8]}, "task": {"env": "MinAtar/Breakout-v1"}}
        )
    parse_class_args({"space": {"family": "darts", "channels": [8, 8, 8, 8]}, "task": {"env": "MinAtar/Breakout-v1"}})


def test_impala_cnn_is_a_point_of_the_default_macro_space():
    space = ImpalaEncoderSpace(MINATAR)
    architecture = space.parse_architecture_name(IMPALA_CNN)
    encoder = space.freeze(architecture)
    residual_blocks = [m for m in encoder.modules() if type(m).__name__ == "ResidualBlock"]
    assert len(residual_blocks) == 6
    assert [m.out_channels for m in encoder.modules() if isinstance(m, torch.nn.Conv2d)][::5] == [16, 32, 32]


def test_a_searched_number_of_stages_flattens_what_the_last_used_stage_gives():
    space = ImpalaEncoderSpace(MINATAR, stages=[1, 2, 3], channels=[16, 32], blocks=[0, 2])
    for name, flattened in (("c16b0", 16 * 5 * 5), ("c16b2_c32b0", 32 * 3 * 3), (IMPALA_CNN, 32 * 2 * 2)):
        architecture = space.parse_architecture_name(name)
        assert space.architecture_name(architecture) == name
        encoder = space.freeze(architecture)
        assert encoder.head[0].in_features == flattened
        assert encoder(torch.rand(2, *MINATAR)).shape == (2, 256)


@pytest.mark.parametrize(
    "space, task, message",
    [
        ({"family": "darts"}, {"env": "CartPole-v1", "algorithm": "ppo"}, "needs image inputs"),
        ({"family": "impala"}, {"env": "Pendulum-v1", "algorithm": "sac"}, "needs image inputs"),
        ({"family": "cnn"}, {"env": "MinAtar/Breakout-v1"}, "image-classifier space"),
        (
            {"family": "darts", "ops": ["sep_conv_3x3", "conv_9x9", "zero"]},
            {"env": "MinAtar/Breakout-v1"},
            "space.ops: got ['sep_conv_3x3', 'conv_9x9', 'zero']; fix: a list of distinct names from",
        ),
        ({"family": "darts", "ops": ["conv_3x3", "relu"]}, {"env": "MinAtar/Breakout-v1"}, "fix: name 'zero'"),
        ({"family": "darts", "ops": ["zero"]}, {"env": "MinAtar/Breakout-v1"}, "at least one other operation"),
        ({"family": "darts", "wiring": "nasnet"}, {"env": "MinAtar/Breakout-v1"}, "space.wiring: got 'nasnet'"),
        ({"family": "darts", "channels": 16}, {"env": "MinAtar/Breakout-v1"}, "space.channels: got 16"),
        ({"family": "impala", "blocks": [-1]}, {"env": "MinAtar/Breakout-v1"}, "space.blocks"),
        ({"family": "mlp"}, {"env": "Pendulum-v1", "algorithm": "dqn"}, "'dqn' acts in Discrete action spaces"),
        ({"family": "mlp"}, {"env": "CartPole-v1", "algorithm": "sac"}, "'sac' acts in Box action spaces"),
        ({"family": "mlp"}, {"env": "CartPole-v1", "preprocess": {"resize": 84}}, "no image observations"),
        ({"family": "darts"}, {"env": "MinAtar/Breakout-v1", "engine": "batched"}, "engine"),
    ],
)
def test_bad_pairings_are_refused_naming_the_field_and_the_fix(space, task, message):
    with pytest.raises(ConfigError, match="fix") as error:
        parse_class_args({"space": space, "task": task})
    assert message in str(error.value)
