"""NNI's one-shot DARTS cell, computed with fewer and wider kernels: what makes a supernet step cheap.

In NNI's ``DifferentiableMixedCell`` every edge ``state j -> node i`` runs every operation on state
``j``, stacks the outputs with a zero tensor for "no edge", and sums them weighted. On the small
feature maps of an agent's encoder that costs about 3x a derived cell (measured in
``benchmarks/darts_encoders.py``), mostly in many narrow convolutions and in the stacking. Here
every state is sent through each operation once for all the edges leaving it:

- the edges' 3x3 convolutions (separate weights) run as one convolution with their weights
  concatenated, its output split back per edge;
- an operation without weights or buffers (an activation, skip, a pool) gives every edge from a
  state the same output, so it runs once;
- anything else runs per edge, as in NNI.

Each node sums ``weight x output`` over its edges; "no edge" adds nothing, as its zero tensor does
in NNI. With ``auxiliary_skip`` above 0 (DARTS-, Chu et al., ICLR 2021), every edge whose state
keeps its shape also adds that multiple of the state itself, outside the architecture weights, so
a parameter-free skip operation no longer gains weight for the gradient path it opens; the
search takes it down to 0 by its end. Without it, outputs and gradients equal NNI's cell's
(``tests/oneshot/test_fused_cell.py``), and the architecture weights, their export and their
labels are NNI's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import torch
from nni.nas.nn.pytorch.cell import preprocess_cell_inputs
from nni.nas.oneshot.pytorch.supermodule.differentiable import DifferentiableMixedCell
from torch import nn
from torch.nn import functional


def shares_output(modules: Sequence[nn.Module]) -> bool:
    """Modules without weights or buffers, all alike: on one input they give one output."""
    first = modules[0]
    return (
        not any(True for _ in first.parameters())
        and not any(True for _ in first.buffers())
        and all(repr(module) == repr(first) for module in modules)
    )


def fusable_convolutions(modules: Sequence[nn.Module]) -> bool:
    """Plain convolutions that differ only in their weights."""
    first = modules[0]
    return len(modules) > 1 and all(
        type(module) is nn.Conv2d
        and module.bias is not None
        and module.groups == 1
        and (module.stride, module.padding, module.dilation, module.padding_mode)
        == (first.stride, first.padding, first.dilation, first.padding_mode)
        for module in modules
    )


def edge_plan(modules: Sequence[nn.Module]) -> str:
    """How :func:`run_edges` runs one operation on the edges leaving a state: fixed once the cell
    is built, so worked out once, not at every forward."""
    if shares_output(modules):
        return "shared"
    return "fused" if fusable_convolutions(modules) else "each"


def run_edges(modules: Sequence[nn.Module], plan: str, state: torch.Tensor) -> list[torch.Tensor]:
    """One operation on every edge leaving ``state``, one module per edge, run as ``plan`` says."""
    if plan == "shared":
        return [modules[0](state)] * len(modules)
    if plan == "fused":
        convolutions = cast(Sequence[nn.Conv2d], modules)  # edge_plan fuses plain convolutions only
        first = convolutions[0]
        output = functional.conv2d(
            state,
            torch.cat([m.weight for m in convolutions]),
            torch.cat([cast(torch.Tensor, m.bias) for m in convolutions]),
            first.stride,
            first.padding,
            first.dilation,
        )
        return list(output.split(first.out_channels, dim=1))
    return [module(state) for module in modules]


class FusedDifferentiableCell(DifferentiableMixedCell):
    """:class:`DifferentiableMixedCell` with the forward described above; nothing else changes."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.plans: dict[tuple[int, str], str] = {}  # (state, operation) -> its edge_plan
        self.auxiliary_skip = 0.0  # DARTS-'s beta, set by the search as it goes

    def forward(self, *inputs: list[torch.Tensor] | torch.Tensor) -> tuple[torch.Tensor, ...] | torch.Tensor:
        predecessors, last = self.num_predecessors, self.num_predecessors + self.num_nodes
        processed_inputs = preprocess_cell_inputs(predecessors, *inputs)
        states: list[torch.Tensor] = self.preprocessor(processed_inputs)
        sums: dict[int, torch.Tensor] = {}
        for source in range(last - 1):  # every state that an edge leaves, in order: its own edges came first
            if source >= predecessors:
                states.append(sums.pop(source))
            targets = range(max(source + 1, predecessors), last)
            weights = [self._softmax(self._arch_alpha[f"{self.label}/{node}_{source}"]) for node in targets]
            for index, name in enumerate(self.op_names):
                modules = [self.ops[node - predecessors][source][name] for node in targets]
                if (source, name) not in self.plans:
                    self.plans[(source, name)] = edge_plan(modules)
                outputs = run_edges(modules, self.plans[(source, name)], states[source])
                for node, node_weights, output in zip(targets, weights, outputs):
                    contribution = node_weights[index] * output
                    sums[node] = sums[node] + contribution if node in sums else contribution
            if self.auxiliary_skip:
                for node in targets:
                    if sums[node].shape == states[source].shape:
                        sums[node] = sums[node] + self.auxiliary_skip * states[source]
        states.append(sums.pop(last - 1))
        return self.postprocessor(torch.cat(states[predecessors:], self.concat_dim), processed_inputs)
