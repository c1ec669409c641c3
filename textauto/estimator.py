"""``AutoTextClassifier``: the scikit-learn-compatible face of the search."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from textauto.components import BuildContext
from textauto.config import RunConfig, build_config
from textauto.cost.clock import Clock
from textauto.data import TextDataset, check_trainable, cut_long_texts
from textauto.ensemble.refit import RefitPlanner, fit_final
from textauto.exceptions import DataError
from textauto.features.language import resolve_language
from textauto.features.spacy_parse import parse_seconds, use_disk_cache
from textauto.inference import predict_proba
from textauto.search.oof import OOFStore
from textauto.search.run import TrialCallback, run_search
from textauto.search.study import recorded_validation
from textauto.validation.metrics import METRICS
from textauto.validation.splits import ValidationPlan, choose_scheme, plan_validation, recorded_scheme


class AutoTextClassifier(ClassifierMixin, BaseEstimator):
    """Search text representations and classifiers together, then refit the winner.

    Every argument left as ``None`` takes its value from ``config`` (a ``RunConfig``, a dict
    in the layout of ``configs/default.toml``, or None for the defaults).

    Parameters
    ----------
    time_budget : seconds for search and refit together.
    n_trials : stop after this many trials (whichever of the two comes first).
    metric : validation metric (see ``textauto.validation.metrics.METRICS``).
    seed : seeds the sampler, the splits and the estimators.
    lang : spaCy language code for tokenization, lemmas and stop words; "auto" (the
        default) detects it from the texts (``lang_``; ``detected_lang_`` what was detected).
    storage : an Optuna storage URL (SQLite, PostgreSQL...); None keeps the study in memory.
    resume : continue the study found in ``storage`` under the configured name.
    config : the rest of the configuration (validation, space, ...).
    callbacks : called as ``callback(study, frozen_trial)`` after every trial.
    work_dir : where the run keeps what its trials share (out-of-fold scores for the
        ensemble, spaCy parses); kept for ``resume``. None: out-of-fold scores go to a
        temporary directory, removed after ``fit``, and parses stay in memory.

    Among the fitted attributes: ``model_`` (the saved model), ``recipe_`` (what rebuilds it,
    ``textauto.ensemble.recipe.Recipe``), ``oof_predictions_`` (its out-of-fold predictions on
    the rows validation scored, ``OOFPredictions``; None when the winner left none).
    """

    def __init__(
        self,
        *,
        time_budget: float | None = None,
        n_trials: int | None = None,
        metric: str | None = None,
        seed: int | None = None,
        lang: str | None = None,
        storage: str | None = None,
        resume: bool = False,
        config: RunConfig | dict[str, Any] | None = None,
        callbacks: Sequence[TrialCallback] | None = None,
        work_dir: str | Path | None = None,
    ) -> None:
        self.time_budget = time_budget
        self.n_trials = n_trials
        self.metric = metric
        self.seed = seed
        self.lang = lang
        self.storage = storage
        self.resume = resume
        self.config = config
        self.callbacks = callbacks
        self.work_dir = work_dir

    def run_config(self) -> RunConfig:
        """The validated configuration: ``config`` with the explicit arguments applied."""
        base = self.config
        if isinstance(base, RunConfig):
            base = base.model_dump(mode="json", exclude_unset=False)
        overrides = {
            f"search.{k}": v
            for k, v in (
                ("time_budget", self.time_budget),
                ("n_trials", self.n_trials),
                ("metric", self.metric),
                ("seed", self.seed),
                ("storage", self.storage),
            )
            if v is not None
        }
        if self.lang is not None:
            overrides["data.lang"] = self.lang
        return build_config(tree=base or {}, overrides=overrides)

    def fit(self, X: Sequence[str], y: Sequence[Any], *, predict_rows: int = 0) -> AutoTextClassifier:
        """Search, then refit the winner on all of ``X``.

        ``predict_rows``: how many texts the caller will predict right after, within the same
        budget (an ensemble is sized so that predicting them still fits).
        """
        clock_start = time.monotonic()
        cfg = self.run_config()
        texts = _texts(X, "X")
        labels, originals = _labels(y, len(texts))
        texts = cut_long_texts(texts, cfg.data.max_text_chars, "X")
        data = TextDataset(texts, labels, source="training data")
        METRICS[cfg.search.metric].check_classes(len(data.class_counts), data.source)
        recorded = recorded_validation(cfg.search.storage, cfg.search.study_name)
        if recorded is not None:
            scheme = recorded_scheme(*recorded)
        else:
            scheme = choose_scheme(texts, cfg.validation, cfg.search.time_budget)
        check_trainable(data, scheme.min_per_class, scheme.needs)
        seed = cfg.search.seed
        plan = plan_validation(texts, labels, cfg.validation, seed, scheme)
        # "auto": told from the texts, the same on every machine sharing the study
        self.lang_, self.detected_lang_ = resolve_language(cfg.data.lang, texts)
        ctx = build_context(cfg, self.lang_, len(data.class_counts))
        clock = Clock.from_budget(cfg.search.time_budget, clock_start)
        work_dir = Path(self.work_dir) if self.work_dir is not None else None
        store = OOFStore(work_dir / "oof" if work_dir is not None else None)
        use_disk_cache(work_dir)  # spaCy parses, shared by forked workers and by --resume
        try:
            # Parallelism comes from trial processes and refit threads: BLAS and OpenMP threads
            # within them only contend (docs/design.md, "Threads"). Forked workers inherit it.
            with threadpool_limits(limits=1):
                self._search_and_refit(texts, labels, data, cfg, plan, ctx, clock, store, predict_rows)
        finally:
            store.close()
            # spaCy's share of the search and refit, summed over their processes
            self.parse_seconds_ = parse_seconds()
            use_disk_cache(None)
        self.classes_ = _as_given(self.model_.classes_, originals)
        self.fit_seconds_ = time.monotonic() - clock_start
        return self

    def _search_and_refit(
        self,
        texts: list[str],
        labels: list[str],
        data: TextDataset,
        cfg: RunConfig,
        plan: ValidationPlan,
        ctx: BuildContext,
        clock: Clock,
        store: OOFStore,
        predict_rows: int,
    ) -> None:
        planner = RefitPlanner(labels, cfg, plan, clock, store, predict_rows)
        result = run_search(
            texts,
            labels,
            cfg,
            plan,
            ctx,
            clock,
            storage=cfg.search.storage,
            resume=self.resume,
            callbacks=list(self.callbacks or ()),
            data_fingerprint=data.fingerprint(),
            oof=store,
            predict_share=predict_rows / len(texts),
            refit_seconds=planner,
        )
        t0 = time.monotonic()
        choice = planner.choice(result)
        final = fit_final(result, texts, labels, cfg, ctx, plan, clock, store, predict_rows, choice)
        self.refit_seconds_ = time.monotonic() - t0
        self.config_ = cfg
        self.search_result_ = result
        self.study_ = result.study
        self.model_ = final.estimator
        self.ensemble_ = final.ensemble
        self.recipe_ = final.recipe
        self.oof_predictions_ = final.oof
        self.best_params_ = dict(result.best_trial.params)
        self.best_score_ = final.validation_score
        self.selection_check_ = final.check
        self.standard_error_ = final.standard_error
        self.classes_ = final.estimator.classes_

    def predict(self, X: Sequence[str]) -> np.ndarray:
        check_is_fitted(self)
        proba = predict_proba(self.model_, np.asarray(_texts(X, "X"), dtype=object))
        predicted = self.model_.classes_[proba.argmax(axis=1)]
        column = {str(c): i for i, c in enumerate(self.model_.classes_)}
        return self.classes_[[column[str(p)] for p in predicted]]

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        check_is_fitted(self)
        return predict_proba(self.model_, np.asarray(_texts(X, "X"), dtype=object))

    def __getstate__(self) -> dict[str, Any]:
        # A study holds a live storage connection: keep its results, not the study.
        state = self.__dict__.copy()
        state.pop("study_", None)
        state.pop("search_result_", None)
        return state


def build_context(cfg: RunConfig, lang: str, n_classes: int) -> BuildContext:
    """What every pipeline of a run is built with, beside its own parameters."""
    return BuildContext(
        lang=lang,
        spacy_model=cfg.space.spacy_model,
        probability=METRICS[cfg.search.metric].needs == "proba",
        seed=cfg.search.seed,
        n_classes=n_classes,
    )


def _texts(X: Any, name: str) -> list[str]:
    if isinstance(X, str):
        raise DataError(f"{name}: expected a sequence of texts, got a single string")
    texts = list(X)
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise DataError(f"{name}: item {bad} is {type(texts[bad]).__name__}, not a string")
    return texts


def _as_given(classes: np.ndarray, originals: dict[str, Any]) -> np.ndarray:
    """The classes as the labels given to fit: integer labels stay integers."""
    values = [originals[str(c)] for c in classes]
    mixed = len({type(v) for v in values}) > 1
    return np.array(values, dtype=object if mixed else None)


def _labels(y: Any, n: int) -> tuple[list[str], dict[str, Any]]:
    """The labels as text (what the pipelines learn), and each text's original label."""
    given = list(y.tolist() if isinstance(y, np.ndarray) else y)
    if len(given) != n:
        raise DataError(f"y: {len(given)} labels for {n} texts")
    original: dict[str, Any] = {}
    for i, value in enumerate(given):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            raise DataError(f"y: item {i} is missing ({value!r})")
        first = original.setdefault(str(value), value)
        if first != value or type(first) is not type(value):
            raise DataError(f"y: item {i} ({value!r}) and an earlier label ({first!r}) read the same as text")
    return [str(v) for v in given], original
