"""The Optuna study: its sampler, pruner and storage, created once and shared by workers."""

from __future__ import annotations

import os
import socket
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import optuna
import sqlalchemy
from optuna.trial import TrialState

from textauto.exceptions import ConfigError
from textauto.search.records import StudyRecord, TrialRecord, note_failures

# Workers started together on a new database race to create Optuna's tables: on PostgreSQL
# one of two failed in each of five tries, with a unique violation on its enum type
# ("studydirection") or a table that already exists. The loser tries again once the winner's
# tables exist.
SCHEMA_ATTEMPTS = 5
SCHEMA_RETRY_SECONDS = 0.5
# A live worker tags its trial within this of Optuna creating it (the sampler draws first).
UNTAGGED_SECONDS = 10.0


@dataclass(frozen=True)
class Heartbeat:
    """Each running trial's worker writes a heartbeat every ``interval`` seconds; a trial silent
    for ``grace`` seconds is failed by whichever worker looks next (its machine is gone) and
    queued again, up to ``retries`` times."""

    interval: int
    grace: int
    retries: int


def create_study(
    storage: str | None,
    study_name: str,
    direction: str,
    seed: int,
    pruning: bool,
    heartbeat: Heartbeat | None = None,
) -> tuple[optuna.Study, bool]:
    """The study, and whether this call created it.

    Creation is atomic in the storage (a unique study name), so when several workers start
    together exactly one of them learns that it created the study and sets it up.
    """
    with warnings.catch_warnings():
        # multivariate/group TPE are marked experimental; they model our conditional space best
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=10, multivariate=True, group=True)
    pruner = (
        optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)
        if pruning
        else optuna.pruners.NopPruner()
    )
    common = {
        "study_name": study_name,
        "storage": make_storage(storage, heartbeat),
        "sampler": sampler,
        "pruner": pruner,
    }
    try:
        return optuna.create_study(direction=direction, **common), True
    except optuna.exceptions.DuplicatedStudyError:
        return optuna.load_study(**common), False


def recorded_validation(storage: str | None, study_name: str) -> tuple[str, int, int] | None:
    """How the trials of the stored study ``study_name`` are validated; None when there is no
    such study yet (or it predates the record): the run then chooses."""
    if storage is None:
        return None
    try:
        study = optuna.load_study(study_name=study_name, storage=make_storage(storage))
    except KeyError:
        return None
    return StudyRecord.from_study(study).validation


def check_metric(study: optuna.Study, metric: str, direction: str, where: str) -> None:
    """Refuse to continue or join ``study`` with a metric other than the one it optimizes."""
    recorded = StudyRecord.from_study(study).metric
    theirs = study.direction.name.lower()
    if recorded not in (None, metric) or theirs != direction:
        started = f"metric {recorded!r}" if recorded else f"a metric to {theirs}"
        raise ConfigError(
            f"--metric {metric}: the study {study.study_name!r} in {where} was started with "
            f"{started}; use that metric, or start a new --out / --study-name"
        )


def make_storage(url: str | None, heartbeat: Heartbeat | None = None) -> optuna.storages.BaseStorage | None:
    """The storage for ``url``; SQLite waits on a lock rather than failing when workers share it.

    A database that cannot be reached or whose tables cannot be created is a ``ConfigError``
    naming the URL (its password hidden).
    """
    if url is None:
        return None
    kwargs: dict = {"engine_kwargs": {"connect_args": {"timeout": 60}}} if url.startswith("sqlite") else {}
    if heartbeat is not None:
        kwargs |= {
            "heartbeat_interval": heartbeat.interval,
            "grace_period": heartbeat.grace,
            "heartbeat_stale_trial_callback": RetryStale(heartbeat),
        }
    attempts = 0
    while True:
        try:
            with warnings.catch_warnings():  # the heartbeat is marked experimental
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(url, **kwargs)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError) as exc:
            attempts += 1
            if attempts == SCHEMA_ATTEMPTS:
                raise ConfigError(
                    f"--storage {shown_url(url)}: cannot create the study tables: {_reason(exc)}"
                ) from exc
            time.sleep(SCHEMA_RETRY_SECONDS * attempts)
        except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.ArgumentError, ImportError) as exc:
            raise ConfigError(
                f"--storage {shown_url(url)}: cannot open the study storage: {_reason(exc)}"
            ) from exc


def shown_url(url: str) -> str:
    """``url`` with its password hidden, for messages."""
    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return url


def _reason(exc: BaseException) -> str:
    """The driver's own message: its first line, without SQLAlchemy's background link."""
    inner = getattr(exc, "orig", None) or exc
    return str(inner).strip().splitlines()[0] if str(inner).strip() else type(inner).__name__


def fail_with_note(study: optuna.Study, numbers: Sequence[int], note: str) -> None:
    """Fail the trials ``numbers``, keeping ``note`` as the reason the leaderboard shows."""
    if not numbers:
        return
    note_failures(study, dict.fromkeys(numbers, note))
    for number in numbers:
        study.tell(number, state=TrialState.FAIL, skip_if_finished=True)


def failure_notes(study: optuna.Study) -> dict[int, str]:
    """The notes ``fail_with_note`` kept, by trial number."""
    return StudyRecord.from_study(study).failure_notes


class RetryStale:
    """Note why a trial whose heartbeat stopped was failed, and queue it again (Optuna's retry)."""

    def __init__(self, heartbeat: Heartbeat) -> None:
        self.heartbeat = heartbeat
        self.retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=heartbeat.retries)

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        worker = TrialRecord.from_trial(trial).worker or "its worker"
        note = f"failed: no heartbeat from {worker} for over {self.heartbeat.grace}s"
        if self.heartbeat.retries:
            note += " (queued again)"
        note_failures(study, {trial.number: note})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self.retry(study, trial)


def fail_interrupted_trials(study: optuna.Study) -> int:
    """On --resume: fail the trials left RUNNING by a killed run on this machine, so they do not
    linger; the number failed.

    Trials of other machines sharing the study may be live: they are failed only once their
    heartbeat has been silent past its grace period (Optuna checks at each trial's start).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    here = socket.gethostname()
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    workers = {t.number: TrialRecord.from_trial(t).worker for t in running}
    dead = [number for number, worker in workers.items() if _dead_here(worker, here)]
    dead += _never_tagged(study, {number for number, worker in workers.items() if worker is None})
    fail_with_note(study, dead, "failed: the run was interrupted while it ran (resumed after)")
    return len(dead)


def _never_tagged(study: optuna.Study, untagged: set[int]) -> list[int]:
    """Of the RUNNING trials ``untagged`` by a worker, those still untagged ``UNTAGGED_SECONDS``
    later: their process died between Optuna creating them and the objective's first step
    (tagging its worker), for a live one gets there once its sampler has drawn."""
    if not untagged:
        return []
    time.sleep(UNTAGGED_SECONDS)
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    return sorted(
        t.number for t in running if t.number in untagged and TrialRecord.from_trial(t).worker is None
    )


def _dead_here(worker: str | None, host: str) -> bool:
    """Whether ``worker`` ("host:pid", see ``workers.worker_id``) was a process of this
    machine that no longer runs."""
    if worker is None:
        return False
    worker_host, _, pid = worker.rpartition(":")
    if worker_host != host or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False
