"""One-shot searches that a weight-sharing strategy's search trials run, by strategy name.

The trial dispatches a search trial here by the experiment's strategy, so the trial process
never imports the tuner side. Each search trains one weight-sharing agent and returns its final
result, whose ``top_k`` (and optional ``ranked``, most likely first) name the derived architectures.
"""

from __future__ import annotations

from ..options import DartsOptions, EnasOptions
from .darts import run_darts_search
from .enas import run_enas_search

SEARCHES = {EnasOptions.strategy: run_enas_search, DartsOptions.strategy: run_darts_search}
