"""The one place an experiment is parsed and validated, completely, before anything runs.

An experiment is an ordinary nnictl YAML. NNI rejects unknown top-level keys, so this project's
options live where NNI hands them to the strategy untouched, ``tuner.classArgs``:

    tuner:
      name: RlNasRandom
      classArgs:
        space: {family: mlp, depth: 2, widths: [64, 256], activations: [relu, sigmoid]}
        task:  {env: LunarLander-v3, algorithm: dqn, total_timesteps: 300000, score: {rule: mean_return}}
        seed: 0            # plus the strategy's own options (nni_rl_nas/options.py)

``nni-rl-nas validate``, ``nnictl create`` (through the validator that ``nni-rl-nas setup``
registers), the strategy (tuner process) and every trial (which re-reads the YAML named on its
``trialCommand``) run the same :func:`load_experiment` / :func:`parse_class_args`, so every
check a strategy or a trial would make is made before the experiment starts. Every error names
the field, the bad value and the fix.
"""

from __future__ import annotations

import dataclasses
import importlib
import ipaddress
import os
import re
import shlex
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import gymnasium as gym
import yaml
from nni.common.hpo_utils import validate_search_space
from nni.experiment.config import ExperimentConfig
from nni.experiment.config.algorithm import _AlgorithmConfig
from nni.experiment.config.training_service import TrainingServiceConfig
from nni.experiment.config.training_services import RemoteMachineConfig
from nni.experiment.config.utils.internal import unset_base_path
from nni.tools.package_utils import get_algo_meta

from .algorithms import algorithm
from .algorithms.hyperparameters import SEARCHED_TYPES, agent_value, values_to_check
from .engines import ENGINES
from .envs import Preprocessing, is_image, registry_id
from .errors import (
    ConfigError,
    check_choice,
    check_positive_int,
    did_you_mean,
    is_number,
    lookup,
    parse_section,
    refuse_unknown_keys,
)
from .nni_patches import DEFAULT_WEB_HOST, WEB_HOST_VARIABLE, NniInstallationError, require_nni_fixes
from .options import SEARCHED_KEY, TUNER_MODULE, StrategyOptions, options_of
from .resources import MemoryEstimate, check_memory
from .search_space import SearchSpace
from .spaces import SPACE_FAMILIES, search_choices
from .specs import (
    DATASETS,
    ClassificationTaskSpec,
    ExperimentSpec,
    ScoreSpec,
    SpaceSpec,
    TaskSpec,
)


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
            raise ConfigError(
                f"task.env: cannot import {module!r} for {env_id!r} ({error}); fix: put the module "
                "that registers the env on PYTHONPATH, or install its package"
            ) from None
    try:
        gym.spec(name)
    except gym.error.Error as error:
        raise ConfigError(
            f"task.env: unknown env id {env_id!r} ({error}); {did_you_mean(name, list(gym.registry))}"
            "fix: a registered gymnasium id such as 'LunarLander-v3' or 'CartPole-v1', "
            "or module:EnvId for an env that module registers"
        ) from None


def _check_images(task: TaskSpec, observation_space: gym.Space) -> None:
    """Preprocessing applies to image observations only."""
    if task.preprocess != Preprocessing() and not is_image(observation_space):
        raise ConfigError(
            f"task.preprocess: {task.env!r} has no image observations ({observation_space}); "
            "fix: remove task.preprocess"
        )


def _parse_space(data: Any) -> SpaceSpec:
    if not isinstance(data, dict):
        raise ConfigError(f"space: got {data!r}; fix: a mapping such as {{family: mlp, depth: 2}}")
    family_name = data.get("family", "mlp")
    family = lookup(SPACE_FAMILIES, family_name, "space.family")
    options = {key: value for key, value in data.items() if key != "family"}
    refuse_unknown_keys(options, ["family", *family.defaults], "space")
    options = {**family.defaults, **options}
    problems = family.validate_options(options)
    if problems:
        raise ConfigError("; ".join(problems))
    return SpaceSpec(family_name, options)


