"""What every model-space family provides, beside NNI's ``ModelSpace``.

From NNI: ``simplify()`` (the decisions, which :func:`nni_rl_nas.spaces.search_choices` turns into
what strategies see) and ``freeze(architecture)`` (a plain module of one architecture). Declared
here: the part the network plays in an agent, and a readable name for an architecture, both ways,
so that the web UI, results and retrain queues carry names and a trial can rebuild the network.
The inputs a family needs are its :class:`nni_rl_nas.spaces.SpaceFamily`'s ``build``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import nni
from nni.nas.nn.pytorch import ModelSpace

Architecture = dict[str, Any]
PARTS = ("dense", "encoder", "classifier")


class ArchitectureSpace(ModelSpace):
    part: ClassVar[str]
    """``dense``: the layers after SB3's features extractor (DQN's Q-network, PPO/SAC/TD3 MLPs);
    ``encoder``: SB3's features extractor of an image agent; ``classifier``: a whole supervised child."""

    def architecture_name(self, architecture: Architecture) -> str:
        """A readable, unique name of one architecture (e.g. ``256-relu_256-relu``)."""
        raise NotImplementedError

    def parse_architecture_name(self, name: str) -> Architecture:
        """The architecture :meth:`architecture_name` named."""
        raise NotImplementedError

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
        raise NotImplementedError(f"{type(self).__name__} is a {self.part} space; only dense spaces change their inputs")
