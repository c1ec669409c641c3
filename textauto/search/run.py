"""The study: sampler, pruner, storage, budget and failure policy, returning a ``SearchResult``."""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import optuna
from optuna.trial import FrozenTrial, TrialState

from textauto.components import BuildContext
from textauto.config import RunConfig, SearchConfig
from textauto.cost.clock import Clock
from textauto.cost.memory import FeatureSizer
from textauto.cost.model import CostModel
from textauto.cost.refit import AFFORD_SLACK
from textauto.exceptions import SearchError
from textauto.search.feature_cache import FeatureCache
from textauto.search.objective import TIMED, Limits, Objective
from textauto.search.oof import OOFStore
from textauto.search.ranking import settle_leads, top_trials
from textauto.search.records import (
    Origin,
    StudyRecord,
    TrialRecord,
    known_timings,
    record_study,
    record_trial,
)
from textauto.search.reserve import ENSEMBLE_RESERVE_FRACTION, RefitReserve
from textauto.search.study import (
    Heartbeat,
    check_metric,
    create_study,
    fail_interrupted_trials,
    failure_notes,
    shown_url,
)
from textauto.search.swaps import SwapClassifiers
from textauto.search.workers import limit_memory, resolve_n_jobs, supervise
from textauto.space.build import portfolio_for
from textauto.validation.metrics import METRICS, Metric
from textauto.validation.splits import PlanSummary, ValidationPlan

TrialCallback = Callable[[optuna.Study, FrozenTrial], None]

WORKER_POLL = 0.25  # seconds between a waiting worker's looks at the study
# A worker may allocate its feature cache and this many times search.memory_mb beyond what it
# holds when it starts: memory_mb prices a trial's features, not its transient copies.
MEMORY_CAP_FACTOR = 2
# A portfolio or swap trial below the median still completes while its remaining folds take
# at most this share of the budget (the ensemble needs members of several kinds).
DIVERSITY_FRACTION = 0.05
# The search goes on once the refit is priced when that leaves more than this share of the
# budget (and more than the cheapest trial) to search in; at most MAX_EXTENSIONS times.
EXTEND_FRACTION = 0.05
MAX_EXTENSIONS = 2
# Held back on the refit's price from then on: ensembles' refits took up to 1.3 times it (sst2's
# eight members' classifiers 29.5 s, priced at 22.6 s), where the reserve's cap had covered them.
EXTEND_MARGIN = 1.2


@dataclass(frozen=True)
class Extension:
    """The search went on once the refit was priced (``Session.extend``)."""

    at: float  # seconds into the search and refit
    held_back: float  # seconds held back for the refit from then on


@dataclass
class SearchResult:
    study: optuna.Study
    metric: str
    validation: PlanSummary
    train_fraction: float
    best_trial: FrozenTrial
    extensions: tuple[Extension, ...] = ()  # each time the search went on once the refit was priced

    @property
    def counts(self) -> dict[str, int]:
        states = Counter(t.state.name.lower() for t in self.study.trials)
        return {s: states.get(s, 0) for s in ("complete", "pruned", "fail", "running", "waiting")}


def run_search(
    texts: Sequence[str],
    labels: Sequence[str],
    config: RunConfig,
    plan: ValidationPlan,
    ctx: BuildContext,
    clock: Clock,
    *,
    storage: str | None = None,
    resume: bool = False,
    callbacks: Sequence[TrialCallback] = (),
    data_fingerprint: str | None = None,
    oof: OOFStore | None = None,
    predict_share: float = 0.0,
    refit_seconds: Callable[[SearchResult], float] | None = None,
) -> SearchResult:
    """Run the Optuna study until ``n_trials`` or the clock (less the refit reserve) runs out.

    With ``oof``, every completed trial leaves its out-of-fold scores there for ensembling.
    ``predict_share``: the caller predicts this many times the training rows after the refit
    (a test set), within the budget; featurizing them is held back too. ``refit_seconds``: what
    the refit of the result would take, choosing included; when the search held back much more
    than that, it goes on with that much held back (``Session.extend``).
    """
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    logging.getLogger("optuna").setLevel(logging.ERROR)
    s = config.search
    study = open_study(config, ctx, storage, resume, data_fingerprint, plan.scheme)
    session = Session(
        texts, labels, config, plan, ctx, clock, storage=storage, oof=oof, predict_share=predict_share
    )
    swaps = [SwapClassifiers(config.space, session.metric)] if s.warm_start else []
    session.run(study, [*swaps, *callbacks])
    best = best_trial(study, session.metric)
    result = SearchResult(study, s.metric, plan.summary, plan.train_fraction, best)
    for _ in range(MAX_EXTENSIONS):
        extension = None if refit_seconds is None else session.extend(study, refit_seconds(result))
        if extension is None:
            break
        session.run(study, [*swaps, *callbacks])
        best = best_trial(study, session.metric)
        result = replace(result, best_trial=best, extensions=(*result.extensions, extension))
    return result