def _parse_classification_task(data: dict[str, Any]) -> tuple[ClassificationTaskSpec, gym.Space, int, None]:
    task = parse_section(ClassificationTaskSpec, data, "task")
    task.check()
    shape, classes = DATASETS[task.dataset]
    return task, gym.spaces.Box(0.0, 1.0, shape=shape), classes, None


def _parse_rl_task(data: dict[str, Any]) -> tuple[TaskSpec, gym.Space, int | None, gym.Space]:
    _check_env_id(data["env"])
    score = parse_section(ScoreSpec, data.get("score", {}), "task.score")
    steps = parse_section(Preprocessing, data.get("preprocess", {}), "task.preprocess")
    task = parse_section(TaskSpec, {**data, "score": score, "preprocess": steps}, "task", exclude=("defaults",))
    entry = algorithm(task.algorithm)
    task.check()
    task = dataclasses.replace(task, defaults=entry.defaults_for(task.env))
    if task.score.rule == "solved_then_eval" and task.solve_threshold is None:
        raise ConfigError(
            f"task.score.threshold: {task.env!r} declares no reward_threshold; "
            "fix: set task.score.threshold to the return that counts as solved"
        )
    entry.check_hyperparameters(task.algorithm_hyperparameters)
    check_choice(task.engine, tuple(ENGINES), "task.engine")
    try:
        env = task.make_env()  # what the network reads: the observations after preprocessing
    except Exception as error:  # gymnasium raises whatever the env's constructor raises
        raise ConfigError(
            f"task.env_kwargs: {task.env!r} cannot be made with {task.env_kwargs} ({error!r}); "
            "fix: arguments that the env's constructor takes"
        ) from None
    try:
        _check_images(task, env.unwrapped.observation_space)
        entry.check_actions(env.action_space, task.env)
        outputs = entry.output_size(env.action_space, task.algorithm_hyperparameters)
        return task, env.observation_space, outputs, env.action_space
    finally:
        env.close()


def _parse_task(data: Any) -> tuple[TaskSpec | ClassificationTaskSpec, gym.Space, int | None, gym.Space | None]:
    if not isinstance(data, dict):
        raise ConfigError("task: missing or not a mapping; fix: add task: {env: LunarLander-v3} under tuner.classArgs")
    if "dataset" in data and "env" in data:
        raise ConfigError("task: has both env and dataset; fix: env for an RL task, dataset for image classification")
    if "dataset" in data:
        return _parse_classification_task(data)
    if "env" not in data:
        raise ConfigError(
            "task.env: missing; fix: name a gymnasium env id (env: LunarLander-v3), "
            f"or a dataset for image classification (dataset: one of {list(DATASETS)})"
        )
    return _parse_rl_task(data)


def parse_class_args(class_args: Any, strategy: str | None = None) -> ExperimentSpec:
    """Parse and check ``tuner.classArgs``: ``space`` and ``task`` are ours, the rest are the
    options of ``strategy`` (its short name; None: none allowed, as for a trial folder's record)."""
    if not isinstance(class_args, dict):
        raise ConfigError("tuner.classArgs: missing; fix: add classArgs with space: and task: sections")
    options = dict(class_args)
    space_spec = _parse_space(options.pop("space", {}))
    task, inputs, outputs, actions = _parse_task(options.pop("task", None))
    searched = options.pop(SEARCHED_KEY, None) or {}
    strategy_options = options_of(strategy).parse(options) if strategy else None
    if strategy is None and options:
        raise ConfigError(f"tuner.classArgs: unexpected {sorted(options)}; fix: only space and task here")
    spec = ExperimentSpec(space_spec, task, strategy_options, inputs, outputs, actions, searched)
    space = spec.meta_space  # proves the space fits the task's inputs and outputs
    if searched:
        check_searched_hyperparameters(spec, space)
    if spec.is_rl and space.part == "classifier":
        raise ConfigError(
            f"space.family: {space_spec.family!r} is the image-classifier space (task.dataset); fix: "
            "darts or impala for the image encoder of an RL agent, mlp for its dense layers"
        )
    if isinstance(task, TaskSpec):
        ENGINES[task.engine].check(task.engine, task, space.part)
    if strategy_options is not None:
        strategy_options.check_experiment(spec, space.part)
        strategy_options.check_seeds(spec)
        check_baselines(strategy_options.baselines, spec)
    return spec


