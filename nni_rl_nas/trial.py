"""The trial: read the architecture from NNI -> build the agent (or classifier) -> train -> score -> report.

Run by NNI as ``nni-rl-nas trial <experiment.yml>`` (the ``trialCommand`` of every shipped
config). The YAML gives the task; NNI gives the architecture (a dict of choices from the model
space), with the hyperparameters searched beside it, which the trial sets on its agent, and,
under PBT, Hyperband or BOHB, the checkpoint folders of the agent it continues. Any exception
ends the process non-zero, so NNI marks the trial FAILED with the traceback in its stderr, and
the experiment goes on.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any

import nni
import torch

from .algorithms import NetworkFactory
from .algorithms.hyperparameters import agent_value
from .experiment import ExperimentFile, load_experiment
from .files import write_atomically, write_json
from .messages import SearchResult, TrialResult, checked
from .oneshot import SEARCHES
from .options import (
    BASELINE_KEY,
    FIDELITY_KEY,
    LOAD_CHECKPOINT_KEY,
    OBJECTIVE_KEY,
    PROPOSAL_KEY,
    SAVE_CHECKPOINT_KEY,
    SEARCH_PHASE,
    TRAIN_SEEDS_KEY,
    VERDICT_KEY,
    AdvisorOptions,
    TwoPhaseOptions,
)
from .spaces import search_choices
from .specs import ClassificationTaskSpec, TaskSpec
from .training.checkpoints import saved_env_steps
from .training.seeds import train_over_seeds
from .training.supervised import train_classifier
from .training.tensorboard import tensorboard_folder

TRIAL_RECORD, WEIGHTS = "trial.json", "model.pt"

logger = logging.getLogger(__name__)


def save_trial_outputs(output_dir: Path, state_dict: dict[str, torch.Tensor], record: dict[str, Any]) -> None:
    """``model.pt`` holds tensors only (the state dict of the agent's policy, or of the classifier)
    and ``trial.json`` the architecture, options and results, so a saved model is rebuilt from the
    model space and loaded with ``torch.load(weights_only=True)``: opening a result never executes
    pickled code."""
    write_atomically(output_dir / WEIGHTS, lambda target: torch.save(state_dict, target))
    write_json(output_dir / TRIAL_RECORD, record)


def check_architecture(space, architecture: dict) -> dict:
    """Keep the space's decisions from NNI's parameters; refuse values the space does not offer."""
    choices = search_choices(space)
    missing = [label for label in choices if label not in architecture]
    if missing:
        raise ValueError(f"parameters {architecture} lack the decisions {missing} of this model space")
    for label, values in choices.items():
        if architecture[label] not in values:
            raise ValueError(f"parameter {label}={architecture[label]!r} is not in the space's choices {values}")
    return {label: architecture[label] for label in choices}


def pick_device(requested: str) -> str:
    """``auto``: CUDA when this trial sees a GPU, else the CPU. NNI shows a trial only the GPUs it
    assigned (``trialGpuNumber``; it sets CUDA_VISIBLE_DEVICES), so ``auto`` follows NNI's
    scheduling. Asking for CUDA where there is none fails the trial with the reason."""
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        raise RuntimeError(
            f"task.device is {requested!r} but this trial sees no GPU (CUDA_VISIBLE_DEVICES={visible!r}); "
            "fix: give trials GPUs with trialGpuNumber: 1 in the experiment config, or use device: auto"
        )
    return requested


def run_trial(config_path: str | Path, architecture_name: str | None = None, parameters: dict | None = None) -> dict:
    """Train and score one architecture: NNI's, the named one (run by hand), or ``parameters`` as
    a strategy generated them (a benchmark driving a strategy without NNI)."""
    experiment = load_experiment(config_path, check_registration=False)
    task = experiment.spec.task
    torch.set_num_threads(task.torch_threads)
    output_dir = Path(os.environ.get("NNI_OUTPUT_DIR", "."))

    if parameters is None:
        parameters = (
            experiment.spec.build_search_space().parse_name(architecture_name)
            if architecture_name
            else nni.get_next_parameter()
        )
    if parameters.get("phase") == SEARCH_PHASE:
        return run_search_trial(experiment, experiment.spec.build_space(), parameters["search_seed"], output_dir)
    # a baseline may lie outside the searched choices (a wider hand-picked network): its space holds it
    spec = experiment.spec.holding_baselines() if parameters.get(BASELINE_KEY) else experiment.spec
    search_space = spec.build_search_space()
    space = search_space.space
    architecture = check_architecture(space, parameters)
    hyperparameters = search_space.check_hyperparameters(parameters)
    if hyperparameters:
        hyperparameters = {key: agent_value(key, value) for key, value in hyperparameters.items()}
        task = spec.rl_task.with_hyperparameters(hyperparameters)  # validation lets only RL tasks search them
    fidelity = parameters.get(FIDELITY_KEY)  # an advisor's budget: that fraction of its largest, in env steps
    if fidelity is not None:
        advisor = experiment.spec.options_as(AdvisorOptions)
        if not isinstance(task, TaskSpec):
            raise TypeError(f"{advisor.strategy} gave a budget to an image-classification trial")
        task = dataclasses.replace(task, total_timesteps=advisor.env_steps(fidelity, task.budget))
    task, continue_from, save_to = continuation(parameters, task, per_generation=fidelity is None)
    seeds = trial_seeds(parameters, task)
    name = search_space.name(parameters)
    logger.info("trial %s trains %s: %s", nni.get_trial_id(), name, task.describe())
    device = pick_device(task.device)
    if isinstance(task, ClassificationTaskSpec):
        fields, curve, state = train_classifier(
            dataclasses.replace(task, seed=seeds[0]), lambda: space.freeze(architecture), device
        )
    else:
        fields, curve, state = train_over_seeds(
            task,
            NetworkFactory(space, architecture),
            device,
            tensorboard_folder(output_dir),
            continue_from,
            save_to,
            seeds,
        )
    result = {
        "default": fields.pop("default"),
        "architecture": name,
        **fields,
        "device": device,
        BASELINE_KEY: bool(parameters.get(BASELINE_KEY)),
        TRAIN_SEEDS_KEY: seeds,
        VERDICT_KEY: bool(parameters.get(VERDICT_KEY)),
    }
    if search_space.hyperparameters:
        result["hyperparameters"] = hyperparameters
    result.update(
        parameters.get(PROPOSAL_KEY) or {}
    )  # what the strategy expected: the report shows it beside the score
    if fidelity is not None:
        result["fidelity"] = fidelity / experiment.spec.options_as(AdvisorOptions).largest_budget
    if save_to is not None and fidelity is None:
        result["generation"] = int(save_to.name)  # PBT's save folders are <member>/<generation>
    if experiment.options.cost.active:  # the report ranks by it
        result[OBJECTIVE_KEY] = experiment.options.cost.objective(result["default"], result["parameters"])
    save_trial_outputs(
        output_dir,
        state,
        {
            "trial_id": nni.get_trial_id(),
            "architecture": architecture,
            "hyperparameters": hyperparameters,  # the searched ones; task holds them applied, as the agent trained
            "space": dataclasses.asdict(spec.space),
            "task": dataclasses.asdict(task),
            "result": result,
            "curve": curve,
        },
    )
    nni.report_final_result(checked(TrialResult, result))
    logger.info("trial %s (%s) finished: %s", nni.get_trial_id(), name, result)
    return result


def trial_seeds(parameters: dict, task) -> list[int]:
    """The seeds this trial trains: the strategy's (a race's search seeds, or the verdict's test
    seeds), else the task's own, ``task.seed`` onwards (a trial run by hand)."""
    seeds = parameters.get(TRAIN_SEEDS_KEY)
    if seeds is None:
        return list(range(task.seed, task.seed + task.seed_count))
    if (
        not isinstance(seeds, list)
        or not seeds
        or not all(isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0 for seed in seeds)
    ):
        raise ValueError(f"parameter {TRAIN_SEEDS_KEY}={seeds!r}: a non-empty list of whole numbers >= 0")
    return seeds


