"""What every model-space family provides, beside NNI's ``ModelSpace``.

From NNI: ``simplify()`` (the decisions, which :func:`nni_rl_nas.spaces.search_choices` turns into
what strategies see) and ``freeze(architecture)`` (a plain module of one architecture). Declared
here: the part the network plays in an agent, and a readable name for an architecture, both ways,
so that the web UI, results and retrain queues carry names and a trial can rebuild the network.
The inputs a family needs are its :class:`nni_rl_nas.spaces.SpaceFamily`'s ``build``.

A family built of layers can also grow (:meth:`ArchitectureSpace.can_grow`): given several depths,
its depth is a decision (``depth``) and the layers past it are unused (NNI's ``Repeat``). A point
still sets every layer's decisions, as NNI's tuners give them, so a strategy that knows nothing of
depth searches the space unchanged; names count only the layers in use, so two points that differ
only in unused layers are one network. A progressive search grows such a space one layer at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import nni
from nni.mutable import MutableExpression
from nni.nas.nn.pytorch import ModelSpace, Repeat
from torch import nn

Architecture = dict[str, Any]
PARTS = ("dense", "encoder", "classifier")
DEPTH_LABEL = "depth"


def depths_of(depth: int | Sequence[int]) -> tuple[int, ...]:
    """A family's ``depth`` option as the depths it offers: one (fixed), or a decision among several."""
    return (depth,) if isinstance(depth, int) else tuple(sorted(depth))


def stacked(layers: list[list[nn.Module]], outputs: list[Any], depths: tuple[int, ...]) -> tuple[list[nn.Module], Any]:
    """The modules of the hidden layers, to put in a ``Sequential`` in order, and the size of what
    the last layer in use outputs.

    At one depth, every layer's modules one after another (the flat layout saved weights have
    always had); at several, one NNI ``Repeat`` over the ``depth`` decision, and the output size is
    the last used layer's (``outputs[d - 1]`` at depth d), as a switch on that decision."""
    if len(depths) == 1:
        return [module for layer in layers for module in layer], outputs[depths[0] - 1]
    depth = nni.choice(DEPTH_LABEL, list(depths))
    return (
        [Repeat([nn.Sequential(*layer) for layer in layers], depth)],
        MutableExpression.switch_case(depth, {d: outputs[d - 1] for d in depths}),
    )


class ArchitectureSpace(ModelSpace):
    part: ClassVar[str]
    """``dense``: the layers after SB3's features extractor (DQN's Q-network, PPO/SAC/TD3 MLPs);
    ``encoder``: SB3's features extractor of an image agent; ``classifier``: a whole supervised child."""
    depths: tuple[int, ...] = ()
    """The depths a layered family offers (one when fixed); empty for a family that has no depth."""

    def architecture_name(self, architecture: Architecture) -> str:
        """A readable, unique name of one architecture (e.g. ``256-relu_256-relu``)."""
        raise NotImplementedError

    def parse_architecture_name(self, name: str) -> Architecture:
        """The architecture :meth:`architecture_name` named."""
        raise NotImplementedError

    def named_architectures(self) -> dict[str, str]:
        """Published networks that are architectures of the space, by what people call them (the
        baselines a search is shown against): title -> architecture name."""
        return {}

    def largest_architecture(self) -> Architecture:
        """The architecture that needs the most memory: what validation estimates a trial's memory
        from (:mod:`nni_rl_nas.resources`) before anything is allocated."""
        largest = {}
        for label, mutable in self.simplify().items():
            value = self.largest_value(str(label), list(mutable.values))
            largest[str(label)] = [value] if isinstance(mutable, nni.mutable.CategoricalMultiple) else value
        return largest

    def largest_value(self, label: str, values: list[Any]) -> Any:
        """The candidate of decision ``label`` that needs the most memory: by default the largest
        number (widths, channels, depths), or the first of other kinds (activations, inputs)."""
        if all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in values):
            return max(values)
        return values[0]

    def with_inputs(self, in_features: int) -> ArchitectureSpace:
        """The same space reading ``in_features`` inputs (a critic reads observation and action):
        dense families only."""
        raise NotImplementedError(
            f"{type(self).__name__} is a {self.part} space; only dense spaces change their inputs"
        )

    def can_grow(self) -> bool:
        """Whether the space offers several depths, so that a progressive search can grow it."""
        return len(self.depths) > 1

    def layer_labels(self, layer: int) -> list[str]:
        """The decisions of hidden layer ``layer`` (from 1): what growing to it adds."""
        raise NotImplementedError(f"{type(self).__name__} has no layers to grow")

    def depth_of(self, architecture: Architecture) -> int:
        return int(architecture.get(DEPTH_LABEL, max(self.depths)))

    def with_unused_layers(self, architecture: Architecture) -> Architecture:
        """``architecture``, which sets its used layers' decisions, with every decision set: the
        depth, and each unused layer's first candidates (what a name parses back to)."""
        complete = dict(architecture)
        if self.can_grow():
            complete[DEPTH_LABEL] = self.depth_of(architecture)
        for label, mutable in self.simplify().items():
            complete.setdefault(str(label), mutable.values[0])
        return complete
