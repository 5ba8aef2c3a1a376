"""The image-encoder spaces (DARTS cells, IMPALA-CNN layout) and their one-shot DARTS supernet."""

import gymnasium as gym
import pytest
import torch
from nni.nas.hub.pytorch.nasnet import OPS
from nni.nas.strategy import DARTS

from nni_rl_nas.errors import ConfigError
from nni_rl_nas.experiment import parse_class_args
from nni_rl_nas.oneshot.darts import architecture_weights, discretise
from nni_rl_nas.spaces import SPACE_FAMILIES, search_choices
from nni_rl_nas.spaces.darts import DARTS_OPS, DartsEncoderSpace, input_label, op_label
from nni_rl_nas.spaces.impala import IMPALA_CNN, ImpalaEncoderSpace

MINATAR = (4, 10, 10)


def parameter_count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("family, options, shape", [
    ("darts", {}, MINATAR),
    ("darts", {"stem_stride": 2, "cells": ["reduce", "normal", "reduce"]}, (4, 64, 64)),
    ("darts", {"stem_stride": 4, "cells": ["normal", "reduce"]}, (4, 84, 84)),
    ("impala", {}, MINATAR),
    ("impala", {}, (4, 64, 64)),
    ("impala", {}, (1, 84, 84)),
])
def test_encoders_fit_small_frames_and_full_images(family, options, shape):
    space = SPACE_FAMILIES[family].build(gym.spaces.Box(0, 1, shape=shape), None,
                                         {**SPACE_FAMILIES[family].defaults, **options})
    for pick in (0, -1):
        architecture = {label: values[pick] for label, values in search_choices(space).items()}
        features = space.freeze(architecture)(torch.rand(2, *shape))
        assert features.shape == (2, 256)
        assert space.parse_architecture_name(space.architecture_name(architecture)) == architecture


def test_the_supernet_runs_forward_and_backward_through_every_operation():
    supernet = DARTS().mutate_model(DartsEncoderSpace(MINATAR, channels=4, nodes=2))
    supernet(torch.rand(3, *MINATAR)).sum().backward()
    alphas = architecture_weights(supernet)
    assert len(alphas) == 2 * (2 + 3), "one weight vector per edge of the normal and the reduction cell"
    assert all(alpha.shape == (len(DARTS_OPS) + 1,) for alpha in alphas), "every op, plus 'no edge'"
    assert all(alpha.grad is not None and alpha.grad.abs().sum() > 0 for alpha in alphas)
    for name, parameter in supernet.named_parameters():
        if parameter.requires_grad and "_arch_alpha" not in name:
            assert parameter.grad is not None, f"{name} got no gradient"


@pytest.mark.parametrize("op", DARTS_OPS)
def test_each_operation_alone_makes_a_working_encoder(op):
    space = DartsEncoderSpace(MINATAR, channels=4, nodes=2, ops=[op])
    encoder = space.freeze({label: values[0] for label, values in search_choices(space).items()})
    encoder(torch.rand(2, *MINATAR)).sum().backward()


def genotype_op_parameters(architecture: dict, channels: int, nodes: int) -> int:
    """Weights of a genotype's operations, counted from NNI's op table, not from the space."""
    total = 0
    for kind, cell_channels in (("normal", channels), ("reduce", 2 * channels)):
        for node in range(2, nodes + 2):
            for slot in range(2):
                state = architecture[input_label(kind, node, slot)][0]
                stride = 2 if kind == "reduce" and state < 2 else 1
                total += parameter_count(OPS[architecture[op_label(kind, node, slot)]](cell_channels, stride, True))
    return total


