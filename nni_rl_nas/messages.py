"""The messages a trial sends through NNI, each key declared once with its type and meaning.

A trial reports intermediate results (one per report point) and a final result; NNI stores
them as JSON, the web UI plots them, the strategy learns from the final one and
``nni-rl-nas report`` reads both back. Each message is a ``TypedDict`` whose keys carry their
help (``Annotated[type, help]``): the trial checks what it sends against it (:func:`checked`),
so a key renamed on one side fails the trial's own tests instead of vanishing from the report,
and the docs' "What a trial reports" is generated from it. Bottom floor: no imports from the
package.
"""

import functools
from collections.abc import Mapping
from typing import Annotated, Any, TypedDict, get_type_hints


class CurvePoint(TypedDict, total=False):
    """An RL trial's intermediate result: the mean over its seeds at one report point (an agent
    that stopped early counts with its last point)."""

    default: Annotated[
        float, "mean greedy return on validation episodes; with eval_episodes 0, of the last 100 training episodes"
    ]
    seed_defaults: Annotated[list[float], "default per seed"]
    greedy_return: Annotated[float | None, "mean greedy return on validation episodes (block 2)"]
    training_return: Annotated[float | None, "mean return of the last 100 training episodes"]
    env_steps: Annotated[int, "env steps per agent so far"]
    episodes: Annotated[int, "training episodes so far, all seeds together"]
    solved: Annotated[bool, "every seed solved (judged on validation episodes)"]
    solved_seeds: Annotated[int, "seeds solved"]
    wall_clock_s: Annotated[float, "seconds since the trial started training"]


class EpochPoint(TypedDict, total=False):
    """An image-classifier trial's intermediate result, one per epoch."""

    default: Annotated[float, "validation accuracy"]
    epoch: Annotated[int, "the epoch, from 1"]
    train_loss: Annotated[float, "mean training loss over the epoch"]
    wall_clock_s: Annotated[float, "seconds since training started"]


class SearchPoint(TypedDict, total=False):
    """A weight-sharing search trial's intermediate result (ENAS: one per controller update;
    DARTS: one per report point)."""

    default: Annotated[
        float, "ENAS: mean shared-weight return of the update's children; DARTS: the supernet agent's greedy return"
    ]
    objective: Annotated[float, "ENAS, cost set: the children's mean return less their size penalty"]
    controller_entropy: Annotated[float, "ENAS: entropy of the controller's policy"]
    baseline: Annotated[float, "ENAS: the REINFORCE baseline (the moving average of the children's scores)"]
    most_likely: Annotated[str, "ENAS: the controller's most likely architecture"]
    top_probabilities: Annotated[dict[str, float], "ENAS: its most likely architectures and their probabilities"]
    children: Annotated[int, "ENAS: children sampled so far"]
    greedy_return: Annotated[float, "DARTS: the supernet agent's greedy return"]
    training_return: Annotated[float | None, "DARTS: mean return of the last training episodes"]
    arch_entropy: Annotated[float, "DARTS: mean entropy of the operation weights over the edges"]
    genotype: Annotated[str, "DARTS: the genotype the weights derive now"]
    operation_weights: Annotated[dict[str, list[float]], "DARTS: the softmaxed operation weights per edge"]
    env_steps: Annotated[int, "env steps so far"]
    wall_clock_s: Annotated[float, "seconds since the search started"]