def _heartbeat(s: SearchConfig) -> Heartbeat:
    return Heartbeat(s.heartbeat_seconds, s.stale_seconds, s.trial_retries)


def open_study(
    config: RunConfig,
    ctx: BuildContext,
    storage: str | None,
    resume: bool,
    data_fingerprint: str | None,
    validation: tuple[str, int, int] | None = None,
) -> optuna.Study:
    """The run's study: created with its metric, fingerprint, validation scheme and portfolio
    queued, or joined (refused when it optimizes another metric); on ``resume``, its
    interrupted trials failed."""
    s = config.search
    direction = METRICS[s.metric].direction
    study, created = create_study(storage, s.study_name, direction, s.seed, s.pruning, _heartbeat(s))
    if not created:
        check_metric(study, s.metric, direction, shown_url(storage or "memory"))
    if resume:
        fail_interrupted_trials(study)
    if created:
        record = StudyRecord(metric=s.metric, data_fingerprint=data_fingerprint, validation=validation)
        record_study(study, record)
        if s.warm_start:
            queued = TrialRecord(origin=Origin.PORTFOLIO).to_user_attrs()
            for params in portfolio_for(config.space, ctx):
                study.enqueue_trial(params, user_attrs=queued)
    return study


class Session:
    """This machine's part of a search: the objective's limits, its workers, when to stop."""

    def __init__(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        config: RunConfig,
        plan: ValidationPlan,
        ctx: BuildContext,
        clock: Clock,
        *,
        storage: str | None,
        oof: OOFStore | None,
        predict_share: float,
    ) -> None:
        s = config.search
        self.texts, self.labels, self.config, self.plan, self.ctx = texts, labels, config, plan, ctx
        self.clock, self.storage, self.oof = clock, storage, oof
        self.metric = METRICS[s.metric]
        # An in-memory study cannot be shared between processes: its trials run in this one.
        self.n_jobs = resolve_n_jobs(s.n_jobs)
        total = math.inf if clock.deadline is None else clock.left()
        self.max_trial = total * s.max_trial_fraction
        self.diversity = total * DIVERSITY_FRACTION
        self.sizer = FeatureSizer(texts, plan.train_fraction, seed=ctx.seed)  # once, before workers fork
        self.held_back = RefitReserve(
            self.metric, plan.train_fraction, predict_share, calibrated=oof is None, n_jobs=self.n_jobs,
            ensemble_cap=None if oof is None or s.ensemble_size < 2 or clock.deadline is None
            else ENSEMBLE_RESERVE_FRACTION * total,
            slack=0.0 if clock.deadline is None else AFFORD_SLACK * (clock.deadline - clock.started),
        )  # fmt: skip
        self.next_worker = 0  # the index of the next worker process to start
        self._objective: tuple[optuna.Study, Objective] | None = None

    def reserve(self, study: optuna.Study) -> float:
        return self.held_back(study, self.clock.left())

    def extend(self, study: optuna.Study, refit_seconds: float) -> Extension | None:
        """Hold back ``refit_seconds`` (what the refit of the current trials is priced at, with
        ``EXTEND_MARGIN``) in place of the ensemble reserve's estimate, when that leaves time to
        search on; None when it does not.

        The reserve prices the leaders of each kind within a share of the budget; the refit may
        choose fewer or cheaper members, and the difference would go unused.
        """
        s, clock = self.config.search, self.clock
        if clock.deadline is None or self.held_back.ensemble_cap is None:
            return None
        if s.n_trials is not None and len(study.get_trials(deepcopy=False, states=TIMED)) >= s.n_trials:
            return None
        held_back = replace(self.held_back, chosen=refit_seconds * EXTEND_MARGIN)
        held = held_back(study, clock.left())
        budget = clock.deadline - clock.started
        if clock.left() - held <= max(EXTEND_FRACTION * budget, self.cheapest(study)):
            return None
        self.held_back = held_back
        return Extension(round(clock.elapsed(), 2), round(held, 2))

    def cheapest(self, study: optuna.Study) -> float:
        """The cheapest trial's seconds, as far as the study's timings tell."""
        costs = CostModel(self.plan.train_fraction, len(self.plan.splits), self.trial_workers)
        costs.sync(
            (t.number, t.params, known_timings(t)) for t in study.get_trials(deepcopy=False, states=TIMED)
        )
        return costs.cheapest() or 0.0

    def run(self, study: optuna.Study, callbacks: Sequence[TrialCallback]) -> None:
        if self.storage is None:
            self.search(study, callbacks)
            return

        # Trials run only in workers, which the supervisor can stop; it runs the callbacks.
        # Workers get until the refit must start; a trial still running then is stopped.
        # A later run's workers take new indices: their samplers do not retrace the first ones'.
        def until_refit() -> float:
            return self.clock.left() - self.reserve(study)

        self.next_worker = supervise(
            study, self.n_jobs, self.worker, callbacks, until_refit, self.next_worker
        )

    @property
    def trial_workers(self) -> int:
        """Trial processes on this machine, timing side by side."""
        return 1 if self.storage is None else self.n_jobs

    def objective(self, study: optuna.Study) -> Objective:
        """This process's objective on ``study``: one per study, so a search that goes on keeps
        its feature cache."""
        if self._objective is not None and self._objective[0] is study:
            return self._objective[1]
        s = self.config.search
        limits = Limits(self.clock, lambda: self.reserve(study), self.max_trial, self.diversity, s.memory_mb)
        objective = Objective(
            self.texts, self.labels, self.plan, self.metric, self.config.space, self.ctx, limits,
            oof=self.oof, cache=FeatureCache(s.cache_mb * 2**20), sizer=self.sizer,
            workers=self.trial_workers,
        )  # fmt: skip
        self._objective = (study, objective)
        return objective

    def search(self, study: optuna.Study, callbacks: Sequence[TrialCallback]) -> None:
        """Run trials in this process until the clock, less the refit's time, or ``n_trials``
        (counting the study's finished trials, so that workers sharing it stop together)."""
        s = self.config.search
        objective = self.objective(study)

        def stop_when_out_of_time(study: optuna.Study, trial: FrozenTrial) -> None:
            if self.clock.left() <= self.reserve(study) + (objective.costs.cheapest() or 0.0):
                study.stop()

        done = len(study.get_trials(deepcopy=False, states=TIMED))
        n_trials = None if s.n_trials is None else max(s.n_trials - done, 0)
        stops: list[TrialCallback] = [stop_when_out_of_time]
        if s.n_trials is not None:
            stops.append(optuna.study.MaxTrialsCallback(s.n_trials, states=TIMED))
        if n_trials != 0 and self.clock.left() > 0:
            study.optimize(
                objective,
                n_trials=n_trials,
                timeout=None if self.clock.deadline is None else max(self.clock.left(), 0.0),
                catch=(Exception,),
                callbacks=[*stops, *callbacks],
            )

    def worker(self, index: int) -> None:
        """One worker process: its memory capped (a trial past the cap fails with a MemoryError,
        or its worker dies and is replaced; either way the search goes on), its own study
        object (and database connection) and sampler seed."""
        s = self.config.search
        limit_memory((s.cache_mb + MEMORY_CAP_FACTOR * s.memory_mb) * 2**20)
        direction = self.metric.direction
        mine, _ = create_study(
            self.storage, s.study_name, direction, s.seed + index, s.pruning, _heartbeat(s)
        )
        # Workers after the first start once a trial has been timed: with no costs known, a
        # worker could pick a trial far too slow for the data.
        while index > 0 and self.clock.left() > 0 and not _any_timed(mine):
            time.sleep(WORKER_POLL)
        self.search(mine, ())


