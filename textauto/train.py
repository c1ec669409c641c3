"""`textauto train` as a library function: data in, search, refit, bundle out."""

from __future__ import annotations

import math
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import optuna
from sklearn.model_selection import train_test_split

from textauto.bundle import (
    CACHE_DIR,
    MODEL_CARD_FILE,
    REPORT_HTML_FILE,
    STUDY_FILE,
    leaderboard,
    library_versions,
    save_bundle,
)
from textauto.config import RunConfig
from textauto.data import DataProfile, TextDataset, load_dataset, warn_suspicious
from textauto.estimator import AutoTextClassifier
from textauto.evaluation import evaluate, scores_of
from textauto.exceptions import ConfigError, DataError, ExplainError
from textauto.explain import class_features
from textauto.explain.recorded import MANIFEST_KEY, features_record
from textauto.report import render_card, render_html, render_report
from textauto.search.importance import param_importances
from textauto.search.records import StudyRecord, TrialRecord
from textauto.search.run import TrialCallback
from textauto.search.study import check_metric, failure_notes, make_storage, shown_url
from textauto.validation.metrics import METRICS

# Seconds held back from the budget for evaluating on the test set and writing the bundle.
SAVE_RESERVE_MIN = 2.0
SAVE_RESERVE_FRACTION = 0.04


@dataclass
class TrainOutcome:
    out: Path
    estimator: AutoTextClassifier
    manifest: dict[str, Any]
    board: Any


def default_out_dir() -> Path:
    return Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")


def split_test(data: TextDataset, size: float, seed: int) -> tuple[TextDataset, TextDataset]:
    """A stratified test split carved out of the training file."""
    try:
        tr_t, te_t, tr_l, te_l = train_test_split(
            data.texts, data.labels, test_size=size, stratify=data.labels, random_state=seed
        )
    except ValueError as exc:
        raise DataError(f"{data.source}: cannot split off a test set of {size:g}: {exc}") from exc
    return (
        TextDataset(tr_t, tr_l, source=data.source),
        TextDataset(te_t, te_l, source=f"{data.source} (test split {size:g})"),
    )


def make_out_dir(out: Path) -> None:
    """Create ``out`` (and its parents), and check a file can be written there."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: is a file, not a directory; choose a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=out).close()
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot write there ({exc.strerror or exc})") from exc


def local_storage(out: Path) -> str:
    """The study's storage URL when no --storage is given: SQLite in the bundle."""
    return f"sqlite:///{out / STUDY_FILE}"


def check_out_dir(out: Path, storage: str | None, resume: bool, study_name: str) -> str:
    """The storage URL for this run; refuse to mix a new run into an old one."""
    local_db = out / STUDY_FILE
    url = storage or local_storage(out)
    if storage is None and not resume and local_db.exists():
        raise ConfigError(
            f"{out}: already holds a study ({STUDY_FILE}); pass --resume to continue it "
            "or choose another --out"
        )
    if resume and storage is None and not local_db.exists():
        raise ConfigError(f"--resume: {out} holds no study ({STUDY_FILE} not found)")
    return url


def check_same_data(
    storage: str, study_name: str, fingerprint: str, resume: bool, train_path: Path, out: Path, metric: str
) -> None:
    """A study continued (--resume) or shared by several workers must be on the same data, and
    optimize the same metric."""
    where = str(out) if storage == local_storage(out) else shown_url(storage)
    try:
        study = optuna.load_study(study_name=study_name, storage=make_storage(storage))
    except KeyError as exc:
        if resume:
            raise ConfigError(f"--resume: no study named {study_name!r} in {where}") from exc
        return
    if StudyRecord.from_study(study).data_fingerprint not in (None, fingerprint):
        raise DataError(
            f"{train_path}: differs from the data the study {study_name!r} in {where} was started on; "
            "use the same training file or start a new --out / --study-name"
        )
    check_metric(study, metric, METRICS[metric].direction, where)


def train(
    train_path: Path,
    config: RunConfig,
    *,
    out: Path,
    test_path: Path | None = None,
    resume: bool = False,
    callbacks: list[TrialCallback] | None = None,
    started: float | None = None,
) -> TrainOutcome:
    """Search, refit and save a bundle to ``out`` within ``config.search.time_budget``."""
    started = time.monotonic() if started is None else started
    train_data, test_data = load_data(train_path, test_path, config)
    loaded = time.monotonic()
    make_out_dir(out)
    s = config.search
    storage = check_out_dir(out, s.storage, resume, s.study_name)
    fingerprint = train_data.fingerprint()
    check_same_data(storage, s.study_name, fingerprint, resume, train_path, out, s.metric)
    run_cfg = config.model_copy(deep=True)
    run_cfg.search.time_budget = search_budget(s.time_budget, started)
    run_cfg.search.storage = storage
    model = AutoTextClassifier(config=run_cfg, resume=resume, callbacks=callbacks, work_dir=out / CACHE_DIR)
    model.fit(train_data.texts, train_data.labels, predict_rows=len(test_data) if test_data else 0)
    fitted = time.monotonic()
    test_scores = evaluate(model, test_data.texts, test_data.labels) if test_data else None
    scored = time.monotonic()
    board = leaderboard(model.study_.trials, METRICS[s.metric].direction, failure_notes(model.study_))
    data = data_facts(train_path, train_data, test_path, test_data) | {"fingerprint": fingerprint}
    manifest = build_manifest(out, config, model, data, test_scores)
    manifest["validation"]["out_of_fold"] = out_of_fold_scores(model, train_data)
    manifest[MANIFEST_KEY] = indicative_features(model, train_data, s.seed)
    report = render_report(manifest, board)
    manifest["timings"] |= {
        "loading_s": round(loaded - started, 2),
        "spacy_parsing_s": round(model.parse_seconds_, 2),
        "test_scoring_s": round(scored - fitted, 2),
        "report_s": round(time.monotonic() - scored, 2),
    }
    left = math.inf if s.time_budget is None else s.time_budget - (time.monotonic() - started)
    pages = {REPORT_HTML_FILE: lambda m: render_html(m, board), MODEL_CARD_FILE: render_card}
    saved = save_bundle(
        out, model.model_, manifest, board, report, seconds_left=left, pages=pages, run_started=started
    )
    return TrainOutcome(out, model, saved, board)