def check_finite_range(entry_spec: dict[str, Any], where: str) -> None:
    """A range's bounds and step are finite numbers: NNI's own check lets NaN and infinity through,
    and a tuner would then propose values no agent takes."""
    if entry_spec["_type"] == "choice":
        return
    for bound in entry_spec["_value"]:
        if not is_number(bound):
            raise ConfigError(
                f"{where}: {entry_spec['_type']} {entry_spec['_value']} has the bound {bound!r}; "
                "fix: finite numbers, e.g. [0.0001, 0.001]"
            )


def check_searched_hyperparameters(spec: ExperimentSpec, space) -> None:
    """``search_hyperparameters``: NNI search space entries of the algorithm's own options, with
    values the agent (and the engine) takes, of types the strategy searches."""
    where, searched, task = f"tuner.classArgs.{SEARCHED_KEY}", spec.searched_hyperparameters, spec.task
    if not isinstance(task, TaskSpec):
        raise ConfigError(
            f"{where}: {spec.source()} trains a classifier, which has no agent hyperparameters; fix: remove it"
        )
    example = "{learning_rate: {_type: loguniform, _value: [0.0001, 0.001]}}"
    try:
        validate_search_space(searched, list(SEARCHED_TYPES), raise_exception=True)
    except ValueError as error:
        raise ConfigError(
            f"{where}: {error}; fix: NNI's search space format, e.g. {example}, with _type one of "
            f"{list(SEARCHED_TYPES)}"
        ) from None
    for name, entry_spec in searched.items():
        check_finite_range(entry_spec, f"{where}.{name}")
    clash = sorted(set(searched) & set(search_choices(space)))
    if clash:
        raise ConfigError(f"{where}: {clash} are also labels of the space's choices; fix: rename the space's labels")
    entry = algorithm(task.algorithm)
    entry.check_searched_hyperparameters(searched, where)
    for name, entry_spec in searched.items():
        for value in values_to_check(entry_spec):
            try:
                ENGINES[task.engine].check(
                    task.engine, task.with_hyperparameters({name: agent_value(name, value)}), space.part
                )
            except ConfigError as error:
                raise ConfigError(
                    f"{where}.{name}: {entry_spec['_type']} {entry_spec['_value']} gives {value!r}: {error}"
                ) from None
    options = spec.strategy_options
    if options is None:
        return
    types, tuner = options.hyperparameter_types, "RlNasNniTuner (e.g. algorithm: TPE), which searches every type"
    for name, entry_spec in searched.items():
        if types is not None and not types:
            raise ConfigError(
                f"{where}.{name}: {options.strategy} searches no hyperparameters: "
                f"{options.searches_no_hyperparameters_because}; fix: set it in task.hyperparameters, "
                f"or search it with RlNasRandom, RlNasGrid, RlNasPolicyGradient (choice) or {tuner}"
            )
        if types is not None and entry_spec["_type"] not in types:
            raise ConfigError(
                f"{where}.{name}: {options.strategy} searches {list(types)} hyperparameters, got "
                f"{entry_spec['_type']!r}; fix: a choice of values ({{_type: choice, _value: [...]}}), "
                f"or {tuner}"
            )


def check_baselines(baselines: Any, spec: ExperimentSpec) -> None:
    """Each baseline must name an architecture of the space, or, in a family that can widen (mlp),
    one of its depth with widths and activations of its own: a hand-picked network need not be
    one the search may propose. A refusal names the space's options too, since a change to them
    (say, a narrower ``widths``) is what can shut a baseline out."""
    where, space_spec, search_space = "tuner.classArgs.baselines", spec.space, spec.meta_search_space
    widen = f"or widen tuner.classArgs.space (family {space_spec.family}, {space_spec.options})"
    if not isinstance(baselines, (list, tuple)) or not all(isinstance(name, str) for name in baselines):
        raise ConfigError(f"{where}: got {baselines!r}; fix: a list of architecture names, such as [256-relu_256-relu]")
    for name in baselines:
        try:
            point = search_space.parse_name(name)
            search_space.check_hyperparameters(point)
        except ValueError as error:
            raise ConfigError(
                f"{where}: {name!r} is no architecture of this space ({error}); fix: name one the space holds, {widen}"
            ) from None
        architecture, _ = search_space.split(point)
        choices = spec.holding([architecture]).meta_search_space.architecture_choices
        outside = {label: value for label, value in architecture.items() if value not in choices.get(label, [])}
        if outside:
            raise ConfigError(
                f"{where}: {name!r} is no architecture of this space (it chooses {outside}, the space "
                f"offers {search_space.architecture_choices}); fix: name one the space holds, {widen}"
            )


