"""Racing on paired seeds: spend seeds on the architectures that may be the answer, none on the rest.

SMAC's intensification (Hutter et al.; ``smac/intensifier/intensifier.py``), for RL seeds:

- A new architecture (a *challenger*) first trains on the first ``initial_seeds`` search seeds.
- It is compared with the *incumbent*, the race's current answer, on the seeds both have run
  (paired: seed ``s`` against seed ``s``). Shown worse there (``rule``), it is dropped. Not shown
  worse, it earns more seeds, only ones the incumbent has run, doubling its count each time, until
  it has as many as the incumbent; then, if its aggregate on those seeds is higher, it becomes
  the incumbent.
- Each time a challenger's race ends, the incumbent gains one more seed, up to ``max_seeds``:
  the answer's estimate keeps improving while the search goes on. (``max_seeds`` equal to
  ``initial_seeds``: no racing while the search runs, every architecture trains on its first
  seeds, and the finalists alone earn more.)
- Baselines run on every seed a contender runs on (``pair_baselines``), so any architecture can
  be compared with them on paired search seeds; without it they keep their initial seeds, and the
  verdict's test seeds alone compare the answer with them.
- When the search stops proposing (its budget is spent, or it has nothing left), the race
  *finishes*: challengers earn no more seeds, and the ``finalists`` best contenders (the
  incumbent, then the rest by their aggregate on the seeds they have run) are topped up to
  ``answer_seeds``, so the answer rests on at least that many seeds. With more than one
  finalist the finalists race each other on those shared seeds, and the best becomes the answer:
  a second look at the few that scored best on few seeds, which is where a small budget's seeds
  pay most (``benchmarks/seed_protocols.py`` measures it against one seed per trial).

``rule``: ``t_test`` drops a challenger once the one-sided ``confidence`` upper bound of its mean
paired difference lies below 0 (:func:`.seed_statistics.shown_worse`), the spread of a difference
taken from the seed noise pooled over every architecture raced so far, so that one pair far below
drops a challenger but one unlucky seed does not; ``aggregate`` drops it as soon as its aggregate on
the shared seeds is lower, as SMAC does. The race sees objectives (the score less any size penalty),
per seed. Plain data in and out: the strategy base (:mod:`nni_rl_nas.strategies.base`) turns
requests into trials.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .seed_statistics import aggregate, pooled_seed_sd, shown_worse

RACING_RULES = ("t_test", "aggregate")


@dataclass
class Entrant:
    """One architecture in the race: the seeds it was given (handed out or queued) and its objective on each."""

    name: str
    baseline: bool = False
    requested: list[int] = field(default_factory=list)
    scores: dict[int, float] = field(default_factory=dict)
    dropped: bool = False  # shown worse than the incumbent, or its trial failed
    settled: bool = False  # its race ended without winning (or it lost the incumbency): it earns no more seeds

    @property
    def complete(self) -> bool:
        """Every seed it was given has reported."""
        return all(seed in self.scores for seed in self.requested)


class Race:
    """The race's bookkeeping and decisions; :meth:`next_request` says what to train next."""

    def __init__(
        self,
        seeds: Sequence[int],
        initial_seeds: int,
        answer_seeds: int,
        rule: str = "t_test",
        confidence: float = 0.8,
        aggregate_name: str = "mean",
        quantile: float = 0.25,
        pair_baselines: bool = True,
        finalists: int = 1,
        max_seeds: int | None = None,
    ) -> None:
        if not 1 <= initial_seeds <= len(seeds) or not 1 <= answer_seeds <= len(seeds):
            raise ValueError(
                f"initial_seeds {initial_seeds} and answer_seeds {answer_seeds} must lie in 1..{len(seeds)}"
            )
        self.seeds, self.initial_seeds, self.answer_seeds = list(seeds), initial_seeds, answer_seeds
        self.rule, self.confidence, self.aggregate_name, self.quantile = rule, confidence, aggregate_name, quantile
        self.pair_baselines, self.finalists = pair_baselines, finalists
        self.max_seeds = max_seeds or len(self.seeds)  # while the search runs; the finalists may go on to answer_seeds
        self.entrants: dict[str, Entrant] = {}
        self.incumbent: str | None = None
        self.queue: list[tuple[str, list[int]]] = []  # seeds given but not yet handed out, in order
        self.finishing = False
        self.final: list[str] = []  # the finalists, named when the race finishes

    # -- what the strategy calls ---------------------------------------------------------------------

    def enter(self, name: str, baseline: bool = False) -> list[int]:
        """A new architecture (or baseline) joins; returns the seeds its first trial trains on. A
        point proposed again (NNI's PBT continues a member, generation after generation) trains on
        the first seeds again, and its results replace the earlier ones."""
        if name in self.entrants:
            return self.seeds[: self.initial_seeds]
        entrant = self.entrants[name] = Entrant(name, baseline)
        first = self.seeds[: self.initial_seeds]
        entrant.requested = list(first)
        if not baseline:
            self._pair_baselines(first)
        return first

    def next_request(self) -> tuple[str, list[int]] | None:
        """The next (architecture, seeds) to train, or None."""
        return self.queue.pop(0) if self.queue else None

    def record(self, name: str, scores: dict[int, float]) -> None:
        """A trial of ``name`` reported its objective on these seeds."""
        entrant = self.entrants[name]
        entrant.scores.update({int(seed): float(value) for seed, value in scores.items()})
        if entrant.complete:
            self._decide(entrant)

    def record_failure(self, name: str) -> None:
        """A trial of ``name`` ended without a result: it leaves the race (its seeds would never pair)."""
        entrant = self.entrants.get(name)
        if entrant is None or entrant.dropped:
            return
        entrant.dropped = True
        self.queue = [(queued, seeds) for queued, seeds in self.queue if queued != name]
        if name == self.incumbent:
            self.incumbent = self._best_contender()
            if self.incumbent is not None:
                self.entrants[self.incumbent].settled = False
            self._waiting_challengers()

    def finish(self) -> None:
        """The search proposes no more: no challenger earns seeds; the finalists are topped up to ``answer_seeds``."""
        if self.finishing:
            return
        self.finishing = True
        self.final = [entrant.name for entrant in self._finalists()]
        self.queue = [(name, seeds) for name, seeds in self.queue if self.entrants[name].baseline or name in self.final]
        for name in self.final:
            self.entrants[name].settled = False
            self._top_up(name)
        self._waiting_challengers()  # finalists that had their seeds already race now

    @property
    def answer(self) -> str | None:
        return self.incumbent

    def busy(self) -> bool:
        """Seeds are queued or still training for an architecture that is racing."""
        return bool(self.queue) or any(
            not entrant.complete for entrant in self.entrants.values() if not entrant.dropped
        )

    def seeds_to_finish(self) -> int:
        """Seed trainings the finalists, as they stand, still need to reach ``answer_seeds``, and,
        with ``pair_baselines``, the baselines' pairs on those seeds: the finalists are topped up
        to the same first ``answer_seeds`` seeds, so a baseline trains each of them once however
        many finalists share it."""
        finalists = [self.entrants[name] for name in self.final] if self.finishing else self._finalists()
        missing = sum(max(0, self.answer_seeds - len(entrant.requested)) for entrant in finalists)
        if not missing or not self.pair_baselines:
            return missing
        shared = set(self.seeds[: self.answer_seeds])
        baselines = [entrant for entrant in self.entrants.values() if entrant.baseline and not entrant.dropped]
        return missing + sum(len(shared - set(baseline.requested)) for baseline in baselines)

    def pooled(self, name: str) -> float | None:
        """``name``'s aggregate objective over every seed it has run (None: none yet)."""
        entrant = self.entrants.get(name)
        return self._aggregate(list(entrant.scores.values())) if entrant and entrant.scores else None

    # -- decisions ----------------------------------------------------------------------------------

    def _decide(self, entrant: Entrant) -> None:
        if entrant.baseline or entrant.dropped:
            return
        if self.incumbent is None:
            self.incumbent = entrant.name
            self._end_round()
        elif entrant.name == self.incumbent:
            self._waiting_challengers()
        else:
            self._challenge(entrant)

    @property
    def _incumbent_entrant(self) -> Entrant:
        """The incumbent, which the race's first result named."""
        if self.incumbent is None:
            raise RuntimeError("the race has no incumbent before its first result")
        return self.entrants[self.incumbent]

    def _challenge(self, challenger: Entrant) -> None:
        incumbent = self._incumbent_entrant
        missing = [seed for seed in challenger.requested if seed not in incumbent.requested]
        if missing:  # an incumbent that took over with fewer seeds: it runs the challenger's first
            self._give(incumbent, missing)
        if not all(seed in incumbent.scores for seed in challenger.requested):
            return  # decided once the incumbent's results on these seeds arrive
        shared = challenger.requested
        differences = [challenger.scores[seed] - incumbent.scores[seed] for seed in shared]
        if self._shown_worse(
            differences, [challenger.scores[s] for s in shared], [incumbent.scores[s] for s in shared]
        ):
            challenger.dropped = True
            self._end_round()
        elif len(challenger.requested) < len(incumbent.requested) and not self.finishing:
            count = min(2 * len(challenger.requested), len(incumbent.requested))
            self._give(challenger, incumbent.requested[len(challenger.requested) : count])
        elif len(challenger.requested) >= len(incumbent.requested) or challenger.name in self.final:
            if self._aggregate([challenger.scores[s] for s in shared]) > self._aggregate(
                [incumbent.scores[s] for s in shared]
            ):
                incumbent.settled, self.incumbent = True, challenger.name
            else:
                challenger.settled = True
            self._end_round()

    def _shown_worse(self, differences: list[float], challenger: list[float], incumbent: list[float]) -> bool:
        if self.rule == "t_test":
            seed_sd, degrees = pooled_seed_sd([list(entrant.scores.values()) for entrant in self.entrants.values()])
            return shown_worse(differences, self.confidence, seed_sd, degrees)
        return self._aggregate(challenger) < self._aggregate(incumbent)

    def _waiting_challengers(self) -> None:
        """Decide the challengers whose seeds are in and were waiting on the incumbent's."""
        for entrant in list(self.entrants.values()):
            if (
                entrant.name != self.incumbent
                and not entrant.baseline
                and not entrant.dropped
                and not entrant.settled
                and entrant.complete
                and self.incumbent is not None
            ):
                self._challenge(entrant)

    def _end_round(self) -> None:
        """A challenger's race ended: the incumbent gains a seed (or, finishing, its top-up)."""
        if self.finishing:
            if self.incumbent is not None and self.incumbent not in self.final:
                self.final.append(self.incumbent)  # a late challenger took over: it is a finalist too
            if self.incumbent is not None:
                self._top_up(self.incumbent)
            return
        incumbent = self._incumbent_entrant
        if incumbent.complete and len(incumbent.requested) < self.max_seeds:
            self._give(incumbent, [self.seeds[len(incumbent.requested)]])

    def _top_up(self, name: str) -> None:
        """``name`` gets the search seeds it lacks up to ``answer_seeds``."""
        entrant = self.entrants[name]
        self._give(entrant, self.seeds[len(entrant.requested) : self.answer_seeds])

    def _give(self, entrant: Entrant, seeds: list[int]) -> None:
        seeds = [seed for seed in seeds if seed not in entrant.requested]
        if not seeds:
            return
        entrant.requested.extend(seeds)
        self.queue.append((entrant.name, seeds))
        self._pair_baselines(entrant.requested)

    def _pair_baselines(self, seeds: list[int]) -> None:
        if not self.pair_baselines:
            return
        for baseline in self.entrants.values():
            if baseline.baseline and not baseline.dropped:
                missing = [seed for seed in seeds if seed not in baseline.requested]
                if missing:
                    baseline.requested.extend(missing)
                    self.queue.append((baseline.name, missing))

    def _contenders(self) -> list[Entrant]:
        """The architectures still in the race with a result: not baselines, not dropped."""
        return [
            entrant
            for entrant in self.entrants.values()
            if not entrant.baseline and not entrant.dropped and entrant.scores
        ]

    def _finalists(self) -> list[Entrant]:
        """The incumbent, then the best other contenders by their aggregate on the seeds they have run."""
        if self.incumbent is None:
            return []
        others = sorted(
            (entrant for entrant in self._contenders() if entrant.name != self.incumbent),
            key=lambda entrant: -self._aggregate(list(entrant.scores.values())),
        )
        return [self.entrants[self.incumbent], *others[: self.finalists - 1]]

    def _best_contender(self) -> str | None:
        """After the incumbent fails: the contender with the most seeds in, best aggregate among them."""
        contenders = self._contenders()
        if not contenders:
            return None
        most = max(len(entrant.scores) for entrant in contenders)
        return max(
            (entrant for entrant in contenders if len(entrant.scores) == most),
            key=lambda entrant: self._aggregate(list(entrant.scores.values())),
        ).name

    def _aggregate(self, values: list[float]) -> float:
        return aggregate(values, self.aggregate_name, self.quantile)

    # -- state --------------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        return {
            "entrants": [dataclasses.asdict(entrant) for entrant in self.entrants.values()],
            "incumbent": self.incumbent,
            "queue": [[name, list(seeds)] for name, seeds in self.queue],
            "finishing": self.finishing,
            "final": list(self.final),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.entrants = {}
        for data in state["entrants"]:
            entrant = Entrant(**{**data, "scores": {int(seed): value for seed, value in data["scores"].items()}})
            self.entrants[entrant.name] = entrant
        self.incumbent = state["incumbent"]
        self.queue = [(name, list(seeds)) for name, seeds in state["queue"]]
        self.finishing = state["finishing"]
        self.final = list(state.get("final", []))

    def summary(self) -> dict[str, Any]:
        """Plain JSON for the report: the answer, and each architecture's seeds and standing."""
        return {
            "answer": self.incumbent,
            "answer_seeds": self.answer_seeds,
            "finalists": list(self.final),
            "max_seeds": self.max_seeds,
            "rule": self.rule,
            "confidence": self.confidence,
            "aggregate": self.aggregate_name,
            "architectures": {
                entrant.name: {
                    "seeds": sorted(entrant.scores),
                    "dropped": entrant.dropped,
                    "baseline": entrant.baseline,
                }
                for entrant in self.entrants.values()
            },
        }
