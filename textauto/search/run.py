"""The study: sampler, pruner, storage, budget and failure policy, returning a ``SearchResult``."""

from __future__ import annotations

import logging
import math
import statistics
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState
from sklearn.base import clone

from textauto.components import BuildContext
from textauto.config import RunConfig
from textauto.cost.budget import (
    AFFORD_SLACK,
    Clock,
    CostModel,
    classifier_megabytes,
)
from textauto.cost.memory import FeatureSizer
from textauto.cost.reserve import ENSEMBLE_RESERVE_FRACTION, RefitReserve
from textauto.exceptions import SearchError
from textauto.inference import class_scores
from textauto.search.feature_cache import FeatureCache, Featurized
from textauto.search.oof import OOFStore
from textauto.search.study import (
    METRIC_ATTR,
    Heartbeat,
    check_metric,
    create_study,
    fail_interrupted_trials,
    failure_notes,
    shown_url,
)
from textauto.search.swaps import SwapClassifiers
from textauto.search.workers import limit_memory, resolve_n_jobs, supervise, worker_id
from textauto.space.build import build_pipeline, featurizer_key, portfolio_for
from textauto.space.config import SpaceConfig
from textauto.timeout import TrialTimeout, time_limit
from textauto.validation.metrics import METRICS, Metric
from textauto.validation.splits import ValidationPlan

TrialCallback = Callable[[optuna.Study, FrozenTrial], None]

TIMED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
WORKER_POLL = 0.25  # seconds between a waiting worker's looks at the study
# A worker may allocate its feature cache and this many times search.memory_mb beyond what it
# holds when it starts: memory_mb prices a trial's features, not its transient copies.
MEMORY_CAP_FACTOR = 2
# A portfolio or swap trial below the median still completes while its remaining folds take
# at most this share of the budget (the ensemble needs members of several kinds).
DIVERSITY_FRACTION = 0.05


@dataclass
class SearchResult:
    study: optuna.Study
    metric: str
    validation: str
    train_fraction: float
    best_trial: FrozenTrial

    @property
    def counts(self) -> dict[str, int]:
        states = Counter(t.state.name.lower() for t in self.study.trials)
        return {s: states.get(s, 0) for s in ("complete", "pruned", "fail", "running", "waiting")}