class TrialResult(TypedDict, total=False):
    """A trained architecture's final result: what the strategy learns from and the report ranks."""

    default: Annotated[float, "the score: the mean of seed_scores (a classifier: its last validation accuracy)"]
    architecture: Annotated[str, "the architecture's name"]
    device: Annotated[str, "where it trained: cpu or cuda:N"]
    baseline: Annotated[bool, "a baseline trial (classArgs.baselines)"]
    train_seeds: Annotated[list[int], "the seeds it trained: search seeds, or the verdict's test seeds"]
    verdict: Annotated[bool, "a verdict trial: the answer or a baseline on the test seeds"]
    hyperparameters: Annotated[dict[str, Any], "the searched hyperparameters it trained with (search_hyperparameters)"]
    fidelity: Annotated[float, "an advisor's trial: its share of the largest budget"]
    generation: Annotated[int, "a PBT trial: its generation"]
    objective: Annotated[float, "cost set: the score less the size penalty, which the strategy learns from"]
    level: Annotated[int, "a progressive search's trial: its level"]
    predicted_score: Annotated[float | None, "a progressive search's trial: the predictor's score for it"]
    predicted_spread: Annotated[float | None, "a progressive search's trial: the predictor's spread"]
    score_std: Annotated[float, "standard deviation of seed_scores"]
    seed_scores: Annotated[list[float], "the score of each seed, in train_seeds order"]
    seeds: Annotated[int, "seeds trained"]
    mean_return: Annotated[float | None, "mean greedy return on the test episodes (block 1), over seeds"]
    std_return: Annotated[float | None, "its standard deviation over episodes, averaged over seeds"]
    eval_episodes: Annotated[int, "test episodes behind the score, all seeds together"]
    solved: Annotated[bool, "every seed solved (judged on validation episodes)"]
    solved_seeds: Annotated[int, "seeds solved"]
    solved_at: Annotated[int | None, "env steps at which the last seed solved; null unless every seed did"]
    score_rule: Annotated[str, "task.score.rule"]
    env_steps: Annotated[int, "env steps this trial trained, all seeds together: its cost"]
    agent_env_steps: Annotated[int, "a continued agent (PBT, advisors): env steps with the earlier trials'"]
    capped: Annotated[bool, "training ended at max_trial_seconds, not at its env steps"]
    training_episodes: Annotated[int, "training episodes, all seeds together"]
    wall_clock_s: Annotated[float, "seconds the trial ran"]
    training_s: Annotated[float, "of which training"]
    parameters: Annotated[int, "weights the trial's optimizers train"]
    saved_seed: Annotated[int, "the seed whose weights model.pt holds (the best)"]
    val_accuracy: Annotated[float, "a classifier: validation accuracy after the last epoch"]
    best_val_accuracy: Annotated[float, "a classifier: the best validation accuracy of any epoch"]
    epochs: Annotated[int, "a classifier: epochs trained"]
    train_images: Annotated[int, "a classifier: training images"]
    val_images: Annotated[int, "a classifier: validation images"]


class SearchResult(TypedDict, total=False):
    """A weight-sharing search trial's final result: the architectures it derived, which are then
    trained alone. Its default is NaN, so that NNI's web UI ranks trained architectures only."""

    default: Annotated[float, "NaN: a shared-weight return is no architecture's score"]
    architecture: Annotated[str, "the search's name (enas-search-0 ...)"]
    top_k: Annotated[list[str], "the derived architectures, most likely first"]
    top_k_probabilities: Annotated[list[float], "ENAS: their probabilities under the controller"]
    top_k_shared_returns: Annotated[list[float], "ENAS: their greedy returns with the shared weights, on test episodes"]
    shared_return: Annotated[float, "ENAS: the most likely one's shared-weight return"]
    ranked: Annotated[
        list[str], "ENAS: more architectures, most likely first: stand-ins when other searches took the top"
    ]
    children: Annotated[int, "ENAS: children sampled"]
    supernet_return: Annotated[float, "DARTS: the supernet agent's greedy return at the end"]
    derived: Annotated[str, "DARTS: the derived genotype"]
    arch_entropy: Annotated[float, "DARTS: mean entropy of the final operation weights"]
    max_entropy: Annotated[float, "DARTS: log of the number of operations"]
    entropy_ratio: Annotated[float, "DARTS: arch_entropy / max_entropy"]
    genotype_settled_at: Annotated[int | None, "DARTS: the env step from which the genotype never changed again"]
    decisions: Annotated[list[dict[str, Any]], "DARTS: each node's inputs, and its clarity or divergences"]
    env_steps: Annotated[int, "env steps of the search"]
    capped: Annotated[bool, "the search ended at max_trial_seconds"]
    wall_clock_s: Annotated[float, "seconds the search ran"]
    parameters: Annotated[int, "weights of the supernet (ENAS) or of the supernet's encoder (DARTS)"]


MESSAGES = (CurvePoint, EpochPoint, TrialResult, SearchPoint, SearchResult)


def declared_keys(message: type) -> dict[str, tuple[Any, str]]:
    """Each key of ``message``: (its type, its help)."""
    hints = get_type_hints(message, include_extras=True)
    return {key: (hint.__origin__, hint.__metadata__[0]) for key, hint in hints.items()}


@functools.cache
def _keys(message: type) -> frozenset[str]:
    return frozenset(get_type_hints(message))


def checked(message: type, data: Mapping[str, Any]) -> Mapping[str, Any]:
    """``data`` itself when every key is declared by ``message``; else a TypeError naming the strays."""
    stray = sorted(set(data) - _keys(message))
    if stray:
        raise TypeError(
            f"{message.__name__} declares no key {stray}; fix: declare it in nni_rl_nas/messages.py "
            "(the report and the docs read that declaration)"
        )
    return data
