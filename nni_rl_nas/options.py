"""Every strategy's options, each declared once: a typed dataclass field with its default.

A strategy's options are the keys of ``tuner.classArgs`` beside ``space`` and ``task``. The
dataclass below is what parsing (:meth:`StrategyOptions.parse`), validation (``check`` for the
values, ``check_experiment`` for how they pair with the space and the task), the strategy
itself, the search trials of ENAS and DARTS and ``nni-rl-nas strategies`` (the docs) all read:
adding an option is adding one field. :data:`STRATEGY_OPTIONS` names them by the short name a
config gives as ``tuner: {name: ...}``; a subclass that names its ``strategy`` is registered there
by being defined (the subclass is the registration, as in Optuna).

Plain data only: the trial process reads a search's options from here without importing the
tuner side.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, ClassVar

from .declarations import option
from .errors import (
    ConfigError,
    check_choice,
    check_non_negative_int,
    check_non_negative_number,
    check_positive_int,
    check_positive_number,
    did_you_mean,
    is_number,
    parse_section,
)
from .racing import RACING_RULES
from .seed_statistics import AGGREGATES

if TYPE_CHECKING:  # the specs module imports gymnasium and the spaces; report reads these options without them
    from .specs import ExperimentSpec

TUNER_MODULE = "nni_rl_nas.tuner"  # where the NNI tuner classes of the strategies live
SEARCH_PHASE = "search"  # the ``phase`` parameter of a weight-sharing strategy's search trials
BASELINE_KEY = "baseline"  # the parameter (and result field) that marks a baseline trial
SEARCHED_KEY = "search_hyperparameters"  # the classArgs key of hyperparameters searched beside the architecture
# the parameter in which a strategy tells a trial what it expected of it (a progressive search's
# level and predicted score); the trial's result repeats its fields, so the report shows them
PROPOSAL_KEY = "proposal"
OBJECTIVE_KEY = "objective"  # the result field of the score less the size penalty (``cost``), when set
# the parameter (and result field) listing the seeds a trial trains: a race's seeds, or the verdict's test seeds
TRAIN_SEEDS_KEY = "train_seeds"
# the parameter (and result field) that marks a verdict trial: the answer or a baseline on the test seeds
VERDICT_KEY = "verdict"
# A search trial's final ``default``: a shared-weight return is no architecture's score, and NNI's
# web UI ranks only finite metrics, so NaN keeps search trials out of its Best metric, Top trials
# and Default Metric graph while their intermediate results still plot the search's progress.
SEARCH_TRIAL_SCORE = float("nan")
CONTROLLER_BASELINES = ("ema", "none", "critic")


@dataclass(frozen=True)
class Budget:
    """What the whole search may spend (``classArgs.budget``); None: no limit. Both count across resumes."""

    env_steps: int | None = option(None, "env steps of finished trials, search trials included")
    wall_clock_s: float | None = option(None, "seconds the search has run")

    def check(self, where: str) -> None:
        check_positive_int(self.env_steps, f"{where}.env_steps", none_means="no limit")
        check_positive_number(self.wall_clock_s, f"{where}.wall_clock_s", none_means="no limit")


@dataclass(frozen=True)
class CostPenalty:
    """``classArgs.cost``: weigh a network's score against its size, as MnasNet weighs accuracy
    against latency, but additively, since an RL return may be negative.

    What a strategy learns from and the report ranks by is the trial's *objective*:
    ``score - per_tenfold * log10(parameters)``, so a network with ten times the weights must score
    ``per_tenfold`` more to be preferred (``parameters``: the weights the trial's optimizers train).
    The policy-gradient and ENAS controllers learn from it; random and grid search and the DARTS
    search propose as before, and their trials are ranked by it.
    """

    per_tenfold: float = option(0.0, "score a network ten times the size must gain to be preferred; 0: the score alone")

    def check(self, where: str) -> None:
        check_non_negative_number(self.per_tenfold, f"{where}.per_tenfold")

    @property
    def active(self) -> bool:
        return self.per_tenfold > 0

    def objective(self, score: float, parameters: Any) -> float:
        """The score less the size penalty; ``parameters`` must be known when the penalty is set."""
        if not self.active:
            return score
        if not is_number(parameters) or parameters < 1:
            raise ValueError(
                f"tuner.classArgs.cost.per_tenfold is set but the trial's result gives parameters="
                f"{parameters!r}; the penalty needs the network's weight count"
            )
        return score - self.per_tenfold * math.log10(parameters)


@dataclass(frozen=True)
class ControllerSettings:
    """The ``controller:`` mapping of a controller strategy (policy gradient, ENAS)."""

    hidden_size: int = option(100, "LSTM units")
    learning_rate: float = option(0.0085, "Adam's learning rate")
    baseline: str = option("ema", "ema (a moving average of the scores), none, or critic (a learned value head)")
    baseline_decay: float = option(0.9, "beta in: moving = beta * moving + (1 - beta) * score")
    advantage_clip: float | None = option(None, "clip score - baseline to [-c, c]; null: no clipping")
    entropy_weight: float = option(1e-3, "weight of the entropy bonus that keeps the controller exploring")
    l2_weight: float = option(0.0, "lambda in: loss = policy-gradient loss + lambda * sum of squared weights")
    critic_weight: float = option(0.5, "weight of the critic's squared error in the loss (baseline: critic)")
    samples_per_update: int = option(5, "scores per REINFORCE update")

    def check(self, where: str) -> None:
        check_choice(self.baseline, CONTROLLER_BASELINES, f"{where}.baseline")
        check_positive_int(self.hidden_size, f"{where}.hidden_size")
        check_positive_int(self.samples_per_update, f"{where}.samples_per_update")
        check_positive_number(self.learning_rate, f"{where}.learning_rate")
        check_positive_number(self.advantage_clip, f"{where}.advantage_clip", none_means="no clipping")
        for name in ("entropy_weight", "l2_weight", "critic_weight"):
            check_non_negative_number(getattr(self, name), f"{where}.{name}")
        if not is_number(self.baseline_decay) or not 0.0 <= self.baseline_decay < 1.0:
            raise ConfigError(f"{where}.baseline_decay: got {self.baseline_decay!r}; fix: a number in [0, 1)")


@dataclass(frozen=True)
class RacingSettings:
    """``classArgs.racing``: how many search seeds an architecture trains on (:mod:`nni_rl_nas.racing`).

    Search seeds are ``task.seed``, ``task.seed + 1`` ... ``task.seed + max_seeds - 1``. With the
    defaults every architecture trains once on ``task.seeds`` seeds (no racing); a ``max_seeds``
    above ``initial_seeds`` races them."""

    initial_seeds: int | None = option(None, "search seeds a new architecture trains on first; null: task.seeds")
    max_seeds: int | None = option(
        None, "most search seeds an architecture earns while the search runs; null: initial_seeds (no racing)"
    )
    answer_seeds: int | None = option(
        None,
        "search seeds the answer rests on at least: the race tops its finalists up to them when the search "
        "ends (may exceed max_seeds); null: max_seeds",
    )
    rule: str = option(
        "t_test",
        "when a challenger is dropped: t_test, once a one-sided paired t-test at confidence "
        "shows it worse than the incumbent; aggregate, as soon as its aggregate on the shared "
        "seeds is lower (SMAC's rule)",
    )
    confidence: float = option(0.8, "rule t_test: the one-sided confidence that drops a challenger")
    aggregate: str = option(
        "mean",
        "what an architecture's seeds are ranked by: mean, iqm (interquartile mean, "
        "robust to a collapsed seed) or quantile (a lower quantile: for agents that must "
        "work on every seed)",
    )
    quantile: float = option(0.25, "aggregate quantile: which quantile")
    pair_baselines: bool = option(
        True,
        "baselines train on every search seed a contender does, so that any "
        "architecture compares with them on paired seeds; false: on their initial "
        "seeds only (cheaper: the verdict's test seeds then compare the answer with "
        "them)",
    )

    finalists: int = option(
        1,
        "contenders topped up to answer_seeds when the search ends, the incumbent and the best of the "
        "rest by their seeds so far; the best of them on those shared seeds is the answer (a second "
        "look at the few that scored best on few seeds)",
    )

    def resolved(self, task_seeds: int) -> tuple[int, int, int]:
        """(initial, max, answer) seeds, the nulls resolved against the task's seeds per trial."""
        initial = self.initial_seeds or task_seeds
        most = self.max_seeds or initial
        return initial, most, self.answer_seeds or most

    def check(self, where: str) -> None:
        for name in ("initial_seeds", "max_seeds", "answer_seeds"):
            check_positive_int(getattr(self, name), f"{where}.{name}", none_means="the default")
        check_positive_int(self.finalists, f"{where}.finalists")
        check_choice(self.rule, RACING_RULES, f"{where}.rule")
        check_choice(self.aggregate, AGGREGATES, f"{where}.aggregate")
        if not isinstance(self.pair_baselines, bool):
            raise ConfigError(f"{where}.pair_baselines: got {self.pair_baselines!r}; fix: true or false")
        for name in ("confidence", "quantile"):
            value = getattr(self, name)
            if not is_number(value) or not 0 < value < 1:
                raise ConfigError(f"{where}.{name}: got {value!r}; fix: a number strictly between 0 and 1")

    def spanned(self, task_seeds: int) -> int:
        """How many search seeds the race may hand out: max_seeds, or answer_seeds where it is more."""
        _, most, answer = self.resolved(task_seeds)
        return max(most, answer)

    def check_against(self, task_seeds: int, where: str) -> None:
        """The seed counts, resolved, must nest: initial <= max and initial <= answer."""
        initial, most, answer = self.resolved(task_seeds)
        if initial > most:
            raise ConfigError(
                f"{where}.max_seeds: got {most}, below initial_seeds {initial}; fix: max_seeds >= "
                "initial_seeds, or null for no racing"
            )
        if answer < initial:
            raise ConfigError(f"{where}.answer_seeds: got {answer}; fix: at least initial_seeds ({initial})")

    @property
    def active(self) -> bool:
        return self != RacingSettings()


@dataclass(frozen=True)
class VerdictSettings:
    """``classArgs.verdict``: fresh test seeds that only the final verdict reads.

    Once the search has ended, its answer and each baseline train once more, on ``test_seeds``
    seeds that no search trial used (``first_test_seed`` ...); the report's verdict, the paired
    difference against each baseline and its interval, reads those trials alone."""

    test_seeds: int = option(
        0,
        "test seeds of the verdict trials; 0: no verdict trials (the report then compares "
        "on the search seeds and says that its interval is optimistic)",
    )
    first_test_seed: int = option(1000, "the first test seed; the test seeds must not overlap the search seeds")

    def check(self, where: str) -> None:
        check_non_negative_int(self.test_seeds, f"{where}.test_seeds")
        check_non_negative_int(self.first_test_seed, f"{where}.first_test_seed")

    def seeds(self) -> list[int]:
        return list(range(self.first_test_seed, self.first_test_seed + self.test_seeds))


# every strategy's options by its short name, filled as the subclasses below are defined
STRATEGY_OPTIONS: dict[str, type[StrategyOptions]] = {}


@dataclass(frozen=True)
class StrategyOptions:
    """Options every strategy takes. A subclass adds its own fields and names its strategy, which
    registers it in :data:`STRATEGY_OPTIONS`."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "strategy" in cls.__dict__:
            STRATEGY_OPTIONS[cls.strategy] = cls

    strategy: ClassVar[str]  # the short name a config uses (``tuner: {name: ...}``)
    # the NNI search space types of the hyperparameters it searches beside the architecture
    # (``search_hyperparameters``); None: every type; empty: none, for the reason below
    hyperparameter_types: ClassVar[tuple[str, ...] | None] = ("choice",)
    searches_no_hyperparameters_because: ClassVar[str] = ""
    seed: int = option(0, "the strategy's random seed")
    budget: Budget = option(Budget, "what the whole search may spend; no new trial once spent")
    baselines: tuple[str, ...] = option(
        (),
        "architectures (names such as 256-relu_256-relu) trained first, under "
        "the task every trial trains under, and marked as baselines: the "
        "hand-picked networks a search's answer is shown against; the "
        "strategy does not learn from them",
    )
    cost: CostPenalty = option(CostPenalty, "weigh each network's score against its size (parameters)")
    racing: RacingSettings = option(
        RacingSettings, "race architectures on paired search seeds: more seeds for those that may be the answer"
    )
    verdict: VerdictSettings = option(
        VerdictSettings,
        "train the answer and the baselines on fresh test seeds once the search ends, for an unbiased verdict",
    )

    @classmethod
    def parse(cls, options: dict[str, Any]) -> StrategyOptions:
        """Options from ``classArgs`` (less ``space`` and ``task``), nested sections included, checked."""
        where = "tuner.classArgs"
        if not isinstance(options, dict):
            raise ConfigError(f"{where}: got {options!r}; fix: a mapping")
        allowed = [f.name for f in fields(cls)]
        for key in options:
            if key not in allowed:
                raise ConfigError(
                    f"{where}: unknown option {key!r} for {cls.strategy}; {did_you_mean(str(key), allowed)}"
                    f"fix: use space, task or one of {allowed}"
                )
        values = dict(options)
        for option_field in fields(cls):
            nested = option_field.default_factory
            if option_field.name in values and dataclasses.is_dataclass(nested):
                values[option_field.name] = parse_section(
                    nested, values[option_field.name] or {}, f"{where}.{option_field.name}"
                )
        parsed = cls(**values)
        parsed.check()
        return parsed

    def check(self) -> None:
        """Refuse bad values, naming the field and the fix."""
        check_non_negative_int(self.seed, "tuner.classArgs.seed")
        self.budget.check("tuner.classArgs.budget")
        self.cost.check("tuner.classArgs.cost")
        self.racing.check("tuner.classArgs.racing")
        self.verdict.check("tuner.classArgs.verdict")

    def check_experiment(self, spec: ExperimentSpec, space_part: str) -> None:
        """Refuse a space or task this strategy cannot search (``space_part``: the space's part)."""

    def check_seeds(self, spec: ExperimentSpec) -> None:
        """Racing and the verdict need an RL task, nesting seed counts, and test seeds apart from the search's."""
        if not spec.is_rl:
            given = next(
                (
                    name
                    for name, section in (("racing", self.racing.active), ("verdict", self.verdict.test_seeds))
                    if section
                ),
                None,
            )
            if given:
                raise ConfigError(
                    f"tuner.classArgs.{given}: seeds are an RL agent's; {spec.source()} trains one "
                    "classifier per trial; fix: remove it"
                )
            return
        self.racing.check_against(spec.task.seed_count, "tuner.classArgs.racing")
        # as ranges, not lists: a huge task.seeds is refused by its own check, not by running out of memory
        first, last = spec.task.seed, spec.task.seed + self.racing.spanned(spec.task.seed_count) - 1
        test_first, test_last = self.verdict.first_test_seed, self.verdict.first_test_seed + self.verdict.test_seeds - 1
        if self.verdict.test_seeds and test_first <= last and first <= test_last:
            raise ConfigError(
                f"tuner.classArgs.verdict.first_test_seed: test seeds {max(first, test_first)}.. overlap the search "
                f"seeds {first}..{last} (task.seed, racing.max_seeds and racing.answer_seeds); fix: a "
                f"first_test_seed above {last}"
            )

    def search_seeds(self, task) -> list[int]:
        """The seeds search trials may train on, in the order the race hands them out."""
        return list(range(task.seed, task.seed + self.racing.spanned(task.seed_count)))

    def trial_seeds_at_most(self, task_seeds: int) -> int:
        """The most agents one trial trains at once: a race's largest request, or the verdict's seeds."""
        return max(self.racing.spanned(task_seeds), self.verdict.test_seeds)


@dataclass(frozen=True)
class RandomOptions(StrategyOptions):
    """Random search: architectures drawn uniformly, each trained at most once."""

    strategy: ClassVar[str] = "RlNasRandom"


@dataclass(frozen=True)
class GridOptions(StrategyOptions):
    """Exhaustive grid: every architecture of the space once, in the space's own order."""

    strategy: ClassVar[str] = "RlNasGrid"


@dataclass(frozen=True)
class RedrawOptions(StrategyOptions):
    """Options of a strategy that answers a proposal of an already scored point with its known score
    and draws again, rather than train it again (the trial's seed would give the same score)."""

    max_draws: int = option(50, "draws in a row that find only known architectures before the search ends")

    def check(self) -> None:
        super().check()
        check_positive_int(self.max_draws, "tuner.classArgs.max_draws")


@dataclass(frozen=True)
class PolicyGradientOptions(RedrawOptions):
    """Policy gradient: a REINFORCE-trained controller proposes, each proposal a full trial."""

    strategy: ClassVar[str] = "RlNasPolicyGradient"
    controller: ControllerSettings = option(ControllerSettings, "the controller and its REINFORCE update")
    failure_score: float | None = option(
        None, "what the controller learns from a trial that ended without a score; null: nothing"
    )

    def check(self) -> None:
        super().check()
        self.controller.check("tuner.classArgs.controller")
        if self.failure_score is not None and not is_number(self.failure_score):
            raise ConfigError(
                f"tuner.classArgs.failure_score: got {self.failure_score!r}; fix: a number, or null "
                "to learn nothing from failed trials"
            )


@dataclass(frozen=True)
class PredictorSettings:
    """The ``predictor:`` mapping of the progressive strategy: an ensemble of small MLPs that
    predicts a trial's score from its architecture, the ensemble's spread its uncertainty."""

    members: int = option(5, "networks in the ensemble, each fitted to a bootstrap resample of the scores")
    hidden_size: int = option(64, "units of each member's hidden layer")
    epochs: int = option(300, "full-batch Adam steps each fit")
    learning_rate: float = option(0.01, "Adam's learning rate")
    optimism: float = option(0.0, "rank candidates by predicted mean + optimism x spread; 0: by the mean")

    def check(self, where: str) -> None:
        for name in ("members", "hidden_size", "epochs"):
            check_positive_int(getattr(self, name), f"{where}.{name}")
        if self.members < 2:
            raise ConfigError(
                f"{where}.members: got {self.members!r}; fix: at least 2, so the ensemble's spread "
                "measures its uncertainty"
            )
        check_positive_number(self.learning_rate, f"{where}.learning_rate")
        check_non_negative_number(self.optimism, f"{where}.optimism")


# the families that can grow, by the option whose list of values makes their depth a decision
GROWING_FAMILIES = {"mlp": "depth", "cnn": "depth", "impala": "stages", "stages": "stages"}


@dataclass(frozen=True)
class ProgressiveOptions(StrategyOptions):
    """Progressive NAS (Liu et al., 2018): train every architecture of the smallest depth, then at
    each next depth expand the best by one layer, rank the expansions with a learned predictor
    and train the best predicted."""

    strategy: ClassVar[str] = "RlNasProgressive"
    hyperparameter_types: ClassVar[tuple[str, ...]] = ()
    searches_no_hyperparameters_because: ClassVar[str] = (
        "it grows architectures one layer at a time, and a hyperparameter is no layer"
    )
    beam: int = option(4, "architectures expanded at each depth, and expansions trained per depth")
    first_level: int | None = option(
        None, "architectures of the smallest depth trained first (a random sample); null: all of them"
    )
    predictor: PredictorSettings = option(PredictorSettings, "the score predictor that ranks expansions")

    def check(self) -> None:
        super().check()
        check_positive_int(self.beam, "tuner.classArgs.beam")
        check_positive_int(self.first_level, "tuner.classArgs.first_level", none_means="all of the smallest depth")
        self.predictor.check("tuner.classArgs.predictor")

    def check_experiment(self, spec: ExperimentSpec, space_part: str) -> None:
        if spec.space.family not in GROWING_FAMILIES:
            raise ConfigError(
                f"space.family: RlNasProgressive grows a network one layer at a time, and the "
                f"{spec.space.family!r} family has no depth to grow; fix: family mlp or cnn with "
                "depth: [1, 2, 3, 4], impala or stages with stages: [1, 2, 3], or another strategy for this space"
            )
        key = GROWING_FAMILIES[spec.space.family]
        depth = spec.space.options.get(key)
        if not isinstance(depth, list) or len(depth) < 2:
            raise ConfigError(
                f"space.{key}: RlNasProgressive grows the network from the smallest to the largest, "
                f"got {depth!r}; fix: a list, e.g. {key}: [1, 2, 3]"
            )


@dataclass(frozen=True)
class TwoPhaseOptions(StrategyOptions):
    """Options of a weight-sharing strategy: search trials first, then retrains of what they derive."""

    algorithms: ClassVar[tuple[str, ...]]  # the RL algorithms whose agents its search trains
    search_name: ClassVar[str]  # search trials are named "<search_name> <seed>"
    searches: int = option(1, "search trials (seeds seed, seed + 1 ...); usually trialConcurrency")
    search_timesteps: int | None = option(None, "env steps of one search; null: the task's per-agent budget")
    search_max_seconds: float | None = option(None, "wall-clock cap of one search; null: task.max_trial_seconds")
    search_eval_episodes: int = option(5, "greedy episodes that score the shared-weight agent")
    hyperparameter_types: ClassVar[tuple[str, ...]] = ()
    searches_no_hyperparameters_because: ClassVar[str] = (
        "its search trains one supernet under one set of hyperparameters for all architectures"
    )

    def derived_per_search(self) -> int:
        """Architectures each search derives for retraining."""
        raise NotImplementedError

    def check(self) -> None:
        super().check()
        check_positive_int(self.searches, "tuner.classArgs.searches")
        check_positive_int(self.search_eval_episodes, "tuner.classArgs.search_eval_episodes")
        check_positive_int(self.search_timesteps, "tuner.classArgs.search_timesteps", none_means="the task's budget")
        check_positive_number(
            self.search_max_seconds, "tuner.classArgs.search_max_seconds", none_means="task.max_trial_seconds"
        )

    def check_experiment(self, spec: ExperimentSpec, space_part: str) -> None:
        if not spec.is_rl:
            raise ConfigError(
                f"tuner.name: {self.strategy} trains RL agents with shared weights and needs an RL task "
                f"(task.env), got {spec.source()}; fix: RlNasPolicyGradient, RlNasRandom or RlNasGrid "
                "for a dataset task"
            )
        if spec.rl_task.algorithm not in self.algorithms:
            raise ConfigError(
                f"task.algorithm: {self.strategy} trains its search with {list(self.algorithms)}, got "
                f"{spec.rl_task.algorithm!r}; fix: one of those, or RlNasRandom / RlNasGrid / "
                "RlNasPolicyGradient, which train any algorithm"
            )


# how ENAS's children share weights (oneshot/enas.py, SharedWeights)
WEIGHT_SHARING = ("slices", "per_shape", "per_activation")


@dataclass(frozen=True)
class EnasOptions(TwoPhaseOptions):
    """ENAS: a controller samples children of one DQN supernet of the ``mlp`` space."""

    strategy: ClassVar[str] = "RlNasEnas"
    search_name: ClassVar[str] = "ENAS search"
    algorithms: ClassVar[tuple[str, ...]] = ("dqn",)  # children are swapped in as the Q-network
    controller: ControllerSettings = option(ControllerSettings, "the controller and its REINFORCE update")
    child_steps: int = option(2000, "env steps of shared-weight training per sampled child")
    top_k: int = option(3, "architectures each search derives for retraining")
    weight_sharing: str = option(
        "slices",
        "slices: a width is the leading slice of one matrix per layer (ENAS, NNI's MixedLinear); per_shape: a "
        "layer of given input and output widths has weights of its own; per_activation: slices of one supernet per "
        "sequence of activations (benchmarks/enas_ranking.py compares them)",
    )

    def derived_per_search(self) -> int:
        return self.top_k

    def check(self) -> None:
        super().check()
        self.controller.check("tuner.classArgs.controller")
        check_choice(self.weight_sharing, WEIGHT_SHARING, "tuner.classArgs.weight_sharing")
        check_positive_int(self.child_steps, "tuner.classArgs.child_steps")
        check_positive_int(self.top_k, "tuner.classArgs.top_k")
        if self.search_timesteps is not None and self.search_timesteps < self.child_steps:
            raise ConfigError(
                f"tuner.classArgs.search_timesteps: got {self.search_timesteps!r}; fix: a whole number "
                f">= child_steps ({self.child_steps}), or null for the task's budget"
            )

    def check_experiment(self, spec: ExperimentSpec, space_part: str) -> None:
        super().check_experiment(spec, space_part)
        if space_part != "dense":
            raise ConfigError(
                f"space.family: RlNasEnas shares the weights of the mlp space's dense layers, got "
                f"{spec.space.family!r}; fix: family mlp, or RlNasDarts for image encoders"
            )
        if isinstance(spec.space.options.get("depth"), list):
            raise ConfigError(
                f"space.depth: RlNasEnas shares one supernet of a fixed depth, got "
                f"{spec.space.options['depth']!r}; fix: one whole number, or a multi-trial strategy "
                "(RlNasProgressive, RlNasRandom, RlNasPolicyGradient) to search the depth"
            )


ARCH_SCHEDULES = ("constant", "linear")
DARTS_SELECTIONS = ("weights", "sequential", "perturbation")


@dataclass(frozen=True)
class DartsOptions(TwoPhaseOptions):
    """RL-DARTS: the agent's encoder is the DARTS supernet, trained by the agent's own loss."""

    strategy: ClassVar[str] = "RlNasDarts"
    search_name: ClassVar[str] = "DARTS search"
    algorithms: ClassVar[tuple[str, ...]] = ("ppo", "dqn")  # one features extractor whose loss trains the cells
    arch_learning_rate: float = option(1e-2, "Adam's learning rate on the architecture weights")
    arch_weight_decay: float = option(1e-3, "weight decay of the architecture weights, as in DARTS")
    arch_learning_rate_schedule: str = option("constant", "constant, or linear: decays to 0 at the search's end")
    arch_warmup: float = option(
        0.0,
        "fraction of the search's env steps that trains only the network weights, "
        "the operation weights held uniform (NNI DARTS's warmup_epochs)",
    )
    temperature: float = option(
        1.0, "softmax temperature of the operation weights, softmax(alpha / T) as in RL-DARTS; below 1 sharpens them"
    )
    auxiliary_skip: float = option(
        0.0,
        "DARTS-'s collapse fix: the weight of a skip added to every shape-keeping edge outside the "
        "architecture weights, falling linearly to 0 at the search's end; 0: none",
    )
    selection: str = option(
        "weights",
        "weights: discretise the operation weights at the search's end, as DARTS "
        "does; sequential: decide one node at a time, the clearest first, and fix "
        "it (SGAS), the last at decided_by; perturbation: on the same schedule, keep "
        "the operations whose removal changes the agent's action distribution most "
        "(Wang et al., 2021; PPO only)",
    )
    decided_by: float = option(
        0.75,
        "selection sequential or perturbation: the fraction of the search's env steps by which every "
        "node is decided; the rest trains the network weights of the decided cell",
    )

    def derived_per_search(self) -> int:
        """Each search derives its one discretised genotype."""
        return 1

    def check(self) -> None:
        super().check()
        check_positive_number(self.arch_learning_rate, "tuner.classArgs.arch_learning_rate")
        if not is_number(self.arch_warmup) or not 0 <= self.arch_warmup < 1:
            raise ConfigError(
                f"tuner.classArgs.arch_warmup: got {self.arch_warmup!r}; fix: a fraction from 0 (no "
                "warmup) up to, not including, 1"
            )
        check_choice(self.arch_learning_rate_schedule, ARCH_SCHEDULES, "tuner.classArgs.arch_learning_rate_schedule")
        check_positive_number(self.temperature, "tuner.classArgs.temperature")
        check_non_negative_number(self.auxiliary_skip, "tuner.classArgs.auxiliary_skip")
        check_choice(self.selection, DARTS_SELECTIONS, "tuner.classArgs.selection")
        if not is_number(self.decided_by) or not self.arch_warmup < self.decided_by <= 1:
            raise ConfigError(
                f"tuner.classArgs.decided_by: got {self.decided_by!r}; fix: a fraction after the "
                f"warmup ({self.arch_warmup}) and at most 1"
            )
        check_non_negative_number(self.arch_weight_decay, "tuner.classArgs.arch_weight_decay")

    def check_experiment(self, spec: ExperimentSpec, space_part: str) -> None:
        if spec.space.family != "darts":
            raise ConfigError(
                f"space.family: RlNasDarts searches DARTS cells, got {spec.space.family!r}; fix: "
                "family darts, or RlNasRandom / RlNasGrid / RlNasPolicyGradient for this space"
            )
        super().check_experiment(spec, space_part)  # an RL task with one of the algorithms
        if self.selection == "perturbation" and spec.rl_task.algorithm != "ppo":
            raise ConfigError(
                "tuner.classArgs.selection: perturbation measures the change in the policy's action "
                f"distribution, which task.algorithm {spec.rl_task.algorithm!r} does not give; fix: "
                "algorithm ppo, or selection sequential"
            )


# NNI's built-in tuners whose proposals are points of a search space, which the adapter hands to
# trials as architectures; the others, with the reason a config naming them is refused
NNI_POINT_TUNERS = ("TPE", "Random", "Anneal", "Evolution", "GridSearch", "DNGO", "SMAC", "PBT")
# the parameters in which NNI's PBT tells a trial where to load its agent from and save it to
LOAD_CHECKPOINT_KEY, SAVE_CHECKPOINT_KEY = "load_checkpoint_dir", "save_checkpoint_dir"
NNI_OTHER_TUNERS = {
    "Metis": "it takes only numerical choices, and an architecture's choices include names",
    "GP": "it takes only numerical choices, and an architecture's choices include names",
    "Hyperband": "NNI runs it as an advisor that owns the dispatcher, not as a tuner that can be wrapped; "
    "tuner name RlNasHyperband runs it with budgets in env steps",
    "BOHB": "NNI runs it as an advisor that owns the dispatcher, not as a tuner that can be wrapped; "
    "tuner name RlNasBohb runs it with budgets in env steps",
    "Batch": "it proposes only the points a 'choice' search space lists one by one",
    "NetworkMorphism": "it grows Keras-style graphs of its own, not architectures of a model space",
    "PPO": "it needs NNI's mutable-layer search space format",
    "RegularizedEvolutionTuner": "it needs NNI's layer_choice/input_choice search space format",
    "TPE_legacy": "it needs hyperopt; use TPE",
}


@dataclass(frozen=True)
class NniTunerOptions(RedrawOptions):
    """One of NNI's built-in tuners over the space: its proposals are the trials' architectures."""

    strategy: ClassVar[str] = "RlNasNniTuner"
    hyperparameter_types: ClassVar[None] = None
    algorithm: str = option("TPE", f"the NNI built-in tuner, by its builtinName: one of {list(NNI_POINT_TUNERS)}")
    algorithm_args: dict | None = option(
        None,
        "that tuner's own classArgs (optimize_mode is always maximize; "
        "seed, where the tuner takes one, is this strategy's seed)",
    )

    def check(self) -> None:
        super().check()
        if isinstance(self.algorithm, str) and self.algorithm in NNI_OTHER_TUNERS:
            raise ConfigError(
                f"tuner.classArgs.algorithm: {self.algorithm!r} cannot drive trials here: "
                f"{NNI_OTHER_TUNERS[self.algorithm]}; fix: one of {list(NNI_POINT_TUNERS)}"
            )
        check_choice(self.algorithm, NNI_POINT_TUNERS, "tuner.classArgs.algorithm")
        if not isinstance(self.algorithm_args or {}, dict):
            raise ConfigError(
                f"tuner.classArgs.algorithm_args: got {self.algorithm_args!r}; fix: a mapping of "
                f"{self.algorithm}'s classArgs, or leave it out"
            )
        for key in ("optimize_mode", "seed"):
            if key in (self.algorithm_args or {}):
                raise ConfigError(
                    f"tuner.classArgs.algorithm_args.{key}: set by this strategy (optimize_mode "
                    "maximize: scores are returns or accuracies; seed: tuner.classArgs.seed); fix: "
                    f"remove it{', and set tuner.classArgs.seed' if key == 'seed' else ''}"
                )

    def check_experiment(self, spec: ExperimentSpec, space_part: str) -> None:
        if self.algorithm != "PBT":
            return
        # PBT's trials continue each other's agents (nni_rl_nas/training/checkpoints.py)
        if not spec.is_rl:
            raise ConfigError(
                f"tuner.classArgs.algorithm: PBT continues agents across generations and needs an RL "
                f"task (task.env), got {spec.source()}; fix: another tuner for a dataset task"
            )
        if spec.rl_task.engine != "sb3":
            raise ConfigError(
                f"task.engine: PBT continues agents from checkpoints, which the {spec.rl_task.engine} "
                "engine does not write; fix: engine: sb3"
            )
        if self.racing.active or self.verdict.test_seeds:
            raise ConfigError(
                f"tuner.classArgs.{'racing' if self.racing.active else 'verdict'}: PBT continues each "
                "member's agent on its own seed, so its answer is a lineage, not an architecture to train "
                "on other seeds; fix: remove it"
            )
        if "buffer_size" in spec.searched_hyperparameters:
            raise ConfigError(
                "tuner.classArgs.search_hyperparameters.buffer_size: PBT continues an agent with its "
                "replay buffer, whose size cannot change; fix: set it in task.hyperparameters"
            )


FIDELITY_KEY = "TRIAL_BUDGET"  # the parameter in which NNI's Hyperband and BOHB give a trial its budget


@dataclass(frozen=True)
class AdvisorOptions(StrategyOptions):
    """An NNI advisor (Hyperband, BOHB) over the space, its budgets in env steps: a trial given
    budget b trains ``ceil(b / largest budget x the task's budget)`` env steps per agent."""

    hyperparameter_types: ClassVar[tuple[str, ...] | None] = None
    advisor: ClassVar[str]  # NNI's name for it
    eta: int = option(3, "1/eta of each round's configurations go on to eta times the budget")

    @property
    def largest_budget(self) -> float:
        raise NotImplementedError

    def advisor_args(self) -> dict[str, Any]:
        """The classArgs of NNI's advisor, less optimize_mode (always maximize)."""
        raise NotImplementedError

    def check(self) -> None:
        super().check()
        # what the advisor proposes is NNI's alone
        given = [
            name
            for name, is_given in (
                ("baselines", bool(self.baselines)),
                ("budget", self.budget != Budget()),
                ("cost", self.cost.active),
                ("racing", self.racing.active),
                ("verdict", self.verdict != VerdictSettings()),
            )
            if is_given
        ]
        if given:
            raise ConfigError(
                f"tuner.classArgs.{given[0]}: NNI's {self.advisor} advisor proposes every trial itself, "
                f"so {given[0]} cannot apply; fix: remove it, or use RlNasNniTuner"
            )
        if not isinstance(self.eta, int) or isinstance(self.eta, bool) or self.eta < 2:
            raise ConfigError(f"tuner.classArgs.eta: got {self.eta!r}; fix: a whole number >= 2")

    def check_experiment(self, spec: ExperimentSpec, space_part: str) -> None:
        if not spec.is_rl:
            raise ConfigError(
                f"tuner.name: {self.strategy} maps its budgets to env steps and needs an RL task "
                f"(task.env), got {spec.source()}; fix: RlNasNniTuner for a dataset task"
            )

    def env_steps(self, fidelity: float, task_budget: int) -> int:
        """Env steps per agent of a trial that the advisor gives budget ``fidelity``."""
        return math.ceil(fidelity / self.largest_budget * task_budget)


@dataclass(frozen=True)
class HyperbandOptions(AdvisorOptions):
    """NNI's Hyperband: budgets 1 to R."""

    strategy: ClassVar[str] = "RlNasHyperband"
    advisor: ClassVar[str] = "Hyperband"
    R: int = option(9, "Hyperband's largest budget: R gets the task's whole budget (total_timesteps)")
    exec_mode: str = option("parallelism", "parallelism: start the next bracket while one runs; serial: one at a time")

    @property
    def largest_budget(self) -> float:
        return self.R

    def advisor_args(self) -> dict[str, Any]:
        return {"R": self.R, "eta": self.eta, "exec_mode": self.exec_mode}

    def check(self) -> None:
        super().check()
        check_positive_int(self.R, "tuner.classArgs.R")
        check_choice(self.exec_mode, ("parallelism", "serial"), "tuner.classArgs.exec_mode")


@dataclass(frozen=True)
class BohbOptions(AdvisorOptions):
    """NNI's BOHB: Hyperband's brackets, their configurations from a model of the results so far.

    The model is a kernel density estimate, used instead of random draws once a budget has
    enough results; budgets run from ``min_budget`` to ``max_budget``."""

    strategy: ClassVar[str] = "RlNasBohb"
    advisor: ClassVar[str] = "BOHB"
    # NNI's BOHB builds quantised ranges with ConfigSpace's ``q``, which ConfigSpace 1.x no longer has
    hyperparameter_types: ClassVar[tuple[str, ...]] = ("choice", "randint", "uniform", "loguniform")
    min_budget: float = option(1, "the smallest budget")
    max_budget: float = option(9, "the largest budget, which gets the task's whole budget (total_timesteps)")
    min_points_in_model: int | None = option(None, "results before the model proposes; null: dimensions + 1")
    random_fraction: float = option(0.33, "fraction of configurations drawn at random, not from the model")

    @property
    def largest_budget(self) -> float:
        return self.max_budget

    def advisor_args(self) -> dict[str, Any]:
        return {
            "min_budget": self.min_budget,
            "max_budget": self.max_budget,
            "eta": self.eta,
            "min_points_in_model": self.min_points_in_model,
            "random_fraction": self.random_fraction,
        }

    def check(self) -> None:
        super().check()
        check_positive_number(self.min_budget, "tuner.classArgs.min_budget")
        if not is_number(self.max_budget) or self.max_budget <= self.min_budget:
            raise ConfigError(
                f"tuner.classArgs.max_budget: got {self.max_budget!r}; fix: a number above min_budget "
                f"({self.min_budget})"
            )
        check_positive_int(self.min_points_in_model, "tuner.classArgs.min_points_in_model", none_means="dimensions + 1")
        if not is_number(self.random_fraction) or not 0 <= self.random_fraction <= 1:
            raise ConfigError(f"tuner.classArgs.random_fraction: got {self.random_fraction!r}; fix: a number in [0, 1]")

    def check_experiment(self, spec: ExperimentSpec, space_part: str) -> None:
        super().check_experiment(spec, space_part)
        dimensions = len(spec.meta_search_space.labels)
        if self.min_points_in_model is not None and self.min_points_in_model <= dimensions:
            raise ConfigError(
                f"tuner.classArgs.min_points_in_model: got {self.min_points_in_model}, but BOHB's model "
                f"needs more results than the search space's {dimensions} dimensions; fix: at least "
                f"{dimensions + 1}, or null"
            )


def options_of(strategy: Any) -> type[StrategyOptions]:
    """A strategy's options by its short name (any case); anything else is refused with the names."""
    for name, options in STRATEGY_OPTIONS.items():
        if name.lower() == str(strategy).lower():
            return options
    raise ConfigError(
        f"tuner.name: got {strategy!r}; {did_you_mean(str(strategy), list(STRATEGY_OPTIONS))}"
        f"fix: one of {list(STRATEGY_OPTIONS)}"
    )