def best_trial(study: optuna.Study, metric: Metric) -> FrozenTrial:
    """The leading completed trial (``ranked_trials``), else the best partly validated one;
    none is a ``SearchError`` naming the first failure."""
    leader = next(settle_leads(top_trials(study, metric), metric.direction), None)
    best = leader or _best_partial(study, metric)
    if best is not None:
        return best
    notes = failure_notes(study)
    failed = [t for t in study.trials if t.state == TrialState.FAIL]
    errors = [TrialRecord.from_trial(t).error or notes.get(t.number) for t in failed]
    first = next((e for e in errors if e), "no trial finished within the budget")
    ran = [t for t in study.trials if t.state != TrialState.WAITING]  # not queued ones
    raise SearchError(f"no trial completed ({len(ran)} run, {len(errors)} failed); first error: {first}")


def _any_timed(study: optuna.Study) -> bool:
    """Whether a fold of some trial has been timed (finished, or reported its first fold)."""
    return any(
        t.state in TIMED or TrialRecord.from_trial(t).timings is not None
        for t in study.get_trials(deepcopy=False)
    )


def _best_partial(study: optuna.Study, metric: Metric) -> FrozenTrial | None:
    """When no trial completed, the pruned trial with the best score on the folds it ran.

    Better a model validated on some folds than none when a budget is too tight for large data;
    its value is set to that partial score so reports show what it was chosen on.
    """
    partial = [t for t in study.get_trials(states=(TrialState.PRUNED,)) if t.intermediate_values]
    if not partial:
        return None
    sign = 1 if metric.direction == "maximize" else -1
    best = max(partial, key=lambda t: sign * t.intermediate_values[t.last_step])
    best.value = best.intermediate_values[best.last_step]
    record_trial(best, partial=True)
    return best
