"""`textauto reproduce`: refit a bundle's recorded winner on the given data and compare.

The manifest records what a rerun needs: the data's fingerprint, the configuration and seed,
the library versions, the saved model's recipe at full precision and the hash of its
out-of-fold predictions (``reproduction``). A rerun loads the data as training did, rebuilds
the model from that record, checks its parameters against the saved model's, refits it and
compares their predictions on the training rows, then validates its members again through the
search's own objective and compares the combined out-of-fold predictions. It names every
difference; "reproduced" means there is none.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from optuna.trial import FixedTrial
from threadpoolctl import threadpool_limits

from textauto.bundle import CACHE_DIR, MANIFEST_FILE, Model, library_versions, load
from textauto.components import BuildContext
from textauto.config import RunConfig, build_config
from textauto.cost.clock import Clock
from textauto.data import TextDataset, check_trainable
from textauto.ensemble.classifier import EnsembleClassifier
from textauto.ensemble.recipe import OOFPredictions, Recipe, member_proba
from textauto.ensemble.refit import capped_solvers
from textauto.estimator import build_context
from textauto.exceptions import BundleError
from textauto.inference import predict_proba
from textauto.search.objective import Limits, Objective
from textauto.search.oof import OOFStore
from textauto.train import load_data
from textauto.validation.metrics import METRICS
from textauto.validation.splits import Scheme, ValidationPlan, plan_validation, recorded_scheme

SHOWN_CHARS = 80  # of a differing value (a stacker's coefficients are long)


@dataclass(frozen=True)
class Recorded:
    """What a bundle's manifest records for a rerun."""

    config: RunConfig
    recipe: Recipe
    oof: dict[str, Any] | None  # sha256 and rows; None when the winner left no out-of-fold scores
    fingerprint: str
    train_file: str
    rows: int
    test_split: bool  # the test rows were split off the training file
    versions: dict[str, str]
    lang: str
    scheme: Scheme
    best_trial: int
    best_params: dict[str, Any]

    @classmethod
    def from_manifest(cls, m: dict[str, Any], source: Path) -> Recorded:
        section = m.get("reproduction")
        if not section:
            raise BundleError(
                f'{source}: records nothing to rebuild the model from (no "reproduction" section: '
                "the bundle was saved before `textauto reproduce` existed); train it again to reproduce it"
            )
        try:
            v, d = m["validation"], m["data"]
            return cls(
                build_config(tree=m["config"]), Recipe.from_dict(section["model"]),
                section["oof_predictions"], d["fingerprint"], d["train"], d["rows"],
                bool(d.get("test_split")), dict(m["versions"]), m["lang"],
                recorded_scheme(v["strategy"], v["folds"], v.get("repeats", 1)),
                m["best_trial"], dict(m["best_params"]),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleError(f"{source}: unreadable record of the run ({exc!r})") from exc


@dataclass
class ReproductionReport:
    """What a rerun matched and what it did not: reproduced when nothing differs."""

    model_dir: Path
    train_path: Path
    matched: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be compared, and why
    rows: int = 0  # training rows both models predicted
    changed_predictions: int = 0  # of them, predicted otherwise by the refit model
    oof_rows: int | None = None  # rows validated out of fold again; None when none were recorded
    changed_oof: int | None = None  # of them, predicted otherwise; None when not known
    seconds: float = 0.0

    @property
    def reproduced(self) -> bool:
        return not self.differences

    def lines(self) -> list[str]:
        """The outcome, as the command prints it."""
        took = f"({self.seconds:.1f} s)"
        if self.reproduced:
            return [f"reproduced: {'; '.join(self.matched)} {took}"]
        differs = [f"differs: {d}" for d in self.differences]
        return [*differs, self.changes(), f"not reproduced: {len(self.differences)} differences {took}"]

    def changes(self) -> str:
        """How many predictions changed, in a line."""
        line = f"changed predictions: {self.changed_predictions} of the {self.rows} training rows"
        if self.oof_rows is None:
            return line
        if self.changed_oof is None:  # only the hash was there to compare with
            return f"{line}; out-of-fold: not counted (the bundle's cache/ lacks the search's scores)"
        return f"{line}; out-of-fold: {self.changed_oof} of {self.oof_rows} rows"

    def check(self, same: bool, matched: str | None, differences: list[str]) -> None:
        if same:
            self.matched += [matched] if matched else []
        else:
            self.differences += differences


@dataclass(frozen=True)
class Rerun:
    """The data, validation plan and build context of a rerun, as training made them."""

    data: TextDataset
    config: RunConfig
    plan: ValidationPlan
    ctx: BuildContext

    @classmethod
    def of(cls, data: TextDataset, recorded: Recorded) -> Rerun:
        cfg, scheme = recorded.config, recorded.scheme
        check_trainable(data, scheme.min_per_class, scheme.needs)
        plan = plan_validation(data.texts, data.labels or [], cfg.validation, cfg.search.seed, scheme)
        return cls(data, cfg, plan, build_context(cfg, recorded.lang, len(data.class_counts)))

    @property
    def classes(self) -> np.ndarray:
        return np.unique(np.asarray(self.data.labels, dtype=object))


def reproduce(model_dir: str | Path, train_path: str | Path) -> ReproductionReport:
    """Refit the winner recorded in the bundle at ``model_dir`` on ``train_path`` and compare
    the data's fingerprint, the library versions, the model's parameters, its predictions on
    the training rows and its out-of-fold predictions with the record."""
    started = time.monotonic()
    report = ReproductionReport(Path(model_dir), Path(train_path))
    saved = load(report.model_dir)
    recorded = Recorded.from_manifest(saved.manifest, report.model_dir / MANIFEST_FILE)
    data = load_training(report.train_path, recorded)
    _compare_data(report, data, recorded)
    _compare_versions(report, recorded.versions)
    _compare_best_params(report, recorded)
    # single-threaded BLAS, as training ran: thread counts change floating-point sums
    with threadpool_limits(limits=1):
        run = Rerun.of(data, recorded)
        rebuilt = _rebuild(recorded.recipe, run, report.model_dir / MANIFEST_FILE)
        _compare_params(report, saved.pipeline, rebuilt)
        _compare_predictions(report, saved, rebuilt, data)
        _compare_oof(report, recorded, run)
    report.seconds = time.monotonic() - started
    return report


def load_training(path: Path, recorded: Recorded) -> TextDataset:
    """``path`` read as training read it: the recorded columns and text length, less the test
    rows when they were split off it."""
    cfg = recorded.config.model_copy(deep=True)
    if not recorded.test_split:
        cfg.data.test_size = None
    return load_data(path, None, cfg)[0]


def _compare_data(report: ReproductionReport, data: TextDataset, recorded: Recorded) -> None:
    now = data.fingerprint()
    report.check(
        now == recorded.fingerprint,
        f"data fingerprint {now[:16]} ({len(data)} rows)",
        [
            f"data fingerprint: {report.train_path} ({len(data)} rows) has {now}; the model was "
            f"trained on {recorded.fingerprint} ({recorded.train_file}, {recorded.rows} rows)"
        ],
    )


def _compare_versions(report: ReproductionReport, recorded: dict[str, str]) -> None:
    now = library_versions()
    changed = [
        f"library version: {name} {was} when trained, {now.get(name, 'not installed')} now"
        for name, was in recorded.items()
        if now.get(name, "not installed") != was
    ]
    report.check(not changed, f"library versions ({len(recorded)})", changed)


def _compare_best_params(report: ReproductionReport, recorded: Recorded) -> None:
    """The manifest's ``best_params`` against the recorded parameters of the same trial in the
    model, when the best trial is one of its members."""
    member = next((m for m in recorded.recipe.members if m.trial == recorded.best_trial), None)
    if member is None:
        return
    diffs = _differing(member.params, recorded.best_params)
    where = f"{MANIFEST_FILE}'s record of trial {member.trial}"
    named = [f"parameter {k}: {a} in {where}, {b} in its best_params" for k, a, b in diffs]
    report.check(not diffs, None, named)


def _rebuild(recipe: Recipe, run: Rerun, source: Path) -> Any:
    try:
        with warnings.catch_warnings():  # values outside the configured ranges still build
            warnings.simplefilter("ignore")
            return recipe.build(run.config.space, run.ctx)
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"{source}: the recorded parameters build no model ({exc})") from exc


