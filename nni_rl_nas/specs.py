"""Plain-data specs of an experiment: which space, which task, how a trained agent is scored.

These are what :mod:`nni_rl_nas.experiment` parses ``tuner.classArgs`` into and what every
later layer reads. They hold values, already checked and with the algorithm's per-env defaults
resolved (``TaskSpec.defaults``), so nothing downstream looks a default up again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import gymnasium as gym
import torch

from .declarations import option, set_by_the_parser
from .envs import Preprocessing, preprocess, registry_id
from .errors import (
    ConfigError,
    check_bool,
    check_choice,
    check_device,
    check_non_negative_int,
    check_positive_int,
    check_positive_number,
    is_number,
)
from .search_space import SearchSpace
from .spaces import SPACE_FAMILIES, SpaceMismatchError

if TYPE_CHECKING:
    from .options import StrategyOptions

# image classification datasets: (channels, height, width), classes
DATASETS: dict[str, tuple[tuple[int, int, int], int]] = {"digits": ((1, 8, 8), 10), "fashion_mnist": ((1, 28, 28), 10)}
SCORE_RULES = ("mean_return", "solved_then_eval")
SOLVED_ON = ("greedy_eval", "training_episodes")


OptionsT = TypeVar("OptionsT", bound="StrategyOptions")


@dataclass(frozen=True)
class SpaceSpec:
    family: str
    options: dict[str, Any]


@dataclass(frozen=True)
class ScoreSpec:
    """How a trained agent becomes the one number a strategy learns from.

    ``mean_return``: mean greedy return over ``episodes`` evaluation episodes whose seeds are
    disjoint from training. ``solved_then_eval`` (the rule of the original 100-network
    LunarLander space): if solved, mean return over ``episodes`` episodes on yet another seed
    block divided by ``scale``, else ``unsolved_score``. "Solved" means a mean >= ``threshold``
    over ``solve_window`` consecutive episodes, judged on greedy evaluation episodes after training
    (``solved_on: greedy_eval``, the default: training episodes carry exploration noise) or, as
    the rule was first defined, on any window of training episodes (``solved_on: training_episodes``).
    """

    rule: str = option("mean_return", "mean_return or solved_then_eval (the score reference explains both)")
    episodes: int = option(100, "greedy evaluation episodes behind the score (the test block: no decision reads them)")
    solved_on: str = option("greedy_eval", "what judges solved: greedy_eval (validation episodes) or training_episodes")
    solve_window: int = option(100, "consecutive episodes whose mean must reach the threshold")
    threshold: float | None = option(
        None, "the solve threshold; null: the env's reward_threshold (200 for LunarLander)"
    )
    scale: float = option(30.0, "solved_then_eval: a solved seed scores its mean return / scale")
    unsolved_score: float = option(1e-5, "solved_then_eval: what an unsolved seed scores")
    stop_on_solve: bool = option(False, "end training once solved (judged on validation episodes)")

    def check(self, where: str = "task.score") -> None:
        """Refuse bad values, naming the field and the fix."""
        check_choice(self.rule, SCORE_RULES, f"{where}.rule")
        check_choice(self.solved_on, SOLVED_ON, f"{where}.solved_on")
        check_positive_int(self.episodes, f"{where}.episodes")
        check_positive_int(self.solve_window, f"{where}.solve_window")
        if self.threshold is not None and not is_number(self.threshold):
            raise ConfigError(f"{where}.threshold: got {self.threshold!r}; fix: a number, or null for the env's own")
        check_positive_number(self.scale, f"{where}.scale")
        if not is_number(self.unsolved_score):
            raise ConfigError(f"{where}.unsolved_score: got {self.unsolved_score!r}; fix: a number")
        check_bool(self.stop_on_solve, f"{where}.stop_on_solve")


@dataclass(frozen=True)
class AlgorithmDefaults:
    """An algorithm's shipped defaults for one env (``algorithms/defaults.yml``)."""

    total_timesteps: int = 100_000
    seeds: int = 1
    n_envs: int = 1
    hyperparameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskSpec:
    """What one trial does with an architecture: the env, the algorithm, the budget, the score.

    ``total_timesteps``, ``seeds``, ``n_envs`` and ``hyperparameters`` are the config's own
    values (None or empty: not given); the properties below resolve them against ``defaults``.
    """

    env: str = option(
        help="any registered gymnasium id, or module:EnvId for an env that module registers (importable by "
        "NNI and the trials)"
    )
    algorithm: str = option(
        "dqn", "dqn, qrdqn (discrete actions), ppo (any), sac, td3 (continuous); `nni-rl-nas algorithms` lists them"
    )
    double_q: bool = option(False, "true: the double-DQN target")
    total_timesteps: int | None = option(None, "env steps per agent (one seed); null: the per-env default")
    seed: int = option(0, "the first search seed (env, network init, exploration)")
    seeds: int | None = option(
        None, "agents per trial (seeds seed, seed + 1 ...) unless racing says otherwise; null: the per-env default"
    )
    env_kwargs: dict[str, Any] = option(dict, "keyword arguments of gymnasium.make")
    preprocess: Preprocessing = option(Preprocessing, "image observations only, applied in this order")
    n_envs: int | None = option(None, "envs one agent collects from in parallel; null: the per-env default")
    hyperparameters: dict[str, Any] = option(
        dict,
        "Stable-Baselines3 arguments of the algorithm over the per-env defaults, the policy options its registry "
        "entry declares (QR-DQN's n_quantiles), and action_noise: <std> (Gaussian, off-policy algorithms)",
    )
    report_every: int = option(5000, "env steps between points of the learning curve")
    eval_episodes: int = option(10, "greedy episodes per curve point (validation episodes; 0: training returns only)")
    score: ScoreSpec = option(ScoreSpec, "how a trained agent becomes the trial's score")
    torch_threads: int = option(1, "torch threads per trial; more threads per trial are slower on CPU")
    device: str = option("auto", "auto (cuda when NNI assigns the trial a GPU, else cpu), cpu or cuda")
    max_trial_seconds: float | None = option(
        None,
        "wall-clock cap: training ends there and the trial is scored as it stands (capped: true); a compared "
        "result should cap env steps instead",
    )
    engine: str = option("sb3", "sb3, or batched: all seeds of a DQN trial in one batched computation")
    defaults: AlgorithmDefaults = set_by_the_parser(AlgorithmDefaults)

    def check(self) -> None:
        """Refuse bad values on their own (before the env is made), naming the field and the fix."""
        self.score.check()
        self.preprocess.check()
        for name in ("report_every", "torch_threads"):
            check_positive_int(getattr(self, name), f"task.{name}")
        check_positive_int(self.total_timesteps, "task.total_timesteps", none_means="the per-env default")
        check_positive_int(self.seeds, "task.seeds", none_means="the per-env default")
        check_positive_int(self.n_envs, "task.n_envs", none_means="the per-env default")
        check_positive_number(self.max_trial_seconds, "task.max_trial_seconds", none_means="no cap")
        check_device(self.device, "task.device")
        check_non_negative_int(self.seed, "task.seed")
        if not isinstance(self.double_q, bool) or (self.double_q and self.algorithm != "dqn"):
            raise ConfigError(
                f"task.double_q: got {self.double_q!r} with algorithm {self.algorithm!r}; "
                "fix: true only with algorithm dqn, else false"
            )
        check_non_negative_int(self.eval_episodes, "task.eval_episodes")
        if self.score.solved_on == "greedy_eval" and self.eval_episodes == 0:
            raise ConfigError(
                "task.eval_episodes: 0, but task.score.solved_on is greedy_eval, which needs periodic "
                "greedy evaluations; fix: eval_episodes >= 1, or solved_on: training_episodes"
            )
        if not isinstance(self.hyperparameters, dict):
            raise ConfigError(
                f"task.hyperparameters: got {self.hyperparameters!r}; fix: a mapping of algorithm options"
            )
        if not isinstance(self.env_kwargs, dict):
            raise ConfigError(f"task.env_kwargs: got {self.env_kwargs!r}; fix: a mapping of gymnasium.make arguments")

    def make_env(self, **make_kwargs: Any) -> gym.Env:
        return preprocess(gym.make(self.env, **self.env_kwargs, **make_kwargs), self.preprocess)

    def describe(self) -> str:
        seeds = f" x {self.seed_count} seeds" if self.seed_count > 1 else ""
        seeds += " (batched)" if self.engine == "batched" else ""
        return (
            f"{self.algorithm}{' (double Q)' if self.double_q else ''} on {self.env}, {self.budget} env steps"
            f"{seeds} per trial, score {self.score.rule}"
        )

    @property
    def solve_threshold(self) -> float | None:
        if self.score.threshold is not None:
            return self.score.threshold
        return gym.spec(registry_id(self.env)).reward_threshold

    @property
    def budget(self) -> int:
        """Env steps of one agent (one seed)."""
        return self.total_timesteps or self.defaults.total_timesteps

    @property
    def env_count(self) -> int:
        return self.n_envs or self.defaults.n_envs

    @property
    def seed_count(self) -> int:
        return self.seeds or self.defaults.seeds

    @property
    def algorithm_hyperparameters(self) -> dict[str, Any]:
        return {**self.defaults.hyperparameters, **self.hyperparameters}

    def with_hyperparameters(self, settings: dict[str, Any]) -> TaskSpec:
        """This task with ``settings`` over its hyperparameters (a trial's searched ones)."""
        return dataclasses.replace(self, hyperparameters={**self.hyperparameters, **settings})


