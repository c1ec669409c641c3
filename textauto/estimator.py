"""``AutoTextClassifier``: the scikit-learn-compatible face of the search."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from optuna.trial import FixedTrial
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from textauto.budget import Clock
from textauto.components import BuildContext
from textauto.config import RunConfig, build_config
from textauto.data import TextDataset, check_trainable
from textauto.exceptions import DataError
from textauto.metrics import METRICS
from textauto.search import TrialCallback, run_search
from textauto.space import build_pipeline
from textauto.validation import choose_strategy, min_per_class, plan_validation


class AutoTextClassifier(ClassifierMixin, BaseEstimator):
    """Search text representations and classifiers together, then refit the winner.

    Every argument left as ``None`` takes its value from ``config`` (a ``RunConfig``, a dict
    in the layout of ``configs/default.toml``, or None for the defaults).

    Parameters
    ----------
    time_budget : seconds for search and refit together.
    n_trials : stop after this many trials (whichever of the two comes first).
    metric : validation metric (see ``textauto.metrics.METRICS``).
    seed : seeds the sampler, the splits and the estimators.
    lang : spaCy language code for tokenization, lemmas and stop words.
    storage : an Optuna storage URL (SQLite, PostgreSQL...); None keeps the study in memory.
    resume : continue the study found in ``storage`` under the configured name.
    config : the rest of the configuration (validation, space, ...).
    callbacks : called as ``callback(study, frozen_trial)`` after every trial.
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

    def fit(self, X: Sequence[str], y: Sequence[Any]) -> AutoTextClassifier:
        clock_start = time.monotonic()
        cfg = self.run_config()
        texts, labels = _texts(X, "X"), _labels(y, len(X))
        data = TextDataset(texts, labels, source="training data")
        strategy = choose_strategy(texts, cfg.validation)
        need = min_per_class(strategy, cfg.validation)
        why = f"{cfg.validation.folds}-fold validation" if strategy == "kfold" else "a holdout split"
        check_trainable(data, need, why)
        seed = cfg.search.seed
        plan = plan_validation(texts, labels, cfg.validation, seed)
        ctx = BuildContext(
            lang=cfg.data.lang,
            spacy_model=cfg.space.spacy_model,
            probability=METRICS[cfg.search.metric].needs == "proba",
            seed=seed,
            n_classes=len(data.class_counts),
        )
        clock = Clock.from_budget(cfg.search.time_budget, clock_start)
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
            user_attrs={"data_fingerprint": data.fingerprint()},
        )
        best = result.best_trial
        t0 = time.monotonic()
        pipeline = build_pipeline(FixedTrial(best.params), cfg.space, replace(ctx, probability=True))
        pipeline.fit(np.asarray(texts, dtype=object), np.asarray(labels, dtype=object))
        self.refit_seconds_ = time.monotonic() - t0
        self.config_ = cfg
        self.search_result_ = result
        self.study_ = result.study
        self.best_pipeline_ = pipeline
        self.best_params_ = dict(best.params)
        self.best_score_ = best.value
        self.classes_ = pipeline.classes_
        self.fit_seconds_ = time.monotonic() - clock_start
        return self

    def predict(self, X: Sequence[str]) -> np.ndarray:
        check_is_fitted(self)
        return self.best_pipeline_.predict(np.asarray(_texts(X, "X"), dtype=object))

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        check_is_fitted(self)
        return self.best_pipeline_.predict_proba(np.asarray(_texts(X, "X"), dtype=object))

    def __getstate__(self) -> dict[str, Any]:
        # A study holds a live storage connection: keep its results, not the study.
        state = self.__dict__.copy()
        state.pop("study_", None)
        state.pop("search_result_", None)
        return state


def _texts(X: Any, name: str) -> list[str]:
    if isinstance(X, str):
        raise DataError(f"{name}: expected a sequence of texts, got a single string")
    texts = list(X)
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise DataError(f"{name}: item {bad} is {type(texts[bad]).__name__}, not a string")
    return texts


def _labels(y: Any, n: int) -> list[str]:
    labels = [str(v) for v in y]
    if len(labels) != n:
        raise DataError(f"y: {len(labels)} labels for {n} texts")
    return labels
