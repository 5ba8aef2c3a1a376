"""RL algorithms: the registry (one entry per algorithm), the policies that hold an architecture,
and the agent a task trains."""

from .agents import build_agent, trained_parameters
from .networks import NetworkBuilder, NetworkFactory, output_width
from .registry import ALGORITHMS, Algorithm, algorithm

__all__ = [
    "ALGORITHMS",
    "Algorithm",
    "NetworkBuilder",
    "NetworkFactory",
    "algorithm",
    "build_agent",
    "output_width",
    "trained_parameters",
]
