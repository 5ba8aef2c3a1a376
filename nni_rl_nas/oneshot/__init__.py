"""One-shot searches that a weight-sharing strategy's search trials run, by strategy name.

The trial dispatches a search trial here by the experiment's strategy, so the trial process
never imports the tuner side. Each search trains one weight-sharing agent and returns its final
result, whose ``top_k`` (and optional ``ranked``, most likely first) name the derived architectures.
"""

from __future__ import annotations

from . import darts, enas  # noqa: F401 (their searches register on import)
from .registry import SEARCHES

__all__ = ["SEARCHES"]