@dataclass(frozen=True)
class ExperimentFile:
    """An nnictl YAML as this project reads it."""

    path: Path
    raw: dict[str, Any]
    strategy_name: str
    spec: ExperimentSpec
    memory: MemoryEstimate | None = None  # one trial's, where it was checked (a local training service)
    warnings: tuple[str, ...] = ()  # fields that are valid alone but odd together (:func:`relation_warnings`)

    @property
    def options(self) -> StrategyOptions:
        return self.spec.options_as(StrategyOptions)


class StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping: PyYAML keeps the last one
    without a word, so a config that says ``trialConcurrency: 7`` and later ``trialConcurrency: 1``
    would run with 1."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise ConfigError(
                    f"{key_node.start_mark.name}:{line}: key {key!r} appears twice in one mapping (lines "
                    f"{seen[key]} and {line}); the second would silently win; fix: keep one of them"
                )
            seen.setdefault(key, line)
        return super().construct_mapping(node, deep)


def read_text(path: Path) -> str:
    """The file as UTF-8 text; anything else is refused in one line naming the file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"config file {str(path)!r} does not exist; fix: pass the path of an experiment YAML"
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"config file {str(path)!r} is a folder; fix: pass the path of an experiment YAML") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(f"{path}: saved as UTF-16, not UTF-8 text; fix: save it as UTF-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {error.start} is {data[error.start : error.start + 1]!r}); "
            "fix: save it as UTF-8, or pass the experiment YAML"
        ) from None


def read_yaml(path: Path) -> Any:
    """The YAML at ``path``, read strictly: UTF-8 text, no key twice; a syntax error names the file,
    line and column and what was expected."""
    loader = StrictLoader(read_text(path))
    loader.name = str(path)  # the marks of its errors name the file
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(
            f"{where}: not valid YAML: {error.problem} {error.context or ''}".rstrip()
            + "; fix: correct the YAML there (indent with spaces, not tabs)"
        ) from None
    except yaml.YAMLError as error:  # e.g. a control character PyYAML's reader refuses
        raise ConfigError(f"{path}: not valid YAML: {str(error).splitlines()[0]}; fix: an experiment YAML") from None
    finally:
        loader.dispose()


def strategy_name(tuner: dict[str, Any]) -> str:
    """The strategy a tuner section names, by short name or by our tuner class's full name."""
    if tuner.get("className"):
        module, _, name = str(tuner["className"]).rpartition(".")
        if module != TUNER_MODULE:
            raise ConfigError(
                f"tuner.className: got {tuner['className']!r}; fix: {TUNER_MODULE}.<strategy>, "
                f"e.g. {TUNER_MODULE}.RlNasRandom"
            )
        return options_of(name).strategy
    return options_of(tuner.get("name")).strategy


def load_experiment(path: str | Path, check_registration: bool = True) -> ExperimentFile:
    """Read and validate an nnictl experiment YAML completely, without starting anything."""
    path = Path(path)
    raw = read_yaml(path)
    if raw is None:
        raise ConfigError(
            f"{path}: empty; fix: an experiment YAML (experiment_configs/quick_cartpole.yml is a small one)"
        )
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: holds a {type(raw).__name__}, not a mapping of experiment fields; fix: an "
            "experiment YAML (experiment_configs/quick_cartpole.yml is a small one)"
        )
    if not isinstance(raw.get("tuner"), dict):
        raise ConfigError(f"{path}: no tuner section; fix: add tuner: {{name: RlNasRandom, classArgs: ...}}")
    _check_nni_fields(path, raw)
    tuner = raw["tuner"]
    name = strategy_name(tuner)
    if check_registration:
        _check_setup(tuner.get("name"))
    spec = parse_class_args(tuner.get("classArgs"), name)
    check_search_space(raw.get("searchSpace"), spec.meta_search_space)
    memory = check_memory(spec.holding_baselines(), trials_on_this_machine(raw))
    return ExperimentFile(path, raw, name, spec, memory, relation_warnings(spec))


