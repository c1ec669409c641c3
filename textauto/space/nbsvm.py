"""NB-SVM: naive-Bayes log-count-ratio scaling feeding a linear model (Wang & Manning 2012)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from textauto.inference import decision_function, known_valid, scaled_columns
from textauto.timeout import stop_if_late


class NBSVMClassifier(ClassifierMixin, BaseEstimator):
    """One-vs-rest linear models on features scaled by their NB log-count ratio.

    Each class ``k`` gets ``r_k = log((p / |p|_1) / (q / |q|_1))`` where ``p`` and ``q`` are the
    ``alpha``-smoothed feature counts inside and outside the class; a logistic regression is
    then fit on ``X * r_k`` (the NB-LR variant, which also yields probabilities); liblinear
    is the fastest solver for these binary problems on sparse text features.

    Parameters
    ----------
    C : inverse regularisation strength of each logistic regression.
    alpha : additive smoothing of the feature counts.
    binarize : use presence (x > 0) instead of the feature values.
    class_weight : None or "balanced", passed to each logistic regression.
    max_iter : iteration cap of each logistic regression.
    """

    def __init__(
        self,
        C: float = 1.0,
        alpha: float = 1.0,
        binarize: bool = True,
        class_weight: str | None = None,
        max_iter: int = 1000,
    ) -> None:
        self.C = C
        self.alpha = alpha
        self.binarize = binarize
        self.class_weight = class_weight
        self.max_iter = max_iter

    def fit(self, X: Any, y: Any) -> NBSVMClassifier:
        if self.alpha <= 0:
            raise ValueError(f"NBSVMClassifier: alpha must be > 0, got {self.alpha!r}")
        X, y = validate_data(self, X, y, accept_sparse="csr")
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"NBSVMClassifier needs at least 2 classes, got {len(self.classes_)}")
        X = self._prepare(X)
        # Binary: one model for classes_[1]; otherwise one model per class.
        positives = self.classes_[1:] if len(self.classes_) == 2 else self.classes_
        ratios, models = [], []
        started = time.monotonic()
        for i, cls in enumerate(positives):
            stop_if_late(started, i, len(positives))  # in a trial, once its limit is out of reach
            mask = y == cls
            r = self._log_count_ratio(X, mask)
            model = LogisticRegression(
                C=self.C, class_weight=self.class_weight, max_iter=self.max_iter, solver="liblinear"
            )
            model.fit(X.multiply(r).tocsr(), mask.astype(int))
            ratios.append(r)
            models.append(model)
        self.ratios_ = np.vstack(ratios)
        self.estimators_ = models
        return self

    def _prepare(self, X: Any) -> sp.csr_matrix:
        X = sp.csr_matrix(X, dtype=np.float64)
        if X.nnz and X.data.min() < 0:
            raise ValueError("NBSVMClassifier needs non-negative features (counts or TF-IDF)")
        if self.binarize:
            X = X.copy()
            X.data = (X.data > 0).astype(np.float64)
        return X

    def _log_count_ratio(self, X: sp.csr_matrix, mask: np.ndarray) -> np.ndarray:
        p = self.alpha + np.asarray(X[mask].sum(axis=0)).ravel()
        q = self.alpha + np.asarray(X[~mask].sum(axis=0)).ravel()
        return np.log(p / p.sum()) - np.log(q / q.sum())

    def decision_function(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        if not (known_valid(X) and X.shape[1] == self.n_features_in_):
            X = validate_data(self, X, accept_sparse="csr", reset=False)
        X = self._prepare(X)
        scores = np.column_stack(
            [
                decision_function(m, scaled_columns(X, r))
                for r, m in zip(self.ratios_, self.estimators_, strict=True)
            ]
        )
        return scores.ravel() if len(self.classes_) == 2 else scores

    def predict_proba(self, X: Any) -> np.ndarray:
        scores = self.decision_function(X)
        if scores.ndim == 1:
            pos = 1.0 / (1.0 + np.exp(-scores))
            return np.column_stack([1.0 - pos, pos])
        ovr = 1.0 / (1.0 + np.exp(-scores))
        return ovr / ovr.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[scores.argmax(axis=1)]
