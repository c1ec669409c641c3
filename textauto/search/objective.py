"""The objective: validate one sampled pipeline on the splits, within its time limit.

Each trial's featurizer and classifier are fit and timed apart, fold by fold: the cost model
learns from those timings, and a trial stopped at its limit still leaves what it cost. See
docs/design.md, "Pruning and diversity" and "The budget and the cost model".
"""

from __future__ import annotations

import math
import statistics
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
from optuna.trial import FixedTrial, TrialState
from sklearn.base import clone

from textauto.components import BuildContext
from textauto.cost.clock import Clock
from textauto.cost.memory import FeatureSizer, classifier_megabytes
from textauto.cost.model import CostModel
from textauto.cost.refit import Timings
from textauto.inference import class_scores
from textauto.search.feature_cache import FeatureCache, Featurized
from textauto.search.fidelity import MIN_SHARE, Fidelity
from textauto.search.oof import OOFStore
from textauto.search.records import TrialRecord, known_timings, record_trial
from textauto.search.workers import worker_id
from textauto.space.build import build_pipeline, featurizer_key
from textauto.space.config import SpaceConfig
from textauto.timeout import TrialTimeout, time_limit
from textauto.validation.metrics import Metric
from textauto.validation.splits import ValidationPlan

TIMED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


@dataclass
class Folds:
    """What the folds validated so far gave: scores, out-of-fold class scores, timings."""

    scores: list[float] = field(default_factory=list)
    class_scores: list[np.ndarray] = field(default_factory=list)
    feature_seconds: list[float] = field(default_factory=list)
    classifier_seconds: list[float] = field(default_factory=list)
    reused: int = 0  # folds whose features came from the cache


@dataclass(frozen=True)
class Window:
    """When a trial started validating, for how many seconds it may run, and on what share of
    each fold's training rows."""

    started: float
    limit: float
    fidelity: Fidelity

    @property
    def deadline(self) -> float:
        return self.started + self.limit