def _compare_params(report: ReproductionReport, saved: Any, rebuilt: Any) -> None:
    was, now = model_params(saved), model_params(rebuilt)
    diffs = _differing(was, now)
    report.check(
        not diffs,
        f"model parameters ({len(was)})",
        [f"parameter {k}: {a} in the saved model, {b} in {MANIFEST_FILE}" for k, a, b in diffs],
    )


def _compare_predictions(report: ReproductionReport, saved: Model, rebuilt: Any, data: TextDataset) -> None:
    """Refit ``rebuilt`` on ``data`` as the refit did, and count the training rows it predicts
    otherwise than the saved model."""
    X, y = np.asarray(data.texts, dtype=object), np.asarray(data.labels, dtype=object)
    with capped_solvers():
        rebuilt.fit(X, y)
    before = saved.predict(data.texts).astype(str)
    after = rebuilt.classes_[predict_proba(rebuilt, X).argmax(axis=1)].astype(str)
    report.rows, report.changed_predictions = len(X), int(np.sum(before != after))
    n, changed = report.rows, report.changed_predictions
    report.check(
        changed == 0,
        f"predictions on the {n} training rows",
        [f"predictions: {changed} of the {n} training rows predicted otherwise than by the saved model"],
    )


def _compare_oof(report: ReproductionReport, recorded: Recorded, run: Rerun) -> None:
    if recorded.oof is None:
        report.notes.append(
            "out-of-fold predictions: none recorded (the winner was validated on only some folds)"
        )
        return
    now = replay_oof(recorded.recipe, run)
    report.oof_rows = n = len(now.rows)
    same = now.sha256() == recorded.oof["sha256"]
    stored = None if same else stored_oof(recorded, run, report.model_dir / CACHE_DIR / "oof")
    report.changed_oof = 0 if same else None
    if stored is not None and np.array_equal(stored.rows, now.rows):
        report.changed_oof = int(np.sum(stored.labels != now.labels))
        what = f"{report.changed_oof} of the {n} rows validated out of fold are predicted otherwise"
    else:
        what = f"their hash differs from the recorded one ({n} rows now, {recorded.oof['rows']} recorded)"
    report.check(same, f"out-of-fold predictions on {n} rows", [f"out-of-fold predictions: {what}"])


