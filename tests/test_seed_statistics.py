"""Statistics over seeds: aggregates, intervals that cover, and what a number of seeds can detect."""

import numpy as np
import pytest

from nni_rl_nas.seed_statistics import (
    aggregate,
    detectable_difference,
    paired_difference,
    probability_of_improvement,
    reliability,
    seeds_needed,
    shown_worse,
    summarize,
    variance_components,
    verdict,
)


def test_aggregates_and_a_collapsed_seed():
    scores = [200.0, 210.0, 220.0, 230.0, -300.0]
    assert aggregate(scores, "mean") == pytest.approx(112.0)
    assert aggregate(scores, "iqm") == pytest.approx(210.0)  # the middle half (rliable's trimmed mean)
    assert aggregate(scores, "quantile", 0.25) == pytest.approx(200.0)
    with pytest.raises(ValueError, match="aggregate 'max'"):
        aggregate(scores, "max")


def test_a_summary_gives_an_interval_only_with_two_seeds_or_more():
    assert summarize([5.0])["ci95"] is None
    summary = summarize([1.0, 2.0, 3.0, 4.0, 10.0], "iqm")
    assert summary["seeds"] == 5 and summary["aggregate"] == summary["iqm"]
    low, high = summary["ci95"]
    assert low <= summary["iqm"] <= high


def test_the_paired_interval_covers_the_true_difference_at_least_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    covered = []
    for _ in range(300):
        shared = rng.normal(0.0, 90.0, 6)  # seed effects both networks share
        x, y = shared + 20.0 + rng.normal(0.0, 60.0, 6), shared + rng.normal(0.0, 60.0, 6)
        low, high = paired_difference(x, y)["ci95"]
        covered.append(low <= 20.0 <= high)
    assert np.mean(covered) >= 0.93


def test_a_verdict_follows_the_interval():
    assert verdict([1.0, 5.0]) == "better" and verdict([-5.0, -1.0]) == "worse"
    assert verdict([-1.0, 5.0]) == "not distinguishable" and verdict(None) == "not distinguishable"


def test_three_agreeing_pairs_are_not_enough_for_better_when_they_disagree_in_size():
    """The bootstrap alone would call this better (its interval cannot leave the pairs' range); t cannot."""
    assert verdict(paired_difference([10.0, 200.0, 30.0], [0.0, 0.0, 0.0])["ci95"]) == "not distinguishable"


def test_probability_of_improvement_counts_pairs_of_runs():
    assert probability_of_improvement([2.0, 3.0], [0.0, 1.0])["probability"] == 1.0
    assert probability_of_improvement([1.0], [1.0])["probability"] == 0.5


def test_detectable_difference_and_seeds_needed_agree():
    """Colas et al.'s LunarLander figure: sd 94 per arm, paired sd about sqrt(2) x 94; a 50-point
    difference needs about 55 seeds, and 55 seeds detect about 50."""
    sd = 94.0 * np.sqrt(2)
    assert 50 <= seeds_needed(sd, 50.0) <= 60
    assert detectable_difference(sd, 55) == pytest.approx(50.0, rel=0.05)
    assert detectable_difference(sd, 1) is None


def test_shown_worse_needs_two_pairs_and_a_one_sided_bound_below_zero():
    assert not shown_worse([-100.0], 0.8)
    assert shown_worse([-100.0, -90.0, -110.0], 0.8)
    assert not shown_worse([-100.0, 80.0], 0.8)


def test_variance_components_recover_the_simulated_ones():
    rng = np.random.default_rng(1)
    means = rng.normal(0.0, 30.0, 400)
    groups = [rng.normal(mean, 94.0, 10) for mean in means]
    components = variance_components(groups)
    assert components["between_seeds_sd"] == pytest.approx(94.0, rel=0.05)
    assert components["between_architectures_sd"] == pytest.approx(np.std(means), rel=0.2)
    true_icc = np.var(means) / (np.var(means) + 94.0**2)
    assert reliability(components["intraclass_correlation"], 10) == pytest.approx(reliability(true_icc, 10), abs=0.1)
    assert variance_components([[1.0], [2.0, 3.0]])["between_seeds_sd"] is None