@dataclass(frozen=True)
class Limits:
    """How long trials may take: ``reserve()`` seconds are the refit's; ``max_trial_seconds``
    caps one trial (except the first); queued trials below the median still complete while
    their remaining folds take at most ``diversity_seconds``."""

    clock: Clock
    reserve: Callable[[], float]
    max_trial_seconds: float
    diversity_seconds: float = 0.0
    memory_mb: float = float("inf")

    def left(self) -> float:
        """Seconds a trial may still use: the time left less the refit's."""
        return self.clock.left() - self.reserve()


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
        limits: Limits,
        *,
        oof: OOFStore | None = None,
        cache: FeatureCache | None = None,
        sizer: FeatureSizer | None = None,
        workers: int = 1,
    ) -> None:
        self.texts = np.asarray(texts, dtype=object)
        self.labels = np.asarray(labels, dtype=object)
        self.plan = plan
        self.metric = metric
        self.space = space
        self.ctx = ctx
        self.limits = limits
        self.workers = workers  # trial processes on this machine, timing side by side
        self.costs = CostModel(plan.train_fraction, len(plan.splits), workers)
        self.oof = oof
        self.cache = cache if cache is not None else FeatureCache(0)
        self.classes = np.unique(self.labels)
        if sizer is None:
            sizer = FeatureSizer(self.texts, plan.train_fraction, seed=ctx.seed)
        self.sizer = sizer

    def __call__(self, trial: optuna.Trial) -> float:
        try:
            record_trial(trial, worker=worker_id(), workers=self.workers)
            retried = TrialRecord.from_trial(trial).limit_at is not None  # its dead worker's deadline
            if retried:  # its dead worker's facts: a deadline, perhaps a share of the rows
                record_trial(trial, limit_at=None, share=None)
            pipeline = build_pipeline(trial, self.space, self.ctx)
            fidelity = self._fidelity(trial, pipeline)
            try:
                return self._validate(trial, pipeline, fidelity)
            finally:
                self.costs.record(trial.params, TrialRecord.from_trial(trial).timings)
        except optuna.TrialPruned:
            raise
        except MemoryError:
            cap = f"search.memory_mb = {self.limits.memory_mb}"
            record_trial(trial, error=f"MemoryError: out of memory ({cap} caps each worker)")
            raise
        except Exception as exc:
            record_trial(trial, error=f"{type(exc).__name__}: {exc}"[:500])
            raise

    def replay(self, trial: FixedTrial, share: float = 1.0) -> float:
        """Validate a recorded trial (``FixedTrial(params, number)``) again as the search did, on
        ``share`` of each fold's training rows (its fidelity): its score, and its out-of-fold
        scores in ``oof``. No limits but ``self.limits``' apply."""
        pipeline = build_pipeline(trial, self.space, self.ctx)
        return self._validate(trial, pipeline, Fidelity(share, self.plan.train_fraction))

    def _skip(self, trial: optuna.Trial, why: str) -> None:
        record_trial(trial, stopped=why)
        raise optuna.TrialPruned()

    def _fidelity(self, trial: optuna.Trial, pipeline: Any) -> Fidelity:
        """All of each fold's training rows when the configuration fits in the time left, refit
        included; else the largest share of them that fits, if at least ``MIN_SHARE``; else
        skipped. Skipped too when its features could outgrow ``search.memory_mb``."""
        full = Fidelity(1.0, self.plan.train_fraction)
        megabytes = self.sizer.megabytes(pipeline.named_steps["features"], trial.params)
        if megabytes > self.limits.memory_mb:
            cap = f"search.memory_mb = {self.limits.memory_mb}"
            self._skip(trial, f"skipped: its features could take {megabytes:.0f} MB ({cap})")
        done = trial.study.get_trials(deepcopy=False, states=TIMED)
        self.costs.sync((t.number, t.params, known_timings(t)) for t in done)
        featurized = (featurizer_key(trial.params), 0) in self.cache
        expected = self.costs.expected(trial.params, featurized=featurized)
        if expected is None:
            return full
        seconds, refit = expected
        left = self.limits.clock.left()
        room = min(left - max(refit, self.limits.reserve()), self.limits.max_trial_seconds)
        if seconds <= room:
            return full
        share = math.floor(self.costs.affordable_share(trial.params, room) * 100) / 100
        if share < MIN_SHARE:
            self._skip(trial, f"skipped: expected to take {seconds:.1f}s; {left:.1f}s left")
        record_trial(trial, share=share)
        return Fidelity(share, self.plan.train_fraction)

    def _skip_if_too_large(self, trial: optuna.Trial, n_features: int) -> None:
        """Skip a classifier whose coefficient-sized arrays could outgrow ``search.memory_mb``
        (known once the first fold is featurized)."""
        megabytes = classifier_megabytes(trial.params, n_features, len(self.classes))
        if megabytes > self.limits.memory_mb:
            self._skip(
                trial,
                f"skipped: its classifier could take {megabytes:.0f} MB on {n_features} features "
                f"(search.memory_mb = {self.limits.memory_mb})",
            )

    def _trial_limit(self, trial: optuna.Trial, started: float) -> float:
        """Seconds this trial may run: never into the refit's time, nor past its share of the
        budget (except the first: on data too large for any trial, a model validated on one
        fold beats none)."""
        limit = self.limits.left()
        if self.costs.cheapest() is not None:
            limit = min(limit, self.limits.max_trial_seconds)
        if math.isfinite(limit):
            # for the supervisor, which stops a worker stuck in a C call past it, and for the
            # cost model, which learns from the stopped trial
            record_trial(trial, limit=max(limit, 0.0), limit_at=started + limit)
        return limit

    def _validate(self, trial: optuna.Trial, pipeline: Any, fidelity: Fidelity) -> float:
        """Fit the featurizer and the classifier of each fold apart, timing each (recorded as
        what the full fidelity would cost)."""
        started = time.monotonic()
        window = Window(started, self._trial_limit(trial, started), fidelity)
        folds = Folds()
        for step, (train, val) in enumerate(self.plan.splits):
            kept = fidelity.rows(train, self.labels, self.ctx.seed, step)
            self._fold(trial, pipeline, step, kept, val, folds, window)
            timed = fidelity.at_full(
                Timings(statistics.fmean(folds.feature_seconds), statistics.fmean(folds.classifier_seconds))
            )
            record_trial(
                trial,
                reused_folds=folds.reused,
                feature_seconds=timed.feature_seconds,
                classifier_seconds=timed.classifier_seconds,
            )
            if fidelity.full:  # a share's lower scores would pull the median down for the others
                trial.report(statistics.fmean(folds.scores), step)
            self._prune_if_behind(trial, step, window)
        record_trial(trial, fold_scores=folds.scores)
        if self.oof is not None:
            # rows in the order of ValidationPlan.scored_rows, for ensemble selection
            self.oof.save(trial.number, self.plan.per_row(np.concatenate(folds.class_scores)))
        return statistics.fmean(folds.scores)

    def _featurize(
        self, features: Any, key: str, step: int, train: np.ndarray, val: np.ndarray, full: bool
    ) -> Featurized:
        """The fold's features, fitted and transformed (and cached when fitted on all of the
        fold's training rows)."""
        t0 = time.monotonic()
        featurizer = clone(features)
        X_train = featurizer.fit_transform(self.texts[train])
        X_val = featurizer.transform(self.texts[val])
        featurized = Featurized(X_train, X_val, time.monotonic() - t0)
        if full:
            self.cache.put((key, step), featurized)
        return featurized

    def _fold(
        self,
        trial: optuna.Trial,
        pipeline: Any,
        step: int,
        train: np.ndarray,
        val: np.ndarray,
        folds: Folds,
        window: Window,
    ) -> None:
        """Validate one fold into ``folds``; a fold stopped at the deadline prunes the trial."""
        features, classifier = pipeline.named_steps["features"], pipeline.named_steps["clf"]
        key = featurizer_key(trial.params)
        t0 = t1 = time.monotonic()
        featurized = None
        try:
            with warnings.catch_warnings(), time_limit(window.deadline - t0):
                warnings.simplefilter("ignore")
                full = window.fidelity.full
                featurized = self.cache.get((key, step)) if full else None
                if featurized is None:
                    featurized = self._featurize(features, key, step, train, val, full)
                else:
                    folds.reused += 1
                if step == 0:  # what a stopped trial is known to have cost so far
                    timed = window.fidelity.at_full(Timings(featurized.seconds, 0.0))
                    record_trial(trial, feature_seconds=timed.feature_seconds)
                self._skip_if_too_large(trial, featurized.X_train.shape[1])
                t1 = time.monotonic()
                model = clone(classifier).fit(featurized.X_train, self.labels[train])
                t2 = time.monotonic()
                folds.scores.append(self.metric(model, featurized.X_val, self.labels[val]))
                if self.oof is not None:
                    folds.class_scores.append(class_scores(model, featurized.X_val, self.classes))
        except TrialTimeout as stop:
            now = time.monotonic()
            spent = Timings(now - t0, 0.0) if featurized is None else Timings(featurized.seconds, now - t1)
            self._stopped(trial, stop, spent, window)
        folds.feature_seconds.append(featurized.seconds)
        folds.classifier_seconds.append(t2 - t1)

    def _stopped(self, trial: optuna.Trial, stop: TrialTimeout, spent: Timings, window: Window) -> None:
        """Record what a trial stopped at its limit cost, or was projected to (a lower bound
        the cost model learns), and prune it."""
        limit = max(window.limit, 0.0)
        projected = window.fidelity.at_full(
            Timings(spent.feature_seconds, spent.classifier_seconds + stop.remaining)
        )
        record_trial(
            trial,
            feature_seconds=projected.feature_seconds,
            classifier_seconds=projected.classifier_seconds,
        )
        note = f"stopped: over its time limit of {limit:.1f}s"
        if stop.remaining:
            note = (
                f"stopped after {time.monotonic() - window.started:.1f}s: at its pace, its classifier would "
                f"have run past its time limit of {limit:.1f}s"
            )
        self._skip(trial, note)

    def _prune_if_behind(self, trial: optuna.Trial, step: int, window: Window) -> None:
        """Prune below the median of earlier trials, or when the remaining folds cannot finish.

        Past the last fold there is nothing left to save: a trial that ran every fold is kept.
        A trial on a share of the rows is not held to the median of trials fitted on all of them.
        """
        n_folds = len(self.plan.splits)
        per_fold = (time.monotonic() - window.started) / (step + 1)
        rest = per_fold * (n_folds - step - 1)
        last = step == n_folds - 1
        held = window.fidelity.full and not self._completes_for_diversity(trial, rest)
        if not last and held and trial.should_prune():
            self._skip(trial, "pruned: below the median of earlier trials")
        if rest and (rest > self.limits.left() or rest + per_fold > self.limits.max_trial_seconds):
            self._skip(trial, "pruned: would not finish within the budget")

    def _completes_for_diversity(self, trial: optuna.Trial, rest: float) -> bool:
        """Whether a trial below the median runs its remaining folds anyway: a portfolio entry or
        a classifier swap, whose out-of-fold scores give the ensemble a member of another kind,
        while those folds take at most ``diversity_seconds``."""
        return TrialRecord.from_trial(trial).queued and rest <= self.limits.diversity_seconds
