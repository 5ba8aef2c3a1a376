"""The fused DARTS cell computes what NNI's DARTS cell computes, outputs and gradients alike."""

import pytest
import torch
from nni.nas.strategy import DARTS

from nni_rl_nas.oneshot.darts import SupernetFactory, architecture_weights
from nni_rl_nas.oneshot.fused_cell import FusedDifferentiableCell
from nni_rl_nas.spaces.darts import RL_DARTS_OPS, DartsEncoderSpace

MINATAR = (4, 10, 10)


@pytest.mark.parametrize(
    "options",
    [
        {"wiring": "micro", "channels": [4, 8], "nodes": 3},  # reduction cells: stride-2 edges from the input
        {"wiring": "macro", "channels": [4, 8], "nodes": 3, "normal_cells": 2},
        {
            "wiring": "micro",
            "channels": [4],
            "nodes": 2,
            "ops": list(RL_DARTS_OPS[:-1]) + ["sep_conv_3x3", "max_pool_3x3", "zero"],
        },
    ],
)
def test_outputs_and_gradients_equal_nnis_cells(options):
    torch.manual_seed(0)
    nni_supernet = DARTS().mutate_model(DartsEncoderSpace(MINATAR, **options))
    fused = SupernetFactory(lambda: DartsEncoderSpace(MINATAR, **options))()
    assert any(isinstance(module, FusedDifferentiableCell) for module in fused.modules())
    assert not any(isinstance(module, FusedDifferentiableCell) for module in nni_supernet.modules())
    fused.load_state_dict(nni_supernet.state_dict())
    with torch.no_grad():
        for alphas in (architecture_weights(nni_supernet), architecture_weights(fused)):
            for index, alpha in enumerate(alphas):  # distinct, non-uniform operation weights
                alpha.copy_(torch.linspace(-1.0, 1.0, len(alpha)) * (index + 1) / len(alphas))
    images = torch.rand(5, *MINATAR)
    expected, got = nni_supernet(images), fused(images)
    assert torch.allclose(got, expected, atol=1e-5)
    expected.square().sum().backward()
    got.square().sum().backward()
    fused_parameters = dict(fused.named_parameters())
    for name, parameter in nni_supernet.named_parameters():
        if parameter.grad is not None:
            assert torch.allclose(fused_parameters[name].grad, parameter.grad, atol=1e-4, rtol=1e-3), name


def test_the_auxiliary_skip_adds_its_multiple_of_every_state_that_keeps_its_shape():
    supernet = SupernetFactory(
        lambda: DartsEncoderSpace(MINATAR, wiring="macro", channels=[4, 8], nodes=2, normal_cells=2)
    )()
    cell = next(module for module in supernet.modules() if isinstance(module, FusedDifferentiableCell))
    with torch.no_grad():
        for alpha in cell._arch_alpha.values():  # "no edge" takes all the weight: the operations add nothing
            alpha.copy_(torch.tensor([-1e4] * (len(alpha) - 1) + [0.0]))
    images = torch.rand(5, 4, 10, 10)
    beta = 0.3
    cell.auxiliary_skip = beta
    first = beta * images  # node 1 reads the cell's input; node 2 reads it and node 1
    expected = cell.postprocessor(torch.cat([first, beta * images + beta * first], 1), [images])
    assert torch.allclose(cell(images), expected, atol=1e-6)
    cell.auxiliary_skip = 0.0
    assert torch.allclose(cell(images), cell.postprocessor(torch.zeros(5, 8, 10, 10), [images]), atol=1e-6)
