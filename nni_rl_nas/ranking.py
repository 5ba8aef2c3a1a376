"""Rank agreement between two scorings of the same architectures: how well a predictor (or a
cheaper proxy) orders architectures the way their trained scores do."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def rank_correlation(predicted: Sequence[float], actual: Sequence[float]) -> float | None:
    """Spearman's rank correlation (tied values ranked in the order given); None for fewer than 3
    pairs, or when either side has no spread."""
    if len(predicted) < 3:
        return None
    predicted_ranks, actual_ranks = (
        np.argsort(np.argsort(np.asarray(values, dtype=float), kind="stable")).astype(float)
        for values in (predicted, actual)
    )
    if np.ptp(np.asarray(predicted, dtype=float)) == 0 or np.ptp(np.asarray(actual, dtype=float)) == 0:
        return None
    return float(np.corrcoef(predicted_ranks, actual_ranks)[0, 1])