def test_discretisation_keeps_each_nodes_two_strongest_edges_and_their_strongest_operation():
    channels, nodes = 4, 2
    space = DartsEncoderSpace(MINATAR, channels=channels, nodes=nodes)
    supernet = DARTS().mutate_model(DartsEncoderSpace(MINATAR, channels=channels, nodes=nodes))
    wanted = {("normal", 2): [(0, "sep_conv_5x5"), (1, "dil_conv_3x3")],
              ("normal", 3): [(2, "max_pool_3x3"), (0, "skip_connect")],
              ("reduce", 2): [(1, "sep_conv_3x3"), (0, "avg_pool_3x3")],
              ("reduce", 3): [(2, "dil_conv_5x5"), (1, "sep_conv_5x5")]}
    with torch.no_grad():
        for module in supernet.modules():
            for edge, alpha in getattr(module, "_arch_alpha", {}).items():
                kind, node_edge = edge.split("/")
                node, state = map(int, node_edge.split("_"))
                alpha.zero_()
                alpha[-1] = 5.0  # "no edge" strongest everywhere: discretisation must never pick it
                for rank, (wanted_state, op) in enumerate(wanted[(kind, node)]):
                    if wanted_state == state:
                        alpha[DARTS_OPS.index(op)] = 3.0 - rank
    architecture = discretise(supernet)
    expected = {}
    for (kind, node), edges in wanted.items():
        for slot, (state, op) in enumerate(edges):  # strongest first
            expected[op_label(kind, node, slot)], expected[input_label(kind, node, slot)] = op, [state]
    assert {k: architecture[k] for k in expected} == expected and set(architecture) == set(expected)

    frozen = space.freeze(architecture)
    frozen(torch.rand(2, *MINATAR))
    parameterless = {label: ("max_pool_3x3" if "/op_" in label else values[0])
                     for label, values in search_choices(space).items()}
    frame = parameter_count(space.freeze(parameterless))  # stem, preprocessors, head: no op weights
    assert parameter_count(frozen) == frame + genotype_op_parameters(architecture, channels, nodes)
    assert space.parse_architecture_name(space.architecture_name(architecture)) == architecture


def test_impala_cnn_is_a_point_of_the_default_macro_space():
    space = ImpalaEncoderSpace(MINATAR)
    architecture = space.parse_architecture_name(IMPALA_CNN)
    encoder = space.freeze(architecture)
    residual_blocks = [m for m in encoder.modules() if type(m).__name__ == "ResidualBlock"]
    assert len(residual_blocks) == 6
    assert [m.out_channels for m in encoder.modules() if isinstance(m, torch.nn.Conv2d)][::5] == [16, 32, 32]


@pytest.mark.parametrize("space, task, message", [
    ({"family": "darts"}, {"env": "CartPole-v1", "algorithm": "ppo"}, "needs image inputs"),
    ({"family": "impala"}, {"env": "Pendulum-v1", "algorithm": "sac"}, "needs image inputs"),
    ({"family": "cnn"}, {"env": "MinAtar/Breakout-v1"}, "image-classifier space"),
    ({"family": "darts", "ops": ["sep_conv_3x3", "conv_9x9"]}, {"env": "MinAtar/Breakout-v1"}, "space.ops"),
    ({"family": "darts", "cells": ["normal", "reduction"]}, {"env": "MinAtar/Breakout-v1"}, "space.cells"),
    ({"family": "impala", "blocks": [-1]}, {"env": "MinAtar/Breakout-v1"}, "space.blocks"),
    ({"family": "mlp"}, {"env": "Pendulum-v1", "algorithm": "dqn"}, "'dqn' acts in Discrete action spaces"),
    ({"family": "mlp"}, {"env": "CartPole-v1", "algorithm": "sac"}, "'sac' acts in Box action spaces"),
    ({"family": "mlp"}, {"env": "CartPole-v1", "preprocess": {"resize": 84}}, "no image observations"),
    ({"family": "darts"}, {"env": "MinAtar/Breakout-v1", "engine": "batched"}, "engine"),
])
def test_bad_pairings_are_refused_naming_the_field_and_the_fix(space, task, message):
    with pytest.raises(ConfigError, match="fix") as error:
        parse_class_args({"space": space, "task": task})
    assert message in str(error.value)