class Objective:
    """Score one sampled pipeline on the validation splits; the data is held once here."""

    def __init__(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        plan: ValidationPlan,
        metric: Metric,
        space: SpaceConfig,
        ctx: BuildContext,
        clock: Clock,
        reserve: Callable[[], float],
        max_trial_seconds: float,
        oof: OOFStore | None = None,
        cache: FeatureCache | None = None,
        memory_mb: float = float("inf"),
        sizer: FeatureSizer | None = None,
        workers: int = 1,
        diversity_seconds: float = 0.0,
    ) -> None:
        self.texts = np.asarray(texts, dtype=object)
        self.labels = np.asarray(labels, dtype=object)
        self.plan = plan
        self.metric = metric
        self.space = space
        self.ctx = ctx
        self.clock = clock
        self.reserve = reserve
        self.max_trial_seconds = max_trial_seconds
        self.diversity_seconds = diversity_seconds  # see _completes_for_diversity
        self.workers = workers  # trial processes on this machine, timing side by side
        self.costs = CostModel(plan.train_fraction, len(plan.splits), workers)
        self.oof = oof
        self.cache = cache if cache is not None else FeatureCache(0)
        self.classes = np.unique(self.labels)
        self.memory_mb = memory_mb
        if sizer is None:
            sizer = FeatureSizer(self.texts, plan.train_fraction, seed=ctx.seed)
        self.sizer = sizer

    def __call__(self, trial: optuna.Trial) -> float:
        try:
            trial.set_user_attr("worker", worker_id())
            if "limit_at" in trial.user_attrs:  # a retried trial's, set by its dead worker
                trial.set_user_attr("limit_at", None)
            trial.set_user_attr("workers", self.workers)
            pipeline = build_pipeline(trial, self.space, self.ctx)
            self._skip_if_unaffordable(trial, pipeline)
            try:
                return self._validate(trial, pipeline)
            finally:
                self.costs.record(trial.params, trial.user_attrs)
        except optuna.TrialPruned:
            raise
        except MemoryError:
            cap = f"search.memory_mb = {self.memory_mb}"
            trial.set_user_attr("error", f"MemoryError: out of memory ({cap} caps each worker)")
            raise
        except Exception as exc:
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}"[:500])
            raise

    def _skip_if_unaffordable(self, trial: optuna.Trial, pipeline: Any) -> None:
        """Skip a configuration expected to take longer than the time left, refit included, or
        whose features could outgrow ``search.memory_mb``."""
        megabytes = self.sizer.megabytes(pipeline.named_steps["features"], trial.params)
        if megabytes > self.memory_mb:
            trial.set_user_attr(
                "stopped",
                f"skipped: its features could take {megabytes:.0f} MB (search.memory_mb = {self.memory_mb})",
            )
            raise optuna.TrialPruned()
        self.costs.sync(trial.study.get_trials(deepcopy=False, states=TIMED))
        featurized = (featurizer_key(trial.params), 0) in self.cache
        expected = self.costs.expected(trial.params, featurized=featurized)
        if expected is None:
            return
        seconds, refit = expected
        left = self.clock.left()
        if seconds + max(refit, self.reserve()) > left or seconds > self.max_trial_seconds:
            trial.set_user_attr("stopped", f"skipped: expected to take {seconds:.1f}s; {left:.1f}s left")
            raise optuna.TrialPruned()

    def _completes_for_diversity(self, trial: optuna.Trial, rest: float) -> bool:
        """Whether a trial below the median runs its remaining folds anyway: a portfolio entry or
        a classifier swap, whose out-of-fold scores give the ensemble a member of another kind,
        while those folds take at most ``diversity_seconds``.

        Pruned, they leave none: on trec6 at 452d56b every trial but six word+char SVMs and
        five portfolio entries was pruned, and no second kind of member was left to combine.
        """
        queued = "portfolio" in trial.user_attrs or "swap_of" in trial.user_attrs
        return queued and rest <= self.diversity_seconds

    def _skip_if_too_large(self, trial: optuna.Trial, n_features: int) -> None:
        """Skip a classifier whose coefficient-sized arrays could outgrow ``search.memory_mb``
        (known once the first fold is featurized)."""
        megabytes = classifier_megabytes(trial.params, n_features, len(self.classes))
        if megabytes > self.memory_mb:
            trial.set_user_attr(
                "stopped",
                f"skipped: its classifier could take {megabytes:.0f} MB on {n_features} features "
                f"(search.memory_mb = {self.memory_mb})",
            )
            raise optuna.TrialPruned()

    def _validate(self, trial: optuna.Trial, pipeline: Any) -> float:
        """Fit the featurizer and the classifier separately, to time each (the refit estimate)."""
        features, classifier = pipeline.named_steps["features"], pipeline.named_steps["clf"]
        scores: list[float] = []
        fold_class_scores: list[np.ndarray] = []
        feature_times: list[float] = []
        classifier_times: list[float] = []
        started = time.monotonic()
        # No trial may run into the refit's time, nor past its share of the budget (except the
        # first: on data too large for any trial, a model validated on one fold beats none).
        limit = self.clock.left() - self.reserve()
        if self.costs.cheapest() is not None:
            limit = min(limit, self.max_trial_seconds)
        if math.isfinite(limit):
            # for the supervisor, which stops a worker stuck past it (in a C call the alarm
            # cannot interrupt), and for the cost model, which learns from the stopped trial
            trial.set_user_attr("limit", max(limit, 0.0))
            trial.set_user_attr("limit_at", started + limit)
        n_folds = len(self.plan.splits)
        key = featurizer_key(trial.params)
        reused = 0
        for step, (train, val) in enumerate(self.plan.splits):
            t0 = t1 = time.monotonic()
            featurized = None
            try:
                with warnings.catch_warnings(), time_limit(started + limit - t0):
                    warnings.simplefilter("ignore")
                    featurized = self.cache.get((key, step))
                    if featurized is None:
                        featurizer = clone(features)
                        X_train = featurizer.fit_transform(self.texts[train])
                        X_val = featurizer.transform(self.texts[val])
                        featurized = Featurized(X_train, X_val, time.monotonic() - t0)
                        self.cache.put((key, step), featurized)
                    else:
                        reused += 1
                    if step == 0:  # what a stopped trial is known to have cost so far
                        trial.set_user_attr("feature_seconds", featurized.seconds)
                    self._skip_if_too_large(trial, featurized.X_train.shape[1])
                    t1 = time.monotonic()
                    model = clone(classifier).fit(featurized.X_train, self.labels[train])
                    t2 = time.monotonic()
                    scores.append(self.metric(model, featurized.X_val, self.labels[val]))
                    if self.oof is not None:
                        fold_class_scores.append(class_scores(model, featurized.X_val, self.classes))
            except TrialTimeout as stop:
                # What it took so far, or was projected to take, is a lower bound on its cost:
                # the cost model learns it.
                now = time.monotonic()
                in_features = featurized is None
                trial.set_user_attr("feature_seconds", now - t0 if in_features else featurized.seconds)
                spent = 0.0 if in_features else now - t1
                trial.set_user_attr("classifier_seconds", spent + stop.remaining)
                note = f"stopped: over its time limit of {max(limit, 0):.1f}s"
                if stop.remaining:
                    note = (
                        f"stopped after {now - started:.1f}s: at its pace, its classifier would "
                        f"have run past its time limit of {max(limit, 0):.1f}s"
                    )
                trial.set_user_attr("stopped", note)
                raise optuna.TrialPruned() from None
            feature_times.append(featurized.seconds)
            classifier_times.append(t2 - t1)
            trial.set_user_attr("reused_folds", reused)
            trial.set_user_attr("feature_seconds", statistics.fmean(feature_times))
            trial.set_user_attr("classifier_seconds", statistics.fmean(classifier_times))
            trial.report(statistics.fmean(scores), step)
            per_fold = (time.monotonic() - started) / (step + 1)
            rest = per_fold * (n_folds - step - 1)
            # Past the last fold there is nothing left to save: a trial that ran every fold is
            # kept (on holdout data, pruning it after its only fold discarded finished work and
            # left the median to the survivors, which it then ratcheted up).
            last = step == n_folds - 1
            if not last and trial.should_prune() and not self._completes_for_diversity(trial, rest):
                trial.set_user_attr("stopped", "pruned: below the median of earlier trials")
                raise optuna.TrialPruned()
            if rest and (
                rest > self.clock.left() - self.reserve() or rest + per_fold > self.max_trial_seconds
            ):
                trial.set_user_attr("stopped", "pruned: would not finish within the budget")
                raise optuna.TrialPruned()
        trial.set_user_attr("fold_scores", scores)
        if self.oof is not None:
            # rows in the order of ValidationPlan.oof_rows, for ensemble selection
            self.oof.save(trial.number, np.concatenate(fold_class_scores))
        return statistics.fmean(scores)


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
    user_attrs: dict[str, Any] | None = None,
    oof: OOFStore | None = None,
    predict_share: float = 0.0,
) -> SearchResult:
    """Run the Optuna study until ``n_trials`` or the clock (less the refit reserve) runs out.

    With ``oof``, every completed trial leaves its out-of-fold scores there for ensembling.
    ``predict_share``: the caller predicts this many times the training rows after the refit
    (a test set), within the budget; featurizing them is held back too.
    """
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    logging.getLogger("optuna").setLevel(logging.ERROR)
    s = config.search
    metric = METRICS[s.metric]
    heartbeat = Heartbeat(s.heartbeat_seconds, s.stale_seconds, s.trial_retries)
    study, created = create_study(storage, s.study_name, metric.direction, s.seed, s.pruning, heartbeat)
    if not created:
        check_metric(study, s.metric, metric.direction, shown_url(storage or "memory"))
    if resume:
        fail_interrupted_trials(study)
    if created:
        for key, value in {**(user_attrs or {}), METRIC_ATTR: s.metric}.items():
            study.set_user_attr(key, value)
        if s.warm_start:
            for params in portfolio_for(config.space, ctx):
                study.enqueue_trial(params, user_attrs={"portfolio": True})

    # An in-memory study cannot be shared between processes: its trials run in this one.
    n_jobs = resolve_n_jobs(s.n_jobs)
    total = None if clock.deadline is None else clock.left()
    max_trial = total * s.max_trial_fraction if total is not None else float("inf")
    diversity = total * DIVERSITY_FRACTION if total is not None else float("inf")
    # once, before the workers fork
    sizer = FeatureSizer(texts, plan.train_fraction, seed=ctx.seed)

    held_back = RefitReserve(
        metric, plan.train_fraction, predict_share, calibrated=oof is None, n_jobs=n_jobs,
        ensemble_cap=None if oof is None or s.ensemble_size < 2 or total is None
        else ENSEMBLE_RESERVE_FRACTION * total,
        slack=0.0 if total is None else AFFORD_SLACK * (clock.deadline - clock.started),
    )  # fmt: skip

    def reserve(study: optuna.Study) -> float:
        return held_back(study, clock.left())

    def search(study: optuna.Study, callbacks: Sequence[TrialCallback]) -> None:
        cache = FeatureCache(s.cache_mb * 2**20)
        objective = Objective(
            texts, labels, plan, metric, config.space, ctx, clock, lambda: reserve(study), max_trial,
            oof=oof, cache=cache, memory_mb=s.memory_mb, sizer=sizer,
            workers=1 if storage is None else n_jobs, diversity_seconds=diversity,
        )  # fmt: skip

        def stop_when_out_of_time(study: optuna.Study, trial: FrozenTrial) -> None:
            cheapest = objective.costs.cheapest() or 0.0
            if clock.left() <= reserve(study) + cheapest:
                study.stop()

        # n_trials counts the study's finished trials, so workers sharing a study stop together.
        finished = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
        done = len(study.get_trials(deepcopy=False, states=finished))
        n_trials = None if s.n_trials is None else max(s.n_trials - done, 0)
        stops = [stop_when_out_of_time]
        if s.n_trials is not None:
            stops.append(optuna.study.MaxTrialsCallback(s.n_trials, states=finished))
        if n_trials != 0 and clock.left() > 0:
            study.optimize(
                objective,
                n_trials=n_trials,
                timeout=None if clock.deadline is None else max(clock.left(), 0.0),
                catch=(Exception,),
                callbacks=[*stops, *callbacks],
            )

    def worker(index: int) -> None:
        # A trial that allocates past this fails with a MemoryError (or its worker dies, and
        # is replaced); either way the search goes on.
        limit_memory((s.cache_mb + MEMORY_CAP_FACTOR * s.memory_mb) * 2**20)
        # A fresh study object (and database connection) per process, its own sampler seed.
        mine, _ = create_study(storage, s.study_name, metric.direction, s.seed + index, s.pruning, heartbeat)
        # Workers after the first start once a trial has been timed: with no costs known, a
        # worker could pick a trial far too slow for the data (the cost model learns from every
        # worker's trials).
        while index > 0 and clock.left() > 0 and not _any_timed(mine):
            time.sleep(WORKER_POLL)
        search(mine, ())

    swaps = [SwapClassifiers(config.space, metric)] if s.warm_start else []
    if storage is None:
        search(study, [*swaps, *callbacks])
    else:
        # Trials run only in workers, which the supervisor can stop; it runs the callbacks.
        def until_refit() -> float:
            return clock.left() - reserve(study)

        # Workers get until the refit must start; a trial still running then is stopped.
        supervise(study, n_jobs, worker, [*swaps, *callbacks], until_refit)
    best = _best_or_none(study) or _best_partial(study, metric)
    if best is None:
        notes = failure_notes(study)
        failed = [t for t in study.trials if t.state == TrialState.FAIL]
        errors = [t.user_attrs.get("error") or notes.get(t.number) for t in failed]
        first = next((e for e in errors if e), "no trial finished within the budget")
        ran = [t for t in study.trials if t.state != TrialState.WAITING]  # not queued ones
        raise SearchError(f"no trial completed ({len(ran)} run, {len(errors)} failed); first error: {first}")
    return SearchResult(study, s.metric, plan.description, plan.train_fraction, best)


def _any_timed(study: optuna.Study) -> bool:
    """Whether a fold of some trial has been timed (finished, or reported its first fold)."""
    return any(
        t.state in TIMED or "classifier_seconds" in t.user_attrs for t in study.get_trials(deepcopy=False)
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
    best.set_user_attr("partial", True)
    return best


def _best_or_none(study: optuna.Study) -> FrozenTrial | None:
    try:
        return study.best_trial
    except ValueError:
        return None