def data_facts(
    train_path: Path, train_data: TextDataset, test_path: Path | None, test_data: TextDataset | None
) -> dict[str, Any]:
    """What the manifest says of the data: files, rows, classes and profile."""
    return {
        "train": str(train_path),
        "test": test_data.source if test_data else None,
        "rows": len(train_data),
        "class_counts": dict(sorted(train_data.class_counts.items())),
        "test_split": test_path is None and test_data is not None,  # the test rows came from TRAIN
        "profile": asdict(DataProfile.of(train_data, test_data)),
    }


def out_of_fold_scores(model: AutoTextClassifier, data: TextDataset) -> dict[str, Any] | None:
    """The saved model's scores on the rows validation scored, from the out-of-fold predictions
    it was chosen on (``evaluate``'s figures); None when it left none."""
    oof = model.oof_predictions_
    if oof is None:
        return None
    return scores_of([data.labels[i] for i in oof.rows], oof.proba, oof.classes)


def indicative_features(model: AutoTextClassifier, data: TextDataset, seed: int) -> dict[str, Any] | None:
    """Each class's most indicative features, for the report and ``textauto explain --global``;
    None for a model the explanations do not cover."""
    try:
        return features_record(class_features(model.model_, data.texts, data.labels, seed=seed))
    except ExplainError:
        return None


def load_data(
    train_path: Path, test_path: Path | None, config: RunConfig
) -> tuple[TextDataset, TextDataset | None]:
    """The training data and the test data (a file, a split of the training file, or none),
    checked before anything is searched."""
    d = config.data
    train_data = load_dataset(train_path, d.text_col, d.label_col, d.max_text_chars)
    test_data = load_dataset(test_path, d.text_col, d.label_col, d.max_text_chars) if test_path else None
    if test_data is None and d.test_size:
        train_data, test_data = split_test(train_data, d.test_size, config.search.seed)
    warn_suspicious(train_data, test_data)
    METRICS[config.search.metric].check_classes(len(train_data.class_counts), str(train_path))
    return train_data, test_data


def search_budget(budget: float | None, started: float) -> float | None:
    """The search and refit's part of the command's budget: less what has passed, and the time
    held back for scoring the test set and saving."""
    if budget is None:
        return None
    reserve = max(SAVE_RESERVE_MIN, budget * SAVE_RESERVE_FRACTION)
    return max(budget - reserve - (time.monotonic() - started), 1.0)


def _validation(model: AutoTextClassifier) -> dict[str, Any]:
    """How the saved model was validated, how precisely, and how much its choice flatters it."""
    result, check = model.search_result_, model.selection_check_
    plan = result.validation
    out = {
        "method": plan.description,
        "strategy": plan.strategy,
        "folds": plan.folds,
        "repeats": plan.repeats,
        "why": plan.why,
        "rows": plan.rows,
        "score": model.best_score_,
        # True when no trial finished every fold in the budget: scored on the folds it ran
        "partial": TrialRecord.from_trial(result.best_trial).partial,
    }
    if model.standard_error_ is not None:
        out["standard_error"] = round(model.standard_error_, 5)
    if check is not None and math.isfinite(check.in_sample) and math.isfinite(check.held_out):
        out |= {
            "in_sample_score": check.in_sample,
            "held_out_score": check.held_out,
            "optimism": round(check.optimism, 5),
        }
    return out


def build_manifest(
    out: Path,
    config: RunConfig,
    model: AutoTextClassifier,
    data: dict[str, Any],
    test_scores: dict[str, Any] | None,
) -> dict[str, Any]:
    """What the bundle's manifest.json says of the run (the files' hashes are added on saving)."""
    result = model.search_result_
    return {
        "name": out.name,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "classes": [str(c) for c in model.classes_],
        "metric": config.search.metric,
        "validation": _validation(model),
        "best_trial": result.best_trial.number,
        "best_params": model.best_params_,
        # when set, the saved model is this weighted ensemble of trials, not the best trial alone
        "ensemble": model.ensemble_,
        "test": test_scores,
        "trials": result.counts,
        "importances": param_importances(result.study),
        "data": data,
        "seed": config.search.seed,
        "lang": model.lang_,
        "lang_detected": model.detected_lang_,  # None when the configuration named the language
        "text_col": config.data.text_col,
        "time_budget": config.search.time_budget,
        "timings": {
            "search_and_refit_s": round(model.fit_seconds_, 2),
            "refit_s": round(model.refit_seconds_, 2),
            # each time the search went on once the refit was priced: when, and what it held back
            "search_extended": [asdict(e) for e in result.extensions],
        },
        "config": config.model_dump(mode="json"),
        "versions": library_versions(),
        "reproduction": _reproduction(model),
    }


def _reproduction(model: AutoTextClassifier) -> dict[str, Any]:
    """What `textauto reproduce` rebuilds the model from, and the hash of its out-of-fold
    predictions it checks a rerun's against."""
    oof = model.oof_predictions_
    return {"model": model.recipe_.to_dict(), "oof_predictions": None if oof is None else oof.to_dict()}
