"""What a trial and a study record for later readers, typed, and the one place that knows how.

Optuna keeps user attributes as JSON values under string keys. ``TrialRecord`` and
``StudyRecord`` are those attributes as types: everything else reads them through
``from_trial`` / ``from_study`` and writes them through ``record_trial`` / ``record_study``.
Studies written by earlier versions hold the same keys, so they read the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

import optuna

from textauto.cost.refit import Timings

PORTFOLIO_KEY = "portfolio"  # stored True for a portfolio entry (the origin has no key of its own)


class Origin(StrEnum):
    """Where a trial's parameters came from."""

    SAMPLER = "sampler"
    PORTFOLIO = "portfolio"  # a strong default, queued before the sampler's first draw
    SWAP = "swap"  # a leader's representation with another classifier (``swaps``)


@dataclass(frozen=True)
class TrialRecord:
    """Facts one trial records as it runs; unset ones are None (or their default)."""

    worker: str | None = None  # "host:pid" of the process running it
    workers: int = 1  # trial processes on its machine
    limit: float | None = None  # seconds it may run
    limit_at: float | None = None  # its deadline on its worker's monotonic clock (the supervisor's)
    feature_seconds: float | None = None  # per fold, the mean of those timed
    classifier_seconds: float | None = None
    reused_folds: int = 0  # folds whose features came from the feature cache
    fold_scores: tuple[float, ...] = ()
    stopped: str | None = None  # why it was pruned or skipped
    error: str | None = None  # why it failed
    origin: Origin = Origin.SAMPLER
    swap_of: int | None = None  # the trial whose representation a swap took
    partial: bool = False  # chosen as the best on the folds it ran before it was stopped
    share: float = 1.0  # of each fold's training rows it was fitted on (a cheaper fidelity)

    @classmethod
    def from_attrs(cls, attrs: Mapping[str, Any]) -> TrialRecord:
        known = {f.name for f in fields(cls)} - {"origin"}
        values = {k: v for k, v in attrs.items() if k in known and v is not None}
        if "fold_scores" in values:
            values["fold_scores"] = tuple(values["fold_scores"])
        origin = Origin.SAMPLER
        if attrs.get(PORTFOLIO_KEY):
            origin = Origin.PORTFOLIO
        elif attrs.get("swap_of") is not None:
            origin = Origin.SWAP
        return cls(origin=origin, **values)

    @classmethod
    def from_trial(cls, trial: optuna.Trial | optuna.trial.FrozenTrial) -> TrialRecord:
        return cls.from_attrs(trial.user_attrs)

    def to_user_attrs(self) -> dict[str, Any]:
        """The attributes that differ from a fresh record, as Optuna stores them."""
        fresh = TrialRecord()
        out = {
            f.name: _stored(getattr(self, f.name))
            for f in fields(self)
            if f.name != "origin" and getattr(self, f.name) != getattr(fresh, f.name)
        }
        if self.origin is Origin.PORTFOLIO:
            out[PORTFOLIO_KEY] = True
        return out

    @property
    def queued(self) -> bool:
        """Queued by the search itself (a portfolio entry or a swap), not drawn by the sampler."""
        return self.origin is not Origin.SAMPLER

    @property
    def timings(self) -> Timings | None:
        """What a fold cost, once one was timed (or the trial was stopped while timing it)."""
        if self.feature_seconds is None or self.classifier_seconds is None:
            return None
        return Timings(self.feature_seconds, self.classifier_seconds, self.workers)


def record_trial(trial: optuna.Trial | optuna.trial.FrozenTrial, **facts: Any) -> None:
    """Write ``facts`` (fields of ``TrialRecord``) to the trial's storage now: other workers
    and the supervisor read some of them while it runs. A None clears a fact."""
    names = {f.name for f in fields(TrialRecord)} - {"origin"}
    for name, value in facts.items():
        if name not in names:
            raise TypeError(f"record_trial: {name!r} is not a field of TrialRecord")
        trial.set_user_attr(name, _stored(value))


def stopped_timings(trial: optuna.trial.FrozenTrial) -> Timings | None:
    """Lower bounds on the costs of a trial whose worker was stopped at its limit, else None.

    It ran for its whole ``limit``: featurizing the first fold for ``feature_seconds`` (when it
    got that far), fitting the classifier for the rest, on ``share`` of the rows.
    """
    record = TrialRecord.from_trial(trial)
    if trial.state.name != "PRUNED" or record.limit is None or record.stopped is not None:
        return None
    features = min(
        record.feature_seconds if record.feature_seconds is not None else record.limit, record.limit
    )
    return Timings(features, (record.limit - features) / record.share, record.workers)


def known_timings(trial: optuna.trial.FrozenTrial) -> Timings | None:
    """What a fold of ``trial`` is known to cost: timed, or a lower bound when it was stopped."""
    return TrialRecord.from_trial(trial).timings or stopped_timings(trial)


def _stored(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


METRIC_KEY = "metric"
FINGERPRINT_KEY = "data_fingerprint"
NOTES_KEY = "failed_trials"
VALIDATION_KEY = "validation"


@dataclass(frozen=True)
class StudyRecord:
    """Facts of a whole study: what it optimizes, on which data, why trials were failed."""

    metric: str | None = None  # its direction alone does not name it
    data_fingerprint: str | None = None  # of the training data its trials were validated on
    # why the supervisor failed a trial whose worker could not record it itself, by number
    failure_notes: dict[int, str] = field(default_factory=dict)
    # how its trials are validated: strategy, folds, repeats ("kfold", 5, 1); workers must agree
    validation: tuple[str, int, int] | None = None

    @classmethod
    def from_study(cls, study: optuna.Study) -> StudyRecord:
        attrs = study.user_attrs
        notes = {int(k): v for k, v in attrs.get(NOTES_KEY, {}).items()}
        stored = attrs.get(VALIDATION_KEY)
        validation = None
        if stored:
            validation = (str(stored["strategy"]), int(stored["folds"]), int(stored.get("repeats", 1)))
        return cls(attrs.get(METRIC_KEY), attrs.get(FINGERPRINT_KEY), notes, validation)

    def to_user_attrs(self) -> dict[str, Any]:
        out: dict[str, Any] = {METRIC_KEY: self.metric, FINGERPRINT_KEY: self.data_fingerprint}
        if self.validation is not None:
            strategy, folds, repeats = self.validation
            out[VALIDATION_KEY] = {"strategy": strategy, "folds": folds, "repeats": repeats}
        out = {k: v for k, v in out.items() if v is not None}
        if self.failure_notes:
            out[NOTES_KEY] = {str(k): v for k, v in self.failure_notes.items()}
        return out


def record_study(study: optuna.Study, record: StudyRecord) -> None:
    """Write the facts ``record`` holds (its unset ones are left as they are)."""
    for key, value in record.to_user_attrs().items():
        study.set_user_attr(key, value)


def note_failures(study: optuna.Study, notes: Mapping[int, str]) -> None:
    """Add ``notes`` to the study's failure notes."""
    merged = {**StudyRecord.from_study(study).failure_notes, **notes}
    record_study(study, StudyRecord(failure_notes=merged))