@dataclass(frozen=True)
class ClassificationTaskSpec:
    """What one trial does when the child is a supervised image classifier (the Zoph & Le setting):
    train on the dataset's training part, report validation accuracy per epoch, score the last."""

    dataset: str = option(help="digits (ships with scikit-learn) or fashion_mnist")
    epochs: int = option(10, "passes over the training part")
    batch_size: int = option(64, "images per Adam step")
    learning_rate: float = option(1e-3, "Adam's learning rate")
    validation_fraction: float = option(0.2, "held out of the training images, stratified, fixed by seed")
    seed: int = option(0, "the split, the initial weights and the batch order")
    data_dir: str | None = option(
        None, "fashion_mnist: where its IDX .gz files are; null: ~/.cache/nni-rl-nas/fashion_mnist"
    )
    download: bool = option(False, "fashion_mnist: fetch the files into data_dir when they are missing")
    torch_threads: int = option(1, "torch threads per trial")
    device: str = option("auto", "auto (cuda when NNI assigns the trial a GPU, else cpu), cpu or cuda")

    def check(self) -> None:
        """Refuse bad values, naming the field and the fix."""
        check_choice(self.dataset, tuple(DATASETS), "task.dataset")
        for name in ("epochs", "batch_size", "torch_threads"):
            check_positive_int(getattr(self, name), f"task.{name}")
        if not is_number(self.validation_fraction) or not 0.0 < self.validation_fraction < 1.0:
            raise ConfigError(f"task.validation_fraction: got {self.validation_fraction!r}; fix: a fraction in (0, 1)")
        check_positive_number(self.learning_rate, "task.learning_rate")
        check_device(self.device, "task.device")
        check_non_negative_int(self.seed, "task.seed")
        check_bool(self.download, "task.download")

    def describe(self) -> str:
        return f"image classification on {self.dataset}, {self.epochs} epochs per trial, score validation accuracy"

    @property
    def seed_count(self) -> int:
        """One classifier per trial, trained with ``seed``."""
        return 1


