"""The Optuna study: its sampler, pruner and storage, created once and shared by workers."""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence

import optuna
import sqlalchemy
from optuna.trial import TrialState

from textauto.exceptions import ConfigError

# Workers started together on a new database race to create Optuna's tables: on PostgreSQL
# one of two failed in each of five tries, with a unique violation on its enum type
# ("studydirection") or a table that already exists. The loser tries again once the winner's
# tables exist.
SCHEMA_ATTEMPTS = 5
SCHEMA_RETRY_SECONDS = 0.5


def create_study(
    storage: str | None,
    study_name: str,
    direction: str,
    seed: int,
    pruning: bool,
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
        "storage": make_storage(storage),
        "sampler": sampler,
        "pruner": pruner,
    }
    try:
        return optuna.create_study(direction=direction, **common), True
    except optuna.exceptions.DuplicatedStudyError:
        return optuna.load_study(**common), False


def make_storage(url: str | None) -> optuna.storages.BaseStorage | None:
    """The storage for ``url``; SQLite waits on a lock rather than failing when workers share it.

    A database that cannot be reached or whose tables cannot be created is a ``ConfigError``
    naming the URL (its password hidden).
    """
    if url is None:
        return None
    kwargs = {"engine_kwargs": {"connect_args": {"timeout": 60}}} if url.startswith("sqlite") else {}
    attempts = 0
    while True:
        try:
            return optuna.storages.RDBStorage(url, **kwargs)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError) as exc:
            attempts += 1
            if attempts == SCHEMA_ATTEMPTS:
                raise ConfigError(
                    f"--storage {_shown(url)}: cannot create the study tables: {_reason(exc)}"
                ) from exc
            time.sleep(SCHEMA_RETRY_SECONDS * attempts)
        except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.ArgumentError, ImportError) as exc:
            raise ConfigError(
                f"--storage {_shown(url)}: cannot open the study storage: {_reason(exc)}"
            ) from exc


def _shown(url: str) -> str:
    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return url


def _reason(exc: BaseException) -> str:
    """The driver's own message: its first line, without SQLAlchemy's background link."""
    inner = getattr(exc, "orig", None) or exc
    return str(inner).strip().splitlines()[0] if str(inner).strip() else type(inner).__name__


# A study attribute: why the supervisor failed a trial whose worker could not record it itself.
NOTES_ATTR = "failed_trials"


def fail_with_note(study: optuna.Study, numbers: Sequence[int], note: str) -> None:
    """Fail the trials ``numbers``, keeping ``note`` as the reason the leaderboard shows."""
    if not numbers:
        return
    notes = {**study.user_attrs.get(NOTES_ATTR, {}), **{str(n): note for n in numbers}}
    study.set_user_attr(NOTES_ATTR, notes)
    for number in numbers:
        study.tell(number, state=TrialState.FAIL, skip_if_finished=True)


def failure_notes(study: optuna.Study) -> dict[int, str]:
    """The notes ``fail_with_note`` kept, by trial number."""
    return {int(k): v for k, v in study.user_attrs.get(NOTES_ATTR, {}).items()}


def fail_interrupted_trials(study: optuna.Study) -> int:
    """Mark trials left RUNNING by a killed run as failed, so a resumed run can go on."""
    stale = [t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))]
    fail_with_note(study, stale, "failed: the run was interrupted while it ran (resumed after)")
    return len(stale)