def relation_warnings(spec: ExperimentSpec) -> tuple[str, ...]:
    """Values each valid alone that together likely waste a run; said at validation, not refused."""
    task, warnings = spec.task, []
    if not isinstance(task, TaskSpec):
        return ()
    if task.report_every > task.budget:
        warnings.append(
            f"task.report_every ({task.report_every}) exceeds the budget ({task.budget} env steps per "
            "agent): the learning curve gets no point before the end, so assessors cannot stop a "
            "trial early; fix: report_every at most a fifth of the budget"
        )
    learning_starts = algorithm(task.algorithm).setting(task.algorithm_hyperparameters, "learning_starts")
    if learning_starts is not None and learning_starts >= task.budget:
        warnings.append(
            f"task.hyperparameters.learning_starts ({learning_starts}) is not below the budget "
            f"({task.budget} env steps per agent): the agent never trains; fix: a smaller learning_starts "
            "or a larger total_timesteps"
        )
    if task.max_trial_seconds is not None:
        warnings.append(
            f"task.max_trial_seconds ({task.max_trial_seconds}) caps trials by wall-clock: how far a "
            "trial gets then depends on the machine's load, so scores are not comparable across runs; "
            "fix: cap by env steps (total_timesteps) where results are compared"
        )
    return tuple(warnings)


def training_platforms(raw: dict[str, Any]) -> list[str]:
    """The platform of each training service the config names (one, or a list of them)."""
    services = raw.get("trainingService") or {}
    return [
        str(service.get("platform"))
        for service in (services if isinstance(services, list) else [services])
        if isinstance(service, dict)
    ]


def trials_on_this_machine(raw: dict[str, Any]) -> int:
    """How many trials at once need this machine's memory: ``trialConcurrency`` on the local training
    service; none on other services, whose machines this one cannot see (then nothing is checked)."""
    platforms = training_platforms(raw)
    return raw["trialConcurrency"] if platforms and all(platform == "local" for platform in platforms) else 0


def _check_setup(name: str | None) -> None:
    """Our tuners run only once `nni-rl-nas setup` fixed NNI, and a short tuner name works only once
    it registered the name, in this Python environment."""
    try:
        require_nni_fixes()
    except NniInstallationError as error:
        raise ConfigError(f"tuner: {error}") from None
    if name and get_algo_meta(name) is None:
        raise ConfigError(
            f"tuner.name: {name!r} is not registered with NNI in this Python environment; "
            "fix: run `nni-rl-nas setup` (again after installing a new version)"
        )


def check_search_space(search_space: Any, searched: SearchSpace) -> None:
    """NNI's ``searchSpace`` must be the NNI view of ``classArgs.space`` and ``search_hyperparameters``
    (or empty), never a second truth."""
    expected = searched.nni_search_space()
    if search_space not in ({}, expected):
        block = yaml.safe_dump({"searchSpace": expected}, default_flow_style=None, sort_keys=False)
        raise ConfigError(
            f"searchSpace: does not match tuner.classArgs.space and {SEARCHED_KEY} "
            f"(got {search_space!r}); fix: replace it with\n{block}"
        )


def _nni_keys(config_class) -> dict[str, str]:
    """NNI's config keys, as NNI matches them (case and underscores ignored) -> their camelCase name."""
    names = {}
    for field in fields(config_class):
        head, *rest = field.name.split("_")
        names[field.name.replace("_", "").lower()] = head + "".join(part.title() for part in rest)
    return names


def _refuse_unknown_nni_keys(given: dict[str, Any], config_class, where: str) -> None:
    known = _nni_keys(config_class)
    for key in given:
        if str(key).replace("_", "").lower() not in known:
            camel = sorted(known.values())
            raise ConfigError(f"{where}: unknown key {key!r}; {did_you_mean(str(key), camel)}fix: use one of {camel}")