def continuation(parameters: dict, task, per_generation: bool) -> tuple[Any, Path | None, Path | None]:
    """For a trial given checkpoint folders (by NNI's PBT, or by an advisor): the task, the folder of
    the agent it continues (None when nothing is saved there yet), and where to save its agents.
    A PBT generation (``per_generation``) trains ``total_timesteps`` env steps more than the agent
    it continues; an advisor's trial trains to its budget. Other trials, and an advisor's trial on
    the batched engine (which writes no checkpoints; PBT refuses it): the task, and no folders."""
    if SAVE_CHECKPOINT_KEY not in parameters or (not per_generation and task.engine != "sb3"):
        return task, None, None
    load_from = Path(parameters[LOAD_CHECKPOINT_KEY])
    inherited = saved_env_steps(load_from, task.seed)
    if per_generation:
        task = dataclasses.replace(task, total_timesteps=(inherited or 0) + task.budget)
    return task, load_from if inherited is not None else None, Path(parameters[SAVE_CHECKPOINT_KEY])


def run_search_trial(experiment: ExperimentFile, space, search_seed: int, output_dir: Path) -> dict:
    """Phase 1 of a weight-sharing strategy (ENAS, DARTS): one search, its derived architectures out."""
    options = dataclasses.replace(experiment.spec.options_as(TwoPhaseOptions), seed=search_seed)
    logger.info(
        "trial %s runs a %s (seed %d) over %s",
        nni.get_trial_id(),
        options.search_name,
        search_seed,
        experiment.spec.task.describe(),
    )
    result = SEARCHES[experiment.strategy_name](
        experiment.spec.task,
        space,
        experiment.spec.build_space,
        options,
        output_dir,
        pick_device(experiment.spec.task.device),
    )
    nni.report_final_result(checked(SearchResult, result))
    logger.info("search trial %s finished: %s", nni.get_trial_id(), result)
    return result