@dataclass(frozen=True)
class ExperimentSpec:
    """A parsed ``tuner.classArgs``: the space, the task, the strategy's own options, what the
    network reads (``inputs``) and emits (``outputs``: None where the algorithm adds its heads),
    the env's action space (``actions``; None for image classification), and the hyperparameters
    searched beside the architecture (``searched_hyperparameters``: NNI search space entries)."""

    space: SpaceSpec
    task: TaskSpec | ClassificationTaskSpec
    strategy_options: StrategyOptions | None  # None: a trial folder's record, which names no strategy
    inputs: gym.Space
    outputs: int | None
    actions: gym.Space | None = None
    searched_hyperparameters: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def is_rl(self) -> bool:
        return isinstance(self.task, TaskSpec)

    @property
    def rl_task(self) -> TaskSpec:
        """The task of an agent-training experiment; reading it from a classification one is a bug."""
        if not isinstance(self.task, TaskSpec):
            raise TypeError(f"{self.source()} trains a classifier, which has no agent task")
        return self.task

    @property
    def action_space(self) -> gym.Space:
        """The env's action space of an agent-training experiment (image classification has none)."""
        if self.actions is None:
            raise TypeError(f"{self.source()} trains a classifier, which takes no actions")
        return self.actions

    def options_as(self, options_class: type[OptionsT]) -> OptionsT:
        """The strategy's options of a parsed ``tuner.classArgs``, of ``options_class`` (the strategy
        that parsed them); a trial folder's record has none."""
        if not isinstance(self.strategy_options, options_class):
            raise TypeError(f"this spec holds {self.strategy_options!r}, not the options of {options_class.strategy}")
        return self.strategy_options

    def source(self) -> str:
        if isinstance(self.task, TaskSpec):
            return f"task.env {self.task.env!r}"
        return f"task.dataset {self.task.dataset!r}"

    def build_space(self):
        """The model space sized for the task: its inputs (observations or images) and outputs."""
        return self._build_space(None)

    def holding(self, architectures: list[dict[str, Any]]) -> ExperimentSpec:
        """This spec with its space widened to hold ``architectures`` (baselines outside the searched
        choices, which a trial builds all the same); itself when the family cannot widen."""
        widen = SPACE_FAMILIES[self.space.family].holding
        if widen is None or not architectures:
            return self
        options = self.space.options
        for architecture in architectures:
            options = widen(options, architecture)
        if SPACE_FAMILIES[self.space.family].validate_options(options):  # e.g. an activation no layer has
            return self
        return dataclasses.replace(self, space=SpaceSpec(self.space.family, options))

    def holding_baselines(self) -> ExperimentSpec:
        """This spec with its space widened to hold the strategy's baselines (:meth:`holding`)."""
        names = self.strategy_options.baselines if self.strategy_options else ()
        search_space = self.meta_search_space
        return self.holding([search_space.split(search_space.parse_name(name))[0] for name in names])

    def build_search_space(self) -> SearchSpace:
        """What a search chooses: the space's decisions and the searched hyperparameters."""
        return SearchSpace(self.build_space(), self.searched_hyperparameters)

    @property
    def meta_search_space(self) -> SearchSpace:
        return SearchSpace(self.meta_space, self.searched_hyperparameters)

    @functools.cached_property
    def meta_space(self):
        """The model space on PyTorch's meta device: shapes without memory, so validation builds a
        space of any size safely; built once per spec (a DARTS space takes a second)."""
        return self._build_space("meta")

    def _build_space(self, device: str | None):
        try:
            with torch.device(device) if device else contextlib.nullcontext():
                return SPACE_FAMILIES[self.space.family].build(self.inputs, self.outputs, self.space.options)
        except SpaceMismatchError as error:
            raise ConfigError(f"space (family {self.space.family!r}) vs {self.source()}: {error}") from None
        except (RuntimeError, OverflowError) as error:  # on the meta device only a size can fail: no tensor fits it
            raise ConfigError(
                f"space: {self.space.options} has layers too large for any tensor ({error}); "
                "fix: smaller widths, channels, kernels, filter sizes or features"
            ) from None