def replay_oof(recipe: Recipe, run: Rerun) -> OOFPredictions:
    """The model's out-of-fold predictions: each member validated again through the search's
    objective (``Objective.replay``), combined as the model combines them."""
    cfg = run.config
    limits = Limits(Clock.from_budget(None), lambda: 0.0, math.inf)
    store = OOFStore()
    try:
        metric = METRICS[cfg.search.metric]
        texts, labels = run.data.texts, run.data.labels or []
        objective = Objective(texts, labels, run.plan, metric, cfg.space, run.ctx, limits, oof=store)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for m in recipe.members:
                objective.replay(FixedTrial(m.params, m.trial), m.share)
        return _combined(recipe, [store.load(m.trial) for m in recipe.members], run)
    finally:
        store.close()


def stored_oof(recorded: Recorded, run: Rerun, directory: Path) -> OOFPredictions | None:
    """The out-of-fold predictions combined from the scores the search left in the bundle's
    cache, when it still holds every member's and they give the recorded hash; else None."""
    if not directory.is_dir():
        return None
    store = OOFStore(directory)
    scores = [store.load(m.trial) for m in recorded.recipe.members]
    if any(s is None or s.shape[0] != len(run.plan.scored_rows) for s in scores):
        return None
    combined = _combined(recorded.recipe, scores, run)
    return combined if recorded.oof and combined.sha256() == recorded.oof["sha256"] else None


def _combined(recipe: Recipe, scores: list[Any], run: Rerun) -> OOFPredictions:
    probas = [member_proba(s, m.temperature) for s, m in zip(scores, recipe.members, strict=True)]
    return OOFPredictions(run.plan.scored_rows, recipe.combine(probas), run.classes)


def model_params(model: Any) -> dict[str, Any]:
    """A model's plain parameters (numbers, strings, lists of them), deep; an ensemble's
    members' under their names (``trial-3__clf__C``)."""
    if not isinstance(model, EnsembleClassifier):
        return _plain_only(model.get_params(deep=True))
    out = _plain_only({k: v for k, v in model.get_params(deep=False).items() if k != "estimators"})
    for name, member in model.estimators:
        out |= {f"{name}__{k}": v for k, v in _plain_only(member.get_params(deep=True)).items()}
    return out


_NOT_PLAIN = object()


def _plain(value: Any) -> Any:
    """``value`` as JSON would hold it, or ``_NOT_PLAIN`` (an estimator, a function, a type)."""
    if isinstance(value, np.ndarray | np.generic):
        value = value.tolist()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        items = [_plain(v) for v in value]
        return _NOT_PLAIN if any(v is _NOT_PLAIN for v in items) else items
    if isinstance(value, dict):
        pairs = {str(k): _plain(v) for k, v in value.items()}
        return _NOT_PLAIN if any(v is _NOT_PLAIN for v in pairs.values()) else pairs
    return _NOT_PLAIN


def _plain_only(params: dict[str, Any]) -> dict[str, Any]:
    return {k: p for k, v in params.items() if (p := _plain(v)) is not _NOT_PLAIN}


def _differing(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Keys whose values differ between ``a`` and ``b``, with each side's value as shown."""
    missing = object()
    return [
        (k, _shown(a.get(k, missing), missing), _shown(b.get(k, missing), missing))
        for k in sorted(a.keys() | b.keys())
        if a.get(k, missing) != b.get(k, missing)
    ]


def _shown(value: Any, missing: object) -> str:
    text = "absent" if value is missing else repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."
