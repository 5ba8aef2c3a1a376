"""The one-shot searches, by strategy name: each search function registers itself where it is
defined (:func:`search_of`), so the trial dispatches a search trial without a table to keep."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..options import TwoPhaseOptions

SEARCHES: dict[str, Callable[..., dict[str, Any]]] = {}


def search_of(
    options: type[TwoPhaseOptions],
) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    """Register the decorated function as the search trial of the strategy ``options`` names."""

    def register(search: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        SEARCHES[options.strategy] = search
        return search

    return register
