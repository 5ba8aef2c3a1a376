"""The one place experiment options are parsed and validated.

An experiment is an ordinary nnictl YAML. NNI rejects unknown top-level keys, so this project's
options live where NNI hands them to the strategy untouched, ``tuner.classArgs``:

    tuner:
      name: RlNasRandom
      classArgs:
        space: {family: mlp, depth: 2, widths: [64, 256], activations: [relu, sigmoid]}
        task:  {env: LunarLander-v3, algorithm: dqn, total_timesteps: 300000, score: {rule: mean_return}}
        seed: 0            # plus the strategy's own options

The strategy (tuner process) and every trial (which re-reads the YAML named on its
``trialCommand``) parse the same section through :func:`parse_class_args`, so both agree.
Every error names the field, the bad value and the fix.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import re
import shlex
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import gymnasium as gym
import yaml

from .envs import Preprocessing, is_image, preprocess
from .spaces import SPACE_FAMILIES, SpaceMismatchError

ALGORITHMS = ("dqn", "ppo", "sac")
# image classification datasets: (channels, height, width), classes
DATASETS: dict[str, tuple[tuple[int, int, int], int]] = {"digits": ((1, 8, 8), 10), "fashion_mnist": ((1, 28, 28), 10)}
SCORE_RULES = ("mean_return", "solved_then_eval")
SOLVED_ON = ("greedy_eval", "training_episodes")
DEFAULTS_FILE = Path(__file__).with_name("evaluator") / "defaults.yml"


class ConfigError(ValueError):
    """A bad experiment option. The message names the field, the bad value and the fix."""


@dataclass(frozen=True)
class SpaceSpec:
    family: str
    options: dict[str, Any]


@dataclass(frozen=True)
class ScoreSpec:
    """How a trained agent becomes the one number a strategy learns from.

    ``mean_return``: mean greedy return over ``episodes`` evaluation episodes whose seeds are
    disjoint from training. ``solved_then_eval`` (the seed project's rule): if solved, mean
    return over ``episodes`` episodes on yet another seed block divided by ``scale``, else
    ``unsolved_score``. "Solved" means a mean >= ``threshold`` over ``solve_window`` consecutive
    episodes, judged on greedy evaluation episodes after training (``solved_on: greedy_eval``,
    the default: training episodes carry exploration noise) or, as the seed project did, on any
    window of training episodes (``solved_on: training_episodes``).
    """

    rule: str = "mean_return"
    episodes: int = 100
    solved_on: str = "greedy_eval"
    solve_window: int = 100
    threshold: float | None = None
    scale: float = 30.0
    unsolved_score: float = 1e-5
    stop_on_solve: bool = False


@dataclass(frozen=True)
class TaskSpec:
    """What one trial does with an architecture: the env, the algorithm, the budget, the score."""

    env: str
    algorithm: str = "dqn"
    double_q: bool = False
    total_timesteps: int | None = None
    seed: int = 0
    seeds: int | None = None  # agents per architecture (seeds seed, seed + 1 ...); None: the per-env default
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    preprocess: Preprocessing = field(default_factory=Preprocessing)  # image observations only
    n_envs: int | None = None  # envs one agent collects from in parallel; None: the per-env default
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    report_every: int = 5000
    eval_episodes: int = 10
    score: ScoreSpec = field(default_factory=ScoreSpec)
    torch_threads: int = 1
    device: str = "auto"
    max_trial_seconds: float | None = None  # training ends here and the trial is scored as it stands ("capped")
    engine: str = "sb3"

    def make_env(self, **make_kwargs: Any) -> gym.Env:
        return preprocess(gym.make(self.env, **self.env_kwargs, **make_kwargs), self.preprocess)

    def model_io(self) -> tuple[gym.Space, int | None]:
        """What the network reads (the env's observations, preprocessed) and its outputs: the
        Q-values for DQN; None for PPO and SAC, whose heads Stable-Baselines3 adds."""
        env = self.make_env()
        try:
            return env.observation_space, _output_size(env.action_space, self)
        finally:
            env.close()

    def describe(self) -> str:
        seeds = f" x {self.seed_count} seeds" if self.seed_count > 1 else ""
        seeds += " (batched)" if self.engine == "batched" else ""
        return (f"{self.algorithm}{' (double Q)' if self.double_q else ''} on {self.env}, {self.budget} env steps"
                f"{seeds} per trial, score {self.score.rule}")

    @property
    def solve_threshold(self) -> float:
        if self.score.threshold is not None:
            return self.score.threshold
        return gym.spec(registry_id(self.env)).reward_threshold

    def algorithm_defaults(self) -> dict[str, Any]:
        """The shipped per-env defaults (budget and hyperparameters) for this task's algorithm."""
        table, env_id = _shipped_defaults()[self.algorithm], registry_id(self.env)
        return table.get(env_id) or table.get(env_id.partition("/")[0] if "/" in env_id else None) or table["default"]

    @property
    def budget(self) -> int:
        """Env steps of one agent (one seed)."""
        return self.total_timesteps or self.algorithm_defaults()["total_timesteps"]

    @property
    def env_count(self) -> int:
        return self.n_envs or self.algorithm_defaults().get("n_envs", 1)

    @property
    def seed_count(self) -> int:
        return self.seeds or self.algorithm_defaults().get("seeds", 1)

    @property
    def algorithm_hyperparameters(self) -> dict[str, Any]:
        return {**self.algorithm_defaults()["hyperparameters"], **self.hyperparameters}


@dataclass(frozen=True)
class ClassificationTaskSpec:
    """What one trial does when the child is a supervised image classifier (the Zoph & Le setting):
    train on the dataset's training part, report validation accuracy per epoch, score the last."""

    dataset: str
    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 1e-3
    validation_fraction: float = 0.2  # held out of the training images, stratified, fixed by ``seed``
    seed: int = 0
    data_dir: str | None = None  # where the FashionMNIST files are; default ~/.cache/nni-rl-nas/fashion_mnist
    download: bool = False  # fetch FashionMNIST into data_dir when its files are missing
    torch_threads: int = 1
    device: str = "auto"

    def model_io(self) -> tuple[gym.Space, int]:
        shape, classes = DATASETS[self.dataset]
        return gym.spaces.Box(0.0, 1.0, shape=shape), classes

    def describe(self) -> str:
        return f"image classification on {self.dataset}, {self.epochs} epochs per trial, score validation accuracy"


@dataclass(frozen=True)
class ExperimentSpec:
    space: SpaceSpec
    task: TaskSpec | ClassificationTaskSpec
    strategy_options: dict[str, Any]

    def build_space(self):
        """The model space sized for the task: its inputs (observations or images) and outputs."""
        inputs, outputs = self.task.model_io()
        try:
            return SPACE_FAMILIES[self.space.family].build(inputs, outputs, self.space.options)
        except SpaceMismatchError as error:
            source = f"task.env {self.task.env!r}" if isinstance(self.task, TaskSpec) else f"task.dataset {self.task.dataset!r}"
            raise ConfigError(f"space (family {self.space.family!r}) vs {source}: {error}") from None


@functools.cache
def _shipped_defaults() -> dict[str, Any]:
    return yaml.safe_load(DEFAULTS_FILE.read_text())


def _unknown_keys(given: dict[str, Any], allowed: list[str], where: str) -> None:
    for key in given:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(f"{where}: unknown key {key!r}; {hint}fix: use one of {allowed}")


def parse_section(cls, data: Any, where: str):
    """Build dataclass ``cls`` from a config mapping, refusing keys it does not have."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: got {data!r}; fix: a mapping of {[f.name for f in fields(cls)]}")
    _unknown_keys(data, [f.name for f in fields(cls)], where)
    return cls(**data)


def _choose(value: Any, allowed: tuple[str, ...], where: str) -> None:
    if value not in allowed:
        raise ConfigError(f"{where}: got {value!r}; fix: one of {list(allowed)}")


def check_positive_int(value: Any, where: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{where}: got {value!r}; fix: a whole number >= 1")


def check_positive_number(value: Any, where: str, none_means: str | None = None) -> None:
    """A number > 0; ``None`` too when ``none_means`` says what it stands for."""
    if value is None and none_means:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        alternative = f", or null for {none_means}" if none_means else ""
        raise ConfigError(f"{where}: got {value!r}; fix: a number > 0{alternative}")


def registry_id(env_id: str) -> str:
    """The id gymnasium's registry knows: ``EnvId`` of ``module:EnvId``."""
    return env_id.rpartition(":")[2]


def _check_env_id(env_id: Any) -> None:
    """A registered gymnasium id, or ``module:EnvId`` for an env that ``module`` registers on import
    (gymnasium's own convention, which ``gym.make`` follows; the module must be importable by the
    tuner and by every trial)."""
    if not isinstance(env_id, str):
        raise ConfigError(f"task.env: got {env_id!r}; fix: a gymnasium env id such as 'LunarLander-v3'")
    module, name = env_id.rpartition(":")[0], registry_id(env_id)
    if module:
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise ConfigError(f"task.env: cannot import {module!r} for {env_id!r} ({error}); fix: put the module "
                              "that registers the env on PYTHONPATH, or install its package") from None
    try:
        gym.spec(name)
    except gym.error.Error as error:
        close = difflib.get_close_matches(name, list(gym.registry), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(f"task.env: unknown env id {env_id!r} ({error}); {hint}"
                          "fix: a registered gymnasium id such as 'LunarLander-v3' or 'CartPole-v1', "
                          "or module:EnvId for an env that module registers") from None


def _output_size(action_space: gym.Space, task: TaskSpec) -> int | None:
    if task.algorithm == "dqn":
        if not isinstance(action_space, gym.spaces.Discrete):
            raise ConfigError(
                f"task.algorithm: 'dqn' needs discrete actions but {task.env!r} has {action_space}; "
                "fix: algorithm sac or ppo, or an env with Discrete actions (e.g. LunarLander-v3, not "
                "LunarLanderContinuous-v3)"
            )
        return int(action_space.n)
    if task.algorithm == "sac" and not isinstance(action_space, gym.spaces.Box):
        raise ConfigError(f"task.algorithm: 'sac' needs continuous (Box) actions but {task.env!r} has {action_space}; "
                          "fix: algorithm dqn or ppo for discrete actions, or a continuous env such as Pendulum-v1")
    if task.algorithm == "ppo" and not isinstance(action_space, (gym.spaces.Box, gym.spaces.Discrete,
                                                                 gym.spaces.MultiDiscrete, gym.spaces.MultiBinary)):
        raise ConfigError(f"task.algorithm: 'ppo' cannot act in {action_space} of {task.env!r}; fix: an env with "
                          "Box, Discrete, MultiDiscrete or MultiBinary actions")
    return None


def _check_preprocessing(task: TaskSpec) -> None:
    steps = task.preprocess
    if steps.resize is not None:
        check_positive_int(steps.resize, "task.preprocess.resize")
    check_positive_int(steps.frame_stack, "task.preprocess.frame_stack")
    if not isinstance(steps.grayscale, bool):
        raise ConfigError(f"task.preprocess.grayscale: got {steps.grayscale!r}; fix: true or false")
    if steps != Preprocessing():
        env = gym.make(task.env, **task.env_kwargs)
        try:
            if not is_image(env.observation_space):
                raise ConfigError(f"task.preprocess: {task.env!r} has no image observations "
                                  f"({env.observation_space}); fix: remove task.preprocess")
        finally:
            env.close()


def _parse_space(data: Any) -> SpaceSpec:
    if not isinstance(data, dict):
        raise ConfigError(f"space: got {data!r}; fix: a mapping such as {{family: mlp, depth: 2}}")
    family_name = data.get("family", "mlp")
    if family_name not in SPACE_FAMILIES:
        raise ConfigError(f"space.family: got {family_name!r}; fix: one of {sorted(SPACE_FAMILIES)}")
    family = SPACE_FAMILIES[family_name]
    options = {key: value for key, value in data.items() if key != "family"}
    _unknown_keys(options, ["family", *family.defaults], "space")
    options = {**family.defaults, **options}
    problems = family.validate_options(options)
    if problems:
        raise ConfigError("; ".join(problems))
    return SpaceSpec(family_name, options)


def _check_device(device: Any) -> None:
    if not (isinstance(device, str) and re.fullmatch(r"auto|cpu|cuda(:\d+)?", device)):
        raise ConfigError(f"task.device: got {device!r}; fix: auto (cuda when NNI assigns the trial a GPU, "
                          "else cpu), cpu, cuda or cuda:N")


def _parse_classification_task(data: dict[str, Any]) -> ClassificationTaskSpec:
    task = parse_section(ClassificationTaskSpec, data, "task")
    _choose(task.dataset, tuple(DATASETS), "task.dataset")
    for name in ("epochs", "batch_size", "torch_threads"):
        check_positive_int(getattr(task, name), f"task.{name}")
    if not 0.0 < task.validation_fraction < 1.0:
        raise ConfigError(f"task.validation_fraction: got {task.validation_fraction!r}; fix: a fraction in (0, 1)")
    check_positive_number(task.learning_rate, "task.learning_rate")
    _check_device(task.device)
    return task


def _parse_task(data: Any) -> TaskSpec | ClassificationTaskSpec:
    if not isinstance(data, dict):
        raise ConfigError("task: missing or not a mapping; fix: add task: {env: LunarLander-v3} under tuner.classArgs")
    if "dataset" in data and "env" in data:
        raise ConfigError("task: has both env and dataset; fix: env for an RL task, dataset for image classification")
    if "dataset" in data:
        return _parse_classification_task(data)
    if "env" not in data:
        raise ConfigError("task.env: missing; fix: name a gymnasium env id (env: LunarLander-v3), "
                          f"or a dataset for image classification (dataset: one of {list(DATASETS)})")
    _check_env_id(data["env"])
    score = parse_section(ScoreSpec, data.get("score", {}), "task.score")
    steps = parse_section(Preprocessing, data.get("preprocess", {}), "task.preprocess")
    task = parse_section(TaskSpec, {**data, "score": score, "preprocess": steps}, "task")
    _choose(task.algorithm, ALGORITHMS, "task.algorithm")
    _choose(score.rule, SCORE_RULES, "task.score.rule")
    _choose(score.solved_on, SOLVED_ON, "task.score.solved_on")
    for name in ("report_every", "torch_threads"):
        check_positive_int(getattr(task, name), f"task.{name}")
    check_positive_int(score.episodes, "task.score.episodes")
    check_positive_int(score.solve_window, "task.score.solve_window")
    if task.total_timesteps is not None:
        check_positive_int(task.total_timesteps, "task.total_timesteps")
    if task.seeds is not None:
        check_positive_int(task.seeds, "task.seeds")
    if task.n_envs is not None:
        check_positive_int(task.n_envs, "task.n_envs")
    _check_preprocessing(task)
    check_positive_number(task.max_trial_seconds, "task.max_trial_seconds", none_means="no cap")
    _check_device(task.device)
    if not isinstance(task.eval_episodes, int) or task.eval_episodes < 0:
        raise ConfigError(f"task.eval_episodes: got {task.eval_episodes!r}; fix: a whole number >= 0")
    if score.solved_on == "greedy_eval" and task.eval_episodes == 0:
        raise ConfigError("task.eval_episodes: 0, but task.score.solved_on is greedy_eval, which needs periodic "
                          "greedy evaluations; fix: eval_episodes >= 1, or solved_on: training_episodes")
    if score.rule == "solved_then_eval" and task.solve_threshold is None:
        raise ConfigError(f"task.score.threshold: {task.env!r} declares no reward_threshold; "
                          "fix: set task.score.threshold to the return that counts as solved")
    if not isinstance(task.hyperparameters, dict):
        raise ConfigError(f"task.hyperparameters: got {task.hyperparameters!r}; fix: a mapping of algorithm options")
    from .evaluator.agents import check_hyperparameters  # the agent factory owns its option names

    check_hyperparameters(task.algorithm, task.algorithm_hyperparameters)
    from .evaluator.seeds import SEED_RUNS_BY_ENGINE  # the engines are the ways seeds.py trains

    _choose(task.engine, tuple(SEED_RUNS_BY_ENGINE), "task.engine")
    if task.engine == "batched" and (task.algorithm != "dqn" or task.env_count != 1):
        raise ConfigError(f"task.engine: batched trains DQN with one env per seed, got algorithm {task.algorithm!r} "
                          f"with {task.env_count} envs; fix: engine: sb3")
    if task.engine == "batched":
        from .evaluator.batched_dqn import batched_options

        try:
            batched_options(task.algorithm_hyperparameters)
        except ValueError as error:
            raise ConfigError(str(error)) from None
    return task


def parse_class_args(class_args: Any) -> ExperimentSpec:
    """Parse ``tuner.classArgs``: ``space`` and ``task`` are ours, the rest are strategy options."""
    if not isinstance(class_args, dict):
        raise ConfigError("tuner.classArgs: missing; fix: add classArgs with space: and task: sections")
    options = dict(class_args)
    spec = ExperimentSpec(
        space=_parse_space(options.pop("space", {})),
        task=_parse_task(options.pop("task", None)),
        strategy_options=options,
    )
    space = spec.build_space()  # proves the space fits the env's observations and actions
    if isinstance(spec.task, TaskSpec) and space.part == "classifier":
        raise ConfigError(f"space.family: {spec.space.family!r} is the image-classifier space (task.dataset); fix: "
                          "darts or impala for the image encoder of an RL agent, mlp for its dense layers")
    if isinstance(spec.task, TaskSpec) and spec.task.engine == "batched" and space.part != "dense":
        raise ConfigError(f"task.engine: batched stacks dense layers, space family {spec.space.family!r} is an "
                          "image encoder; fix: engine: sb3")
    return spec


@dataclass(frozen=True)
class ExperimentFile:
    """An nnictl YAML as this project reads it."""

    path: Path
    raw: dict[str, Any]
    strategy_name: str
    spec: ExperimentSpec


def load_experiment(path: str | Path) -> ExperimentFile:
    """Read and validate an nnictl experiment YAML without starting anything."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} does not exist; fix: pass the path of an experiment YAML") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("tuner"), dict):
        raise ConfigError(f"{path}: no tuner section; fix: add tuner: {{name: RlNasRandom, classArgs: ...}}")
    _check_nni_fields(path, raw)
    from .strategies import resolve_strategy  # strategies import this module

    tuner = raw["tuner"]
    strategy = resolve_strategy(tuner.get("name") or tuner.get("className"))
    if tuner.get("name"):
        _check_registered(tuner["name"])
    spec = parse_class_args(tuner.get("classArgs"))
    strategy.check_options(spec.strategy_options)
    check_search_space(raw.get("searchSpace"), spec.build_space())
    return ExperimentFile(path, raw, strategy.nni_name, spec)


def _check_registered(name: str) -> None:
    """A short tuner name works only once `nni-rl-nas setup` registered it in this Python environment."""
    from nni.tools.package_utils import get_algo_meta

    if get_algo_meta(name) is None:
        raise ConfigError(f"tuner.name: {name!r} is not registered with NNI in this Python environment; "
                          "fix: run `nni-rl-nas setup` (again after installing a new version)")


def check_search_space(search_space: Any, space) -> None:
    """NNI's ``searchSpace`` must be the NNI view of ``classArgs.space`` (or empty), never a second truth."""
    from .spaces import nni_search_space

    expected = nni_search_space(space)
    if search_space not in ({}, expected):
        block = yaml.safe_dump({"searchSpace": expected}, default_flow_style=None, sort_keys=False)
        raise ConfigError(f"searchSpace: does not match tuner.classArgs.space (got {search_space!r}); "
                          f"fix: replace it with\n{block}")


def _check_nni_fields(path: Path, raw: dict[str, Any]) -> None:
    """NNI's own schema, plus: the trial command must re-read this very file."""
    from nni.experiment.config import ExperimentConfig
    from nni.experiment.config.utils.internal import unset_base_path

    try:
        ExperimentConfig.load(str(path))
    except Exception as error:  # NNI raises AttributeError/ValueError/AssertionError for schema errors
        raise ConfigError(f"{path}: NNI rejects the experiment config: {error!r}; fix: see NNI's config reference") from None
    finally:
        unset_base_path()  # NNI leaves it set when loading fails, which breaks every later load
    if "searchSpaceFile" in raw:
        raise ConfigError("searchSpaceFile: not used; fix: write searchSpace inline (`nni-rl-nas validate` prints it)")
    command = shlex.split(str(raw.get("trialCommand", "")))
    if command[:2] != ["nni-rl-nas", "trial"] or len(command) != 3:
        raise ConfigError(f"trialCommand: got {raw.get('trialCommand')!r}; fix: 'nni-rl-nas trial {path.name}'")
    code_directory = path.parent / str(raw.get("trialCodeDirectory", "."))
    if (code_directory / command[2]).resolve() != path.resolve():
        raise ConfigError(
            f"trialCommand: names {command[2]!r}, which is not this file seen from trialCodeDirectory "
            f"{str(code_directory)!r}; fix: 'nni-rl-nas trial <path of this file from trialCodeDirectory>'"
        )