def _check_nni_values(raw: dict[str, Any]) -> None:
    """The NNI fields whose bad values NNI refuses with a bare AssertionError, named with the fix."""
    check_positive_int(raw.get("trialConcurrency"), "trialConcurrency")
    check_positive_int(raw.get("maxTrialNumber"), "maxTrialNumber", none_means="no limit")
    for name in ("maxTrialDuration", "maxExperimentDuration"):
        value = raw.get(name)
        if value is not None and not (
            isinstance(value, str)
            and re.fullmatch(r"\d+(\.\d+)?[smhd]", value.strip())
            and float(value.strip()[:-1]) > 0
        ):
            raise ConfigError(f"{name}: got {value!r}; fix: a positive duration such as '30m' (units s, m, h, d)")


# NNI's training services by platform name, as NNI's own factory finds them
TRAINING_SERVICES = {service.platform: service for service in TrainingServiceConfig.__subclasses__()}


def _check_training_service(service: Any, where: str) -> None:
    """One training service's fields (NNI's message for a wrong type names no field): its platform,
    its keys, and a remote service's machines."""
    if not isinstance(service, dict):
        raise ConfigError(f"{where}: got {service!r}; fix: a mapping such as {{platform: local}}")
    config_class = lookup(TRAINING_SERVICES, service.get("platform"), f"{where}.platform")
    _refuse_unknown_nni_keys(service, config_class, where)
    machines = service.get("machineList", [])
    if not isinstance(machines, list) or not all(isinstance(machine, dict) for machine in machines):
        raise ConfigError(
            f"{where}.machineList: got {machines!r}; fix: a list of machines, each a mapping "
            "{host: ..., user: ..., sshKeyFile: ...}"
        )
    for index, machine in enumerate(machines):
        _refuse_unknown_nni_keys(machine, RemoteMachineConfig, f"{where}.machineList[{index}]")


def check_web_host(raw: dict[str, Any], environment: dict[str, str] | None = None) -> None:
    """Trials on other machines report to the NNI manager's address (``nniManagerIp``, else this
    machine's); once ``nni-rl-nas setup`` has put the web server on loopback they could not reach
    it, and the experiment would wait for them forever. Refuse such a config unless the
    environment names the address to listen on (:data:`nni_rl_nas.nni_patches.WEB_HOST_VARIABLE`)."""
    variables = os.environ if environment is None else environment
    platforms = set(training_platforms(raw))
    manager = str(raw.get("nniManagerIp") or "")
    reaches_elsewhere = platforms - {"local"} and not (manager and ipaddress_is_loopback(manager))
    if reaches_elsewhere and not variables.get(WEB_HOST_VARIABLE):
        raise ConfigError(
            f"trainingService: {sorted(platforms - {'local'})[0]} trials report back to "
            f"{manager or 'this machine'}, but the web server listens on {DEFAULT_WEB_HOST} only "
            f"(`nni-rl-nas setup`); fix: run nnictl with {WEB_HOST_VARIABLE}=0.0.0.0 (or the address "
            "the workers reach) in its environment, behind a firewall: the web UI has no login"
        )


def ipaddress_is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost."""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_nni_fields(path: Path, raw: dict[str, Any]) -> None:
    """NNI's own schema, with a did-you-mean for typos, plus: the trial command must re-read this very file."""
    _refuse_unknown_nni_keys(raw, ExperimentConfig, str(path))
    for section in ("tuner", "assessor"):
        if isinstance(raw.get(section), dict):
            _refuse_unknown_nni_keys(raw[section], _AlgorithmConfig, section)
    services = raw.get("trainingService")
    for index, service in enumerate(services) if isinstance(services, list) else [(None, services)]:
        _check_training_service(service, "trainingService" + (f"[{index}]" if index is not None else ""))
    _check_nni_values(raw)
    check_web_host(raw)
    try:
        ExperimentConfig.load(str(path))  # its validate() would also demand the remote machines' SSH keys here
    except Exception as error:  # NNI raises AttributeError/ValueError/AssertionError for schema errors
        raise ConfigError(
            f"{path}: NNI rejects the experiment config: {error!r}; fix: see NNI's config reference"
        ) from None
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
